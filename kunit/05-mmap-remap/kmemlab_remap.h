/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kmemlab_remap.h - what the lab 05 test suite needs to know about the
 * driver: the device names, the buffer size and a way to reach a buffer.
 */
#ifndef KMEMLAB_REMAP_H
#define KMEMLAB_REMAP_H

#include <linux/mm.h>

/* Both buffers are this many pages long: 1 MiB with 4 KiB pages. */
#define KMEMLAB_REMAP_ORDER	8
#define KMEMLAB_REMAP_PAGES	(1UL << KMEMLAB_REMAP_ORDER)
#define KMEMLAB_REMAP_SIZE	(KMEMLAB_REMAP_PAGES * PAGE_SIZE)

enum kmemlab_remap_kind {
	KMEMLAB_REMAP_CONTIG,	/* /dev/kmemlab_remap_contig: page allocator */
	KMEMLAB_REMAP_VMALLOC,	/* /dev/kmemlab_remap_vmalloc: vmalloc() */
	KMEMLAB_REMAP_KINDS
};

extern const char *const kmemlab_remap_names[KMEMLAB_REMAP_KINDS];

void *kmemlab_remap_buffer(enum kmemlab_remap_kind kind);

#endif /* KMEMLAB_REMAP_H */
