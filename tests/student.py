#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make test in the student edition (make dist): what a tree without the
solutions can check.

1. The grader's unit tests (tests/test_*.py). Those that need the
   solutions or the skeleton generator, which the edition leaves out, are
   skipped and say so.
2. For every lab (or each --lab) on its default arch (or --arch), on the
   fast kernel: the lab's folder in skel/ builds, runs in the VM and is
   graded, with valid results.json and junit.xml. A skeleton nobody has
   touched (its files as tests/skeletons.sha256 lists them) must also score
   below full marks: a suite that passes an empty skeleton tests nothing.
   A lab whose file has been edited is graded and its score shown; any
   score passes.

  student.py [--lab NN ...] [--arch x86_64|i386] [--unit]

--unit runs the unit tests only (no VM).

Prints a PASS, FAIL or SKIP line per check and ends with "N passed, N
failed". Exit status: 0 when nothing failed, 1 otherwise, 2 for a bad
request (no such lab).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'grader'))

import grade  # noqa: E402
import report  # noqa: E402
import score  # noqa: E402
from outcome import Outcome  # noqa: E402

MANIFEST = ROOT / 'tests' / 'skeletons.sha256'
passed = failed = 0


def record(ok: bool, name: str, why: str = '') -> None:
	global passed, failed
	passed += ok
	failed += not ok
	print(f'PASS {name}' if ok else f'FAIL {name}: {why}', flush=True)


def iter_tests(suite):
	for t in suite:
		if isinstance(t, unittest.TestSuite):
			yield from iter_tests(t)
		else:
			yield t


def unit_tests() -> None:
	suite = unittest.defaultTestLoader.discover(str(ROOT / 'tests'), pattern='test_*.py')
	tests = list(iter_tests(suite))	# the runner empties the suite
	result = unittest.TextTestRunner(stream=io.StringIO(), verbosity=2).run(suite)
	bad = {t.id(): e.strip().splitlines()[-1] for t, e in result.failures + result.errors}
	skipped = {t.id(): why for t, why in result.skipped}
	for test in tests:
		name = f'grader unit: {test.id().split(".", 1)[-1]}'
		if test.id() in skipped:
			print(f'SKIP {name}: {skipped[test.id()]}')
		else:
			record(test.id() not in bad, name, bad.get(test.id(), ''))


def untouched(lab: str) -> bool:
	"""Whether skel/<lab>/ still holds the skeleton as make dist wrote it
	(in the full repository, with no list, skel/ is the generator's)."""
	if not MANIFEST.is_file():
		return True
	for line in MANIFEST.read_text().splitlines():
		digest, _, rel = line.partition('  ')
		if rel.startswith(f'skel/{lab}/'):
			path = ROOT / rel
			if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
				return False
	return True


def outputs_valid(result: score.LabResult) -> str:
	"""'' when results.json and junit.xml of this result parse, else why."""
	with tempfile.TemporaryDirectory(prefix='kmemlab-out-') as tmp:
		try:
			report.write_gradescope([result], Path(tmp) / 'results.json')
			report.write_junit([result], Path(tmp) / 'junit.xml')
			data = json.loads((Path(tmp) / 'results.json').read_text(encoding='utf-8'))
			ET.parse(Path(tmp) / 'junit.xml')
		except (ValueError, ET.ParseError) as e:
			return f'invalid output: {e}'
	return '' if data['score'] == result.points else f'results.json says {data["score"]}, the result {result.points}'


def lab_test(lab_dir: Path, arch: str, kdir: Path, deductions: dict[str, int]) -> None:
	lab = grade.Lab(lab_dir, 'skel', arch, 'fast', kdir)
	r = lab.grade(deductions)
	if not r.full_marks:
		grade.save_transcript(ROOT / 'results' / 'test', lab, r)
	got = f'{r.points}/{r.max_points}' + (f' ({r.problem})' if r.problem else '') + \
		(f', transcript {r.transcript}' if r.transcript else '')
	name = f'{lab_dir.name} ({arch}, fast)'
	if untouched(lab_dir.name):
		ok = r.outcome is not Outcome.NOT_BUILT and r.points < r.max_points
		record(ok and not outputs_valid(r), f'{name}: skeleton builds and scores below full marks',
		       outputs_valid(r) or got)
	else:
		why = outputs_valid(r)
		record(not why, f'{name}: your edited lab is graded: {got}', why)


def main() -> int:
	ap = argparse.ArgumentParser(description='make test in the student edition')
	ap.add_argument('--lab', action='append', default=[], help='lab number or name (repeatable)')
	ap.add_argument('--arch', choices=['x86_64', 'i386'], help="one arch for every lab (default: each lab's own)")
	ap.add_argument('--unit', action='store_true', help='only the unit tests, no VM')
	args = ap.parse_args()
	unit_tests()
	if args.unit:
		print(f'{passed} passed, {failed} failed')
		return 1 if failed else 0
	labs = grade.find_labs([w for l in args.lab for w in l.replace(',', ' ').split()])
	deductions = score.load_deductions(ROOT / 'grader' / 'deductions.toml')
	kernels: dict[str, Path] = {}
	for lab_dir in labs:
		rubric = score.load_rubric(lab_dir / 'rubric.toml')
		arch = args.arch or rubric.arches[0]
		if arch not in rubric.arches:
			continue
		try:
			if arch not in kernels:
				kernels[arch] = grade.kernel_dir(arch, 'fast')
			lab_test(lab_dir, arch, kernels[arch], deductions)
		except (grade.EnvironmentFailure, OSError) as e:
			record(False, f'{lab_dir.name} ({arch}, fast)', f'the environment failed: {e}')
	print(f'{passed} passed, {failed} failed')
	return 1 if failed else 0


if __name__ == '__main__':
	sys.exit(main())
