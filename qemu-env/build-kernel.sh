#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# build-kernel.sh ARCH FLAVOUR - make sure the lab kernel for ARCH (x86_64,
# i386) and FLAVOUR (fast, debug, gdb, iommu) is built, and print its build
# directory. gdb is the fast kernel with debug info and the kernel's gdb
# scripts (config/gdb.config), for make gdb only: nothing builds it before
# make gdb first asks for it. iommu (x86_64 only) is the debug kernel with
# ACPI and Intel's IOMMU (config/iommu.config), for the runs a rubric names
# in its [runs] table (labs 07 and 08): built the first time one is graded.
# build-kernel.sh --config-key ARCH FLAVOUR - print the key of the config
# fragments alone (what a prebuilt kernel records, below), build nothing.
#
# The kernel is `make tinyconfig` plus the fragments in qemu-env/config/,
# merged by the tree's own scripts/kconfig/merge_config.sh and built out of
# tree. The build lives in a cache keyed by the source tarball and the
# fragments, so a second call does no kernel work at all. That directory,
# with its Module.symvers, is the KDIR every lab module is built against.
#
# With KMEMLAB_PREBUILT=DIR (a Gradescope bundle, a course's release of
# `make prebuilt`) nothing is built and no source is needed: DIR/ARCH-FLAVOUR
# is the kernel, pruned to what a module build and a boot use. It must have
# been built from these very fragments (its .kmemlab-config holds their key),
# else the script fails. Exit status: 0 with the directory on stdout, 1 with
# a message on stderr.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

config_key_only=
if [ "${1:-}" = --config-key ]; then
	config_key_only=1
	shift
fi
ARCH=${1:-x86_64}
FLAVOUR=${2:-fast}
case $ARCH in x86_64|i386) ;; *) die "unknown ARCH '$ARCH' (use x86_64 or i386)" ;; esac
case $FLAVOUR in fast|debug|gdb|iommu) ;; *) die "unknown FLAVOUR '$FLAVOUR' (use fast, debug, gdb or iommu)" ;; esac
[ "$FLAVOUR" = iommu ] && [ "$ARCH" != x86_64 ] && die "the iommu flavour is x86_64 only (QEMU's intel-iommu needs the q35 machine of qemu-system-x86_64)"

# The fragments for this arch and flavour, in merge order.
frags="$here/config/common.config $here/config/$ARCH.config"
if [ "$FLAVOUR" = debug ] || [ "$FLAVOUR" = iommu ]; then
	frags="$frags $here/config/debug.config"
	[ -f "$here/config/debug-$ARCH.config" ] && frags="$frags $here/config/debug-$ARCH.config"
fi
# The fast kernel's fragments and one more: the fast and debug keys, made
# of their own fragments only, do not change with it.
[ "$FLAVOUR" = gdb ] && frags="$frags $here/config/gdb.config"
# The debug kernel's fragments and one more, likewise.
[ "$FLAVOUR" = iommu ] && frags="$frags $here/config/iommu.config"

# Bump BUILD_REV when a change to this script changes the kernel it builds.
BUILD_REV=1
config_key=$( (cat $frags; echo "$BUILD_REV") | sha256sum | cut -c1-12)
if [ -n "$config_key_only" ]; then
	echo "$config_key"
	exit 0
fi
if [ -n "${KMEMLAB_PREBUILT:-}" ]; then
	pre="$KMEMLAB_PREBUILT/$ARCH-$FLAVOUR"
	[ -f "$pre/.kmemlab-built" ] ||
		die "KMEMLAB_PREBUILT=$KMEMLAB_PREBUILT holds no $ARCH/$FLAVOUR kernel (no $pre/.kmemlab-built)"
	[ "$(cat "$pre/.kmemlab-config" 2>/dev/null)" = "$config_key" ] ||
		die "the prebuilt $ARCH/$FLAVOUR kernel in $pre was built from other config fragments than qemu-env/config/ holds: make a new one with 'make prebuilt' or 'make autograder'"
	(cd "$pre" && pwd)
	exit 0
fi

# The cache key: the source tarball's identity and the fragments.
src=$(kernel_source)
key=$( (cat "$src/.kmemlab-source" $frags; echo "$BUILD_REV") | sha256sum | cut -c1-12)
out="$KMEMLAB_CACHE/kernel/$ARCH-$FLAVOUR-$key"
if [ -f "$out/.kmemlab-built" ]; then
	echo "$out"
	exit 0
fi

# One builder per kernel: a second caller (another terminal, make test
# beside make check) waits for the first instead of building over it.
mkdir -p "$KMEMLAB_CACHE/kernel"
exec 9>"$out.lock"
if ! flock -n 9; then
	say "waiting for another build of the $ARCH/$FLAVOUR kernel to finish"
	flock 9
	if [ -f "$out/.kmemlab-built" ]; then
		echo "$out"
		exit 0
	fi
fi

# And one kernel build on the machine at a time, whatever its key: two
# would each get half the cores and both finish late.
exec 8>"$KMEMLAB_CACHE/kernel/.one-build.lock"
if ! flock -n 8; then
	say "waiting for another kernel build to finish before building $ARCH/$FLAVOUR"
	flock 8
fi
if [ -f "$out/.kmemlab-built" ]; then
	echo "$out"
	exit 0
fi

jobs=${JOBS:-$(nproc)}
mkdir -p "$out"
log="$out/build.log"
: >"$log"
say "building the $ARCH/$FLAVOUR lab kernel in $out (a few minutes; log: $log)"

kmake() {
	make -C "$src" O="$out" ARCH="$ARCH" "$@" >>"$log" 2>&1
}

kmake tinyconfig || die "make tinyconfig failed, see $log"
# merge_config.sh -O writes into the build dir; -m merges without running
# olddefconfig itself so that we can do it once, below.
(cd "$src" && ARCH="$ARCH" ./scripts/kconfig/merge_config.sh -m -O "$out" \
	"$out/.config" $frags) >>"$log" 2>&1 || die "merge_config.sh failed, see $log"
kmake olddefconfig || die "make olddefconfig failed, see $log"

# Every value a fragment asks for must have survived the dependency
# resolution: a silently dropped KASAN would grade without it.
missing=$(check_fragments "$out/.config" $frags)
if [ -n "$missing" ]; then
	printf '%s\n' "$missing" >>"$log"
	die "the config fragments ask for options the $ARCH kernel did not take:
$missing"
fi

# Progress: one line per 500 build steps, so a long build is never silent.
# A pipeline's status is its last command's, so make's own is kept aside.
start=$(date +%s)
{ make -C "$src" O="$out" ARCH="$ARCH" -j"$jobs"; echo $? >"$out/.make-status"; } 2>&1 |
	tee -a "$log" | progress "$start"
[ "$(cat "$out/.make-status")" = 0 ] || die "the $ARCH/$FLAVOUR kernel build failed, see $log"
[ -f "$out/Module.symvers" ] && [ -f "$out/arch/x86/boot/bzImage" ] ||
	die "the kernel build left no bzImage or Module.symvers, see $log"
touch "$out/.kmemlab-built"
say "kernel ready after $(( $(date +%s) - start ))s: $out"
echo "$out"
