/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A copy of kunit/04-pagewalk/kmemlab_walk.h, the interface between
 * your module and the lab's tests, for reading. Do not edit it: the
 * grader builds your module with its own copy.
 */
#ifndef KMEMLAB_WALK_H
#define KMEMLAB_WALK_H

#include <linux/types.h>
#include <linux/pgtable.h>
#include <linux/spinlock_types.h>

#include "kmemlab_walk_ioctl.h"

struct mm_struct;

struct kmemlab_pte_info {
	unsigned long pfn;	/* the 4 KiB frame that holds the address */
	unsigned int flags;	/* KMEMLAB_* */
};

unsigned int kmemlab_entry_flags(unsigned long pteflags);
pmd_t *kmemlab_walk_to_pmd(struct mm_struct *mm, unsigned long addr);
pte_t *kmemlab_pte_map_lock(struct mm_struct *mm, unsigned long addr,
			    spinlock_t **ptlp);
int kmemlab_walk(struct mm_struct *mm, unsigned long addr,
		 struct kmemlab_pte_info *info);

#endif
