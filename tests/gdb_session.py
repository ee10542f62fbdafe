# SPDX-License-Identifier: GPL-2.0
"""make test: make gdb on lab 00's solution, x86_64, driven without a terminal.

0. The gdb kernel (qemu-env/build-kernel.sh x86_64 gdb) is there, or is
   built now (once, minutes; cached like the others).
1. Batch session: grader/gdbvm.py --server starts the VM held at its first
   instruction and prints its stub's socket and setup file; gdb -batch -nx
   runs that setup (vmlinux, the kernel's scripts, start_kernel,
   lx-symbols), sets pending breakpoints in kmemlab_hello_init (an __init
   function, in .init.text) and kmemlab_hello_greet, continues and must
   stop in the first when insmod runs it, then in the second when the
   suite calls it. Checked against the sources themselves: the init stop
   is at a line inside kmemlab_hello_init; lx-symbols loaded
   kmemlab_hello.ko; frame #0 is kmemlab_hello_greet at a line of the
   student's kmemlab_hello.c inside that function, and gdb printed that
   line's text (the sandbox path mapped back to solutions/); frame #1 is a
   line of the suite's kmemlab_hello_test.c that calls it; lx-dmesg shows
   /init's marker for the insmod; gdb's "kill" ends the VM, and
   gdbvm.py --server then exits 0.
2. make gdb itself, gdb's commands on its standard input (not a
   terminal): the same breakpoint is hit, "quit" leaves gdb, make gdb
   exits 0 and its VM is gone.
3. A module whose exit dereferences NULL (tests/integrity.py): rmmod
   oopses, the session stops at the setup's breakpoint on panic, and
   "frame function oops_end" then "list *regs->ip" names kmemlab_hello_exit
   and the line of the copy's kmemlab_hello.c that stores through NULL.
4. A module that does not compile: make gdb ends with 1 and the
   compiler's one line, and boots nothing.

Every wait has a limit; on a time-out the session is killed (its process
group, and the VM's) and the check fails with the tail of the output.

  run(record) - record(ok, name, why) for each check
  python3 tests/gdb_session.py - the same, PASS/FAIL lines, exit 1 on a failure
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import integrity

ROOT = Path(__file__).resolve().parent.parent
LAB = '00-hello'
MODULE = 'kmemlab_hello'
FUNCTION = 'kmemlab_hello_greet'
INIT = 'kmemlab_hello_init'	# __init: in .init.text, apart from .text
KERNEL_LIMIT = 3600	# s: a first build of the gdb kernel on a shared machine
START_LIMIT = 300	# s: build the module against the gdb kernel, start the VM
GDB_LIMIT = 300		# s: load vmlinux's symbols, boot to the breakpoint, print
EXIT_LIMIT = 60		# s: from gdb's kill or quit to the end of the VM
VM_LIMIT = START_LIMIT + GDB_LIMIT + EXIT_LIMIT	# gdbvm.py --limit: QEMU's backstop


def killpg(pgid: int) -> None:
	try:
		os.killpg(pgid, signal.SIGKILL)
	except (ProcessLookupError, PermissionError):
		pass


def alive(pgid: int) -> bool:
	try:
		os.killpg(pgid, 0)
		return True
	except (ProcessLookupError, PermissionError):
		return False


def tail(text: str, lines: int = 8) -> str:
	return ' | '.join(l for l in text.splitlines()[-lines:] if l.strip())[-700:]


def function_lines(path: Path, name: str) -> range:
	"""The lines (1-based) of C function name's definition in path: from
	its header to the first line that is only "}"."""
	lines = path.read_text().splitlines()
	start = next(i for i, l in enumerate(lines) if re.match(rf'^\w[\w\s\*]*\b{name}\(', l))
	end = next(i for i in range(start, len(lines)) if lines[i] == '}')
	return range(start + 1, end + 2)


def frames(out: str) -> dict[int, tuple[str, str, int]]:
	"""gdb's backtrace: frame number -> (function, file, line)."""
	found = {}
	for m in re.finditer(r'^(?:\(gdb\) )*#(\d+)\s+(?:0x[0-9a-f]+ in )?(\w+) \(.*?\) at (\S+):(\d+)$', out, re.M):
		found.setdefault(int(m.group(1)), (m.group(2), m.group(3), int(m.group(4))))
	return found


def ensure_kernel(record) -> bool:
	name = 'make gdb: the x86_64 gdb kernel is built (or cached)'
	proc = subprocess.Popen([ROOT / 'qemu-env' / 'build-kernel.sh', 'x86_64', 'gdb'], stdout=subprocess.PIPE,
				stderr=subprocess.STDOUT, text=True, start_new_session=True)
	try:
		out, _ = proc.communicate(timeout=KERNEL_LIMIT)
	except subprocess.TimeoutExpired:
		killpg(proc.pid)
		out, _ = proc.communicate()
		record(False, name, f'not built within {KERNEL_LIMIT} s: {tail(out)}')
		return False
	kdir = Path(out.strip().splitlines()[-1]) if out.strip() else Path('/nonexistent')
	ok = proc.returncode == 0 and (kdir / 'vmlinux-gdb.py').exists()
	record(ok, name, f'exit status {proc.returncode}, no vmlinux-gdb.py in its directory: {tail(out)}')
	return ok


def served(record, name: str, src: Path | str, commands: list[str]) -> tuple[str, bool]:
	"""gdbvm.py --server for lab 00 from src, then gdb -batch -nx with its
	setup file and commands (each one -ex). (gdb's output, True when the
	session ran and the server then exited 0 with its VM gone); a session
	that did not run is recorded as a failure of name and gives ('', False).
	The server and the VM are killed on every path."""
	server = subprocess.Popen([sys.executable, ROOT / 'grader' / 'gdbvm.py', '--lab', LAB, '--src', str(src),
				   '--arch', 'x86_64', '--server', '--limit', str(VM_LIMIT)],
				  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
	said: dict[str, str] = {}
	lines: list[str] = []
	vm = 0

	def read() -> None:
		for line in server.stdout:
			lines.append(line.rstrip('\n'))
			key, _, value = lines[-1].partition(' ')
			if key in ('socket', 'setup', 'vm'):
				said[key] = value

	reader = threading.Thread(target=read, daemon=True)
	reader.start()
	try:
		end = time.monotonic() + START_LIMIT
		while 'vm' not in said and time.monotonic() < end and reader.is_alive():
			time.sleep(0.1)
		if 'vm' not in said:
			record(False, name, f'gdbvm.py --server printed no socket/setup/vm within {START_LIMIT} s '
			       f'(exit status {server.poll()}): {tail(chr(10).join(lines))}')
			return '', False
		vm = int(said['vm'])
		try:
			gdb = subprocess.run(['gdb', '-batch', '-nx', '-x', said['setup']] +
					     [a for c in commands for a in ('-ex', c)],
					     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
					     timeout=GDB_LIMIT, start_new_session=True, check=False)
		except subprocess.TimeoutExpired as e:
			out = e.stdout.decode(errors='replace') if isinstance(e.stdout, bytes) else (e.stdout or '')
			record(False, name, f'gdb did not finish within {GDB_LIMIT} s: {tail(out)}')
			return '', False
		try:
			rc = server.wait(timeout=EXIT_LIMIT)
		except subprocess.TimeoutExpired:
			rc = None
		return gdb.stdout, rc == 0 and not alive(vm)
	finally:
		if server.poll() is None:
			server.terminate()	# gdbvm.py ends its VM on SIGTERM
			try:
				server.wait(timeout=10)
			except subprocess.TimeoutExpired:
				pass
		killpg(server.pid)
		if vm:
			killpg(vm)
		server.wait()


def batch(record) -> None:
	name = f'make gdb: batch session, breakpoint in {FUNCTION}'
	out, ended = served(record, name, 'solutions',
			    [f'break {INIT}', f'break {FUNCTION}', 'continue', 'echo @@init\\n', 'bt 1',
			     'continue', 'echo @@function\\n', 'bt', 'lx-dmesg', 'kill'])
	if not out:
		return
	check_init(record, name, out)
	check_session(record, name, out)
	dmesg = 'kmemlab: step 1 begin: insmod kmemlab_hello.ko'
	record(dmesg in out, f'{name}: lx-dmesg reads the kernel log', f'no "{dmesg}" in its output: {tail(out)}')
	record(ended, f'{name}: gdb\'s kill ends the VM, gdbvm.py --server exits 0',
	       f'the server did not exit 0 within {EXIT_LIMIT} s, or its VM is still there')


def crash(record, tmp: Path) -> None:
	name = 'make gdb: a module whose exit oopses stops at panic, and the faulting line is found'
	src = integrity.make('exit-crashes', tmp / f'gdb-crash-{os.getpid()}')
	try:
		out, _ = served(record, name, src, ['continue', 'frame function oops_end', 'list *regs->ip', 'kill'])
		if not out:
			return
		# gdb: "0xADDR is in kmemlab_hello_exit (/submission/00-hello/kmemlab_hello.c:N)."
		m = re.search(rf'^0x[0-9a-f]+ is in (\w+) \(/submission/{LAB}/{MODULE}\.c:(\d+)\)\.$', out, re.M)
		lines = (src / LAB / f'{MODULE}.c').read_text().splitlines()
		faulted = bool(m) and m.group(1) == 'kmemlab_hello_exit' and '*nowhere = 1;' in lines[int(m.group(2)) - 1]
		record(re.search(r'^Breakpoint \d+, panic \(', out, re.M) is not None and faulted, name,
		       f'stop at panic and "list *regs->ip" on the NULL store in kmemlab_hello_exit: {tail(out)}')
	finally:
		shutil.rmtree(ROOT / 'build' / 'x86_64-gdb' / src.name, ignore_errors=True)


def check_init(record, name: str, out: str) -> None:
	"""The stop in the module's init function, an __init one: gdb must
	name it and its line although .init.text is placed apart from .text."""
	student = ROOT / 'solutions' / LAB / f'{MODULE}.c'
	stop = out.partition('@@init\n')
	f0 = frames(stop[2].partition('@@function\n')[0]).get(0)
	body = function_lines(student, INIT)
	record(bool(stop[1]) and bool(f0) and f0[0] == INIT and f0[2] in body,
	       f'{name}: a breakpoint in the __init function {INIT} stops inside it',
	       f'frame #0: {f0}, the function spans lines {body.start}-{body.stop - 1}: {tail(stop[0] or out)}')


def check_session(record, name: str, out: str) -> bool:
	"""The checks of one session's output that stopped in FUNCTION."""
	student = ROOT / 'solutions' / LAB / f'{MODULE}.c'
	suite = ROOT / 'kunit' / LAB / f'{MODULE}_test.c'
	loaded = re.search(rf'^loading @0x[0-9a-f]+: \S*/{MODULE}\.ko$', out, re.M)
	hit = re.search(rf'^Breakpoint \d+, {FUNCTION} \(', out, re.M)
	if not (loaded and hit):
		record(False, f'{name}: lx-symbols loads {MODULE}.ko, the breakpoint is hit',
		       f'loaded: {bool(loaded)}, hit: {bool(hit)}: {tail(out)}')
		return False
	record(True, f'{name}: lx-symbols loads {MODULE}.ko, the breakpoint is hit')
	bt = frames(out.partition('@@function\n')[2] or out)	# the batch session marks its stops
	body = function_lines(student, FUNCTION)
	f0 = bt.get(0)
	ok0 = bool(f0) and f0[0] == FUNCTION and f0[1] == f'/submission/{LAB}/{MODULE}.c' and f0[2] in body
	record(ok0, f'{name}: frame #0 is {FUNCTION} at a line of {MODULE}.c inside it',
	       f'frame #0: {f0}, the function spans lines {body.start}-{body.stop - 1}: {tail(out)}')
	if ok0:
		text = student.read_text().splitlines()[f0[2] - 1]
		record(f'\n{f0[2]}\t{text}\n' in out, f'{name}: gdb shows that line of solutions/{LAB}/{MODULE}.c',
		       f'no "{f0[2]}<tab>{text.strip()}" line: {tail(out)}')
	f1 = bt.get(1)
	called = bool(f1) and f1[1] == f'/suite/{LAB}/{MODULE}_test.c' and \
		FUNCTION in suite.read_text().splitlines()[f1[2] - 1]
	record(called, f'{name}: frame #1 is the line of {MODULE}_test.c that calls it', f'frame #1: {f1}: {tail(out)}')
	return True


def make_gdb(src: Path | str, commands: str, limit: float) -> tuple[int | None, str]:
	"""make gdb LAB=00 SRC=src ARCH=x86_64 with commands on its standard
	input: (exit status or None after killing it at the limit, output)."""
	proc = subprocess.Popen(['make', '-s', '--no-print-directory', '-C', str(ROOT), 'gdb', f'LAB={LAB}',
				 f'SRC={src}', 'ARCH=x86_64'], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
				stderr=subprocess.STDOUT, text=True, start_new_session=True)
	try:
		out, _ = proc.communicate(commands, timeout=limit)
		return proc.returncode, out
	except subprocess.TimeoutExpired:
		killpg(proc.pid)
		out, _ = proc.communicate()
		return None, out
	finally:
		killpg(proc.pid)


def qemus() -> set[int]:
	"""Process ids of QEMUs whose command line names this lab's gdb VM log."""
	mine = set()
	log = str(ROOT / 'build' / 'x86_64-gdb' / 'solutions' / LAB / 'gdb.log')
	for p in Path('/proc').iterdir():
		if p.name.isdigit():
			try:
				cmd = (p / 'cmdline').read_bytes().split(b'\0')
			except OSError:
				continue
			if cmd and cmd[0].endswith(b'qemu-system-x86_64') and any(log.encode() in a for a in cmd):
				mine.add(int(p.name))
	return mine


def interactive(record) -> None:
	name = 'make gdb: commands on stdin, breakpoint hit, quit ends make gdb with 0 and the VM'
	# No width: gdb folds long lines at 80 columns when not on a terminal.
	rc, out = make_gdb('solutions', f'set width 0\nbreak {FUNCTION}\ncontinue\nbt\nquit\n', START_LIMIT + GDB_LIMIT)
	hit = re.search(rf'^(?:\(gdb\) )*Breakpoint \d+, {FUNCTION} \(', out, re.M)
	f0 = frames(out).get(0)
	# Killed QEMUs take a moment to go (a SIGKILLed process keeps its
	# command line until its memory is freed).
	end = time.monotonic() + 15
	while (left := qemus()) and time.monotonic() < end:
		time.sleep(0.5)
	record(rc == 0 and bool(hit) and bool(f0) and f0[0] == FUNCTION and not left, name,
	       f'exit status {rc} (None: killed after {START_LIMIT + GDB_LIMIT} s), hit: {bool(hit)}, '
	       f'frame #0: {f0}, QEMUs left: {sorted(left)}: {tail(out)}')
	for pid in left:
		try:
			os.kill(pid, signal.SIGKILL)
		except ProcessLookupError:
			pass


def does_not_build(record, tmp: Path) -> None:
	name = 'make gdb: a module that does not compile, one line and exit 1, no VM'
	src = tmp / f'gdb-broken-{os.getpid()}'
	shutil.copytree(ROOT / 'solutions' / LAB, src / LAB)
	with open(src / LAB / f'{MODULE}.c', 'a', encoding='utf-8') as f:
		f.write('\nthis line is not C;\n')
	try:
		rc, out = make_gdb(src, '', START_LIMIT)
		said = [l for l in out.splitlines() if l.startswith('make gdb: ')]
		booted = (ROOT / 'build' / 'x86_64-gdb' / src.name / LAB / 'gdb.log').exists()
		# make turns the recipe's exit status 1 into its own 2, "Error 1".
		record(rc == 2 and '] Error 1' in out and len(said) == 1 and 'module did not build: ' in said[0]
		       and f'{MODULE}.c' in said[0] and not booted, name, f'exit status {rc}, booted: {booted}: {tail(out)}')
	finally:
		shutil.rmtree(ROOT / 'build' / 'x86_64-gdb' / src.name, ignore_errors=True)


def run(record) -> None:
	"""The kernel, then the four sessions, one after the other (one VM at a time)."""
	if not shutil.which('gdb'):
		record(False, 'make gdb: gdb is installed', 'no gdb on the PATH (Debian package gdb; make deps)')
		return
	if not ensure_kernel(record):
		return
	batch(record)
	interactive(record)
	with tempfile.TemporaryDirectory(prefix='kmemlab-gdb-') as tmp:
		crash(record, Path(tmp))
		does_not_build(record, Path(tmp))


if __name__ == '__main__':
	import sys

	sys.path.insert(0, str(Path(__file__).resolve().parent))
	import standalone

	sys.exit(standalone.main(run))
