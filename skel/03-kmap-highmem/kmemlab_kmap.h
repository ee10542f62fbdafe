/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A copy of kunit/03-kmap-highmem/kmemlab_kmap.h, the interface between
 * your module and the lab's tests, for reading. Do not edit it: the
 * grader builds your module with its own copy.
 */
#ifndef KMEMLAB_KMAP_H
#define KMEMLAB_KMAP_H

#include <linux/compiler_types.h>
#include <linux/types.h>

struct page;

struct page *kmemlab_alloc_high(void);
void kmemlab_fill_page(struct page *page, u8 val);
void kmemlab_copy_high(struct page *dst, struct page *src);
void *kmemlab_kmap_keep(struct page *page);
void kmemlab_kmap_drop(struct page *page);
int kmemlab_page_to_user(void __user *dst, struct page *page, size_t off,
			 size_t len);
int kmemlab_page_from_user(struct page *page, size_t off,
			   const void __user *src, size_t len);

#endif
