// SPDX-License-Identifier: GPL-2.0
/*
 * mmap_fault_user - lab 06 from the process's side: pages appear on first
 * touch, one fault each; the driver and the process share them; fork()
 * and munmap() keep the driver's count of mappings right and give every
 * page back; past the buffer a process gets SIGBUS. Every page the driver
 * hands out reads as zeros, however it is first reached; a failed
 * allocation is retried, never a SIGBUS; read() and write() cross pages.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ktap_user.h"
#include "lab_user.h"

/* The device's interface, as the handout describes it. */
#define DEV		"/dev/kmemlab_fault"
#define NPAGES		64
struct kmemlab_fault_stats {
	uint64_t faults, pages, vmas, live_buffers, live_pages;
};
#define KMEMLAB_FAULT_IOC_STATS	_IOR('k', 6, struct kmemlab_fault_stats)

static long page;

static int open_dev(void)
{
	int fd = open(DEV, O_RDWR);

	KTAP_EXPECT(fd >= 0, "open %s: %s", DEV, strerror(errno));
	return fd;
}

static struct kmemlab_fault_stats stats(int fd)
{
	struct kmemlab_fault_stats st = { 0 };

	KTAP_EXPECT(ioctl(fd, KMEMLAB_FAULT_IOC_STATS, &st) == 0,
		    "ioctl(KMEMLAB_FAULT_IOC_STATS): %s", strerror(errno));
	return st;
}

static unsigned char *map(int fd, size_t pages, off_t pgoff, int flags)
{
	unsigned char *p = mmap(NULL, pages * page, PROT_READ | PROT_WRITE,
				flags, fd, pgoff * page);

	KTAP_EXPECT(p != MAP_FAILED, "mmap of %zu pages at page offset %lld: %s",
		    pages, (long long)pgoff, strerror(errno));
	return p == MAP_FAILED ? NULL : p;
}

static void read_byte(volatile unsigned char *p)
{
	(void)*p;
}

static const char *signame(int sig)
{
	return sig > 0 ? strsignal(sig) : sig ? "no child" : "no signal";
}

static void pages_appear_on_first_touch(void)
{
	struct kmemlab_fault_stats st;
	unsigned char *p;
	int fd;

	if (!ktap_case("pages_appear_on_first_touch"))
		return;
	fd = open_dev();
	if (fd < 0)
		goto out;
	p = map(fd, NPAGES, 0, MAP_SHARED);
	if (!p)
		goto out_close;
	st = stats(fd);
	KTAP_EXPECT(st.pages == 0 && st.faults == 0,
		    "after mmap() alone: %llu pages, %llu faults; expected none",
		    (unsigned long long)st.pages, (unsigned long long)st.faults);
	p[0] = 1;
	(void)*(volatile unsigned char *)(p + 10 * page);
	p[NPAGES * page - 1] = 1;
	st = stats(fd);
	KTAP_EXPECT(st.pages == 3,
		    "3 pages touched (0, 10, %d), the buffer holds %llu pages",
		    NPAGES - 1, (unsigned long long)st.pages);
	munmap(p, NPAGES * page);
out_close:
	close(fd);
out:
	ktap_case_end();
}

static void one_fault_per_touched_page(void)
{
	struct kmemlab_fault_stats st;
	unsigned char *p;
	int fd, i, round;
	long sum = 0;

	if (!ktap_case("one_fault_per_touched_page"))
		return;
	fd = open_dev();
	if (fd < 0)
		goto out;
	p = map(fd, NPAGES, 0, MAP_SHARED);
	if (!p)
		goto out_close;
	/* Reads then writes, many bytes per page: still one fault a page. */
	for (round = 0; round < 4; round++)
		for (i = 0; i < 16; i++) {
			sum += ((volatile unsigned char *)p)[i * page + round * 100];
			p[i * page + round * 100 + 1] = round;
		}
	st = stats(fd);
	KTAP_EXPECT(st.faults == 16,
		    "16 pages read and written 4 times each: expected 16 faults, the driver counted %llu",
		    (unsigned long long)st.faults);
	munmap(p, NPAGES * page);
out_close:
	close(fd);
out:
	(void)sum;
	ktap_case_end();
}

static void driver_and_process_share_bytes(void)
{
	unsigned char *p, buf[64];
	int fd;

	if (!ktap_case("driver_and_process_share_bytes"))
		return;
	fd = open_dev();
	if (fd < 0)
		goto out;
	p = map(fd, 4, 0, MAP_SHARED);
	if (!p)
		goto out_close;
	memcpy(p + 2 * page + 8, "through the mapping", 20);
	memset(buf, 0, sizeof(buf));
	KTAP_EXPECT(pread(fd, buf, 20, 2 * page + 8) == 20, "read(): %s",
		    strerror(errno));
	KTAP_EXPECT(!memcmp(buf, "through the mapping", 20),
		    "read() at page 2 + 8 returned \"%.20s\", not what the process stored there",
		    buf);
	KTAP_EXPECT(pwrite(fd, "through write()", 16, 3 * page + 100) == 16,
		    "write(): %s", strerror(errno));
	KTAP_EXPECT(!memcmp(p + 3 * page + 100, "through write()", 16),
		    "the mapping at page 3 + 100 shows \"%.16s\", not what write() put there",
		    p + 3 * page + 100);
	munmap(p, 4 * page);
out_close:
	close(fd);
out:
	ktap_case_end();
}

static void offset_selects_page(void)
{
	unsigned char *p;
	int fd, i;
	char c;

	if (!ktap_case("offset_selects_page"))
		return;
	fd = open_dev();
	if (fd < 0)
		goto out;
	for (i = 0; i < NPAGES; i++) {
		c = 'A' + i % 26;
		if (pwrite(fd, &c, 1, (off_t)i * page) != 1)
			KTAP_EXPECT(0, "write(): %s", strerror(errno));
	}
	p = map(fd, 2, 7, MAP_SHARED);
	if (!p)
		goto out_close;
	KTAP_EXPECT(p[0] == 'A' + 7 && p[page] == 'A' + 8,
		    "a mapping at page offset 7 should start with buffer pages 7 and 8 ('%c', '%c'), it shows '%c', '%c'",
		    'A' + 7, 'A' + 8, p[0], p[page]);
	munmap(p, 2 * page);
out_close:
	close(fd);
out:
	ktap_case_end();
}

static void two_mappings_share_page(void)
{
	struct kmemlab_fault_stats st;
	unsigned char *a, *b;
	int fd;

	if (!ktap_case("two_mappings_share_page"))
		return;
	fd = open_dev();
	if (fd < 0)
		goto out;
	a = map(fd, 1, 5, MAP_SHARED);
	b = map(fd, 2, 4, MAP_SHARED);
	if (!a || !b)
		goto out_unmap;
	strcpy((char *)a + 42, "seen twice");
	KTAP_EXPECT(!strcmp((char *)b + page + 42, "seen twice"),
		    "two mappings of page offset 5 should be one page; the second shows \"%.10s\"",
		    b + page + 42);
	st = stats(fd);
	KTAP_EXPECT(st.pages == 1 && st.vmas == 2,
		    "expected 1 page and 2 VMAs, the driver counts %llu pages, %llu VMAs",
		    (unsigned long long)st.pages, (unsigned long long)st.vmas);
out_unmap:
	if (a)
		munmap(a, page);
	if (b)
		munmap(b, 2 * page);
	close(fd);
out:
	ktap_case_end();
}

/*
 * fork() copies the VMA into the child: the driver must count it, the
 * child must see the parent's page, and the count must drop when the
 * child exits.
 */
static void fork_duplicates_mapping(void)
{
	struct kmemlab_fault_stats st;
	int fd, go[2], done[2], status;
	unsigned char *p;
	char c;
	pid_t pid;

	if (!ktap_case("fork_duplicates_mapping"))
		return;
	fd = open_dev();
	if (fd < 0 || pipe(go) || pipe(done))
		goto out;
	p = map(fd, 2, 0, MAP_SHARED);
	if (!p)
		goto out_close;
	p[0] = 'P';
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		/* Answer with what we see, store, and wait to be let go. */
		c = p[0];
		p[page] = 'C';
		if (write(done[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(1);
		_exit(0);
	}
	c = 0;
	KTAP_EXPECT(read(done[0], &c, 1) == 1 && c == 'P',
		    "the child should read the parent's 'P' through the inherited mapping, it read '%c'",
		    c ? c : '?');
	KTAP_EXPECT(p[page] == 'C',
		    "the child stored 'C' in page 1, the parent sees 0x%02x", p[page]);
	st = stats(fd);
	KTAP_EXPECT(st.vmas == 2,
		    "parent and child both map the buffer: expected 2 VMAs, the driver counts %llu (vm_ops->open?)",
		    (unsigned long long)st.vmas);
	if (write(go[1], "x", 1) != 1 || waitpid(pid, &status, 0) != pid)
		KTAP_EXPECT(0, "the child did not finish: %s", strerror(errno));
	st = stats(fd);
	KTAP_EXPECT(st.vmas == 1,
		    "the child exited: expected 1 VMA left, the driver counts %llu",
		    (unsigned long long)st.vmas);
	munmap(p, 2 * page);
	st = stats(fd);
	KTAP_EXPECT(st.vmas == 0,
		    "after munmap() no VMA is left, the driver counts %llu (vm_ops->close?)",
		    (unsigned long long)st.vmas);
out_close:
	close(fd);
out:
	ktap_case_end();
}

/* Once nothing maps the buffer and its file is closed, it is freed. */
static void munmap_and_close_free_pages(void)
{
	struct kmemlab_fault_stats before, after;
	unsigned char *p;
	int probe, fd, i;
	pid_t pid;

	if (!ktap_case("munmap_and_close_free_pages"))
		return;
	probe = open_dev();
	if (probe < 0)
		goto out;
	before = stats(probe);
	fd = open_dev();
	if (fd < 0)
		goto out_probe;
	p = map(fd, 8, 0, MAP_SHARED);
	if (p) {
		for (i = 0; i < 8; i++)
			p[i * page] = i;
		fflush(stdout);
		pid = fork();
		if (pid == 0)
			_exit(p[3 * page] == 3 ? 0 : 1);
		if (pid > 0)
			waitpid(pid, NULL, 0);
		munmap(p, 8 * page);
	}
	close(fd);
	after = stats(probe);
	KTAP_EXPECT(after.live_pages == before.live_pages,
		    "8 pages touched, unmapped and closed: the device holds %lld more pages than before (buffer never freed?)",
		    (long long)(after.live_pages - before.live_pages));
	KTAP_EXPECT(after.live_buffers == before.live_buffers,
		    "the file is closed and unmapped: the device holds %lld more buffers than before",
		    (long long)(after.live_buffers - before.live_buffers));
out_probe:
	close(probe);
out:
	ktap_case_end();
}

/*
 * The mapping may be longer than the buffer, and may start past it, as
 * with a file: mmap() succeeds, a touch past the end is SIGBUS.
 */
static void access_past_end_sigbus(void)
{
	unsigned char *p;
	int fd, sig;

	if (!ktap_case("access_past_end_sigbus"))
		return;
	fd = open_dev();
	if (fd < 0)
		goto out;
	p = map(fd, 2, NPAGES - 1, MAP_SHARED);
	if (p) {
		sig = child_signal(read_byte, p);
		KTAP_EXPECT(sig == 0, "reading the buffer's last page: %s",
			    signame(sig));
		sig = child_signal(read_byte, p + page);
		KTAP_EXPECT(sig == SIGBUS,
			    "a read one page past the buffer should die of SIGBUS, the child got %s",
			    signame(sig));
		munmap(p, 2 * page);
	}
	/* Longer than the buffer from page 0: a length alone refuses nothing. */
	p = map(fd, NPAGES + 1, 0, MAP_SHARED);
	if (p) {
		sig = child_signal(read_byte, p + (NPAGES - 1) * page);
		KTAP_EXPECT(sig == 0, "reading the last page of a %d-page mapping at offset 0: %s",
			    NPAGES + 1, signame(sig));
		sig = child_signal(read_byte, p + NPAGES * page);
		KTAP_EXPECT(sig == SIGBUS,
			    "page %d of a mapping at offset 0 is past the buffer: expected SIGBUS, the child got %s",
			    NPAGES, signame(sig));
		munmap(p, (NPAGES + 1) * page);
	}
	p = map(fd, 1, NPAGES + 100, MAP_SHARED);
	if (p) {
		sig = child_signal(read_byte, p);
		KTAP_EXPECT(sig == SIGBUS,
			    "a read of a mapping that starts 100 pages past the buffer should die of SIGBUS, the child got %s",
			    signame(sig));
		munmap(p, page);
	}
	close(fd);
out:
	ktap_case_end();
}

/* MAP_PRIVATE: reads see the driver's page, stores get a private copy. */
static void private_store_stays_private(void)
{
	unsigned char *p, c = 0;
	int fd;

	if (!ktap_case("private_store_stays_private"))
		return;
	fd = open_dev();
	if (fd < 0)
		goto out;
	if (pwrite(fd, "D", 1, 0) != 1)
		KTAP_EXPECT(0, "write(): %s", strerror(errno));
	p = map(fd, 1, 0, MAP_PRIVATE);
	if (!p)
		goto out_close;
	KTAP_EXPECT(p[0] == 'D', "a private mapping should show the driver's 'D', it shows 0x%02x",
		    p[0]);
	p[0] = 'P';
	KTAP_EXPECT(pread(fd, &c, 1, 0) == 1 && c == 'D',
		    "a store to a MAP_PRIVATE mapping reached the driver: read() gives '%c'",
		    c);
	KTAP_EXPECT(p[0] == 'P', "the private copy lost the process's store");
	munmap(p, page);
out_close:
	close(fd);
out:
	ktap_case_end();
}

static void mremap_cannot_grow(void)
{
	unsigned char *p, *q;
	int fd;

	if (!ktap_case("mremap_cannot_grow"))
		return;
	fd = open_dev();
	if (fd < 0)
		goto out;
	p = map(fd, 2, 0, MAP_SHARED);
	if (!p)
		goto out_close;
	q = mremap(p, 2 * page, 4 * page, MREMAP_MAYMOVE);
	KTAP_EXPECT(q == MAP_FAILED && errno == EFAULT,
		    "mremap() growing the mapping should fail with EFAULT (VM_DONTEXPAND), got %s",
		    q == MAP_FAILED ? strerrorname_np(errno) : "success");
	munmap(q == MAP_FAILED ? p : q, (q == MAP_FAILED ? 2 : 4) * page);
out_close:
	close(fd);
out:
	ktap_case_end();
}

/*
 * The VMA holds the file: the mapping works after close(fd). The open
 * file, and so the mapping, holds the module (the file operations'
 * .owner): an rmmod meanwhile would leave the VMA's vm_ops and its pages
 * to freed code.
 */
static void mapping_outlives_close(void)
{
	unsigned char *p, c = 0;
	long refs;
	int fd;
	void *q;

	if (!ktap_case("mapping_outlives_close"))
		return;
	refs = module_refs("kmemlab_fault");
	fd = open_dev();
	if (fd < 0)
		goto out;
	KTAP_EXPECT(refs >= 0 && module_refs("kmemlab_fault") == refs + 1,
		    "an open file of the device should hold one reference to kmemlab_fault: refcnt %ld, then %ld "
		    "(the file operations need .owner = THIS_MODULE)", refs, module_refs("kmemlab_fault"));
	p = map(fd, 1, 0, MAP_SHARED);
	close(fd);
	q = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, 0);
	KTAP_EXPECT(q == MAP_FAILED && errno == EBADF,
		    "mmap() on a closed descriptor should fail with EBADF, got %s",
		    q == MAP_FAILED ? strerrorname_np(errno) : "success");
	if (!p)
		goto out;
	KTAP_EXPECT(module_refs("kmemlab_fault") == refs + 1,
		    "a mapping whose descriptor was closed should still hold kmemlab_fault: refcnt %ld, then %ld",
		    refs, module_refs("kmemlab_fault"));
	p[0] = 'Z';
	c = p[0];
	KTAP_EXPECT(c == 'Z', "the mapping stopped working after close()");
	munmap(p, page);
	KTAP_EXPECT(module_refs("kmemlab_fault") == refs,
		    "after munmap(), kmemlab_fault's refcnt should be back to %ld, not %ld",
		    refs, module_refs("kmemlab_fault"));
out:
	ktap_case_end();
}

/* The offset of the first non-zero byte in @len bytes at @p except @skip. */
static long first_nonzero(const unsigned char *p, size_t len, long skip)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] && (long)i != skip)
			return i;
	return -1;
}

/*
 * Fresh pages read as zeros when the first touch is a load: through a
 * shared mapping at a non-zero offset, and through read().
 */
static void fresh_page_zero_on_first_read(void)
{
	unsigned char *p, *buf;
	long bad;
	int fd;

	if (!ktap_case("fresh_page_zero_on_first_read"))
		return;
	buf = malloc(page);
	fd = open_dev();
	if (fd < 0 || !buf)
		goto out;
	p = map(fd, 3, 2, MAP_SHARED);
	if (p) {
		bad = first_nonzero(p, 3 * page, -1);
		KTAP_EXPECT(bad < 0,
			    "3 fresh pages mapped at page offset 2: byte %ld (page %ld) reads 0x%02x, want 0",
			    bad, bad / page, bad < 0 ? 0 : p[bad]);
		munmap(p, 3 * page);
	}
	KTAP_EXPECT(pread(fd, buf, page, 9 * page) == page, "read(): %s", strerror(errno));
	bad = first_nonzero(buf, page, -1);
	KTAP_EXPECT(bad < 0, "read() of fresh page 9: byte %ld is 0x%02x, want 0", bad,
		    bad < 0 ? 0 : buf[bad]);
	close(fd);
out:
	free(buf);
	ktap_case_end();
}

/*
 * A first touch that stores one byte, through the mapping or write():
 * the rest of the page is zero.
 */
static void fresh_page_zero_on_first_write(void)
{
	unsigned char *p;
	long bad;
	int fd;

	if (!ktap_case("fresh_page_zero_on_first_write"))
		return;
	fd = open_dev();
	if (fd < 0)
		goto out;
	p = map(fd, 4, 5, MAP_SHARED);
	if (!p)
		goto out_close;
	p[page + 300] = 0x11;
	bad = first_nonzero(p + page, page, 300);
	KTAP_EXPECT(bad < 0,
		    "a fresh page first touched by a store at byte 300: byte %ld reads 0x%02x, want 0",
		    bad, bad < 0 ? 0 : p[page + bad]);
	KTAP_EXPECT(pwrite(fd, "w", 1, 7 * page + 5) == 1, "write(): %s", strerror(errno));
	bad = first_nonzero(p + 2 * page, page, 5);
	KTAP_EXPECT(bad < 0,
		    "a fresh page first reached by a one-byte write(): byte %ld reads 0x%02x through the mapping, want 0",
		    bad, bad < 0 ? 0 : p[2 * page + bad]);
	munmap(p, 4 * page);
out_close:
	close(fd);
out:
	ktap_case_end();
}

/*
 * MAP_PRIVATE: a load shows the driver's fresh page, a first store copies
 * it; both read as zeros apart from what was stored.
 */
static void fresh_page_zero_private(void)
{
	unsigned char *p, c = 0xff;
	long bad;
	int fd;

	if (!ktap_case("fresh_page_zero_private"))
		return;
	fd = open_dev();
	if (fd < 0)
		goto out;
	p = map(fd, 2, 11, MAP_PRIVATE);
	if (!p)
		goto out_close;
	bad = first_nonzero(p, page, -1);
	KTAP_EXPECT(bad < 0, "a fresh page read through MAP_PRIVATE: byte %ld reads 0x%02x, want 0",
		    bad, bad < 0 ? 0 : p[bad]);
	p[page + 40] = 0x22;
	bad = first_nonzero(p + page, page, 40);
	KTAP_EXPECT(bad < 0,
		    "the private copy made by a first store: byte %ld reads 0x%02x, want 0",
		    bad, bad < 0 ? 0 : p[page + bad]);
	KTAP_EXPECT(pread(fd, &c, 1, 12 * page + 40) == 1 && c == 0,
		    "the driver's page under a private copy should still read 0 at byte 40, read() gives 0x%02x",
		    c);
	munmap(p, 2 * page);
out_close:
	close(fd);
out:
	ktap_case_end();
}

/* A page first touched by a child after fork() is zero, for both. */
static void fresh_page_zero_after_fork(void)
{
	unsigned char *p;
	int fd, status = 0;
	long bad;
	pid_t pid;

	if (!ktap_case("fresh_page_zero_after_fork"))
		return;
	fd = open_dev();
	if (fd < 0)
		goto out;
	p = map(fd, 3, 1, MAP_SHARED);
	if (!p)
		goto out_close;
	p[0] = 'P';
	fflush(stdout);
	pid = fork();
	if (pid == 0)
		_exit(first_nonzero(p + 2 * page, page, -1) < 0 ? 0 : 1);
	KTAP_EXPECT(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0,
		    "a child read a page nobody had touched and found a non-zero byte (or failed)");
	bad = first_nonzero(p + 2 * page, page, -1);
	KTAP_EXPECT(bad < 0, "the page the child faulted in: byte %ld reads 0x%02x in the parent",
		    bad, bad < 0 ? 0 : p[2 * page + bad]);
	munmap(p, 3 * page);
out_close:
	close(fd);
out:
	ktap_case_end();
}

/*
 * In a child (fail-nth is per task, and a SIGBUS kills only the child):
 * make the @n-th allocation fail, then store @val at @p. Returns 1 if the
 * failure happened during the store, 0 if not, -signal if the child died.
 */
static int store_with_nth_failure(unsigned char *p, int n, unsigned char val)
{
	int status, fd;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		fd = fault_nth_open();
		if (fd < 0)
			_exit(2);
		fault_nth_arm(fd, n);
		*(volatile unsigned char *)p = val;
		_exit(fault_nth_fired(fd) ? 1 : 0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1000;
	if (WIFSIGNALED(status))
		return -WTERMSIG(status);
	return WEXITSTATUS(status) == 1 ? 1 : WEXITSTATUS(status) == 0 ? 0 : -1000;
}

/*
 * Each allocation of a first touch fails in turn (page tables, the
 * driver's page). A failed allocation is VM_FAULT_OOM: the core retries
 * the fault and the store lands. VM_FAULT_SIGBUS would kill the process
 * for a shortage that passes.
 */
static void failed_allocation_retried(void)
{
	struct kmemlab_fault_stats st;
	int fd, n, r = 0, fired = 0;
	unsigned char *p;
	long bad;

	if (!ktap_case("failed_allocation_retried"))
		return;
	fd = open_dev();
	if (fd < 0)
		goto out;
	p = map(fd, NPAGES, 0, MAP_SHARED);
	if (!p)
		goto out_close;
	for (n = 1; n < NPAGES; n++) {
		r = store_with_nth_failure(p + n * page + 1, n, 0x40 + n);
		if (r <= 0)
			break;
		fired++;
		KTAP_EXPECT(p[n * page + 1] == 0x40 + n,
			    "the store made while allocation %d failed was lost: read 0x%02x", n,
			    p[n * page + 1]);
		bad = first_nonzero(p + n * page, page, 1);
		KTAP_EXPECT(bad < 0, "page %d, allocated after a failure: byte %ld is 0x%02x, want 0",
			    n, bad, bad < 0 ? 0 : p[n * page + bad]);
	}
	KTAP_EXPECT(r == 0,
		    "with allocation %d failing during a first touch, the process %s%s: a failed allocation in .fault is VM_FAULT_OOM, which the core retries",
		    n, r < 0 && r > -1000 ? "died of " : "failed",
		    r < 0 && r > -1000 ? strsignal(-r) : "");
	if (r == 0 && fired == 0)
		ktap_diag("no allocation failed: is fault injection in this kernel?");
	st = stats(fd);
	KTAP_EXPECT(st.pages == (uint64_t)n,
		    "%d pages were touched, the buffer holds %llu", n, (unsigned long long)st.pages);
	munmap(p, NPAGES * page);
out_close:
	close(fd);
out:
	ktap_case_end();
}

/*
 * read(), write() and open() with each of their allocations failing in
 * turn: the call fails with ENOMEM (or EFAULT, for a failed user copy),
 * later calls work, and no buffer or page is left behind.
 */
static void failed_allocation_in_syscalls(void)
{
	struct kmemlab_fault_stats before, after, st;
	int probe, fd = -1, nth, n, ret = -1, err = 0;
	unsigned char buf[64];

	if (!ktap_case("failed_allocation_in_syscalls"))
		return;
	nth = fault_nth_open();
	probe = open_dev();
	if (nth < 0 || probe < 0) {
		KTAP_EXPECT(nth >= 0, "open /proc/self/fail-nth: %s", strerror(errno));
		goto out;
	}
	before = stats(probe);
	/* Whatever the errno, what matters is that nothing is left behind. */
	for (n = 1; n < 64; n++) {
		fault_nth_arm(nth, n);
		fd = open(DEV, O_RDWR);
		err = errno;
		if (!fault_nth_fired(nth))
			break;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	if (fd < 0) {
		KTAP_EXPECT(0, "open() with no failure left: %s", strerror(err));
		goto out;
	}
	for (n = 1; n < 64; n++) {
		memset(buf, 0x77, sizeof(buf));
		fault_nth_arm(nth, n);
		ret = pread(fd, buf, sizeof(buf), 20 * page + n);
		err = errno;
		if (!fault_nth_fired(nth))
			break;
		KTAP_EXPECT(ret == -1 && (err == ENOMEM || err == EFAULT),
			    "read() of a fresh page with allocation %d failing: expected ENOMEM or EFAULT, got %s",
			    n, ret < 0 ? strerrorname_np(err) : "success");
	}
	KTAP_EXPECT(ret == (int)sizeof(buf) && first_nonzero(buf, sizeof(buf), -1) < 0,
		    "read() of a fresh page with no failure left: returned %d, want %zu zero bytes",
		    ret, sizeof(buf));
	for (n = 1; n < 64; n++) {
		fault_nth_arm(nth, n);
		ret = pwrite(fd, "fault", 5, 30 * page - 2);
		err = errno;
		if (!fault_nth_fired(nth))
			break;
		KTAP_EXPECT(ret == -1 || ret == 2,
			    "write() across fresh pages 29 and 30 with allocation %d failing: expected an error or the 2 bytes of page 29, got %d",
			    n, ret);
	}
	KTAP_EXPECT(ret == 5, "write() with no failure left returned %d, want 5", ret);
	st = stats(fd);
	KTAP_EXPECT(st.pages == 3, "pages 20, 29 and 30 were reached, the buffer holds %llu",
		    (unsigned long long)st.pages);
	close(fd);
	after = stats(probe);
	KTAP_EXPECT(after.live_buffers == before.live_buffers &&
		    after.live_pages == before.live_pages,
		    "after every failed call and a close(), the device holds %lld more buffers and %lld more pages",
		    (long long)(after.live_buffers - before.live_buffers),
		    (long long)(after.live_pages - before.live_pages));
out:
	if (probe >= 0)
		close(probe);
	if (nth >= 0)
		close(nth);
	ktap_case_end();
}

/* The offset of the first byte where @a and @b differ, or -1. */
static long first_diff_at(const unsigned char *a, const unsigned char *b, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (a[i] != b[i])
			return i;
	return -1;
}

/*
 * read() and write() at lengths and offsets that are not page multiples
 * cross page boundaries; they stop at the end of the buffer.
 */
static void read_write_cross_pages(void)
{
	size_t len = 3 * page + 5, size = NPAGES * page;
	unsigned char *src, *dst, *p;
	size_t i;
	int fd;

	if (!ktap_case("read_write_cross_pages"))
		return;
	src = malloc(len);
	dst = malloc(len);
	fd = open_dev();
	if (fd < 0 || !src || !dst)
		goto out;
	for (i = 0; i < len; i++)
		src[i] = (unsigned char)(i * 13 + i / page + 1);
	KTAP_EXPECT(pwrite(fd, src, len, page - 3) == (ssize_t)len, "write() of %zu bytes at %ld: %s",
		    len, page - 3, strerror(errno));
	/* The mapping shows where the bytes really are: in pages 0 to 4. */
	p = map(fd, 8, 0, MAP_SHARED);
	if (p) {
		KTAP_EXPECT(!memcmp(p + page - 3, src, len),
			    "%zu bytes written at offset %ld are not where the mapping shows them (byte %ld differs)",
			    len, page - 3, first_diff_at(p + page - 3, src, len));
		/* And the other way: stored through the mapping, read() across pages. */
		for (i = 0; i < len; i++)
			p[4 * page + 7 + i] = (unsigned char)(i * 7 + 3);
		memset(dst, 0, len);
		KTAP_EXPECT(pread(fd, dst, len, 4 * page + 7) == (ssize_t)len, "read(): %s",
			    strerror(errno));
		KTAP_EXPECT(!memcmp(dst, p + 4 * page + 7, len),
			    "read() of %zu bytes at offset %ld differs from the mapping at byte %ld",
			    len, 4 * page + 7, first_diff_at(dst, p + 4 * page + 7, len));
		munmap(p, 8 * page);
	}
	memset(dst, 0, len);
	KTAP_EXPECT(pread(fd, dst, len, page - 3) == (ssize_t)len, "read(): %s", strerror(errno));
	KTAP_EXPECT(!memcmp(src, dst, len),
		    "%zu bytes written at offset %ld (across 4 pages) do not read back the same",
		    len, page - 3);
	memset(dst, 0, 2);
	KTAP_EXPECT(pread(fd, dst, 2, page - 1) == 2 && dst[0] == src[2] && dst[1] == src[3],
		    "2 bytes read across the end of page 0 differ from what was written");
	KTAP_EXPECT(pread(fd, dst, 10, size - 1) == 1,
		    "read() of 10 bytes at the buffer's last byte should return 1");
	KTAP_EXPECT(pread(fd, dst, 10, size) == 0, "read() at the end of the buffer should return 0");
	KTAP_EXPECT(pread(fd, dst, 0, 5) == 0, "read() of 0 bytes should return 0");
	close(fd);
out:
	free(src);
	free(dst);
	ktap_case_end();
}

/*
 * A device opened read-only may be mapped MAP_SHARED with PROT_READ; the
 * core refuses to make it writable.
 */
/*
 * Data, never code: mmap() with PROT_EXEC fails with EPERM, and leaves
 * nothing behind (the core calls no ->close for a VMA whose ->mmap
 * failed: a reference taken before the refusal is never given back, and
 * the file's buffer outlives the file); on a good mapping, mprotect() to
 * PROT_EXEC fails with EACCES (VM_MAYEXEC cleared, mm/mprotect.c).
 */
static void exec_mapping_refused(void)
{
	struct kmemlab_fault_stats base, st;
	unsigned char *p;
	int fd, probe;

	if (!ktap_case("exec_mapping_refused"))
		return;
	probe = open_dev();
	fd = open_dev();
	if (probe < 0 || fd < 0)
		goto out;
	base = stats(probe);
	p = mmap(NULL, page, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
	KTAP_EXPECT(p == MAP_FAILED && errno == EPERM,
		    "mmap() with PROT_EXEC: expected EPERM, got %s", p == MAP_FAILED ? strerrorname_np(errno) : "a mapping");
	if (p != MAP_FAILED)
		munmap(p, page);
	st = stats(fd);
	KTAP_EXPECT(st.vmas == 0,
		    "after the refused PROT_EXEC mmap(), the buffer counts %llu mappings: refuse before taking anything",
		    (unsigned long long)st.vmas);
	p = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, 0);
	KTAP_EXPECT(p != MAP_FAILED, "mmap() with PROT_READ: %s", strerror(errno));
	if (p != MAP_FAILED) {
		KTAP_EXPECT(mprotect(p, page, PROT_READ | PROT_EXEC) == -1 && errno == EACCES,
			    "mprotect() to PROT_EXEC of the mapping: expected EACCES (clear VM_MAYEXEC), got %s",
			    errno == EACCES ? "success" : strerrorname_np(errno));
		munmap(p, page);
	}
	close(fd);
	fd = -1;
	st = stats(probe);
	KTAP_EXPECT(st.live_buffers == base.live_buffers - 1,
		    "after close() of a file whose PROT_EXEC mmap() was refused, %llu buffers live, expected %llu: the refused mmap() kept a reference to the buffer",
		    (unsigned long long)st.live_buffers, (unsigned long long)base.live_buffers - 1);
out:
	if (fd >= 0)
		close(fd);
	if (probe >= 0)
		close(probe);
	ktap_case_end();
}

/* Read @path's first line into @buf (@len bytes): 0, or -1. */
static int read_knob(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	int ok = f && fgets(buf, len, f);

	if (f)
		fclose(f);
	if (!ok)
		return -1;
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

#define IGNORE_SLAB	"/sys/kernel/debug/failslab/ignore-gfp-wait"
#define IGNORE_PAGE	"/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait"

/*
 * A fault handler runs in process context, under the mmap lock or the
 * VMA's lock, both of which may sleep: its page is a GFP_HIGHUSER
 * allocation, which may reclaim memory, not GFP_ATOMIC, which may not
 * (it fails where GFP_HIGHUSER would have waited) and dips into the
 * reserves kept for interrupt handlers (include/linux/gfp_types.h). With
 * the fault injection told to leave alone every allocation that may sleep
 * (ignore-gfp-wait Y, lib/fault-inject.c), failing the first allocation
 * of a first touch then fails none of the driver's: one store, one fault.
 */
static void fault_allocation_may_sleep(void)
{
	struct kmemlab_fault_stats before, after;
	char slab[8] = "", pagealloc[8] = "";
	unsigned char *p = NULL;
	int fd = -1, r;

	if (!ktap_case("fault_allocation_may_sleep"))
		return;
	if (read_knob(IGNORE_SLAB, slab, sizeof(slab)) || read_knob(IGNORE_PAGE, pagealloc, sizeof(pagealloc))) {
		ktap_skip_case("no fault injection in this kernel");
		goto out;
	}
	fd = open_dev();
	if (fd >= 0)
		p = map(fd, 2, 40, MAP_SHARED);
	if (!p)
		goto out;
	p[0] = 1;	/* the page tables of both pages */
	KTAP_EXPECT(write_sysfs(IGNORE_SLAB, "Y") == 0 && write_sysfs(IGNORE_PAGE, "Y") == 0,
		    "cannot set ignore-gfp-wait of the fault injection");
	before = stats(fd);
	r = store_with_nth_failure(p + page, 1, 0x77);
	after = stats(fd);
	write_sysfs(IGNORE_SLAB, slab);
	write_sysfs(IGNORE_PAGE, pagealloc);
	KTAP_EXPECT(r >= 0, "the store died of %s", r > -1000 ? strsignal(-r) : "a failed fork");
	KTAP_EXPECT(after.faults - before.faults == 1,
		    "with only allocations that cannot sleep failing, one store took %llu faults: the driver's page allocation cannot sleep (GFP_ATOMIC?); in a fault handler it may, use GFP_HIGHUSER",
		    (unsigned long long)(after.faults - before.faults));
	munmap(p, 2 * page);
out:
	if (fd >= 0)
		close(fd);
	ktap_case_end();
}

static void read_only_open_maps_shared(void)
{
	struct kmemlab_fault_stats st;
	unsigned char *p;
	long bad;
	int fd;

	if (!ktap_case("read_only_open_maps_shared"))
		return;
	fd = open(DEV, O_RDONLY);
	KTAP_EXPECT(fd >= 0, "open %s read-only: %s", DEV, strerror(errno));
	if (fd < 0)
		goto out;
	p = mmap(NULL, 2 * page, PROT_READ, MAP_SHARED, fd, 3 * page);
	KTAP_EXPECT(p != MAP_FAILED,
		    "mmap(PROT_READ, MAP_SHARED) of the device opened O_RDONLY: expected success, got %s",
		    strerrorname_np(errno));
	if (p != MAP_FAILED) {
		bad = first_nonzero(p, 2 * page, -1);
		KTAP_EXPECT(bad < 0, "a read-only shared mapping: byte %ld reads 0x%02x, want 0",
			    bad, bad < 0 ? 0 : p[bad]);
		st = stats(fd);
		KTAP_EXPECT(st.pages == 2 && st.vmas == 1,
			    "2 pages read through one mapping: the driver counts %llu pages, %llu VMAs",
			    (unsigned long long)st.pages, (unsigned long long)st.vmas);
		errno = 0;
		KTAP_EXPECT(mprotect(p, page, PROT_READ | PROT_WRITE) && errno == EACCES,
			    "mprotect(PROT_WRITE) on a mapping of a read-only file: expected EACCES, got %s",
			    errno ? strerrorname_np(errno) : "success");
		munmap(p, 2 * page);
	}
	close(fd);
out:
	ktap_case_end();
}

/* Wait (up to 2 s) until no buffer but our probe's is alive. */
static void settle(void)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	struct kmemlab_fault_stats st;
	int fd, i;

	fd = open(DEV, O_RDWR);
	if (fd < 0)
		return;
	for (i = 0; i < 100; i++) {
		if (ioctl(fd, KMEMLAB_FAULT_IOC_STATS, &st) || st.live_buffers <= 1)
			break;
		nanosleep(&ts, NULL);
	}
	close(fd);
}

int main(void)
{
	page = sysconf(_SC_PAGESIZE);
	ktap_begin("mmap_fault_user", 21);
	settle();
	pages_appear_on_first_touch();
	one_fault_per_touched_page();
	driver_and_process_share_bytes();
	offset_selects_page();
	two_mappings_share_page();
	fork_duplicates_mapping();
	munmap_and_close_free_pages();
	access_past_end_sigbus();
	private_store_stays_private();
	mremap_cannot_grow();
	mapping_outlives_close();
	fresh_page_zero_on_first_read();
	fresh_page_zero_on_first_write();
	fresh_page_zero_private();
	fresh_page_zero_after_fork();
	failed_allocation_retried();
	failed_allocation_in_syscalls();
	read_write_cross_pages();
	read_only_open_maps_shared();
	exec_mapping_refused();
	fault_allocation_may_sleep();
	return ktap_end();
}
