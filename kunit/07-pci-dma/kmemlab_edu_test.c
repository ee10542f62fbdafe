// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite for lab 07: drives the edu device through the functions
 * kmemlab_edu exports, and checks what the device itself says (its
 * registers) as well as what the driver returns.
 *
 * No case hands the device an address outside its 28-bit reach: when
 * the coherent buffer lies too high, the transfer cases stop before the
 * device would write into someone else's memory.
 */
#include <kunit/test.h>
#include <linux/delay.h>
#include <linux/device.h>
#include <linux/dma-direct.h>
#include <linux/dma-mapping.h>
#include <linux/interrupt.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/miscdevice.h>
#include <linux/pci.h>
#include <linux/radix-tree.h>
#include <linux/sched/signal.h>
#include <linux/signal.h>
#include <linux/string.h>
#include <linux/swiotlb.h>
#include <linux/vmalloc.h>

#include "kmemlab_edu.h"
#include "include/kmemlab_bus.h"
#include "include/kmemlab_kthread.h"

#define EDU_MASK	DMA_BIT_MASK(KMEMLAB_EDU_DMA_BITS)

/*
 * A factorial that keeps edu's computing thread busy for milliseconds
 * (it multiplies n times). n! has at least 32 factors of two once
 * n >= 34, so the device's answer, n! modulo 2^32, is 0; while it
 * computes, the factorial register still reads n.
 */
#define EDU_SLOW_FACTORIAL	10000000U

/* Every case needs the bound device; fail the case cleanly without it. */
static struct kmemlab_edu *bound_edu(struct kunit *test)
{
	struct kmemlab_edu *edu = kmemlab_edu_get();

	KUNIT_ASSERT_NOT_NULL_MSG(test, edu,
				  "kmemlab_edu is not bound to the edu device (1234:11e8): check the ID table and what probe() printed");
	return edu;
}

/* The coherent buffer, asserted present and within the device's reach. */
static u8 *reachable_coherent(struct kunit *test, struct kmemlab_edu *edu)
{
	dma_addr_t handle;
	u8 *buf = kmemlab_edu_coherent(edu, &handle);

	KUNIT_ASSERT_NOT_NULL_MSG(test, buf,
				  "probe() should allocate the coherent buffer with dmam_alloc_coherent()");
	KUNIT_ASSERT_LE_MSG(test, (u64)handle + KMEMLAB_EDU_BUF_SIZE - 1, EDU_MASK,
			    "the coherent buffer is at bus address %pad, beyond the device's 28 address bits: the device would read and write elsewhere (did probe() set the DMA mask before allocating?)",
			    &handle);
	return buf;
}

static void fill_pattern(u8 *buf, size_t len, u8 seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (u8)(i * 7 + seed);
}

static void probe_binds_edu(struct kunit *test)
{
	struct kmemlab_edu *edu = bound_edu(test);
	struct pci_dev *pdev = kmemlab_edu_pci_dev(edu);

	KUNIT_EXPECT_EQ_MSG(test, pdev->vendor, 0x1234,
			    "the driver is bound to a device that is not edu");
	KUNIT_EXPECT_EQ_MSG(test, pdev->device, 0x11e8,
			    "the driver is bound to a device that is not edu");
	KUNIT_EXPECT_TRUE_MSG(test, pci_is_enabled(pdev),
			      "probe() should enable the device (pcim_enable_device())");
	KUNIT_EXPECT_TRUE_MSG(test, pdev->is_busmaster,
			      "a device that does DMA must be a bus master (pci_set_master())");
}

static void bar0_reads_identification(struct kunit *test)
{
	struct kmemlab_edu *edu = bound_edu(test);
	u32 id = kmemlab_edu_readl(edu, EDU_REG_ID);

	KUNIT_EXPECT_EQ_MSG(test, id & 0xff, 0xed,
			    "register 0x00 read %#x: BAR0 is not mapped, or not edu's", id);
	KUNIT_EXPECT_EQ_MSG(test, id >> 24, 1,
			    "register 0x00 read %#x: the major version should be 1", id);
}

static void bar0_liveness_inverts(struct kunit *test)
{
	struct kmemlab_edu *edu = bound_edu(test);
	static const u32 values[] = { 0, 0x12345678, 0xffffffff };
	int i;

	for (i = 0; i < ARRAY_SIZE(values); i++) {
		kmemlab_edu_writel(edu, EDU_REG_LIVENESS, values[i]);
		KUNIT_EXPECT_EQ_MSG(test, kmemlab_edu_readl(edu, EDU_REG_LIVENESS),
				    ~values[i],
				    "wrote %#x to the liveness register through BAR0, expected its inverse back",
				    values[i]);
	}
}

static void check_alive_accepts_edu(struct kunit *test)
{
	struct kmemlab_edu *edu = bound_edu(test);

	KUNIT_EXPECT_EQ_MSG(test, kmemlab_edu_check_alive(edu), 0,
			    "kmemlab_edu_check_alive() should accept a live edu device");
	/* It must really write: the register now holds an inverse. */
	kmemlab_edu_writel(edu, EDU_REG_LIVENESS, 0);
	kmemlab_edu_check_alive(edu);
	KUNIT_EXPECT_NE_MSG(test, kmemlab_edu_readl(edu, EDU_REG_LIVENESS), 0xffffffff,
			    "kmemlab_edu_check_alive() should write a value of its own to the liveness register and check its inverse");
}

static void dma_mask_is_28_bits(struct kunit *test)
{
	struct kmemlab_edu *edu = bound_edu(test);
	struct device *dev = &kmemlab_edu_pci_dev(edu)->dev;

	KUNIT_EXPECT_EQ_MSG(test, dma_get_mask(dev), EDU_MASK,
			    "the streaming DMA mask should be DMA_BIT_MASK(28): edu drives 28 address lines");
	KUNIT_EXPECT_EQ_MSG(test, dev->coherent_dma_mask, EDU_MASK,
			    "the coherent DMA mask should be DMA_BIT_MASK(28) too (dma_set_mask_and_coherent())");
}

/*
 * The coherent buffer's handle must lead the device to the buffer itself:
 * without an IOMMU it is the buffer's physical address; behind one (the
 * iommu run) an I/O virtual address that the IOMMU maps to the buffer's
 * page, and the buffer may sit in the vmalloc area (dma-iommu.c maps its
 * pages there when they need not be contiguous).
 */
static void coherent_buffer_below_mask(struct kunit *test)
{
	struct kmemlab_edu *edu = bound_edu(test);
	struct device *dev = &kmemlab_edu_pci_dev(edu)->dev;
	dma_addr_t handle;
	u8 *buf = reachable_coherent(test, edu);
	phys_addr_t cpu, bus;

	kmemlab_edu_coherent(edu, &handle);
	KUNIT_EXPECT_TRUE_MSG(test, PAGE_ALIGNED(buf),
			      "dma_alloc_coherent() returns whole pages; mmap() needs that");
	KUNIT_EXPECT_EQ_MSG(test, handle & (PAGE_SIZE - 1), 0,
			    "the bus address of the coherent buffer should be page aligned");
	cpu = is_vmalloc_addr(buf) ? page_to_phys(vmalloc_to_page(buf)) : virt_to_phys(buf);
	bus = kmemlab_bus_to_phys(dev, handle);
	kunit_info(test, "coherent buffer at CPU physical %pa, its handle %pad%s\n", &cpu, &handle,
		   use_dma_iommu(dev) ? " (an I/O virtual address the IOMMU maps to the buffer)" :
		   " (no IOMMU: the physical address)");
	KUNIT_EXPECT_EQ_MSG(test, (u64)bus, (u64)cpu,
			    "the coherent buffer's handle %pad leads the device to %pa, not to the buffer at %pa (0: to nothing, the device's access faults): keep the handle dma_alloc_coherent() gave",
			    &handle, &bus, &cpu);
}

static void irq_uses_msi(struct kunit *test)
{
	struct kmemlab_edu *edu = bound_edu(test);
	struct pci_dev *pdev = kmemlab_edu_pci_dev(edu);

	KUNIT_EXPECT_TRUE_MSG(test, pdev->msi_enabled,
			      "probe() should allocate an MSI vector with pci_alloc_irq_vectors(..., PCI_IRQ_MSI)");
}

/* Wait up to 500 ms for the handler to have run @want times in all. */
static unsigned long wait_irqs(struct kmemlab_edu *edu, unsigned long want)
{
	int i;

	for (i = 0; i < 25 && kmemlab_edu_irq_count(edu) < want; i++)
		msleep(20);
	return kmemlab_edu_irq_count(edu);
}

static void irq_raised_is_acknowledged(struct kunit *test)
{
	struct kmemlab_edu *edu = bound_edu(test);
	unsigned long before = kmemlab_edu_irq_count(edu);

	/* A bit the driver never asks for: the handler must ack it anyway. */
	kmemlab_edu_writel(edu, EDU_REG_IRQ_RAISE, 0x10000);
	KUNIT_EXPECT_GE_MSG(test, wait_irqs(edu, before + 1), before + 1,
			    "raising an interrupt through register 0x60 should run the handler (is the IRQ requested?)");
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_edu_readl(edu, EDU_REG_IRQ_STATUS), 0,
			    "after the handler, the interrupt status should be 0: acknowledge what you read, through register 0x64");
	/* Leave the device clean for the next case, whatever happened. */
	kmemlab_edu_writel(edu, EDU_REG_IRQ_ACK, 0xffffffff);
}

/* Wait up to 1 s for the device to finish what it is doing. */
static void wait_device_idle(struct kmemlab_edu *edu)
{
	int i;

	for (i = 0; i < 50; i++) {
		if (!(kmemlab_edu_readl(edu, EDU_REG_STATUS) & EDU_STATUS_BUSY) &&
		    !(kmemlab_edu_readl(edu, EDU_REG_DMA_CMD) & EDU_DMA_START))
			return;
		msleep(20);
	}
}

/*
 * Make a signal pending for the case's own thread (a kernel thread, which
 * ignores signals unless it allows them), as a process gets one while it
 * sleeps in read() or write().
 */
static void pend_signal(struct kunit *test)
{
	allow_signal(SIGUSR1);
	send_sig(SIGUSR1, current, 1);
	KUNIT_ASSERT_TRUE_MSG(test, signal_pending(current),
			      "could not make a signal pending for the test's thread");
}

static void clear_signal(void)
{
	flush_signals(current);
	disallow_signal(SIGUSR1);
}

/*
 * edu computes a factorial in a thread of QEMU's, in host time; all else
 * it does (its DMA timer, its registers) is in guest time. The lab VM's
 * clock counts instructions and skips ahead whenever the CPU idles
 * (qemu-env/run-vm.sh, -icount sleep=off): a case asleep in
 * kmemlab_edu_factorial() could see EDU_TIMEOUT pass within a few host
 * milliseconds, before QEMU's thread has even run. While a case waits for
 * a factorial, a thread of the lowest priority spins, so the CPU never
 * idles and the guest's clock moves with the host's: at most some ten
 * times faster (make check's 64 ns an instruction), so EDU_TIMEOUT still
 * gives QEMU's thread a fifth of a second or more, twenty times the 9 ms
 * EDU_SLOW_FACTORIAL takes it. It gives way
 * to anything else that can run (cond_resched(): these kernels do not
 * preempt), the case's own thread first.
 */
static int spin_until_stopped(void *unused)
{
	while (!kthread_should_stop()) {
		cpu_relax();
		cond_resched();
	}
	return 0;
}

static void stop_spinning(void *task)
{
	kthread_stop(task);
}

/* Keep the CPU busy until the case ends. */
static void keep_guest_clock_running(struct kunit *test)
{
	struct task_struct *task = kthread_create(spin_until_stopped, NULL, "kmemlab-spin");

	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(task), "could not start a thread: %ld", PTR_ERR(task));
	sched_set_normal(task, MAX_NICE);
	wake_up_process(task);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, stop_spinning, task), 0);
}

struct factorial_case {
	u32 n, want;
};

static const struct factorial_case factorial_cases[] = {
	{ 0, 1 }, { 1, 1 }, { 5, 120 }, { 10, 3628800 }, { 12, 479001600 },
	{ 13, 1932053504 },	/* 13! modulo 2^32 */
};

static void factorial_desc(const struct factorial_case *c, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%u!", c->n);
}

KUNIT_ARRAY_PARAM(factorial, factorial_cases, factorial_desc);

static void factorial_computes(struct kunit *test)
{
	const struct factorial_case *c = test->param_value;
	struct kmemlab_edu *edu = bound_edu(test);
	u32 result = 0;
	int ret;

	keep_guest_clock_running(test);

	ret = kmemlab_edu_factorial(edu, c->n, &result);
	KUNIT_ASSERT_EQ_MSG(test, ret, 0,
			    "kmemlab_edu_factorial(%u) failed (-ETIMEDOUT: no completion interrupt came)",
			    c->n);
	KUNIT_EXPECT_EQ_MSG(test, result, c->want, "the device computes %u! = %u",
			    c->n, c->want);
}

static void factorial_ends_by_interrupt(struct kunit *test)
{
	struct kmemlab_edu *edu = bound_edu(test);
	unsigned long before = kmemlab_edu_irq_count(edu);
	u32 result;

	keep_guest_clock_running(test);

	KUNIT_ASSERT_EQ(test, kmemlab_edu_factorial(edu, 6, &result), 0);
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_edu_irq_count(edu), before + 1,
			    "one factorial should be ended by exactly one interrupt; do not spin on the busy bit");
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_edu_readl(edu, EDU_REG_IRQ_STATUS), 0,
			    "the factorial interrupt should be acknowledged");
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_edu_readl(edu, EDU_REG_STATUS) & EDU_STATUS_BUSY, 0,
			    "kmemlab_edu_factorial() returned while the device was still computing");
}

/*
 * An interrupt nobody waited for (a late answer after a time-out looks
 * just the same) must not end the next wait: what it left in the
 * completion has to be cleared before the device is started again.
 */
static void factorial_ignores_stale_interrupt(struct kunit *test)
{
	struct kmemlab_edu *edu = bound_edu(test);
	unsigned long before = kmemlab_edu_irq_count(edu);
	u32 result = 1;
	int ret;

	keep_guest_clock_running(test);

	kmemlab_edu_writel(edu, EDU_REG_IRQ_RAISE, EDU_IRQ_FACT);
	KUNIT_ASSERT_GE_MSG(test, wait_irqs(edu, before + 1), before + 1,
			    "raising the factorial interrupt (0x1) through register 0x60 should run the handler");
	ret = kmemlab_edu_factorial(edu, EDU_SLOW_FACTORIAL, &result);
	wait_device_idle(edu);
	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "kmemlab_edu_factorial(%u) failed",
			    EDU_SLOW_FACTORIAL);
	KUNIT_EXPECT_EQ_MSG(test, result, 0,
			    "after a factorial interrupt nobody waited for, kmemlab_edu_factorial(%u) gave %u, the device computes 0 (n! modulo 2^32, n >= 34): the wait ended on the old interrupt, before the device was done",
			    EDU_SLOW_FACTORIAL, result);
}

/*
 * A signal may arrive while a process sleeps in the driver. Whatever the
 * driver makes of it, it may not take it for the device's answer.
 */
static void factorial_waits_with_signal_pending(struct kunit *test)
{
	struct kmemlab_edu *edu = bound_edu(test);
	u32 result = 1;
	int ret;

	keep_guest_clock_running(test);

	pend_signal(test);
	ret = kmemlab_edu_factorial(edu, EDU_SLOW_FACTORIAL, &result);
	clear_signal();
	wait_device_idle(edu);
	if (ret)
		KUNIT_EXPECT_TRUE_MSG(test, ret == -EINTR || ret == -ERESTARTSYS,
				      "with a signal pending, kmemlab_edu_factorial() may fail with -EINTR, it returned %d",
				      ret);
	else
		KUNIT_EXPECT_EQ_MSG(test, result, 0,
				    "with a signal pending, kmemlab_edu_factorial(%u) gave %u, the device computes 0: a wait that the signal ended was taken for the interrupt",
				    EDU_SLOW_FACTORIAL, result);
}

static void coherent_xfer_round_trip(struct kunit *test)
{
	struct kmemlab_edu *edu = bound_edu(test);
	u8 *buf = reachable_coherent(test, edu);
	u8 *want = kunit_kmalloc(test, KMEMLAB_EDU_BUF_SIZE, GFP_KERNEL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, want);
	fill_pattern(want, KMEMLAB_EDU_SIZE, 3);
	memcpy(buf, want, KMEMLAB_EDU_BUF_SIZE);
	KUNIT_ASSERT_EQ_MSG(test, kmemlab_edu_coherent_xfer(edu, 0, KMEMLAB_EDU_SIZE, true), 0,
			    "DMA from the coherent buffer to the device failed");
	memset(buf, 0, KMEMLAB_EDU_BUF_SIZE);
	KUNIT_ASSERT_EQ_MSG(test, kmemlab_edu_coherent_xfer(edu, 0, KMEMLAB_EDU_SIZE, false), 0,
			    "DMA from the device to the coherent buffer failed");
	KUNIT_EXPECT_MEMEQ_MSG(test, buf, want, KMEMLAB_EDU_SIZE,
			       "A whole buffer sent to the device and fetched back should not change (check source, destination and the direction bit)");
}

static void coherent_xfer_at_offset(struct kunit *test)
{
	struct kmemlab_edu *edu = bound_edu(test);
	u8 *buf = reachable_coherent(test, edu);
	u8 *want = kunit_kmalloc(test, KMEMLAB_EDU_BUF_SIZE, GFP_KERNEL);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, want);
	/* The whole device buffer to zero, then 200 bytes at 1000. */
	memset(buf, 0, KMEMLAB_EDU_BUF_SIZE);
	KUNIT_ASSERT_EQ(test, kmemlab_edu_coherent_xfer(edu, 0, KMEMLAB_EDU_SIZE, true), 0);
	memset(want, 0, KMEMLAB_EDU_BUF_SIZE);
	fill_pattern(want + 1000, 200, 11);
	memcpy(buf, want, KMEMLAB_EDU_BUF_SIZE);
	KUNIT_ASSERT_EQ(test, kmemlab_edu_coherent_xfer(edu, 1000, 200, true), 0);
	memset(buf, 0xff, KMEMLAB_EDU_BUF_SIZE);
	KUNIT_ASSERT_EQ(test, kmemlab_edu_coherent_xfer(edu, 0, KMEMLAB_EDU_SIZE, false), 0);
	KUNIT_EXPECT_MEMEQ_MSG(test, buf, want, KMEMLAB_EDU_SIZE,
			       "200 bytes sent to offset 1000 should land there and nowhere else (device address 0x40000 + offset)");
}

static void dma_irq_acknowledged(struct kunit *test)
{
	struct kmemlab_edu *edu = bound_edu(test);
	unsigned long before;

	reachable_coherent(test, edu);
	before = kmemlab_edu_irq_count(edu);
	KUNIT_ASSERT_EQ(test, kmemlab_edu_coherent_xfer(edu, 0, 64, true), 0);
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_edu_irq_count(edu), before + 1,
			    "one transfer should raise one interrupt (set the IRQ bit in the command)");
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_edu_readl(edu, EDU_REG_IRQ_STATUS), 0,
			    "the DMA interrupt (0x100) should be acknowledged");
}

static void stream_xfer_round_trip(struct kunit *test)
{
	struct kmemlab_edu *edu = bound_edu(test);
	u8 *buf = kmemlab_edu_stream_buf(edu);
	u8 *want = kunit_kmalloc(test, KMEMLAB_EDU_BUF_SIZE, GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, buf);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, want);
	fill_pattern(want, KMEMLAB_EDU_SIZE, 5);
	memcpy(buf, want, KMEMLAB_EDU_BUF_SIZE);
	KUNIT_ASSERT_EQ_MSG(test, kmemlab_edu_stream_xfer(edu, 0, KMEMLAB_EDU_SIZE, true), 0,
			    "a streaming DMA to the device failed");
	memset(buf, 0, KMEMLAB_EDU_BUF_SIZE);
	KUNIT_ASSERT_EQ_MSG(test, kmemlab_edu_stream_xfer(edu, 0, KMEMLAB_EDU_SIZE, false), 0,
			    "a streaming DMA from the device failed");
	KUNIT_EXPECT_MEMEQ_MSG(test, buf, want, KMEMLAB_EDU_SIZE,
			       "A whole buffer sent and fetched back through streaming mappings should not change");
}

/* Streaming and coherent paths must reach the same device buffer. */
static void stream_xfer_matches_coherent(struct kunit *test)
{
	struct kmemlab_edu *edu = bound_edu(test);
	u8 *coherent = reachable_coherent(test, edu);
	u8 *stream = kmemlab_edu_stream_buf(edu);

	KUNIT_ASSERT_NOT_NULL(test, stream);
	fill_pattern(stream, KMEMLAB_EDU_BUF_SIZE, 9);
	KUNIT_ASSERT_EQ(test, kmemlab_edu_stream_xfer(edu, 512, 1024, true), 0);
	memset(coherent, 0, KMEMLAB_EDU_BUF_SIZE);
	KUNIT_ASSERT_EQ(test, kmemlab_edu_coherent_xfer(edu, 512, 1024, false), 0);
	KUNIT_EXPECT_MEMEQ_MSG(test, coherent + 512, stream + 512, 1024,
			       "1024 bytes streamed to offset 512 should be what the device holds there");
}

static void stream_xfer_returns_after_device_done(struct kunit *test)
{
	struct kmemlab_edu *edu = bound_edu(test);
	u8 *buf = kmemlab_edu_stream_buf(edu);
	ktime_t start;
	s64 ms;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	start = ktime_get();
	KUNIT_ASSERT_EQ(test, kmemlab_edu_stream_xfer(edu, 0, 256, false), 0);
	ms = ktime_ms_delta(ktime_get(), start);
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_edu_readl(edu, EDU_REG_DMA_CMD) & EDU_DMA_START, 0,
			    "the transfer was still running when kmemlab_edu_stream_xfer() returned: wait for its interrupt before unmapping");
	KUNIT_EXPECT_GE_MSG(test, ms, 50,
			    "a transfer takes about 100 ms of device time, this one returned after %lld ms",
			    ms);
}

/* The same after a DMA interrupt nobody waited for. */
static void stream_xfer_ignores_stale_interrupt(struct kunit *test)
{
	struct kmemlab_edu *edu = bound_edu(test);
	unsigned long before = kmemlab_edu_irq_count(edu);
	bool running;
	int ret;

	KUNIT_ASSERT_NOT_NULL(test, kmemlab_edu_stream_buf(edu));
	kmemlab_edu_writel(edu, EDU_REG_IRQ_RAISE, EDU_IRQ_DMA);
	KUNIT_ASSERT_GE_MSG(test, wait_irqs(edu, before + 1), before + 1,
			    "raising the DMA interrupt (0x100) through register 0x60 should run the handler");
	ret = kmemlab_edu_stream_xfer(edu, 0, 256, false);
	running = kmemlab_edu_readl(edu, EDU_REG_DMA_CMD) & EDU_DMA_START;
	wait_device_idle(edu);
	KUNIT_ASSERT_EQ(test, ret, 0);
	KUNIT_EXPECT_FALSE_MSG(test, running,
			       "after a DMA interrupt nobody waited for, kmemlab_edu_stream_xfer() returned while its transfer was still running: the wait ended on the old interrupt, and the buffer was unmapped under the device");
}

/* A streaming transfer run by a thread of its own, while the case acts. */
struct xfer_thread {
	struct kmemlab_edu *edu;
	int ret;
	bool running;		/* the device's start bit, as the call returned */
	struct completion done;
};

static int xfer_thread_fn(void *arg)
{
	struct xfer_thread *x = arg;

	x->ret = kmemlab_edu_stream_xfer(x->edu, 0, 256, false);
	x->running = kmemlab_edu_readl(x->edu, EDU_REG_DMA_CMD) & EDU_DMA_START;
	complete(&x->done);
	kmemlab_wait_for_stop();
	return 0;
}

/*
 * An interrupt of the other cause while a transfer waits: a factorial's
 * (0x1), raised through register 0x60 once the transfer has started. The
 * handler completes the waiter of each cause it read; the transfer's wait
 * goes on until its own interrupt, when the device is done.
 */
static void dma_wait_ignores_factorial_interrupt(struct kunit *test)
{
	struct kmemlab_edu *edu = bound_edu(test);
	struct xfer_thread x = { .edu = edu };
	struct task_struct *task;
	bool started = false;
	int i;

	KUNIT_ASSERT_NOT_NULL(test, kmemlab_edu_stream_buf(edu));
	init_completion(&x.done);
	task = kthread_run(xfer_thread_fn, &x, "kmemlab-xfer");
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(task), "could not start a thread: %ld", PTR_ERR(task));
	for (i = 0; i < 1000 && !started && !completion_done(&x.done); i++) {
		started = kmemlab_edu_readl(edu, EDU_REG_DMA_CMD) & EDU_DMA_START;
		if (!started)
			usleep_range(50, 100);
	}
	kmemlab_edu_writel(edu, EDU_REG_IRQ_RAISE, EDU_IRQ_FACT);
	wait_for_completion(&x.done);	/* at worst, the transfer times out */
	kthread_stop(task);
	wait_device_idle(edu);
	KUNIT_ASSERT_TRUE_MSG(test, started, "the transfer returned %d before the device's start bit was seen", x.ret);
	KUNIT_EXPECT_EQ(test, x.ret, 0);
	KUNIT_EXPECT_FALSE_MSG(test, x.running,
			       "a factorial interrupt (0x1, raised through register 0x60 during the transfer) ended the wait of a transfer still running: complete() only the waiter of each cause in the status, dma_done for EDU_IRQ_DMA");
}

/*
 * With the device's interrupt disabled, every wait times out: the
 * factorial, a coherent and a streaming transfer each return -ETIMEDOUT
 * after EDU_TIMEOUT (wait_for_completion_timeout() returns 0 then, never
 * a negative number). Once the interrupt is back, the device works.
 */
static void waits_time_out_without_interrupt(struct kunit *test)
{
	struct kmemlab_edu *edu = bound_edu(test);
	int irq = pci_irq_vector(kmemlab_edu_pci_dev(edu), 0);
	int fact, coherent, stream;
	u32 result = 0;

	KUNIT_ASSERT_GT_MSG(test, irq, 0, "no IRQ vector: %d", irq);
	reachable_coherent(test, edu);
	KUNIT_ASSERT_NOT_NULL(test, kmemlab_edu_stream_buf(edu));
	disable_irq(irq);
	fact = kmemlab_edu_factorial(edu, 5, &result);
	coherent = kmemlab_edu_coherent_xfer(edu, 0, 64, true);
	stream = kmemlab_edu_stream_xfer(edu, 0, 64, true);
	wait_device_idle(edu);
	enable_irq(irq);	/* what came meanwhile is handled now */
	KUNIT_EXPECT_EQ_MSG(test, fact, -ETIMEDOUT,
			    "with the device's interrupt disabled, kmemlab_edu_factorial() should time out with -ETIMEDOUT, it returned %d",
			    fact);
	KUNIT_EXPECT_EQ_MSG(test, coherent, -ETIMEDOUT,
			    "with the device's interrupt disabled, kmemlab_edu_coherent_xfer() should time out with -ETIMEDOUT, it returned %d",
			    coherent);
	KUNIT_EXPECT_EQ_MSG(test, stream, -ETIMEDOUT,
			    "with the device's interrupt disabled, kmemlab_edu_stream_xfer() should time out with -ETIMEDOUT, it returned %d",
			    stream);
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_edu_coherent_xfer(edu, 0, 64, true), 0,
			    "after the time-outs, with the interrupt back, a transfer should work");
}

/*
 * With a signal pending, a transfer may fail or complete, but it may not
 * end (and unmap the memory) while the device is still using it.
 */
static void stream_xfer_waits_with_signal_pending(struct kunit *test)
{
	struct kmemlab_edu *edu = bound_edu(test);
	bool running;
	int ret;

	KUNIT_ASSERT_NOT_NULL(test, kmemlab_edu_stream_buf(edu));
	pend_signal(test);
	ret = kmemlab_edu_stream_xfer(edu, 0, 256, false);
	running = kmemlab_edu_readl(edu, EDU_REG_DMA_CMD) & EDU_DMA_START;
	clear_signal();
	wait_device_idle(edu);
	KUNIT_EXPECT_FALSE_MSG(test, running,
			       "with a signal pending, kmemlab_edu_stream_xfer() returned %d while its transfer was still running: a wait that the signal ended was taken for the interrupt, and the buffer was unmapped under the device",
			       ret);
}

/*
 * Odd lengths and offsets, the first and the last byte DMA can reach, a
 * range running to the end: a streaming transfer moves exactly [off,
 * off + len) and nothing around it. Under swiotlb=force (the x86_64 run)
 * each transfer goes through a bounce buffer, which holds other bytes
 * than the CPU's buffer: a wrong direction, or the device handed the
 * CPU's physical address instead of the DMA handle, then moves the wrong
 * bytes.
 */
struct stream_range {
	size_t off, len;
};

static const struct stream_range stream_ranges[] = {
	{ 0, 1 }, { KMEMLAB_EDU_SIZE - 1, 1 }, { 1, KMEMLAB_EDU_SIZE - 1 },
	{ 3, 5 }, { 2047, 1001 }, { 513, 3000 },
};

static void stream_range_desc(const struct stream_range *r, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%zu bytes at %zu", r->len, r->off);
}

KUNIT_ARRAY_PARAM(stream_range, stream_ranges, stream_range_desc);

/* The first byte of @got that differs from @want, or -1. */
static long first_difference(const u8 *got, const u8 *want, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (got[i] != want[i])
			return i;
	return -1;
}

static void stream_xfer_to_device_exact(struct kunit *test)
{
	const struct stream_range *r = test->param_value;
	struct kmemlab_edu *edu = bound_edu(test);
	u8 *coherent = reachable_coherent(test, edu);
	u8 *stream = kmemlab_edu_stream_buf(edu);
	u8 *want = kunit_kmalloc(test, KMEMLAB_EDU_BUF_SIZE, GFP_KERNEL);
	long bad;

	KUNIT_ASSERT_NOT_NULL(test, stream);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, want);
	/* The device buffer: a background the transfer must not touch. */
	memset(coherent, 0x3c, KMEMLAB_EDU_BUF_SIZE);
	KUNIT_ASSERT_EQ(test, kmemlab_edu_coherent_xfer(edu, 0, KMEMLAB_EDU_SIZE, true), 0);
	memset(stream, 0xc3, KMEMLAB_EDU_BUF_SIZE);
	fill_pattern(stream + r->off, r->len, 17);
	memset(want, 0x3c, KMEMLAB_EDU_BUF_SIZE);
	memcpy(want + r->off, stream + r->off, r->len);

	KUNIT_ASSERT_EQ_MSG(test, kmemlab_edu_stream_xfer(edu, r->off, r->len, true), 0,
			    "a streaming DMA of %zu bytes at offset %zu to the device failed",
			    r->len, r->off);
	memset(coherent, 0, KMEMLAB_EDU_BUF_SIZE);
	KUNIT_ASSERT_EQ(test, kmemlab_edu_coherent_xfer(edu, 0, KMEMLAB_EDU_SIZE, false), 0);
	bad = first_difference(coherent, want, KMEMLAB_EDU_SIZE);
	KUNIT_EXPECT_EQ_MSG(test, bad, -1,
			    "after sending %zu bytes at offset %zu, device byte %ld is %#x, expected %#x (%s)",
			    r->len, r->off, bad, bad < 0 ? 0 : coherent[bad],
			    bad < 0 ? 0 : want[bad],
			    bad >= 0 && (bad < r->off || bad >= r->off + r->len) ?
			    "outside the range: only [off, off + len) may move" :
			    "inside the range: the device did not get the CPU's bytes");
}

static void stream_xfer_from_device_exact(struct kunit *test)
{
	const struct stream_range *r = test->param_value;
	struct kmemlab_edu *edu = bound_edu(test);
	u8 *coherent = reachable_coherent(test, edu);
	u8 *stream = kmemlab_edu_stream_buf(edu);
	u8 *want = kunit_kmalloc(test, KMEMLAB_EDU_BUF_SIZE, GFP_KERNEL);
	size_t i;
	long bad;

	KUNIT_ASSERT_NOT_NULL(test, stream);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, want);
	fill_pattern(coherent, KMEMLAB_EDU_BUF_SIZE, 29);
	KUNIT_ASSERT_EQ(test, kmemlab_edu_coherent_xfer(edu, 0, KMEMLAB_EDU_SIZE, true), 0);
	/* What the CPU's buffer held before: different from the device's, byte for byte. */
	for (i = 0; i < KMEMLAB_EDU_BUF_SIZE; i++)
		stream[i] = ~coherent[i];
	memcpy(want, stream, KMEMLAB_EDU_BUF_SIZE);
	memcpy(want + r->off, coherent + r->off, r->len);

	KUNIT_ASSERT_EQ_MSG(test, kmemlab_edu_stream_xfer(edu, r->off, r->len, false), 0,
			    "a streaming DMA of %zu bytes at offset %zu from the device failed",
			    r->len, r->off);
	bad = first_difference(stream, want, KMEMLAB_EDU_BUF_SIZE);
	KUNIT_EXPECT_EQ_MSG(test, bad, -1,
			    "after fetching %zu bytes at offset %zu, buffer byte %ld is %#x, expected %#x (%s)",
			    r->len, r->off, bad, bad < 0 ? 0 : stream[bad],
			    bad < 0 ? 0 : want[bad],
			    bad >= 0 && (bad < r->off || bad >= r->off + r->len) ?
			    "outside the range: only [off, off + len) may change" :
			    bad >= 0 && stream[bad] == (u8)~want[bad] ?
			    "inside the range, and still the old byte: did the fetch reach this buffer? direction, DMA handle, unmap" :
			    "inside the range: not the device's byte");
}

struct edu_given {
	struct kmemlab_edu *edu;
	bool to_device;
};

/* The RAM-side address of the transfer edu is running, if any. */
static dma_addr_t edu_given_ram(void *arg)
{
	struct edu_given *g = arg;

	if (!(kmemlab_edu_readl(g->edu, EDU_REG_DMA_CMD) & EDU_DMA_START))
		return DMA_MAPPING_ERROR;
	return kmemlab_edu_readl(g->edu, g->to_device ? EDU_REG_DMA_SRC : EDU_REG_DMA_DST);
}

/*
 * Behind an IOMMU (the iommu run), the streaming mapping lives only from
 * the map to the unmap: where the address the device holds leads is read
 * while the transfer runs (kmemlab_bus.h).
 */
static void stream_xfer_iommu_handle(struct kunit *test, struct kmemlab_edu *edu,
				     phys_addr_t cpu, bool to_device)
{
	struct device *dev = &kmemlab_edu_pci_dev(edu)->dev;
	struct edu_given g = { edu, to_device };
	struct kmemlab_bus_watch w;
	int ret;

	KUNIT_ASSERT_EQ(test, kmemlab_bus_watch_start(&w, dev, edu_given_ram, &g), 0);
	ret = kmemlab_edu_stream_xfer(edu, 100, 200, to_device);
	kmemlab_bus_watch_stop(&w);
	KUNIT_ASSERT_EQ(test, ret, 0);
	if (w.phys)
		kunit_info(test, "%s: streaming buffer + 100 at CPU physical %pa, device given %pad (an I/O virtual address, which the IOMMU mapped to %pa)\n",
			   to_device ? "to device" : "from device", &cpu, &w.bus, &w.phys);
	KUNIT_EXPECT_EQ_MSG(test, (u64)w.phys, (u64)cpu,
			    "while the transfer ran, the device held %pad, which the IOMMU maps to %pa (0: to nothing, the device's access faults), not to the buffer at %pa: give the device the handle dma_map_single() returned",
			    w.phys ? &w.bus : &w.stray, &w.phys, &cpu);
}

/*
 * The RAM-side address the device was given (its DMA source or
 * destination register, read back after the transfer) must be the DMA
 * handle of the streaming buffer: without bounce buffers its physical
 * address, with swiotlb=force a slot of the bounce buffer pool, behind an
 * IOMMU an address the IOMMU maps to the buffer while it runs.
 */
static void stream_xfer_gives_device_dma_handle(struct kunit *test)
{
	struct kmemlab_edu *edu = bound_edu(test);
	struct device *dev = &kmemlab_edu_pci_dev(edu)->dev;
	u8 *stream = kmemlab_edu_stream_buf(edu);
	bool bounced = is_swiotlb_force_bounce(dev);
	phys_addr_t cpu;
	dma_addr_t given;
	int to_device;

	KUNIT_ASSERT_NOT_NULL(test, stream);
	cpu = virt_to_phys(stream + 100);
	for (to_device = 1; to_device >= 0; to_device--) {
		if (use_dma_iommu(dev)) {
			stream_xfer_iommu_handle(test, edu, cpu, to_device);
			continue;
		}
		KUNIT_ASSERT_EQ(test, kmemlab_edu_stream_xfer(edu, 100, 200, to_device), 0);
		given = kmemlab_edu_readl(edu, to_device ? EDU_REG_DMA_SRC : EDU_REG_DMA_DST);
		kunit_info(test, "%s: streaming buffer + 100 at CPU physical %pa, device given %pad%s\n",
			   to_device ? "to device" : "from device", &cpu, &given,
			   bounced ? (swiotlb_find_pool(dev, given) ?
				      " (a swiotlb bounce buffer slot)" : " (not in the swiotlb pool)") :
			   " (no bounce buffers)");
		if (bounced)
			KUNIT_EXPECT_NOT_NULL_MSG(test, swiotlb_find_pool(dev, given),
						  "every streaming mapping is bounced (swiotlb=force): the device should get the handle dma_map_single() returned, a bounce buffer slot, not %pad (the buffer is at %pa)",
						  &given, &cpu);
		else
			KUNIT_EXPECT_EQ_MSG(test, (u64)given, (u64)phys_to_dma(dev, cpu),
					    "the device should get the handle dma_map_single() returned");
	}
}

/*
 * probe() failing at its last step, misc_register(): the name
 * "kmemlab_edu" is taken by a misc device of the suite's, with the driver
 * unbound. The bind must fail and leave no IRQ behind (a handler left
 * requested when the MSI vector is freed leaves /proc/irq/N non-empty:
 * the kernel warns, "removing non-empty directory"); then, the name
 * free again, a bind must give a working device.
 */
static void probe_failing_late_releases_irq(struct kunit *test)
{
	struct kmemlab_edu *edu = bound_edu(test);
	struct pci_dev *pdev = kmemlab_edu_pci_dev(edu);
	struct device_driver *drv = pdev->dev.driver;
	struct miscdevice squat = { .minor = MISC_DYNAMIC_MINOR, .name = "kmemlab_edu" };
	int bound, squatted, rebound;

	KUNIT_ASSERT_NOT_NULL(test, drv);
	device_release_driver(&pdev->dev);
	squatted = misc_register(&squat);
	bound = squatted ? -1 : device_driver_attach(drv, &pdev->dev);
	if (!squatted)
		misc_deregister(&squat);
	rebound = kmemlab_edu_get() ? 0 : device_driver_attach(drv, &pdev->dev);
	KUNIT_ASSERT_EQ_MSG(test, squatted, 0, "the suite could not register its own misc device: %d", squatted);
	KUNIT_EXPECT_NE_MSG(test, bound, 0,
			    "with the name kmemlab_edu taken, misc_register() fails: probe() should fail with its error");
	KUNIT_ASSERT_EQ_MSG(test, rebound, 0, "binding again, with the name free, failed: %d", rebound);
	edu = bound_edu(test);
	KUNIT_EXPECT_TRUE_MSG(test, irq_has_action(pci_irq_vector(pdev, 0)),
			      "after the bind, the device's IRQ should have a handler");
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_edu_coherent_xfer(edu, 0, 64, true), 0,
			    "after the failed bind and a good one, a transfer should work");
}

static struct kunit_case kmemlab_edu_test_cases[] = {
	KUNIT_CASE(probe_binds_edu),
	KUNIT_CASE(bar0_reads_identification),
	KUNIT_CASE(bar0_liveness_inverts),
	KUNIT_CASE(check_alive_accepts_edu),
	KUNIT_CASE(dma_mask_is_28_bits),
	KUNIT_CASE(coherent_buffer_below_mask),
	KUNIT_CASE(irq_uses_msi),
	KUNIT_CASE(irq_raised_is_acknowledged),
	KUNIT_CASE_PARAM(factorial_computes, factorial_gen_params),
	KUNIT_CASE(factorial_ends_by_interrupt),
	KUNIT_CASE(factorial_ignores_stale_interrupt),
	KUNIT_CASE(factorial_waits_with_signal_pending),
	KUNIT_CASE(coherent_xfer_round_trip),
	KUNIT_CASE(coherent_xfer_at_offset),
	KUNIT_CASE(dma_irq_acknowledged),
	KUNIT_CASE(stream_xfer_round_trip),
	KUNIT_CASE(stream_xfer_matches_coherent),
	KUNIT_CASE(stream_xfer_returns_after_device_done),
	KUNIT_CASE(stream_xfer_ignores_stale_interrupt),
	KUNIT_CASE(stream_xfer_waits_with_signal_pending),
	KUNIT_CASE_PARAM(stream_xfer_to_device_exact, stream_range_gen_params),
	KUNIT_CASE_PARAM(stream_xfer_from_device_exact, stream_range_gen_params),
	KUNIT_CASE(stream_xfer_gives_device_dma_handle),
	KUNIT_CASE(dma_wait_ignores_factorial_interrupt),
	KUNIT_CASE_SLOW(waits_time_out_without_interrupt),	/* 3 x EDU_TIMEOUT of the guest's clock */
	/* Last: it unbinds the driver and binds it again. */
	KUNIT_CASE(probe_failing_late_releases_irq),
	{}
};

/*
 * Fill this CPU's reserve of radix-tree nodes (radix_tree_preload() leaves
 * them there). On the debug kernels the DMA-API checker tracks each
 * mapping of the device's from-device and coherent buffers in a radix tree
 * whose GFP_ATOMIC node allocation edu_user's and edu_rebind's injected
 * faults may hit; radix_tree_node_alloc() then falls back on the reserve,
 * and only with the reserve empty does the checker disable itself with
 * "DMA-API: cacheline tracking ENOMEM" (kernel/dma/debug.c): a report of
 * the tests' making, not the driver's. The programs cannot preload from
 * user space; the reserve they find is the one filled here (one CPU).
 */
static int kmemlab_edu_suite_init(struct kunit_suite *suite)
{
	if (!radix_tree_preload(GFP_KERNEL))
		radix_tree_preload_end();
	return 0;
}

static struct kunit_suite kmemlab_edu_test_suite = {
	.name = "kmemlab_edu",
	.suite_init = kmemlab_edu_suite_init,
	.test_cases = kmemlab_edu_test_cases,
};
kunit_test_suite(kmemlab_edu_test_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit tests for kmemlab lab 07");
