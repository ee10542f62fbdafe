# SPDX-License-Identifier: GPL-2.0
"""Unit tests of grader/boots.py: where a VM stopped, the plan of the VM
that goes on, and the one result made of them.

The fixtures resume-hello-* and resume-walk-* are real runs on the fast
x86_64 kernel of the broken solutions of tests/resume.toml: lab 00 whose
greeting writes into a NULL buffer (the kernel crashes in the suite's
fifth case; a second VM goes on) and lab 04 whose ioctl hits BUG_ON() for
an unknown command (the kernel crashes in walk_user's sixth case). Per VM:
its console (.log), results channel (.channel) and steps (.steps: the
lab's planned steps for the first VM, the steps the grader made for the
second); resume-NAME.json holds each VM's secret and exit status, and the
lab's rubric points and suite modules when they were recorded. Other cases
(a chain, a hang, a crash in a VM that already went on, the bounds) are
made from them here.
"""

import dataclasses
import json
import sys
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'grader'))

import boots  # noqa: E402
import report  # noqa: E402
import score  # noqa: E402
import vmlog  # noqa: E402
from outcome import Outcome  # noqa: E402

FIXTURES = ROOT / 'tests' / 'fixtures'
DEDUCTIONS = score.load_deductions(ROOT / 'grader' / 'deductions.toml')
HELLO_X = 'kmemlab_hello.hello_greet_rejects_empty_buffer'
WALK_X = 'walk_user.ioctl_unknown_cmd_enotty'


class Recorded:
	"""A recorded lab run of one or more VMs."""

	def __init__(self, name: str):
		meta = json.loads((FIXTURES / f'{name}.json').read_text())
		self.name = name
		self.lab = meta['lab']
		self.points = meta['points']
		self.modules = meta['suite_modules']
		self.timeout = meta['timeout']
		self.vms = meta['vms']
		self.steps = self.text(1, 'steps')	# the lab's planned steps

	def text(self, vm: int, kind: str) -> str:
		path = FIXTURES / f'{self.name}-vm{vm}.{kind}'
		return path.read_text() if path.exists() else ''

	def rubric(self) -> score.Rubric:
		return score.Rubric(self.lab, self.lab, ['x86_64'], '256M', self.timeout, dict(self.points),
				    sources=['x.c'])

	def run(self, vm: int) -> vmlog.Run:
		return vmlog.parse(self.text(vm, 'log'), self.text(vm, 'qemu'), self.text(vm, 'channel'),
				   self.vms[vm - 1]['secret'], self.modules)

	def status(self, vm: int) -> int:
		return self.vms[vm - 1]['status']

	def boots(self, chains=None) -> list[boots.Boot]:
		"""Every VM as the grader read it, each plan made from the one before."""
		plan = boots.first_plan(self.steps, list(self.points))
		out = []
		for vm in range(1, len(self.vms) + 1):
			if out:
				plan = boots.next_plan(self.steps, plan, out[-1].run, out[-1].crash, self.modules)
			run = self.run(vm)
			b = boots.Boot(plan, run, self.status(vm), 1.0)
			b.crash = boots.crash(plan, run, self.status(vm), self.modules, chains or {})
			out.append(b)
		return out


def stopped_at(plan: boots.Plan, number: int, status_lines: int = 0) -> vmlog.Run:
	"""A run whose channel ended in step number of plan (begun, never ended)."""
	steps = []
	for n, item in enumerate(plan.items[:number], 1):
		verb, _, args = item.text.partition(' ')
		steps.append(vmlog.Step(n, verb, args, rc=0 if n < number else None))
	return vmlog.Run(lines=[], steps=steps, cases={}, reports=[], finished=False,
			 stopped_step=steps[-1])


class WhereItStopped(unittest.TestCase):

	def test_kunit_case_named_by_the_console(self):
		hello = Recorded('resume-hello')
		plan = boots.first_plan(hello.steps, list(hello.points))
		x = boots.crash(plan, hello.run(1), 0, hello.modules, {})
		suite = [k for k in hello.points if k.startswith('kmemlab_hello.') and k != HELLO_X]
		self.assertEqual((x.key, x.origin, x.pending, x.lost, x.hung), (HELLO_X, 1, suite, [], False))

	def test_program_case_named_by_the_channel(self):
		walk = Recorded('resume-walk')
		plan = boots.first_plan(walk.steps, list(walk.points))
		x = boots.crash(plan, walk.run(1), 0, walk.modules, {})
		self.assertEqual((x.key, x.origin), (WALK_X, 2))
		self.assertEqual(x.pending, ['walk_user.ioctl_bad_pointer_efault', 'walk_user.ioctl_request_not_resident',
					     'walk_user.ioctl_copy_failures_efault'])

	def test_a_chain_loses_the_cases_after_x(self):
		walk = Recorded('resume-walk')
		plan = boots.first_plan(walk.steps, list(walk.points))
		chain = {'walk_user': {'ioctl_unknown_cmd_enotty', 'ioctl_bad_pointer_efault'}}
		x = boots.crash(plan, walk.run(1), 0, walk.modules, chain)
		self.assertEqual((x.key, x.pending), (WALK_X, []))
		self.assertEqual(len(x.lost), 3)
		# A plain case that crashes in a program with a chain goes on.
		x = boots.crash(plan, walk.run(1), 0, walk.modules, {'walk_user': {'ioctl_copy_failures_efault'}})
		self.assertEqual((x.key, len(x.pending), x.lost), (WALK_X, 3, []))

	def test_a_console_line_the_channel_lost_says_the_case_ended(self):
		walk = Recorded('resume-walk')
		plan = boots.first_plan(walk.steps, list(walk.points))
		run = walk.run(1)
		run.on_console.add(WALK_X)	# its "ok" line reached the console, not the channel
		x = boots.crash(plan, run, 0, walk.modules, {})
		self.assertEqual(x.key, 'walk_user.ioctl_bad_pointer_efault')
		self.assertIn(WALK_X, x.pending)	# it runs again: only the channel's results count

	def test_no_test_no_resume(self):
		hello = Recorded('resume-hello')
		plan = boots.first_plan(hello.steps, list(hello.points))
		# The student's module's init (step 2: receive is step 1), an rmmod, the leak check.
		for number in (2, 5, 12):
			with self.subTest(step=plan.items[number - 1].text):
				self.assertIsNone(boots.crash(plan, stopped_at(plan, number), 0, hello.modules, {}))
		self.assertIsNone(boots.crash(plan, hello.run(2), 0, hello.modules, {}))	# finished
		forged = dataclasses.replace(hello.run(1), forged=['a step marker /init did not print'])
		self.assertIsNone(boots.crash(plan, forged, 0, hello.modules, {}))

	def test_a_hang(self):
		hello = Recorded('resume-hello')
		plan = boots.first_plan(hello.steps, list(hello.points))
		run = dataclasses.replace(hello.run(1), panic=None)
		self.assertTrue(boots.crash(plan, run, score.TIMEOUT_STATUS, hello.modules, {}).hung)

	def test_a_step_that_runs_one_test_names_it(self):
		hello = Recorded('resume-hello')
		plan = hello.boots()[1].plan
		at = next(n for n, i in enumerate(plan.items, 1) if i.key == 'kmemlab_hello.hello_greet_uses_parameter')
		x = boots.crash(plan, stopped_at(plan, at), 0, hello.modules, {})
		self.assertEqual((x.key, x.origin), ('kmemlab_hello.hello_greet_uses_parameter', 1))
		self.assertEqual(x.pending, ['kmemlab_hello.hello_greet_returns_length',
					     'kmemlab_hello.hello_greet_truncates_to_buffer'])
		# The rmmod between two of them runs no test.
		self.assertIsNone(boots.crash(plan, stopped_at(plan, at + 1), 0, hello.modules, {}))


	def test_a_chain_that_stops_a_vm_running_one_case(self):
		walk = Recorded('resume-walk')
		plan = walk.boots()[1].plan
		bad, nonres, copy = ('walk_user.ioctl_bad_pointer_efault', 'walk_user.ioctl_request_not_resident',
				     'walk_user.ioctl_copy_failures_efault')
		at = next(n for n, i in enumerate(plan.items, 1) if i.key == bad)
		# The case run alone is chained: every later run runs it again.
		chain = {'walk_user': {'ioctl_bad_pointer_efault', 'ioctl_copy_failures_efault'}}
		x = boots.crash(plan, stopped_at(plan, at), 0, walk.modules, chain)
		self.assertEqual((x.key, x.pending, x.lost), (bad, [], [nonres, copy]))
		# The case ended, then the chain (muted) stopped the VM.
		run = stopped_at(plan, at)
		run.cases[bad] = vmlog.Case('walk_user', 'ioctl_bad_pointer_efault', 'pass')
		x = boots.crash(plan, run, 0, walk.modules, {'walk_user': {'ioctl_copy_failures_efault'}})
		self.assertEqual((x.key, x.pending, x.lost), (copy, [], [nonres]))


class NextPlan(unittest.TestCase):

	def test_the_plans_are_those_that_ran(self):
		for name in ('resume-hello', 'resume-walk'):
			with self.subTest(name):
				rec = Recorded(name)
				self.assertEqual(rec.boots()[1].plan.text, rec.text(2, 'steps'))

	def test_suite_one_case_a_load_module_left_loaded(self):
		hello = Recorded('resume-hello')
		plan = hello.boots()[1].plan
		lines = plan.text.splitlines()
		self.assertEqual(lines[:4], ['insmod kmemlab_hello.ko greeting=penguin',
					     'filter kmemlab_hello.hello_init_ran_once', 'insmod kmemlab_hello_test.ko',
					     'rmmod kmemlab_hello_test'])
		self.assertEqual(lines.count('insmod kmemlab_hello_test.ko'), 4)
		self.assertEqual(lines.count('rmmod kmemlab_hello_test'), 3 + 1)	# the last, as planned
		self.assertNotIn(f'filter {HELLO_X}', lines)
		self.assertEqual(plan.owns, [k for k in hello.points if k != HELLO_X])

	def test_the_filter_goes_back_to_the_test_glob(self):
		hello = Recorded('resume-hello')
		first = hello.boots()[0]
		plan = boots.next_plan(hello.steps, first.plan, first.run, first.crash, hello.modules, 'kmemlab_hello*')
		self.assertIn('filter kmemlab_hello*', plan.text.splitlines())
		self.assertNotIn('filter *', plan.text.splitlines())

	def test_a_suite_module_loaded_again_runs_nothing(self):
		walk = Recorded('resume-walk')
		lines = walk.boots()[1].plan.text.splitlines()
		self.assertEqual(lines[:3], ['insmod kmemlab_walk.ko', f'filter {boots.NO_SUITE}', 'insmod kmemlab_walk_test.ko'])

	def test_after_a_chain_the_planned_steps_go_on(self):
		walk = Recorded('resume-walk')
		first = walk.boots({'walk_user': {'ioctl_unknown_cmd_enotty'}})[0]
		plan = boots.next_plan(walk.steps, first.plan, first.run, first.crash, walk.modules)
		self.assertEqual(plan.text.splitlines(), ['insmod kmemlab_walk.ko', 'filter -', 'insmod kmemlab_walk_test.ko',
							  'filter *', 'rmmod kmemlab_walk_test', 'rmmod kmemlab_walk',
							  'leakcheck'])
		self.assertEqual(plan.owns, [])

	def test_bounds(self):
		hello = Recorded('resume-hello')
		vms = hello.boots()
		crashed = vms[0]
		self.assertTrue(boots.go_on([crashed], 60))
		self.assertFalse(boots.go_on(vms, 60))	# the last one finished
		self.assertTrue(boots.go_on([crashed] * boots.MAX_RESUMES, 60))
		self.assertFalse(boots.go_on([crashed] * (boots.MAX_RESUMES + 1), 60))
		slow = dataclasses.replace(crashed, seconds=boots.BUDGET * 60)
		self.assertFalse(boots.go_on([slow], 60))


class Merge(unittest.TestCase):

	def test_hello(self):
		hello = Recorded('resume-hello')
		r = boots.merge(hello.rubric(), hello.boots(), DEDUCTIONS, 'x86_64', 'fast')
		lost = {t.key: t for t in r.tests if t.points < t.max_points}
		self.assertEqual(list(lost), [HELLO_X])
		self.assertTrue(lost[HELLO_X].reason.startswith('kernel crashed: kernel NULL pointer dereference'))
		self.assertIn('  hello_greet_rejects_empty_buffer+0x42/0xf0 [kmemlab_hello_test]', lost[HELLO_X].details)
		self.assertEqual([(d.kind, d.points, d.count) for d in r.deductions], [('crashed', 1, 1)])
		self.assertEqual((r.points, r.max_points, r.problem), (9, 11, ''))
		self.assertEqual(r.resumes, [f'the kernel crashed in {HELLO_X}: a fresh VM went on with the 8 tests left'])
		self.assertIn(f'  resumed: {r.resumes[0]}', report.render_lab(r).splitlines())
		# The first VM alone: what a crash cost before.
		alone = score.score(hello.rubric(), hello.run(1), 0, DEDUCTIONS, 'x86_64', 'fast')
		self.assertEqual(alone.points, 0)

	def test_walk(self):
		walk = Recorded('resume-walk')
		vms = walk.boots()
		self.assertEqual(vms[1].run.forged, [])	# the cases the filter left out are no second result
		r = boots.merge(walk.rubric(), vms, DEDUCTIONS, 'x86_64', 'fast')
		self.assertEqual([t.key for t in r.tests if t.points < t.max_points], [WALK_X])
		self.assertEqual(r.points, sum(walk.points.values()) - walk.points[WALK_X] - 3)
		timed = {t.key: t.timed for t in r.tests}
		self.assertTrue(timed['walk_user.ioctl_copy_failures_efault'])	# timed in its own step

	def test_a_chain(self):
		walk = Recorded('resume-walk')
		vms = walk.boots({'walk_user': {'ioctl_unknown_cmd_enotty'}})[:1]
		vms.append(boots.Boot(boots.next_plan(walk.steps, vms[0].plan, vms[0].run, vms[0].crash, walk.modules),
				      walk.run(2), 0))
		r = boots.merge(walk.rubric(), vms, DEDUCTIONS, 'x86_64', 'fast')
		by_key = {t.key: t for t in r.tests}
		self.assertTrue(by_key['walk_user.ioctl_copy_failures_efault'].reason.startswith(
			f'not run: {WALK_X} stopped the VM'))
		self.assertIn('a fresh VM ran the steps after it', r.resumes[0])

	def test_one_vm_that_finished_is_scored_as_before(self):
		hello = Recorded('resume-hello')
		plan = boots.first_plan(hello.steps, list(hello.points))
		run = hello.run(2)
		b = boots.Boot(plan, run, 0)
		self.assertEqual(boots.merge(hello.rubric(), [b], DEDUCTIONS, 'x86_64', 'fast'),
				 score.score(hello.rubric(), run, 0, DEDUCTIONS, 'x86_64', 'fast'))

	def test_a_hang_costs_the_hung_deduction(self):
		hello = Recorded('resume-hello')
		vms = hello.boots()
		vms[0] = dataclasses.replace(vms[0], status=score.TIMEOUT_STATUS,
					     crash=dataclasses.replace(vms[0].crash, hung=True))
		r = boots.merge(hello.rubric(), vms, DEDUCTIONS, 'x86_64', 'fast')
		self.assertEqual([d.kind for d in r.deductions], ['hung'])
		self.assertIn('hung (the VM hit its time limit)', r.resumes[0])

	def test_a_last_vm_that_crashed_leaves_the_rest_not_run(self):
		hello = Recorded('resume-hello')
		first = hello.boots()[0]
		r = boots.merge(hello.rubric(), [first], DEDUCTIONS, 'x86_64', 'fast')
		self.assertEqual([t.key for t in r.tests if t.outcome.passed], [])
		self.assertTrue({t.key: t for t in r.tests}[HELLO_X].reason.startswith('kernel crashed'))
		self.assertEqual([d.kind for d in r.deductions], ['crashed'])
		self.assertIn('kernel crashed during step 3', r.problem)
		# Why nothing went on, and what that left without a result: here
		# no bound was reached (a VM left alone by the test).
		not_run = [t.key for t in r.tests if t.outcome is Outcome.NOT_RUN]
		self.assertTrue(not_run)
		self.assertEqual(r.stopped, f'the kernel crashed in {HELLO_X}: no fresh VM went on, '
				 f'so the {len(not_run)} tests after it did not run')
		self.assertIn(f'  stopped: {r.stopped}', report.render_lab(r).splitlines())
		t = next(t for t in r.tests if t.key == not_run[0])
		self.assertIn(f'stopped: {r.stopped}', report.test_output(r, t).splitlines())	# results.json

	def test_the_bounds_are_named_when_they_stop_the_lab(self):
		hello = Recorded('resume-hello')
		first = hello.boots()[0]
		r = boots.merge(hello.rubric(), [first] * (boots.MAX_RESUMES + 1), DEDUCTIONS, 'x86_64', 'fast')
		self.assertIn(f'no fresh VM after {boots.MAX_RESUMES} (at most {boots.MAX_RESUMES} a lab)', r.stopped)
		slow = dataclasses.replace(first, seconds=boots.BUDGET * hello.rubric().timeout)
		r = boots.merge(hello.rubric(), [slow], DEDUCTIONS, 'x86_64', 'fast')
		self.assertIn(f'have run {boots.BUDGET} times its time limit', r.stopped)
		r = boots.merge(hello.rubric(), hello.boots(), DEDUCTIONS, 'x86_64', 'fast')
		self.assertEqual(r.stopped, '')	# the last VM finished

	def test_a_void_vm_voids_the_lab(self):
		hello = Recorded('resume-hello')
		vms = hello.boots()
		vms[1] = dataclasses.replace(vms[1], run=dataclasses.replace(vms[1].run, forged=['a forged line']))
		r = boots.merge(hello.rubric(), vms, DEDUCTIONS, 'x86_64', 'fast')
		self.assertEqual((r.points, r.verdict), (0, score.FORGED))
		self.assertEqual(len(r.resumes), 1)	# every VM in the transcript


class Parse(unittest.TestCase):

	def test_a_program_stopped_before_its_header_is_no_forgery(self):
		walk = Recorded('resume-walk')
		secret = walk.vms[0]['secret']
		channel = walk.text(1, 'channel')
		cut = channel.index(f'{secret} O 4     KTAP version 1')
		run = vmlog.parse(walk.text(1, 'log'), '', channel[:cut], secret, walk.modules)
		self.assertEqual(run.forged, [])
		self.assertEqual(run.stopped_step.verb, 'run')

	def test_a_second_result_is_still_forged(self):
		walk = Recorded('resume-walk')
		secret = walk.vms[1]['secret']
		channel = walk.text(2, 'channel')
		left_out = ' # SKIP left out by kunit.filter_glob=walk_user.ioctl_bad_pointer_efault'
		line = f'ok 8 ioctl_request_not_resident{left_out}'
		self.assertIn(line, channel)
		run = vmlog.parse(walk.text(2, 'log'), '', channel.replace(line, 'ok 8 ioctl_request_not_resident'),
				  secret, walk.modules)
		self.assertTrue(any('second result for walk_user.ioctl_request_not_resident' in f for f in run.forged))


if __name__ == '__main__':
	unittest.main()
