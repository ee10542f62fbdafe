#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make bench: how long the student's loop and grading take, on this machine.

Every measurement interleaves what it compares, round by round, so that the
machine's noise hits both alike, and prints medians (seconds) and ratios
taken within the same run. Run it on an otherwise idle machine.

  bench.py [--rounds N] [--arch A] [--part loop|labs|costs|sparse|throughput ...]
  (default: loop, labs and costs; make bench PART=throughput for the last)

  loop        lab 00 on both kernels: the floor (the kernel and
              initramfs base booting a trivial /init that runs no step and
              reboots, QEMU start to exit) and a warm `make check` of a copy
              of the solution after an edit of its .c file (a new comment:
              build trees are keyed by content, a touch rebuilds nothing);
              plus each cached kernel's build time (from its file times);
              on x86_64 also the iommu run's floor (q35 behind intel-iommu,
              2 GiB) against the debug kernel's at 2 GiB
  labs        the same warm check, fast kernel, for every lab on --arch,
              each against the floor of the same round
  costs       what the graded run's safeguards cost: the student's module
              build in the sandbox with sparse (C=1) and without, and what
              replaying Kbuild's recorded steps saves against running the
              whole of Kbuild (make -C KDIR M=, same sandbox); the floor
              and the lab 00 check (fast kernel, and graded on the debug
              kernel) with the default CPU model (SMEP, SMAP, UMIP, LA57)
              and with plain qemu64 (QEMU_CPU); lab 00's check and graded
              check with sparse and without (also alone: --part sparse);
              the guest's clock counting
              instructions with idle time skipped (QEMU_ICOUNT=1, labs 07
              and 08) against the host's (QEMU_ICOUNT=0): the floor, lab
              00, 07 and 08 checks, lab 07 graded
  throughput  labs graded per hour on the debug kernel, the solutions and
              skeletons of every lab on its default arch: one VM at a time
              (grade.py, as make grade runs), the same with the host's
              clock in every lab's guest (QEMU_ICOUNT=0, as before labs 07
              and 08 skipped their idle time), and make grade-class with
              --jobs VMs at once (default: the number of cores); projects a
              300-student class (9 labs each) here and on a 16-core machine

Exit status 0, or 1 when a measured command failed.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = ROOT / 'qemu-env'
sys.path.insert(0, str(ROOT / 'grader'))

import build  # noqa: E402
import labvm  # noqa: E402
import sandbox  # noqa: E402


def timed(cmd, env=None, ok=(0,), **kw) -> float:
	"""Seconds cmd took; raises if its exit status is not in ok."""
	t = time.monotonic()
	proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, env=env, **kw)
	took = time.monotonic() - t
	if proc.returncode not in ok:
		raise subprocess.CalledProcessError(proc.returncode, cmd)
	return took


def kernel(arch, flavour) -> Path:
	out = subprocess.run([ENV / 'build-kernel.sh', arch, flavour], check=True,
			     stdout=subprocess.PIPE, text=True).stdout
	return Path(out.strip().splitlines()[-1])


def med(xs) -> float:
	return statistics.median(xs)


def runs(xs) -> str:
	return ' '.join(f'{x:.2f}' for x in xs)


class Bench:
	def __init__(self, tmp: Path, arch: str, rounds: int):
		self.tmp, self.arch, self.rounds = tmp, arch, rounds
		empty = tmp / 'lab'
		(empty / 'bin').mkdir(parents=True)
		(empty / 'steps').write_text('')
		self.empty = empty
		self.edits = 0

	def floor(self, kdir: Path, env=None) -> float:
		initrd = self.tmp / f'{kdir.name}.cpio'
		if not initrd.exists():
			subprocess.run([ENV / 'mkinitramfs.sh', self.arch, kdir, self.empty, initrd], check=True)
		return timed([ENV / 'run-vm.sh', self.arch, kdir, initrd, self.tmp / 'floor.log'], env=env)

	def submission(self, lab: str) -> tuple[Path, Path]:
		"""A copy of the lab's solution (the submission folder, its .c file)."""
		src = next((ROOT / 'solutions').glob(f'{lab}-*'))
		sub = self.tmp / f'submission-{src.name}'
		if not sub.exists():
			shutil.copytree(src, sub / src.name)
		return sub, sorted((sub / src.name).glob('*.c'))[0]

	def check(self, lab: str, debug: bool = False, env=None) -> float:
		sub, source = self.submission(lab)
		self.edits += 1
		with source.open('a') as f:
			f.write(f'/* edit {self.edits} */\n')
		return timed(['make', '-s', 'check', f'LAB={lab}', f'SRC={sub}', f'ARCH={self.arch}']
			     + (['DEBUG=1'] if debug else []), env=env, cwd=ROOT)


# grade.py's student loop, with sparse switched off in this process only
# (LabBuild.check_student does nothing): no such switch exists for users.
NO_SPARSE = ('import sys; sys.path.insert(0, sys.argv[1]); import labbuild, grade; '
	     'labbuild.LabBuild.check_student = lambda self: None; '
	     'sys.argv = ["grade.py"] + sys.argv[2:]; sys.exit(grade.main())')


def part_sparse(b: Bench) -> None:
	"""What sparse costs the student's check and the graded run: lab 00,
	grade.py --check on the fast and the debug kernel, with sparse as
	always and with it switched off (NO_SPARSE), interleaved."""
	sub, source = b.submission('00')
	rows = {(fl, sp): [] for fl in ('fast', 'debug') for sp in (False, True)}
	for _ in range(b.rounds):
		for (fl, sp), times in rows.items():
			b.edits += 1
			with source.open('a') as f:
				f.write(f'/* edit {b.edits} */\n')
			args = ['--check', '--flavour', fl, '--src', str(sub), '--lab', '00', '--arch', b.arch,
				'--out', str(b.tmp / 'sparse-out')]
			cmd = [sys.executable, ROOT / 'grader' / 'grade.py'] + args if sp else \
				[sys.executable, '-c', NO_SPARSE, str(ROOT / 'grader')] + args
			times.append(timed(cmd, cwd=ROOT))
	print(f'\n## sparse: {b.arch}, lab 00, {b.rounds} rounds, medians')
	print('| check | without sparse | with sparse | with / without |')
	print('|---|---|---|---|')
	for fl, what in (('fast', 'warm check (fast kernel)'), ('debug', 'graded check (debug kernel)')):
		off, on = med(rows[(fl, False)]), med(rows[(fl, True)])
		print(f'| {what} | {off:.2f} s | {on:.2f} s | {on / off:.2f} |')
	for fl in ('fast', 'debug'):
		print(f'{fl} runs: without {runs(rows[(fl, False)])}; with {runs(rows[(fl, True)])}')


def part_loop(b: Bench) -> None:
	rows = []
	for flavour in ('fast', 'debug'):
		kdir = kernel(b.arch, flavour)
		floor, check = [], []
		for _ in range(b.rounds):
			floor.append(b.floor(kdir))
			check.append(b.check('00', debug=flavour == 'debug'))
		secs = (kdir / 'vmlinux').stat().st_mtime - (kdir / '.config').stat().st_mtime
		rows.append((flavour, floor, check, f'{secs / 60:.1f} min'))
	print(f'\n## loop: {b.arch}, lab 00, {b.rounds} rounds, medians')
	print('| kernel | floor: boot to poweroff | warm `make check` | check / floor | cold kernel build |')
	print('|---|---|---|---|---|')
	for flavour, floor, check, built in rows:
		print(f'| {flavour} | {med(floor):.2f} s | {med(check):.2f} s | {med(check) / med(floor):.2f} | {built} |')
	for flavour, floor, check, _ in rows:
		print(f'{flavour}: floor runs {runs(floor)}; check runs {runs(check)}')
	if b.arch == 'x86_64':
		part_iommu_boot(b)


def part_iommu_boot(b: Bench) -> None:
	"""The iommu run's kernel and machine (labs 07 and 08): its floor on
	q35 behind QEMU's intel-iommu, 2 GiB as their [runs.iommu], against
	the debug kernel's floor on the default machine with the same memory,
	interleaved; and the cold build of each, from its file times."""
	kdirs = {f: kernel('x86_64', f) for f in ('debug', 'iommu')}
	envs = {'debug': dict(os.environ, QEMU_MEM='2G'),
		'iommu': dict(os.environ, QEMU_MEM='2G', QEMU_IOMMU='intel')}
	floors = {f: [] for f in kdirs}
	for _ in range(b.rounds):
		for f, kdir in kdirs.items():
			floors[f].append(b.floor(kdir, envs[f]))
	print(f'\n## iommu run: floor at 2 GiB, {b.rounds} rounds, medians')
	print('| kernel and machine | floor: boot to poweroff | ratio | cold kernel build |')
	print('|---|---|---|---|')
	for f, kdir in kdirs.items():
		secs = (kdir / 'vmlinux').stat().st_mtime - (kdir / '.config').stat().st_mtime
		print(f'| {f}{" (q35, intel-iommu)" if f == "iommu" else " (pc)"} | {med(floors[f]):.2f} s '
		      f'| {med(floors[f]) / med(floors["debug"]):.2f} | {secs / 60:.1f} min |')
	print(f'floor runs: debug {runs(floors["debug"])}; iommu {runs(floors["iommu"])}')


def part_labs(b: Bench) -> None:
	kdir = kernel(b.arch, 'fast')
	labs = sorted(p.name for p in (ROOT / 'solutions').iterdir() if p.is_dir())
	import tomllib
	labs = [l for l in labs if b.arch in tomllib.loads((ROOT / 'labs' / l / 'rubric.toml').read_text())['arches']]
	floor, checks = [], {l: [] for l in labs}
	for lab in labs:	# warm: the suite and user programs built once
		b.check(lab.split('-')[0])
	for _ in range(b.rounds):
		for lab in labs:
			floor.append(b.floor(kdir))
			checks[lab].append(b.check(lab.split('-')[0]))
	f = med(floor)
	print(f'\n## labs: warm `make check` of each solution, {b.arch} fast kernel, {b.rounds} rounds, medians')
	print(f'floor (boot to poweroff, {len(floor)} runs): {f:.2f} s')
	print('| lab | warm `make check` | check / floor | runs |')
	print('|---|---|---|---|')
	for lab in labs:
		c = med(checks[lab])
		print(f'| {lab} | {c:.2f} s | {c / f:.2f} | {runs(checks[lab])} |')


def part_costs(b: Bench) -> None:
	kdir = kernel(b.arch, 'fast')
	sub, _ = b.submission('00')
	lab = next(sub.iterdir())
	# The student build as the grader runs it: Kbuild's recorded steps
	# (build.Recipe), with sparse and without (KBUILD_CHECKSRC=0), and the
	# whole of Kbuild (make -C KDIR M=) that the recording saves.
	recipe = build.Recipe(lab.name, kdir, b.arch)
	if recipe.build():
		raise SystemExit(f'bench: Kbuild steps not recorded: {recipe.log[-500:]}')
	replay = recipe.recorded()
	plain = recipe.script()
	recipe.release()
	mount = f'/{build.Student.kind}/{lab.name}'
	variants = {
		'plain': (plain, None),
		'sparse': (replay, None),
		'kbuild': ('', build.make_args(kdir, b.arch, mount) + ['C=1', f'CHECK={build.SPARSE}'])}
	assert plain != replay
	times = {v: [] for v in variants}
	for _ in range(b.rounds):
		for name, (script, cmd) in variants.items():
			scratch = b.tmp / 'sparse-build'
			shutil.rmtree(scratch, ignore_errors=True)
			shutil.copytree(lab, scratch)
			for h in (ROOT / 'kunit' / lab.name).glob('*.h'):
				shutil.copy(h, scratch)
			(scratch / 'Kbuild').write_text(f'obj-m := {next(lab.glob("*.c")).stem}.o\n')
			if script:
				(scratch / build.REPLAY).write_text(script)
				cmd = ['sh', f'{mount}/{build.REPLAY}']
			t = time.monotonic()
			proc = sandbox.run(cmd, scratch, mount, build.sandbox_ro(kdir))
			if proc.returncode:
				raise subprocess.CalledProcessError(proc.returncode, cmd, proc.stdout)
			times[name].append(time.monotonic() - t)
	plain, sparse, kbuild = times['plain'], times['sparse'], times['kbuild']
	plain_cpu = dict(os.environ, QEMU_CPU='qemu64' if b.arch == 'x86_64' else 'qemu32')
	floors = {'default': [], 'plain': []}
	checks = {'default': [], 'plain': []}
	graded = {'default': [], 'plain': []}	# lab 00 on the debug kernel, as graded
	for _ in range(b.rounds):
		for name, env in (('default', None), ('plain', plain_cpu)):
			floors[name].append(b.floor(kdir, env))
			checks[name].append(b.check('00', env=env))
			graded[name].append(b.check('00', debug=True, env=env))
	print(f'\n## costs: {b.arch}, fast kernel, lab 00, {b.rounds} rounds, medians')
	print('| what | without | with | with / without |')
	print('|---|---|---|---|')
	print(f'| sparse (C=1) in the sandboxed module build (replayed steps) | {med(plain):.2f} s | {med(sparse):.2f} s '
	      f'| {med(sparse) / med(plain):.2f} |')
	print(f'| CPU model (SMEP, SMAP, UMIP{", LA57" if b.arch == "x86_64" else ""}): floor '
	      f'| {med(floors["plain"]):.2f} s | {med(floors["default"]):.2f} s '
	      f'| {med(floors["default"]) / med(floors["plain"]):.2f} |')
	print(f'| CPU model: warm check | {med(checks["plain"]):.2f} s | {med(checks["default"]):.2f} s '
	      f'| {med(checks["default"]) / med(checks["plain"]):.2f} |')
	print(f'| CPU model: graded check (debug kernel) | {med(graded["plain"]):.2f} s | {med(graded["default"]):.2f} s '
	      f'| {med(graded["default"]) / med(graded["plain"]):.2f} |')
	print(f'| Kbuild\'s recorded steps (build.Recipe) instead of `make -C KDIR M=`, with sparse '
	      f'| {med(kbuild):.2f} s | {med(sparse):.2f} s | {med(sparse) / med(kbuild):.2f} |')
	print(f'sparse runs: without {runs(plain)}; with {runs(sparse)}; whole Kbuild {runs(kbuild)}')
	print(f'graded check runs: plain CPU {runs(graded["plain"])}; default {runs(graded["default"])}')
	part_sparse(b)
	part_clock(b, kdir)


def part_clock(b: Bench, kdir: Path) -> None:
	"""The guest's clock: instruction count with idle time skipped
	(QEMU_ICOUNT=1, what labs 07 and 08 choose in their rubrics) against
	the host's clock (QEMU_ICOUNT=0, every other lab), interleaved round
	by round: the floor, a lab that does not wait (00) and the two that
	wait on edu's DMA timer, on the fast kernel and graded (debug)."""
	clocks = {'host': dict(os.environ, QEMU_ICOUNT='0'), 'icount': dict(os.environ, QEMU_ICOUNT='1')}
	# run-vm.sh alone takes QEMU's adaptive shift: give the floor the
	# fast kernel's, as the grader does.
	shift = dict(QEMU_ICOUNT_SHIFT=labvm.ICOUNT_SHIFT['fast'])
	rows = {'floor': lambda env: b.floor(kdir, dict(env, **shift)),
		'lab 00 warm check': lambda env: b.check('00', env=env),
		'lab 07 warm check': lambda env: b.check('07', env=env),
		'lab 08 warm check': lambda env: b.check('08', env=env),
		'lab 07 graded check (debug kernel)': lambda env: b.check('07', debug=True, env=env)}
	times = {r: {c: [] for c in clocks} for r in rows}
	for lab in ('07', '08'):
		b.check(lab)	# warm: the lab's suite and programs built once
	b.check('07', debug=True)
	for _ in range(b.rounds):
		for r, fn in rows.items():
			for c, env in clocks.items():
				times[r][c].append(fn(env))
	print(f'\n## clock: {b.arch}, {b.rounds} rounds, medians')
	print('| what | host clock (QEMU_ICOUNT=0) | instructions counted, idle skipped (=1) | ratio |')
	print('|---|---|---|---|')
	for r in rows:
		h, i = med(times[r]['host']), med(times[r]['icount'])
		print(f'| {r} | {h:.2f} s | {i:.2f} s | {i / h:.2f} |')
	for r in rows:
		print(f'{r} runs: host {runs(times[r]["host"])}; icount {runs(times[r]["icount"])}')


def edit(tree: Path, tag: str) -> None:
	for c in tree.rglob('*.c'):
		with c.open('a') as f:
			f.write(f'/* {tag} */\n')


def part_throughput(b: Bench, jobs: int, only: list[str]) -> None:
	"""Labs per hour: one VM at a time against grade-class's pool."""
	cls = b.tmp / 'class'
	cls.mkdir()
	for tree in ('solutions', 'skel'):
		shutil.copytree(ROOT / tree, cls / tree)
	chosen = [p.name for p in sorted((ROOT / 'labs').iterdir()) if (p / 'rubric.toml').is_file()
		  and (not only or p.name.split('-')[0] in only)]
	labs = len(chosen)
	lab_args = [a for l in chosen for a in ('--lab', l)]
	n = 2 * labs
	seq = 0.0
	edit(cls, 'sequential')	# each runner builds every module anew
	for tree in ('solutions', 'skel'):
		seq += timed([sys.executable, ROOT / 'grader' / 'grade.py', '--src', str(cls / tree),
			      '--out', str(b.tmp / f'seq-{tree}')] + lab_args, cwd=ROOT)
	edit(cls, 'parallel')
	par = timed([sys.executable, ROOT / 'grader' / 'grade_class.py', str(cls), '--jobs', str(jobs),
		     '--out', str(b.tmp / 'par')] + lab_args, cwd=ROOT)
	edit(cls, 'host clock')
	host = 0.0
	for tree in ('solutions', 'skel'):
		host += timed([sys.executable, ROOT / 'grader' / 'grade.py', '--src', str(cls / tree),
			       '--out', str(b.tmp / f'host-{tree}')] + lab_args, cwd=ROOT,
			      env=dict(os.environ, QEMU_ICOUNT='0'))
	per_seq, per_par, per_host = seq / n, par / n, host / n
	students = 300 * 9
	print(f'\n## throughput: debug kernel, {n} labs (the solutions and skeletons of {", ".join(chosen)})')
	print('| runner | wall time | labs per hour |')
	print('|---|---|---|')
	print(f'| one VM at a time, host clock in the guest (QEMU_ICOUNT=0) | {host:.0f} s | {3600 / per_host:.0f} |')
	print(f'| one VM at a time (make grade) | {seq:.0f} s | {3600 / per_seq:.0f} |')
	print(f'| make grade-class, {jobs} VMs at once | {par:.0f} s | {3600 / per_par:.0f} |')
	print(f'speed-up {seq / par:.2f}x over one VM at a time, {host / par:.2f}x over one at a time '
	      f'with the host clock. A class of 300 students x 9 labs ({students} labs): '
	      f'{students * per_par / 3600:.1f} h here; on a 16-core machine with 16 VMs at once, '
	      f'about {students * per_par * jobs / 16 / 3600:.1f} h (if it scales with cores)')


def main() -> int:
	ap = argparse.ArgumentParser()
	ap.add_argument('--rounds', type=int, default=5)
	ap.add_argument('--arch', default='x86_64')
	ap.add_argument('--part', action='append', choices=['loop', 'labs', 'costs', 'sparse', 'throughput'])
	ap.add_argument('--jobs', type=int, default=os.cpu_count() or 1)
	ap.add_argument('--lab', action='append', default=[], help='throughput: only these labs (NN)')
	args = ap.parse_args()
	parts = args.part or ['loop', 'labs', 'costs']
	print(f'machine: {os.cpu_count()} CPUs; accel: '
	      + subprocess.run([ENV / 'kvm-probe.sh', kernel(args.arch, 'fast') / 'arch/x86/boot/bzImage'],
			       stdout=subprocess.PIPE, text=True).stdout.strip())
	try:
		with tempfile.TemporaryDirectory(prefix='kmemlab-bench-') as tmp:
			b = Bench(Path(tmp), args.arch, args.rounds)
			for part in parts:
				if part == 'loop':
					part_loop(b)
				elif part == 'labs':
					part_labs(b)
				elif part == 'costs':
					part_costs(b)
				elif part == 'sparse':
					part_sparse(b)
				else:
					part_throughput(b, args.jobs, [l.zfill(2) for l in args.lab])
				sys.stdout.flush()
	except subprocess.CalledProcessError as e:
		print(f'bench: {e}', file=sys.stderr)
		return 1
	return 0


if __name__ == '__main__':
	sys.exit(main())
