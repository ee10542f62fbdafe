# SPDX-License-Identifier: GPL-2.0
"""Build one lab for one lab kernel, in two separate trees.

The suite (kunit/NN-name/: the KUnit module, the interface headers and the
user programs) is built from lab-owned files only, once per content of
those files and kernel, and reused by every submission. The student's
module is built from the submission's listed sources (the rubric's
[student] sources) and nothing else of the submission: the Kbuild, the
headers and the flags are the lab's. Each tree lives under build/ at a
name keyed by the hash of everything it is built from, so no two
submissions, nor two versions of one, ever share an object; a finished
tree is reused as it is (a warm `make check` of an unchanged file builds
nothing). Both builds run in the sandbox of grader/sandbox.py, at a fixed
path inside it (/suite/NN-name, /submission/NN-name), so messages look the
same whichever tree was built.

  Suite(lab, kdir).build() / Student(lab, src_dir, kdir).build()
      -> '' or a one-line problem; .dir is the built tree, .log make's output
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import stat
import threading
from pathlib import Path
from typing import Optional

import sandbox

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / 'build'
# Bump when a change here changes what a tree holds: old trees are then
# never reused (and pruned).
BUILD_REV = '2'
KEEP_STUDENT = 4	# keyed trees kept per lab and kernel
KEEP_SUITE = 2
MAX_SOURCE = 1 << 20	# bytes: a lab module is a few hundred lines
DONE = '.kmemlab-built'
LOCK = '.lock'	# beside each tree: held while it is built
REPLAY = '.kbuild-replay.sh'	# Recipe's script, in a student tree
CHECK = '.kbuild-check.sh'	# Recipe's sparse-only script, in a student tree
CHECK_LOG = 'check.log'	# its output, once per tree
# "file:line:col: sparse: warning: ...". No lock-context checks: sparse
# cannot follow a function that returns with a lock held only when it
# succeeds, as lab 04's kmemlab_pte_map_lock() must (pte_offset_map_lock()'s
# pattern), and would warn every correct solution.
SPARSE = 'sparse -fdiagnostic-prefix -Wno-context'
# sparse's address-space checks: a __user or __iomem pointer used as a
# plain one (or the other way round).
ADDRESS_SPACE = re.compile(r'address space|noderef')


class Missing(Exception):
	"""A tool the grader needs (bwrap, sparse) is missing or broken."""


def digest(parts: list[bytes]) -> str:
	h = hashlib.sha256()
	for p in parts:
		h.update(b'%d:' % len(p) + p)	# length-prefixed: no two lists collide
	return h.hexdigest()[:16]


def kbuild_modules(kbuild: Path) -> list[str]:
	mods = []
	for m in re.finditer(r'^obj-m\s*[:+]?=\s*(.*)$', kbuild.read_text(), re.M):
		mods += [o[:-2] for o in m.group(1).split() if o.endswith('.o')]
	return mods


def kernel_parts(kdir: Path) -> list[bytes]:
	"""What identifies the lab kernel a module is built against."""
	symvers = kdir / 'Module.symvers'
	return [str(kdir).encode(), symvers.read_bytes() if symvers.exists() else b'']


def make_args(kdir: Path, arch: str, mount_at: str) -> list[str]:
	return ['make', '-C', str(kdir), f'M={mount_at}', f'ARCH={arch}', f'-j{os.cpu_count() or 1}']


def sandbox_ro(kdir: Path) -> list[Path]:
	"""The read-only paths a module build needs: the kernel build dir and
	the source tree its `source` link points to (a prebuilt kernel, see
	qemu-env/build-kernel.sh, is one folder with no such link)."""
	source = (kdir / 'source').resolve()
	return [kdir] + ([source] if source.is_dir() and source != kdir else [])


class Tree:
	"""A keyed build tree: build/<kind>/<lab>/<kernel>-<key>/."""

	kind = ''
	keep = 2

	def __init__(self, lab: str, kdir: Path, arch: str):
		self.lab, self.kdir, self.arch = lab, kdir, arch
		self.held = None	# the tree's lock file, held shared while in use
		self.mount_at = f'/{self.kind}/{lab}'
		self.log = ''
		self.dir = BUILD / self.kind / lab / f'{kdir.name}-{self.key()}'

	def key(self) -> str:
		raise NotImplementedError

	def populate(self, tmp: Path) -> None:
		raise NotImplementedError

	def commands(self) -> list[list[str]]:
		raise NotImplementedError

	def build(self) -> str:
		"""Build the tree unless it is built already: '' or a problem.

		Graders running side by side (make test, make grade-class, a
		make check beside them) that need the same tree wait for each
		other on the tree's lock file: one builds it, the others reuse it."""
		if (self.dir / DONE).exists():
			if self.held is None:
				self.hold()
			if self.reuse():
				return ''
			self.release()
		why = sandbox.probe()
		if why:
			raise Missing(why)
		self.dir.parent.mkdir(parents=True, exist_ok=True)
		while True:
			lock = open(self.dir.with_name(self.dir.name + LOCK), 'a')
			fcntl.flock(lock, fcntl.LOCK_EX)
			try:
				problem = '' if self.reuse() else self.build_locked()
			except BaseException:
				lock.close()
				raise
			if problem:
				lock.close()
				return problem
			# Held (shared) until release(): prune() and remove_unused()
			# leave a tree in use alone. flock(2) drops the exclusive
			# lock before it takes the shared one: a remove_unused() of
			# another grader may come between, so look again.
			fcntl.flock(lock, fcntl.LOCK_SH)
			if (self.dir / DONE).exists():
				break
			lock.close()
		self.held = lock
		self.prune()
		return ''

	def hold(self) -> None:
		"""Take the tree's lock shared (waiting for a build of it to end)."""
		self.dir.parent.mkdir(parents=True, exist_ok=True)
		self.held = open(self.dir.with_name(self.dir.name + LOCK), 'a')
		fcntl.flock(self.held, fcntl.LOCK_SH)

	def release(self) -> None:
		"""The tree is no longer used by this grader (it may be pruned)."""
		if self.held is not None:
			self.held.close()
			self.held = None

	def reuse(self) -> bool:
		if not (self.dir / DONE).exists():
			return False
		self.log = (self.dir / 'build.log').read_text(errors='replace')
		os.utime(self.dir)	# recently used: pruned last
		return True

	def build_locked(self) -> str:
		tmp = self.dir.with_name(f'{self.dir.name}.tmp{os.getpid()}-{threading.get_ident()}')
		shutil.rmtree(tmp, ignore_errors=True)
		tmp.mkdir(parents=True)
		self.populate(tmp)
		problem, logs = '', []
		for cmd in self.commands():
			proc = sandbox.run(cmd, tmp, self.mount_at, sandbox_ro(self.kdir))
			logs.append(proc.stdout)
			if proc.returncode != 0:
				problem = self.failure(proc.stdout, cmd)
				break
		self.log = ''.join(logs)
		if problem:	# its log goes to the transcript; the tree is no use
			shutil.rmtree(tmp, ignore_errors=True)
			return problem
		(tmp / 'build.log').write_text(self.log)
		(tmp / CHECK_LOG).unlink(missing_ok=True)	# only Student.check() writes it, after the build
		(tmp / DONE).touch()
		shutil.rmtree(self.dir, ignore_errors=True)	# a stale half-tree
		tmp.rename(self.dir)
		return ''

	def failure(self, out: str, cmd: list[str]) -> str:
		lines = out.splitlines()
		errors = [l for l in lines if re.search(r'error:|ERROR:|Error:', l)]
		return (errors[0] if errors else lines[-1] if lines else f'{cmd[0]} failed').strip()

	def prune(self) -> None:
		"""Keep the most recently used trees of this lab and kernel; drop
		half-built ones older than an hour (a grader that died)."""
		mine = [d for d in self.dir.parent.iterdir()
			if d.name.startswith(f'{self.kdir.name}-') and d.is_dir()]
		mine.sort(key=lambda d: d.stat().st_mtime, reverse=True)
		done = [d for d in mine if (d / DONE).exists()]
		stale = done[self.keep:] + [d for d in mine if d not in done and d.stat().st_mtime <
					    self.dir.stat().st_mtime - 3600]
		# And every tree of a kernel that is gone from the cache.
		stale += [d for d in self.dir.parent.iterdir() if d.is_dir()
			  and not (self.kdir.parent / d.name.split('.')[0].rsplit('-', 1)[0]).is_dir()]
		for d in stale:
			remove_unused(d)
		# Lock files of trees long gone, unless someone holds them (a
		# build of that tree may be starting).
		for lock in self.dir.parent.glob(f'*{LOCK}'):
			tree = lock.with_name(lock.name[:-len(LOCK)])
			if tree.exists() or lock.stat().st_mtime > self.dir.stat().st_mtime - 3600:
				continue
			with open(lock, 'a') as f:
				try:
					fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
				except OSError:
					continue
				if not tree.exists():
					lock.unlink(missing_ok=True)


class Suite(Tree):
	"""The lab's KUnit module(s) and user programs, from kunit/ only.

	The suite calls the student's exported functions, which no file of the
	suite's build defines. modpost would refuse those undefined symbols;
	with KBUILD_MODPOST_WARN=1 they are warnings and the kernel resolves
	them when the suite is loaded after the student's module. The other
	way, a generated Module.symvers of the interface for
	KBUILD_EXTRA_SYMBOLS, would add nothing here: the lab kernel has no
	CONFIG_MODVERSIONS, so there are no CRCs to record, and the kernel
	checks GPL-only and namespace imports itself at load time
	(scripts/Makefile.modpost, kernel/module/main.c)."""

	kind = 'suite'
	keep = KEEP_SUITE

	def __init__(self, lab: str, kdir: Path, arch: str):
		self.test_dir = ROOT / 'kunit' / lab
		super().__init__(lab, kdir, arch)
		self.modules = kbuild_modules(self.test_dir / 'Kbuild')

	def inputs(self) -> list[tuple[str, Path]]:
		"""(name in the tree, file) for everything the suite is built from."""
		t = self.test_dir
		files = [(f.name, f) for f in sorted(t.iterdir()) if f.suffix in ('.c', '.h') or f.name == 'Kbuild']
		files += [(f'user/{f.name}', f) for f in sorted((t / 'user').glob('*.[ch]'))]
		files += [(f'include/{f.name}', f) for f in sorted((ROOT / 'kunit' / 'include').glob('*.h'))]
		return files

	def key(self) -> str:
		parts = [BUILD_REV.encode(), self.arch.encode()] + kernel_parts(self.kdir)
		for name, f in self.inputs():
			parts += [name.encode(), f.read_bytes()]
		return digest(parts)

	def populate(self, tmp: Path) -> None:
		for name, f in self.inputs():
			(tmp / name).parent.mkdir(exist_ok=True)
			shutil.copyfile(f, tmp / name)

	def programs(self) -> list[str]:
		return sorted(f.stem for f in (self.test_dir / 'user').glob('*.c'))

	def commands(self) -> list[list[str]]:
		cmds = [make_args(self.kdir, self.arch, self.mount_at) + ['KBUILD_MODPOST_WARN=1']]
		for p in self.programs():
			cmds.append(['gcc', '-static', '-O2', '-Wall'] + (['-m32'] if self.arch == 'i386' else []) +
				    ['-I', 'include', '-I', '.', '-o', f'user/{p}', f'{self.mount_at}/user/{p}.c'])
		return cmds

	def failure(self, out: str, cmd: list[str]) -> str:
		what = f'user program {Path(cmd[-1]).name}' if cmd[0] == 'gcc' else 'the suite'
		return f'{what} did not build: {super().failure(out, cmd)}'

	def kos(self) -> list[Path]:
		return [self.dir / f'{m}.ko' for m in self.modules]

	def executables(self) -> list[Path]:
		return [self.dir / 'user' / p for p in self.programs()]


class Recipe(Tree):
	"""Kbuild's own steps for an external module, recorded once per lab,
	kernel and toolchain, so that each student build replays them instead
	of parsing the kernel's top Makefile again.

	`make -C KDIR M=dir` spends about 2 s of a 2.8 s module build (x86_64,
	this machine, docs/performance.md) before compiling anything: the top
	Makefile and arch/x86/Makefile run some 30 compiler probes (cc-option,
	try-run in scripts/Makefile.compiler) every time, and Kbuild keeps no
	cache of them. What the top Makefile then does for M= is fixed: it
	runs three sub-makes with the variables it exported (Makefile.build
	for the objects, then Makefile.modpost, then Makefile.modfinal for the
	.ko files, the `$(build-dir)`, `modpost` and `modules` rules of the
	top Makefile) and modules-check.sh between them. A build of a trivial
	module in the sandbox, with make's MAKE variable pointing at a script
	that writes down each sub-make's environment and arguments before it
	runs, records them; replay.sh runs the same sub-makes, in the same
	order, with the same environment, at the same path (/submission/NN),
	so a student's module is compiled, post-processed and linked by
	Kbuild's own makefiles exactly as before, in about 0.5 s. Sparse is
	split off (KBUILD_CHECKSRC=0 in the build): check_script() runs
	Makefile.build alone with KBUILD_CHECKSRC=2, which on a built tree
	runs sparse on every source with the same command line as C=1 and
	rebuilds and writes nothing, so the grader runs it while the VM boots
	or runs the tests (build.Student.check). The recording is keyed by
	the kernel, the arch, the path and the compiler and make binaries;
	when it cannot be made, the student build runs the whole of Kbuild
	with C=1 as it always did.

	  Recipe(lab, kdir, arch).build() -> '' or a problem;
	  .script() -> the build's script (no sparse); .check_script() ->
	  sparse's; .recorded() -> replay.sh as recorded (sparse on, C=1)"""

	kind = 'kbuild'
	keep = 1
	PROBE = ('#include <linux/module.h>\n'
		 'static int __init probe_init(void) { return 0; }\n'
		 'static void __exit probe_exit(void) { }\n'
		 'module_init(probe_init);\nmodule_exit(probe_exit);\n'
		 'MODULE_LICENSE("GPL");\nMODULE_DESCRIPTION("records Kbuild\'s steps");\n')
	RECORD = ('#!/bin/sh\n'
		  '# Write down a sub-make\'s environment and arguments, then run it.\n'
		  'n=$(ls "$KMEMLAB_RECORDS" | grep -c \'args$\')\n'
		  'env -0 > "$KMEMLAB_RECORDS/$n.env"\n'
		  'printf \'%s\\0\' "$PWD" "$@" > "$KMEMLAB_RECORDS/$n.args"\n'
		  'exec make "$@"\n')
	# The sub-makes of an M= build (the top Makefile's rules), in order.
	STEPS = ('scripts/Makefile.build', 'scripts/Makefile.modpost', 'scripts/Makefile.modfinal')

	def __init__(self, lab: str, kdir: Path, arch: str):
		super().__init__(lab, kdir, arch)
		self.mount_at = f'/{Student.kind}/{lab}'	# where the student's tree is built

	def key(self) -> str:
		parts = [BUILD_REV.encode(), self.arch.encode(), SPARSE.encode(),
			 f'/{Student.kind}/{self.lab}'.encode(), self.PROBE.encode(), self.RECORD.encode()]
		for tool in ('make', 'gcc'):
			path = shutil.which(tool)
			st = os.stat(os.path.realpath(path)) if path else None
			parts.append(f'{path}:{st.st_size}:{st.st_mtime_ns}'.encode() if st else b'')
		return digest(parts + kernel_parts(self.kdir))

	def populate(self, tmp: Path) -> None:
		(tmp / 'kmemlab_probe.c').write_text(self.PROBE)
		(tmp / 'Kbuild').write_text('obj-m := kmemlab_probe.o\n')
		(tmp / 'record-make').write_text(self.RECORD)
		(tmp / 'record-make').chmod(0o755)
		(tmp / 'records').mkdir()

	def commands(self) -> list[list[str]]:
		return [['env', f'KMEMLAB_RECORDS={self.mount_at}/records']
			+ make_args(self.kdir, self.arch, self.mount_at)
			+ ['C=1', f'CHECK={SPARSE}', f'MAKE={self.mount_at}/record-make']]

	def build_locked(self) -> str:
		problem = super().build_locked()
		if problem:
			return problem
		try:
			text = self.replay(self.dir / 'records')
		except (OSError, ValueError) as e:
			shutil.rmtree(self.dir, ignore_errors=True)
			return f'Kbuild\'s steps could not be recorded: {e}'
		(self.dir / 'replay.sh').write_text(text)
		return ''

	def replay(self, records: Path) -> str:
		"""replay.sh from the records: the three sub-makes and
		modules-check.sh, in the top Makefile's order, with the one
		environment they all had (without the jobserver's file
		descriptors and the recording MAKE)."""
		steps, env = [], None
		for n in range(len(list(records.glob('*.args')))):
			cwd, *args = (records / f'{n}.args').read_bytes().decode().split('\0')[:-1]
			step = next((s for s in self.STEPS if len(args) > 1 and args[0] == '-f'
				     and args[1].endswith('/' + s)), None)
			if step is None:
				continue	# the top Makefile re-run in the build dir
			e = dict(kv.split('=', 1) for kv in
				 (records / f'{n}.env').read_bytes().decode().split('\0') if '=' in kv)
			if env is not None and e != env:
				raise ValueError(f'{step} ran with another environment than the step before')
			env = e
			steps.append((step, cwd, args))
		if [s for s, _, _ in steps] != list(self.STEPS) or env is None:
			raise ValueError(f'expected the sub-makes {", ".join(self.STEPS)}, '
					 f'saw {", ".join(s for s, _, _ in steps) or "none"}')
		if env.get('KBUILD_CHECKSRC') != '1':
			raise ValueError('the sub-makes ran without sparse (KBUILD_CHECKSRC is not 1)')
		env.pop('MAKE', None)
		env.pop('KMEMLAB_RECORDS', None)
		env['MAKEFLAGS'] = re.sub(r' --jobserver-auth=\S+| MAKE=\S+', '', env.get('MAKEFLAGS', ''))
		bad = [k for k in env if not re.fullmatch(r'[A-Za-z_][A-Za-z0-9_]*', k)]
		if bad:
			raise ValueError(f'environment names a shell cannot export: {", ".join(bad)}')
		quote = lambda s: "'" + s.replace("'", "'\\''") + "'"
		lines = ['# Kbuild\'s steps for an external module at this path, recorded by',
			 '# grader/build.py (class Recipe) from a build of a trivial module.', 'set -e']
		lines += [f'export {k}={quote(v)}' for k, v in sorted(env.items())]
		cwd = steps[0][1]
		srctree = env.get('srctree', '')
		if not srctree:
			raise ValueError('the recorded environment has no srctree')
		for step, where, args in steps:
			if where != cwd:
				raise ValueError(f'{step} ran in {where}, not in {cwd}')
			lines.append(f'cd {quote(where)} && make {" ".join(quote(a) for a in args)}')
			if step == self.STEPS[0]:
				lines.append(f'sh {quote(srctree + "/scripts/modules-check.sh")} '
					     f'{quote(self.mount_at + "/modules.order")}')
		return '\n'.join(lines) + '\n'

	def recorded(self) -> str:
		return (self.dir / 'replay.sh').read_text()

	# What Makefile.modfinal builds the same for every module at this path
	# (6.12: scripts/module-common.c, linked into each .ko), with the .cmd
	# file that tells if_changed_dep it is up to date.
	SEEDS = ('.module-common.o', '..module-common.o.cmd')

	def seeds(self) -> dict[str, tuple[bytes, int]]:
		"""The recording's .module-common.o and its .cmd file: {name:
		(bytes, mtime in ns)}, or {} if either is missing. plant() puts
		them in a student tree before its build, which then skips one of
		its three compiles; the .ko is the same bytes (tests/recipe.py)."""
		if not all((self.dir / s).is_file() for s in self.SEEDS):
			return {}
		return {s: ((self.dir / s).read_bytes(), (self.dir / s).stat().st_mtime_ns) for s in self.SEEDS}

	# Each module's .mod.c, .mod.o and .mod.o.cmd from the last student
	# build at this path (keep_mods), under MODS/<module>-<digest of its
	# .mod.c>/, with MODS/<module>.latest naming the newest.
	MODS = 'mods'

	@staticmethod
	def mod_files(module: str) -> tuple[str, str, str]:
		return f'{module}.mod.c', f'{module}.mod.o', f'.{module}.mod.o.cmd'

	@classmethod
	def mod_seeds(cls, recipe_dir: Path, modules: list[str]) -> dict[str, tuple[bytes, int]]:
		"""What keep_mods() last kept in recipe_dir (a Recipe's .dir) of these modules, to plant() in a new
		student tree: {name: (bytes, mtime in ns)}; a module with nothing
		kept (or half of it) gets nothing.

		modpost writes a module's .mod.c (its name, exports and imports)
		only when its content changes (write_if_changed(), scripts/mod/
		modpost.c), and Makefile.modfinal compiles .mod.c into .mod.o only
		when .mod.c is newer or the command line changed (if_changed_dep).
		Planted, the last build's three files spare most edits that second
		compile of the kernel's headers (about 0.25 s of CPU beside the
		booting VM): when the new .mod.c differs, modpost rewrites it and
		Kbuild compiles it as always. Whatever is planted was compiled by
		Kbuild from that very .mod.c with the same command line (the path
		and the flags are this recording's), which a student's sources
		cannot change: the .ko is the same bytes either way
		(tests/recipe.py)."""
		seeds: dict[str, tuple[bytes, int]] = {}
		for module in modules:
			try:
				kept = recipe_dir / cls.MODS / (recipe_dir / cls.MODS / f'{module}.latest').read_text().strip()
				found = {f: ((kept / f).read_bytes(), (kept / f).stat().st_mtime_ns)
					 for f in cls.mod_files(module)}
			except OSError:
				continue
			seeds.update(found)
		return seeds

	@classmethod
	def keep_mods(cls, recipe_dir: Path, tree: Path, modules: list[str]) -> None:
		"""After a student build at this recording's path succeeded: keep
		each module's three files (mod_seeds) for the next build. Written
		aside and renamed: graders side by side may keep the same."""
		where = recipe_dir / cls.MODS
		for module in modules:
			files = cls.mod_files(module)
			try:
				if not all((tree / f).is_file() for f in files):
					continue
				name = f'{module}-{digest([(tree / files[0]).read_bytes()])}'
				if not (where / name).is_dir():
					tmp = where / f'.{name}.tmp{os.getpid()}-{threading.get_ident()}'
					tmp.mkdir(parents=True)
					for f in files:
						shutil.copy2(tree / f, tmp / f)	# with their mtimes
					try:
						tmp.rename(where / name)
					except OSError:	# another grader kept it first
						shutil.rmtree(tmp, ignore_errors=True)
				pointer = where / f'.{module}.latest.{os.getpid()}-{threading.get_ident()}'
				pointer.write_text(name + '\n')
				os.replace(pointer, where / f'{module}.latest')
			except OSError:
				continue	# the next build compiles it, as before

	@staticmethod
	def plant(tree: Path, seeds: dict[str, tuple[bytes, int]]) -> None:
		for name, (data, mtime) in seeds.items():
			(tree / name).write_bytes(data)
			os.utime(tree / name, ns=(mtime, mtime))	# newer than its kernel-tree prerequisites: up to date

	def variant(self, checksrc: str, first_step_only: bool) -> str:
		"""replay.sh with KBUILD_CHECKSRC set to checksrc (scripts/
		Makefile.build: 0 no sparse, 1 sparse on what is compiled, 2
		sparse on every source), and only its first step
		(Makefile.build) if first_step_only.

		Without modules-check.sh: it refuses two modules of one name in
		modules.order, which the grader's Kbuild (one obj-m line of the
		rubric's distinct sources) cannot write, and its shell, sed, sort
		and uniq were four of the build's process starts, each of which
		slows the VM booting beside it (docs/performance.md)."""
		out = []
		for line in self.recorded().splitlines():
			if line.startswith('export KBUILD_CHECKSRC='):
				line = f"export KBUILD_CHECKSRC='{checksrc}'"
			if line.startswith('sh ') and 'scripts/modules-check.sh' in line:
				continue
			out.append(line)
			if first_step_only and line.startswith('cd '):
				break
		return '\n'.join(out) + '\n'

	def script(self) -> str:
		return self.variant('0', False)

	def check_script(self) -> str:
		return self.variant('2', True)


class Student(Tree):
	"""The student's module(s): the rubric's [student] sources from the
	submission, the lab's headers from kunit/NN-name/, a Kbuild written
	here. Sparse checks the student's files: check(), on the built tree
	(the whole-of-Kbuild fallback runs it on the way, C=1)."""

	kind = 'submission'
	keep = KEEP_STUDENT

	def __init__(self, lab: str, sources: list[str], src_dir: Path, kdir: Path, arch: str):
		self.sources, self.src_dir = sources, src_dir
		self.headers = sorted((ROOT / 'kunit' / lab).glob('*.h'))
		self.notes: list[str] = []
		self.taken: dict[str, bytes] = {}
		self.take_problem = self.take()
		super().__init__(lab, kdir, arch)
		self.modules = [s[:-2] for s in sources]
		self.replay = ''	# set by build(): Recipe's build script
		self.check_text = ''	# and its sparse script
		self.seeds: dict[str, tuple[bytes, int]] = {}	# Recipe.SEEDS, mod_seeds(): (bytes, mtime in ns)
		self.recipe_dir: Optional[Path] = None	# the Recipe this tree's build replays
		self.checked = False

	def take(self) -> str:
		"""Read the listed sources from the submission: regular files only
		(a symlink could point at any file of the host), of a sane size.
		Everything else in the folder is noted and left alone."""
		if not self.src_dir.is_dir():
			return f'no folder {self.src_dir.name} in the submission'
		for name in self.sources:
			path = self.src_dir / name
			try:
				st = path.lstat()
			except OSError:
				return f'{name} is missing from the submission'
			if not stat.S_ISREG(st.st_mode):
				return f'{name} is not a regular file (a link or a folder)'
			if st.st_size > MAX_SOURCE:
				return f'{name} is larger than {MAX_SOURCE >> 10} KiB'
			fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
			with os.fdopen(fd, 'rb') as f:
				self.taken[name] = f.read(MAX_SOURCE + 1)
		lab_headers = {h.name: h for h in self.headers}
		ignored, edited = [], []
		for entry in sorted(self.src_dir.iterdir()):
			if entry.name in self.sources:
				continue
			h = lab_headers.get(entry.name)
			if h and entry.is_file() and not entry.is_symlink():
				# The skeleton's read-only copy: fine unless edited.
				if strip_banner(entry.read_bytes()) != strip_banner(h.read_bytes()):
					edited.append(entry.name)
			else:
				ignored.append(entry.name)
		if ignored:
			self.notes.append(f'ignored (the lab builds only {", ".join(self.sources)}): {", ".join(ignored)}')
		if edited:
			verb = 'differs' if len(edited) == 1 else 'differ'
			self.notes.append(f'{", ".join(edited)} {verb} from the lab\'s: the lab\'s own copy was used')
		return ''

	def recipe(self) -> str:
		"""replay.sh for this lab and kernel, or '' to run the whole of
		Kbuild (the recording failed: a module build then only takes
		longer)."""
		recipe = Recipe(self.lab, self.kdir, self.arch)
		try:
			if recipe.build():
				return ''
			self.check_text = recipe.check_script()
			self.seeds = {**recipe.seeds(), **recipe.mod_seeds(recipe.dir, self.modules)}
			self.recipe_dir = recipe.dir
			return recipe.script()
		except OSError:
			self.check_text = ''
			return ''
		finally:
			recipe.release()

	def kbuild(self) -> str:
		return '# Written by grader/build.py\nobj-m := ' + \
			' '.join(f'{s[:-2]}.o' for s in self.sources) + '\n'

	def key(self) -> str:
		parts = [BUILD_REV.encode(), self.arch.encode(), self.kbuild().encode(), SPARSE.encode()]
		parts += kernel_parts(self.kdir)
		for name in self.sources:
			parts += [name.encode(), self.taken.get(name, b'')]
		for h in self.headers:
			parts += [h.name.encode(), h.read_bytes()]
		return digest(parts)

	def populate(self, tmp: Path) -> None:
		for name, data in self.taken.items():
			(tmp / name).write_bytes(data)
		for h in self.headers:
			shutil.copyfile(h, tmp / h.name)
		(tmp / 'Kbuild').write_text(self.kbuild())
		if self.replay and self.check_text:
			(tmp / REPLAY).write_text(self.replay)
			(tmp / CHECK).write_text(self.check_text)
			Recipe.plant(tmp, self.seeds)

	def commands(self) -> list[list[str]]:
		if self.replay and self.check_text:	# Kbuild's own sub-makes, recorded (class Recipe)
			return [['sh', f'{self.mount_at}/{REPLAY}']]
		return [make_args(self.kdir, self.arch, self.mount_at) + ['C=1', f'CHECK={SPARSE}']]

	def build(self) -> str:
		if self.take_problem:
			return self.take_problem
		if not shutil.which('sparse'):
			raise Missing('sparse is missing (Debian package sparse): the student build checks with it')
		if not (self.dir / DONE).exists():
			self.replay = self.recipe()
		problem = super().build()	# the compiler's line: outcome.problem_line() says what it means
		if not problem and self.recipe_dir:
			Recipe.keep_mods(self.recipe_dir, self.dir, self.modules)
			self.recipe_dir = None	# kept once per build
		return problem

	def check(self) -> str:
		"""Sparse on the built tree (Recipe.check_script), its output added
		to .log: run in the sandbox with the tree read-only, once per tree
		(check.log keeps a finished check's output for the next grader of
		the same source). '' or a problem: sparse did not finish (its exit
		status and last line), which fails the build as C=1 would have,
		and is not kept (a Ctrl-C or a time-out is no verdict on the
		source). Nothing to do for a tree the whole of Kbuild built (C=1
		ran sparse then) or before a successful build(). An OSError of the
		build dir passes through."""
		if self.checked or not (self.dir / DONE).exists() or not (self.dir / CHECK).exists():
			return ''
		self.checked = True
		done = self.dir / CHECK_LOG
		if not done.exists():
			proc = sandbox.run(['sh', f'{self.mount_at}/{CHECK}'], self.dir, self.mount_at,
					   sandbox_ro(self.kdir), writable=False)
			if proc.returncode:
				self.log += proc.stdout
				last = (proc.stdout.strip().splitlines() or ['no message'])[-1]
				return f'sparse did not finish (exit status {proc.returncode}): {last}'
			tmp = done.with_name(f'{CHECK_LOG}.tmp{os.getpid()}-{threading.get_ident()}')
			tmp.write_text(proc.stdout)
			tmp.rename(done)	# atomic: a grader beside this one reads all or nothing
		self.log += done.read_text(errors='replace')
		return ''

	def failure(self, out: str, cmd: list[str]) -> str:
		lines = out.splitlines()
		errors = [l for l in lines if re.search(r'error:|ERROR:|Error:', l)]
		# The student's own file first: a macro's error points into a header.
		mine = tuple(f'{self.mount_at}/{s}' for s in self.sources)
		return next((l for l in errors if l.startswith(mine)), None) or super().failure(out, cmd)

	def kos(self) -> list[Path]:
		return [self.dir / f'{m}.ko' for m in self.modules]

	def built(self) -> bool:
		"""Whether these very sources were built before (their tree is
		done): build() then only finds it."""
		return not self.take_problem and (self.dir / DONE).exists()

	def diagnostics(self) -> tuple[list[str], list[str]]:
		"""(sparse's address-space warnings, every other warning) in the
		student's files, as the build printed them."""
		mine = tuple(f'{self.mount_at}/{s}:' for s in self.sources)
		spaces, others = [], []
		for line in self.log.splitlines():
			if 'warning:' not in line:
				continue
			if ': sparse: ' in line and not line.startswith(mine):
				continue	# the kernel's own headers: not the student's to fix
			if ': sparse: ' in line and ADDRESS_SPACE.search(line):
				spaces.append(line.replace(': sparse: ', ': ', 1))
			elif 'warning:' in line:
				others.append(line)
		return spaces, others


def remove_unused(tree: Path) -> None:
	"""Remove a built tree unless a grader holds it (its lock file is
	held shared while a lab is graded from it, or exclusively while it is
	built): a long run beside many short ones (make test, grade-class) must
	not lose its modules to another run's pruning."""
	lock_path = tree.with_name(tree.name + LOCK)
	try:
		lock = open(lock_path, 'a')
	except OSError:
		return
	with lock:
		try:
			fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
		except OSError:
			return	# in use
		shutil.rmtree(tree, ignore_errors=True)


def strip_banner(text: bytes) -> bytes:
	"""A header without the banner skelgen puts on the skeleton's copy."""
	return re.sub(rb'/\*\n \* A copy of kunit/.*? \*/\n', b'', text, count=1, flags=re.S)
