// SPDX-License-Identifier: GPL-2.0
/*
 * kmemlab_devmem - memory the kernel's allocators do not own, in user space.
 *
 * /dev/kmemlab_devmem_bar maps BAR0 of QEMU's edu device, 1 MiB of device
 * registers (docs/edu-device.md): a load or a store through the mapping is
 * a register access, so the mapping must be uncached, and the driver must
 * hold the BAR (pci_request_region()) for as long as it hands it out.
 *
 * /dev/kmemlab_devmem_ram maps a range of RAM that the kernel command line
 * kept from the kernel at boot (memmap=SIZE$ADDRESS), given to the module
 * the way ramoops takes its range: mem_address and mem_size. The driver
 * claims it (request_mem_region()), reaches it with memremap(), and never
 * clears it: what a process leaves there survives a reload of the module.
 * read(), write() and lseek() show the driver's side of it.
 *
 * Both claims show in /proc/iomem; while they are held, /dev/mem and the
 * BAR's sysfs resource0 refuse these ranges (CONFIG_IO_STRICT_DEVMEM).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/list.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/slab.h>

#include "kmemlab_devmem.h"

static unsigned long mem_address;
module_param_hw(mem_address, ulong, iomem, 0444);
MODULE_PARM_DESC(mem_address, "start of the RAM range reserved at boot (memmap=SIZE$ADDRESS), page aligned");

static unsigned long mem_size;
module_param(mem_size, ulong, 0444);
MODULE_PARM_DESC(mem_size, "size of that range in bytes, a page multiple; 0: no RAM device");

/*
 * What both devices refuse. Neither memory holds code, and neither can be
 * copied on write: a private mapping would copy registers or the shared
 * range into anonymous pages at the first store.
 */
static int devmem_check_vma(struct vm_area_struct *vma)
{
	/*
	 * TODO 2 BEGIN: refuse a private mapping (no VM_MAYSHARE) with
	 * -EINVAL and an executable one (VM_EXEC) with -EPERM, and clear
	 * VM_MAYEXEC so that mprotect() cannot make it executable later.
	 */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;
	vm_flags_clear(vma, VM_MAYEXEC);
	return 0;
	/* TODO 2 END, skeleton: return 0; */
}

/*
 * The edu device. The driver serves one; its open files may outlive the
 * binding (the node goes at remove(), an open file stays): then mmap()
 * fails with -ENODEV and the mappings made before are gone.
 */
struct devmem_bar {
	struct mutex lock;		/* pdev and files */
	struct pci_dev *pdev;		/* NULL while no device is bound */
	struct list_head files;		/* open files, to revoke their mappings */
	struct miscdevice misc;
};

struct bar_file {
	struct file *file;
	struct list_head node;
};

static struct devmem_bar bar = {
	.lock = __MUTEX_INITIALIZER(bar.lock),
	.files = LIST_HEAD_INIT(bar.files),
};

/*
 * Zap every user mapping made through our files (bar.lock held): a later
 * access faults, and with no fault handler that is SIGBUS. A mapping that
 * an mmap() still in progress sets up is linked to its file only after
 * bar_mmap() returns, so it can slip past; a fault handler that maps on
 * demand under bar.lock would close that window (lab 06).
 */
static void bar_revoke_mappings(void)
{
	struct bar_file *bf;

	list_for_each_entry(bf, &bar.files, node)
		unmap_mapping_range(bf->file->f_mapping, 0, 0, 1);
}

/* Map BAR0 of @pdev into @vma, from vma->vm_pgoff pages into the BAR. */
static int bar_map(struct pci_dev *pdev, struct vm_area_struct *vma)
{
	/*
	 * TODO 3 BEGIN: loads and stores through this mapping are register
	 * accesses: make vma->vm_page_prot uncached (pgprot_noncached()).
	 * Then map BAR0 with vm_iomap_memory(), which takes the BAR's
	 * physical start and length (pci_resource_start(),
	 * pci_resource_len()), refuses an offset or a length that does not
	 * fit in it, and marks the VMA VM_IO | VM_PFNMAP.
	 */
	vma->vm_page_prot = pgprot_noncached(vma->vm_page_prot);
	return vm_iomap_memory(vma, pci_resource_start(pdev, 0),
			       pci_resource_len(pdev, 0));
	/* TODO 3 END, skeleton: return -ENOSYS; */
}

static int bar_mmap(struct file *file, struct vm_area_struct *vma)
{
	int ret = devmem_check_vma(vma);

	if (ret)
		return ret;
	mutex_lock(&bar.lock);
	ret = bar.pdev ? bar_map(bar.pdev, vma) : -ENODEV;
	mutex_unlock(&bar.lock);
	return ret;
}

static int bar_open(struct inode *inode, struct file *file)
{
	struct bar_file *bf = kzalloc(sizeof(*bf), GFP_KERNEL);

	if (!bf)
		return -ENOMEM;
	bf->file = file;
	mutex_lock(&bar.lock);
	list_add(&bf->node, &bar.files);
	mutex_unlock(&bar.lock);
	file->private_data = bf;
	return 0;
}

static int bar_release_file(struct inode *inode, struct file *file)
{
	struct bar_file *bf = file->private_data;

	mutex_lock(&bar.lock);
	list_del(&bf->node);
	mutex_unlock(&bar.lock);
	kfree(bf);
	return 0;
}

static const struct file_operations bar_fops = {
	.owner = THIS_MODULE,
	.open = bar_open,
	.release = bar_release_file,
	.mmap = bar_mmap,
};

/* Give up the device, the reverse of the claim in bar_probe(). */
static void bar_unclaim(struct pci_dev *pdev)
{
	/*
	 * TODO 1 BEGIN: release BAR0 (pci_release_region()), then disable
	 * the device (pci_disable_device()).
	 */
	pci_release_region(pdev, 0);
	pci_disable_device(pdev);
	/* TODO 1 END */
}

static int bar_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct device *dev = &pdev->dev;
	void __iomem *regs;
	u32 ident;
	int ret;

	mutex_lock(&bar.lock);
	ret = bar.pdev ? -EBUSY : 0;	/* one edu is all this driver serves */
	mutex_unlock(&bar.lock);
	if (ret)
		return ret;

	/*
	 * TODO 1 BEGIN: enable the device (pci_enable_device()), then claim
	 * BAR0 for this driver: pci_request_region(pdev, 0,
	 * KMEMLAB_DEVMEM_DRIVER). On failure, undo what succeeded and return
	 * the error.
	 */
	ret = pci_enable_device(pdev);
	if (ret)
		return dev_err_probe(dev, ret, "cannot enable the device\n");
	ret = pci_request_region(pdev, 0, KMEMLAB_DEVMEM_DRIVER);
	if (ret) {
		pci_disable_device(pdev);
		return dev_err_probe(dev, ret, "BAR0 is held already (see /proc/iomem)\n");
	}
	/* TODO 1 END */

	/* Only an edu device says so in its identification register. */
	regs = pci_iomap(pdev, 0, 0);
	if (!regs) {
		ret = -ENOMEM;
		goto err_unclaim;
	}
	ident = ioread32(regs + EDU_REG_ID);
	pci_iounmap(pdev, regs);
	if ((ident & 0xff) != 0xed) {
		ret = dev_err_probe(dev, -ENODEV, "BAR0 reads %#x: not edu\n",
				    ident);
		goto err_unclaim;
	}

	mutex_lock(&bar.lock);
	bar.pdev = pdev;
	mutex_unlock(&bar.lock);
	bar.misc.minor = MISC_DYNAMIC_MINOR;
	bar.misc.name = KMEMLAB_DEVMEM_BAR_DEV;
	bar.misc.fops = &bar_fops;
	bar.misc.parent = dev;
	bar.misc.mode = 0666;
	ret = misc_register(&bar.misc);
	if (ret) {
		dev_err(dev, "cannot register /dev/%s: error %d\n",
			KMEMLAB_DEVMEM_BAR_DEV, ret);
		goto err_unpublish;
	}
	dev_info(dev, "BAR0 %pR at /dev/%s\n", &pdev->resource[0],
		 KMEMLAB_DEVMEM_BAR_DEV);
	return 0;

err_unpublish:
	mutex_lock(&bar.lock);
	bar.pdev = NULL;
	mutex_unlock(&bar.lock);
err_unclaim:
	bar_unclaim(pdev);
	return ret;
}

static void bar_remove(struct pci_dev *pdev)
{
	misc_deregister(&bar.misc);
	mutex_lock(&bar.lock);
	bar.pdev = NULL;
	/*
	 * Once BAR0 is released, /dev/mem or another driver may take the
	 * device: no process may still reach its registers through us.
	 */
	bar_revoke_mappings();
	bar_unclaim(pdev);
	mutex_unlock(&bar.lock);
}

static const struct pci_device_id bar_ids[] = {
	{ PCI_DEVICE(EDU_VENDOR_ID, EDU_DEVICE_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, bar_ids);

static struct pci_driver bar_driver = {
	.name = KMEMLAB_DEVMEM_DRIVER,
	.id_table = bar_ids,
	.probe = bar_probe,
	.remove = bar_remove,
};

/*
 * The reserved RAM range: claimed and mapped from module load to unload,
 * and never cleared by us.
 */
struct devmem_ram {
	void *virt;			/* the kernel's mapping, or NULL */
	struct miscdevice misc;
};

static struct devmem_ram ram;

void *kmemlab_devmem_ram_virt(void)
{
	return ram.virt;
}
EXPORT_SYMBOL_GPL(kmemlab_devmem_ram_virt);

/* Claim the range and map it for the kernel: 0 or a negative errno. */
static int ram_claim(void)
{
	/*
	 * TODO 4 BEGIN: claim [mem_address, mem_address + mem_size) with
	 * request_mem_region() under the name KMEMLAB_DEVMEM_RAM_NAME
	 * (-EBUSY when that fails), then map it for the kernel with
	 * memremap() into ram.virt (-ENOMEM when that fails, after giving
	 * the claim back). It is RAM: map it write-back (MEMREMAP_WB), as
	 * the kernel maps RAM. Do not clear it: its content must survive.
	 */
	if (!request_mem_region(mem_address, mem_size, KMEMLAB_DEVMEM_RAM_NAME))
		return -EBUSY;
	ram.virt = memremap(mem_address, mem_size, MEMREMAP_WB);
	if (!ram.virt) {
		release_mem_region(mem_address, mem_size);
		return -ENOMEM;
	}
	return 0;
	/* TODO 4 END, skeleton: return -ENOSYS; */
}

static void ram_unclaim(void)
{
	/* TODO 4 BEGIN: undo ram_claim(), in the reverse order. */
	memunmap(ram.virt);
	release_mem_region(mem_address, mem_size);
	/* TODO 4 END */
	ram.virt = NULL;
}

static ssize_t ram_read(struct file *file, char __user *ubuf, size_t count,
			loff_t *ppos)
{
	return simple_read_from_buffer(ubuf, count, ppos, ram.virt, mem_size);
}

static ssize_t ram_write(struct file *file, const char __user *ubuf,
			 size_t count, loff_t *ppos)
{
	return simple_write_to_buffer(ram.virt, mem_size, ppos, ubuf, count);
}

static loff_t ram_llseek(struct file *file, loff_t offset, int whence)
{
	return fixed_size_llseek(file, offset, whence, mem_size);
}

/* The length of the range in pages. */
static inline unsigned long ram_pages(void)
{
	return mem_size >> PAGE_SHIFT;
}

static int ram_mmap(struct file *file, struct vm_area_struct *vma)
{
	int ret = devmem_check_vma(vma);

	if (ret)
		return ret;
	/*
	 * TODO 5 BEGIN: vm_pgoff and the length are the caller's choice:
	 * refuse with -EINVAL a mapping that does not lie inside the range,
	 * comparing page counts (vma_pages()) in a form that cannot wrap,
	 * before any physical address is computed. Then map the range from
	 * vm_pgoff pages in with remap_pfn_range(), keeping vm_page_prot:
	 * the range is RAM, write-back, as the kernel's own mapping of it.
	 */
	if (vma->vm_pgoff >= ram_pages() ||
	    vma_pages(vma) > ram_pages() - vma->vm_pgoff)
		return -EINVAL;
	return remap_pfn_range(vma, vma->vm_start,
			       PHYS_PFN(mem_address) + vma->vm_pgoff,
			       vma->vm_end - vma->vm_start, vma->vm_page_prot);
	/* TODO 5 END, skeleton: return -ENOSYS; */
}

static const struct file_operations ram_fops = {
	.owner = THIS_MODULE,
	.read = ram_read,
	.write = ram_write,
	.llseek = ram_llseek,
	.mmap = ram_mmap,
};

/*
 * Take the reserved range if the module was given one. Without it (or
 * when it cannot be taken) the BAR device still works: the two halves of
 * the lab do not depend on each other.
 */
static int ram_setup(void)
{
	int ret;

	if (!mem_size)
		return 0;
	if (!PAGE_ALIGNED(mem_address) || !PAGE_ALIGNED(mem_size) ||
	    mem_address + mem_size - 1 < mem_address) {
		pr_err("mem_address %#lx, mem_size %#lx: want page multiples that do not wrap\n",
		       mem_address, mem_size);
		return -EINVAL;
	}
	ret = ram_claim();
	if (ret) {
		pr_warn("cannot take [mem %#lx-%#lx] (error %d): no /dev/%s\n",
			mem_address, mem_address + mem_size - 1, ret,
			KMEMLAB_DEVMEM_RAM_DEV);
		return 0;
	}
	ram.misc.minor = MISC_DYNAMIC_MINOR;
	ram.misc.name = KMEMLAB_DEVMEM_RAM_DEV;
	ram.misc.fops = &ram_fops;
	ram.misc.mode = 0666;
	ret = misc_register(&ram.misc);
	if (ret) {
		ram_unclaim();
		return ret;
	}
	pr_info("[mem %#lx-%#lx] at /dev/%s\n", mem_address,
		mem_address + mem_size - 1, KMEMLAB_DEVMEM_RAM_DEV);
	return 0;
}

static void ram_teardown(void)
{
	if (!ram.virt)
		return;
	/* No mapping is left: each holds its file, each file this module. */
	misc_deregister(&ram.misc);
	ram_unclaim();
}

static int __init kmemlab_devmem_init(void)
{
	int ret;

	ret = ram_setup();
	if (ret)
		return ret;
	ret = pci_register_driver(&bar_driver);
	if (ret)
		goto err_ram_teardown;
	return 0;

err_ram_teardown:
	ram_teardown();
	return ret;
}

static void __exit kmemlab_devmem_exit(void)
{
	pci_unregister_driver(&bar_driver);
	ram_teardown();
}

module_init(kmemlab_devmem_init);
module_exit(kmemlab_devmem_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmemlab 09: a PCI BAR and reserved RAM mapped into user space");
