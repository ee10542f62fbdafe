# SPDX-License-Identifier: GPL-2.0
"""make test: make grade-class on a small class made at test time, on the
fast x86_64 kernel, lab 00 only.

The class: a solution in a plain folder, a skeleton zipped one folder
deeper (as a cloned student edition would be), a corrupt zip, an empty
folder, two folders for one lab, and a tar that reaches outside itself.
The two real ones must be graded (full marks, below full), each bad one
must get 0 and a one-line reason in gradebook.csv, the run must exit 0,
results.json must parse, and a second run must grade nothing again. An
empty submissions folder and a missing one are bad requests (exit 2).

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
LAB = '00-hello'
CMD = [sys.executable, str(ROOT / 'grader' / 'grade_class.py')]


def make_class(subs: Path) -> None:
	(subs / 'alice').mkdir(parents=True)
	shutil.copytree(ROOT / 'solutions' / LAB, subs / 'alice' / LAB)
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


def run(record) -> None:
	name = f'grade-class: {LAB} (x86_64, fast)'
	with tempfile.TemporaryDirectory(prefix='kmemlab-class-test-') as tmp:
		subs, out = Path(tmp) / 'submissions', Path(tmp) / 'out'
		make_class(subs)
		args = CMD + [str(subs), '--lab', '00', '--flavour', 'fast', '--jobs', '1', '--out', str(out)]
		first = subprocess.run(args, capture_output=True, text=True, check=False)
		record(first.returncode == 0 and 'Traceback' not in first.stderr,
		       f'{name}: a class with bad entries is graded, exit 0',
		       f'exit {first.returncode}: {(first.stdout + first.stderr)[-400:]}')
		try:
			rows = {r[0]: r for r in csv.reader((out / 'gradebook.csv').open())}
		except OSError as e:
			record(False, f'{name}: gradebook.csv', str(e))
			return
		full = rows.get('max', [None, None])[1]
		expect = {'alice': lambda r: r[1] == full and not r[-1],
			  'bob': lambda r: r[1] not in ('', full) and not r[-1],
			  'carol': lambda r: r[1] == '0' and 'not a readable archive' in r[-1],
			  'dave': lambda r: r[1] == '0' and f'no folder {LAB}' in r[-1],
			  'eve': lambda r: r[1] == '0' and f'2 folders for {LAB}' in r[-1],
			  'frank': lambda r: r[1] == '0' and 'outside itself' in r[-1]}
		for who, ok in expect.items():
			row = rows.get(who)
			record(bool(row) and ok(row) and '\n' not in row[-1],
			       f'{name}: gradebook row of {who}', f'row {row}')
		try:
			data = json.loads((out / 'alice' / 'results.json').read_text())
			good = data['score'] == int(full) and all('max_score' in t for t in data['tests'])
		except (OSError, ValueError, KeyError, TypeError) as e:
			good, data = False, e
		record(good, f'{name}: results.json of a student', str(data)[:300])
		again = subprocess.run(args, capture_output=True, text=True, check=False)
		record(again.returncode == 0 and '0 to grade, 2 unchanged' in again.stdout,
		       f'{name}: a second run grades nothing again', again.stdout[-300:] + again.stderr[-300:])
		empty = Path(tmp) / 'empty'
		empty.mkdir()
		for what, path in (('an empty submissions folder', empty), ('a missing one', Path(tmp) / 'none')):
			bad = subprocess.run(CMD + [str(path), '--lab', '00', '--out', str(out)],
					     capture_output=True, text=True, check=False)
			lines = bad.stderr.strip().splitlines()
			record(bad.returncode == 2 and len(lines) == 1, f'grade-class: {what} is a bad request (exit 2)',
			       f'exit {bad.returncode}: {bad.stderr[-200:]}')
