# SPDX-License-Identifier: GPL-2.0
"""make test: make shell, driven through pipes as a student would type, on
the fast x86_64 kernel, lab 00.

1. The solution, loaded: the banner names the module; the module's
   parameter reads "penguin", the value of the graded run's first insmod
   (kunit/00-hello/vm-steps); the CPU has the graded run's SMAP and LA57;
   the suites are in /lab and not loaded; a lab program runs from the
   PATH; a shell sum comes back (marker-42); "exit" ends make shell with 0.
2. LOAD=0: the banner says nothing is loaded, /proc/modules agrees, and
   Ctrl-D ends make shell with 0.
3. A module whose exit dereferences NULL (tests/integrity.py): rmmod
   oopses the kernel, and make shell ends with 1 and names the report.
4. A module that does not compile: make shell ends with 1 and the
   compiler's one line, and boots nothing.
5. A script: every command written at once, before the VM boots, then
   the end of stdin (`printf ... | make shell`): the first command
   comes through whole, and the end of stdin ends make shell with 0.

make turns a recipe's failure into its own exit status 2 and names the
recipe's ("Error 1"): that is what the failing sessions check.

Every wait has a limit: on a time-out the session is killed (its whole
process group) and the check fails with the tail of what it printed.

  run(record) - record(ok, name, why) for each check
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import integrity

ROOT = Path(__file__).resolve().parent.parent
LAB = '00-hello'
PROMPT = 'kmemlab:/lab# '
BOOT_LIMIT = 240	# s: build the module (a new tree) and boot, on a shared machine
COMMAND_LIMIT = 60	# s: one command's answer
EXIT_LIMIT = 60		# s: from "exit" to make shell's end (power-off)


class Session:
	"""make shell LAB=00 ... with stdin and stdout on pipes."""

	def __init__(self, src: Path | str, *make_args: str):
		self.proc = subprocess.Popen(['make', '-s', '--no-print-directory', '-C', str(ROOT), 'shell',
					      f'LAB={LAB}', f'SRC={src}', 'ARCH=x86_64', *make_args],
					     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
					     start_new_session=True)
		self.out = ''
		self.seen = 0	# where the next wait starts looking
		self.lock = threading.Lock()
		self.reader = threading.Thread(target=self.read, daemon=True)
		self.reader.start()

	def read(self) -> None:
		while True:
			data = self.proc.stdout.read1(4096)
			if not data:
				return
			with self.lock:
				self.out += data.decode(errors='replace').replace('\r', '')

	def wait_for(self, text: str, limit: float) -> bool:
		"""Wait until text appears after what earlier waits consumed."""
		end = time.monotonic() + limit
		while time.monotonic() < end:
			with self.lock:
				at = self.out.find(text, self.seen)
				if at >= 0:
					self.seen = at + len(text)
					return True
			if self.proc.poll() is not None and not self.reader.is_alive():
				return False
			time.sleep(0.1)
		return False

	def send(self, data: bytes) -> None:
		try:
			self.proc.stdin.write(data)
			self.proc.stdin.flush()
		except OSError:
			pass

	def ask(self, command: str, answer: str) -> bool:
		"""Type command; wait for answer, then for the next prompt."""
		self.send(command.encode() + b'\n')
		return self.wait_for(answer, COMMAND_LIMIT) and self.wait_for(PROMPT, COMMAND_LIMIT)

	def end(self, limit: float) -> int | None:
		"""make shell's exit status, or None after killing it at the limit."""
		try:
			return self.proc.wait(timeout=limit)
		except subprocess.TimeoutExpired:
			self.kill()
			return None
		finally:
			self.reader.join(timeout=5)

	def failed_with(self, rc: int | None, status: int) -> bool:
		"""Did make shell's script exit with status (make itself: 2)?"""
		return rc == 2 and f'] Error {status}' in self.out

	def kill(self) -> None:
		try:
			os.killpg(self.proc.pid, signal.SIGKILL)
		except ProcessLookupError:
			pass
		self.proc.wait()

	def tail(self) -> str:
		with self.lock:
			return ' | '.join(l for l in self.out.splitlines()[-8:] if l.strip())[-600:]


def loaded(record) -> None:
	name = 'make shell: 00-hello solution, module loaded'
	s = Session('solutions')
	try:
		if not (s.wait_for('kmemlab shell (00-hello, x86_64, fast kernel): loaded: kmemlab_hello;', BOOT_LIMIT)
			and s.wait_for(PROMPT, COMMAND_LIMIT)):
			record(False, name, f'no banner naming kmemlab_hello and prompt within {BOOT_LIMIT} s: {s.tail()}')
			return
		checks = [
			("the parameter the graded run's insmod gives", 'cat /sys/module/kmemlab_hello/parameters/*',
			 '\npenguin\n'),
			("the graded run's CPU (SMAP, LA57)",
			 'echo cpu-$(grep -c -w smap /proc/cpuinfo)-$(grep -c -w la57 /proc/cpuinfo)', 'cpu-1-1'),
			('the suites are in /lab, not loaded',
			 'echo suites-$(ls /lab/*_test.ko | wc -l)-loaded-$(grep -c _test /proc/modules)', 'suites-2-loaded-0'),
			('a lab program runs from the PATH', 'hello_user default | tail -1', 'ok 1 hello_user_default'),
			('the shell answers', 'echo marker-$((6*7))', 'marker-42'),
		]
		for what, command, answer in checks:
			if not s.ask(command, answer):
				record(False, f'{name}: {what}', f'{command!r} did not print {answer!r}: {s.tail()}')
				return
			record(True, f'{name}: {what}')
		s.send(b'exit\n')
		rc = s.end(EXIT_LIMIT)
		record(rc == 0, f'{name}: exit powers the VM off, make shell exits 0',
		       f'exit status {rc} (None: still running after {EXIT_LIMIT} s, killed): {s.tail()}')
	finally:
		s.kill()


def not_loaded(record) -> None:
	name = 'make shell LOAD=0: nothing loaded, Ctrl-D leaves'
	s = Session('solutions', 'LOAD=0')
	try:
		ok = s.wait_for('loaded: nothing;', BOOT_LIMIT) and s.wait_for(PROMPT, COMMAND_LIMIT) and \
			s.ask('echo modules-$(wc -l </proc/modules)', 'modules-0')
		if not ok:
			record(False, name, f'no banner saying nothing is loaded, or modules in /proc/modules: {s.tail()}')
			return
		s.send(b'\x04')
		rc = s.end(EXIT_LIMIT)
		record(rc == 0, name, f'exit status {rc} after Ctrl-D (None: killed after {EXIT_LIMIT} s): {s.tail()}')
	finally:
		s.kill()


def scripted(record) -> None:
	name = 'make shell with a script on stdin: every command whole, its end leaves'
	s = Session('solutions', 'LOAD=0')
	try:
		s.send(b'echo first-$((6*7))\necho second-$((7*8))\n')
		s.proc.stdin.close()
		rc = s.end(BOOT_LIMIT)
		ok = '\nfirst-42\n' in s.out and '\nsecond-56\n' in s.out
		record(rc == 0 and ok, name, f'exit status {rc} (None: killed after {BOOT_LIMIT} s), '
		       f'both answers: {ok}: {s.tail()}')
	finally:
		s.kill()


def crashes(record, tmp: Path) -> None:
	name = 'make shell: a module whose exit oopses, rmmod ends the session with 1 and the report'
	src = integrity.make('exit-crashes', tmp / f'shell-crash-{os.getpid()}')
	s = Session(src)
	try:
		if not (s.wait_for('loaded: kmemlab_hello;', BOOT_LIMIT) and s.wait_for(PROMPT, COMMAND_LIMIT)):
			record(False, name, f'no prompt within {BOOT_LIMIT} s: {s.tail()}')
			return
		s.send(b'rmmod kmemlab_hello\n')
		rc = s.end(EXIT_LIMIT)
		said = s.out.rsplit('make shell: ', 1)[-1].split('\n')[0]
		record(s.failed_with(rc, 1) and said.startswith('the VM stopped before the shell was left: the kernel crashed: '),
		       name, f'exit status {rc}: {s.tail()}')
	finally:
		s.kill()
		shutil.rmtree(ROOT / 'build' / 'x86_64-fast' / src.name, ignore_errors=True)


def does_not_build(record, tmp: Path) -> None:
	name = 'make shell: a module that does not compile, one line and exit 1, no VM'
	src = tmp / f'shell-broken-{os.getpid()}'
	shutil.copytree(ROOT / 'solutions' / LAB, src / LAB)
	with open(src / LAB / integrity.MODULE, 'a', encoding='utf-8') as f:
		f.write('\nthis line is not C;\n')
	s = Session(src)
	try:
		s.proc.stdin.close()
		rc = s.end(BOOT_LIMIT)
		lines = [l for l in s.out.splitlines() if l.startswith('make shell: ')]
		booted = 'kmemlab shell' in s.out or (ROOT / 'build' / 'x86_64-fast' / src.name / LAB / 'shell.log').exists()
		record(s.failed_with(rc, 1) and len(lines) == 1 and 'module did not build: ' in lines[0] and
		       'kmemlab_hello.c' in lines[0] and not booted,
		       name, f'exit status {rc}, booted: {booted}: {s.tail()}')
	finally:
		s.kill()
		shutil.rmtree(ROOT / 'build' / 'x86_64-fast' / src.name, ignore_errors=True)


def run(record) -> None:
	"""The five sessions, one after the other (one VM at a time)."""
	loaded(record)
	not_loaded(record)
	scripted(record)
	with tempfile.TemporaryDirectory(prefix='kmemlab-shell-') as tmp:
		crashes(record, Path(tmp))
		does_not_build(record, Path(tmp))


if __name__ == '__main__':
	import sys

	sys.path.insert(0, str(Path(__file__).resolve().parent))
	import standalone

	sys.exit(standalone.main(run))
