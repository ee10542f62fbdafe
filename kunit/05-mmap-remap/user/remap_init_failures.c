// SPDX-License-Identifier: GPL-2.0
/*
 * remap_init_failures - drive every error path of kmemlab_remap's init.
 *
 *	remap_init_failures MODULE.ko NAME
 *
 * Loads the module (finit_module) with its n-th fault point failing, for
 * n = 1, 2, ... until a load passes every one (fault injection,
 * /proc/thread-self/fail-nth): the allocations and user copies of the
 * module loader, then those of the module's init. Each failed load must leave nothing behind:
 * the graded kernel's leak check after the lab charges what an error path
 * forgot to free, and KASAN what it freed twice. A load that succeeds
 * although an allocation failed must still give working devices. The
 * module is removed again after each successful load, so the lab's own
 * insmod step that follows starts clean. Run before the module is loaded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ktap_user.h"
#include "lab_user.h"

#define MAX_POINTS	200

/* Do both devices answer, with a buffer of the size they advertise? */
static int devices_work(void)
{
	static const char *const paths[] = {
		"/dev/kmemlab_remap_contig", "/dev/kmemlab_remap_vmalloc",
	};
	char byte;
	int i, fd, ok = 1;

	for (i = 0; i < 2; i++) {
		fd = open(paths[i], O_RDWR);
		if (fd < 0 || lseek(fd, 0, SEEK_END) <= 0 || pread(fd, &byte, 1, 0) != 1)
			ok = 0;
		if (fd >= 0)
			close(fd);
	}
	return ok;
}

int main(int argc, char **argv)
{
	int fd, nth, n, ret, err, fired, failures = 0;

	ktap_begin("remap_init_failures", 1);
	ktap_case("init_failures_unwind");
	if (argc != 3) {
		KTAP_EXPECT(0, "usage: remap_init_failures MODULE.ko NAME");
		goto out;
	}
	fd = open(argv[1], O_RDONLY);
	nth = fault_nth_open();
	KTAP_EXPECT(fd >= 0, "open %s: %s", argv[1], strerror(errno));
	if (fd < 0)
		goto out;
	if (nth < 0) {
		ktap_skip_case("no /proc/thread-self/fail-nth in this kernel");
		goto out;
	}
	for (n = 1; n <= MAX_POINTS; n++) {
		fault_nth_arm(nth, n);
		ret = syscall(SYS_finit_module, fd, "", 0);
		err = errno;
		fired = fault_nth_fired(nth);
		if (ret == 0) {
			KTAP_EXPECT(!fired || devices_work(),
				    "the module loaded although its allocation %d failed, and its devices do not work: init must fail when it cannot set up",
				    n);
			if (syscall(SYS_delete_module, argv[2], O_NONBLOCK) != 0)
				KTAP_EXPECT(0, "removing %s after load %d: %s", argv[2], n,
					    strerror(errno));
			if (!fired)
				break;
			continue;
		}
		KTAP_EXPECT(fired, "loading %s failed (%s) with no allocation failing",
			    argv[1], strerrorname_np(err));
		if (!fired)
			break;
		failures++;
		/* EFAULT: the loader's own copy of the (empty) arguments. */
		KTAP_EXPECT(err == ENOMEM || err == EFAULT,
			    "a load with fault point %d failing returned %s; an init that runs out of memory returns -ENOMEM",
			    n, strerrorname_np(err));
	}
	KTAP_EXPECT(n <= MAX_POINTS, "the module still failed to load after %d failures",
		    MAX_POINTS);
	ktap_diag("%d of %d loads failed, each with one fault point failing", failures, n - 1);
	close(fd);
out:
	ktap_case_end();
	return ktap_end();
}
