# SPDX-License-Identifier: GPL-2.0
"""make test: make check TEST=glob on lab 00, fast kernel.

1. The solution (a copy) with TEST='kmemlab_hello.hello_greet_*' on x86_64
   and on i386: exit 0; the report lists exactly the four matching tests, says
   "left out by TEST=...: 5 tests" and scores 6/6; results.json counts the
   same; in the VM, KUnit ran only those cases (kunit.filter_glob) and the
   user programs reported theirs skipped.
2. A solution whose NULL-buffer check is gone, so that
   hello_greet_rejects_empty_buffer crashes the kernel: graded whole it
   crashes; with TEST=kmemlab_hello.hello_greet_uses_parameter it scores
   2/2 and the kernel never oopses (the crashing case did not run).
3. Bad requests, one line and exit 2, nothing booted: a glob that matches
   no test, a glob with a space.
4. The Makefile passes TEST= on to grade.py (make -n).
5. A module that does not compile: exit 1 with the compiler's line, and
   the VM booted beside the build is gone when make check returns (QEMU
   and its time limit included: nothing runs on with that lab's console).

  run(record) - record(ok, name, why) for each check
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAB = '00-hello'
GRADE = [sys.executable, str(ROOT / 'grader' / 'grade.py'), '--check', '--flavour', 'fast', '--lab', '00']
LIMIT = 600	# s: one graded run on a shared machine
GREET = 'kmemlab_hello.hello_greet_*'
# A case's result on the console: "[   1.2]     ok 3 name # SKIP why".
CASE_LINE = re.compile(r'^\[[ \d.]+\]     (?:not )?ok \d+ (\w+)( # SKIP .*)?$', re.M)


def grade(src: Path | str, glob: str, out: Path, arch: str = 'x86_64') -> subprocess.CompletedProcess:
	return subprocess.run(GRADE + ['--src', str(src), '--arch', arch, '--test', glob, '--out', str(out)],
			      capture_output=True, text=True, timeout=LIMIT, check=False)


def serial_log(src: Path | str, arch: str) -> str:
	log = ROOT / 'build' / f'{arch}-fast' / Path(src).name / LAB / 'serial.log'
	return log.read_text(errors='replace') if log.exists() else ''


def tested(stdout: str) -> list[str]:
	"""The test keys of the report's lines."""
	return [l.split()[0] for l in stdout.splitlines() if l.startswith('  ') and ' ...' in l]


def selected(record, src: Path, tmp: Path, arch: str) -> None:
	name = f'make check TEST={GREET} ({arch}): only those tests, counted alone'
	p = grade(src, GREET, tmp / arch, arch)
	want = ['kmemlab_hello.hello_greet_uses_parameter', 'kmemlab_hello.hello_greet_returns_length',
		'kmemlab_hello.hello_greet_truncates_to_buffer', 'kmemlab_hello.hello_greet_rejects_empty_buffer']
	lines = p.stdout.splitlines()
	# Every other test of the rubric is left out, however many the lab has.
	others = len(tomllib.loads((ROOT / 'labs' / LAB / 'rubric.toml').read_text())['points']) - len(want)
	ok = p.returncode == 0 and tested(p.stdout) == want and \
		f'  left out by TEST={GREET}: {others} tests' in lines and '  Score: 6/6' in lines
	record(ok, name, f'exit {p.returncode}: {p.stdout.strip()[-800:]} {p.stderr.strip()[-300:]}')
	data = json.loads((tmp / arch / 'results.json').read_text()) if (tmp / arch / 'results.json').exists() else {}
	record(data.get('score') == 6 and len(data.get('tests', [])) == 4,
	       f'{name}: results.json', f'score {data.get("score")}, {len(data.get("tests", []))} tests')
	results = [m.groups() for m in CASE_LINE.finditer(serial_log(src, arch))]
	ran = [c for c, skip in results if not skip]
	skipped = [c for c, skip in results if skip == f' # SKIP left out by kunit.filter_glob={GREET}']
	record(ran == [k.split('.')[1] for k in want] and len(skipped) == 3 and len(results) == 7,
	       f'{name}: in the VM, KUnit ran only those and the programs skipped theirs',
	       f'cases run: {ran}; skipped: {skipped}; all: {results}')


def crash_left_out(record, tmp: Path) -> None:
	name = 'make check TEST=: a test that crashes the kernel, left out, does not run'
	src = tmp / f'testfilter-crash-{os.getpid()}'
	shutil.copytree(ROOT / 'solutions' / LAB, src / LAB)
	module = src / LAB / 'kmemlab_hello.c'
	text = module.read_text()
	if text.count('if (!buf || !size)') != 1:
		record(False, name, 'the solution has no "if (!buf || !size)" to break')
		return
	module.write_text(text.replace('if (!buf || !size)', 'if (!size)'))
	try:
		whole = grade(src, 'kmemlab_hello.*', tmp / 'whole')
		crashed = 'hello_greet_rejects_empty_buffer' in whole.stdout and 'kernel crashed' in whole.stdout
		record(whole.returncode == 1 and crashed, f'{name} (the mistake crashes the suite)',
		       f'exit {whole.returncode}: {whole.stdout.strip()[-600:]} {whole.stderr.strip()[-300:]}')
		one = grade(src, 'kmemlab_hello.hello_greet_uses_parameter', tmp / 'one')
		serial = serial_log(src, 'x86_64')
		record(one.returncode == 0 and '  Score: 2/2' in one.stdout.splitlines() and 'Oops' not in serial
		       and 'BUG:' not in serial, name, f'exit {one.returncode}: {one.stdout.strip()[-600:]} {one.stderr.strip()[-300:]}')
	finally:
		shutil.rmtree(ROOT / 'build' / 'x86_64-fast' / src.name, ignore_errors=True)


def bad_requests(record, src: Path, tmp: Path) -> None:
	for glob, says in (('nothing.here', 'matches no test of 00-hello'),
			   ('kmemlab_hello greet', 'holds characters a test glob cannot have')):
		p = grade(src, glob, tmp / 'bad')
		err = p.stderr.strip().splitlines()
		record(p.returncode == 2 and len(err) == 1 and says in err[0] and not p.stdout.strip(),
		       f'make check TEST={glob!r}: one line, exit 2, nothing run',
		       f'exit {p.returncode}, stderr {err}, stdout {p.stdout.strip()[:200]!r}')


def running_with(arg: str) -> list[int]:
	"""The processes whose command line holds arg (read from /proc)."""
	pids = []
	for cmdline in Path('/proc').glob('[0-9]*/cmdline'):
		try:
			if arg.encode() in cmdline.read_bytes():
				pids.append(int(cmdline.parent.name))
		except OSError:
			pass	# ended while we looked
	return pids


def not_built(record, tmp: Path) -> None:
	name = 'make check: a module that does not compile, exit 1, and no VM left running'
	src = tmp / f'testfilter-broken-{os.getpid()}'
	shutil.copytree(ROOT / 'solutions' / LAB, src / LAB)
	with open(next((src / LAB).glob('*.c')), 'a', encoding='utf-8') as f:
		f.write('\nthis line is not C;\n')
	log = ROOT / 'build' / 'x86_64-fast' / src.name / LAB / 'serial.log'
	try:
		p = subprocess.run(GRADE + ['--src', str(src), '--arch', 'x86_64', '--out', str(tmp / 'broken')],
				   capture_output=True, text=True, timeout=LIMIT, check=False)
		left = running_with(str(log))
		record(p.returncode == 1 and 'module did not build: ' in p.stdout and not left, name,
		       f'exit {p.returncode}, still running with {log}: {left}: {p.stdout.strip()[-400:]}')
	finally:
		shutil.rmtree(ROOT / 'build' / 'x86_64-fast' / src.name, ignore_errors=True)


def makefile(record) -> None:
	p = subprocess.run(['make', '-n', '-C', str(ROOT), 'check', 'LAB=00', 'TEST=hello_user.*'],
			   capture_output=True, text=True, check=False)
	line = next((l for l in p.stdout.splitlines() if 'grade.py' in l), '')
	record("--test 'hello_user.*'" in line, 'make check passes TEST= to grade.py', line or p.stderr)


def run(record) -> None:
	"""The checks above, one VM at a time. The solution is graded from a
	copy of its own, so that a make test job grading solutions/ beside it
	never shares its run directory."""
	makefile(record)
	with tempfile.TemporaryDirectory(prefix='kmemlab-testfilter-') as tmp:
		src = Path(tmp) / f'testfilter-solution-{os.getpid()}'
		shutil.copytree(ROOT / 'solutions' / LAB, src / LAB)
		try:
			bad_requests(record, src, Path(tmp))
			selected(record, src, Path(tmp), 'x86_64')
			selected(record, src, Path(tmp), 'i386')
		finally:
			for arch in ('x86_64', 'i386'):
				shutil.rmtree(ROOT / 'build' / f'{arch}-fast' / src.name, ignore_errors=True)
		crash_left_out(record, Path(tmp))
		not_built(record, Path(tmp))


if __name__ == '__main__':
	import sys

	sys.path.insert(0, str(Path(__file__).resolve().parent))
	import standalone

	sys.exit(standalone.main(run))
