/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lab_user.h - small helpers the labs' user programs share: run a probe in
 * a child to see which signal it dies of, write a sysfs attribute, find a
 * PCI device by its IDs.
 */
#ifndef LAB_USER_H
#define LAB_USER_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ktap_user.h"	/* kmsg_next() */

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
 * Make fail-nth count only slab allocations, and log each injected
 * failure's call trace (@on 1), or put back what /init set (@on 0).
 * Whether an allocation takes fresh pages depends on how full the slabs
 * are, so with page allocations counted the n-th fault point of one call
 * would be another in the next; fail_page_alloc's min-order above any
 * order leaves them out (lib/fault-inject.c, mm/fail_page_alloc.c).
 */
static inline void fault_slab_only_traced(int on)
{
	write_sysfs("/sys/kernel/debug/failslab/verbose", on ? "2" : "1");
	write_sysfs("/sys/kernel/debug/fail_page_alloc/verbose", on ? "2" : "1");
	write_sysfs("/sys/kernel/debug/fail_page_alloc/min-order", on ? "11" : "0");
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
