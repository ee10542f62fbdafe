// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite for lab 08: zero-copy DMA between user memory and the edu
 * device. Each case maps user memory into the test's own address space
 * with kunit_vm_mmap(), calls kmemlab_zc_xfer() on it, and checks the
 * data on the other side through the driver's copy path, which is given.
 */
#include <kunit/test.h>
#include <linux/dma-mapping.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/pci.h>
#include <linux/uaccess.h>

#include "kmemlab_zc.h"

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

/* The device must have been given the user page itself. */
static void xfer_is_zero_copy(struct kunit *test)
{
	struct kmemlab_zc *zc = bound_zc(test);
	unsigned long uaddr = user_pages(test, 1, PROT_READ | PROT_WRITE);
	struct page *page;
	phys_addr_t want;

	KUNIT_ASSERT_EQ(test, clear_user((void __user *)uaddr, PAGE_SIZE), 0);
	KUNIT_ASSERT_EQ(test, kmemlab_zc_xfer(zc, uaddr + 128, 1000, true), 0);
	page = page_at(test, uaddr);
	want = page_to_phys(page) + 128;
	put_page(page);
	KUNIT_EXPECT_EQ_MSG(test, (u64)kmemlab_zc_last_dma(zc), (u64)want,
			    "the device read from bus address %pad, not from the user's page (%pa): the data went through a copy",
			    &(dma_addr_t){ kmemlab_zc_last_dma(zc) }, &want);
}

static void xfer_unpins_pages(struct kunit *test)
{
	struct kmemlab_zc *zc = bound_zc(test);
	unsigned long uaddr = user_pages(test, 2, PROT_READ | PROT_WRITE);
	struct page *page;
	int dir;

	KUNIT_ASSERT_EQ(test, clear_user((void __user *)uaddr, 2 * PAGE_SIZE), 0);
	for (dir = 0; dir < 2; dir++) {
		KUNIT_ASSERT_EQ(test, kmemlab_zc_xfer(zc, uaddr + PAGE_SIZE - 512, 1024, dir), 0);
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

static void xfer_from_device_dirties_pages(struct kunit *test)
{
	struct kmemlab_zc *zc = bound_zc(test);
	unsigned long uaddr = user_pages(test, 1, PROT_READ | PROT_WRITE);
	struct page *page;
	u8 *want = pattern(test, 256, 1);

	/* A clean page: faulted in for reading, then made writable by the pin. */
	KUNIT_ASSERT_EQ(test, kmemlab_zc_dev_write(zc, want, 256), 0);
	KUNIT_ASSERT_EQ(test, kmemlab_zc_xfer(zc, uaddr, 256, false), 0);
	page = page_at(test, uaddr);
	KUNIT_EXPECT_TRUE_MSG(test, folio_test_dirty(page_folio(page)),
			      "the device wrote this page: unpin it with unpin_user_pages_dirty_lock(..., true)");
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

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, got);
	/* Reading both maps them to the zero page. */
	KUNIT_ASSERT_EQ(test, get_user(probe, (u8 __user *)target), 0);
	KUNIT_ASSERT_EQ(test, get_user(probe, (u8 __user *)other), 0);
	KUNIT_ASSERT_EQ(test, kmemlab_zc_dev_write(zc, want, 512), 0);
	KUNIT_ASSERT_EQ(test, kmemlab_zc_xfer(zc, target, 512, false), 0);
	KUNIT_ASSERT_EQ(test, copy_from_user(got, (void __user *)target, 512), 0);
	KUNIT_EXPECT_MEMEQ_MSG(test, got, want, 512,
			       "the fetched bytes should be in the user's buffer");
	KUNIT_ASSERT_EQ(test, copy_from_user(got, (void __user *)other, 512), 0);
	KUNIT_EXPECT_NULL_MSG(test, memchr_inv(got, 0, 512),
			      "another untouched buffer no longer reads zeros: the device wrote the shared zero page (pin with FOLL_WRITE when the device writes)");
}

static void xfer_rejects_bad_length(struct kunit *test)
{
	struct kmemlab_zc *zc = bound_zc(test);
	unsigned long uaddr = user_pages(test, 2, PROT_READ | PROT_WRITE);

	KUNIT_EXPECT_EQ_MSG(test, kmemlab_zc_xfer(zc, uaddr, KMEMLAB_ZC_MAX + 1, true), -EINVAL,
			    "a transfer longer than the device buffer should fail with -EINVAL");
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_zc_xfer(zc, uaddr, 0, true), -EINVAL,
			    "an empty transfer should fail with -EINVAL");
	KUNIT_EXPECT_EQ(test, kmemlab_zc_xfer(zc, uaddr, 64, true), 0);
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

static struct kunit_case kmemlab_zc_test_cases[] = {
	KUNIT_CASE(xfer_to_device_delivers),
	KUNIT_CASE(xfer_from_device_fills_user),
	KUNIT_CASE(xfer_across_pages),
	KUNIT_CASE(xfer_whole_window),
	KUNIT_CASE(xfer_is_zero_copy),
	KUNIT_CASE(xfer_unpins_pages),
	KUNIT_CASE(xfer_from_device_dirties_pages),
	KUNIT_CASE(xfer_rejects_bad_length),
	KUNIT_CASE(xfer_rejects_unaligned),
	KUNIT_CASE(xfer_rejects_unmapped),
	KUNIT_CASE(xfer_rejects_readonly_for_fetch),
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
