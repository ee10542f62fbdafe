#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# setup.sh - prepare the image of a kmemlab Gradescope autograder (the zip
# `make autograder LAB=NN` writes). Gradescope runs it once, as root, when
# it builds the image, with the zip unpacked in /autograder/source.
#
# 1. Installs with apt-get what grading needs beside the bundle (it has the
#    lab kernel, busybox and the grader): make, gcc-12 (made the `gcc` of
#    /usr/local/bin: the lab kernel was built by Debian 12's gcc 12),
#    libc6-dev, binutils, bubblewrap (the build sandbox), sparse,
#    qemu-system-x86, python3 (and python3.11 when python3 is older: the
#    grader needs 3.11), gcc-12-multilib for a lab graded on i386, libelf1
#    when missing (the bundled objtool links it). Ubuntu 22.04 and 24.04
#    have all of these under these names.
# 2. Makes the bundle's programs executable again (file `executables`: an
#    unzip may drop the modes), then `run_autograder --prepare`: checks that
#    the bundled kernel is found and its host programs run here, tries the
#    sandbox, and builds the lab's suite once so that each submission only
#    builds its own module.
#
# Environment: KMEMLAB_AUTOGRADER_ROOT (default /autograder) relocates the
# tree; KMEMLAB_SKIP_APT=1 skips step 1 and every change outside that tree
# (for tests on a machine that has the packages).
# Exit status: 0 ready (a sandbox that does not work here is a warning:
# the image may run with other rights than it was built with); non-zero
# when a package, the kernel or the suite failed, with the reason above.
set -eu

AG=${KMEMLAB_AUTOGRADER_ROOT:-/autograder}
SRC=$AG/source
. "$SRC/bundle.env"

if [ "${KMEMLAB_SKIP_APT:-}" != 1 ]; then
	pkgs="make gcc-12 libc6-dev binutils bubblewrap sparse qemu-system-x86 python3 ca-certificates"
	[ "$ARCH" = i386 ] && pkgs="$pkgs gcc-12-multilib"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086 # a list of package names
	apt-get install -y -q --no-install-recommends $pkgs
	if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
		apt-get install -y -q --no-install-recommends python3.11
	fi
	if ! ldconfig -p | grep -q 'libelf\.so\.1 '; then
		apt-get install -y -q --no-install-recommends libelf1
	fi
	# The kernel's Makefile calls `gcc`: let that be gcc 12, as the
	# kernel's own compiler was (a newer or older major version could
	# disagree with the kernel's config about the flags it supports).
	ln -sf "$(command -v gcc-12)" /usr/local/bin/gcc
fi

while IFS= read -r f; do
	[ -n "$f" ] && chmod +x "$SRC/$f"
done <"$SRC/executables"
exec "$SRC/run_autograder" --prepare
