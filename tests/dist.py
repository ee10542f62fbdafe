# SPDX-License-Identifier: GPL-2.0
"""make test: the student edition (make dist) gives no answer away, and works.

run(record) writes the edition to a temporary folder with dist/export.py
and calls record(ok, name, why) once per check:

  export            dist/export.py writes it (exit status 0)
  nothing withheld  no solutions/, skelgen/, bench/, dist/, mutants.toml,
                    test that needs the solutions, or hidden test file
  no answer         no file of the edition holds the answer of a TODO region
                    (below); and the outside checker answers-leak.py, when
                    this machine has it, finds nothing either
  hidden tests      no rubric of the edition has a [hidden] table or a hidden
                    case, its [points] are the full rubric's minus those, and
                    no file names a hidden case, suite or file
  links             every relative link of its Markdown files resolves
  unit tests        its make test's unit tests pass without the solutions
                    (tests/student.py --unit, no VM)
  check LAB=00      `make check LAB=00` there builds and grades the skeleton
                    in the VM (fast kernel): the grader exits 1 (make says
                    "Error 1"), every test ran (no "!!" problem line such as
                    a build failure), points below full marks, no Python
                    traceback (one VM run)

The answer of a TODO region (solutions/NN-name/*.c, between the TODO n
BEGIN and END markers) is its code lines (comments, blank lines and lone
braces aside) that appear nowhere in the given code: the solutions outside
their TODO regions, and the skeleton text the END markers put in their
place. A file holds a region's answer when it either
  - reproduces it: two or more consecutive code lines of the file are
    consecutive code lines of the region, and hold more than half of its
    answer lines; or
  - holds at least three of its answer lines of 20 characters or more,
    and at least half of those, wherever they are in the file (inside a
    longer line too, or quoted in a string with its quotes escaped).
A generic line the given code also uses (`return 0;`, `kfree(buf);`) is
never part of an answer, so a test that frees a buffer as the solution does
gives nothing away; a helper that repeats a region's lines does.

Standalone: `python3 tests/dist.py` runs the checks and prints a line each
(exit status 1 when one fails).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'grader'))
sys.path.insert(0, str(ROOT / 'skelgen'))

import score  # noqa: E402
import skelgen  # noqa: E402

# A second opinion from outside the repository, run when present.
ANSWERS_LEAK = Path(os.environ.get('KMEMLAB_ANSWERS_LEAK', '/work/shared/answers-leak.py'))
WITHHELD = re.compile(r'^(solutions|skelgen|bench|dist)/|(^|/)mutants\.toml$'
		      r'|^tests/(run|hostile|integrity|dist|test_export)\.py$')
REGION_BEGIN = re.compile(r'TODO \d+ BEGIN')
REGION_END = re.compile(r'TODO \d+ END')
LINK = re.compile(r'\]\(([^)\s#]+)(#[^)]*)?\)')
CHECK_TIMEOUT = 900	# s: make check LAB=00 builds the suite afresh in the edition

Record = Callable[[bool, str, str], None]


def code_line(line: str) -> str:
	"""The line stripped, or '' when it is no code: blank, a comment, a
	lone brace or other punctuation."""
	s = line.strip()
	if not s or s.startswith(('/*', '*', '//')) or not re.search(r'\w', s):
		return ''
	return s


def code_lines(text: str) -> list[str]:
	return [c for c in map(code_line, text.split('\n')) if c]


def regions_and_given() -> tuple[list[tuple[str, list[str]]], set[str]]:
	"""Every TODO region of solutions/ as (where, its code lines), and the
	code lines students are given (the skeletons)."""
	regions, given = [], set()
	for f in sorted((ROOT / 'solutions').glob('*/*.[ch]')):
		text = f.read_text()
		skeleton, _ = skelgen.strip_regions(text, str(f))
		given |= set(code_lines(skeleton))
		cur, start = None, 0
		for n, line in enumerate(text.split('\n'), 1):
			if REGION_BEGIN.search(line):
				cur, start = [], n
			elif REGION_END.search(line):
				regions.append((f'{f.relative_to(ROOT)}:{start}', cur or []))
				cur = None
			elif cur is not None and code_line(line):
				cur.append(code_line(line))
	return regions, given


def holds_answer(text: str, region: list[str], given: set[str]) -> str:
	"""'' or why a file with this text holds the region's answer."""
	answer = set(region) - given
	if not answer:
		return ''
	lines = code_lines(text)
	# A reproduction: the longest runs shared with the region.
	starts: dict[str, list[int]] = {}
	for j, l in enumerate(region):
		starts.setdefault(l, []).append(j)
	for i, l in enumerate(lines):
		for j in starts.get(l, []):
			if i and j and lines[i - 1] == region[j - 1]:
				continue	# inside a run counted from its start
			k = 0
			while i + k < len(lines) and j + k < len(region) and lines[i + k] == region[j + k]:
				k += 1
			got = set(region[j:j + k]) & answer
			if k >= 2 and got and 2 * len(got) > len(answer):
				return f'repeats {k} lines of it, {len(got)} of its {len(answer)} answer lines'
	long = {l for l in answer if len(l) >= 20}
	hit = {l for l in long if l in text or l.replace('\\', '\\\\').replace('"', '\\"') in text}
	if len(hit) >= 3 and 2 * len(hit) >= len(long):
		return f'holds {len(hit)} of its {len(long)} long answer lines'
	return ''


def answer_leaks(tree: Path) -> list[str]:
	regions, given = regions_and_given()
	leaks = []
	for p in sorted(tree.rglob('*')):
		if not p.is_file() or p.relative_to(tree).parts[0] in ('.git', 'build', 'results'):
			continue
		try:
			text = p.read_text(errors='strict')
		except (UnicodeDecodeError, OSError):
			continue
		for where, region in regions:
			why = holds_answer(text, region, given)
			if why:
				leaks.append(f'{p.relative_to(tree)}: {why} (TODO region at {where})')
	return leaks


def outside_opinion(tree: Path) -> str:
	"""'' when answers-leak.py finds nothing, else what it says."""
	proc = subprocess.run([sys.executable, str(ANSWERS_LEAK), str(tree)], cwd=ROOT,
			      capture_output=True, text=True, check=False, timeout=300)
	out = proc.stdout.strip().splitlines()
	if proc.returncode != 0 or not out or not out[-1].startswith('0 answer leak'):
		return '; '.join(out[:5]) or proc.stderr.strip()[-300:] or f'exit status {proc.returncode}'
	return ''


def hidden_problems(tree: Path) -> list[str]:
	problems = []
	texts = {p.relative_to(tree).as_posix(): p.read_text(errors='replace')
		 for p in tree.rglob('*') if p.is_file() and '.git' not in p.parts}
	for rubric_path in sorted(ROOT.glob('labs/*/rubric.toml')):
		lab = rubric_path.parent.name
		full = score.load_rubric(rubric_path)
		mine = tomllib.loads((tree / 'labs' / lab / 'rubric.toml').read_text())
		if 'hidden' in mine:
			problems.append(f'labs/{lab}/rubric.toml has a [hidden] table')
		want = {k: v for k, v in full.points.items() if k not in full.hidden}
		if mine.get('points') != want:
			problems.append(f'labs/{lab}/rubric.toml: [points] are not the full rubric\'s minus the hidden cases')
		problems += [f'kunit/{lab}/{f} is there' for f in full.hidden_files if (tree / 'kunit' / lab / f).exists()]
		names = {k.split('.', 1)[1] for k in full.hidden} | {Path(f).stem for f in full.hidden_files}
		names |= {k.split('.', 1)[0] for k in full.hidden} - {k.split('.', 1)[0] for k in want}
		if names:
			said = re.compile(r'\b(' + '|'.join(map(re.escape, sorted(names))) + r')\b')
			problems += [f'{rel} names the hidden "{m.group(1)}" of {lab}'
				     for rel, text in texts.items() for m in [said.search(text)] if m]
	return problems


def broken_links(tree: Path) -> list[str]:
	bad = []
	for md in sorted(tree.rglob('*.md')):
		for m in LINK.finditer(md.read_text()):
			target = m.group(1)
			if re.match(r'^[a-z]+:', target):
				continue	# http:, mailto:
			if not (md.parent / target).exists():
				bad.append(f'{md.relative_to(tree)} -> {target}')
	return bad


def vm_check(tree: Path) -> str:
	"""'' when make check LAB=00 grades the skeleton below full marks."""
	# Not the settings of the make that runs this one (make test ARCH=...).
	env = {k: v for k, v in os.environ.items() if k not in
	       ('MAKEFLAGS', 'MFLAGS', 'MAKELEVEL', 'MAKEOVERRIDES', 'ARCH', 'SRC', 'LAB', 'DEBUG', 'JOBS', 'DEST')}
	try:
		proc = subprocess.run(['make', '-C', str(tree), '--no-print-directory', 'check', 'LAB=00'], env=env,
				      capture_output=True, text=True, check=False, timeout=CHECK_TIMEOUT)
	except subprocess.TimeoutExpired:
		return f'no end within {CHECK_TIMEOUT} s'
	out = proc.stdout + proc.stderr
	scores = re.findall(r'^\s*Score: (\d+)/(\d+)$', out, re.M)
	if 'Traceback' in out:
		return 'a Python traceback: ' + out[out.index('Traceback'):][:300]
	problem = re.search(r'^\s*!! (.*)$', out, re.M)
	graded_one = proc.returncode == 2 and re.search(r'^make: \*\*\* .*check\] Error 1$', out, re.M)
	if not graded_one or problem or not scores or int(scores[-1][0]) >= int(scores[-1][1]):
		tail = ' | '.join(out.strip().splitlines()[-4:])
		return (f'make exit status {proc.returncode}, score {"/".join(scores[-1]) if scores else "none"}'
			+ (f', problem: {problem.group(1)}' if problem else '') + f': {tail}')
	return ''


def run(record: Record) -> None:
	"""Export the student edition to a temporary folder and check it."""
	with tempfile.TemporaryDirectory(prefix='kmemlab-dist-') as tmp:
		tree = Path(tmp) / 'edition'
		proc = subprocess.run([sys.executable, str(ROOT / 'dist' / 'export.py'), str(tree)],
				      capture_output=True, text=True, check=False, timeout=300)
		record(proc.returncode == 0, 'dist: make dist writes the student edition',
		       (proc.stdout + proc.stderr).strip())
		if proc.returncode != 0:
			return
		files = [p.relative_to(tree).as_posix() for p in tree.rglob('*') if p.is_file()]
		withheld = sorted(f for f in files if WITHHELD.search(f))
		record(not withheld and (tree / 'skel').is_dir(),
		       'dist: no solution, mistake list or test that needs them in the edition',
		       ', '.join(withheld[:5]) or 'no skel/')
		leaks = answer_leaks(tree)
		record(not leaks, 'dist: no file of the edition holds the answer of a TODO region', '; '.join(leaks[:5]))
		if ANSWERS_LEAK.is_file():
			why = outside_opinion(tree)
			record(not why, f'dist: {ANSWERS_LEAK.name} finds no answer in the edition', why)
		problems = hidden_problems(tree)
		record(not problems, 'dist: hidden tests are out of the edition', '; '.join(problems[:5]))
		bad = broken_links(tree)
		record(not bad, 'dist: every relative link of the edition\'s Markdown resolves', '; '.join(bad[:5]))
		proc = subprocess.run([sys.executable, str(tree / 'tests' / 'student.py'), '--unit'],
				      capture_output=True, text=True, check=False, timeout=600)
		fails = [l for l in proc.stdout.splitlines() if l.startswith('FAIL')]
		record(proc.returncode == 0, 'dist: the edition\'s unit tests pass without the solutions',
		       '; '.join(fails[:3]) or (proc.stdout + proc.stderr).strip()[-300:])
		why = vm_check(tree)
		record(not why, 'dist: make check LAB=00 in the edition grades the skeleton below full marks', why)
		shutil.rmtree(tree / 'build', ignore_errors=True)


if __name__ == '__main__':
	failures = []

	def show(ok: bool, name: str, why: str = '') -> None:
		print(f'PASS {name}' if ok else f'FAIL {name}: {why}', flush=True)
		if not ok:
			failures.append(name)
	run(show)
	sys.exit(1 if failures else 0)
