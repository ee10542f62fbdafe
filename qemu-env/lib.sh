# SPDX-License-Identifier: GPL-2.0
# Shared helpers for the qemu-env scripts: sourced, not run.

KMEMLAB_CACHE=${KMEMLAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kmemlab}
KERNEL_TARBALL=${KERNEL_TARBALL:-/usr/src/linux-source-6.12.tar.xz}

# Messages go to stderr: stdout carries the scripts' results (paths).
say() { printf 'kmemlab: %s\n' "$*" >&2; }
die() { printf 'kmemlab: error: %s\n' "$*" >&2; exit 1; }

# kernel_source - unpack KERNEL_TARBALL once and print the tree's path.
# Keyed by the tarball's name, size and mtime: cheap to compute on every
# call, and a new Debian upload of linux-source-6.12 gets a new tree.
kernel_source() {
	[ -f "$KERNEL_TARBALL" ] || die "kernel source $KERNEL_TARBALL not found: install it with 'apt-get install linux-source-6.12', or point KERNEL_TARBALL=... at a Linux 6.12 tarball"
	_id=$(stat -c '%n %s %Y' "$KERNEL_TARBALL")
	_key=$(printf '%s' "$_id" | sha256sum | cut -c1-12)
	_dir="$KMEMLAB_CACHE/src/$_key"
	if [ ! -f "$_dir/.kmemlab-source" ]; then
		say "unpacking $KERNEL_TARBALL"
		rm -rf "$_dir"
		mkdir -p "$_dir"
		tar -xf "$KERNEL_TARBALL" -C "$_dir" --strip-components=1 ||
			die "could not unpack $KERNEL_TARBALL"
		[ -f "$_dir/Makefile" ] && [ -f "$_dir/scripts/kconfig/merge_config.sh" ] ||
			die "$KERNEL_TARBALL does not look like a Linux source tree"
		grep -q '^PATCHLEVEL = 12$' "$_dir/Makefile" ||
			say "warning: $KERNEL_TARBALL is not Linux 6.12; the labs are written for 6.12"
		printf '%s\n' "$_id" >"$_dir/.kmemlab-source"
	fi
	printf '%s\n' "$_dir"
}

# check_fragments CONFIG FRAGMENT... - print every "CONFIG_X=v" or
# "# CONFIG_X is not set" that a fragment asks for and CONFIG lacks.
check_fragments() {
	_cfg=$1
	shift
	grep -h -E '^(CONFIG_[A-Za-z0-9_]+=|# CONFIG_[A-Za-z0-9_]+ is not set)' "$@" |
	while IFS= read -r _want; do
		case $_want in
		"# "*)
			_sym=${_want#\# }
			_sym=${_sym%% *}
			if grep -q "^$_sym=" "$_cfg"; then
				echo "  $_want (got $(grep "^$_sym=" "$_cfg"))"
			fi
			;;
		*)
			grep -qxF "$_want" "$_cfg" || echo "  $_want"
			;;
		esac
	done
	return 0
}

# progress START - read kbuild's output, print a line now and then.
progress() {
	_n=0
	while IFS= read -r _line; do
		_n=$((_n + 1))
		if [ $((_n % 500)) -eq 0 ]; then
			say "  ... $_n build steps, $(( $(date +%s) - $1 ))s: ${_line# }"
		fi
	done
}

# busybox_for ARCH - print the path of a static busybox that runs on ARCH.
# x86_64 uses Debian's busybox-static; i386 needs its 32-bit build, which
# qemu-env/deps.sh unpacks into the cache (it cannot be installed beside
# the 64-bit one). A prebuilt bundle (KMEMLAB_PREBUILT, see
# build-kernel.sh) brings Debian's own as busybox-ARCH/bin/busybox: that
# one goes first.
busybox_for() {
	case $1 in
	x86_64) _bb=/bin/busybox ;;
	i386) _bb="$KMEMLAB_CACHE/busybox-i386/bin/busybox" ;;
	esac
	if [ -n "${KMEMLAB_PREBUILT:-}" ] && [ -x "$KMEMLAB_PREBUILT/busybox-$1/bin/busybox" ]; then
		_bb="$KMEMLAB_PREBUILT/busybox-$1/bin/busybox"
	fi
	[ -x "$_bb" ] || die "no static busybox for $1 at $_bb: run 'make deps' (as root) to install it"
	printf '%s\n' "$_bb"
}

# file_is_static PATH - true when PATH is an ELF file with no interpreter.
file_is_static() {
	! readelf -l "$1" 2>/dev/null | grep -q 'program interpreter'
}
