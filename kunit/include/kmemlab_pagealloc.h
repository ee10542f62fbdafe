/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kmemlab_pagealloc.h - the kernel's kmem:mm_page_alloc tracepoint
 * (include/trace/events/kmem.h), which reports the page, order and GFP
 * flags of every page allocation, for the suites that check the flags a
 * student asked for. It is not exported: it is found by name. NULL on a
 * kernel without tracepoints (the fast lab kernels; the graded ones have
 * them). A probe has the tracepoint's arguments after its data pointer:
 *
 *	void probe(void *data, struct page *page, unsigned int order,
 *		   gfp_t gfp_flags, int migratetype);
 */
#ifndef KMEMLAB_PAGEALLOC_H
#define KMEMLAB_PAGEALLOC_H

#include <linux/string.h>
#include <linux/tracepoint.h>

#ifdef CONFIG_TRACEPOINTS
static void kmemlab_find_page_alloc(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "mm_page_alloc"))
		*(struct tracepoint **)priv = tp;
}

static inline struct tracepoint *kmemlab_page_alloc_tp(void)
{
	struct tracepoint *tp = NULL;

	for_each_kernel_tracepoint(kmemlab_find_page_alloc, &tp);
	return tp;
}
#else
static inline struct tracepoint *kmemlab_page_alloc_tp(void)
{
	return NULL;
}
#endif

#endif /* KMEMLAB_PAGEALLOC_H */
