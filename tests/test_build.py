# SPDX-License-Identifier: GPL-2.0
"""Unit tests of what the grader takes from a submission and what it
refuses, without a kernel: the sandbox itself, the files taken, the keys
of the build trees, and the deny list read against sources.

The builds of hostile submissions (against a lab kernel) are in
tests/run.py; these need only bwrap and a shell.
"""

import os
import re
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'grader'))

import build  # noqa: E402
import forbidden  # noqa: E402
import sandbox  # noqa: E402
import score  # noqa: E402

RULES = forbidden.load(ROOT / 'grader' / 'forbidden.toml')
LAB = '00-hello'
SOURCES = score.load_rubric(ROOT / 'labs' / LAB / 'rubric.toml').sources


def verdict(text: str):
	return forbidden.check(RULES, [], {'x.c': text})


class SandboxTest(unittest.TestCase):
	def setUp(self):
		why = sandbox.probe()
		if why:
			self.fail(f'no sandbox on this host: {why}')
		self.tmp = tempfile.TemporaryDirectory(prefix='kmemlab-sandbox-test-', dir=ROOT / 'build'
						       if (ROOT / 'build').is_dir() else None)
		self.host = Path(self.tmp.name)
		self.scratch = self.host / 'scratch'
		self.scratch.mkdir()

	def tearDown(self):
		self.tmp.cleanup()

	def run_in(self, script: str):
		return sandbox.run(['sh', '-c', script], self.scratch, '/submission/lab', [])

	def test_make_shell_cannot_touch_the_host(self):
		marker = self.host / 'marker'
		tmp_marker = Path(f'/tmp/kmemlab-marker-{os.getpid()}')
		(self.scratch / 'Makefile').write_text(f'$(shell touch {marker} {tmp_marker})\nall:\n\t@true\n')
		proc = sandbox.run(['make', '-s'], self.scratch, '/submission/lab', [])
		self.assertFalse(marker.exists(), proc.stdout)
		self.assertFalse(tmp_marker.exists(), 'the sandbox /tmp is the host /tmp')

	def test_host_files_are_not_there(self):
		secret = self.host / 'secret'
		secret.write_text('kmemlab-secret-4711\n')
		proc = self.run_in(f'cat {secret} /etc/hostname {ROOT}/solutions/{LAB}/*.c; ls /root')
		self.assertNotEqual(proc.returncode, 0)
		self.assertNotIn('kmemlab-secret-4711', proc.stdout)
		self.assertNotIn('MODULE_LICENSE', proc.stdout)

	def test_only_the_scratch_dir_is_writable(self):
		proc = self.run_in('echo ok > built; touch /usr/x /kmemlab-x 2>/dev/null; echo $?')
		self.assertEqual((self.scratch / 'built').read_text(), 'ok\n')
		self.assertEqual(proc.stdout.strip(), '1')

	def test_no_network_no_capabilities_clean_environment(self):
		os.environ['KMEMLAB_LEAK'] = 'x'
		try:
			proc = self.run_in('cat /proc/net/dev | wc -l; grep CapEff /proc/self/status; env')
		finally:
			del os.environ['KMEMLAB_LEAK']
		lines = proc.stdout.split('\n')
		self.assertEqual(lines[0].strip(), '3', 'only the loopback device: ' + proc.stdout)
		self.assertIn('CapEff:\t0000000000000000', proc.stdout)
		self.assertNotIn('KMEMLAB_LEAK', proc.stdout)
		self.assertNotIn('MAKEFLAGS', proc.stdout)


class NoSandboxTest(unittest.TestCase):
	def test_grading_stops_with_exit_3_and_one_line(self):
		with tempfile.TemporaryDirectory(prefix='kmemlab-nobwrap-') as tmp:
			fake = Path(tmp) / 'bwrap'
			fake.write_text('#!/bin/sh\necho "bwrap: No permissions to create a new namespace" >&2\nexit 1\n')
			fake.chmod(0o755)
			env = dict(os.environ, PATH=f'{tmp}:{os.environ["PATH"]}')
			proc = subprocess.run([sys.executable, str(ROOT / 'grader' / 'grade.py'), '--lab', '00',
					       '--out', f'{tmp}/results'], env=env, capture_output=True, text=True)
		self.assertEqual(proc.returncode, 3, proc.stdout + proc.stderr)
		self.assertEqual(proc.stdout, '')
		self.assertEqual(len(proc.stderr.splitlines()), 1, proc.stderr)
		self.assertIn('No permissions to create a new namespace', proc.stderr)


class ProbeMemoTest(unittest.TestCase):
	"""sandbox.probe: a sandbox that worked is remembered for this boot,
	bwrap and these sysctls; one that failed is probed again each time."""

	def setUp(self):
		self.tmp = tempfile.TemporaryDirectory(prefix='kmemlab-probe-test-')
		self.env = dict(os.environ)
		os.environ['KMEMLAB_CACHE'] = self.tmp.name
		self.runs = 0
		self.real_run = sandbox.subprocess.run

		def counted(*a, **kw):
			self.runs += 1
			return self.real_run(*a, **kw)
		sandbox.subprocess.run = counted
		sandbox._probed = None

	def tearDown(self):
		sandbox.subprocess.run = self.real_run
		sandbox._probed = None
		os.environ.clear()
		os.environ.update(self.env)
		self.tmp.cleanup()

	def probe(self) -> str:
		sandbox._probed = None	# a new grader process
		return sandbox.probe()

	def test_a_working_sandbox_is_probed_once(self):
		self.assertEqual(self.probe(), '')
		self.assertEqual(self.probe(), '')
		self.assertEqual(self.runs, 1)
		self.assertEqual(len(list(Path(self.tmp.name).glob('sandbox-probe-*'))), 1)

	def test_a_failing_sandbox_is_probed_and_said_every_time(self):
		fake = Path(self.tmp.name) / 'bin' / 'bwrap'
		fake.parent.mkdir()
		fake.write_text('#!/bin/sh\necho "bwrap: No permissions to create a new namespace" >&2\nexit 1\n')
		fake.chmod(0o755)
		os.environ['PATH'] = f'{fake.parent}:{os.environ["PATH"]}'
		for _ in range(2):
			self.assertIn('No permissions to create a new namespace', self.probe())
		self.assertEqual(self.runs, 2)
		self.assertEqual(list(Path(self.tmp.name).glob('sandbox-probe-*')), [])

	def test_another_bwrap_is_probed_again(self):
		self.assertEqual(self.probe(), '')
		other = Path(self.tmp.name) / 'bin' / 'bwrap'
		other.parent.mkdir()
		other.symlink_to(sandbox.shutil.which('bwrap'))
		os.environ['PATH'] = f'{other.parent}:{os.environ["PATH"]}'
		self.assertEqual(self.probe(), '')
		self.assertEqual(self.runs, 2)


class TakeTest(unittest.TestCase):
	"""What build.Student takes from a submission folder."""

	def setUp(self):
		self.tmp = tempfile.TemporaryDirectory(prefix='kmemlab-take-test-')
		self.sub = Path(self.tmp.name) / LAB
		self.sub.mkdir()
		self.kdir = Path(self.tmp.name) / 'x86_64-fast-0'	# never built against here
		self.kdir.mkdir()

	def tearDown(self):
		self.tmp.cleanup()

	def student(self):
		return build.Student(LAB, SOURCES, self.sub, self.kdir, 'x86_64')

	def test_only_the_listed_sources_are_taken(self):
		(self.sub / SOURCES[0]).write_text('int x;\n')
		(self.sub / 'Kbuild').write_text('$(shell touch /tmp/x)\n')
		(self.sub / 'extra.c').write_text('int y;\n')
		st = self.student()
		self.assertEqual(st.take_problem, '')
		self.assertEqual(list(st.taken), SOURCES)
		self.assertEqual(len(st.notes), 1)
		self.assertIn('Kbuild, extra.c', st.notes[0])
		self.assertEqual(st.kbuild(), '# Written by grader/build.py\nobj-m := kmemlab_hello.o\n')

	def test_a_link_is_refused(self):
		(self.sub / SOURCES[0]).symlink_to('/etc/hostname')
		self.assertIn('not a regular file', self.student().take_problem)

	def test_a_missing_source_or_folder_is_named(self):
		self.assertEqual(self.student().take_problem, f'{SOURCES[0]} is missing from the submission')
		self.sub.rmdir()
		self.assertEqual(self.student().take_problem, f'no folder {LAB} in the submission')

	def test_the_skeletons_header_copy_is_no_news_but_an_edit_is(self):
		(self.sub / SOURCES[0]).write_text('int x;\n')
		header = next((ROOT / 'skel' / LAB).glob('*.h'))
		(self.sub / header.name).write_text(header.read_text())
		self.assertEqual(self.student().notes, [])
		(self.sub / header.name).write_text(header.read_text() + 'int kmemlab_more(void);\n')
		self.assertIn('the lab\'s own copy was used', self.student().notes[0])

	def test_every_change_of_content_is_a_new_tree(self):
		(self.sub / SOURCES[0]).write_text('int x;\n')
		first = self.student().dir
		self.assertEqual(self.student().dir, first, 'the same content must reuse its tree')
		(self.sub / SOURCES[0]).write_text('int x; \n')
		self.assertNotEqual(self.student().dir, first)
		other = build.Student(LAB, SOURCES, self.sub, Path(self.tmp.name) / 'i386-fast-0', 'i386')
		self.assertNotEqual(other.dir, first)

	def test_the_suite_tree_does_not_depend_on_the_submission(self):
		before = build.Suite(LAB, self.kdir, 'x86_64').dir
		(self.sub / 'Kbuild').write_text('ccflags-y += -DKUNIT_EXPECT_EQ=(void)\n')
		self.assertEqual(build.Suite(LAB, self.kdir, 'x86_64').dir, before)


@unittest.skipIf(sandbox.probe(), 'no sandbox here')
class CheckTest(unittest.TestCase):
	"""build.Student.check: sparse's run on a built tree, kept only when
	it finished."""

	def setUp(self):
		self.tmp = tempfile.TemporaryDirectory(prefix='kmemlab-check-test-')
		sub = Path(self.tmp.name) / LAB
		sub.mkdir()
		(sub / SOURCES[0]).write_text('int x;\n')
		kdir = Path(self.tmp.name) / 'x86_64-fast-0'
		kdir.mkdir()
		self.st = build.Student(LAB, SOURCES, sub, kdir, 'x86_64')
		self.st.dir = Path(self.tmp.name) / 'tree'	# as if built
		self.st.dir.mkdir()
		(self.st.dir / build.DONE).touch()

	def tearDown(self):
		self.tmp.cleanup()

	def script(self, text: str) -> None:
		(self.st.dir / build.CHECK).write_text(text)

	def test_a_finished_check_is_kept_and_read_once(self):
		self.script('echo "x.c:1:1: sparse: warning: incorrect type"\n')
		self.assertEqual(self.st.check(), '')
		self.assertIn('sparse: warning', self.st.log)
		self.assertTrue((self.st.dir / build.CHECK_LOG).is_file())
		self.assertEqual(self.st.check(), '')	# once
		self.assertEqual(self.st.log.count('sparse: warning'), 1)

	def test_a_check_that_did_not_finish_fails_and_is_not_kept(self):
		self.script('echo "Killed"; exit 137\n')
		self.assertEqual(self.st.check(), 'sparse did not finish (exit status 137): Killed')
		self.assertFalse((self.st.dir / build.CHECK_LOG).exists())

	def test_the_tree_is_read_only_to_the_check(self):
		self.script('touch written 2>&1; echo done\n')
		self.assertEqual(self.st.check(), '')
		self.assertFalse((self.st.dir / 'written').exists())
		self.assertIn('Read-only file system', self.st.log)


class RecipeTest(unittest.TestCase):
	"""build.Recipe.replay: replay.sh from records of the sub-makes."""

	SRC = '/src/linux'

	def setUp(self):
		self.tmp = tempfile.TemporaryDirectory(prefix='kmemlab-recipe-test-')
		self.records = Path(self.tmp.name) / 'records'
		self.records.mkdir()
		kdir = Path(self.tmp.name) / 'x86_64-fast-0'
		kdir.mkdir()
		self.recipe = build.Recipe(LAB, kdir, 'x86_64')
		self.n = 0

	def tearDown(self):
		self.tmp.cleanup()

	def sub_make(self, *args, env=None, cwd='/kdir'):
		env = env or {'srctree': self.SRC, 'KBUILD_CFLAGS': "-O2 -D'x'", 'KBUILD_CHECKSRC': '1',
			      'MAKEFLAGS': 'rR -j2 --jobserver-auth=3,4 -- M=/submission/x MAKE=/submission/x/record-make',
			      'MAKE': '/submission/x/record-make', 'KMEMLAB_RECORDS': '/submission/x/records'}
		(self.records / f'{self.n}.env').write_bytes(b''.join(f'{k}={v}'.encode() + b'\0' for k, v in env.items()))
		(self.records / f'{self.n}.args').write_bytes(b''.join(a.encode() + b'\0' for a in (cwd,) + args))
		self.n += 1

	def test_the_three_sub_makes_in_order_with_their_environment(self):
		self.sub_make('--no-print-directory', '-C', '/kdir', '-f', f'{self.SRC}/Makefile')
		self.sub_make('-f', f'{self.SRC}/scripts/Makefile.build', 'obj=/submission/x', 'need-builtin=1')
		self.sub_make('-f', f'{self.SRC}/scripts/Makefile.modpost')
		self.sub_make('-f', f'{self.SRC}/scripts/Makefile.modfinal')
		text = self.recipe.replay(self.records)
		lines = text.splitlines()
		steps = [l for l in lines if l.startswith(('cd ', 'sh '))]
		self.assertEqual(len(steps), 4, text)
		self.assertIn('Makefile.build', steps[0])
		self.assertIn('modules-check.sh', steps[1])
		self.assertIn('Makefile.modpost', steps[2])
		self.assertIn('Makefile.modfinal', steps[3])
		self.assertIn("export KBUILD_CFLAGS='-O2 -D'\\''x'\\'''", lines)
		self.assertIn("export MAKEFLAGS='rR -j2 -- M=/submission/x'", lines)
		self.assertFalse([l for l in lines if l.startswith(('export MAKE=', 'export KMEMLAB_RECORDS='))])
		self.assertIn('set -e', lines)

	def test_sparse_is_split_off_the_build(self):
		self.sub_make('-f', f'{self.SRC}/scripts/Makefile.build', 'obj=/submission/x', 'need-builtin=1')
		self.sub_make('-f', f'{self.SRC}/scripts/Makefile.modpost')
		self.sub_make('-f', f'{self.SRC}/scripts/Makefile.modfinal')
		self.recipe.dir.mkdir(parents=True)
		(self.recipe.dir / 'replay.sh').write_text(self.recipe.replay(self.records))
		build_lines, check_lines = self.recipe.script().splitlines(), self.recipe.check_script().splitlines()
		self.assertIn("export KBUILD_CHECKSRC='0'", build_lines)
		# The three sub-makes; modules-check.sh is recorded but not replayed
		# (Recipe.variant).
		self.assertEqual([l.split("'")[5] for l in build_lines if l.startswith(('cd ', 'sh '))],
				 [f'{self.SRC}/scripts/Makefile.{s}' for s in ('build', 'modpost', 'modfinal')])
		self.assertIn('modules-check.sh', self.recipe.recorded())
		self.assertIn("export KBUILD_CHECKSRC='2'", check_lines)
		steps = [l for l in check_lines if l.startswith(('cd ', 'sh '))]
		self.assertEqual(len(steps), 1)
		self.assertIn('Makefile.build', steps[0])

	def test_sub_makes_without_sparse_are_refused(self):
		env = {'srctree': self.SRC, 'KBUILD_CHECKSRC': '0'}
		for step in ('build', 'modpost', 'modfinal'):
			self.sub_make('-f', f'{self.SRC}/scripts/Makefile.{step}', env=env)
		with self.assertRaisesRegex(ValueError, 'without sparse'):
			self.recipe.replay(self.records)

	def test_a_missing_or_unexpected_step_is_refused(self):
		self.sub_make('-f', f'{self.SRC}/scripts/Makefile.build', 'obj=/submission/x')
		self.sub_make('-f', f'{self.SRC}/scripts/Makefile.modfinal')
		with self.assertRaisesRegex(ValueError, 'expected the sub-makes'):
			self.recipe.replay(self.records)

	def test_sub_makes_with_different_environments_are_refused(self):
		self.sub_make('-f', f'{self.SRC}/scripts/Makefile.build', 'obj=/submission/x')
		self.sub_make('-f', f'{self.SRC}/scripts/Makefile.modpost', env={'srctree': self.SRC, 'A': '1'})
		with self.assertRaisesRegex(ValueError, 'another environment'):
			self.recipe.replay(self.records)


class ForbiddenTest(unittest.TestCase):
	def test_a_detector_switched_off_is_named_with_file_and_line(self):
		v = verdict('void f(void *p)\n{\n\tkmemleak_not_leak(p);\n}\n')
		self.assertEqual(v.kind, 'detector-off')
		self.assertEqual(v.text, 'uses kmemleak_not_leak (x.c:3): switches off the leak detector')

	def test_each_kind_is_caught(self):
		cases = {
			'kasan_disable_current();': 'detector-off',
			'lockdep_off();': 'detector-off',
			'p = kmem_cache_create("x", 8, 0, SLAB_NOLEAKTRACE, NULL);': 'detector-off',
			'static void __no_sanitize_address f(void) {}': 'detector-off',
			'register_module_notifier(&nb);': 'hook',
			'f = symbol_get(kmemlab_x);': 'hook',
			'kernel_power_off();': 'stops-machine',
			'panic("done");': 'stops-machine',
			'kunit_fail_current_test("x");': 'results',
			'static int x __attribute__((section(".kunit_test_suites")));': 'results',
			'filp_open("/lab/steps", O_RDONLY, 0);': 'files',
			'asm volatile("nop");': 'asm',
			'outb(1, 0x604);': 'asm',
			'#define N(a, b) a##b': 'hides-code',
		}
		for code, kind in cases.items():
			with self.subTest(code):
				v = verdict(f'void f(void)\n{{\n\t{code}\n}}\n')
				self.assertIsNotNone(v, code)
				self.assertEqual(v.kind, kind, v.text)

	def test_comments_strings_includes_and_va_args_are_no_use(self):
		text = ('#include <linux/kmemleak.h>\n#include <linux/reboot.h>\n'
			'/* kmemleak_not_leak() would hide it */\n// asm too\n'
			'#define dbg(fmt, ...) pr_debug(fmt, ##__VA_ARGS__)\n'
			'static const char *s = "panic(asm)";\nstatic char c = \'#\';\n')
		self.assertIsNone(verdict(text))

	def test_sections_and_imports_of_a_module_are_checked(self):
		rule = next(r for r in RULES if '.kunit_*' in r.sections)
		self.assertTrue(forbidden.matches('.kunit_test_suites', rule.sections))
		self.assertTrue(any(forbidden.matches('kmemleak_ignore', r.symbols) for r in RULES))
		# The instrumentation's own calls are never on the list.
		for sym in ('__asan_load8_noabort', '__kasan_check_write', '__sanitizer_cov_trace_pc', '_printk'):
			self.assertFalse(any(forbidden.matches(sym, r.symbols) for r in RULES), sym)

	def test_every_pattern_names_something_in_the_kernel(self):
		"""A misspelt pattern would deny nothing: each of "symbols" must
		match a symbol the 6.12 tree exports, each of "tokens" a name its
		headers define or use (asm keywords and "##" aside)."""
		src = subprocess.run(['sh', '-c', f'. {ROOT}/qemu-env/lib.sh && kernel_source'],
				     capture_output=True, text=True, check=True).stdout.strip()
		words = lambda ps: '|'.join(p.replace('*', '[A-Za-z0-9_]*') for p in ps)

		def grep(regex: str, dirs: list[str]) -> set[str]:
			out = subprocess.run(['grep', '-rhoE', regex] + [f'{src}/{d}' for d in dirs],
					     capture_output=True, text=True).stdout
			return set(re.findall(r'\w+', out))
		symbols = [p for r in RULES for p in r.symbols]
		tokens = [p for r in RULES for p in r.tokens if p not in ('##', '__asm')]	# operator, keyword
		exported = grep(rf'EXPORT_SYMBOL(_GPL)?\(({words(symbols)})\)',
				['kernel', 'mm', 'lib', 'fs', 'init', 'arch/x86', 'drivers/base'])
		named = grep(rf'\b({words(tokens)})\b', ['include', 'arch/x86/include'])
		for p in symbols:
			with self.subTest(symbol=p):
				self.assertTrue(any(forbidden.matches(e, [p]) for e in exported), p)
		for p in tokens:
			with self.subTest(token=p):
				self.assertTrue(any(forbidden.matches(n, [p]) for n in named), p)

	def test_no_solution_or_skeleton_source_is_refused(self):
		for tree in ('solutions', 'skel'):
			for c in sorted((ROOT / tree).glob('*/*.c')):
				with self.subTest(str(c.relative_to(ROOT))):
					self.assertIsNone(forbidden.check(RULES, [], {c.name: c.read_text()}))


if __name__ == '__main__':
	unittest.main()


class PruneTest(unittest.TestCase):
	"""Graders side by side (make test, grade-class): pruning keeps a few
	recent trees per lab and kernel, but never one a grader still holds."""

	def test_a_held_tree_survives_pruning_and_a_released_one_does_not(self):
		with tempfile.TemporaryDirectory(prefix='kmemlab-prune-test-') as tmp:
			parent = Path(tmp) / 'kernel-x'
			parent.mkdir()
			trees = []
			for i in range(4):
				d = parent / f'kernel-x-{i}'
				(d).mkdir()
				(d / build.DONE).touch()
				os.utime(d, (1000 + i, 1000 + i))
				trees.append(d)
			held = open(trees[0].with_name(trees[0].name + build.LOCK), 'a')
			import fcntl
			fcntl.flock(held, fcntl.LOCK_SH)
			for d in trees[:2]:	# the two oldest, as prune() would choose
				build.remove_unused(d)
			self.assertTrue(trees[0].is_dir(), 'a tree in use was removed')
			self.assertFalse(trees[1].is_dir(), 'an unused stale tree stayed')
			held.close()
			build.remove_unused(trees[0])
			self.assertFalse(trees[0].is_dir(), 'a released tree could not be pruned')
