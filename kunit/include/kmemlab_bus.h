/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kmemlab_bus.h - for the KUnit suites of the DMA labs (07, 08): where in
 * RAM a bus address given to a device leads, as the kernel reports it.
 *
 * Without an IOMMU the DMA API maps directly (kernel/dma/direct.c): a bus
 * address is the physical address, dma_to_phys() the identity on x86 (a
 * swiotlb bounce slot is a physical address too). Behind an IOMMU that
 * the DMA API uses (use_dma_iommu(), the iommu run of labs 07 and 08) it
 * is an I/O virtual address of the device's domain, and the IOMMU's page
 * table says where it leads: iommu_iova_to_phys() reads that table, and
 * gives 0 where nothing is mapped, an address at which the device's
 * access faults. The strict IOMMU of the iommu run clears an entry at the
 * unmap, so what a streaming mapping led to can only be read while it is
 * mapped: kmemlab_bus_watch samples it while the device works.
 */
#ifndef KMEMLAB_BUS_H
#define KMEMLAB_BUS_H

#include <linux/delay.h>
#include <linux/dma-direct.h>
#include <linux/dma-mapping.h>
#include <linux/iommu.h>
#include <linux/iommu-dma.h>
#include <linux/kthread.h>

/**
 * kmemlab_bus_to_phys() - the CPU physical address at which a device's
 * access to bus address @bus lands now: 0 when the device's IOMMU maps
 * nothing there.
 */
static inline phys_addr_t kmemlab_bus_to_phys(struct device *dev, dma_addr_t bus)
{
	struct iommu_domain *domain;

	if (!use_dma_iommu(dev))
		return dma_to_phys(dev, bus);
	domain = iommu_get_domain_for_dev(dev);
	return domain ? iommu_iova_to_phys(domain, bus) : 0;
}

/**
 * struct kmemlab_bus_watch - what a device's bus address led to while it
 * worked, sampled every half millisecond by a kernel thread.
 * @given: the bus address the device holds now (a register, what the
 *	driver reports), or DMA_MAPPING_ERROR while it is idle.
 * @bus, @phys: the last address sampled that led somewhere, and where
 *	(@phys 0: none did).
 * @stray: the last address sampled that led nowhere (DMA_MAPPING_ERROR:
 *	none).
 */
struct kmemlab_bus_watch {
	struct device *dev;
	dma_addr_t (*given)(void *arg);
	void *arg;
	struct task_struct *task;
	dma_addr_t bus, stray;
	phys_addr_t phys;
};

static int kmemlab_bus_watch_fn(void *data)
{
	struct kmemlab_bus_watch *w = data;

	while (!kthread_should_stop()) {
		dma_addr_t bus = w->given(w->arg);
		phys_addr_t phys;

		if (bus != DMA_MAPPING_ERROR) {
			phys = kmemlab_bus_to_phys(w->dev, bus);
			if (phys) {
				WRITE_ONCE(w->bus, bus);
				WRITE_ONCE(w->phys, phys);
			} else {
				WRITE_ONCE(w->stray, bus);
			}
		}
		usleep_range(400, 600);
	}
	return 0;
}

/* Start sampling; 0 or the error of kthread_run(). */
static inline int kmemlab_bus_watch_start(struct kmemlab_bus_watch *w, struct device *dev,
					  dma_addr_t (*given)(void *arg), void *arg)
{
	*w = (struct kmemlab_bus_watch){ .dev = dev, .given = given, .arg = arg,
					 .bus = DMA_MAPPING_ERROR, .stray = DMA_MAPPING_ERROR };
	w->task = kthread_run(kmemlab_bus_watch_fn, w, "kmemlab_bus_watch");
	return PTR_ERR_OR_ZERO(w->task);
}

/* Stop sampling; the fields hold what was seen. */
static inline void kmemlab_bus_watch_stop(struct kmemlab_bus_watch *w)
{
	kthread_stop(w->task);
}

#endif /* KMEMLAB_BUS_H */
