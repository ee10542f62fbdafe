/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KMEMLAB_ALLOC_H
#define KMEMLAB_ALLOC_H

#include <linux/types.h>

/* Where a buffer's memory came from, as far as the kernel can tell. */
enum kmemlab_kind {
	KMEMLAB_UNKNOWN,	/* not a heap address the lab knows about */
	KMEMLAB_SLAB,		/* kmalloc, served by a slab cache */
	KMEMLAB_PAGES,		/* kmalloc too big for a cache: buddy pages */
	KMEMLAB_VMALLOC,	/* vmalloc area: pages mapped one by one */
};

/* Called by kmemlab_snapshot() on the fresh copy: 0 accepts it, -errno rejects it. */
typedef int (*kmemlab_check_t)(const void *copy, size_t size, void *priv);

int kmemlab_buf_pfns(const void *buf, size_t size, unsigned long *pfns,
		     unsigned int max_pfns);
size_t kmemlab_usable_size(size_t request);
size_t kmemlab_size_class(size_t request);
enum kmemlab_kind kmemlab_kind_of(const void *buf);
void *kmemlab_alloc(size_t size);
void kmemlab_free(const void *buf);
void *kmemlab_alloc_atomic(size_t size);
void *kmemlab_snapshot(const void *src, size_t size, kmemlab_check_t check,
		       void *priv);

#endif
