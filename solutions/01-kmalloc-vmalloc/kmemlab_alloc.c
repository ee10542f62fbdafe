// SPDX-License-Identifier: GPL-2.0
/*
 * kmemlab_alloc - the kernel's two general-purpose allocators side by side.
 *
 * kmalloc() hands out memory from the linear map: virtually and physically
 * contiguous, limited in size, usable in atomic context with GFP_ATOMIC.
 * vmalloc() maps scattered pages into a contiguous virtual range: big, but
 * only virtually contiguous and only from a context that may sleep. The
 * functions below look at both from the inside; the lab's KUnit suite
 * compares their answers with the kernel's own.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/align.h>
#include <linux/err.h>
#include <linux/io.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/pfn.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vmalloc.h>

#include "kmemlab_alloc.h"

/**
 * kmemlab_buf_pfns() - list the page frames behind a kernel buffer.
 * @buf: start of the range; kmalloc or vmalloc memory.
 * @size: length of the range in bytes.
 * @pfns: where to store one page frame number per page the range touches.
 * @max_pfns: room in @pfns.
 *
 * Return: the number of pages [@buf, @buf + @size) touches (0 when @size
 * is 0), all of them written to @pfns; or -E2BIG, with nothing written,
 * when they do not fit in @max_pfns.
 */
int kmemlab_buf_pfns(const void *buf, size_t size, unsigned long *pfns,
		     unsigned int max_pfns)
{
	const char *page = PTR_ALIGN_DOWN((const char *)buf, PAGE_SIZE);
	unsigned int nr = 0, i;

	/* TODO 1 BEGIN: count the pages the range touches. It need not
	 * start on a page boundary: the bytes before @buf in its first page
	 * count towards the pages it spans (offset_in_page(), DIV_ROUND_UP()).
	 */
	if (size)
		nr = DIV_ROUND_UP(offset_in_page(buf) + size, PAGE_SIZE);
	/* TODO 1 END */
	if (nr > max_pfns)
		return -E2BIG;

	for (i = 0; i < nr; i++, page += PAGE_SIZE) {
		/* TODO 2 BEGIN: a vmalloc address is not in the linear map,
		 * so arithmetic on it means nothing: ask the page tables with
		 * vmalloc_to_pfn() instead. is_vmalloc_addr() tells which.
		 */
		if (is_vmalloc_addr(page)) {
			pfns[i] = vmalloc_to_pfn(page);
			continue;
		}
		/* TODO 2 END */
		/* TODO 1 BEGIN: kmalloc memory sits in the linear map, where
		 * virt_to_phys() is plain arithmetic; PHYS_PFN() turns the
		 * physical address into a page frame number.
		 */
		pfns[i] = PHYS_PFN(virt_to_phys((void *)page));
		/* TODO 1 END, skeleton: pfns[i] = 0; */
	}
	return nr;
}
EXPORT_SYMBOL_GPL(kmemlab_buf_pfns);

/**
 * kmemlab_usable_size() - how many bytes kmalloc() really gives for a request.
 * @request: the size asked of kmalloc().
 *
 * Return: the usable size of a kmalloc(@request) buffer, measured on a real
 * allocation, or 0 when the allocation fails.
 */
size_t kmemlab_usable_size(size_t request)
{
	/* TODO 3 BEGIN: allocate @request bytes with kmalloc(), ask ksize()
	 * how much the buffer really holds, free it, return the answer.
	 */
	size_t usable;
	void *buf;

	buf = kmalloc(request, GFP_KERNEL);
	if (!buf)
		return 0;
	usable = ksize(buf);
	kfree(buf);
	return usable;
	/* TODO 3 END, skeleton: return 0; */
}
EXPORT_SYMBOL_GPL(kmemlab_usable_size);

/**
 * kmemlab_size_class() - which kmalloc size class serves a request.
 * @request: the size asked of kmalloc().
 *
 * Works it out from the rules alone, without allocating.
 *
 * Return: the size of the slab cache that serves @request, or for a request
 * above KMALLOC_MAX_CACHE_SIZE the size of the block of pages it gets; 0
 * when kmalloc() cannot serve @request at all (0 or above KMALLOC_MAX_SIZE).
 */
size_t kmemlab_size_class(size_t request)
{
	/* TODO 4 BEGIN: the caches are KMALLOC_MIN_SIZE and every power of
	 * two up to KMALLOC_MAX_CACHE_SIZE, plus 96 and 192 (when the minimum
	 * is small enough to leave them room); above that kmalloc() takes a
	 * power-of-two block of pages (get_order()).
	 */
	if (!request || request > KMALLOC_MAX_SIZE)
		return 0;
	if (request > KMALLOC_MAX_CACHE_SIZE)
		return PAGE_SIZE << get_order(request);
	if (request <= KMALLOC_MIN_SIZE)
		return KMALLOC_MIN_SIZE;
	if (KMALLOC_MIN_SIZE <= 32 && request > 64 && request <= 96)
		return 96;
	if (KMALLOC_MIN_SIZE <= 64 && request > 128 && request <= 192)
		return 192;
	return roundup_pow_of_two(request);
	/* TODO 4 END, skeleton: return 0; */
}
EXPORT_SYMBOL_GPL(kmemlab_size_class);

/**
 * kmemlab_kind_of() - tell where a buffer's memory comes from.
 * @buf: an address returned by kmalloc(), vmalloc() or one of their kin.
 *
 * Return: KMEMLAB_VMALLOC for the vmalloc area, KMEMLAB_SLAB or
 * KMEMLAB_PAGES for the linear map (a slab object, or pages straight from
 * the page allocator), KMEMLAB_UNKNOWN for anything else.
 */
enum kmemlab_kind kmemlab_kind_of(const void *buf)
{
	/* TODO 5 BEGIN: test for the vmalloc area first (is_vmalloc_addr());
	 * only then is virt_addr_valid() meaningful, and only for a valid
	 * address may you look at its folio: folio_test_slab() says whether a
	 * slab cache owns it.
	 */
	if (is_vmalloc_addr(buf))
		return KMEMLAB_VMALLOC;
	if (!virt_addr_valid(buf))
		return KMEMLAB_UNKNOWN;
	if (folio_test_slab(virt_to_folio(buf)))
		return KMEMLAB_SLAB;
	return KMEMLAB_PAGES;
	/* TODO 5 END, skeleton: return KMEMLAB_UNKNOWN; */
}
EXPORT_SYMBOL_GPL(kmemlab_kind_of);

/**
 * kmemlab_alloc() - allocate physically contiguous memory if possible.
 * @size: bytes wanted.
 *
 * Tries kmalloc() for what it can serve, quietly, and falls back to
 * vmalloc(). May sleep. Free the result with kmemlab_free().
 *
 * Return: the buffer, or NULL when both allocators fail.
 */
void *kmemlab_alloc(size_t size)
{
	/* TODO 6 BEGIN: kmalloc() cannot serve more than KMALLOC_MAX_SIZE
	 * and warns when asked; below that it may still fail, which is no
	 * reason to warn either (__GFP_NOWARN). When it fails, use vmalloc().
	 */
	void *buf = NULL;

	if (size <= KMALLOC_MAX_SIZE)
		buf = kmalloc(size, GFP_KERNEL | __GFP_NOWARN);
	if (!buf)
		buf = vmalloc(size);
	return buf;
	/* TODO 6 END, skeleton: return NULL; */
}
EXPORT_SYMBOL_GPL(kmemlab_alloc);

/**
 * kmemlab_free() - free a buffer from kmemlab_alloc(), kmalloc() or vmalloc().
 * @buf: the buffer, or NULL.
 */
void kmemlab_free(const void *buf)
{
	/* TODO 6 BEGIN: each allocator takes back only its own memory:
	 * vfree() for the vmalloc area, kfree() for the rest.
	 */
	if (is_vmalloc_addr(buf))
		vfree(buf);
	else
		kfree(buf);
	/* TODO 6 END */
}
EXPORT_SYMBOL_GPL(kmemlab_free);

/**
 * kmemlab_alloc_atomic() - allocate a small buffer without sleeping.
 * @size: bytes wanted.
 *
 * Context: any, including with a spinlock held or interrupts off.
 * Return: a kmalloc() buffer, or NULL when none is available right now.
 */
void *kmemlab_alloc_atomic(size_t size)
{
	/* TODO 7 BEGIN: the caller may hold a spinlock, so the allocator must
	 * not sleep to find memory: pick the GFP flags that say so. Which of
	 * the two allocators can honour them?
	 */
	return kmalloc(size, GFP_ATOMIC);
	/* TODO 7 END, skeleton: return NULL; */
}
EXPORT_SYMBOL_GPL(kmemlab_alloc_atomic);

/**
 * kmemlab_snapshot() - copy a buffer and have the copy checked.
 * @src: what to copy.
 * @size: how many bytes.
 * @check: called on the copy: 0 accepts it, a negative errno rejects it.
 * @priv: passed to @check.
 *
 * Return: the copy, from kmemlab_alloc(), when @check accepts it;
 * ERR_PTR(-ENOMEM) when there is no memory for it; otherwise ERR_PTR() of
 * what @check returned. A rejected copy must not outlive the call.
 */
void *kmemlab_snapshot(const void *src, size_t size, kmemlab_check_t check,
		       void *priv)
{
	/* TODO 8 BEGIN: allocate with kmemlab_alloc(), copy, call @check.
	 * Every way out after the allocation either returns the copy or
	 * frees it: undo in reverse order under a label named for the undo.
	 */
	void *copy;
	int err;

	copy = kmemlab_alloc(size);
	if (!copy)
		return ERR_PTR(-ENOMEM);
	memcpy(copy, src, size);

	err = check(copy, size, priv);
	if (err)
		goto err_free_copy;
	return copy;

err_free_copy:
	kmemlab_free(copy);
	return ERR_PTR(err);
	/* TODO 8 END, skeleton: return ERR_PTR(-ENOSYS); */
}
EXPORT_SYMBOL_GPL(kmemlab_snapshot);

static int __init kmemlab_alloc_init(void)
{
	pr_info("kmalloc serves up to %lu bytes, from caches up to %lu\n",
		(unsigned long)KMALLOC_MAX_SIZE,
		(unsigned long)KMALLOC_MAX_CACHE_SIZE);
	return 0;
}

static void __exit kmemlab_alloc_exit(void)
{
}

module_init(kmemlab_alloc_init);
module_exit(kmemlab_alloc_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmemlab 01: kmalloc and vmalloc");
