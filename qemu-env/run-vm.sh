#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# run-vm.sh ARCH KDIR INITRD LOG - boot the lab kernel on INITRD, serial
# console (ttyS0) to LOG, the results channel that only /init writes
# (ttyS2) to QEMU_RESULTS (default LOG.results), QEMU's own messages (the
# edu device's complaints, -d guest_errors) to LOG.qemu. Exit status: 0
# when the guest ended by itself (its /init finished, or it panicked and
# rebooted), 124 when the wall-clock limit killed it, anything else when
# QEMU itself failed.
#
# Settings from the environment: QEMU_MEM (guest RAM, 256M), QEMU_TIMEOUT
# (seconds, 60), QEMU_APPEND (extra kernel arguments), QEMU_CPU (the CPU
# model, see below), QEMU_EXTRA (extra QEMU arguments), QEMU_LAB_SOCKET
# (a Unix socket path: the guest's second serial port, on which /init's
# "receive" step takes more lab files while it runs), QEMU_RESULTS (where
# the third serial port goes), QEMU_CONSOLE (stdio: the console on this
# terminal instead, see below), QEMU_IOMMU (intel: the iommu run, below).
# QEMU_ICOUNT (0; 1: the guest's clock counts instructions, see below),
# QEMU_ICOUNT_SHIFT (auto; N: each instruction counts 2^N ns).
# No network, no host share, no root needed.
#
# QEMU_IOMMU=intel (x86_64, the iommu kernel flavour): the q35 machine
# with QEMU's emulated Intel IOMMU (VT-d) in front of every PCI device,
# edu included (its DMA goes through pci_dma_read/write, so through the
# IOMMU's translation), and ACPI on, which carries the IOMMU's DMAR
# table. intremap=off: no interrupt remapping (the kernel has none, and
# one CPU does not need it). Otherwise the default pc (i440fx) machine,
# no IOMMU, acpi=off.
#
# QEMU_CONSOLE=stdio (make shell): ttyS0 is QEMU's standard input and
# output, with a copy of what the guest prints in LOG; Ctrl-C goes to the
# guest, Ctrl-A x ends QEMU, Ctrl-A c its monitor. QEMU_TIMEOUT=0 then
# means no limit (GNU timeout's 0); the limit runs in the foreground, so
# QEMU may read the terminal.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

ARCH=$1 KDIR=$2 INITRD=$3 LOG=$4
QEMU_MEM=${QEMU_MEM:-256M}
QEMU_TIMEOUT=${QEMU_TIMEOUT:-60}
qemu=qemu-system-$ARCH
command -v "$qemu" >/dev/null || die "$qemu not found: run 'make deps' as root, or: apt-get install qemu-system-x86"
bzimage=$KDIR/arch/x86/boot/bzImage
accel=$("$here/kvm-probe.sh" "$bzimage")

# printk.devkmsg=on: user programs' KTAP goes through /dev/kmsg, unlimited.
# panic=-1 with -no-reboot: a panic ends the VM at once, QEMU exits.
# watchdog_thresh=5: a soft lockup panics after 10 s, not 20. The hung-task
# detector keeps its 120 s (CONFIG_DEFAULT_HUNG_TASK_TIMEOUT): a KUnit case
# runs while insmod sleeps uninterruptibly for it (lib/kunit/try-catch.c),
# and a case may take tens of seconds on the debug kernel.
# i8042.noaux: no PS/2 mouse probe, which held up every poweroff by 0.1 s.
append="console=ttyS0 quiet panic=-1 oops=panic printk.devkmsg=on"
append="$append watchdog_thresh=5 i8042.noaux=1"
machine=
iommu=
case ${QEMU_IOMMU:-} in
'') append="$append acpi=off" ;;
intel)
	[ "$ARCH" = x86_64 ] || die "QEMU_IOMMU=intel needs ARCH=x86_64"
	machine="-M q35"
	# Listed before edu, the device behind it.
	iommu="-device intel-iommu,intremap=off"
	# ACPI's bus scan runs long stretches without a reschedule: on a
	# busy host it tripped the 10 s soft-lockup limit at boot, before any
	# lab code ran. 20 (the kernel's default is 10): 40 s. The last
	# watchdog_thresh= on the command line wins.
	append="$append watchdog_thresh=20"
	;;
*) die "unknown QEMU_IOMMU '$QEMU_IOMMU' (use intel, or leave it empty)" ;;
esac
# Without ACPI (all but the iommu run) there is no HPET or PM timer to
# calibrate the TSC against,
# and the guest falls back to a 4 ms jiffies clock plus a 0.3 s delay-loop
# calibration. Under TCG (and KVM) the guest's TSC ticks at the host's
# rate, so tell it that rate when the host's TSC is constant.
#
# The clock (QEMU_ICOUNT=1, TCG only; a rubric's clock = "icount"): the
# guest's time counts the instructions it runs, and whenever the guest
# idles its clock skips to the next timer instead of waiting for it
# (sleep=off). A driver asleep until edu's DMA interrupt (100 ms on a timer
# of the virtual clock, hw/misc/edu.c) then waits no host time: lab 07's
# check took 20.5 s with the host's clock. QEMU_ICOUNT_SHIFT says what an
# instruction counts: N (0-10) for 2^N ns, or auto (the default), QEMU's
# adaptive mode, which every 100 ms of guest time and every second of host
# time steers the guest's clock towards the host's (softmmu/icount.c,
# icount_adjust). QEMU's manual says sleep=off does not go with auto; 7.2
# takes the pair all the same (icount_configure tests the sleep setting
# before it stores it), and then caps no skipped wait (the cap is on the
# sleep=on path), so each one leaves the guest further ahead and auto keeps
# lowering the shift, down to 1 ns an instruction: every delay the guest
# busy-waits through (udelay, polling loops) costs ever more instructions.
# The fast kernel's lab 07 check took 4.4 s with auto, 3.0 s with 6. The
# grader asks for 6 on the fast kernel only (grader/labvm.py). At 64 ns a
# busy guest's clock runs some 3 to 10 times faster than the host's, and
# the debug kernel's boot then tripped the soft-lockup limit of guest time
# (10 s, watchdog_thresh=5) while its first task still ran the initcalls:
# the report's trace was in dma_debug_init(), which takes some 1,800 pages
# without a reschedule, each checked for its poison (page_poison=1). The
# debug and iommu kernels keep auto. Counting costs TCG speed, so only
# labs that mostly wait use it. The guest's TSC counts the
# same virtual nanoseconds (QEMU's cpu_get_ticks() under icount), so it
# ticks at 1 GHz: say so, or the kernel finds it skewed and falls back to
# a jiffies clock. edu's factorial is computed in host time (a thread of
# QEMU's): the lab 07 suite keeps the CPU busy while it waits for one.
# Otherwise, and always in make shell and make gdb, the host's clock.
icount=
if [ "$accel" = tcg ] && [ "${QEMU_ICOUNT:-0}" = 1 ]; then
	shift=${QEMU_ICOUNT_SHIFT:-auto}
	case $shift in
	auto | [0-9] | 10) ;;
	*) die "QEMU_ICOUNT_SHIFT is auto or 0 to 10, not '$shift'" ;;
	esac
	icount="-icount shift=$shift,sleep=off"
	append="$append tsc_early_khz=1000000"
elif grep -q constant_tsc /proc/cpuinfo 2>/dev/null; then
	mhz=$(awk -F': *' '/^cpu MHz/ { print int($2 * 1000); exit }' /proc/cpuinfo)
	[ -n "$mhz" ] && append="$append tsc_early_khz=$mhz"
fi
[ -n "${QEMU_APPEND:-}" ] && append="$append $QEMU_APPEND"

# A CPU that protects like a 2020s x86: SMEP and SMAP (the kernel faults on
# executing or touching user memory outside the uaccess helpers), UMIP, and
# on x86_64 LA57, five-level paging (the lab kernel has X86_5LEVEL, so it
# runs with a live p4d level). QEMU's TCG emulates all four; the default
# models (qemu64, qemu32) have none. QEMU_CPU overrides the model.
case $ARCH in
x86_64) cpu=${QEMU_CPU:-qemu64,+smep,+smap,+umip,+la57} ;;
*) cpu=${QEMU_CPU:-qemu32,+smep,+smap,+umip} ;;
esac
# The ports keep their names whatever is used: ttyS0 console, ttyS1 lab
# files (or nothing), ttyS2 results.
labport="-serial null"
if [ -n "${QEMU_LAB_SOCKET:-}" ]; then
	labport="-chardev socket,id=lab,path=$QEMU_LAB_SOCKET,server=on,wait=off -serial chardev:lab"
fi
results=${QEMU_RESULTS:-$LOG.results}

rm -f "$LOG" "$LOG.qemu" "$results"
# One command line for both ways; only the console differs.
# shellcheck disable=SC2086 # machine, labport, iommu, icount, QEMU_EXTRA: lists of arguments
set -- $machine -accel "$accel" -cpu "$cpu" -m "$QEMU_MEM" -smp 1 \
	-nodefaults -no-user-config -display none -nic none -no-reboot \
	-kernel "$bzimage" -initrd "$INITRD" -append "$append"
if [ "${QEMU_CONSOLE:-}" = stdio ]; then
	set -- "$@" -chardev "stdio,id=console,mux=on,signal=off,logfile=$LOG" -mon chardev=console \
		-serial chardev:console
else
	set -- "$@" -serial "file:$LOG"
fi
# shellcheck disable=SC2086
set -- "$@" $labport -serial "file:$results" $iommu $icount -device edu -d guest_errors -D "$LOG.qemu" \
	${QEMU_EXTRA:-}
rc=0
if [ "${QEMU_CONSOLE:-}" = stdio ]; then
	# The limit in the foreground: QEMU may read the terminal.
	timeout --foreground -k 5 "$QEMU_TIMEOUT" "$qemu" "$@" 2>>"$LOG.qemu" || rc=$?
	exit "$rc"
fi
# --foreground here too: without it timeout moves itself and QEMU to a
# process group of their own, which the grader's stop (labvm.stop: a kill
# of this script's group) does not reach, and a VM the grader gave up on
# (a module that did not build, a time-out, Ctrl-C) ran on until this
# limit, a core busy all along.
timeout --foreground -k 5 "$QEMU_TIMEOUT" "$qemu" "$@" >>"$LOG.qemu" 2>&1 || rc=$?
exit "$rc"
