// SPDX-License-Identifier: GPL-2.0
/*
 * zc_bench - the same bytes through both paths of /dev/kmemlab_zc: the
 * copy path (write() and read(), lab 07's way) and the zero-copy ioctl.
 * For each, what the CPU copied (the driver's counters) and the time per
 * MiB moved, in all and outside the device (the driver's and the system
 * calls' own cost). Both use 2048-byte transfers, so the device does the
 * same work; only the driver's side differs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "ktap_user.h"

struct kmemlab_zc_xfer {
	uint64_t addr;
	uint32_t len;
	uint32_t to_device;
};

struct kmemlab_zc_stats {
	uint64_t cpu_copied;
	uint64_t dma_bytes;
	uint64_t transfers;
	uint64_t device_ns;
};

#define KMEMLAB_ZC_XFER		_IOW('Z', 1, struct kmemlab_zc_xfer)
#define KMEMLAB_ZC_STATS	_IOR('Z', 2, struct kmemlab_zc_stats)

#define TOTAL	(32 * 1024)
#define CHUNK	2048
#define MIB	(1024.0 * 1024.0)

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int stats(int fd, struct kmemlab_zc_stats *s)
{
	return ioctl(fd, KMEMLAB_ZC_STATS, s);
}

static int zc(int fd, void *p, uint32_t len, int to_device)
{
	struct kmemlab_zc_xfer x = { .addr = (uintptr_t)p, .len = len, .to_device = to_device };

	return ioctl(fd, KMEMLAB_ZC_XFER, &x);
}

/* Send and fetch back TOTAL bytes, CHUNK at a time, by one path. */
static void run(int fd, int zero_copy, unsigned char *src, unsigned char *dst)
{
	struct kmemlab_zc_stats a, b;
	const char *name = zero_copy ? "zero-copy" : "copy";
	const char *failed = NULL;
	double t0, ms, host;
	int off;

	memset(dst, 0, TOTAL);
	KTAP_EXPECT(stats(fd, &a) == 0, "KMEMLAB_ZC_STATS: %s", strerror(errno));
	t0 = now_ms();
	for (off = 0; off < TOTAL; off += CHUNK) {
		if (zero_copy ? zc(fd, src + off, CHUNK, 1) : write(fd, src + off, CHUNK) != CHUNK)
			failed = "sending";
		else if (zero_copy ? zc(fd, dst + off, CHUNK, 0) : read(fd, dst + off, CHUNK) != CHUNK)
			failed = "fetching";
		if (failed)
			break;
	}
	ms = now_ms() - t0;
	KTAP_EXPECT(!failed, "%s path: %s %d bytes at offset %d of a %d KiB buffer (%p) failed: %s",
		    name, failed, CHUNK, off, TOTAL / 1024, (void *)(failed && *failed == 's' ? src : dst),
		    strerror(errno));
	KTAP_EXPECT(!memcmp(src, dst, TOTAL), "%s path: the bytes fetched back differ", name);
	stats(fd, &b);
	host = ms - (b.device_ns - a.device_ns) / 1e6;
	ktap_diag("%s path: %d KiB each way in %d transfers, %.0f ms: %.0f ms per MiB moved, of which %.1f ms outside the device; CPU copied %llu bytes",
		  name, TOTAL / 1024, (int)(b.transfers - a.transfers), ms,
		  ms * MIB / (2.0 * TOTAL), host * MIB / (2.0 * TOTAL),
		  (unsigned long long)(b.cpu_copied - a.cpu_copied));
	KTAP_EXPECT(b.transfers - a.transfers == 2 * TOTAL / CHUNK,
		    "%s path: expected %d device transfers, the driver counted %llu", name,
		    2 * TOTAL / CHUNK, (unsigned long long)(b.transfers - a.transfers));
	if (zero_copy)
		KTAP_EXPECT(b.cpu_copied == a.cpu_copied,
			    "the zero-copy path made the CPU copy %llu bytes",
			    (unsigned long long)(b.cpu_copied - a.cpu_copied));
	else
		KTAP_EXPECT(b.cpu_copied - a.cpu_copied == 2 * TOTAL,
			    "the copy path should have copied every byte twice");
}

int main(void)
{
	unsigned char *src = mmap(NULL, 2 * TOTAL, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *dst = src + TOTAL;
	int fd = open("/dev/kmemlab_zc", O_RDWR);
	int i;

	ktap_begin("zc_bench", 1);
	for (i = 0; src != MAP_FAILED && i < TOTAL; i++)
		src[i] = (unsigned char)(i * 7 + i / 4096);

	/* One case: the copy path is given code, the reference to beat. */
	if (ktap_case("zero_copy_copies_nothing")) {
		KTAP_EXPECT(fd >= 0 && src != MAP_FAILED, "open /dev/kmemlab_zc: %s", strerror(errno));
		if (fd >= 0 && src != MAP_FAILED) {
			run(fd, 0, src, dst);
			run(fd, 1, src, dst);
		}
		ktap_case_end();
	}

	return ktap_end();
}
