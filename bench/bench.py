#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make bench: how long the student's loop and grading take, on this machine.

For each kernel flavour it measures, interleaved round by round so that the
machine's noise hits both alike:
  floor  - the same kernel and initramfs base booting a trivial /init that
           runs no step and reboots (QEMU start to QEMU exit);
  check  - `make check LAB=00` of a copy of the solution after an edit of
           its .c file (a new comment: build trees are keyed by content,
           so a mere touch would rebuild nothing): module rebuild,
           initramfs, boot, tests, report.
It prints medians and the check/floor ratio of the same run, plus how long
each cached kernel took to build (from its build tree's file times).

  bench.py [--rounds N] [--lab NN]
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


def timed(cmd, **kw) -> float:
	t = time.monotonic()
	subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kw)
	return time.monotonic() - t


def kernel(arch, flavour) -> Path:
	out = subprocess.run([ENV / 'build-kernel.sh', arch, flavour], check=True,
			     stdout=subprocess.PIPE, text=True).stdout
	return Path(out.strip().splitlines()[-1])


def main() -> int:
	ap = argparse.ArgumentParser()
	ap.add_argument('--rounds', type=int, default=5)
	ap.add_argument('--lab', default='00')
	ap.add_argument('--arch', default='x86_64')
	args = ap.parse_args()
	lab = next((ROOT / 'solutions').glob(f'{args.lab}-*'))
	print(f'machine: {os.cpu_count()} CPUs; accel: '
	      + subprocess.run([ENV / 'kvm-probe.sh', kernel(args.arch, 'fast') / 'arch/x86/boot/bzImage'],
			       stdout=subprocess.PIPE, text=True).stdout.strip())
	rows = []
	with tempfile.TemporaryDirectory() as tmp:
		empty = Path(tmp) / 'lab'
		(empty / 'bin').mkdir(parents=True)
		(empty / 'steps').write_text('')
		sub = Path(tmp) / 'submission'
		shutil.copytree(lab, sub / lab.name)
		source = next((sub / lab.name).glob('*.c'))
		edits = 0
		for flavour, extra in (('fast', []), ('debug', ['DEBUG=1'])):
			kdir = kernel(args.arch, flavour)
			initrd = Path(tmp) / f'{flavour}.cpio'
			subprocess.run([ENV / 'mkinitramfs.sh', args.arch, kdir, empty, initrd], check=True)
			floor, check = [], []
			for _ in range(args.rounds):
				floor.append(timed([ENV / 'run-vm.sh', args.arch, kdir, initrd, Path(tmp) / 'floor.log']))
				edits += 1
				with source.open('a') as f:
					f.write(f'/* edit {edits} */\n')
				check.append(timed(['make', '-s', 'check', f'LAB={args.lab}', f'SRC={sub}',
						    f'ARCH={args.arch}'] + extra, cwd=ROOT))
			f, c = statistics.median(floor), statistics.median(check)
			# From the build tree's own file times: .config is written first.
			secs = (kdir / 'vmlinux').stat().st_mtime - (kdir / '.config').stat().st_mtime
			built = f'{secs / 60:.1f} min'
			rows.append((flavour, f, c, c / f, built, floor, check))
	print(f'\n{args.arch}, lab {lab.name}, {args.rounds} rounds, medians:')
	print('| kernel | floor: boot to poweroff | warm `make check` | check / floor | cold kernel build |')
	print('|---|---|---|---|---|')
	for flavour, f, c, ratio, built, _, _ in rows:
		print(f'| {flavour} | {f:.2f} s | {c:.2f} s | {ratio:.2f} | {built} |')
	for flavour, _, _, _, _, floor, check in rows:
		print(f'{flavour}: floor runs {" ".join(f"{x:.2f}" for x in floor)}; '
		      f'check runs {" ".join(f"{x:.2f}" for x in check)}')
	return 0


if __name__ == '__main__':
	sys.exit(main())
