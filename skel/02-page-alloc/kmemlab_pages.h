/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A copy of kunit/02-page-alloc/kmemlab_pages.h, the interface between
 * your module and the lab's tests, for reading. Do not edit it: the
 * grader builds your module with its own copy.
 */
#ifndef KMEMLAB_PAGES_H
#define KMEMLAB_PAGES_H

#include <linux/types.h>

struct page;

unsigned int kmemlab_order(size_t bytes);
void *kmemlab_buf_alloc(size_t bytes);
void kmemlab_buf_free(void *buf, size_t bytes);
void *kmemlab_exact_alloc(size_t bytes);
void kmemlab_exact_free(void *buf, size_t bytes);
unsigned long kmemlab_buf_pfn(const void *buf);
void *kmemlab_pfn_to_virt(unsigned long pfn);
struct page *kmemlab_split_alloc(unsigned int order);
void kmemlab_split_free(struct page *page, unsigned int order);
struct page *kmemlab_page_share(void *buf);
unsigned long kmemlab_free_blocks(unsigned int order);
u64 kmemlab_time_alloc(bool use_vmalloc, size_t bytes, unsigned int rounds);

#endif
