// SPDX-License-Identifier: GPL-2.0
/*
 * remap_bench - how much does a copy cost? Move the same megabytes from a
 * kmemlab_remap device into the program twice: with read(), which makes
 * the kernel copy_to_user() them into a buffer of ours, and by reading
 * them in place through a shared mapping. The timings are diagnostics for
 * the handout, not pass/fail thresholds; what is checked is only that both
 * ways saw the same bytes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "ktap_user.h"

#define TOTAL_MIB	16

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Touch every word, so that the data really reaches the CPU. */
static uint32_t sum_words(const volatile uint32_t *w, size_t len)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i < len / 4; i++)
		sum += w[i] ^ (uint32_t)i;
	return sum;
}

static void report(const char *what, double ms)
{
	ktap_diag("%-30s %4d MiB in %8.1f ms = %7.1f MiB/s", what, TOTAL_MIB,
		  ms, TOTAL_MIB * 1e3 / ms);
}

static void bench(const char *dev)
{
	uint32_t sum_read = 0, sum_map = 0, sum_copy = 0;
	double t, t_read, t_read_sum, t_map, t_copy;
	unsigned char *buf, *map;
	char path[64], name[64];
	size_t size, passes, i;
	int fd;

	snprintf(name, sizeof(name), "%s_read_and_mapping_agree", dev);
	if (!ktap_case(name))
		return;
	snprintf(path, sizeof(path), "/dev/kmemlab_remap_%s", dev);
	fd = open(path, O_RDWR);
	KTAP_EXPECT(fd >= 0, "open %s: %s", path, strerror(errno));
	if (fd < 0)
		goto out;
	size = lseek(fd, 0, SEEK_END);
	passes = ((size_t)TOTAL_MIB << 20) / size;
	buf = malloc(size);
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	KTAP_EXPECT(map != MAP_FAILED, "mmap of the whole buffer: %s",
		    strerror(errno));
	if (!buf || map == MAP_FAILED)
		goto out_close;
	for (i = 0; i < size; i++)
		buf[i] = (unsigned char)(i * 13 + i / 4096);
	if (pwrite(fd, buf, size, 0) != (ssize_t)size)
		KTAP_EXPECT(0, "write(): %s", strerror(errno));
	/* Warm up both paths: fault nothing in later, time steady state. */
	KTAP_EXPECT(pread(fd, buf, size, 0) == (ssize_t)size, "read(): %s",
		    strerror(errno));
	sum_words((uint32_t *)map, size);

	t = now_ms();
	for (i = 0; i < passes; i++)
		if (pread(fd, buf, size, 0) != (ssize_t)size)
			break;
	t_read = now_ms() - t;

	t = now_ms();
	for (i = 0; i < passes; i++) {
		if (pread(fd, buf, size, 0) != (ssize_t)size)
			break;
		sum_read += sum_words((uint32_t *)buf, size);
	}
	t_read_sum = now_ms() - t;

	t = now_ms();
	for (i = 0; i < passes; i++)
		sum_map += sum_words((uint32_t *)map, size);
	t_map = now_ms() - t;

	t = now_ms();
	for (i = 0; i < passes; i++) {
		memcpy(buf, map, size);
		sum_copy += sum_words((uint32_t *)buf, size);
	}
	t_copy = now_ms() - t;

	report("read() alone", t_read);
	report("read() then sum the words", t_read_sum);
	report("sum the words in the mapping", t_map);
	report("memcpy() from the mapping+sum", t_copy);
	ktap_diag("read()+sum takes %.2f times as long as summing in place",
		  t_read_sum / t_map);
	KTAP_EXPECT(sum_read == sum_map && sum_map == sum_copy,
		    "read() and the mapping saw different bytes (sums %#x, %#x, %#x)",
		    sum_read, sum_map, sum_copy);
	munmap(map, size);
out_close:
	free(buf);
	close(fd);
out:
	ktap_case_end();
}

int main(void)
{
	ktap_begin("remap_bench", 2);
	bench("contig");
	bench("vmalloc");
	return ktap_end();
}
