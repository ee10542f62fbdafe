// SPDX-License-Identifier: GPL-2.0
/*
 * zc_user - the zero-copy ioctl of /dev/kmemlab_zc from user space: a
 * round trip, the errors bad input must get, and what an open file gets
 * once the device has been unbound.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
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

static const struct {
	const char *name;
	void (*run)(int fd);
} cases[] = {
	{ "round_trip", round_trip },
	{ "bad_input_errors", bad_input_errors },
	{ "after_remove_enodev", after_remove_enodev },
};

int main(void)
{
	unsigned int i;
	int fd;

	ktap_begin("zc_user", ARRAY_SIZE(cases));
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		ktap_case(cases[i].name);
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
