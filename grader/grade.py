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
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

import boots
import build
import forbidden
import report
import sandbox
import score
import testglob
import vmlog

ROOT = Path(__file__).resolve().parent.parent
QEMU_ENV = ROOT / 'qemu-env'


# Seconds QEMU's backstop limit adds to the rubric's for the student's
# build, which runs while the VM boots (the sandbox's own build limit).
RECEIVE_ALLOWANCE = 300


class EnvironmentFailure(Exception):
	"""The machine, not the student: no lab can be graded."""


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
	proc = subprocess.run([QEMU_ENV / 'build-kernel.sh', arch, flavour],
			      stdout=subprocess.PIPE, text=True, check=False)
	if proc.returncode != 0:
		raise EnvironmentFailure(f'the {arch}/{flavour} lab kernel is not available (see above)')
	return Path(proc.stdout.strip().splitlines()[-1])


class Lab:
	"""One lab, built from one source tree for one arch and flavour.

	The suite and user programs come from kunit/<lab>/ (grader/build.py,
	built once and reused); the student's module from the rubric's listed
	sources in <src>/<lab>/. What the VM gets is staged in the run dir
	build/<arch>-<flavour>/<src>/<lab>/, with the serial log. run names
	one of the rubric's [runs.NAME] (score.LabRun): its arch, flavour,
	memory and kernel arguments replace the lab's own, and its run dir is
	build/<arch>-<flavour>-<run>/<src>/<lab>/."""

	def __init__(self, lab_dir: Path, src: str, arch: str, flavour: str, kdir: Path, run: str = ''):
		self.name = lab_dir.name
		self.rubric = score.load_rubric(lab_dir / 'rubric.toml')
		self.run = run
		if run:
			self.rubric = self.rubric.for_run(run)
		self.src_dir = ROOT / src / self.name
		self.test_dir = ROOT / 'kunit' / self.name
		self.arch, self.flavour, self.kdir = arch, flavour, kdir
		tree = Path(src).name if Path(src).is_absolute() else src
		self.bdir = ROOT / 'build' / f'{arch}-{flavour}{"-" + run if run else ""}' / tree / self.name
		self.src = src
		self.suite = build.Suite(self.name, kdir, arch)
		self.student = build.Student(self.name, self.rubric.sources, self.src_dir, kdir, arch)
		self.warnings: list[str] = []
		self.sparse: list[str] = []
		self.verdict: Optional[forbidden.Verdict] = None
		# Per run: a private directory outside the build tree (which the
		# student's build can see) for the initramfs holding the secret
		# and for the results channel; removed when the run is read.
		self.run_dir: Optional[Path] = None
		self.timed_out = False	# the VM outlived the rubric's limit
		self.secret = ''
		self.channel = ''	# what the results channel said
		self.test_glob = ''	# see select()
		self.left_out: list[str] = []
		self.sent_at = 0.0	# when the first VM got the student's module (time.monotonic())

	def select(self, glob: str) -> None:
		"""Grade only the rubric tests glob matches (--test, TEST=): the
		rubric keeps those, left_out lists the others, and the VM runs
		KUnit and the user programs with kunit.filter_glob=glob."""
		kept, self.left_out = testglob.split(self.rubric.points, glob)
		self.rubric.points = {k: self.rubric.points[k] for k in kept}
		self.test_glob = glob

	@property
	def build_log(self) -> str:
		return self.student_path(self.suite.log + self.student.log)

	def student_path(self, text: str) -> str:
		"""Compiler and kernel messages name the sandbox's paths; show the
		student's file, or the lab's."""
		sub, suite = self.student.mount_at, self.suite.mount_at
		for f in self.rubric.sources:
			text = text.replace(f'{sub}/{f}', f'{self.src}/{self.name}/{f}')
		text = text.replace(f'{sub}/', f'kunit/{self.name}/').replace(f'{suite}/include/', 'kunit/include/')
		return text.replace(f'{suite}/', f'kunit/{self.name}/').replace(f'{ROOT}/', '')

	def build_student(self) -> str:
		"""Build the student's module and vet it: '' or a one-line problem."""
		problem = self.student.build()
		spaces, others = self.student.diagnostics()
		self.sparse = [self.student_path(l) for l in spaces]
		self.warnings = [self.student_path(l) for l in others]
		if problem:
			return self.student_path(problem)
		rules = forbidden.load(ROOT / 'grader' / 'forbidden.toml')
		texts = {f'{self.src}/{self.name}/{n}': d.decode(errors='replace') for n, d in self.student.taken.items()}
		self.verdict = forbidden.check(rules, self.student.kos(), texts)
		return self.verdict.text if self.verdict else ''

	def build_for_session(self) -> tuple[int, str]:
		"""Build the suite and the student's module for make shell or
		make gdb: (0, '') or (exit status, one line): 1 when a build or
		the deny list failed, 3 when a tool is missing. Compiler
		warnings in the student's files go to stderr."""
		try:
			problem = self.suite.build()
			if problem:
				return 1, self.student_path(problem)
			problem = self.build_student()
		except build.Missing as e:
			return 3, str(e)
		for w in self.warnings[:5]:
			print(f'  compiler: {w}', file=sys.stderr)
		return (1, problem) if problem else (0, '')

	def steps(self) -> str:
		custom = self.test_dir / 'vm-steps'
		if custom.is_file():
			return custom.read_text()
		mods = self.student.modules + self.suite.modules
		plan = [f'insmod {m}.ko' for m in mods]
		plan += [f'run {p}' for p in self.suite.programs()]
		plan += [f'rmmod {m}' for m in reversed(mods)]
		return '\n'.join(plan + ['leakcheck']) + '\n'

	def stage(self, name: str, kos: list[Path], programs: list[Path], steps: str = '') -> Path:
		"""A directory of what goes under /lab in the VM (symlinks)."""
		vm = self.bdir / name
		shutil.rmtree(vm, ignore_errors=True)
		vm.mkdir(parents=True)
		for ko in kos:
			(vm / ko.name).symlink_to(ko)
		if programs:
			(vm / 'bin').mkdir()
			for exe in programs:
				(vm / 'bin' / exe.name).symlink_to(exe)
		if steps:
			(vm / 'steps').write_text(steps)
		return vm

	def vm_env(self, limit: int, socket_path: str = '') -> dict[str, str]:
		"""qemu-env/run-vm.sh's settings for this lab's VM: its memory, its
		kernel arguments, QEMU's limit in seconds (0: none), the lab port's
		socket ('' none) and where the results channel goes (the run dir).
		make shell boots with these too (grader/shell.py)."""
		# The graded kernel poisons freed pages (0xaa, mm/page_poison.c):
		# memory handed out without zeroing then shows it.
		# The rubric's own kernel arguments (e.g. swiotlb=force) follow.
		# On x86_64 the graded kernel keeps four-level paging (no5lvl):
		# with KASAN and LA57 together, a timer interrupt that lands while
		# start_kernel identifies the CPU was reported as a KASAN
		# wild-memory-access in __common_interrupt (seen on about one boot
		# in ten here), before any lab code ran, and generic KASAN prints
		# only its first report. Five-level walks are checked on the fast
		# kernel (make check, and lab 04's typical mistakes).
		no5lvl = 'no5lvl' if self.flavour in score.DEBUG_FLAVOURS and self.arch == 'x86_64' else ''
		# With TEST=, KUnit runs only the matching cases (kunit_module_init)
		# and ktap_user.h's programs read the same parameter.
		only = f'kunit.filter_glob={self.test_glob}' if self.test_glob else ''
		append = ['page_poison=1' if self.flavour in score.DEBUG_FLAVOURS else '', no5lvl,
			  self.rubric.append.get(self.arch, ''), only, os.environ.get('QEMU_APPEND', '')]
		return dict(os.environ, QEMU_MEM=self.rubric.memory, QEMU_TIMEOUT=str(limit),
			    QEMU_LAB_SOCKET=socket_path, QEMU_APPEND=' '.join(filter(None, append)),
			    # The iommu kernel boots on q35 behind QEMU's Intel IOMMU.
			    QEMU_IOMMU='intel' if self.flavour == 'iommu' else '',
			    QEMU_RESULTS=str(self.run_dir / 'results.log'))

	def boot(self, initrd: Path, socket_path: str = '') -> subprocess.Popen:
		# QEMU's own limit is a backstop that also covers the student's
		# build (the VM boots while it compiles); the rubric's limit is
		# counted from the moment the module is sent (send_when_asked), so
		# a slow or busy host does not time out a correct module.
		env = self.vm_env(self.rubric.timeout + RECEIVE_ALLOWANCE, socket_path)
		return subprocess.Popen([QEMU_ENV / 'run-vm.sh', self.arch, str(self.kdir), str(initrd),
					 str(self.bdir / 'serial.log')], env=env, start_new_session=True)

	def mkinitramfs(self, vm: Path, out: Path, lab_only: bool = False) -> None:
		"""The VM's initramfs; the first (not lab_only) holds the secret."""
		env = dict(os.environ, LAB_ONLY='1' if lab_only else '',
			   SECRET='' if lab_only else str(self.run_dir / 'secret'))
		subprocess.run([QEMU_ENV / 'mkinitramfs.sh', self.arch, str(self.kdir), str(vm), str(out)],
			       env=env, check=True)

	def build_and_boot(self) -> tuple[str, Optional[subprocess.Popen]]:
		"""Build, and boot the VM: (problem, the running VM or None).

		The suite and user programs are built from lab files only, once
		(then reused), so the VM boots with them first and the student's
		module follows over the VM's second serial port once it has
		compiled and passed the deny list: the boot (about a second under
		TCG) then hides most of the module build."""
		try:
			problem = self.suite.build()
		except build.Missing as e:
			raise EnvironmentFailure(str(e)) from e
		if problem:
			return self.student_path(problem), None
		vm = self.stage('vm', self.suite.kos(), self.suite.executables(), 'receive\n' + self.steps())
		self.mkinitramfs(vm, self.run_dir / 'initrd.cpio')
		with tempfile.TemporaryDirectory(prefix='kmemlab-') as tmp:
			sock_path = f'{tmp}/lab.sock'
			proc = self.boot(self.run_dir / 'initrd.cpio', sock_path)
			# Connected before the guest asks: QEMU drops what a guest
			# writes to a socket port with nobody on the other end.
			sock = connect(proc, sock_path)
			try:
				problem = self.build_student()
			except build.Missing as e:
				stop(proc)
				raise EnvironmentFailure(str(e)) from e
			except BaseException:
				stop(proc)
				raise
			if problem:
				stop(proc)
				return problem, None
			late = self.stage('vm-late', self.student.kos(), [])
			self.mkinitramfs(late, self.bdir / 'late.cpio', lab_only=True)
			if sock:
				data = (self.bdir / 'late.cpio').read_bytes()
				self.sent_at = time.monotonic()
				if not send_when_asked(proc, sock, data, self.rubric.timeout):
					self.timed_out = True
		return '', proc

	def start_run(self) -> None:
		"""A fresh private directory and secret for one VM run."""
		self.timed_out = False
		self.run_dir = Path(tempfile.mkdtemp(prefix='kmemlab-run-'))
		self.secret = secrets.token_hex(8)
		fd = os.open(self.run_dir / 'secret', os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
		with os.fdopen(fd, 'w') as f:
			f.write(self.secret + '\n')

	def end_run(self) -> None:
		if self.run_dir:
			shutil.rmtree(self.run_dir, ignore_errors=True)
		self.run_dir = None

	def run_vm(self, deductions: dict[str, int]) -> score.LabResult:
		"""Build, boot, wait, read; after a crash or hang in a test, go on
		in fresh VMs (grader/boots.py): one result of them all. The
		result's serial, channel and QEMU log are the first VM's; every
		VM's plan, parsed run and logs are in result.boots."""
		problem, proc = self.build_and_boot()
		if problem:
			return score.LabResult(self.name, self.arch, self.flavour,
					       score.unrun(self.rubric, f'not run: {problem}'), problem=problem)
		start = self.sent_at or time.monotonic()
		status = proc.wait()
		if self.timed_out:
			status = score.TIMEOUT_STATUS
		steps = self.steps()
		plan = boots.first_plan(steps, list(self.rubric.points))
		vms = [self.read_boot(plan, status, time.monotonic() - start)]
		first_secret = self.secret
		while boots.go_on(vms, self.rubric.timeout):
			plan = boots.next_plan(steps, plan, vms[-1].run, vms[-1].crash,
					       self.suite.modules, self.test_glob)
			self.end_run()
			self.start_run()
			vms.append(self.resume_boot(plan))
		self.secret = first_secret	# the first VM's, with its logs (result.serial)
		result = boots.merge(self.rubric, vms, deductions, self.arch, self.flavour)
		result.serial, result.channel, result.qemu_log = vms[0].serial, vms[0].channel, vms[0].qemu
		result.boots = vms
		return result

	def read_boot(self, plan: boots.Plan, status: int, seconds: float) -> boots.Boot:
		"""Read what one VM left (the run dir's channel, the console log)."""
		log = self.bdir / 'serial.log'
		read = lambda p: p.read_text(errors='replace') if p.exists() else ''
		serial, qemu = read(log), read(Path(f'{log}.qemu'))
		self.channel = read(self.run_dir / 'results.log')
		if status not in (0, score.TIMEOUT_STATUS) and not serial:
			raise EnvironmentFailure(f'QEMU failed to start (exit status {status}): {qemu.strip()[:300]}')
		if not self.channel.strip() and 'kmemlab: step 1 begin' in serial:
			# /init writes the channel before it loads anything: the port
			# itself failed (no ttyS2 in the guest, QEMU could not write).
			raise EnvironmentFailure('the VM ran but its results channel (ttyS2) stayed empty')
		modules = [k.stem for k in self.suite.kos()]
		run = vmlog.parse(serial, qemu, self.channel, self.secret, suite_modules=modules)
		boot = boots.Boot(plan, run, status, seconds, serial=serial, channel=self.channel, qemu=qemu,
				  secret=self.secret)
		if not score.forged_reasons(self.rubric, run):
			boot.crash = boots.crash(plan, run, status, modules, self.chains())
		return boot

	def chains(self) -> dict[str, set[str]]:
		"""Per user program, its cases that build on each other: those
		begun with ktap_chain_case("name") (kunit/include/ktap_user.h),
		which run even when the test filter leaves them out."""
		out = {}
		for p in self.suite.programs():
			text = (self.test_dir / 'user' / f'{p}.c').read_text(errors='replace')
			out[p] = set(re.findall(r'\bktap_chain_case\(\s*"([^"]+)"', text))
		return out

	def resume_boot(self, plan: boots.Plan) -> boots.Boot:
		"""A fresh VM that goes on after a crash: every module and program
		in its initramfs (no "receive"), plan's steps, the lab's time limit."""
		vm = self.stage('vm-resume', self.suite.kos() + self.student.kos(), self.suite.executables(), plan.text)
		self.mkinitramfs(vm, self.run_dir / 'initrd.cpio')
		env = self.vm_env(self.rubric.timeout)
		start = time.monotonic()
		status = subprocess.run([QEMU_ENV / 'run-vm.sh', self.arch, str(self.kdir), str(self.run_dir / 'initrd.cpio'),
					 str(self.bdir / 'serial.log')], env=env, check=False).returncode
		return self.read_boot(plan, status, time.monotonic() - start)

	def grade(self, deductions: dict[str, int]) -> score.LabResult:
		start = time.monotonic()
		if not self.src_dir.is_dir():
			problem = f'no folder {self.name} in the submission'
			result = score.LabResult(self.name, self.arch, self.flavour,
						 score.unrun(self.rubric, f'not run: {problem}'), problem=problem,
						 test_glob=self.test_glob, left_out=self.left_out)
			result.seconds = time.monotonic() - start
			return result
		self.start_run()
		try:
			result = self.run_vm(deductions)
		finally:
			self.end_run()
			# The built trees may be pruned by other graders from now on.
			self.suite.release()
			self.student.release()
		for t in result.tests:
			t.reason = self.student_path(t.reason)
			t.details = [self.student_path(d) for d in t.details]
		for d in result.deductions:
			d.text = self.student_path(d.text)
			d.where = [self.student_path(w) for w in d.where]
		if self.sparse:	# __user / __iomem confusion, found at build time
			score.deduct(result, self.rubric, deductions, 'sparse', self.sparse[0], len(self.sparse))
		if self.verdict:
			result.verdict = self.verdict.kind
		result.notes = self.student.notes
		result.warnings = self.warnings
		result.seconds = time.monotonic() - start
		result.test_glob, result.left_out = self.test_glob, self.left_out
		result.run = self.run
		return result


def stop(proc: subprocess.Popen) -> None:
	"""End a VM started by Lab.boot, QEMU and all."""
	try:
		os.killpg(proc.pid, signal.SIGKILL)
	except ProcessLookupError:
		pass
	proc.wait()


def connect(proc: subprocess.Popen, path: str) -> Optional[socket.socket]:
	"""Connect to the VM's second serial port as soon as QEMU offers it."""
	sock = socket.socket(socket.AF_UNIX)
	while proc.poll() is None:
		try:
			sock.connect(path)
			return sock
		except OSError:
			time.sleep(0.01)
	sock.close()
	return None


def send_when_asked(proc: subprocess.Popen, sock: socket.socket, data: bytes, seconds: int) -> bool:
	"""Give the VM's "receive" step its archive: wait for the guest's "R",
	then send "<size>\\n" and the bytes, and give the VM `seconds` from
	then on to finish. False when it did not: the VM is stopped (a time-out).
	If the VM ends first (it crashed while booting) the socket closes,
	nothing is sent, and the console log says why."""
	with sock:
		try:
			if sock.recv(1) == b'R':
				sock.sendall(b'%d\n' % len(data) + data)
				# Hold the connection until QEMU has passed it all on.
				proc.wait(timeout=seconds)
		except subprocess.TimeoutExpired:
			stop(proc)
			return False
		except OSError:
			pass
	return True


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
	path = transcript_path(out, lab.arch, lab.name, result.run)
	path.parent.mkdir(parents=True, exist_ok=True)
	steps = lab.steps() if lab.test_dir.is_dir() else ''
	path.write_text(f'== {report.lab_header(result)}: {result.points}/{result.max_points}\n'
			+ (f'== left out by TEST={result.test_glob}: {", ".join(result.left_out)}\n'
			   if result.left_out else '')
			+ (f'== {result.problem}\n' if result.problem else '')
			+ ''.join(f'== VM {n}: {why}\n' for n, why in enumerate(result.resumes, 2))
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


def unmatched(glob: str, labs: list[Path]) -> str:
	"""'' when glob (--test) is well formed and matches a test of these
	labs' rubrics, else the one line that says why not."""
	why = testglob.problem(glob)
	if why:
		return why
	try:
		keys = [k for l in labs for k in score.load_rubric(l / 'rubric.toml').points]
	except score.RubricError as e:
		return f'bad rubric: {e}'
	if any(testglob.matches(glob, k) for k in keys):
		return ''
	return (f'TEST={glob} matches no test of {", ".join(l.name for l in labs)}: a test is suite.case, '
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
	if args.test:
		why = unmatched(args.test, labs)
		if why:
			print(f'grade: {why}', file=sys.stderr)
			return 2
	if args.run:
		try:
			labs = [l for l in labs if args.run in score.load_rubric(l / 'rubric.toml').runs]
		except score.RubricError as e:
			print(f'grade: bad rubric: {e}', file=sys.stderr)
			return 2
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
			for run in lab_runs(score.load_rubric(lab_dir / 'rubric.toml'), args):
				rubric = score.load_rubric(lab_dir / 'rubric.toml')
				if run:
					rubric = rubric.for_run(run)
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
					result = score.LabResult(lab_dir.name, arch, flavour,
								 score.unrun(rubric, f'not run: {missing}'), problem=missing,
								 test_glob=args.test, left_out=left_out, run=run)
					# Nothing ran: no transcript, and none of an earlier run.
					transcript_path(out, arch, lab_dir.name, run).unlink(missing_ok=True)
					report.print_lab(result, verbose=args.check)
					results.append(result)
					continue
				if (arch, flavour) not in kernels:
					kernels[arch, flavour] = kernel_dir(arch, flavour)
				lab = Lab(lab_dir, args.src, arch, flavour, kernels[arch, flavour], run)
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
