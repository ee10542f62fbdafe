// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite for lab 09: map the driver's two devices into a throwaway
 * user address space (kunit_vm_mmap()) and compare what their page tables
 * hold with what the kernel itself says about the memory behind them:
 * BAR0's physical range from the PCI core, the reserved range from the
 * resource tree (/proc/iomem), which of them is claimed (busy), the frame
 * and cache bits of every pte, the flags of every VMA. Every request a
 * hostile process could make (offsets that wrap, lengths that reach past
 * the end) must be refused.
 *
 * The reserved range is the one the driver was given (its parameters
 * mem_address and mem_size, read from sysfs); the suite first checks that
 * the kernel really reserved it at boot.
 */
#include <kunit/test.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/ioport.h>
#include <linux/kstrtox.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/pci.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <asm/pgtable.h>

#include "kmemlab_devmem.h"

KUNIT_DEFINE_ACTION_WRAPPER(fput_action, fput, struct file *);
KUNIT_DEFINE_ACTION_WRAPPER(pci_dev_put_action, pci_dev_put, struct pci_dev *);

/* A memory range as the kernel reports it. */
struct devrange {
	unsigned long start, size;
	const char *what;	/* "BAR0", "the reserved range" */
	const char *node;	/* the driver's device node for it */
};

static struct pci_dev *edu_pdev(struct kunit *test)
{
	struct pci_dev *pdev = pci_get_device(EDU_VENDOR_ID, EDU_DEVICE_ID, NULL);

	KUNIT_ASSERT_NOT_NULL_MSG(test, pdev, "the VM has no edu device (1234:11e8)");
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, pci_dev_put_action, pdev));
	return pdev;
}

/* BAR0 of edu, from the PCI core. */
static struct devrange bar_range(struct kunit *test)
{
	struct pci_dev *pdev = edu_pdev(test);
	struct devrange r = {
		.start = pci_resource_start(pdev, 0),
		.size = pci_resource_len(pdev, 0),
		.what = "BAR0",
		.node = KMEMLAB_DEVMEM_BAR_DEV,
	};

	KUNIT_ASSERT_TRUE_MSG(test, r.size && PAGE_ALIGNED(r.start) && PAGE_ALIGNED(r.size),
			      "edu's BAR0 should be whole pages, the PCI core says %pR",
			      &pdev->resource[0]);
	return r;
}

/* A parameter of the loaded driver, from /sys/module/.../parameters. */
static unsigned long driver_param(struct kunit *test, const char *name)
{
	char path[96], buf[32] = "";
	unsigned long val = 0;
	struct file *f;
	loff_t pos = 0;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/module/%s/parameters/%s",
		 KMEMLAB_DEVMEM_DRIVER, name);
	f = filp_open(path, O_RDONLY, 0);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(f), "cannot open %s (error %ld): is %s loaded?",
			       path, PTR_ERR(f), KMEMLAB_DEVMEM_DRIVER);
	n = kernel_read(f, buf, sizeof(buf) - 1, &pos);
	fput(f);
	KUNIT_ASSERT_GT_MSG(test, n, 0, "reading %s failed with %zd", path, n);
	buf[n] = '\0';
	KUNIT_ASSERT_EQ_MSG(test, kstrtoul(strim(buf), 0, &val), 0,
			    "%s holds '%s', not a number", path, buf);
	return val;
}

struct coverage {
	unsigned long bytes;
};

static int add_bytes(struct resource *res, void *arg)
{
	((struct coverage *)arg)->bytes += resource_size(res);
	return 0;
}

/*
 * How many bytes of @r are covered by resources with all of @flags (and
 * descriptor @desc, or any with IORES_DESC_NONE), as the resource tree
 * behind /proc/iomem holds them.
 */
static unsigned long covered(const struct devrange *r, unsigned long flags,
			     unsigned long desc)
{
	struct coverage c = { 0 };

	walk_iomem_res_desc(desc, flags, r->start, r->start + r->size - 1, &c, add_bytes);
	return c.bytes;
}

/*
 * The range the driver was given, asserted to be one the kernel kept
 * for itself at boot: "Reserved" in /proc/iomem, no System RAM in it.
 */
static struct devrange ram_range(struct kunit *test)
{
	struct devrange r = {
		.start = driver_param(test, "mem_address"),
		.size = driver_param(test, "mem_size"),
		.what = "the reserved range",
		.node = KMEMLAB_DEVMEM_RAM_DEV,
	};

	KUNIT_ASSERT_NE_MSG(test, r.size, 0, "the driver was loaded without mem_size");
	KUNIT_ASSERT_EQ_MSG(test, covered(&r, IORESOURCE_MEM, IORES_DESC_RESERVED), r.size,
			    "[mem %#lx-%#lx] should be Reserved in /proc/iomem: is memmap=%#lx$%#lx on the kernel command line?",
			    r.start, r.start + r.size - 1, r.size, r.start);
	KUNIT_ASSERT_EQ_MSG(test, region_intersects(r.start, r.size, IORESOURCE_SYSTEM_RAM,
						    IORES_DESC_NONE), REGION_DISJOINT,
			    "[mem %#lx-%#lx] overlaps System RAM", r.start, r.start + r.size - 1);
	return r;
}

static struct file *open_node(struct kunit *test, const char *node, int flags)
{
	char path[64];
	struct file *file;

	snprintf(path, sizeof(path), "/dev/%s", node);
	file = filp_open(path, flags, 0);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(file),
			       "cannot open %s (error %ld): is the driver loaded and bound?",
			       path, PTR_ERR(file));
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, fput_action, file));
	return file;
}

/* mmap() @len bytes of @r's device at byte offset @off: address or -errno. */
static unsigned long map_node(struct kunit *test, const struct devrange *r,
			      unsigned long len, unsigned long off,
			      unsigned long flags)
{
	struct file *file = open_node(test, r->node, O_RDWR);
	unsigned long addr;

	addr = kunit_vm_mmap(test, file, 0, len, PROT_READ | PROT_WRITE, flags, off);
	KUNIT_ASSERT_NE_MSG(test, addr, 0, "kunit_vm_mmap() could not set up an address space");
	return addr;
}

static unsigned long map_or_fail(struct kunit *test, const struct devrange *r,
				 unsigned long len, unsigned long off)
{
	unsigned long addr = map_node(test, r, len, off, MAP_SHARED);

	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR_VALUE(addr),
			       "mmap(len %#lx, offset %#lx, MAP_SHARED) of /dev/%s failed with %ld, expected success",
			       len, off, r->node, (long)addr);
	return addr;
}

/* The frame and protection bits of the pte for @addr: false if none. */
static bool user_pte(unsigned long addr, unsigned long *pfn, pgprot_t *prot)
{
	struct follow_pfnmap_args args = { .address = addr };
	bool found = false;

	mmap_read_lock(current->mm);
	args.vma = vma_lookup(current->mm, addr);
	if (args.vma && !follow_pfnmap_start(&args)) {
		*pfn = args.pfn;
		*prot = args.pgprot;
		found = true;
		follow_pfnmap_end(&args);
	}
	mmap_read_unlock(current->mm);
	return found;
}

/* Check that @pages pages from @addr map the frames of @r from page @first. */
static void expect_frames(struct kunit *test, const struct devrange *r,
			  unsigned long addr, unsigned long pages,
			  unsigned long first)
{
	unsigned long i, pfn = 0, want;
	pgprot_t prot;

	for (i = 0; i < pages; i++) {
		want = PHYS_PFN(r->start) + first + i;
		if (!user_pte(addr + i * PAGE_SIZE, &pfn, &prot)) {
			KUNIT_FAIL(test, "page %lu of a mapping of /dev/%s has no pfn mapping the kernel can read back (follow_pfnmap_start() needs VM_IO or VM_PFNMAP and a present pte)",
				   i, r->node);
			return;
		}
		KUNIT_EXPECT_EQ_MSG(test, pfn, want,
				    "page %lu of a mapping at page offset %lu of /dev/%s should map frame %#lx (page %lu of %s at %#lx), its pte holds frame %#lx",
				    i, first, r->node, want, first + i, r->what, r->start, pfn);
		if (pfn != want)
			return;	/* one report is enough */
	}
}

/* The VMA flags of the mapping at @addr. */
static vm_flags_t user_vm_flags(unsigned long addr)
{
	struct vm_area_struct *vma;
	vm_flags_t flags = 0;

	mmap_read_lock(current->mm);
	vma = vma_lookup(current->mm, addr);
	if (vma)
		flags = vma->vm_flags;
	mmap_read_unlock(current->mm);
	return flags;
}

static void expect_io_pfnmap(struct kunit *test, const struct devrange *r)
{
	unsigned long addr = map_or_fail(test, r, PAGE_SIZE, 0);
	const vm_flags_t want = VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP;
	vm_flags_t flags = user_vm_flags(addr);

	KUNIT_EXPECT_EQ_MSG(test, flags & want, want,
			    "a mapping of /dev/%s should be VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP (%#lx): frames the kernel must not count, pin or dump; its flags are %#lx",
			    r->node, (unsigned long)want, (unsigned long)flags);
	KUNIT_EXPECT_FALSE_MSG(test, flags & VM_MAYEXEC,
			       "a mapping of /dev/%s should have VM_MAYEXEC cleared, or mprotect(PROT_EXEC) succeeds later",
			       r->node);
}

static const char *cache_name(pgprotval_t bits)
{
	if (!bits)
		return "write-back (cached)";
	if (bits == cachemode2protval(_PAGE_CACHE_MODE_UC_MINUS))
		return "UC- (uncached)";
	if (bits == cachemode2protval(_PAGE_CACHE_MODE_UC))
		return "UC (uncached)";
	return "another cache mode";
}

/* The cache bits of every pte of a whole mapping of @r. */
static void expect_cache_mode(struct kunit *test, const struct devrange *r,
			      bool uncached, const char *why)
{
	unsigned long addr = map_or_fail(test, r, r->size, 0);
	unsigned long i, pfn;
	pgprotval_t bits;
	bool ok;
	pgprot_t prot;

	for (i = 0; i < r->size / PAGE_SIZE; i++) {
		KUNIT_ASSERT_TRUE_MSG(test, user_pte(addr + i * PAGE_SIZE, &pfn, &prot),
				      "page %lu of a mapping of /dev/%s has no pfn mapping the kernel can read back (follow_pfnmap_start() needs VM_IO or VM_PFNMAP and a present pte)",
				      i, r->node);
		bits = pgprot_val(prot) & _PAGE_CACHE_MASK;
		ok = uncached ? bits == cachemode2protval(_PAGE_CACHE_MODE_UC_MINUS) ||
				bits == cachemode2protval(_PAGE_CACHE_MODE_UC) : !bits;
		KUNIT_EXPECT_TRUE_MSG(test, ok,
				      "page %lu of a mapping of /dev/%s is %s; it should be %s: %s",
				      i, r->node, cache_name(bits),
				      uncached ? "uncached" : "write-back", why);
		if (!ok)
			return;
	}
}

static void expect_mmap_error(struct kunit *test, const struct devrange *r,
			      unsigned long len, unsigned long off,
			      unsigned long flags, long err, const char *why)
{
	unsigned long got = map_node(test, r, len, off, flags);
	unsigned long pfn = 0;
	pgprot_t prot;

	if (IS_ERR_VALUE(got)) {
		KUNIT_EXPECT_EQ_MSG(test, (long)got, err,
				    "mmap(len %#lx, offset %#lx) of /dev/%s %s: expected error %ld, got error %ld",
				    len, off, r->node, why, err, (long)got);
		return;
	}
	user_pte(got, &pfn, &prot);
	KUNIT_FAIL(test,
		   "mmap(len %#lx, offset %#lx) of /dev/%s %s: expected error %ld, got a mapping at %#lx whose first page is physical %#llx (%s is [mem %#lx-%#lx])",
		   len, off, r->node, why, err, got, (unsigned long long)PFN_PHYS(pfn),
		   r->what, r->start, r->start + r->size - 1);
}

/*
 * Requests a hostile process makes to reach memory around the range. The
 * core has refused some classes already (an offset plus a length that
 * wraps unsigned long: do_mmap() and file_mmap_ok() in mm/mmap.c); these
 * all reach the driver's .mmap, and each must fail there with -EINVAL.
 */
enum hostile_kind {
	ONE_PAGE_TOO_LONG,
	LAST_PAGE_AND_NEXT,
	AT_THE_END,
	WRAPS_TO_ZERO,
	WRAPS_BELOW_RANGE,
	OFFSET_2_GIB,
#if BITS_PER_LONG == 64
	OFFSET_4_GIB,
	LENGTH_4_GIB,
#endif
};

struct hostile_req {
	enum hostile_kind kind;
	const char *desc;
};

static const struct hostile_req hostile_reqs[] = {
	{ ONE_PAGE_TOO_LONG, "one page longer than the range" },
	{ LAST_PAGE_AND_NEXT, "the last page and the one after" },
	{ AT_THE_END, "starting at the end" },
	{ WRAPS_TO_ZERO, "offset wrapping start + offset to 0" },
	{ WRAPS_BELOW_RANGE, "largest offset the core passes: start + offset wraps below start" },
	{ OFFSET_2_GIB, "offset 2 GiB, negative as an int" },
#if BITS_PER_LONG == 64
	{ OFFSET_4_GIB, "offset 4 GiB, 0 in 32 bits" },
	{ LENGTH_4_GIB, "length 4 GiB + 1 page, 1 page in 32 bits" },
#endif
};

static void hostile_desc(const struct hostile_req *h, char *desc)
{
	strscpy(desc, h->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(hostile, hostile_reqs, hostile_desc);

static void hostile_request(const struct hostile_req *h, const struct devrange *r,
			    unsigned long *len, unsigned long *off)
{
	*len = PAGE_SIZE;
	*off = 0;
	switch (h->kind) {
	case ONE_PAGE_TOO_LONG:
		*len = r->size + PAGE_SIZE;
		break;
	case LAST_PAGE_AND_NEXT:
		*len = 2 * PAGE_SIZE;
		*off = r->size - PAGE_SIZE;
		break;
	case AT_THE_END:
		*off = r->size;
		break;
	case WRAPS_TO_ZERO:
		*off = 0UL - r->start;
		break;
	case WRAPS_BELOW_RANGE:
		*off = 0UL - 2 * PAGE_SIZE;
		break;
	case OFFSET_2_GIB:
		*off = 1UL << 31;
		break;
#if BITS_PER_LONG == 64
	case OFFSET_4_GIB:
		*off = 1UL << 32;
		break;
	case LENGTH_4_GIB:
		*len = (1UL << 32) + PAGE_SIZE;
		break;
#endif
	}
}

static void expect_hostile_refused(struct kunit *test, const struct devrange *r)
{
	const struct hostile_req *h = test->param_value;
	unsigned long len, off;

	hostile_request(h, r, &len, &off);
	expect_mmap_error(test, r, len, off, MAP_SHARED, -EINVAL, h->desc);
}

/* BAR0 */

static void probe_claims_bar0(struct kunit *test)
{
	struct devrange r = bar_range(test);
	struct pci_dev *pdev = edu_pdev(test);

	KUNIT_ASSERT_TRUE_MSG(test, pdev->dev.driver &&
			      !strcmp(pdev->dev.driver->name, KMEMLAB_DEVMEM_DRIVER),
			      "edu is not bound to %s: check what probe() printed",
			      KMEMLAB_DEVMEM_DRIVER);
	KUNIT_EXPECT_TRUE_MSG(test, pci_is_enabled(pdev),
			      "probe() should enable the device (pci_enable_device())");
	KUNIT_EXPECT_EQ_MSG(test, covered(&r, IORESOURCE_MEM | IORESOURCE_BUSY, IORES_DESC_NONE),
			    r.size,
			    "all of BAR0 [mem %#lx-%#lx] should be claimed (busy in /proc/iomem) while the driver is bound: pci_request_region()",
			    r.start, r.start + r.size - 1);
}

static void bar_mmap_maps_bar0(struct kunit *test)
{
	struct devrange r = bar_range(test);
	unsigned long addr = map_or_fail(test, &r, r.size, 0);

	expect_frames(test, &r, addr, r.size / PAGE_SIZE, 0);
}

static void bar_mmap_honours_pgoff(struct kunit *test)
{
	struct devrange r = bar_range(test);
	const unsigned long last = r.size / PAGE_SIZE - 1;
	const unsigned long offsets[] = { 1, 100, last };
	unsigned long addr;
	int i;

	for (i = 0; i < ARRAY_SIZE(offsets); i++) {
		addr = map_or_fail(test, &r, PAGE_SIZE, offsets[i] * PAGE_SIZE);
		expect_frames(test, &r, addr, 1, offsets[i]);
	}
}

static void bar_mmap_uncached(struct kunit *test)
{
	struct devrange r = bar_range(test);

	expect_cache_mode(test, &r, true,
			  "a cached register read can return an old value and a store can sit in a cache, or be merged with another, before the device sees it");
}

static void bar_mmap_is_io_pfnmap(struct kunit *test)
{
	struct devrange r = bar_range(test);

	expect_io_pfnmap(test, &r);
}

static void bar_mmap_rejects_private(struct kunit *test)
{
	struct devrange r = bar_range(test);

	expect_mmap_error(test, &r, PAGE_SIZE, 0, MAP_PRIVATE, -EINVAL,
			  "is MAP_PRIVATE, which registers cannot be");
}

static void bar_mmap_rejects_hostile(struct kunit *test)
{
	struct devrange r = bar_range(test);

	expect_hostile_refused(test, &r);
}

/*
 * What probe_busy_bar0_leaves_device_disabled takes from the driver: edu,
 * and BAR0's range, claimed by the suite itself.
 */
struct bar_takeover {
	struct pci_dev *pdev;
	struct resource *claim;	/* the suite's claim of BAR0, or NULL */
};

/* Give BAR0 back and bind edu again, if it is not bound. */
static void bar_takeover_undo(void *arg)
{
	struct bar_takeover *t = arg;

	if (t->claim)
		release_mem_region(pci_resource_start(t->pdev, 0), pci_resource_len(t->pdev, 0));
	t->claim = NULL;
	if (!t->pdev->dev.driver && device_attach(&t->pdev->dev) < 0)
		pr_warn("kmemlab_devmem_test: binding edu again failed\n");
}

/*
 * A probe that fails must leave the device as it found it. The suite
 * unbinds edu, claims BAR0 itself (busy in /proc/iomem) and binds the
 * driver again, as sysfs bind does (device_driver_attach(), which returns
 * the probe's error): pci_request_region() cannot have the BAR, and the
 * probe must fail with -EBUSY and undo its pci_enable_device(), which the
 * PCI core counts in enable_cnt. Then the suite releases BAR0 and binds
 * the driver, for the tests that follow.
 */
static void probe_busy_bar0_leaves_device_disabled(struct kunit *test)
{
	struct devrange r = bar_range(test);
	struct pci_dev *pdev = edu_pdev(test);
	const struct device_driver *drv = pdev->dev.driver;
	struct bar_takeover *t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);
	int before, after, ret;

	KUNIT_ASSERT_NOT_NULL(test, t);
	KUNIT_ASSERT_TRUE_MSG(test, drv && !strcmp(drv->name, KMEMLAB_DEVMEM_DRIVER),
			      "edu is not bound to %s: check what probe() printed",
			      KMEMLAB_DEVMEM_DRIVER);
	t->pdev = pdev;
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, bar_takeover_undo, t));
	device_release_driver(&pdev->dev);
	KUNIT_ASSERT_NULL_MSG(test, pdev->dev.driver, "edu is still bound after device_release_driver()");
	t->claim = request_mem_region(r.start, r.size, "kmemlab_devmem_test");
	KUNIT_ASSERT_NOT_NULL_MSG(test, t->claim,
				  "once the driver was unbound, the suite could not claim BAR0 [mem %#lx-%#lx] itself: remove() should release it (pci_release_region())",
				  r.start, r.start + r.size - 1);
	before = atomic_read(&pdev->enable_cnt);
	ret = device_driver_attach(drv, &pdev->dev);
	after = atomic_read(&pdev->enable_cnt);
	KUNIT_EXPECT_EQ_MSG(test, ret, -EBUSY,
			    "with BAR0 claimed by someone else, binding %s should fail with -EBUSY (pci_request_region() in probe()), it returned %d",
			    KMEMLAB_DEVMEM_DRIVER, ret);
	KUNIT_EXPECT_EQ_MSG(test, after, before,
			    "a probe that failed should leave the device as it found it: the PCI core's count of pci_enable_device() (enable_cnt, sysfs 'enable') was %d before the bind and is %d after, the device is %s; pci_disable_device() missing on the error path",
			    before, after, pci_is_enabled(pdev) ? "enabled" : "disabled");
	/* Undo a leaked enable: later tests then see the device as usual. */
	while (!pdev->dev.driver && atomic_read(&pdev->enable_cnt) > before)
		pci_disable_device(pdev);
	kunit_release_action(test, bar_takeover_undo, t);
	KUNIT_EXPECT_TRUE_MSG(test, pdev->dev.driver == drv,
			      "once the suite released BAR0, binding %s again failed: check what probe() printed",
			      KMEMLAB_DEVMEM_DRIVER);
}

/* The reserved RAM range */

static void ram_claimed_by_driver(struct kunit *test)
{
	struct devrange r = ram_range(test);

	KUNIT_EXPECT_EQ_MSG(test, covered(&r, IORESOURCE_MEM | IORESOURCE_BUSY, IORES_DESC_NONE),
			    r.size,
			    "all of [mem %#lx-%#lx] should be claimed (busy in /proc/iomem) while the driver is loaded: request_mem_region()",
			    r.start, r.start + r.size - 1);
}

/*
 * The driver's kernel address for the range: every page of it must be
 * mapped, and to the range's own frames. Returns NULL (having failed the
 * test) when not.
 */
static u8 *ram_kernel_view(struct kunit *test, const struct devrange *r,
			   pgprotval_t *cache)
{
	u8 *virt = kmemlab_devmem_ram_virt();
	unsigned long i, addr;
	phys_addr_t phys;
	unsigned int level;
	pte_t *pte;

	KUNIT_ASSERT_NOT_NULL_MSG(test, virt,
				  "the driver holds no kernel mapping of the range (memremap() in ram_claim())");
	for (i = 0; i < r->size / PAGE_SIZE; i++) {
		addr = (unsigned long)virt + i * PAGE_SIZE;
		pte = lookup_address(addr, &level);
		KUNIT_ASSERT_TRUE_MSG(test, pte && pte_present(*pte),
				      "page %lu of the driver's mapping of the range (%#lx) is not mapped: it should cover %#lx bytes",
				      i, addr, r->size);
		phys = slow_virt_to_phys((void *)addr);
		KUNIT_ASSERT_EQ_MSG(test, (u64)phys, (u64)r->start + i * PAGE_SIZE,
				    "page %lu of the driver's kernel mapping of the range is physical %#llx; [mem %#lx-%#lx] is the range reserved at boot",
				    i, (u64)phys, r->start, r->start + r->size - 1);
		/* In a large page's entry, bit 7 is the size bit, not PAT. */
		if (!i)
			*cache = pte_val(*pte) & (level == PG_LEVEL_4K ? _PAGE_CACHE_MASK :
						  _PAGE_PWT | _PAGE_PCD);
	}
	return virt;
}

static void ram_kernel_mapping_reaches_range(struct kunit *test)
{
	struct devrange r = ram_range(test);
	pgprotval_t cache;

	KUNIT_EXPECT_NOT_NULL(test, ram_kernel_view(test, &r, &cache));
}

static void ram_kernel_mapping_cached(struct kunit *test)
{
	struct devrange r = ram_range(test);
	pgprotval_t cache;

	ram_kernel_view(test, &r, &cache);
	KUNIT_EXPECT_EQ_MSG(test, cache, 0,
			    "the driver's kernel mapping of the range is %s: RAM is mapped write-back (memremap(MEMREMAP_WB)), not as device memory",
			    cache_name(cache));
}

static void ram_mmap_maps_range(struct kunit *test)
{
	struct devrange r = ram_range(test);
	unsigned long addr = map_or_fail(test, &r, r.size, 0);

	expect_frames(test, &r, addr, r.size / PAGE_SIZE, 0);
}

static void ram_mmap_honours_pgoff(struct kunit *test)
{
	struct devrange r = ram_range(test);
	const unsigned long last = r.size / PAGE_SIZE - 1;
	const unsigned long offsets[] = { 1, 7, last - 1 };
	unsigned long addr;
	int i;

	for (i = 0; i < ARRAY_SIZE(offsets); i++) {
		addr = map_or_fail(test, &r, 2 * PAGE_SIZE, offsets[i] * PAGE_SIZE);
		expect_frames(test, &r, addr, 2, offsets[i]);
	}
}

static void ram_mmap_cached(struct kunit *test)
{
	struct devrange r = ram_range(test);

	expect_cache_mode(test, &r, false,
			  "the kernel maps the same RAM write-back, and two mappings of one frame with different cache modes are not allowed on x86");
}

static void ram_mmap_is_io_pfnmap(struct kunit *test)
{
	struct devrange r = ram_range(test);

	expect_io_pfnmap(test, &r);
}

/* Stores through the mapping and through the driver's pointer meet. */
static void ram_mmap_shares_bytes_with_driver(struct kunit *test)
{
	struct devrange r = ram_range(test);
	const unsigned long page = 5;
	pgprotval_t cache;
	u8 *virt = ram_kernel_view(test, &r, &cache) + page * PAGE_SIZE;
	unsigned long addr = map_or_fail(test, &r, PAGE_SIZE, page * PAGE_SIZE);
	u8 *copy = kunit_kzalloc(test, PAGE_SIZE, GFP_KERNEL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, copy);
	memset(virt, 0x5a, PAGE_SIZE);
	KUNIT_ASSERT_EQ(test, 0, copy_from_user(copy, (void __user *)addr, PAGE_SIZE));
	KUNIT_EXPECT_TRUE_MSG(test, !memchr_inv(copy, 0x5a, PAGE_SIZE),
			      "the driver wrote 0x5a over page %lu of the range, the mapping does not show it",
			      page);
	memset(copy, 0xa5, PAGE_SIZE);
	KUNIT_ASSERT_EQ(test, 0, copy_to_user((void __user *)addr, copy, PAGE_SIZE));
	KUNIT_EXPECT_TRUE_MSG(test, !memchr_inv(virt, 0xa5, PAGE_SIZE),
			      "0xa5 stored through the mapping did not reach page %lu of the range as the driver sees it",
			      page);
}

static void ram_mmap_rejects_private(struct kunit *test)
{
	struct devrange r = ram_range(test);

	expect_mmap_error(test, &r, PAGE_SIZE, 0, MAP_PRIVATE, -EINVAL,
			  "is MAP_PRIVATE, which a shared range cannot be");
}

static void ram_mmap_rejects_hostile(struct kunit *test)
{
	struct devrange r = ram_range(test);

	expect_hostile_refused(test, &r);
}

static struct kunit_case kmemlab_devmem_cases[] = {
	KUNIT_CASE(probe_claims_bar0),
	KUNIT_CASE(bar_mmap_maps_bar0),
	KUNIT_CASE(bar_mmap_honours_pgoff),
	KUNIT_CASE(bar_mmap_uncached),
	KUNIT_CASE(bar_mmap_is_io_pfnmap),
	KUNIT_CASE(bar_mmap_rejects_private),
	KUNIT_CASE_PARAM(bar_mmap_rejects_hostile, hostile_gen_params),
	KUNIT_CASE(probe_busy_bar0_leaves_device_disabled),
	KUNIT_CASE(ram_claimed_by_driver),
	KUNIT_CASE(ram_kernel_mapping_reaches_range),
	KUNIT_CASE(ram_kernel_mapping_cached),
	KUNIT_CASE(ram_mmap_maps_range),
	KUNIT_CASE(ram_mmap_honours_pgoff),
	KUNIT_CASE(ram_mmap_cached),
	KUNIT_CASE(ram_mmap_is_io_pfnmap),
	KUNIT_CASE(ram_mmap_shares_bytes_with_driver),
	KUNIT_CASE(ram_mmap_rejects_private),
	KUNIT_CASE_PARAM(ram_mmap_rejects_hostile, hostile_gen_params),
	{}
};

static struct kunit_suite kmemlab_devmem_suite = {
	.name = "kmemlab_devmem",
	.test_cases = kmemlab_devmem_cases,
};
kunit_test_suite(kmemlab_devmem_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit suite for kmemlab lab 09 (device memory and reserved RAM in user space)");
