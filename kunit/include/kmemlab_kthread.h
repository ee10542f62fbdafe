/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kmemlab_kthread.h - for the suites' helper threads: a thread that has
 * done its work (and signalled so, a completion) waits here until the
 * case calls kthread_stop(), so that the case still owns the thread and
 * the data it wrote when it reads them (kernel/kthread.c: a thread that
 * returned on its own may be gone before kthread_stop() sees it).
 */
#ifndef KMEMLAB_KTHREAD_H
#define KMEMLAB_KTHREAD_H

#include <linux/kthread.h>
#include <linux/sched.h>

static inline void kmemlab_wait_for_stop(void)
{
	set_current_state(TASK_INTERRUPTIBLE);
	while (!kthread_should_stop()) {
		schedule();
		set_current_state(TASK_INTERRUPTIBLE);
	}
	__set_current_state(TASK_RUNNING);
}

#endif /* KMEMLAB_KTHREAD_H */
