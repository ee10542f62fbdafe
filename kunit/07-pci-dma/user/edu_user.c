// SPDX-License-Identifier: GPL-2.0
/*
 * edu_user - /dev/kmemlab_edu from user space: read(), write() and
 * lseek() over the device buffer (KMEMLAB_EDU_SIZE bytes), their short
 * and failing cases, and mmap() of the coherent buffer with the two
 * ioctl()s that move it to and from the device.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ktap_user.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#define DEV		"/dev/kmemlab_edu"
#define EDU_SIZE	4095		/* KMEMLAB_EDU_SIZE */
#define EDU_PUSH	_IO('E', 1)	/* KMEMLAB_EDU_PUSH */
#define EDU_PULL	_IO('E', 2)	/* KMEMLAB_EDU_PULL */

static unsigned char want[EDU_SIZE], got[EDU_SIZE];

static void fill(unsigned char *buf, size_t len, unsigned int seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (unsigned char)(i * 13 + seed);
}

static int open_dev(void)
{
	int fd = open(DEV, O_RDWR);

	KTAP_EXPECT(fd >= 0, "open(%s): %s (is the driver bound, its misc device registered?)",
		    DEV, strerror(errno));
	return fd;
}

static void write_then_read_round_trip(int fd)
{
	ssize_t n;

	fill(want, EDU_SIZE, 1);
	n = pwrite(fd, want, EDU_SIZE, 0);
	KTAP_EXPECT(n == EDU_SIZE, "pwrite of %d bytes at 0 returned %zd (%s)",
		    EDU_SIZE, n, n < 0 ? strerror(errno) : "short");
	memset(got, 0, sizeof(got));
	n = pread(fd, got, EDU_SIZE, 0);
	KTAP_EXPECT(n == EDU_SIZE, "pread of %d bytes at 0 returned %zd (%s)",
		    EDU_SIZE, n, n < 0 ? strerror(errno) : "short");
	KTAP_EXPECT(!memcmp(want, got, EDU_SIZE),
		    "what read() returns should be what write() sent to the device");
}

static void write_at_offset_leaves_rest(int fd)
{
	unsigned char small[10] = "0123456789";
	ssize_t n;

	memset(want, 0x5a, EDU_SIZE);
	pwrite(fd, want, EDU_SIZE, 0);
	memcpy(want + 1000, small, sizeof(small));
	n = pwrite(fd, small, sizeof(small), 1000);
	KTAP_EXPECT(n == sizeof(small), "pwrite of 10 bytes at 1000 returned %zd", n);
	n = pread(fd, got, EDU_SIZE, 0);
	KTAP_EXPECT(n == EDU_SIZE && !memcmp(want, got, EDU_SIZE),
		    "10 bytes written at offset 1000 should change those bytes only");
}

static void file_position_advances(int fd)
{
	off_t pos;
	ssize_t n;

	KTAP_EXPECT(lseek(fd, 100, SEEK_SET) == 100, "lseek(100, SEEK_SET): %s",
		    strerror(errno));
	n = write(fd, "abcd", 4);
	KTAP_EXPECT(n == 4, "write of 4 bytes at 100 returned %zd", n);
	pos = lseek(fd, 0, SEEK_CUR);
	KTAP_EXPECT(pos == 104, "after writing 4 bytes at 100 the position should be 104, not %lld",
		    (long long)pos);
	lseek(fd, 100, SEEK_SET);
	memset(got, 0, 8);
	n = read(fd, got, 4);
	KTAP_EXPECT(n == 4 && !memcmp(got, "abcd", 4),
		    "read() at 100 should return the 4 bytes written there");
	pos = lseek(fd, 0, SEEK_END);
	KTAP_EXPECT(pos == EDU_SIZE, "lseek(0, SEEK_END) should give the size %d, not %lld",
		    EDU_SIZE, (long long)pos);
}

static void write_short_at_end(int fd)
{
	ssize_t n;

	fill(want, 100, 7);
	n = pwrite(fd, want, 100, EDU_SIZE - 40);
	KTAP_EXPECT(n == 40, "100 bytes written 40 bytes before the end should write 40, not %zd",
		    n);
	n = pread(fd, got, 100, EDU_SIZE - 40);
	KTAP_EXPECT(n == 40, "100 bytes read 40 bytes before the end should read 40, not %zd", n);
	KTAP_EXPECT(n == 40 && !memcmp(want, got, 40), "the 40 bytes read back differ");
}

static void end_of_buffer_errors(int fd)
{
	ssize_t n;

	errno = 0;
	n = pwrite(fd, "x", 1, EDU_SIZE);
	KTAP_EXPECT(n == -1 && errno == ENOSPC,
		    "a write at the end should fail with ENOSPC, got %zd (%s)", n, strerror(errno));
	n = pread(fd, got, 1, EDU_SIZE);
	KTAP_EXPECT(n == 0, "a read at the end should return 0 (end of file), got %zd", n);
	errno = 0;
	KTAP_EXPECT(lseek(fd, EDU_SIZE + 1, SEEK_SET) == -1 && errno == EINVAL,
		    "lseek past the end should fail with EINVAL (%s)", strerror(errno));
	errno = 0;
	KTAP_EXPECT(lseek(fd, -1, SEEK_SET) == -1 && errno == EINVAL,
		    "lseek before 0 should fail with EINVAL (%s)", strerror(errno));
}

static void bad_user_pointer_is_efault(int fd)
{
	void *hole = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ssize_t n;

	errno = 0;
	n = pwrite(fd, hole, 16, 0);
	KTAP_EXPECT(n == -1 && errno == EFAULT,
		    "write() from an inaccessible buffer should fail with EFAULT, got %zd (%s)",
		    n, strerror(errno));
	errno = 0;
	n = pread(fd, hole, 16, 0);
	KTAP_EXPECT(n == -1 && errno == EFAULT,
		    "read() into an inaccessible buffer should fail with EFAULT, got %zd (%s)",
		    n, strerror(errno));
	munmap(hole, 4096);
}

static void mmap_shows_coherent_buffer(int fd)
{
	unsigned char *map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	KTAP_EXPECT(map != MAP_FAILED, "mmap of 4096 bytes: %s", strerror(errno));
	if (map == MAP_FAILED)
		return;
	/* CPU writes through the mapping, the device takes them. */
	fill(map, EDU_SIZE, 21);
	KTAP_EXPECT(ioctl(fd, EDU_PUSH, EDU_SIZE) == 0, "ioctl PUSH: %s", strerror(errno));
	memset(got, 0, EDU_SIZE);
	pread(fd, got, EDU_SIZE, 0);
	KTAP_EXPECT(!memcmp(map, got, EDU_SIZE),
		    "bytes stored through the mapping and pushed should be in the device");
	/* The device writes, the mapping shows it. */
	fill(want, EDU_SIZE, 33);
	pwrite(fd, want, EDU_SIZE, 0);
	KTAP_EXPECT(ioctl(fd, EDU_PULL, EDU_SIZE) == 0, "ioctl PULL: %s", strerror(errno));
	KTAP_EXPECT(!memcmp(map, want, EDU_SIZE),
		    "after a pull, the mapping should show what the device holds");
	munmap(map, 4096);
}

static void mmap_too_large_refused(int fd)
{
	void *map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);

	KTAP_EXPECT(map != MAP_FAILED, "mmap of the 4096-byte buffer: %s", strerror(errno));
	if (map == MAP_FAILED)
		return;
	munmap(map, 4096);
	map = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	KTAP_EXPECT(map == MAP_FAILED, "an 8 KiB mapping of a 4 KiB buffer should be refused");
	if (map != MAP_FAILED)
		munmap(map, 2 * 4096);
	map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 4096);
	KTAP_EXPECT(map == MAP_FAILED, "a mapping at offset 4096 should be refused");
	if (map != MAP_FAILED)
		munmap(map, 4096);
}

static const struct {
	const char *name;
	void (*run)(int fd);
} cases[] = {
	{ "write_then_read_round_trip", write_then_read_round_trip },
	{ "write_at_offset_leaves_rest", write_at_offset_leaves_rest },
	{ "file_position_advances", file_position_advances },
	{ "write_short_at_end", write_short_at_end },
	{ "end_of_buffer_errors", end_of_buffer_errors },
	{ "bad_user_pointer_is_efault", bad_user_pointer_is_efault },
	{ "mmap_shows_coherent_buffer", mmap_shows_coherent_buffer },
	{ "mmap_too_large_refused", mmap_too_large_refused },
};

int main(void)
{
	unsigned int i;
	int fd;

	ktap_begin("edu_user", ARRAY_SIZE(cases));
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		ktap_case(cases[i].name);
		fd = open_dev();
		if (fd >= 0) {
			cases[i].run(fd);
			close(fd);
		}
		ktap_case_end();
	}
	return ktap_end();
}
