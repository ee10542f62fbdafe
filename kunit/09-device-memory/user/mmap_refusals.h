/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mmap_refusals.h - the mmap requests a lab 09 device file must refuse,
 * shared by bar_user (BAR0 through /dev/kmemlab_devmem) and ram_user (the
 * reserved RAM range through /dev/kmemlab_devmem_ram).
 *
 * A region is a device file whose offset 0 maps physical address @start,
 * @len bytes long. Each function below is one KTAP case: requests that run
 * past the end, offsets that wrap or truncate in a driver's arithmetic
 * (start + offset, a length in 32 bits), private mappings and executable
 * ones. Each request is expected to fail with the errno the handout
 * names, and a mapping the driver grants instead is unmapped at once.
 * Include after ktap_user.h and lab_user.h (child_signal()); the program defines open_dev(), which opens
 * the device file (or fails the case with a hint) and returns the fd.
 */
#ifndef MMAP_REFUSALS_H
#define MMAP_REFUSALS_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct region {
	const char *name;	/* in messages: "BAR0", "the range" */
	unsigned long start;	/* physical address of offset 0 */
	size_t len;		/* bytes */
	long page;		/* bytes */
};

static int open_dev(void);

static void *map_fd(int fd, size_t len, unsigned long off)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)off);
}

static void expect_mmap_errno(int fd, size_t len, unsigned long off, int prot,
			      int flags, int err, const char *what)
{
	void *p = mmap(NULL, len, prot, flags, fd, (off_t)off);

	if (p == MAP_FAILED) {
		KTAP_EXPECT(errno == err, "mmap(len %#zx, offset %#lx) %s: expected %s, got %s",
			    len, off, what, strerrorname_np(err), strerrorname_np(errno));
		return;
	}
	KTAP_EXPECT(0, "mmap(len %#zx, offset %#lx) %s: expected %s, got a mapping at %p",
		    len, off, what, strerrorname_np(err), p);
	munmap(p, len);
}

/* expect_mmap_errno() with a message naming the region. */
static void expect_refused(const struct region *r, int fd, size_t len, unsigned long off,
			   int prot, int flags, int err, const char *fmt)
{
	char what[160];

	snprintf(what, sizeof(what), fmt, r->name);
	expect_mmap_errno(fd, len, off, prot, flags, err, what);
}

static void past_end_einval(const struct region *r)
{
	int fd;

	if (!ktap_case("past_end_einval"))
		return;
	fd = open_dev();
	if (fd < 0)
		goto out;
	expect_refused(r, fd, r->len + r->page, 0, PROT_READ, MAP_SHARED, EINVAL,
		       "is a page longer than %s");
	expect_refused(r, fd, r->page, r->len, PROT_READ, MAP_SHARED, EINVAL,
		       "starts at the end of %s");
	expect_refused(r, fd, 2 * r->page, r->len - r->page, PROT_READ, MAP_SHARED, EINVAL,
		       "runs from the last page of %s past its end");
	close(fd);
out:
	ktap_case_end();
}

/* Offsets chosen to wrap or truncate in a driver's arithmetic. */
static void hostile_offsets_einval(const struct region *r)
{
	int fd;

	if (!ktap_case("hostile_offsets_einval"))
		return;
	fd = open_dev();
	if (fd < 0)
		goto out;
	expect_refused(r, fd, r->page, 0UL - r->start, PROT_READ, MAP_SHARED, EINVAL,
		       "wraps the start of %s + offset to physical 0");
	expect_refused(r, fd, r->page, 0UL - 2 * r->page, PROT_READ, MAP_SHARED, EINVAL,
		       "is the largest the core lets through: start + offset wraps below %s");
	expect_refused(r, fd, r->page, 1UL << 31, PROT_READ, MAP_SHARED, EINVAL,
		       "is 2 GiB, negative as an int (%s)");
	if (sizeof(long) == 8) {
		expect_refused(r, fd, r->page, (unsigned long)(1ULL << 32), PROT_READ, MAP_SHARED,
			       EINVAL, "is 4 GiB, 0 in 32 bits (%s)");
		expect_refused(r, fd, (size_t)(1ULL << 32) + r->page, 0, PROT_READ, MAP_SHARED,
			       EINVAL, "is 4 GiB + 1 page long, 1 page in 32 bits (%s)");
	}
	close(fd);
out:
	ktap_case_end();
}

static void private_mapping_einval(const struct region *r)
{
	int fd;

	if (!ktap_case("private_mapping_einval"))
		return;
	fd = open_dev();
	if (fd < 0)
		goto out;
	expect_refused(r, fd, r->page, 0, PROT_READ, MAP_PRIVATE, EINVAL,
		       "is MAP_PRIVATE, read-only (%s)");
	expect_refused(r, fd, r->page, 0, PROT_READ | PROT_WRITE, MAP_PRIVATE, EINVAL,
		       "is MAP_PRIVATE, writable (%s)");
	close(fd);
out:
	ktap_case_end();
}

/*
 * A MAP_SHARED mapping of the device file opened read-only: do_mmap()
 * clears VM_SHARED and VM_MAYWRITE for it (mm/mmap.c), VM_MAYSHARE stays.
 * Such a mapping is shared, and the driver must grant it; write access
 * stays refused by the kernel (mprotect(): EACCES without VM_MAYWRITE).
 */
/*
 * Store the 32-bit word @p holds back into it: harmless if the store is
 * allowed, and a register access of the size edu's BAR0 takes (4 bytes:
 * QEMU reports any other as a device error).
 */
static void store_same(volatile unsigned char *p)
{
	volatile uint32_t *w = (volatile uint32_t *)p;

	*w = *w;
}

static void readonly_shared_mapping_works(const struct region *r, const char *path)
{
	void *p;
	int fd, sig;

	if (!ktap_case("readonly_shared_mapping_works"))
		return;
	fd = open(path, O_RDONLY);
	KTAP_EXPECT(fd >= 0, "open(%s, O_RDONLY): %s", path, strerror(errno));
	if (fd < 0)
		goto out;
	p = mmap(NULL, r->page, PROT_READ, MAP_SHARED, fd, 0);
	KTAP_EXPECT(p != MAP_FAILED,
		    "mmap(PROT_READ, MAP_SHARED) of %s through a read-only open: %s (the vma has VM_MAYSHARE, not VM_SHARED)",
		    r->name, p == MAP_FAILED ? strerrorname_np(errno) : "mapped");
	if (p != MAP_FAILED) {
		errno = 0;
		KTAP_EXPECT(mprotect(p, r->page, PROT_READ | PROT_WRITE) && errno == EACCES,
			    "mprotect(PROT_WRITE) of a read-only open's mapping of %s: expected EACCES, got %s",
			    r->name, errno ? strerrorname_np(errno) : "success");
		/* Its ptes as read-only as the VMA: vma->vm_page_prot's rights. */
		sig = child_signal(store_same, p);
		KTAP_EXPECT(sig == SIGSEGV,
			    "a store through the read-only mapping of %s should die of SIGSEGV, the child got %s "
			    "(the ptes must get the VMA's protection, vma->vm_page_prot)",
			    r->name, sig > 0 ? strsignal(sig) : "no signal");
		munmap(p, r->page);
	}
	close(fd);
out:
	ktap_case_end();
}

static void exec_refused(const struct region *r)
{
	void *p;
	int fd;

	if (!ktap_case("exec_refused"))
		return;
	fd = open_dev();
	if (fd < 0)
		goto out;
	expect_refused(r, fd, r->page, 0, PROT_READ | PROT_EXEC, MAP_SHARED, EPERM,
		       "asks for PROT_EXEC (%s)");
	p = map_fd(fd, r->page, 0);
	KTAP_EXPECT(p != MAP_FAILED, "mmap of one page: %s", strerror(errno));
	if (p != MAP_FAILED) {
		errno = 0;
		KTAP_EXPECT(mprotect(p, r->page, PROT_READ | PROT_EXEC) && errno == EACCES,
			    "mprotect(PROT_EXEC) of a mapping of %s: expected EACCES, got %s",
			    r->name, errno ? strerrorname_np(errno) : "success");
		munmap(p, r->page);
	}
	close(fd);
out:
	ktap_case_end();
}

#endif /* MMAP_REFUSALS_H */
