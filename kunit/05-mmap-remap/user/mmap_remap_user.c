// SPDX-License-Identifier: GPL-2.0
/*
 * mmap_remap_user - lab 05 from the process's side: map each kmemlab_remap
 * device and check that its bytes travel both ways, that the offset picks
 * the page, how a length that is not a page multiple behaves, and that
 * every bad request gets its errno (or, past the mapping, a signal).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ktap_user.h"
#include "lab_user.h"

#define MODULE	"kmemlab_remap"
static const char *const devices[] = { "contig", "vmalloc" };
#define NDEVICES	2
#define CASES_PER_DEVICE	12

static long page;
static size_t bufsize;		/* the device's buffer, from lseek(SEEK_END) */
static unsigned char *want;	/* what the driver's buffer should hold */
static unsigned char *got;
static char case_name[64];

/* Start case <dev>_<what>: 1 to run it, 0 when the test filter left it out. */
static int begin(const char *dev, const char *what)
{
	snprintf(case_name, sizeof(case_name), "%s_%s", dev, what);
	return ktap_case(case_name);
}

static int open_dev(const char *dev)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/dev/kmemlab_remap_%s", dev);
	fd = open(path, O_RDWR);
	KTAP_EXPECT(fd >= 0, "open %s: %s", path, strerror(errno));
	return fd;
}

/* Let the driver's buffer hold a pattern no other check left behind. */
static int fill_from_driver(int fd, uint32_t seed)
{
	uint32_t *w = (uint32_t *)want;
	size_t i;

	for (i = 0; i < bufsize / 4; i++)
		w[i] = (uint32_t)(i * 2654435761u) ^ seed;
	if (pwrite(fd, want, bufsize, 0) != (ssize_t)bufsize) {
		KTAP_EXPECT(0, "write() of the whole buffer: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* The byte offset of the first difference, or -1. */
static long first_diff(const unsigned char *a, const unsigned char *b,
		       size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (a[i] != b[i])
			return i;
	return -1;
}

static void *map(int fd, size_t len, off_t off, int prot, int flags)
{
	return mmap(NULL, len, prot, flags, fd, off);
}

static void expect_mmap_errno(int fd, size_t len, off_t off, int prot,
			      int flags, int err, const char *what)
{
	void *p = map(fd, len, off, prot, flags);

	KTAP_EXPECT(p == MAP_FAILED && errno == err,
		    "mmap(len %zu, offset %lld) %s: expected %s, got %s",
		    len, (long long)off, what, strerrorname_np(err),
		    p == MAP_FAILED ? strerrorname_np(errno) : "success");
	if (p != MAP_FAILED)
		munmap(p, len);
}

static void driver_writes_reach_process(const char *dev)
{
	unsigned char *p;
	long diff;
	int fd;

	if (!begin(dev, "driver_writes_reach_process"))
		return;
	fd = open_dev(dev);
	if (fd < 0 || fill_from_driver(fd, 0x1234))
		goto out;
	p = map(fd, bufsize, 0, PROT_READ, MAP_SHARED);
	KTAP_EXPECT(p != MAP_FAILED, "mmap of the whole buffer: %s",
		    strerror(errno));
	if (p == MAP_FAILED)
		goto out;
	diff = first_diff(p, want, bufsize);
	KTAP_EXPECT(diff < 0,
		    "byte %ld (page %ld) of the mapping differs from what write() put in the buffer",
		    diff, diff / page);
	munmap(p, bufsize);
out:
	if (fd >= 0)
		close(fd);
	ktap_case_end();
}

static void process_writes_reach_driver(const char *dev)
{
	unsigned char *p;
	long diff;
	size_t i;
	int fd;

	if (!begin(dev, "process_writes_reach_driver"))
		return;
	fd = open_dev(dev);
	if (fd < 0)
		goto out;
	p = map(fd, bufsize, 0, PROT_READ | PROT_WRITE, MAP_SHARED);
	KTAP_EXPECT(p != MAP_FAILED, "mmap of the whole buffer: %s",
		    strerror(errno));
	if (p == MAP_FAILED)
		goto out;
	for (i = 0; i < bufsize; i++)
		want[i] = (unsigned char)(i * 7 + i / page);
	memcpy(p, want, bufsize);
	KTAP_EXPECT(pread(fd, got, bufsize, 0) == (ssize_t)bufsize,
		    "read() of the whole buffer: %s", strerror(errno));
	diff = first_diff(got, want, bufsize);
	KTAP_EXPECT(diff < 0,
		    "byte %ld (page %ld) that the process stored through the mapping is not what read() returns",
		    diff, diff / page);
	munmap(p, bufsize);
out:
	if (fd >= 0)
		close(fd);
	ktap_case_end();
}

static void offset_selects_page(const char *dev)
{
	const long pages[] = { 1, 3, (long)(bufsize / page) - 2 };
	unsigned char *p;
	long diff;
	int fd, i;

	if (!begin(dev, "offset_selects_page"))
		return;
	fd = open_dev(dev);
	if (fd < 0 || fill_from_driver(fd, 0xbeef))
		goto out;
	for (i = 0; i < 3; i++) {
		p = map(fd, 2 * page, pages[i] * page, PROT_READ, MAP_SHARED);
		KTAP_EXPECT(p != MAP_FAILED, "mmap of 2 pages at offset %ld pages: %s",
			    pages[i], strerror(errno));
		if (p == MAP_FAILED)
			continue;
		diff = first_diff(p, want + pages[i] * page, 2 * page);
		KTAP_EXPECT(diff < 0,
			    "a mapping at offset %ld pages should show buffer pages %ld and %ld; byte %ld differs",
			    pages[i], pages[i], pages[i] + 1, diff);
		munmap(p, 2 * page);
	}
	/* The core, not the driver, insists on a page-aligned offset. */
	expect_mmap_errno(fd, page, 100, PROT_READ, MAP_SHARED, EINVAL,
			  "at an offset that is not a page multiple");
out:
	if (fd >= 0)
		close(fd);
	ktap_case_end();
}

/*
 * A length that is not a page multiple maps whole pages: the tail of the
 * last page is reachable too, and munmap() with the same length removes
 * all of it. One byte more than the buffer rounds up to a page too many.
 */
static void length_rounds_up_to_page(const char *dev)
{
	size_t len = page + 100;
	unsigned char *p;
	long diff;
	int fd;

	if (!begin(dev, "length_rounds_up_to_page"))
		return;
	fd = open_dev(dev);
	if (fd < 0 || fill_from_driver(fd, 0x77))
		goto out;
	p = map(fd, len, 0, PROT_READ, MAP_SHARED);
	KTAP_EXPECT(p != MAP_FAILED, "mmap of %zu bytes: %s", len,
		    strerror(errno));
	if (p != MAP_FAILED) {
		diff = first_diff(p, want, 2 * page);
		KTAP_EXPECT(diff < 0,
			    "a %zu-byte mapping covers 2 whole pages; byte %ld of them is not the buffer's",
			    len, diff);
		munmap(p, len);
	}
	p = map(fd, bufsize - 100, 0, PROT_READ, MAP_SHARED);
	KTAP_EXPECT(p != MAP_FAILED,
		    "mmap of the buffer's size less 100 bytes rounds up to the buffer: %s",
		    strerror(errno));
	if (p != MAP_FAILED)
		munmap(p, bufsize - 100);
	expect_mmap_errno(fd, bufsize + 1, 0, PROT_READ, MAP_SHARED, EINVAL,
			  "is one byte, so one page, longer than the buffer");
out:
	if (fd >= 0)
		close(fd);
	ktap_case_end();
}

static void oversized_length_einval(const char *dev)
{
	int fd;

	if (!begin(dev, "oversized_length_einval"))
		return;
	fd = open_dev(dev);
	if (fd < 0)
		goto out;
	expect_mmap_errno(fd, bufsize + page, 0, PROT_READ, MAP_SHARED,
			  EINVAL, "is a page longer than the buffer");
	expect_mmap_errno(fd, 2 * bufsize, 0, PROT_READ, MAP_SHARED,
			  EINVAL, "is twice the buffer");
	close(fd);
out:
	ktap_case_end();
}

static void offset_past_end_einval(const char *dev)
{
	int fd;

	if (!begin(dev, "offset_past_end_einval"))
		return;
	fd = open_dev(dev);
	if (fd < 0)
		goto out;
	expect_mmap_errno(fd, page, bufsize, PROT_READ, MAP_SHARED, EINVAL,
			  "starts right after the buffer");
	expect_mmap_errno(fd, 2 * page, bufsize - page, PROT_READ, MAP_SHARED,
			  EINVAL, "starts in the last page and runs past it");
	expect_mmap_errno(fd, page, (off_t)1 << 30, PROT_READ, MAP_SHARED,
			  EINVAL, "starts 1 GiB in");
	close(fd);
out:
	ktap_case_end();
}

static void private_mapping_einval(const char *dev)
{
	int fd;

	if (!begin(dev, "private_mapping_einval"))
		return;
	fd = open_dev(dev);
	if (fd < 0)
		goto out;
	expect_mmap_errno(fd, page, 0, PROT_READ, MAP_PRIVATE, EINVAL,
			  "with MAP_PRIVATE, read-only");
	expect_mmap_errno(fd, page, 0, PROT_READ | PROT_WRITE, MAP_PRIVATE,
			  EINVAL, "with MAP_PRIVATE, writable");
	close(fd);
out:
	ktap_case_end();
}

static void touch_byte(volatile unsigned char *p)
{
	(void)*p;
}

static void store_byte(volatile unsigned char *p)
{
	*p ^= 0xff;
}

/*
 * A device opened read-only can still be mapped MAP_SHARED, PROT_READ:
 * the mapping shares the buffer, a store through it dies of SIGSEGV (its
 * ptes are read-only), and it can never be made writable (the core clears
 * VM_MAYWRITE and VM_SHARED, and keeps VM_MAYSHARE).
 */
static void read_only_open_maps_shared(const char *dev)
{
	char path[64];
	unsigned char *p;
	long diff;
	int fd, ro = -1, sig;

	if (!begin(dev, "read_only_open_maps_shared"))
		return;
	fd = open_dev(dev);
	if (fd < 0 || fill_from_driver(fd, 0x0dd))
		goto out;
	snprintf(path, sizeof(path), "/dev/kmemlab_remap_%s", dev);
	ro = open(path, O_RDONLY);
	KTAP_EXPECT(ro >= 0, "open %s read-only: %s", path, strerror(errno));
	if (ro < 0)
		goto out;
	p = map(ro, 3 * page, 2 * page, PROT_READ, MAP_SHARED);
	KTAP_EXPECT(p != MAP_FAILED,
		    "mmap(PROT_READ, MAP_SHARED) of a device opened O_RDONLY: expected success, got %s",
		    strerrorname_np(errno));
	if (p != MAP_FAILED) {
		diff = first_diff(p, want + 2 * page, 3 * page);
		KTAP_EXPECT(diff < 0,
			    "a read-only shared mapping at page 2 differs from the buffer at byte %ld",
			    diff);
		errno = 0;
		KTAP_EXPECT(mprotect(p, page, PROT_READ | PROT_WRITE) && errno == EACCES,
			    "mprotect(PROT_WRITE) on a mapping of a read-only file: expected EACCES, got %s",
			    errno ? strerrorname_np(errno) : "success");
		/* The ptes must be as read-only as the VMA: vma->vm_page_prot. */
		sig = child_signal(store_byte, p + page + 5);
		KTAP_EXPECT(sig == SIGSEGV,
			    "a store through the read-only mapping should die of SIGSEGV, the child got %s "
			    "(the ptes must get the VMA's protection, vma->vm_page_prot)",
			    sig > 0 ? strsignal(sig) : "no signal");
		munmap(p, 3 * page);
		KTAP_EXPECT(pread(fd, got, bufsize, 0) == (ssize_t)bufsize &&
			    first_diff(got, want, bufsize) < 0,
			    "the buffer changed through a read-only mapping (byte %ld)", first_diff(got, want, bufsize));
	}
	/* Refused by the core before .mmap runs. */
	expect_mmap_errno(ro, page, 0, PROT_READ | PROT_WRITE, MAP_SHARED, EACCES,
			  "writable and shared, of a file opened read-only");
out:
	if (ro >= 0)
		close(ro);
	if (fd >= 0)
		close(fd);
	ktap_case_end();
}

/*
 * read() and write() copy to and from user memory that is not resident:
 * pages never touched, pages dropped by MADV_DONTNEED; a bad pointer is
 * EFAULT.
 */
static void copies_reach_unresident_memory(const char *dev)
{
	size_t len = 5 * page + 123;
	unsigned char *a = MAP_FAILED;
	long diff;
	int fd;

	if (!begin(dev, "copies_reach_unresident_memory"))
		return;
	fd = open_dev(dev);
	if (fd < 0 || fill_from_driver(fd, 0xf00d))
		goto out;
	a = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	KTAP_EXPECT(a != MAP_FAILED, "mmap: %s", strerror(errno));
	if (a == MAP_FAILED)
		goto out;
	KTAP_EXPECT(pread(fd, a, len, page + 7) == (ssize_t)len,
		    "read() of %zu bytes into memory never touched: %s", len, strerror(errno));
	diff = first_diff(a, want + page + 7, len);
	KTAP_EXPECT(diff < 0, "read() into untouched memory: byte %ld differs", diff);
	madvise(a, len, MADV_DONTNEED);
	KTAP_EXPECT(pread(fd, a, len, 3) == (ssize_t)len,
		    "read() into memory dropped by MADV_DONTNEED: %s", strerror(errno));
	diff = first_diff(a, want + 3, len);
	KTAP_EXPECT(diff < 0, "read() into dropped memory: byte %ld differs", diff);
	madvise(a, len, MADV_DONTNEED);	/* reads back as zeros */
	KTAP_EXPECT(pwrite(fd, a, len, 11) == (ssize_t)len,
		    "write() from memory dropped by MADV_DONTNEED: %s", strerror(errno));
	KTAP_EXPECT(pread(fd, got, bufsize, 0) == (ssize_t)bufsize, "read(): %s",
		    strerror(errno));
	memset(want + 11, 0, len);
	diff = first_diff(got, want, bufsize);
	KTAP_EXPECT(diff < 0, "after write() of %zu zero bytes at 11, byte %ld differs",
		    len, diff);
	errno = 0;
	KTAP_EXPECT(pread(fd, NULL, page, 0) == -1 && errno == EFAULT,
		    "read() to a NULL buffer: expected EFAULT, got %s",
		    errno ? strerrorname_np(errno) : "success");
out:
	if (a != MAP_FAILED)
		munmap(a, len);
	if (fd >= 0)
		close(fd);
	ktap_case_end();
}

static void exec_refused(const char *dev)
{
	void *p;
	int fd;

	if (!begin(dev, "exec_refused"))
		return;
	fd = open_dev(dev);
	if (fd < 0)
		goto out;
	expect_mmap_errno(fd, page, 0, PROT_READ | PROT_EXEC, MAP_SHARED,
			  EPERM, "with PROT_EXEC");
	p = map(fd, page, 0, PROT_READ, MAP_SHARED);
	KTAP_EXPECT(p != MAP_FAILED, "mmap of one page: %s", strerror(errno));
	if (p != MAP_FAILED) {
		errno = 0;
		KTAP_EXPECT(mprotect(p, page, PROT_READ | PROT_EXEC) && errno == EACCES,
			    "mprotect(PROT_EXEC) on the mapping: expected EACCES, got %s",
			    errno ? strerrorname_np(errno) : "success");
		munmap(p, page);
	}
	close(fd);
out:
	ktap_case_end();
}

/*
 * Map the buffer's last page right below a PROT_NONE guard page: the
 * page itself reads back the buffer's tail, one byte past it is SIGSEGV.
 */
static void last_page_then_sigsegv(const char *dev)
{
	unsigned char *area, *p;
	long diff;
	int fd, sig;

	if (!begin(dev, "last_page_then_sigsegv"))
		return;
	fd = open_dev(dev);
	if (fd < 0 || fill_from_driver(fd, 0x5150))
		goto out;
	area = mmap(NULL, 2 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	if (area == MAP_FAILED) {
		KTAP_EXPECT(0, "reserving 2 pages: %s", strerror(errno));
		goto out;
	}
	p = mmap(area, page, PROT_READ, MAP_SHARED | MAP_FIXED, fd,
		 bufsize - page);
	KTAP_EXPECT(p != MAP_FAILED, "mmap of the buffer's last page: %s",
		    strerror(errno));
	if (p != MAP_FAILED) {
		diff = first_diff(p, want + bufsize - page, page);
		KTAP_EXPECT(diff < 0,
			    "the mapping of the last page differs from the buffer at byte %ld",
			    diff);
		sig = child_signal(touch_byte, p + page);
		KTAP_EXPECT(sig == SIGSEGV,
			    "a read one byte past the mapping should die of SIGSEGV, the child got %s",
			    sig > 0 ? strsignal(sig) : "no signal");
	}
	munmap(area, 2 * page);
out:
	if (fd >= 0)
		close(fd);
	ktap_case_end();
}

/*
 * The mapping holds its own reference to the file: it keeps working
 * after close(), while the closed descriptor itself is gone (EBADF). The
 * open file, and so the mapping, holds a reference to the module (the
 * file operations' .owner, taken by misc_open()'s fops_get()): an rmmod
 * meanwhile would free the buffer under the process's ptes.
 */
static void mapping_outlives_close(const char *dev)
{
	unsigned char *p;
	long refs;
	int fd;

	if (!begin(dev, "mapping_outlives_close"))
		return;
	refs = module_refs(MODULE);
	fd = open_dev(dev);
	if (fd < 0)
		goto out;
	KTAP_EXPECT(refs >= 0 && module_refs(MODULE) == refs + 1,
		    "an open file of the device should hold one reference to kmemlab_remap: refcnt %ld, then %ld "
		    "(the file operations need .owner = THIS_MODULE)", refs, module_refs(MODULE));
	p = map(fd, page, 0, PROT_READ | PROT_WRITE, MAP_SHARED);
	KTAP_EXPECT(p != MAP_FAILED, "mmap of one page: %s", strerror(errno));
	close(fd);
	expect_mmap_errno(fd, page, 0, PROT_READ, MAP_SHARED, EBADF,
			  "on a closed descriptor");
	if (p == MAP_FAILED)
		goto out;
	KTAP_EXPECT(module_refs(MODULE) == refs + 1,
		    "a mapping whose descriptor was closed should still hold kmemlab_remap: refcnt %ld, then %ld",
		    refs, module_refs(MODULE));
	memset(p, 0xc3, page);
	munmap(p, page);
	KTAP_EXPECT(module_refs(MODULE) == refs, "after munmap(), kmemlab_remap's refcnt should be back to %ld, not %ld",
		    refs, module_refs(MODULE));
	fd = open_dev(dev);
	if (fd < 0)
		goto out;
	memset(got, 0, page);
	KTAP_EXPECT(pread(fd, got, page, 0) == page, "read(): %s",
		    strerror(errno));
	memset(want, 0xc3, page);
	KTAP_EXPECT(first_diff(got, want, page) < 0,
		    "stores through a mapping whose descriptor was closed did not reach the driver");
	close(fd);
out:
	ktap_case_end();
}

int main(void)
{
	int fd, i;

	page = sysconf(_SC_PAGESIZE);
	ktap_begin("mmap_remap_user", NDEVICES * CASES_PER_DEVICE);

	fd = open("/dev/kmemlab_remap_contig", O_RDONLY);
	bufsize = fd >= 0 ? lseek(fd, 0, SEEK_END) : 0;
	if (fd >= 0)
		close(fd);
	if (bufsize < 4 * (size_t)page) {
		printf("    # cannot size the device buffer (%zu bytes): is kmemlab_remap loaded?\n",
		       bufsize);
		return ktap_end();
	}
	want = malloc(bufsize);
	got = malloc(bufsize);
	if (!want || !got)
		return ktap_end();

	for (i = 0; i < NDEVICES; i++) {
		driver_writes_reach_process(devices[i]);
		process_writes_reach_driver(devices[i]);
		offset_selects_page(devices[i]);
		length_rounds_up_to_page(devices[i]);
		oversized_length_einval(devices[i]);
		offset_past_end_einval(devices[i]);
		private_mapping_einval(devices[i]);
		read_only_open_maps_shared(devices[i]);
		copies_reach_unresident_memory(devices[i]);
		exec_refused(devices[i]);
		last_page_then_sigsegv(devices[i]);
		mapping_outlives_close(devices[i]);
	}
	return ktap_end();
}
