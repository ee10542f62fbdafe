# SPDX-License-Identifier: GPL-2.0
"""Unit tests of make dist (dist/export.py) on a made-up lab with hidden
tests, and of the answer check of tests/dist.py. Not in the student
edition: both need the solutions' tooling."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import tomllib
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'dist'))
sys.path.insert(0, str(ROOT / 'tests'))

import dist  # noqa: E402
import export  # noqa: E402

RUBRIC = '''title = "x"
arches = ["x86_64"]

[student]
sources = ["kmemlab_x.c"]

[points]
"kmemlab_x.a_works" = 1
"kmemlab_x_more.b_works" = 2
"x_user.c_works" = 1
"x_secret.d_works" = 3

# Graded, never shown to students before the grades are out.
[hidden]
cases = ["kmemlab_x_more.b_works", "x_secret.d_works"]
files = ["kmemlab_x_more_test.c", "user/x_secret.c"]
'''
KBUILD = 'obj-m := kmemlab_x_test.o kmemlab_x_more_test.o\n'
STEPS = ('insmod kmemlab_x.ko\ninsmod kmemlab_x_test.ko\ninsmod kmemlab_x_more_test.ko\n'
	 'run x_user\nrun x_secret now\nrmmod kmemlab_x_more_test\nrmmod kmemlab_x_test\nrmmod kmemlab_x\nleakcheck\n')


class Fixture:
	"""A checkout with one lab, 00-x, two of whose tests are hidden."""

	def __init__(self, tmp: Path):
		self.root = tmp / 'repo'
		self.lab = self.root / 'labs' / '00-x'
		self.suite = self.root / 'kunit' / '00-x'
		(self.suite / 'user').mkdir(parents=True)
		self.lab.mkdir(parents=True)
		(self.lab / 'rubric.toml').write_text(RUBRIC)
		(self.suite / 'Kbuild').write_text(KBUILD)
		(self.suite / 'vm-steps').write_text(STEPS)
		for f in ('kmemlab_x_test.c', 'kmemlab_x_more_test.c', 'user/x_user.c', 'user/x_secret.c'):
			(self.suite / f).write_text('// a suite\n')


class HiddenExportTest(unittest.TestCase):
	def setUp(self):
		self.tmp = tempfile.TemporaryDirectory()
		self.fx = Fixture(Path(self.tmp.name))

	def tearDown(self):
		self.tmp.cleanup()

	def test_rubric_loses_the_hidden_table_and_cases(self):
		files = export.lab_files(self.fx.root, self.fx.lab)
		text = files['labs/00-x/rubric.toml'].decode()
		data = tomllib.loads(text)
		self.assertNotIn('hidden', data)
		self.assertEqual(data['points'], {'kmemlab_x.a_works': 1, 'x_user.c_works': 1})
		self.assertNotIn('Graded, never shown', text)	# the table's own comment goes too
		self.assertEqual(data['student'], {'sources': ['kmemlab_x.c']})

	def test_hidden_files_and_their_steps_are_left_out(self):
		files = export.lab_files(self.fx.root, self.fx.lab)
		self.assertIsNone(files['kunit/00-x/kmemlab_x_more_test.c'])
		self.assertIsNone(files['kunit/00-x/user/x_secret.c'])
		self.assertEqual(files['kunit/00-x/Kbuild'].decode(), 'obj-m := kmemlab_x_test.o\n')
		self.assertEqual(files['kunit/00-x/vm-steps'].decode(),
				 'insmod kmemlab_x.ko\ninsmod kmemlab_x_test.ko\nrun x_user\n'
				 'rmmod kmemlab_x_test\nrmmod kmemlab_x\nleakcheck\n')
		names = export.hidden_names(export.score.load_rubric(self.fx.lab / 'rubric.toml'))
		self.assertEqual(names, {'b_works', 'd_works', 'x_secret', 'kmemlab_x_more', 'kmemlab_x_more_test'})

	def test_a_hidden_file_that_is_missing_or_never_built_is_refused(self):
		(self.fx.suite / 'Kbuild').write_text('obj-m := kmemlab_x_test.o\n')
		with self.assertRaisesRegex(export.ExportError, 'not in its Kbuild'):
			export.lab_files(self.fx.root, self.fx.lab)
		(self.fx.suite / 'user' / 'x_secret.c').unlink()
		with self.assertRaisesRegex(export.ExportError, 'does not exist'):
			export.lab_files(self.fx.root, self.fx.lab)

	def test_a_rubric_that_cannot_be_cut_by_lines_is_refused(self):
		inline = ('title = "x"\npoints = { "kmemlab_x.a_works" = 1, "kmemlab_x_more.b_works" = 2, '
			  '"x_user.c_works" = 1, "x_secret.d_works" = 3 }\n' + RUBRIC[RUBRIC.index('[student]'):]
			  .replace(RUBRIC[RUBRIC.index('[points]'):RUBRIC.index('# Graded')], ''))
		(self.fx.lab / 'rubric.toml').write_text(inline)
		self.assertEqual(len(export.score.load_rubric(self.fx.lab / 'rubric.toml').points), 4)
		with self.assertRaisesRegex(export.ExportError, 'line by line'):
			export.lab_files(self.fx.root, self.fx.lab)


class MakefileTest(unittest.TestCase):
	def test_only_the_student_branches_stay(self):
		text = ('X := 1\n# what EDITION is\nEDITION := $(if $(wildcard solutions/.),full,student)\n\n'
			'help:\n\t@echo a\nifeq ($(EDITION),full)\n\t@echo full\nifeq ($(V),1)\n\t@echo v\n'
			'endif\nelse\n\t@echo student\nendif\n\t@echo b\nifeq ($(EDITION),full)\nmutants:\n\t@x\nendif\n')
		self.assertEqual(export.student_makefile(text),
				 'X := 1\n\nhelp:\n\t@echo a\n\t@echo student\n\t@echo b\n')

	def test_the_real_makefile_has_a_student_test_and_no_instructor_target(self):
		text = export.student_makefile((ROOT / 'Makefile').read_text())
		self.assertIn('tests/student.py', text)
		for gone in ('tests/run.py', 'skelgen/', 'dist/export.py', 'bench/'):
			self.assertNotIn(gone, text)


class DestTest(unittest.TestCase):
	def test_bad_destinations_are_refused(self):
		with tempfile.TemporaryDirectory() as tmp:
			busy = Path(tmp) / 'busy'
			busy.mkdir()
			(busy / 'notes.txt').write_text('mine\n')
			a_file = Path(tmp) / 'file'
			a_file.write_text('x')
			for dest in (busy, a_file, ROOT / 'build' / 'edition', ROOT):
				with self.subTest(str(dest)):
					with self.assertRaises(export.BadDest):
						export.prepare(dest)
			self.assertEqual((busy / 'notes.txt').read_text(), 'mine\n')

	def test_an_earlier_edition_is_replaced_but_its_git(self):
		with tempfile.TemporaryDirectory() as tmp:
			old = Path(tmp) / 'edition'
			(old / '.git').mkdir(parents=True)
			(old / '.git' / 'HEAD').write_text('ref: refs/heads/main\n')
			(old / 'skel').mkdir()
			(old / 'skel' / 'stale.c').write_text('old\n')
			(old / export.MARKER).write_text('an edition\n')
			export.prepare(old)
			self.assertEqual(sorted(p.name for p in old.iterdir()), ['.git'])
			self.assertTrue((old / '.git' / 'HEAD').is_file())

	def test_exit_status_of_a_bad_request_is_2(self):
		with tempfile.TemporaryDirectory() as tmp:
			(Path(tmp) / 'x').write_text('x')
			for args in ([], [''], [tmp]):
				with self.subTest(args):
					proc = subprocess.run([sys.executable, str(ROOT / 'dist' / 'export.py')] + args,
							      capture_output=True, text=True, check=False, timeout=120)
					self.assertEqual(proc.returncode, 2, proc.stderr)
					self.assertEqual(len(proc.stderr.strip().splitlines()), 1, proc.stderr)


class AnswerCheckTest(unittest.TestCase):
	REGION = ['void *addr = kmap_local_page(page);', 'memset(addr, val, PAGE_SIZE);', 'kunmap_local(addr);']
	GIVEN = {'kunmap_local(addr);', 'return 0;'}

	def test_a_copy_of_the_region_is_an_answer(self):
		text = 'static void f(struct page *page)\n{\n\tvoid *addr = kmap_local_page(page);\n\n' \
		       '\t/* fill */\n\tmemset(addr, val, PAGE_SIZE);\n\tkunmap_local(addr);\n}\n'
		self.assertIn('repeats 3 lines', dist.holds_answer(text, self.REGION, self.GIVEN))

	def test_the_same_lines_apart_are_no_answer(self):
		text = '\tvoid *addr = kmap_local_page(page);\n\tx = 1;\n\tmemset(addr, val, PAGE_SIZE);\n'
		self.assertEqual(dist.holds_answer(text, self.REGION, self.GIVEN), '')

	def test_given_lines_and_one_liners_are_no_answer(self):
		self.assertEqual(dist.holds_answer('kunmap_local(addr);\nreturn 0;\n', self.REGION, self.GIVEN), '')
		self.assertEqual(dist.holds_answer('free_pages_exact(buf, bytes);\n',
						   ['free_pages_exact(buf, bytes);'], set()), '')

	def test_long_lines_quoted_in_a_string_are_an_answer(self):
		region = ['if (!vma_is_shared_maybe(vma) && write)', 'ret = remap_pfn_range(vma, addr, pfn, len, prot);',
			  'pr_info("mapped %lu pages\\n", n);']
		text = 'replace = """\nif (!vma_is_shared_maybe(vma) && write)\n"""\n' \
		       'with = "ret = remap_pfn_range(vma, addr, pfn, len, prot); x"\n' \
		       'also = [["pr_info(\\"mapped %lu pages\\\\n\\", n);", ""]]\n'
		self.assertIn('holds 3 of its 3 long answer lines', dist.holds_answer(text, region, set()))

	def test_the_edition_leaks_nothing_the_full_tree_does(self):
		"""The full checkout's mistake lists quote solutions: the check sees it."""
		leaks = dist.answer_leaks(ROOT / 'kunit')
		self.assertTrue(any('mutants.toml' in l for l in leaks), leaks)


if __name__ == '__main__':
	unittest.main()
