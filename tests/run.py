#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make test: kmemlab's own tests.

1. The grader's unit tests on KTAP/console fixtures (tests/test_grader.py).
2. skel/ is what skelgen writes from solutions/.
3. For every arch and every lab that runs there: in the graded (debug)
   kernel, the solution earns full marks and the rubric names exactly the
   cases the suite reports, in the suite's order; in the fast kernel, the
   skeleton builds and scores below full marks without breaking the grader.
4. Every typical mistake listed in kunit/NN-name/mutants.toml, applied to a
   copy of the solution, loses points in the cases it names: on the arches
   its `arches` lists, else on the lab's default arch (make mutants ARCH=..
   runs every mistake on the arch asked for); one with `run = "NAME"` only
   in the rubric's [runs.NAME] run.
4b. Each run a rubric names ([runs.NAME], labs 07 and 08: iommu) on its own
   kernel: the solution earns full marks, the rubric lists the cases in
   order, the skeleton scores below full marks.
5. make grade-class on a small class with bad entries (tests/classgrade.py);
   make dist's student edition holds no answer and grades a skeleton
   (tests/dist.py); make autograder's Gradescope bundle grades a solution,
   a skeleton and a zip with an extra folder (tests/autograder.py); make
   shell sessions (tests/shell.py); make check TEST=glob (tests/testfilter.py);
   make gdb sessions (tests/gdb_session.py); a solution broken in one test
   of each lab keeps the points of the others (tests/resume.py).
6. On x86_64, hostile submissions made from lab 00 (tests/hostile.py) lose
   their marks with a named reason and touch nothing on the host; those that
   attack or break the results (tests/integrity.py, fast kernel) get their
   verdict or deduction, score below full marks, and write valid
   results.json and junit.xml.

Every VM run is a job of grader/pool.py: --jobs (default: the JOBS
environment variable, else the number of cores) of them run side by side,
longest first; each PASS/FAIL line says how long its job took.

Ends with "N passed, N failed". Options: --arch (repeatable), --lab
(repeatable), --quick (only the fast kernel and no mutants), --mutants (only
the mistakes), --integrity (only the hostile submissions), --jobs N.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import unittest
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'grader'))

sys.path.insert(0, str(ROOT / 'tests'))

import build  # noqa: E402
import grade  # noqa: E402
import hostile  # noqa: E402
import autograder  # noqa: E402
import classgrade  # noqa: E402
import dist  # noqa: E402
import integrity  # noqa: E402
import testfilter  # noqa: E402


def tests_module(name: str):
	"""tests/<name>.py, whatever else on the path has that name
	(grader/shell.py beside tests/shell.py)."""
	spec = importlib.util.spec_from_file_location(f'tests_{name}', ROOT / 'tests' / f'{name}.py')
	module = importlib.util.module_from_spec(spec)
	spec.loader.exec_module(module)
	return module


shell_sessions = tests_module('shell')
gdb_session = tests_module('gdb_session')
resume = tests_module('resume')
recipe = tests_module('recipe')
import pool  # noqa: E402
import report  # noqa: E402
import score  # noqa: E402
from outcome import Outcome  # noqa: E402

passed = failed = 0
# (lab, arch) -> [killed, total]: typical mistakes that lost points.
mutant_tally: dict[tuple[str, str], list[int]] = {}
tally_lock = threading.Lock()


def record(ok: bool, name: str, why: str = '', seconds: float = -1) -> None:
	global passed, failed
	took = f' [{seconds:.1f}s]' if seconds >= 0 else ''
	if ok:
		passed += 1
		print(f'PASS {name}{took}')
	else:
		failed += 1
		print(f'FAIL {name}{took}: {why}')
	sys.stdout.flush()


class Results:
	"""What one job records, printed when the job ends (jobs run side by
	side; their lines never interleave)."""

	def __init__(self):
		self.lines: list[tuple[bool, str, str]] = []

	def __call__(self, ok: bool, name: str, why: str = '') -> None:
		self.lines.append((ok, name, why))


def job(name: str, cost: float, fn, *args) -> pool.Job:
	"""A pool job that calls fn(record, *args) and returns what it recorded."""
	def run():
		rec, start = Results(), time.monotonic()
		try:
			fn(rec, *args)
		except grade.EnvironmentFailure as e:
			rec(False, name, f'environment: {e}')
		return rec.lines, time.monotonic() - start
	return pool.Job(name, run, cost)


def job_done(j: pool.Job, value, error, progress: pool.Progress) -> None:
	if error:
		record(False, j.name, f'internal error: {type(error).__name__}: {error}')
		return
	lines, seconds = value
	for ok, name, why in lines:
		record(ok, name, why, seconds)
	if progress.done % 10 == 0 or progress.done == progress.total:
		print(f'     {progress.line()}')


def unit_tests() -> None:
	suite = unittest.defaultTestLoader.discover(str(ROOT / 'tests'), pattern='test_*.py')
	tests = list(iter_tests(suite))	# the runner empties the suite
	result = unittest.TextTestRunner(stream=io.StringIO(), verbosity=2).run(suite)
	bad = {t.id(): e.strip().splitlines()[-1] for t, e in result.failures + result.errors}
	for test in tests:
		record(test.id() not in bad, f'grader unit: {test.id().split(".", 1)[-1]}', bad.get(test.id(), ''))


def iter_tests(suite):
	for t in suite:
		if isinstance(t, unittest.TestSuite):
			yield from iter_tests(t)
		else:
			yield t


def skels_in_sync() -> None:
	proc = subprocess.run([sys.executable, ROOT / 'skelgen' / 'skelgen.py', '--check'],
			      capture_output=True, text=True, check=False)
	record(proc.returncode == 0, 'skel/ matches skelgen output', (proc.stdout + proc.stderr).strip())


def reported_order(result: score.LabResult) -> list[str]:
	"""The cases in the order the first VM reported them (its parsed run,
	kept on the result)."""
	return list(result.parsed.cases) if result.parsed else []


def grade_lab(lab_dir: Path, src: str, arch: str, flavour: str, kdir: Path,
	      timeout: int = 0, run: str = '') -> tuple[grade.Lab, score.LabResult]:
	lab = grade.Lab(lab_dir, src, arch, flavour, kdir, run)
	if timeout:
		lab.rubric.timeout = timeout
	deductions = score.load_deductions(ROOT / 'grader' / 'deductions.toml')
	result = lab.grade(deductions)
	if not result.full_marks:	# one folder per submission: jobs run side by side
		grade.save_transcript(ROOT / 'results' / 'test' / (Path(src).name + (f'-{run}' if run else '')), lab, result)
	return lab, result


def summary(r: score.LabResult) -> str:
	lost = [f'{t.key}: {t.reason}' for t in r.tests if t.outcome.failed][:3]
	lost += [f'deduction {d.kind}: {d.text}' for d in r.deductions]
	return f'{r.points}/{r.max_points} {r.problem} ' + '; '.join(lost) + \
		(f' (transcript {r.transcript})' if r.transcript else '')


def cost(lab_dir: Path, flavour: str) -> float:
	"""A rough estimate of one graded run, in seconds (for the job order)."""
	timeout = score.load_rubric(lab_dir / 'rubric.toml').timeout
	debug = flavour in score.DEBUG_FLAVOURS
	return (40 if debug else 8) + timeout / (3 if debug else 20)


def lab_jobs(lab_dir: Path, arch: str, flavour: str, kdirs, mutants: bool) -> list[pool.Job]:
	"""The solution (graded kernel) and the skeleton (fast kernel) of one
	lab on one arch, and its typical mistakes."""
	name = f'{lab_dir.name} ({arch}, {flavour})'
	jobs = [job(f'{name}: solution', cost(lab_dir, flavour), solution_test, lab_dir, arch, flavour, kdirs),
		job(f'{lab_dir.name} ({arch}, fast): skeleton', cost(lab_dir, 'fast'),
		    skeleton_test, lab_dir, arch, kdirs)]
	return jobs + (mutant_jobs(lab_dir, arch, kdirs, default_arch_only=True) if mutants else [])


def run_jobs(lab_dir: Path, run: score.LabRun, kdirs, solution: bool = True) -> list[pool.Job]:
	"""A rubric's [runs.NAME] on its own kernel: the solution and the
	skeleton (unless not solution), and the typical mistakes that name the
	run."""
	name = f'{lab_dir.name} ({run.name} run)'
	jobs = [job(f'{name}: solution', cost(lab_dir, run.flavour), solution_test, lab_dir, run.arch,
		    run.flavour, kdirs, run.name),
		job(f'{name}: skeleton', cost(lab_dir, run.flavour), skeleton_test, lab_dir, run.arch,
		    kdirs, run)] if solution else []
	spec = ROOT / 'kunit' / lab_dir.name / 'mutants.toml'
	for m in tomllib.loads(spec.read_text()).get('mutant', []) if spec.is_file() else []:
		if m.get('run') == run.name:
			mname = f'{name} mistake "{m["name"]}"'
			jobs.append(job(mname, cost(lab_dir, run.flavour), mutant_test, mname, m, lab_dir,
					run.arch, kdirs))
	return jobs


def solution_test(record, lab_dir: Path, arch: str, flavour: str, kdirs, run: str = '') -> None:
	name = f'{lab_dir.name} ({run} run)' if run else f'{lab_dir.name} ({arch}, {flavour})'
	lab, sol = grade_lab(lab_dir, 'solutions', arch, flavour, kdirs(flavour), run=run)
	record(sol.full_marks, f'{name}: solution earns full marks', summary(sol))
	reported = reported_order(sol)
	rubric = list(lab.rubric.points)
	record(reported == rubric, f'{name}: rubric lists the suite\'s cases in order',
	       f'suite reported {reported}, rubric has {rubric}')


def skeleton_test(record, lab_dir: Path, arch: str, kdirs, run: score.LabRun = None) -> None:
	"""The skeleton on the fast kernel (or a rubric run's own): it only
	has to build, load and fail."""
	flavour = run.flavour if run else 'fast'
	_, skel = grade_lab(lab_dir, 'skel', arch, flavour, kdirs(flavour), run=run.name if run else '')
	where = f'{run.name} run' if run else f'{arch}, fast'
	record(skel.outcome is not Outcome.NOT_BUILT and skel.points < skel.max_points,
	       f'{lab_dir.name} ({where}): skeleton builds and scores below full marks', summary(skel))


def mutant_jobs(lab_dir: Path, arch: str, kdirs, default_arch_only: bool = False) -> list[pool.Job]:
	"""The lab's typical mistakes on arch: those whose `arches` name it; with
	default_arch_only (make test), a mistake without `arches` only on the
	lab's default arch (the first of its rubric), else on every arch."""
	spec = ROOT / 'kunit' / lab_dir.name / 'mutants.toml'
	if not spec.is_file():
		return []
	default = score.load_rubric(lab_dir / 'rubric.toml').arches[0]
	jobs = []
	for m in tomllib.loads(spec.read_text()).get('mutant', []):
		flavour = m.get('flavour', 'fast')
		if m.get('run') or arch not in m.get('arches', [default] if default_arch_only else [arch]):
			continue
		name = f'{lab_dir.name} ({arch}, {flavour}) mistake "{m["name"]}"'
		jobs.append(job(name, cost(lab_dir, flavour), mutant_test, name, m, lab_dir, arch, kdirs))
	return jobs


def mutant_test(record, name: str, m: dict, lab_dir: Path, arch: str, kdirs) -> None:
	run = m.get('run', '')
	flavour = score.load_rubric(lab_dir / 'rubric.toml').runs[run].flavour if run else m.get('flavour', 'fast')
	with tempfile.TemporaryDirectory(prefix='kmemlab-mutant-') as tmp:
		src = Path(tmp) / Path(tmp).name	# a build/ folder of its own
		shutil.copytree(ROOT / 'solutions' / lab_dir.name, src / lab_dir.name)
		target = src / lab_dir.name / m['file']
		text = target.read_text()
		if text.count(m['replace']) != 1:
			record(False, name, f'the text to replace occurs {text.count(m["replace"])} times in {m["file"]}')
			return
		text = text.replace(m['replace'], m['with'])
		for old, new in m.get('also', []):
			text = text.replace(old, new, 1)
		target.write_text(text)
		lab, r = grade_lab(lab_dir, str(src), arch, flavour, kdirs(flavour), run=run)
	lost = {t.key for t in r.tests if t.outcome.failed} | {f'deduction.{d.kind}' for d in r.deductions}
	want = set(m.get('fails', [])) | {f'deduction.{k}' for k in m.get('deducts', [])}
	caught = want <= lost and r.points < r.max_points
	record(caught, name, f'expected losses in {sorted(want - lost) or "score"}; got {summary(r)}')
	with tally_lock:
		tally = mutant_tally.setdefault((lab_dir.name, arch), [0, 0])
		tally[0] += r.points < r.max_points
		tally[1] += 1
	if caught:	# its build trees are of no further use; a failure keeps them
		shutil.rmtree(lab.bdir.parent, ignore_errors=True)
		build.remove_unused(lab.student.dir)	# unless another grader uses it (same source)


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
	if data['score'] != result.points:
		return f'results.json says {data["score"]}, the result {result.points}'
	return ''


def integrity_jobs(kdirs) -> list[pool.Job]:
	"""Lab 00 submissions that attack or break the results (tests/integrity.py),
	on the fast x86_64 kernel."""
	lab_dir = grade.find_labs(['00'])[0]
	# kind -> (check of the result: '' or what is wrong, VM time limit)
	def forged(r):
		return '' if r.outcome is Outcome.FORGED and r.verdict == score.FORGED and r.points == 0 \
			else 'no forged-results verdict with score 0'

	def fate(kind):
		def check(r):
			kinds = [d.kind for d in r.deductions]
			# The suite and program that ran before the first rmmod.
			kept = all(t.outcome.passed for t in r.tests
				   if t.key.split('.')[0] in ('kmemlab_hello', 'hello_user'))
			return '' if kind in kinds and r.points < r.max_points and kept and not r.verdict \
				else f'expected deduction {kind}, the tests keeping their points'
		return check

	def hung_exit(r):
		why = fate('exit-hung')(r)
		waited = [w for d in r.deductions for w in d.where]
		# Its exit ends in a tail call to wait_for_completion(), so no frame
		# of the module's is left: delete_module(2)'s is the place.
		return why or ('' if any('time ran out: rmmod' in w for w in waited)
			       and any('delete_module' in w for w in waited)
			       else f'no place where rmmod waited under the deduction: {waited}')

	def bad_bytes(r):
		text = json.dumps([report.clean(report.test_output(r, t)) for t in r.tests])
		return '' if r.points < r.max_points and '\\\\x05' in text else 'the control bytes did not reach the results'

	cases = {
		'forged-ktap': (forged, 0),
		'forged-markers': (forged, 0),
		'exit-crashes': (fate('exit-crashed'), 0),
		'no-exit': (fate('rmmod-failed'), 0),
		'exit-hangs': (hung_exit, 30),	# the VM's limit covers the build too
		'bad-bytes': (bad_bytes, 0),
	}
	def one(record, name, kind, check, timeout):
		with tempfile.TemporaryDirectory(prefix='kmemlab-hostile-') as tmp:
			src = integrity.make(kind, Path(tmp) / f'hostile-{kind}-{os.getpid()}')
			lab, r = grade_lab(lab_dir, str(src), 'x86_64', 'fast', kdirs('fast'), timeout)
		why = check(r) or outputs_valid(r)
		record(not why, name, f'{why}; got {summary(r)}')
		if not why:
			shutil.rmtree(lab.bdir.parent, ignore_errors=True)

	jobs = []
	for kind, (check, timeout) in cases.items():
		name = f'integrity: 00-hello (x86_64, fast) submission "{kind}"'
		jobs.append(job(name, 30 if timeout else 8, one, name, kind, check, timeout))
	return jobs


def main() -> int:
	ap = argparse.ArgumentParser()
	ap.add_argument('--arch', action='append', default=[])
	ap.add_argument('--lab', action='append', default=[])
	ap.add_argument('--quick', action='store_true', help='fast kernel only, no mutants')
	ap.add_argument('--mutants', action='store_true', help='only the typical mistakes')
	ap.add_argument('--integrity', action='store_true', help='only the hostile submissions')
	ap.add_argument('--jobs', type=int, default=pool.default_workers(), help='VMs at once')
	args = ap.parse_args()
	arches = args.arch or ['x86_64', 'i386']
	flavour = 'fast' if args.quick else 'debug'

	if not (args.mutants or args.integrity):
		unit_tests()
		skels_in_sync()
	labs = grade.find_labs(args.lab)
	jobs = []
	for arch in arches:
		# Every kernel this run needs, found (or built, one at a time)
		# before any job starts.
		kernels = {}
		# The runs rubrics name on this arch, on their own kernels
		# (make test, make mutants; not --quick).
		runs = [(l, r) for l in labs for r in score.load_rubric(l / 'rubric.toml').runs.values()
			if r.arch == arch and not (args.quick or args.integrity)]
		try:
			for fl in ('fast',) if args.quick or args.integrity else ('fast', 'debug'):
				kernels[fl] = grade.kernel_dir(arch, fl)
			for fl in sorted({r.flavour for _, r in runs} - set(kernels)):
				kernels[fl] = grade.kernel_dir(arch, fl)
		except grade.EnvironmentFailure as e:
			record(False, f'{arch} lab kernel', str(e))
			continue
		kdir = kernels.__getitem__
		if arch == 'x86_64' and not args.mutants and any(l.name == '00-hello' for l in labs):
			debug = not (args.quick or args.integrity)
			jobs.append(job('hostile: lab 00 submissions (x86_64)', 200 if debug else 40,
					hostile.run, kdir, debug))
			jobs += integrity_jobs(kdir)
			if not args.integrity:
				jobs.append(job('grade-class: a small class', 40, classgrade.run))
				jobs.append(job('dist: the student edition', 40, dist.run))
				jobs.append(job('autograder: the Gradescope bundle', 240, autograder.run))
				jobs.append(job('make shell: lab 00 sessions (x86_64, fast)', 30, shell_sessions.run))
				jobs.append(job('TEST=glob: lab 00 (x86_64 and i386, fast)', 40, testfilter.run))
				jobs.append(job('make gdb: lab 00 sessions (x86_64, gdb kernel)', 60, gdb_session.run))
				for c in resume.cases():	# a crash in one test of each lab
					jobs.append(job(f'resume: {c["lab"]} ({c["arch"]}, fast)', 40, resume.run_case, c))
		if args.integrity:
			continue
		if not args.mutants:
			jobs.append(job(f'recorded Kbuild steps ({arch}, fast)', 15, recipe.run, arch, kdir))
		for lab_dir in labs:
			if arch not in score.load_rubric(lab_dir / 'rubric.toml').arches:
				continue
			if args.mutants:
				jobs += mutant_jobs(lab_dir, arch, kdir)
			else:
				jobs += lab_jobs(lab_dir, arch, flavour, kdir, mutants=not args.quick)
		for lab_dir, run in runs:
			jobs += run_jobs(lab_dir, run, kdir, solution=not args.mutants)
	print(f'     {len(jobs)} VM jobs, {args.jobs} at once')
	sys.stdout.flush()
	pool.run(jobs, args.jobs, job_done)
	print_mutant_tally()
	print(f'{passed} passed, {failed} failed')
	return 1 if failed else 0


def print_mutant_tally() -> None:
	"""Per lab and arch: typical mistakes that lose points / mistakes tried.
	A mistake counts as killed when it loses any points; make test also
	requires the tests it names to be the ones that fail."""
	if not mutant_tally:
		return
	print('\ntypical mistakes killed (lost points) / tried:')
	for (lab, arch), (killed, total) in sorted(mutant_tally.items()):
		print(f'  {lab:<22} {arch:<7} {killed:3d}/{total:<3d}')
	killed = sum(k for k, _ in mutant_tally.values())
	total = sum(n for _, n in mutant_tally.values())
	print(f'  {"all":<30} {killed:3d}/{total:<3d}')


if __name__ == '__main__':
	sys.exit(main())
