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
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "kmemlab_kmap.h"

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

/* A page from where GFP_HIGHUSER leads, freed when the case ends. */
static struct page *high_page(struct kunit *test)
{
	struct page *page = alloc_page(GFP_HIGHUSER);

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

/* Set every byte of @page to @val, through our own mapping. */
static void fill(struct page *page, u8 val)
{
	void *addr = kmap_local_page(page);

	memset(addr, val, PAGE_SIZE);
	kunmap_local(addr);
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

static unsigned long user_buf(struct kunit *test)
{
	unsigned long ubuf;

	ubuf = kunit_vm_mmap(test, NULL, 0, PAGE_SIZE, PROT_READ | PROT_WRITE,
			     MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_FALSE_MSG(test, !ubuf || IS_ERR_VALUE(ubuf), "kunit_vm_mmap() failed");
	return ubuf;
}

static void page_to_user_copies_range(struct kunit *test)
{
	unsigned long ubuf = user_buf(test);
	struct page *page = high_page(test);
	int depth = kmap_local_depth();
	u8 *got;

	got = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, got);
	fill(page, 0xab);
	KUNIT_ASSERT_EQ(test, clear_user((void __user *)ubuf, PAGE_SIZE), 0UL);

	KUNIT_ASSERT_EQ_MSG(test, kmemlab_page_to_user((void __user *)ubuf + 100, page, 300, 200), 0,
			    "copying 200 bytes to a writable user buffer should succeed");
	KUNIT_EXPECT_EQ_MSG(test, kmap_local_depth(), depth,
			    "kmemlab_page_to_user() left a kmap_local mapping behind");
	KUNIT_ASSERT_EQ(test, copy_from_user(got, (void __user *)ubuf, PAGE_SIZE), 0UL);
	KUNIT_EXPECT_TRUE_MSG(test, !memchr_inv(got + 100, 0xab, 200),
			      "user bytes 100-299 should hold the page's bytes");
	KUNIT_EXPECT_TRUE_MSG(test, !memchr_inv(got, 0, 100) && !memchr_inv(got + 300, 0, PAGE_SIZE - 300),
			      "nothing outside the 200 bytes asked for may be written");
}

static void page_from_user_copies_range(struct kunit *test)
{
	unsigned long ubuf = user_buf(test);
	struct page *page = high_page(test);
	int depth = kmap_local_depth();

	fill(page, 0);
	KUNIT_ASSERT_EQ(test, clear_user((void __user *)ubuf, PAGE_SIZE), 0UL);
	KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)ubuf, "0123456789", 10), 0UL);

	KUNIT_ASSERT_EQ_MSG(test, kmemlab_page_from_user(page, PAGE_SIZE - 10, (void __user *)ubuf, 10), 0,
			    "copying the last 10 bytes of the page from user memory should succeed");
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

static void page_user_copy_rejects_bad_range(struct kunit *test)
{
	unsigned long ubuf = user_buf(test);
	struct page *page = high_page(test);
	int depth = kmap_local_depth();
	void __user *u = (void __user *)ubuf;

	KUNIT_EXPECT_EQ_MSG(test, kmemlab_page_to_user(u, page, PAGE_SIZE - 4, 8), -EINVAL,
			    "bytes 4092-4099 are not all in the page");
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_page_from_user(page, 8, u, SIZE_MAX - 4), -EINVAL,
			    "off + len overflows: the range must still be refused");
	KUNIT_ASSERT_EQ(test, vm_munmap(ubuf, PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_page_to_user(u, page, 0, 16), -EFAULT,
			    "the user buffer was unmapped: copy_to_user() fails, return -EFAULT");
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_page_from_user(page, 0, u, 16), -EFAULT,
			    "the user buffer was unmapped: copy_from_user() fails, return -EFAULT");
	KUNIT_EXPECT_EQ_MSG(test, kmap_local_depth(), depth,
			    "a failed copy left a kmap_local mapping behind: unmap on every path");
}

static struct kunit_case kmemlab_kmap_test_cases[] = {
	KUNIT_CASE(alloc_high_gives_unmapped_page),
	KUNIT_CASE(fill_page_writes_every_byte),
	KUNIT_CASE(copy_high_copies_page),
	KUNIT_CASE(kmap_keep_survives_sleep),
	KUNIT_CASE(page_to_user_copies_range),
	KUNIT_CASE(page_from_user_copies_range),
	KUNIT_CASE(page_user_copy_rejects_bad_range),
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
