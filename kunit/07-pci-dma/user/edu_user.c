// SPDX-License-Identifier: GPL-2.0
/*
 * edu_user - /dev/kmemlab_edu from user space: read(), write() and
 * lseek() over the device buffer (KMEMLAB_EDU_SIZE bytes), their short
 * and failing cases, and mmap() of the coherent buffer with the two
 * ioctl()s that move it to and from the device. Odd offsets and lengths,
 * zero lengths, user buffers whose pages are not mapped yet (never touched,
 * or dropped with MADV_DONTNEED), and every fault point of open(), write()
 * and read() made to fail once with the kernel's fault injection.
 */
#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ktap_user.h"
#include "lab_user.h"

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

/* For a message after a read() or write() that returned @n: " (<errno's
 * text>)" when it failed, "" when it returned a count. */
static const char *failed_with(ssize_t n)
{
	static char text[96];

	if (n >= 0)
		return "";
	snprintf(text, sizeof(text), " (%s)", strerror(errno));
	return text;
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
	KTAP_EXPECT(map == MAP_FAILED && errno == EINVAL,
		    "an 8 KiB mapping of a 4 KiB buffer should be refused with EINVAL, got %s",
		    map == MAP_FAILED ? strerrorname_np(errno) : "a mapping");
	if (map != MAP_FAILED)
		munmap(map, 2 * 4096);
	map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 4096);
	KTAP_EXPECT(map == MAP_FAILED && errno == EINVAL,
		    "a mapping at offset 4096 should be refused with EINVAL, got %s",
		    map == MAP_FAILED ? strerrorname_np(errno) : "a mapping");
	if (map != MAP_FAILED)
		munmap(map, 4096);
}

static void zero_length_io_does_nothing(int fd)
{
	ssize_t n;
	off_t pos;

	fill(want, EDU_SIZE, 3);
	pwrite(fd, want, EDU_SIZE, 0);
	lseek(fd, 77, SEEK_SET);
	n = write(fd, got, 0);
	KTAP_EXPECT(n == 0, "write() of 0 bytes should return 0, got %zd%s", n, failed_with(n));
	n = read(fd, got, 0);
	KTAP_EXPECT(n == 0, "read() of 0 bytes should return 0, got %zd%s", n, failed_with(n));
	n = write(fd, NULL, 0);
	KTAP_EXPECT(n == 0, "write() of 0 bytes from NULL should return 0, got %zd", n);
	pos = lseek(fd, 0, SEEK_CUR);
	KTAP_EXPECT(pos == 77, "0-byte I/O moved the position from 77 to %lld", (long long)pos);
	n = pread(fd, got, EDU_SIZE, 0);
	KTAP_EXPECT(n == EDU_SIZE && !memcmp(want, got, EDU_SIZE),
		    "0-byte writes changed the device's bytes");
}

static void odd_offsets_round_trip(int fd)
{
	static const struct { off_t off; size_t len; } r[] = {
		{ 0, 1 }, { EDU_SIZE - 1, 1 }, { 1, EDU_SIZE - 1 }, { 3, 5 }, { 1001, 2047 },
	};
	unsigned char *ref = malloc(EDU_SIZE);
	unsigned int i;
	ssize_t n;

	if (!ref)
		return;
	for (i = 0; i < ARRAY_SIZE(r); i++) {
		memset(ref, 0x69, EDU_SIZE);
		pwrite(fd, ref, EDU_SIZE, 0);
		fill(want, r[i].len, 5 + i);
		memcpy(ref + r[i].off, want, r[i].len);
		n = pwrite(fd, want, r[i].len, r[i].off);
		KTAP_EXPECT(n == (ssize_t)r[i].len, "pwrite of %zu bytes at %lld returned %zd",
			    r[i].len, (long long)r[i].off, n);
		memset(got, 0, EDU_SIZE);
		n = pread(fd, got, r[i].len, r[i].off);
		KTAP_EXPECT(n == (ssize_t)r[i].len && !memcmp(got, want, r[i].len),
			    "pread of %zu bytes at %lld returned %zd, or other bytes than written",
			    r[i].len, (long long)r[i].off, n);
		n = pread(fd, got, EDU_SIZE, 0);
		KTAP_EXPECT(n == EDU_SIZE && !memcmp(got, ref, EDU_SIZE),
			    "after writing %zu bytes at %lld, bytes around them changed",
			    r[i].len, (long long)r[i].off);
	}
	free(ref);
}

/* @len bytes of fresh anonymous memory, never touched: no page mapped yet. */
static unsigned char *untouched(size_t len, int flags)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void write_from_nonresident_memory(int fd)
{
	size_t len = 2 * 4096;
	unsigned char *fresh = untouched(len, MAP_PRIVATE);
	unsigned char *shared = untouched(len, MAP_SHARED);
	size_t i;
	ssize_t n;

	KTAP_EXPECT(fresh && shared, "mmap: %s", strerror(errno));
	if (!fresh || !shared)
		return;
	/* Never touched: the user copy must fault the zero page in. */
	fill(want, EDU_SIZE, 9);
	pwrite(fd, want, EDU_SIZE, 0);
	KTAP_EXPECT(page_present(fresh + 100) == 0, "a fresh mapping already has a page");
	n = pwrite(fd, fresh + 100, 3000, 10);
	KTAP_EXPECT(n == 3000, "pwrite from never-touched memory returned %zd (%s)", n,
		    n < 0 ? strerror(errno) : "short");
	memset(want + 10, 0, 3000);
	pread(fd, got, EDU_SIZE, 0);
	KTAP_EXPECT(!memcmp(got, want, EDU_SIZE),
		    "never-touched memory reads as zeros: the device should hold 3000 zeros at 10");
	/* Shared memory keeps its bytes when its pages are dropped. */
	fill(shared, len, 15);
	KTAP_EXPECT(madvise(shared, len, MADV_DONTNEED) == 0, "madvise: %s", strerror(errno));
	KTAP_EXPECT(page_present(shared + 4096) == 0, "MADV_DONTNEED left the page mapped");
	n = pwrite(fd, shared + 4000, 2500, 1500);
	KTAP_EXPECT(n == 2500, "pwrite from dropped pages returned %zd (%s)", n,
		    n < 0 ? strerror(errno) : "short");
	for (i = 0; i < 2500; i++)
		want[1500 + i] = (unsigned char)((4000 + i) * 13 + 15);
	pread(fd, got, EDU_SIZE, 0);
	KTAP_EXPECT(!memcmp(got, want, EDU_SIZE),
		    "2500 bytes written from pages that were not mapped should reach the device");
	munmap(fresh, len);
	munmap(shared, len);
}

static void read_into_nonresident_memory(int fd)
{
	size_t len = 2 * 4096;
	unsigned char *fresh = untouched(len, MAP_PRIVATE);
	unsigned char *dropped = untouched(len, MAP_PRIVATE);
	ssize_t n;

	KTAP_EXPECT(fresh && dropped, "mmap: %s", strerror(errno));
	if (!fresh || !dropped)
		return;
	fill(want, EDU_SIZE, 23);
	pwrite(fd, want, EDU_SIZE, 0);
	n = pread(fd, fresh + 4000, 3000, 7);
	KTAP_EXPECT(n == 3000, "pread of 3000 bytes into never-touched memory returned %zd%s",
		    n, failed_with(n));
	KTAP_EXPECT(n != 3000 || !memcmp(fresh + 4000, want + 7, 3000),
		    "pread into never-touched memory gave other bytes than the device's");
	memset(dropped, 0x5a, len);
	KTAP_EXPECT(madvise(dropped, len, MADV_DONTNEED) == 0, "madvise: %s", strerror(errno));
	KTAP_EXPECT(page_present(dropped) == 0, "MADV_DONTNEED left the page mapped");
	n = pread(fd, dropped + 1, EDU_SIZE, 0);
	KTAP_EXPECT(n == EDU_SIZE, "pread of %d bytes into dropped pages returned %zd%s",
		    EDU_SIZE, n, failed_with(n));
	KTAP_EXPECT(n != EDU_SIZE || !memcmp(dropped + 1, want, EDU_SIZE),
		    "pread into dropped pages gave other bytes than the device's");
	munmap(fresh, len);
	munmap(dropped, len);
}

/*
 * Fail each fault point of open() in turn: each failure is ENOMEM (EFAULT
 * when the path could not be copied), and the file opens once no fault is
 * left. Leaks show in the leak check.
 */
static void open_fault_injected_fails_cleanly(int fd)
{
	int fnth = fault_nth_open();
	unsigned int nth;
	int fd2, err, fired;

	KTAP_EXPECT(fnth >= 0, "open /proc/thread-self/fail-nth: %s", strerror(errno));
	if (fnth < 0)
		return;
	for (nth = 1; nth < 200; nth++) {
		fault_nth_arm(fnth, nth);
		fd2 = open(DEV, O_RDWR);
		err = errno;
		fired = fault_nth_fired(fnth);
		if (fd2 >= 0)
			close(fd2);
		else
			KTAP_EXPECT(fired && (err == ENOMEM || err == EFAULT),
				    "open() with fault %u failing should fail with ENOMEM (EFAULT when copying the path failed), not %s",
				    nth, strerror(err));
		if (!fired)
			break;
	}
	KTAP_EXPECT(nth < 200, "open() still met a fault point after 200");
	fill(want, 100, 31);
	KTAP_EXPECT(pwrite(fd, want, 100, 0) == 100 && pread(fd, got, 100, 0) == 100 &&
		    !memcmp(want, got, 100), "after the failed opens, the device should still work");
	close(fnth);
}

/*
 * Fail each fault point of write() (or read()) in turn. A call that fails
 * returns EFAULT or ENOMEM, leaves the file position alone, and moves no
 * byte; a call that succeeds moves exactly the right bytes.
 */
static void io_fault_injected(int fd, int writing)
{
	const char *call = writing ? "write()" : "read()";
	unsigned char *bg = malloc(EDU_SIZE);
	int fnth = fault_nth_open();
	unsigned int nth;
	int err, fired;
	ssize_t n;
	off_t pos;

	KTAP_EXPECT(fnth >= 0 && bg, "open /proc/thread-self/fail-nth: %s", strerror(errno));
	if (fnth < 0 || !bg)
		return;
	memset(bg, 0x77, EDU_SIZE);
	fill(want, 300, 37);
	for (nth = 1; nth < 100; nth++) {
		pwrite(fd, writing ? bg : want, writing ? EDU_SIZE : 300, 500);
		memset(got, 0xee, 300);
		lseek(fd, 500, SEEK_SET);
		fault_nth_arm(fnth, nth);
		n = writing ? write(fd, want, 300) : read(fd, got, 300);
		err = errno;
		fired = fault_nth_fired(fnth);
		pos = lseek(fd, 0, SEEK_CUR);
		if (n < 0) {
			KTAP_EXPECT(fired && (err == EFAULT || err == ENOMEM),
				    "%s with fault %u failing should fail with EFAULT or ENOMEM, not %s",
				    call, nth, strerror(err));
			KTAP_EXPECT(pos == 500, "a failed %s moved the position from 500 to %lld",
				    call, (long long)pos);
		} else {
			KTAP_EXPECT(n == 300 && pos == 800,
				    "%s of 300 bytes at 500 returned %zd, position %lld (fault %u %s)",
				    call, n, (long long)pos, nth, fired ? "fired" : "not reached");
		}
		if (writing)
			pread(fd, got, 300, 500);
		if (n < 0 && writing)
			KTAP_EXPECT(!memcmp(got, bg, 300),
				    "a failed write() (fault %u) changed the device's bytes", nth);
		else if (n >= 0)
			KTAP_EXPECT(!memcmp(got, want, 300),
				    "%s returned %zd with fault %u %s, but the bytes it moved are wrong (a user copy that failed, unchecked?)",
				    call, n, nth, fired ? "fired" : "not reached");
		if (!fired)
			break;
	}
	KTAP_EXPECT(nth < 100, "%s still met a fault point after 100", call);
	close(fnth);
	free(bg);
}

static void write_fault_injected_fails_cleanly(int fd)
{
	io_fault_injected(fd, 1);
}

static void read_fault_injected_fails_cleanly(int fd)
{
	io_fault_injected(fd, 0);
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
	{ "zero_length_io_does_nothing", zero_length_io_does_nothing },
	{ "odd_offsets_round_trip", odd_offsets_round_trip },
	{ "write_from_nonresident_memory", write_from_nonresident_memory },
	{ "read_into_nonresident_memory", read_into_nonresident_memory },
	{ "open_fault_injected_fails_cleanly", open_fault_injected_fails_cleanly },
	{ "write_fault_injected_fails_cleanly", write_fault_injected_fails_cleanly },
	{ "read_fault_injected_fails_cleanly", read_fault_injected_fails_cleanly },
};

int main(void)
{
	unsigned int i;
	int fd;

	ktap_begin("edu_user", ARRAY_SIZE(cases));
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		if (!ktap_case(cases[i].name))
			continue;
		fd = open_dev();
		if (fd >= 0) {
			cases[i].run(fd);
			close(fd);
		}
		ktap_case_end();
	}
	return ktap_end();
}
