# SPDX-License-Identifier: GPL-2.0
"""Unit tests of the grader and the skeleton generator, on console logs.

The fixtures in tests/fixtures/ are real serial logs of lab 00 in the lab
VM: the solution (pass.log), the skeleton (fail.log), a NULL dereference in
one test (crash.log), an endless loop in one test (lockup.log), an init that
fails (insmod-fails.log) and a buffer never freed (leak.log, debug kernel).
The other cases are made from them here: a skip, a log cut short by the
timeout, reports inside and outside test cases, garbage, nothing at all.
"""

import os
import subprocess
import sys
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'grader'))
sys.path.insert(0, str(ROOT / 'skelgen'))

import score  # noqa: E402
import skelgen  # noqa: E402
import vmlog  # noqa: E402

FIXTURES = ROOT / 'tests' / 'fixtures'
RUBRIC = score.load_rubric(ROOT / 'labs' / '00-hello' / 'rubric.toml')
DEDUCTIONS = score.load_deductions(ROOT / 'grader' / 'deductions.toml')


def setUpModule():
	if vmlog.kunit_parser is None:
		src = subprocess.run(['sh', '-c', f'. {ROOT}/qemu-env/lib.sh && kernel_source'],
				     capture_output=True, text=True, check=True).stdout.strip()
		vmlog.load_kunit_parser(src)


def fixture(name: str) -> str:
	return (FIXTURES / name).read_text()


def grade(serial: str, status: int = 0, qemu: str = '') -> score.LabResult:
	return score.score(RUBRIC, vmlog.parse(serial, qemu), status, DEDUCTIONS, 'x86_64', 'fast')


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
		self.assertTrue(all(t.status == 'pass' for t in r.tests))

	def test_failures_carry_the_suites_message(self):
		r = grade(fixture('fail.log'))
		self.assertEqual(r.points, 0)
		t = by_key(r)['kmemlab_hello.hello_init_ran_once']
		self.assertEqual(t.status, 'fail')
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

	def test_crash_keeps_earlier_results_and_names_the_test(self):
		r = grade(fixture('crash.log'))
		t = by_key(r)
		self.assertEqual(t['kmemlab_hello.hello_greet_returns_length'].points, 1)
		crashed = t['kmemlab_hello.hello_greet_truncates_to_buffer']
		self.assertEqual(crashed.points, 0)
		self.assertIn('kernel crashed: kernel NULL pointer dereference', crashed.reason)
		self.assertTrue(t['kmemlab_hello.hello_greet_rejects_empty_buffer'].reason.startswith('not run'))
		self.assertIn("step 2 'insmod kmemlab_hello_test.ko'", r.problem)
		self.assertEqual(r.points, 4)

	def test_soft_lockup_is_named(self):
		r = grade(fixture('lockup.log'))
		self.assertIn('soft lockup', by_key(r)['kmemlab_hello.hello_greet_truncates_to_buffer'].reason)
		self.assertEqual(r.points, 4)

	def test_insmod_failure_is_one_line_and_zero(self):
		r = grade(fixture('insmod-fails.log'))
		self.assertEqual(r.problem,
				 "insmod kmemlab_hello.ko failed: insmod: can't insert '/lab/kmemlab_hello.ko': No such device")
		self.assertEqual(r.points, 0)

	def test_leak_after_rmmod_is_a_named_deduction(self):
		r = grade(fixture('leak.log'))
		self.assertTrue(all(t.status == 'pass' for t in r.tests))
		self.assertEqual([d.kind for d in r.deductions], ['kmemleak'])
		self.assertEqual(r.deductions[0].points, round(9 * DEDUCTIONS['kmemleak'] / 100))
		self.assertEqual(r.points, 9 - r.deductions[0].points)
		self.assertFalse(r.full_marks)

	def test_skipped_case_leaves_the_total(self):
		log = fixture('pass.log').replace('ok 3 hello_greet_returns_length',
						  'ok 3 hello_greet_returns_length # SKIP needs high memory')
		r = grade(log)
		t = by_key(r)['kmemlab_hello.hello_greet_returns_length']
		self.assertEqual(t.status, 'skip')
		self.assertIn('needs high memory', t.reason)
		self.assertEqual((r.points, r.max_points), (8, 8))

	def test_timeout_mid_suite(self):
		lines = fixture('pass.log').split('\n')
		cut = next(n for n, l in enumerate(lines) if 'ok 3 hello_greet_returns_length' in l)
		r = grade('\n'.join(lines[:cut + 1]), status=score.TIMEOUT_STATUS)
		t = by_key(r)
		self.assertIn("timed out during step 2 'insmod kmemlab_hello_test.ko'", r.problem)
		self.assertEqual(t['kmemlab_hello.hello_greet_returns_length'].points, 1)
		self.assertIn('timed out', t['kmemlab_hello.hello_greet_truncates_to_buffer'].reason)
		self.assertTrue(t['hello_user.parameter_holds_insmod_value'].reason.startswith('not run'))

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
		garbage = os.urandom(4096).decode('latin-1') + '\nKTAP version 1\n1..3\nnot ok\n    # Subtest:\n'
		for log in (garbage, ''):
			r = grade(log)
			self.assertEqual(r.points, 0)
			self.assertIn('during boot', r.problem)

	def test_rubric_case_missing_from_log_did_not_run(self):
		log = '\n'.join(l for l in fixture('pass.log').split('\n') if 'hello_greet_returns_length' not in l)
		r = grade(log)
		t = by_key(r)['kmemlab_hello.hello_greet_returns_length']
		self.assertEqual(t.points, 0)
		self.assertIn('did not run', t.reason)


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
