# SPDX-License-Identifier: GPL-2.0
"""Unit tests of the grader and the skeleton generator, on console logs
and results channels.

The fixtures in tests/fixtures/ are real serial logs of lab 00 in the lab
VM: the solution (pass.log), the skeleton (fail.log), a NULL dereference in
one test (crash.log), an endless loop in one test (lockup.log), an init that
fails (insmod-fails.log) and a buffer never freed (leak.log, debug kernel).
They predate the results channel: honest_channel() writes what /init sends
on it for such a run. pass-warm and fail-warm (.log and .channel) are real
runs of the solution and the skeleton with both, warm (the module came over
the lab port). The other cases are made from them here: a skip, a log cut
short by the timeout, reports inside and outside test cases, forged results
of every kind, steps that end badly, garbage, nothing at all.
remap-crash, remap-npd and remap-fail (.log and .channel) are real runs of
lab 05 on the fast x86_64 kernel: a module that maps its vmalloc buffer
with virt_to_page() (the first read through the mapping oopses, "Bad
pagetable"), one whose .mmap takes its device from vm_private_data (NULL:
it oopses itself), and one without the bounds check (failed KUnit checks
with _MSG texts, the measurements of a passing program). fault-nobounds.log
is a real console of lab 06 whose fault handler has no bounds check (a NULL
dereference under a user copy).
"""

import dataclasses
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'grader'))
sys.path.insert(0, str(ROOT / 'skelgen'))
sys.path.insert(0, str(ROOT / 'tests'))

import grade as grade_py  # noqa: E402
import report  # noqa: E402
import score  # noqa: E402
import outcome  # noqa: E402
from outcome import Outcome, Problem  # noqa: E402
import vmlog  # noqa: E402
try:	# the student edition (make dist) has neither: they need the solutions
	import integrity  # noqa: E402
	import skelgen  # noqa: E402
except ImportError:
	integrity = skelgen = None
NO_SOLUTIONS = 'needs the solutions (not in the student edition)'

FIXTURES = ROOT / 'tests' / 'fixtures'
# Lab 00's rubric when the fixtures were recorded (the lab has grown since).
RUBRIC = score.Rubric('00-hello', 'Hello, module', ['x86_64', 'i386'], '256M', 60, {
	'kmemlab_hello.hello_init_ran_once': 1,
	'kmemlab_hello.hello_greet_uses_parameter': 2,
	'kmemlab_hello.hello_greet_returns_length': 1,
	'kmemlab_hello.hello_greet_truncates_to_buffer': 2,
	'kmemlab_hello.hello_greet_rejects_empty_buffer': 1,
	'hello_user.parameter_is_world_readable': 1,
	'hello_user.parameter_holds_insmod_value': 1,
})
DEDUCTIONS = score.load_deductions(ROOT / 'grader' / 'deductions.toml')


SECRET = '0123456789abcdef'
SUITE_MODULES = {'kmemlab_hello_test'}
BEGIN = re.compile(r'^kmemlab: step (\d+) begin: (\S+) ?(.*)$')
END = re.compile(r'^kmemlab: step (\d+) end: rc=(\d+)$')


def fixture(name: str) -> str:
	return (FIXTURES / name).read_text()


def honest_channel(serial: str, secret: str = SECRET) -> str:
	"""What /init sends on the results channel for an honest run with this
	console: the steps, every step's output (here: its console lines, but
	for KUnit's), and the KTAP of each suite that ended as KUnit's debugfs
	file has it. A step still running when the log ends has no KUnit
	results: /init reads them once the insmod returns."""
	out: list[str] = []
	put = lambda text: out.append(f'{secret} {text}')  # noqa: E731
	lines, _ = vmlog.split_timestamps(serial)
	n, verb, suite, doc = None, '', None, []
	for line in lines:
		m = BEGIN.match(line)
		if m:
			n, verb = int(m.group(1)), m.group(2)
			put(f'B {n} {verb} {m.group(3)}'.rstrip())
			continue
		m = END.match(line)
		if m:
			put(f'E {m.group(1)} {m.group(2)}')
			n = None
			continue
		if line.strip() == vmlog.ALL_DONE:
			put('D')
			continue
		if n is None:
			continue
		if verb != 'insmod':
			put(f'O {n} {line}')
			continue
		if line.startswith('insmod:'):
			put(f'O {n} {line}')
		h = vmlog.SUITE_HEADER.match(line)
		if h:
			suite = h.group(1)
			doc = ['KTAP version 1', '1..1', '    KTAP version 1', line]
		elif suite:
			r = vmlog.SUITE_RESULT.match(line)
			if r and r.group(2) == suite:
				doc.append(f'{r.group(1)} 1 {suite}')
				out.extend(f'{secret} K {n} {suite} {l}' for l in doc)
				suite = None
			elif line.strip():
				doc.append(line)
	return '\n'.join(out) + '\n'


def parse(serial: str, qemu: str = '', channel=None) -> vmlog.Run:
	channel = honest_channel(serial) if channel is None else channel
	return vmlog.parse(serial, qemu, channel, SECRET, SUITE_MODULES)


def grade(serial: str, status: int = 0, qemu: str = '', channel=None, flavour='fast') -> score.LabResult:
	return score.score(RUBRIC, parse(serial, qemu, channel), status, DEDUCTIONS, 'x86_64', flavour)


def warm(name: str) -> tuple[str, str, str]:
	"""A real run: (console, channel, its secret)."""
	channel = fixture(f'{name}.channel')
	return fixture(f'{name}.log'), channel, channel.split(' ', 1)[0]


def by_key(result: score.LabResult) -> dict:
	return {t.key: t for t in result.tests}


def insert_before(text: str, marker: str, new_line: str) -> str:
	lines = text.split('\n')
	i = next(n for n, l in enumerate(lines) if marker in l)
	return '\n'.join(lines[:i] + [new_line] + lines[i:])


class ScoreTest(unittest.TestCase):
	def test_all_pass_is_full_marks(self):
		r = grade(fixture('pass.log'))
		self.assertEqual((r.points, r.max_points), (9, 9))
		self.assertTrue(r.full_marks)
		self.assertEqual(r.problem, '')
		self.assertTrue(all(t.outcome.passed for t in r.tests))

	def test_failures_carry_the_suites_message(self):
		r = grade(fixture('fail.log'))
		self.assertEqual(r.points, 0)
		t = by_key(r)['kmemlab_hello.hello_init_ran_once']
		self.assertIs(t.outcome, Outcome.FAILED)
		self.assertIn('module init should run exactly once', t.reason)
		self.assertIn('kmemlab_hello_test.c:15', t.reason)
		user = by_key(r)['hello_user.parameter_holds_insmod_value']
		self.assertIn('cannot read /sys/module/kmemlab_hello/parameters/greeting', user.reason)

	def test_message_survives_kernel_lines_printed_in_between(self):
		log = insert_before(fixture('fail.log'), 'not ok 1 hello_init_ran_once',
				    '[    0.632900] random: crng init done')
		t = by_key(grade(log))['kmemlab_hello.hello_init_ran_once']
		self.assertTrue(t.reason.startswith('module init should run exactly once'), t.reason)

	def test_qemu_hardware_error_is_the_reason(self):
		lines = fixture('pass.log').split('\n')
		cut = next(n for n, l in enumerate(lines) if 'ok 3 hello_greet_returns_length' in l)
		qemu = 'qemu: hardware error: EDU: DMA range 0x40000-0x41000 out of bounds (0x40000-0x40fff)!\n'
		r = grade('\n'.join(lines[:cut + 1]), status=134, qemu=qemu)
		self.assertTrue(r.problem.startswith("QEMU stopped the VM during step 2"), r.problem)
		self.assertIn('out of bounds', by_key(r)['kmemlab_hello.hello_greet_truncates_to_buffer'].reason)
		self.assertEqual(r.deductions, [])

	def test_crash_names_the_test_and_voids_its_unfinished_suite(self):
		# The suite never ended, so /init never read its results: the
		# cases the console shows before the crash are not counted (a
		# console line proves nothing), the crashed one is named.
		r = grade(fixture('crash.log'))
		t = by_key(r)
		self.assertIn('not counted', t['kmemlab_hello.hello_greet_returns_length'].reason)
		crashed = t['kmemlab_hello.hello_greet_truncates_to_buffer']
		self.assertEqual(crashed.points, 0)
		self.assertIn('kernel crashed: kernel NULL pointer dereference', crashed.reason)
		self.assertTrue(t['kmemlab_hello.hello_greet_rejects_empty_buffer'].reason.startswith('not run'))
		self.assertIn("step 2 'insmod kmemlab_hello_test.ko'", r.problem)
		self.assertEqual(r.points, 0)
		self.assertEqual(r.verdict, '')

	def test_crash_keeps_the_results_of_suites_that_ended(self):
		# The user program's results came over the channel before the
		# kernel died in a later step: they keep their points.
		lines = fixture('pass.log').split('\n')
		cut = next(n for n, l in enumerate(lines) if 'step 4 begin' in l)
		log = '\n'.join(lines[:cut + 1] + ['[    1.090000] BUG: kernel NULL pointer dereference, address: 0',
						    '[    1.090000] Kernel panic - not syncing: Fatal exception'])
		r = grade(log)
		# The crash in rmmod costs its fate once, named with the report.
		self.assertEqual(r.points, 9 - round(9 * DEDUCTIONS['exit-crashed'] / 100))
		self.assertEqual([d.kind for d in r.deductions], ['exit-crashed'])
		self.assertIn('NULL pointer dereference', r.deductions[0].text)

	def test_soft_lockup_is_named(self):
		r = grade(fixture('lockup.log'))
		self.assertIn('soft lockup', by_key(r)['kmemlab_hello.hello_greet_truncates_to_buffer'].reason)
		self.assertEqual(r.points, 0)

	def test_insmod_failure_is_one_line_and_zero(self):
		r = grade(fixture('insmod-fails.log'))
		self.assertEqual(r.problem,
				 "insmod kmemlab_hello.ko failed: insmod: can't insert '/lab/kmemlab_hello.ko': No such device")
		self.assertEqual(r.points, 0)

	def test_leak_after_rmmod_is_a_named_deduction(self):
		r = grade(fixture('leak.log'))
		self.assertTrue(all(t.outcome.passed for t in r.tests))
		self.assertEqual([d.kind for d in r.deductions], ['kmemleak'])
		self.assertEqual(r.deductions[0].points, round(9 * DEDUCTIONS['kmemleak'] / 100))
		self.assertEqual(r.points, 9 - r.deductions[0].points)
		self.assertFalse(r.full_marks)

	def test_skipped_case_leaves_the_total(self):
		log = fixture('pass.log').replace('ok 3 hello_greet_returns_length',
						  'ok 3 hello_greet_returns_length # SKIP needs high memory')
		r = grade(log)
		t = by_key(r)['kmemlab_hello.hello_greet_returns_length']
		self.assertIs(t.outcome, Outcome.SKIPPED)
		self.assertIn('needs high memory', t.reason)
		self.assertEqual((r.points, r.max_points), (8, 8))

	def test_timeout_mid_suite(self):
		lines = fixture('pass.log').split('\n')
		cut = next(n for n, l in enumerate(lines) if 'ok 3 hello_greet_returns_length' in l)
		r = grade('\n'.join(lines[:cut + 1]), status=score.TIMEOUT_STATUS)
		t = by_key(r)
		self.assertIn("timed out during step 2 'insmod kmemlab_hello_test.ko'", r.problem)
		self.assertEqual(t['kmemlab_hello.hello_greet_returns_length'].points, 0)
		self.assertIn('timed out', t['kmemlab_hello.hello_greet_truncates_to_buffer'].reason)
		self.assertTrue(t['hello_user.parameter_holds_insmod_value'].reason.startswith('not run'))

	def test_timeout_shows_where_the_tasks_waited(self):
		# qemu-env/init.sh's stuck dump, asked for just before the limit.
		lines = fixture('pass.log').split('\n')
		cut = next(n for n, l in enumerate(lines) if 'ok 3 hello_greet_returns_length' in l)
		dump = ['[   58.100000] kmemlab: stuck: insmod (pid 30, sleeping, uninterruptible)',
			'[   58.100001] Call Trace:',
			'[   58.100002]  kunit_try_catch_run+0x15f/0x1e0',
			'[   58.100003]  kunit_run_case_catch_errors+0x8f/0x120',
			'[   58.100004]  kunit_run_tests+0x2c6/0x600',
			'[   58.100005]  do_one_initcall+0x5a/0x320',
			'[   58.100006] kmemlab: stuck: kunit_try_catch (pid 33, sleeping, interruptible)',
			'[   58.100007] Call Trace:',
			'[   58.100008]  msleep_interruptible+0x39/0x70',
			'[   58.100009]  kmemlab_hello_greet+0x2f/0x70 [kmemlab_hello]',
			'[   58.100010]  hello_greet_truncates_to_buffer+0x23/0x150 [kmemlab_hello_test]',
			'[   58.100011]  kunit_generic_run_threadfn_adapter+0x1c/0x40',
			'[   58.100012] kmemlab: stuck: end']
		r = grade('\n'.join(lines[:cut + 1] + dump), status=score.TIMEOUT_STATUS)
		t = by_key(r)['kmemlab_hello.hello_greet_truncates_to_buffer']
		self.assertIs(t.outcome, Outcome.TIMED_OUT)
		# The task whose stack leads into a module first, its trace up to
		# the student's frame; then the other; then the hint.
		at = t.details.index('when the time ran out: kunit_try_catch (pid 33, sleeping, interruptible)')
		self.assertEqual(t.details[at + 1:at + 4], ['Call Trace:', '  msleep_interruptible+0x39/0x70',
							 '  kmemlab_hello_greet+0x2f/0x70 [kmemlab_hello]'])
		self.assertLess(at, t.details.index('when the time ran out: insmod (pid 30, sleeping, uninterruptible)'))
		self.assertTrue(t.details[-1].startswith('hint: no result within'), t.details)
		# Without the dump (a guest that could not answer), the hint alone.
		r = grade('\n'.join(lines[:cut + 1]), status=score.TIMEOUT_STATUS)
		t = by_key(r)['kmemlab_hello.hello_greet_truncates_to_buffer']
		self.assertFalse([d for d in t.details if 'time ran out' in d])
		# A run that ended in time after the question: nothing to show.
		self.assertTrue(grade(fixture('pass.log') + '\n' + '\n'.join(dump)).full_marks)

	def test_truncated_log_without_timeout(self):
		lines = fixture('pass.log').split('\n')
		r = grade('\n'.join(lines[:12]), status=0)
		self.assertIn('the VM stopped during step 2', r.problem)
		self.assertLess(r.points, r.max_points)

	def test_report_inside_a_case_fails_that_case_only(self):
		log = insert_before(fixture('pass.log'), 'ok 3 hello_greet_returns_length',
				    '[    0.988000] BUG: sleeping function called from invalid context at mm/slub.c:4126')
		r = grade(log)
		t = by_key(r)['kmemlab_hello.hello_greet_returns_length']
		self.assertEqual(t.points, 0)
		self.assertIn('sleep-in-atomic', t.reason)
		self.assertEqual(r.deductions, [])
		self.assertEqual(r.points, 8)

	def test_warning_outside_cases_is_deducted(self):
		log = insert_before(fixture('pass.log'), 'kmemlab: step 5 end',
				    '[    1.100000] WARNING: CPU: 0 PID: 60 at mm/vmalloc.c:3300 vfree+0x10/0x20')
		r = grade(log)
		self.assertEqual([d.kind for d in r.deductions], ['warning'])
		self.assertEqual(r.points, 9 - round(9 * DEDUCTIONS['warning'] / 100))

	def test_device_complaint_from_qemu_is_deducted(self):
		r = grade(fixture('pass.log'), qemu='EDU: clamping DMA 0x0000000012345000 to 0x0000000002345000!\n')
		self.assertEqual([d.kind for d in r.deductions], ['device'])

	def test_garbage_and_empty_logs_score_zero_without_error(self):
		garbage = os.urandom(4096).decode('latin-1')
		for log in (garbage, ''):
			r = grade(log, channel=os.urandom(2048).decode('latin-1') if log else '')
			self.assertEqual(r.points, 0)
		self.assertIn('during boot', grade('').problem)
		r = grade(garbage + '\nKTAP version 1\n1..3\nnot ok\n    # Subtest:\n')
		self.assertEqual((r.points, r.verdict), (0, score.FORGED))

	def test_rubric_case_missing_from_log_did_not_run(self):
		rubric = score.Rubric(**{**RUBRIC.__dict__, 'points': {**RUBRIC.points, 'kmemlab_hello.hello_extra': 3}})
		r = score.score(rubric, parse(fixture('pass.log')), 0, DEDUCTIONS, 'x86_64', 'fast')
		t = by_key(r)['kmemlab_hello.hello_extra']
		self.assertEqual(t.points, 0)
		self.assertIn('did not run', t.reason)
		self.assertEqual(r.points, 9)


def step_line(text: str, step: int) -> str:
	"""The console line that begins step N (to insert before)."""
	return next(l for l in text.split('\n') if f'kmemlab: step {step} begin' in l)


def insert_after_line(text: str, marker: str, new_lines: list[str]) -> str:
	lines = text.split('\n')
	i = next(n for n, l in enumerate(lines) if marker in l)
	return '\n'.join(lines[:i + 1] + new_lines + lines[i + 1:])


def channel_edit(channel: str, old: str, new: str) -> str:
	assert channel.count(old) == 1, old
	return channel.replace(old, new)


class OutcomeTest(unittest.TestCase):
	"""grader/outcome.py: what became of each test is a value, put into
	words in one place; every reader goes by the value."""

	def test_each_outcome_has_its_own_words(self):
		lab = outcome.Problem(Outcome.NOT_BUILT, 'x.c:3: error: oops')
		said = {o: outcome.test_reason(o, 'CAUSE', lab if o.whole_lab or o is Outcome.NOT_RUN else None)
			for o in Outcome}
		self.assertEqual(said[Outcome.PASSED], '')
		self.assertEqual(said[Outcome.FAILED], 'CAUSE')
		self.assertEqual(outcome.test_reason(Outcome.FAILED), 'failed')
		self.assertEqual(said[Outcome.KERNEL_REPORT], 'kernel reported CAUSE')
		self.assertEqual(said[Outcome.SKIPPED], 'skipped: CAUSE')
		self.assertEqual(outcome.test_reason(Outcome.SKIPPED), 'skipped: no reason given')
		self.assertEqual(said[Outcome.CRASHED], 'kernel crashed: CAUSE')
		self.assertEqual(said[Outcome.QEMU_STOPPED], 'QEMU stopped the VM: CAUSE')
		self.assertEqual(said[Outcome.VM_STOPPED], 'the VM stopped while this test ran')
		self.assertEqual(said[Outcome.TIMED_OUT], 'timed out while this test ran')
		self.assertTrue(said[Outcome.NOT_COUNTED].startswith('not counted: its suite never ended'))
		self.assertEqual(said[Outcome.FORGED], 'not counted: forged results')
		self.assertTrue(said[Outcome.LOST].startswith('not run: CAUSE stopped the VM'))
		self.assertEqual(said[Outcome.NOT_BUILT], 'not run: module did not build: x.c:3: error: oops')
		self.assertEqual(outcome.test_reason(Outcome.NOT_RUN),
				 'not run: did not run: no KTAP result for this test')
		# No two outcomes read alike (the lab-caused ones all say "not run: <the lab's line>").
		distinct = [w for o, w in said.items() if not o.whole_lab and o is not Outcome.NOT_RUN]
		self.assertEqual(len(distinct), len(set(distinct)))

	def test_each_lab_problem_has_its_own_line(self):
		P, O = outcome.Problem, Outcome
		self.assertEqual(P(O.INSMOD_FAILED, "insmod: can't insert", 'm.ko').text, "insmod m.ko failed: insmod: can't insert")
		self.assertEqual(P(O.FORGED, 'first').text, 'forged results, the lab scores 0: first')
		self.assertEqual(P(O.FORGED, 'first', more=2).text, 'forged results, the lab scores 0: first (and 2 more)')
		self.assertEqual(P(O.CRASHED, 'Oops', "step 2 'insmod m.ko'").text, "kernel crashed during step 2 'insmod m.ko': Oops")
		self.assertEqual(P(O.TIMED_OUT, '', 'boot').text, 'timed out during boot')
		self.assertEqual(P(O.QEMU_STOPPED, 'EDU: x', 'boot').text, 'QEMU stopped the VM during boot: EDU: x')
		self.assertEqual(P(O.VM_STOPPED, '', 'boot', 134).text, 'the VM stopped during boot (QEMU exit status 134)')
		self.assertEqual(P(O.NOT_BUILT, 'x.c:1:2: error: y').text, 'module did not build: x.c:1:2: error: y')
		for o in (O.NO_SUBMISSION, O.SUITE_NOT_BUILT, O.FORBIDDEN):	# said by build.py, forbidden.py
			self.assertEqual(P(o, 'as said').text, 'as said')

	def test_classes(self):
		self.assertEqual([o for o in Outcome if not o.failed], [Outcome.PASSED, Outcome.SKIPPED])
		self.assertEqual(set(outcome.STOPS), {o for o in Outcome if o.stopped_vm})
		self.assertTrue(all(o.failed for o in outcome.WHOLE_LAB))
		self.assertIs(outcome.not_run(None), Outcome.NOT_RUN)
		self.assertIs(outcome.not_run(outcome.Problem(Outcome.CRASHED, 'x', 'boot')), Outcome.NOT_RUN)
		self.assertIs(outcome.not_run(outcome.Problem(Outcome.INSMOD_FAILED, 'x', 'm')), Outcome.INSMOD_FAILED)

	def test_real_runs_give_each_test_its_outcome(self):
		t = by_key(grade(fixture('crash.log')))
		self.assertIs(t['kmemlab_hello.hello_greet_returns_length'].outcome, Outcome.NOT_COUNTED)
		self.assertIs(t['kmemlab_hello.hello_greet_truncates_to_buffer'].outcome, Outcome.CRASHED)
		self.assertIs(t['kmemlab_hello.hello_greet_rejects_empty_buffer'].outcome, Outcome.NOT_RUN)
		r = grade(fixture('lockup.log'))
		self.assertIs(r.outcome, Outcome.CRASHED)
		r = grade(fixture('insmod-fails.log'))
		self.assertIs(r.outcome, Outcome.INSMOD_FAILED)
		# The suite had no module to test; the user program ran, and failed.
		self.assertEqual({t.key.split('.')[0]: t.outcome for t in r.tests},
				 {'kmemlab_hello': Outcome.INSMOD_FAILED, 'hello_user': Outcome.FAILED})
		lines = fixture('pass.log').split('\n')
		cut = next(n for n, l in enumerate(lines) if 'ok 3 hello_greet_returns_length' in l)
		r = grade('\n'.join(lines[:cut + 1]), status=score.TIMEOUT_STATUS)
		self.assertIs(r.outcome, Outcome.TIMED_OUT)
		self.assertIs(by_key(r)['kmemlab_hello.hello_greet_truncates_to_buffer'].outcome, Outcome.TIMED_OUT)
		qemu = 'qemu: hardware error: EDU: DMA range 0x40000-0x41000 out of bounds (0x40000-0x40fff)!\n'
		r = grade('\n'.join(lines[:cut + 1]), status=134, qemu=qemu)
		self.assertIs(r.outcome, Outcome.QEMU_STOPPED)
		self.assertIs(by_key(r)['kmemlab_hello.hello_greet_truncates_to_buffer'].outcome, Outcome.QEMU_STOPPED)
		r = grade('\n'.join(lines[:cut + 1]), status=1)
		self.assertIs(r.outcome, Outcome.VM_STOPPED)
		log = insert_before(fixture('pass.log'), 'ok 3 hello_greet_returns_length',
				    '[    0.988000] BUG: sleeping function called from invalid context at mm/slub.c:4126')
		self.assertIs(by_key(grade(log))['kmemlab_hello.hello_greet_returns_length'].outcome, Outcome.KERNEL_REPORT)
		self.assertIsNone(grade(fixture('pass.log')).outcome)

	def test_results_json_and_junit_carry_the_outcome(self):
		halted = outcome.Problem(Outcome.NOT_BUILT, 'x.c:1: error')
		r = score.LabResult('00-hello', 'x86_64', 'fast', [
			score.TestScore('s.passes', 1, 1, Outcome.PASSED),
			score.TestScore('s.skips', 0, 1, Outcome.SKIPPED, cause='no high memory'),
			score.TestScore('s.crashes', 0, 2, Outcome.CRASHED, cause='Oops')])
		built = score.LabResult('00-hello', 'i386', 'fast', score.unrun(RUBRIC, halted), halted=halted)
		with tempfile.TemporaryDirectory() as tmp:
			report.write_gradescope([r, built], Path(tmp) / 'results.json')
			report.write_junit([r, built], Path(tmp) / 'junit.xml')
			data = json.loads((Path(tmp) / 'results.json').read_text())
			tree = ET.parse(Path(tmp) / 'junit.xml')
		got = {t['name']: (t['status'], t['extra_data']['outcome'], t['output']) for t in data['tests']}
		self.assertEqual(got['00-hello (x86_64): s.passes'], ('passed', 'passed', ''))
		self.assertEqual(got['00-hello (x86_64): s.crashes'], ('failed', 'crashed', 'kernel crashed: Oops'))
		self.assertNotIn('00-hello (x86_64): s.skips', got)
		self.assertEqual({o for s, o, _ in list(got.values())[2:]}, {'not-built'})
		types = {c.get('name'): [(e.tag, e.get('type')) for e in c] for c in tree.iter('testcase')}
		self.assertEqual(types['s.skips'], [('skipped', 'skipped')])
		self.assertEqual(types['s.crashes'], [('failure', 'crashed')])
		self.assertEqual(types['s.passes'], [])
		# The lab's problem line once, and one line for the tests it
		# kept from running (not one per test: the reason stays on screen).
		text = report.render_lab(built)
		self.assertIn(f'  !! {halted.text}\n', text)
		self.assertIn(f'  not run: all {len(RUBRIC.points)} tests ({sum(RUBRIC.points.values())} points), '
			      'for the reason above\n', text)
		self.assertNotIn('  not run\n', text)
		self.assertIn('  kernel crashed: Oops\n', report.render_lab(r))


class ChannelTest(unittest.TestCase):
	"""Results come from the channel only; the console must agree with it."""

	def test_real_runs_score_as_before(self):
		serial, channel, secret = warm('pass-warm')
		r = score.score(RUBRIC, vmlog.parse(serial, '', channel, secret, SUITE_MODULES), 0, DEDUCTIONS,
				'x86_64', 'fast')
		self.assertEqual((r.points, r.max_points, r.problem, r.deductions), (9, 9, '', []))
		serial, channel, secret = warm('fail-warm')
		r = score.score(RUBRIC, vmlog.parse(serial, '', channel, secret, SUITE_MODULES), 0, DEDUCTIONS,
				'x86_64', 'fast')
		self.assertEqual((r.points, r.verdict), (0, ''))
		self.assertIn('module init should run exactly once', by_key(r)['kmemlab_hello.hello_init_ran_once'].reason)

	def test_honest_channel_matches_a_real_one(self):
		serial, channel, secret = warm('fail-warm')
		real = vmlog.parse(serial, '', channel, secret, SUITE_MODULES)
		made = parse(serial)
		self.assertEqual(real.forged, [])
		self.assertEqual({k: c.status for k, c in made.cases.items()}, {k: c.status for k, c in real.cases.items()})

	def test_status_comes_from_the_channel_not_the_console(self):
		# The channel says case 3 failed; a console that says it passed
		# (the real line replaced) is a forgery, not a pass.
		serial = fixture('pass.log')
		channel = channel_edit(honest_channel(serial), 'ok 3 hello_greet_returns_length',
				       'not ok 3 hello_greet_returns_length')
		r = grade(serial, channel=channel)
		self.assertEqual((r.verdict, r.points), (score.FORGED, 0))
		self.assertIn('ok 3 hello_greet_returns_length', r.problem)

	def test_no_channel_no_results(self):
		r = grade(fixture('pass.log'), channel='')
		self.assertEqual(r.points, 0)
		self.assertEqual(r.verdict, score.FORGED)	# markers no channel vouches for

	@unittest.skipIf(integrity is None, NO_SOLUTIONS)
	def test_forged_ktap_in_module_exit_voids_the_lab(self):
		forged = [f'[    1.110000] {l}' for l in integrity.FORGED_KTAP]
		serial = insert_after_line(fixture('fail.log'), 'Goodbye', forged) \
			if 'Goodbye' in fixture('fail.log') else insert_before(fixture('fail.log'), 'step 5 end', forged[0])
		channel = honest_channel(fixture('fail.log'))
		r = grade(serial, channel=channel)
		self.assertEqual((r.verdict, r.points), (score.FORGED, 0))
		self.assertLessEqual(r.points, grade(fixture('fail.log')).points)
		self.assertIn("step 5 'rmmod kmemlab_hello'", r.problem)
		self.assertTrue(all(t.reason == 'not counted: forged results' for t in r.tests))

	def test_ktap_with_a_module_prefix_is_forged(self):
		serial = insert_before(fixture('pass.log'), 'kmemlab: step 2 end',
				       '[    0.990000] kmemlab_hello:     ok 3 hello_greet_returns_length')
		r = grade(serial, channel=honest_channel(fixture('pass.log')))
		self.assertEqual(r.verdict, score.FORGED)
		self.assertIn('printed by a module', r.problem)

	def test_a_second_copy_of_a_real_result_is_forged(self):
		line = '[    0.988031]     ok 2 hello_greet_uses_parameter'
		serial = insert_before(fixture('pass.log'), 'ok 1 hello_init_ran_once', line)
		r = grade(serial, channel=honest_channel(fixture('pass.log')))
		self.assertEqual(r.verdict, score.FORGED)

	def test_ktap_outside_every_step_is_forged(self):
		serial = '[    0.500000]     ok 1 hello_init_ran_once\n' + fixture('pass.log')
		r = grade(serial, channel=honest_channel(fixture('pass.log')))
		self.assertEqual(r.verdict, score.FORGED)
		self.assertIn('outside every step', r.problem)

	def test_forged_markers_and_end_signal_are_forged(self):
		base = fixture('fail.log')
		for line in ('kmemlab: step 1 end: rc=0', 'kmemlab: step 9 begin: run hello_user',
			     'kmemlab: all steps done', 'kmemlab_hello: kmemlab: step 2 end: rc=0'):
			with self.subTest(line):
				serial = insert_before(base, 'kmemlab: step 1 end', f'[    0.730000] {line}')
				r = grade(serial, channel=honest_channel(base))
				self.assertEqual((r.verdict, r.points), (score.FORGED, 0))

	def test_console_end_signal_without_the_channels_did_not_finish(self):
		# The module stopped the VM in its exit; the console claims the end.
		base = fixture('pass.log')
		lines = base.split('\n')
		cut = next(n for n, l in enumerate(lines) if 'step 5 begin' in l)
		channel = honest_channel('\n'.join(lines[:cut + 1]))
		r = grade(base, channel=channel)
		self.assertEqual(r.verdict, score.FORGED)
		r = grade('\n'.join(lines[:cut + 2]), channel=channel)	# the same, honest console
		self.assertFalse(r.full_marks)
		self.assertEqual([d.kind for d in r.deductions], ['exit-crashed'])
		self.assertEqual(sum(t.points for t in r.tests), 9)	# the tests keep their points

	def test_a_step_end_the_channel_lost_in_a_crash_is_no_forgery(self):
		# The VM died after /init's console line of step 5's end, before
		# the channel's own got out: the step stays unfinished, no verdict.
		lines = fixture('pass.log').split('\n')
		cut = next(n for n, l in enumerate(lines) if 'step 5 end' in l)
		serial = '\n'.join(lines[:cut + 1] + ['[    1.120000] Kernel panic - not syncing: Fatal exception'])
		channel = honest_channel('\n'.join(lines[:cut]))
		r = grade(serial, channel=channel)
		self.assertEqual(r.verdict, '')
		self.assertEqual([d.kind for d in r.deductions], ['exit-crashed'])
		r = grade(serial.replace('step 5 end', 'step 4 end'), channel=channel)	# not the last step's
		self.assertEqual(r.verdict, score.FORGED)

	def test_results_line_inside_a_kunit_message_is_forged(self):
		# A student's text quoted by a failed expectation can hold a
		# line break and a result line: KUnit logs it, debugfs has it.
		base = fixture('fail.log')
		quoted = '[    0.752020]     ok 2 hello_greet_uses_parameter'
		serial = insert_before(base, 'buf == ""', quoted)
		r = grade(serial)	# the channel holds the same (honest_channel copies it)
		self.assertEqual((r.verdict, r.points), (score.FORGED, 0))
		self.assertIn('second or out-of-order result', r.problem)

	def test_lines_without_the_secret_on_the_channel_are_forged(self):
		base = fixture('pass.log')
		for extra in ('garbage from a module\n', f'{"f" * 16} O 3     ok 1 parameter_is_world_readable\n'):
			with self.subTest(extra):
				r = grade(base, channel=honest_channel(base) + extra)
				self.assertEqual(r.verdict, score.FORGED)
				self.assertIn('without the run\'s secret', r.problem)

	def test_suite_results_from_the_students_module_are_forged(self):
		# The student's module ran a KUnit suite named like the lab's.
		base = fixture('pass.log')
		channel = honest_channel(base)
		theirs = '\n'.join(f'{SECRET} K 1 kmemlab_hello {l}' for l in
				   ['KTAP version 1', '1..1', '    KTAP version 1', '    # Subtest: kmemlab_hello', '    1..1',
				    '    ok 1 hello_init_ran_once', 'ok 1 kmemlab_hello'])
		channel = channel_edit(channel, f'{SECRET} E 1 0', f'{theirs}\n{SECRET} E 1 0')
		r = grade(base, channel=channel)
		self.assertEqual(r.verdict, score.FORGED)
		self.assertIn('loads no module of the lab', r.problem)


class FateTest(unittest.TestCase):
	"""Every step after the tests counts."""

	def test_rmmod_that_fails_is_a_deduction(self):
		base = fixture('pass.log')
		serial = base.replace('kmemlab: step 5 end: rc=0', 'kmemlab: step 5 end: rc=1')
		channel = channel_edit(honest_channel(base), f'{SECRET} E 5 0',
				       f"{SECRET} O 5 rmmod: can't unload module 'kmemlab_hello': Resource temporarily unavailable\n"
				       f'{SECRET} E 5 1')
		r = grade(serial, channel=channel)
		self.assertEqual([d.kind for d in r.deductions], ['rmmod-failed'])
		self.assertIn("can't unload module", r.deductions[0].text)
		self.assertEqual(r.points, 9 - round(9 * DEDUCTIONS['rmmod-failed'] / 100))
		# Both rmmods failing cost the kind once.
		serial = serial.replace('kmemlab: step 4 end: rc=0', 'kmemlab: step 4 end: rc=1')
		channel = channel_edit(channel, f'{SECRET} E 4 0', f'{SECRET} E 4 1')
		r = grade(serial, channel=channel)
		self.assertEqual([(d.kind, d.count) for d in r.deductions], [('rmmod-failed', 2)])

	def test_rmmod_that_hangs_is_a_deduction_once(self):
		lines = fixture('pass.log').split('\n')
		cut = next(n for n, l in enumerate(lines) if 'step 5 begin' in l)
		serial = '\n'.join(lines[:cut + 1] + [
			'[   21.500000] INFO: task rmmod:70 blocked for more than 120 seconds.'])
		r = grade(serial, status=score.TIMEOUT_STATUS)
		self.assertEqual([d.kind for d in r.deductions], ['exit-hung'])
		self.assertEqual(r.points, 9 - round(9 * DEDUCTIONS['exit-hung'] / 100))
		self.assertIn("timed out during step 5 'rmmod kmemlab_hello'", r.problem)
		self.assertTrue(all(t.outcome.passed for t in r.tests))
		# Where rmmod waited when the time ran out (qemu-env/init.sh, stuck).
		r = grade(serial + '\n' + '\n'.join([
			'[   29.000000] kmemlab: stuck: rmmod (pid 70, sleeping, uninterruptible)',
			'[   29.000001] Call Trace:',
			'[   29.000002]  wait_for_completion+0x1d/0x30',
			'[   29.000003]  kmemlab_hello_exit+0x17/0x20 [kmemlab_hello]',
			'[   29.000004]  __do_sys_delete_module+0x1a5/0x2b0',
			'[   29.000005] kmemlab: stuck: end']), status=score.TIMEOUT_STATUS)
		self.assertEqual(r.deductions[0].where[1:], [
			'when the time ran out: rmmod (pid 70, sleeping, uninterruptible)', 'Call Trace:',
			'  wait_for_completion+0x1d/0x30', '  kmemlab_hello_exit+0x17/0x20 [kmemlab_hello]'])

	def test_rmmod_the_hung_task_detector_stopped_is_a_hang(self):
		# The guest's clock skips idle time: the kernel's own detector
		# often stops a hung rmmod before the VM's limit does.
		lines = fixture('pass.log').split('\n')
		cut = next(n for n, l in enumerate(lines) if 'step 5 begin' in l)
		serial = '\n'.join(lines[:cut + 1] + [
			'[  130.500000] INFO: task rmmod:70 blocked for more than 120 seconds.',
			'[  130.600000] Kernel panic - not syncing: hung_task: blocked tasks'])
		r = grade(serial, status=0)
		self.assertEqual([d.kind for d in r.deductions], ['exit-hung'])
		self.assertIn('task rmmod:70 blocked for more than 120 seconds', r.deductions[0].text)
		self.assertTrue(all(t.outcome.passed for t in r.tests))
		# Any other panic in rmmod is a crash.
		r = grade(serial.replace('hung_task: blocked tasks', 'Fatal exception'), status=0)
		self.assertEqual([d.kind for d in r.deductions], ['exit-crashed'])

	def test_leak_check_that_did_not_run_is_a_deduction_on_the_debug_kernel(self):
		lines = fixture('leak.log').split('\n')
		cut = next(n for n, l in enumerate(lines) if 'step 6 begin' in l)
		serial = '\n'.join(lines[:cut + 1])
		r = grade(serial, flavour='debug')
		self.assertIn('leakcheck-not-run', [d.kind for d in r.deductions])
		self.assertLess(r.points, 9)
		r = grade(fixture('leak.log'), flavour='debug')
		self.assertNotIn('leakcheck-not-run', [d.kind for d in r.deductions])

	def test_leak_check_doing_nothing_on_the_fast_kernel_costs_nothing(self):
		r = grade(fixture('pass.log'), flavour='fast')
		self.assertTrue(r.full_marks)
		r = grade(fixture('pass.log'), flavour='debug')	# a debug run without kmemleak
		self.assertEqual([d.kind for d in r.deductions], ['leakcheck-not-run'])

	def test_run_without_end_signal_is_never_full_marks(self):
		base = fixture('pass.log')
		serial = base.replace('[    1.124039] kmemlab: all steps done\n', '')
		channel = honest_channel(base).replace(f'{SECRET} D\n', '')
		r = grade(serial, channel=channel)
		self.assertFalse(r.full_marks)
		self.assertEqual([d.kind for d in r.deductions], ['unfinished'])


# Lab 05's rubric when the remap-* fixtures were recorded, in part:
# one point a case (the cases and their order matter here, not the points).
REMAP = score.Rubric('05-mmap-remap', 'mmap', ['x86_64'], '256M', 60, dict.fromkeys([
	'kmemlab_remap.mmap_buffer_starts_zeroed', 'kmemlab_remap.mmap_maps_every_buffer_page',
	'kmemlab_remap.mmap_honours_pgoff', 'kmemlab_remap.mmap_rounds_length_up',
	'kmemlab_remap.mmap_shares_bytes_both_ways', 'kmemlab_remap.mmap_read_only_file_shared',
	'kmemlab_remap.mmap_allocation_failure_all_or_nothing', 'kmemlab_remap.mmap_rejects_past_end',
	'kmemlab_remap.mmap_rejects_private',
	'mmap_remap_user.contig_length_rounds_up_to_page', 'mmap_remap_user.vmalloc_read_only_open_maps_shared',
	'remap_bench.contig_read_and_mapping_agree', 'remap_bench.vmalloc_read_and_mapping_agree'], 1))


def grade_remap(name: str) -> score.LabResult:
	serial, channel, secret = warm(name)
	run = vmlog.parse(serial, '', channel, secret, {'kmemlab_remap_test'})
	return score.score(REMAP, run, 0, DEDUCTIONS, 'x86_64', 'fast')


class StudentOutputTest(unittest.TestCase):
	"""What make check shows a student: where a crash happened, what a hang
	usually is, KUnit's checks without their macro expansions, error
	numbers with their names, the measurements of passing tests, no stale
	transcript."""

	def test_crash_shows_the_rip_line_and_the_first_module_frame(self):
		r = grade(fixture('crash.log'))
		t = by_key(r)['kmemlab_hello.hello_greet_truncates_to_buffer']
		self.assertEqual(t.details[0], 'BUG: kernel NULL pointer dereference, address: 0000000000000000')
		self.assertIn('RIP: 0010:kmemlab_hello_greet+0x6/0x40 [kmemlab_hello]', t.details)
		self.assertIn('  hello_greet_truncates_to_buffer+0x23/0x150 [kmemlab_hello_test]', t.details)
		self.assertNotIn('  ret_from_fork+0x28/0x40', t.details)	# the trace stops at the module
		self.assertIn('      | RIP: 0010:kmemlab_hello_greet+0x6/0x40 [kmemlab_hello]',
			      report.render_lab(r, verbose=True))

	def test_crash_in_a_parameterised_case_names_its_last_parameter(self):
		lines = fixture('crash.log').split('\n')
		at = next(n for n, l in enumerate(lines) if 'ok 3 hello_greet_returns_length' in l)
		params = ['[    0.700020]         KTAP version 1',
			  '[    0.700020]         # Subtest: hello_greet_truncates_to_buffer',
			  '[    0.700020]         ok 1 1-byte buffer', '[    0.700020]         ok 2 4-byte buffer']
		r = grade('\n'.join(lines[:at + 1] + params + lines[at + 1:]))
		t = by_key(r)['kmemlab_hello.hello_greet_truncates_to_buffer']
		self.assertIn('kernel crashed: kernel NULL pointer dereference', t.reason)
		self.assertIn('hello_greet_truncates_to_buffer: parameter 2 ("4-byte buffer") was the last to end before the stop',
			      t.details)
		# Without parameter results, nothing is said of parameters.
		plain = by_key(grade(fixture('crash.log')))['kmemlab_hello.hello_greet_truncates_to_buffer']
		self.assertFalse(any('parameter' in d for d in plain.details), plain.details)

	def test_a_crash_just_above_null_gets_its_hint(self):
		text = fixture('crash.log').replace('address: 0000000000000000', 'address: 000000000000000a')
		t = by_key(grade(text))['kmemlab_hello.hello_greet_truncates_to_buffer']
		self.assertTrue(any(d.startswith('hint: address 0xa is NULL plus a small offset') for d in t.details),
				t.details)
		plain = by_key(grade(fixture('crash.log')))['kmemlab_hello.hello_greet_truncates_to_buffer']
		self.assertFalse(any(d.startswith('hint: address') for d in plain.details), plain.details)

	def test_crash_on_a_bad_pte_shows_the_address_and_the_pte(self):
		t = by_key(grade_remap('remap-crash'))['kmemlab_remap.mmap_buffer_starts_zeroed']
		self.assertIn('kernel crashed: Oops: Bad pagetable', t.reason)
		self.assertEqual(t.details[:3], ['kunit_try_catch: Corrupted page table at address 7ffff7eff000',
						 'PGD 2336067 P4D 2335067 PUD 2334067 PMD 2333067 PTE 800f000000010227',
						 'Oops: Bad pagetable: 0008 [#1]'])
		self.assertIn('RIP: 0010:rep_movs_alternative+0x3d/0x80', t.details)
		self.assertIn('  mmap_buffer_starts_zeroed+0xb5/0x1a0 [kmemlab_remap_test]', t.details)
		self.assertTrue(any(d.startswith('hint: a bad page-table entry') for d in t.details), t.details)

	def test_a_bug_in_remap_pfn_range_gets_its_hint(self):
		# A mapping longer than the VMA (a recorded make check): the BUG_ON
		# in remap_pte_range(); the driver's frame is not in the trace.
		t = by_key(grade_remap('remap-bug'))['kmemlab_remap.mmap_honours_pgoff']
		self.assertIn('kernel crashed: kernel BUG at mm/memory.c:2557!', t.reason)
		self.assertIn('RIP: 0010:remap_pfn_range_notrack+0x390/0x5d0', t.details)
		self.assertTrue(any(d.startswith('hint: remap_pfn_range() met a page-table entry already set')
				    for d in t.details), t.details)

	def test_crash_in_the_students_module_shows_its_function_and_the_way_there(self):
		t = by_key(grade_remap('remap-npd'))['kmemlab_remap.mmap_buffer_starts_zeroed']
		self.assertEqual(t.details, [
			'BUG: kernel NULL pointer dereference, address: 0000000000000058',
			'#PF: supervisor read access in kernel mode',
			'RIP: 0010:kmemlab_remap_mmap+0x43/0x60 [kmemlab_remap]',
			'Call Trace:',
			'  __mmap_region+0x66e/0x9d0',	# the innermost frame: mmap() called the module
			'  ...',
			'  kunit_vm_mmap+0x69/0x90',
			'  map_device+0x43/0xb0 [kmemlab_remap_test]',
			'hint: address 0x58 is NULL plus a small offset: a field of a structure reached through a '
			'NULL pointer, or a small number (a count, an index) used as a pointer'])

	def test_call_trace_goes_on_past_an_exception_s_registers(self):
		# The fault came from a user copy in the test: the trace holds the
		# page fault's registers, then the test's own frames.
		lines, _ = vmlog.split_timestamps(fixture('fault-nobounds.log'))
		i = next(n for n, l in enumerate(lines) if l.startswith('BUG: kernel NULL pointer dereference'))
		self.assertEqual(vmlog.locate(lines, i), [
			'BUG: kernel NULL pointer dereference, address: 000000000000000a',
			'#PF: supervisor read access in kernel mode',
			'RIP: 0010:kmemlab_fault_fault+0x20/0x60 [kmemlab_fault]',
			'Call Trace:', '  __do_fault+0x2a/0xb0', '  ...', '  _copy_to_user+0x5f/0x70',
			'  fault_past_end_fails+0x7a/0x1b0 [kmemlab_fault_test]'])

	def test_a_soft_lockup_without_registers_is_placed_by_the_panic_s_trace(self):
		# A fault loop kept the watchdog's registers off the console
		# (kunit/include/lab_user.h); the panic's trace from the timer
		# interrupt holds the registers of the code it stopped.
		lines = ['watchdog: BUG: soft lockup - CPU#0 stuck for 13s! [edu_rebind:122]',
			 'Kernel panic - not syncing: softlockup: hung tasks',
			 'CPU: 0 UID: 0 PID: 122 Comm: edu_rebind Tainted: G           O L   N 6.12.117 #1',
			 'Call Trace:', ' <IRQ>', ' panic+0x2dd/0x300', ' watchdog_timer_fn+0x1b5/0x1d0',
			 ' __hrtimer_run_queues.constprop.0+0x10f/0x190', ' </IRQ>', ' <TASK>',
			 ' asm_sysvec_apic_timer_interrupt+0x16/0x20',
			 'RIP: 0010:edu_probe+0x31b/0x360 [kmemlab_edu]',
			 'RSP: 0018:ff1100000220bd60 EFLAGS: 00000246',
			 ' pci_device_probe+0xa3/0x110', ' really_probe+0xb1/0x2d0',
			 ' device_driver_attach+0x3e/0xa0', ' bind_store+0x6a/0xb0', ' </TASK>']
		self.assertEqual(vmlog.locate(lines, 0), [
			'watchdog: BUG: soft lockup - CPU#0 stuck for 13s! [edu_rebind:122]',
			'RIP: 0010:edu_probe+0x31b/0x360 [kmemlab_edu]',
			'Call Trace:', '  pci_device_probe+0xa3/0x110', '  really_probe+0xb1/0x2d0',
			'  device_driver_attach+0x3e/0xa0'])
		# A report with a place of its own still ends at the panic.
		own = ['watchdog: BUG: soft lockup - CPU#0 stuck for 13s! [x:1]',
		       'RIP: 0010:spin+0x1/0x10 [mod]', 'Call Trace:', ' spin+0x1/0x10 [mod]', ' </TASK>',
		       *lines[1:]]
		self.assertEqual(vmlog.locate(own, 0)[1:3], ['RIP: 0010:spin+0x1/0x10 [mod]', 'Call Trace:'])

	def test_a_null_dereference_and_its_oops_are_one_kind_of_report(self):
		# x86's page-fault report begins with "BUG: kernel NULL pointer
		# dereference" and goes on with "Oops:" for the same fault: one
		# crash, charged once, not as a "bug" and an "oops".
		lines = ['BUG: kernel NULL pointer dereference, address: 0000000000000000',
			 '#PF: supervisor read access in kernel mode', 'PGD 0 P4D 0',
			 'Oops: Oops: 0000 [#1] PREEMPT SMP NOPTI',
			 'RIP: 0010:kmemlab_hello_init+0x5/0x40 [kmemlab_hello]']
		self.assertEqual({r.kind for r in vmlog.find_reports(lines)}, {'oops'})
		self.assertEqual(vmlog.find_reports(lines)[0].text, 'kernel NULL pointer dereference, address: 0000000000000000')

	def test_a_dma_api_report_shows_where_the_buffer_was_mapped(self):
		# The checker prints the map's stack after its WARN, as "DMA-API:
		# Mapped at:" and frames with no "Call Trace:" line (kernel/dma/
		# debug.c): part of the report, not one of its own, and shown.
		lines = fixture('dma-api-mapped-at.log').split('\n')
		reports = vmlog.find_reports(lines)
		self.assertEqual([r.kind for r in reports], ['dma-api'])
		self.assertEqual(reports[0].where[-5:], [
			'  kmemlab_zc_xfer+0x2dd/0x3b0 [kmemlab_zc]', 'DMA-API: Mapped at:',
			'  __dma_map_sg_attrs+0xb3/0x180', '  dma_map_sg_attrs+0x5/0x10',
			'  kmemlab_zc_xfer+0x1bf/0x3b0 [kmemlab_zc]'])

	def test_a_report_from_a_page_fault_s_handling_keeps_its_frames(self):
		# A driver's .fault slept in atomic context, reached by a user
		# copy's page fault: the frames above the exception's registers
		# are where, not the copy the fault stopped.
		lines = ['BUG: sleeping function called from invalid context at include/linux/sched/mm.h:321',
			 'in_atomic(): 1, irqs_disabled(): 0, non_block: 0, pid: 60, name: kunit_try_catch',
			 'Call Trace:', ' <TASK>', ' dump_stack_lvl+0x3b/0x50', ' __might_resched+0xfe/0x150',
			 ' __alloc_pages_noprof+0x20a/0x2a0', ' alloc_pages_mpol_noprof+0x7d/0x170',
			 ' kmemlab_fault_fault+0x45/0xd0 [kmemlab_fault]', ' __do_fault+0x2a/0xb0',
			 ' do_fault+0x1b1/0x470', ' handle_mm_fault+0x4b2/0xb10', ' do_user_addr_fault+0x19a/0x6c0',
			 ' exc_page_fault+0x5c/0x100', ' asm_exc_page_fault+0x22/0x30',
			 'RIP: 0010:rep_movs_alternative+0x11/0x80', 'RSP: 0018:ff110000021dbd50 EFLAGS: 00050202',
			 ' ? rep_movs_alternative+0x11/0x80', ' _copy_to_user+0x5f/0x70',
			 ' fault_takes_page_reference+0x41/0x2c0 [kmemlab_fault_test]', ' </TASK>']
		self.assertEqual(vmlog.locate(lines, 0), [
			'BUG: sleeping function called from invalid context at include/linux/sched/mm.h:321',
			'Call Trace:', '  __alloc_pages_noprof+0x20a/0x2a0', '  alloc_pages_mpol_noprof+0x7d/0x170',
			'  kmemlab_fault_fault+0x45/0xd0 [kmemlab_fault]'])

	def test_call_trace_goes_on_past_a_frame_without_a_name(self):
		# A report from a module's init: the unwinder prints a return
		# address it cannot name, then the module's own frame.
		lines = ['BUG: sleeping function called from invalid context at include/linux/sched/mm.h:321',
			 'in_atomic(): 1, irqs_disabled(): 0, non_block: 0, pid: 106, name: ram_user',
			 'Call Trace:', ' <TASK>', ' dump_stack_lvl+0x3b/0x50', ' __might_resched+0xfe/0x150',
			 ' __kmalloc_cache_noprof+0x118/0x1e0',
			 ' ? kmemlab_devmem_init+0x1dd/0x1000 [kmemlab_devmem]', ' ? 0xffffffffa0006000',
			 ' kmemlab_devmem_init+0x1dd/0x1000 [kmemlab_devmem]', ' do_one_initcall+0x6c/0x190',
			 ' </TASK>']
		self.assertEqual(vmlog.locate(lines, 0), [
			'BUG: sleeping function called from invalid context at include/linux/sched/mm.h:321',
			'Call Trace:', '  __kmalloc_cache_noprof+0x118/0x1e0',
			'  kmemlab_devmem_init+0x1dd/0x1000 [kmemlab_devmem]'])

	def test_failures_logged_before_a_crash_are_shown(self):
		failed = ['[    0.700020]     # hello_greet_truncates_to_buffer: EXPECTATION FAILED at t.c:41',
			  '[    0.700020]     Expected n == 3, but',
			  '[    0.700020]         n == 7 (0x7)',
			  '[    0.700020] ',
			  '[    0.700020] a 4-byte buffer holds 3 characters and the NUL']
		log = insert_after_line(fixture('crash.log'), 'ok 3 hello_greet_returns_length', failed)
		# And a case before it that failed on the console, in the suite
		# that never ended: not counted, but its message is shown.
		log = insert_before(log, 'ok 2 hello_greet_uses_parameter',
				    '[    0.700020]     # hello_greet_uses_parameter: EXPECTATION FAILED at t.c:24: '
				    'the text should use the parameter')
		log = log.replace('    ok 2 hello_greet_uses_parameter', '    not ok 2 hello_greet_uses_parameter')
		t = by_key(grade(log))
		crashed = t['kmemlab_hello.hello_greet_truncates_to_buffer']
		self.assertIn('logged before the VM stopped: a 4-byte buffer holds 3 characters and the NUL (t.c:41)',
			      crashed.details)
		self.assertIn('RIP: 0010:kmemlab_hello_greet+0x6/0x40 [kmemlab_hello]', crashed.details)
		earlier = t['kmemlab_hello.hello_greet_uses_parameter']
		self.assertIn('not counted', earlier.reason)
		self.assertEqual(earlier.details,
				 ['the console showed it failing: the text should use the parameter (t.c:24)'])

	def test_a_ktap_line_in_the_same_microsecond_is_no_message(self):
		lines = ['    # contig: EXPECTATION FAILED at t.c:41', '    Expected n == 3, but',
			 '        n == 7 (0x7)', 'the mapping should hold 3 pages', '        not ok 1 kmemlab_remap_contig',
			 '    # contig: pass:0 fail:1 skip:0 total:1']
		self.assertEqual(vmlog.failure_messages(lines, [1.5] * len(lines)),
				 ['the mapping should hold 3 pages (t.c:41)'])

	def test_report_inside_a_case_shows_where_not_the_whole_dump(self):
		log = insert_before(fixture('pass.log'), 'ok 3 hello_greet_returns_length', '\n'.join([
			'[    0.988000] BUG: KASAN: slab-out-of-bounds in kmemlab_hello_greet+0x51/0x90 [kmemlab_hello]',
			'[    0.988000] Write of size 1 at addr ffff888003d0c004 by task kunit_try_catch/40',
			'[    0.988000] ',
			'[    0.988000] CPU: 0 UID: 0 PID: 40 Comm: kunit_try_catch Tainted: G O N 6.12.117 #1',
			'[    0.988000] Call Trace:',
			'[    0.988000]  <TASK>',
			'[    0.988000]  dump_stack_lvl+0x5d/0x80',
			'[    0.988000]  print_report+0x171/0x4f0',
			'[    0.988000]  ? kmemlab_hello_greet+0x51/0x90 [kmemlab_hello]',
			'[    0.988000]  kasan_report+0xd6/0x110',
			'[    0.988000]  kmemlab_hello_greet+0x51/0x90 [kmemlab_hello]',
			'[    0.988000]  hello_greet_returns_length+0x2f/0x90 [kmemlab_hello_test]',
			'[    0.988000]  kunit_try_run_case+0xfc/0x250',
			'[    0.988000]  </TASK>']))
		# KUnit's log (the channel) has none of the kernel's lines.
		t = by_key(grade(log, channel=honest_channel(fixture('pass.log'))))['kmemlab_hello.hello_greet_returns_length']
		self.assertEqual(t.details, [
			'BUG: KASAN: slab-out-of-bounds in kmemlab_hello_greet+0x51/0x90 [kmemlab_hello]',
			'Write of size 1 at addr ffff888003d0c004 by task kunit_try_catch/40',
			'Call Trace:', '  kmemlab_hello_greet+0x51/0x90 [kmemlab_hello]'])

	def test_deduction_shows_where_in_verbose_output(self):
		log = insert_before(fixture('pass.log'), 'kmemlab: step 5 end', '\n'.join([
			'[    1.100000] WARNING: CPU: 0 PID: 60 at mm/vmalloc.c:3300 vfree+0x10/0x20',
			'[    1.100000] RIP: 0010:vfree+0x10/0x20',
			'[    1.100000] Call Trace:',
			'[    1.100000]  <TASK>',
			'[    1.100000]  ? __warn+0x7d/0x130',
			'[    1.100000]  hello_exit+0x12/0x20 [kmemlab_hello]',
			'[    1.100000]  </TASK>']))
		r = grade(log)
		self.assertEqual(r.deductions[0].where[1:], ['RIP: 0010:vfree+0x10/0x20', 'Call Trace:',
							     '  hello_exit+0x12/0x20 [kmemlab_hello]'])
		self.assertIn('      |   hello_exit+0x12/0x20 [kmemlab_hello]', report.render_lab(r, verbose=True))

	def test_hang_shows_no_time_and_a_hint(self):
		lines = fixture('pass.log').split('\n')
		cut = next(n for n, l in enumerate(lines) if 'ok 3 hello_greet_returns_length' in l)
		r = grade('\n'.join(lines[:cut + 1]), status=score.TIMEOUT_STATUS)
		hung = by_key(r)['kmemlab_hello.hello_greet_truncates_to_buffer']
		self.assertEqual(hung.reason, 'timed out while this test ran')
		self.assertTrue(any(d.startswith("hint: no result within the lab's 60 s") for d in hung.details),
				hung.details)
		shown = report.render_lab(r, verbose=True).split('\n')
		for key in ('kmemlab_hello.hello_greet_truncates_to_buffer', 'kmemlab_hello.hello_greet_rejects_empty_buffer',
			    'hello_user.parameter_holds_insmod_value'):
			line = next(l for l in shown if key in l)
			self.assertNotIn('0.00s', line)
			self.assertRegex(line, r' 0/\d +-  ')
		self.assertRegex(next(l for l in shown if 'hello_greet_rejects_empty_buffer' in l), r' -  not run$')
		passed = report.render_lab(grade(fixture('pass.log'))).split('\n')
		self.assertRegex(next(l for l in passed if 'hello_init_ran_once' in l), r' \d+\.\d\ds$')

	def test_soft_lockup_gets_its_hint_and_where_it_spun(self):
		t = by_key(grade(fixture('lockup.log')))['kmemlab_hello.hello_greet_truncates_to_buffer']
		self.assertIn('RIP: 0010:kmemlab_hello_greet+0x25/0x30 [kmemlab_hello]', t.details)
		self.assertTrue(any(d.startswith('hint: a soft lockup') for d in t.details), t.details)

	def test_kunit_check_with_a_message_is_one_line_without_the_expansion(self):
		doc = ['KTAP version 1', '1..1', '    KTAP version 1', '    # Subtest: s', '    1..3',
		       '    # a: ASSERTION FAILED at t.c:10',
		       '    Expected __builtin_expect(!!((unsigned long)(void *)(addr) >= (unsigned long)-4095), 0)'
		       ' to be false, but is true', '',
		       'mmap() of 3 pages failed with -12',
		       '    not ok 1 a',
		       '    # b: EXPECTATION FAILED at t.c:20',
		       '    Expected got == want, but',
		       '        got == 3 (0x3)',
		       '        want == 4 (0x4)',
		       '    not ok 2 b',
		       '    # c: EXPECTATION FAILED at t.c:30',
		       '    Expected __builtin_expect(!!(x >= -4095), 0) == 0, but',
		       '        __builtin_expect(!!(x >= -4095), 0) == 1 (0x1)',
		       '',
		       'the address should not be an error',
		       '    not ok 3 c',
		       'not ok 1 s']
		d = vmlog.read_doc(doc, kunit=True)
		self.assertEqual(d.problem, '')
		self.assertEqual(d.cases['a'][1],
				 ['# a: ASSERTION FAILED at t.c:10: mmap() of 3 pages failed with -12 (ENOMEM)'])
		self.assertEqual(d.cases['c'][1], ['# c: EXPECTATION FAILED at t.c:30: the address should not be an error'])
		# Without a message, the check's own lines are all there is.
		self.assertEqual(d.cases['b'][1], ['# b: EXPECTATION FAILED at t.c:20', '  Expected got == want, but',
						   '    got == 3 (0x3)', '    want == 4 (0x4)'])

	def test_real_kunit_failures_read_as_one_line_each(self):
		r = grade_remap('remap-fail')
		t = by_key(r)['kmemlab_remap.mmap_rounds_length_up']
		# The message with its location first, then what was compared.
		at = t.details.index('# mmap_rounds_length_up: EXPECTATION FAILED at /suite/05-mmap-remap/kmemlab_remap_test.c:228: '
				     'mmap(the buffer\'s length less 1 byte at page offset 1) rounds up to 256 pages from page 1, '
				     'past the end: expected -EINVAL, got 140737352019968')
		self.assertEqual(t.details[at + 1:at + 3], ['  Expected (long)addr == -22, but',
							    '    (long)addr == 140737352019968 (0x7ffff7dfb000)'])
		past = by_key(r)['kmemlab_remap.mmap_rejects_past_end']
		self.assertIn('expected error -22 (EINVAL), got a mapping', past.reason)
		self.assertTrue(all('-22 (EINVAL)' in d for d in past.details if 'expected error' in d))

	def test_errno_names_only_where_a_number_is_an_error_code(self):
		self.assertEqual(vmlog.name_errnos('kmemlab_snapshot() failed with -12'),
				 'kmemlab_snapshot() failed with -12 (ENOMEM)')
		self.assertEqual(vmlog.name_errnos('cannot open x (error -2): is it there?'),
				 'cannot open x (error -2 (ENOENT)): is it there?')
		self.assertEqual(vmlog.name_errnos('a transfer returned -517'), 'a transfer returned -517 (EPROBE_DEFER)')
		for same in ('page -1 of the buffer', 'offset -22 bytes', 'got -9999', 'returned -12 (ENOMEM)',
			     'expected error -22 (EINVAL)'):
			self.assertEqual(vmlog.name_errnos(same), same)
		# User programs print names already; their lines are left alone.
		doc = ['KTAP version 1', '1..1', '    KTAP version 1', '    # Subtest: u', '    1..1',
		       '    # c: EXPECTATION FAILED at u.c:5: read() returned -1: Bad address', '    not ok 1 c',
		       'not ok 1 u']
		self.assertEqual(vmlog.read_doc(doc).cases['c'][1],
				 ['# c: EXPECTATION FAILED at u.c:5: read() returned -1: Bad address'])

	def test_a_kunit_skip_names_its_error_code(self):
		doc = ['KTAP version 1', '1..1', '    KTAP version 1', '    # Subtest: s', '    1..1',
		       '    ok 1 c # SKIP no lockdep here (the graded kernel has it): error -95', 'ok 1 s']
		self.assertEqual(vmlog.read_doc(doc, kunit=True).cases['c'][2],
				 'no lockdep here (the graded kernel has it): error -95 (EOPNOTSUPP)')

	def test_measurements_of_passing_tests_are_shown(self):
		r = grade_remap('remap-fail')
		bench = by_key(r)['remap_bench.contig_read_and_mapping_agree']
		self.assertIs(bench.outcome, Outcome.PASSED)
		self.assertIn('read()+sum takes 1.62 times as long as summing in place', bench.details)
		shown = report.render_lab(r, verbose=True)
		self.assertIn('      # read()+sum takes 1.62 times as long as summing in place', shown)
		self.assertNotIn('pass:', shown)	# KUnit's tallies are not measurements
		self.assertNotIn('      # read()', report.render_lab(r, verbose=False))
		# Nor are a case's attributes (KUNIT_CASE_SLOW: "# case.speed: slow").
		case = vmlog.Case('s', 'c', 'pass', 0.0, ['# c.speed: slow', '# c: took 3 ms'])
		self.assertEqual(score.passing_diagnostics(case), ['took 3 ms'])

	def test_transcript_of_a_passing_run_replaces_a_stale_one(self):
		with tempfile.TemporaryDirectory() as tmp:
			out = Path(tmp)
			lab = SimpleNamespace(arch='x86_64', name='00-hello', build_log='', steps=lambda: '',
					      test_dir=out / 'none')
			stale = out / 'x86_64' / '00-hello.log'
			grade_py.keep_transcript(out, lab, grade(fixture('fail.log')))
			self.assertTrue(stale.is_file())
			passed = grade(fixture('pass.log'))
			grade_py.keep_transcript(out, lab, passed)
			self.assertFalse(stale.exists())
			self.assertIsNone(passed.transcript)


class VmLimitTest(unittest.TestCase):
	def test_the_fast_kernel_waits_half_the_rubric_timeout_at_least_30_s(self):
		self.assertEqual([score.vm_limit(s, f) for s, f in ((90, 'debug'), (240, 'iommu'), (240, 'fast'),
								   (90, 'fast'), (40, 'fast'))], [90, 240, 120, 45, 30])

	def test_a_lab_on_the_fast_kernel_gets_its_limit(self):
		lab = grade_py.Lab(ROOT / 'labs' / '04-pagewalk', 'solutions', 'x86_64', 'fast', Path('/nonexistent'))
		self.assertEqual(lab.rubric.timeout, 45)
		lab = grade_py.Lab(ROOT / 'labs' / '04-pagewalk', 'solutions', 'x86_64', 'debug', Path('/nonexistent'))
		self.assertEqual(lab.rubric.timeout, 90)


class InitrdKeyTest(unittest.TestCase):
	"""labvm.initrd_key: the kept first-VM archive is reused only for the
	same content."""

	def test_the_key_follows_steps_links_and_their_targets(self):
		import labvm
		with tempfile.TemporaryDirectory() as t:
			vm, target = Path(t) / 'vm', Path(t) / 'suite.ko'
			(vm / 'bin').mkdir(parents=True)
			target.write_bytes(b'one')
			(vm / 'suite.ko').symlink_to(target)
			(vm / 'steps').write_text('insmod suite.ko\n')
			key = labvm.initrd_key('x86_64', vm)
			self.assertEqual(key, labvm.initrd_key('x86_64', vm))
			self.assertNotEqual(key, labvm.initrd_key('i386', vm))
			(vm / 'steps').write_text('insmod suite.ko\nleakcheck\n')
			steps = labvm.initrd_key('x86_64', vm)
			self.assertNotEqual(key, steps)
			target.write_bytes(b'rebuilt')
			os.utime(target, ns=(1, 1))
			self.assertNotEqual(steps, labvm.initrd_key('x86_64', vm))


class WaitAskingTest(unittest.TestCase):
	"""labvm.wait_asking: STUCK_GRACE seconds before a VM's limit the
	guest is asked where its tasks wait ("S" on its lab port); a VM that
	ends before is only waited for."""

	def setUp(self):
		import labvm
		self.labvm = labvm
		self.grace = labvm.STUCK_GRACE
		labvm.STUCK_GRACE = 0.5
		self.ours, self.guest = socket.socketpair()
		self.guest.settimeout(5)

	def tearDown(self):
		self.labvm.STUCK_GRACE = self.grace
		self.guest.close()

	def vm(self, seconds: float) -> subprocess.Popen:
		return subprocess.Popen(['sleep', str(seconds)], start_new_session=True)

	def test_a_vm_past_its_limit_is_asked_then_stopped(self):
		start = time.monotonic()
		status = self.labvm.wait_asking(self.vm(30), self.ours, start + 1.0, backstop=False)
		self.assertIsNone(status)	# stopped here: a time-out
		self.assertLess(time.monotonic() - start, 5)
		self.assertEqual(self.guest.recv(16), b'S\n')

	def test_with_a_backstop_the_vm_ends_itself(self):
		start = time.monotonic()
		status = self.labvm.wait_asking(self.vm(1.2), self.ours, start + 1.0)	# run-vm.sh's limit ends it
		self.assertEqual(status, 0)
		self.assertGreater(time.monotonic() - start, 1.1)
		self.assertEqual(self.guest.recv(16), b'S\n')

	def test_a_vm_that_ends_in_time_is_not_asked(self):
		status = self.labvm.wait_asking(self.vm(0.1), self.ours, time.monotonic() + 3.0, backstop=False)
		self.assertEqual(status, 0)
		self.assertEqual(self.guest.recv(16), b'')	# closed, nothing sent


class KernelMemoTest(unittest.TestCase):
	"""grade.kernel_dir: build-kernel.sh's answer is remembered, and used
	only while what the script reads is unchanged and the kernel built."""

	def setUp(self):
		self.tmp = tempfile.TemporaryDirectory(prefix='kmemlab-memo-test-')
		self.env = dict(os.environ)
		os.environ['KMEMLAB_CACHE'] = self.tmp.name
		os.environ.pop('KMEMLAB_PREBUILT', None)
		self.kdir = Path(self.tmp.name) / 'kernel' / 'x86_64-fast-0'
		self.kdir.mkdir(parents=True)
		(self.kdir / '.kmemlab-built').touch()
		self.calls = []
		self.real_run = grade_py.subprocess.run

		def script(cmd, **kw):
			self.calls.append(cmd)
			return subprocess.CompletedProcess(cmd, 0, f'{self.kdir}\n')
		grade_py.subprocess.run = script

	def tearDown(self):
		grade_py.subprocess.run = self.real_run
		os.environ.clear()
		os.environ.update(self.env)
		self.tmp.cleanup()

	def test_the_answer_is_asked_once_then_remembered(self):
		self.assertEqual(grade_py.kernel_dir('x86_64', 'fast'), self.kdir)
		self.assertEqual(grade_py.kernel_dir('x86_64', 'fast'), self.kdir)
		self.assertEqual(len(self.calls), 1)
		grade_py.kernel_dir('x86_64', 'debug')	# another kernel: asked
		self.assertEqual(len(self.calls), 2)

	def test_a_changed_input_or_a_kernel_gone_asks_again(self):
		grade_py.kernel_dir('x86_64', 'fast')
		other = Path(self.tmp.name) / 'other.tar.xz'
		other.write_bytes(b'x')
		os.environ['KERNEL_TARBALL'] = str(other)
		grade_py.kernel_dir('x86_64', 'fast')
		self.assertEqual(len(self.calls), 2)
		os.utime(other, ns=(1, 1))	# the same name, another tarball
		grade_py.kernel_dir('x86_64', 'fast')
		self.assertEqual(len(self.calls), 3)
		(self.kdir / '.kmemlab-built').unlink()	# pruned, or being rebuilt
		grade_py.kernel_dir('x86_64', 'fast')
		self.assertEqual(len(self.calls), 4)

	def test_old_memos_of_the_same_kernel_are_pruned(self):
		cache = Path(self.tmp.name) / 'kernel'
		old, other, recent = (cache / n for n in ('lookup-x86_64-fast-0ld', 'lookup-x86_64-debug-0ld',
							   'lookup-x86_64-fast-recent'))
		for f in (old, other, recent):
			f.write_text('/nowhere\n')
		stale = time.time() - (grade_py.MEMO_DAYS + 1) * 86400
		os.utime(old, (stale, stale))
		os.utime(other, (stale, stale))
		grade_py.kernel_dir('x86_64', 'fast')	# asked: writes its memo, prunes
		self.assertEqual(len(self.calls), 1)
		self.assertFalse(old.exists())
		self.assertTrue(other.exists(), 'another flavour\'s memo is its own lookup\'s to prune')
		self.assertTrue(recent.exists())
		self.assertEqual(len(list(cache.glob('lookup-x86_64-fast-*'))), 2)

	def test_a_prebuilt_kernel_is_always_asked_for(self):
		os.environ['KMEMLAB_PREBUILT'] = self.tmp.name
		grade_py.kernel_dir('x86_64', 'fast')
		grade_py.kernel_dir('x86_64', 'fast')
		self.assertEqual(len(self.calls), 2)

	def test_every_file_the_script_reads_is_an_input(self):
		inputs = {p.name for p in grade_py.kernel_lookup_inputs()}
		self.assertTrue({'build-kernel.sh', 'lib.sh', 'common.config', 'debug.config'} <= inputs, inputs)
		script = (ROOT / 'qemu-env' / 'build-kernel.sh').read_text()
		for sourced in re.findall(r'^\. "\$here/([\w.-]+)"', script, re.M):
			self.assertIn(sourced, inputs)


class ParamSkipTest(unittest.TestCase):
	"""vmlog.read_doc: a parameterised case whose parameters all skipped
	for one reason gets that reason (KUnit's own line for it has none,
	lib/kunit/test.c)."""

	@staticmethod
	def doc(second_reason: str) -> list[str]:
		return ['KTAP version 1', '1..1', '    KTAP version 1', '    # Subtest: kmemlab_alloc', '    1..1',
			'        KTAP version 1', '        # Subtest: may_reclaim',
			'        ok 1 100 bytes # SKIP no tracepoints here',
			f'        ok 2 4096 bytes # SKIP {second_reason}',
			'    # may_reclaim: pass:0 fail:0 skip:2 total:2',
			'    ok 1 may_reclaim # SKIP ', 'ok 1 kmemlab_alloc # SKIP ']

	def test_one_reason_of_the_parameters_is_the_cases(self):
		d = vmlog.read_doc(self.doc('no tracepoints here'), kunit=True)
		self.assertEqual(d.problem, '')
		self.assertEqual(d.cases['may_reclaim'][0], 'skip')
		self.assertEqual(d.cases['may_reclaim'][2], 'no tracepoints here')

	def test_two_reasons_are_no_reason(self):
		d = vmlog.read_doc(self.doc('another'), kunit=True)
		self.assertEqual(d.problem, '')
		self.assertEqual((d.cases['may_reclaim'][0], d.cases['may_reclaim'][2]), ('skip', ''))


class RunLockTest(unittest.TestCase):
	"""LabVM.run: two gradings of one folder's lab on one kernel take
	turns (they share the run folder's staging and console log)."""

	def test_the_second_grading_waits_for_the_first(self):
		import threading
		import labvm
		rubric = score.load_rubric(ROOT / 'labs' / '00-hello' / 'rubric.toml')
		with tempfile.TemporaryDirectory() as t:
			inside, order = threading.Event(), []
			release = threading.Event()

			def first(builds):
				order.append('first in')
				inside.set()
				release.wait(10)
				order.append('first out')
				return []

			def second(builds):
				order.append('second in')
				return []
			vms = [labvm.LabVM('00-hello', rubric, 'x86_64', 'fast', Path('/nonexistent'), Path(t) / 'run')
			       for _ in range(2)]
			vms[0].run_locked, vms[1].run_locked = first, second
			a = threading.Thread(target=vms[0].run, args=(None,))
			a.start()
			self.assertTrue(inside.wait(10))
			b = threading.Thread(target=vms[1].run, args=(None,))
			b.start()
			b.join(0.5)
			self.assertTrue(b.is_alive(), 'the second grading ran while the first held the folder')
			release.set()
			a.join(10)
			b.join(10)
			self.assertEqual(order, ['first in', 'first out', 'second in'])


class ReceiveTest(unittest.TestCase):
	"""LabVM.read_boot: a receive step that failed (the grader's own
	archive, before any lab module loaded) is the machine's fault, not a
	0 for the student."""

	def read(self, rc: int):
		import boots
		import labvm
		rubric = score.load_rubric(ROOT / 'labs' / '00-hello' / 'rubric.toml')
		with tempfile.TemporaryDirectory() as t:
			vm = labvm.LabVM('00-hello', rubric, 'x86_64', 'fast', Path('/nonexistent'), Path(t) / 'run')
			vm.bdir.mkdir()
			vm.start_run()
			try:
				out = ['O 1 receive: the archive did not arrive whole'] if rc else []
				lines = ['B 1 receive', *out, f'E 1 {rc}', 'B 2 insmod kmemlab_hello.ko', 'E 2 1', 'D']
				(vm.run_dir / 'results.log').write_text(''.join(f'{vm.secret} {l}\n' for l in lines))
				(vm.bdir / 'serial.log').write_text('[    0.5] kmemlab: step 1 begin: receive\n')
				plan = boots.first_plan('insmod kmemlab_hello.ko\n', list(rubric.points))
				return vm.read_boot(plan, 0, 1.0, [], {})
			finally:
				vm.end_run()

	def test_a_failed_receive_is_an_environment_failure(self):
		import labvm
		with self.assertRaisesRegex(labvm.EnvironmentFailure, 'did not receive the module.*arrive whole'):
			self.read(1)

	def test_a_receive_that_worked_is_read_as_usual(self):
		self.assertEqual(self.read(0).run.steps[0].rc, 0)


class OutputTest(unittest.TestCase):
	"""results.json and junit.xml stay valid whatever the kernel printed."""

	NASTY = 'a\x00b\x01\x05\x0b\x0c\x1b[31m\x7f\ud800\udcff\ufffe\uffff \xff\u00e9 \U0001f600 end'

	def test_every_character_survives_both_formats(self):
		r = score.LabResult('00-hello', 'x86_64', 'fast', [
			score.TestScore(f'suite.case{self.NASTY}', 0, 1, Outcome.FAILED, cause=self.NASTY, details=[self.NASTY]),
			score.TestScore('suite.skip', 0, 1, Outcome.SKIPPED, cause=self.NASTY)],
			deductions=[score.Deduction('warning', 1, self.NASTY, 1)],
			halted=Problem(Outcome.NOT_BUILT, self.NASTY))
		log = fixture('fail.log').encode() + bytes(range(256)) + b'\xed\xa0\x80\xc3\x28'
		r.tests[0].details.append(log.decode('utf-8', errors='surrogateescape'))
		with tempfile.TemporaryDirectory() as tmp:
			report.write_gradescope([r], Path(tmp) / 'results.json')
			report.write_junit([r], Path(tmp) / 'junit.xml')
			data = json.loads((Path(tmp) / 'results.json').read_text(encoding='utf-8'))
			tree = ET.parse(Path(tmp) / 'junit.xml')
		out = data['tests'][0]['output']
		self.assertIn('\\x05', out)
		self.assertIn('\\ud800', out)
		self.assertIn('\u00e9', out)	# printable text stays as it is
		self.assertIn('\U0001f600', out)
		failure = tree.find('.//failure')
		self.assertIn('\\x1b[31m', failure.get('message'))


class SubmissionTest(unittest.TestCase):
	"""A submission that is not there still gets its results written."""

	def run_grade(self, src: str, out: Path, *labs: str) -> subprocess.CompletedProcess:
		args = [sys.executable, str(ROOT / 'grader' / 'grade.py'), '--src', src, '--out', str(out)]
		for lab in labs:
			args += ['--lab', lab]
		return subprocess.run(args, capture_output=True, text=True, check=False, timeout=60)

	def check(self, src: str, reason: str, labs=('00', '01')) -> None:
		with tempfile.TemporaryDirectory() as tmp:
			out = Path(tmp) / 'out'
			proc = self.run_grade(src, out, *labs)
			self.assertEqual(proc.returncode, 0, proc.stderr)
			self.assertNotIn('Traceback', proc.stderr + proc.stdout)
			data = json.loads((out / 'results.json').read_text())
			ET.parse(out / 'junit.xml')
			self.assertEqual(data['score'], 0)
			names = {t['name'].split(' ')[0] for t in data['tests']}
			self.assertEqual(len(names), len(labs))
			for t in data['tests']:
				self.assertEqual(t['score'], 0)
				self.assertIn(reason, t['output'])

	def test_missing_lab_folder(self):
		with tempfile.TemporaryDirectory() as tmp:
			(Path(tmp) / '01-kmalloc-vmalloc').mkdir()	# another lab's folder only
			self.check(tmp, 'no folder 00-hello in the submission', labs=('00',))

	def test_missing_lab_folder_leaves_no_stale_transcript(self):
		with tempfile.TemporaryDirectory() as tmp:
			out = Path(tmp) / 'out'
			stale = out / 'x86_64' / '00-hello.log'
			stale.parent.mkdir(parents=True)
			stale.write_text('== an earlier run\n')
			proc = self.run_grade(tmp, out, '00')
			self.assertEqual(proc.returncode, 0, proc.stderr)
			self.assertFalse(stale.exists())

	def test_empty_submission(self):
		with tempfile.TemporaryDirectory() as tmp:
			self.check(tmp, 'in the submission')

	def test_submission_that_is_a_file(self):
		with tempfile.NamedTemporaryFile() as f:
			self.check(f.name, 'is not a directory')

	def test_submission_that_does_not_exist(self):
		self.check('/nonexistent/kmemlab-submission', 'does not exist')

	def test_unknown_lab_is_a_bad_request(self):
		with tempfile.TemporaryDirectory() as tmp:
			proc = self.run_grade(tmp, Path(tmp) / 'out', '99')
			self.assertEqual(proc.returncode, 2)


class HiddenTest(unittest.TestCase):
	"""A rubric's [hidden] cases: read and checked, graded like the others,
	published later in results.json."""

	TOML = ('title = "t"\n[student]\nsources = ["kmemlab_hello.c"]\n[points]\n'
		'"kmemlab_x.a" = 1\n"kmemlab_x_more.b" = 2\n')

	def rubric(self, hidden: str) -> score.Rubric:
		with tempfile.TemporaryDirectory() as tmp:
			path = Path(tmp) / '00-hello' / 'rubric.toml'
			path.parent.mkdir()
			path.write_text(self.TOML + hidden)
			return score.load_rubric(path)

	def test_hidden_table_is_read(self):
		r = self.rubric('[hidden]\ncases = ["kmemlab_x_more.b"]\nfiles = ["kmemlab_x_more_test.c"]\n')
		self.assertEqual((r.hidden, r.hidden_files), (['kmemlab_x_more.b'], ['kmemlab_x_more_test.c']))
		self.assertEqual(self.rubric('').hidden, [])

	def test_bad_hidden_tables_are_refused(self):
		bad = {
			'unknown case': 'cases = ["kmemlab_hello.zz"]\nfiles = ["x_test.c"]',
			'a path out of the lab': 'cases = ["kmemlab_x_more.b"]\nfiles = ["../x.c"]',
			'not a C file': 'cases = ["kmemlab_x_more.b"]\nfiles = ["vm-steps"]',
			'cases without files': 'cases = ["kmemlab_x_more.b"]',
			'every case hidden': 'cases = ["kmemlab_x.a", "kmemlab_x_more.b"]\nfiles = ["x.c"]',
			'an unknown key': 'cases = ["kmemlab_x_more.b"]\nfiles = ["x.c"]\nsuites = []',
		}
		for what, table in bad.items():
			with self.subTest(what):
				with self.assertRaisesRegex(score.RubricError, r'\[hidden\]'):
					self.rubric(f'[hidden]\n{table}\n')

	def test_hidden_cases_are_published_later(self):
		hidden = 'hello_user.parameter_holds_insmod_value'
		rubric = dataclasses.replace(RUBRIC, hidden=[hidden], hidden_files=['user/hello_user.c'])
		serial, channel, secret = warm('fail-warm')
		runs = [score.score(rubric, vmlog.parse(serial, '', channel, secret, SUITE_MODULES), 0, DEDUCTIONS,
				    'x86_64', 'fast'),
			score.LabResult('00-hello', 'i386', 'fast', score.unrun(rubric, Problem(Outcome.NO_SUBMISSION, 'no folder')))]
		for r in runs:
			self.assertEqual({t.key for t in r.tests if t.hidden}, {hidden})
		with tempfile.TemporaryDirectory() as tmp:
			report.write_gradescope(runs, Path(tmp) / 'results.json')
			data = json.loads((Path(tmp) / 'results.json').read_text())
		shown = {t['name'].split(': ', 1)[1]: t['visibility'] for t in data['tests'] if t['max_score']}
		self.assertEqual({k for k, v in shown.items() if v == 'after_published'}, {hidden})
		self.assertEqual(set(shown.values()), {'visible', 'after_published'})
		self.assertEqual(data['score'], sum(r.points for r in runs))	# the grade counts every test
		visible = sum(t.max_points for t in runs[0].tests if not t.hidden)
		self.assertIn(f'/{visible} in the visible tests; 1 more shown once grades are published', data['output'])


class ClockTest(unittest.TestCase):
	"""A rubric's clock: host by default, icount on request, checked; the
	VM's environment carries it unless the caller's says otherwise."""

	def test_clock_is_read_checked_and_reaches_the_vm(self):
		import labvm
		base = 'title = "t"\n[student]\nsources = ["a.c"]\n[points]\n"s.c" = 1\n'
		with tempfile.TemporaryDirectory() as tmp:
			path = Path(tmp) / '07-pci-dma' / 'rubric.toml'
			path.parent.mkdir()
			path.write_text(base)
			self.assertEqual(score.load_rubric(path).clock, 'host')
			path.write_text('clock = "icount"\n' + base)
			r = score.load_rubric(path)
			self.assertEqual(r.clock, 'icount')
			vm = labvm.LabVM('07-pci-dma', r, 'x86_64', 'fast', Path('/nonexistent'), Path(tmp) / 'run')
			vm.run_dir = Path(tmp)
			saved = os.environ.pop('QEMU_ICOUNT', None)
			try:
				self.assertEqual(vm.vm_env(10)['QEMU_ICOUNT'], '1')
				os.environ['QEMU_ICOUNT'] = '0'
				self.assertEqual(vm.vm_env(10)['QEMU_ICOUNT'], '0')
			finally:
				os.environ.pop('QEMU_ICOUNT', None)
				if saved is not None:
					os.environ['QEMU_ICOUNT'] = saved
			path.write_text('clock = "virtual"\n' + base)
			with self.assertRaisesRegex(score.RubricError, 'clock is one of host, icount'):
				score.load_rubric(path)


class RunsTest(unittest.TestCase):
	"""A rubric's [runs.NAME] tables: read and checked; a run's rubric, and
	its rows named apart in results.json."""

	TOML = ('title = "t"\narches = ["x86_64", "i386"]\nmemory = "1G"\nappend = { x86_64 = "swiotlb=force" }\n'
		'[student]\nsources = ["kmemlab_hello.c"]\n[points]\n"kmemlab_x.a" = 1\n')

	def rubric(self, runs: str) -> score.Rubric:
		with tempfile.TemporaryDirectory() as tmp:
			path = Path(tmp) / '07-pci-dma' / 'rubric.toml'
			path.parent.mkdir()
			path.write_text(self.TOML + runs)
			return score.load_rubric(path)

	def test_run_is_read_and_replaces_machine_settings(self):
		r = self.rubric('[runs.iommu]\narch = "x86_64"\nflavour = "iommu"\nmemory = "2G"\n')
		self.assertEqual(list(r.runs), ['iommu'])
		run = r.for_run('iommu')
		self.assertEqual((run.arches, run.memory, run.append, run.points),
				 (['x86_64'], '2G', {'x86_64': ''}, r.points))
		self.assertEqual((r.arches, r.memory), (['x86_64', 'i386'], '1G'))	# the lab's own, unchanged
		self.assertEqual(self.rubric('[runs.big]\narch = "i386"\nflavour = "debug"\n').for_run('big').memory, '1G')
		self.assertEqual(self.rubric('[runs.la57]\narch = "x86_64"\nflavour = "fast"\n').runs['la57'].flavour, 'fast')
		self.assertEqual(self.rubric('').runs, {})

	def test_bad_runs_are_refused(self):
		bad = {
			'no flavour': 'arch = "x86_64"',
			'the gdb flavour': 'arch = "x86_64"\nflavour = "gdb"',
			'an arch the lab does not run on': 'arch = "arm64"\nflavour = "debug"',
			'iommu on i386': 'arch = "i386"\nflavour = "iommu"',
			'an unknown key': 'arch = "x86_64"\nflavour = "iommu"\ntimeout = 5',
		}
		for what, table in bad.items():
			with self.subTest(what):
				with self.assertRaisesRegex(score.RubricError, r'\[runs\.'):
					self.rubric(f'[runs.iommu]\n{table}\n')

	def test_run_rows_are_named_apart(self):
		rubric = self.rubric('[runs.iommu]\narch = "x86_64"\nflavour = "iommu"\n')
		rows = [score.LabResult('07-pci-dma', 'x86_64', 'debug', score.unrun(rubric, Problem(Outcome.NO_SUBMISSION, 'x'))),
			score.LabResult('07-pci-dma', 'x86_64', 'iommu', score.unrun(rubric, Problem(Outcome.NO_SUBMISSION, 'x')),
					run='iommu')]
		with tempfile.TemporaryDirectory() as tmp:
			report.write_gradescope(rows, Path(tmp) / 'results.json')
			names = [t['name'] for t in json.loads((Path(tmp) / 'results.json').read_text())['tests']]
		self.assertEqual(names, ['07-pci-dma (x86_64): kmemlab_x.a', '07-pci-dma (iommu): kmemlab_x.a'])
		self.assertEqual(report.lab_header(rows[1]), '07-pci-dma (iommu run: x86_64, iommu kernel)')


@unittest.skipIf(integrity is None, NO_SOLUTIONS)
class HostileTest(unittest.TestCase):
	def test_every_hostile_submission_applies(self):
		with tempfile.TemporaryDirectory() as tmp:
			for kind in integrity.KINDS:
				src = integrity.make(kind, Path(tmp) / kind)
				self.assertTrue((src / integrity.LAB / integrity.MODULE).is_file())


@unittest.skipIf(skelgen is None, NO_SOLUTIONS)
class SkelgenTest(unittest.TestCase):
	def test_region_becomes_skeleton_text(self):
		src = ('int f(void)\n{\n\t/* TODO 1 BEGIN: return the answer. */\n\treturn 42;\n'
		       '\t/* TODO 1 END, skeleton: return 0; */\n}\n')
		out, n = skelgen.strip_regions(src, 'x.c')
		self.assertEqual(n, 1)
		self.assertEqual(out, 'int f(void)\n{\n\t/* TODO 1: return the answer. */\n\treturn 0;\n}\n')

	def test_multiline_comment_kept_and_body_dropped(self):
		src = '/* TODO 2 BEGIN: one\n * two\n */\nx = 1;\n/* TODO 2 END */\ny = 2;\n'
		out, _ = skelgen.strip_regions(src, 'x.c')
		self.assertEqual(out, '/* TODO 2: one\n * two\n */\ny = 2;\n')

	def test_kernel_block_comment_form(self):
		src = '\t/*\n\t * TODO 4 BEGIN: map it.\n\t * Really.\n\t */\n\tmap();\n\t/* TODO 4 END, skeleton: return -ENOSYS; */\n'
		out, _ = skelgen.strip_regions(src, 'x.c')
		self.assertEqual(out, '\t/*\n\t * TODO 4: map it.\n\t * Really.\n\t */\n\treturn -ENOSYS;\n')

	def test_banner_says_complete_only_on_a_file_with_a_todo(self):
		with tempfile.TemporaryDirectory() as tmp:
			helper, todo = Path(tmp) / 'helper.c', Path(tmp) / 'mod.c'
			helper.write_text('int helper(void) { return 0; }\n')
			todo.write_text('/* TODO 1 BEGIN: a */\nx;\n/* TODO 1 END */\n')
			self.assertIn('nothing to complete here', skelgen.banner_for(helper, 'solutions/x/helper.c', 'x'))
			self.assertNotIn('the file you complete', skelgen.banner_for(helper, 'solutions/x/helper.c', 'x'))
			self.assertIn('the file you complete', skelgen.banner_for(todo, 'solutions/x/mod.c', 'x'))

	def test_bad_markers_name_file_and_line(self):
		cases = {
			'nested': '/* TODO 1 BEGIN: a */\n/* TODO 2 BEGIN: b */\n/* TODO 2 END */\n/* TODO 1 END */\n',
			'no end': '/* TODO 1 BEGIN: a */\nx;\n',
			'mismatch': '/* TODO 1 BEGIN: a */\nx;\n/* TODO 2 END */\n',
			'stray end': 'x;\n/* TODO 3 END */\n',
		}
		for what, src in cases.items():
			with self.subTest(what):
				with self.assertRaisesRegex(skelgen.SkelError, r'^x\.c:\d+: '):
					skelgen.strip_regions(src, 'x.c')


if __name__ == '__main__':
	unittest.main()
