/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ktap_user.h - report the checks of a lab's user program in KTAP, in the
 * same shape a KUnit suite prints, so the grader reads both the same way.
 *
 *	ktap_begin("mmap_remap_user", 2);
 *	if (ktap_case("maps_whole_buffer")) {
 *		KTAP_EXPECT(p != MAP_FAILED, "mmap of %zu bytes: %s", len, strerror(errno));
 *		ktap_case_end();
 *	}
 *	...
 *	return ktap_end();
 *
 * A case passes when no KTAP_EXPECT in it failed. ktap_skip_case() ends the
 * current case as skipped, with the reason. Output is line-buffered so that
 * a program killed by a signal still leaves every finished case behind, and
 * each result line waits for the reader to take it (ktap_sync()), so that
 * it is out even when the kernel dies in the next case.
 *
 * The run's test filter is KUnit's own: the kernel parameter
 * kunit.filter_glob, "suite_glob.case_glob" or "suite_glob" alone, with
 * glob(7) patterns (lib/kunit/executor.c; `make check TEST=glob` sets it on
 * the kernel command line). ktap_begin() reads it; a case it leaves out is
 * reported as skipped ("# SKIP left out by kunit.filter_glob=..."). Unset,
 * every case runs and reports as it always did.
 *
 * ktap_case() returns 0 for a case the filter leaves out: that case is over
 * already, and the caller runs neither its body nor ktap_case_end(). In a
 * program whose cases build on each other (each needs what the ones before
 * it did, such as unbinding a device before checking it rebinds), start
 * each with ktap_chain_case() instead: a case left out still runs, silently,
 * and ends as skipped.
 */
#ifndef KTAP_USER_H
#define KTAP_USER_H

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

/*
 * Where KUnit's test filter reads back (root only; "(null)" when unset).
 * The grader's unit tests point it at a file of their own.
 */
#ifndef KTAP_FILTER_PARAM
#define KTAP_FILTER_PARAM "/sys/module/kunit/parameters/filter_glob"
#endif

static struct {
	const char *suite;
	const char *name;	/* the case being run, or NULL */
	int planned, n, failed_here, skipped_here;
	int pass, fail, skip;
	int filtered;		/* filter holds the run's test filter */
	int muted;		/* the case runs, but the filter left it out */
	char filter[256];
	int kmsg;		/* /dev/kmsg, read from the end (ktap_sync()), or -1 */
	char logged[4 * 1023];	/* the last line ktap_out() printed, as /dev/kmsg shows it */
} ktap = { .kmsg = -1 };

/* Read the run's test filter, as KUnit will see it at the next insmod. */
static inline void ktap_read_filter(void)
{
	FILE *f = fopen(KTAP_FILTER_PARAM, "r");

	ktap.filtered = 0;
	if (!f)
		return;
	if (fgets(ktap.filter, sizeof(ktap.filter), f)) {
		ktap.filter[strcspn(ktap.filter, "\n")] = '\0';
		ktap.filtered = strcmp(ktap.filter, "(null)") != 0;
	}
	fclose(f);
}

/*
 * Does the filter select case @name of this suite? The same test as KUnit's
 * kunit_filter_suites(): split at the first '.', the suite's glob, then (if
 * there is one) the case's; fnmatch(3) with no flags is glob_match().
 */
static inline int ktap_selected(const char *name)
{
	char suite_glob[sizeof(ktap.filter)];
	char *dot;

	if (!ktap.filtered)
		return 1;
	strcpy(suite_glob, ktap.filter);
	dot = strchr(suite_glob, '.');
	if (dot)
		*dot = '\0';
	if (fnmatch(suite_glob, ktap.suite, 0) != 0)
		return 0;
	return !dot || fnmatch(dot + 1, name, 0) == 0;
}

/*
 * The next record of /dev/kmsg (@fd opened O_RDONLY | O_NONBLOCK) as
 * text, its header and newline cut off, in @rec of @size bytes; NULL when
 * none is left. Records lost to an overrun (EPIPE) are skipped. @pri, when
 * not NULL, gets the record's priority: facility * 8 + level, facility 0
 * for the kernel's own messages, 1 (user) for lines written to /dev/kmsg
 * (Documentation/ABI/testing/dev-kmsg). A record longer than @size - 1
 * bytes cannot be read (EINVAL) and ends the reading: give 8192
 * (CONSOLE_EXT_LOG_MAX) to read any.
 */
static inline const char *kmsg_next_pri(int fd, char *rec, size_t size, int *pri)
{
	ssize_t n;
	char *text;

	while ((n = read(fd, rec, size - 1)) > 0 || (n < 0 && errno == EPIPE)) {
		if (n <= 0)
			continue;
		rec[n] = '\0';
		text = strchr(rec, ';');
		if (!text)
			continue;
		text[strcspn(text, "\n")] = '\0';
		if (pri)
			*pri = atoi(rec);
		return text + 1;
	}
	return NULL;
}

static inline const char *kmsg_next(int fd, char *rec, size_t size)
{
	return kmsg_next_pri(fd, rec, size, NULL);
}

/*
 * Print one line and remember it for ktap_sync() as /dev/kmsg will show
 * it: @fmt without its '\n', at most 1022 bytes (a kernel-log record holds
 * 1023 with the newline), a byte below 0x20, from 0x7f up, or a backslash
 * as \xNN (devkmsg_read(), kernel/printk/printk.c).
 */
static inline void __attribute__((format(printf, 1, 2))) ktap_out(const char *fmt, ...)
{
	char line[1023], *out = ktap.logged;
	const unsigned char *c;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	printf("%s\n", line);
	for (c = (const unsigned char *)line; *c; c++)
		if (*c < 0x20 || *c >= 0x7f || *c == '\\')
			out += sprintf(out, "\\x%02x", *c);
		else
			*out++ = (char)*c;
	*out = '\0';
}

/* Is the last line printed a record of the kernel log read since the last call? */
static inline int ktap_logged(void)
{
	char rec[4096];	/* a record is at most 2048 bytes (PRINTK_MESSAGE_MAX) */
	const char *text;

	while ((text = kmsg_next(ktap.kmsg, rec, sizeof(rec))))
		if (!strcmp(text, ktap.logged))
			return 1;
	return 0;
}

/*
 * Let the reader of stdout take what was printed before the next case
 * runs. In the lab VM that is /init (its "run" step sets KTAP_KMSG=1),
 * which passes each line on to the results channel, then to the kernel
 * log: wait until the last line ktap_out() printed is in the kernel log
 * (/dev/kmsg), so that when the kernel dies in the next case, this case's
 * result is out and the grader knows which case was running
 * (grader/boots.py). Only waiting for the pipe to empty was not enough:
 * /init could still be passing the line on when the next case crashed the
 * kernel, and the crash was put down to this case. It waits while new
 * records keep coming (the lines queued before this one go first), and
 * gives up after a second without one or ten seconds in all (guest time);
 * a new record wakes it at the next timer tick (printk wakes the log's
 * readers from lazy irq work). Elsewhere (make shell) it waits only while
 * stdout is a pipe holding unread bytes. Prints nothing.
 */
static inline void ktap_sync(void)
{
	struct timespec start, now;
	struct stat st;
	int unread, i, quiet = 0;

	if (fstat(STDOUT_FILENO, &st) != 0 || !S_ISFIFO(st.st_mode))
		return;
	if (ktap.kmsg >= 0) {
		clock_gettime(CLOCK_MONOTONIC, &start);
		while (!ktap_logged() && quiet < 100) {
			if (poll(&(struct pollfd){ .fd = ktap.kmsg, .events = POLLIN }, 1, 10) == 0)
				quiet++;	/* 10 ms without a new record */
			else
				quiet = 0;
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec - start.tv_sec >= 10)
				break;
		}
		return;
	}
	for (i = 0; i < 1000; i++) {
		if (ioctl(STDOUT_FILENO, FIONREAD, &unread) != 0 || unread <= 0)
			break;
		usleep(200);
	}
	sched_yield();
}

static inline void ktap_begin(const char *suite, int planned)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	ktap.suite = suite;
	ktap.planned = planned;
	ktap_read_filter();
	if (getenv("KTAP_KMSG") && (ktap.kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC)) >= 0)
		lseek(ktap.kmsg, 0, SEEK_END);
	printf("KTAP version 1\n1..1\n");
	printf("    KTAP version 1\n    # Subtest: %s\n", suite);
	ktap_out("    1..%d", planned);
	ktap_sync();
}

static inline void ktap_case_end(void);

/*
 * Start case @name of a chain (see above): it runs whatever the filter
 * says; left out, it prints nothing and ktap_case_end() reports it skipped.
 */
static inline void ktap_chain_case(const char *name)
{
	ktap.name = name;
	ktap.failed_here = 0;
	ktap.skipped_here = 0;
	ktap.muted = !ktap_selected(name);
}

/*
 * Start case @name: 1 when it is to run. 0 when the test filter leaves it
 * out: it has been reported as skipped and is over, so the caller runs
 * neither its body nor ktap_case_end().
 */
static inline int __attribute__((warn_unused_result)) ktap_case(const char *name)
{
	ktap_chain_case(name);
	if (!ktap.muted)
		return 1;
	ktap_case_end();
	return 0;
}

/*
 * Print a diagnostic line. A message may quote what the module under test
 * returned: a line break or other control byte in it becomes a '?', so no
 * message can start a line of its own (a result line, say).
 */
static inline void __attribute__((format(printf, 1, 2))) ktap_diag(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	char *c;

	if (ktap.muted)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (c = msg; *c; c++)
		if ((unsigned char)*c < 0x20 && *c != '\t')
			*c = '?';
	printf("    # %s: %s\n", ktap.name ? ktap.name : ktap.suite, msg);
}

/* Record a failed expectation with a message for the student; go on. */
#define KTAP_EXPECT(cond, fmt, ...)						\
	do {									\
		if (!(cond)) {							\
			ktap.failed_here = 1;					\
			ktap_diag("EXPECTATION FAILED at %s:%d: " fmt,		\
				  __FILE__, __LINE__, ##__VA_ARGS__);		\
		}								\
	} while (0)

static inline void ktap_case_end(void)
{
	ktap.n++;
	if (ktap.muted) {
		ktap.muted = 0;
		ktap.skip++;
		printf("    ok %d %s # SKIP left out by kunit.filter_glob=%s\n",
		       ktap.n, ktap.name, ktap.filter);
		return;
	}
	if (ktap.skipped_here) {
		ktap.skip++;
		return;
	}
	if (ktap.failed_here) {
		ktap.fail++;
		ktap_out("    not ok %d %s", ktap.n, ktap.name);
	} else {
		ktap.pass++;
		ktap_out("    ok %d %s", ktap.n, ktap.name);
	}
	ktap.name = NULL;
	ktap_sync();
}

static inline void ktap_skip_case(const char *reason)
{
	ktap.skipped_here = 1;
	if (ktap.muted)		/* ktap_case_end() says why it was skipped */
		return;
	ktap_out("    ok %d %s # SKIP %s", ktap.n + 1, ktap.name, reason);
	ktap_sync();
}

/* Print the suite's result; the return value is the program's exit code. */
static inline int ktap_end(void)
{
	int ok = ktap.fail == 0 && ktap.n == ktap.planned;

	if (ktap.n != ktap.planned)
		printf("    # %s: planned %d cases, ran %d\n", ktap.suite,
		       ktap.planned, ktap.n);
	printf("# %s: pass:%d fail:%d skip:%d total:%d\n", ktap.suite,
	       ktap.pass, ktap.fail, ktap.skip, ktap.n);
	printf("%sok 1 %s\n", ok ? "" : "not ", ktap.suite);
	return ok ? 0 : 1;
}

#endif /* KTAP_USER_H */
