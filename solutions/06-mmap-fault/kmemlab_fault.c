// SPDX-License-Identifier: GPL-2.0
/*
 * kmemlab_fault - a device whose memory arrives one page fault at a time.
 *
 * Every open() of /dev/kmemlab_fault gets a buffer of its own: room for
 * KMEMLAB_FAULT_PAGES pages, none allocated yet. mmap() only records
 * which buffer the mapping shows; the first touch of a page faults, and
 * the .fault handler allocates the page and hands it to the core, which
 * maps it. read() and write() reach the same pages from the driver's
 * side, and an ioctl reports how many faults, pages and mappings there
 * are, so that a program can watch the laziness happen.
 *
 * The buffer lives as long as anybody uses it: the open file holds one
 * reference, every VMA another. fork() and a partial munmap() copy a VMA
 * behind the driver's back and tell it through vm_ops->open; every VMA
 * that goes away is reported through vm_ops->close.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/kref.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "kmemlab_fault.h"

struct kmemlab_fault_buf {
	struct kref refs;		/* the open file, plus one per VMA */
	struct mutex lock;		/* serialises filling pages[] */
	struct page *pages[KMEMLAB_FAULT_PAGES];
	atomic_long_t faults;
	atomic_long_t npages;
	atomic_long_t vmas;
};

/* Device-wide, so that a leak outlives the file that caused it. */
static atomic_long_t live_buffers = ATOMIC_LONG_INIT(0);
static atomic_long_t live_pages = ATOMIC_LONG_INIT(0);

static void buf_release(struct kref *kref)
{
	struct kmemlab_fault_buf *buf =
		container_of(kref, struct kmemlab_fault_buf, refs);
	int i;

	/*
	 * Drop the buffer's own reference only: a page some process still
	 * maps keeps the reference its fault took, and is freed at munmap.
	 */
	for (i = 0; i < KMEMLAB_FAULT_PAGES; i++) {
		if (buf->pages[i]) {
			put_page(buf->pages[i]);
			atomic_long_dec(&live_pages);
		}
	}
	kfree(buf);
	atomic_long_dec(&live_buffers);
}

static void buf_put(struct kmemlab_fault_buf *buf)
{
	kref_put(&buf->refs, buf_release);
}

/*
 * Page @index of @buf, allocated and zeroed on first use. GFP_HIGHUSER:
 * the page is for user space, so on i386 it may come from high memory;
 * the driver reaches it through kmap_local_page().
 */
static struct page *buf_page(struct kmemlab_fault_buf *buf, pgoff_t index)
{
	struct page *page;

	mutex_lock(&buf->lock);
	page = buf->pages[index];
	if (!page) {
		page = alloc_page(GFP_HIGHUSER | __GFP_ZERO);
		if (page) {
			buf->pages[index] = page;
			atomic_long_inc(&buf->npages);
			atomic_long_inc(&live_pages);
		}
	}
	mutex_unlock(&buf->lock);
	return page;
}

/* Find the page a fault asks for, or say why there is none. */
static vm_fault_t serve_fault(struct kmemlab_fault_buf *buf,
			      struct vm_fault *vmf)
{
	/*
	 * TODO 2 BEGIN: vmf->pgoff is the page of the file being touched
	 * (the mapping's vm_pgoff already added in); past the buffer, answer
	 * VM_FAULT_SIGBUS. Otherwise get the page with buf_page()
	 * (VM_FAULT_OOM if that fails), take a reference for the core with
	 * get_page() - it drops one when it unmaps the page - and return the
	 * page in vmf->page.
	 */
	struct page *page;

	if (vmf->pgoff >= KMEMLAB_FAULT_PAGES)
		return VM_FAULT_SIGBUS;
	page = buf_page(buf, vmf->pgoff);
	if (!page)
		return VM_FAULT_OOM;
	get_page(page);
	vmf->page = page;
	return 0;
	/* TODO 2 END, skeleton: return VM_FAULT_SIGBUS; */
}

static vm_fault_t kmemlab_fault_fault(struct vm_fault *vmf)
{
	struct kmemlab_fault_buf *buf = vmf->vma->vm_private_data;

	atomic_long_inc(&buf->faults);
	return serve_fault(buf, vmf);
}

/*
 * A new VMA shows the buffer: mmap() made it, or fork() or a split
 * copied it from one that did.
 */
static void kmemlab_fault_vm_open(struct vm_area_struct *vma)
{
	/*
	 * TODO 3 BEGIN: the VMA holds the buffer (vm_private_data) until it
	 * is closed: take a reference on buf->refs, count it in buf->vmas.
	 */
	struct kmemlab_fault_buf *buf = vma->vm_private_data;

	kref_get(&buf->refs);
	atomic_long_inc(&buf->vmas);
	/* TODO 3 END */
}

static void kmemlab_fault_vm_close(struct vm_area_struct *vma)
{
	/* TODO 4 BEGIN: undo what vm_ops->open did, with buf_put(). */
	struct kmemlab_fault_buf *buf = vma->vm_private_data;

	atomic_long_dec(&buf->vmas);
	buf_put(buf);
	/* TODO 4 END */
}

static const struct vm_operations_struct kmemlab_fault_vm_ops = {
	.open = kmemlab_fault_vm_open,
	.close = kmemlab_fault_vm_close,
	.fault = kmemlab_fault_fault,
};

static int kmemlab_fault_mmap(struct file *file, struct vm_area_struct *vma)
{
	/* Data, never code, as in lab 05. */
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;
	vm_flags_clear(vma, VM_MAYEXEC);

	/*
	 * TODO 1 BEGIN: map nothing yet, prepare the VMA for its faults:
	 * set VM_DONTEXPAND and VM_DONTDUMP, install kmemlab_fault_vm_ops,
	 * keep the file's buffer in vm_private_data, and account for this
	 * first VMA as vm_ops->open does for its copies (the core calls
	 * ->open only for the copies).
	 */
	vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
	vma->vm_ops = &kmemlab_fault_vm_ops;
	vma->vm_private_data = file->private_data;
	kmemlab_fault_vm_open(vma);
	return 0;
	/* TODO 1 END, skeleton: return -ENOSYS; */
}

static int kmemlab_fault_open(struct inode *inode, struct file *file)
{
	struct kmemlab_fault_buf *buf;

	buf = kzalloc(sizeof(*buf), GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	kref_init(&buf->refs);
	mutex_init(&buf->lock);
	atomic_long_inc(&live_buffers);
	file->private_data = buf;
	return 0;
}

static int kmemlab_fault_release(struct inode *inode, struct file *file)
{
	buf_put(file->private_data);
	return 0;
}

/* Copy between the buffer and user space, one page at a time. */
static ssize_t buf_copy(struct kmemlab_fault_buf *buf, char __user *ubuf,
			size_t count, loff_t *ppos, bool to_user)
{
	const loff_t size = (loff_t)KMEMLAB_FAULT_PAGES << PAGE_SHIFT;
	size_t done = 0, chunk, offset;
	struct page *page;
	unsigned long left;
	char *kaddr;

	if (*ppos >= size || !count)
		return 0;
	count = min_t(loff_t, count, size - *ppos);
	while (done < count) {
		page = buf_page(buf, (*ppos + done) >> PAGE_SHIFT);
		if (!page)
			return done ? done : -ENOMEM;
		offset = offset_in_page(*ppos + done);
		chunk = min_t(size_t, count - done, PAGE_SIZE - offset);
		kaddr = kmap_local_page(page);
		if (to_user)
			left = copy_to_user(ubuf + done, kaddr + offset, chunk);
		else
			left = copy_from_user(kaddr + offset, ubuf + done, chunk);
		kunmap_local(kaddr);
		done += chunk - left;
		if (left)
			break;
	}
	*ppos += done;
	return done ? done : -EFAULT;
}

static ssize_t kmemlab_fault_read(struct file *file, char __user *ubuf,
				  size_t count, loff_t *ppos)
{
	return buf_copy(file->private_data, ubuf, count, ppos, true);
}

static ssize_t kmemlab_fault_write(struct file *file, const char __user *ubuf,
				   size_t count, loff_t *ppos)
{
	return buf_copy(file->private_data, (char __user *)ubuf, count, ppos,
			false);
}

static loff_t kmemlab_fault_llseek(struct file *file, loff_t offset,
				   int whence)
{
	return fixed_size_llseek(file, offset, whence,
				 (loff_t)KMEMLAB_FAULT_PAGES << PAGE_SHIFT);
}

void kmemlab_fault_get_stats(struct file *file,
			     struct kmemlab_fault_stats *stats)
{
	struct kmemlab_fault_buf *buf = file->private_data;

	stats->faults = atomic_long_read(&buf->faults);
	stats->pages = atomic_long_read(&buf->npages);
	stats->vmas = atomic_long_read(&buf->vmas);
	stats->live_buffers = atomic_long_read(&live_buffers);
	stats->live_pages = atomic_long_read(&live_pages);
}
EXPORT_SYMBOL_GPL(kmemlab_fault_get_stats);

/* The page at @index of @file's buffer, or NULL if never touched. */
struct page *kmemlab_fault_page(struct file *file, pgoff_t index)
{
	struct kmemlab_fault_buf *buf = file->private_data;

	if (index >= KMEMLAB_FAULT_PAGES)
		return NULL;
	return READ_ONCE(buf->pages[index]);
}
EXPORT_SYMBOL_GPL(kmemlab_fault_page);

static long kmemlab_fault_ioctl(struct file *file, unsigned int cmd,
				unsigned long arg)
{
	struct kmemlab_fault_stats stats;

	if (cmd != KMEMLAB_FAULT_IOC_STATS)
		return -ENOTTY;
	kmemlab_fault_get_stats(file, &stats);
	if (copy_to_user((void __user *)arg, &stats, sizeof(stats)))
		return -EFAULT;
	return 0;
}

static const struct file_operations kmemlab_fault_fops = {
	.owner = THIS_MODULE,
	.open = kmemlab_fault_open,
	.release = kmemlab_fault_release,
	.read = kmemlab_fault_read,
	.write = kmemlab_fault_write,
	.llseek = kmemlab_fault_llseek,
	.mmap = kmemlab_fault_mmap,
	.unlocked_ioctl = kmemlab_fault_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct miscdevice kmemlab_fault_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "kmemlab_fault",
	.fops = &kmemlab_fault_fops,
	.mode = 0666,
};

static int __init kmemlab_fault_init(void)
{
	return misc_register(&kmemlab_fault_misc);
}

static void __exit kmemlab_fault_exit(void)
{
	misc_deregister(&kmemlab_fault_misc);
	/* Buffers still alive here were leaked: kmemleak will name them. */
	if (atomic_long_read(&live_buffers))
		pr_warn("%ld buffers with %ld pages were never freed\n",
			atomic_long_read(&live_buffers),
			atomic_long_read(&live_pages));
}

module_init(kmemlab_fault_init);
module_exit(kmemlab_fault_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmemlab 06: mmap with pages allocated on fault");
