// SPDX-License-Identifier: GPL-2.0
/*
 * kmemlab_hello - the workflow lab: a module with a parameter, an init and
 * an exit function, and a function exported to other modules, which is how
 * the lab's KUnit suite reaches into it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/kernel.h>
#include <linux/string.h>

#include "kmemlab_hello.h"

/* TODO 1 BEGIN: declare a charp module parameter "greeting", default
 * "world", readable by everyone in /sys/module/kmemlab_hello/parameters/
 * (permission 0444), with a description for modinfo.
 */
static char *greeting = "world";
module_param(greeting, charp, 0444);
MODULE_PARM_DESC(greeting, "who to greet (default: world)");
/* TODO 1 END, skeleton: static char *greeting; */

static int init_calls;

/**
 * kmemlab_hello_init_calls() - how many times this module's init ran.
 */
int kmemlab_hello_init_calls(void)
{
	return init_calls;
}
EXPORT_SYMBOL_GPL(kmemlab_hello_init_calls);

/**
 * kmemlab_hello_greet() - write "Hello, <greeting>!" into @buf.
 * @buf: where to write; always NUL-terminated when @size > 0.
 * @size: size of @buf in bytes.
 *
 * Return: the number of characters written, not counting the NUL (the
 * text is cut to fit), or -EINVAL when @buf is NULL or @size is 0.
 */
int kmemlab_hello_greet(char *buf, size_t size)
{
	/* TODO 3 BEGIN: reject a NULL or empty buffer with -EINVAL, then
	 * format the greeting with scnprintf(), which returns what it wrote.
	 */
	if (!buf || !size)
		return -EINVAL;
	return scnprintf(buf, size, "Hello, %s!", greeting);
	/* TODO 3 END, skeleton: return -ENOSYS; */
}
EXPORT_SYMBOL_GPL(kmemlab_hello_greet);

static int __init kmemlab_hello_init(void)
{
	/* TODO 2 BEGIN: count this call in init_calls and say hello in the
	 * kernel log with pr_info() (pr_fmt adds the module name).
	 */
	init_calls++;
	pr_info("Hello, %s!\n", greeting);
	/* TODO 2 END */
	return 0;
}

static void __exit kmemlab_hello_exit(void)
{
	pr_info("Goodbye, %s.\n", greeting);
}

module_init(kmemlab_hello_init);
module_exit(kmemlab_hello_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kmemlab 00: hello, module");
