# SPDX-License-Identifier: GPL-2.0
"""make test: make grade-class on a small class made at test time, on the
fast x86_64 kernel, labs 00 and 01.

The class: a solution in a plain folder (labs 00 and 01: the fast kernel
skips tests of lab 01), a skeleton zipped one folder deeper (as a cloned
student edition would be), a corrupt zip, a corrupt .tar.gz, an empty
folder, two folders for one lab, a tar and a zip that reach outside
themselves (the zip's member name holds a newline), a source that does not
compile, a source over 1 MiB, and folders whose names need cleaning
("gina x" beside "gina_x", "Zoë" beside "Zoé"). Checked:

- the run exits 0; the two real ones are graded (full marks, below full);
  each bad one gets 0 and its one-line reason in gradebook.csv, the one
  make grade gives (a big source is "larger than 1024 KiB", not missing);
  every row of gradebook.csv is one line;
- the "max" row counts only what the kernel could grade: the solution's
  row equals it, and so does its own "max" column and results.json;
- a compile error names the student's own path, never the grader's
  staging folder;
- each student's name depends only on their own entry (a plain name is
  kept; a cleaned one gets a hash), and the "submission" column names the
  entry: with "gina x" and "Zoé" gone, a second run keeps every other name
  and grades nothing again;
- make grade-class passes FLAVOUR= on, and make help says so;
- an empty submissions folder and a missing one are bad requests (exit 2).

  run(record) - record(ok, name, why) for each check
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'grader'))

import score  # noqa: E402

LAB = '00-hello'
SKIPS = '01-kmalloc-vmalloc'	# the fast kernel skips some of its tests
CMD = [sys.executable, str(ROOT / 'grader' / 'grade_class.py')]
# Entries whose names need cleaning: each must keep a name of its own.
ODD = ('gina x', 'gina_x', 'Zoë', 'Zoé')
GONE = ('gina x', 'Zoé')	# removed before the second run
BIG = 1100 * 1024	# bytes: over make grade's 1 MiB limit of a source


def make_class(subs: Path) -> None:
	sol = ROOT / 'solutions' / LAB / 'kmemlab_hello.c'
	(subs / 'alice').mkdir(parents=True)
	shutil.copytree(ROOT / 'solutions' / LAB, subs / 'alice' / LAB)
	shutil.copytree(ROOT / 'solutions' / SKIPS, subs / 'alice' / SKIPS)
	with zipfile.ZipFile(subs / 'bob.zip', 'w') as z:
		for f in (ROOT / 'skel' / LAB).iterdir():
			z.write(f, f'kmemlab/skel/{LAB}/{f.name}')
	(subs / 'carol.zip').write_bytes(b'PK\x03\x04 this is not a zip')
	(subs / 'dave').mkdir()
	for part in ('a', 'b'):
		shutil.copytree(ROOT / 'solutions' / LAB, subs / 'eve' / part / LAB)
	with tarfile.open(subs / 'frank.tar.gz', 'w:gz') as t:
		info = tarfile.TarInfo(f'../{LAB}/kmemlab_hello.c')
		info.size = 1
		t.addfile(info, io.BytesIO(b'x'))
	(subs / 'greg' / LAB).mkdir(parents=True)
	text = sol.read_text()
	assert 'init_calls++;' in text
	(subs / 'greg' / LAB / sol.name).write_text(text.replace('init_calls++;', 'init_calls += not_declared;'))
	(subs / 'ivan.tar.gz').write_bytes(b'PK\x05\x06')	# tarfile's error spans two lines
	with zipfile.ZipFile(subs / 'judy.zip', 'w') as z:
		z.writestr('../evil\nsecond line.c', 'x')
	(subs / 'kim' / LAB).mkdir(parents=True)
	(subs / 'kim' / LAB / sol.name).write_text(text + '/*' + 'x' * (BIG - len(text)) + '*/\n')
	for name in ODD:
		(subs / name).mkdir()


def gradebook(out: Path) -> tuple[list[dict], str]:
	"""gradebook.csv's rows (as dicts) and its text."""
	text = (out / 'gradebook.csv').read_text()
	return list(csv.DictReader(io.StringIO(text))), text


def run(record) -> None:
	name = f'grade-class: {LAB}, {SKIPS} (x86_64, fast)'
	with tempfile.TemporaryDirectory(prefix='kmemlab-class-test-') as tmp:
		subs, out = Path(tmp) / 'submissions', Path(tmp) / 'out'
		make_class(subs)
		args = CMD + [str(subs), '--lab', '00', '--lab', '01', '--flavour', 'fast', '--jobs', '1',
			      '--out', str(out)]
		first = subprocess.run(args, capture_output=True, text=True, check=False)
		record(first.returncode == 0 and 'Traceback' not in first.stderr,
		       f'{name}: a class with bad entries is graded, exit 0',
		       f'exit {first.returncode}: {(first.stdout + first.stderr)[-400:]}')
		try:
			book, text = gradebook(out)
		except OSError as e:
			record(False, f'{name}: gradebook.csv', str(e))
			return
		record(len(text.splitlines()) == len(book) + 1, f'{name}: every row of gradebook.csv is one line',
		       f'{len(text.splitlines())} lines for {len(book) + 1} rows: {text[-600:]!r}')
		rows = {r['student']: r for r in book}
		check_max(record, name, rows, out)
		full = rows.get('max', {}).get(LAB)
		expect = {'alice': lambda r: r[LAB] == full and not r['problems'],
			  'bob': lambda r: r[LAB] not in ('', full) and f'{LAB}:' not in r['problems'],
			  'carol': lambda r: r[LAB] == '0' and 'not a readable archive' in r['problems'],
			  'dave': lambda r: r[LAB] == '0' and f'no folder {LAB}' in r['problems'],
			  'eve': lambda r: r[LAB] == '0' and f'2 folders for {LAB}' in r['problems'],
			  'frank': lambda r: r[LAB] == '0' and 'outside itself' in r['problems'],
			  'greg': lambda r: r[LAB] == '0' and 'did not build' in r['problems'],
			  'ivan': lambda r: r[LAB] == '0' and 'not a readable archive' in r['problems'],
			  'judy': lambda r: r[LAB] == '0' and 'outside itself: ../evil\\nsecond line.c' in r['problems'],
			  'kim': lambda r: r[LAB] == '0' and 'kmemlab_hello.c is larger than 1024 KiB' in r['problems']}
		for who, ok in expect.items():
			row = rows.get(who)
			record(bool(row) and ok(row) and '\n' not in row['problems'],
			       f'{name}: gradebook row of {who}', f'row {row}')
		problem = rows.get('greg', {}).get('problems') or ''
		try:
			shown = (out / 'greg' / 'results.json').read_text()
		except OSError as e:
			shown = str(e)
		record(f'{LAB}/kmemlab_hello.c:' in problem and '.work' not in problem + shown
		       and str(out) not in problem + shown,
		       f'{name}: a compile error names the student\'s path, not the staging folder',
		       f'gradebook: {problem[:300]}; results.json: {shown[:300]}')
		names = {r.get('submission'): r['student'] for r in book}
		odd = [names.get(n) for n in ODD]
		record(names.get('gina_x') == 'gina_x' and None not in odd and len(set(odd)) == len(odd)
		       and odd[0].startswith('gina_x'),
		       f'{name}: names that clean alike stay apart, a plain name is kept', f'names {odd}')
		try:
			data = json.loads((out / 'alice' / 'results.json').read_text())
			good = data['score'] == int(rows['alice']['total']) and all('max_score' in t for t in data['tests'])
		except (OSError, ValueError, KeyError, TypeError) as e:
			good, data = False, e
		record(good, f'{name}: results.json of a student', str(data)[:300])
		for gone in GONE:
			shutil.rmtree(subs / gone)
		again = subprocess.run(args, capture_output=True, text=True, check=False)
		record(again.returncode == 0 and '0 to grade, 5 unchanged' in again.stdout,
		       f'{name}: a second run grades nothing again', again.stdout[-300:] + again.stderr[-300:])
		try:
			later = {r.get('submission'): r['student'] for r in gradebook(out)[0]}
		except OSError as e:
			later = {'error': str(e)}
		kept = {k: v for k, v in names.items() if k not in GONE}
		record(None not in kept and later == kept,
		       f'{name}: without "gina x" and "Zoé" every other student keeps their name',
		       f'before {kept}, after {later}')
	check_make(record)
	with tempfile.TemporaryDirectory(prefix='kmemlab-class-test-') as tmp:
		empty = Path(tmp) / 'empty'
		empty.mkdir()
		for what, path in (('an empty submissions folder', empty), ('a missing one', Path(tmp) / 'none')):
			bad = subprocess.run(CMD + [str(path), '--lab', '00', '--out', str(Path(tmp) / 'out')],
					     capture_output=True, text=True, check=False)
			lines = bad.stderr.strip().splitlines()
			record(bad.returncode == 2 and len(lines) == 1, f'grade-class: {what} is a bad request (exit 2)',
			       f'exit {bad.returncode}: {bad.stderr[-200:]}')


def check_max(record, name: str, rows: dict[str, dict], out: Path) -> None:
	"""The max row counts what this kernel could grade: the solution's
	points of lab 01 (whose fast kernel skips tests) equal it, below the
	rubric's total; the solution's own max column and results.json agree."""
	top, alice = rows.get('max', {}), rows.get('alice', {})
	total = score.load_rubric(ROOT / 'labs' / SKIPS / 'rubric.toml').total
	try:
		data = json.loads((out / 'alice' / 'results.json').read_text())
		most = sum(t['max_score'] for t in data['tests'])
	except (OSError, ValueError, KeyError, TypeError):
		most = None
	record(bool(alice) and top.get(SKIPS) == alice.get(SKIPS) and int(alice.get(SKIPS) or 0) < total
	       and top.get('total') == alice.get('total') == alice.get('max') == str(most),
	       f'{name}: the max row leaves out the tests the kernel skipped',
	       f'max row {top}; alice {alice}; results.json max {most}; rubric total of {SKIPS} {total}')


def check_make(record) -> None:
	"""make grade-class FLAVOUR=fast passes --flavour fast; make help says so."""
	dry = subprocess.run(['make', '-s', '-n', '-C', str(ROOT), 'grade-class', 'SUBMISSIONS=/nonexistent',
			      'FLAVOUR=fast'], capture_output=True, text=True, check=False)
	helped = subprocess.run(['make', '-s', '-C', str(ROOT), 'help'], capture_output=True, text=True, check=False)
	record("--flavour 'fast'" in dry.stdout and 'FLAVOUR=fast' in helped.stdout,
	       'grade-class: make grade-class FLAVOUR=fast grades on the fast kernel, make help says so',
	       f'make -n: {dry.stdout[-300:]}{dry.stderr[-200:]}')


if __name__ == '__main__':
	failures = []

	def show(ok: bool, name: str, why: str = '') -> None:
		print(f'{"PASS" if ok else "FAIL"} {name}' + ('' if ok else f': {why}'), flush=True)
		if not ok:
			failures.append(name)

	run(show)
	sys.exit(1 if failures else 0)
