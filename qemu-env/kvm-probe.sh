#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# kvm-probe.sh BZIMAGE - print "kvm" if KVM really runs our kernel here,
# else "tcg".
#
# /dev/kvm can exist on a host whose KVM cannot run a guest to the end
# (nested virtualisation without VMX: the firmware starts, then the guest
# hangs waiting for its first timer interrupts). So the probe is a real
# boot of the lab kernel with no initramfs: it must reach its "no root"
# panic, and with panic=-1 and -no-reboot QEMU then exits by itself. A
# working KVM does that in about a second; if it has not within a few
# seconds we use TCG. The answer is kept for the host's current boot.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

bzimage=$1
if [ -n "${KMEMLAB_ACCEL:-}" ]; then
	echo "$KMEMLAB_ACCEL"
	exit 0
fi
if [ ! -w /dev/kvm ]; then
	echo tcg
	exit 0
fi
boot=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)
cached="$KMEMLAB_CACHE/kvm-probe-$boot"
if [ -f "$cached" ]; then
	cat "$cached"
	exit 0
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
answer=tcg
if timeout -k 1 "${KVM_PROBE_SECONDS:-4}" qemu-system-x86_64 -accel kvm -m 128 \
	-nodefaults -no-user-config -display none -no-reboot -kernel "$bzimage" \
	-append "console=ttyS0 panic=-1 root=/dev/nonexistent" \
	-serial "file:$log" >/dev/null 2>&1 && grep -q 'Kernel panic' "$log"; then
	answer=kvm
fi
mkdir -p "$KMEMLAB_CACHE"
echo "$answer" >"$cached.$$"
mv "$cached.$$" "$cached"	# whole: probes may run side by side
echo "$answer"
