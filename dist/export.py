#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make dist: write the student edition, the tree a course hands to its
students, ready for `git init`, with nothing in it that gives an answer away.

  export.py DEST

In: this checkout. Out: DEST/ holding the handouts and rubrics (labs/), the
skeletons where `make check LAB=NN` looks by default (skel/, made from
solutions/ by the skeleton generator, with a banner for students), the
suites and user programs (kunit/, without mutants.toml), grader/,
qemu-env/, the tests a student's tree can run (tests/student.py, the
grader's unit tests and their fixtures), the student-facing docs, the
Makefile (only the student branch of each `ifeq ($(EDITION),full)`), a README for students (dist/student-README.md with the lab table
of README.md), tests/skeletons.sha256 (what the skeletons were, so
`make test` knows an untouched one), the GitHub Classroom workflow
(.github/workflows/kmemlab.yml, from grader/classroom/) and .kmemlab-edition (the marker of a
student edition). Left out: solutions/, skelgen/ (it needs the solutions),
every kunit/NN-name/mutants.toml (typical mistakes, written as edits of the
solution), tests that need the solutions (tests/run.py, hostile.py,
integrity.py, dist.py, test_export.py, resume.py and resume.toml), bench/
(it times the solutions), dist/ itself, docs/writing-a-lab.md and
docs/performance.md (about the solutions, the mistake lists and their
timing), and each rubric's [hidden]
tests: their cases, their files in kunit/NN-name/, and their steps in
Kbuild and vm-steps (docs/writing-a-lab.md, "Hidden tests").

Exit status: 0 written; 1 this checkout cannot be exported as it is (bad
TODO markers, a [hidden] table that does not hold, an edit below that no
longer applies): one line says why, and DEST may hold part of the tree;
2 bad DEST: none given, a file, inside this checkout, or a non-empty
folder that is not an earlier student edition. An earlier edition (it has
.kmemlab-edition) is replaced, all but its .git, so a course's template
repository can take the new edition as one more commit.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'grader'))
sys.path.insert(0, str(ROOT / 'skelgen'))

import score  # noqa: E402
import skelgen  # noqa: E402

MARKER = '.kmemlab-edition'
MANIFEST = 'tests/skeletons.sha256'

# Copied as they are (a folder: all its files, at any depth), apart from
# the lab files handled below (rubrics, kunit/).
SHIP = [
	'Makefile', '.gitignore', 'grader', 'qemu-env', 'labs', 'kunit',
	'tests/student.py', 'tests/test_grader.py', 'tests/test_build.py',
	'tests/test_resume.py', 'tests/fixtures',
	'docs/grading.md', 'docs/kernel.md', 'docs/edu-device.md',
]
# Files the edition also has at another place: its path -> the checkout's.
PLACED = {'.github/workflows/kmemlab.yml': 'grader/classroom/kmemlab.yml'}	# GitHub Classroom
# Files of those folders that stay out: the typical mistakes, written as
# edits of the solution.
OMIT = re.compile(r'^kunit/[^/]+/mutants\.toml$')
# Never in an edition, whatever SHIP says (checked on the result).
NEVER = re.compile(r'^(solutions|skelgen|bench|dist|\.ci)/|(^|/)mutants\.toml$'
		   r'|^tests/(run|hostile|integrity|dist|test_export|resume)\.py$|^tests/resume\.toml$'
		   r'|^docs/(writing-a-lab|performance)\.md$')
JUNK = re.compile(r'(^|/)(__pycache__|\.[^/]*)(/|$)|(\.pyc|~|\.orig|\.rej|\.swp)$')
# Edits of shipped files, each old text found exactly once: a sentence
# that points at a file the edition leaves out.
EDITS = {
	'docs/kernel.md': [(' Measured figures: see\n[performance.md](performance.md).', '')],
	'docs/grading.md': [("`tests/resume.toml` holds, for every lab, an edit of the solution that\n"
			     "crashes the kernel in one test in the middle of the lab (or in two; in\n"
			     "lab 07 also in a chained case); `tests/resume.py` grades it and checks\n"
			     "that only those tests (and the rest of the chain) and the deduction\n"
			     "are lost.\n\n", '')],
}
STUDENT_BANNER = ('kmemlab, lab {lab}: the file you complete. Each TODO n matches\n'
		  'exercise n of the handout, labs/{lab}/README.md;\n'
		  '`make check LAB={num}` builds it and runs the lab\'s tests.')
STUDENT_READ_BANNER = ('kmemlab, lab {lab}: nothing to complete in this file (no TODO);\n'
		       'the exercises of labs/{lab}/README.md are in the files that have one.')


class ExportError(Exception):
	"""This checkout cannot be exported as it is (exit status 1)."""


class BadDest(Exception):
	"""DEST cannot take an edition (exit status 2)."""


def shipped_files(root: Path) -> list[str]:
	"""Paths (relative to root) of the files SHIP names, junk left out."""
	out = []
	for entry in SHIP:
		p = root / entry
		if p.is_file():
			out.append(entry)
		elif p.is_dir():
			out += [f.relative_to(root).as_posix() for f in sorted(p.rglob('*'))
				if f.is_file() and not JUNK.search(f.relative_to(p).as_posix())
				and not OMIT.search(f.relative_to(root).as_posix())]
		else:
			raise ExportError(f'{entry} is missing from this checkout')
	return out


def student_makefile(text: str) -> str:
	"""The Makefile with only its student branches: each `ifeq
	($(EDITION),full)` block gives way to its else branch, and EDITION
	itself (with the comment above it) goes."""
	out: list[str] = []
	state, depth = '', 0	# '', 'full' (dropped) or 'student' (kept)
	for line in text.split('\n'):
		word = line.strip()
		if not state:
			if word == 'ifeq ($(EDITION),full)':
				state, depth = 'full', 0
			elif word.startswith('EDITION :='):
				while out and out[-1].startswith('#'):
					out.pop()
			else:
				out.append(line)
			continue
		if re.match(r'^(ifeq|ifneq|ifdef|ifndef)\b', word):
			depth += 1
		elif word == 'endif' and depth:
			depth -= 1
		elif word == 'endif':
			state = ''
			continue
		elif word == 'else' and not depth:
			state = 'student'
			continue
		if state == 'student':
			out.append(line)
	if state or 'EDITION' in '\n'.join(out):
		raise ExportError('Makefile: an ifeq ($(EDITION),full) block without its endif, or EDITION used elsewhere')
	return '\n'.join(out)


def student_rubric(text: str, rubric: score.Rubric, where: str) -> str:
	"""The rubric without its [hidden] table (and the comment right above
	it) and without the hidden cases' [points] lines."""
	out: list[str] = []
	table = ''
	for line in text.split('\n'):
		header = re.match(r'^\s*\[\s*([^\]\s]+)\s*\]\s*(#.*)?$', line)
		if header:
			table = header.group(1)
			if table == 'hidden':
				while out and out[-1].lstrip().startswith('#'):
					out.pop()
				continue
		if table == 'hidden':
			continue
		key = re.match(r'^\s*"([^"]+)"\s*=', line)
		if table == 'points' and key and key.group(1) in rubric.hidden:
			continue
		out.append(line)
	new = '\n'.join(out).rstrip('\n') + '\n'
	want = tomllib.loads(text)
	want.pop('hidden', None)
	want['points'] = {k: v for k, v in want['points'].items() if k not in rubric.hidden}
	if tomllib.loads(new) != want:
		raise ExportError(f'{where}: cannot take the hidden tests out line by line; keep [hidden] a '
				  'table of its own and each [points] entry on one line')
	return new


def without_hidden_steps(name: str, text: str, stems: set[str]) -> str:
	"""Kbuild without the hidden suites' objects; vm-steps without the
	steps that load, remove or run a hidden suite or program."""
	out = []
	for line in text.split('\n'):
		if name == 'Kbuild':
			if re.match(r'^obj-m\s*[:+]?=', line):
				line = ' '.join(w for w in line.split(' ') if w[:-2] not in stems or not w.endswith('.o'))
			elif any(re.search(rf'\b{re.escape(s)}\b', line) for s in stems):
				continue
		else:
			words = line.split()
			if len(words) > 1 and words[0] in ('insmod', 'rmmod', 'run') and \
			   re.sub(r'\.ko$', '', words[1]) in stems:
				continue
		out.append(line)
	return '\n'.join(out)


def hidden_names(rubric: score.Rubric) -> set[str]:
	"""Names that say a hidden test exists: its cases, the suites all of
	whose cases are hidden, the hidden files' names."""
	names = {k.split('.', 1)[1] for k in rubric.hidden}
	suites = {k.split('.', 1)[0] for k in rubric.hidden}
	names |= {s for s in suites if all(k in rubric.hidden for k in rubric.points if k.startswith(s + '.'))}
	names |= {Path(f).stem for f in rubric.hidden_files}
	return names


def lab_files(root: Path, lab: Path) -> dict[str, Optional[bytes]]:
	"""The files of labs/NN-name/ and kunit/NN-name/ that an edition has
	otherwise than as they are: path -> content, or None (left out)."""
	rel = lab.relative_to(root).as_posix()
	rubric_path = lab / 'rubric.toml'
	try:
		rubric = score.load_rubric(rubric_path)
	except score.RubricError as e:
		raise ExportError(str(e)) from e
	files: dict[str, Optional[bytes]] = {f'{rel}/rubric.toml': student_rubric(rubric_path.read_text(), rubric, f'{rel}/rubric.toml').encode()}
	suite = root / 'kunit' / lab.name
	suites = {Path(f).stem for f in rubric.hidden_files if '/' not in f}	# KUnit modules
	stems = {Path(f).stem for f in rubric.hidden_files}	# and user programs
	for f in rubric.hidden_files:
		if not (suite / f).is_file():
			raise ExportError(f'{rel}/rubric.toml: [hidden] file kunit/{lab.name}/{f} does not exist')
	kbuild = (suite / 'Kbuild').read_text() if (suite / 'Kbuild').is_file() else ''
	for s in suites:
		if not re.search(rf'^obj-m\s*[:+]?=.*\b{re.escape(s)}\.o\b', kbuild, re.M):
			raise ExportError(f'{rel}/rubric.toml: [hidden] file kunit/{lab.name}/{s}.c is not in its Kbuild')
	for name in ('Kbuild', 'vm-steps'):
		if (suite / name).is_file() and rubric.hidden_files:
			files[f'kunit/{lab.name}/{name}'] = \
				without_hidden_steps(name, (suite / name).read_text(), stems).encode()
	for f in rubric.hidden_files:
		files[f'kunit/{lab.name}/{f}'] = None	# left out
	return files


def skeletons() -> dict[str, bytes]:
	"""skel/: what the skeleton generator writes from solutions/, with a
	banner for students instead of the one for the repository."""
	files = {}
	for lab in sorted(p for p in (skelgen.ROOT / 'solutions').iterdir() if p.is_dir()):
		try:
			generated = skelgen.generate_lab(lab)
		except skelgen.SkelError as e:
			raise ExportError(f'skeleton generator: {e}') from e
		num = lab.name.split('-')[0]
		for path, text in generated.items():
			rel = path.relative_to(skelgen.ROOT).as_posix()
			src = skelgen.ROOT / 'solutions' / path.relative_to(skelgen.ROOT / 'skel')
			if src.is_file():	# a solution's file, not an interface header's copy
				old = skelgen.banner_for(src, str(src.relative_to(skelgen.ROOT)), lab.name)
				todo = skelgen.ANY_MARKER.search(src.read_text())
				new = skelgen.banner_for(src, '', lab.name, STUDENT_BANNER.replace('{num}', num)
							 if todo else STUDENT_READ_BANNER)
				if text.count(old) != 1:
					raise ExportError(f'{rel}: the skeleton generator\'s banner is not where expected')
				text = text.replace(old, new)
			files[rel] = text.encode()
	return files


def student_readme(root: Path) -> bytes:
	"""dist/student-README.md with README.md's table of labs in it."""
	lines = (root / 'README.md').read_text().split('\n')
	start = next((i for i, l in enumerate(lines) if l.startswith('| lab |')), None)
	if start is None:
		raise ExportError('README.md has no table of labs ("| lab | ..." line) for the student README')
	end = next((i for i in range(start, len(lines)) if not lines[i].startswith('|')), len(lines))
	template = (root / 'dist' / 'student-README.md').read_text()
	if template.count('{labs}') != 1:
		raise ExportError('dist/student-README.md must hold {labs} once, where the table of labs goes')
	return template.replace('{labs}', '\n'.join(lines[start:end])).encode()


def source_commit(root: Path) -> str:
	try:
		proc = subprocess.run(['git', '-C', str(root), 'describe', '--always', '--dirty'],
				      capture_output=True, text=True, check=False, timeout=30)
	except OSError:
		return ''
	return proc.stdout.strip() if proc.returncode == 0 else ''


def edition(root: Path = ROOT) -> dict[str, tuple[bytes, int]]:
	"""Every file of the student edition: path -> (content, mode)."""
	files: dict[str, tuple[bytes, int]] = {}
	for rel in shipped_files(root):
		p = root / rel
		files[rel] = (p.read_bytes(), 0o755 if os.access(p, os.X_OK) else 0o644)
	for rel, src in PLACED.items():
		if not (root / src).is_file():
			raise ExportError(f'{src} is missing from this checkout (the edition has it as {rel})')
		files[rel] = ((root / src).read_bytes(), 0o644)
	for rel, edits in EDITS.items():
		text = files[rel][0].decode()
		for old, new in edits:
			if text.count(old) != 1:
				raise ExportError(f'{rel}: the text dist/export.py edits is gone: {old[:50]!r}')
			text = text.replace(old, new)
		files[rel] = (text.encode(), files[rel][1])
	files['Makefile'] = (student_makefile(files['Makefile'][0].decode()).encode(), files['Makefile'][1])
	hidden: dict[str, set[str]] = {}
	for rubric_path in sorted(root.glob('labs/*/rubric.toml')):
		lab = rubric_path.parent
		for rel, data in lab_files(root, lab).items():
			if data is None:
				files.pop(rel, None)
			else:
				files[rel] = (data, files.get(rel, (b'', 0o644))[1])
		names = hidden_names(score.load_rubric(rubric_path))
		if names:
			hidden[lab.name] = names
	skel = skeletons()
	files.update({rel: (data, 0o644) for rel, data in skel.items()})
	sources = sorted(rel for rel in skel if rel.endswith('.c'))
	files[MANIFEST] = (''.join(f'{hashlib.sha256(skel[r]).hexdigest()}  {r}\n' for r in sources).encode(), 0o644)
	files['README.md'] = (student_readme(root), 0o644)
	commit = source_commit(root)
	files[MARKER] = (f'kmemlab student edition, written by make dist{" from " + commit if commit else ""}.\n'
			 'make dist replaces this folder (all but .git) with a newer edition.\n'.encode(), 0o644)
	wrong = [rel for rel in files if NEVER.search(rel)]
	if wrong:
		raise ExportError(f'{wrong[0]} would ship: it is on dist/export.py\'s NEVER list')
	for lab, names in hidden.items():
		said = re.compile(r'\b(' + '|'.join(map(re.escape, sorted(names))) + r')\b')
		for rel, (data, _) in files.items():
			m = said.search(data.decode(errors='replace'))
			if m:
				raise ExportError(f'{rel} names the hidden test "{m.group(1)}" of {lab}')
	return files


def prepare(dest: Path, root: Path = ROOT) -> None:
	"""Make dest ready for an edition, or raise BadDest."""
	where = dest.resolve()
	if where == root or root in where.parents:
		raise BadDest(f'{dest} is inside the kmemlab checkout; choose a folder outside it')
	if where.exists() and not where.is_dir():
		raise BadDest(f'{dest} exists and is not a folder')
	if where.is_dir() and any(where.iterdir()):
		if not (where / MARKER).is_file():
			raise BadDest(f'{dest} is not empty and holds no student edition; choose a new folder')
		for entry in where.iterdir():
			if entry.name == '.git':
				continue
			if entry.is_dir() and not entry.is_symlink():
				shutil.rmtree(entry)
			else:
				entry.unlink()
	where.mkdir(parents=True, exist_ok=True)


def write(files: dict[str, tuple[bytes, int]], dest: Path) -> None:
	for rel, (data, mode) in sorted(files.items()):
		path = dest / rel
		path.parent.mkdir(parents=True, exist_ok=True)
		path.write_bytes(data)
		path.chmod(mode)


def export(dest: Path, root: Path = ROOT) -> int:
	"""Write the edition to dest: the number of files written."""
	files = edition(root)	# everything checked before DEST is touched
	prepare(dest, root)
	write(files, dest)
	return len(files)


def main(argv: list[str]) -> int:
	if len(argv) != 1 or not argv[0]:
		print('make dist needs DEST=dir (a new or empty folder, or an earlier student edition)', file=sys.stderr)
		return 2
	try:
		n = export(Path(argv[0]))
	except BadDest as e:
		print(f'dist: {e}', file=sys.stderr)
		return 2
	except (ExportError, OSError, UnicodeDecodeError) as e:
		print(f'dist: {e}', file=sys.stderr)
		return 1
	print(f'dist: wrote the student edition to {argv[0]} ({n} files); '
	      f'cd {argv[0]} && git init && git add -A && git commit -m "kmemlab"')
	return 0


if __name__ == '__main__':
	sys.exit(main(sys.argv[1:]))
