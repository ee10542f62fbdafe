// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite for lab 00: calls the functions kmemlab_hello exports. The VM
 * loads kmemlab_hello with greeting=penguin before this suite.
 */
#include <kunit/test.h>
#include <linux/kmsg_dump.h>
#include <linux/minmax.h>
#include <linux/string.h>

#include "kmemlab_hello.h"

#define GREETING "Hello, penguin!"

static void hello_init_ran_once(struct kunit *test)
{
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_hello_init_calls(), 1,
			    "module init should run exactly once when the module is loaded");
}

/*
 * Module init returns 0 or a negative errno. The kernel loads a module
 * whose init returned a positive number anyway, and only says so in its
 * log (do_init_module() in kernel/module/main.c): read the log back.
 */
static void hello_init_returns_zero(struct kunit *test)
{
	static const char warning[] = "'kmemlab_hello'->init suspiciously returned";
	struct kmsg_dump_iter iter;
	size_t len, lines = 0;
	bool found = false;
	char *line;

	line = kunit_kzalloc(test, 1024, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, line);
	kmsg_dump_rewind(&iter);
	while (!found && kmsg_dump_get_line(&iter, false, line, 1023, &len)) {
		line[len] = '\0';
		found = strstr(line, warning);
		lines++;
	}
	KUNIT_ASSERT_GT_MSG(test, lines, 0, "the kernel log could not be read");
	KUNIT_EXPECT_FALSE_MSG(test, found,
			       "the kernel logged \"%s\": init returns 0 for success, a negative errno for failure",
			       line);
}

static void hello_greet_uses_parameter(struct kunit *test)
{
	char buf[64] = "";

	kmemlab_hello_greet(buf, sizeof(buf));
	KUNIT_EXPECT_STREQ_MSG(test, buf, GREETING,
			       "insmod passed greeting=penguin: the text should use the parameter");
}

static void hello_greet_returns_length(struct kunit *test)
{
	char buf[64];

	KUNIT_EXPECT_EQ_MSG(test, kmemlab_hello_greet(buf, sizeof(buf)), (int)strlen(GREETING),
			    "the return value should be the number of characters written");
}

/* Buffer sizes around the greeting's length: cut, exact fit, room to spare. */
static const size_t greet_sizes[] = { 1, 4, sizeof(GREETING) - 1, sizeof(GREETING), sizeof(GREETING) + 1 };

static void size_to_desc(const size_t *size, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%zu-byte buffer", *size);
}
KUNIT_ARRAY_PARAM(greet_sizes, greet_sizes, size_to_desc);

static void hello_greet_truncates_to_buffer(struct kunit *test)
{
	size_t size = *(const size_t *)test->param_value;
	int want = min_t(size_t, size - 1, strlen(GREETING));
	char buf[sizeof(GREETING) + 2];

	memset(buf, 'x', sizeof(buf));
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_hello_greet(buf, size), want,
			    "a %zu-byte buffer holds %d characters and the NUL", size, want);
	KUNIT_EXPECT_EQ_MSG(test, strnlen(buf, size), (size_t)want,
			    "the text should be cut to %d characters and NUL-terminated inside the buffer",
			    want);
	KUNIT_EXPECT_MEMEQ_MSG(test, buf, GREETING, want,
			       "the text should be the start of \"%s\"", GREETING);
	KUNIT_EXPECT_EQ_MSG(test, buf[size], 'x',
			    "nothing may be written past the %zu bytes given", size);
}

static void hello_greet_rejects_empty_buffer(struct kunit *test)
{
	char buf[4];

	KUNIT_EXPECT_EQ_MSG(test, kmemlab_hello_greet(buf, 0), -EINVAL,
			    "a zero-sized buffer should be refused with -EINVAL");
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_hello_greet(NULL, 4), -EINVAL,
			    "a NULL buffer should be refused with -EINVAL");
}

static struct kunit_case kmemlab_hello_test_cases[] = {
	KUNIT_CASE(hello_init_ran_once),
	KUNIT_CASE(hello_init_returns_zero),
	KUNIT_CASE(hello_greet_uses_parameter),
	KUNIT_CASE(hello_greet_returns_length),
	KUNIT_CASE_PARAM(hello_greet_truncates_to_buffer, greet_sizes_gen_params),
	KUNIT_CASE(hello_greet_rejects_empty_buffer),
	{}
};

static struct kunit_suite kmemlab_hello_test_suite = {
	.name = "kmemlab_hello",
	.test_cases = kmemlab_hello_test_cases,
};
kunit_test_suite(kmemlab_hello_test_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit tests for kmemlab lab 00");
