// SPDX-License-Identifier: GPL-2.0
/*
 * walk_user - the page walk from the process's side: /dev/kmemlab_walk
 * walks this process's own page tables, /proc/self/pagemap says what the
 * kernel's walker finds, and fork() and munmap() change the answers. The
 * ioctl itself must answer a bad request with the errno the kernel's own
 * ioctls use, and read a request wherever it lies in memory.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ktap_user.h"
#include "lab_user.h"
#include "kmemlab_walk_ioctl.h"

#define PM_PRESENT	(1ULL << 63)
#define PM_PFN_MASK	((1ULL << 55) - 1)

static int dev = -1, pagemap = -1;
static long page_size;

static struct kmemlab_walk_req walk(void *addr)
{
	struct kmemlab_walk_req req = { .addr = (uintptr_t)addr, .result = -ENOSYS };

	if (ioctl(dev, KMEMLAB_IOC_WALK, &req) != 0)
		req.result = -errno;
	return req;
}

/* The kernel's own answer: this page's pagemap entry. */
static uint64_t pagemap_entry(void *addr)
{
	uint64_t e = 0;
	off_t off = (uintptr_t)addr / page_size * sizeof(e);

	if (pread(pagemap, &e, sizeof(e), off) != sizeof(e))
		return 0;
	return e;
}

static char *map(size_t len)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void matches_pagemap(void)
{
	char *p;
	int i;

	if (!ktap_case("written_pages_match_pagemap"))
		return;
	p = map(8 * page_size);
	KTAP_EXPECT(p, "mmap: %s", strerror(errno));
	for (i = 0; p && i < 8; i++) {
		char *a = p + i * page_size + 8 * i;
		struct kmemlab_walk_req r;
		uint64_t e;

		a[0] = i;
		r = walk(a);
		e = pagemap_entry(a);
		KTAP_EXPECT(r.result == 0, "page %d: walk returned %d, want 0", i, r.result);
		KTAP_EXPECT(r.pfn == (e & PM_PFN_MASK),
			    "page %d: walk says pfn %#llx, pagemap says %#llx", i,
			    (unsigned long long)r.pfn, (unsigned long long)(e & PM_PFN_MASK));
		KTAP_EXPECT((r.flags & (KMEMLAB_PRESENT | KMEMLAB_WRITE | KMEMLAB_USER)) ==
			    (KMEMLAB_PRESENT | KMEMLAB_WRITE | KMEMLAB_USER),
			    "page %d: flags %#x lack present, write or user", i, r.flags);
	}
	if (p)
		munmap(p, 8 * page_size);
	ktap_case_end();
}

static void untouched_not_present(void)
{
	struct kmemlab_walk_req r;
	char *p;

	if (!ktap_case("untouched_page_not_present"))
		return;
	p = map(4 * page_size);
	KTAP_EXPECT(p, "mmap: %s", strerror(errno));
	if (p) {
		p[0] = 1;
		r = walk(p + 2 * page_size);
		KTAP_EXPECT(!(pagemap_entry(p + 2 * page_size) & PM_PRESENT),
			    "pagemap says the untouched page is present");
		KTAP_EXPECT(r.result == -ENOENT && r.flags == 0,
			    "walk of an untouched page returned %d flags %#x, want -ENOENT and 0",
			    r.result, r.flags);
		munmap(p, 4 * page_size);
	}
	ktap_case_end();
}

/*
 * A page made PROT_NONE still maps its frame: x86 keeps the entry with
 * _PAGE_PRESENT clear and _PAGE_PROTNONE set, which pte_present() counts
 * as present (arch/x86/include/asm/pgtable.h), as pagemap does; automatic
 * NUMA balancing makes pages PROT_NONE the same way for a while.
 */
static void prot_none_maps_frame(void)
{
	struct kmemlab_walk_req r;
	uint64_t e;
	char *p;

	if (!ktap_case("prot_none_page_keeps_frame"))
		return;
	p = map(2 * page_size);
	KTAP_EXPECT(p, "mmap: %s", strerror(errno));
	if (p) {
		p[page_size] = 1;
		KTAP_EXPECT(mprotect(p + page_size, page_size, PROT_NONE) == 0, "mprotect: %s", strerror(errno));
		r = walk(p + page_size + 12);
		e = pagemap_entry(p + page_size);
		KTAP_EXPECT(e & PM_PRESENT, "pagemap says the PROT_NONE page is not present");
		KTAP_EXPECT(r.result == 0 && r.pfn == (e & PM_PFN_MASK),
			    "walk of a written page made PROT_NONE returned %d, pfn %#llx; pagemap says pfn %#llx "
			    "(its entry has _PAGE_PROTNONE: pte_present() is true)",
			    r.result, (unsigned long long)r.pfn, (unsigned long long)(e & PM_PFN_MASK));
		munmap(p, 2 * page_size);
	}
	ktap_case_end();
}

/* What the child saw, sent back through a pipe. */
struct child_view {
	struct kmemlab_walk_req before, after;
	uint64_t pm_after;
};

static void fork_shares_until_write(void)
{
	struct kmemlab_walk_req parent, parent_after;
	struct child_view cv = { 0 };
	int fds[2], status;
	pid_t pid;
	char *p;

	if (!ktap_case("fork_shares_frame_until_write"))
		return;
	p = map(page_size);
	if (!p || pipe(fds) != 0) {
		KTAP_EXPECT(0, "mmap or pipe: %s", strerror(errno));
		ktap_case_end();
		return;
	}
	p[0] = 'p';
	parent = walk(p);
	pid = fork();
	if (pid == 0) {
		/* The parent's pagemap fd shows the parent: open our own. */
		close(pagemap);
		pagemap = open("/proc/self/pagemap", O_RDONLY);
		cv.before = walk(p);
		p[0] = 'c';
		cv.after = walk(p);
		cv.pm_after = pagemap_entry(p);
		_exit(write(fds[1], &cv, sizeof(cv)) == sizeof(cv) ? 0 : 1);
	}
	KTAP_EXPECT(pid > 0, "fork: %s", strerror(errno));
	if (pid > 0) {
		KTAP_EXPECT(read(fds[0], &cv, sizeof(cv)) == sizeof(cv), "no answer from the child");
		waitpid(pid, &status, 0);
	}
	parent_after = walk(p);
	KTAP_EXPECT(parent.result == 0 && cv.before.result == 0 && cv.after.result == 0,
		    "walks returned %d (parent), %d and %d (child), want 0",
		    parent.result, cv.before.result, cv.after.result);
	KTAP_EXPECT(cv.before.pfn == parent.pfn,
		    "right after fork the child maps the parent's frame %#llx, walk says %#llx",
		    (unsigned long long)parent.pfn, (unsigned long long)cv.before.pfn);
	KTAP_EXPECT(!(cv.before.flags & KMEMLAB_WRITE),
		    "a page shared after fork is write-protected, flags say %#x", cv.before.flags);
	KTAP_EXPECT(cv.after.pfn != parent.pfn && cv.after.pfn == (cv.pm_after & PM_PFN_MASK),
		    "after its write the child has its own copy (pagemap: %#llx), walk says %#llx",
		    (unsigned long long)(cv.pm_after & PM_PFN_MASK),
		    (unsigned long long)cv.after.pfn);
	KTAP_EXPECT(parent_after.pfn == (pagemap_entry(p) & PM_PFN_MASK),
		    "the parent's frame is %#llx by pagemap, walk says %#llx",
		    (unsigned long long)(pagemap_entry(p) & PM_PFN_MASK),
		    (unsigned long long)parent_after.pfn);
	close(fds[0]);
	close(fds[1]);
	munmap(p, page_size);
	ktap_case_end();
}

static void munmap_not_present(void)
{
	struct kmemlab_walk_req before, after;
	char *p;

	if (!ktap_case("munmap_leaves_nothing"))
		return;
	p = map(2 * page_size);
	KTAP_EXPECT(p, "mmap: %s", strerror(errno));
	if (p) {
		p[0] = 1;
		before = walk(p);
		munmap(p, 2 * page_size);
		after = walk(p);
		KTAP_EXPECT(before.result == 0, "walk before munmap returned %d, want 0",
			    before.result);
		KTAP_EXPECT(after.result == -ENOENT,
			    "walk after munmap returned %d, want -ENOENT", after.result);
	}
	ktap_case_end();
}

/* The size of a PMD-level THP, 0 when the kernel has none. */
static long huge_size(void)
{
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", "r");
	long n = 0;

	if (f) {
		if (fscanf(f, "%ld", &n) != 1)
			n = 0;
		fclose(f);
	}
	return n;
}

#define THP_KNOB	"/sys/kernel/mm/transparent_hugepage/enabled"
#define THP_KNOB_ALWAYS	"always"

/* Write @mode to the THP knob; save the mode it had in @old if asked. */
static void set_thp(const char *mode, char *old, size_t size)
{
	char line[128] = "", *sel, *end;
	FILE *f = fopen(THP_KNOB, "r+");

	if (!f)
		return;
	/* The knob reads like "always [madvise] never". */
	if (old && fgets(line, sizeof(line), f)) {
		sel = strchr(line, '[');
		end = sel ? strchr(sel, ']') : NULL;
		if (end && (size_t)(end - sel) < size) {
			memcpy(old, sel + 1, end - sel - 1);
			old[end - sel - 1] = '\0';
		}
		rewind(f);
	}
	fputs(mode, f);
	fclose(f);
}

/* How much of this process's memory sits in transparent huge pages. */
static long anon_huge_kb(void)
{
	FILE *f = fopen("/proc/self/smaps_rollup", "r");
	char line[128];
	long kb = 0;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

static void huge_leaf(void)
{
	struct kmemlab_walk_req r;
	char *p, *h, *a, old[16] = "";
	uint64_t e;
	long hs;

	if (!ktap_case("huge_leaf_matches_pagemap"))
		return;
	hs = huge_size();
	if (!hs) {
		ktap_skip_case("no transparent huge pages in this kernel");
		ktap_case_end();
		return;
	}
	p = map(2 * hs);
	KTAP_EXPECT(p, "mmap: %s", strerror(errno));
	if (!p) {
		ktap_case_end();
		return;
	}
	h = (char *)(((uintptr_t)p + hs - 1) & ~(uintptr_t)(hs - 1));
	/*
	 * A kernel built without madvise() (CONFIG_ADVISE_SYSCALLS=n) can only
	 * be asked through the global knob: huge pages for every region.
	 */
	if (madvise(h, hs, MADV_HUGEPAGE) != 0)
		set_thp(THP_KNOB_ALWAYS, old, sizeof(old));
	memset(h, 1, hs);
	a = h + 7 * page_size + 3;
	r = walk(a);
	e = pagemap_entry(a);
	if (!anon_huge_kb()) {
		ktap_skip_case("the kernel used small pages for the region");
	} else {
		KTAP_EXPECT(r.result == 0, "walk returned %d, want 0", r.result);
		KTAP_EXPECT(r.flags & KMEMLAB_HUGE, "flags %#x lack KMEMLAB_HUGE", r.flags);
		KTAP_EXPECT(r.pfn == (e & PM_PFN_MASK),
			    "page 7 of the huge page: pagemap says pfn %#llx, walk says %#llx",
			    (unsigned long long)(e & PM_PFN_MASK), (unsigned long long)r.pfn);
		/* Its last page: the index spans the whole leaf (4 MiB on i386). */
		a = h + hs - page_size + 5;
		r = walk(a);
		e = pagemap_entry(a);
		KTAP_EXPECT(r.result == 0 && r.pfn == (e & PM_PFN_MASK),
			    "the last page of the %ld KiB huge page: pagemap says pfn %#llx, walk says %#llx (returned %d)",
			    hs / 1024, (unsigned long long)(e & PM_PFN_MASK), (unsigned long long)r.pfn, r.result);
	}
	munmap(p, 2 * hs);
	if (old[0])
		set_thp(old, NULL, 0);
	ktap_case_end();
}

/* An ioctl the driver does not know: ENOTTY, not a walk. */
static void unknown_cmd_enotty(void)
{
	struct kmemlab_walk_req req = { .result = 12345 };
	char *p;
	int ret;

	if (!ktap_case("ioctl_unknown_cmd_enotty"))
		return;
	p = map(page_size);
	if (p)
		p[0] = 1;
	req.addr = (uintptr_t)p;
	errno = 0;
	ret = ioctl(dev, _IOWR('k', 5, struct kmemlab_walk_req), &req);
	KTAP_EXPECT(ret == -1 && errno == ENOTTY,
		    "an unknown ioctl number should fail with ENOTTY, got %s",
		    ret ? strerrorname_np(errno) : "success");
	KTAP_EXPECT(req.result == 12345, "an unknown ioctl should not touch the request");
	errno = 0;
	ret = ioctl(dev, 0, &req);
	KTAP_EXPECT(ret == -1 && errno == ENOTTY,
		    "ioctl number 0 should fail with ENOTTY, got %s",
		    ret ? strerrorname_np(errno) : "success");
	if (p)
		munmap(p, page_size);
	ktap_case_end();
}

static void expect_efault(void *req, const char *what)
{
	int ret;

	errno = 0;
	ret = ioctl(dev, KMEMLAB_IOC_WALK, req);
	KTAP_EXPECT(ret == -1 && errno == EFAULT,
		    "KMEMLAB_IOC_WALK with a request %s: expected EFAULT, got %s",
		    what, ret ? strerrorname_np(errno) : "success");
}

/*
 * A request the driver cannot read, or cannot write back, is EFAULT: the
 * process must not believe an answer that never reached it.
 */
static void bad_pointer_efault(void)
{
	struct kmemlab_walk_req *ro;
	char *gone;

	if (!ktap_case("ioctl_bad_pointer_efault"))
		return;
	gone = map(page_size);
	expect_efault(NULL, "at NULL");
	if (gone) {
		munmap(gone, page_size);
		expect_efault(gone, "in memory just unmapped");
	}
	ro = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	KTAP_EXPECT(ro != MAP_FAILED, "mmap: %s", strerror(errno));
	if (ro != MAP_FAILED) {
		ro->addr = (uintptr_t)ro;
		mprotect(ro, page_size, PROT_READ);
		expect_efault(ro, "in a read-only page (the answer cannot be written back)");
		munmap(ro, page_size);
	}
	ktap_case_end();
}

/*
 * The request may sit in memory that is not resident: a fresh page never
 * touched, or one whose pte MADV_DONTNEED dropped (shared memory keeps the
 * bytes). copy_from_user() faults it in; a copy that cannot fault fails.
 */
static void request_not_resident(void)
{
	struct kmemlab_walk_req *fresh, *shared;
	char *target;
	int ret;

	if (!ktap_case("ioctl_request_not_resident"))
		return;
	target = map(page_size);
	fresh = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	shared = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (fresh == MAP_FAILED || shared == MAP_FAILED || !target) {
		KTAP_EXPECT(0, "mmap: %s", strerror(errno));
		goto out;
	}
	/* All zeros, never touched: a walk of address 0, which nothing maps. */
	ret = ioctl(dev, KMEMLAB_IOC_WALK, fresh);
	KTAP_EXPECT(ret == 0 && fresh->result == -ENOENT,
		    "a request in an untouched page (address 0): ioctl %s, result %d; want success and -ENOENT",
		    ret ? strerrorname_np(errno) : "succeeded", fresh->result);

	target[0] = 1;
	shared->addr = (uintptr_t)target;
	shared->result = -ENOSYS;
	KTAP_EXPECT(madvise(shared, page_size, MADV_DONTNEED) == 0, "madvise: %s", strerror(errno));
	KTAP_EXPECT(!(pagemap_entry(shared) & PM_PRESENT),
		    "MADV_DONTNEED left the request's page present");
	ret = ioctl(dev, KMEMLAB_IOC_WALK, shared);
	KTAP_EXPECT(ret == 0 && shared->result == 0 &&
		    shared->pfn == (pagemap_entry(target) & PM_PFN_MASK),
		    "a request in a page that is not resident: ioctl %s, result %d, pfn %#llx; want success, 0 and pagemap's %#llx",
		    ret ? strerrorname_np(errno) : "succeeded", shared->result,
		    (unsigned long long)shared->pfn,
		    (unsigned long long)(pagemap_entry(target) & PM_PFN_MASK));
out:
	if (fresh != MAP_FAILED)
		munmap(fresh, page_size);
	if (shared != MAP_FAILED)
		munmap(shared, page_size);
	if (target)
		munmap(target, page_size);
	ktap_case_end();
}

/*
 * Make each copy of the ioctl fail in turn (fault injection): the copy in
 * and the copy out. Either failure is EFAULT; an ioctl that ignores the
 * failed copy out returns success with no answer delivered.
 */
static void copy_failures_efault(void)
{
	struct kmemlab_walk_req req;
	int fd, n, ret, err, fired = 0;
	char *p;

	if (!ktap_case("ioctl_copy_failures_efault"))
		return;
	fd = fault_nth_open();
	p = map(page_size);
	if (fd < 0) {
		ktap_skip_case("no /proc/self/fail-nth in this kernel");
		goto out;
	}
	KTAP_EXPECT(p, "mmap: %s", strerror(errno));
	if (!p)
		goto out;
	p[0] = 1;
	for (n = 1; n < 20; n++) {
		req = (struct kmemlab_walk_req){ .addr = (uintptr_t)p, .result = -ENOSYS };
		fault_nth_arm(fd, n);
		ret = ioctl(dev, KMEMLAB_IOC_WALK, &req);
		err = errno;
		if (!fault_nth_fired(fd))
			break;
		fired++;
		KTAP_EXPECT(ret == -1 && err == EFAULT,
			    "with fault point %d of the ioctl failing (a copy to or from user space): expected EFAULT, got %s",
			    n, ret ? strerrorname_np(err) : "success");
	}
	KTAP_EXPECT(fired >= 2,
		    "the ioctl passed %d fault points; copying the request in and the answer out are two",
		    fired);
	KTAP_EXPECT(ret == 0 && req.result == 0,
		    "with no failure left, the ioctl returned %s, result %d; want success and 0",
		    ret ? strerrorname_np(err) : "success", req.result);
out:
	if (fd >= 0)
		close(fd);
	if (p)
		munmap(p, page_size);
	ktap_case_end();
}

int main(void)
{
	page_size = sysconf(_SC_PAGESIZE);
	ktap_begin("walk_user", 10);
	dev = open("/dev/kmemlab_walk", O_RDWR);
	pagemap = open("/proc/self/pagemap", O_RDONLY);
	if (dev < 0 || pagemap < 0)
		ktap_diag("cannot open /dev/kmemlab_walk or /proc/self/pagemap: %s",
			  strerror(errno));
	matches_pagemap();
	untouched_not_present();
	prot_none_maps_frame();
	fork_shares_until_write();
	munmap_not_present();
	huge_leaf();
	unknown_cmd_enotty();
	bad_pointer_efault();
	request_not_resident();
	copy_failures_efault();
	return ktap_end();
}
