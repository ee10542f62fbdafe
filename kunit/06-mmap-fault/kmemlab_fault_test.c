// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite for lab 06: map /dev/kmemlab_fault into a throwaway user
 * address space with kunit_vm_mmap(), touch it with copy_to_user() so
 * that the driver's .fault runs, and look at what the core got back: the
 * page in the pte, its reference count, the fault and VMA counters.
 */
#include <kunit/test.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/uaccess.h>

#include "kmemlab_fault.h"

KUNIT_DEFINE_ACTION_WRAPPER(fput_action, fput, struct file *);

static struct file *open_device_flags(struct kunit *test, int flags)
{
	struct file *file;

	file = filp_open("/dev/kmemlab_fault", flags, 0);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(file),
			       "cannot open /dev/kmemlab_fault (error %ld): is the device registered?",
			       PTR_ERR(file));
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, fput_action, file));
	return file;
}

static struct file *open_device(struct kunit *test)
{
	return open_device_flags(test, O_RDWR);
}

/* mmap() @pages shared pages of @file at page offset @pgoff. */
static unsigned long map_pages(struct kunit *test, struct file *file,
			       unsigned long pages, unsigned long pgoff)
{
	unsigned long addr;

	addr = kunit_vm_mmap(test, file, 0, pages * PAGE_SIZE,
			     PROT_READ | PROT_WRITE, MAP_SHARED,
			     pgoff * PAGE_SIZE);
	KUNIT_ASSERT_NE_MSG(test, addr, 0, "kunit_vm_mmap() ran out of memory");
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR_VALUE(addr),
			       "mmap(%lu pages at page offset %lu) failed with %ld, expected success",
			       pages, pgoff, (long)addr);
	return addr;
}

static struct kmemlab_fault_stats stats_of(struct file *file)
{
	struct kmemlab_fault_stats stats;

	kmemlab_fault_get_stats(file, &stats);
	return stats;
}

/* Store a byte at @addr, faulting the page in. */
static int touch(unsigned long addr, u8 val)
{
	return copy_to_user((void __user *)addr, &val, 1) ? -EFAULT : 0;
}

/* The page the current process maps at @addr, with a reference; or NULL. */
static struct page *mapped_page(unsigned long addr)
{
	struct page *page;

	if (get_user_pages_fast(addr, 1, 0, &page) != 1)
		return NULL;
	return page;
}

/*
 * The first non-zero byte of the user page at @addr, or -1 if the page
 * reads all zeros (@skip, if not negative, is a byte the test stored).
 */
static long first_nonzero(struct kunit *test, unsigned long addr, long skip)
{
	u8 *copy = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
	long i;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, copy);
	KUNIT_ASSERT_EQ_MSG(test, 0, copy_from_user(copy, (void __user *)addr, PAGE_SIZE),
			    "cannot read the page at %#lx", addr);
	for (i = 0; i < PAGE_SIZE; i++)
		if (copy[i] && i != skip)
			return i;
	return -1;
}

/* The same, from the driver's side: the buffer's page @index itself. */
static long page_first_nonzero(struct page *page, long skip)
{
	u8 *kaddr = kmap_local_page(page);
	long i, found = -1;

	for (i = 0; i < PAGE_SIZE && found < 0; i++)
		if (kaddr[i] && i != skip)
			found = i;
	kunmap_local(kaddr);
	return found;
}

static void mmap_sets_vma_flags(struct kunit *test)
{
	struct file *file = open_device(test);
	unsigned long addr = map_pages(test, file, 1, 0);
	struct vm_area_struct *vma;
	vm_flags_t flags = 0;

	mmap_read_lock(current->mm);
	vma = vma_lookup(current->mm, addr);
	if (vma)
		flags = vma->vm_flags;
	mmap_read_unlock(current->mm);
	KUNIT_ASSERT_NOT_NULL(test, vma);
	KUNIT_EXPECT_TRUE_MSG(test, flags & VM_DONTEXPAND,
			      "VM_DONTEXPAND is not set: mremap() could grow the mapping");
	KUNIT_EXPECT_TRUE_MSG(test, flags & VM_DONTDUMP,
			      "VM_DONTDUMP is not set: the buffer would go into core dumps");
}

static void mmap_allocates_nothing(struct kunit *test)
{
	struct file *file = open_device(test);
	struct kmemlab_fault_stats st;

	map_pages(test, file, KMEMLAB_FAULT_PAGES, 0);
	st = stats_of(file);
	KUNIT_EXPECT_EQ_MSG(test, st.pages, 0,
			    "mmap() alone should allocate no page, the buffer holds %llu",
			    st.pages);
	KUNIT_EXPECT_EQ_MSG(test, st.vmas, 1,
			    "one mmap() should count one VMA, the buffer counts %llu",
			    st.vmas);
}

static void fault_counts_one_per_page(struct kunit *test)
{
	struct file *file = open_device(test);
	unsigned long addr = map_pages(test, file, 8, 0);
	struct kmemlab_fault_stats st;
	int i, round;

	for (round = 0; round < 3; round++)
		for (i = 0; i < 8; i++)
			KUNIT_ASSERT_EQ_MSG(test, 0,
					    touch(addr + i * PAGE_SIZE + round, i),
					    "a store to page %d of the mapping failed", i);
	st = stats_of(file);
	KUNIT_EXPECT_EQ_MSG(test, st.faults, 8,
			    "3 stores into each of 8 pages should fault 8 times, not %llu",
			    st.faults);
	KUNIT_EXPECT_EQ_MSG(test, st.pages, 8,
			    "8 touched pages should be 8 allocated pages, not %llu",
			    st.pages);
}

/* The pte maps the buffer's page, and the core holds its own reference. */
static void fault_takes_page_reference(struct kunit *test)
{
	struct file *file = open_device(test);
	unsigned long addr = map_pages(test, file, 1, 0);
	struct page *page, *mapped;
	int count;

	KUNIT_ASSERT_EQ(test, 0, touch(addr, 0x42));
	page = kmemlab_fault_page(file, 0);
	KUNIT_ASSERT_NOT_NULL_MSG(test, page,
				  "page 0 was touched but the buffer has no page 0");
	mapped = mapped_page(addr);
	KUNIT_ASSERT_NOT_NULL_MSG(test, mapped, "nothing is mapped at the touched address");
	put_page(mapped);
	KUNIT_EXPECT_PTR_EQ_MSG(test, mapped, page,
				"the pte should map the buffer's page 0");
	count = page_count(page);
	KUNIT_EXPECT_EQ_MSG(test, count, 2,
			    "a mapped buffer page needs 2 references (the buffer's, the pte's), it has %d: get_page() missing or doubled?",
			    count);
}

/*
 * The pages are ordinary memory, so the rest of the kernel may reach them
 * through the mapping: O_DIRECT, a debugger, a driver pinning them for
 * DMA. All of them call get_user_pages(), which faults a page in through
 * .fault when it is not mapped yet, and refuses a VMA that says it holds
 * I/O memory or raw pfns (VM_IO, VM_PFNMAP: check_vma_flags() in
 * mm/gup.c).
 */
static void fault_serves_get_user_pages(struct kunit *test)
{
	const unsigned long pgoff = 2;
	struct file *file = open_device(test);
	unsigned long addr = map_pages(test, file, 1, pgoff);
	struct page *page = NULL;
	int got;

	got = get_user_pages_fast(addr, 1, FOLL_WRITE, &page);
	KUNIT_ASSERT_EQ_MSG(test, got, 1,
			    "get_user_pages() of a mapped page never touched returned %d: the kernel cannot reach this mapping's memory (is the VMA marked as I/O memory?)",
			    got);
	put_page(page);
	KUNIT_EXPECT_PTR_EQ_MSG(test, page, kmemlab_fault_page(file, pgoff),
				"get_user_pages() should find buffer page %lu, which the fault handed over",
				pgoff);
	KUNIT_EXPECT_EQ_MSG(test, stats_of(file).faults, 1,
			    "get_user_pages() of an untouched page should fault once");
}

static void fault_honours_pgoff(struct kunit *test)
{
	const unsigned long pgoff = 5;
	struct file *file = open_device(test);
	unsigned long addr = map_pages(test, file, 2, pgoff);
	struct page *page, *mapped;
	int i;

	for (i = 0; i < 2; i++) {
		KUNIT_ASSERT_EQ(test, 0, touch(addr + i * PAGE_SIZE, i));
		page = kmemlab_fault_page(file, pgoff + i);
		mapped = mapped_page(addr + i * PAGE_SIZE);
		if (mapped)
			put_page(mapped);
		KUNIT_EXPECT_NOT_NULL_MSG(test, page,
					  "page %d of a mapping at page offset %lu is buffer page %lu, which was never allocated",
					  i, pgoff, pgoff + i);
		KUNIT_EXPECT_PTR_EQ_MSG(test, mapped, page,
					"page %d of a mapping at page offset %lu should map buffer page %lu",
					i, pgoff, pgoff + i);
	}
	KUNIT_EXPECT_NULL_MSG(test, kmemlab_fault_page(file, 0),
			      "buffer page 0 is outside the mapping but was allocated: vm_pgoff ignored?");
}

/*
 * A page the fault handler allocates goes to user space: it must hold
 * zeros, whether the first touch reads or writes it. Freed pages hold
 * someone else's data (0xaa on the graded kernel, which poisons them).
 */
static void fault_hands_zeroed_pages(struct kunit *test)
{
	const unsigned long pgoff = 3;
	struct file *file = open_device(test);
	unsigned long addr = map_pages(test, file, 2, pgoff);
	struct page *page;
	long bad;

	bad = first_nonzero(test, addr, -1);
	KUNIT_EXPECT_EQ_MSG(test, bad, -1L,
			    "a page first touched by a read (buffer page %lu) has a non-zero byte at %ld: allocate it zeroed",
			    pgoff, bad);

	KUNIT_ASSERT_EQ(test, 0, touch(addr + PAGE_SIZE + 100, 0x42));
	bad = first_nonzero(test, addr + PAGE_SIZE, 100);
	KUNIT_EXPECT_EQ_MSG(test, bad, -1L,
			    "a page first touched by a one-byte store (buffer page %lu) has a non-zero byte at %ld besides the stored one",
			    pgoff + 1, bad);
	page = kmemlab_fault_page(file, pgoff + 1);
	KUNIT_ASSERT_NOT_NULL(test, page);
	KUNIT_EXPECT_EQ_MSG(test, page_first_nonzero(page, 100), -1L,
			    "buffer page %lu, seen from the driver, holds stale bytes", pgoff + 1);
}

/*
 * Make each allocation of a first touch fail in turn (fault injection):
 * the page-table pages the core needs, the driver's page. A failed fault
 * fails the copy (-EFAULT); the next touch must then work, land in one
 * zeroed page, and leave the buffer holding exactly that page.
 */
static void fault_allocation_failure_recovers(struct kunit *test)
{
	struct file *file = open_device(test);
	unsigned long addr = map_pages(test, file, 1, 9);
	struct file *other = open_device(test);
	unsigned long pair = map_pages(test, other, 5, 20);
	struct kmemlab_fault_stats st, before;
	int n, ret, fired = 0;
	struct page *page, *mapped;

	/*
	 * The driver's own allocation first. With the page tables of a
	 * five-page mapping in place (its first page touched), a store to
	 * each of the others with its n-th fault point failing (n = 1: the
	 * user copy itself, fail_usercopy; then the driver's page): one
	 * store, at most one fault, and it lands exactly when the page was
	 * allocated. A failed allocation is VM_FAULT_OOM, which fails the
	 * access; a handler that answers VM_FAULT_NOPAGE instead ("the pte
	 * is in place") has the core run the fault again, and the store
	 * lands after two.
	 */
	KUNIT_ASSERT_EQ(test, 0, touch(pair, 1));
	for (n = 1; n < 5; n++) {
		before = stats_of(other);
		current->fail_nth = n;
		ret = touch(pair + n * PAGE_SIZE, 2);
		current->fail_nth = 0;
		st = stats_of(other);
		KUNIT_EXPECT_LE_MSG(test, st.faults - before.faults, 1ULL,
				    "one store with fault point %d failing took %llu faults: a failed allocation is VM_FAULT_OOM, which fails the access, not VM_FAULT_NOPAGE, which has it fault again",
				    n, st.faults - before.faults);
		KUNIT_EXPECT_EQ_MSG(test, ret == 0, kmemlab_fault_page(other, 20 + n) != NULL,
				    "with fault point %d failing, the store %s (%d), yet buffer page %d is %s",
				    n, ret ? "failed" : "succeeded", ret, 20 + n,
				    kmemlab_fault_page(other, 20 + n) ? "allocated" : "not allocated");
	}


	for (n = 1; n < 32; n++) {
		current->fail_nth = n;
		ret = touch(addr + 7, 0x5c);
		if (current->fail_nth) {
			current->fail_nth = 0;
			break;
		}
		fired++;
		/*
		 * The kernel's own store faults like a process's, but a
		 * fault that fails (VM_FAULT_OOM) fails it: copy_to_user()
		 * gives -EFAULT (do_user_addr_fault(), arch/x86/mm/fault.c).
		 * A handler that answered VM_FAULT_NOPAGE instead ("the pte
		 * is in place") has the core run the fault again, and the
		 * store succeeds by luck, once the failure has passed.
		 */
		KUNIT_EXPECT_EQ_MSG(test, ret, -EFAULT,
				    "with fault point %d failing, the kernel's store through the mapping succeeded anyway: a fault that could not get its page must fail (VM_FAULT_OOM), not have the core try again (VM_FAULT_NOPAGE means the pte is in place)",
				    n);
		st = stats_of(file);
		KUNIT_EXPECT_LE_MSG(test, st.pages, 1,
				    "after fault point %d failed, the buffer counts %llu pages for one page touched",
				    n, st.pages);
	}
	KUNIT_EXPECT_GT_MSG(test, fired, 0, "no fault point was passed: is fault injection in this kernel?");
	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "with no failure left, the store failed");
	st = stats_of(file);
	KUNIT_EXPECT_EQ_MSG(test, st.pages, 1,
			    "after %d failed attempts and one that worked, the buffer should hold 1 page, it counts %llu",
			    fired, st.pages);
	page = kmemlab_fault_page(file, 9);
	mapped = mapped_page(addr);
	if (mapped)
		put_page(mapped);
	KUNIT_EXPECT_PTR_EQ_MSG(test, mapped, page, "the pte should map buffer page 9");
	KUNIT_EXPECT_EQ_MSG(test, first_nonzero(test, addr, 7), -1L,
			    "the page allocated after failed attempts holds stale bytes");
}

static void fault_past_end_fails(struct kunit *test)
{
	struct file *file = open_device(test);
	unsigned long addr = map_pages(test, file, 2, KMEMLAB_FAULT_PAGES - 1);

	KUNIT_EXPECT_EQ_MSG(test, 0, touch(addr, 1),
			    "a store to the buffer's last page failed");
	KUNIT_EXPECT_EQ_MSG(test, -EFAULT, touch(addr + PAGE_SIZE, 1),
			    "a store one page past the buffer should fail (VM_FAULT_SIGBUS)");
	KUNIT_EXPECT_EQ(test, stats_of(file).pages, 1);
}

/*
 * vmf->pgoff is a pgoff_t, an unsigned long: a character device may be
 * mapped at any page offset the address space allows (file_mmap_size_max()
 * in mm/mmap.c), so an offset that a 32-bit variable truncates back into
 * the buffer (2^32 + 3) or turns negative (2^31 + 3) must fail too.
 */
static void fault_past_end_fails_at_huge_offsets(struct kunit *test)
{
	static const unsigned long long offsets[] = { (1ULL << 32) + 3, (1ULL << 31) + 3 };
	struct file *file;
	unsigned long addr;
	int i;

	if (BITS_PER_LONG < 64)
		kunit_skip(test, "page offsets of 2^31 and more do not fit the file offset of a 32-bit mmap()");
	file = open_device(test);
	for (i = 0; i < ARRAY_SIZE(offsets); i++) {
		addr = map_pages(test, file, 1, (unsigned long)offsets[i]);
		KUNIT_EXPECT_EQ_MSG(test, -EFAULT, touch(addr, 1),
				    "a store at page offset %#llx of the file succeeded: compare vmf->pgoff (unsigned long) with the buffer's size as it is, not cut to 32 bits",
				    offsets[i]);
	}
	KUNIT_EXPECT_EQ_MSG(test, stats_of(file).pages, 0,
			    "stores far past the buffer's end allocated %llu pages of it", stats_of(file).pages);
}

static void mapping_shares_page_with_second_mapping(struct kunit *test)
{
	struct file *file = open_device(test);
	unsigned long a = map_pages(test, file, 1, 3);
	unsigned long b = map_pages(test, file, 1, 3);
	struct page *pa, *pb;

	KUNIT_ASSERT_EQ(test, 0, touch(a, 1));
	KUNIT_ASSERT_EQ(test, 0, touch(b, 2));
	pa = mapped_page(a);
	pb = mapped_page(b);
	if (pa)
		put_page(pa);
	if (pb)
		put_page(pb);
	KUNIT_EXPECT_NOT_NULL(test, pa);
	KUNIT_EXPECT_PTR_EQ_MSG(test, pa, pb,
				"two mappings of page offset 3 should map the same page");
	KUNIT_EXPECT_EQ_MSG(test, stats_of(file).pages, 1,
			    "two mappings of one page should allocate one page");
}

/*
 * Unmapping the middle of a mapping splits its VMA in two: the core
 * copies the VMA and calls vm_ops->open on the copy.
 */
static void vma_split_opens_copy(struct kunit *test)
{
	struct file *file = open_device(test);
	unsigned long addr = map_pages(test, file, 3, 0);
	u64 vmas;

	KUNIT_ASSERT_EQ(test, 0, vm_munmap(addr + PAGE_SIZE, PAGE_SIZE));
	vmas = stats_of(file).vmas;
	KUNIT_EXPECT_EQ_MSG(test, vmas, 2,
			    "munmap() of the middle page leaves 2 VMAs, the buffer counts %llu: vm_ops->open or ->close missing?",
			    vmas);
	KUNIT_ASSERT_EQ(test, 0, vm_munmap(addr, PAGE_SIZE));
	KUNIT_ASSERT_EQ(test, 0, vm_munmap(addr + 2 * PAGE_SIZE, PAGE_SIZE));
	vmas = stats_of(file).vmas;
	KUNIT_EXPECT_EQ_MSG(test, vmas, 0,
			    "every mapping is gone, the buffer still counts %llu VMAs: vm_ops->close missing?",
			    vmas);
}

/*
 * A file opened read-only may be mapped MAP_SHARED with PROT_READ: the
 * core keeps VM_MAYSHARE and clears VM_SHARED (and VM_MAYWRITE).
 */
static void mmap_read_only_file_shared(struct kunit *test)
{
	struct file *file = open_device_flags(test, O_RDONLY);
	struct page *mapped;
	unsigned long addr;

	addr = kunit_vm_mmap(test, file, 0, 2 * PAGE_SIZE, PROT_READ, MAP_SHARED, 4 * PAGE_SIZE);
	KUNIT_ASSERT_NE_MSG(test, addr, 0, "kunit_vm_mmap() ran out of memory");
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR_VALUE(addr),
			       "mmap(PROT_READ, MAP_SHARED) of the device opened O_RDONLY failed with %ld, expected success: such a vma has VM_MAYSHARE without VM_SHARED",
			       (long)addr);
	KUNIT_EXPECT_EQ_MSG(test, first_nonzero(test, addr, -1), -1L,
			    "a fresh page read through a read-only shared mapping is not zero");
	mapped = mapped_page(addr);
	if (mapped)
		put_page(mapped);
	KUNIT_EXPECT_PTR_EQ_MSG(test, mapped, kmemlab_fault_page(file, 4),
				"the read-only shared mapping should map buffer page 4");
}

static void kmemlab_fault_suite_exit(struct kunit_suite *suite)
{
	/* Release our files now, so that user programs start clean. */
	flush_delayed_fput();
}

static struct kunit_case kmemlab_fault_cases[] = {
	KUNIT_CASE(mmap_sets_vma_flags),
	KUNIT_CASE(mmap_allocates_nothing),
	KUNIT_CASE(fault_takes_page_reference),
	KUNIT_CASE(fault_serves_get_user_pages),
	KUNIT_CASE(fault_counts_one_per_page),
	KUNIT_CASE(fault_honours_pgoff),
	KUNIT_CASE(fault_hands_zeroed_pages),
	KUNIT_CASE(fault_allocation_failure_recovers),
	KUNIT_CASE(fault_past_end_fails),
	KUNIT_CASE(fault_past_end_fails_at_huge_offsets),
	KUNIT_CASE(mapping_shares_page_with_second_mapping),
	KUNIT_CASE(vma_split_opens_copy),
	KUNIT_CASE(mmap_read_only_file_shared),
	{}
};

static struct kunit_suite kmemlab_fault_suite = {
	.name = "kmemlab_fault",
	.suite_exit = kmemlab_fault_suite_exit,
	.test_cases = kmemlab_fault_cases,
};
kunit_test_suite(kmemlab_fault_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit suite for kmemlab lab 06 (mmap with a fault handler)");
