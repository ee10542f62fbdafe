# SPDX-License-Identifier: GPL-2.0
"""Unit tests of TEST=glob: grader/testglob.py, the report's line, and the
filter of kunit/include/ktap_user.h, compiled here into a small program
whose filter parameter is a file of the test's own (gcc needed, as for the
lab suites; skipped without it).

The C program runs a plain case, a case with a skip of its own and a
chain of two cases; unfiltered, its output must be exactly what the header
printed before it had a filter (EXPECTED_UNFILTERED).
"""

import shutil
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'grader'))

import report  # noqa: E402
import score  # noqa: E402
from outcome import Outcome, Problem  # noqa: E402
import testglob  # noqa: E402

PROGRAM = r'''
#include "ktap_user.h"

int main(int argc, char **argv)
{
	int i;

	if (argc > 1) {	/* "NAME...": which of these suite.case the filter selects */
		ktap_read_filter();
		for (i = 1; i < argc; i++) {
			char *dot = strchr(argv[i], '.');

			*dot = '\0';
			ktap.suite = argv[i];
			printf("%s.%s %d\n", argv[i], dot + 1, ktap_selected(dot + 1));
		}
		return 0;
	}
	ktap_begin("demo_user", 5);
	if (ktap_case("plain_case")) {
		ktap_diag("plain body ran");
		KTAP_EXPECT(1 == 2, "one is not %d", 2);
		ktap_case_end();
	}
	if (ktap_case("skips_itself")) {
		ktap_skip_case("no such feature");
		ktap_case_end();
	}
	ktap_chain_case("chain_first");
	ktap_diag("chain_first body ran");
	KTAP_EXPECT(0, "chain_first fails");
	ktap_case_end();
	ktap_chain_case("chain_second");
	ktap_diag("chain_second body ran");
	ktap_case_end();
	if (ktap_case("last_case")) {
		ktap_diag("last body ran");
		ktap_case_end();
	}
	return ktap_end();
}
'''

EXPECTED_UNFILTERED = '''KTAP version 1
1..1
    KTAP version 1
    # Subtest: demo_user
    1..5
    # plain_case: plain body ran
    # plain_case: EXPECTATION FAILED at demo.c:22: one is not 2
    not ok 1 plain_case
    ok 2 skips_itself # SKIP no such feature
    # chain_first: chain_first body ran
    # chain_first: EXPECTATION FAILED at demo.c:31: chain_first fails
    not ok 3 chain_first
    # chain_second: chain_second body ran
    ok 4 chain_second
    # last_case: last body ran
    ok 5 last_case
# demo_user: pass:2 fail:2 skip:1 total:5
not ok 1 demo_user
'''


class Glob(unittest.TestCase):
	"""testglob against KUnit's rules (lib/kunit/executor.c)."""

	KEYS = ['kmemlab_hello.hello_init_ran_once', 'kmemlab_hello.hello_greet_uses_parameter',
		'hello_user.parameter_is_world_readable', 'hello_user_default.parameter_defaults_to_world']

	def test_suite_only_takes_every_case(self):
		kept, left = testglob.split(self.KEYS, 'kmemlab_hello')
		self.assertEqual(kept, self.KEYS[:2])
		self.assertEqual(left, self.KEYS[2:])

	def test_split_at_first_dot(self):
		self.assertTrue(testglob.matches('hello_user.parameter_is_*', 'hello_user.parameter_is_world_readable'))
		self.assertFalse(testglob.matches('hello_user.parameter_is_*', 'hello_user_default.parameter_defaults_to_world'))
		self.assertTrue(testglob.matches('*.*', self.KEYS[0]))

	def test_whole_names_only(self):
		# glob_match() matches the entire string: no substring search.
		self.assertFalse(testglob.matches('hello', self.KEYS[0]))
		self.assertFalse(testglob.matches('kmemlab_hello.init', self.KEYS[0]))
		self.assertTrue(testglob.matches('kmemlab_hello.*init*', self.KEYS[0]))

	def test_classes_and_negation(self):
		self.assertTrue(testglob.matches('hello_use[rs].*', self.KEYS[2]))
		self.assertFalse(testglob.matches('hello_use[!r].*', self.KEYS[2]))
		self.assertTrue(testglob.matches('hello_user?default.*', self.KEYS[3]))

	def test_problem(self):
		self.assertEqual(testglob.problem('kmemlab_hello.hello_[a-g]*'), '')
		for bad in ('a b', "x'y", 'a\\.b', 'a^b', 'x;rm', '', 'a' * 201):
			self.assertNotEqual(testglob.problem(bad), '', bad)

	def test_report_says_how_many_left_out(self):
		r = score.LabResult('00-hello', 'x86_64', 'fast',
				    [score.TestScore(self.KEYS[0], 1, 1, Outcome.PASSED, 0.1, True)],
				    test_glob='kmemlab_hello.hello_init*', left_out=self.KEYS[1:])
		text = report.render_lab(r)
		self.assertIn('  left out by TEST=kmemlab_hello.hello_init*: 3 tests\n', text)
		self.assertIn('Score: 1/1', text)
		r.left_out, r.test_glob = [], ''
		self.assertNotIn('left out', report.render_lab(r))


@unittest.skipUnless(shutil.which('gcc'), 'needs gcc')
class KtapFilter(unittest.TestCase):
	"""ktap_user.h with its filter read from a file of the test's own."""

	@classmethod
	def setUpClass(cls):
		cls.tmp = tempfile.TemporaryDirectory(prefix='kmemlab-ktap-')
		d = Path(cls.tmp.name)
		(d / 'demo.c').write_text(PROGRAM)
		cls.param = d / 'filter_glob'
		cls.exe = d / 'demo'
		subprocess.run(['gcc', '-O2', '-Wall', '-Werror', '-I', str(ROOT / 'kunit' / 'include'),
				f'-DKTAP_FILTER_PARAM="{cls.param}"', '-o', str(cls.exe), 'demo.c'],
			       cwd=d, check=True)

	@classmethod
	def tearDownClass(cls):
		cls.tmp.cleanup()

	def run_demo(self, param, *args):
		if param is None:
			self.param.unlink(missing_ok=True)
		else:
			self.param.write_text(param + '\n')
		return subprocess.run([str(self.exe), *args], capture_output=True, text=True, check=False).stdout

	def test_unfiltered_output_unchanged(self):
		self.assertEqual(self.run_demo('(null)'), EXPECTED_UNFILTERED)
		self.assertEqual(self.run_demo(None), EXPECTED_UNFILTERED)

	def test_left_out_cases_skip_and_do_not_run(self):
		out = self.run_demo('demo_user.last_case')
		self.assertNotIn('plain body ran', out)
		self.assertIn('    ok 1 plain_case # SKIP left out by kunit.filter_glob=demo_user.last_case\n', out)
		self.assertIn('    ok 2 skips_itself # SKIP left out by kunit.filter_glob=demo_user.last_case\n', out)
		self.assertIn('    # last_case: last body ran\n    ok 5 last_case\n', out)
		self.assertTrue(out.endswith('# demo_user: pass:1 fail:0 skip:4 total:5\nok 1 demo_user\n'), out)

	def test_chain_cases_run_silently(self):
		out = self.run_demo('demo_user.chain_second')
		self.assertNotIn('chain_first', out.replace(
			'ok 3 chain_first # SKIP left out by kunit.filter_glob=demo_user.chain_second', ''))
		self.assertIn('    # chain_second: chain_second body ran\n    ok 4 chain_second\n', out)
		self.assertIn('pass:1 fail:0 skip:4 total:5', out)

	def test_other_suite_skips_everything(self):
		out = self.run_demo('kmemlab_hello')
		self.assertNotIn('body ran', out)
		self.assertIn('pass:0 fail:0 skip:5 total:5', out)

	def test_same_matches_as_the_grader(self):
		names = ['demo_user.plain_case', 'demo_user.chain_first', 'demo_user_x.plain_case',
			 'other.plain_case', 'demo_user.last_case']
		for glob in ('demo_user', 'demo_user.*', 'demo_user*.plain_*', 'demo_[a-e]ser.?ast_case',
			     'demo_user.[!p]*', '*.*case', 'demo_user.chain_first', '*'):
			out = self.run_demo(glob, *names)
			got = {l.split()[0]: l.split()[1] == '1' for l in out.splitlines()}
			want = {n: testglob.matches(glob, n) for n in names}
			self.assertEqual(got, want, glob)


if __name__ == '__main__':
	unittest.main()
