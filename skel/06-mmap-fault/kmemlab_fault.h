/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A copy of kunit/06-mmap-fault/kmemlab_fault.h, the interface between
 * your module and the lab's tests, for reading. Do not edit it: the
 * grader builds your module with its own copy.
 */
/*
 * kmemlab_fault.h - the interface of /dev/kmemlab_fault: the statistics
 * ioctl that user programs call, and what the lab 06 test suite needs.
 */
#ifndef KMEMLAB_FAULT_H
#define KMEMLAB_FAULT_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* Every open file has a buffer of this many pages, allocated lazily. */
#define KMEMLAB_FAULT_PAGES	64

struct kmemlab_fault_stats {
	__u64 faults;		/* faults served for this file's buffer */
	__u64 pages;		/* pages this buffer has allocated */
	__u64 vmas;		/* mappings of this buffer alive now */
	__u64 live_buffers;	/* buffers alive, all files together */
	__u64 live_pages;	/* pages held by all buffers together */
};

#define KMEMLAB_FAULT_IOC_STATS	_IOR('k', 6, struct kmemlab_fault_stats)

#ifdef __KERNEL__
struct file;
struct page;

void kmemlab_fault_get_stats(struct file *file,
			     struct kmemlab_fault_stats *stats);
struct page *kmemlab_fault_page(struct file *file, pgoff_t index);
#endif

#endif /* KMEMLAB_FAULT_H */
