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
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/nodemask.h>
#include <linux/percpu.h>
#include <linux/string.h>
#include <linux/vmstat.h>

#include "kmemlab_pages.h"

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
	1, PAGE_SIZE - 1, PAGE_SIZE, PAGE_SIZE + 1, 3 * PAGE_SIZE,
	4 * PAGE_SIZE, 5 * PAGE_SIZE, 8 * PAGE_SIZE + 1, 1 << 20, 4 << 20,
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
	PAGE_SIZE, 2 * PAGE_SIZE, 3 * PAGE_SIZE, 8 * PAGE_SIZE, 16 * PAGE_SIZE,
};

KUNIT_ARRAY_PARAM(buf_size, buf_sizes, size_desc);

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

static void buf_free_returns_every_page(struct kunit *test)
{
	size_t bytes = 16 * PAGE_SIZE;
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
			    "%d rounds of 16-page alloc+free lost %ld pages: free_pages() needs the order the block was allocated with",
			    ROUNDS, lost);
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

static void exact_alloc_keeps_only_needed_pages(struct kunit *test)
{
	struct page *page;
	void *buf;
	int i;

	buf = kmemlab_exact_alloc(5 * PAGE_SIZE);
	KUNIT_ASSERT_NOT_NULL_MSG(test, buf, "kmemlab_exact_alloc(5 pages) failed");
	page = virt_to_page(buf);
	for (i = 0; i < 8; i++)
		KUNIT_EXPECT_EQ_MSG(test, page_ref_count(page + i), i < 5 ? 1 : 0,
				    "page %d of 5 should have %d references (got %d): alloc_pages_exact() keeps pages 0-4, each with its own reference, and frees 5-7",
				    i, i < 5 ? 1 : 0, page_ref_count(page + i));
	/* Free it the way it was really allocated, or not at all. */
	if (refs_are(page, 5, 1))
		free_pages_exact(buf, 5 * PAGE_SIZE);
	else if (page_ref_count(page) == 1 && refs_are(page + 1, 7, 0))
		free_pages((unsigned long)buf, 3);
}

static void exact_alloc_zeroed(struct kunit *test)
{
	size_t bytes = 3 * PAGE_SIZE;
	void *buf;

	/*
	 * Dirty an order-2 block and free it: the allocator hands the most
	 * recently freed block of an order out first, and 3 pages are carved
	 * from an order-2 block.
	 */
	buf = (void *)__get_free_pages(GFP_KERNEL, 2);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	memset(buf, 0xa5, 4 * PAGE_SIZE);
	free_pages((unsigned long)buf, 2);

	buf = kmemlab_exact_alloc(bytes);
	KUNIT_ASSERT_NOT_NULL_MSG(test, buf, "kmemlab_exact_alloc(3 pages) failed");
	KUNIT_EXPECT_PTR_EQ_MSG(test, memchr_inv(buf, 0, bytes), NULL,
				"the buffer should be all zero: ask for __GFP_ZERO");
	if (refs_are(virt_to_page(buf), 3, 1))
		free_pages_exact(buf, bytes);
}

static void exact_free_returns_every_page(struct kunit *test)
{
	size_t bytes = 5 * PAGE_SIZE;
	long before, lost;
	void *buf;
	int i;

	/* Freeing pages that hold no reference would crash: check first. */
	buf = kmemlab_exact_alloc(bytes);
	KUNIT_ASSERT_NOT_NULL_MSG(test, buf, "kmemlab_exact_alloc(5 pages) failed");
	if (!refs_are(virt_to_page(buf), 5, 1)) {
		if (page_ref_count(virt_to_page(buf)) == 1 &&
		    refs_are(virt_to_page(buf) + 1, 7, 0))
			free_pages((unsigned long)buf, 3);
		KUNIT_FAIL_AND_ABORT(test, "kmemlab_exact_alloc() did not give each page its own reference: see exact_alloc_keeps_only_needed_pages");
	}
	kmemlab_exact_free(buf, bytes);

	before = free_pages_now();
	for (i = 0; i < ROUNDS; i++) {
		buf = kmemlab_exact_alloc(bytes);
		KUNIT_ASSERT_NOT_NULL_MSG(test, buf, "kmemlab_exact_alloc(5 pages) failed");
		kmemlab_exact_free(buf, bytes);
	}
	lost = before - free_pages_now();
	KUNIT_EXPECT_LT_MSG(test, lost, (long)ROUNDS,
			    "%d rounds of 5-page exact alloc+free lost %ld pages: free them with free_pages_exact()",
			    ROUNDS, lost);
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
	struct page *page = kmemlab_split_alloc(2);
	int i;

	KUNIT_ASSERT_NOT_NULL_MSG(test, page, "kmemlab_split_alloc(2) failed");
	KUNIT_EXPECT_EQ_MSG(test, page_to_pfn(page) % 4, 0UL,
			    "an order-2 block starts on a multiple of 4 pages");
	for (i = 0; i < 4; i++)
		KUNIT_EXPECT_EQ_MSG(test, page_ref_count(page + i), 1,
				    "after split_page() page %d of 4 should hold one reference, not %d",
				    i, page_ref_count(page + i));
	if (refs_are(page, 4, 1))
		for (i = 0; i < 4; i++)
			__free_page(page + i);
	else if (page_ref_count(page) == 1 && refs_are(page + 1, 3, 0))
		__free_pages(page, 2);
}

static void split_free_returns_every_page(struct kunit *test)
{
	struct page *page;
	long before, lost;
	int i;

	page = kmemlab_split_alloc(2);
	KUNIT_ASSERT_NOT_NULL_MSG(test, page, "kmemlab_split_alloc(2) failed");
	if (!refs_are(page, 4, 1)) {
		if (page_ref_count(page) == 1 && refs_are(page + 1, 3, 0))
			__free_pages(page, 2);
		KUNIT_FAIL_AND_ABORT(test, "kmemlab_split_alloc() did not split the block: see split_alloc_counts_each_page");
	}
	kmemlab_split_free(page, 2);

	before = free_pages_now();
	for (i = 0; i < ROUNDS; i++) {
		page = kmemlab_split_alloc(2);
		KUNIT_ASSERT_NOT_NULL_MSG(test, page, "kmemlab_split_alloc(2) failed");
		kmemlab_split_free(page, 2);
	}
	lost = before - free_pages_now();
	KUNIT_EXPECT_LT_MSG(test, lost, (long)ROUNDS,
			    "%d rounds of split order-2 alloc+free lost %ld pages: every page of a split block is freed on its own",
			    ROUNDS, lost);
}

static void page_share_takes_reference(struct kunit *test)
{
	unsigned long buf = __get_free_page(GFP_KERNEL);
	struct page *page;

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
 * Enough rounds to span many clock ticks: under QEMU without a usable TSC
 * the clock may advance a jiffy (4 ms) at a time.
 */
#define TIME_ROUNDS	4096

static void time_alloc_vmalloc_slower(struct kunit *test)
{
	u64 pages_ns = kmemlab_time_alloc(false, 64 * 1024, TIME_ROUNDS);
	u64 vmalloc_ns = kmemlab_time_alloc(true, 64 * 1024, TIME_ROUNDS);

	KUNIT_ASSERT_GT_MSG(test, vmalloc_ns, 0ULL,
			    "%d vmalloc rounds took 0 ns: time them with ktime_get()",
			    TIME_ROUNDS);
	kunit_info(test, "64 KiB alloc+free: page allocator %llu ns, vmalloc %llu ns",
		   pages_ns / TIME_ROUNDS, vmalloc_ns / TIME_ROUNDS);
	KUNIT_EXPECT_GT_MSG(test, vmalloc_ns, pages_ns,
			    "vmalloc allocates 16 pages one by one and maps each: it should cost more than one order-4 block");
}

static struct kunit_case kmemlab_pages_test_cases[] = {
	KUNIT_CASE_PARAM(order_matches_get_order, order_size_gen_params),
	KUNIT_CASE_PARAM(buf_alloc_naturally_aligned, buf_size_gen_params),
	KUNIT_CASE(buf_free_returns_every_page),
	KUNIT_CASE(exact_alloc_keeps_only_needed_pages),
	KUNIT_CASE(exact_alloc_zeroed),
	KUNIT_CASE(exact_free_returns_every_page),
	KUNIT_CASE(buf_pfn_matches_physical_address),
	KUNIT_CASE(pfn_to_virt_round_trip),
	KUNIT_CASE(split_alloc_counts_each_page),
	KUNIT_CASE(split_free_returns_every_page),
	KUNIT_CASE(page_share_takes_reference),
	KUNIT_CASE(free_blocks_add_up_to_free_pages),
	KUNIT_CASE(time_alloc_vmalloc_slower),
	{}
};

static struct kunit_suite kmemlab_pages_test_suite = {
	.name = "kmemlab_pages",
	.test_cases = kmemlab_pages_test_cases,
};
kunit_test_suite(kmemlab_pages_test_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit tests for kmemlab lab 02");
