#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Grade a whole class on this machine: make grade-class.

  grade_class.py SUBMISSIONS [--lab NN ...] [--jobs N] [--out DIR] [--flavour debug|fast]

SUBMISSIONS holds one entry per student: a folder SUBMISSIONS/<student>/,
or an archive SUBMISSIONS/<student>.zip (.tar, .tar.gz, .tgz, .tar.xz),
the way a learning-management system exports them. Inside it, each lab's
folder (e.g. 05-mmap-remap/) is found wherever it is, at most four levels
down (a cloned student edition keeps them in skel/). Each lab is graded as
`make grade` grades it: its own default arch, the debug kernel, the build
sandbox, the deny list and the tamper checks (grader/grade.py); --flavour
fast (make grade-class FLAVOUR=fast) takes the fast kernel instead, a quick
look that is not the grade. Up to --jobs VMs run at once (default: JOBS,
else the number of cores); one student's hang, crash or build failure costs
only that lab's own time limit.

A student is named after their entry: its name without the archive's
suffix, kept when plain (letters, digits, . _ @ + -), else cleaned (every
other character an _) and followed by - and 8 hex digits of a hash of the
name ("gina x" -> gina_x-1234abcd), so that a name depends on its own entry
alone. Two entries that still share a name (gina/ and gina.zip) are one
student with two submissions: 0 and a reason.

Written to --out (default results/class):
  gradebook.csv                     a row per student: points per lab,
                                    total, max (the student's own maximum,
                                    as results.json counts it), submission
                                    (the entry's name) and problems (one-line
                                    reasons); a first row "max" with each
                                    lab's maximum here: the rubric's points
                                    less the tests this kernel skips (some
                                    run skipped them, none ran them)
  <student>/results.json            Gradescope format, per test
  <student>/<arch>/<lab>.log        transcript of a lab that lost points
  <student>/.labs/<lab>.json        the lab's result and the key it was
                                    graded under
A re-run skips every lab whose submitted files, lab (rubric, suite, user
programs), grader and kernel are unchanged since it was graded, so an
interrupted class run resumes where it stopped.

Bad input costs only its own student: an archive that is corrupt, holds a
link or a path outside itself, or is too large; a student with no folder
for a lab; two folders for one lab. Each gets 0 for the labs concerned and
a one-line reason (a name's or an error's control characters escaped:
\\n), and the run goes on.

Exit status: 0 when the class was graded (whatever the scores); 2 for a
bad request (no such folder, no submissions in it, no such lab); 3 when
the environment failed (no sandbox, a lab kernel missing), or when some
lab could not be graded because of it (those labs are not recorded, so a
re-run grades them).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import re
import shutil
import stat
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import build
import grade
import pool
import report
import sandbox
import score
from outcome import Outcome, Problem

ROOT = Path(__file__).resolve().parent.parent
ARCHIVES = ('.zip', '.tar', '.tar.gz', '.tgz', '.tar.xz')
MAX_UNPACKED = 64 << 20	# bytes an archive may unpack to
MAX_MEMBERS = 20000	# entries of an archive
MAX_FILE = build.MAX_SOURCE	# bytes of a source make grade takes
MAX_DEPTH = 4	# folder levels searched for a lab's folder
SKIP_DIRS = {'.git', '__MACOSX', 'node_modules', 'build', 'results'}
# The outcomes that show a test ran (not a skip, not a lab that never ran).
RAN = {o.value for o in Outcome if not (o.skipped or o.whole_lab or o in (Outcome.NOT_RUN, Outcome.LOST))}


class BadSubmission(Exception):
	"""This student's submission cannot be read: one line, why."""


def shown(text: str) -> str:
	"""text on one line: each character that is not printable (a newline,
	a control byte, a file name's undecodable byte) as its Python escape
	(\\n, \\x1b, \\udcff); letters of every script stay."""
	return ''.join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def said(error: Exception) -> str:
	"""An exception's text on one line: its line breaks and runs of
	white space one space each, anything else unprintable escaped."""
	return shown(' '.join(str(error).split()))


def student_name(entry: Path) -> str:
	"""The name one entry is graded under (its gradebook row, its output
	folder): the entry's name less an archive suffix, as it is when plain
	(letters, digits, . _ @ + -); else cleaned, each other character an _,
	plus - and 8 hex digits of a sha256 of the name, so that two names that
	clean alike ("gina x", "gina_x"; "Zoë", "Zoé") stay apart. It depends
	on this entry alone, never on the other students."""
	stem = entry.name
	for ext in ARCHIVES:
		if stem.lower().endswith(ext):
			stem = stem[:-len(ext)]
			break
	name = re.sub(r'[^A-Za-z0-9._@+-]', '_', stem).lstrip('.')
	if name != stem or not name:
		name = f'{name or "student"}-{hashlib.sha256(os.fsencode(stem)).hexdigest()[:8]}'
	return name


def unpack(archive: Path, dest: Path) -> None:
	"""Unpack a zip or tar into dest: regular files and folders only, every
	name inside dest, at most MAX_UNPACKED bytes and MAX_MEMBERS entries."""
	def safe(name: str) -> Path:
		p = Path(name)
		if p.is_absolute() or '..' in p.parts:
			raise BadSubmission(f'{shown(archive.name)} holds a path outside itself: {shown(name[:80])}')
		return dest / p

	try:
		if archive.name.lower().endswith('.zip'):
			with zipfile.ZipFile(archive) as z:
				infos = z.infolist()
				check_sizes(archive, len(infos), sum(i.file_size for i in infos))
				for i in infos:
					target = safe(i.filename)
					mode = i.external_attr >> 16
					if stat.S_ISLNK(mode):
						raise BadSubmission(f'{shown(archive.name)} holds a link: {shown(i.filename[:80])}')
					if i.is_dir():
						target.mkdir(parents=True, exist_ok=True)
						continue
					target.parent.mkdir(parents=True, exist_ok=True)
					with z.open(i) as src, open(target, 'wb') as out:
						copy_limited(src, out, archive)
		else:
			with tarfile.open(archive) as t:
				members = t.getmembers()
				check_sizes(archive, len(members), sum(m.size for m in members))
				for m in members:
					target = safe(m.name)
					if m.isdir():
						target.mkdir(parents=True, exist_ok=True)
					elif m.isfile():
						target.parent.mkdir(parents=True, exist_ok=True)
						src = t.extractfile(m)
						with src, open(target, 'wb') as out:
							copy_limited(src, out, archive)
					else:
						raise BadSubmission(f'{shown(archive.name)} holds a link or device: {shown(m.name[:80])}')
	except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, ValueError) as e:
		raise BadSubmission(f'{shown(archive.name)} is not a readable archive ({type(e).__name__}: '
				    f'{said(e)[:80]})') from e


def check_sizes(archive: Path, members: int, size: int) -> None:
	if members > MAX_MEMBERS:
		raise BadSubmission(f'{shown(archive.name)} has {members} entries (at most {MAX_MEMBERS})')
	if size > MAX_UNPACKED:
		raise BadSubmission(f'{shown(archive.name)} unpacks to {size >> 20} MiB (at most {MAX_UNPACKED >> 20})')


def copy_limited(src, out, archive: Path) -> None:
	"""Copy, counting what really comes out (an archive may lie about sizes)."""
	total = 0
	while chunk := src.read(1 << 16):
		total += len(chunk)
		if total > MAX_UNPACKED:
			raise BadSubmission(f'{shown(archive.name)} unpacks to more than {MAX_UNPACKED >> 20} MiB')
		out.write(chunk)


def find_lab(root: Path, lab: str, sources: list[str]) -> Path | None:
	"""The one folder named `lab` under root (MAX_DEPTH levels, no links
	followed) that holds one of the lab's sources; None if there is none;
	BadSubmission if there are two."""
	found = []

	def walk(d: Path, depth: int) -> None:
		try:
			entries = sorted(d.iterdir())
		except OSError:
			return
		for e in entries:
			if e.is_symlink() or not e.is_dir() or e.name in SKIP_DIRS:
				continue
			if e.name == lab and any((e / s).is_file() for s in sources):
				found.append(e)
			elif depth < MAX_DEPTH:
				walk(e, depth + 1)
	if root.name == lab and any((root / s).is_file() for s in sources):
		return root
	walk(root, 1)
	if len(found) > 1:
		where = ', '.join(shown(str(f.relative_to(root))) for f in found[:3])
		raise BadSubmission(f'{len(found)} folders for {lab} ({where}): keep one')
	return found[0] if found else None


def stage(found: Path, dest: Path) -> None:
	"""Copy a lab folder to dest, as much of it as the grader needs to say
	what make grade says of the folder itself: each regular file cut after
	MAX_FILE + 1 bytes (a larger source stays larger than make grade's
	limit, and is refused as such), and an empty folder in place of
	anything else, a link or a sub-folder (a listed source that is one is
	refused as not a regular file; anything else is noted as ignored)."""
	dest.mkdir(parents=True)
	if found.is_symlink() or not found.is_dir():
		return
	for f in sorted(found.iterdir()):
		try:
			st = f.lstat()
			if not stat.S_ISREG(st.st_mode):
				(dest / f.name).mkdir()
				continue
			fd = os.open(f, os.O_RDONLY | os.O_NOFOLLOW)
			with os.fdopen(fd, 'rb') as src, open(dest / f.name, 'wb') as out:
				out.write(src.read(MAX_FILE + 1))
		except OSError:
			continue	# gone, or unreadable: make grade would not read it either


def shown_src(root: Path, found: Path) -> str:
	"""Where a student's lab folder sits in their own submission, as the
	grader's messages name it (<this>/<lab>/<file>): the folder that holds
	it, relative to the submission's top ('.' at the top)."""
	return shown(str(found.parent.relative_to(root))) if found.parent.is_relative_to(root) else '.'


def tree_hash(h, root: Path, base: Path) -> None:
	for f in sorted(root.rglob('*')):
		if f.is_file() and not f.is_symlink():
			h.update(str(f.relative_to(base)).encode() + b'\0' + f.read_bytes() + b'\0')


def lab_version(lab_dir: Path, kdir: Path) -> str:
	"""What a lab's grade depends on besides the student's files."""
	h = hashlib.sha256()
	h.update(kdir.name.encode())
	tree_hash(h, lab_dir, ROOT)
	tree_hash(h, ROOT / 'kunit' / lab_dir.name, ROOT)
	tree_hash(h, ROOT / 'kunit' / 'include', ROOT)
	for pattern in ('grader/*.py', 'grader/*.toml', 'qemu-env/*.sh'):
		for f in sorted(ROOT.glob(pattern)):
			h.update(f.name.encode() + b'\0' + f.read_bytes() + b'\0')
	return h.hexdigest()[:24]


def submission_key(staged: Path, version: str) -> str:
	h = hashlib.sha256(version.encode())
	tree_hash(h, staged, staged)
	return h.hexdigest()[:24]


class Student:
	"""One student's entry: where their labs are, or why they cannot be
	read. entries: every entry named name, only one unless the name is
	shared (gina/ and gina.zip): then nothing is read, and the student
	gets 0 with the reason."""

	def __init__(self, entries: list[Path], name: str, work: Path):
		self.entry, self.entries, self.name = entries[0], entries, name
		self.root: Path | None = None
		self.problem = ''
		if len(entries) > 1:
			self.problem = (f'{len(entries)} submissions are named {name} '
					f'({", ".join(shown(e.name) for e in entries[:3])}): keep one')
		# The staged lab folders; the folder's name also names the
		# student's build and VM folders under build/.
		self.work = work / f'class-{name}'
		self.labs: dict[str, dict] = {}	# lab -> the recorded result

	def open(self, tmp: Path) -> None:
		if self.problem:
			return
		if self.entry.is_dir() and not self.entry.is_symlink():
			self.root = self.entry
		elif self.entry.is_file() and self.entry.name.lower().endswith(ARCHIVES):
			dest = tmp / self.name
			dest.mkdir()
			try:
				unpack(self.entry, dest)
				self.root = dest
			except BadSubmission as e:
				self.problem = str(e)
		else:
			self.problem = f'{shown(self.entry.name)} is neither a folder nor an archive ({", ".join(ARCHIVES)})'


def main() -> int:
	ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
	ap.add_argument('submissions')
	ap.add_argument('--lab', action='append', default=[], help='lab number or name (repeatable)')
	ap.add_argument('--jobs', type=int, default=pool.default_workers(), help='VMs at once')
	ap.add_argument('--out', default=str(ROOT / 'results' / 'class'))
	ap.add_argument('--flavour', default='debug', choices=['fast', 'debug'],
			help='debug: the kernel make grade grades on (default); fast: a quick look, not the grade')
	args = ap.parse_args()
	for stream in (sys.stdout, sys.stderr):
		stream.reconfigure(errors='replace')

	subs = Path(args.submissions)
	if not subs.is_dir():
		print(f'grade-class: {args.submissions} is not a folder', file=sys.stderr)
		return 2
	entries = sorted(e for e in subs.iterdir() if not e.name.startswith('.'))
	if not entries:
		print(f'grade-class: no submissions in {args.submissions}', file=sys.stderr)
		return 2
	labs = grade.find_labs([w for l in args.lab for w in l.replace(',', ' ').split()])
	why = sandbox.probe()
	if why:
		print(f'grade-class: {why}', file=sys.stderr)
		return 3
	out = Path(args.out).resolve()
	work = out / '.work'
	out.mkdir(parents=True, exist_ok=True)

	named: dict[str, list[Path]] = {}
	for e in entries:
		named.setdefault(student_name(e), []).append(e)
	students = [Student(es, name, work) for name, es in named.items()]	# in the entries' order

	try:
		rubrics = {l.name: score.load_rubric(l / 'rubric.toml') for l in labs}
		kernels: dict[str, Path] = {}
		for l in labs:
			arch = rubrics[l.name].arches[0]
			if arch not in kernels:
				kernels[arch] = grade.kernel_dir(arch, args.flavour)
	except score.RubricError as e:
		print(f'grade-class: bad rubric: {e}', file=sys.stderr)
		return 2
	except grade.EnvironmentFailure as e:
		print(f'grade-class: {e}', file=sys.stderr)
		return 3
	versions = {l.name: lab_version(l, kernels[rubrics[l.name].arches[0]]) for l in labs}
	deductions = score.load_deductions(ROOT / 'grader' / 'deductions.toml')
	env_failures = 0
	with tempfile.TemporaryDirectory(prefix='kmemlab-class-') as tmp:
		jobs = []
		skipped = 0
		for st in students:
			st.open(Path(tmp))
			for lab_dir in labs:
				rubric = rubrics[lab_dir.name]
				arch = rubric.arches[0]
				record = st.labs.setdefault(lab_dir.name, {})
				problem = st.problem
				found = None
				if not problem:
					try:
						found = find_lab(st.root, lab_dir.name, rubric.sources)
					except BadSubmission as e:
						problem = str(e)
				if not problem and not found:
					problem = f'no folder {lab_dir.name} holding {", ".join(rubric.sources)}'
				staged = st.work / lab_dir.name
				shutil.rmtree(staged, ignore_errors=True)
				if problem:
					halted = Problem(Outcome.NO_SUBMISSION, problem)
					result = score.LabResult(lab_dir.name, arch, args.flavour,
								 score.unrun(rubric, halted), halted=halted)
					record.update(save(out, st, lab_dir.name, result, ''))
					continue
				stage(found, staged)
				where = shown_src(st.root, found)
				key = submission_key(staged, versions[lab_dir.name] + where)
				old = load(out, st, lab_dir.name)
				if old.get('key') == key:
					record.update(old)
					skipped += 1
					continue
				jobs.append(pool.Job(f'{st.name} {lab_dir.name}',
						     grade_one(lab_dir, rubric, st.work, arch, args.flavour,
							       kernels[arch], deductions, out, st, key, where),
						     cost=rubric.timeout))
		total = len(jobs)
		print(f'grade-class: {len(students)} students, {len(labs)} labs: {total} to grade, '
		      f'{skipped} unchanged since graded; {args.jobs} VMs at once')
		sys.stdout.flush()

		def done(job, value, error, progress):
			nonlocal env_failures
			st_name, lab = job.name.split(' ', 1)
			if error:
				env_failures += 1
				kind = 'environment' if isinstance(error, (grade.EnvironmentFailure, OSError)) \
					else f'internal error {type(error).__name__}'
				print(f'{progress.line()}  {st_name} {lab}: not graded ({kind}: {error})')
			else:
				st, record = value
				st.labs[lab].update(record)
				print(f'{progress.line()}  {st_name} {lab}: {record["points"]}/{record["max"]}'
				      + (f' - {record["problem"]}' if record['problem'] else ''))
			sys.stdout.flush()
		try:
			pool.run(jobs, args.jobs, done)
		except KeyboardInterrupt:
			print('grade-class: interrupted; what was graded is kept (run again to resume)')
			write_outputs(out, students, labs, rubrics)
			return 130
	write_outputs(out, students, labs, rubrics)
	print(f'gradebook: {out}/gradebook.csv; per student: {out}/<student>/results.json')
	return 3 if env_failures else 0


def grade_one(lab_dir, rubric, src, arch, flavour, kdir, deductions, out, st, key, where):
	"""The job that grades one staged lab (src/<lab>/) and records it;
	where: the folder that holds the lab in the student's own submission
	(shown_src), which every message names instead of src."""
	def run():
		lab = grade.Lab(lab_dir, str(src), arch, flavour, kdir, rubric=rubric)
		# The builds are made (the sources taken from src) when the Lab
		# is: from here on LabBuild.src only names the student's files
		# in messages (student_path: <src>/<lab>/<file>, and the deny
		# list's), so it names them as the student knows them.
		lab.builds.src = where
		result = lab.grade(deductions)
		transcript = ''
		if not result.full_marks:
			grade.save_transcript(out / st.name, lab, result)
			transcript = str(result.transcript)
		else:
			(out / st.name / arch / f'{lab_dir.name}.log').unlink(missing_ok=True)
		return st, save(out, st, lab_dir.name, result, key, transcript)
	return run


def lab_file(out: Path, st: Student, lab: str) -> Path:
	return out / st.name / '.labs' / f'{lab}.json'


def load(out: Path, st: Student, lab: str) -> dict:
	try:
		return json.loads(lab_file(out, st, lab).read_text())
	except (OSError, ValueError):
		return {}


def save(out: Path, st: Student, lab: str, result: score.LabResult, key: str, transcript: str = '') -> dict:
	"""Record one lab's result (with its Gradescope part) and return it."""
	path = lab_file(out, st, lab)
	path.parent.mkdir(parents=True, exist_ok=True)
	part = path.with_suffix('.gradescope')
	report.write_gradescope([result], part)
	record = {'key': key, 'points': result.points, 'max': result.max_points,
		  'problem': shown(result.problem or (f'verdict {result.verdict}' if result.verdict else '')),
		  'outcomes': {t.key: t.outcome.value for t in result.tests},
		  'transcript': transcript, 'gradescope': json.loads(part.read_text())}
	part.unlink()
	tmp = path.with_suffix('.tmp')
	tmp.write_text(json.dumps(record, indent=1))
	tmp.replace(path)
	return record


def graded_max(rubric: score.Rubric, recs: list[dict]) -> int:
	"""A lab's maximum as graded here: the rubric's points less the tests
	this kernel skips, those that some student's run skipped and none ran
	(a skip leaves the total: neither earned nor lost)."""
	skipped, ran = set(), set()
	for r in recs:
		for test, outcome in r.get('outcomes', {}).items():
			if outcome == Outcome.SKIPPED.value:
				skipped.add(test)
			elif outcome in RAN:
				ran.add(test)
	return rubric.total - sum(rubric.points.get(t, 0) for t in skipped - ran)


def write_outputs(out: Path, students: list[Student], labs: list[Path], rubrics) -> None:
	"""gradebook.csv and each student's results.json, from what is
	recorded: a row "max" (graded_max of each lab), then per student the
	points of each lab, the total, the student's own maximum (as their
	results.json counts it; '' while a lab is not graded), the entry's
	name and the one-line reasons."""
	names = [l.name for l in labs]
	book = {st.name: [st.labs.get(n) or load(out, st, n) for n in names] for st in students}
	most = [graded_max(rubrics[n], [recs[i] for recs in book.values()]) for i, n in enumerate(names)]
	rows = [['student'] + names + ['total', 'max', 'submission', 'problems'],
		['max'] + [str(m) for m in most] + [str(sum(most))] * 2 + ['', '']]
	for st in students:
		recs = book[st.name]
		points = [r.get('points') for r in recs]
		maxima = [r.get('max') for r in recs]
		problems = '; '.join(f'{n}: {r["problem"]}' for n, r in zip(names, recs) if r.get('problem'))
		rows.append([st.name] + ['' if p is None else str(p) for p in points]
			    + [str(sum(p or 0 for p in points)), '' if None in maxima else str(sum(maxima)),
			       ', '.join(shown(e.name) for e in st.entries), shown(problems)])
		parts = [r['gradescope'] for r in recs if r.get('gradescope')]
		if parts:
			merged = {'score': sum(p['score'] for p in parts),
				  'execution_time': round(sum(p.get('execution_time', 0) for p in parts), 1),
				  'output': '\n'.join(p['output'] for p in parts),
				  'tests': [t for p in parts for t in p['tests']]}
			(out / st.name).mkdir(parents=True, exist_ok=True)
			(out / st.name / 'results.json').write_text(json.dumps(merged, indent=2) + '\n')
	tmp = out / 'gradebook.csv.tmp'
	with open(tmp, 'w', newline='') as f:
		csv.writer(f).writerows(rows)
	tmp.replace(out / 'gradebook.csv')


def guarded() -> int:
	try:
		return main()
	except Exception as e:  # pylint: disable=broad-except
		# A bug of ours, never a student's: one line; every lab graded so
		# far is recorded and a re-run resumes after it.
		print(f'grade-class: internal error ({type(e).__name__}: {e}); please report it', file=sys.stderr)
		return 3


if __name__ == '__main__':
	sys.exit(guarded())
