// SPDX-License-Identifier: GPL-2.0
/*
 * kmemlab_kmap - reaching pages the kernel has no address for. On 32-bit
 * x86 the direct map ends below 1 GiB; the frames above it, high memory,
 * must be mapped before the CPU can touch them: for a moment and for this
 * thread only with kmap_local_page(), or for longer, from anywhere and at
 * the cost of a scarce global slot, with kmap(). On x86_64 every page is
 * in the direct map and both calls come down to page_address().
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "kmemlab_kmap.h"

/**
 * kmemlab_alloc_high() - one page that may come from high memory.
 *
 * Return: the page (free it with __free_page()), or NULL.
 */
struct page *kmemlab_alloc_high(void)
{
	/* TODO 1 BEGIN: alloc_page() with GFP_HIGHUSER: the flags for
	 * pages the kernel only reaches through a temporary mapping. Such a
	 * page has a struct page but page_address() may be NULL.
	 */
	return alloc_page(GFP_HIGHUSER);
	/* TODO 1 END, skeleton: return NULL; */
}
EXPORT_SYMBOL_GPL(kmemlab_alloc_high);

/**
 * kmemlab_fill_page() - set every byte of @page to @val.
 * @page: any page, high or not.
 * @val: the byte value.
 */
void kmemlab_fill_page(struct page *page, u8 val)
{
	/* TODO 2 BEGIN: map the page with kmap_local_page(), memset() it,
	 * unmap it with kunmap_local(). Never keep the address afterwards.
	 */
	void *addr = kmap_local_page(page);

	memset(addr, val, PAGE_SIZE);
	kunmap_local(addr);
	/* TODO 2 END */
}
EXPORT_SYMBOL_GPL(kmemlab_fill_page);

/**
 * kmemlab_copy_high() - copy the contents of @src into @dst.
 * @dst: destination page, high or not.
 * @src: source page, high or not.
 */
void kmemlab_copy_high(struct page *dst, struct page *src)
{
	/* TODO 3 BEGIN: map both pages with kmap_local_page(). The
	 * mappings are a stack: unmap them in the reverse order.
	 */
	void *from = kmap_local_page(src);
	void *to = kmap_local_page(dst);

	memcpy(to, from, PAGE_SIZE);
	kunmap_local(to);
	kunmap_local(from);
	/* TODO 3 END */
}
EXPORT_SYMBOL_GPL(kmemlab_copy_high);

/**
 * kmemlab_kmap_keep() - a mapping of @page that lasts until dropped.
 * @page: any page.
 *
 * The mapping is global and the caller may sleep while holding it. It
 * must be released with kmemlab_kmap_drop(); the slots are few (1024 on
 * i386), and kmap() sleeps when they are all in use.
 *
 * Return: the kernel address of @page.
 */
void *kmemlab_kmap_keep(struct page *page)
{
	/* TODO 4 BEGIN: kmap(). */
	return kmap(page);
	/* TODO 4 END, skeleton: return NULL; */
}
EXPORT_SYMBOL_GPL(kmemlab_kmap_keep);

/**
 * kmemlab_kmap_drop() - release a mapping from kmemlab_kmap_keep().
 * @page: the page it mapped.
 */
void kmemlab_kmap_drop(struct page *page)
{
	/* TODO 4 BEGIN: kunmap(): it takes the page, not the address. */
	kunmap(page);
	/* TODO 4 END */
}
EXPORT_SYMBOL_GPL(kmemlab_kmap_drop);

/**
 * kmemlab_page_to_user() - copy part of a page to user memory.
 * @dst: user destination.
 * @page: the page, high or not.
 * @off: offset of the first byte in @page.
 * @len: number of bytes.
 *
 * Return: 0, -EINVAL when the range does not fit in the page, -EFAULT
 * when @dst is not writable user memory.
 */
int kmemlab_page_to_user(void __user *dst, struct page *page, size_t off,
			 size_t len)
{
	/* TODO 5 BEGIN: check the range (mind overflow: off + len), map the
	 * page with kmap_local_page() and copy_to_user() from it. The copy
	 * may fault and sleep: a kmap_local mapping survives that. Unmap on
	 * every path.
	 */
	unsigned long left;
	void *addr;

	if (off > PAGE_SIZE || len > PAGE_SIZE - off)
		return -EINVAL;
	addr = kmap_local_page(page);
	left = copy_to_user(dst, addr + off, len);
	kunmap_local(addr);
	return left ? -EFAULT : 0;
	/* TODO 5 END, skeleton: return -ENOSYS; */
}
EXPORT_SYMBOL_GPL(kmemlab_page_to_user);

/**
 * kmemlab_page_from_user() - copy user memory into part of a page.
 * @page: the page, high or not.
 * @off: offset of the first byte in @page.
 * @src: user source.
 * @len: number of bytes.
 *
 * Return: 0, -EINVAL when the range does not fit in the page, -EFAULT
 * when @src is not readable user memory.
 */
int kmemlab_page_from_user(struct page *page, size_t off,
			   const void __user *src, size_t len)
{
	/* TODO 5 BEGIN: the same, the other way, with copy_from_user(). */
	unsigned long left;
	void *addr;

	if (off > PAGE_SIZE || len > PAGE_SIZE - off)
		return -EINVAL;
	addr = kmap_local_page(page);
	left = copy_from_user(addr + off, src, len);
	kunmap_local(addr);
	return left ? -EFAULT : 0;
	/* TODO 5 END, skeleton: return -ENOSYS; */
}
EXPORT_SYMBOL_GPL(kmemlab_page_from_user);

static int __init kmemlab_kmap_init(void)
{
	return 0;
}

static void __exit kmemlab_kmap_exit(void)
{
}

module_init(kmemlab_kmap_init);
module_exit(kmemlab_kmap_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmemlab 03: mapping high memory");
