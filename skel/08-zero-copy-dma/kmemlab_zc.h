/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A copy of kunit/08-zero-copy-dma/kmemlab_zc.h, the interface between
 * your module and the lab's tests, for reading. Do not edit it: the
 * grader builds your module with its own copy.
 */
#ifndef KMEMLAB_ZC_H
#define KMEMLAB_ZC_H

#include <linux/types.h>
#include <linux/ioctl.h>

/*
 * The most one transfer moves: the device buffer, less the byte QEMU 7.2's
 * edu cannot reach (docs/edu-device.md).
 */
#define KMEMLAB_ZC_MAX		4095
/* User buffers start on a cache line: DMA must not share one with the CPU. */
#define KMEMLAB_ZC_ALIGN	64

/* ioctl(fd, KMEMLAB_ZC_XFER, &xfer): DMA straight to or from user memory. */
struct kmemlab_zc_xfer {
	__u64 addr;		/* user buffer, KMEMLAB_ZC_ALIGN aligned */
	__u32 len;		/* 1 to KMEMLAB_ZC_MAX bytes */
	__u32 to_device;	/* 1: user memory -> device, 0: device -> user */
};

/* What the CPU and the device moved since the driver was bound. */
struct kmemlab_zc_stats {
	__u64 cpu_copied;	/* bytes copied by the CPU (read()/write()) */
	__u64 dma_bytes;	/* bytes moved by the device */
	__u64 transfers;	/* DMA transfers the device ran */
	__u64 device_ns;	/* time spent waiting for the device */
};

#define KMEMLAB_ZC_XFER		_IOW('Z', 1, struct kmemlab_zc_xfer)
#define KMEMLAB_ZC_STATS	_IOR('Z', 2, struct kmemlab_zc_stats)

#ifdef __KERNEL__
struct pci_dev;
struct kmemlab_zc;

struct kmemlab_zc *kmemlab_zc_get(void);
struct pci_dev *kmemlab_zc_pci_dev(struct kmemlab_zc *zc);
int kmemlab_zc_xfer(struct kmemlab_zc *zc, unsigned long uaddr, size_t len,
		    bool to_device);
int kmemlab_zc_dev_read(struct kmemlab_zc *zc, void *dst, size_t len);
int kmemlab_zc_dev_write(struct kmemlab_zc *zc, const void *src, size_t len);
dma_addr_t kmemlab_zc_last_dma(struct kmemlab_zc *zc);
#endif

#endif
