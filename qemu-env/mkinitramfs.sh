#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# mkinitramfs.sh ARCH KDIR LABDIR OUT - write the VM's initramfs to OUT:
# a cached base archive (busybox and /init) followed by a small archive of
# LABDIR's files under /lab. The kernel unpacks concatenated cpio archives
# in order, so only the lab part is made anew for each run. Both are written
# by the kernel's own usr/gen_init_cpio: no root, no cpio tool needed.
# The grader appends the run's secret (/secret) as a third archive and
# writes the receive step's archive of the student's modules itself, with
# the same gen_init_cpio (grader/labvm.py, LabVM.mkinitramfs, late_archive).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

ARCH=$1 KDIR=$2 LABDIR=$(cd "$3" && pwd) OUT=$4
gen=$KDIR/usr/gen_init_cpio
[ -x "$gen" ] || die "$gen is missing: the lab kernel build in $KDIR is incomplete"
# The lab's part: every file of LABDIR, keeping its sub-directories.
spec=$(cd "$LABDIR" && find . -mindepth 1 | sort | while read -r f; do
	f=${f#./}
	if [ -d "$LABDIR/$f" ]; then
		echo "dir /lab/$f 755 0 0"
	else
		echo "file /lab/$f $LABDIR/$f 755 0 0"
	fi
done)

# The base: busybox and /init, made once per their content.
busybox=$(busybox_for "$ARCH")

key=$(cat "$busybox" "$here/init.sh" "$0" | sha256sum | cut -c1-12)
base="$KMEMLAB_CACHE/initramfs/base-$ARCH-$key.cpio"
if [ ! -f "$base" ]; then
	mkdir -p "$(dirname "$base")"
	# Written aside and renamed: graders running side by side may
	# make it at the same time.
	"$gen" - >"$base.tmp$$" <<-SPEC
	dir /dev 755 0 0
	nod /dev/console 600 0 0 c 5 1
	dir /bin 755 0 0
	dir /proc 755 0 0
	dir /sys 755 0 0
	dir /tmp 1777 0 0
	dir /lab 755 0 0
	file /bin/busybox $busybox 755 0 0
	file /init $here/init.sh 755 0 0
	SPEC
	mv "$base.tmp$$" "$base"
fi

# Then the lab's part.
printf '%s\n' "$spec" | "$gen" - >"$OUT.lab"
cat "$base" "$OUT.lab" >"$OUT"
rm -f "$OUT.lab"
