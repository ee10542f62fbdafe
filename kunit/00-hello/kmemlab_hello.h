/* SPDX-License-Identifier: GPL-2.0 */
#ifndef KMEMLAB_HELLO_H
#define KMEMLAB_HELLO_H

#include <linux/types.h>

int kmemlab_hello_init_calls(void);
int kmemlab_hello_greet(char *buf, size_t size);

#endif
