# SPDX-License-Identifier: GPL-2.0
"""One lab graded from one source tree: build, VMs, score, transcript.

  Lab(lab_dir, src, arch, flavour, kdir, run='', rubric=None)
    .select(glob)        only the rubric tests glob matches (TEST=)
    .grade(deductions)   -> score.LabResult
  keep_transcript(out, lab, result), save_transcript(out, lab, result)

Each seam is a file of its own:
  building   grader/labbuild.py  LabBuild: suite, student's module, deny list, steps
  the VM     grader/labvm.py     LabVM: boot while compiling, the receive
                                 protocol, reading each VM, fresh VMs after a crash
  scoring    grader/score.py     one VM's parsed run -> points (the rubric's)
             grader/boots.py     the VMs of one lab -> one result
             this file           the finishing touches (students' paths, sparse,
                                 the verdict) and the transcript
The outcome of each test and of the lab is a value (grader/outcome.py).

make shell (grader/shell.py) and make gdb (grader/gdbvm.py) use a Lab for
its builds (build_for_session) and its VM settings (stage, mkinitramfs,
vm_env, start_run, end_run, run_dir).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Optional

import report
import score
import testglob
from labbuild import LabBuild
from labvm import LabVM
from outcome import Outcome, Problem

ROOT = Path(__file__).resolve().parent.parent


class Lab:
	"""One lab, built from one source tree for one arch and flavour.

	The suite and user programs come from kunit/<lab>/ (grader/build.py,
	built once and reused); the student's module from the rubric's listed
	sources in <src>/<lab>/. What the VM gets is staged in the run dir
	build/<arch>-<flavour>/<src>/<lab>/, with the serial log. run names
	one of the rubric's [runs.NAME] (score.LabRun): its arch, flavour,
	memory and kernel arguments replace the lab's own, and its run dir is
	build/<arch>-<flavour>-<run>/<src>/<lab>/. rubric: the lab's, already
	loaded (score.load_rubric; it is not changed), else it is read here."""

	def __init__(self, lab_dir: Path, src: str, arch: str, flavour: str, kdir: Path, run: str = '',
		     rubric: Optional[score.Rubric] = None):
		self.name = lab_dir.name
		rubric = rubric or score.load_rubric(lab_dir / 'rubric.toml')
		self.rubric = rubric.for_run(run)	# a copy: select() narrows it
		self.rubric.timeout = score.vm_limit(self.rubric.timeout, flavour)
		self.run = run
		self.arch, self.flavour, self.kdir = arch, flavour, kdir
		tree = Path(src).name if Path(src).is_absolute() else src
		self.bdir = ROOT / 'build' / f'{arch}-{flavour}{"-" + run if run else ""}' / tree / self.name
		self.src = src
		self.builds = LabBuild(self.name, self.rubric, src, kdir, arch)
		self.vm = LabVM(self.name, self.rubric, arch, flavour, kdir, self.bdir)
		self.left_out: list[str] = []

	# What the other commands read of a lab's builds and VM.
	src_dir = property(lambda self: self.builds.src_dir)
	test_dir = property(lambda self: self.builds.test_dir)
	suite = property(lambda self: self.builds.suite)
	student = property(lambda self: self.builds.student)
	build_log = property(lambda self: self.builds.log)
	test_glob = property(lambda self: self.vm.test_glob)
	run_dir = property(lambda self: self.vm.run_dir)
	secret = property(lambda self: self.vm.secret)

	def build_for_session(self) -> tuple[int, str]:
		return self.builds.build_for_session()

	def steps(self) -> str:
		return self.builds.steps()

	def stage(self, name: str, kos: list[Path], programs: list[Path], steps: str = '') -> Path:
		return self.vm.stage(name, kos, programs, steps)

	def mkinitramfs(self, vm: Path, out: Path) -> None:
		self.vm.mkinitramfs(vm, out)

	def vm_env(self, limit: int, socket_path: str = '') -> dict[str, str]:
		return self.vm.vm_env(limit, socket_path)

	def start_run(self) -> None:
		self.vm.start_run()

	def end_run(self) -> None:
		self.vm.end_run()

	def select(self, glob: str) -> None:
		"""Grade only the rubric tests glob matches (--test, TEST=): the
		rubric keeps those, left_out lists the others, and the VM runs
		KUnit and the user programs with kunit.filter_glob=glob."""
		kept, self.left_out = testglob.split(self.rubric.points, glob)
		self.rubric.points = {k: self.rubric.points[k] for k in kept}
		self.vm.test_glob = glob

	def grade(self, deductions: dict[str, int]) -> score.LabResult:
		"""Build, boot, read, score: the lab's result (0 with the reason for
		a missing folder, a build that failed, a refused module)."""
		start = time.monotonic()
		if not self.src_dir.is_dir():
			problem = Problem(Outcome.NO_SUBMISSION, f'no folder {self.name} in the submission')
			result = score.LabResult(self.name, self.arch, self.flavour,
						 score.unrun(self.rubric, problem), halted=problem,
						 test_glob=self.test_glob, left_out=self.left_out)
			result.seconds = time.monotonic() - start
			return result
		self.vm.start_run()
		try:
			vms = self.vm.run(self.builds)
		finally:
			self.vm.end_run()
			self.builds.release()
		if isinstance(vms, Problem):
			result = score.LabResult(self.name, self.arch, self.flavour,
						 score.unrun(self.rubric, vms), halted=vms)
		else:
			import boots	# imported while the VM booted (labvm.import_for_results)
			result = boots.merge(self.rubric, vms, deductions, self.arch, self.flavour)
			result.serial, result.channel, result.qemu_log = vms[0].serial, vms[0].channel, vms[0].qemu
			result.boots = vms
		self.finish(result, deductions)
		result.seconds = time.monotonic() - start
		return result

	def finish(self, result: score.LabResult, deductions: dict[str, int]) -> None:
		"""What the build adds to a scored result: the students' own paths
		in every test's words (the lab's problem line stays as said), the
		sparse deduction, the deny list's verdict, the notes and warnings,
		the TEST= selection and the run's name."""
		path = self.builds.student_path
		for t in result.tests:
			t.cause = path(t.cause)
			if t.problem:
				t.problem = dataclasses.replace(t.problem, cause=path(t.problem.cause))
			t.details = [path(d) for d in t.details]
		for d in result.deductions:
			d.text = path(d.text)
			d.where = [path(w) for w in d.where]
		if self.builds.sparse:	# __user / __iomem confusion, found at build time
			score.deduct(result, self.rubric, deductions, 'sparse', self.builds.sparse[0], len(self.builds.sparse))
		if self.builds.verdict:
			result.verdict = self.builds.verdict.kind
		result.notes = self.student.notes
		result.warnings = self.builds.warnings
		result.test_glob, result.left_out = self.test_glob, self.left_out
		result.run = self.run


def transcript_path(out: Path, arch: str, lab: str, run: str = '') -> Path:
	"""results/<arch>/<lab>.log, or <lab>.<run>.log for a rubric's run."""
	return out / arch / (f'{lab}.{run}.log' if run else f'{lab}.log')


def keep_transcript(out: Path, lab: Lab, result: score.LabResult) -> None:
	"""results/<arch>/<lab>.log: the transcript of a lab that lost points.
	A lab with full marks has none: one that an earlier, failing run left
	is removed, so that it cannot be read as this run's."""
	if result.full_marks:
		transcript_path(out, lab.arch, lab.name, result.run).unlink(missing_ok=True)
	else:
		save_transcript(out, lab, result)


def save_transcript(out: Path, lab: Lab, result: score.LabResult) -> None:
	"""Write the transcript of result (build output, every VM's steps,
	console, results channel and QEMU log) and set result.transcript."""
	path = transcript_path(out, lab.arch, lab.name, result.run)
	path.parent.mkdir(parents=True, exist_ok=True)
	steps = lab.steps() if lab.test_dir.is_dir() else ''
	path.write_text(f'== {report.lab_header(result)}: {result.points}/{result.max_points}\n'
			+ (f'== left out by TEST={result.test_glob}: {", ".join(result.left_out)}\n'
			   if result.left_out else '')
			+ (f'== {result.problem}\n' if result.problem else '')
			+ ''.join(f'== VM {n}: {why}\n' for n, why in enumerate(result.resumes, 2))
			+ (f'== stopped: {result.stopped}\n' if result.stopped else '')
			+ ''.join(f'== {d}\n' for d in (result.tests[0].details if result.verdict else []))
			+ f'== build\n{lab.build_log}\n'
			+ (f'== VM 1 of {len(result.boots)}\n' if result.resumes else '')
			+ f'== steps\n{steps}\n'
			f'== serial console\n{result.serial}\n== results channel\n{result.channel}\n'
			f'== QEMU\n{result.qemu_log}'
			+ ''.join(f'\n== VM {n} of {len(result.boots)}: {why}\n== steps\n{b.plan.text}'
				  f'== serial console\n{b.serial}\n== results channel\n{b.channel}\n== QEMU\n{b.qemu}'
				  for n, (why, b) in enumerate(zip(result.resumes, result.boots[1:]), 2)),
			encoding='utf-8', errors='replace')
	result.transcript = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
