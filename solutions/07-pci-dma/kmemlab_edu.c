// SPDX-License-Identifier: GPL-2.0
/*
 * kmemlab_edu - a PCI driver for QEMU's edu device (docs/edu-device.md).
 *
 * It shows the life of a small DMA-capable device: binding by PCI ID,
 * mapping BAR0, telling the DMA API how many address bits the device has,
 * taking MSI interrupts, and moving data both through a coherent buffer
 * and through streaming mappings. /dev/kmemlab_edu gives user space the
 * device's buffer (the KMEMLAB_EDU_SIZE bytes DMA can reach): write() and
 * read() go through the streaming path, mmap() shows the coherent buffer,
 * two ioctl()s move that buffer to and from the device.
 *
 * The device is managed with pcim_ and devm_ helpers, so probe() can fail
 * at any point and unbind can happen at any time without a cleanup path
 * written by hand. Only what outlives the binding is counted by hand: the
 * driver state, which an open file may still hold after the device left.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/completion.h>
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/interrupt.h>
#include <linux/kref.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "kmemlab_edu.h"

#define EDU_VENDOR_ID	0x1234
#define EDU_DEVICE_ID	0x11e8

/* A DMA takes about 100 ms of guest time; anything far beyond is lost. */
#define EDU_TIMEOUT	(2 * HZ)

struct kmemlab_edu {
	struct pci_dev *pdev;
	void __iomem *bar;
	struct miscdevice misc;
	struct kref ref;		/* the binding, and each open file */
	struct mutex lock;		/* one user of the device at a time */
	/*
	 * Taken inside lock and inside mmap_lock (by mmap()): read() and
	 * write() hold lock while they fault in user pages, so mmap() may
	 * not take lock itself.
	 */
	struct mutex state_lock;
	bool gone;			/* unbound: only files hold us now */
	struct list_head files;		/* open files, to revoke their mmap()s */

	struct completion fact_done;
	struct completion dma_done;
	atomic_long_t irqs;

	void *coherent;			/* mmap()able, always mapped */
	dma_addr_t coherent_dma;
	void *stream;			/* mapped only around a transfer */
};

struct edu_file {
	struct kmemlab_edu *edu;
	struct file *file;
	struct list_head node;
};

/* The bound device, for the lab's KUnit suite. */
static struct kmemlab_edu *edu_bound;

static void edu_free(struct kref *ref)
{
	kfree(container_of(ref, struct kmemlab_edu, ref));
}

/**
 * kmemlab_edu_get() - the edu device this driver is bound to, if any.
 *
 * Return: the device, valid while it stays bound, or NULL.
 */
struct kmemlab_edu *kmemlab_edu_get(void)
{
	return edu_bound;
}
EXPORT_SYMBOL_GPL(kmemlab_edu_get);

struct pci_dev *kmemlab_edu_pci_dev(struct kmemlab_edu *edu)
{
	return edu->pdev;
}
EXPORT_SYMBOL_GPL(kmemlab_edu_pci_dev);

/* Register access for the suite; all ones when BAR0 is not mapped. */
u32 kmemlab_edu_readl(struct kmemlab_edu *edu, unsigned int reg)
{
	return edu->bar ? readl(edu->bar + reg) : ~0U;
}
EXPORT_SYMBOL_GPL(kmemlab_edu_readl);

void kmemlab_edu_writel(struct kmemlab_edu *edu, unsigned int reg, u32 val)
{
	if (edu->bar)
		writel(val, edu->bar + reg);
}
EXPORT_SYMBOL_GPL(kmemlab_edu_writel);

unsigned long kmemlab_edu_irq_count(struct kmemlab_edu *edu)
{
	return atomic_long_read(&edu->irqs);
}
EXPORT_SYMBOL_GPL(kmemlab_edu_irq_count);

void *kmemlab_edu_coherent(struct kmemlab_edu *edu, dma_addr_t *handle)
{
	*handle = edu->coherent_dma;
	return edu->coherent;
}
EXPORT_SYMBOL_GPL(kmemlab_edu_coherent);

void *kmemlab_edu_stream_buf(struct kmemlab_edu *edu)
{
	return edu->stream;
}
EXPORT_SYMBOL_GPL(kmemlab_edu_stream_buf);

/**
 * kmemlab_edu_check_alive() - is BAR0 really an edu device, and alive?
 * @edu: the device.
 *
 * Return: 0 when the identification register says edu, major version 1,
 * and the liveness register inverts what is written to it; -ENODEV when
 * not.
 */
int kmemlab_edu_check_alive(struct kmemlab_edu *edu)
{
	/* TODO 2 BEGIN: read EDU_REG_ID: the low byte must be 0xed and the
	 * top byte (the major version) 1. Then write a value to
	 * EDU_REG_LIVENESS and read back its bitwise inverse. Use readl()
	 * and writel() on edu->bar.
	 */
	u32 id = readl(edu->bar + EDU_REG_ID);
	u32 probe = 0x5a0ff0a5;

	if ((id & 0xff) != 0xed || (id >> 24) != 1)
		return -ENODEV;
	writel(probe, edu->bar + EDU_REG_LIVENESS);
	if (readl(edu->bar + EDU_REG_LIVENESS) != ~probe)
		return -ENODEV;
	return 0;
	/* TODO 2 END, skeleton: return -ENOSYS; */
}
EXPORT_SYMBOL_GPL(kmemlab_edu_check_alive);

static irqreturn_t edu_irq(int irq, void *data)
{
	struct kmemlab_edu *edu = data;
	u32 status = readl(edu->bar + EDU_REG_IRQ_STATUS);

	/* Not ours, or already handled: say so, the line may be shared. */
	if (!status)
		return IRQ_NONE;
	atomic_long_inc(&edu->irqs);

	/* TODO 4 BEGIN: acknowledge exactly the bits in status by writing
	 * them to EDU_REG_IRQ_ACK, then complete() fact_done when
	 * EDU_IRQ_FACT is among them and dma_done when EDU_IRQ_DMA is.
	 */
	writel(status, edu->bar + EDU_REG_IRQ_ACK);
	if (status & EDU_IRQ_FACT)
		complete(&edu->fact_done);
	if (status & EDU_IRQ_DMA)
		complete(&edu->dma_done);
	/* TODO 4 END */
	return IRQ_HANDLED;
}

/**
 * kmemlab_edu_factorial() - let the device compute n! (modulo 2^32).
 * @edu: the device.
 * @n: the operand.
 * @result: where to store n!.
 *
 * Sleeps until the device's completion interrupt, at most EDU_TIMEOUT.
 *
 * Return: 0, -ETIMEDOUT when no interrupt came, -EINTR on a signal.
 */
int kmemlab_edu_factorial(struct kmemlab_edu *edu, u32 n, u32 *result)
{
	int ret = 0;

	if (mutex_lock_interruptible(&edu->lock))
		return -EINTR;
	/* TODO 5 BEGIN: ask for an interrupt on completion (set
	 * EDU_STATUS_IRQ_FACT in EDU_REG_STATUS), reinit_completion() the
	 * fact_done completion, start the computation by writing n to
	 * EDU_REG_FACTORIAL, then sleep in wait_for_completion_timeout()
	 * (never spin on the busy bit) and read the result back.
	 */
	writel(EDU_STATUS_IRQ_FACT, edu->bar + EDU_REG_STATUS);
	reinit_completion(&edu->fact_done);
	writel(n, edu->bar + EDU_REG_FACTORIAL);
	if (!wait_for_completion_timeout(&edu->fact_done, EDU_TIMEOUT))
		ret = -ETIMEDOUT;
	else
		*result = readl(edu->bar + EDU_REG_FACTORIAL);
	/* TODO 5 END, skeleton: ret = -ENOSYS; */
	mutex_unlock(&edu->lock);
	return ret;
}
EXPORT_SYMBOL_GPL(kmemlab_edu_factorial);

/*
 * edu_dma_run() - move @len bytes between bus address @ram and offset @off
 * of the device buffer, and wait for the device to finish. Called with
 * edu->lock held.
 */
static int edu_dma_run(struct kmemlab_edu *edu, dma_addr_t ram, size_t off,
		       size_t len, bool to_device)
{
	u32 cmd = EDU_DMA_START | EDU_DMA_IRQ;

	/*
	 * The device stops the whole machine on a transfer outside its
	 * buffer: never let one through.
	 */
	if (!len || off > KMEMLAB_EDU_SIZE ||
	    len > KMEMLAB_EDU_SIZE - off)
		return -EINVAL;
	if (!to_device)
		cmd |= EDU_DMA_TO_RAM;

	/* TODO 6 BEGIN: program one transfer and sleep until its interrupt.
	 * Source and destination are bus addresses: RAM is @ram, the
	 * device buffer is EDU_DEV_BUF + @off; which is which depends on
	 * @to_device. A 32-bit writel() to EDU_REG_DMA_SRC/DST/COUNT sets
	 * the whole register. reinit_completion(&edu->dma_done) before
	 * writing @cmd to EDU_REG_DMA_CMD; then wait at most EDU_TIMEOUT.
	 */
	if (to_device) {
		writel(ram, edu->bar + EDU_REG_DMA_SRC);
		writel(EDU_DEV_BUF + off, edu->bar + EDU_REG_DMA_DST);
	} else {
		writel(EDU_DEV_BUF + off, edu->bar + EDU_REG_DMA_SRC);
		writel(ram, edu->bar + EDU_REG_DMA_DST);
	}
	writel(len, edu->bar + EDU_REG_DMA_COUNT);
	reinit_completion(&edu->dma_done);
	writel(cmd, edu->bar + EDU_REG_DMA_CMD);
	if (!wait_for_completion_timeout(&edu->dma_done, EDU_TIMEOUT))
		return -ETIMEDOUT;
	return 0;
	/* TODO 6 END, skeleton: return -ENOSYS; */
}

/**
 * kmemlab_edu_coherent_xfer() - DMA between the coherent buffer and the
 * device buffer, the same @len bytes from offset @off in both.
 *
 * Return: 0 or a negative errno.
 */
int kmemlab_edu_coherent_xfer(struct kmemlab_edu *edu, size_t off, size_t len,
			      bool to_device)
{
	int ret;

	if (!edu->coherent)
		return -ENOMEM;
	if (mutex_lock_interruptible(&edu->lock))
		return -EINTR;
	ret = edu_dma_run(edu, edu->coherent_dma + off, off, len, to_device);
	mutex_unlock(&edu->lock);
	return ret;
}
EXPORT_SYMBOL_GPL(kmemlab_edu_coherent_xfer);

/* The same through a streaming mapping of edu->stream; lock held. */
static int edu_stream_xfer(struct kmemlab_edu *edu, size_t off, size_t len,
			   bool to_device)
{
	/* TODO 7 BEGIN: map edu->stream + off for len bytes with
	 * dma_map_single() in the direction the data goes (DMA_TO_DEVICE
	 * or DMA_FROM_DEVICE), give up with -ENOMEM when
	 * dma_mapping_error() says so, run the transfer with edu_dma_run(),
	 * and unmap with the same size and direction only once the device
	 * is done with the memory.
	 */
	enum dma_data_direction dir = to_device ? DMA_TO_DEVICE :
						  DMA_FROM_DEVICE;
	struct device *dev = &edu->pdev->dev;
	dma_addr_t handle;
	int ret;

	handle = dma_map_single(dev, edu->stream + off, len, dir);
	if (dma_mapping_error(dev, handle))
		return -ENOMEM;
	ret = edu_dma_run(edu, handle, off, len, to_device);
	dma_unmap_single(dev, handle, len, dir);
	return ret;
	/* TODO 7 END, skeleton: return -ENOSYS; */
}

/**
 * kmemlab_edu_stream_xfer() - DMA between the streaming buffer and the
 * device buffer, the same @len bytes from offset @off in both.
 *
 * Return: 0 or a negative errno.
 */
int kmemlab_edu_stream_xfer(struct kmemlab_edu *edu, size_t off, size_t len,
			    bool to_device)
{
	int ret;

	if (!len || off > KMEMLAB_EDU_SIZE ||
	    len > KMEMLAB_EDU_SIZE - off)
		return -EINVAL;
	if (mutex_lock_interruptible(&edu->lock))
		return -EINTR;
	ret = edu_stream_xfer(edu, off, len, to_device);
	mutex_unlock(&edu->lock);
	return ret;
}
EXPORT_SYMBOL_GPL(kmemlab_edu_stream_xfer);

/*
 * The file operations. Each one takes edu->lock and checks edu->gone: the
 * file may outlive the binding, and then the device, its registers and
 * its buffers are no longer ours to touch.
 */
static int edu_lock_present(struct kmemlab_edu *edu)
{
	if (mutex_lock_interruptible(&edu->lock))
		return -EINTR;
	if (edu->gone) {
		mutex_unlock(&edu->lock);
		return -ENODEV;
	}
	return 0;
}

static int edu_open(struct inode *inode, struct file *file)
{
	struct kmemlab_edu *edu = container_of(file->private_data,
					       struct kmemlab_edu, misc);
	struct edu_file *ef;

	ef = kzalloc(sizeof(*ef), GFP_KERNEL);
	if (!ef)
		return -ENOMEM;
	ef->edu = edu;
	ef->file = file;
	/* misc_open() holds misc_mtx: remove() cannot run in between. */
	kref_get(&edu->ref);
	mutex_lock(&edu->state_lock);
	list_add(&ef->node, &edu->files);
	mutex_unlock(&edu->state_lock);
	file->private_data = ef;
	return 0;
}

static int edu_release_file(struct inode *inode, struct file *file)
{
	struct edu_file *ef = file->private_data;
	struct kmemlab_edu *edu = ef->edu;

	mutex_lock(&edu->state_lock);
	list_del(&ef->node);
	mutex_unlock(&edu->state_lock);
	kfree(ef);
	kref_put(&edu->ref, edu_free);
	return 0;
}

static ssize_t edu_write(struct file *file, const char __user *ubuf,
			 size_t count, loff_t *ppos)
{
	/* TODO 8 BEGIN: write() at *ppos: refuse with -ENOSPC at or past
	 * the end (KMEMLAB_EDU_SIZE bytes), write short when count runs
	 * past it. Under edu_lock_present(), copy_from_user() into
	 * edu->stream at the same offset (-EFAULT), send it with
	 * edu_stream_xfer(), and advance *ppos by what was written.
	 */
	struct kmemlab_edu *edu = ((struct edu_file *)file->private_data)->edu;
	ssize_t ret;

	if (!count)
		return 0;
	if (*ppos < 0)
		return -EINVAL;
	if (*ppos >= KMEMLAB_EDU_SIZE)
		return -ENOSPC;
	count = min_t(size_t, count, KMEMLAB_EDU_SIZE - *ppos);

	ret = edu_lock_present(edu);
	if (ret)
		return ret;
	if (copy_from_user(edu->stream + *ppos, ubuf, count))
		ret = -EFAULT;
	else
		ret = edu_stream_xfer(edu, *ppos, count, true);
	mutex_unlock(&edu->lock);
	if (ret)
		return ret;
	*ppos += count;
	return count;
	/* TODO 8 END, skeleton: return -ENOSYS; */
}

static ssize_t edu_read(struct file *file, char __user *ubuf, size_t count,
			loff_t *ppos)
{
	/* TODO 8 BEGIN: read() at *ppos: 0 (end of file) at or past the end
	 * of the buffer, short when count runs past it. Under
	 * edu_lock_present(), fetch with edu_stream_xfer() and
	 * copy_to_user() (-EFAULT), then advance *ppos.
	 */
	struct kmemlab_edu *edu = ((struct edu_file *)file->private_data)->edu;
	ssize_t ret;

	if (*ppos < 0)
		return -EINVAL;
	if (!count || *ppos >= KMEMLAB_EDU_SIZE)
		return 0;
	count = min_t(size_t, count, KMEMLAB_EDU_SIZE - *ppos);

	ret = edu_lock_present(edu);
	if (ret)
		return ret;
	ret = edu_stream_xfer(edu, *ppos, count, false);
	if (!ret && copy_to_user(ubuf, edu->stream + *ppos, count))
		ret = -EFAULT;
	mutex_unlock(&edu->lock);
	if (ret)
		return ret;
	*ppos += count;
	return count;
	/* TODO 8 END, skeleton: return -ENOSYS; */
}

static loff_t edu_llseek(struct file *file, loff_t offset, int whence)
{
	/* TODO 8 BEGIN: positions run from 0 to the buffer size, both
	 * included; fixed_size_llseek() knows the rules.
	 */
	return fixed_size_llseek(file, offset, whence, KMEMLAB_EDU_SIZE);
	/* TODO 8 END, skeleton: return -ENOSYS; */
}

static int edu_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct kmemlab_edu *edu = ((struct edu_file *)file->private_data)->edu;
	int ret;

	mutex_lock(&edu->state_lock);
	if (edu->gone) {
		ret = -ENODEV;
		goto out_unlock;
	}
	/* TODO 9 BEGIN: map the coherent buffer into vma with
	 * dma_mmap_coherent(). Refuse (-EINVAL) a mapping that does not
	 * start at offset 0 or is longer than the buffer.
	 */
	if (!edu->coherent)
		ret = -ENOMEM;
	else if (vma->vm_pgoff ||
		 vma->vm_end - vma->vm_start > PAGE_ALIGN(KMEMLAB_EDU_BUF_SIZE))
		ret = -EINVAL;
	else
		ret = dma_mmap_coherent(&edu->pdev->dev, vma, edu->coherent,
					edu->coherent_dma,
					KMEMLAB_EDU_BUF_SIZE);
	/* TODO 9 END, skeleton: ret = -ENOSYS; */
out_unlock:
	mutex_unlock(&edu->state_lock);
	return ret;
}

static long edu_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct kmemlab_edu *edu = ((struct edu_file *)file->private_data)->edu;
	long ret;

	if (cmd != KMEMLAB_EDU_PUSH && cmd != KMEMLAB_EDU_PULL)
		return -ENOTTY;
	if (!arg || arg > KMEMLAB_EDU_SIZE)
		return -EINVAL;
	if (!edu->coherent)
		return -ENOMEM;
	ret = edu_lock_present(edu);
	if (ret)
		return ret;
	ret = edu_dma_run(edu, edu->coherent_dma, 0, arg,
			  cmd == KMEMLAB_EDU_PUSH);
	mutex_unlock(&edu->lock);
	return ret;
}

static const struct file_operations edu_fops = {
	.owner		= THIS_MODULE,
	.open		= edu_open,
	.release	= edu_release_file,
	.read		= edu_read,
	.write		= edu_write,
	.llseek		= edu_llseek,
	.mmap		= edu_mmap,
	.unlocked_ioctl	= edu_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

static void edu_put_action(void *data)
{
	struct kmemlab_edu *edu = data;

	kref_put(&edu->ref, edu_free);
}

static int edu_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct device *dev = &pdev->dev;
	struct kmemlab_edu *edu;
	int ret, irq;

	if (edu_bound)
		return -EBUSY;	/* the suite knows one device only */

	edu = kzalloc(sizeof(*edu), GFP_KERNEL);
	if (!edu)
		return -ENOMEM;
	kref_init(&edu->ref);
	mutex_init(&edu->lock);
	mutex_init(&edu->state_lock);
	INIT_LIST_HEAD(&edu->files);
	init_completion(&edu->fact_done);
	init_completion(&edu->dma_done);
	edu->pdev = pdev;
	/*
	 * Released last, after the IRQ handler is gone: devres undoes in
	 * reverse order.
	 */
	ret = devm_add_action_or_reset(dev, edu_put_action, edu);
	if (ret)
		return ret;
	pci_set_drvdata(pdev, edu);

	/* TODO 2 BEGIN: enable the device with pcim_enable_device(), make
	 * it a bus master (pci_set_master()), map BAR0 with
	 * pcim_iomap_region() into edu->bar (it returns an IOMEM_ERR_PTR),
	 * and refuse a device that fails kmemlab_edu_check_alive().
	 */
	ret = pcim_enable_device(pdev);
	if (ret)
		return dev_err_probe(dev, ret, "cannot enable the device\n");
	pci_set_master(pdev);
	edu->bar = pcim_iomap_region(pdev, 0, KBUILD_MODNAME);
	if (IS_ERR(edu->bar)) {
		ret = PTR_ERR(edu->bar);
		edu->bar = NULL;
		return dev_err_probe(dev, ret, "cannot map BAR0\n");
	}
	ret = kmemlab_edu_check_alive(edu);
	if (ret)
		return dev_err_probe(dev, ret, "BAR0 is not a live edu device\n");
	/* TODO 2 END */

	/* TODO 3 BEGIN: the device drives 28 address bits: say so with
	 * dma_set_mask_and_coherent(), then allocate the 4096-byte coherent
	 * buffer with dmam_alloc_coherent() into edu->coherent and
	 * edu->coherent_dma.
	 */
	ret = dma_set_mask_and_coherent(dev,
					DMA_BIT_MASK(KMEMLAB_EDU_DMA_BITS));
	if (ret)
		return dev_err_probe(dev, ret, "no usable DMA addressing\n");
	edu->coherent = dmam_alloc_coherent(dev, KMEMLAB_EDU_BUF_SIZE,
					    &edu->coherent_dma, GFP_KERNEL);
	if (!edu->coherent)
		return -ENOMEM;
	/* TODO 3 END */

	/*
	 * The streaming buffer is ordinary kernel memory, mapped for each
	 * transfer. Without an IOMMU, dma_map_single() hands the device the
	 * physical address: it must lie below 2^28, so the buffer comes
	 * from ZONE_DMA.
	 */
	edu->stream = devm_kzalloc(dev, KMEMLAB_EDU_BUF_SIZE,
				   GFP_KERNEL | GFP_DMA);
	if (!edu->stream)
		return -ENOMEM;

	/* TODO 4 BEGIN: get one MSI vector with pci_alloc_irq_vectors() (it
	 * is managed, as the device was enabled with pcim_enable_device())
	 * and its Linux IRQ number with pci_irq_vector().
	 */
	ret = pci_alloc_irq_vectors(pdev, 1, 1, PCI_IRQ_MSI);
	if (ret < 0)
		return dev_err_probe(dev, ret, "no MSI vector\n");
	irq = pci_irq_vector(pdev, 0);
	/* TODO 4 END, skeleton: irq = -ENOSYS; */
	if (irq < 0)
		return dev_err_probe(dev, irq, "no interrupt vector\n");
	ret = devm_request_irq(dev, irq, edu_irq, 0, KBUILD_MODNAME, edu);
	if (ret)
		return dev_err_probe(dev, ret, "cannot request IRQ %d\n", irq);

	edu->misc.minor = MISC_DYNAMIC_MINOR;
	edu->misc.name = "kmemlab_edu";
	edu->misc.fops = &edu_fops;
	edu->misc.parent = dev;
	edu->misc.mode = 0666;
	ret = misc_register(&edu->misc);
	if (ret)
		return dev_err_probe(dev, ret, "cannot register the misc device\n");

	edu_bound = edu;
	dev_info(dev, "edu device ready, coherent buffer at %pad\n",
		 &edu->coherent_dma);
	return 0;
}

static void edu_remove(struct pci_dev *pdev)
{
	struct kmemlab_edu *edu = pci_get_drvdata(pdev);
	struct edu_file *ef;

	edu_bound = NULL;
	misc_deregister(&edu->misc);

	/*
	 * Open files stay, but lose the device: their next call gets
	 * -ENODEV, and their mappings of the coherent buffer, about to be
	 * freed, are torn down (a later access is SIGBUS). Taking the lock
	 * also waits for a transfer in flight.
	 */
	mutex_lock(&edu->lock);
	mutex_lock(&edu->state_lock);
	edu->gone = true;
	list_for_each_entry(ef, &edu->files, node)
		unmap_mapping_range(ef->file->f_mapping, 0, 0, 1);
	mutex_unlock(&edu->state_lock);
	if (edu->bar)
		writel(0, edu->bar + EDU_REG_STATUS);	/* no more IRQs */
	mutex_unlock(&edu->lock);
}

/* TODO 1 BEGIN: the ID table: vendor 0x1234, device 0x11e8, exported
 * with MODULE_DEVICE_TABLE(pci, ...) so that udev could load us.
 */
static const struct pci_device_id edu_ids[] = {
	{ PCI_DEVICE(EDU_VENDOR_ID, EDU_DEVICE_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, edu_ids);
/* TODO 1 END, skeleton: static const struct pci_device_id edu_ids[] = { { } }; */

static struct pci_driver edu_driver = {
	.name		= "kmemlab_edu",
	.id_table	= edu_ids,
	.probe		= edu_probe,
	.remove		= edu_remove,
};
module_pci_driver(edu_driver);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmemlab 07: a PCI driver for QEMU's edu device");
