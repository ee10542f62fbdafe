# SPDX-License-Identifier: GPL-2.0
"""Turn a parsed VM run into points, with the rubric of the lab.

The rubric is the only list of tests: a rubric case that never reported
scores zero with the reason why (did not build, insmod failed, the kernel
crashed, the VM timed out). Points belong to the rubric, not to the tests.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from outcome import Outcome, Problem, not_run, test_reason
if TYPE_CHECKING:	# annotations only: vmlog comes with the first parsed run
	from vmlog import Case, Report, Run, Step

TIMEOUT_STATUS = 124


# Kernel flavours with the debug aids (KASAN, kmemleak, lockdep, the
# DMA-API checker): debug, and iommu, which is debug plus ACPI and Intel's
# IOMMU (qemu-env/config/iommu.config).
DEBUG_FLAVOURS = ('debug', 'iommu')


def vm_limit(timeout: int, flavour: str) -> int:
	"""Seconds a lab's VM may take on a kernel flavour: the rubric's
	timeout, set for the graded (debug) kernels, whose KASAN, kmemleak and
	lockdep make every lab several times slower; half of it, at least
	30 s, on the fast kernel (make check, and a graded run on it such as
	lab 04's la57 row), where every lab's solution takes under a tenth of
	that (docs/performance.md), so that a hang costs the student, and make
	test, half the wait."""
	return timeout if flavour in DEBUG_FLAVOURS else max(30, timeout // 2)


@dataclass
class LabRun:
	"""A rubric's [runs.NAME] table: one more way the lab is graded, on
	its own kernel flavour and VM, as a result row of its own."""
	name: str
	arch: str
	flavour: str
	memory: str
	append: str	# the kernel arguments of this run, instead of the rubric's append


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
	# [hidden]: cases whose results students see only once grades are
	# published, and the files of kunit/NN-name/ that hold them (left out
	# of the student edition, see dist/export.py).
	hidden: list[str] = field(default_factory=list)
	hidden_files: list[str] = field(default_factory=list)
	runs: dict[str, LabRun] = field(default_factory=dict)	# [runs.NAME], see load_runs
	# The guest's clock under TCG (qemu-env/run-vm.sh, QEMU_ICOUNT): "host",
	# or "icount" (instructions counted, idle time skipped) for a lab that
	# mostly waits on guest timers, as labs 07 and 08 wait on edu's DMA.
	clock: str = 'host'

	@property
	def total(self) -> int:
		return sum(self.points.values())

	def for_run(self, name: str) -> 'Rubric':
		"""This rubric as the run NAME grades it: the run's arch, memory
		and kernel arguments; the same tests and points. A copy (its
		points a dict of its own), '' for the lab's own run. KeyError: no
		such run."""
		if not name:
			return replace(self, points=dict(self.points))
		r = self.runs[name]
		return replace(self, arches=[r.arch], memory=r.memory, append={r.arch: r.append},
			       points=dict(self.points))


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
	hidden, hidden_files = load_hidden(path, data.get('hidden', {}), points)
	clock = data.get('clock', 'host')
	if clock not in CLOCKS:
		raise RubricError(f'{path}: clock is one of {", ".join(CLOCKS)} (not {clock!r})')
	return Rubric(lab=path.parent.name, title=data.get('title', path.parent.name),
		      arches=arches, memory=data.get('memory', '256M'),
		      timeout=int(data.get('timeout', 60)), points=points, append=append,
		      sources=sources, hidden=hidden, hidden_files=hidden_files,
		      runs=load_runs(path, data.get('runs', {}), arches, data.get('memory', '256M')),
		      clock=clock)


CLOCKS = ('host', 'icount')


RUN_NAME = re.compile(r'^[a-z][a-z0-9-]*$')


def load_runs(path: Path, table, arches: list[str], memory: str) -> dict[str, LabRun]:
	"""The rubric's [runs.NAME] tables: NAME (lower case) -> LabRun. Each
	takes arch (one of the rubric's arches), flavour (a kernel flavour of
	qemu-env/build-kernel.sh other than gdb: fast, debug or iommu), memory
	(default: the rubric's) and append (default: none)."""
	if not isinstance(table, dict):
		raise RubricError(f'{path}: [runs.NAME] tables hold arch, flavour, memory, append')
	runs = {}
	for name, t in table.items():
		if not RUN_NAME.match(name) or not isinstance(t, dict) or set(t) - {'arch', 'flavour', 'memory', 'append'}:
			raise RubricError(f'{path}: [runs.{name}]: a lower-case name, and arch, flavour, memory, append')
		if t.get('arch') not in arches or t.get('flavour') not in ('fast', 'debug', 'iommu'):
			raise RubricError(f'{path}: [runs.{name}] needs arch = one of {arches} and flavour = '
					  '"fast", "debug" or "iommu"')
		if t.get('flavour') == 'iommu' and t['arch'] != 'x86_64':
			raise RubricError(f'{path}: [runs.{name}]: the iommu flavour is x86_64 only')
		mem, append = t.get('memory', memory), t.get('append', '')
		if not isinstance(mem, str) or not isinstance(append, str):
			raise RubricError(f'{path}: [runs.{name}]: memory and append are strings')
		runs[name] = LabRun(name, t['arch'], t['flavour'], mem, append)
	return runs


HIDDEN_FILE = re.compile(r'^(user/)?[A-Za-z0-9_][A-Za-z0-9_-]*\.c$')


def load_hidden(path: Path, table, points: dict[str, int]) -> tuple[list[str], list[str]]:
	"""The rubric's [hidden] table: (cases, files). cases are keys of
	[points]; files are C files of kunit/NN-name/ ("x_test.c" for a KUnit
	suite, "user/x.c" for a user program) that hold those cases."""
	if not isinstance(table, dict) or set(table) - {'cases', 'files'}:
		raise RubricError(f'{path}: [hidden] takes cases = ["suite.case", ...] and files = ["file.c", ...]')
	cases, files = table.get('cases', []), table.get('files', [])
	if not isinstance(cases, list) or not isinstance(files, list):
		raise RubricError(f'{path}: [hidden] cases and files are lists')
	unknown = [c for c in cases if c not in points]
	if unknown:
		raise RubricError(f'{path}: [hidden] cases not in [points]: {", ".join(map(str, unknown))}')
	bad = [f for f in files if not isinstance(f, str) or not HIDDEN_FILE.match(f)]
	if bad:
		raise RubricError(f'{path}: [hidden] files are "name.c" or "user/name.c" of kunit/NN-name/'
				  f' (bad: {", ".join(map(str, bad))})')
	if cases and not files or files and not cases:
		raise RubricError(f'{path}: [hidden] needs both the cases and the files that hold them')
	if len(cases) == len(points):
		raise RubricError(f'{path}: [hidden] hides every case: students would have no test')
	return list(cases), list(files)


def load_deductions(path: Path) -> dict[str, int]:
	return tomllib.loads(path.read_text())['percent']


@dataclass
class TestScore:
	key: str		# suite.case
	points: int
	max_points: int
	outcome: Outcome
	seconds: float = 0.0
	timed: bool = False	# seconds was measured (False: the test never ran to its end)
	cause: str = ''		# the text its reason is made of (outcome.test_reason)
	details: list[str] = field(default_factory=list)
	hidden: bool = False	# a [hidden] case: shown to students once grades are published
	problem: Optional[Problem] = None	# the lab's problem, when that kept it from running

	@property
	def reason(self) -> str:
		"""One line: why points were lost or skipped ('' for a pass)."""
		return test_reason(self.outcome, self.cause, self.problem)


@dataclass
class Deduction:
	kind: str
	points: int
	text: str		# the first such report
	count: int
	where: list[str] = field(default_factory=list)	# the lines that locate the first report


@dataclass
class LabResult:
	lab: str
	arch: str
	flavour: str
	tests: list[TestScore]
	deductions: list[Deduction] = field(default_factory=list)
	run: str = ''		# a rubric's [runs.NAME] this row grades, '' for the lab's own run
	halted: Optional[Problem] = None	# why the lab did not run to its end
	warnings: list[str] = field(default_factory=list)	# compiler warnings
	notes: list[str] = field(default_factory=list)	# e.g. files of the submission not used
	verdict: str = ''	# what zeroed the lab: forged-results, or a grader/forbidden.toml rule's kind
	transcript: Optional[Path] = None
	seconds: float = 0.0
	serial: str = ''	# the VM's console log
	qemu_log: str = ''
	channel: str = ''	# the VM's results channel
	test_glob: str = ''	# TEST=: only the rubric tests it matches were graded
	left_out: list[str] = field(default_factory=list)	# the rubric tests TEST= left out
	# One line per fresh VM that went on after a crash or hang (grader/boots.py).
	resumes: list[str] = field(default_factory=list)
	stopped: str = ''	# why no fresh VM went on after the last one stopped in a test (boots.stopped_line)
	boots: list = field(default_factory=list)	# every VM's boots.Boot (plan, parsed run, logs)

	@property
	def problem(self) -> str:
		"""One line, when the lab did not run to the end ('' when it did)."""
		return self.halted.text if self.halted else ''

	@property
	def outcome(self) -> Optional[Outcome]:
		"""What kept the lab from running to its end (None: nothing)."""
		return self.halted.outcome if self.halted else None

	@property
	def parsed(self) -> Optional[Run]:
		"""The first VM's parsed run (vmlog.parse); None when no VM ran."""
		return self.boots[0].run if self.boots else None

	@property
	def max_points(self) -> int:
		return sum(t.max_points for t in self.tests if not t.outcome.skipped)

	@property
	def points(self) -> int:
		if self.verdict:
			return 0
		earned = sum(t.points for t in self.tests)
		return max(0, earned - sum(d.points for d in self.deductions))

	@property
	def full_marks(self) -> bool:
		return self.points == self.max_points and not self.halted


def deduct(result: LabResult, rubric: Rubric, deductions: dict[str, int], kind: str,
	   text: str, count: int) -> None:
	"""Take a deduction found outside the VM (e.g. sparse at build time)."""
	pts = round(rubric.total * deductions.get(kind, 0) / 100)
	result.deductions.append(Deduction(kind, pts, text, count))


def unrun(rubric: Rubric, problem: Problem) -> list[TestScore]:
	"""Every test of the rubric, not run because of the lab's problem."""
	out = not_run(problem)
	return [TestScore(k, 0, p, out, problem=None if out is Outcome.FORGED else problem,
			  hidden=k in rubric.hidden)
		for k, p in rubric.points.items()]


def failure(case: Case) -> tuple[Outcome, str]:
	"""A case that reported and did not pass: (its outcome, the cause a
	student most needs: the kernel's report, or the test's own message and
	where)."""
	if case.reports:
		r = case.reports[0]
		return Outcome.KERNEL_REPORT, f'{r.kind}: {r.text}'
	if case.status == 'crash':
		return Outcome.FAILED, 'the test did not finish'
	if case.message:
		return Outcome.FAILED, case.message
	lines = [d.lstrip('# ').strip() for d in case.diagnostics]
	return Outcome.FAILED, next((l for l in lines if l), '')


def stopped(run: Run, status: int) -> Problem:
	"""Why the VM stopped early (run.finished is False), and in which step:
	the kernel crashed, it timed out, QEMU stopped it, or it just ended."""
	step = run.stopped_step
	where = f"step {step.number} '{(step.verb + ' ' + step.args).strip()}'" if step else 'boot'
	if run.panic:
		first = next((r for r in run.stop_reports + run.reports if r.kind != 'panic'), None)
		return Problem(Outcome.CRASHED, first.text if first else run.panic.text, where)
	if status == TIMEOUT_STATUS:
		return Problem(Outcome.TIMED_OUT, '', where)
	device = next((r for r in run.reports if r.kind == 'device'), None)
	if device:
		return Problem(Outcome.QEMU_STOPPED, device.text, where)
	return Problem(Outcome.VM_STOPPED, '', where, status)


def stop_test(key: str, points: int, stop: Problem, details: list[str], hidden: bool = False) -> TestScore:
	"""The test that was running when the VM stopped: 0, the stop as its outcome."""
	return TestScore(key, 0, points, stop.outcome, cause=stop.cause, details=details, hidden=hidden)


# What a crash or a hang usually means, for the student (the kernel command
# line of qemu-env/run-vm.sh: watchdog_thresh=5; the hung-task detector's
# 120 s, CONFIG_DEFAULT_HUNG_TASK_TIMEOUT), as (a pattern searched in the
# report's line, a word of one of the lines that locate it, the RIP/EIP and
# the trace, or '' for any) -> the hint, in which {0}, {1}... are the
# pattern's groups.
HINTS = {
	('Bad pagetable', ''): 'a bad page-table entry: the pte of that address holds a frame number '
			       'beyond physical memory, so a pfn given to remap_pfn_range() or written '
			       'in a pte was not one of a page of RAM',
	('soft lockup', ''): 'a soft lockup: the CPU ran kernel code for over 10 s without ever scheduling, '
			     'usually a loop that never ends or a spinlock that is never released '
			     '(the RIP/EIP line shows where it spun)',
	('blocked for more than', ''): 'a hung task: it slept uninterruptibly for 120 s of the guest\'s clock, '
				       'usually on a mutex never unlocked, a completion never completed or a '
				       'wait_event() whose condition never comes true',
	# remap_pte_range()'s BUG_ON(!pte_none()) (mm/memory.c, inlined into
	# remap_pfn_range_notrack()); the driver's frame is often not in the
	# trace: its mmap handler tail-calls remap_pfn_range().
	('kernel BUG at mm/memory.c', 'remap_pfn_range'):
		'remap_pfn_range() met a page-table entry already set in the range it was to fill: '
		'the length given runs past the end of the VMA (at most vma->vm_end - vma->vm_start '
		'from vma->vm_start), or the range was mapped before',
	# 0x1 to 0xfff: the first page, never mapped.
	(r'NULL pointer dereference, address: 0+([1-9a-f][0-9a-f]{0,2})$', ''):
		'address 0x{0} is NULL plus a small offset: a field of a structure reached through a '
		'NULL pointer, or a small number (a count, an index) used as a pointer',
}
TIMEOUT_HINT = ('no result within the lab\'s {limit} s, and no lockup detector fired: usually an '
		'interruptible or killable wait that nobody ends (wait_event_interruptible(), '
		'wait_for_completion_killable()), a loop that sleeps or calls schedule() and never ends, '
		'or a user program stuck in a system call')
BEFORE_STOP_SHOWN = 4	# failures logged before a crash, shown under the test
STUCK_SHOWN = 3		# tasks whose wait is shown under a test that timed out


def stuck_details(run: Run) -> list[str]:
	"""Where the guest's tasks waited as the time ran out (vmlog's
	Run.stuck): the tasks whose stacks lead into a module (the student's
	or the lab's) first, at most STUCK_SHOWN of them."""
	mine = sorted(run.stuck, key=lambda lines: not any(re.search(r' \[\w+\]$', l) for l in lines))
	out = []
	for lines in mine[:STUCK_SHOWN]:
		out.append('when the time ran out: ' + lines[0].removeprefix('kmemlab: stuck: '))
		out += lines[1:]
	if len(mine) > STUCK_SHOWN:
		out.append(f'... and {len(mine) - STUCK_SHOWN} more tasks (transcript)')
	return out


def stop_details(run: Run, status: int, limit: int) -> list[str]:
	"""What a student needs under the test that was running when the VM
	stopped: where the kernel report points (the report, RIP/EIP, the call
	trace up to the first module frame), a hint for a hang, and the
	failures the test logged before the stop."""
	first = next((r for r in run.stop_reports if r.kind != 'panic'), None) or run.panic
	out = list(first.where) if first else []
	if run.last_param:	# a parameterised case: which parameter was running
		case, number, desc = run.last_param
		out.append(f'{case}: parameter {number} ("{desc}") was the last to end before the stop')
	hint = next((h.format(*m.groups()) for (k, w), h in HINTS.items()
		     if first and (m := re.search(k, first.text))
		     and (not w or any(w in line for line in first.where))), '')
	if hint:
		out.append(f'hint: {hint}')
	elif not run.panic and status == TIMEOUT_STATUS:
		out += stuck_details(run)
		out.append('hint: ' + TIMEOUT_HINT.format(limit=limit))
	logged = run.before_stop
	out += [f'logged before the VM stopped: {m}' for m in logged[:BEFORE_STOP_SHOWN]]
	if len(logged) > BEFORE_STOP_SHOWN:
		out.append(f'... and {len(logged) - BEFORE_STOP_SHOWN} more failures logged (transcript)')
	return out


# KTAP diagnostics that are KUnit's bookkeeping, not what a test has to say.
# A case's attributes, as KUnit prints them before its result
# (lib/kunit/attributes.c, kunit_print_attr(): "# case.speed: slow").
BOOKKEEPING = re.compile(r'^# \S+: (?:pass:\d+ fail:\d+|Test should be marked slow)'
			 r'|^# [\w-]+\.(?:speed|module|is_init): ')


def passing_diagnostics(case: Case) -> list[str]:
	"""What a passing test printed for the student (a measurement, what it
	found), without its "# case: " prefix."""
	return [re.sub(r'^# \S+: ', '', d) for d in case.diagnostics
		if d.startswith('# ') and not BOOKKEEPING.match(d)]


FORGED = 'forged-results'


def forged_reasons(rubric: Rubric, run: Run) -> list[str]:
	"""Why this run's results cannot be trusted (empty: they can)."""
	reasons = list(run.forged)
	suites = {k.split('.', 1)[0] for k in rubric.points}
	for step, suite in run.foreign_suites:
		if suite in suites:
			reasons.append(f"KUnit results for {suite} came from step {step.number} "
				       f"'{step.verb} {step.args}', which loads no module of the lab's suite")
	return reasons


def hung_task(run: Run) -> bool:
	"""Did the kernel's hung-task detector stop the VM (a task asleep
	uninterruptibly for 120 s of the guest's clock: kernel/hung_task.c
	panics with "hung_task: blocked tasks")? That is a hang, as the VM's
	time limit is, not a crash. With the guest's idle time skipped
	(qemu-env/run-vm.sh) it often comes first."""
	return run.panic is not None and run.panic.text.startswith('hung_task')


def step_fates(run: Run, status: int, flavour: str) -> list[tuple[str, str, Optional[Step]]]:
	"""What the steps after the tests cost: (kind, text, the step whose
	kernel reports the text already covers). An rmmod that hangs or stops
	the VM, one that fails (the module stays loaded), a leak check that did
	not run on the debug kernel, a run that ended without /init's signal."""
	fates: list[tuple[str, str, Optional[Step]]] = []
	stopped = run.stopped_step
	if stopped and stopped.verb == 'rmmod':
		if status == TIMEOUT_STATUS:
			fates.append(('exit-hung', f'rmmod {stopped.args} did not return (the VM timed out)', stopped))
		else:
			said = [r for r in run.reports + run.stop_reports if r.kind != 'panic'
				and stopped.first < r.line - 1 <= stopped.last]
			what = said[0].text if said else run.panic.text if run.panic else 'the VM stopped'
			kind = 'exit-hung' if hung_task(run) else 'exit-crashed'
			fates.append((kind, f'rmmod {stopped.args} never ended: {what}', stopped))
	for step in run.steps:
		if step.verb == 'rmmod' and step.rc not in (0, None):
			said = [l.strip() for l in step.output if l.strip()]
			fates.append(('rmmod-failed', f'rmmod {step.args} failed, the module stays loaded: '
				      + (said[-1] if said else f'exit status {step.rc}'), None))
	if flavour in DEBUG_FLAVOURS:
		checks = [s for s in run.steps if s.verb == 'leakcheck']
		ran = [s for s in checks if s.rc == 0 and not any('no kmemleak' in l for l in s.output)]
		if not ran:
			why = 'the VM stopped before it' if not checks or checks[-1].rc is None else \
				f'it failed: {" ".join(checks[-1].output)[:100] or checks[-1].rc}'
			fates.append(('leakcheck-not-run', f'the leak check did not run: {why}', None))
	return fates


def score(rubric: Rubric, run: Run, status: int, deductions: dict[str, int],
	  arch: str, flavour: str) -> LabResult:
	result = LabResult(rubric.lab, arch, flavour, [])
	forged = forged_reasons(rubric, run)
	if forged:
		result.verdict = FORGED
		result.halted = Problem(Outcome.FORGED, forged[0], more=len(forged) - 1)
		result.tests = unrun(rubric, result.halted)
		result.tests[0].details = forged	# once, not under every test
		return result
	stop = None
	failed_load = next((s for s in run.steps if s.verb == 'insmod' and s.rc not in (0, None)), None)
	if not run.finished:
		result.halted = stop = stopped(run, status)
	elif failed_load:
		said = [l.strip() for l in failed_load.output if l.strip()]
		out = next((l for l in said if l.startswith('insmod:')), said[-1] if said else f'exit status {failed_load.rc}')
		result.halted = Problem(Outcome.INSMOD_FAILED, out.strip(), failed_load.args.split()[0])

	open_cases = [k for k in rubric.points if run.open_suite and k.startswith(run.open_suite + '.')]
	crashed_case = None
	if not run.finished and run.open_suite:
		# The first case with no end on the console, nor a result (its
		# console line may be lost when the VM stopped right after it).
		crashed_case = next((k for k in open_cases if k not in run.on_console and k not in run.cases), None)
	for key, pts in rubric.points.items():
		case = run.cases.get(key)
		if key == crashed_case:
			result.tests.append(stop_test(key, pts, stop, stop_details(run, status, rubric.timeout)))
		elif case is None and key in open_cases and key in run.on_console:
			result.tests.append(TestScore(key, 0, pts, Outcome.NOT_COUNTED,
						      details=[f'the console showed it failing: {m}'
							       for m in run.console_failures.get(key, [])]))
		elif case is None:
			result.tests.append(TestScore(key, 0, pts, not_run(result.halted), problem=result.halted))
		elif case.status == 'skip':
			result.tests.append(TestScore(key, 0, pts, Outcome.SKIPPED, case.seconds, case.timed,
						      cause=case.skip_reason))
		elif case.status == 'pass' and not case.reports:
			result.tests.append(TestScore(key, pts, pts, Outcome.PASSED, case.seconds, case.timed,
						      details=passing_diagnostics(case)))
		else:
			details = case.diagnostics + [l for r in case.reports[:3] for l in r.where]
			outcome, cause = failure(case)
			result.tests.append(TestScore(key, 0, pts, outcome, case.seconds, case.timed, cause, details))

	fates = step_fates(run, status, flavour)
	covered = [s for _, _, s in fates if s is not None and s.first >= 0]
	by_kind: dict[str, list[Report]] = {}
	for report in run.reports:
		if report.kind == 'device' and result.outcome is Outcome.QEMU_STOPPED:
			continue	# the stop itself already cost the tests it took down
		if any(s.first < report.line - 1 <= s.last for s in covered):
			continue	# printed while the step a fate charges ran
		by_kind.setdefault(report.kind, []).append(report)
	for kind, reports in by_kind.items():
		pts = round(rubric.total * deductions.get(kind, 0) / 100)
		result.deductions.append(Deduction(kind, pts, reports[0].text, len(reports), reports[0].where))
	for kind in dict.fromkeys(k for k, _, _ in fates):	# once per kind, the first text
		same = [text for k, text, _ in fates if k == kind]
		pts = round(rubric.total * deductions.get(kind, 0) / 100)
		# An rmmod the VM's limit stopped: where its tasks waited.
		where = [same[0]] + stuck_details(run) if kind == 'exit-hung' and status == TIMEOUT_STATUS else []
		result.deductions.append(Deduction(kind, pts, same[0], len(same), where))
	if not run.finished and not result.deductions and not any(t.outcome.failed for t in result.tests):
		kind = 'unfinished'
		pts = round(rubric.total * deductions.get(kind, 0) / 100)
		result.deductions.append(Deduction(kind, pts, f'the run did not finish: {result.problem}', 1))
	for t in result.tests:
		t.hidden = t.key in rubric.hidden
	return result
