// SPDX-License-Identifier: GPL-2.0
/*
 * kmemlab_zc - zero-copy DMA between user memory and QEMU's edu device.
 *
 * Lab 07's driver moved user data twice: the CPU copied it into a kernel
 * buffer, then the device fetched it from there. This one pins the user's
 * own pages, maps them for the device through a scatter-gather table and
 * lets the device read or write them directly: the CPU copies nothing.
 *
 * /dev/kmemlab_zc offers both paths, to compare them: read() and write()
 * copy through a kernel buffer as in lab 07, ioctl(KMEMLAB_ZC_XFER) is the
 * zero-copy path, ioctl(KMEMLAB_ZC_STATS) says what each one cost.
 *
 * The PCI side (probe, interrupt, one DMA transfer) is lab 07's, given.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/interrupt.h>
#include <linux/kref.h>
#include <linux/ktime.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "kmemlab_zc.h"

#define EDU_REG_IRQ_STATUS	0x24
#define EDU_REG_IRQ_ACK		0x64
#define EDU_REG_DMA_SRC		0x80
#define EDU_REG_DMA_DST		0x88
#define EDU_REG_DMA_COUNT	0x90
#define EDU_REG_DMA_CMD		0x98
#define   EDU_DMA_START		0x01
#define   EDU_DMA_TO_RAM	0x02
#define   EDU_DMA_IRQ		0x04
#define EDU_IRQ_DMA		0x100
#define EDU_DEV_BUF		0x40000
#define EDU_DMA_BITS		28
#define EDU_TIMEOUT		(2 * HZ)

struct kmemlab_zc {
	struct pci_dev *pdev;
	void __iomem *bar;
	struct miscdevice misc;
	struct kref ref;		/* the binding, and each open file */
	struct mutex lock;		/* one transfer at a time */
	bool gone;			/* unbound: files get -ENODEV */
	struct completion dma_done;
	void *bounce;			/* the copy path's kernel buffer */
	dma_addr_t last_dma;		/* RAM side of the last transfer */
	struct kmemlab_zc_stats stats;
};

static struct kmemlab_zc *zc_bound;

static void zc_free(struct kref *ref)
{
	kfree(container_of(ref, struct kmemlab_zc, ref));
}

struct kmemlab_zc *kmemlab_zc_get(void)
{
	return zc_bound;
}
EXPORT_SYMBOL_GPL(kmemlab_zc_get);

struct pci_dev *kmemlab_zc_pci_dev(struct kmemlab_zc *zc)
{
	return zc->pdev;
}
EXPORT_SYMBOL_GPL(kmemlab_zc_pci_dev);

/* For the suite: the bus address the device was last given for RAM. */
dma_addr_t kmemlab_zc_last_dma(struct kmemlab_zc *zc)
{
	return zc->last_dma;
}
EXPORT_SYMBOL_GPL(kmemlab_zc_last_dma);

static irqreturn_t zc_irq(int irq, void *data)
{
	struct kmemlab_zc *zc = data;
	u32 status = readl(zc->bar + EDU_REG_IRQ_STATUS);

	if (!status)
		return IRQ_NONE;
	writel(status, zc->bar + EDU_REG_IRQ_ACK);
	if (status & EDU_IRQ_DMA)
		complete(&zc->dma_done);
	return IRQ_HANDLED;
}

/*
 * zc_dma_run() - one transfer between bus address @ram and offset @off of
 * the device buffer, waited for. Called with zc->lock held.
 */
static int zc_dma_run(struct kmemlab_zc *zc, dma_addr_t ram, size_t off,
		      size_t len, bool to_device)
{
	u32 cmd = EDU_DMA_START | EDU_DMA_IRQ;
	ktime_t start;
	long left;

	/* Past the reachable buffer, QEMU would stop the machine. */
	if (!len || off > KMEMLAB_ZC_MAX || len > KMEMLAB_ZC_MAX - off)
		return -EINVAL;
	if (to_device) {
		writel(ram, zc->bar + EDU_REG_DMA_SRC);
		writel(EDU_DEV_BUF + off, zc->bar + EDU_REG_DMA_DST);
	} else {
		writel(EDU_DEV_BUF + off, zc->bar + EDU_REG_DMA_SRC);
		writel(ram, zc->bar + EDU_REG_DMA_DST);
		cmd |= EDU_DMA_TO_RAM;
	}
	writel(len, zc->bar + EDU_REG_DMA_COUNT);
	reinit_completion(&zc->dma_done);
	zc->last_dma = ram;
	start = ktime_get();
	writel(cmd, zc->bar + EDU_REG_DMA_CMD);
	left = wait_for_completion_timeout(&zc->dma_done, EDU_TIMEOUT);
	zc->stats.device_ns += ktime_to_ns(ktime_sub(ktime_get(), start));
	if (!left)
		return -ETIMEDOUT;
	zc->stats.dma_bytes += len;
	zc->stats.transfers++;
	return 0;
}

/* The copy path's transfer: the kernel buffer, mapped for one transfer. */
static int zc_bounce_run(struct kmemlab_zc *zc, size_t len, bool to_device)
{
	enum dma_data_direction dir = to_device ? DMA_TO_DEVICE :
						  DMA_FROM_DEVICE;
	struct device *dev = &zc->pdev->dev;
	dma_addr_t handle;
	int ret;

	handle = dma_map_single(dev, zc->bounce, len, dir);
	if (dma_mapping_error(dev, handle))
		return -ENOMEM;
	ret = zc_dma_run(zc, handle, 0, len, to_device);
	dma_unmap_single(dev, handle, len, dir);
	return ret;
}

static int zc_lock_present(struct kmemlab_zc *zc)
{
	if (mutex_lock_interruptible(&zc->lock))
		return -EINTR;
	if (zc->gone) {
		mutex_unlock(&zc->lock);
		return -ENODEV;
	}
	return 0;
}

/*
 * zc_check() - refuse what cannot be a zero-copy transfer, before
 * anything is pinned.
 */
static int zc_check(unsigned long uaddr, size_t len)
{
	/* TODO 1 BEGIN: refuse with -EINVAL an empty transfer, one longer
	 * than KMEMLAB_ZC_MAX, and a buffer that does not start on a
	 * KMEMLAB_ZC_ALIGN boundary. Let access_ok() refuse with -EFAULT a
	 * range that is not user memory at all.
	 */
	if (!len || len > KMEMLAB_ZC_MAX)
		return -EINVAL;
	if (!IS_ALIGNED(uaddr, KMEMLAB_ZC_ALIGN))
		return -EINVAL;
	if (!access_ok((void __user *)uaddr, len))
		return -EFAULT;
	return 0;
	/* TODO 1 END, skeleton: return -ENOSYS; */
}

/*
 * zc_pin() - pin the @nr pages under @uaddr into @pages, writable when the
 * device will write them. All or nothing: on failure, nothing stays
 * pinned.
 */
static int zc_pin(unsigned long uaddr, int nr, bool to_device,
		  struct page **pages)
{
	/* TODO 2 BEGIN: pin_user_pages_fast() the pages, with FOLL_WRITE
	 * when the device writes to them (!to_device). It may pin fewer
	 * than asked: then unpin_user_pages() those and return -EFAULT.
	 * Pass its error on as it is.
	 */
	int pinned;

	pinned = pin_user_pages_fast(uaddr, nr, to_device ? 0 : FOLL_WRITE,
				     pages);
	if (pinned < 0)
		return pinned;
	if (pinned != nr) {
		unpin_user_pages(pages, pinned);
		return -EFAULT;
	}
	return 0;
	/* TODO 2 END, skeleton: return -ENOSYS; */
}

/*
 * zc_map() - describe the @len pinned bytes, from offset @first of the
 * first page, with an sg table, and map it for the device.
 */
static int zc_map(struct kmemlab_zc *zc, struct sg_table *sgt,
		  struct page **pages, int nr, unsigned int first, size_t len,
		  enum dma_data_direction dir)
{
	/* TODO 3 BEGIN: sg_alloc_table_from_pages() builds the table (it
	 * merges physically adjacent pages into one segment);
	 * dma_map_sgtable() maps it in direction dir. Free the table when
	 * the map fails.
	 */
	int ret;

	ret = sg_alloc_table_from_pages(sgt, pages, nr, first, len,
					GFP_KERNEL);
	if (ret)
		return ret;
	ret = dma_map_sgtable(&zc->pdev->dev, sgt, dir, 0);
	if (ret)
		sg_free_table(sgt);
	return ret;
	/* TODO 3 END, skeleton: return -ENOSYS; */
}

/*
 * zc_run_sg() - one transfer per DMA segment, packed one after the other
 * from the start of the device buffer. Called with zc->lock held.
 */
static int zc_run_sg(struct kmemlab_zc *zc, struct sg_table *sgt,
		     bool to_device)
{
	/* TODO 4 BEGIN: walk the DMA segments with for_each_sgtable_dma_sg()
	 * and run zc_dma_run() on each (sg_dma_address(), sg_dma_len()), at
	 * the device offset where the previous one ended. Stop at the first
	 * error.
	 */
	struct scatterlist *sg;
	size_t off = 0;
	int i, ret;

	for_each_sgtable_dma_sg(sgt, sg, i) {
		ret = zc_dma_run(zc, sg_dma_address(sg), off, sg_dma_len(sg),
				 to_device);
		if (ret)
			return ret;
		off += sg_dma_len(sg);
	}
	return 0;
	/* TODO 4 END, skeleton: return -ENOSYS; */
}

/* zc_unmap() - undo zc_map(), once the device is done. */
static void zc_unmap(struct kmemlab_zc *zc, struct sg_table *sgt,
		     enum dma_data_direction dir)
{
	/* TODO 5 BEGIN: dma_unmap_sgtable() with the direction of the map,
	 * then sg_free_table().
	 */
	dma_unmap_sgtable(&zc->pdev->dev, sgt, dir, 0);
	sg_free_table(sgt);
	/* TODO 5 END */
}

/* zc_unpin() - undo zc_pin(); @dirty when the device wrote the pages. */
static void zc_unpin(struct page **pages, int nr, bool dirty)
{
	/* TODO 5 BEGIN: unpin_user_pages_dirty_lock(): the pages the device
	 * wrote must be marked dirty, or the kernel may drop the data (a
	 * file page is never written back, a clean page can be discarded).
	 */
	unpin_user_pages_dirty_lock(pages, nr, dirty);
	/* TODO 5 END */
}

/**
 * kmemlab_zc_xfer() - DMA between @len bytes of the current process's
 * memory at @uaddr and the start of the device buffer, without the CPU
 * touching the data.
 * @zc: the device.
 * @uaddr: the user buffer, KMEMLAB_ZC_ALIGN aligned.
 * @len: 1 to KMEMLAB_ZC_MAX bytes.
 * @to_device: true to send, false to fetch.
 *
 * Return: 0; -EINVAL for a bad length or alignment, -EFAULT for memory
 * that is not there (or not writable when fetching), -ENODEV after the
 * device left, -ETIMEDOUT when it does not answer.
 */
int kmemlab_zc_xfer(struct kmemlab_zc *zc, unsigned long uaddr, size_t len,
		    bool to_device)
{
	enum dma_data_direction dir = to_device ? DMA_TO_DEVICE :
						  DMA_FROM_DEVICE;
	unsigned int first = offset_in_page(uaddr);
	struct page **pages;
	struct sg_table sgt;
	int nr, ret;

	ret = zc_check(uaddr, len);
	if (ret)
		return ret;
	/* Refuse early, before pinning, once the device is gone. */
	if (READ_ONCE(zc->gone))
		return -ENODEV;
	nr = DIV_ROUND_UP(first + len, PAGE_SIZE);
	pages = kcalloc(nr, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	ret = zc_pin(uaddr, nr, to_device, pages);
	if (ret)
		goto err_free_pages;
	ret = zc_map(zc, &sgt, pages, nr, first, len, dir);
	if (ret)
		goto err_unpin;

	ret = zc_lock_present(zc);
	if (!ret) {
		ret = zc_run_sg(zc, &sgt, to_device);
		mutex_unlock(&zc->lock);
	}

	zc_unmap(zc, &sgt, dir);
err_unpin:
	zc_unpin(pages, nr, !to_device && !ret);
err_free_pages:
	kfree(pages);
	return ret;
}
EXPORT_SYMBOL_GPL(kmemlab_zc_xfer);

/* The copy path, also for the suite to look into the device buffer. */
int kmemlab_zc_dev_read(struct kmemlab_zc *zc, void *dst, size_t len)
{
	int ret;

	if (!len || len > KMEMLAB_ZC_MAX)
		return -EINVAL;
	ret = zc_lock_present(zc);
	if (ret)
		return ret;
	ret = zc_bounce_run(zc, len, false);
	if (!ret)
		memcpy(dst, zc->bounce, len);
	mutex_unlock(&zc->lock);
	return ret;
}
EXPORT_SYMBOL_GPL(kmemlab_zc_dev_read);

int kmemlab_zc_dev_write(struct kmemlab_zc *zc, const void *src, size_t len)
{
	int ret;

	if (!len || len > KMEMLAB_ZC_MAX)
		return -EINVAL;
	ret = zc_lock_present(zc);
	if (ret)
		return ret;
	memcpy(zc->bounce, src, len);
	ret = zc_bounce_run(zc, len, true);
	mutex_unlock(&zc->lock);
	return ret;
}
EXPORT_SYMBOL_GPL(kmemlab_zc_dev_write);

static int zc_open(struct inode *inode, struct file *file)
{
	struct kmemlab_zc *zc = container_of(file->private_data,
					     struct kmemlab_zc, misc);

	/* misc_open() holds misc_mtx: remove() cannot run in between. */
	kref_get(&zc->ref);
	file->private_data = zc;
	return 0;
}

static int zc_release(struct inode *inode, struct file *file)
{
	struct kmemlab_zc *zc = file->private_data;

	kref_put(&zc->ref, zc_free);
	return 0;
}

/*
 * read() and write(): lab 07's copy path, always at the start of the
 * device buffer, at most KMEMLAB_ZC_MAX bytes per call.
 */
static ssize_t zc_write(struct file *file, const char __user *ubuf,
			size_t count, loff_t *ppos)
{
	struct kmemlab_zc *zc = file->private_data;
	ssize_t ret;

	count = min_t(size_t, count, KMEMLAB_ZC_MAX);
	if (!count)
		return 0;
	ret = zc_lock_present(zc);
	if (ret)
		return ret;
	if (copy_from_user(zc->bounce, ubuf, count)) {
		ret = -EFAULT;
	} else {
		zc->stats.cpu_copied += count;
		ret = zc_bounce_run(zc, count, true);
	}
	mutex_unlock(&zc->lock);
	return ret ? ret : count;
}

static ssize_t zc_read(struct file *file, char __user *ubuf, size_t count,
		       loff_t *ppos)
{
	struct kmemlab_zc *zc = file->private_data;
	ssize_t ret;

	count = min_t(size_t, count, KMEMLAB_ZC_MAX);
	if (!count)
		return 0;
	ret = zc_lock_present(zc);
	if (ret)
		return ret;
	ret = zc_bounce_run(zc, count, false);
	if (!ret) {
		if (copy_to_user(ubuf, zc->bounce, count))
			ret = -EFAULT;
		else
			zc->stats.cpu_copied += count;
	}
	mutex_unlock(&zc->lock);
	return ret ? ret : count;
}

static long zc_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct kmemlab_zc *zc = file->private_data;
	void __user *uarg = (void __user *)arg;
	struct kmemlab_zc_stats stats;
	struct kmemlab_zc_xfer xfer;
	int ret;

	switch (cmd) {
	case KMEMLAB_ZC_XFER:
		if (copy_from_user(&xfer, uarg, sizeof(xfer)))
			return -EFAULT;
		if (xfer.addr != (unsigned long)xfer.addr)
			return -EFAULT;	/* beyond a 32-bit address space */
		return kmemlab_zc_xfer(zc, xfer.addr, xfer.len,
				       xfer.to_device);
	case KMEMLAB_ZC_STATS:
		ret = zc_lock_present(zc);
		if (ret)
			return ret;
		stats = zc->stats;
		mutex_unlock(&zc->lock);
		return copy_to_user(uarg, &stats, sizeof(stats)) ? -EFAULT : 0;
	}
	return -ENOTTY;
}

static const struct file_operations zc_fops = {
	.owner		= THIS_MODULE,
	.open		= zc_open,
	.release	= zc_release,
	.read		= zc_read,
	.write		= zc_write,
	.llseek		= noop_llseek,
	.unlocked_ioctl	= zc_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

static void zc_put_action(void *data)
{
	struct kmemlab_zc *zc = data;

	kref_put(&zc->ref, zc_free);
}

static int zc_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct device *dev = &pdev->dev;
	struct kmemlab_zc *zc;
	int ret;

	if (zc_bound)
		return -EBUSY;
	zc = kzalloc(sizeof(*zc), GFP_KERNEL);
	if (!zc)
		return -ENOMEM;
	kref_init(&zc->ref);
	mutex_init(&zc->lock);
	init_completion(&zc->dma_done);
	zc->pdev = pdev;
	ret = devm_add_action_or_reset(dev, zc_put_action, zc);
	if (ret)
		return ret;
	pci_set_drvdata(pdev, zc);

	ret = pcim_enable_device(pdev);
	if (ret)
		return dev_err_probe(dev, ret, "cannot enable the device\n");
	pci_set_master(pdev);
	zc->bar = pcim_iomap_region(pdev, 0, KBUILD_MODNAME);
	if (IS_ERR(zc->bar))
		return dev_err_probe(dev, PTR_ERR(zc->bar), "cannot map BAR0\n");
	ret = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(EDU_DMA_BITS));
	if (ret)
		return dev_err_probe(dev, ret, "no usable DMA addressing\n");
	zc->bounce = devm_kzalloc(dev, KMEMLAB_ZC_MAX, GFP_KERNEL | GFP_DMA);
	if (!zc->bounce)
		return -ENOMEM;
	ret = pci_alloc_irq_vectors(pdev, 1, 1, PCI_IRQ_MSI);
	if (ret < 0)
		return dev_err_probe(dev, ret, "no MSI vector\n");
	ret = devm_request_irq(dev, pci_irq_vector(pdev, 0), zc_irq, 0,
			       KBUILD_MODNAME, zc);
	if (ret)
		return dev_err_probe(dev, ret, "cannot request the IRQ\n");

	zc->misc.minor = MISC_DYNAMIC_MINOR;
	zc->misc.name = "kmemlab_zc";
	zc->misc.fops = &zc_fops;
	zc->misc.parent = dev;
	zc->misc.mode = 0666;
	ret = misc_register(&zc->misc);
	if (ret)
		return dev_err_probe(dev, ret, "cannot register the misc device\n");
	zc_bound = zc;
	return 0;
}

static void zc_remove(struct pci_dev *pdev)
{
	struct kmemlab_zc *zc = pci_get_drvdata(pdev);

	zc_bound = NULL;
	misc_deregister(&zc->misc);
	/* Waits for a transfer in flight; later calls get -ENODEV. */
	mutex_lock(&zc->lock);
	zc->gone = true;
	mutex_unlock(&zc->lock);
}

static const struct pci_device_id zc_ids[] = {
	{ PCI_DEVICE(0x1234, 0x11e8) },
	{ }
};
MODULE_DEVICE_TABLE(pci, zc_ids);

static struct pci_driver zc_driver = {
	.name		= "kmemlab_zc",
	.id_table	= zc_ids,
	.probe		= zc_probe,
	.remove		= zc_remove,
};
module_pci_driver(zc_driver);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmemlab 08: zero-copy DMA to and from user memory");
