// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite for lab 05: map each kmemlab_remap device into a throwaway
 * user address space with kunit_vm_mmap() and read the page tables back.
 * A pte must hold exactly the pfn of the buffer page it stands for: that
 * is what tells a right remap from one that merely does not crash.
 */
#include <kunit/test.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "kmemlab_remap.h"

KUNIT_DEFINE_ACTION_WRAPPER(fput_action, fput, struct file *);

static const enum kmemlab_remap_kind kinds[] = {
	KMEMLAB_REMAP_CONTIG,
	KMEMLAB_REMAP_VMALLOC,
};

static void kind_to_desc(const enum kmemlab_remap_kind *kind, char *desc)
{
	strscpy(desc, kmemlab_remap_names[*kind], KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(kind, kinds, kind_to_desc);

static enum kmemlab_remap_kind test_kind(struct kunit *test)
{
	return *(const enum kmemlab_remap_kind *)test->param_value;
}

static struct file *open_device_flags(struct kunit *test, int flags)
{
	const char *name = kmemlab_remap_names[test_kind(test)];
	char path[64];
	struct file *file;

	snprintf(path, sizeof(path), "/dev/%s", name);
	file = filp_open(path, flags, 0);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(file),
			       "cannot open %s (error %ld): is the device registered?",
			       path, PTR_ERR(file));
	KUNIT_ASSERT_EQ(test, 0,
			kunit_add_action_or_reset(test, fput_action, file));
	return file;
}

static struct file *open_device(struct kunit *test)
{
	return open_device_flags(test, O_RDWR);
}

/*
 * mmap() @pages pages of the device at page offset @pgoff. Returns the
 * user address, or a negative errno cast to unsigned long.
 */
static unsigned long map_device(struct kunit *test, unsigned long pages,
				unsigned long pgoff, unsigned long flags)
{
	struct file *file = open_device(test);
	unsigned long addr;

	addr = kunit_vm_mmap(test, file, 0, pages * PAGE_SIZE,
			     PROT_READ | PROT_WRITE, flags, pgoff * PAGE_SIZE);
	KUNIT_ASSERT_NE_MSG(test, addr, 0, "kunit_vm_mmap() ran out of memory");
	return addr;
}

static unsigned long map_or_fail(struct kunit *test, unsigned long pages,
				 unsigned long pgoff)
{
	unsigned long addr = map_device(test, pages, pgoff, MAP_SHARED);

	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR_VALUE(addr),
			       "mmap(%lu pages at page offset %lu, MAP_SHARED) failed with %ld, expected success",
			       pages, pgoff, (long)addr);
	return addr;
}

/* The pfn of page @page of the buffer, however it was allocated. */
static unsigned long buffer_pfn(struct kunit *test, unsigned long page)
{
	char *buf = kmemlab_remap_buffer(test_kind(test));

	buf += page * PAGE_SIZE;
	if (is_vmalloc_addr(buf))
		return vmalloc_to_pfn(buf);
	return page_to_pfn(virt_to_page(buf));
}

/* The pfn in the current process's pte for @addr, or 0 if none. */
static unsigned long user_pfn(unsigned long addr)
{
	struct follow_pfnmap_args args = { .address = addr };
	unsigned long pfn = 0;

	mmap_read_lock(current->mm);
	args.vma = vma_lookup(current->mm, addr);
	if (args.vma && !follow_pfnmap_start(&args)) {
		pfn = args.pfn;
		follow_pfnmap_end(&args);
	}
	mmap_read_unlock(current->mm);
	return pfn;
}

/* Check that @pages pages from @addr map buffer pages from @pgoff on. */
static void expect_maps_buffer(struct kunit *test, unsigned long addr,
			       unsigned long pages, unsigned long pgoff)
{
	unsigned long i, got, want;

	for (i = 0; i < pages; i++) {
		got = user_pfn(addr + i * PAGE_SIZE);
		want = buffer_pfn(test, pgoff + i);
		KUNIT_EXPECT_EQ_MSG(test, got, want,
				    "page %lu of a mapping at page offset %lu should map buffer page %lu (pfn %#lx), its pte holds pfn %#lx",
				    i, pgoff, pgoff + i, want, got);
		if (got != want)
			return;	/* one report is enough */
	}
}

/*
 * Runs first, before any case stores into the buffers: every byte a
 * process can see through a fresh mapping is zero. A buffer that was not
 * zeroed shows whatever the pages held before (0xaa on the graded kernel,
 * which poisons freed pages).
 */
static void mmap_buffer_starts_zeroed(struct kunit *test)
{
	unsigned long addr = map_or_fail(test, KMEMLAB_REMAP_PAGES, 0);
	unsigned long i;
	u8 *copy, *bad;

	copy = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, copy);
	for (i = 0; i < KMEMLAB_REMAP_PAGES; i++) {
		KUNIT_ASSERT_EQ(test, 0, copy_from_user(copy, (void __user *)(addr + i * PAGE_SIZE),
							PAGE_SIZE));
		bad = memchr_inv(copy, 0, PAGE_SIZE);
		KUNIT_EXPECT_NULL_MSG(test, bad,
				      "byte %ld of buffer page %lu reads %#x through a fresh mapping: a driver's buffer must be zeroed before a process sees it",
				      bad ? (long)(bad - copy) : 0L, i, bad ? *bad : 0);
		if (bad)
			return;	/* one report is enough */
	}
}

static void mmap_maps_every_buffer_page(struct kunit *test)
{
	unsigned long addr = map_or_fail(test, KMEMLAB_REMAP_PAGES, 0);

	expect_maps_buffer(test, addr, KMEMLAB_REMAP_PAGES, 0);
}

/*
 * The buffer is ordinary RAM, which the kernel's own mapping caches: the
 * process must see it with the memory type the core chose for the VMA's
 * flags. An uncached or write-combining user mapping of the same page
 * (pgprot_noncached() and friends, meant for device registers) is an
 * alias with another memory type, which neither x86 nor ARM supports,
 * and makes every access slow. Only x86 with PAT enabled repairs it for RAM;
 * the lab kernels have no PAT.
 */
static void mmap_maps_buffer_cacheable(struct kunit *test)
{
	unsigned long addr = map_or_fail(test, KMEMLAB_REMAP_PAGES, 0);
	struct follow_pfnmap_args args = { };
	unsigned long i, got, want;
	int err;

	for (i = 0; i < KMEMLAB_REMAP_PAGES; i++) {
		args.address = addr + i * PAGE_SIZE;
		mmap_read_lock(current->mm);
		args.vma = vma_lookup(current->mm, args.address);
		err = args.vma ? follow_pfnmap_start(&args) : -EFAULT;
		if (!err) {
			got = pgprot_val(args.pgprot) & _PAGE_CACHE_MASK;
			follow_pfnmap_end(&args);
			want = pgprot_val(vm_get_page_prot(args.vma->vm_flags)) &
			       _PAGE_CACHE_MASK;
		}
		mmap_read_unlock(current->mm);
		KUNIT_ASSERT_EQ_MSG(test, err, 0, "page %lu of the mapping has no pte", i);
		KUNIT_EXPECT_EQ_MSG(test, got, want,
				    "page %lu of the mapping has cache bits %#lx in its pte (%#lx: uncached, %#lx: write-through), the kernel maps ordinary memory of such a VMA with %#lx: map the buffer with the protection the core gave the VMA",
				    i, got, (unsigned long)_PAGE_PCD,
				    (unsigned long)_PAGE_PWT, want);
		if (got != want)
			return;	/* one report is enough */
	}
}

static void mmap_honours_pgoff(struct kunit *test)
{
	static const unsigned long offsets[] = {
		1, 5, KMEMLAB_REMAP_PAGES / 2 + 3, KMEMLAB_REMAP_PAGES - 4,
	};
	unsigned long addr;
	int i;

	for (i = 0; i < ARRAY_SIZE(offsets); i++) {
		addr = map_or_fail(test, 4, offsets[i]);
		expect_maps_buffer(test, addr, 4, offsets[i]);
	}
}

/* Stores through the mapping and through the buffer meet. */
static void mmap_shares_bytes_both_ways(struct kunit *test)
{
	const unsigned long page = 7;
	char *buf = kmemlab_remap_buffer(test_kind(test)) + page * PAGE_SIZE;
	unsigned long addr = map_or_fail(test, 2, page);
	char *copy;

	copy = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, copy);

	memset(buf, 0x5a, PAGE_SIZE);
	KUNIT_ASSERT_EQ(test, 0, copy_from_user(copy, (void __user *)addr,
						PAGE_SIZE));
	KUNIT_EXPECT_TRUE_MSG(test, !memchr_inv(copy, 0x5a, PAGE_SIZE),
			      "the driver wrote 0x5a over buffer page %lu, the mapping does not show it",
			      page);

	memset(copy, 0xa5, PAGE_SIZE);
	KUNIT_ASSERT_EQ(test, 0, copy_to_user((void __user *)addr, copy,
					      PAGE_SIZE));
	KUNIT_EXPECT_TRUE_MSG(test, !memchr_inv(buf, 0xa5, PAGE_SIZE),
			      "0xa5 stored through the mapping did not reach buffer page %lu",
			      page);
}

/*
 * A length that is not a page multiple: the core rounds it up to whole
 * pages before .mmap runs, so the driver maps (and checks) whole pages.
 */
static void mmap_rounds_length_up(struct kunit *test)
{
	struct file *file = open_device(test);
	unsigned long addr;

	addr = kunit_vm_mmap(test, file, 0, 3 * PAGE_SIZE + 1, PROT_READ | PROT_WRITE,
			     MAP_SHARED, 2 * PAGE_SIZE);
	KUNIT_ASSERT_FALSE_MSG(test, !addr || IS_ERR_VALUE(addr),
			       "mmap(3 pages + 1 byte at page offset 2) failed with %ld, expected success",
			       (long)addr);
	expect_maps_buffer(test, addr, 4, 2);

	addr = kunit_vm_mmap(test, file, 0, (KMEMLAB_REMAP_PAGES - 1) * PAGE_SIZE + 1,
			     PROT_READ, MAP_SHARED, 0);
	KUNIT_ASSERT_FALSE_MSG(test, !addr || IS_ERR_VALUE(addr),
			       "mmap(the buffer's length less a page plus 1 byte) failed with %ld, expected success: it rounds up to the buffer",
			       (long)addr);
	expect_maps_buffer(test, addr, KMEMLAB_REMAP_PAGES, 0);

	addr = kunit_vm_mmap(test, file, 0, KMEMLAB_REMAP_SIZE - 1, PROT_READ, MAP_SHARED,
			     PAGE_SIZE);
	if (IS_ERR_VALUE(addr))
		KUNIT_EXPECT_EQ_MSG(test, (long)addr, -EINVAL,
				    "mmap(the buffer's length less 1 byte at page offset 1) rounds up to %lu pages from page 1, past the end: expected error -EINVAL, got error %ld",
				    KMEMLAB_REMAP_PAGES, (long)addr);
	else
		KUNIT_FAIL(test, "mmap(the buffer's length less 1 byte at page offset 1) rounds up to %lu pages from page 1, past the end: expected error -EINVAL, got a mapping at %#lx",
			   KMEMLAB_REMAP_PAGES, addr);
}

/*
 * A file opened read-only may still be mapped MAP_SHARED with PROT_READ:
 * do_mmap() then clears VM_SHARED and VM_MAYWRITE but keeps VM_MAYSHARE.
 * It is a shared mapping that can never become writable.
 */
static void mmap_read_only_file_shared(struct kunit *test)
{
	struct file *file = open_device_flags(test, O_RDONLY);
	unsigned long addr;

	addr = kunit_vm_mmap(test, file, 0, 4 * PAGE_SIZE, PROT_READ, MAP_SHARED,
			     3 * PAGE_SIZE);
	KUNIT_ASSERT_NE_MSG(test, addr, 0, "kunit_vm_mmap() ran out of memory");
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR_VALUE(addr),
			       "mmap(PROT_READ, MAP_SHARED) of a device opened O_RDONLY failed with %ld, expected success: such a vma has VM_MAYSHARE without VM_SHARED",
			       (long)addr);
	expect_maps_buffer(test, addr, 4, 3);
}

/*
 * remap_pfn_range() allocates page tables, and that may fail. Make each
 * allocation of a whole-buffer mmap() fail in turn (fault injection): the
 * call fails with an error, or it succeeds and then every page is mapped.
 * A loop that goes on after a failed remap_pfn_range() leaves holes.
 */
static void mmap_allocation_failure_all_or_nothing(struct kunit *test)
{
	unsigned long warm, hint, addr = 0;
	struct file *file;
	int n, fired = 0;

	/*
	 * A failed remap_pfn_range() of a whole VMA zaps what it mapped, and
	 * the x86 PAT code then warns that it finds no pte to untrack
	 * (get_pat_info() in arch/x86/mm/pat/memtype.c), whatever the driver
	 * does. The vmalloc device maps page by page: no PAT tracking.
	 */
	if (test_kind(test) == KMEMLAB_REMAP_CONTIG)
		kunit_skip(test, "a failing single remap_pfn_range() of a whole VMA warns in the x86 PAT code");
	file = open_device(test);
	warm = map_or_fail(test, 1, 0);	/* the mm exists */

	/* Far from other mappings: new page tables are needed there. */
	hint = ALIGN_DOWN(warm, PUD_SIZE) - 2 * PUD_SIZE;
	for (n = 1; n < 100; n++) {
		current->fail_nth = n;
		addr = vm_mmap(file, hint, KMEMLAB_REMAP_SIZE, PROT_READ | PROT_WRITE,
			       MAP_SHARED, 0);
		if (current->fail_nth) {
			current->fail_nth = 0;
			break;
		}
		fired++;
		if (IS_ERR_VALUE(addr))
			continue;
		/* It worked although an allocation failed: all of it must. */
		expect_maps_buffer(test, addr, KMEMLAB_REMAP_PAGES, 0);
		vm_munmap(addr, KMEMLAB_REMAP_SIZE);
	}
	KUNIT_EXPECT_GT_MSG(test, fired, 0, "no allocation failed: is fault injection in this kernel?");
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR_VALUE(addr),
			       "mmap() of the whole buffer with no failure left: error %ld",
			       (long)addr);
	expect_maps_buffer(test, addr, KMEMLAB_REMAP_PAGES, 0);
	vm_munmap(addr, KMEMLAB_REMAP_SIZE);
}

static void expect_mmap_error(struct kunit *test, unsigned long pages,
			      unsigned long pgoff, unsigned long flags,
			      long err, const char *why)
{
	unsigned long got = map_device(test, pages, pgoff, flags);

	if (IS_ERR_VALUE(got))
		KUNIT_EXPECT_EQ_MSG(test, (long)got, err,
				    "mmap(%lu pages at page offset %lu) %s: expected error %ld, got error %ld",
				    pages, pgoff, why, err, (long)got);
	else
		KUNIT_FAIL(test,
			   "mmap(%lu pages at page offset %lu) %s: expected error %ld, got a mapping at %#lx",
			   pages, pgoff, why, err, got);
}

static void mmap_rejects_past_end(struct kunit *test)
{
	const unsigned long n = KMEMLAB_REMAP_PAGES;

	expect_mmap_error(test, n + 1, 0, MAP_SHARED, -EINVAL,
			  "is larger than the buffer");
	expect_mmap_error(test, 1, n, MAP_SHARED, -EINVAL,
			  "starts past the end of the buffer");
	expect_mmap_error(test, 2, n - 1, MAP_SHARED, -EINVAL,
			  "runs past the end of the buffer");
	expect_mmap_error(test, n, 1, MAP_SHARED, -EINVAL,
			  "is as long as the buffer but starts at its page 1");
	/* 1 GiB in: as a byte offset, that still fits 32 bits. */
	expect_mmap_error(test, 1, 1UL << (30 - PAGE_SHIFT), MAP_SHARED,
			  -EINVAL, "starts 1 GiB in, far past the end of the buffer");
}

static void mmap_rejects_private(struct kunit *test)
{
	expect_mmap_error(test, 1, 0, MAP_PRIVATE, -EINVAL,
			  "is MAP_PRIVATE, which this device refuses");
}

static struct kunit_case kmemlab_remap_cases[] = {
	KUNIT_CASE_PARAM(mmap_buffer_starts_zeroed, kind_gen_params),
	KUNIT_CASE_PARAM(mmap_maps_every_buffer_page, kind_gen_params),
	KUNIT_CASE_PARAM(mmap_maps_buffer_cacheable, kind_gen_params),
	KUNIT_CASE_PARAM(mmap_honours_pgoff, kind_gen_params),
	KUNIT_CASE_PARAM(mmap_rounds_length_up, kind_gen_params),
	KUNIT_CASE_PARAM(mmap_shares_bytes_both_ways, kind_gen_params),
	KUNIT_CASE_PARAM(mmap_read_only_file_shared, kind_gen_params),
	KUNIT_CASE_PARAM(mmap_allocation_failure_all_or_nothing, kind_gen_params),
	KUNIT_CASE_PARAM(mmap_rejects_past_end, kind_gen_params),
	KUNIT_CASE_PARAM(mmap_rejects_private, kind_gen_params),
	{}
};

static struct kunit_suite kmemlab_remap_suite = {
	.name = "kmemlab_remap",
	.test_cases = kmemlab_remap_cases,
};
kunit_test_suite(kmemlab_remap_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit suite for kmemlab lab 05 (mmap with remap_pfn_range)");
