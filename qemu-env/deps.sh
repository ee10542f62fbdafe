#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# deps.sh [ARCH...] [gdb] - make sure this Debian 12 machine has what
# kmemlab needs, and gdb too when the list holds "gdb" (make gdb, make
# test). As root, installs what is missing with apt-get; otherwise prints
# the one apt-get line to run and fails. For i386 it also unpacks Debian's
# 32-bit static busybox into the cache (it cannot be installed beside the
# 64-bit one, and the 32-bit guest cannot run a 64-bit binary).
# With KMEMLAB_PREBUILT (prebuilt lab kernels, see build-kernel.sh) the
# kernel source and the packages only a kernel build needs are not asked
# for, nor a busybox the prebuilt directory brings.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

arches=${*:-x86_64}
missing=""
need() {	# need PACKAGE PATH-OR-COMMAND
	case $2 in
	/*) [ -e "$2" ] ;;
	*) command -v "$2" >/dev/null 2>&1 ;;
	esac || missing="$missing $1"
}
# prebuilt_busybox ARCH - true when KMEMLAB_PREBUILT brings ARCH's busybox.
prebuilt_busybox() {
	[ -n "${KMEMLAB_PREBUILT:-}" ] && [ -x "$KMEMLAB_PREBUILT/busybox-$1/bin/busybox" ]
}
need make make
need gcc gcc
need libc6-dev /usr/include/stdio.h
if [ -z "${KMEMLAB_PREBUILT:-}" ]; then
	need bc bc
	need bison bison
	need flex flex
	need libelf-dev /usr/include/gelf.h
	need libssl-dev /usr/include/openssl/ssl.h
	need xz-utils xz
	need lz4 lz4
	if [ "$KERNEL_TARBALL" = /usr/src/linux-source-6.12.tar.xz ]; then
		need linux-source-6.12 "$KERNEL_TARBALL"
	fi
fi
need python3 python3
need bubblewrap bwrap
need sparse sparse
need qemu-system-x86 qemu-system-x86_64
case " $arches " in *" i386 "*) need gcc-multilib /usr/lib32/libc.a ;; esac
case " $arches " in *" gdb "*) need gdb gdb ;; esac
if ! prebuilt_busybox x86_64; then
	need busybox-static /bin/busybox
	# A dynamically linked busybox (Debian's "busybox" package) cannot be
	# the guest's /init: it needs the static build.
	if [ -e /bin/busybox ] && ! file_is_static /bin/busybox; then
		missing="$missing busybox-static"
	fi
fi

if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		die "missing packages; run as root: apt-get install -y$missing"
	fi
	say "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	# A half-synced mirror can fail one index and still serve the rest:
	# the install below decides.
	apt-get update -q >/dev/null 2>&1 || say "warning: apt-get update reported errors"
	# shellcheck disable=SC2086 # a list of package names
	apt-get install -y -q --no-install-recommends $missing >/dev/null ||
		die "apt-get install$missing failed"
fi

case " $arches " in *" i386 "*)
	bb="$KMEMLAB_CACHE/busybox-i386/bin/busybox"
	if [ ! -x "$bb" ] && ! prebuilt_busybox i386; then
		if ! dpkg --print-foreign-architectures | grep -qx i386; then
			[ "$(id -u)" -eq 0 ] || die "the i386 guest needs Debian's 32-bit busybox; run as root: dpkg --add-architecture i386 && apt-get update"
			say "enabling the i386 package architecture (for busybox-static:i386)"
			dpkg --add-architecture i386
		fi
		# A mirror that is half-synced fails update for one index while
		# the one we need is fine: only the download below decides.
		apt-cache show busybox-static:i386 >/dev/null 2>&1 ||
			apt-get update -q >/dev/null 2>&1 || say "warning: apt-get update reported errors"

		tmp=$(mktemp -d)
		(cd "$tmp" && apt-get download -q busybox-static:i386 >/dev/null 2>&1) ||
			die "could not download busybox-static:i386 (apt-get update first?)"
		mkdir -p "$KMEMLAB_CACHE/busybox-i386"
		dpkg-deb -x "$tmp"/busybox-static_*_i386.deb "$KMEMLAB_CACHE/busybox-i386"
		rm -rf "$tmp"
		[ -x "$bb" ] || die "busybox-static:i386 did not contain bin/busybox"
	fi
	;;
esac
exit 0
