// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite for lab 02: calls what kmemlab_pages exports and checks it
 * against the kernel's own view of the same pages: get_order(), the pfn of
 * the physical address, the reference counts in struct page and the free
 * page counters of the zones.
 */
#include <kunit/test.h>
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/io.h>
#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/nodemask.h>
#include <linux/percpu.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/tracepoint.h>
#include <linux/vmalloc.h>
#include <linux/vmstat.h>

#include "kmemlab_pages.h"
#include "include/kmemlab_pagealloc.h"
#include "include/kmemlab_lockwatch.h"

/* Rounds of allocate-and-free in the cases that look for lost pages. */
#define ROUNDS	32

/*
 * Pages the allocator could hand out right now: those on the buddy free
 * lists plus those parked on the per-CPU lists, where order-0 frees go
 * first. Freeing a page moves it into one of the two; a lost page is in
 * neither.
 */
static long free_pages_now(void)
{
	struct zone *zone;
	long n = 0;
	int nid, cpu;

	for_each_online_node(nid) {
		for (zone = NODE_DATA(nid)->node_zones;
		     zone < NODE_DATA(nid)->node_zones + MAX_NR_ZONES; zone++) {
			if (!populated_zone(zone))
				continue;
			n += zone_page_state_snapshot(zone, NR_FREE_PAGES);
			for_each_online_cpu(cpu)
				n += READ_ONCE(per_cpu_ptr(zone->per_cpu_pageset, cpu)->count);
		}
	}
	return n;
}

/* Pages on the buddy free lists only: what /proc/buddyinfo describes. */
static long buddy_pages_now(void)
{
	struct zone *zone;
	long n = 0;
	int nid;

	for_each_online_node(nid)
		for (zone = NODE_DATA(nid)->node_zones;
		     zone < NODE_DATA(nid)->node_zones + MAX_NR_ZONES; zone++)
			if (populated_zone(zone))
				n += zone_page_state_snapshot(zone, NR_FREE_PAGES);
	return n;
}

static const size_t order_sizes[] = {
	1, PAGE_SIZE - 1, PAGE_SIZE, PAGE_SIZE + 1, 2 * PAGE_SIZE + 1,
	3 * PAGE_SIZE, 4 * PAGE_SIZE, 5 * PAGE_SIZE, 7 * PAGE_SIZE,
	8 * PAGE_SIZE + 1, 12 * PAGE_SIZE, 17 * PAGE_SIZE, 1 << 20,
	(1 << 20) + 1, 4 << 20,
	/* Past the largest block: the order still grows (the allocator refuses it). */
	PAGE_SIZE << (MAX_PAGE_ORDER + 1), (PAGE_SIZE << (MAX_PAGE_ORDER + 1)) + 1,
};

static void size_desc(const size_t *size, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%zu bytes", *size);
}

KUNIT_ARRAY_PARAM(order_size, order_sizes, size_desc);

static void order_matches_get_order(struct kunit *test)
{
	size_t bytes = *(const size_t *)test->param_value;

	KUNIT_EXPECT_EQ_MSG(test, kmemlab_order(bytes), get_order(bytes),
			    "%zu bytes need a block of order %d (%lu bytes)",
			    bytes, get_order(bytes), PAGE_SIZE << get_order(bytes));
}

static const size_t buf_sizes[] = {
	1, PAGE_SIZE, PAGE_SIZE + 1, 2 * PAGE_SIZE, 3 * PAGE_SIZE,
	5 * PAGE_SIZE, 6 * PAGE_SIZE + 100, 8 * PAGE_SIZE, 12 * PAGE_SIZE,
	16 * PAGE_SIZE,
};

KUNIT_ARRAY_PARAM(buf_size, buf_sizes, size_desc);

/*
 * Sizes whose page count is not a power of two, where an order rounded
 * down (the floor of log2) and the right one differ, and 16 pages, where
 * they agree.
 */
static const size_t free_sizes[] = {
	3 * PAGE_SIZE, 5 * PAGE_SIZE, 6 * PAGE_SIZE + 100, 12 * PAGE_SIZE,
	16 * PAGE_SIZE,
};

KUNIT_ARRAY_PARAM(free_size, free_sizes, size_desc);

/* Sizes that are not whole pages, or whose page count is not a power of two. */
static const size_t exact_sizes[] = {
	1, PAGE_SIZE + 1, 3 * PAGE_SIZE, 5 * PAGE_SIZE, 5 * PAGE_SIZE + 100,
	7 * PAGE_SIZE,
};

KUNIT_ARRAY_PARAM(exact_size, exact_sizes, size_desc);

static const unsigned int split_orders[] = { 0, 1, 2, 3 };

static void order_desc(const unsigned int *order, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "order %u", *order);
}

KUNIT_ARRAY_PARAM(split_order, split_orders, order_desc);

/*
 * The kernel's fault injection (lib/fault-inject.c): with fail_nth = n the
 * n-th allocation this thread makes from now fails, whatever its GFP flags
 * or order. It drops back to 0 when that allocation failed.
 */
static bool fail_nth_fired(void)
{
	bool fired = !READ_ONCE(current->fail_nth);

	WRITE_ONCE(current->fail_nth, 0);
	return fired;
}

static void buf_alloc_naturally_aligned(struct kunit *test)
{
	size_t bytes = *(const size_t *)test->param_value;
	int order = get_order(bytes);
	unsigned long pfn;
	void *buf;

	buf = kmemlab_buf_alloc(bytes);
	KUNIT_ASSERT_NOT_NULL_MSG(test, buf, "kmemlab_buf_alloc(%zu) failed", bytes);
	pfn = page_to_pfn(virt_to_page(buf));
	KUNIT_EXPECT_EQ_MSG(test, pfn % (1UL << order), 0UL,
			    "an order-%d block starts on a multiple of %lu pages, but pfn %#lx does not: was it allocated with order %d?",
			    order, 1UL << order, pfn, order);
	KUNIT_EXPECT_EQ_MSG(test, page_ref_count(virt_to_page(buf)), 1,
			    "a new block holds one reference, on its first page");
	free_pages((unsigned long)buf, order);
}

/* The GFP flags one task's page allocations of one order lacked. */
struct gfp_watch {
	struct task_struct *task;
	unsigned int order;
	unsigned int calls;
	gfp_t missing;		/* of GFP_KERNEL's */
};

#ifdef CONFIG_TRACEPOINTS
static void note_page_alloc(void *data, struct page *page, unsigned int order,
			    gfp_t gfp_flags, int migratetype)
{
	struct gfp_watch *w = data;

	if (in_task() && current == w->task && order == w->order) {
		w->calls++;
		w->missing |= GFP_KERNEL & ~gfp_flags;
	}
}

static int gfp_watch_start(struct gfp_watch *w, unsigned int order)
{
	struct tracepoint *tp = kmemlab_page_alloc_tp();

	w->task = current;
	w->order = order;
	return tp ? tracepoint_probe_register(tp, note_page_alloc, w) : -ENOENT;
}

static void gfp_watch_stop(struct gfp_watch *w)
{
	tracepoint_probe_unregister(kmemlab_page_alloc_tp(), note_page_alloc, w);
	tracepoint_synchronize_unregister();
}
#else
static int gfp_watch_start(struct gfp_watch *w, unsigned int order)
{
	return -EOPNOTSUPP;
}

static void gfp_watch_stop(struct gfp_watch *w)
{
}
#endif

/*
 * What a gfp_watch saw of the call named @fn: at least one block of its
 * order, each asked for with every flag of GFP_KERNEL.
 */
static void expect_may_reclaim(struct kunit *test, const struct gfp_watch *w, const char *fn)
{
	KUNIT_ASSERT_GT_MSG(test, w->calls, 0U, "%s allocated no block of order %u", fn, w->order);
	KUNIT_EXPECT_FALSE_MSG(test, w->missing,
			       "%s's block was asked for without %pGg: the caller may sleep, use GFP_KERNEL",
			       fn, &w->missing);
}

/*
 * Nothing keeps kmemlab_buf_alloc()'s caller from sleeping: the allocator
 * may reclaim and write back to find a block (GFP_KERNEL). GFP_ATOMIC
 * would eat the reserves kept for callers that cannot wait, and fail
 * where waiting would have succeeded.
 */
static void buf_alloc_may_reclaim(struct kunit *test)
{
	size_t bytes = 5 * PAGE_SIZE;
	struct gfp_watch w = { };
	void *buf;
	int ret;

	ret = gfp_watch_start(&w, get_order(bytes));
	if (ret)
		kunit_skip(test, "no tracepoints here to see the flags (the graded kernel has them): error %d",
			   ret);
	buf = kmemlab_buf_alloc(bytes);
	gfp_watch_stop(&w);
	if (buf)
		free_pages((unsigned long)buf, get_order(bytes));
	expect_may_reclaim(test, &w, "kmemlab_buf_alloc(5 pages)");
}

static void buf_free_returns_every_page(struct kunit *test)
{
	size_t bytes = *(const size_t *)test->param_value;
	long before, lost;
	void *buf;
	int i;

	before = free_pages_now();
	for (i = 0; i < ROUNDS; i++) {
		buf = kmemlab_buf_alloc(bytes);
		KUNIT_ASSERT_NOT_NULL_MSG(test, buf, "kmemlab_buf_alloc(%zu) failed", bytes);
		kmemlab_buf_free(buf, bytes);
	}
	lost = before - free_pages_now();
	KUNIT_EXPECT_LT_MSG(test, lost, (long)ROUNDS,
			    "%d rounds of %zu-byte alloc+free lost %ld pages: free_pages() needs the order the block was allocated with (%d)",
			    ROUNDS, bytes, lost, get_order(bytes));
}

static void buf_alloc_null_when_memory_runs_out(struct kunit *test)
{
	void *buf;
	bool fired;

	current->fail_nth = 1;
	buf = kmemlab_buf_alloc(5 * PAGE_SIZE);
	fired = fail_nth_fired();
	KUNIT_EXPECT_TRUE_MSG(test, fired, "kmemlab_buf_alloc() made no allocation");
	KUNIT_EXPECT_NULL_MSG(test, buf,
			      "the page allocator had no block to give: kmemlab_buf_alloc() should return NULL");
	if (buf && virt_addr_valid(buf) && page_ref_count(virt_to_page(buf)) == 1)
		free_pages((unsigned long)buf, 3);
}

/* Is every one of the @n pages at @page referenced exactly @want times? */
static bool refs_are(struct page *page, int n, int want)
{
	int i;

	for (i = 0; i < n; i++)
		if (page_ref_count(page + i) != want)
			return false;
	return true;
}

/* The same for kmemlab_exact_alloc() and kmemlab_split_alloc(). */
static void exact_and_split_alloc_may_reclaim(struct kunit *test)
{
	size_t bytes = 5 * PAGE_SIZE;
	struct gfp_watch w = { };
	struct page *page;
	void *buf;
	int ret;

	ret = gfp_watch_start(&w, get_order(bytes));
	if (ret)
		kunit_skip(test, "no tracepoints here to see the flags (the graded kernel has them): error %d",
			   ret);
	buf = kmemlab_exact_alloc(bytes);
	gfp_watch_stop(&w);
	if (buf)
		free_pages_exact(buf, bytes);
	expect_may_reclaim(test, &w, "kmemlab_exact_alloc(5 pages)");

	w = (struct gfp_watch){ };
	KUNIT_ASSERT_EQ(test, gfp_watch_start(&w, 2), 0);
	page = kmemlab_split_alloc(2);
	gfp_watch_stop(&w);
	if (page && refs_are(page, 4, 1))
		kmemlab_split_free(page, 2);
	expect_may_reclaim(test, &w, "kmemlab_split_alloc(2)");
}

static void exact_alloc_keeps_only_needed_pages(struct kunit *test)
{
	size_t bytes = *(const size_t *)test->param_value;
	int need = PAGE_ALIGN(bytes) >> PAGE_SHIFT, block = 1 << get_order(bytes);
	struct page *page;
	void *buf;
	int i;

	buf = kmemlab_exact_alloc(bytes);
	KUNIT_ASSERT_NOT_NULL_MSG(test, buf, "kmemlab_exact_alloc(%zu) failed", bytes);
	page = virt_to_page(buf);
	for (i = 0; i < block; i++)
		KUNIT_EXPECT_EQ_MSG(test, page_ref_count(page + i), i < need ? 1 : 0,
				    "%zu bytes need %d pages: page %d of the %d-page block should have %d references (got %d); alloc_pages_exact() keeps the pages needed, each with its own reference, and frees the rest",
				    bytes, need, i, block, i < need ? 1 : 0, page_ref_count(page + i));
	/* Free it the way it was really allocated, or not at all. */
	if (refs_are(page, need, 1))
		free_pages_exact(buf, bytes);
	else if (page_ref_count(page) == 1 && refs_are(page + 1, block - 1, 0))
		free_pages((unsigned long)buf, get_order(bytes));
}

static void exact_alloc_zeroed(struct kunit *test)
{
	size_t bytes = *(const size_t *)test->param_value;
	size_t whole = PAGE_ALIGN(bytes);
	int order = get_order(bytes);
	void *buf, *stale;

	/*
	 * Dirty a block of the order the pages are carved from and free it:
	 * the allocator hands the most recently freed block of an order out
	 * first. (The graded kernel also fills every freed page with 0xaa.)
	 */
	buf = (void *)__get_free_pages(GFP_KERNEL, order);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	memset(buf, 0xa5, PAGE_SIZE << order);
	free_pages((unsigned long)buf, order);

	buf = kmemlab_exact_alloc(bytes);
	KUNIT_ASSERT_NOT_NULL_MSG(test, buf, "kmemlab_exact_alloc(%zu) failed", bytes);
	stale = memchr_inv(buf, 0, whole);
	KUNIT_EXPECT_PTR_EQ_MSG(test, stale, NULL,
				"every byte of the %zu pages should be zero, to the end of the last page, but byte %td is %#x: ask for __GFP_ZERO",
				whole >> PAGE_SHIFT, stale ? (char *)stale - (char *)buf : 0,
				stale ? *(u8 *)stale : 0);
	if (refs_are(virt_to_page(buf), whole >> PAGE_SHIFT, 1))
		free_pages_exact(buf, bytes);
}

static void exact_free_returns_every_page(struct kunit *test)
{
	size_t bytes = *(const size_t *)test->param_value;
	int need = PAGE_ALIGN(bytes) >> PAGE_SHIFT, block = 1 << get_order(bytes);
	long before, lost;
	void *buf;
	int i;

	/* Freeing pages that hold no reference would crash: check first. */
	buf = kmemlab_exact_alloc(bytes);
	KUNIT_ASSERT_NOT_NULL_MSG(test, buf, "kmemlab_exact_alloc(%zu) failed", bytes);
	if (!refs_are(virt_to_page(buf), need, 1)) {
		if (page_ref_count(virt_to_page(buf)) == 1 &&
		    refs_are(virt_to_page(buf) + 1, block - 1, 0))
			free_pages((unsigned long)buf, get_order(bytes));
		KUNIT_FAIL_AND_ABORT(test, "kmemlab_exact_alloc() did not give each page its own reference: see exact_alloc_keeps_only_needed_pages");
	}
	kmemlab_exact_free(buf, bytes);

	before = free_pages_now();
	for (i = 0; i < ROUNDS; i++) {
		buf = kmemlab_exact_alloc(bytes);
		KUNIT_ASSERT_NOT_NULL_MSG(test, buf, "kmemlab_exact_alloc(%zu) failed", bytes);
		kmemlab_exact_free(buf, bytes);
	}
	lost = before - free_pages_now();
	KUNIT_EXPECT_LT_MSG(test, lost, (long)ROUNDS,
			    "%d rounds of %zu-byte exact alloc+free lost %ld pages: free them with free_pages_exact() and the same size",
			    ROUNDS, bytes, lost);
}

static void exact_alloc_null_when_memory_runs_out(struct kunit *test)
{
	void *buf;
	bool fired;

	current->fail_nth = 1;
	buf = kmemlab_exact_alloc(5 * PAGE_SIZE);
	fired = fail_nth_fired();
	KUNIT_EXPECT_TRUE_MSG(test, fired, "kmemlab_exact_alloc() made no allocation");
	KUNIT_EXPECT_NULL_MSG(test, buf,
			      "the page allocator had no block to give: kmemlab_exact_alloc() should return NULL");
	if (buf && virt_addr_valid(buf) && refs_are(virt_to_page(buf), 5, 1))
		free_pages_exact(buf, 5 * PAGE_SIZE);
}

static void buf_pfn_matches_physical_address(struct kunit *test)
{
	unsigned long buf = __get_free_page(GFP_KERNEL);

	KUNIT_ASSERT_NE(test, buf, 0UL);
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_buf_pfn((void *)(buf + 123)),
			    PHYS_PFN(virt_to_phys((void *)buf)),
			    "the pfn is the physical address >> PAGE_SHIFT, not the virtual one (%#lx)",
			    buf);
	free_page(buf);
}

static void pfn_to_virt_round_trip(struct kunit *test)
{
	unsigned long buf = __get_free_page(GFP_KERNEL);
	struct page *high;

	KUNIT_ASSERT_NE(test, buf, 0UL);
	KUNIT_EXPECT_PTR_EQ_MSG(test, kmemlab_pfn_to_virt(PHYS_PFN(__pa(buf))), (void *)buf,
				"pfn -> struct page -> address should lead back to the page's direct-map address");
	free_page(buf);

	/* A high page has a pfn but no permanent kernel address. */
	high = alloc_page(GFP_HIGHUSER);
	KUNIT_ASSERT_NOT_NULL(test, high);
	if (PageHighMem(high))
		KUNIT_EXPECT_PTR_EQ_MSG(test, kmemlab_pfn_to_virt(page_to_pfn(high)), NULL,
					"pfn %#lx is in high memory: page_address() is NULL until it is mapped",
					page_to_pfn(high));
	__free_page(high);
}

static void split_alloc_counts_each_page(struct kunit *test)
{
	unsigned int order = *(const unsigned int *)test->param_value;
	int i, n = 1 << order;
	struct page *page;

	page = kmemlab_split_alloc(order);
	KUNIT_ASSERT_NOT_NULL_MSG(test, page, "kmemlab_split_alloc(%u) failed", order);
	KUNIT_EXPECT_EQ_MSG(test, page_to_pfn(page) % n, 0UL,
			    "an order-%u block starts on a multiple of %d pages", order, n);
	for (i = 0; i < n; i++)
		KUNIT_EXPECT_EQ_MSG(test, page_ref_count(page + i), 1,
				    "after split_page() page %d of %d should hold one reference, not %d",
				    i, n, page_ref_count(page + i));
	if (refs_are(page, n, 1))
		for (i = 0; i < n; i++)
			__free_page(page + i);
	else if (page_ref_count(page) == 1 && refs_are(page + 1, n - 1, 0))
		__free_pages(page, order);
}

static void split_free_returns_every_page(struct kunit *test)
{
	unsigned int order = *(const unsigned int *)test->param_value;
	struct page *page;
	long before, lost;
	int i;

	page = kmemlab_split_alloc(order);
	KUNIT_ASSERT_NOT_NULL_MSG(test, page, "kmemlab_split_alloc(%u) failed", order);
	if (!refs_are(page, 1 << order, 1)) {
		if (page_ref_count(page) == 1 && refs_are(page + 1, (1 << order) - 1, 0))
			__free_pages(page, order);
		KUNIT_FAIL_AND_ABORT(test, "kmemlab_split_alloc() did not split the block: see split_alloc_counts_each_page");
	}
	kmemlab_split_free(page, order);

	before = free_pages_now();
	for (i = 0; i < ROUNDS; i++) {
		page = kmemlab_split_alloc(order);
		KUNIT_ASSERT_NOT_NULL_MSG(test, page, "kmemlab_split_alloc(%u) failed", order);
		kmemlab_split_free(page, order);
	}
	lost = before - free_pages_now();
	KUNIT_EXPECT_LT_MSG(test, lost, (long)ROUNDS,
			    "%d rounds of split order-%u alloc+free lost %ld pages: each of the %d pages of a split block is freed on its own",
			    ROUNDS, order, lost, 1 << order);
}

static void split_alloc_null_when_memory_runs_out(struct kunit *test)
{
	struct page *page;
	bool fired;

	current->fail_nth = 1;
	page = kmemlab_split_alloc(2);
	fired = fail_nth_fired();
	KUNIT_EXPECT_TRUE_MSG(test, fired, "kmemlab_split_alloc() made no allocation");
	KUNIT_EXPECT_NULL_MSG(test, page,
			      "alloc_pages() returned NULL: kmemlab_split_alloc() should too, without splitting anything");
	if (page && refs_are(page, 4, 1))
		kmemlab_split_free(page, 2);
}

static void page_share_takes_reference(struct kunit *test)
{
	unsigned long buf = __get_free_page(GFP_KERNEL);
	struct page *page, *block;

	KUNIT_ASSERT_NE(test, buf, 0UL);
	page = kmemlab_page_share((void *)buf);
	KUNIT_EXPECT_PTR_EQ_MSG(test, page, virt_to_page((void *)buf),
				"kmemlab_page_share() should return the page holding the buffer");
	KUNIT_EXPECT_EQ_MSG(test, page_ref_count(virt_to_page((void *)buf)), 2,
			    "the owner's reference plus the one get_page() takes");
	/* The owner lets go; the sharer's reference keeps the page. */
	if (page_ref_count(virt_to_page((void *)buf)) == 2) {
		free_page(buf);
		KUNIT_EXPECT_EQ(test, page_ref_count(page), 1);
		put_page(page);
	} else {
		free_page(buf);
	}

	/* A buffer need not start a page: the page that holds its address. */
	block = alloc_pages(GFP_KERNEL, 1);
	KUNIT_ASSERT_NOT_NULL(test, block);
	split_page(block, 1);	/* two pages, each with its own reference */
	page = kmemlab_page_share(page_address(block) + PAGE_SIZE / 2 + 4);
	KUNIT_EXPECT_PTR_EQ_MSG(test, page, block,
				"kmemlab_page_share() of an address in the middle of a page should return that page (round the address down, as virt_to_page() does)");
	KUNIT_EXPECT_EQ_MSG(test, page_ref_count(block), 2,
			    "the page under the address: its owner's reference plus the one get_page() takes");
	if (page == block || page == block + 1)
		put_page(page);
	__free_page(block);
	__free_page(block + 1);
}

static void free_blocks_add_up_to_free_pages(struct kunit *test)
{
	long lo, hi, sum = 0;
	unsigned int order;

	lo = buddy_pages_now();
	for (order = 0; order <= MAX_PAGE_ORDER; order++)
		sum += kmemlab_free_blocks(order) << order;
	hi = buddy_pages_now();
	if (lo > hi)
		swap(lo, hi);
	KUNIT_EXPECT_GE_MSG(test, sum, lo - 64,
			    "blocks of order n hold 2^n pages each; summed over all orders and zones they should make the %ld free pages the zones count",
			    lo);
	KUNIT_EXPECT_LE_MSG(test, sum, hi + 64,
			    "blocks of order n hold 2^n pages each; summed over all orders and zones they should make the %ld free pages the zones count",
			    hi);
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_free_blocks(MAX_PAGE_ORDER + 1), 0UL,
			    "there are no blocks above MAX_PAGE_ORDER (%d)", MAX_PAGE_ORDER);
}

/*
 * The buddy allocator changes a zone's free lists, nr_free among them,
 * with zone->lock held, and takes it from interrupts too: a reader takes
 * it with interrupts off, or an interrupt that frees pages on this CPU
 * spins forever on the lock its own CPU holds.
 */
static void free_blocks_reads_under_zone_lock(struct kunit *test)
{
	struct lock_watch w = { };
	struct zone *zone = NULL, *z;
	int nid, ret;

	for_each_online_node(nid)
		for (z = NODE_DATA(nid)->node_zones;
		     z < NODE_DATA(nid)->node_zones + MAX_NR_ZONES; z++)
			if (!zone && populated_zone(z))
				zone = z;
	KUNIT_ASSERT_NOT_NULL(test, zone);
	ret = lock_watch_start(&w, &zone->lock);
	if (ret)
		kunit_skip(test, "no lockdep here to watch the locks (the graded kernel has it): error %d",
			   ret);
	kmemlab_free_blocks(0);
	lock_watch_stop(&w);
	KUNIT_EXPECT_GT_MSG(test, w.taken, 0U,
			    "kmemlab_free_blocks() read nr_free of zone %s without taking its zone->lock",
			    zone->name);
	KUNIT_EXPECT_EQ_MSG(test, w.irqs_on, 0U,
			    "zone->lock of zone %s was taken with interrupts on: spin_lock_irqsave()",
			    zone->name);
}

/*
 * A caller may run with interrupts off (under a spin_lock_irqsave() of its
 * own, in a timer): kmemlab_free_blocks() must leave them as it found
 * them. spin_unlock_irq() turns them on, whatever they were before.
 */
static void free_blocks_keeps_interrupts_off(struct kunit *test)
{
	unsigned long flags, pages = 0;
	unsigned int order;
	bool off = true;

	local_irq_save(flags);
	for (order = 0; order <= MAX_PAGE_ORDER; order++) {
		pages += kmemlab_free_blocks(order) << order;
		off &= irqs_disabled();
	}
	local_irq_restore(flags);
	KUNIT_EXPECT_GT_MSG(test, pages, 0UL, "the free lists hold no free page at all");
	KUNIT_EXPECT_TRUE_MSG(test, off,
			      "called with interrupts off, kmemlab_free_blocks() returned with them on: take zone->lock with spin_lock_irqsave(), give it back with spin_unlock_irqrestore()");
}

/*
 * Enough rounds to span many clock ticks: under QEMU without a usable TSC
 * the clock may advance a jiffy (4 ms) at a time.
 */
#define TIME_ROUNDS	4096
#define TIME_CHUNK	16
#define TIME_MIN_NS	(40 * NSEC_PER_MSEC)

/*
 * Time 64 KiB rounds in chunks until at least TIME_MIN_NS have passed or
 * TIME_ROUNDS rounds are done: on the debug kernel one vmalloc round can
 * take milliseconds. Sets *@rounds and *@outside, the calls' own time as
 * the suite's clock saw it from outside them; returns the total the
 * function said.
 */
static u64 time_rounds(bool use_vmalloc, unsigned int *rounds, u64 *outside)
{
	u64 start = ktime_get_ns(), total = 0, before;

	*outside = 0;
	for (*rounds = 0; *rounds < TIME_ROUNDS && ktime_get_ns() - start < TIME_MIN_NS;
	     *rounds += TIME_CHUNK) {
		before = ktime_get_ns();
		total += kmemlab_time_alloc(use_vmalloc, 64 * 1024, TIME_CHUNK);
		*outside += ktime_get_ns() - before;
	}
	return total;
}

static void time_alloc_vmalloc_slower(struct kunit *test)
{
	unsigned int page_rounds, vmalloc_rounds;
	u64 outside;
	u64 pages_ns = time_rounds(false, &page_rounds, &outside);
	u64 vmalloc_ns = time_rounds(true, &vmalloc_rounds, &outside);

	KUNIT_ASSERT_GT_MSG(test, vmalloc_ns, 0ULL,
			    "%u vmalloc rounds took 0 ns: time them with ktime_get()",
			    vmalloc_rounds);
	pages_ns = div_u64(pages_ns, page_rounds);
	vmalloc_ns = div_u64(vmalloc_ns, vmalloc_rounds);
	kunit_info(test, "64 KiB alloc+free: page allocator %llu ns, vmalloc %llu ns",
		   pages_ns, vmalloc_ns);
	KUNIT_EXPECT_GT_MSG(test, vmalloc_ns, pages_ns,
			    "vmalloc allocates 16 pages one by one and maps each: it should cost more than one order-4 block");
}

/*
 * What the function says against what its calls took, seen from the
 * suite: the rounds are all of a call, so its figure is most of that time
 * and never more. A clock started inside the loop times one round of 16;
 * ktime_get() not subtracted from is the time since boot.
 */
static void time_alloc_times_every_round(struct kunit *test)
{
	unsigned int rounds;
	u64 outside;
	u64 said = time_rounds(false, &rounds, &outside);

	KUNIT_EXPECT_GE_MSG(test, said, outside / 2,
			    "kmemlab_time_alloc() said %llu ns in all for %u rounds (in calls of %d) that took %llu ns from the caller's side: read the clock once before the first round and once after the last",
			    said, rounds, TIME_CHUNK, outside);
	KUNIT_EXPECT_LE_MSG(test, said, outside,
			    "kmemlab_time_alloc() said %llu ns in all for %u rounds that took only %llu ns from the caller's side: return the difference of the two readings, in ns",
			    said, rounds, outside);
}

static void time_alloc_returns_every_page(struct kunit *test)
{
	size_t bytes = 5 * PAGE_SIZE + 100;
	unsigned int left;
	long before, lost;

	before = free_pages_now();
	/* Counts the allocations down; none fails before the last round's. */
	current->fail_nth = ROUNDS + 1;
	kmemlab_time_alloc(false, bytes, ROUNDS);
	left = current->fail_nth;
	current->fail_nth = 0;
	lost = before - free_pages_now();
	KUNIT_EXPECT_LE_MSG(test, left, 1U,
			    "%d rounds should make %d allocations, not %u", ROUNDS, ROUNDS,
			    ROUNDS + 1 - left);
	KUNIT_EXPECT_LT_MSG(test, lost, (long)ROUNDS,
			    "%d timed rounds of %zu-byte alloc+free lost %ld pages: free_pages() needs the order of the block",
			    ROUNDS, bytes, lost);
}

/* The blocks timed are of the size asked for: get_order(), rounded up. */
static void time_alloc_allocates_order_of_size(struct kunit *test)
{
	size_t bytes = 6 * PAGE_SIZE;
	struct gfp_watch w = { };
	int ret;

	ret = gfp_watch_start(&w, get_order(bytes));
	if (ret)
		kunit_skip(test, "no tracepoints here to see the orders (the graded kernel has them): error %d",
			   ret);
	kmemlab_time_alloc(false, bytes, 4);
	gfp_watch_stop(&w);
	KUNIT_EXPECT_EQ_MSG(test, w.calls, 4U,
			    "4 rounds of %zu bytes should allocate 4 blocks of order %d (get_order(), rounded up): %u were",
			    bytes, get_order(bytes), w.calls);
}

/*
 * Enough rounds that finishing them takes several clock ticks, so that a
 * time of 0 can only mean the function gave up.
 */
#define FAIL_ROUNDS	(4 * TIME_ROUNDS)

static void time_alloc_zero_when_allocation_fails(struct kunit *test)
{
	long before, lost;
	bool fired;
	u64 ns;

	before = free_pages_now();
	current->fail_nth = 3;	/* the third round's block */
	ns = kmemlab_time_alloc(false, 64 * 1024, FAIL_ROUNDS);
	fired = fail_nth_fired();
	lost = before - free_pages_now();
	KUNIT_EXPECT_TRUE_MSG(test, fired, "kmemlab_time_alloc() made fewer than 3 allocations in %d rounds",
			      FAIL_ROUNDS);
	KUNIT_EXPECT_EQ_MSG(test, ns, 0ULL,
			    "the third round's allocation failed: kmemlab_time_alloc() should stop and return 0, not %llu ns",
			    ns);
	KUNIT_EXPECT_LT_MSG(test, lost, (long)ROUNDS,
			    "the rounds before the failure lost %ld pages", lost);
}

/*
 * vmalloc() refuses at once a request larger than all of RAM
 * (__vmalloc_node_range_noprof() in mm/vmalloc.c): every round's
 * allocation fails, so the function must give up on the first and
 * return 0, however many rounds it was asked for.
 */
static void time_alloc_vmalloc_zero_when_allocation_fails(struct kunit *test)
{
	size_t bytes = (totalram_pages() + 1) << PAGE_SHIFT;
	void *probe;
	u64 ns;

	probe = __vmalloc(bytes, GFP_KERNEL | __GFP_NOWARN);
	vfree(probe);
	KUNIT_ASSERT_NULL_MSG(test, probe, "the kernel's vmalloc(%zu) succeeded", bytes);
	ns = kmemlab_time_alloc(true, bytes, FAIL_ROUNDS);
	KUNIT_EXPECT_EQ_MSG(test, ns, 0ULL,
			    "vmalloc(%zu) returns NULL, more than the RAM: kmemlab_time_alloc() should stop and return 0, not %llu ns",
			    bytes, ns);
}

static struct kunit_case kmemlab_pages_test_cases[] = {
	KUNIT_CASE_PARAM(order_matches_get_order, order_size_gen_params),
	KUNIT_CASE_PARAM(buf_alloc_naturally_aligned, buf_size_gen_params),
	KUNIT_CASE_PARAM(buf_free_returns_every_page, free_size_gen_params),
	KUNIT_CASE(buf_alloc_null_when_memory_runs_out),
	KUNIT_CASE(buf_alloc_may_reclaim),
	KUNIT_CASE(exact_and_split_alloc_may_reclaim),
	KUNIT_CASE_PARAM(exact_alloc_keeps_only_needed_pages, exact_size_gen_params),
	KUNIT_CASE_PARAM(exact_alloc_zeroed, exact_size_gen_params),
	KUNIT_CASE_PARAM(exact_free_returns_every_page, exact_size_gen_params),
	KUNIT_CASE(exact_alloc_null_when_memory_runs_out),
	KUNIT_CASE(buf_pfn_matches_physical_address),
	KUNIT_CASE(pfn_to_virt_round_trip),
	KUNIT_CASE_PARAM(split_alloc_counts_each_page, split_order_gen_params),
	KUNIT_CASE_PARAM(split_free_returns_every_page, split_order_gen_params),
	KUNIT_CASE(split_alloc_null_when_memory_runs_out),
	KUNIT_CASE(page_share_takes_reference),
	KUNIT_CASE(free_blocks_add_up_to_free_pages),
	KUNIT_CASE(free_blocks_reads_under_zone_lock),
	KUNIT_CASE(free_blocks_keeps_interrupts_off),
	KUNIT_CASE(time_alloc_vmalloc_slower),
	KUNIT_CASE(time_alloc_times_every_round),
	KUNIT_CASE(time_alloc_allocates_order_of_size),
	KUNIT_CASE(time_alloc_returns_every_page),
	KUNIT_CASE(time_alloc_zero_when_allocation_fails),
	KUNIT_CASE(time_alloc_vmalloc_zero_when_allocation_fails),
	{}
};

static struct kunit_suite kmemlab_pages_test_suite = {
	.name = "kmemlab_pages",
	.test_cases = kmemlab_pages_test_cases,
};
kunit_test_suite(kmemlab_pages_test_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit tests for kmemlab lab 02");
