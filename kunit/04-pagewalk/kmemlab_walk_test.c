// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite for lab 04: each case maps anonymous memory into an address
 * space of its own with kunit_vm_mmap(), touches it from the kernel, and
 * compares what kmemlab_walk finds with the kernel's own answers: the
 * page get_user_pages() returns, the pte apply_to_page_range() hands its
 * callback, and the lock ptep_lockptr() names for that pte's table.
 */
#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/mmap_lock.h>
#include <linux/pgtable.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/string.h>
#include <linux/swap.h>
#include <linux/swapops.h>
#include <linux/tracepoint.h>
#include <linux/uaccess.h>

#include "kmemlab_walk.h"
#include "include/kmemlab_kthread.h"
#include "include/kmemlab_lockwatch.h"

#define ALL_WRITTEN	(KMEMLAB_PRESENT | KMEMLAB_WRITE | KMEMLAB_USER | \
			 KMEMLAB_DIRTY | KMEMLAB_ACCESSED)

/* @pages of fresh anonymous memory in this case's own address space. */
static unsigned long map_anon(struct kunit *test, unsigned long pages,
			      unsigned long prot)
{
	unsigned long addr;

	addr = kunit_vm_mmap(test, NULL, 0, pages * PAGE_SIZE, prot,
			     MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_FALSE_MSG(test, !addr || IS_ERR_VALUE(addr),
			       "kunit_vm_mmap() of %lu pages failed", pages);
	return addr;
}

static void touch(struct kunit *test, unsigned long addr)
{
	KUNIT_ASSERT_EQ_MSG(test, put_user(0x5a, (u8 __user *)addr), 0,
			    "cannot write the test mapping at %#lx", addr);
}

/* The kernel's answer: the frame get_user_pages() finds at @addr, or 0. */
static unsigned long gup_pfn(unsigned long addr)
{
	unsigned long pfn = 0;
	struct page *page;

	mmap_read_lock(current->mm);
	if (get_user_pages(addr, 1, 0, &page) == 1) {
		pfn = page_to_pfn(page);
		put_page(page);
	}
	mmap_read_unlock(current->mm);
	return pfn;
}

static int note_pte(pte_t *pte, unsigned long addr, void *data)
{
	*(pte_t **)data = pte;
	return 0;
}

/*
 * The kernel's answer: the pte that maps @addr, as the core's own page
 * table iterator apply_to_page_range() finds it. Only for an address whose
 * tables exist and hold no huge leaf (it would warn); the caller holds the
 * mmap lock, so the table stays where it is after the call.
 */
static pte_t *kernel_pte(struct mm_struct *mm, unsigned long addr)
{
	pte_t *pte = NULL;

	if (apply_to_page_range(mm, addr & PAGE_MASK, PAGE_SIZE, note_pte, &pte))
		return NULL;
	return pte;
}

/*
 * How many levels the MMU walks on this machine. x86_64 built with
 * CONFIG_X86_5LEVEL folds p4d at boot when the CPU has no LA57
 * (pgtable_l5_enabled()); the other folds are fixed at build time by
 * include/asm-generic/pgtable-nop4d.h, -nopud.h and -nopmd.h.
 */
static int live_levels(struct mm_struct *mm, char *folded, size_t size)
{
	bool p4d = mm_p4d_folded(mm) || !pgtable_l5_enabled();
	bool pud = mm_pud_folded(mm), pmd = mm_pmd_folded(mm);

	snprintf(folded, size, "%s%s%s", p4d ? " p4d" : "", pud ? " pud" : "",
		 pmd ? " pmd" : "");
	return 5 - p4d - pud - pmd;
}

/*
 * Is the mmap lock of @mm held by someone who should have let it go? Once
 * a region has VM_HUGEPAGE, khugepaged may take the lock briefly to scan
 * it: only a lock held for a long while is a leak.
 */
static bool mmap_lock_leaked(struct mm_struct *mm)
{
	int i;

	for (i = 0; i < 50; i++) {
		if (!rwsem_is_locked(&mm->mmap_lock))
			return false;
		usleep_range(1000, 2000);
	}
	return true;
}

/*
 * kmemlab_walk() on this case's address space. A walk that returns with a
 * lock still held fails the case here, and the lock is released, so that
 * one forgotten unlock does not hang every case after it. Without split
 * page-table locks (one CPU) the pte and pmd locks are both
 * mm->page_table_lock.
 */
static int walk(struct kunit *test, unsigned long addr, struct kmemlab_pte_info *info)
{
	struct mm_struct *mm = current->mm;
	int before = preempt_count();
	int ret;

	ret = kmemlab_walk(mm, addr, info);
	if (preempt_count() > before) {
		spin_unlock(&mm->page_table_lock);
		KUNIT_FAIL(test, "kmemlab_walk(%#lx) returned with a page-table lock still held", addr);
	}
	if (mmap_lock_leaked(mm)) {
		mmap_read_unlock(mm);
		KUNIT_FAIL(test, "kmemlab_walk(%#lx) returned with the mmap lock still held", addr);
	}
	return ret;
}

static void entry_flags_translates_bits(struct kunit *test)
{
	static const struct {
		unsigned long x86;
		unsigned int want;
		const char *name;
	} bits[] = {
		{ _PAGE_PRESENT, KMEMLAB_PRESENT, "_PAGE_PRESENT" },
		{ _PAGE_RW, KMEMLAB_WRITE, "_PAGE_RW" },
		{ _PAGE_USER, KMEMLAB_USER, "_PAGE_USER" },
		{ _PAGE_DIRTY, KMEMLAB_DIRTY, "_PAGE_DIRTY" },
		{ _PAGE_ACCESSED, KMEMLAB_ACCESSED, "_PAGE_ACCESSED" },
		{ _PAGE_PSE | _PAGE_GLOBAL | _PAGE_PWT, 0, "_PAGE_PSE|_PAGE_GLOBAL|_PAGE_PWT" },
	};
	int i;

	for (i = 0; i < ARRAY_SIZE(bits); i++)
		KUNIT_EXPECT_EQ_MSG(test, kmemlab_entry_flags(bits[i].x86), bits[i].want,
				    "%s should become %#x", bits[i].name, bits[i].want);
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_entry_flags(_PAGE_PRESENT | _PAGE_RW | _PAGE_USER |
						      _PAGE_DIRTY | _PAGE_ACCESSED),
			    (unsigned int)ALL_WRITTEN, "all five bits at once");
}

static void walk_to_pmd_matches_kernel(struct kunit *test)
{
	unsigned long addr = map_anon(test, 4, PROT_READ | PROT_WRITE) + 2 * PAGE_SIZE;
	struct mm_struct *mm = current->mm;
	pte_t *want, *found = NULL;
	char folded[16];
	pmd_t *got;
	int levels;

	levels = live_levels(mm, folded, sizeof(folded));
	kunit_info(test, "%d page-table levels are live; folded into the level above:%s",
		   levels, folded[0] ? folded : " none");
	touch(test, addr);
	mmap_read_lock(mm);
	got = kmemlab_walk_to_pmd(mm, addr);
	want = kernel_pte(mm, addr);
	if (got) {
		pmd_t pmdval = pmdp_get(got);

		if (pmd_present(pmdval) && !pmd_leaf(pmdval))
			found = pte_offset_kernel(&pmdval, addr);
	}
	mmap_read_unlock(mm);
	KUNIT_ASSERT_NOT_NULL_MSG(test, want, "the kernel finds no pte for %#lx", addr);
	KUNIT_EXPECT_NOT_NULL_MSG(test, got,
				  "%#lx was just written, yet the walk stopped above the pmd (%d levels live here)",
				  addr, levels);
	KUNIT_EXPECT_PTR_EQ_MSG(test, found, want,
				"the kernel's pte for %#lx is at %px; the pmd entry you return leads to %px. With %d levels live: pgd -> p4d -> pud -> pmd, each *_offset() from the entry above, none skipped",
				addr, want, found, levels);
}

static void pte_map_lock_holds_table_lock(struct kunit *test)
{
	unsigned long addr = map_anon(test, 4, PROT_READ | PROT_WRITE) + PAGE_SIZE;
	struct mm_struct *mm = current->mm;
	spinlock_t *ptl = NULL;
	pte_t *got, *want;
	int before, held;

	touch(test, addr);
	mmap_read_lock(mm);
	want = kernel_pte(mm, addr);
	KUNIT_ASSERT_NOT_NULL(test, want);

	before = preempt_count();
	got = kmemlab_pte_map_lock(mm, addr, &ptl);
	held = preempt_count() - before;
	if (got && ptl && held > 0) {
		if (IS_ENABLED(CONFIG_LOCKDEP))
			KUNIT_EXPECT_TRUE_MSG(test, lockdep_is_held(ptl),
					      "the lock returned is not the one taken");
		spin_unlock(ptl);
	}
	mmap_read_unlock(mm);

	KUNIT_ASSERT_PTR_EQ_MSG(test, got, want, "the pte for %#lx is at %px", addr, want);
	KUNIT_EXPECT_PTR_EQ_MSG(test, ptl, ptep_lockptr(mm, want),
				"*ptlp should be the lock of the pte's table, pte_lockptr()");
	if (IS_ENABLED(CONFIG_PREEMPT_COUNT))
		KUNIT_EXPECT_GT_MSG(test, held, 0,
				    "kmemlab_pte_map_lock() returned without holding the lock: the entry could change while you read it");
}

static void walk_written_page(struct kunit *test)
{
	unsigned long addr = map_anon(test, 4, PROT_READ | PROT_WRITE) + 3 * PAGE_SIZE + 100;
	struct kmemlab_pte_info info = { .pfn = ~0UL, .flags = ~0U };

	touch(test, addr);
	KUNIT_ASSERT_EQ_MSG(test, walk(test, addr, &info), 0,
			    "%#lx was just written: it is mapped", addr);
	KUNIT_EXPECT_EQ_MSG(test, info.pfn, gup_pfn(addr),
			    "the frame should be the one get_user_pages() finds");
	KUNIT_EXPECT_EQ_MSG(test, info.flags, (unsigned int)ALL_WRITTEN,
			    "a written user page is present, writable, user, dirty and accessed (%#x)",
			    ALL_WRITTEN);
}

static void walk_untouched_page_not_present(struct kunit *test)
{
	unsigned long addr = map_anon(test, 4, PROT_READ | PROT_WRITE) + PAGE_SIZE;
	struct kmemlab_pte_info info = { .pfn = ~0UL, .flags = ~0U };

	touch(test, addr + PAGE_SIZE);	/* the table exists, this entry is empty */
	KUNIT_EXPECT_EQ_MSG(test, walk(test, addr, &info), -ENOENT,
			    "an anonymous page never touched has no frame: expected -ENOENT");
	KUNIT_EXPECT_EQ_MSG(test, info.flags, 0U, "nothing maps the address: no flags");
}

/*
 * An entry can be neither empty nor present: a page swapped out, or being
 * migrated, leaves a swap entry in its pte (include/linux/swapops.h),
 * which maps no frame. The lab VMs have no swap, so the case writes such
 * an entry itself into an empty pte of its own mapping, and clears it
 * before anything else can see it.
 */
static void walk_swap_entry_not_present(struct kunit *test)
{
	unsigned long addr = map_anon(test, 2, PROT_READ | PROT_WRITE);
	struct kmemlab_pte_info info = { .pfn = ~0UL, .flags = ~0U };
	struct mm_struct *mm = current->mm;
	spinlock_t *ptl = NULL;
	pte_t *pte;
	int ret;

	touch(test, addr + PAGE_SIZE);	/* the table exists, this entry is empty */
	mmap_read_lock(mm);
	pte = kernel_pte(mm, addr);
	if (pte) {
		ptl = ptep_lockptr(mm, pte);
		spin_lock(ptl);
		if (pte_none(ptep_get(pte)))
			set_pte_at(mm, addr, pte, swp_entry_to_pte(swp_entry(0, 1)));
		else
			pte = NULL;
		spin_unlock(ptl);
	}
	mmap_read_unlock(mm);
	KUNIT_ASSERT_NOT_NULL_MSG(test, pte, "no empty pte for %#lx", addr);

	ret = walk(test, addr, &info);

	mmap_read_lock(mm);
	spin_lock(ptl);
	pte_clear(mm, addr, pte);
	spin_unlock(ptl);
	mmap_read_unlock(mm);
	KUNIT_EXPECT_EQ_MSG(test, ret, -ENOENT,
			    "the pte of %#lx holds a swap entry: not present (pte_present()), no frame; expected -ENOENT",
			    addr);
	KUNIT_EXPECT_EQ_MSG(test, info.flags, 0U, "nothing maps the address: no flags");
}

static void walk_read_only_page(struct kunit *test)
{
	unsigned long addr = map_anon(test, 2, PROT_READ);
	struct kmemlab_pte_info info = { .pfn = ~0UL, .flags = ~0U };
	u8 byte;

	/* A read fault maps the shared zero page, read-only. */
	KUNIT_ASSERT_EQ(test, get_user(byte, (u8 __user *)addr), 0);
	KUNIT_ASSERT_EQ_MSG(test, walk(test, addr, &info), 0,
			    "%#lx was just read: it is mapped", addr);
	KUNIT_EXPECT_EQ_MSG(test, info.pfn, gup_pfn(addr),
			    "the frame should be the one get_user_pages() finds (the zero page)");
	KUNIT_EXPECT_EQ_MSG(test, info.flags & (KMEMLAB_PRESENT | KMEMLAB_WRITE | KMEMLAB_USER),
			    KMEMLAB_PRESENT | KMEMLAB_USER,
			    "a PROT_READ page is present and user but not writable");
}

static void walk_after_munmap_not_present(struct kunit *test)
{
	unsigned long addr = map_anon(test, 4, PROT_READ | PROT_WRITE);
	struct kmemlab_pte_info info = { .pfn = ~0UL, .flags = ~0U };

	touch(test, addr);
	KUNIT_ASSERT_EQ(test, walk(test, addr, &info), 0);
	KUNIT_ASSERT_EQ(test, vm_munmap(addr, 4 * PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ_MSG(test, walk(test, addr, &info), -ENOENT,
			    "after munmap() nothing maps %#lx", addr);
	KUNIT_EXPECT_EQ_MSG(test, info.flags, 0U, "nothing maps the address: no flags");
}

/*
 * A written, PMD-aligned region of PMD_SIZE bytes in this case's address
 * space, mapped by one huge pmd leaf: the kernel says so (a PMD-sized
 * folio, mapped whole). Skips the case when there is none.
 */
static unsigned long huge_region(struct kunit *test)
{
	struct mm_struct *mm;
	struct vm_area_struct *vma;
	struct folio *folio;
	struct page *page;
	unsigned long base;
	bool huge;

	if (!IS_ENABLED(CONFIG_TRANSPARENT_HUGEPAGE))
		kunit_skip(test, "this kernel has no transparent huge pages");
	base = ALIGN(map_anon(test, 2 * PTRS_PER_PTE, PROT_READ | PROT_WRITE), PMD_SIZE);
	mm = current->mm;	/* kunit_vm_mmap() gave this case one */

	/* What madvise(MADV_HUGEPAGE) does to the vma. */
	mmap_write_lock(mm);
	vma = find_vma(mm, base);
	if (vma)
		vm_flags_set(vma, VM_HUGEPAGE);
	mmap_write_unlock(mm);
	KUNIT_ASSERT_NOT_NULL(test, vma);
	touch(test, base);

	/* The kernel's answer: a PMD-sized folio mapped whole, by one pmd. */
	page = NULL;
	mmap_read_lock(mm);
	if (get_user_pages(base, 1, 0, &page) != 1)
		page = NULL;
	mmap_read_unlock(mm);
	KUNIT_ASSERT_NOT_NULL(test, page);
	folio = page_folio(page);
	huge = folio_test_pmd_mappable(folio) && folio_entire_mapcount(folio) > 0;
	put_page(page);
	if (!huge)
		kunit_skip(test, "the kernel backed the region with small pages, no huge page to walk");

	return base;
}

static void walk_huge_pmd_leaf(struct kunit *test)
{
	struct mm_struct *mm;
	struct kmemlab_pte_info info = { .pfn = ~0UL, .flags = ~0U };
	unsigned long base, addr;
	spinlock_t *ptl = NULL;
	pte_t *ptep;

	base = huge_region(test);
	mm = current->mm;
	addr = base + 5 * PAGE_SIZE + 17;
	KUNIT_ASSERT_EQ_MSG(test, walk(test, addr, &info), 0,
			    "%#lx is inside a huge page just written", addr);
	KUNIT_EXPECT_EQ_MSG(test, info.pfn, gup_pfn(addr),
			    "a pmd leaf maps %lu KiB: the frame of an address inside it is pmd_pfn() plus its page index in the leaf",
			    PMD_SIZE / 1024);
	KUNIT_EXPECT_EQ_MSG(test, info.flags, (unsigned int)(ALL_WRITTEN | KMEMLAB_HUGE),
			    "a written huge page: KMEMLAB_HUGE and the five bits of a written page");
	/* The leaf's last page: its index runs to PMD_SIZE / PAGE_SIZE - 1. */
	addr = base + PMD_SIZE - PAGE_SIZE + 9;
	KUNIT_EXPECT_EQ(test, walk(test, addr, &info), 0);
	KUNIT_EXPECT_EQ_MSG(test, info.pfn, gup_pfn(addr),
			    "the last page of the %lu KiB leaf: the page index runs to %lu",
			    PMD_SIZE / 1024, PMD_SIZE / PAGE_SIZE - 1);
	addr = base + 5 * PAGE_SIZE + 17;

	/* A leaf is not a table: there is no pte to lock. */
	mmap_read_lock(mm);
	ptep = kmemlab_pte_map_lock(mm, addr, &ptl);
	if (ptep && ptl)
		spin_unlock(ptl);
	mmap_read_unlock(mm);
	KUNIT_EXPECT_NULL_MSG(test, ptep,
			      "kmemlab_pte_map_lock() used a huge pmd leaf as a pte table");
}

/*
 * A huge pmd leaf is read under the pmd's lock, pmd_lock(): without it a
 * split or a collapse may change the entry while it is read. Without split
 * pmd locks (the lab kernels) that lock is mm->page_table_lock.
 */
static void walk_huge_pmd_leaf_takes_pmd_lock(struct kunit *test)
{
	struct kmemlab_pte_info info = { .pfn = ~0UL, .flags = ~0U };
	struct lock_watch w = { };
	unsigned long addr;
	int ret;

	if (IS_ENABLED(CONFIG_SPLIT_PMD_PTLOCKS))
		kunit_skip(test, "split pmd locks: the pmd's lock is not mm->page_table_lock");
	addr = huge_region(test) + 3 * PAGE_SIZE;
	ret = lock_watch_start(&w, &current->mm->page_table_lock);
	if (ret)
		kunit_skip(test, "no lockdep here to watch the locks (the graded kernel has it): error %d",
			   ret);
	ret = walk(test, addr, &info);
	lock_watch_stop(&w);
	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "%#lx is inside a huge page just written", addr);
	KUNIT_EXPECT_GT_MSG(test, w.taken, 0U,
			    "the walk of a huge pmd leaf never took the pmd's lock: read the leaf under pmd_lock()");
}

static void walk_releases_locks(struct kunit *test)
{
	unsigned long addr = map_anon(test, 2, PROT_READ | PROT_WRITE);
	struct kmemlab_pte_info info = { .pfn = ~0UL, .flags = ~0U };
	int before = preempt_count();
	struct mm_struct *mm;
	bool leaked;

	touch(test, addr);
	mm = current->mm;
	KUNIT_EXPECT_EQ(test, kmemlab_walk(mm, addr, &info), 0);
	KUNIT_EXPECT_EQ_MSG(test, preempt_count(), before,
			    "a spinlock is still held after kmemlab_walk() returned");
	if (preempt_count() > before)
		spin_unlock(&mm->page_table_lock);
	leaked = mmap_lock_leaked(mm);
	KUNIT_EXPECT_FALSE_MSG(test, leaked,
			       "the mmap lock is still held after kmemlab_walk() returned");
	if (leaked)
		mmap_read_unlock(mm);
}

static void walk_kernel_address_rejected(struct kunit *test)
{
	struct kmemlab_pte_info info = { .pfn = ~0UL, .flags = ~0U };

	map_anon(test, 1, PROT_READ);	/* an address space to look in */

	KUNIT_EXPECT_EQ_MSG(test, walk(test, (unsigned long)test, &info), -EINVAL,
			    "%p is a kernel address: the user's pgd maps it too, but it is not the process's to look at",
			    test);
}

static void walk_task_size_max_boundary(struct kunit *test)
{
	struct kmemlab_pte_info info = { .pfn = ~0UL, .flags = ~0U };

	map_anon(test, 1, PROT_READ);	/* an address space to look in */

	KUNIT_EXPECT_EQ_MSG(test, walk(test, TASK_SIZE_MAX, &info), -EINVAL,
			    "TASK_SIZE_MAX (%#lx) is the first address no process can map: expected -EINVAL",
			    TASK_SIZE_MAX);
	KUNIT_EXPECT_EQ_MSG(test, walk(test, TASK_SIZE_MAX - 1, &info), -ENOENT,
			    "%#lx, one below TASK_SIZE_MAX, is a user address that nothing maps: expected -ENOENT",
			    TASK_SIZE_MAX - 1);
}

/* A walk of another address space, by a kernel thread (which has none). */
struct walk_thread {
	struct mm_struct *mm;
	unsigned long addr;
	struct kmemlab_pte_info info;
	int ret;
	struct completion done;
};

static int walk_thread_fn(void *arg)
{
	struct walk_thread *w = arg;

	w->ret = kmemlab_walk(w->mm, w->addr, &w->info);
	complete(&w->done);
	kmemlab_wait_for_stop();
	return 0;
}

/*
 * kmemlab_walk() walks, and locks, the mm it is given, whoever calls it:
 * here a kernel thread whose own current->mm is NULL walks this case's
 * address space.
 */
static void walk_of_another_mm(struct kunit *test)
{
	unsigned long addr = map_anon(test, 2, PROT_READ | PROT_WRITE) + PAGE_SIZE + 40;
	struct walk_thread w = { .mm = current->mm, .addr = addr, .ret = -ENOSYS };
	struct task_struct *task;

	touch(test, addr);
	init_completion(&w.done);
	mmget(w.mm);
	task = kthread_run(walk_thread_fn, &w, "kmemlab-walk");
	if (!IS_ERR(task)) {
		wait_for_completion(&w.done);
		kthread_stop(task);
	}
	mmput(w.mm);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(task), "could not start a thread: %ld", PTR_ERR(task));
	KUNIT_EXPECT_EQ_MSG(test, w.ret, 0,
			    "a kernel thread's kmemlab_walk() of another mm at %#lx, a written page: expected 0 (lock and walk the mm you are given, not current->mm)",
			    addr);
	KUNIT_EXPECT_EQ_MSG(test, w.info.pfn, gup_pfn(addr),
			    "the frame should be the one get_user_pages() finds");
}

static struct kunit_case kmemlab_walk_test_cases[] = {
	KUNIT_CASE(entry_flags_translates_bits),
	KUNIT_CASE(walk_to_pmd_matches_kernel),
	KUNIT_CASE(pte_map_lock_holds_table_lock),
	KUNIT_CASE(walk_releases_locks),
	KUNIT_CASE(walk_written_page),
	KUNIT_CASE(walk_untouched_page_not_present),
	KUNIT_CASE(walk_swap_entry_not_present),
	KUNIT_CASE(walk_read_only_page),
	KUNIT_CASE(walk_after_munmap_not_present),
	KUNIT_CASE(walk_huge_pmd_leaf),
	KUNIT_CASE(walk_huge_pmd_leaf_takes_pmd_lock),
	KUNIT_CASE(walk_kernel_address_rejected),
	KUNIT_CASE(walk_task_size_max_boundary),
	KUNIT_CASE(walk_of_another_mm),
	{}
};

static struct kunit_suite kmemlab_walk_test_suite = {
	.name = "kmemlab_walk",
	.test_cases = kmemlab_walk_test_cases,
};
kunit_test_suite(kmemlab_walk_test_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit tests for kmemlab lab 04");
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
