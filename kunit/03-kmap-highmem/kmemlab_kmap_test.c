// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite for lab 03. The pages come from GFP_HIGHUSER: on i386 with
 * more than 896 MiB of RAM they are high pages with no kernel address;
 * on x86_64 they are ordinary pages and the cases about high memory as
 * such are skipped. Whatever kmemlab_kmap writes is read back through the
 * suite's own mappings.
 */
#include <kunit/test.h>
#include <linux/delay.h>
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/mmap_lock.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/tracepoint.h>
#include <linux/uaccess.h>

#include "kmemlab_kmap.h"
#include "include/kmemlab_pagealloc.h"

/* How deep this thread's stack of kmap_local mappings is, or -1 if none. */
static int kmap_local_depth(void)
{
#ifdef CONFIG_KMAP_LOCAL
	return current->kmap_ctrl.idx;
#else
	return -1;
#endif
}

static void free_page_action(void *page)
{
	__free_page(page);
}

/*
 * A page from where GFP_HIGHUSER leads, freed when the case ends. A high
 * page that a kmap() before left mapped (kunmap() keeps the address until
 * the slots are flushed) still has one: such a page is set aside, so that
 * code which takes page_address() of a high page gets NULL, as it would in
 * real use.
 */
static struct page *high_page(struct kunit *test)
{
	struct page *page, *mapped[8];
	int n = 0;

	for (;;) {
		page = alloc_page(GFP_HIGHUSER);
		if (!page || !PageHighMem(page) || !page_address(page) ||
		    n == ARRAY_SIZE(mapped))
			break;
		mapped[n++] = page;
	}
	while (n)
		__free_page(mapped[--n]);
	KUNIT_ASSERT_NOT_NULL(test, page);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, free_page_action, page), 0);
	return page;
}

/* Does every byte of @page hold @val? Checked through our own mapping. */
static bool page_is(struct page *page, size_t off, size_t len, u8 val)
{
	void *addr = kmap_local_page(page);
	bool ok = !memchr_inv(addr + off, val, len);

	kunmap_local(addr);
	return ok;
}

/*
 * Set every byte of @page to @val with the kernel's own helper, which maps
 * the page for the moment it writes (include/linux/highmem.h).
 */
static void fill(struct page *page, u8 val)
{
	memset_page(page, 0, val, PAGE_SIZE);
}

static void alloc_high_gives_unmapped_page(struct kunit *test)
{
	struct page *page = kmemlab_alloc_high();

	KUNIT_ASSERT_NOT_NULL_MSG(test, page, "kmemlab_alloc_high() gave no page");
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, free_page_action, page), 0);
	if (!IS_ENABLED(CONFIG_HIGHMEM))
		kunit_skip(test, "no high memory on this arch: every page is in the direct map");
	if (!totalhigh_pages())
		kunit_skip(test, "the VM has no high memory (give it more than 896 MiB)");
	KUNIT_EXPECT_TRUE_MSG(test, PageHighMem(page),
			      "pfn %#lx is low memory: ask for GFP_HIGHUSER, which may use ZONE_HIGHMEM",
			      page_to_pfn(page));
	KUNIT_EXPECT_NULL_MSG(test, page_address(page),
			      "a high page that nobody mapped has no kernel address");
}

#ifdef CONFIG_TRACEPOINTS
/* The order-0 pages this task allocated, with their flags (the tracepoint's). */
struct allocs_seen {
	struct task_struct *task;
	struct page *page[8];
	gfp_t gfp[8];
	unsigned int n;
};

static void note_alloc(void *data, struct page *page, unsigned int order, gfp_t gfp,
		       int migratetype)
{
	struct allocs_seen *seen = data;

	if (in_task() && current == seen->task && !order && seen->n < ARRAY_SIZE(seen->page)) {
		seen->page[seen->n] = page;
		seen->gfp[seen->n++] = gfp;
	}
}
#endif

/*
 * The flags the page was asked for with, as the page allocator's own
 * tracepoint reports them: all of GFP_HIGHUSER (a page that may be high,
 * with reclaim, I/O and the cpuset's limits; __GFP_HIGHMEM alone is a zone
 * and no more), and not __GFP_MOVABLE (GFP_HIGHUSER_MOVABLE), which
 * promises a page that migration or reclaim can move: nobody can move
 * this one.
 */
static void alloc_high_asks_gfp_highuser(struct kunit *test)
{
#ifdef CONFIG_TRACEPOINTS
	struct tracepoint *tp = kmemlab_page_alloc_tp();
	struct allocs_seen seen = { .task = current };
	gfp_t gfp = 0, missing;
	struct page *page;
	bool found = false;
	unsigned int i;

	if (!tp || tracepoint_probe_register(tp, note_alloc, &seen))
		kunit_skip(test, "cannot watch the page allocator's tracepoint");
	page = kmemlab_alloc_high();
	tracepoint_probe_unregister(tp, note_alloc, &seen);
	tracepoint_synchronize_unregister();
	KUNIT_ASSERT_NOT_NULL_MSG(test, page, "kmemlab_alloc_high() gave no page");
	for (i = 0; i < seen.n; i++) {
		if (seen.page[i] == page) {
			gfp = seen.gfp[i];
			found = true;
		}
	}
	__free_page(page);
	KUNIT_ASSERT_TRUE_MSG(test, found, "the page allocator's tracepoint saw no allocation of the page returned");
	missing = GFP_HIGHUSER & ~gfp;
	KUNIT_EXPECT_FALSE_MSG(test, missing,
			       "the page was asked for without %pGg: GFP_HIGHUSER is the whole set (reclaim, I/O, cpuset limits, and high memory)",
			       &missing);
	KUNIT_EXPECT_FALSE_MSG(test, gfp & __GFP_MOVABLE,
			       "__GFP_MOVABLE (GFP_HIGHUSER_MOVABLE) promises a page that migration can move: nobody can move this one");
#else
	kunit_skip(test, "no tracepoints here to see the flags (the graded kernel has them)");
#endif
}

static void fill_page_writes_every_byte(struct kunit *test)
{
	struct page *page = high_page(test);
	int depth = kmap_local_depth();

	kmemlab_fill_page(page, 0x3c);
	KUNIT_EXPECT_EQ_MSG(test, kmap_local_depth(), depth,
			    "kmemlab_fill_page() left a kmap_local mapping behind: kunmap_local() it");
	KUNIT_EXPECT_TRUE_MSG(test, page_is(page, 0, PAGE_SIZE, 0x3c),
			      "every byte of the page should be 0x3c");
}

static void copy_high_copies_page(struct kunit *test)
{
	struct page *src = high_page(test), *dst = high_page(test);
	int depth;
	u8 *s;
	int i;

	s = kmap_local_page(src);
	for (i = 0; i < PAGE_SIZE; i++)
		s[i] = i % 251;
	kunmap_local(s);
	fill(dst, 0);

	depth = kmap_local_depth();
	kmemlab_copy_high(dst, src);
	KUNIT_EXPECT_EQ_MSG(test, kmap_local_depth(), depth,
			    "kmemlab_copy_high() left kmap_local mappings behind");

	s = kmap_local_page(dst);
	for (i = 0; i < PAGE_SIZE; i++)
		if (s[i] != i % 251)
			break;
	kunmap_local(s);
	KUNIT_EXPECT_EQ_MSG(test, i, (int)PAGE_SIZE,
			    "byte %d of the copy differs from the source", i);
}

static void kmap_keep_survives_sleep(struct kunit *test)
{
	struct page *page = high_page(test);
	u8 *addr;

	addr = kmemlab_kmap_keep(page);
	KUNIT_ASSERT_NOT_NULL_MSG(test, addr, "kmemlab_kmap_keep() returned no address");
	KUNIT_EXPECT_PTR_EQ_MSG(test, page_address(page), (void *)addr,
				"while kmap()ed, page_address() gives the mapping's address");
	memset(addr, 0x77, PAGE_SIZE);
	msleep(20);	/* kmap() mappings may be held across a sleep */
	addr[10] = 0x78;
	kmemlab_kmap_drop(page);
	KUNIT_EXPECT_TRUE(test, page_is(page, 0, 10, 0x77));
	KUNIT_EXPECT_TRUE(test, page_is(page, 10, 1, 0x78));
}

#ifdef CONFIG_HIGHMEM
/* Enough pages for LAST_PKMAP + 1 new kmap() slots, and a few mapped ones. */
#define SLOT_PAGES	(LAST_PKMAP + 9)

static void free_pages_action(void *arg)
{
	struct page **pages = arg;
	int i;

	for (i = 0; i < SLOT_PAGES; i++)
		if (pages[i])
			__free_page(pages[i]);
}

/*
 * kunmap() gives the kmap() slot back. A slot nobody holds keeps its page
 * mapped until kmap() runs out of fresh slots and flushes every slot that
 * is no longer held (flush_all_zero_pkmaps() in mm/highmem.c), which
 * happens within LAST_PKMAP new mappings: after that, page_address() of a
 * page whose slot was given back is NULL again. A slot still held keeps
 * its address, and once all are held kmap() sleeps forever.
 */
static void kmap_drop_releases_slot(struct kunit *test)
{
	struct page *page = high_page(test), **others;
	int i, fresh = 0;
	void *addr;

	if (!totalhigh_pages() || !PageHighMem(page))
		kunit_skip(test, "the VM has no high memory (give it more than 896 MiB)");
	others = kunit_kcalloc(test, SLOT_PAGES, sizeof(*others), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, others);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, free_pages_action, others), 0);
	for (i = 0; i < SLOT_PAGES; i++) {
		others[i] = alloc_page(GFP_HIGHUSER);
		KUNIT_ASSERT_NOT_NULL(test, others[i]);
		/* Only a high page without an address takes a new slot. */
		if (PageHighMem(others[i]) && !page_address(others[i]))
			fresh++;
	}
	KUNIT_ASSERT_GT(test, fresh, LAST_PKMAP);

	addr = kmemlab_kmap_keep(page);
	KUNIT_ASSERT_NOT_NULL_MSG(test, addr, "kmemlab_kmap_keep() returned no address");
	kmemlab_kmap_drop(page);
	/* More than LAST_PKMAP new mappings: kmap() wraps around and flushes. */
	for (i = 0; i < SLOT_PAGES; i++) {
		kmap(others[i]);
		kunmap(others[i]);
	}
	addr = page_address(page);
	KUNIT_EXPECT_NULL_MSG(test, addr,
			      "%d kmap() calls later the page is still mapped at %px: kmemlab_kmap_drop() did not give its slot back with kunmap(), and the %d slots run out",
			      fresh, addr, LAST_PKMAP);
	if (addr)
		kunmap(page);	/* the slot the drop kept */
}
#else
static void kmap_drop_releases_slot(struct kunit *test)
{
	kunit_skip(test, "no high memory on this arch: kmap() is page_address(), no slot to give back");
}
#endif

/* A fresh anonymous user mapping of @len bytes, @flags MAP_PRIVATE or MAP_SHARED, never touched. */
static unsigned long user_map(struct kunit *test, size_t len, unsigned long flags)
{
	unsigned long ubuf;

	ubuf = kunit_vm_mmap(test, NULL, 0, len, PROT_READ | PROT_WRITE,
			     MAP_ANONYMOUS | flags, 0);
	KUNIT_ASSERT_FALSE_MSG(test, !ubuf || IS_ERR_VALUE(ubuf), "kunit_vm_mmap() failed");
	return ubuf;
}

static unsigned long user_buf(struct kunit *test)
{
	return user_map(test, PAGE_SIZE, MAP_PRIVATE);
}

/* Is the user page at @addr in the page tables right now? Faults nothing in. */
static bool user_page_resident(unsigned long addr)
{
	struct page *page;

	if (get_user_pages_fast_only(addr, 1, 0, &page) != 1)
		return false;
	put_page(page);
	return true;
}

/*
 * Take the user pages at [@addr, @addr + @len) out of the page tables, as
 * madvise(MADV_DONTNEED) does: the next access faults. A private anonymous
 * page comes back zero-filled; a shared one comes back from its shmem file
 * with its data.
 */
static void drop_user_pages(struct kunit *test, unsigned long addr, size_t len)
{
	struct mm_struct *mm = current->mm;
	struct vm_area_struct *vma;

	mmap_read_lock(mm);
	vma = vma_lookup(mm, addr);
	if (vma)
		zap_page_range_single(vma, addr, len, NULL);
	mmap_read_unlock(mm);
	KUNIT_ASSERT_NOT_NULL_MSG(test, vma, "no user mapping at %#lx", addr);
	KUNIT_ASSERT_FALSE_MSG(test, user_page_resident(addr),
			       "the user page at %#lx is still mapped after the drop", addr);
}

/*
 * The user buffer has never been touched: no page is behind it yet, and
 * copy_to_user() has to take a page fault to get one. That works only
 * where page faults are allowed: with kmap_local_page(), not inside
 * kmap_atomic() or pagefault_disable().
 */
static void page_to_user_copies_range(struct kunit *test)
{
	unsigned long ubuf = user_buf(test);
	struct page *page = high_page(test);
	int depth = kmap_local_depth();
	u8 *got;

	got = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, got);
	fill(page, 0xab);
	KUNIT_ASSERT_FALSE(test, user_page_resident(ubuf));

	KUNIT_ASSERT_EQ_MSG(test, kmemlab_page_to_user((void __user *)ubuf + 100, page, 300, 200), 0,
			    "copying 200 bytes to a fresh user buffer should succeed: its first access faults a page in, and copy_to_user() must be allowed to take that fault");
	KUNIT_EXPECT_EQ_MSG(test, kmap_local_depth(), depth,
			    "kmemlab_page_to_user() left a kmap_local mapping behind");
	KUNIT_ASSERT_EQ(test, copy_from_user(got, (void __user *)ubuf, PAGE_SIZE), 0UL);
	KUNIT_EXPECT_TRUE_MSG(test, !memchr_inv(got + 100, 0xab, 200),
			      "user bytes 100-299 should hold the page's bytes");
	KUNIT_EXPECT_TRUE_MSG(test, !memchr_inv(got, 0, 100) && !memchr_inv(got + 300, 0, PAGE_SIZE - 300),
			      "nothing outside the 200 bytes asked for may be written");
}

/* The user page was there once and has been dropped since (MADV_DONTNEED). */
static void page_to_user_copies_to_dropped_page(struct kunit *test)
{
	unsigned long ubuf = user_buf(test);
	struct page *page = high_page(test);
	int depth = kmap_local_depth();
	u8 *got;

	got = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, got);
	fill(page, 0x6d);
	KUNIT_ASSERT_EQ(test, clear_user((void __user *)ubuf, PAGE_SIZE), 0UL);
	drop_user_pages(test, ubuf, PAGE_SIZE);

	KUNIT_ASSERT_EQ_MSG(test, kmemlab_page_to_user((void __user *)ubuf + 1000, page, 7, 333), 0,
			    "copying to a user page that was dropped should succeed: copy_to_user() faults it back in");
	KUNIT_EXPECT_EQ_MSG(test, kmap_local_depth(), depth,
			    "kmemlab_page_to_user() left a kmap_local mapping behind");
	KUNIT_ASSERT_EQ(test, copy_from_user(got, (void __user *)ubuf, PAGE_SIZE), 0UL);
	KUNIT_EXPECT_TRUE_MSG(test, !memchr_inv(got + 1000, 0x6d, 333),
			      "user bytes 1000-1332 should hold the page's bytes");
	KUNIT_EXPECT_TRUE_MSG(test, !memchr_inv(got, 0, 1000) && !memchr_inv(got + 1333, 0, PAGE_SIZE - 1333),
			      "nothing outside the 333 bytes asked for may be written");
}

/*
 * The user's data sits in a shared mapping whose page was dropped from the
 * page tables: copy_from_user() faults it back in from its shmem file.
 */
static void page_from_user_copies_range(struct kunit *test)
{
	unsigned long ubuf = user_map(test, PAGE_SIZE, MAP_SHARED);
	struct page *page = high_page(test);
	int depth = kmap_local_depth();

	fill(page, 0);
	KUNIT_ASSERT_EQ(test, clear_user((void __user *)ubuf, PAGE_SIZE), 0UL);
	KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)ubuf, "0123456789", 10), 0UL);
	drop_user_pages(test, ubuf, PAGE_SIZE);

	KUNIT_ASSERT_EQ_MSG(test, kmemlab_page_from_user(page, PAGE_SIZE - 10, (void __user *)ubuf, 10), 0,
			    "copying the last 10 bytes of the page from user memory that is not mapped right now should succeed: copy_from_user() faults it back in");
	KUNIT_EXPECT_EQ_MSG(test, kmap_local_depth(), depth,
			    "kmemlab_page_from_user() left a kmap_local mapping behind");
	KUNIT_EXPECT_TRUE_MSG(test, page_is(page, 0, PAGE_SIZE - 10, 0),
			      "only the last 10 bytes may change");
	{
		char *addr = kmap_local_page(page);

		KUNIT_EXPECT_MEMEQ_MSG(test, addr + PAGE_SIZE - 10, "0123456789", 10,
				       "the last 10 bytes should be the user's");
		kunmap_local(addr);
	}
}

/* Reading user memory nobody wrote yet gives zeros, after a page fault. */
static void page_from_user_reads_untouched_buffer(struct kunit *test)
{
	unsigned long ubuf = user_buf(test);
	struct page *page = high_page(test);
	int depth = kmap_local_depth();

	fill(page, 0x5a);
	KUNIT_ASSERT_FALSE(test, user_page_resident(ubuf));

	KUNIT_ASSERT_EQ_MSG(test, kmemlab_page_from_user(page, 50, (void __user *)ubuf + 3000, 777), 0,
			    "copying from a fresh user buffer should succeed: copy_from_user() must be allowed to fault its page in");
	KUNIT_EXPECT_EQ_MSG(test, kmap_local_depth(), depth,
			    "kmemlab_page_from_user() left a kmap_local mapping behind");
	KUNIT_EXPECT_TRUE_MSG(test, page_is(page, 50, 777, 0),
			      "bytes 50-826 should hold the user's bytes, all zero");
	KUNIT_EXPECT_TRUE_MSG(test, page_is(page, 0, 50, 0x5a) && page_is(page, 827, PAGE_SIZE - 827, 0x5a),
			      "nothing outside the 777 bytes asked for may change");
}

/* The largest range and the empty ones at both ends are all inside the page. */
static void page_user_copy_accepts_page_edges(struct kunit *test)
{
	unsigned long ubuf = user_buf(test);
	struct page *page = high_page(test);
	void __user *u = (void __user *)ubuf;
	u8 *got;

	got = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, got);
	fill(page, 0x5e);
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_page_to_user(u, page, 0, PAGE_SIZE), 0,
			    "the whole page (offset 0, %lu bytes) fits in the page", PAGE_SIZE);
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_page_to_user(u, page, PAGE_SIZE, 0), 0,
			    "0 bytes at offset %lu (the end of the page) fit in the page", PAGE_SIZE);
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_page_to_user(u, page, 0, 0), 0,
			    "0 bytes at offset 0 fit in the page");
	KUNIT_ASSERT_EQ(test, copy_from_user(got, u, PAGE_SIZE), 0UL);
	KUNIT_EXPECT_TRUE_MSG(test, !memchr_inv(got, 0x5e, PAGE_SIZE),
			      "the whole page should have reached the user buffer");

	fill(page, 0);
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_page_from_user(page, 0, u, PAGE_SIZE), 0,
			    "the whole page (offset 0, %lu bytes) fits in the page", PAGE_SIZE);
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_page_from_user(page, PAGE_SIZE, u, 0), 0,
			    "0 bytes at offset %lu (the end of the page) fit in the page", PAGE_SIZE);
	KUNIT_EXPECT_TRUE_MSG(test, page_is(page, 0, PAGE_SIZE, 0x5e),
			      "the whole user buffer should have reached the page");
}

static void page_user_copy_rejects_bad_range(struct kunit *test)
{
	unsigned long ubuf = user_buf(test);
	struct page *page = high_page(test);
	int depth = kmap_local_depth();
	void __user *u = (void __user *)ubuf;

	KUNIT_EXPECT_EQ_MSG(test, kmemlab_page_to_user(u, page, PAGE_SIZE - 4, 8), -EINVAL,
			    "bytes 4092-4099 are not all in the page");
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_page_to_user(u, page, PAGE_SIZE + 1, 0), -EINVAL,
			    "offset 4097 is past the end of the page, even for 0 bytes");
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_page_from_user(page, 8, u, SIZE_MAX - 4), -EINVAL,
			    "off + len overflows: the range must still be refused");
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_page_to_user(u, page, 8, SIZE_MAX - 4), -EINVAL,
			    "off + len overflows: the range must still be refused");
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_page_from_user(page, SIZE_MAX - 4, u, 8), -EINVAL,
			    "offset SIZE_MAX - 4 is far past the page: off + len wraps round to 3");
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_page_to_user(u, page, SIZE_MAX, 1), -EINVAL,
			    "offset SIZE_MAX is far past the page: off + len wraps round to 0");
	KUNIT_ASSERT_EQ(test, vm_munmap(ubuf, PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_page_to_user(u, page, 0, 16), -EFAULT,
			    "the user buffer was unmapped: copy_to_user() fails, return -EFAULT");
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_page_from_user(page, 0, u, 16), -EFAULT,
			    "the user buffer was unmapped: copy_from_user() fails, return -EFAULT");
	KUNIT_EXPECT_EQ_MSG(test, kmap_local_depth(), depth,
			    "a failed copy left a kmap_local mapping behind: unmap on every path");
}

/*
 * A kernel address passed where a user pointer belongs: copy_*_user()
 * check it with access_ok() and refuse. A plain memcpy() would copy,
 * and on a CPU with SMAP even a real user pointer would oops.
 */
static void page_user_copy_rejects_kernel_pointer(struct kunit *test)
{
	struct page *page = high_page(test);
	int depth = kmap_local_depth();
	void __user *u;
	u8 *kbuf;

	kbuf = kunit_kmalloc(test, 64, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, kbuf);
	u = (void __force __user *)kbuf;
	memset(kbuf, 0x22, 64);
	fill(page, 0x11);

	KUNIT_EXPECT_EQ_MSG(test, kmemlab_page_to_user(u, page, 0, 64), -EFAULT,
			    "a kmalloc() address is kernel memory, not user memory: copy_to_user() refuses it, return -EFAULT");
	KUNIT_EXPECT_TRUE_MSG(test, !memchr_inv(kbuf, 0x22, 64),
			      "kernel memory was written through a \"user\" pointer: use copy_to_user(), never memcpy()");
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_page_from_user(page, 0, u, 64), -EFAULT,
			    "a kmalloc() address is kernel memory, not user memory: copy_from_user() refuses it, return -EFAULT");
	KUNIT_EXPECT_FALSE_MSG(test, page_is(page, 0, 64, 0x22),
			       "kernel memory was read through a \"user\" pointer: use copy_from_user(), never memcpy()");
	KUNIT_EXPECT_EQ_MSG(test, kmap_local_depth(), depth,
			    "a failed copy left a kmap_local mapping behind: unmap on every path");
}

/* The range starts in a mapped user page and runs into an unmapped one. */
static void page_user_copy_efault_when_partly_unmapped(struct kunit *test)
{
	unsigned long ubuf = user_map(test, 2 * PAGE_SIZE, MAP_PRIVATE);
	struct page *page = high_page(test);
	int depth = kmap_local_depth();
	void __user *u = (void __user *)ubuf + PAGE_SIZE - 100;

	KUNIT_ASSERT_EQ(test, vm_munmap(ubuf + PAGE_SIZE, PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_page_to_user(u, page, 0, 200), -EFAULT,
			    "only 100 of the 200 bytes could be copied: copy_to_user() returned 100, which is -EFAULT");
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_page_from_user(page, 0, u, 200), -EFAULT,
			    "only 100 of the 200 bytes could be copied: copy_from_user() returned 100, which is -EFAULT");
	KUNIT_EXPECT_EQ_MSG(test, kmap_local_depth(), depth,
			    "a failed copy left a kmap_local mapping behind: unmap on every path");
}

/*
 * The kernel's fault injection (lib/fault-inject.c, FAULT_INJECTION_USERCOPY):
 * with current->fail_nth = 1 the next user copy of this thread fails as if
 * the memory were bad, and fail_nth drops back to 0.
 */
static void page_user_copy_efault_when_copy_fails(struct kunit *test)
{
	unsigned long ubuf = user_buf(test);
	struct page *page = high_page(test);
	int depth = kmap_local_depth();
	void __user *u = (void __user *)ubuf;
	int ret;

	current->fail_nth = 1;
	ret = kmemlab_page_to_user(u, page, 0, 16);
	KUNIT_EXPECT_EQ_MSG(test, current->fail_nth, 0U,
			    "kmemlab_page_to_user() made no copy_to_user()");
	current->fail_nth = 0;
	KUNIT_EXPECT_EQ_MSG(test, ret, -EFAULT,
			    "copy_to_user() failed (fault injection): return -EFAULT");

	current->fail_nth = 1;
	ret = kmemlab_page_from_user(page, 0, u, 16);
	KUNIT_EXPECT_EQ_MSG(test, current->fail_nth, 0U,
			    "kmemlab_page_from_user() made no copy_from_user()");
	current->fail_nth = 0;
	KUNIT_EXPECT_EQ_MSG(test, ret, -EFAULT,
			    "copy_from_user() failed (fault injection): return -EFAULT");
	KUNIT_EXPECT_EQ_MSG(test, kmap_local_depth(), depth,
			    "a failed copy left a kmap_local mapping behind: unmap on every path");
}

static struct kunit_case kmemlab_kmap_test_cases[] = {
	KUNIT_CASE(alloc_high_gives_unmapped_page),
	KUNIT_CASE(alloc_high_asks_gfp_highuser),
	KUNIT_CASE(fill_page_writes_every_byte),
	KUNIT_CASE(copy_high_copies_page),
	KUNIT_CASE(kmap_keep_survives_sleep),
	KUNIT_CASE(page_to_user_copies_range),
	KUNIT_CASE(page_to_user_copies_to_dropped_page),
	KUNIT_CASE(page_from_user_copies_range),
	KUNIT_CASE(page_from_user_reads_untouched_buffer),
	KUNIT_CASE(page_user_copy_accepts_page_edges),
	KUNIT_CASE(page_user_copy_rejects_bad_range),
	KUNIT_CASE(page_user_copy_rejects_kernel_pointer),
	KUNIT_CASE(page_user_copy_efault_when_partly_unmapped),
	KUNIT_CASE(page_user_copy_efault_when_copy_fails),
	/* Last: it leaves LAST_PKMAP freed pages mapped until the next flush. */
	KUNIT_CASE(kmap_drop_releases_slot),
	{}
};

static struct kunit_suite kmemlab_kmap_test_suite = {
	.name = "kmemlab_kmap",
	.test_cases = kmemlab_kmap_test_cases,
};
kunit_test_suite(kmemlab_kmap_test_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit tests for kmemlab lab 03");
MODULE_IMPORT_NS(EXPORTED_FOR_KUNIT_TESTING);
