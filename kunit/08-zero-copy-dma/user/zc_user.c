// SPDX-License-Identifier: GPL-2.0
/*
 * zc_user - the zero-copy ioctl of /dev/kmemlab_zc from user space: a
 * round trip, the errors bad input must get, user buffers whose pages are
 * not mapped yet (never touched, or dropped with MADV_DONTNEED), and what
 * an open file gets once the device has been unbound, and (on the graded
 * kernels) the direction the driver maps the user's pages in.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ktap_user.h"
#include "lab_user.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* The driver's interface (kmemlab_zc.h), restated for user space. */
struct kmemlab_zc_xfer {
	uint64_t addr;
	uint32_t len;
	uint32_t to_device;
};
#define KMEMLAB_ZC_XFER	_IOW('Z', 1, struct kmemlab_zc_xfer)
#define ZC_MAX		4095

#define DEV	"/dev/kmemlab_zc"
#define DRV	"/sys/bus/pci/drivers/kmemlab_zc"

static int xfer(int fd, void *addr, uint32_t len, int to_device)
{
	struct kmemlab_zc_xfer x = {
		.addr = (uintptr_t)addr, .len = len, .to_device = to_device,
	};

	return ioctl(fd, KMEMLAB_ZC_XFER, &x) ? -errno : 0;
}

static void *pages(int n, int prot)
{
	void *p = mmap(NULL, n * 4096, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void round_trip(int fd)
{
	unsigned char *src = pages(2, PROT_READ | PROT_WRITE);
	unsigned char *dst = pages(2, PROT_READ | PROT_WRITE);
	int i, ret;

	KTAP_EXPECT(src && dst, "mmap: %s", strerror(errno));
	if (!src || !dst)
		return;
	for (i = 0; i < ZC_MAX; i++)
		src[64 + i] = (unsigned char)(i * 11 + 1);
	ret = xfer(fd, src + 64, ZC_MAX, 1);
	KTAP_EXPECT(ret == 0, "sending %d bytes: %s", ZC_MAX, strerror(-ret));
	ret = xfer(fd, dst + 128, ZC_MAX, 0);
	KTAP_EXPECT(ret == 0, "fetching %d bytes: %s", ZC_MAX, strerror(-ret));
	KTAP_EXPECT(!memcmp(src + 64, dst + 128, ZC_MAX),
		    "bytes sent from one buffer and fetched into another should match");
	munmap(src, 2 * 4096);
	munmap(dst, 2 * 4096);
}

static void bad_input_errors(int fd)
{
	unsigned char *buf = pages(2, PROT_READ | PROT_WRITE);
	unsigned char *ro = pages(1, PROT_READ);
	int ret;

	KTAP_EXPECT(buf && ro, "mmap: %s", strerror(errno));
	if (!buf || !ro)
		return;
	ret = xfer(fd, buf, ZC_MAX + 1, 1);
	KTAP_EXPECT(ret == -EINVAL, "a transfer over the device buffer: want EINVAL, got %s",
		    strerror(-ret));
	ret = xfer(fd, buf + 3, 100, 1);
	KTAP_EXPECT(ret == -EINVAL, "an unaligned buffer: want EINVAL, got %s", strerror(-ret));
	munmap(buf + 4096, 4096);
	ret = xfer(fd, buf + 4096, 100, 1);
	KTAP_EXPECT(ret == -EFAULT, "an unmapped buffer: want EFAULT, got %s", strerror(-ret));
	ret = xfer(fd, buf + 2048, 4000, 0);
	KTAP_EXPECT(ret == -EFAULT, "a buffer running into unmapped memory: want EFAULT, got %s",
		    strerror(-ret));
	ret = xfer(fd, ro, 100, 0);
	KTAP_EXPECT(ret == -EFAULT, "fetching into read-only memory: want EFAULT, got %s",
		    strerror(-ret));
	ret = xfer(fd, NULL, 100, 1);
	KTAP_EXPECT(ret == -EFAULT, "a NULL buffer: want EFAULT, got %s", strerror(-ret));
	ret = xfer(fd, buf, 100, 1);
	KTAP_EXPECT(ret == 0, "after the errors, a good transfer should work: %s", strerror(-ret));
	munmap(buf, 4096);
	munmap(ro, 4096);
}

/*
 * What the device buffer holds, through the copy path (read() returns its
 * first @len bytes).
 */
static int device_holds(int fd, const unsigned char *want, size_t len)
{
	static unsigned char got[ZC_MAX];

	return read(fd, got, len) == (ssize_t)len && !memcmp(got, want, len);
}

static void send_from_nonresident_memory(int fd)
{
	unsigned char *fresh = pages(2, PROT_READ | PROT_WRITE);
	unsigned char *shared = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE,
				     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	static unsigned char want[ZC_MAX];
	int i, ret;

	KTAP_EXPECT(fresh && shared != MAP_FAILED, "mmap: %s", strerror(errno));
	if (!fresh || shared == MAP_FAILED)
		return;
	memset(want, 0x3c, ZC_MAX);
	KTAP_EXPECT(write(fd, want, ZC_MAX) == ZC_MAX, "write: %s", strerror(errno));
	/* Never touched: it reads as zeros, and so must the device. */
	KTAP_EXPECT(page_present(fresh + 4096) == 0, "a fresh mapping already has a page");
	ret = xfer(fd, fresh + 4096 - 128, 1000, 1);
	KTAP_EXPECT(ret == 0, "sending never-touched memory: %s", strerror(-ret));
	memset(want, 0, 1000);
	KTAP_EXPECT(device_holds(fd, want, ZC_MAX),
		    "after sending 1000 never-touched (zero) bytes, the device should hold them");
	/* Shared memory keeps its bytes when its pages are dropped. */
	for (i = 0; i < 2 * 4096; i++)
		shared[i] = (unsigned char)(i * 7 + 2);
	KTAP_EXPECT(madvise(shared, 2 * 4096, MADV_DONTNEED) == 0, "madvise: %s", strerror(errno));
	KTAP_EXPECT(page_present(shared) == 0, "MADV_DONTNEED left the page mapped");
	ret = xfer(fd, shared + 64, 3001, 1);
	KTAP_EXPECT(ret == 0, "sending from dropped pages: %s", strerror(-ret));
	for (i = 0; i < 3001; i++)
		want[i] = (unsigned char)((i + 64) * 7 + 2);
	KTAP_EXPECT(device_holds(fd, want, ZC_MAX),
		    "3001 bytes sent from pages that were not mapped should be in the device");
	munmap(fresh, 2 * 4096);
	munmap(shared, 2 * 4096);
}

static void fetch_into_nonresident_memory(int fd)
{
	unsigned char *fresh = pages(2, PROT_READ | PROT_WRITE);
	unsigned char *dropped = pages(2, PROT_READ | PROT_WRITE);
	static unsigned char want[ZC_MAX];
	int i, ret;

	KTAP_EXPECT(fresh && dropped, "mmap: %s", strerror(errno));
	if (!fresh || !dropped)
		return;
	for (i = 0; i < ZC_MAX; i++)
		want[i] = (unsigned char)(i * 3 + 1);
	KTAP_EXPECT(write(fd, want, ZC_MAX) == ZC_MAX, "write: %s", strerror(errno));
	ret = xfer(fd, fresh + 64, ZC_MAX, 0);
	KTAP_EXPECT(ret == 0 && !memcmp(fresh + 64, want, ZC_MAX),
		    "fetching into never-touched memory: %s, or other bytes than the device's",
		    strerror(-ret));
	memset(dropped, 0x5a, 2 * 4096);
	KTAP_EXPECT(madvise(dropped, 2 * 4096, MADV_DONTNEED) == 0, "madvise: %s", strerror(errno));
	KTAP_EXPECT(page_present(dropped + 4096) == 0, "MADV_DONTNEED left the page mapped");
	ret = xfer(fd, dropped + 4096 - 64, 2000, 0);
	KTAP_EXPECT(ret == 0 && !memcmp(dropped + 4096 - 64, want, 2000),
		    "fetching into dropped pages: %s, or other bytes than the device's",
		    strerror(-ret));
	KTAP_EXPECT(dropped[0] == 0 && dropped[4096 - 65] == 0 && dropped[4096 + 1936] == 0,
		    "dropped private pages read as zeros around the fetched bytes");
	munmap(fresh, 2 * 4096);
	munmap(dropped, 2 * 4096);
}

static char bdf[256];

static void after_remove_enodev(int fd)
{
	unsigned char *buf = pages(1, PROT_READ | PROT_WRITE);
	char small[16];
	ssize_t n;
	int ret, fd2;

	KTAP_EXPECT(find_pci_device("0x1234", "0x11e8", bdf, sizeof(bdf)),
		    "no PCI device 1234:11e8");
	ret = write_sysfs(DRV "/unbind", bdf);
	KTAP_EXPECT(ret == 0, "unbind %s: %s", bdf, strerror(-ret));
	if (ret)
		return;
	ret = xfer(fd, buf, 100, 1);
	KTAP_EXPECT(ret == -ENODEV, "sending after the device left: want ENODEV, got %s",
		    strerror(-ret));
	ret = xfer(fd, buf, 100, 0);
	KTAP_EXPECT(ret == -ENODEV, "fetching after the device left: want ENODEV, got %s",
		    strerror(-ret));
	n = write(fd, small, sizeof(small));
	KTAP_EXPECT(n == -1 && errno == ENODEV, "write() after the device left: want ENODEV");
	ret = write_sysfs(DRV "/bind", bdf);
	KTAP_EXPECT(ret == 0, "bind %s: %s", bdf, strerror(-ret));
	fd2 = open(DEV, O_RDWR);
	KTAP_EXPECT(fd2 >= 0, "open %s after bind: %s", DEV, strerror(errno));
	if (fd2 >= 0) {
		ret = xfer(fd2, buf, 100, 1);
		KTAP_EXPECT(ret == 0, "a transfer after bind: %s", strerror(-ret));
		close(fd2);
	}
	munmap(buf, 4096);
}

/*
 * The DMA-API checker's list of live mappings (CONFIG_DMA_API_DEBUG, the
 * graded kernels; kernel/dma/debug.c, dump_show()): one line each,
 * "<driver> <device> <type> idx <n> P=... D=... L=... cln=... <direction>
 * <map error state>".
 */
#define DMA_DUMP	"/sys/kernel/debug/dma-api/dump"
#define SEEN_TO		1
#define SEEN_FROM	2
#define SEEN_BIDI	4

/* The directions of this driver's scatter-gather mappings in the dump now. */
static int sg_directions(void)
{
	char line[512];
	FILE *f = fopen(DMA_DUMP, "r");
	int seen = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "kmemlab_zc ", 11) || !strstr(line, " scatter-gather "))
			continue;
		seen |= strstr(line, " DMA_TO_DEVICE ") ? SEEN_TO :
			strstr(line, " DMA_FROM_DEVICE ") ? SEEN_FROM :
			strstr(line, " DMA_BIDIRECTIONAL ") ? SEEN_BIDI : 0;
	}
	fclose(f);
	return seen;
}

/*
 * One transfer, with a child reading the dump every half millisecond
 * while it runs (the device takes 100 ms of the guest's time): the
 * directions it saw; *ret gets the transfer's result.
 */
static int directions_during(int fd, void *buf, uint32_t len, int to_device, int *ret)
{
	int pipefd[2], seen = 0, i;
	pid_t pid;

	if (pipe(pipefd))
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(pipefd[0]);
		for (i = 0; i < 20000; i++) {
			seen = sg_directions();
			if (seen && write(pipefd[1], &seen, sizeof(seen)) != sizeof(seen))
				_exit(1);
			usleep(500);
		}
		_exit(0);
	}
	close(pipefd[1]);
	*ret = pid < 0 ? -ECHILD : xfer(fd, buf, len, to_device);
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	while (read(pipefd[0], &i, sizeof(i)) == sizeof(i))
		seen |= i;
	close(pipefd[0]);
	return seen;
}

/*
 * Each transfer maps the user's pages in the direction the data goes:
 * DMA_TO_DEVICE for a send, DMA_FROM_DEVICE for a fetch. The checker
 * accepts DMA_BIDIRECTIONAL, but it is no safe default: behind an IOMMU
 * it lets the device write pages pinned read-only (dma_info_to_prot(),
 * drivers/iommu/dma-iommu.c), and under swiotlb the unmap copies the
 * bounce buffer back over them. Only the graded kernels list mappings.
 */
static void dma_direction_matches_transfer(int fd)
{
	unsigned char *buf = pages(1, PROT_READ | PROT_WRITE);
	static const char *const names[] = { "nothing", "DMA_TO_DEVICE", "DMA_FROM_DEVICE",
					     "both directions", "DMA_BIDIRECTIONAL" };
	int dir, seen, ret;

	if (access(DMA_DUMP, R_OK)) {
		ktap_skip_case("no DMA-API checker in this kernel (the graded kernels have it)");
		return;
	}
	KTAP_EXPECT(buf != NULL, "mmap: %s", strerror(errno));
	if (!buf)
		return;
	memset(buf, 0x5a, 4096);
	for (dir = 1; dir >= 0; dir--) {
		seen = directions_during(fd, buf, 1024, dir, &ret);
		KTAP_EXPECT(ret == 0, "%s 1024 bytes: %s", dir ? "sending" : "fetching", strerror(-ret));
		KTAP_EXPECT(seen == (dir ? SEEN_TO : SEEN_FROM),
			    "while %s, the DMA-API checker listed the driver's scatter-gather mapping as %s: map the user's pages %s",
			    dir ? "sending (the device reads)" : "fetching (the device writes)",
			    seen < 0 ? "(no child to look)" : seen <= 4 ? names[seen] : "several directions",
			    dir ? "DMA_TO_DEVICE" : "DMA_FROM_DEVICE");
	}
	munmap(buf, 4096);
}

static const struct {
	const char *name;
	void (*run)(int fd);
} cases[] = {
	{ "round_trip", round_trip },
	{ "bad_input_errors", bad_input_errors },
	{ "send_from_nonresident_memory", send_from_nonresident_memory },
	{ "fetch_into_nonresident_memory", fetch_into_nonresident_memory },
	{ "dma_direction_matches_transfer", dma_direction_matches_transfer },
	{ "after_remove_enodev", after_remove_enodev },
};

int main(void)
{
	unsigned int i;
	int fd;

	ktap_begin("zc_user", ARRAY_SIZE(cases));
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		if (!ktap_case(cases[i].name))
			continue;
		fd = open(DEV, O_RDWR);
		KTAP_EXPECT(fd >= 0, "open(%s): %s", DEV, strerror(errno));
		if (fd >= 0) {
			cases[i].run(fd);
			close(fd);
		}
		ktap_case_end();
	}
	return ktap_end();
}
