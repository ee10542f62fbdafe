// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite for lab 08: zero-copy DMA between user memory and the edu
 * device. Each case maps user memory into the test's own address space
 * with kunit_vm_mmap(), calls kmemlab_zc_xfer() on it, and checks the
 * data on the other side through the driver's copy path, which is given.
 * The bytes are checked exactly, around the transfer too: user memory
 * before and after the buffer, the device buffer past the transfer.
 */
#include <kunit/test.h>
#include <linux/dma-mapping.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/mman.h>
#include <linux/pci.h>
#include <linux/radix-tree.h>
#include <linux/uaccess.h>

#include "kmemlab_zc.h"
#include "include/kmemlab_bus.h"

static struct kmemlab_zc *bound_zc(struct kunit *test)
{
	struct kmemlab_zc *zc = kmemlab_zc_get();

	KUNIT_ASSERT_NOT_NULL_MSG(test, zc,
				  "kmemlab_zc is not bound to the edu device (see the kernel log of probe())");
	return zc;
}

/* @pages of fresh, writable user memory in the test's address space. */
static unsigned long user_pages(struct kunit *test, int pages, unsigned long prot)
{
	unsigned long addr = kunit_vm_mmap(test, NULL, 0, pages * PAGE_SIZE, prot,
					   MAP_ANONYMOUS | MAP_PRIVATE, 0);

	KUNIT_ASSERT_NE_MSG(test, addr, 0, "kunit_vm_mmap() of %d pages failed", pages);
	return addr;
}

static u8 *pattern(struct kunit *test, size_t len, u8 seed)
{
	u8 *buf = kunit_kmalloc(test, len, GFP_KERNEL);
	size_t i;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, buf);
	for (i = 0; i < len; i++)
		buf[i] = (u8)(i * 5 + seed);
	return buf;
}

/* The user page under @uaddr, with a plain reference (not a pin). */
static struct page *page_at(struct kunit *test, unsigned long uaddr)
{
	struct page *page;

	KUNIT_ASSERT_EQ_MSG(test, get_user_pages_fast(uaddr, 1, 0, &page), 1,
			    "cannot look up the test's own page at %lx", uaddr);
	return page;
}

static void send_and_check(struct kunit *test, unsigned long uaddr, size_t len)
{
	struct kmemlab_zc *zc = bound_zc(test);
	u8 *want = pattern(test, len, (u8)uaddr);
	u8 *got = kunit_kzalloc(test, len, GFP_KERNEL);
	int ret;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, got);
	KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)uaddr, want, len), 0);
	ret = kmemlab_zc_xfer(zc, uaddr, len, true);
	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "sending %zu user bytes at %lx failed", len, uaddr);
	KUNIT_ASSERT_EQ(test, kmemlab_zc_dev_read(zc, got, len), 0);
	KUNIT_EXPECT_MEMEQ_MSG(test, got, want, len,
			       "the device buffer should hold the %zu user bytes sent", len);
}

static void fetch_and_check(struct kunit *test, unsigned long uaddr, size_t len)
{
	struct kmemlab_zc *zc = bound_zc(test);
	u8 *want = pattern(test, len, 77);
	u8 *got = kunit_kzalloc(test, len, GFP_KERNEL);
	int ret;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, got);
	KUNIT_ASSERT_EQ(test, kmemlab_zc_dev_write(zc, want, len), 0);
	ret = kmemlab_zc_xfer(zc, uaddr, len, false);
	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "fetching %zu bytes into user memory at %lx failed",
			    len, uaddr);
	KUNIT_ASSERT_EQ(test, copy_from_user(got, (void __user *)uaddr, len), 0);
	KUNIT_EXPECT_MEMEQ_MSG(test, got, want, len,
			       "user memory should hold the %zu bytes the device wrote", len);
}

static void xfer_to_device_delivers(struct kunit *test)
{
	send_and_check(test, user_pages(test, 1, PROT_READ | PROT_WRITE), 2048);
}

static void xfer_from_device_fills_user(struct kunit *test)
{
	fetch_and_check(test, user_pages(test, 1, PROT_READ | PROT_WRITE), 2048);
}

/* 3000 bytes from 1024 before a page boundary: two pages, two segments. */
static void xfer_across_pages(struct kunit *test)
{
	unsigned long uaddr = user_pages(test, 2, PROT_READ | PROT_WRITE);

	send_and_check(test, uaddr + PAGE_SIZE - 1024, 3000);
	fetch_and_check(test, uaddr + PAGE_SIZE - 1024, 3000);
}

static void xfer_whole_window(struct kunit *test)
{
	unsigned long uaddr = user_pages(test, 2, PROT_READ | PROT_WRITE);

	send_and_check(test, uaddr + 64, KMEMLAB_ZC_MAX);
	fetch_and_check(test, uaddr + 64, KMEMLAB_ZC_MAX);
}

static dma_addr_t zc_given_ram(void *zc)
{
	return kmemlab_zc_last_dma(zc);
}

/*
 * The device must have been given the user page itself: the bus address
 * of the transfer must lead to it. Without an IOMMU that address is the
 * page's physical address; behind one (the iommu run) an I/O virtual
 * address that leads there only while it is mapped, so it is followed
 * while the transfer runs (kmemlab_bus.h).
 */
static void xfer_is_zero_copy(struct kunit *test)
{
	struct kmemlab_zc *zc = bound_zc(test);
	struct device *dev = &kmemlab_zc_pci_dev(zc)->dev;
	unsigned long uaddr = user_pages(test, 1, PROT_READ | PROT_WRITE);
	struct kmemlab_bus_watch w;
	struct page *page;
	phys_addr_t want;
	int ret;

	KUNIT_ASSERT_EQ(test, clear_user((void __user *)uaddr, PAGE_SIZE), 0);
	page = page_at(test, uaddr);
	want = page_to_phys(page) + 128;
	put_page(page);
	KUNIT_ASSERT_EQ(test, kmemlab_bus_watch_start(&w, dev, zc_given_ram, zc), 0);
	ret = kmemlab_zc_xfer(zc, uaddr + 128, 1000, true);
	kmemlab_bus_watch_stop(&w);
	KUNIT_ASSERT_EQ(test, ret, 0);
	if (w.phys)
		kunit_info(test, "user page + 128 at CPU physical %pa%s, device given %pad%s\n", &want,
			   want >= BIT_ULL(28) ? " (above 2^28, out of edu's reach)" : "", &w.bus,
			   use_dma_iommu(dev) ? " (an I/O virtual address, which the IOMMU mapped to the user page)" :
			   " (no IOMMU: the physical address)");
	KUNIT_EXPECT_EQ_MSG(test, (u64)w.phys, (u64)want,
			    "while the transfer ran, the device held bus address %pad, which leads to %pa (0: to nothing, the device's access faults), not to the user's page at %pa: the data went through a copy, or the device was not given the DMA address",
			    w.phys ? &w.bus : &w.stray, &w.phys, &want);
}

/*
 * A user page above edu's 28-bit reach. Without an IOMMU the device cannot
 * address it, and the runs without one have 256 MiB, so no such page:
 * skipped there. Behind an IOMMU (the iommu run, 2 GiB) the page gets an
 * I/O virtual address below the device's mask, and the bytes go both ways.
 */
static void xfer_reaches_page_above_28_bits(struct kunit *test)
{
	struct kmemlab_zc *zc = bound_zc(test);
	struct device *dev = &kmemlab_zc_pci_dev(zc)->dev;
	const int pages = 512;
	unsigned long uaddr = user_pages(test, pages, PROT_READ | PROT_WRITE);
	unsigned long high = 0;
	struct kmemlab_bus_watch w;
	phys_addr_t phys = 0;
	struct page *page;
	int i, ret;

	/* Fault the pages in one by one until one lies above 2^28. */
	for (i = 0; i < pages && !high; i++) {
		KUNIT_ASSERT_EQ(test, clear_user((void __user *)(uaddr + i * PAGE_SIZE), PAGE_SIZE), 0);
		page = page_at(test, uaddr + i * PAGE_SIZE);
		if (page_to_phys(page) >= BIT_ULL(28)) {
			high = uaddr + i * PAGE_SIZE;
			phys = page_to_phys(page) + 64;
		}
		put_page(page);
	}
	if (!high)
		kunit_skip(test, "none of %d fresh user pages lies above 2^28 (the VM has %lu MiB)",
			   pages, totalram_pages() >> (20 - PAGE_SHIFT));
	KUNIT_ASSERT_EQ(test, kmemlab_bus_watch_start(&w, dev, zc_given_ram, zc), 0);
	ret = kmemlab_zc_xfer(zc, high + 64, 64, true);
	kmemlab_bus_watch_stop(&w);
	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "sending 64 bytes from a user page above 2^28 failed");
	kunit_info(test, "user page + 64 at CPU physical %pa (above edu's 2^28), device given %pad%s\n",
		   &phys, w.phys ? &w.bus : &w.stray,
		   w.phys == phys ? " (an I/O virtual address, which the IOMMU mapped to the user page)" : "");
	send_and_check(test, high + 64, 2048);
	fetch_and_check(test, high + 64, 2048);
}

static void xfer_unpins_pages(struct kunit *test)
{
	struct kmemlab_zc *zc = bound_zc(test);
	unsigned long uaddr = user_pages(test, 2, PROT_READ | PROT_WRITE);
	struct page *page;
	int dir, ret;

	KUNIT_ASSERT_EQ(test, clear_user((void __user *)uaddr, 2 * PAGE_SIZE), 0);
	for (dir = 0; dir < 2; dir++) {
		ret = kmemlab_zc_xfer(zc, uaddr + PAGE_SIZE - 512, 1024, dir);
		KUNIT_ASSERT_EQ_MSG(test, ret, 0, "1024 bytes %s the device across two pages failed",
				    dir ? "to" : "from");
		page = page_at(test, uaddr);
		KUNIT_EXPECT_FALSE_MSG(test, folio_maybe_dma_pinned(page_folio(page)),
				       "after a transfer %s the device, the first page is still pinned: unpin every page you pinned",
				       dir ? "to" : "from");
		put_page(page);
		page = page_at(test, uaddr + PAGE_SIZE);
		KUNIT_EXPECT_FALSE_MSG(test, folio_maybe_dma_pinned(page_folio(page)),
				       "after a transfer %s the device, the second page is still pinned",
				       dir ? "to" : "from");
		put_page(page);
	}
}

/*
 * struct zc_page_watch - a kernel thread that looks at one user page
 * every half millisecond while a transfer runs: whether it is pinned
 * (folio_maybe_dma_pinned(): a pin counts GUP_PIN_COUNTING_BIAS
 * references, a get_user_pages() reference one), and, with @clean, once
 * the device works on it (the driver's last bus address leads into it),
 * clears its dirty flag as writeback would (folio_clear_dirty_for_io()
 * under the folio lock).
 */
struct zc_page_watch {
	struct kmemlab_zc *zc;
	struct device *dev;
	struct folio *folio;
	phys_addr_t phys;	/* the page's physical address */
	bool clean;
	struct task_struct *task;
	bool pinned, cleaned;
};

static int zc_page_watch_fn(void *data)
{
	struct zc_page_watch *w = data;

	while (!kthread_should_stop()) {
		if (folio_maybe_dma_pinned(w->folio)) {
			WRITE_ONCE(w->pinned, true);
			if (w->clean && !w->cleaned &&
			    (kmemlab_bus_to_phys(w->dev, kmemlab_zc_last_dma(w->zc)) & PAGE_MASK) == w->phys &&
			    folio_trylock(w->folio)) {
				folio_clear_dirty_for_io(w->folio);
				folio_unlock(w->folio);
				WRITE_ONCE(w->cleaned, true);
			}
		}
		usleep_range(400, 600);
	}
	return 0;
}

/*
 * One transfer of @len bytes at @uaddr (in one page) with the page
 * watched; @page holds a reference for the watch. The device is first
 * sent 64 bytes from @other, so that its last bus address leads there,
 * not into this page, until this transfer runs.
 */
static int zc_watched_xfer(struct kunit *test, struct zc_page_watch *w, struct page *page,
			   unsigned long uaddr, size_t len, bool to_device, unsigned long other, bool clean)
{
	struct kmemlab_zc *zc = bound_zc(test);
	int ret;

	ret = kmemlab_zc_xfer(zc, other, 64, true);
	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "sending 64 bytes from a fresh page failed");
	*w = (struct zc_page_watch){ .zc = zc, .dev = &kmemlab_zc_pci_dev(zc)->dev,
				     .folio = page_folio(page), .phys = page_to_phys(page), .clean = clean };
	w->task = kthread_run(zc_page_watch_fn, w, "kmemlab_zc_watch");
	KUNIT_ASSERT_FALSE(test, IS_ERR(w->task));
	ret = kmemlab_zc_xfer(zc, uaddr, len, to_device);
	kthread_stop(w->task);
	return ret;
}

/*
 * The pages are pinned (FOLL_PIN), not merely referenced, while the device
 * works on them: only a pin tells the rest of the kernel that a device
 * may write the page behind the CPU's back. fork() then copies a pinned
 * anonymous page for the child at once instead of sharing it
 * (folio_needs_cow_for_dma(), include/linux/mm.h), and reclaim leaves it
 * alone; with a plain reference, the parent's next store after a fork()
 * gives it a new copy, and the device's bytes land in the child's.
 */
static void xfer_pins_pages_while_device_works(struct kunit *test)
{
	unsigned long uaddr = user_pages(test, 1, PROT_READ | PROT_WRITE);
	unsigned long other = user_pages(test, 1, PROT_READ | PROT_WRITE);
	struct zc_page_watch w;
	struct page *page;
	int dir, ret;

	KUNIT_ASSERT_EQ(test, clear_user((void __user *)uaddr, PAGE_SIZE), 0);
	KUNIT_ASSERT_EQ(test, clear_user((void __user *)other, PAGE_SIZE), 0);
	page = page_at(test, uaddr);
	for (dir = 1; dir >= 0; dir--) {
		ret = zc_watched_xfer(test, &w, page, uaddr, 1024, dir, other, false);
		KUNIT_EXPECT_EQ(test, ret, 0);
		KUNIT_EXPECT_TRUE_MSG(test, w.pinned,
				      "while the device worked %s the user page, the page was never pinned (folio_maybe_dma_pinned()): take the pages with pin_user_pages*() (FOLL_PIN), not get_user_pages*()",
				      dir ? "from" : "into");
	}
	put_page(page);
}

/*
 * The device's bytes reach the page behind the kernel's back, so the page
 * is marked dirty after the device wrote it, when it is unpinned, not
 * when it is pinned: writeback may clean a page meanwhile (here the watch
 * does, as writeback would), and a page marked dirty only before is then
 * clean with the device's bytes in it, which the kernel may drop. The
 * kernel's own direct I/O checks for exactly that (bio_check_pages_dirty()
 * in block/bio.c).
 */
static void xfer_dirties_pages_after_device_wrote(struct kunit *test)
{
	unsigned long uaddr = user_pages(test, 1, PROT_READ | PROT_WRITE);
	unsigned long other = user_pages(test, 1, PROT_READ | PROT_WRITE);
	struct zc_page_watch w;
	struct page *page;
	int ret;

	KUNIT_ASSERT_EQ(test, clear_user((void __user *)uaddr, PAGE_SIZE), 0);
	KUNIT_ASSERT_EQ(test, clear_user((void __user *)other, PAGE_SIZE), 0);
	page = page_at(test, uaddr);
	ret = zc_watched_xfer(test, &w, page, uaddr, 512, false, other, true);
	KUNIT_EXPECT_EQ(test, ret, 0);
	KUNIT_EXPECT_TRUE_MSG(test, w.cleaned,
			      "the page was never seen pinned while the device wrote it, so this case could not clean it");
	if (w.cleaned)
		KUNIT_EXPECT_TRUE_MSG(test, folio_test_dirty(page_folio(page)),
				      "the page was cleaned while the device wrote it (as writeback would) and is clean after the transfer: mark it dirty when you unpin it (unpin_user_pages_dirty_lock(..., true)), after the device wrote, not when you pin it");
	put_page(page);
}

/*
 * Each allocation of a fetch into one page never touched before fails in
 * turn: pinning it faults it in (a page table, the page, its anon_vma),
 * and the pin then fails with -ENOMEM, which the transfer passes on as
 * it is. One page: with two, a pin that got the first and failed on the
 * second is short, which the transfer reports as -EFAULT.
 */
static void xfer_pin_failure_passes_error_on(struct kunit *test)
{
	struct kmemlab_zc *zc = bound_zc(test);
	unsigned long uaddr;
	unsigned int nth, left;
	int ret;

	for (nth = 1; nth < 100; nth++) {
		uaddr = user_pages(test, 1, PROT_READ | PROT_WRITE);
		if (!radix_tree_preload(GFP_KERNEL))	/* see xfer_fault_injected_unwinds */
			radix_tree_preload_end();
		current->fail_nth = nth;
		ret = kmemlab_zc_xfer(zc, uaddr, 64, false);
		left = current->fail_nth;
		current->fail_nth = 0;
		if (left) {	/* no allocation failed: the transfer had fewer */
			KUNIT_EXPECT_EQ(test, ret, 0);
			break;
		}
		if (ret)
			KUNIT_EXPECT_EQ_MSG(test, ret, -ENOMEM,
					    "a fetch into a fresh page with allocation %u failing should fail with -ENOMEM: when pin_user_pages_fast() fails, pass its error on as it is",
					    nth);
	}
	KUNIT_EXPECT_LT_MSG(test, nth, 100, "the transfer still met an allocation after 100");
}

static void xfer_from_device_dirties_pages(struct kunit *test)
{
	struct kmemlab_zc *zc = bound_zc(test);
	unsigned long uaddr = user_pages(test, 1, PROT_READ | PROT_WRITE);
	struct page *page;
	u8 *want = pattern(test, 256, 1);
	int ret;

	/* A clean page: faulted in for reading, then made writable by the pin. */
	KUNIT_ASSERT_EQ(test, kmemlab_zc_dev_write(zc, want, 256), 0);
	ret = kmemlab_zc_xfer(zc, uaddr, 256, false);
	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "fetching 256 bytes into a fresh page failed");
	page = page_at(test, uaddr);
	KUNIT_EXPECT_TRUE_MSG(test, folio_test_dirty(page_folio(page)),
			      "the device wrote this page: unpin it with unpin_user_pages_dirty_lock(..., true)");
	put_page(page);
}

/*
 * The converse: a page the device only read stays as clean as it was. A
 * page dirtied for nothing is written back for nothing, and for a file
 * mapped read-only (pinned without FOLL_WRITE, so the file system never
 * heard of a write) that is a write the file system did not prepare for.
 * The kernel's own direct I/O dirties user pages only when the device
 * wrote them (fs/iomap/direct-io.c).
 */
static void xfer_to_device_leaves_pages_clean(struct kunit *test)
{
	struct kmemlab_zc *zc = bound_zc(test);
	unsigned long uaddr = user_pages(test, 1, PROT_READ | PROT_WRITE);
	u8 *want = pattern(test, 256, 3);
	struct page *page;
	bool dirty;
	int ret;

	/* A store maps a fresh page: its pte is dirty, the page itself not. */
	KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)uaddr, want, 256), 0);
	page = page_at(test, uaddr);
	dirty = folio_test_dirty(page_folio(page));
	put_page(page);
	if (dirty)
		kunit_skip(test, "a freshly stored anonymous page is already marked dirty here");
	ret = kmemlab_zc_xfer(zc, uaddr, 256, true);
	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "sending 256 bytes from a page just written failed");
	page = page_at(test, uaddr);
	KUNIT_EXPECT_FALSE_MSG(test, folio_test_dirty(page_folio(page)),
			       "the device only read this page, yet it is marked dirty after the transfer: make_dirty only when the device wrote");
	put_page(page);
}

/* Fetching into never-touched memory must not write the shared zero page. */
static void xfer_from_device_into_fresh_memory(struct kunit *test)
{
	struct kmemlab_zc *zc = bound_zc(test);
	unsigned long target = user_pages(test, 1, PROT_READ | PROT_WRITE);
	unsigned long other = user_pages(test, 1, PROT_READ | PROT_WRITE);
	u8 *want = pattern(test, 512, 9);
	u8 *got = kunit_kzalloc(test, 512, GFP_KERNEL);
	u8 probe;
	int ret;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, got);
	/* Reading both maps them to the zero page. */
	KUNIT_ASSERT_EQ(test, get_user(probe, (u8 __user *)target), 0);
	KUNIT_ASSERT_EQ(test, get_user(probe, (u8 __user *)other), 0);
	KUNIT_ASSERT_EQ(test, kmemlab_zc_dev_write(zc, want, 512), 0);
	ret = kmemlab_zc_xfer(zc, target, 512, false);
	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "fetching 512 bytes into never-touched memory failed");
	KUNIT_ASSERT_EQ(test, copy_from_user(got, (void __user *)target, 512), 0);
	KUNIT_EXPECT_MEMEQ_MSG(test, got, want, 512,
			       "the fetched bytes should be in the user's buffer");
	KUNIT_ASSERT_EQ(test, copy_from_user(got, (void __user *)other, 512), 0);
	KUNIT_EXPECT_NULL_MSG(test, memchr_inv(got, 0, 512),
			      "another untouched buffer no longer reads zeros: the device wrote the shared zero page (pin with FOLL_WRITE when the device writes)");
}

/*
 * Too long is refused before anything moves. From 64 bytes into a page,
 * KMEMLAB_ZC_MAX + 1 bytes make a first segment that fits the device
 * buffer: a driver that left the limit to the segments' own check
 * (zc_dma_run()) would run that one first, and fail only at the next.
 * The ioctl passes lengths up to 2^32 - 1.
 */
static long first_difference(const u8 *got, const u8 *want, size_t len);

/*
 * Two pages of user memory, faulted in, whose frames are not one after
 * the other: sg_alloc_table_from_pages() cannot merge them, so a buffer
 * across them is two DMA segments. Faulting the second page first, or
 * the first, gives such a pair within a few tries whichever way the page
 * allocator hands frames out.
 */
static unsigned long two_pages_apart(struct kunit *test)
{
	unsigned long uaddr;
	struct page *a, *b;
	bool apart;
	int i;

	for (i = 0; i < 8; i++) {
		uaddr = user_pages(test, 2, PROT_READ | PROT_WRITE);
		KUNIT_ASSERT_EQ(test, clear_user((void __user *)(uaddr + (i & 1 ? 0 : PAGE_SIZE)), PAGE_SIZE), 0);
		KUNIT_ASSERT_EQ(test, clear_user((void __user *)(uaddr + (i & 1 ? PAGE_SIZE : 0)), PAGE_SIZE), 0);
		a = page_at(test, uaddr);
		b = page_at(test, uaddr + PAGE_SIZE);
		apart = page_to_pfn(b) != page_to_pfn(a) + 1;
		put_page(a);
		put_page(b);
		if (apart)
			return uaddr;
	}
	KUNIT_FAIL_AND_ABORT(test, "8 pairs of fresh user pages all lay one after the other in RAM");
	return 0;
}

static void xfer_rejects_bad_length(struct kunit *test)
{
	struct kmemlab_zc *zc = bound_zc(test);
	unsigned long uaddr = two_pages_apart(test);
	u8 *dev = pattern(test, KMEMLAB_ZC_MAX, 41);
	u8 *user = pattern(test, 2 * PAGE_SIZE, 43);
	u8 *got = kunit_kzalloc(test, 2 * PAGE_SIZE, GFP_KERNEL);
	long bad;
	int dir;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, got);
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_zc_xfer(zc, uaddr, KMEMLAB_ZC_MAX + 1, true), -EINVAL,
			    "a transfer longer than the device buffer should fail with -EINVAL");
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_zc_xfer(zc, uaddr, 0, true), -EINVAL,
			    "an empty transfer should fail with -EINVAL");
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_zc_xfer(zc, uaddr, U32_MAX, true), -EINVAL,
			    "a transfer of 2^32 - 1 bytes (what the ioctl can ask) should fail with -EINVAL, before any allocation");
	for (dir = 1; dir >= 0; dir--) {
		KUNIT_ASSERT_EQ(test, kmemlab_zc_dev_write(zc, dev, KMEMLAB_ZC_MAX), 0);
		KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)uaddr, user, 2 * PAGE_SIZE), 0);
		KUNIT_EXPECT_EQ_MSG(test, kmemlab_zc_xfer(zc, uaddr + 64, KMEMLAB_ZC_MAX + 1, dir), -EINVAL,
				    "%d bytes %s the device from 64 bytes into a page should fail with -EINVAL",
				    KMEMLAB_ZC_MAX + 1, dir ? "to" : "from");
		/* (A first difference, not KUNIT_EXPECT_MEMEQ: its hex dump of
		 * pages of bytes takes KUnit seconds to format.) */
		if (dir) {
			KUNIT_ASSERT_EQ(test, kmemlab_zc_dev_read(zc, got, KMEMLAB_ZC_MAX), 0);
			bad = first_difference(got, dev, KMEMLAB_ZC_MAX);
			KUNIT_EXPECT_EQ_MSG(test, bad, -1,
					    "a send refused as too long changed device byte %ld: check the whole length (KMEMLAB_ZC_MAX) before any transfer runs",
					    bad);
		} else {
			KUNIT_ASSERT_EQ(test, copy_from_user(got, (void __user *)uaddr, 2 * PAGE_SIZE), 0);
			bad = first_difference(got, user, 2 * PAGE_SIZE);
			KUNIT_EXPECT_EQ_MSG(test, bad, -1,
					    "a fetch refused as too long changed user byte %ld of the buffer's pages: check the whole length (KMEMLAB_ZC_MAX) before any transfer runs",
					    bad);
		}
	}
	KUNIT_EXPECT_EQ(test, kmemlab_zc_xfer(zc, uaddr, 64, true), 0);
}

/*
 * A buffer that ends exactly at a page boundary takes no page past it:
 * here the next page is not mapped at all.
 */
static void xfer_ends_at_page_boundary(struct kunit *test)
{
	unsigned long uaddr = user_pages(test, 2, PROT_READ | PROT_WRITE);

	KUNIT_ASSERT_EQ(test, clear_user((void __user *)uaddr, PAGE_SIZE), 0);
	KUNIT_ASSERT_EQ(test, vm_munmap(uaddr + PAGE_SIZE, PAGE_SIZE), 0);
	send_and_check(test, uaddr + PAGE_SIZE - 64, 64);
	fetch_and_check(test, uaddr + PAGE_SIZE - 64, 64);
	send_and_check(test, uaddr, PAGE_SIZE - 1);
}

static void xfer_rejects_unaligned(struct kunit *test)
{
	struct kmemlab_zc *zc = bound_zc(test);
	unsigned long uaddr = user_pages(test, 1, PROT_READ | PROT_WRITE);

	KUNIT_EXPECT_EQ_MSG(test, kmemlab_zc_xfer(zc, uaddr + 1, 64, true), -EINVAL,
			    "a buffer not on a %d-byte boundary should fail with -EINVAL",
			    KMEMLAB_ZC_ALIGN);
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_zc_xfer(zc, uaddr + 32, 64, false), -EINVAL,
			    "a buffer not on a %d-byte boundary should fail with -EINVAL",
			    KMEMLAB_ZC_ALIGN);
	KUNIT_EXPECT_EQ(test, kmemlab_zc_xfer(zc, uaddr + KMEMLAB_ZC_ALIGN, 64, true), 0);
}

static void xfer_rejects_unmapped(struct kunit *test)
{
	struct kmemlab_zc *zc = bound_zc(test);
	unsigned long uaddr = user_pages(test, 2, PROT_READ | PROT_WRITE);
	struct page *page;

	KUNIT_ASSERT_EQ(test, clear_user((void __user *)uaddr, PAGE_SIZE), 0);
	/* The second page goes away: the buffer runs into a hole. */
	KUNIT_ASSERT_EQ(test, vm_munmap(uaddr + PAGE_SIZE, PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_zc_xfer(zc, uaddr + PAGE_SIZE, 64, true), -EFAULT,
			    "a buffer in unmapped memory should fail with -EFAULT");
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_zc_xfer(zc, uaddr + PAGE_SIZE - 1024, 2048, false), -EFAULT,
			    "a buffer running into unmapped memory should fail with -EFAULT");
	page = page_at(test, uaddr);
	KUNIT_EXPECT_FALSE_MSG(test, folio_maybe_dma_pinned(page_folio(page)),
			       "after a failed pin, the pages that were pinned must be unpinned");
	put_page(page);
}

static void xfer_rejects_readonly_for_fetch(struct kunit *test)
{
	struct kmemlab_zc *zc = bound_zc(test);
	unsigned long uaddr = user_pages(test, 1, PROT_READ);

	KUNIT_EXPECT_EQ_MSG(test, kmemlab_zc_xfer(zc, uaddr, 64, false), -EFAULT,
			    "the device may not write into read-only user memory: -EFAULT");
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_zc_xfer(zc, uaddr, 64, true), 0,
			    "sending from read-only user memory is fine");
}

/*
 * Lengths that are not a power of two (1, a cache line less one, odd),
 * buffers that start at the last cache line of a page and run into the
 * next one, the longest transfer from there: exactly @len bytes move, at
 * the start of the device buffer, and nothing around them.
 */
struct zc_range {
	unsigned int off;	/* in the first of two user pages, 64-aligned */
	size_t len;
};

static const struct zc_range zc_ranges[] = {
	{ 0, 1 }, { 64, 63 }, { PAGE_SIZE - 64, 129 }, { PAGE_SIZE - 64, KMEMLAB_ZC_MAX },
	{ 192, 3001 },
};

static void zc_range_desc(const struct zc_range *r, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%zu bytes at page offset %u", r->len, r->off);
}

KUNIT_ARRAY_PARAM(zc_range, zc_ranges, zc_range_desc);

/* The first byte of @got that differs from @want, or -1. */
static long first_difference(const u8 *got, const u8 *want, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (got[i] != want[i])
			return i;
	return -1;
}

static void xfer_to_device_exact(struct kunit *test)
{
	const struct zc_range *r = test->param_value;
	struct kmemlab_zc *zc = bound_zc(test);
	unsigned long uaddr = user_pages(test, 2, PROT_READ | PROT_WRITE);
	u8 *user = pattern(test, 2 * PAGE_SIZE, 3);
	u8 *want = kunit_kmalloc(test, KMEMLAB_ZC_MAX, GFP_KERNEL);
	u8 *got = kunit_kzalloc(test, KMEMLAB_ZC_MAX, GFP_KERNEL);
	long bad;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, want);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, got);
	memset(want, 0xa5, KMEMLAB_ZC_MAX);
	KUNIT_ASSERT_EQ(test, kmemlab_zc_dev_write(zc, want, KMEMLAB_ZC_MAX), 0);
	KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)uaddr, user, 2 * PAGE_SIZE), 0);
	memcpy(want, user + r->off, r->len);

	KUNIT_ASSERT_EQ_MSG(test, kmemlab_zc_xfer(zc, uaddr + r->off, r->len, true), 0,
			    "sending %zu user bytes at page offset %u failed", r->len, r->off);
	KUNIT_ASSERT_EQ(test, kmemlab_zc_dev_read(zc, got, KMEMLAB_ZC_MAX), 0);
	bad = first_difference(got, want, KMEMLAB_ZC_MAX);
	KUNIT_EXPECT_EQ_MSG(test, bad, -1,
			    "after sending %zu bytes from page offset %u, device byte %ld is %#x, expected %#x (%s)",
			    r->len, r->off, bad, bad < 0 ? 0 : got[bad], bad < 0 ? 0 : want[bad],
			    bad >= (long)r->len ? "past the transfer: only len bytes may move" :
			    "one of the user's bytes, at the device offset the segments add up to");
}

static void xfer_from_device_exact(struct kunit *test)
{
	const struct zc_range *r = test->param_value;
	struct kmemlab_zc *zc = bound_zc(test);
	unsigned long uaddr = user_pages(test, 2, PROT_READ | PROT_WRITE);
	u8 *dev = pattern(test, KMEMLAB_ZC_MAX, 71);
	u8 *want = kunit_kmalloc(test, 2 * PAGE_SIZE, GFP_KERNEL);
	u8 *got = kunit_kzalloc(test, 2 * PAGE_SIZE, GFP_KERNEL);
	size_t i;
	long bad;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, want);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, got);
	KUNIT_ASSERT_EQ(test, kmemlab_zc_dev_write(zc, dev, KMEMLAB_ZC_MAX), 0);
	/* The user's old bytes differ from the device's, byte for byte. */
	for (i = 0; i < 2 * PAGE_SIZE; i++)
		want[i] = ~(u8)((i - r->off) * 5 + 71);
	KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)uaddr, want, 2 * PAGE_SIZE), 0);
	memcpy(want + r->off, dev, r->len);

	KUNIT_ASSERT_EQ_MSG(test, kmemlab_zc_xfer(zc, uaddr + r->off, r->len, false), 0,
			    "fetching %zu bytes into user memory at page offset %u failed",
			    r->len, r->off);
	KUNIT_ASSERT_EQ(test, copy_from_user(got, (void __user *)uaddr, 2 * PAGE_SIZE), 0);
	bad = first_difference(got, want, 2 * PAGE_SIZE);
	KUNIT_EXPECT_EQ_MSG(test, bad, -1,
			    "after fetching %zu bytes to page offset %u, user byte %ld is %#x, expected %#x (%s)",
			    r->len, r->off, bad, bad < 0 ? 0 : got[bad], bad < 0 ? 0 : want[bad],
			    bad >= 0 && (bad < r->off || bad >= r->off + r->len) ?
			    "outside the buffer: only [addr, addr + len) may change" :
			    "inside the buffer: not the device's byte");
}

/* Both user pages of a transfer at PAGE_SIZE - 512: pinned or not? */
static bool any_pinned(struct kunit *test, unsigned long uaddr)
{
	struct page *page;
	bool pinned = false;
	int i;

	for (i = 0; i < 2; i++) {
		page = page_at(test, uaddr + i * PAGE_SIZE);
		pinned |= folio_maybe_dma_pinned(page_folio(page));
		put_page(page);
	}
	return pinned;
}

/*
 * Each allocation of a transfer fails in turn (the kernel's fault
 * injection: the n-th allocation of this task fails): the transfer fails
 * with -ENOMEM, pins nothing for good and moves no byte, until one meets
 * no fault and moves the right bytes. Leaks show in the leak check.
 */
static void xfer_fault_injected_unwinds(struct kunit *test)
{
	struct kmemlab_zc *zc = bound_zc(test);
	unsigned long uaddr = user_pages(test, 2, PROT_READ | PROT_WRITE);
	unsigned long buf = uaddr + PAGE_SIZE - 512;
	u8 *want = pattern(test, 1024, 13);
	u8 *old = kunit_kzalloc(test, 1024, GFP_KERNEL);
	u8 *got = kunit_kzalloc(test, 1024, GFP_KERNEL);
	unsigned int nth, left;
	int dir, ret;

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, old);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, got);
	for (dir = 1; dir >= 0; dir--) {
		for (nth = 1; nth < 100; nth++) {
			/* Device and user memory hold different bytes. */
			KUNIT_ASSERT_EQ(test, kmemlab_zc_dev_write(zc, dir ? old : want, 1024), 0);
			KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)buf, dir ? want : old, 1024), 0);
			/*
			 * Fill this CPU's reserve of radix-tree nodes first. On
			 * the debug kernels the DMA-API checker tracks each
			 * from-device mapping in a radix tree whose GFP_ATOMIC
			 * node allocation the injected fault may hit, and with
			 * no node in reserve (radix_tree_node_alloc() falls
			 * back on it) it disables itself with "DMA-API:
			 * cacheline tracking ENOMEM" (kernel/dma/debug.c): a
			 * report of the test's making, not the driver's, and
			 * no more checking after it.
			 */
			if (!radix_tree_preload(GFP_KERNEL))
				radix_tree_preload_end();
			current->fail_nth = nth;
			ret = kmemlab_zc_xfer(zc, buf, 1024, dir);
			left = current->fail_nth;
			current->fail_nth = 0;
			if (ret && !left)
				KUNIT_EXPECT_EQ_MSG(test, ret, -ENOMEM,
						    "with allocation %u failing, a transfer %s the device should fail with -ENOMEM",
						    nth, dir ? "to" : "from");
			else
				KUNIT_EXPECT_EQ_MSG(test, ret, 0,
						    "a transfer %s the device failed although no allocation did",
						    dir ? "to" : "from");
			KUNIT_EXPECT_FALSE_MSG(test, any_pinned(test, uaddr),
					       "after a transfer %s the device with allocation %u failing (returned %d), a user page is still pinned",
					       dir ? "to" : "from", nth, ret);
			if (dir)
				KUNIT_ASSERT_EQ(test, kmemlab_zc_dev_read(zc, got, 1024), 0);
			else
				KUNIT_ASSERT_EQ(test, copy_from_user(got, (void __user *)buf, 1024), 0);
			KUNIT_EXPECT_MEMEQ_MSG(test, got, ret ? old : want, 1024,
					       "a transfer %s the device with allocation %u failing returned %d, and the destination holds %s",
					       dir ? "to" : "from", nth, ret,
					       ret ? "changed bytes" : "other bytes than the source");
			if (left)
				break;	/* the transfer had fewer allocations than nth */
		}
		KUNIT_EXPECT_LT_MSG(test, nth, 100, "the transfer still met an allocation after 100");
	}
}

static struct kunit_case kmemlab_zc_test_cases[] = {
	KUNIT_CASE(xfer_to_device_delivers),
	KUNIT_CASE(xfer_from_device_fills_user),
	KUNIT_CASE(xfer_across_pages),
	KUNIT_CASE(xfer_whole_window),
	KUNIT_CASE(xfer_is_zero_copy),
	KUNIT_CASE(xfer_reaches_page_above_28_bits),
	KUNIT_CASE(xfer_unpins_pages),
	KUNIT_CASE(xfer_pins_pages_while_device_works),
	KUNIT_CASE(xfer_from_device_dirties_pages),
	KUNIT_CASE(xfer_dirties_pages_after_device_wrote),
	KUNIT_CASE(xfer_to_device_leaves_pages_clean),
	KUNIT_CASE(xfer_rejects_bad_length),
	KUNIT_CASE(xfer_ends_at_page_boundary),
	KUNIT_CASE(xfer_rejects_unaligned),
	KUNIT_CASE(xfer_rejects_unmapped),
	KUNIT_CASE(xfer_rejects_readonly_for_fetch),
	KUNIT_CASE_PARAM(xfer_to_device_exact, zc_range_gen_params),
	KUNIT_CASE_PARAM(xfer_from_device_exact, zc_range_gen_params),
	KUNIT_CASE(xfer_fault_injected_unwinds),
	KUNIT_CASE(xfer_pin_failure_passes_error_on),
	/* Last: a driver that fails it corrupts every zero page after it. */
	KUNIT_CASE(xfer_from_device_into_fresh_memory),
	{}
};

static struct kunit_suite kmemlab_zc_test_suite = {
	.name = "kmemlab_zc",
	.test_cases = kmemlab_zc_test_cases,
};
kunit_test_suite(kmemlab_zc_test_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit tests for kmemlab lab 08");
