// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite for lab 01: every answer kmemlab_alloc gives is compared
 * with the kernel's own (virt_to_phys(), vmalloc_to_pfn(), ksize(),
 * kmalloc_size_roundup(), is_vmalloc_addr(), the page's slab flag), never
 * with a table the student could copy.
 *
 * The cases that free through kmemlab_free() come last: freeing with the
 * wrong function can take the kernel down, and the cases before it should
 * still be scored.
 */
#include <kunit/test.h>
#include <linux/err.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/kasan.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/pfn.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/vmalloc.h>
#include <trace/events/kmem.h>

#include "kmemlab_alloc.h"

/* Too big for kmalloc(): only vmalloc() can serve it. */
#define BEYOND_KMALLOC	(KMALLOC_MAX_SIZE + PAGE_SIZE)

static void size_to_desc(const size_t *size, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%zu bytes", *size);
}

static const char *const kind_names[] = {
	[KMEMLAB_UNKNOWN] = "unknown",
	[KMEMLAB_SLAB] = "slab",
	[KMEMLAB_PAGES] = "pages",
	[KMEMLAB_VMALLOC] = "vmalloc",
};

static const char *kind_name(enum kmemlab_kind kind)
{
	if ((unsigned int)kind < ARRAY_SIZE(kind_names))
		return kind_names[kind];
	return "out of range";
}

/* What the kernel itself says about where @buf lives. */
static enum kmemlab_kind kernel_kind_of(const void *buf)
{
	if (is_vmalloc_addr(buf))
		return KMEMLAB_VMALLOC;
	return folio_test_slab(virt_to_folio(buf)) ? KMEMLAB_SLAB : KMEMLAB_PAGES;
}

static unsigned long *alloc_pfns(struct kunit *test, unsigned int nr)
{
	unsigned long *pfns = kunit_kcalloc(test, nr, sizeof(*pfns), GFP_KERNEL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, pfns);
	return pfns;
}

/* Multi-page kmalloc sizes: a slab cache of compound pages, then the page allocator. */
static const size_t kmalloc_sizes[] = {
	2 * PAGE_SIZE, 2 * PAGE_SIZE + 1, 16 * PAGE_SIZE, 256 * PAGE_SIZE,
};
KUNIT_ARRAY_PARAM(kmalloc_sizes, kmalloc_sizes, size_to_desc);

static void buf_pfns_kmalloc_contiguous(struct kunit *test)
{
	size_t size = *(const size_t *)test->param_value;
	unsigned int nr = DIV_ROUND_UP(size, PAGE_SIZE), i;
	unsigned long *pfns = alloc_pfns(test, nr);
	unsigned long first;
	char *buf;
	int got;

	buf = kmalloc(size, GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, buf);
	got = kmemlab_buf_pfns(buf, size, pfns, nr);
	first = PHYS_PFN(virt_to_phys(buf));
	KUNIT_EXPECT_EQ_MSG(test, got, nr,
			    "a page-aligned %zu-byte buffer spans %u pages", size, nr);
	for (i = 0; got == nr && i < nr; i++) {
		KUNIT_EXPECT_EQ_MSG(test, PHYS_PFN(virt_to_phys(buf + i * PAGE_SIZE)),
				    first + i,
				    "the kernel says page %u of a kmalloc buffer is not next to page %u",
				    i, i - 1);
		KUNIT_EXPECT_EQ_MSG(test, pfns[i], first + i,
				    "page %u of a kmalloc buffer: virt_to_phys() says pfn %#lx, you said %#lx",
				    i, first + i, pfns[i]);
	}
	kfree(buf);
}

/* A range inside a page-aligned buffer: offset from the start, and length. */
struct pfn_range {
	size_t offset;
	size_t size;
	const char *desc;
};

static const struct pfn_range pfn_ranges[] = {
	{ 0, 1, "first byte" },
	{ 0, PAGE_SIZE, "exactly one page" },
	{ 0, 3 * PAGE_SIZE, "exactly three pages" },
	{ 0, PAGE_SIZE + 1, "one page and a byte" },
	{ PAGE_SIZE - 1, 2, "two bytes across a boundary" },
	{ 100, PAGE_SIZE, "one page's length, unaligned" },
	{ 100, 2 * PAGE_SIZE, "two pages' length, unaligned" },
	{ 2 * PAGE_SIZE + 5, 10, "ten bytes inside the third page" },
};
KUNIT_ARRAY_PARAM_DESC(pfn_ranges, pfn_ranges, desc);

#define RANGE_BUF_PAGES	4

static void buf_pfns_counts_touched_pages(struct kunit *test)
{
	const struct pfn_range *r = test->param_value;
	unsigned long *pfns = alloc_pfns(test, RANGE_BUF_PAGES + 1);
	unsigned long first, last;
	char *buf;
	int want, got;

	buf = kmalloc(RANGE_BUF_PAGES * PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, buf);
	/* The buffer is physically contiguous: the kernel's pfns give the count. */
	first = PHYS_PFN(virt_to_phys(buf + r->offset));
	last = PHYS_PFN(virt_to_phys(buf + r->offset + r->size - 1));
	want = last - first + 1;

	got = kmemlab_buf_pfns(buf + r->offset, r->size, pfns, RANGE_BUF_PAGES + 1);
	KUNIT_EXPECT_EQ_MSG(test, got, want,
			    "%zu bytes at offset %lu of a page touch %d page(s)",
			    r->size, offset_in_page(r->offset), want);
	if (got == want) {
		KUNIT_EXPECT_EQ_MSG(test, pfns[0], first,
				    "the first pfn should be the page holding the first byte");
		KUNIT_EXPECT_EQ_MSG(test, pfns[want - 1], last,
				    "the last pfn should be the page holding the last byte");
	}
	kfree(buf);
}

static void buf_pfns_refuses_short_array(struct kunit *test)
{
	unsigned long *pfns = alloc_pfns(test, 3);
	char *buf;
	int got;

	buf = kmalloc(3 * PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, buf);
	pfns[0] = pfns[1] = pfns[2] = ~0UL;
	got = kmemlab_buf_pfns(buf + 1, 2 * PAGE_SIZE, pfns, 2);
	KUNIT_EXPECT_EQ_MSG(test, got, -E2BIG,
			    "2 pages' worth from an unaligned start touches 3 pages, and the array holds 2");
	KUNIT_EXPECT_EQ_MSG(test, pfns[0] & pfns[1] & pfns[2], ~0UL,
			    "nothing may be written when the pfns do not fit");
	kfree(buf);
}

/* Where an empty range may start: a page boundary, inside a page, its last byte. */
static const size_t empty_offsets[] = { 0, 100, PAGE_SIZE - 1 };

static void offset_to_desc(const size_t *offset, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "at offset %zu", *offset);
}
KUNIT_ARRAY_PARAM(empty_offsets, empty_offsets, offset_to_desc);

static void buf_pfns_empty_range_touches_nothing(struct kunit *test)
{
	size_t offset = *(const size_t *)test->param_value;
	unsigned long *pfns = alloc_pfns(test, 2);
	char *buf;

	buf = kmalloc(2 * PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, buf);
	/* The same start with one byte: the count there is one. */
	if (kmemlab_buf_pfns(buf + offset, 1, pfns, 2) != 1) {
		kfree(buf);
		KUNIT_FAIL_AND_ABORT(test, "1 byte at offset %zu touches 1 page: see buf_pfns_counts_touched_pages",
				     offset);
	}
	pfns[0] = pfns[1] = ~0UL;
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_buf_pfns(buf + offset, 0, pfns, 2), 0,
			    "0 bytes at offset %zu of a page touch no page at all", offset);
	KUNIT_EXPECT_EQ_MSG(test, pfns[0] & pfns[1], ~0UL,
			    "an empty range has no pfns to write");
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_buf_pfns(buf + offset, 0, pfns, 0), 0,
			    "0 pages fit in an array of 0: no -E2BIG for an empty range");
	kfree(buf);
}

static const size_t vmalloc_sizes[] = {
	PAGE_SIZE, 3 * PAGE_SIZE + 100, 64 * PAGE_SIZE, BEYOND_KMALLOC,
};
KUNIT_ARRAY_PARAM(vmalloc_sizes, vmalloc_sizes, size_to_desc);

static void buf_pfns_vmalloc_matches_page_tables(struct kunit *test)
{
	size_t size = *(const size_t *)test->param_value;
	unsigned int nr = DIV_ROUND_UP(size, PAGE_SIZE), i;
	unsigned long *pfns = alloc_pfns(test, nr);
	char *buf;
	int got;

	buf = vmalloc(size);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, buf);
	got = kmemlab_buf_pfns(buf, size, pfns, nr);
	KUNIT_EXPECT_EQ_MSG(test, got, nr,
			    "a %zu-byte vmalloc area spans %u pages", size, nr);
	for (i = 0; got == nr && i < nr; i++) {
		unsigned long want = vmalloc_to_pfn(buf + i * PAGE_SIZE);

		KUNIT_EXPECT_EQ_MSG(test, pfns[i], want,
				    "page %u of a vmalloc area: vmalloc_to_pfn() says %#lx, you said %#lx (virt_to_phys() only works in the linear map)",
				    i, want, pfns[i]);
		if (pfns[i] != want)
			break;
	}
	vfree(buf);
}

#define SCATTER_PAGES	64

/*
 * vmalloc() takes its pages one at a time. Just after boot, the free lists
 * may hold long runs and hand them out in order, contiguous by luck. To
 * show what vmalloc() does not promise, first leave the most recently freed
 * pages - the ones handed out next - every other frame of a run.
 */
static void buf_pfns_vmalloc_area_not_contiguous(struct kunit *test)
{
	unsigned long *pfns = alloc_pfns(test, SCATTER_PAGES);
	struct page **pages;
	unsigned int i, breaks = 0;
	char *buf;
	int got;

	pages = kunit_kcalloc(test, 2 * SCATTER_PAGES, sizeof(*pages), GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, pages);
	for (i = 0; i < 2 * SCATTER_PAGES; i++)
		pages[i] = alloc_page(GFP_KERNEL);
	for (i = 0; i < 2 * SCATTER_PAGES; i += 2) {
		if (pages[i])
			__free_page(pages[i]);
	}
	buf = vmalloc(SCATTER_PAGES * PAGE_SIZE);
	for (i = 1; i < 2 * SCATTER_PAGES; i += 2) {
		if (pages[i])
			__free_page(pages[i]);
	}
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, buf);

	got = kmemlab_buf_pfns(buf, SCATTER_PAGES * PAGE_SIZE, pfns, SCATTER_PAGES);
	if (got != SCATTER_PAGES) {
		vfree(buf);
		KUNIT_FAIL(test, "a %d-page vmalloc area should give %d pfns, not %d",
			   SCATTER_PAGES, SCATTER_PAGES, got);
		return;
	}
	for (i = 0; i < SCATTER_PAGES; i++) {
		if (pfns[i] != vmalloc_to_pfn(buf + i * PAGE_SIZE))
			break;
		if (i && pfns[i] != pfns[i - 1] + 1)
			breaks++;
	}
	vfree(buf);
	KUNIT_EXPECT_EQ_MSG(test, i, SCATTER_PAGES,
			    "your pfn for page %u differs from vmalloc_to_pfn()", i);
	KUNIT_EXPECT_GT_MSG(test, breaks, 0,
			    "the pages of this vmalloc area are scattered, but your pfns are all consecutive");
}

/* Sizes on both sides of the slab size classes and of the cache limit. */
static const size_t request_sizes[] = {
	0, 1, 8, 9, 24, 64, 65, 96, 97, 100, 128, 129, 192, 193, 200, 1000,
	2049, PAGE_SIZE - 1, PAGE_SIZE, PAGE_SIZE + 1, 2 * PAGE_SIZE,
	2 * PAGE_SIZE + 1, 3 * PAGE_SIZE, 70000, KMALLOC_MAX_SIZE - 1,
	KMALLOC_MAX_SIZE,
};
KUNIT_ARRAY_PARAM(request_sizes, request_sizes, size_to_desc);

static void usable_size_matches_ksize(struct kunit *test)
{
	size_t request = *(const size_t *)test->param_value;
	size_t want = kmalloc_size_roundup(request);

	KUNIT_EXPECT_EQ_MSG(test, kmemlab_usable_size(request), want,
			    "ksize() of kmalloc(%zu) is %zu: kmalloc gives whole size classes, not the bytes you asked for",
			    request, want);
}

static void size_class_matches_kmalloc_roundup(struct kunit *test)
{
	size_t request = *(const size_t *)test->param_value;
	size_t want = kmalloc_size_roundup(request);

	KUNIT_EXPECT_EQ_MSG(test, kmemlab_size_class(request), want,
			    "kmalloc_size_roundup(%zu) says the class is %zu",
			    request, want);
}

static void size_class_zero_beyond_kmalloc_max(struct kunit *test)
{
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_size_class(KMALLOC_MAX_SIZE), KMALLOC_MAX_SIZE,
			    "KMALLOC_MAX_SIZE is the largest request kmalloc() serves");
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_size_class(KMALLOC_MAX_SIZE + 1), 0,
			    "no size class serves more than KMALLOC_MAX_SIZE (%lu)",
			    (unsigned long)KMALLOC_MAX_SIZE);
}

static const size_t kvmalloc_sizes[] = {
	64, 1000, PAGE_SIZE, 3 * PAGE_SIZE, 64 * PAGE_SIZE, BEYOND_KMALLOC,
};
KUNIT_ARRAY_PARAM(kvmalloc_sizes, kvmalloc_sizes, size_to_desc);

static void kind_of_agrees_with_kvmalloc(struct kunit *test)
{
	size_t size = *(const size_t *)test->param_value;
	enum kmemlab_kind want, got;
	void *buf;

	buf = kvmalloc(size, GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, buf);
	want = kernel_kind_of(buf);
	got = kmemlab_kind_of(buf);
	kvfree(buf);
	KUNIT_EXPECT_EQ_MSG(test, got, want,
			    "kvmalloc(%zu) gave %s memory, you said %s",
			    size, kind_name(want), kind_name(got));
}

/*
 * A user address and NULL: the kernel says neither is in the vmalloc area
 * (is_vmalloc_addr()) nor in the linear map (virt_addr_valid()), so there
 * is no struct page or folio to look at for them.
 */
static void kind_of_unknown_outside_linear_map(struct kunit *test)
{
	unsigned long uaddr;

	uaddr = kunit_vm_mmap(test, NULL, 0, PAGE_SIZE, PROT_READ | PROT_WRITE,
			      MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_FALSE_MSG(test, !uaddr || IS_ERR_VALUE(uaddr), "kunit_vm_mmap() failed");
	KUNIT_ASSERT_FALSE(test, is_vmalloc_addr((void *)uaddr) || virt_addr_valid(uaddr));
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_kind_of((void *)uaddr), KMEMLAB_UNKNOWN,
			    "%#lx is a user address, outside the linear map: it has no folio to look at",
			    uaddr);
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_kind_of(NULL), KMEMLAB_UNKNOWN,
			    "NULL is outside the linear map: it has no folio to look at");
}

static const size_t kmalloc_fit_sizes[] = {
	100, 3 * PAGE_SIZE, 64 * PAGE_SIZE,
};
KUNIT_ARRAY_PARAM(kmalloc_fit_sizes, kmalloc_fit_sizes, size_to_desc);

static void alloc_prefers_kmalloc(struct kunit *test)
{
	size_t size = *(const size_t *)test->param_value;
	void *buf = kmemlab_alloc(size);

	KUNIT_ASSERT_NOT_ERR_OR_NULL_MSG(test, buf, "kmemlab_alloc(%zu) failed", size);
	KUNIT_EXPECT_FALSE_MSG(test, is_vmalloc_addr(buf),
			       "%zu bytes fit kmalloc(): the buffer should be physically contiguous, not vmalloc",
			       size);
	kvfree(buf);
}

static void alloc_kmalloc_max_as_kernel_says(struct kunit *test)
{
	void *probe, *buf;
	bool kmalloc_ok;

	/* Ask the kernel first: whether a 4 MiB block is free right now. */
	probe = kmalloc(KMALLOC_MAX_SIZE, GFP_KERNEL | __GFP_NOWARN);
	kmalloc_ok = probe;
	kfree(probe);

	buf = kmemlab_alloc(KMALLOC_MAX_SIZE);
	KUNIT_ASSERT_NOT_ERR_OR_NULL_MSG(test, buf,
					 "kmemlab_alloc(KMALLOC_MAX_SIZE) failed: vmalloc() could have served it");
	if (kmalloc_ok)
		KUNIT_EXPECT_FALSE_MSG(test, is_vmalloc_addr(buf),
				       "kmalloc(KMALLOC_MAX_SIZE) just succeeded: no need for vmalloc");
	else
		KUNIT_EXPECT_TRUE_MSG(test, is_vmalloc_addr(buf),
				      "kmalloc(KMALLOC_MAX_SIZE) just failed, yet this is not vmalloc memory");
	kvfree(buf);
}

static void alloc_beyond_kmalloc_max_uses_vmalloc(struct kunit *test)
{
	void *buf = kmemlab_alloc(BEYOND_KMALLOC);

	KUNIT_ASSERT_NOT_ERR_OR_NULL_MSG(test, buf,
					 "kmemlab_alloc(KMALLOC_MAX_SIZE + PAGE_SIZE) failed: vmalloc() can serve it");
	KUNIT_EXPECT_TRUE_MSG(test, is_vmalloc_addr(buf),
			      "more than KMALLOC_MAX_SIZE bytes can only come from vmalloc()");
	kvfree(buf);
}

/*
 * The kernel's fault injection (lib/fault-inject.c): with fail_nth = n the
 * n-th allocation this thread makes from now fails, whatever its GFP flags
 * or size. fail_nth drops back to 0 when that allocation failed, so a
 * nonzero value afterwards means the call made fewer than n allocations.
 */
#define FAIL_NTH_MAX	2000

static bool fail_nth_fired(void)
{
	bool fired = !READ_ONCE(current->fail_nth);

	WRITE_ONCE(current->fail_nth, 0);
	return fired;
}

/* Sizes kmalloc() serves: from a slab cache, from pages, its largest. */
static const size_t fallback_sizes[] = { 100, 3 * PAGE_SIZE + 1, KMALLOC_MAX_SIZE };
KUNIT_ARRAY_PARAM(fallback_sizes, fallback_sizes, size_to_desc);

static void alloc_falls_back_when_kmalloc_fails(struct kunit *test)
{
	size_t size = *(const size_t *)test->param_value;
	void *buf;
	bool fired;

	current->fail_nth = 1;
	buf = kmemlab_alloc(size);
	fired = fail_nth_fired();

	KUNIT_ASSERT_TRUE_MSG(test, fired,
			      "kmemlab_alloc(%zu) made no allocation at all", size);
	KUNIT_ASSERT_NOT_ERR_OR_NULL_MSG(test, buf,
					 "the first allocation of kmemlab_alloc(%zu), kmalloc(), failed: vmalloc() should have served it",
					 size);
	KUNIT_EXPECT_TRUE_MSG(test, is_vmalloc_addr(buf),
			      "kmalloc() failed, so the buffer should come from vmalloc()");
	memset(buf, 0x5a, size);	/* all of it is there (KASAN watches) */
	kvfree(buf);
}

/* What the kmalloc tracepoint saw of one request size made by one task. */
struct kmalloc_seen {
	struct task_struct *task;
	size_t size;
	unsigned int calls;
	gfp_t missing;		/* flags some call lacked, of those wanted */
};

#define KMALLOC_WANT	(GFP_KERNEL | __GFP_NOWARN)

static void note_kmalloc(void *data, unsigned long call_site, const void *ptr,
			 size_t bytes_req, size_t bytes_alloc, gfp_t gfp_flags, int node)
{
	struct kmalloc_seen *seen = data;

	if (current != seen->task || bytes_req != seen->size)
		return;
	seen->calls++;
	seen->missing |= KMALLOC_WANT & ~gfp_flags;
}

/*
 * The GFP flags of kmemlab_alloc()'s kmalloc(), as the kernel's kmalloc
 * tracepoint (include/trace/events/kmem.h) reports them: the caller may
 * sleep, so the allocator may reclaim (GFP_KERNEL, not GFP_ATOMIC, which
 * eats the reserves kept for atomic callers), and a failure is handled
 * by the fallback, so it must not warn (__GFP_NOWARN). Tracepoints exist
 * on the graded kernel only.
 */
static void alloc_kmalloc_may_reclaim_quietly(struct kunit *test)
{
	size_t size = *(const size_t *)test->param_value;
	struct kmalloc_seen seen = { .task = current, .size = size };
	void *buf;
	int ret;

	if (!IS_ENABLED(CONFIG_TRACEPOINTS))
		kunit_skip(test, "this kernel has no tracepoints (the graded kernel has)");
	ret = register_trace_kmalloc(note_kmalloc, &seen);
	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "registering a kmalloc probe failed with %d", ret);
	buf = kmemlab_alloc(size);
	unregister_trace_kmalloc(note_kmalloc, &seen);
	tracepoint_synchronize_unregister();
	kvfree(buf);

	KUNIT_ASSERT_GT_MSG(test, seen.calls, 0U,
			    "kmemlab_alloc(%zu) made no kmalloc() of %zu bytes", size, size);
	KUNIT_EXPECT_FALSE_MSG(test, seen.missing & __GFP_DIRECT_RECLAIM,
			       "kmalloc(%zu) was asked not to reclaim (%pGg missing): the caller may sleep, use GFP_KERNEL and leave GFP_ATOMIC to atomic context",
			       size, &seen.missing);
	KUNIT_EXPECT_FALSE_MSG(test, seen.missing & __GFP_NOWARN,
			       "kmalloc(%zu) would warn when it fails, but vmalloc() takes over then: add __GFP_NOWARN",
			       size);
}

static DEFINE_SPINLOCK(atomic_lock);

/*
 * Under a spinlock nothing may sleep. A GFP_KERNEL allocation here makes
 * CONFIG_DEBUG_ATOMIC_SLEEP print "BUG: sleeping function called from
 * invalid context", which the grader charges to this case.
 */
static void alloc_atomic_under_spinlock(struct kunit *test)
{
	void *buf;

	spin_lock(&atomic_lock);
	buf = kmemlab_alloc_atomic(256);
	spin_unlock(&atomic_lock);

	KUNIT_ASSERT_NOT_ERR_OR_NULL_MSG(test, buf,
					 "a 256-byte atomic allocation should succeed on an idle machine");
	KUNIT_EXPECT_FALSE_MSG(test, is_vmalloc_addr(buf),
			       "vmalloc() may sleep: it cannot serve an atomic caller");
	kvfree(buf);
}

/*
 * When kmalloc() fails, an atomic caller gets NULL: no fallback that may
 * sleep (vmalloc() does; the kernel reports it, "sleeping function called
 * from invalid context", in this case). The slab allocation fails by
 * fault injection, under the spinlock.
 */
static void alloc_atomic_null_when_memory_runs_out(struct kunit *test)
{
	bool fired;
	void *buf;

	spin_lock(&atomic_lock);
	current->fail_nth = 1;
	buf = kmemlab_alloc_atomic(256);
	fired = fail_nth_fired();
	spin_unlock(&atomic_lock);
	kvfree(buf);	/* whichever allocator it came from */
	KUNIT_EXPECT_TRUE_MSG(test, fired, "kmemlab_alloc_atomic() made no allocation");
	KUNIT_EXPECT_NULL_MSG(test, buf,
			      "kmalloc() failed: an atomic caller should get NULL, not a buffer from an allocator that may sleep");
}


static int accept_copy(const void *copy, size_t size, void *priv)
{
	return 0;
}

static int reject_copy(const void *copy, size_t size, void *priv)
{
	*(const void **)priv = copy;
	return -EBADMSG;
}

static const size_t snapshot_sizes[] = { 100, BEYOND_KMALLOC };
KUNIT_ARRAY_PARAM(snapshot_sizes, snapshot_sizes, size_to_desc);

static void snapshot_copies_source(struct kunit *test)
{
	size_t size = *(const size_t *)test->param_value;
	u8 *src, *copy;
	size_t i;

	src = vmalloc(size);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, src);
	for (i = 0; i < size; i++)
		src[i] = i % 251;
	copy = kmemlab_snapshot(src, size, accept_copy, NULL);
	if (IS_ERR_OR_NULL(copy)) {
		vfree(src);
		KUNIT_FAIL(test, "kmemlab_snapshot(%zu bytes) failed with %ld",
			   size, PTR_ERR(copy));
		return;
	}
	KUNIT_EXPECT_EQ_MSG(test, memcmp(copy, src, size), 0,
			    "the copy should hold the same bytes as the source");
	kvfree(copy);
	vfree(src);
}

/*
 * A copy bigger than KMALLOC_MAX_SIZE can only come from vmalloc(), which
 * makes a dozen allocations or more: fail each in turn, n = 1, 2, ...,
 * until the call makes fewer than n. Where one fails, vmalloc() returns
 * NULL (or copes), and the copy must be ERR_PTR(-ENOMEM), never NULL.
 */
static void snapshot_enomem_when_memory_runs_out(struct kunit *test)
{
	unsigned int n, enomem = 0;
	u8 *src, *copy;
	bool fired;

	src = vmalloc(BEYOND_KMALLOC);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, src);
	memset(src, 0x3c, BEYOND_KMALLOC);
	for (n = 1; n <= FAIL_NTH_MAX; n++) {
		current->fail_nth = n;
		copy = kmemlab_snapshot(src, BEYOND_KMALLOC, accept_copy, NULL);
		fired = fail_nth_fired();
		if (!IS_ERR_OR_NULL(copy)) {
			/* Whole copies are snapshot_copies_source's business: ends only. */
			KUNIT_EXPECT_TRUE_MSG(test, copy[0] == 0x3c && copy[BEYOND_KMALLOC - 1] == 0x3c,
					      "the copy should hold the source's bytes");
			kvfree(copy);
		} else if (fired) {
			KUNIT_EXPECT_EQ_MSG(test, PTR_ERR_OR_ZERO(copy), -ENOMEM,
					    "allocation %u made for the copy failed: kmemlab_snapshot() should return ERR_PTR(-ENOMEM), not %s",
					    n, copy ? "another error" : "NULL");
			enomem += PTR_ERR_OR_ZERO(copy) == -ENOMEM;
		} else {
			KUNIT_FAIL(test, "kmemlab_snapshot() failed with %d though every allocation succeeded",
				   PTR_ERR_OR_ZERO(copy));
		}
		if (!fired || !copy)
			break;
	}
	vfree(src);
	kunit_info(test, "failed each of %u allocations in turn: %u gave -ENOMEM\n", n - 1, enomem);
	KUNIT_EXPECT_LE_MSG(test, n, FAIL_NTH_MAX,
			    "kmemlab_snapshot() still failed after %u tries", FAIL_NTH_MAX);
	KUNIT_EXPECT_GT_MSG(test, enomem, 0U,
			    "no failed allocation ever gave ERR_PTR(-ENOMEM)");
}

/*
 * A copy of either kind: pages from kmalloc() (more than
 * KMALLOC_MAX_CACHE_SIZE) hold no reference once freed, and once vfree()
 * returns a vmalloc area's pages are unmapped.
 */
static const size_t reject_sizes[] = { 3 * PAGE_SIZE + 1, BEYOND_KMALLOC };
KUNIT_ARRAY_PARAM(reject_sizes, reject_sizes, size_to_desc);

/* A byte of the source copied below: neither 0 nor page poisoning's 0xaa. */
static u8 reject_byte(size_t i)
{
	return (u8)(i * 13 + 5) == 0xaa ? 0x55 : (u8)(i * 13 + 5);
}

/*
 * Whether the first page at @p still holds the source's bytes. @p is the
 * freed copy, read on purpose: KASAN's reports are off for this task
 * meanwhile (mm/kasan/report.c, kasan_depth).
 */
static bool still_holds_source(const u8 *p)
{
	bool same = true;
	size_t i;

	kasan_disable_current();
	for (i = 0; i < PAGE_SIZE && same; i++)
		same = READ_ONCE(p[i]) == reject_byte(i);
	kasan_enable_current();
	return same;
}

static void snapshot_frees_rejected_copy(struct kunit *test)
{
	size_t size = *(const size_t *)test->param_value;
	const void *copy = NULL;
	void *src, *ret;
	size_t i;

	src = vmalloc(size);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, src);
	for (i = 0; i < size; i++)
		((u8 *)src)[i] = reject_byte(i);
	ret = kmemlab_snapshot(src, size, reject_copy, &copy);
	vfree(src);

	KUNIT_EXPECT_EQ_MSG(test, PTR_ERR_OR_ZERO(ret), -EBADMSG,
			    "a rejected copy should give ERR_PTR() of what check returned");
	KUNIT_ASSERT_NOT_NULL_MSG(test, copy, "check was never called on the copy");
	if (size > KMALLOC_MAX_SIZE)
		KUNIT_ASSERT_TRUE_MSG(test, is_vmalloc_addr(copy),
				      "a copy of more than KMALLOC_MAX_SIZE bytes should be vmalloc memory");
	if (is_vmalloc_addr(copy))
		KUNIT_EXPECT_NULL_MSG(test, vmalloc_to_page(copy),
				      "the rejected copy is still mapped: it leaked on the error path");
	else if (page_ref_count(virt_to_page(copy)))
		/*
		 * Freed pages go back to the page allocator, where anything
		 * running beside the test may take them at once: only a page
		 * in use that still holds the copied bytes is the copy.
		 */
		KUNIT_EXPECT_FALSE_MSG(test, still_holds_source(copy),
				       "the pages of the rejected kmalloc copy are still in use: it leaked on the error path, or was given to the wrong free function");
}

/* One buffer of each kind, allocated by the test with the kernel's own API. */
static const size_t free_sizes[] = { 100, 3 * PAGE_SIZE, 64 * PAGE_SIZE };
KUNIT_ARRAY_PARAM(free_sizes, free_sizes, size_to_desc);

static void free_releases_buffer(struct kunit *test)
{
	size_t size = *(const size_t *)test->param_value;
	bool use_vmalloc = size > 4 * PAGE_SIZE;
	struct page *page;
	void *buf;

	/*
	 * First what it must take besides buffers: NULL, and the
	 * ZERO_SIZE_PTR that kmalloc(0) returns, which is no address at all
	 * (include/linux/slab.h). kfree() takes both; vfree() of
	 * ZERO_SIZE_PTR warns ("Trying to vfree() bad address",
	 * mm/vmalloc.c), and the warning fails the case.
	 */
	kmemlab_free(NULL);
	buf = kmalloc(0, GFP_KERNEL);
	KUNIT_ASSERT_PTR_EQ(test, buf, ZERO_SIZE_PTR);
	kmemlab_free(buf);

	buf = use_vmalloc ? vmalloc(size) : kmalloc(size, GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, buf);
	page = use_vmalloc ? NULL : virt_to_page(buf);

	kmemlab_free(buf);

	if (use_vmalloc)
		KUNIT_EXPECT_NULL_MSG(test, vmalloc_to_page(buf),
				      "a vmalloc area is still mapped after kmemlab_free(): was vfree() called?");
	else if (size > KMALLOC_MAX_CACHE_SIZE)
		KUNIT_EXPECT_EQ_MSG(test, page_ref_count(page), 0,
				    "the pages of a big kmalloc buffer are still in use after kmemlab_free(): was kfree() called?");
	/* A slab object gives no sign of being free; a wrong free warns. */
}

static struct kunit_case kmemlab_alloc_test_cases[] = {
	KUNIT_CASE_PARAM(buf_pfns_kmalloc_contiguous, kmalloc_sizes_gen_params),
	KUNIT_CASE_PARAM(buf_pfns_counts_touched_pages, pfn_ranges_gen_params),
	KUNIT_CASE(buf_pfns_refuses_short_array),
	KUNIT_CASE_PARAM(buf_pfns_empty_range_touches_nothing, empty_offsets_gen_params),
	KUNIT_CASE_PARAM(buf_pfns_vmalloc_matches_page_tables, vmalloc_sizes_gen_params),
	KUNIT_CASE(buf_pfns_vmalloc_area_not_contiguous),
	KUNIT_CASE_PARAM(usable_size_matches_ksize, request_sizes_gen_params),
	KUNIT_CASE_PARAM(size_class_matches_kmalloc_roundup, request_sizes_gen_params),
	KUNIT_CASE(size_class_zero_beyond_kmalloc_max),
	KUNIT_CASE_PARAM(kind_of_agrees_with_kvmalloc, kvmalloc_sizes_gen_params),
	KUNIT_CASE(kind_of_unknown_outside_linear_map),
	KUNIT_CASE_PARAM(alloc_prefers_kmalloc, kmalloc_fit_sizes_gen_params),
	KUNIT_CASE(alloc_kmalloc_max_as_kernel_says),
	KUNIT_CASE(alloc_beyond_kmalloc_max_uses_vmalloc),
	KUNIT_CASE_PARAM(alloc_falls_back_when_kmalloc_fails, fallback_sizes_gen_params),
	KUNIT_CASE_PARAM(alloc_kmalloc_may_reclaim_quietly, fallback_sizes_gen_params),
	KUNIT_CASE(alloc_atomic_under_spinlock),
	KUNIT_CASE(alloc_atomic_null_when_memory_runs_out),
	KUNIT_CASE_PARAM(snapshot_copies_source, snapshot_sizes_gen_params),
	KUNIT_CASE(snapshot_enomem_when_memory_runs_out),
	KUNIT_CASE_PARAM(snapshot_frees_rejected_copy, reject_sizes_gen_params),
	KUNIT_CASE_PARAM(free_releases_buffer, free_sizes_gen_params),
	{}
};

static struct kunit_suite kmemlab_alloc_test_suite = {
	.name = "kmemlab_alloc",
	.test_cases = kmemlab_alloc_test_cases,
};
kunit_test_suite(kmemlab_alloc_test_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit tests for kmemlab lab 01");
