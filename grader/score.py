# SPDX-License-Identifier: GPL-2.0
"""Turn a parsed VM run into points, with the rubric of the lab.

The rubric is the only list of tests: a rubric case that never reported
scores zero with the reason why (did not build, insmod failed, the kernel
crashed, the VM timed out). Points belong to the rubric, not to the tests.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from vmlog import Case, Report, Run

TIMEOUT_STATUS = 124


@dataclass
class Rubric:
	lab: str
	title: str
	arches: list[str]
	memory: str
	timeout: int
	points: dict[str, int]	# "suite.case" -> points, in suite order
	append: dict[str, str] = field(default_factory=dict)	# arch -> extra kernel arguments
	sources: list[str] = field(default_factory=list)	# [student] sources: the files taken

	@property
	def total(self) -> int:
		return sum(self.points.values())


class RubricError(Exception):
	pass


def load_rubric(path: Path) -> Rubric:
	try:
		data = tomllib.loads(path.read_text())
	except (OSError, tomllib.TOMLDecodeError) as e:
		raise RubricError(f'{path}: {e}') from e
	points = data.get('points', {})
	bad = [k for k, v in points.items() if '.' not in k or not isinstance(v, int) or v <= 0]
	if not points or bad:
		raise RubricError(f'{path}: [points] needs "suite.case" = positive integer entries'
				  + (f' (bad: {", ".join(bad)})' if bad else ''))
	arches = data.get('arches', ['x86_64'])
	# append = "args" (every arch) or append = { x86_64 = "args" }
	append = data.get('append', '')
	append = {a: append for a in arches} if isinstance(append, str) else dict(append)
	# The only files taken from a submission: plain names of C files.
	sources = data.get('student', {}).get('sources', [])
	if not sources or not all(isinstance(s, str) and s.endswith('.c') and '/' not in s
				  and not s.startswith('.') for s in sources):
		raise RubricError(f'{path}: [student] needs sources = ["name.c", ...] (plain file names)')
	return Rubric(lab=path.parent.name, title=data.get('title', path.parent.name),
		      arches=arches, memory=data.get('memory', '256M'),
		      timeout=int(data.get('timeout', 60)), points=points, append=append,
		      sources=sources)


def load_deductions(path: Path) -> dict[str, int]:
	return tomllib.loads(path.read_text())['percent']


@dataclass
class TestScore:
	key: str		# suite.case
	points: int
	max_points: int
	status: str		# pass, fail, skip
	seconds: float = 0.0
	reason: str = ''	# one line: why points were lost or skipped
	details: list[str] = field(default_factory=list)


@dataclass
class Deduction:
	kind: str
	points: int
	text: str		# the first such report
	count: int


@dataclass
class LabResult:
	lab: str
	arch: str
	flavour: str
	tests: list[TestScore]
	deductions: list[Deduction] = field(default_factory=list)
	problem: str = ''	# one line, when the lab did not run to the end
	warnings: list[str] = field(default_factory=list)	# compiler warnings
	notes: list[str] = field(default_factory=list)	# e.g. files of the submission not used
	verdict: str = ''	# kind of the grader/forbidden.toml rule that zeroed the lab
	transcript: Optional[Path] = None
	seconds: float = 0.0
	serial: str = ''	# the VM's console log
	qemu_log: str = ''

	@property
	def max_points(self) -> int:
		return sum(t.max_points for t in self.tests if t.status != 'skip')

	@property
	def points(self) -> int:
		earned = sum(t.points for t in self.tests)
		return max(0, earned - sum(d.points for d in self.deductions))

	@property
	def full_marks(self) -> bool:
		return self.points == self.max_points and not self.problem


def deduct(result: LabResult, rubric: Rubric, deductions: dict[str, int], kind: str,
	   text: str, count: int) -> None:
	"""Take a deduction found outside the VM (e.g. sparse at build time)."""
	pts = round(rubric.total * deductions.get(kind, 0) / 100)
	result.deductions.append(Deduction(kind, pts, text, count))


def unrun(rubric: Rubric, reason: str) -> list[TestScore]:
	return [TestScore(k, 0, p, 'fail', reason=reason) for k, p in rubric.points.items()]


def failure_reason(case: Case) -> str:
	"""The line a student most needs: the test's own message, and where."""
	if case.reports:
		r = case.reports[0]
		return f'kernel reported {r.kind}: {r.text}'
	if case.status == 'crash':
		return 'the test did not finish'
	if case.message:
		return case.message
	lines = [d.lstrip('# ').strip() for d in case.diagnostics]
	return next((l for l in lines if l), 'failed')


def stop_reason(run: Run, status: int) -> tuple[str, str]:
	"""(why the VM stopped early, the same in a phrase for a test)."""
	step = run.stopped_step
	where = f"step {step.number} '{step.verb} {step.args}'" if step else 'boot'
	if run.panic:
		first = next((r for r in run.stop_reports + run.reports if r.kind != 'panic'), None)
		what = first.text if first else run.panic.text
		return f'kernel crashed during {where}: {what}', f'kernel crashed: {what}'
	if status == TIMEOUT_STATUS:
		return f'timed out during {where}', 'timed out while this test ran'
	device = next((r for r in run.reports if r.kind == 'device'), None)
	if device:
		return f'QEMU stopped the VM during {where}: {device.text}', f'QEMU stopped the VM: {device.text}'
	return f'the VM stopped during {where} (QEMU exit status {status})', 'the VM stopped while this test ran'


def score(rubric: Rubric, run: Run, status: int, deductions: dict[str, int],
	  arch: str, flavour: str) -> LabResult:
	result = LabResult(rubric.lab, arch, flavour, [])
	in_test = ''
	failed_load = next((s for s in run.steps if s.verb == 'insmod' and s.rc not in (0, None)), None)
	if not run.finished:
		result.problem, in_test = stop_reason(run, status)
	elif failed_load:
		said = [l.strip() for l in failed_load.output if l.strip()]
		out = next((l for l in said if l.startswith('insmod:')), said[-1] if said else f'exit status {failed_load.rc}')
		result.problem = f"insmod {failed_load.args.split()[0]} failed: {out.strip()}"

	crashed_case = None
	if not run.finished and run.open_suite:
		crashed_case = next((k for k in rubric.points if k.startswith(run.open_suite + '.')
				     and k not in run.cases), None)
	for key, pts in rubric.points.items():
		case = run.cases.get(key)
		if key == crashed_case:
			result.tests.append(TestScore(key, 0, pts, 'fail', reason=in_test,
						      details=[r.text for r in run.stop_reports]))
		elif case is None:
			why = result.problem or 'did not run: no KTAP result for this test'
			result.tests.append(TestScore(key, 0, pts, 'fail', reason=f'not run: {why}'))
		elif case.status == 'skip':
			result.tests.append(TestScore(key, 0, pts, 'skip', case.seconds,
						      reason=f'skipped: {case.skip_reason or "no reason given"}'))
		elif case.status == 'pass' and not case.reports:
			result.tests.append(TestScore(key, pts, pts, 'pass', case.seconds))
		else:
			details = case.diagnostics + [l for r in case.reports for l in r.context]
			result.tests.append(TestScore(key, 0, pts, 'fail', case.seconds,
						      failure_reason(case), details))

	by_kind: dict[str, list[Report]] = {}
	for report in run.reports:
		if report.kind == 'device' and result.problem.startswith('QEMU stopped the VM'):
			continue	# the stop itself already cost the tests it took down
		by_kind.setdefault(report.kind, []).append(report)
	for kind, reports in by_kind.items():
		pts = round(rubric.total * deductions.get(kind, 0) / 100)
		result.deductions.append(Deduction(kind, pts, reports[0].text, len(reports)))
	return result
