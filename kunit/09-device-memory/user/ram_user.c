// SPDX-License-Identifier: GPL-2.0
/*
 * ram_user - the RAM range reserved at boot, from user space. Through the
 * driver's /dev/kmemlab_devmem_ram (the range is the driver's parameters,
 * which /proc/iomem must list as Reserved): the kernel counts no mapping
 * of its frames (/proc/kpagecount: frames, not pages it manages), the
 * bytes are the ones read() and write() see, the offset selects the page,
 * and every request that does not fit the range is refused. Then
 * /dev/mem: refused while the driver holds the range; after rmmod it
 * reads what the process stored through the driver's mapping, which shows
 * that mapping reached the reserved frames, and /proc/vmallocinfo lists no
 * kernel mapping of the range left; insmod revokes the /dev/mem
 * mapping, and the content is still there. Last, loads with one
 * allocation failed on purpose (fault injection): a claim that fails in
 * memremap() leaves nothing claimed or mapped, and the next load takes
 * the range. The last cases build on each other, so each starts with
 * ktap_chain_case().
 */
#define _GNU_SOURCE
#define _FILE_OFFSET_BITS 64
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ktap_user.h"
#include "lab_user.h"
#include "kmemlab_devmem.h"
#include "mmap_refusals.h"

#define NCASES	14
#define DEV	"/dev/" KMEMLAB_DEVMEM_RAM_DEV
#define PARAMS	"/sys/module/" KMEMLAB_DEVMEM_DRIVER "/parameters/"
#define MODULE	"/lab/" KMEMLAB_DEVMEM_DRIVER ".ko"

static long page;
static unsigned long mem_address, mem_size;	/* the driver's parameters */
static unsigned char *want, *got;
static struct region region;	/* the range as the driver maps it */

static int read_param(const char *name, unsigned long *val)
{
	char path[128];
	FILE *f;
	int n;

	snprintf(path, sizeof(path), PARAMS "%s", name);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fscanf(f, "%lu", val);
	fclose(f);
	return n == 1;
}

static void fill(unsigned char *buf, size_t len, uint32_t seed)
{
	uint32_t *w = (uint32_t *)buf;
	size_t i;

	for (i = 0; i < len / 4; i++)
		w[i] = (uint32_t)(i * 2654435761u) ^ seed;
}

/* The byte offset of the first difference, or -1. */
static long first_diff(const unsigned char *a, const unsigned char *b, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (a[i] != b[i])
			return i;
	return -1;
}

static int open_dev(void)
{
	int fd = open(DEV, O_RDWR);

	KTAP_EXPECT(fd >= 0, "open(%s): %s (is the driver loaded with the range?)", DEV,
		    strerror(errno));
	return fd;
}

/*
 * A VM_PFNMAP mapping points at frames; the kernel takes no reference and
 * counts no mapping of them. A mapping built from struct pages
 * (vm_insert_page()) is counted, and could be pinned by anyone who can
 * reach it with get_user_pages().
 */
static void frames_stay_uncounted(void)
{
	unsigned long long count;
	unsigned char *p;
	unsigned long i;
	int fd, kpc = -1;
	ssize_t n;

	if (!ktap_case("frames_stay_uncounted"))
		return;
	fd = open_dev();
	kpc = open("/proc/kpagecount", O_RDONLY);
	KTAP_EXPECT(kpc >= 0, "open /proc/kpagecount: %s", strerror(errno));
	if (fd < 0 || kpc < 0)
		goto out;
	p = map_fd(fd, mem_size, 0);
	KTAP_EXPECT(p != MAP_FAILED, "mmap of the whole range: %s", strerror(errno));
	if (p == MAP_FAILED)
		goto out;
	for (i = 0; i < mem_size / page; i++) {
		n = pread(kpc, &count, sizeof(count),
			  (off_t)(mem_address / page + i) * sizeof(count));
		KTAP_EXPECT(n == sizeof(count), "reading /proc/kpagecount: %s", strerror(errno));
		KTAP_EXPECT(n != sizeof(count) || count == 0,
			    "while mapped, frame %#lx of the range is counted as mapped %llu times (/proc/kpagecount): the mapping should be VM_PFNMAP (remap_pfn_range()), not pages",
			    mem_address / page + i, count);
		if (n != sizeof(count) || count)
			break;
	}
	munmap(p, mem_size);
out:
	if (kpc >= 0)
		close(kpc);
	if (fd >= 0)
		close(fd);
	ktap_case_end();
}

static void driver_writes_reach_mapping(void)
{
	unsigned char *p;
	long diff;
	int fd;

	if (!ktap_case("driver_writes_reach_mapping"))
		return;
	fd = open_dev();
	if (fd < 0)
		goto out;
	fill(want, mem_size, 0x1234);
	KTAP_EXPECT(pwrite(fd, want, mem_size, 0) == (ssize_t)mem_size,
		    "write() of the whole range: %s", strerror(errno));
	p = map_fd(fd, mem_size, 0);
	KTAP_EXPECT(p != MAP_FAILED, "mmap of the whole range: %s", strerror(errno));
	if (p != MAP_FAILED) {
		diff = first_diff(p, want, mem_size);
		KTAP_EXPECT(diff < 0,
			    "byte %ld (page %ld) of the mapping differs from what write() put there",
			    diff, diff / page);
		munmap(p, mem_size);
	}
	close(fd);
out:
	ktap_case_end();
}

static void mapping_writes_reach_driver(void)
{
	unsigned char *p;
	long diff;
	int fd;

	if (!ktap_case("mapping_writes_reach_driver"))
		return;
	fd = open_dev();
	if (fd < 0)
		goto out;
	p = map_fd(fd, mem_size, 0);
	KTAP_EXPECT(p != MAP_FAILED, "mmap of the whole range: %s", strerror(errno));
	if (p != MAP_FAILED) {
		fill(want, mem_size, 0xfeed);
		memcpy(p, want, mem_size);
		munmap(p, mem_size);
		KTAP_EXPECT(pread(fd, got, mem_size, 0) == (ssize_t)mem_size,
			    "read() of the whole range: %s", strerror(errno));
		diff = first_diff(got, want, mem_size);
		KTAP_EXPECT(diff < 0,
			    "byte %ld (page %ld) stored through the mapping is not what read() returns",
			    diff, diff / page);
	}
	close(fd);
out:
	ktap_case_end();
}

static void offset_selects_page(void)
{
	unsigned char *p;
	long diff;
	int fd;

	if (!ktap_case("offset_selects_page"))
		return;
	fd = open_dev();
	if (fd < 0)
		goto out;
	fill(want, mem_size, 0xbeef);
	KTAP_EXPECT(pwrite(fd, want, mem_size, 0) == (ssize_t)mem_size,
		    "write() of the whole range: %s", strerror(errno));
	p = map_fd(fd, 2 * page, 3 * page);
	KTAP_EXPECT(p != MAP_FAILED, "mmap of 2 pages at page offset 3: %s", strerror(errno));
	if (p != MAP_FAILED) {
		diff = first_diff(p, want + 3 * page, 2 * page);
		KTAP_EXPECT(diff < 0,
			    "a mapping at page offset 3 should show pages 3 and 4 of the range; byte %ld differs",
			    diff);
		munmap(p, 2 * page);
	}
	close(fd);
out:
	ktap_case_end();
}

/* The chain: /dev/mem, rmmod, insmod. */

static int devmem_fd = -1;
static unsigned char *devmem_map = MAP_FAILED;

static void touch_byte(volatile unsigned char *p)
{
	(void)*p;
}

static void devmem_refuses_claimed_range(void)
{
	unsigned char byte;
	void *p;

	ktap_chain_case("devmem_refuses_claimed_range");
	KTAP_EXPECT(iomem_lists(mem_address, mem_address + mem_size - 1, "Reserved") == 1,
		    "/proc/iomem should list [mem %#lx-%#lx] as Reserved: is memmap= on the kernel command line?",
		    mem_address, mem_address + mem_size - 1);
	KTAP_EXPECT(iomem_lists(mem_address, mem_address + mem_size - 1,
				KMEMLAB_DEVMEM_RAM_NAME) == 1,
		    "/proc/iomem should list [mem %#lx-%#lx] as %s while the driver is loaded (request_mem_region())",
		    mem_address, mem_address + mem_size - 1, KMEMLAB_DEVMEM_RAM_NAME);
	devmem_fd = open("/dev/mem", O_RDWR);
	KTAP_EXPECT(devmem_fd >= 0, "open /dev/mem: %s", strerror(errno));
	if (devmem_fd < 0)
		goto out;
	p = mmap(NULL, page, PROT_READ, MAP_SHARED, devmem_fd, (off_t)mem_address);
	KTAP_EXPECT(p == MAP_FAILED && errno == EPERM,
		    "mmap of /dev/mem at the range while the driver holds it: expected EPERM, got %s",
		    p == MAP_FAILED ? strerrorname_np(errno) : "a mapping");
	if (p != MAP_FAILED)
		munmap(p, page);
	errno = 0;
	KTAP_EXPECT(pread(devmem_fd, &byte, 1, (off_t)mem_address) < 0 && errno == EPERM,
		    "read() of /dev/mem at the range while the driver holds it: expected EPERM, got %s",
		    errno ? strerrorname_np(errno) : "a byte");
out:
	ktap_case_end();
}

/*
 * Kernel mappings (ioremap areas: memremap() of reserved RAM is one) that
 * /proc/vmallocinfo lists with a "phys=" covering @phys: the kernel's own
 * account of mappings nobody unmapped (mm/vmalloc.c, s_show()).
 */
static int kernel_mappings_of(unsigned long long phys)
{
	unsigned long long size, at;
	char line[512], *s;
	int found = 0;
	FILE *f = fopen("/proc/vmallocinfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		s = strstr(line, " phys=");
		/* "start-end size caller phys=0x... ioremap"; the addresses
		 * may print hashed (kptr_restrict), the size does not. */
		if (!s || sscanf(line, "%*s %llu", &size) != 1)
			continue;
		at = strtoull(s + 6, NULL, 16);
		found += phys >= at && phys < at + size;
	}
	fclose(f);
	return found;
}

/* rmmod of the driver without a shell (lab_user.h): 0 or the errno. */
static int unload_driver(void)
{
	return module_unload(KMEMLAB_DEVMEM_DRIVER);
}

/*
 * rmmod gives the range back: /dev/mem then reads it, and holds what the
 * process stored through the driver's mapping before.
 */
static void unload_releases_range(void)
{
	unsigned char *p;
	long diff;
	ssize_t n;
	int fd, ret;

	ktap_chain_case("unload_releases_range");
	fd = open_dev();
	if (fd >= 0) {
		p = map_fd(fd, mem_size, 0);
		KTAP_EXPECT(p != MAP_FAILED, "mmap of the whole range: %s", strerror(errno));
		fill(want, mem_size, 0x51ed5eed);
		if (p != MAP_FAILED) {
			memcpy(p, want, mem_size);
			munmap(p, mem_size);
		}
		close(fd);
	}
	ret = unload_driver();
	KTAP_EXPECT(ret == 0, "rmmod %s failed: %s", KMEMLAB_DEVMEM_DRIVER, strerrorname_np(ret));
	ret = kernel_mappings_of(mem_address);
	KTAP_EXPECT(ret == 0,
		    "after rmmod, /proc/vmallocinfo still lists %d kernel mapping(s) of the range at %#lx: memremap() without memunmap()",
		    ret, mem_address);
	KTAP_EXPECT(devmem_fd >= 0, "/dev/mem is not open");
	if (devmem_fd < 0)
		goto out;
	memset(got, 0, mem_size);
	n = pread(devmem_fd, got, mem_size, (off_t)mem_address);
	KTAP_EXPECT(n == (ssize_t)mem_size,
		    "read() of the range from /dev/mem once the driver is gone: expected %#lx bytes, got %s",
		    mem_size, n < 0 ? strerrorname_np(errno) : "fewer");
	diff = first_diff(got, want, mem_size);
	KTAP_EXPECT(n != (ssize_t)mem_size || diff < 0,
		    "byte %ld of the range, as /dev/mem reads it after rmmod, is not what the process stored there",
		    diff);
	devmem_map = mmap(NULL, mem_size, PROT_READ | PROT_WRITE, MAP_SHARED, devmem_fd,
			  (off_t)mem_address);
	KTAP_EXPECT(devmem_map != MAP_FAILED,
		    "mmap of /dev/mem at the range once nobody holds it: expected success, got %s",
		    strerrorname_np(errno));
	if (devmem_map != MAP_FAILED)
		KTAP_EXPECT(first_diff(devmem_map, want, mem_size) < 0,
			    "a /dev/mem mapping of the range does not show what the process stored");
out:
	ktap_case_end();
}

/* insmod claims the range again, and the kernel revokes /dev/mem's mapping. */
static void load_revokes_devmem_mapping(void)
{
	char cmd[256];
	int ret, sig;

	ktap_chain_case("load_revokes_devmem_mapping");
	snprintf(cmd, sizeof(cmd), "insmod " MODULE " mem_address=%#lx mem_size=%#lx",
		 mem_address, mem_size);
	ret = system(cmd);
	KTAP_EXPECT(ret == 0, "%s failed", cmd);
	KTAP_EXPECT(devmem_map != MAP_FAILED,
		    "no /dev/mem mapping of the range was made while the driver was unloaded");
	if (devmem_map != MAP_FAILED) {
		sig = child_signal(touch_byte, devmem_map);
		KTAP_EXPECT(sig == SIGBUS,
			    "a /dev/mem mapping of the range should be revoked when the driver claims it again (SIGBUS), the child got %s",
			    sig > 0 ? strsignal(sig) : "no signal");
	}
	ktap_case_end();
}

/* The fault injection part: loads of the module with an allocation failed. */

#define FAULT_CALIBRATE	1000000u	/* more fault points than any load has */
#define FAULT_SLACK	12u		/* loads started before the init's first */
#define FAULT_LOADS	48u		/* at most this many loads with a fault */

static int module_fd = -1;

/* insmod of the driver with @params, from module_fd: 0 or the errno. */
static int load_driver(const char *params)
{
	return module_load(module_fd, params);
}

static int driver_loaded(void)
{
	return access("/sys/module/" KMEMLAB_DEVMEM_DRIVER, F_OK) == 0;
}

/*
 * What the kernel logged during one load: where the injected failure's
 * call trace went through (failslab's verbose = 2 prints the trace of
 * every failure it injects), and the driver's own report of a claim it
 * could not make (ram_setup(): "cannot take [mem ...] (error E)").
 */
struct load_log {
	int in_init;		/* through do_one_initcall(): the driver's init */
	int in_memremap;	/* through memremap() */
	int in_request;		/* through __request_region() */
	int claim_failed;	/* the driver reported a failed claim */
	int claim_err;		/* the error it reported */
};

/* Does the trace line @text (a reliable frame) name function @fn? */
static int frame_is(const char *text, const char *fn)
{
	size_t len = strlen(fn);

	while (*text == ' ')
		text++;
	return !strncmp(text, fn, len) && text[len] == '+';
}

/* Read the records logged since the fault log was last read into @log. */
static void read_load_log(struct fault_log *fl, struct load_log *log)
{
	static const char claim[] = KMEMLAB_DEVMEM_DRIVER ": cannot take [mem ";
	static char rec[8192];
	const char *text, *err;

	memset(log, 0, sizeof(*log));
	while ((text = fault_log_next(fl, rec, sizeof(rec)))) {
		log->in_init |= frame_is(text, "do_one_initcall");
		log->in_memremap |= frame_is(text, "memremap");
		log->in_request |= frame_is(text, "__request_region");
		if (!strncmp(text, claim, sizeof(claim) - 1) && (err = strstr(text, "(error "))) {
			log->claim_failed = 1;
			log->claim_err = atoi(err + 7);
		}
	}
}

/* Fault points the calls since fault_nth_arm(@fd, @n) passed; disarms. */
static unsigned int fault_nth_used(int fd, unsigned int n)
{
	char buf[16] = "";
	ssize_t len = pread(fd, buf, sizeof(buf) - 1, 0);

	if (pwrite(fd, "0", 1, 0) != 1)
		perror("fault_nth_used");
	return len > 0 ? n - (unsigned int)strtoul(buf, NULL, 10) : 0;
}

/*
 * A claim that fails half way must give back what it took. With the
 * kernel's fault injection (lib/fault-inject.c), the n-th allocation of
 * this thread fails, and finit_module() runs the whole load, the driver's
 * init included, in this thread. First a load the driver refuses before
 * it claims anything (mem_size not a page multiple: ram_setup() says
 * EINVAL) counts the fault points up to the driver's init; then loads
 * with n from a little below that count upwards, until the failure lands
 * in the init past the claim or none fires. Each injected failure's call
 * trace says where it landed. Whenever the driver reports that it could
 * not take the range, /proc/iomem must not list the range as its claim
 * and /proc/vmallocinfo no kernel mapping of it; a failure inside
 * memremap() must be reported as ENOMEM, and at least one load must meet
 * one. Last, a load without faults must take the range again.
 */
static void memremap_failure_releases_range(void)
{
	char params[96], refused[96];
	unsigned int n, lo = 0, last = 0, used, memremap_fails = 0;
	int fnth = -1, kmsg = -1, ret, fired, node, listed, maps, maps_before, left = 0, past = 0;
	struct fault_log fl;
	struct load_log log;

	ktap_chain_case("memremap_failure_releases_range");
	snprintf(params, sizeof(params), "mem_address=%#lx mem_size=%#lx", mem_address, mem_size);
	snprintf(refused, sizeof(refused), "mem_address=%#lx mem_size=%#lx", mem_address,
		 mem_size + 1);
	module_fd = open(MODULE, O_RDONLY | O_CLOEXEC);
	fnth = fault_nth_open();
	kmsg = fault_log_begin(&fl);
	KTAP_EXPECT(module_fd >= 0 && fnth >= 0 && kmsg >= 0,
		    "open %s, /proc/thread-self/fail-nth and /dev/kmsg: %s", MODULE,
		    strerror(kmsg < 0 ? -kmsg : errno));
	if (module_fd < 0 || fnth < 0 || kmsg < 0)
		goto out;
	if (driver_loaded()) {
		ret = unload_driver();
		KTAP_EXPECT(ret == 0, "rmmod %s failed: %s", KMEMLAB_DEVMEM_DRIVER, strerrorname_np(ret));
		if (ret)
			goto out;
	}

	/*
	 * Kernel mappings of the range that loads before this case left
	 * (memremap() without memunmap(): unload_releases_range says so):
	 * a failed claim below must add none to them.
	 */
	maps_before = kernel_mappings_of(mem_address);
	KTAP_EXPECT(maps_before >= 0, "cannot read /proc/vmallocinfo: %s", strerrorname_np(errno));
	fault_nth_arm(fnth, FAULT_CALIBRATE);
	ret = load_driver(refused);
	used = fault_nth_used(fnth, FAULT_CALIBRATE);
	KTAP_EXPECT(ret == EINVAL,
		    "a load with mem_size=%#lx (not a page multiple) should fail with EINVAL (ram_setup()), got %s",
		    mem_size + 1, ret ? strerrorname_np(ret) : "success");
	if (ret != EINVAL) {
		if (!ret && unload_driver())
			KTAP_EXPECT(0, "rmmod %s failed", KMEMLAB_DEVMEM_DRIVER);
		goto restore;
	}
	lo = used > FAULT_SLACK ? used - FAULT_SLACK : 1;

	for (n = lo; n < lo + FAULT_LOADS && !past && !left; n++) {
		last = n;
		/* What the load before, its checks and its unload logged. */
		fault_log_show(&fl);
		fault_nth_arm(fnth, n);
		ret = load_driver(params);
		fired = fault_nth_fired(fnth);
		read_load_log(&fl, &log);
		node = access(DEV, F_OK) == 0;
		if (!fired || (log.in_init && !log.in_memremap && !log.in_request))
			past = 1;	/* the claim was made */
		if (!ret && !node && log.claim_failed) {
			listed = iomem_lists(mem_address, mem_address + mem_size - 1,
					     KMEMLAB_DEVMEM_RAM_NAME);
			maps = kernel_mappings_of(mem_address);
			KTAP_EXPECT(listed == 0,
				    "fault %u (%s) made the claim fail (error %d), yet /proc/iomem still lists [mem %#lx-%#lx] as %s: the claim must be given back (release_mem_region()) when memremap() fails",
				    n, log.in_memremap ? "in memremap()" : "in the claim", log.claim_err,
				    mem_address, mem_address + mem_size - 1, KMEMLAB_DEVMEM_RAM_NAME);
			KTAP_EXPECT(maps >= 0 && maps <= maps_before,
				    "fault %u made the claim fail (error %d), yet /proc/vmallocinfo lists %d kernel mapping(s) of the range, %d more than before the first faulted load: memremap() must be undone when the load gives up",
				    n, log.claim_err, maps, maps - maps_before);
			if (log.in_memremap) {
				memremap_fails++;
				KTAP_EXPECT(log.claim_err == -ENOMEM,
					    "fault %u made memremap() fail: the driver should give up with -ENOMEM (%d), it reported error %d",
					    n, -ENOMEM, log.claim_err);
			}
			left |= listed != 0;
		}
		if (!ret) {
			KTAP_EXPECT(unload_driver() == 0,
				    "rmmod %s after fault %u failed", KMEMLAB_DEVMEM_DRIVER, n);
		}
		/* A claim left behind names the range with a string of the
		 * unloaded module: /proc/iomem must not be read again. */
	}
	ktap_diag("faults %u to %u injected, %u of them in memremap() made the claim fail",
		  lo, last, memremap_fails);
	KTAP_EXPECT(past || left, "%u loads with a fault (from fault %u) never got past the claim",
		    FAULT_LOADS, lo);
	KTAP_EXPECT(memremap_fails || left,
		    "no load from fault %u to %u made memremap() fail: the driver should claim the range, then map it with memremap() (ram_claim())",
		    lo, last);
restore:
	fault_log_show(&fl);
	ret = load_driver(params);
	read_load_log(&fl, &log);
	node = access(DEV, F_OK) == 0;
	KTAP_EXPECT(ret || node || !log.claim_failed,
		    "after the failed claims, a load without faults should take the range again, the driver reported error %d%s",
		    log.claim_err,
		    log.claim_err == -EBUSY ? ": something still claims it, a claim left behind" : "");
	KTAP_EXPECT(!ret && node, "after the failed claims, a load without faults should give %s: %s",
		    DEV, ret ? strerrorname_np(ret) : "it loaded without it");
	if (!left && !ret && node)
		KTAP_EXPECT(iomem_lists(mem_address, mem_address + mem_size - 1,
					KMEMLAB_DEVMEM_RAM_NAME) == 1,
			    "after a load without faults, /proc/iomem should list [mem %#lx-%#lx] as %s",
			    mem_address, mem_address + mem_size - 1, KMEMLAB_DEVMEM_RAM_NAME);
out:
	fault_log_end(&fl);
	if (fnth >= 0)
		close(fnth);
	if (module_fd >= 0)
		close(module_fd);
	ktap_case_end();
}

static void content_survives_reload(void)
{
	unsigned char *p;
	long diff;
	int fd;

	ktap_chain_case("content_survives_reload");
	fd = open_dev();
	if (fd < 0)
		goto out;
	p = map_fd(fd, mem_size, 0);
	KTAP_EXPECT(p != MAP_FAILED, "mmap of the whole range after insmod: %s", strerror(errno));
	if (p != MAP_FAILED) {
		diff = first_diff(p, want, mem_size);
		KTAP_EXPECT(diff < 0,
			    "byte %ld (page %ld) of the range changed across rmmod and insmod: the driver must not clear it",
			    diff, diff / page);
		munmap(p, mem_size);
	}
	close(fd);
out:
	ktap_case_end();
}

int main(void)
{
	page = sysconf(_SC_PAGESIZE);
	ktap_begin("ram_user", NCASES);
	if (!read_param("mem_address", &mem_address) || !read_param("mem_size", &mem_size) ||
	    mem_size < 8 * (unsigned long)page) {
		printf("    # cannot read the driver's range from " PARAMS ": is it loaded with mem_address and mem_size?\n");
		return ktap_end();
	}
	want = malloc(mem_size);
	got = malloc(mem_size);
	if (!want || !got)
		return ktap_end();
	region = (struct region){ "the range", mem_address, mem_size, page };

	frames_stay_uncounted();
	driver_writes_reach_mapping();
	mapping_writes_reach_driver();
	offset_selects_page();
	past_end_einval(&region);
	hostile_offsets_einval(&region);
	private_mapping_einval(&region);
	readonly_shared_mapping_works(&region, DEV);
	exec_refused(&region);

	devmem_refuses_claimed_range();
	unload_releases_range();
	load_revokes_devmem_mapping();
	content_survives_reload();
	memremap_failure_releases_range();

	if (devmem_map != MAP_FAILED)
		munmap(devmem_map, mem_size);
	if (devmem_fd >= 0)
		close(devmem_fd);
	return ktap_end();
}
