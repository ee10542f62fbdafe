/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A copy of kunit/04-pagewalk/kmemlab_walk_ioctl.h, the interface between
 * your module and the lab's tests, for reading. Do not edit it: the
 * grader builds your module with its own copy.
 */
/*
 * The ioctl of /dev/kmemlab_walk, shared by the module and user programs:
 * it walks the calling process's page tables for one address.
 */
#ifndef KMEMLAB_WALK_IOCTL_H
#define KMEMLAB_WALK_IOCTL_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* What the entry that maps an address says; bits of .flags. */
#define KMEMLAB_PRESENT		(1U << 0)
#define KMEMLAB_WRITE		(1U << 1)
#define KMEMLAB_USER		(1U << 2)
#define KMEMLAB_DIRTY		(1U << 3)
#define KMEMLAB_ACCESSED	(1U << 4)
#define KMEMLAB_HUGE		(1U << 5)	/* a leaf above the PTE level */

struct kmemlab_walk_req {
	__u64 addr;	/* in: the user virtual address to look up */
	__u64 pfn;	/* out: frame of the 4 KiB page holding addr */
	__u32 flags;	/* out: KMEMLAB_* */
	__s32 result;	/* out: what kmemlab_walk() returned */
};

#define KMEMLAB_IOC_WALK	_IOWR('k', 4, struct kmemlab_walk_req)

#endif
