#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make shell: a shell in a lab's VM, on this terminal.

  shell.py --lab NN [--arch x86_64|i386] [--flavour fast|debug]
           [--src skel|solutions|DIR] [--no-load]

Builds the lab's suite and user programs and the student's module from
<src>/<lab>/ as grading does (grader/build.py in the sandbox, then the
deny list), boots the VM the graded run boots (same kernel, CPU model,
memory, the rubric's kernel arguments, the edu device: grade.Lab.vm_env),
loads the student's module(s) with insmod (not with --no-load) and opens
busybox sh on the console (/init's "shell" step): the suites' .ko files in
/lab, not loaded; the user programs in /lab/bin, on the PATH. Leaving the
shell (exit, Ctrl-D) powers the VM off. Ctrl-A x ends QEMU at once.

There is no time limit: the session lasts as long as the student wants it
(an idle guest costs next to no CPU). What the console showed is kept in
build/<arch>-<flavour>/<tree>/<lab>/shell.log.

With no terminal on stdin (`printf 'cat /proc/iomem\nexit\n' | make
shell LAB=09`, a script), what comes on stdin is passed on only once the
shell has printed its first prompt: the guest's serial port drops what
arrives before its console is open, and the shell's line editing drops
a Ctrl-D typed before it starts. At the end of stdin the shell gets a
Ctrl-D (it leaves, the VM powers off), and the session has a limit of
PIPED_LIMIT seconds, so a script never waits forever.

Exit status: 0 when the shell was left and the VM powered off; 1 when the
module did not build or was refused (its one-line reason; nothing boots),
or when the VM stopped before the shell was left (a kernel crash: the
line that says so); 2 for a bad request (no such lab or folder, a lab not
run on that arch, more than one lab); 3 when the environment failed
(kernel, QEMU, no sandbox).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import grade
import sandbox
import vmlog

ROOT = grade.ROOT


# Seconds a session with no terminal on stdin may last (a script).
PIPED_LIMIT = 600
# The shell's first prompt (qemu-env/init.sh, shell(): PS1 in /lab).
PROMPT = b'kmemlab:/lab# '


def say(text: str) -> None:
	print(f'make shell: {text}', file=sys.stderr)


def read(path: Path) -> str:
	return path.read_text(errors='replace') if path.exists() else ''


def terminal_size() -> tuple[int, int]:
	"""(columns, rows) of the terminal on stdin, or (0, 0) when it is none."""
	try:
		if os.isatty(0):
			size = os.get_terminal_size(0)
			return size.columns, size.lines
	except OSError:
		pass
	return 0, 0


def insmod_line(lab: grade.Lab, module: str) -> str:
	"""The graded run's first insmod of module, with its parameters (lab
	09's driver needs the reserved range memmap= set aside), else a bare
	insmod."""
	for line in lab.steps().splitlines():
		words = line.split()
		if words[:2] == ['insmod', f'{module}.ko']:
			return line.strip()
	return f'insmod {module}.ko'


def shell_steps(lab: grade.Lab, load: bool) -> str:
	"""/lab/steps: insmod of each student module, then the shell."""
	cols, rows = terminal_size()
	title = f'{lab.name}, {lab.arch}, {lab.flavour} kernel'
	plan = [insmod_line(lab, m) for m in lab.student.modules] if load else []
	return '\n'.join(plan + [f'shell {cols} {rows} {title}']) + '\n'


def run_shell(lab: grade.Lab, load: bool) -> int:
	"""Build, boot, hand the terminal over; the exit status of main()."""
	status, why = lab.build_for_session()
	if status:
		say(why)
		return status
	vm = lab.stage('vm-shell', lab.student.kos() + lab.suite.kos(), lab.suite.executables(),
		       shell_steps(lab, load))
	log = lab.bdir / 'shell.log'
	lab.start_run()
	try:
		initrd = lab.run_dir / 'initrd.cpio'
		lab.mkinitramfs(vm, initrd)
		# The host's clock, whatever the rubric's: "sleep 1" at the
		# prompt takes a second (qemu-env/run-vm.sh, QEMU_ICOUNT).
		piped = not os.isatty(0)
		log.unlink(missing_ok=True)	# feed() waits for this session's prompt in it
		env = dict(lab.vm_env(PIPED_LIMIT if piped else 0), QEMU_CONSOLE='stdio', QEMU_ICOUNT='0')
		proc = subprocess.Popen([grade.QEMU_ENV / 'run-vm.sh', lab.arch, str(lab.kdir), str(initrd), str(log)],
					env=env, stdin=subprocess.PIPE if piped else None)
		if piped:
			threading.Thread(target=feed, args=(proc, log), daemon=True).start()
		try:
			status = proc.wait()
		except KeyboardInterrupt:
			status = 130
			proc.wait()
		channel = vmlog.read_channel(read(lab.run_dir / 'results.log'), lab.secret)
	finally:
		lab.end_run()
	serial = read(log)
	if status == 0 and channel.done:
		return 0
	if status not in (0, 130) and not serial:
		qemu = read(Path(f'{log}.qemu')).strip()
		say(f'QEMU failed to start (exit status {status}): {qemu[:300]}')
		return 3
	reports = vmlog.find_reports(vmlog.split_timestamps(serial)[0])
	first = next((r for r in reports if r.kind != 'panic'), None) or next(iter(reports), None)
	if any(r.kind == 'panic' for r in reports):
		why = f'the kernel crashed: {first.text}'
	else:
		why = f'QEMU ended (exit status {status}, Ctrl-A x?)'
	say(f'the VM stopped before the shell was left: {why} (console: {log.relative_to(ROOT)})')
	return 1


def feed(proc: subprocess.Popen, log: Path) -> None:
	"""Pass stdin (no terminal) on to QEMU once the guest's shell has
	printed its first prompt on the console (log, the console's copy),
	then a Ctrl-D at its end. Returns when stdin ends or QEMU is gone."""
	while proc.poll() is None and PROMPT not in (log.read_bytes() if log.exists() else b''):
		time.sleep(0.05)
	try:
		while proc.poll() is None:
			data = os.read(0, 4096)
			proc.stdin.write(data or b'\x04')
			proc.stdin.flush()
			if not data:
				break
		proc.stdin.close()
	except OSError:	# QEMU ended: nobody reads any more
		pass


def main() -> int:
	ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
	ap.add_argument('--lab', required=True, help='lab number or name')
	ap.add_argument('--arch', choices=['x86_64', 'i386'], help="default: the lab's own")
	ap.add_argument('--flavour', default='fast', choices=['fast', 'debug'])
	ap.add_argument('--src', default='skel', help='skel, solutions, or a directory laid out like them')
	ap.add_argument('--no-load', action='store_true', help="do not insmod the student's module")
	args = ap.parse_args()

	return start(args.lab, args.arch, args.src, args.flavour, say,
		     lambda lab: run_shell(lab, not args.no_load))


def start(lab_arg: str, arch: str | None, src: str, flavour: str, say, go, ready=None) -> int:
	"""What make shell and make gdb (grader/gdbvm.py) do before their VM:
	pick the lab (exit status 2 and one line for one that does not
	exist), check the sandbox and the lab kernel (3 and one line when
	missing; ready(kdir) may name what the kernel lacks), then return
	go(lab)'s exit status, 3 with one line if the VM tools fail."""
	picked = grade.one_lab(lab_arg, arch, src)
	if isinstance(picked, str):
		say(picked)
		return 2
	lab_dir, _, arch = picked
	why = sandbox.probe()
	if why:
		say(why)
		return 3
	try:
		kdir = grade.kernel_dir(arch, flavour)
		why = ready(kdir) if ready else ''
		if why:
			say(why)
			return 3
		return go(grade.Lab(lab_dir, src, arch, flavour, kdir))
	except grade.EnvironmentFailure as e:
		say(str(e))
		return 3
	except (subprocess.CalledProcessError, OSError) as e:
		say(f'the VM tools failed: {e}')
		return 3

if __name__ == '__main__':
	sys.exit(main())
