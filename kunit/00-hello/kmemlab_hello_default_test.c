// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite for lab 00, second load: the VM removes kmemlab_hello and
 * loads it again without greeting=..., then loads this suite. What the
 * module does now is what its parameter's default makes it do.
 */
#include <kunit/test.h>
#include <linux/string.h>

#include "kmemlab_hello.h"

static void hello_greet_defaults_to_world(struct kunit *test)
{
	char buf[64] = "";

	KUNIT_EXPECT_EQ_MSG(test, kmemlab_hello_greet(buf, sizeof(buf)), (int)strlen("Hello, world!"),
			    "loaded without greeting=, the module should greet \"world\"");
	KUNIT_EXPECT_STREQ_MSG(test, buf, "Hello, world!",
			       "insmod gave no greeting=: the parameter's default (\"world\") should be used");
}

static struct kunit_case kmemlab_hello_default_test_cases[] = {
	KUNIT_CASE(hello_greet_defaults_to_world),
	{}
};

static struct kunit_suite kmemlab_hello_default_test_suite = {
	.name = "kmemlab_hello_default",
	.test_cases = kmemlab_hello_default_test_cases,
};
kunit_test_suite(kmemlab_hello_default_test_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit tests for kmemlab lab 00, module loaded without parameters");
