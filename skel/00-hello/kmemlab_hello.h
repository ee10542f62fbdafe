/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A copy of kunit/00-hello/kmemlab_hello.h, the interface between
 * your module and the lab's tests, for reading. Do not edit it: the
 * grader builds your module with its own copy.
 */
#ifndef KMEMLAB_HELLO_H
#define KMEMLAB_HELLO_H

#include <linux/types.h>

int kmemlab_hello_init_calls(void);
int kmemlab_hello_greet(char *buf, size_t size);

#endif
