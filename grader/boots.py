# SPDX-License-Identifier: GPL-2.0
"""Go on after a crash or a hang: when the kernel stops during test X of a
lab, a fresh VM grades the tests X took down, and the VMs' runs make one
result (docs/grading.md, "A crash costs the test it happened in").

A lab's steps (Lab.steps(): insmod, run, rmmod, leakcheck, ...) are the
*planned* steps. Each VM runs a Plan: its /lab/steps as Items, each tied to
the planned step it stands for, and the rubric tests the VM is to grade.
The first VM runs the planned steps as they are. When it stops inside a
test (crash()), the next Plan (next_plan()) is:

1. the module loads in force at the planned step that stopped, again
   (a suite module among them with KUnit's filter matching no suite, so it
   runs nothing again);
2. the other tests of that step, one step each, KUnit's filter
   (kunit.filter_glob, written by /init's "filter" step) set to exactly
   that test before it: a suite module loaded once per case (and removed
   between cases), a user program run once per case (ktap_user.h reports
   the others as skipped). Of a KUnit suite that means every case but X,
   since KUnit reports a suite's results only when it ends; of a user
   program, the cases after X (those before it were reported). A case
   begun with ktap_chain_case() builds on the ones before it and runs
   even when the filter leaves it out: when X is one, any run of the
   program runs X again, so the program's cases after X are lost with it
   (and when the chain stops a VM behind a case run alone, its first case
   without a result is X);
3. the filter back as it was, and the planned steps after that one.

merge() makes one LabResult of the VMs' parsed runs: each test is scored
by the last VM that was to grade it; X fails with the crash; a kernel
report outside the tests costs its deduction once per kind, whichever VM
saw it; the crash or hang costs its own deduction (crashed, hung).

Bounds (go_on()): at most MAX_RESUMES fresh VMs, each with the lab's
time limit; no fresh VM starts once the lab's VMs have used BUDGET times
that limit, so the whole lab's VM time is at most (BUDGET + 1) times it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Optional

import score
import vmlog
from outcome import Outcome, test_reason

MAX_RESUMES = 3
BUDGET = 2
# A glob no suite matches (the lab suites are named like C identifiers):
# a suite module loaded again to restore the VM's state runs no case.
NO_SUITE = '-'
EVERY = '*'	# KUnit's filter as if unset (kunit_module_init's default is *.*)
LEFT_OUT = 'left out by kunit.filter_glob='	# ktap_user.h's skip reason


@dataclass
class Item:
	"""One line of a VM's /lab/steps."""
	text: str		# "insmod m.ko arg=1", "run prog args", "filter suite.case", ...
	origin: int		# index of the planned step it stands for; -1: none (receive, filter)
	key: str = ''		# the one rubric test this step runs ('' : a step as planned)
	replay: bool = False	# loads a module again, to restore the state of an earlier step


@dataclass
class Plan:
	"""What one VM runs, and which rubric tests it grades."""
	items: list[Item]
	owns: list[str]		# rubric keys, in the rubric's order

	@property
	def text(self) -> str:
		return ''.join(f'{i.text}\n' for i in self.items)


@dataclass
class Crash:
	"""The test a VM stopped in, and what it took down with it."""
	key: str		# X, the rubric test that was running
	origin: int		# the planned step X was in
	pending: list[str]	# the other tests of that step still to grade, in order
	lost: list[str] = field(default_factory=list)	# lost with X: a run of their program runs X again
	hung: bool = False	# the VM hit its time limit (not a crash)


@dataclass
class Boot:
	"""One VM run of a lab: its plan, what it left, its parsed run."""
	plan: Plan
	run: vmlog.Run
	status: int		# run-vm.sh's exit status (score.TIMEOUT_STATUS: time-out)
	seconds: float = 0.0	# VM time counted against the lab's limit
	crash: Optional[Crash] = None
	serial: str = ''
	channel: str = ''
	qemu: str = ''
	secret: str = ''	# the channel's tag in this VM


def bound(vms: list[Boot], limit: int) -> str:
	"""The bound that keeps a fresh VM from starting after these, as the
	report says it, or '': at most MAX_RESUMES fresh VMs, none once the
	VMs have used BUDGET times the lab's time limit (limit, in seconds)."""
	if len(vms) > MAX_RESUMES:
		return f'no fresh VM after {MAX_RESUMES} (at most {MAX_RESUMES} a lab)'
	if sum(v.seconds for v in vms) >= BUDGET * limit:
		return f'no fresh VM once the lab\'s VMs have run {BUDGET} times its time limit ({BUDGET * limit} s)'
	return ''


def go_on(vms: list[Boot], limit: int) -> bool:
	"""Does a fresh VM go on after the last of these? Only after a crash or
	hang in a test, and within the bounds."""
	return vms[-1].crash is not None and not bound(vms, limit)


def planned_steps(steps: str) -> list[str]:
	"""The step lines of a /lab/steps text, as /init reads them (blank
	lines and lines whose first word starts with '#' are no steps)."""
	out = []
	for line in steps.splitlines():
		words = line.split()
		if words and not words[0].startswith('#'):
			out.append(line.strip())
	return out


def first_plan(steps: str, keys: list[str], receive: bool = True) -> Plan:
	"""The first VM's plan: "receive" (the student's module, over the lab
	port) then the planned steps, every test to grade."""
	items = [Item('receive', -1)] if receive else []
	items += [Item(text, n) for n, text in enumerate(planned_steps(steps))]
	return Plan(items, list(keys))


def module_of(text: str) -> str:
	"""The module an "insmod m.ko ..." step loads ('' for other steps)."""
	words = text.split()
	return words[1].removesuffix('.ko') if len(words) > 1 and words[0] == 'insmod' else ''


def left_out(case: vmlog.Case) -> bool:
	"""A case a user program reported skipped because the filter left it out."""
	return case.status == 'skip' and case.skip_reason.startswith(LEFT_OUT)


def graded(run: vmlog.Run) -> set[str]:
	"""The tests a run has a result for (a case left out by the filter has none)."""
	return {k for k, c in run.cases.items() if not left_out(c)}


def suite_of(key: str) -> str:
	return key.split('.', 1)[0]


def crash(plan: Plan, run: vmlog.Run, status: int, suite_modules,
	  chains: dict[str, set[str]]) -> Optional[Crash]:
	"""The test the VM stopped in, or None when it finished or stopped
	outside every test (while loading the student's module, in an rmmod,
	the leak check, or a run whose results are void).

	suite_modules: the lab's KUnit modules; chains: per user program, its
	cases that build on each other (ktap_chain_case(): they run even when
	the filter leaves them out, so a rerun of the program would run X
	again). X is named by the step itself in a step that runs one test;
	else by the first case of the running suite or program that has not
	ended: KUnit prints a case's line on the console
	when it ends (its results reach the channel only when the suite ends);
	a user program's result lines go to the channel, then to the console,
	and ktap_user.h waits for /init to take each one before it goes on.
	The console names no score, only where the VM stopped: a line forged
	there to move X makes the real X run again in the next VM, which then
	stops in X's own step."""
	step = run.stopped_step
	if run.finished or step is None or run.forged or not 0 < step.number <= len(plan.items):
		return None
	item = plan.items[step.number - 1]
	hung = (status == score.TIMEOUT_STATUS and run.panic is None) or score.hung_task(run)
	if item.key:
		at = plan.items.index(item)
		pending = [i.key for i in plan.items[at + 1:] if i.origin == item.origin and i.key]
		chain = chains.get(step.args.split()[0], set()) if step.verb == 'run' else set()
		if item.key in graded(run) and chain:
			# The case ended: the program's chain, which runs (muted) in
			# every run, stopped the VM. Every later run would run it too.
			owned = [k for k in plan.owns if suite_of(k) == suite_of(item.key) and k not in graded(run)]
			x = next((k for k in owned if k.split('.', 1)[1] in chain), None)
			if x is None:
				return None
			return Crash(x, item.origin, [], lost=[k for k in pending if k != x], hung=hung)
		if item.key.split('.', 1)[1] in chain:
			return Crash(item.key, item.origin, [], lost=pending, hung=hung)
		return Crash(item.key, item.origin, pending, hung=hung)
	if item.replay or item.origin < 0:
		return None
	done = graded(run)
	if step.verb == 'insmod' and step.module in set(suite_modules):
		if not run.open_suite:
			return None
		tests = [k for k in plan.owns if suite_of(k) == run.open_suite and k not in done]
		x = next((k for k in tests if k not in run.on_console), None)
		if x is None:
			return None
		return Crash(x, item.origin, [k for k in tests if k != x], hung=hung)
	if step.verb == 'run':
		docs = vmlog.split_docs(step.output)
		doc = vmlog.read_doc(docs[-1]) if docs else None
		if doc is None or not doc.suite or doc.problem:
			return None
		# A result line the channel lost when the VM stopped may be on the
		# console, which /init writes next: that case ended (and runs
		# again, since only the channel's results count).
		tests = [k for k in plan.owns if suite_of(k) == doc.suite and k not in done]
		x = next((k for k in tests if k not in run.on_console), None)
		if x is None:
			return None
		others = [k for k in tests if k != x]
		if x.split('.', 1)[1] in chains.get(step.args.split()[0], set()):
			return Crash(x, item.origin, [], lost=others, hung=hung)
		return Crash(x, item.origin, others, hung=hung)
	return None


def next_plan(steps: str, plan: Plan, run: vmlog.Run, x: Crash, suite_modules,
	      test_glob: str = '') -> Plan:
	"""The plan of the VM that goes on after crash x of the VM that ran
	plan (see the module's docstring). steps: the lab's planned steps;
	suite_modules: its KUnit modules; test_glob: the run's TEST= glob (''
	none), which the filter goes back to."""
	planned = planned_steps(steps)
	suites = set(suite_modules)
	here = x.origin
	items: list[Item] = []
	glob = ''	# the filter as the plan leaves it ('': as the VM booted)

	def set_filter(value: str, origin: int = -1) -> None:
		nonlocal glob
		if glob != value:
			items.append(Item(f'filter {value}', origin))
			glob = value

	loaded: dict[str, int] = {}	# module -> the planned step that loaded it
	for n, text in enumerate(planned[:here]):
		words = text.split()
		if words[0] == 'insmod':
			loaded[module_of(text)] = n
		elif words[0] == 'rmmod':
			for m in words[1:]:
				loaded.pop(m.removesuffix('.ko'), None)
	for n in sorted(loaded.values()):
		if module_of(planned[n]) in suites:
			set_filter(NO_SUITE)
		items.append(Item(planned[n], n, replay=True))
	text = planned[here]
	module = module_of(text)
	for k, key in enumerate(x.pending):
		set_filter(key, here)
		items.append(Item(text, here, key=key))
		if module and k < len(x.pending) - 1:
			items.append(Item(f'rmmod {module}', here))
	if module and not x.pending:	# it stays loaded for the steps after it
		set_filter(NO_SUITE)
		items.append(Item(text, here, replay=True))
	if glob:
		set_filter(test_glob or EVERY)
	items += [Item(planned[n], n) for n in range(here + 1, len(planned))]
	done = graded(run) | {x.key} | set(x.lost)
	return Plan(items, [k for k in plan.owns if k not in done])


def without_left_out(run: vmlog.Run) -> vmlog.Run:
	"""The run with no case the filter left out (a user program run for
	one case reports the others skipped: they are no result)."""
	return dataclasses.replace(run, cases={k: c for k, c in run.cases.items() if not left_out(c)})


MERGED_AWAY = ('leakcheck-not-run', 'unfinished')	# a VM that another went on after


def merge(rubric: score.Rubric, boots: list[Boot], deductions: dict[str, int],
	  arch: str, flavour: str) -> score.LabResult:
	"""One result from the VMs that graded a lab, in order. A single VM
	that stopped in no test is scored exactly as score.score() scores it."""
	results = [score.score(rubric, without_left_out(b.run), b.status, deductions, arch, flavour)
		   for b in boots]
	void = next((r for r in results if r.verdict), None)
	if void:	# the VMs up to the one whose results are void, in the transcript
		void.resumes = [resume_line(rubric, b, nxt) for b, nxt in zip(boots, boots[1:])]
		return void
	if len(boots) == 1 and boots[0].crash is None:
		return results[0]
	tests: dict[str, score.TestScore] = {}
	for b, r in zip(boots, results):
		owned = set(b.plan.owns)
		for t in r.tests:
			if t.key in owned:
				tests[t.key] = t
		x = b.crash
		if x is None:
			continue
		details = score.stop_details(b.run, b.status, rubric.timeout)
		if b is not boots[-1]:
			details.append('the other tests it took down were graded in a fresh VM')
		tests[x.key] = score.stop_test(x.key, rubric.points[x.key], score.stopped(b.run, b.status),
					       details, hidden=x.key in rubric.hidden)
		for k in x.lost:
			tests[k] = score.TestScore(k, 0, rubric.points[k], Outcome.LOST, cause=shown(rubric, x.key),
						   hidden=k in rubric.hidden)
	result = score.LabResult(rubric.lab, arch, flavour, [tests[k] for k in rubric.points])
	result.halted = results[-1].halted
	kinds: dict[str, score.Deduction] = {}
	for n, r in enumerate(results):
		for d in r.deductions:
			if n < len(results) - 1 and d.kind in MERGED_AWAY:
				continue
			if d.kind in kinds:
				kinds[d.kind].count = max(kinds[d.kind].count, d.count)
			else:
				kinds[d.kind] = d
	for b in boots:
		if b.crash is None:
			continue
		kind = 'hung' if b.crash.hung else 'crashed'
		stop = score.stopped(b.run, b.status)
		if kind in kinds:
			kinds[kind].count += 1
		else:
			pts = round(rubric.total * deductions.get(kind, 0) / 100)
			kinds[kind] = score.Deduction(kind, pts, f'{shown(rubric, b.crash.key)}: '
						      f'{test_reason(stop.outcome, stop.cause)}', 1)
	last, owned = boots[-1], set(boots[-1].plan.owns)
	if not last.run.finished and last.crash is None and not results[-1].deductions and \
	   not any(t.outcome.failed for t in result.tests if t.key in owned):
		pts = round(rubric.total * deductions.get('unfinished', 0) / 100)
		kinds['unfinished'] = score.Deduction('unfinished', pts,
						      f'the run did not finish: {result.problem}', 1)
	result.deductions = list(kinds.values())
	result.resumes = [resume_line(rubric, b, nxt) for b, nxt in zip(boots, boots[1:])]
	result.stopped = stopped_line(rubric, boots, result)
	return result


def shown(rubric: score.Rubric, key: str) -> str:
	"""A test's name as every student may read it (a [hidden] one is not named)."""
	return 'a hidden test' if key in rubric.hidden else key


def stop_why(rubric: score.Rubric, b: Boot) -> str:
	"""Why VM b stopped in a test: "the kernel crashed in X", "X hung (...)"."""
	x = b.crash
	name = shown(rubric, x.key) if x else 'a step'
	if x and x.hung:
		return f'{name} hung (' + ('the kernel\'s hung-task detector stopped it)' if score.hung_task(b.run)
					   else 'the VM hit its time limit)')
	return f'the kernel crashed in {name}'


def stopped_line(rubric: score.Rubric, vms: list[Boot], result: score.LabResult) -> str:
	"""When the last VM stopped in a test and none went on after it (the
	bounds of go_on()): why, and how many tests that left without a
	result. '' when the last VM did not stop in a test."""
	last = vms[-1]
	if last.crash is None:
		return ''
	owned = set(last.plan.owns) - {last.crash.key} - set(last.crash.lost)
	n = sum(1 for t in result.tests if t.key in owned and t.outcome is Outcome.NOT_RUN)
	left = f', so the {n} test{"s" if n != 1 else ""} after it did not run' if n else ''
	return f'{stop_why(rubric, last)}: {bound(vms, rubric.timeout) or "no fresh VM went on"}{left}'


def resume_line(rubric: score.Rubric, b: Boot, nxt: Boot) -> str:
	"""What a student reads of one fresh VM: why, and what it went on with."""
	why = stop_why(rubric, b)
	n = len(nxt.plan.owns)
	if not n:
		return f'{why}: a fresh VM ran the steps after it'
	return f'{why}: a fresh VM went on with the {n} test{"s" if n != 1 else ""} left'
