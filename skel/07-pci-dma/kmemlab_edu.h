/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A copy of kunit/07-pci-dma/kmemlab_edu.h, the interface between
 * your module and the lab's tests, for reading. Do not edit it: the
 * grader builds your module with its own copy.
 */
#ifndef KMEMLAB_EDU_H
#define KMEMLAB_EDU_H

#include <linux/types.h>
#include <linux/ioctl.h>

/* Registers of BAR0, see docs/edu-device.md. */
#define EDU_REG_ID		0x00
#define EDU_REG_LIVENESS	0x04
#define EDU_REG_FACTORIAL	0x08
#define EDU_REG_STATUS		0x20
#define   EDU_STATUS_BUSY	0x01
#define   EDU_STATUS_IRQ_FACT	0x80
#define EDU_REG_IRQ_STATUS	0x24
#define EDU_REG_IRQ_RAISE	0x60
#define EDU_REG_IRQ_ACK		0x64
#define   EDU_IRQ_FACT		0x001
#define   EDU_IRQ_DMA		0x100
#define EDU_REG_DMA_SRC		0x80
#define EDU_REG_DMA_DST		0x88
#define EDU_REG_DMA_COUNT	0x90
#define EDU_REG_DMA_CMD		0x98
#define   EDU_DMA_START		0x01
#define   EDU_DMA_TO_RAM	0x02
#define   EDU_DMA_IRQ		0x04
/* The device buffer, as the DMA engine addresses it. */
#define EDU_DEV_BUF		0x40000

/* Size of the device's DMA buffer, of the coherent and streaming buffers. */
#define KMEMLAB_EDU_BUF_SIZE	4096
/*
 * What DMA can reach of it: QEMU 7.2's edu refuses (and stops the machine
 * on) a transfer that ends at the last byte of its buffer. This is also the
 * size of /dev/kmemlab_edu.
 */
#define KMEMLAB_EDU_SIZE	(KMEMLAB_EDU_BUF_SIZE - 1)
/* The highest bus address the device can reach: 28 address lines. */
#define KMEMLAB_EDU_DMA_BITS	28

/*
 * ioctl()s of /dev/kmemlab_edu: move the first @arg bytes (1 to
 * KMEMLAB_EDU_SIZE) between the mmap()able coherent buffer and the device
 * buffer, both from offset 0.
 */
#define KMEMLAB_EDU_PUSH	_IO('E', 1)	/* coherent buffer -> device */
#define KMEMLAB_EDU_PULL	_IO('E', 2)	/* device -> coherent buffer */

struct pci_dev;
struct kmemlab_edu;

struct kmemlab_edu *kmemlab_edu_get(void);
struct pci_dev *kmemlab_edu_pci_dev(struct kmemlab_edu *edu);
u32 kmemlab_edu_readl(struct kmemlab_edu *edu, unsigned int reg);
void kmemlab_edu_writel(struct kmemlab_edu *edu, unsigned int reg, u32 val);
unsigned long kmemlab_edu_irq_count(struct kmemlab_edu *edu);
int kmemlab_edu_check_alive(struct kmemlab_edu *edu);
int kmemlab_edu_factorial(struct kmemlab_edu *edu, u32 n, u32 *result);
void *kmemlab_edu_coherent(struct kmemlab_edu *edu, dma_addr_t *handle);
int kmemlab_edu_coherent_xfer(struct kmemlab_edu *edu, size_t off, size_t len,
			      bool to_device);
void *kmemlab_edu_stream_buf(struct kmemlab_edu *edu);
int kmemlab_edu_stream_xfer(struct kmemlab_edu *edu, size_t off, size_t len,
			    bool to_device);

#endif
