/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kmemlab_lockwatch.h - which locks a call takes, for the KUnit suites of
 * labs 02 and 04: lock_watch_start(&w, lock) counts from then on how often
 * the calling task takes @lock (w.taken) and how often with interrupts on
 * (w.irqs_on), until lock_watch_stop(&w). 0 or a negative errno
 * (-EOPNOTSUPP on a kernel without lockdep, the fast one; -ENOENT when the
 * tracepoint is not found).
 */
#ifndef KMEMLAB_LOCKWATCH_H
#define KMEMLAB_LOCKWATCH_H

#include <linux/interrupt.h>
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/tracepoint.h>

/*
 * Which locks a call takes, as lockdep's own lock_acquire tracepoint
 * (include/trace/events/lock.h) reports them: only on a kernel with
 * lockdep, the graded one. The tracepoint is not exported, so it is found
 * by name among the kernel's.
 */
struct lock_watch {
	struct task_struct *task;
	const void *lock;	/* the lockdep map of the lock to count */
	unsigned int taken;	/* times this task took it */
	unsigned int irqs_on;	/* of those, with interrupts enabled */
};

#if defined(CONFIG_LOCKDEP) && defined(CONFIG_DEBUG_LOCK_ALLOC)
static void note_lock_acquire(void *data, struct lockdep_map *lock,
			      unsigned int subclass, int trylock, int read,
			      int check, struct lockdep_map *next_lock,
			      unsigned long ip)
{
	struct lock_watch *w = data;

	if (in_task() && current == w->task && lock == w->lock) {
		w->taken++;
		w->irqs_on += !irqs_disabled();
	}
}

static void find_lock_acquire(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "lock_acquire"))
		*(struct tracepoint **)priv = tp;
}

static struct tracepoint *lock_acquire_tp(void)
{
	struct tracepoint *tp = NULL;

	for_each_kernel_tracepoint(find_lock_acquire, &tp);
	return tp;
}

/* Count from now on how often this task takes @lock. */
static int lock_watch_start(struct lock_watch *w, spinlock_t *lock)
{
	struct tracepoint *tp = lock_acquire_tp();

	w->lock = &lock->dep_map;
	w->task = current;
	w->taken = 0;
	w->irqs_on = 0;
	return tp ? tracepoint_probe_register(tp, note_lock_acquire, w) : -ENOENT;
}

static void lock_watch_stop(struct lock_watch *w)
{
	tracepoint_probe_unregister(lock_acquire_tp(), note_lock_acquire, w);
	tracepoint_synchronize_unregister();
}
#else
static int lock_watch_start(struct lock_watch *w, spinlock_t *lock)
{
	return -EOPNOTSUPP;
}

static void lock_watch_stop(struct lock_watch *w)
{
}
#endif

#endif /* KMEMLAB_LOCKWATCH_H */
