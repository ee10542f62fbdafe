// SPDX-License-Identifier: GPL-2.0
/*
 * kmemlab_pages - the page allocator seen from a module: blocks of 2^order
 * physically contiguous pages, what they guarantee, how they are counted
 * and how they go back. The buddy allocator hands out nothing smaller
 * than a page and nothing that is not a power of two of them; everything
 * else (kmalloc, vmalloc, page tables) is built on top of it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/nodemask.h>
#include <linux/spinlock.h>
#include <linux/vmalloc.h>
#include <linux/ktime.h>

#include "kmemlab_pages.h"

/**
 * kmemlab_order() - the order of the smallest block that holds @bytes.
 * @bytes: how many bytes are needed; more than 0.
 *
 * Return: the smallest order such that PAGE_SIZE << order >= @bytes, which
 * is what get_order() computes.
 */
unsigned int kmemlab_order(size_t bytes)
{
	unsigned int order = 0;

	/* TODO 1 BEGIN: find the smallest order whose block is at least
	 * @bytes long: a block of order n is PAGE_SIZE << n bytes.
	 */
	while ((PAGE_SIZE << order) < bytes)
		order++;
	/* TODO 1 END */
	return order;
}
EXPORT_SYMBOL_GPL(kmemlab_order);

/**
 * kmemlab_buf_alloc() - a buffer of at least @bytes from the page allocator.
 * @bytes: size wanted, more than 0.
 *
 * Return: the kernel virtual address of a block of order
 * kmemlab_order(@bytes), or NULL when there is none.
 */
void *kmemlab_buf_alloc(size_t bytes)
{
	/* TODO 2 BEGIN: allocate the block with __get_free_pages() and
	 * GFP_KERNEL; it returns an address as an unsigned long, 0 on failure.
	 */
	return (void *)__get_free_pages(GFP_KERNEL, kmemlab_order(bytes));
	/* TODO 2 END, skeleton: return NULL; */
}
EXPORT_SYMBOL_GPL(kmemlab_buf_alloc);

/**
 * kmemlab_buf_free() - give back a buffer from kmemlab_buf_alloc().
 * @buf: the buffer.
 * @bytes: the size it was allocated with.
 */
void kmemlab_buf_free(void *buf, size_t bytes)
{
	/* TODO 2 BEGIN: free the block with free_pages(). The allocator does
	 * not remember the order of a plain block: you must pass the same
	 * order the block was allocated with.
	 */
	free_pages((unsigned long)buf, kmemlab_order(bytes));
	/* TODO 2 END */
}
EXPORT_SYMBOL_GPL(kmemlab_buf_free);

/**
 * kmemlab_exact_alloc() - exactly enough zeroed pages for @bytes.
 * @bytes: size wanted, more than 0.
 *
 * Unlike kmemlab_buf_alloc(), the pages past the last one needed are given
 * back at once: 5 pages cost 5 pages, not 8.
 *
 * Return: the kernel virtual address of the pages, or NULL.
 */
void *kmemlab_exact_alloc(size_t bytes)
{
	/* TODO 3 BEGIN: use alloc_pages_exact() with GFP_KERNEL and
	 * __GFP_ZERO, so that no old data leaks to whoever reads the buffer.
	 */
	return alloc_pages_exact(bytes, GFP_KERNEL | __GFP_ZERO);
	/* TODO 3 END, skeleton: return NULL; */
}
EXPORT_SYMBOL_GPL(kmemlab_exact_alloc);

/**
 * kmemlab_exact_free() - give back a buffer from kmemlab_exact_alloc().
 * @buf: the buffer.
 * @bytes: the size it was allocated with.
 */
void kmemlab_exact_free(void *buf, size_t bytes)
{
	/* TODO 3 BEGIN: free it with free_pages_exact(): its pages are now
	 * independent order-0 pages, so free_pages() with an order would be
	 * wrong.
	 */
	free_pages_exact(buf, bytes);
	/* TODO 3 END */
}
EXPORT_SYMBOL_GPL(kmemlab_exact_free);

/**
 * kmemlab_buf_pfn() - the page frame number behind a direct-map address.
 * @buf: an address in the kernel's direct (linear) mapping, such as one
 *	 from kmemlab_buf_alloc(); not a vmalloc address.
 *
 * Return: the physical page frame number of the page holding @buf.
 */
unsigned long kmemlab_buf_pfn(const void *buf)
{
	/* TODO 4 BEGIN: go from the address to its struct page with
	 * virt_to_page(), then to the frame number with page_to_pfn().
	 */
	return page_to_pfn(virt_to_page(buf));
	/* TODO 4 END, skeleton: return 0; */
}
EXPORT_SYMBOL_GPL(kmemlab_buf_pfn);

/**
 * kmemlab_pfn_to_virt() - the kernel address of a page frame, if it has one.
 * @pfn: a valid page frame number.
 *
 * Return: the address of the page in the direct mapping, or NULL for a
 * high-memory page that is not mapped right now.
 */
void *kmemlab_pfn_to_virt(unsigned long pfn)
{
	/* TODO 4 BEGIN: the way back: pfn_to_page(), then page_address(),
	 * which knows that a high page has no permanent address.
	 */
	return page_address(pfn_to_page(pfn));
	/* TODO 4 END, skeleton: return NULL; */
}
EXPORT_SYMBOL_GPL(kmemlab_pfn_to_virt);

/**
 * kmemlab_split_alloc() - a block of 2^@order pages, each one freeable alone.
 * @order: order of the block.
 *
 * Return: the first page of the block, or NULL.
 */
struct page *kmemlab_split_alloc(unsigned int order)
{
	struct page *page;

	/* TODO 5 BEGIN: allocate with alloc_pages(), then split_page() so
	 * that every page holds its own reference, not just the first one.
	 */
	page = alloc_pages(GFP_KERNEL, order);
	if (page)
		split_page(page, order);
	/* TODO 5 END, skeleton: page = NULL; */
	return page;
}
EXPORT_SYMBOL_GPL(kmemlab_split_alloc);

/**
 * kmemlab_split_free() - give back a block from kmemlab_split_alloc().
 * @page: its first page.
 * @order: the order it was allocated with.
 */
void kmemlab_split_free(struct page *page, unsigned int order)
{
	/* TODO 5 BEGIN: after split_page() the block is 2^order order-0
	 * pages: free each of them with __free_page().
	 */
	struct page *end = page + (1UL << order);

	for (; page < end; page++)
		__free_page(page);
	/* TODO 5 END */
}
EXPORT_SYMBOL_GPL(kmemlab_split_free);

/**
 * kmemlab_page_share() - keep the page under @buf alive for the caller.
 * @buf: a direct-map address.
 *
 * The caller gets a reference of its own: the page stays allocated after
 * its owner frees it, until the caller drops the reference with put_page().
 *
 * Return: the page holding @buf.
 */
struct page *kmemlab_page_share(void *buf)
{
	struct page *page = virt_to_page(buf);

	/* TODO 5 BEGIN: take the reference with get_page(). */
	get_page(page);
	/* TODO 5 END */
	return page;
}
EXPORT_SYMBOL_GPL(kmemlab_page_share);

/* Free blocks of one order in one zone: one number of a /proc/buddyinfo line. */
static unsigned long zone_free_blocks(struct zone *zone, unsigned int order)
{
	/* TODO 6 BEGIN: return free_area[order].nr_free of @zone. The buddy
	 * allocator changes it under zone->lock, from interrupts too: read it
	 * holding the lock with spin_lock_irqsave().
	 */
	unsigned long flags, n;

	spin_lock_irqsave(&zone->lock, flags);
	n = zone->free_area[order].nr_free;
	spin_unlock_irqrestore(&zone->lock, flags);
	return n;
	/* TODO 6 END, skeleton: return 0; */
}

/**
 * kmemlab_free_blocks() - free blocks of one order, as /proc/buddyinfo counts.
 * @order: the order, 0 to MAX_PAGE_ORDER.
 *
 * Return: the number of free blocks of exactly @order in every zone of
 * every node, or 0 for an order the allocator does not have.
 */
unsigned long kmemlab_free_blocks(unsigned int order)
{
	unsigned long n = 0;
	struct zone *zone;
	int nid;

	if (order > MAX_PAGE_ORDER)
		return 0;
	/*
	 * for_each_populated_zone() is not available to modules; the zones
	 * of a node are an array in its pg_data_t.
	 */
	for_each_online_node(nid) {
		for (zone = NODE_DATA(nid)->node_zones;
		     zone < NODE_DATA(nid)->node_zones + MAX_NR_ZONES; zone++) {
			if (populated_zone(zone))
				n += zone_free_blocks(zone, order);
		}
	}
	return n;
}
EXPORT_SYMBOL_GPL(kmemlab_free_blocks);

/**
 * kmemlab_time_alloc() - time allocating and freeing a buffer @rounds times.
 * @use_vmalloc: vmalloc() and vfree() when true, __get_free_pages() and
 *		 free_pages() when false.
 * @bytes: buffer size.
 * @rounds: how many allocate-and-free rounds.
 *
 * Return: the total time in nanoseconds, 0 when an allocation failed.
 */
u64 kmemlab_time_alloc(bool use_vmalloc, size_t bytes, unsigned int rounds)
{
	/* TODO 7 BEGIN: read the clock with ktime_get() before and after the
	 * rounds; return the difference with ktime_to_ns(ktime_sub()).
	 */
	unsigned int i, order = get_order(bytes);
	ktime_t start = ktime_get();
	unsigned long addr;
	void *buf;

	for (i = 0; i < rounds; i++) {
		if (use_vmalloc) {
			buf = vmalloc(bytes);
			if (!buf)
				return 0;
			vfree(buf);
		} else {
			addr = __get_free_pages(GFP_KERNEL, order);
			if (!addr)
				return 0;
			free_pages(addr, order);
		}
	}
	return ktime_to_ns(ktime_sub(ktime_get(), start));
	/* TODO 7 END, skeleton: return 0; */
}
EXPORT_SYMBOL_GPL(kmemlab_time_alloc);

static int __init kmemlab_pages_init(void)
{
	return 0;
}

static void __exit kmemlab_pages_exit(void)
{
}

module_init(kmemlab_pages_init);
module_exit(kmemlab_pages_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmemlab 02: the page allocator");
