// SPDX-License-Identifier: GPL-2.0
/*
 * bar_user - edu's BAR0 from user space, three ways. Through the driver's
 * /dev/kmemlab_devmem_bar: the device answers through the mapping
 * (identification, liveness, a factorial polled on the status register),
 * the offset selects the page, and every request that does not fit the
 * BAR (as sysfs reports it) is refused. Through
 * /dev/mem and sysfs resource0: refused while the driver holds the BAR;
 * once it is unbound, both reach the registers, its own mappings are gone
 * (SIGBUS), and binding it again takes the BAR back and revokes theirs.
 * The last cases build on each other, so each starts with
 * ktap_chain_case(): a case a test filter leaves out still runs.
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
#include <sys/stat.h>
#include <unistd.h>

#include "ktap_user.h"
#include "lab_user.h"
#include "kmemlab_devmem.h"
#include "mmap_refusals.h"

#define NCASES	13
#define DEV	"/dev/" KMEMLAB_DEVMEM_BAR_DEV
#define DRV	"/sys/bus/pci/drivers/" KMEMLAB_DEVMEM_DRIVER

static long page;
static char bdf[256];
static unsigned long long bar_start, bar_end;	/* from sysfs */
static size_t bar_len;
static struct region region;	/* BAR0 as the driver maps it */

static uint32_t reg_read(volatile void *bar, unsigned int reg)
{
	return *(volatile uint32_t *)((volatile char *)bar + reg);
}

static void reg_write(volatile void *bar, unsigned int reg, uint32_t val)
{
	*(volatile uint32_t *)((volatile char *)bar + reg) = val;
}

/* A 32-bit load, the only width edu's low registers answer; for forks. */
static void touch_reg(volatile unsigned char *p)
{
	(void)*(volatile uint32_t *)p;
}

/* BAR0 of the device at @bdf, as the PCI core reports it in sysfs. */
static int read_bar0(void)
{
	char path[512];
	unsigned long long flags;
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource", bdf);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fscanf(f, "%llx %llx %llx", &bar_start, &bar_end, &flags);
	fclose(f);
	bar_len = bar_end - bar_start + 1;
	return n == 3 && bar_end > bar_start;
}

static int open_dev(void)
{
	int fd = open(DEV, O_RDWR);

	KTAP_EXPECT(fd >= 0, "open(%s): %s (is the driver bound?)", DEV, strerror(errno));
	return fd;
}

/* Map the first page of BAR0 through the driver, or NULL (case failed). */
static volatile void *map_registers(int *fd)
{
	void *p;

	*fd = open_dev();
	if (*fd < 0)
		return NULL;
	p = map_fd(*fd, page, 0);
	KTAP_EXPECT(p != MAP_FAILED, "mmap of BAR0's first page: %s", strerror(errno));
	if (p != MAP_FAILED)
		return p;
	close(*fd);
	return NULL;
}

static void unmap_registers(volatile void *regs, int fd)
{
	munmap((void *)regs, page);
	close(fd);
}

static void reads_identification(void)
{
	volatile void *regs;
	uint32_t id;
	int fd;

	if (!ktap_case("reads_identification"))
		return;
	regs = map_registers(&fd);
	if (regs) {
		id = reg_read(regs, EDU_REG_ID);
		KTAP_EXPECT((id & 0xff) == 0xed && id >> 24 == 1,
			    "register 0x00 through the mapping reads %#x: edu version 1 reads 0x01....ed",
			    id);
		unmap_registers(regs, fd);
	}
	ktap_case_end();
}

static void liveness_inverts(void)
{
	static const uint32_t values[] = { 0, 0x12345678, 0xffffffff, 0xa5a55a5a };
	volatile void *regs;
	uint32_t got;
	size_t i;
	int fd;

	if (!ktap_case("liveness_inverts"))
		return;
	regs = map_registers(&fd);
	for (i = 0; regs && i < sizeof(values) / sizeof(values[0]); i++) {
		reg_write(regs, EDU_REG_LIVENESS, values[i]);
		got = reg_read(regs, EDU_REG_LIVENESS);
		KTAP_EXPECT(got == ~values[i],
			    "wrote %#x to register 0x04 through the mapping, read back %#x instead of its inverse",
			    values[i], got);
	}
	if (regs)
		unmap_registers(regs, fd);
	ktap_case_end();
}

/*
 * The factorial, started by a store and polled on the status register's
 * busy bit: no interrupt, no driver code, only loads and stores.
 */
static void factorial_polls_status(void)
{
	static const uint32_t ns[] = { 0, 1, 5, 10, 12, 13 };
	volatile void *regs;
	uint32_t want, got;
	long spins;
	size_t i, k;
	int fd;

	if (!ktap_case("factorial_polls_status"))
		return;
	regs = map_registers(&fd);
	for (i = 0; regs && i < sizeof(ns) / sizeof(ns[0]); i++) {
		for (want = 1, k = 2; k <= ns[i]; k++)
			want *= k;	/* modulo 2^32, as the device computes */
		reg_write(regs, EDU_REG_FACTORIAL, ns[i]);
		for (spins = 0; spins < 10000000 &&
		     (reg_read(regs, EDU_REG_STATUS) & EDU_STATUS_BUSY); spins++)
			;
		got = reg_read(regs, EDU_REG_FACTORIAL);
		KTAP_EXPECT(got == want,
			    "%u! through the mapping read %#x after %ld polls of the status register, expected %#x",
			    ns[i], got, spins, want);
	}
	if (regs)
		unmap_registers(regs, fd);
	ktap_case_end();
}

/*
 * Only BAR0's first page holds registers; the rest reads all ones. So the
 * offset shows: a mapping from page 0 reads the identification register
 * at its start, one from page 1 or from the last page does not. (The
 * frames themselves are the suite's to check: /proc/self/pagemap shows
 * none for a VM_PFNMAP mapping, walk_page_test() skips those.)
 */
static void offset_selects_page(void)
{
	const unsigned long offsets[] = { 1, bar_len / page - 1 };
	unsigned char *p;
	uint32_t first;
	size_t i;
	int fd;

	if (!ktap_case("offset_selects_page"))
		return;
	fd = open_dev();
	if (fd < 0)
		goto out;
	for (i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		p = map_fd(fd, page, offsets[i] * page);
		KTAP_EXPECT(p != MAP_FAILED, "mmap of one page at page offset %lu: %s",
			    offsets[i], strerror(errno));
		if (p == MAP_FAILED)
			continue;
		first = reg_read(p, 0);
		KTAP_EXPECT(first == 0xffffffff,
			    "a mapping at page offset %lu reads %#x at its start: it should be page %lu of BAR0, which reads all ones, not the registers of page 0",
			    offsets[i], first, offsets[i]);
		munmap(p, page);
	}
	close(fd);
out:
	ktap_case_end();
}

/* The chain: the BAR through /dev/mem and resource0, unbound and bound. */

static int devmem_fd = -1, res_fd = -1, dev_fd = -1;
static volatile void *devmem_map = MAP_FAILED, *res_map = MAP_FAILED;
static volatile void *dev_map = MAP_FAILED;

/* Map BAR0's first page through /dev/mem: the mapping or MAP_FAILED. */
static void *map_devmem(void)
{
	return mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, devmem_fd,
		    (off_t)bar_start);
}

static void *map_resource0(void)
{
	return mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, res_fd, 0);
}

static void devmem_refuses_claimed_bar(void)
{
	char path[512];
	void *p;

	ktap_chain_case("devmem_refuses_claimed_bar");
	KTAP_EXPECT(iomem_lists(bar_start, bar_end, KMEMLAB_DEVMEM_DRIVER) == 1,
		    "/proc/iomem should list [mem %#llx-%#llx] as %s's while it is bound (pci_request_region())",
		    bar_start, bar_end, KMEMLAB_DEVMEM_DRIVER);
	/* O_SYNC: /dev/mem then maps uncached, as registers want. */
	devmem_fd = open("/dev/mem", O_RDWR | O_SYNC);
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource0", bdf);
	res_fd = open(path, O_RDWR | O_SYNC);
	KTAP_EXPECT(devmem_fd >= 0 && res_fd >= 0, "open /dev/mem and %s: %s", path,
		    strerror(errno));
	if (devmem_fd < 0 || res_fd < 0)
		goto out;
	p = map_devmem();
	KTAP_EXPECT(p == MAP_FAILED && errno == EPERM,
		    "mmap of /dev/mem at BAR0 while the driver holds it: expected EPERM (IO_STRICT_DEVMEM), got %s",
		    p == MAP_FAILED ? strerrorname_np(errno) : "a mapping");
	if (p != MAP_FAILED)
		munmap(p, page);
	p = map_resource0();
	KTAP_EXPECT(p == MAP_FAILED && errno == EINVAL,
		    "mmap of %s while the driver holds BAR0: expected EINVAL, got %s", path,
		    p == MAP_FAILED ? strerrorname_np(errno) : "a mapping");
	if (p != MAP_FAILED)
		munmap(p, page);
out:
	ktap_case_end();
}

/*
 * Unbound, the driver gives the BAR back: /proc/iomem no longer names it,
 * /dev/mem and resource0 reach the registers, and what was mapped through
 * the driver is gone.
 */
static void unbind_releases_bar(void)
{
	uint32_t id;
	int ret, sig;

	ktap_chain_case("unbind_releases_bar");
	dev_fd = open(DEV, O_RDWR);
	if (dev_fd >= 0)
		dev_map = map_fd(dev_fd, page, 0);
	KTAP_EXPECT(dev_map != MAP_FAILED, "mmap of %s before unbind: %s", DEV, strerror(errno));
	ret = write_sysfs(DRV "/unbind", bdf);
	KTAP_EXPECT(ret == 0, "unbind %s: %s", bdf, strerror(-ret));
	KTAP_EXPECT(iomem_lists(bar_start, bar_end, KMEMLAB_DEVMEM_DRIVER) == 0,
		    "after unbind, /proc/iomem still lists BAR0 as %s's: remove() should release it (pci_release_region())",
		    KMEMLAB_DEVMEM_DRIVER);
	KTAP_EXPECT(devmem_fd >= 0 && res_fd >= 0, "no /dev/mem or resource0 open");
	if (devmem_fd < 0 || res_fd < 0)
		goto out;
	devmem_map = map_devmem();
	KTAP_EXPECT(devmem_map != MAP_FAILED,
		    "mmap of /dev/mem at BAR0 [mem %#llx] once nobody holds it: expected success, got %s",
		    bar_start, strerrorname_np(errno));
	if (devmem_map != MAP_FAILED) {
		id = reg_read(devmem_map, EDU_REG_ID);
		KTAP_EXPECT((id & 0xff) == 0xed, "register 0x00 through /dev/mem reads %#x", id);
		reg_write(devmem_map, EDU_REG_LIVENESS, 0x0ff0f00f);
		KTAP_EXPECT(reg_read(devmem_map, EDU_REG_LIVENESS) == ~0x0ff0f00fu,
			    "the liveness register through /dev/mem does not invert");
	}
	res_map = map_resource0();
	KTAP_EXPECT(res_map != MAP_FAILED,
		    "mmap of resource0 once nobody holds BAR0: expected success, got %s",
		    strerrorname_np(errno));
	if (res_map != MAP_FAILED) {
		id = reg_read(res_map, EDU_REG_ID);
		KTAP_EXPECT((id & 0xff) == 0xed, "register 0x00 through resource0 reads %#x", id);
	}
	if (dev_map != MAP_FAILED) {
		sig = child_signal(touch_reg, (volatile unsigned char *)dev_map);
		KTAP_EXPECT(sig == SIGBUS,
			    "a mapping of %s made before unbind should be revoked (SIGBUS), the child got %s",
			    DEV, sig > 0 ? strsignal(sig) : "no signal");
	}
out:
	ktap_case_end();
}

/*
 * Binding claims the BAR again, and the kernel revokes every mapping
 * /dev/mem and resource0 handed out for it (revoke_iomem() in
 * kernel/resource.c): touching them is SIGBUS from now on.
 */
static void bind_revokes_devmem_mappings(void)
{
	void *p;
	int ret, sig;

	ktap_chain_case("bind_revokes_devmem_mappings");
	ret = write_sysfs(DRV "/bind", bdf);
	KTAP_EXPECT(ret == 0, "bind %s: %s (was BAR0 released at unbind?)", bdf, strerror(-ret));
	KTAP_EXPECT(devmem_map != MAP_FAILED && res_map != MAP_FAILED,
		    "no /dev/mem or resource0 mapping of BAR0 was made while the driver was unbound");
	if (devmem_map != MAP_FAILED) {
		sig = child_signal(touch_reg, (volatile unsigned char *)devmem_map);
		KTAP_EXPECT(sig == SIGBUS,
			    "a /dev/mem mapping of BAR0 should be revoked when the driver claims it again (SIGBUS), the child got %s",
			    sig > 0 ? strsignal(sig) : "no signal");
	}
	if (res_map != MAP_FAILED) {
		sig = child_signal(touch_reg, (volatile unsigned char *)res_map);
		KTAP_EXPECT(sig == SIGBUS,
			    "a resource0 mapping should be revoked when the driver claims BAR0 again (SIGBUS), the child got %s",
			    sig > 0 ? strsignal(sig) : "no signal");
	}
	if (devmem_fd >= 0) {
		p = map_devmem();
		KTAP_EXPECT(p == MAP_FAILED && errno == EPERM,
			    "mmap of /dev/mem at BAR0 after the driver bound again: expected EPERM, got %s",
			    p == MAP_FAILED ? strerrorname_np(errno) : "a mapping");
		if (p != MAP_FAILED)
			munmap(p, page);
	}
	ktap_case_end();
}

static void rebind_restores_device(void)
{
	volatile void *regs;
	uint32_t id;
	int fd;

	ktap_chain_case("rebind_restores_device");
	regs = map_registers(&fd);
	if (regs) {
		id = reg_read(regs, EDU_REG_ID);
		KTAP_EXPECT((id & 0xff) == 0xed,
			    "after unbind and bind, register 0x00 through a new mapping reads %#x", id);
		unmap_registers(regs, fd);
	}
	ktap_case_end();
}

int main(void)
{
	page = sysconf(_SC_PAGESIZE);
	ktap_begin("bar_user", NCASES);
	if (!find_pci_device("0x1234", "0x11e8", bdf, sizeof(bdf)) || !read_bar0()) {
		printf("    # cannot find edu's BAR0 in sysfs\n");
		return ktap_end();
	}
	region = (struct region){ "BAR0", bar_start, bar_len, page };

	reads_identification();
	liveness_inverts();
	factorial_polls_status();
	offset_selects_page();
	past_end_einval(&region);
	hostile_offsets_einval(&region);
	private_mapping_einval(&region);
	readonly_shared_mapping_works(&region, DEV);
	exec_refused(&region);

	devmem_refuses_claimed_bar();
	unbind_releases_bar();
	bind_revokes_devmem_mappings();
	rebind_restores_device();

	if (dev_map != MAP_FAILED)
		munmap((void *)dev_map, page);
	if (devmem_map != MAP_FAILED)
		munmap((void *)devmem_map, page);
	if (res_map != MAP_FAILED)
		munmap((void *)res_map, page);
	if (dev_fd >= 0)
		close(dev_fd);
	if (devmem_fd >= 0)
		close(devmem_fd);
	if (res_fd >= 0)
		close(res_fd);
	return ktap_end();
}
