/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ktap_user.h - report the checks of a lab's user program in KTAP, in the
 * same shape a KUnit suite prints, so the grader reads both the same way.
 *
 *	ktap_begin("mmap_remap_user", 2);
 *	ktap_case("maps_whole_buffer");
 *	KTAP_EXPECT(p != MAP_FAILED, "mmap of %zu bytes: %s", len, strerror(errno));
 *	ktap_case_end();
 *	...
 *	return ktap_end();
 *
 * A case passes when no KTAP_EXPECT in it failed. ktap_skip_case() ends the
 * current case as skipped, with the reason. Output is line-buffered so that
 * a program killed by a signal still leaves every finished case behind.
 */
#ifndef KTAP_USER_H
#define KTAP_USER_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static struct {
	const char *suite;
	const char *name;	/* the case being run, or NULL */
	int planned, n, failed_here, skipped_here;
	int pass, fail, skip;
} ktap;

static inline void ktap_begin(const char *suite, int planned)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	ktap.suite = suite;
	ktap.planned = planned;
	printf("KTAP version 1\n1..1\n");
	printf("    KTAP version 1\n    # Subtest: %s\n    1..%d\n", suite, planned);
}

static inline void ktap_case(const char *name)
{
	ktap.name = name;
	ktap.failed_here = 0;
	ktap.skipped_here = 0;
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
	if (ktap.skipped_here) {
		ktap.skip++;
		return;
	}
	if (ktap.failed_here) {
		ktap.fail++;
		printf("    not ok %d %s\n", ktap.n, ktap.name);
	} else {
		ktap.pass++;
		printf("    ok %d %s\n", ktap.n, ktap.name);
	}
	ktap.name = NULL;
}

static inline void ktap_skip_case(const char *reason)
{
	ktap.skipped_here = 1;
	printf("    ok %d %s # SKIP %s\n", ktap.n + 1, ktap.name, reason);
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
