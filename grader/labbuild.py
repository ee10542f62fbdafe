# SPDX-License-Identifier: GPL-2.0
"""Building one lab: the lab's own suite and user programs, the student's
module, the deny list, and what the VM is told to run.

  LabBuild(name, rubric, src, kdir, arch)
    .build_suite()    -> None or a Problem (SUITE_NOT_BUILT)
    .build_student()  -> None or a Problem (NO_SUBMISSION, NOT_BUILT, FORBIDDEN)
    .check_student()  sparse on the built module (while the VM runs)
    .build_for_session() -> (0, '') or (exit status, one line): make shell, make gdb
    .steps()          -> the lab's planned /lab/steps text
    .chains()         -> per user program, its cases that build on each other
    .student_path(t)  -> t with the sandbox's paths as the student knows them

The trees themselves are grader/build.py's (build.Suite: kunit/<lab>/ only,
built once per content and kernel and reused; build.Student: the rubric's
listed sources of <src>/<lab>/), each built in the sandbox of
grader/sandbox.py. build.Missing (a tool missing) passes through: the
caller turns it into an environment failure. After a build, .warnings
holds the compiler's lines on the student's files and .verdict the deny
list's (grader/forbidden.py), if any; after check_student(), .sparse and
.warnings hold sparse's lines too.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Optional

import build
import forbidden
import score
from outcome import Outcome, Problem

ROOT = Path(__file__).resolve().parent.parent
# modpost's warning for a symbol the suite uses and the student's module
# defines (scripts/mod/modpost.c), which the suite's build expects.
MODPOST_UNDEFINED = re.compile(r'WARNING: modpost: ".*" \[.*\] undefined!$')


class LabBuild:
	"""The builds of one lab from one source tree (src: skel, solutions or
	a folder laid out like them) against one lab kernel (kdir) and arch."""

	def __init__(self, name: str, rubric: score.Rubric, src: str, kdir: Path, arch: str):
		self.name = name
		self.rubric = rubric
		self.src = src
		self.src_dir = ROOT / src / name
		self.test_dir = ROOT / 'kunit' / name
		self.suite = build.Suite(name, kdir, arch)
		self.student = build.Student(name, rubric.sources, self.src_dir, kdir, arch)
		self.warnings: list[str] = []
		self.sparse: list[str] = []
		self.verdict: Optional[forbidden.Verdict] = None

	@property
	def log(self) -> str:
		"""Both builds' output, with the student's paths. The suite's
		modpost warnings of undefined symbols get a line saying why they
		are expected (build.Suite: KBUILD_MODPOST_WARN)."""
		lines = self.suite.log.splitlines(keepends=True)
		last = max((i for i, l in enumerate(lines) if MODPOST_UNDEFINED.match(l)), default=None)
		if last is not None:
			lines.insert(last + 1, "  (expected: the suite calls the student's module, built apart; "
				     'the kernel links them when the suite is loaded after it)\n')
		return self.student_path(''.join(lines) + self.student.log)

	def student_path(self, text: str) -> str:
		"""Compiler and kernel messages name the sandbox's paths; show the
		student's file, or the lab's."""
		sub, suite = self.student.mount_at, self.suite.mount_at
		for f in self.rubric.sources:
			text = text.replace(f'{sub}/{f}', f'{self.src}/{self.name}/{f}')
		text = text.replace(f'{sub}/', f'kunit/{self.name}/').replace(f'{suite}/include/', 'kunit/include/')
		return text.replace(f'{suite}/', f'kunit/{self.name}/').replace(f'{ROOT}/', '')

	def build_suite(self) -> Optional[Problem]:
		"""Build the lab's suite and user programs (reused when built)."""
		problem = self.suite.build()
		return Problem(Outcome.SUITE_NOT_BUILT, self.student_path(problem)) if problem else None

	def build_student(self) -> Optional[Problem]:
		"""Build the student's module and vet it: None, or the problem
		(NO_SUBMISSION: a listed source missing or unusable; NOT_BUILT;
		FORBIDDEN: the deny list's verdict, also in .verdict)."""
		problem = self.student.build()
		self.diagnose()
		if problem:
			kind = Outcome.NO_SUBMISSION if self.student.take_problem else Outcome.NOT_BUILT
			return Problem(kind, self.student_path(problem))
		rules = forbidden.load(ROOT / 'grader' / 'forbidden.toml')
		texts = {f'{self.src}/{self.name}/{n}': d.decode(errors='replace') for n, d in self.student.taken.items()}
		self.verdict = forbidden.check(rules, self.student.kos(), texts)
		return Problem(Outcome.FORBIDDEN, self.verdict.text) if self.verdict else None

	def check_student(self) -> Optional[Problem]:
		"""Sparse on the built module (build.Student.check), run while the
		VM boots or runs the tests; its warnings join .sparse and
		.warnings. None, or NOT_BUILT when sparse did not finish. Call
		after build_student() succeeded."""
		problem = self.student.check()
		self.diagnose()
		return Problem(Outcome.NOT_BUILT, self.student_path(problem)) if problem else None

	def diagnose(self) -> None:
		spaces, others = self.student.diagnostics()
		self.sparse = [self.student_path(l) for l in spaces]
		self.warnings = [self.student_path(l) for l in others]

	def build_for_session(self) -> tuple[int, str]:
		"""Build the suite and the student's module for make shell or
		make gdb: (0, '') or (exit status, one line): 1 when a build or
		the deny list failed, 3 when a tool is missing. Compiler
		warnings in the student's files go to stderr."""
		try:
			problem = self.build_suite() or self.build_student() or self.check_student()
		except build.Missing as e:
			return 3, str(e)
		for w in self.warnings[:5]:
			print(f'  compiler: {w}', file=sys.stderr)
		return (1, problem.text) if problem else (0, '')

	def steps(self) -> str:
		"""The lab's planned steps (/lab/steps): kunit/<lab>/vm-steps, or
		insmod of every module, run of every program, rmmod, leakcheck."""
		custom = self.test_dir / 'vm-steps'
		if custom.is_file():
			return custom.read_text()
		mods = self.student.modules + self.suite.modules
		plan = [f'insmod {m}.ko' for m in mods]
		plan += [f'run {p}' for p in self.suite.programs()]
		plan += [f'rmmod {m}' for m in reversed(mods)]
		return '\n'.join(plan + ['leakcheck']) + '\n'

	def chains(self) -> dict[str, set[str]]:
		"""Per user program, its cases that build on each other: those
		begun with ktap_chain_case("name") (kunit/include/ktap_user.h),
		which run even when the test filter leaves them out."""
		out = {}
		for p in self.suite.programs():
			text = (self.test_dir / 'user' / f'{p}.c').read_text(errors='replace')
			out[p] = set(re.findall(r'\bktap_chain_case\(\s*"([^"]+)"', text))
		return out

	def release(self) -> None:
		"""The built trees may be pruned by other graders from now on."""
		self.suite.release()
		self.student.release()
