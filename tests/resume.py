# SPDX-License-Identifier: GPL-2.0
"""make test: a crash in one test of a lab costs that test alone.

For every lab, tests/resume.toml names an edit of the solution that makes
the kernel crash in one test (X) in the middle of the lab, and only there.
The edit is applied to a copy of the solution, which is graded on the fast
kernel (lab 03 on i386, where its high memory is) as make check grades it.
Checks (grader/boots.py):

- X scores 0 with the crash ("kernel crashed: ...") and what locates it;
- every other test keeps the points the solution earns for it, the cases
  of X's own KUnit suite included, but those the edit also breaks on
  their merits (also_fails), which fail, and the cases of a chain after
  X (lost), which are lost with it (not run);
- the lab loses the "crashed" deduction and nothing else, once;
- one fresh VM went on after X ("resumed: ..." in the report), and the
  transcript holds both VMs' steps, console and results channel.

The name of each check gives the score with and without the fresh VM (the
first VM alone, scored as the grader scored a crash before).

  run(record) - every case, one VM at a time; record(ok, name, why)
  cases() - the cases of tests/resume.toml; run_case(record, case[, flavour])
	grades one (for a pool job each)
  python3 tests/resume.py [--lab NN ...] [--flavour fast|debug]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'grader'))

import build  # noqa: E402
import grade  # noqa: E402
import report  # noqa: E402
import score  # noqa: E402
from outcome import Outcome  # noqa: E402


# The outcome of the test that stopped the VM (grader/outcome.py): the
# kernel crashed, or QEMU's device model stopped it.
STOPPED = (Outcome.CRASHED, Outcome.QEMU_STOPPED)


def cases() -> list[dict]:
	"""tests/resume.toml's cases: lab, arch, file, replace, with, crashes
	(a test, or a list: one fresh VM after each); optional: also (more
	[replace, with] pairs), also_fails (tests the edit breaks on their
	merits), lost (the cases of a chain after the last crash, lost with it)."""
	return tomllib.loads((ROOT / 'tests' / 'resume.toml').read_text())['case']


def broken_copy(case: dict, tmp: Path) -> tuple[Path, str]:
	"""A copy of the lab's solution with the case's edit: (its folder, ''),
	or (_, why the edit does not apply)."""
	src = tmp / f'resume-{case["lab"][:2]}-{os.getpid()}'	# a build/ folder of its own
	shutil.copytree(ROOT / 'solutions' / case['lab'], src / case['lab'])
	target = src / case['lab'] / case['file']
	text = target.read_text()
	if text.count(case['replace']) != 1:
		return src, f'the text to replace occurs {text.count(case["replace"])} times in {case["file"]}'
	text = text.replace(case['replace'], case['with'])
	for old, new in case.get('also', []):
		if text.count(old) != 1:
			return src, f'the text of "also" occurs {text.count(old)} times in {case["file"]}'
		text = text.replace(old, new)
	target.write_text(text)
	return src, ''


def first_vm_alone(lab: grade.Lab, result: score.LabResult, deductions: dict[str, int]) -> score.LabResult:
	"""The first VM's run scored alone: what a crash cost before resuming."""
	first = result.boots[0]
	return score.score(lab.rubric, first.run, first.status, deductions, lab.arch, lab.flavour)


def crashing(case: dict) -> list[str]:
	"""The tests the case's edit crashes the kernel in, in the lab's order."""
	return [case['crashes']] if isinstance(case['crashes'], str) else list(case['crashes'])


def problems(case: dict, result: score.LabResult, transcript: str) -> list[str]:
	"""What is wrong with a broken solution's result (empty: nothing)."""
	xs = crashing(case)
	out = []
	by_key = {t.key: t for t in result.tests}
	for x in xs:
		if x not in by_key:
			return [f'{x} is no test of the rubric']
		t = by_key[x]
		if t.points or t.outcome not in STOPPED or not t.details:
			out.append(f'{x}: {t.points}/{t.max_points} "{t.reason}", want 0 with the crash and where it was')
	merits = case.get('also_fails', [])
	chained = case.get('lost', [])
	lost = [f'{k.key} ({k.reason})' for k in result.tests
		if k.key not in xs and k.outcome.failed and k.key not in merits + chained]
	if lost:
		out.append(f'other tests lost points: {"; ".join(lost)}')
	kept = [k.key for k in result.tests if k.key in merits and not k.outcome.failed]
	if kept:
		out.append(f'tests the edit breaks on their merits passed: {", ".join(kept)}')
	wrong = [f'{k.key} ({k.reason})' for k in result.tests
		 if k.key in chained and (k.points or k.outcome is not Outcome.LOST or k.cause != xs[-1])]
	if wrong:
		out.append(f'tests of the chain not lost with the crash: {"; ".join(wrong)}')
	kinds = [(d.kind, d.count) for d in result.deductions]
	if kinds != [('crashed', len(xs))]:
		out.append(f'deductions {kinds}, want only "crashed" ({len(xs)} times)')
	vms = len(xs) + 1
	if len(result.resumes) != len(xs) or len(result.boots) != vms:
		out.append(f'{len(result.boots) - 1} fresh VMs ({result.resumes}), want {len(xs)}')
	if f'== VM {vms} of {vms}: ' not in transcript:
		out.append('the transcript does not have every VM')
	for section in ('== steps\n', '== serial console\n', '== results channel\n', '== QEMU\n'):
		if transcript.count(section) != vms:
			out.append(f'the transcript has {transcript.count(section)} "{section.strip()}", want {vms}')
	if 'resumed: ' not in report.render_lab(result):
		out.append('the report does not say a fresh VM went on')
	return out


def run_case(record, case: dict, flavour: str = 'fast') -> None:
	lab_dir = ROOT / 'labs' / case['lab']
	arch = case['arch']
	xs = crashing(case)
	name = f'resume: {case["lab"]} ({arch}, {flavour}): a crash in {" and ".join(xs)} costs ' + \
		('that test alone' if len(xs) == 1 else 'those tests alone') + \
		(' and the rest of its chain' if case.get('lost') else '')
	deductions = score.load_deductions(ROOT / 'grader' / 'deductions.toml')
	with tempfile.TemporaryDirectory(prefix='kmemlab-resume-') as tmp:
		src, why = broken_copy(case, Path(tmp))
		if why:
			record(False, name, why)
			return
		lab = grade.Lab(lab_dir, str(src), arch, flavour, grade.kernel_dir(arch, flavour))
		result = lab.grade(deductions)
		grade.save_transcript(Path(tmp) / 'out', lab, result)
		transcript = (Path(tmp) / 'out' / arch / f'{lab.name}.log').read_text(errors='replace')
		alone = first_vm_alone(lab, result, deductions)
		bad = problems(case, result, transcript)
		kept = ROOT / 'results' / 'test' / 'resume' / arch / f'{lab.name}-{flavour}.log'
		kept.unlink(missing_ok=True)	# an earlier failing run's
		if bad:	# keep the transcript for a person to read
			kept.parent.mkdir(parents=True, exist_ok=True)
			shutil.copy(Path(tmp) / 'out' / arch / f'{lab.name}.log', kept)
		record(not bad, f'{name} ({result.points}/{result.max_points}; '
		       f'{alone.points}/{alone.max_points} without the fresh VM)',
		       '; '.join(bad) + f' (transcript {kept.relative_to(ROOT)})')
		if not bad:
			shutil.rmtree(lab.bdir.parent, ignore_errors=True)
			build.remove_unused(lab.student.dir)	# unless another grader uses it (same source)


def run(record, labs: list[str] = (), flavour: str = 'fast') -> None:
	"""Every case of tests/resume.toml (of labs, e.g. ["05"], if given)."""
	for case in cases():
		if not labs or case['lab'][:2] in labs:
			run_case(record, case, flavour)


if __name__ == '__main__':
	ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
	ap.add_argument('--lab', action='append', default=[], help='lab number (repeatable)')
	ap.add_argument('--flavour', default='fast', choices=['fast', 'debug'])
	args = ap.parse_args()
	failures = []

	def show(ok: bool, name: str, why: str = '') -> None:
		print(f'{"PASS" if ok else "FAIL"} {name}' + ('' if ok else f': {why}'), flush=True)
		if not ok:
			failures.append(name)

	run(show, [l.zfill(2) for l in args.lab], args.flavour)
	sys.exit(1 if failures else 0)
