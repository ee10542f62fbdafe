#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Package what grading needs away from this machine: a Gradescope
autograder zip for one lab, or an archive of prebuilt lab kernels.

  bundle.py --lab NN [--arch x86_64|i386] [--out FILE.zip]
      (make autograder LAB=NN [ARCH=..] [OUT=..])
  bundle.py --prebuilt FILE.tar.gz [--arch x86_64|i386 ...] [--flavour fast|debug|iommu ...]
      (make prebuilt [ARCH=..] [OUT=..])

The zip (default build/autograder/<lab>.zip) is what Gradescope takes: at
its root setup.sh and run_autograder (grader/gradescope/), bundle.env (the
lab, its arch and kernel), executables (the files setup.sh makes
executable again, in case an unzip drops the modes), kmemlab/ (grader/,
qemu-env/, kunit/include/, kunit/<lab>/ without mutants.toml,
labs/<lab>/rubric.toml) and prebuilt/ (see below) for the lab's graded
arch (its rubric's first, or --arch), debug kernel, plus the kernel of
each run the rubric names on that arch ([runs.NAME]: lab 04's la57 run on
the fast kernel, labs 07 and 08's iommu run), so that Gradescope grades
every row make grade does.

prebuilt/ holds <arch>-debug/ (and <arch>-FLAVOUR/ of each run's
kernel), the lab kernel cut down to what a module
build (`make -C KDIR M=...`) and a boot need, made by the kernel's own
scripts/package/install-extmod-build (what distributions' linux-headers
packages hold: the Makefiles, scripts and host programs, every header,
include/generated, Module.symvers, objtool) plus .config, the bzImage and
usr/gen_init_cpio (the initramfs writer), and busybox-<arch>/bin/busybox,
this machine's static busybox for the guest. qemu-env/build-kernel.sh uses
it when KMEMLAB_PREBUILT points at that folder, without any kernel source;
a .kmemlab-config file holds the key of the config fragments it was built
from, checked on use.

--prebuilt writes just that folder, for each arch asked for (default both)
and each flavour (default debug; add fast for `make check` without
DEBUG=1), as a gzipped tar: what a course publishes for GitHub Classroom
(grader/classroom/kmemlab.yml) or any other machine without Debian's
linux-source-6.12.

Needs the lab kernel built (it is built when missing, as for make grade).
Exit status: 0 written (its path and size on stdout); 2 bad request (no
such lab, an arch the lab does not run on); 3 the kernel or busybox could
not be found or exported.
"""

from __future__ import annotations

import argparse
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QEMU_ENV = ROOT / 'qemu-env'
sys.path.insert(0, str(ROOT / 'grader'))

import score  # noqa: E402

FLAVOUR = 'debug'	# what is graded
SKIP = ('__pycache__', '.pyc', '~', '.swp', '.orig', '.rej')
# Lab files that give an answer away: never in a bundle (it may be public).
ANSWERS = ('mutants.toml',)


class BundleError(Exception):
	"""The kernel, busybox or a lab file cannot be packaged."""


def kernel_dir(arch: str, flavour: str) -> Path:
	"""The lab kernel's build dir (built when missing)."""
	proc = subprocess.run([str(QEMU_ENV / 'build-kernel.sh'), arch, flavour],
			      stdout=subprocess.PIPE, text=True, check=False)
	if proc.returncode != 0 or not proc.stdout.strip():
		raise BundleError(f'the {arch}/{flavour} lab kernel is not available (see above)')
	return Path(proc.stdout.strip().splitlines()[-1])


def config_key(arch: str, flavour: str) -> str:
	return subprocess.run([str(QEMU_ENV / 'build-kernel.sh'), '--config-key', arch, flavour],
			      stdout=subprocess.PIPE, text=True, check=True).stdout.strip()


def busybox(arch: str) -> Path:
	"""The static busybox the VM of ARCH gets (qemu-env/lib.sh busybox_for)."""
	proc = subprocess.run(['sh', '-c', f'. "{QEMU_ENV}/lib.sh" && busybox_for {arch}'],
			      stdout=subprocess.PIPE, text=True, check=False)
	if proc.returncode != 0:
		raise BundleError(f'no static busybox for {arch}: run make deps (as root)')
	return Path(proc.stdout.strip())


def export_kernel(arch: str, dest: Path, flavour: str = FLAVOUR) -> None:
	"""Write dest/<arch>-<flavour>/ and dest/busybox-<arch>/bin/busybox."""
	kdir = kernel_dir(arch, flavour)
	out = dest / f'{arch}-{flavour}'
	if (kdir / '.kmemlab-config').exists():
		# Already a prebuilt tree (KMEMLAB_PREBUILT is set): as it is.
		shutil.copytree(kdir, out, symlinks=True)
	else:
		src = (kdir / 'source').resolve()
		script = src / 'scripts' / 'package' / 'install-extmod-build'
		if not script.is_file():
			raise BundleError(f'{script} is missing: cannot cut the kernel tree down')
		env = dict(os.environ, srctree=str(src), SRCARCH='x86', CC='gcc', HOSTCC='gcc', MAKE='make')
		proc = subprocess.run(['sh', str(script), str(out)], cwd=kdir, env=env,
				      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
		if proc.returncode != 0:
			raise BundleError(f'install-extmod-build failed: {proc.stdout.strip()[-300:]}')
		for rel in ('.config', 'arch/x86/boot/bzImage', 'usr/gen_init_cpio'):
			(out / rel).parent.mkdir(parents=True, exist_ok=True)
			shutil.copy2(kdir / rel, out / rel)
		(out / '.kmemlab-config').write_text(config_key(arch, flavour) + '\n')
		(out / '.kmemlab-built').touch()
	bb = dest / f'busybox-{arch}' / 'bin' / 'busybox'
	bb.parent.mkdir(parents=True, exist_ok=True)
	shutil.copy2(busybox(arch), bb)


def lab_files(lab: str) -> list[tuple[str, Path]]:
	"""(name under kmemlab/, file) for everything grading the lab reads."""
	files = []
	for top in ('grader', 'qemu-env', 'kunit/include', f'kunit/{lab}'):
		for f in sorted((ROOT / top).rglob('*')):
			rel = f.relative_to(ROOT)
			if not f.is_file() or any(s in str(rel) for s in SKIP) or f.name in ANSWERS:
				continue
			# The course-service sources are the bundle's root, not its grader.
			if rel.parts[:2] in (('grader', 'gradescope'), ('grader', 'classroom')):
				continue
			files.append((str(rel), f))
	files.append((f'labs/{lab}/rubric.toml', ROOT / 'labs' / lab / 'rubric.toml'))
	return files


def executable(path: Path) -> bool:
	return path.is_file() and bool(path.stat().st_mode & stat.S_IXUSR)


def add(zf: zipfile.ZipFile, path: Path, name: str) -> None:
	"""One file into the zip, with its mode; a symlink as the file it names."""
	info = zipfile.ZipInfo.from_file(path, name, strict_timestamps=False)	# follows links
	info.compress_type = zipfile.ZIP_DEFLATED
	with open(path, 'rb') as f:
		zf.writestr(info, f.read(), compresslevel=9)


def write_zip(lab_dir: Path, arch: str, out: Path) -> None:
	lab = lab_dir.name
	sources = score.load_rubric(lab_dir / 'rubric.toml').sources
	with tempfile.TemporaryDirectory(prefix='kmemlab-bundle-') as tmp:
		pre = Path(tmp) / 'prebuilt'
		export_kernel(arch, pre)
		rubric = score.load_rubric(lab_dir / 'rubric.toml')
		run_flavours = sorted({r.flavour for r in rubric.runs.values() if r.arch == arch} - {FLAVOUR})
		for flavour in run_flavours:
			export_kernel(arch, pre, flavour)
		names: list[tuple[str, Path]] = [
			('setup.sh', ROOT / 'grader' / 'gradescope' / 'setup.sh'),
			('run_autograder', ROOT / 'grader' / 'gradescope' / 'run_autograder'),
		]
		names += [(f'kmemlab/{n}', f) for n, f in lab_files(lab)]
		for f in sorted(pre.rglob('*')):
			if f.is_file():	# a dangling link is no file
				names.append((f'prebuilt/{f.relative_to(pre)}', f))
		env = (f'# What this Gradescope autograder grades (made by make autograder).\n'
		       f'LAB={lab}\nARCH={arch}\nFLAVOUR={FLAVOUR}\nRUN_FLAVOURS={" ".join(run_flavours)}\n'
		       f'SOURCES={" ".join(sources)}\n'
		       f'CONFIG_KEY={config_key(arch, FLAVOUR)}\n')
		exes = [n for n, f in names if executable(f)]
		tmp_out = out.with_name(out.name + '.tmp')
		out.parent.mkdir(parents=True, exist_ok=True)
		with zipfile.ZipFile(tmp_out, 'w') as zf:
			for n, f in names:
				add(zf, f, n)
			for n, text in (('bundle.env', env), ('executables', '\n'.join(exes) + '\n')):
				info = zipfile.ZipInfo(n, date_time=(2024, 1, 1, 0, 0, 0))
				info.external_attr = 0o644 << 16
				info.compress_type = zipfile.ZIP_DEFLATED
				zf.writestr(info, text)
		tmp_out.rename(out)


def write_prebuilt(arches: list[str], flavours: list[str], out: Path) -> None:
	with tempfile.TemporaryDirectory(prefix='kmemlab-prebuilt-') as tmp:
		pre = Path(tmp) / 'prebuilt'
		for arch in arches:
			for flavour in flavours:
				export_kernel(arch, pre, flavour)
		out.parent.mkdir(parents=True, exist_ok=True)
		tmp_out = out.with_name(out.name + '.tmp')
		with tarfile.open(tmp_out, 'w:gz', compresslevel=9) as tf:
			tf.add(pre, arcname='prebuilt')
		tmp_out.rename(out)


def human(size: int) -> str:
	return f'{size / (1 << 20):.1f} MiB'


def main() -> int:
	ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
	ap.add_argument('--lab', help='the lab to bundle for Gradescope (number or name)')
	ap.add_argument('--arch', action='append', choices=['x86_64', 'i386'],
			help="the arch to grade on (default: the lab's first)")
	ap.add_argument('--out', help='the file to write')
	ap.add_argument('--prebuilt', metavar='FILE', help='write only the prebuilt kernels, to FILE (.tar.gz)')
	ap.add_argument('--flavour', action='append', choices=['fast', 'debug', 'iommu'],
			help='with --prebuilt: the kernels to write (default: debug, the graded one)')
	args = ap.parse_args()
	try:
		if args.prebuilt:
			out = Path(args.prebuilt)
			write_prebuilt(args.arch or ['x86_64', 'i386'], args.flavour or [FLAVOUR], out)
		else:
			if not args.lab:
				print('bundle: --lab NN is needed (make autograder LAB=NN)', file=sys.stderr)
				return 2
			labs = sorted(p.parent for p in (ROOT / 'labs').glob('*/rubric.toml'))
			want = args.lab
			match = [l for l in labs if l.name == want or l.name.split('-')[0] == want.zfill(2)]
			if len(match) != 1:
				print(f'bundle: no lab "{want}" (labs: {", ".join(l.name for l in labs)})',
				      file=sys.stderr)
				return 2
			rubric = score.load_rubric(match[0] / 'rubric.toml')
			arch = (args.arch or [rubric.arches[0]])[0]
			if arch not in rubric.arches:
				print(f'bundle: {match[0].name} does not run on {arch} '
				      f'(it runs on {", ".join(rubric.arches)})', file=sys.stderr)
				return 2
			out = Path(args.out or ROOT / 'build' / 'autograder' / f'{match[0].name}.zip')
			write_zip(match[0], arch, out)
	except (BundleError, OSError, subprocess.CalledProcessError) as e:
		print(f'bundle: {e}', file=sys.stderr)
		return 3
	print(f'{out}: {human(out.stat().st_size)}')
	return 0


if __name__ == '__main__':
	sys.exit(main())
