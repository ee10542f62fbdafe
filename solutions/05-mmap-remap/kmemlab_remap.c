// SPDX-License-Identifier: GPL-2.0
/*
 * kmemlab_remap - hand a driver buffer to user space with mmap().
 *
 * Two misc devices share one set of file operations and differ only in
 * where their buffer comes from. /dev/kmemlab_remap_contig owns a block
 * of physically contiguous pages from the page allocator, so a single
 * remap_pfn_range() call can map any run of it. /dev/kmemlab_remap_vmalloc
 * owns a vmalloc() buffer, contiguous in kernel virtual addresses only:
 * each of its pages has a pfn of its own and must be mapped on its own.
 *
 * read() and write() on either device show the driver's side of the same
 * bytes, so a program can check that a store through the mapping reaches
 * the driver and that the driver's stores reach the mapping.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/vmalloc.h>

#include "kmemlab_remap.h"

struct kmemlab_remap_dev {
	struct miscdevice misc;
	void *buf;
	int (*remap)(struct kmemlab_remap_dev *dev,
		     struct vm_area_struct *vma);
};

const char *const kmemlab_remap_names[KMEMLAB_REMAP_KINDS] = {
	[KMEMLAB_REMAP_CONTIG] = "kmemlab_remap_contig",
	[KMEMLAB_REMAP_VMALLOC] = "kmemlab_remap_vmalloc",
};
EXPORT_SYMBOL_GPL(kmemlab_remap_names);

static struct kmemlab_remap_dev remap_devs[KMEMLAB_REMAP_KINDS];

static struct kmemlab_remap_dev *file_to_dev(struct file *file)
{
	/* misc_open() leaves our struct miscdevice in private_data. */
	return container_of(file->private_data, struct kmemlab_remap_dev,
			    misc);
}

static ssize_t kmemlab_remap_read(struct file *file, char __user *ubuf,
				  size_t count, loff_t *ppos)
{
	struct kmemlab_remap_dev *dev = file_to_dev(file);

	return simple_read_from_buffer(ubuf, count, ppos, dev->buf,
				       KMEMLAB_REMAP_SIZE);
}

static ssize_t kmemlab_remap_write(struct file *file, const char __user *ubuf,
				   size_t count, loff_t *ppos)
{
	struct kmemlab_remap_dev *dev = file_to_dev(file);

	return simple_write_to_buffer(dev->buf, KMEMLAB_REMAP_SIZE, ppos,
				      ubuf, count);
}

static loff_t kmemlab_remap_llseek(struct file *file, loff_t offset,
				   int whence)
{
	return fixed_size_llseek(file, offset, whence, KMEMLAB_REMAP_SIZE);
}

/*
 * The whole request is one run of physically contiguous pages, so one
 * call maps it. vm_pgoff is the mmap() offset in pages: it says where in
 * the buffer the mapping starts.
 */
static int remap_contig(struct kmemlab_remap_dev *dev,
			struct vm_area_struct *vma)
{
	/*
	 * TODO 3 BEGIN: map the pages of dev->buf that the mapping covers,
	 * starting vma->vm_pgoff pages into the buffer, with a single
	 * remap_pfn_range() call. A page allocator address has a struct
	 * page (virt_to_page()), and that page has a pfn (page_to_pfn()).
	 */
	unsigned long pfn = page_to_pfn(virt_to_page(dev->buf)) + vma->vm_pgoff;

	return remap_pfn_range(vma, vma->vm_start, pfn,
			       vma->vm_end - vma->vm_start,
			       vma->vm_page_prot);
	/* TODO 3 END, skeleton: return -ENOSYS; */
}

/*
 * Consecutive vmalloc() pages are scattered in physical memory: ask for
 * the pfn behind each kernel page and map the pages one by one.
 */
static int remap_vmalloc(struct kmemlab_remap_dev *dev,
			 struct vm_area_struct *vma)
{
	/*
	 * TODO 4 BEGIN: map the mapping page by page: for each user page,
	 * find the pfn behind the matching page of dev->buf (counting from
	 * vma->vm_pgoff) with vmalloc_to_pfn() and remap_pfn_range() it.
	 */
	char *kaddr = dev->buf + (vma->vm_pgoff << PAGE_SHIFT);
	unsigned long uaddr;
	int ret;

	for (uaddr = vma->vm_start; uaddr < vma->vm_end; uaddr += PAGE_SIZE) {
		ret = remap_pfn_range(vma, uaddr, vmalloc_to_pfn(kaddr),
				      PAGE_SIZE, vma->vm_page_prot);
		if (ret)
			return ret;
		kaddr += PAGE_SIZE;
	}
	return 0;
	/* TODO 4 END, skeleton: return -ENOSYS; */
}

static int kmemlab_remap_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct kmemlab_remap_dev *dev = file_to_dev(file);

	/*
	 * TODO 1 BEGIN: refuse what this buffer cannot back: a private
	 * (copy-on-write) mapping (-EINVAL), an executable one (-EPERM), and
	 * a mapping that starts at or runs past the end of the buffer
	 * (-EINVAL). MAP_SHARED sets VM_MAYSHARE; it also sets VM_SHARED only
	 * when the file is open for writing, so test VM_MAYSHARE. The core
	 * has already rounded the length up to whole pages: vma_pages() is
	 * the number of pages asked for, from page vma->vm_pgoff on.
	 */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;
	if (vma->vm_pgoff >= KMEMLAB_REMAP_PAGES ||
	    vma_pages(vma) > KMEMLAB_REMAP_PAGES - vma->vm_pgoff)
		return -EINVAL;
	/* TODO 1 END */

	/*
	 * TODO 2 BEGIN: the mapping must never grow with mremap() nor end up
	 * in a core dump, and mprotect() must not make it executable later:
	 * set VM_DONTEXPAND and VM_DONTDUMP, clear VM_MAYEXEC.
	 */
	vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
	vm_flags_clear(vma, VM_MAYEXEC);
	/* TODO 2 END */

	return dev->remap(dev, vma);
}

static const struct file_operations kmemlab_remap_fops = {
	.owner = THIS_MODULE,
	.read = kmemlab_remap_read,
	.write = kmemlab_remap_write,
	.llseek = kmemlab_remap_llseek,
	.mmap = kmemlab_remap_mmap,
};

void *kmemlab_remap_buffer(enum kmemlab_remap_kind kind)
{
	return remap_devs[kind].buf;
}
EXPORT_SYMBOL_GPL(kmemlab_remap_buffer);

static void setup_misc(struct kmemlab_remap_dev *dev,
		       enum kmemlab_remap_kind kind)
{
	dev->misc.minor = MISC_DYNAMIC_MINOR;
	dev->misc.name = kmemlab_remap_names[kind];
	dev->misc.fops = &kmemlab_remap_fops;
	dev->misc.mode = 0666;
}

static int __init kmemlab_remap_init(void)
{
	struct kmemlab_remap_dev *contig = &remap_devs[KMEMLAB_REMAP_CONTIG];
	struct kmemlab_remap_dev *vmall = &remap_devs[KMEMLAB_REMAP_VMALLOC];
	int ret;

	contig->buf = (void *)__get_free_pages(GFP_KERNEL | __GFP_ZERO,
					       KMEMLAB_REMAP_ORDER);
	if (!contig->buf)
		return -ENOMEM;
	contig->remap = remap_contig;
	setup_misc(contig, KMEMLAB_REMAP_CONTIG);

	vmall->buf = vzalloc(KMEMLAB_REMAP_SIZE);
	if (!vmall->buf) {
		ret = -ENOMEM;
		goto err_free_contig;
	}
	vmall->remap = remap_vmalloc;
	setup_misc(vmall, KMEMLAB_REMAP_VMALLOC);

	ret = misc_register(&contig->misc);
	if (ret)
		goto err_free_vmalloc;
	ret = misc_register(&vmall->misc);
	if (ret)
		goto err_deregister_contig;

	pr_info("%lu KiB buffers at /dev/%s and /dev/%s\n",
		KMEMLAB_REMAP_SIZE / 1024, contig->misc.name, vmall->misc.name);
	return 0;

err_deregister_contig:
	misc_deregister(&contig->misc);
err_free_vmalloc:
	vfree(vmall->buf);
err_free_contig:
	free_pages((unsigned long)contig->buf, KMEMLAB_REMAP_ORDER);
	return ret;
}

static void __exit kmemlab_remap_exit(void)
{
	struct kmemlab_remap_dev *contig = &remap_devs[KMEMLAB_REMAP_CONTIG];
	struct kmemlab_remap_dev *vmall = &remap_devs[KMEMLAB_REMAP_VMALLOC];

	/*
	 * No mapping can outlive us: every VMA holds its file, and every
	 * open file holds this module.
	 */
	misc_deregister(&vmall->misc);
	misc_deregister(&contig->misc);
	vfree(vmall->buf);
	free_pages((unsigned long)contig->buf, KMEMLAB_REMAP_ORDER);
}

module_init(kmemlab_remap_init);
module_exit(kmemlab_remap_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmemlab 05: map a driver buffer with remap_pfn_range()");
