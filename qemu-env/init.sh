#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the lab VM. Runs the steps in /lab/steps one by one and frames
# each with a marker in the kernel log, so the grader can tell which step
# was running when something went wrong. Everything, including the output
# of user programs, goes through /dev/kmsg: one stream, one clock, in order.
#
# The results themselves travel apart, on the third serial port (ttyS2),
# which only this script writes: each step's begin, end and exit status,
# its output, the KTAP of every KUnit suite it loaded (read from KUnit's
# debugfs, which a module's printk does not write) and, last, "all steps
# done". Every line starts with the run's secret, chosen by the grader and
# put in /secret, which is read and removed before any lab module loads.
# The grader trusts only this channel for results; the console gives the
# timing and the kernel's reports.

/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t debugfs debugfs /sys/kernel/debug
mkdir -p /tmp
# A pipeline's status is that of its last command that failed, not 0
# when its last command succeeded: logged's tokmsg returns 0, so the
# program's status comes through.
set -o pipefail

# KUnit prints at KERN_INFO: let it through to the serial console.
echo 7 >/proc/sys/kernel/printk

# Fault injection (lib/fault-inject.c, mm/failslab.c, mm/fail_page_alloc.c):
# nothing fails until a test sets /proc/self/fail-nth or current->fail_nth;
# then the n-th allocation fails whatever its kind. The defaults would skip
# GFP_KERNEL (may sleep), highmem and order-0 page allocations.
fi=/sys/kernel/debug
if [ -d $fi/failslab ]; then
	echo N >$fi/failslab/ignore-gfp-wait
	echo N >$fi/fail_page_alloc/ignore-gfp-wait
	echo N >$fi/fail_page_alloc/ignore-gfp-highmem
	echo 0 >$fi/fail_page_alloc/min-order
	for f in failslab fail_page_alloc fail_usercopy; do
		[ -d $fi/$f ] && echo 1 >$fi/$f/verbose
	done
fi
# The DMA-API checker reports every error, not only its first
# (kernel/dma/debug.c): each test that misuses the API is charged.
[ -e $fi/dma-api/all_errors ] && echo 1 >$fi/dma-api/all_errors

secret=
[ -r /secret ] && read -r secret </secret && rm -f /secret
exec 4>/dev/ttyS2

# put LINE - send a line on the results channel.
put() { printf '%s %s\n' "$secret" "$*" >&4; }

# Lines written to /dev/kmsg go at warning level ("<4>", the level they
# would get by default): a program may raise the default level for a while
# (kunit/include/lab_user.h, fault_log_begin()), and a line that itself
# begins with "<N>" keeps it as text.
log() { printf '<4>kmemlab: %s\n' "$*" >/dev/kmsg; }

# tokmsg - send stdin, a line at a time, on the results channel as output
# of step $n, then to the kernel log (the channel first: a line on the
# console is always one the channel already holds).
# Its own status is 0: a line the log refuses does not change a step's.
tokmsg() {
	while IFS= read -r l; do
		put "O $n $l"
		printf '<4>%s\n' "$l" >/dev/kmsg
	done
	return 0
}

# logged CMD... - run CMD with its output in the kernel log, each line as
# it comes (a user program's result line is there before its next test
# begins, kunit/include/ktap_user.h); $rc is its status.
logged() {
	"$@" </dev/null 2>&1 | tokmsg
	rc=$?
}

# ran CMD... - the same for a command whose output need not come as it is
# written (insmod, rmmod and /init's own functions print a line or two,
# when they end): it is sent when CMD ends, without a pipeline and the
# shells it forks (about 2 ms a step under TCG).
ran() {
	"$@" </dev/null >/tmp/out 2>&1
	rc=$?
	tokmsg </tmp/out
}

# uptime_cs - seconds since boot, in hundredths.
uptime_cs() { read -r up _ </proc/uptime; echo "${up%.*}${up#*.}"; }

# kmemleak reports an object only when it is older than five seconds and
# its contents did not change between two scans. The steps before this one
# made the last allocations, so: one scan now (it also takes time), wait
# until five seconds have passed since this step began, scan again.
leakcheck() {
	[ -e /sys/kernel/debug/kmemleak ] || { echo "kmemlab: leakcheck: no kmemleak in this kernel"; return 0; }
	start=$(uptime_cs)
	echo scan >/sys/kernel/debug/kmemleak
	wait=$(( start + 520 - $(uptime_cs) ))
	[ "$wait" -gt 0 ] && sleep "$((wait / 100)).$(printf %02d $((wait % 100)))"
	echo scan >/sys/kernel/debug/kmemleak
	cat /sys/kernel/debug/kmemleak
}

# receive - take a cpio archive of more lab files from the second serial
# port: the grader boots the VM while the student's module still builds,
# and sends it when ready. Protocol: we say "R", it sends "<size>\n" and
# the archive, gzip-compressed. The port stays open throughout: reopening
# it clears its FIFO.
# Speed: the 16550A interrupts when its receive FIFO holds rx_trig_bytes
# (8 by default, drivers/tty/serial/8250/8250_port.c); 14, the most it
# takes, moved lab 00's 8 KiB in 0.09 s instead of 0.33 s here, and
# gzip makes a module a third to a fifth of its size. Set before "R":
# setting it clears the FIFO.
receive() {
	# A module built before the boot came in the initramfs (grader/labvm.py).
	[ -d /lab/.in-initramfs ] && { echo "receive: the module is in the initramfs (built before the boot)"; return 0; }
	exec 3<>/dev/ttyS1 && stty -F /dev/ttyS1 raw -echo || return 1
	echo 14 2>/dev/null >/sys/class/tty/ttyS1/rx_trig_bytes
	echo R >&3
	read -r size <&3
	# gunzip fails a short or damaged archive (its length and CRC-32).
	( set -o pipefail; head -c "$size" <&3 | gunzip -c | (cd / && cpio -idmu 2>&1) ) ||
		{ echo "receive: the archive did not arrive whole"; return 1; }
	exec 3<&-
}

# shell [COLS ROWS] [TITLE] - an interactive shell on the console (make
# shell): a one-line banner (TITLE, the modules loaded, how to leave), then
# busybox sh in /lab with /lab/bin on the PATH and the console as its
# controlling terminal, so Ctrl-C reaches what it runs. COLS and ROWS are
# the size of the terminal at the other end (0 0: unknown). Kernel
# messages below warnings then go to dmesg only (console loglevel 5: a
# suite loaded by hand does not flood the prompt; an oops still shows).
# Its rc is the shell's exit status.
shell() {
	cols=${1:-0} rows=${2:-0}
	[ $# -ge 2 ] && shift 2
	loaded=$(while read -r m _; do printf '%s ' "$m"; done </proc/modules)
	loaded=${loaded% }
	echo 5 >/proc/sys/kernel/printk
	[ "$cols" -gt 0 ] && [ "$rows" -gt 0 ] && stty -F /dev/console cols "$cols" rows "$rows"
	printf '\nkmemlab shell%s: loaded: %s; the suites are in /lab (not loaded), the programs on the PATH; dmesg shows the kernel log; exit or Ctrl-D powers the VM off.\n' \
		"${*:+ ($*)}" "${loaded:-nothing}" >/dev/console
	(cd /lab && PATH=/bin:/lab/bin HOME=/lab PS1='kmemlab:$PWD# ' setsid cttyhack sh) \
		</dev/console >/dev/console 2>&1
	rc=$?
}

# filter GLOB - KUnit's test filter (the kunit.filter_glob parameter) from
# now on: KUnit applies it to each suite module as it loads
# (kunit_module_init) and ktap_user.h's programs read it back. A VM that
# goes on after a crash runs one test at a time with it (grader/boots.py).
filter() { printf '%s' "$1" >/sys/module/kunit/parameters/filter_glob; }

# KUnit keeps each suite's results in debugfs while its module is loaded
# (lib/kunit/debugfs.c). suites: the names of the suites there now.
suites() {
	names=" "
	for d in /sys/kernel/debug/kunit/*/results; do
		[ -e "$d" ] || continue
		d=${d%/results}
		names="$names${d##*/} "
	done
}

# send_new_suites BEFORE - send the results of every suite that is there
# now and was not in BEFORE (the ones this step's insmod ran).
send_new_suites() {
	suites
	for s in $names; do
		case $1 in *" $s "*) continue ;; esac
		f=/sys/kernel/debug/kunit/$s/results
		case $s in
		*[!A-Za-z0-9_.-]*)	# a name sed could take for a command
			while IFS= read -r l; do put "K $n $s $l"; done <"$f" ;;
		*)	# one sed, not a read per byte
			sed "s/^/$secret K $n $s /" "$f" >&4 ;;
		esac
	done
}

# stuck - in the background: when the grader's time for the lab is
# nearly up it writes "S" on the lab port (ttyS1, grader/labvm.py); then
# log the kernel stack (/proc/PID/stack, fs/proc/base.c: root only) of
# every task the lab may be waiting for: the user processes but /init's
# own shells, KUnit's case threads ("kunit_try_catch") and every task in
# uninterruptible sleep. A hang that no detector reports (an
# interruptible wait nobody ends, a loop that sleeps) then says where it
# waited. Each task: "kmemlab: stuck: COMM (pid N, STATE)", "Call Trace:"
# and its frames, as a kernel report's (grader/vmlog.py reads them). It
# starts with the first step after "receive", which reads the same port.
stuck() {
	exec </dev/ttyS1 || return
	read -r ask || return
	[ "$ask" = S ] || return
	for d in /proc/[0-9]*; do
		read -r stat <"$d/stat" 2>/dev/null || continue
		comm=${stat#*(} comm=${comm%)*} rest=${stat##*) }
		set -- $rest	# state ppid pgrp session tty tpgid flags ...
		state=$1 flags=$7
		[ "$comm" = init ] && continue
		if [ $((flags & 0x200000)) -ne 0 ]; then	# PF_KTHREAD
			case $state$comm in D*|?kunit_try_catch*) ;; *) continue ;; esac
		fi
		case $state in
		S) state="sleeping, interruptible" ;;
		D) state="sleeping, uninterruptible" ;;
		R) state=running ;;
		esac
		log "stuck: $comm (pid ${d#/proc/}, $state)"
		printf '<4>Call Trace:\n' >/dev/kmsg
		while read -r frame; do
			printf '<4> %s\n' "${frame#\[<*>\] }" >/dev/kmsg
		done <"$d/stack"
	done
	log "stuck: end"
}
watching=

n=0
while read -r verb args; do
	case $verb in ""|"#"*) continue ;; esac
	case $watching$verb in
	receive | shell | 1*) ;;
	*) stuck & watching=1 ;;
	esac
	n=$((n + 1))
	put "B $n $verb $args"
	log "step $n begin: $verb $args"
	rc=0
	case $verb in
	insmod)
		set -- $args
		mod=$1
		shift
		suites
		before=$names
		ran insmod "/lab/$mod" "$@"
		send_new_suites "$before"
		;;
	rmmod)	ran rmmod $args ;;
	# KTAP_KMSG: kunit/include/ktap_user.h waits for each result line to
	# reach the kernel log before the next case (ktap_sync()).
	# The program may have left the levels raised (a fault loop cut short):
	# kernel/printk's default message level back to warning.
	run)	KTAP_KMSG=1 logged /lab/bin/$args
		echo 7 4 >/proc/sys/kernel/printk ;;
	sh)	logged sh -c "$args" ;;
	filter)	ran filter "$args" ;;
	leakcheck) ran leakcheck ;;
	receive) ran receive ;;
	shell)	shell $args ;;
	*)	log "unknown step '$verb'"; rc=127 ;;
	esac
	put "E $n $rc"
	log "step $n end: rc=$rc"
done </lab/steps
put D
# Closing the port waits until it has sent everything (the tty's
# closing_wait): the end signal is out before the console says so.
exec 4>&-
log "all steps done"
reboot -f
