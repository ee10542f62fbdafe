#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make gdb: a lab's VM under gdb, held at its first instruction.

  gdbvm.py --lab NN [--arch x86_64|i386] [--src skel|solutions|DIR]
           [--server] [--limit SECONDS] [--gdb PROGRAM]

Builds the lab's suite and user programs and the student's module from
<src>/<lab>/ as grading does (grader/build.py in the sandbox, then the
deny list), but against the gdb kernel: the fast kernel with debug info
and the kernel's own gdb scripts (qemu-env/config/gdb.config, built the
first time it is asked for, then cached). It boots the graded run's VM
(grade.Lab.vm_env: CPU model, memory, the rubric's kernel arguments, the
edu device; plus nokaslr) with QEMU's gdb stub on a Unix socket and the
CPU held at its first instruction (QEMU -S). The VM runs the lab's usual
steps (the student's module loaded, the suites, the user programs, the
rmmods); its console goes to build/<arch>-gdb/<tree>/<lab>/gdb.log.

Then gdb starts on this terminal with a setup file that loads vmlinux and
its scripts (vmlinux-gdb.py: lx-symbols, lx-dmesg, lx-ps, ...), connects,
runs the kernel to start_kernel, arms lx-symbols (a module's symbols are
loaded the moment insmod loads it, so a breakpoint set before, e.g.
`break kmemlab_hello_greet`, stays pending and then resolves; every
section of the module placed where the kernel put it, see
grader/gdb_sections.py), maps the
sandbox's source paths back to the student's folder and kunit/, and
breaks on panic (a crash stops there, stack intact, instead of ending
the VM). On a terminal gdb runs in a process group of its own, so that
Ctrl-C stops the VM and nothing else. Leaving gdb ends the VM. When the
steps are done first, the VM powers off and gdb says the remote
connection closed.

--server: no gdb. Print three lines on stdout, "socket PATH" (the stub),
"setup PATH" (the file above, for `gdb -x PATH`; it holds the socket) and
"vm PGID" (the VM's process group), then wait for the VM to end. SIGTERM
or SIGHUP end the VM and the script. For another gdb front-end, and for
make test's batch session (tests/gdb_session.py).

--limit: end the VM after SECONDS (default 0: no limit, the VM waits for
the student as long as gdb runs).

Exit status: 0 when gdb was left with status 0 (or, with --server, the
VM ended by itself or by gdb's kill before the limit); 1 when the module
did not build or was refused (its one-line reason; nothing boots), when
gdb ended with another status, or when the limit or a signal ended the VM; 2 for a bad request (no such lab or folder, a lab
not run on that arch, more than one lab); 3 when the environment failed
(the gdb kernel, QEMU, gdb missing, no sandbox).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import grade
import shell

ROOT = grade.ROOT
FLAVOUR = 'gdb'
SOCKET_WAIT = 60	# s: QEMU (after the KVM probe) offers the stub well before


def say(text: str) -> None:
	print(f'make gdb: {text}', file=sys.stderr, flush=True)


def shown(path: Path) -> str:
	return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def setup_text(lab: grade.Lab, vm: Path, sock: Path) -> str:
	"""The gdb commands that make the session (see the docstring)."""
	kdir = lab.kdir
	source = (kdir / 'source').resolve()
	return f'''# make gdb: {lab.name}, {lab.arch}, from {lab.src} (grader/gdbvm.py; this run only)
set breakpoint pending on
# vmlinux-gdb.py beside vmlinux (a link into the kernel source) loads the
# kernel's scripts: lx-symbols, lx-dmesg, lx-ps, lx-lsmod, ...
add-auto-load-safe-path {kdir}
add-auto-load-safe-path {source}
file {kdir}/vmlinux
# lx-symbols, with every section of a module where the kernel put it.
source {ROOT / 'grader' / 'gdb_sections.py'}
# lx-symbols looks for modules in gdb's working directory: the VM's /lab.
cd {vm}
# The modules were built in the sandbox, at these paths.
set substitute-path {lab.student.mount_at} {lab.src_dir}
set substitute-path {lab.suite.mount_at} {lab.test_dir}
target remote {sock}
thbreak start_kernel
continue
lx-symbols
# A crash stops here, its stack intact (the VM would end at once).
break panic
commands
echo make gdb: the kernel is about to panic. After an oops, the line that\\n
echo make gdb: faulted: "frame function oops_end", then "list *regs->ip".\\n
end
echo \\nmake gdb: the kernel waits in start_kernel; the VM then runs {lab.name}'s steps.\\n
echo make gdb: lx-symbols loads a module's symbols when insmod loads it. Try:\\n
echo make gdb:   break {example_function(lab)}, continue, bt, lx-dmesg\\n
echo make gdb: Ctrl-C stops the VM, continue resumes it, quit ends it.\\n
'''


def example_function(lab: grade.Lab) -> str:
	"""A function the student writes: the first one the lab's interface
	header declares (kunit/NN-name/*.h), for the hint gdb prints."""
	for header in sorted(lab.test_dir.glob('*.h')):
		m = re.search(r'^(?!typedef\b)[a-z][\w \t*]*?[ \t*](\w+)\([^;]*\)\s*;', header.read_text(errors='replace'), re.M)
		if m:
			return m.group(1)
	return 'your_function'


def vm_dir(lab: grade.Lab) -> Path:
	"""What the VM gets under /lab: the modules, the programs, the steps."""
	return lab.stage('vm-gdb', lab.student.kos() + lab.suite.kos(), lab.suite.executables(), lab.steps())


def start(lab: grade.Lab, limit: int, sock: Path) -> subprocess.Popen:
	"""Stage the lab's files and steps, start the VM held at its first
	instruction with its gdb stub on sock."""
	vm = vm_dir(lab)
	initrd = lab.run_dir / 'initrd.cpio'
	lab.mkinitramfs(vm, initrd)
	env = lab.vm_env(limit)
	env['QEMU_APPEND'] = f'{env["QEMU_APPEND"]} nokaslr'.strip()
	env['QEMU_EXTRA'] = f'{env.get("QEMU_EXTRA", "")} -S -gdb unix:{sock},server=on,wait=off'.strip()
	# Host time, as in make shell: a person at the debugger waits in it.
	env['QEMU_ICOUNT'] = '0'
	return subprocess.Popen([grade.QEMU_ENV / 'run-vm.sh', lab.arch, str(lab.kdir), str(initrd),
				 str(lab.bdir / 'gdb.log')], env=env, start_new_session=True)


def wait_for_stub(lab: grade.Lab, proc: subprocess.Popen, sock: Path) -> None:
	"""Until QEMU has made the stub's socket; EnvironmentFailure if it ends
	or takes more than SOCKET_WAIT seconds."""
	end = time.monotonic() + SOCKET_WAIT
	while not sock.exists():
		if proc.poll() is not None or time.monotonic() > end:
			grade.stop(proc)
			qemu = Path(f'{lab.bdir / "gdb.log"}.qemu')
			why = qemu.read_text(errors='replace').strip()[:300] if qemu.exists() else ''
			raise grade.EnvironmentFailure(f'QEMU offered no gdb stub (exit status {proc.returncode}): {why}')
		time.sleep(0.05)


def run_gdb(command: list[str]) -> int:
	"""Run gdb on this terminal; its exit status.

	On a terminal gdb gets a process group of its own, in the foreground:
	Ctrl-C (which gdb turns into a stop of the VM) then reaches gdb alone,
	not make, which would otherwise end with "interrupted" once gdb is
	left. There is no job control inside make gdb: a Ctrl-Z that stops
	gdb is undone at once. The VM has its own session and sees neither."""
	# Without a terminal (a pipe, make test) there is no Ctrl-C to route.
	signal.signal(signal.SIGINT, lambda signum, frame: None)
	if not os.isatty(0):
		return subprocess.run(command, check=False).returncode
	ours = os.getpgrp()

	def foreground() -> None:	# in the child, before gdb starts
		os.setpgid(0, 0)
		signal.signal(signal.SIGTTOU, signal.SIG_IGN)
		os.tcsetpgrp(0, os.getpgrp())
		signal.signal(signal.SIGTTOU, signal.SIG_DFL)

	proc = subprocess.Popen(command, preexec_fn=foreground)
	try:
		while True:
			_, status = os.waitpid(proc.pid, os.WUNTRACED)
			if os.WIFSTOPPED(status):
				os.killpg(proc.pid, signal.SIGCONT)
				continue
			proc.returncode = os.waitstatus_to_exitcode(status)
			return proc.returncode
	finally:
		# The terminal back to make's group (we are in the background now).
		old = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
		try:
			os.tcsetpgrp(0, ours)
		except OSError:
			pass
		signal.signal(signal.SIGTTOU, old)


def terminate(signum, frame):
	raise SystemExit(1)


def session(lab: grade.Lab, server: bool, limit: int, gdb: str) -> int:
	"""Build, boot, debug; the exit status of main()."""
	status, why = lab.build_for_session()
	if status:
		say(why)
		return status
	signal.signal(signal.SIGTERM, terminate)
	signal.signal(signal.SIGHUP, terminate)
	lab.start_run()
	proc = None
	try:
		sock = lab.run_dir / 'gdb.sock'
		proc = start(lab, limit, sock)
		wait_for_stub(lab, proc, sock)
		setup = lab.run_dir / 'setup.gdb'
		setup.write_text(setup_text(lab, lab.bdir / 'vm-gdb', sock))
		if server:
			print(f'socket {sock}\nsetup {setup}\nvm {proc.pid}', flush=True)
			return 0 if proc.wait() == 0 else 1
		say(f'{lab.name} ({lab.arch}, gdb kernel): console in {shown(lab.bdir / "gdb.log")}')
		status = run_gdb([gdb, '-q', '-x', str(setup)])
		if status != 0:
			say(f'gdb ended with exit status {status}')
		return 0 if status == 0 else 1
	finally:
		if proc:
			grade.stop(proc)
		lab.end_run()


def main() -> int:
	ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
	ap.add_argument('--lab', required=True, help='lab number or name')
	ap.add_argument('--arch', choices=['x86_64', 'i386'], help="default: the lab's own")
	ap.add_argument('--src', default='skel', help='skel, solutions, or a directory laid out like them')
	ap.add_argument('--server', action='store_true', help='no gdb: print the socket and setup file, wait')
	ap.add_argument('--limit', type=int, default=0, help='end the VM after this many seconds (0: never)')
	ap.add_argument('--gdb', default='gdb', help='the gdb to run (default: gdb on the PATH)')
	args = ap.parse_args()

	if not args.server and not shutil.which(args.gdb):
		say(f'{args.gdb} not found: run "make deps" as root, or: apt-get install gdb')
		return 3

	def ready(kdir: Path) -> str:
		if not (kdir / 'vmlinux-gdb.py').exists():
			return f'the gdb kernel in {kdir} has no vmlinux-gdb.py (CONFIG_GDB_SCRIPTS)'
		return ''
	return shell.start(args.lab, args.arch, args.src, FLAVOUR, say,
			   lambda lab: session(lab, args.server, args.limit, args.gdb), ready)

if __name__ == '__main__':
	sys.exit(main())
