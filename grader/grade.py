#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Grade kmemlab labs: build each lab's modules against the lab kernel,
boot the VM with them, read the results, score them with the lab's rubric.

  grade.py [--arch x86_64|i386] [--flavour fast|debug] [--src skel|solutions]
           [--lab NN ...] [--out DIR] [--check] [--test GLOB] [--run NAME]

Without --arch each lab runs on its own default arch, the first of its
rubric's arches (lab 03, high memory, on i386). A rubric's [runs.NAME]
tables (labs 07 and 08: iommu, the x86_64 VM behind an emulated IOMMU)
are graded too, each as a result row of its own on its own kernel
flavour, except with --check (make check), which grades the lab's own
run only; --run NAME grades only that run (make check RUN=iommu). When
the kernel crashes or hangs in a test, fresh VMs grade the tests it took
down (grader/boots.py, at most three). With --test (make TEST=)
only the rubric tests "suite.case" that GLOB matches run and count, as
KUnit's kunit.filter_glob matches them (grader/testglob.py); the report
says how many were left out.

Exit status: 0 when grading ran, whatever the score (with --check: 0 only
when every test passed, 1 otherwise); 2 for a bad request (no such lab, a
--test glob that is malformed or matches no test of the labs asked for);
3 when the environment failed (kernel build, QEMU missing). A submission
that does not exist, is not a directory, is empty or lacks a lab's folder
is graded: each lab asked for scores 0 with the reason, exit status 0.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

import report
import sandbox
import score
import testglob
# The lab and its seams (building, the VM, scoring): grader/lab.py. Their
# names are here too, for make shell, make gdb, grade-class and the tests.
from lab import Lab, keep_transcript, save_transcript, transcript_path  # noqa: F401
from labvm import QEMU_ENV, EnvironmentFailure, stop  # noqa: F401
from outcome import Outcome, Problem

ROOT = Path(__file__).resolve().parent.parent


def find_labs(wanted: list[str]) -> list[Path]:
	labs = sorted(p.parent for p in (ROOT / 'labs').glob('*/rubric.toml'))
	if not wanted:
		return labs
	chosen = []
	for w in wanted:
		match = [l for l in labs if l.name == w or l.name.split('-')[0] == w.zfill(2)]
		if not match:
			names = ', '.join(l.name for l in labs)
			print(f'grade: no lab "{w}" (labs: {names})', file=sys.stderr)
			sys.exit(2)
		chosen += match
	return chosen


def one_lab(lab: str, arch: str, src: str):
	"""The lab a one-lab command (make shell, make gdb) asks for:
	(lab folder, rubric, arch) or a one-line reason it is a bad request.
	An unknown lab exits 2 (find_labs)."""
	wanted = lab.replace(',', ' ').split()
	if len(wanted) != 1:
		return f'one lab at a time (LAB={lab})'
	lab_dir = find_labs(wanted)[0]
	try:
		rubric = score.load_rubric(lab_dir / 'rubric.toml')
	except score.RubricError as e:
		return f'bad rubric: {e}'
	arch = arch or rubric.arches[0]
	if arch not in rubric.arches:
		return f'{lab_dir.name} does not run on {arch} (it runs on {", ".join(rubric.arches)})'
	if not (ROOT / src / lab_dir.name).is_dir():
		return f'no folder {lab_dir.name} in {src}'
	return lab_dir, rubric, arch


def kernel_dir(arch: str, flavour: str) -> Path:
	"""The built lab kernel's directory (the KDIR) for arch and flavour:
	qemu-env/build-kernel.sh's answer, built first if need be.
	EnvironmentFailure when it cannot be had.

	The script's answer is remembered (kernel_memo): asking it again
	costs about 0.1 s of shell and sha256sum on every make check, before
	the VM can start. A remembered answer is used only while everything
	the script reads is as it was (kernel_lookup_inputs) and the kernel is
	still there, built."""
	memo = kernel_memo(arch, flavour)
	try:
		kdir = Path(memo.read_text().strip()) if memo else None
	except OSError:
		kdir = None
	if kdir and (kdir / '.kmemlab-built').is_file():
		return kdir
	proc = subprocess.run([QEMU_ENV / 'build-kernel.sh', arch, flavour],
			      stdout=subprocess.PIPE, text=True, check=False)
	if proc.returncode != 0:
		raise EnvironmentFailure(f'the {arch}/{flavour} lab kernel is not available (see above)')
	kdir = Path(proc.stdout.strip().splitlines()[-1])
	if memo:
		try:	# written aside and renamed: another grader may read it
			memo.parent.mkdir(parents=True, exist_ok=True)
			tmp = memo.with_name(f'{memo.name}.{os.getpid()}')
			tmp.write_text(f'{kdir}\n')
			os.replace(tmp, memo)
		except OSError:
			pass	# no memo: the next call asks the script again
		prune_memos(memo)
	return kdir


MEMO_DAYS = 14


def prune_memos(memo: Path) -> None:
	"""Remove the memos of memo's arch and flavour that no lookup wrote
	for MEMO_DAYS days. Every checkout of kmemlab with other mtimes of
	the files the script reads (a clone, a worktree, a CI run) writes a
	memo of its own into the shared cache, and nothing else removes
	them. A memo still in use but older than that only costs its tree one
	more question to the script (about 0.1 s), which writes it again.
	Errors are ignored: another grader may prune the same files."""
	prefix = memo.name.rsplit('-', 1)[0] + '-'
	cutoff = time.time() - MEMO_DAYS * 86400
	try:
		for old in memo.parent.glob(prefix + '*'):
			if old != memo and old.stat().st_mtime < cutoff:
				old.unlink()
	except OSError:
		pass


def kernel_lookup_inputs() -> list[Path]:
	"""Every file qemu-env/build-kernel.sh reads to find a built kernel:
	itself, lib.sh, the config fragments, the kernel source tarball."""
	tarball = os.environ.get('KERNEL_TARBALL') or '/usr/src/linux-source-6.12.tar.xz'
	return [QEMU_ENV / 'build-kernel.sh', QEMU_ENV / 'lib.sh', Path(tarball),
		*sorted((QEMU_ENV / 'config').iterdir())]


def kernel_memo(arch: str, flavour: str) -> Optional[Path]:
	"""Where kernel_dir remembers the script's answer for arch and flavour:
	a file in the kernel cache named by a sha256 of the inputs' names,
	sizes and mtimes and of the environment the script reads; None with
	KMEMLAB_PREBUILT (the script only checks that bundle, quickly)."""
	if os.environ.get('KMEMLAB_PREBUILT'):
		return None
	h = hashlib.sha256(f'{arch}\0{flavour}\0'.encode())
	for var in ('KMEMLAB_CACHE', 'XDG_CACHE_HOME', 'HOME', 'KERNEL_TARBALL'):
		h.update(f'{var}={os.environ.get(var, "")}\0'.encode())
	for f in kernel_lookup_inputs():
		try:
			st = f.stat()
		except OSError:
			return None	# the script says what is missing
		h.update(f'{f} {st.st_size} {st.st_mtime_ns}\0'.encode())
	return sandbox.kmemlab_cache() / 'kernel' / f'lookup-{arch}-{flavour}-{h.hexdigest()[:16]}'


def lab_runs(rubric: score.Rubric, args) -> list[str]:
	"""The runs of one lab to grade: '' for the lab's own (its default
	arch or --arch, --flavour), then the rubric's [runs.NAME] tables. make
	grade grades them all; make check only the lab's own (the student's
	quick loop); --run NAME (RUN=) only that run, of the labs that have
	it; --arch leaves out the runs on another arch."""
	if args.run:
		return [args.run] if args.run in rubric.runs else []
	runs = [n for n, r in rubric.runs.items() if not args.arch or r.arch == args.arch]
	return [''] + ([] if args.check else runs)


def prebuilt_has(arch: str, flavour: str) -> bool:
	"""False when KMEMLAB_PREBUILT (a Gradescope bundle, a course's
	prebuilt kernels) is set and holds no kernel of this arch and flavour:
	such a bundle grades the lab's own run only."""
	pre = os.environ.get('KMEMLAB_PREBUILT')
	return not pre or (Path(pre) / f'{arch}-{flavour}' / '.kmemlab-built').is_file()


def unmatched(glob: str, rubrics: dict[Path, score.Rubric]) -> str:
	"""'' when glob (--test) matches a test of these labs' rubrics (lab
	folder -> its rubric), else the one line that says why not."""
	keys = [k for r in rubrics.values() for k in r.points]
	if any(testglob.matches(glob, k) for k in keys):
		return ''
	return (f'TEST={glob} matches no test of {", ".join(l.name for l in rubrics)}: a test is suite.case, '
		f'e.g. {keys[0]}, and TEST={keys[0].split(".")[0]}.* takes its whole suite')


def main() -> int:
	ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
	ap.add_argument('--arch', choices=['x86_64', 'i386'],
			help="one arch for every lab (default: each lab's own, the first in its rubric)")
	ap.add_argument('--flavour', default='debug', choices=['fast', 'debug'])
	ap.add_argument('--src', default='skel',
			help='skel, solutions, or a directory laid out like them')
	ap.add_argument('--lab', action='append', default=[], help='lab number or name (repeatable)')
	ap.add_argument('--out', default=str(ROOT / 'results'))
	ap.add_argument('--check', action='store_true', help="student's loop: details, exit 1 unless all pass")
	ap.add_argument('--test', default='', metavar='GLOB',
			help='only the tests "suite.case" GLOB matches (KUnit\'s filter_glob form)')
	ap.add_argument('--run', default='', metavar='NAME',
			help="only the rubrics' [runs.NAME] run (e.g. iommu), of the labs that have one")
	args = ap.parse_args()

	labs = find_labs([w for l in args.lab for w in l.replace(',', ' ').split()])
	why = testglob.problem(args.test) if args.test else ''
	if why:
		print(f'grade: {why}', file=sys.stderr)
		return 2
	try:	# each lab's rubric is read once, here, and passed on
		rubrics = {l: score.load_rubric(l / 'rubric.toml') for l in labs}
	except score.RubricError as e:
		print(f'grade: bad rubric: {e}', file=sys.stderr)
		return 2
	if args.test:
		why = unmatched(args.test, rubrics)
		if why:
			print(f'grade: {why}', file=sys.stderr)
			return 2
	if args.run:
		labs = [l for l in labs if args.run in rubrics[l].runs]
		if not labs:
			print(f'grade: no lab asked for has a run "{args.run}" ([runs.{args.run}] in its rubric)',
			      file=sys.stderr)
			return 2
	for stream in (sys.stdout, sys.stderr):
		stream.reconfigure(errors='replace')
	src = ROOT / args.src
	no_submission = '' if src.is_dir() else \
		f'the submission {args.src} ' + ('is not a directory' if src.exists() else 'does not exist')
	out = Path(args.out)
	out.mkdir(parents=True, exist_ok=True)
	# Never a silent unsandboxed build: no sandbox, no grading.
	why = sandbox.probe()
	if why:
		print(f'grade: {why}', file=sys.stderr)
		return 3
	deductions = score.load_deductions(ROOT / 'grader' / 'deductions.toml')
	results = []
	try:
		kernels: dict[tuple[str, str], Path] = {}
		for lab_dir in labs:
			for run in lab_runs(rubrics[lab_dir], args):
				rubric = rubrics[lab_dir].for_run(run)	# a copy, narrowed below by TEST=
				if run:
					arch, flavour = rubric.arches[0], rubric.runs[run].flavour
				else:
					arch, flavour = args.arch or rubric.arches[0], args.flavour
				if arch not in rubric.arches:
					print(f'{lab_dir.name}: not graded on {arch} (runs on {", ".join(rubric.arches)})')
					continue
				if run and not prebuilt_has(arch, flavour):
					print(f'{lab_dir.name}: the {run} run is not graded: KMEMLAB_PREBUILT has no {arch}/{flavour} kernel')
					continue
				left_out: list[str] = []
				if args.test:
					kept, left_out = testglob.split(rubric.points, args.test)
					if not kept:
						print(f'{lab_dir.name}: no test matches TEST={args.test}')
						continue
					rubric.points = {k: rubric.points[k] for k in kept}
				missing = no_submission or ('' if (src / lab_dir.name).is_dir() else
							    f'no folder {lab_dir.name} in the submission')
				if missing:
					halted = Problem(Outcome.NO_SUBMISSION, missing)
					result = score.LabResult(lab_dir.name, arch, flavour, score.unrun(rubric, halted),
								 halted=halted, test_glob=args.test, left_out=left_out, run=run)
					# Nothing ran: no transcript, and none of an earlier run.
					transcript_path(out, arch, lab_dir.name, run).unlink(missing_ok=True)
					report.print_lab(result, verbose=args.check)
					results.append(result)
					continue
				if (arch, flavour) not in kernels:
					kernels[arch, flavour] = kernel_dir(arch, flavour)
				lab = Lab(lab_dir, args.src, arch, flavour, kernels[arch, flavour], run, rubrics[lab_dir])
				if args.test:
					lab.select(args.test)
				result = lab.grade(deductions)
				keep_transcript(out, lab, result)
				report.print_lab(result, verbose=args.check)
				results.append(result)
	except score.RubricError as e:
		print(f'grade: bad rubric: {e}', file=sys.stderr)
		return 2
	except EnvironmentFailure as e:
		print(f'grade: {e}', file=sys.stderr)
		return 3
	except (subprocess.CalledProcessError, OSError) as e:
		print(f'grade: the VM tools failed: {e}', file=sys.stderr)
		return 3
	except Exception as e:  # pylint: disable=broad-except
		# A bug of ours, never the student's: one line, and what was
		# graded so far is still written below.
		print(f'grade: internal error ({type(e).__name__}: {e}); please report it', file=sys.stderr)
		return 3
	finally:
		if results:
			try:
				report.write_gradescope(results, out / 'results.json')
				report.write_junit(results, out / 'junit.xml')
			except OSError as e:
				print(f'grade: cannot write the results in {out}: {e}', file=sys.stderr)
	if not results:
		return 0
	report.print_total(results)
	print(f'results: {out}/results.json, {out}/junit.xml')
	if args.check:
		return 0 if all(r.full_marks for r in results) else 1
	return 0


if __name__ == '__main__':
	sys.exit(main())
