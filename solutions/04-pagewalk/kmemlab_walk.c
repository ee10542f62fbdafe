// SPDX-License-Identifier: GPL-2.0
/*
 * kmemlab_walk - translate a user virtual address by hand, the way the MMU
 * does: pgd -> p4d -> pud -> pmd -> pte, then read the entry's frame and
 * bits. The same code walks the five levels of x86_64 with LA57, the four
 * it has without (p4d folded at boot), and the two levels of non-PAE i386,
 * where the generic code folds p4d, pud and pmd into the pgd entry.
 * /dev/kmemlab_walk lets a process ask about its own addresses.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/pgtable.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>

#include "kmemlab_walk.h"

/**
 * kmemlab_entry_flags() - the KMEMLAB_* bits of a page table entry.
 * @pteflags: the entry's x86 flag bits, as pte_flags() or pmd_flags()
 *	      return them; the bits mean the same at every level.
 *
 * Return: the matching KMEMLAB_* flags (never KMEMLAB_HUGE).
 */
unsigned int kmemlab_entry_flags(unsigned long pteflags)
{
	unsigned int flags = 0;

	/* TODO 1 BEGIN: translate _PAGE_PRESENT, _PAGE_RW, _PAGE_USER,
	 * _PAGE_DIRTY and _PAGE_ACCESSED into KMEMLAB_PRESENT, _WRITE,
	 * _USER, _DIRTY and _ACCESSED.
	 */
	if (pteflags & _PAGE_PRESENT)
		flags |= KMEMLAB_PRESENT;
	if (pteflags & _PAGE_RW)
		flags |= KMEMLAB_WRITE;
	if (pteflags & _PAGE_USER)
		flags |= KMEMLAB_USER;
	if (pteflags & _PAGE_DIRTY)
		flags |= KMEMLAB_DIRTY;
	if (pteflags & _PAGE_ACCESSED)
		flags |= KMEMLAB_ACCESSED;
	/* TODO 1 END */
	return flags;
}
EXPORT_SYMBOL_GPL(kmemlab_entry_flags);

/**
 * kmemlab_walk_to_pmd() - find the pmd entry that covers @addr.
 * @mm: the address space; the caller holds its mmap lock, so no table
 *	above the pte level can be freed under us.
 * @addr: a user virtual address.
 *
 * Return: the pmd entry (which may itself be empty or a huge leaf), or
 * NULL when a level above it is empty.
 */
pmd_t *kmemlab_walk_to_pmd(struct mm_struct *mm, unsigned long addr)
{
	/* Without the mmap lock, munmap() could free the tables we read. */
	if (WARN_ONCE(!rwsem_is_locked(&mm->mmap_lock),
		      "page tables walked without the mmap lock\n"))
		return NULL;

	/* TODO 2 BEGIN: pgd_offset(), p4d_offset(), pud_offset(),
	 * pmd_offset(), stopping with NULL at an entry that is none or bad.
	 * A pud that is a leaf (a 1 GiB page) is not a table either: stop
	 * there too. Do not skip p4d: on x86_64 it is folded into the pgd
	 * only when the CPU has no 5-level paging (LA57).
	 */
	pgd_t *pgd;
	p4d_t *p4d;
	pud_t *pud;

	pgd = pgd_offset(mm, addr);
	if (pgd_none(*pgd) || pgd_bad(*pgd))
		return NULL;
	p4d = p4d_offset(pgd, addr);
	if (p4d_none(*p4d) || p4d_bad(*p4d))
		return NULL;
	pud = pud_offset(p4d, addr);
	if (pud_none(*pud) || pud_leaf(*pud) || pud_bad(*pud))
		return NULL;
	return pmd_offset(pud, addr);
	/* TODO 2 END, skeleton: return NULL; */
}
EXPORT_SYMBOL_GPL(kmemlab_walk_to_pmd);

/**
 * kmemlab_pte_map_lock() - find the pte for @addr and lock its table.
 * @mm: the address space; the caller holds its mmap lock.
 * @addr: a user virtual address.
 * @ptlp: where to store the lock taken.
 *
 * What pte_offset_map_lock() does for the core kernel, which modules can
 * not call. Nothing is returned, and no lock held, when there is no pte
 * table for @addr: a level above is empty, or the pmd is a huge leaf.
 * Release with spin_unlock(*@ptlp).
 *
 * Return: the pte for @addr with *@ptlp held, or NULL.
 */
pte_t *kmemlab_pte_map_lock(struct mm_struct *mm, unsigned long addr,
			    spinlock_t **ptlp)
{
	/* TODO 3 BEGIN: read the pmd entry once (pmdp_get_lockless()) and
	 * refuse a none, leaf or bad one. Take the lock of the pte table,
	 * pte_lockptr(), and check that the pmd entry still holds what you
	 * read: a huge page may have been split or collapsed meanwhile. Then
	 * hand out pte_offset_kernel() of the value you checked.
	 */
	pmd_t *pmd = kmemlab_walk_to_pmd(mm, addr);
	spinlock_t *ptl;
	pmd_t pmdval;

	if (!pmd)
		return NULL;
	pmdval = pmdp_get_lockless(pmd);
	if (pmd_none(pmdval) || pmd_leaf(pmdval) || pmd_bad(pmdval))
		return NULL;
	ptl = pte_lockptr(mm, &pmdval);
	spin_lock(ptl);
	if (!pmd_same(pmdval, pmdp_get_lockless(pmd))) {
		spin_unlock(ptl);
		return NULL;
	}
	*ptlp = ptl;
	return pte_offset_kernel(&pmdval, addr);
	/* TODO 3 END, skeleton: return NULL; */
}
EXPORT_SYMBOL_GPL(kmemlab_pte_map_lock);

/* kmemlab_walk() with the mmap lock held. */
static int walk_locked(struct mm_struct *mm, unsigned long addr,
		       struct kmemlab_pte_info *info)
{
	/* TODO 4 BEGIN: a huge pmd leaf maps PMD_SIZE bytes: read it under
	 * pmd_lock(); the frame of @addr is pmd_pfn() plus the pages before
	 * @addr in the leaf, and the flags get KMEMLAB_HUGE. Otherwise:
	 * kmemlab_pte_map_lock(), ptep_get(), pte_pfn(), pte_flags(), then
	 * spin_unlock(). Only a present entry has a frame to report.
	 */
	pmd_t *pmd = kmemlab_walk_to_pmd(mm, addr);
	int ret = -ENOENT;
	spinlock_t *ptl;
	pmd_t pmdval;
	pte_t *ptep;
	pte_t pte;

	if (!pmd)
		return -ENOENT;
	ptl = pmd_lock(mm, pmd);
	pmdval = pmdp_get(pmd);
	if (pmd_leaf(pmdval) && pmd_present(pmdval)) {
		info->pfn = pmd_pfn(pmdval) + ((addr & ~PMD_MASK) >> PAGE_SHIFT);
		info->flags = kmemlab_entry_flags(pmd_flags(pmdval)) | KMEMLAB_HUGE;
		ret = 0;
	}
	spin_unlock(ptl);
	if (ret == 0)
		return 0;

	ptep = kmemlab_pte_map_lock(mm, addr, &ptl);
	if (!ptep)
		return -ENOENT;
	pte = ptep_get(ptep);
	if (pte_present(pte)) {
		info->pfn = pte_pfn(pte);
		info->flags = kmemlab_entry_flags(pte_flags(pte));
		ret = 0;
	}
	spin_unlock(ptl);
	return ret;
	/* TODO 4 END, skeleton: return -ENOSYS; */
}

/**
 * kmemlab_walk() - what the page tables of @mm say about @addr.
 * @mm: the address space.
 * @addr: a user virtual address.
 * @info: filled with the frame and the KMEMLAB_* flags of the entry.
 *
 * Return: 0 when a present entry maps @addr; -ENOENT when nothing does
 * (info->flags is then 0); -EINVAL for an address outside user space.
 */
int kmemlab_walk(struct mm_struct *mm, unsigned long addr,
		 struct kmemlab_pte_info *info)
{
	int ret;

	info->pfn = 0;
	info->flags = 0;
	/* TODO 4 BEGIN: refuse kernel addresses (addr >= TASK_SIZE_MAX): the
	 * same pgd maps the kernel too. Hold mmap_read_lock() around the walk
	 * so that no table disappears under it.
	 */
	if (addr >= TASK_SIZE_MAX)
		return -EINVAL;
	mmap_read_lock(mm);
	ret = walk_locked(mm, addr, info);
	mmap_read_unlock(mm);
	/* TODO 4 END, skeleton: ret = walk_locked(mm, addr, info); */
	return ret;
}
EXPORT_SYMBOL_GPL(kmemlab_walk);

static long kmemlab_walk_ioctl(struct file *file, unsigned int cmd,
			       unsigned long arg)
{
	/* TODO 5 BEGIN: refuse any other cmd with -ENOTTY. Copy the request
	 * in, walk the caller's own mm (current->mm) at req.addr, copy pfn,
	 * flags and the result out.
	 */
	struct kmemlab_walk_req __user *ureq = (void __user *)arg;
	struct kmemlab_walk_req req;
	struct kmemlab_pte_info info;

	if (cmd != KMEMLAB_IOC_WALK)
		return -ENOTTY;
	if (copy_from_user(&req, ureq, sizeof(req)))
		return -EFAULT;
	req.result = kmemlab_walk(current->mm, req.addr, &info);
	req.pfn = info.pfn;
	req.flags = info.flags;
	if (copy_to_user(ureq, &req, sizeof(req)))
		return -EFAULT;
	return 0;
	/* TODO 5 END, skeleton: return -ENOSYS; */
}

static const struct file_operations kmemlab_walk_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = kmemlab_walk_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct miscdevice kmemlab_walk_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "kmemlab_walk",
	.fops = &kmemlab_walk_fops,
	.mode = 0666,
};

static int __init kmemlab_walk_init(void)
{
	return misc_register(&kmemlab_walk_dev);
}

static void __exit kmemlab_walk_exit(void)
{
	misc_deregister(&kmemlab_walk_dev);
}

module_init(kmemlab_walk_init);
module_exit(kmemlab_walk_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmemlab 04: walking a process's page tables");
