/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kmemlab_devmem.h - what the lab 09 suite and user programs know about the
 * driver: its device nodes, the names it gives its regions in /proc/iomem,
 * the edu registers the programs use, and (kernel only) what it exports.
 *
 * Included by the KUnit suite and, without __KERNEL__, by the user
 * programs: nothing here may need a kernel header outside the #ifdef.
 */
#ifndef KMEMLAB_DEVMEM_H
#define KMEMLAB_DEVMEM_H

/* The PCI driver's name, and the name of its BAR0 claim in /proc/iomem. */
#define KMEMLAB_DEVMEM_DRIVER		"kmemlab_devmem"
/* The name of the reserved RAM claim in /proc/iomem. */
#define KMEMLAB_DEVMEM_RAM_NAME		"kmemlab_devmem_ram"

/* Device nodes: edu's BAR0, and the RAM range reserved at boot. */
#define KMEMLAB_DEVMEM_BAR_DEV		"kmemlab_devmem_bar"
#define KMEMLAB_DEVMEM_RAM_DEV		"kmemlab_devmem_ram"

/* edu's PCI identity and the BAR0 registers used here (docs/edu-device.md). */
#define EDU_VENDOR_ID		0x1234
#define EDU_DEVICE_ID		0x11e8
#define EDU_REG_ID		0x00
#define EDU_REG_LIVENESS	0x04
#define EDU_REG_FACTORIAL	0x08
#define EDU_REG_STATUS		0x20
#define   EDU_STATUS_BUSY	0x01

#ifdef __KERNEL__
/*
 * The kernel address through which the driver reaches the reserved RAM
 * range (what memremap() returned), or NULL when it holds no range.
 */
void *kmemlab_devmem_ram_virt(void);
#endif

#endif /* KMEMLAB_DEVMEM_H */
