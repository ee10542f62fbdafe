# SPDX-License-Identifier: GPL-2.0
"""What became of a test, or of a whole lab, as a value; and the one place
where it is put into words.

Outcome is what the grader decides about one rubric test (score.TestScore's
outcome) and, for the outcomes marked "a lab's", why a whole lab did not
run to its end (score.LabResult's halted, a Problem). Everything that reads
a result (the terminal report, results.json, junit.xml, make test, the
Gradescope wrapper) reads these values; the English a student reads is
made only here:

  test_reason(outcome, cause, problem) -> the one line under a test
  problem_line(problem)                -> the one line of a lab ("!! ...")

cause is the free text that goes into that line: the test's own message, a
kernel report, a skip reason, the name of the test that stopped the VM.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Optional


class Outcome(enum.Enum):
	"""What became of one test. The value is the word results.json
	(extra_data.outcome) and junit.xml (the type of a failure) carry."""
	PASSED = 'passed'		# passed, and the kernel reported nothing during it
	FAILED = 'failed'		# its own check failed (cause: its message)
	KERNEL_REPORT = 'kernel-report'	# the kernel reported a bug during it (cause: "kind: text")
	SKIPPED = 'skipped'		# leaves the total (cause: the test's reason)
	# The VM stopped while it ran (each a lab's outcome too, in another step):
	CRASHED = 'crashed'		# the kernel crashed (cause: the kernel's words)
	QEMU_STOPPED = 'qemu-stopped'	# QEMU stopped the VM (cause: what QEMU said)
	VM_STOPPED = 'vm-stopped'	# the VM ended otherwise (QEMU's exit status)
	TIMED_OUT = 'timed-out'		# the VM hit its time limit
	NOT_COUNTED = 'not-counted'	# its suite never ended: a result on the console only
	NOT_RUN = 'not-run'		# no result: the VM stopped before it, or none came
	LOST = 'lost'			# a chained case of its program stopped the VM (cause: that test)
	# A lab's: no test of it could run (each test gets the same outcome).
	NO_SUBMISSION = 'no-submission'	# no submission, lab folder or listed source
	SUITE_NOT_BUILT = 'suite-not-built'	# the lab's own suite or programs did not build
	NOT_BUILT = 'not-built'		# the student's module did not build
	FORBIDDEN = 'forbidden'		# the deny list refused the module (grader/forbidden.toml)
	INSMOD_FAILED = 'insmod-failed'	# a module of the lab did not load
	FORGED = 'forged'		# results not to be trusted: the lab scores 0

	@property
	def passed(self) -> bool:
		return self is Outcome.PASSED

	@property
	def skipped(self) -> bool:
		return self is Outcome.SKIPPED

	@property
	def failed(self) -> bool:
		"""Lost its points (neither passed nor skipped)."""
		return self not in (Outcome.PASSED, Outcome.SKIPPED)

	@property
	def stopped_vm(self) -> bool:
		"""The VM stopped while this test ran (or while the lab's step did)."""
		return self in STOPS

	@property
	def whole_lab(self) -> bool:
		"""An outcome that keeps every test of the lab from running."""
		return self in WHOLE_LAB


STOPS = (Outcome.CRASHED, Outcome.QEMU_STOPPED, Outcome.VM_STOPPED, Outcome.TIMED_OUT)
WHOLE_LAB = (Outcome.NO_SUBMISSION, Outcome.SUITE_NOT_BUILT, Outcome.NOT_BUILT, Outcome.FORBIDDEN,
	     Outcome.INSMOD_FAILED, Outcome.FORGED)


@dataclass
class Problem:
	"""Why a lab did not run to its end: outcome is a whole-lab one or a
	stop (STOPS); cause is what the build, the deny list, insmod or the
	kernel said (one line); where is the step the VM stopped in ("step 2
	'insmod m.ko'", "boot") or, for INSMOD_FAILED, the module; status is
	QEMU's exit status (VM_STOPPED); more counts further findings (FORGED)."""
	outcome: Outcome
	cause: str = ''
	where: str = ''
	status: int = 0
	more: int = 0

	@property
	def text(self) -> str:
		return problem_line(self)


def problem_line(p: Problem) -> str:
	"""The one line that says why a lab did not run to its end."""
	o = p.outcome
	if o is Outcome.INSMOD_FAILED:
		return f'insmod {p.where} failed: {p.cause}'
	if o is Outcome.FORGED:
		return f'forged results, the lab scores 0: {p.cause}' + (f' (and {p.more} more)' if p.more else '')
	if o is Outcome.CRASHED:
		return f'kernel crashed during {p.where}: {p.cause}'
	if o is Outcome.TIMED_OUT:
		return f'timed out during {p.where}'
	if o is Outcome.QEMU_STOPPED:
		return f'QEMU stopped the VM during {p.where}: {p.cause}'
	if o is Outcome.VM_STOPPED:
		return f'the VM stopped during {p.where} (QEMU exit status {p.status})'
	if o is Outcome.NOT_BUILT:
		return f'module did not build: {p.cause}'
	# NO_SUBMISSION, SUITE_NOT_BUILT, FORBIDDEN: their own line
	# (grader/build.py, grader/forbidden.py), with the student's paths.
	return p.cause


NO_RESULT = 'did not run: no KTAP result for this test'


def test_reason(outcome: Outcome, cause: str = '', problem: Optional[Problem] = None) -> str:
	"""The one line under a test: why it lost its points or was skipped
	('' for a pass). problem: the lab's, for a test not run because of it."""
	o = outcome
	if o is Outcome.PASSED:
		return ''
	if o is Outcome.FAILED:
		return cause or 'failed'
	if o is Outcome.KERNEL_REPORT:
		return f'kernel reported {cause}'
	if o is Outcome.SKIPPED:
		return f'skipped: {cause or "no reason given"}'
	if o is Outcome.CRASHED:
		return f'kernel crashed: {cause}'
	if o is Outcome.QEMU_STOPPED:
		return f'QEMU stopped the VM: {cause}'
	if o is Outcome.VM_STOPPED:
		return 'the VM stopped while this test ran'
	if o is Outcome.TIMED_OUT:
		return 'timed out while this test ran'
	if o is Outcome.NOT_COUNTED:
		return "not counted: its suite never ended, and a suite's results are read when it ends"
	if o is Outcome.FORGED:
		return 'not counted: forged results'
	if o is Outcome.LOST:
		return (f'not run: {cause} stopped the VM, and every run of its program runs it '
			f'(its cases build on each other)')
	# NOT_RUN and the whole-lab outcomes: the lab's problem, if any.
	return f'not run: {problem.text if problem else NO_RESULT}'


def not_run(problem: Optional[Problem]) -> Outcome:
	"""The outcome of a test that did not run because of the lab's problem
	(None: no problem, the test just has no result)."""
	return problem.outcome if problem and problem.outcome.whole_lab else Outcome.NOT_RUN
