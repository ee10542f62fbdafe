// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite for lab 00: calls the functions kmemlab_hello exports. The VM
 * loads kmemlab_hello with greeting=penguin before this suite.
 */
#include <kunit/test.h>
#include <linux/string.h>

#include "kmemlab_hello.h"

#define GREETING "Hello, penguin!"

static void hello_init_ran_once(struct kunit *test)
{
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_hello_init_calls(), 1,
			    "module init should run exactly once when the module is loaded");
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

static void hello_greet_truncates_to_buffer(struct kunit *test)
{
	char buf[8];

	memset(buf, 'x', sizeof(buf));
	KUNIT_EXPECT_EQ_MSG(test, kmemlab_hello_greet(buf, 4), 3,
			    "a 4-byte buffer holds 3 characters and the NUL");
	KUNIT_EXPECT_STREQ_MSG(test, buf, "Hel", "the text should be cut to fit, NUL-terminated");
	KUNIT_EXPECT_EQ_MSG(test, buf[4], 'x', "nothing may be written past the given size");
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
	KUNIT_CASE(hello_greet_uses_parameter),
	KUNIT_CASE(hello_greet_returns_length),
	KUNIT_CASE(hello_greet_truncates_to_buffer),
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
