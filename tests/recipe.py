# SPDX-License-Identifier: GPL-2.0
"""The student build's recorded Kbuild steps (grader/build.py, class
Recipe) build what the whole of Kbuild builds.

For one lab on each lab kernel's arch (fast kernel), the solution's module
is built twice in the sandbox at the grader's path: once by replaying the
recorded sub-makes, once by `make -C KDIR M=`; the .ko files must be the
same bytes (the build id is a hash of the content, so any change of a flag
shows). A source with a compile error must fail both ways with the same
first error line, and sparse run apart on the replayed tree
(Recipe.check_script) must print the lines C=1 prints. With the last
build's .mod.c, .mod.o and .mod.o.cmd planted (Recipe.keep_mods), an
edit that keeps the exports must reuse the .mod.o and one that adds an
export must compile it, both to Kbuild's bytes. No VM.

  run(record, arch, kdir) records five PASS/FAIL lines; kdir(flavour)
  gives the arch's lab kernel build dir. Standalone: both arches.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'grader'))

import build  # noqa: E402
import sandbox  # noqa: E402

LAB = '05-mmap-remap'


def built(kdir: Path, arch: str, source: Path, script: str, tmp: Path, check: str = '',
	  seeds: dict | None = None) -> tuple[int, dict[str, str], str, list[str]]:
	"""(make's exit status, {ko name: sha256}, the first error line,
	sparse's warning lines) of one build of source: replayed steps when
	script (with the recording's seeds, Recipe.plant; then check,
	sparse's script, on the built tree read-only), else the whole of
	Kbuild with C=1."""
	mount = f'/{build.Student.kind}/{LAB}'
	tree = tmp / ('replay' if script else 'kbuild')
	shutil.rmtree(tree, ignore_errors=True)
	tree.mkdir()
	shutil.copy(source, tree)
	for h in (ROOT / 'kunit' / LAB).glob('*.h'):
		shutil.copy(h, tree)
	(tree / 'Kbuild').write_text(f'obj-m := {source.stem}.o\n')
	if script:
		build.Recipe.plant(tree, seeds)
		(tree / build.REPLAY).write_text(script)
		cmd = ['sh', f'{mount}/{build.REPLAY}']
	else:
		cmd = build.make_args(kdir, arch, mount) + ['C=1', f'CHECK={build.SPARSE}']
	proc = sandbox.run(cmd, tree, mount, build.sandbox_ro(kdir))
	out = proc.stdout
	if script and check and proc.returncode == 0:
		(tree / build.CHECK).write_text(check)
		out += sandbox.run(['sh', f'{mount}/{build.CHECK}'], tree, mount, build.sandbox_ro(kdir),
				   writable=False).stdout
	kos = {k.name: hashlib.sha256(k.read_bytes()).hexdigest() for k in tree.glob('*.ko')}
	errors = [l for l in out.splitlines() if ' error: ' in l]
	return proc.returncode, kos, errors[0] if errors else '', [l for l in out.splitlines() if ': sparse: ' in l], out


def run(record, arch: str, kdir) -> None:
	check(record, arch, kdir('fast'))


def check(record, arch: str, kdir: Path) -> None:
	name = f'recorded Kbuild steps: {LAB} ({arch}) builds the same .ko as make -C KDIR M='
	recipe = build.Recipe(LAB, kdir, arch)
	problem = recipe.build()
	if problem:
		record(False, name, f'not recorded: {problem}')
		return
	script, check_script, seeds = recipe.script(), recipe.check_script(), recipe.seeds()
	recipe.release()
	if not seeds:
		record(False, name, 'the recording has no .module-common.o to seed a build with')
		return
	source = sorted((ROOT / 'solutions' / LAB).glob('*.c'))[0]
	with tempfile.TemporaryDirectory(prefix='kmemlab-recipe-') as t:
		tmp = Path(t)
		good = tmp / source.name
		good.write_bytes(source.read_bytes())
		a, b = built(kdir, arch, good, script, tmp, seeds=seeds), built(kdir, arch, good, '', tmp)
		ok = a[0] == 0 and b[0] == 0 and a[1] and a[1] == b[1]
		record(ok, name, f'replayed: status {a[0]}, {a[1]}; Kbuild: status {b[0]}, {b[1]}')
		good.write_bytes(source.read_bytes() + b'\nint kmemlab_broken(void) { return undeclared; }\n')
		a, b = built(kdir, arch, good, script, tmp, seeds=seeds), built(kdir, arch, good, '', tmp)
		ok = a[0] != 0 and b[0] != 0 and a[2] and a[2] == b[2]
		record(ok, f'recorded Kbuild steps: {LAB} ({arch}) fails a compile error as Kbuild does',
		       f'replayed: status {a[0]}, {a[2]!r}; Kbuild: status {b[0]}, {b[2]!r}')
		# The last build's .mod.c, .mod.o and .mod.o.cmd planted
		# (Recipe.keep_mods, mod_seeds): an edit that leaves the module's
		# exports alone skips the .mod.o compile, one that adds an export
		# compiles it anew; both give Kbuild's bytes.
		good.write_bytes(source.read_bytes())
		first = built(kdir, arch, good, script, tmp, seeds=seeds)
		kept = tmp / 'recipe'
		build.Recipe.keep_mods(kept, tmp / 'replay', [source.stem])
		planted = {**seeds, **build.Recipe.mod_seeds(kept, [source.stem])}
		edits = (('an edit inside a function', b'\n/* an edit */\nstatic int __maybe_unused kmemlab_edit(void) '
			  b'{ return 1; }\n', False),
			 ('a new export', b'\nint kmemlab_new_export(void);\nint kmemlab_new_export(void) { return 2; }\n'
			  b'EXPORT_SYMBOL_GPL(kmemlab_new_export);\n', True))
		for what, extra, compiled in edits:
			good.write_bytes(source.read_bytes() + extra)
			a, b = built(kdir, arch, good, script, tmp, seeds=planted), built(kdir, arch, good, '', tmp)
			mod_cc = f'{source.stem}.mod.o' in a[4]
			ok = (first[0] == 0 and len(planted) == len(seeds) + 3 and a[0] == 0 and b[0] == 0 and a[1]
			      and a[1] == b[1] and mod_cc == compiled)
			record(ok, f'recorded Kbuild steps: {LAB} ({arch}) with the last .mod.o planted, {what}: '
			       f'{"compiled" if compiled else "reused"}, the same .ko as Kbuild',
			       f'planted {sorted(set(planted) - set(seeds))}; .mod.o compiled: {mod_cc}; '
			       f'replayed: status {a[0]}, {a[1]}; Kbuild: status {b[0]}, {b[1]}')
		# A __user pointer read as a plain one, and an __iomem one: sparse
		# run apart on the built tree says what C=1 says, word for word.
		good.write_bytes(source.read_bytes() + b'\nint kmemlab_sparse(int __user *u, void __iomem *io);\n'
				 b'int kmemlab_sparse(int __user *u, void __iomem *io) { return *u + *(int *)io; }\n')
		a, b = built(kdir, arch, good, script, tmp, check_script, seeds), built(kdir, arch, good, '', tmp)
		ok = a[0] == 0 and b[0] == 0 and len(a[3]) >= 2 and a[3] == b[3]
		record(ok, f'recorded Kbuild steps: {LAB} ({arch}) sparse, run apart on the built tree, '
		       'says what C=1 says', f'apart: {a[3]}; C=1: {b[3]}')


def both_arches(record) -> None:
	import grade
	for arch in ('x86_64', 'i386'):
		check(record, arch, grade.kernel_dir(arch, 'fast'))


if __name__ == '__main__':
	sys.path.insert(0, str(Path(__file__).resolve().parent))
	import standalone

	sys.exit(standalone.main(both_arches))
