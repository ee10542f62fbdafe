/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lab_user.h - small helpers the labs' user programs share: run a probe in
 * a child to see which signal it dies of, write a sysfs attribute, find a
 * PCI device by its IDs, unload and load a module without a shell.
 */
#ifndef LAB_USER_H
#define LAB_USER_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ktap_user.h"	/* kmsg_next() */

/*
 * rmmod and insmod without a shell (a shell and a busybox each way were
 * most of a reload's time under TCG): delete_module(2) of module @name as
 * busybox's rmmod calls it (O_NONBLOCK: fail rather than wait while it is
 * in use), and finit_module(2) of the module file open at @fd with
 * @params, as its insmod does. 0 or the errno.
 */
static inline int module_unload(const char *name)
{
	return syscall(SYS_delete_module, name, O_NONBLOCK) ? errno : 0;
}

static inline int module_load(int fd, const char *params)
{
	return syscall(SYS_finit_module, fd, params, 0) ? errno : 0;
}

/*
 * Module @name's reference count, /sys/module/NAME/refcnt
 * (kernel/module/main.c, module_refcount()), or -1. An open file of a
 * driver's device holds one (fops_get() of the file operations' .owner),
 * and so does every mapping of that file.
 */
static inline long module_refs(const char *name)
{
	char path[128];
	long n = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/%s/refcnt", name);
	f = fopen(path, "r");
	if (f && fscanf(f, "%ld", &n) != 1)
		n = -1;
	if (f)
		fclose(f);
	return n;
}

/* Run @fn(@arg) in a child; return the signal that killed it, 0, or -1. */
static inline int child_signal(void (*fn)(volatile unsigned char *),
			       volatile unsigned char *arg)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		fn(arg);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

/* Write @val to the sysfs file @path: 0 or -errno. */
static inline int write_sysfs(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* Does the sysfs file @path start with @want (e.g. "0x1234")? */
static inline int sysfs_starts_with(const char *path, const char *want)
{
	char buf[32] = "";
	FILE *f = fopen(path, "r");
	int ok = f && fgets(buf, sizeof(buf), f) && !strncmp(buf, want, strlen(want));

	if (f)
		fclose(f);
	return ok;
}

/*
 * Find the PCI device @vendor:@device ("0x1234", "0x11e8") and put its
 * address ("0000:00:02.0") in @bdf. Return 1 if found. Never assume a
 * slot: it depends on the rest of QEMU's command line.
 */
static inline int find_pci_device(const char *vendor, const char *device,
				  char *bdf, size_t size)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	struct dirent *e;
	char path[512];
	int found = 0;

	while (d && !found && (e = readdir(d))) {
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", e->d_name);
		if (!sysfs_starts_with(path, vendor))
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", e->d_name);
		if (sysfs_starts_with(path, device)) {
			snprintf(bdf, size, "%s", e->d_name);
			found = 1;
		}
	}
	if (d)
		closedir(d);
	return found;
}

/*
 * The kernel's fault injection, for this thread only (lib/fault-inject.c,
 * Documentation/fault-injection/fault-injection.rst): after
 * fault_nth_arm(fd, n), the n-th fault point the thread reaches (a slab or
 * page allocation, a user copy) fails. Then fault_nth_fired(fd) says
 * whether it did (1) or the calls made in between had fewer than n fault
 * points (0), and disarms. Open @fd once, with fault_nth_open(), before
 * arming: opening a file allocates too. The usual loop arms n = 1, 2, ...
 * until a call succeeds without the fault firing.
 */
static inline int fault_nth_open(void)
{
	return open("/proc/thread-self/fail-nth", O_RDWR);
}

static inline void fault_nth_arm(int fd, unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	if (pwrite(fd, buf, len, 0) != len)
		perror("fault_nth_arm");
}

static inline int fault_nth_fired(int fd)
{
	char buf[16] = "";
	/* Its own user copy may take the last count: then it fails. */
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	/* Disarm; the write sets 0 even when its own copy was the one. */
	if (pwrite(fd, "0", 1, 0) != 1 && errno != EFAULT)
		perror("fault_nth_fired");
	return n > 0 && buf[0] == '0';
}

/*
 * A traced fault loop: fail-nth counts only slab allocations, and the
 * kernel logs each failure it injects with its call trace (failslab's
 * verbose 2, lib/fault-inject.c fail_dump()), which the program reads back
 * from /dev/kmsg to learn where the failure landed. Whether an allocation
 * takes fresh pages depends on how full the slabs are, so with page
 * allocations counted the n-th fault point of one call would be another
 * in the next; fail_page_alloc's min-order above any order leaves them
 * out (mm/fail_page_alloc.c).
 *
 * The call traces are kept off the console, which costs about 2.5 us a
 * byte (docs/performance.md): a loop of fifty binds printed 69 KB of them.
 * dump_stack() prints at the default message level, so for the loop that
 * level is raised to the console's own, which the console leaves out
 * (suppress_message_printing(), kernel/printk/printk.c); a message with a
 * level of its own still prints as it comes: the first line of every
 * kernel report ("WARNING: CPU: ... at file:line function", "BUG: ...",
 * "Oops", lockdep's "WARNING: possible ..."), the driver's own messages,
 * /init's lines ("<4>"). What the default level also hides, the rest of a
 * report (a WARN()'s message and registers, the DMA-API checker's
 * "DMA-API: ..." line, call traces), fault_log_show(), called between
 * faults, puts on the console after all: the kernel's records since the
 * last call, in their order, when they hold the start of a kernel report
 * or the case has failed a check. An oops, a panic, a hung task and lockdep
 * raise the console's level themselves (console_verbose()): then nothing
 * is hidden any more and nothing is shown twice. A report the kernel dies
 * of before the next fault_log_show() keeps only its first line. /init
 * puts the levels back after each program.
 *
 *	fault_log_begin(&fl)	quiet, traces on, /dev/kmsg read from its end
 *	fault_log_next(&fl, ...)	the kernel's next record, or NULL
 *	fault_log_show(&fl)	between faults: read the rest, show a report
 *	fault_log_end(&fl)	show, put the levels back, close
 */
struct fault_log {
	int fd;			/* /dev/kmsg, read from where the loop began */
	int quiet;		/* the console's level: records from it up are hidden */
	int report;		/* a kernel report began since fault_log_show() */
	char *kept;		/* the hidden records since then, each ending in '\0' */
	size_t len, cap;	/* bytes in @kept, room */
	unsigned long n;	/* records in @kept */
	unsigned long left_off;	/* hidden records not shown again */
	int saved_default;	/* the default message level before the loop */
};

/* Write @line to the kernel log at warning level ("<4>"). */
static inline void fault_log_say(const char *line)
{
	char buf[256];
	int fd = open("/dev/kmsg", O_WRONLY);

	snprintf(buf, sizeof(buf), "<4>kmemlab: %s\n", line);
	if (fd >= 0) {
		if (write(fd, buf, strlen(buf)) < 0)
			perror("/dev/kmsg");
		close(fd);
	}
}

/* The console's level and the default message level now, or 0 0. */
static inline void fault_log_levels(int *console, int *dflt)
{
	FILE *f = fopen("/proc/sys/kernel/printk", "r");

	*console = *dflt = 0;
	if (!f || fscanf(f, "%d %d", console, dflt) != 2)
		*console = *dflt = 0;
	if (f)
		fclose(f);
}

/* The fault log's /dev/kmsg descriptor (>= 0), or -errno. */
static inline int fault_log_begin(struct fault_log *fl)
{
	char levels[32];

	fault_log_levels(&fl->quiet, &fl->saved_default);
	if (fl->quiet <= 0)
		fl->quiet = 8;	/* levels unknown: hide nothing, show nothing twice */
	fl->report = 0;
	fl->kept = NULL;
	fl->len = fl->cap = 0;
	fl->n = fl->left_off = 0;
	fl->fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	if (fl->fd < 0)
		return -errno;
	lseek(fl->fd, 0, SEEK_END);
	fault_log_say("fault loop: the console shows the call traces of its injected failures only around a kernel report or a failed check");
	if (fl->quiet < 8) {
		snprintf(levels, sizeof(levels), "%d %d", fl->quiet, fl->quiet);
		write_sysfs("/proc/sys/kernel/printk", levels);
	}
	write_sysfs("/sys/kernel/debug/failslab/verbose", "2");
	write_sysfs("/sys/kernel/debug/fail_page_alloc/verbose", "2");
	write_sysfs("/sys/kernel/debug/fail_page_alloc/min-order", "11");
	return fl->fd;
}

/*
 * Does the kernel's record @text begin a report the grader reads
 * (grader/vmlog.py, REPORTS)? A WARN() (include/asm-generic/bug.h
 * CUT_HERE, kernel/panic.c __warn()), the "BUG: ..." and "kernel BUG"
 * reports, the DMA-API checker's, lockdep's ("WARNING: possible ..."),
 * UBSAN's, a hung task ("INFO: task ..."), an oops, a leak.
 */
static inline int fault_log_starts_report(const char *text)
{
	static const char *const words[] = {
		"cut here", "WARNING", "BUG", "DMA-API", "INFO:", "UBSAN", "Oops",
		"general protection", "unreferenced object",
	};
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strstr(text, words[i]))
			return 1;
	return 0;
}

/*
 * The kernel's next record logged since the last one read, as text; NULL
 * when none. Lines written to /dev/kmsg (/init's, fault_log_show()'s) are
 * passed over.
 */
static inline const char *fault_log_next(struct fault_log *fl, char *rec, size_t size)
{
	const char *text;
	size_t len;
	char *more;
	int pri;

	do {
		if (fl->fd < 0 || !(text = kmsg_next_pri(fl->fd, rec, size, &pri)))
			return NULL;
	} while (pri >> 3);	/* a facility: written to /dev/kmsg */
	fl->report |= fault_log_starts_report(text);
	if ((pri & 7) < fl->quiet)	/* printed as it came */
		return text;
	len = strlen(text) + 1;
	if (fl->len + len > fl->cap) {
		more = realloc(fl->kept, fl->cap * 2 + len);
		if (!more)
			return text;
		fl->kept = more;
		fl->cap = fl->cap * 2 + len;
	}
	memcpy(fl->kept + fl->len, text, len);
	fl->len += len;
	fl->n++;
	return text;
}

/*
 * Read what is left of the log. When it holds the start of a report, or
 * the case has failed a check, log the hidden records since the last call
 * again, in order, at warning level, their "\xNN" escapes (devkmsg_read())
 * undone; not when the kernel has raised the console's level itself
 * (console_verbose()): then it printed them. Then start afresh.
 */
static inline void fault_log_show(struct fault_log *fl)
{
	static char rec[8192], line[8192];
	int fd, console, dflt;
	unsigned int c;
	const char *in;
	char *out;

	while (fault_log_next(fl, rec, sizeof(rec)))
		;
	fault_log_levels(&console, &dflt);
	if (console == fl->quiet && (fl->report || ktap.failed_here) && fl->len &&
	    (fd = open("/dev/kmsg", O_WRONLY)) >= 0) {
		fault_log_say(fl->report ? "fault loop: a kernel report; the kernel's messages since the last fault, whole:"
				       : "fault loop: a failed check; the kernel's messages since the last fault, whole:");
		for (in = fl->kept; in < fl->kept + fl->len; in += strlen(in) + 1) {
			out = line + sprintf(line, "<4>");
			for (; *in && out < line + sizeof(line) - 2; in++)
				if (in[0] == '\\' && in[1] == 'x' && sscanf(in + 2, "%2x", &c) == 1) {
					*out++ = (char)c;
					in += 3;
				} else {
					*out++ = *in;
				}
			*out++ = '\n';
			if (write(fd, line, out - line) < 0)
				break;
		}
		close(fd);
	} else if (console == fl->quiet) {
		fl->left_off += fl->n;
	}
	fl->report = 0;
	fl->len = 0;
	fl->n = 0;
}

/* Show what is left, put back the default message level, close. */
static inline void fault_log_end(struct fault_log *fl)
{
	char line[128];
	int console, dflt;

	fault_log_show(fl);
	write_sysfs("/sys/kernel/debug/failslab/verbose", "1");
	write_sysfs("/sys/kernel/debug/fail_page_alloc/verbose", "1");
	write_sysfs("/sys/kernel/debug/fail_page_alloc/min-order", "0");
	fault_log_levels(&console, &dflt);
	if (fl->saved_default > 0 && console > 0) {
		/* The console's level as it is: the kernel may have raised it. */
		snprintf(line, sizeof(line), "%d %d", console, fl->saved_default);
		write_sysfs("/proc/sys/kernel/printk", line);
	}
	if (fl->fd >= 0) {
		close(fl->fd);
		snprintf(line, sizeof(line), "fault loop: ends; %lu kernel messages left off the console (still in dmesg)",
			 fl->left_off);
		fault_log_say(line);
	}
	fl->fd = -1;
	free(fl->kept);
	fl->kept = NULL;
}

/*
 * Is the page under @addr mapped in this process's page table right now
 * (/proc/self/pagemap bit 63)? 1 yes, 0 no, -1 when pagemap cannot be read.
 */
static inline int page_present(const void *addr)
{
	unsigned long long entry;
	long psize = sysconf(_SC_PAGESIZE);
	int fd = open("/proc/self/pagemap", O_RDONLY);
	ssize_t n = -1;

	if (fd >= 0) {
		n = pread(fd, &entry, sizeof(entry),
			  (off_t)((unsigned long)addr / psize) * sizeof(entry));
		close(fd);
	}
	if (n != sizeof(entry))
		return -1;
	return (int)(entry >> 63);
}

/*
 * Does /proc/iomem hold a line for exactly [@start, @end] named @name
 * ("08000000-080fffff : Reserved", at any depth)? 1 yes, 0 no, -1 when it
 * cannot be read. Addresses show only to root, as the programs are run.
 */
static inline int iomem_lists(unsigned long long start, unsigned long long end,
			      const char *name)
{
	FILE *f = fopen("/proc/iomem", "r");
	unsigned long long s, e;
	char line[256], *colon;
	int found = 0;

	if (!f)
		return -1;
	while (!found && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		colon = strstr(line, " : ");
		found = colon && sscanf(line, " %llx-%llx", &s, &e) == 2 &&
			s == start && e == end && !strcmp(colon + 3, name);
	}
	fclose(f);
	return found;
}

#endif /* LAB_USER_H */
