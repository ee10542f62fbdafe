#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""make test: the Gradescope autograder of lab 00, as far as this machine
can check it without Gradescope.

Writes the zip (grader/bundle.py, what `make autograder LAB=00`
runs), checks what it holds and what it must not hold, unpacks it as
Gradescope lays it out under a temporary root (KMEMLAB_AUTOGRADER_ROOT:
source/, submission/, results/, run_autograder), runs setup.sh without its
apt-get part (KMEMLAB_SKIP_APT=1: the rest checks the bundled kernel and
builds the suite), asks run_autograder --find where it would look in a
few upload layouts (no VM), and grades: the solution's file at the top of
the upload, the skeleton in 00-hello/, the solution in a zip with an extra
folder level (each a full debug-kernel VM run), a module that does not
compile (the VM is stopped when the build fails) and an empty upload (no
VM). Every results.json is checked against the fields Gradescope's
autograder specification documents, and for its score and messages.
First, without a VM, the GitHub Classroom workflow
(grader/classroom/kmemlab.yml): it parses, its scripts are valid shell,
its make targets exist.

  run(record) - record(ok: bool, name: str, why: str) for each check
  python3 tests/autograder.py [-v] - the same alone: a line per check
      (-v: with its details, the zip's size and each run's seconds), then
      "N passed, N failed"; exit status 0 when every check held, 1 if not

Needs the x86_64 debug lab kernel (built when missing, as by make grade),
bwrap, sparse and QEMU. Three full VM runs and one cut short: about two
minutes on an idle 2-core machine without KVM.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAB = '00-hello'
SOURCE = 'kmemlab_hello.c'
SOLUTION = ROOT / 'solutions' / LAB / SOURCE
SKELETON = ROOT / 'skel' / LAB
RUN_SECONDS = 900	# one run_autograder, VM included, on a busy machine
WORKFLOW = ROOT / 'grader' / 'classroom' / 'kmemlab.yml'

# Gradescope's results.json as its autograder specification documents it:
# every top-level and per-test field, and the values the enumerated ones
# take (test status; visibility; the formats of names and outputs).
TOP_FIELDS = {'score', 'execution_time', 'output', 'output_format', 'test_output_format',
	      'test_name_format', 'visibility', 'stdout_visibility', 'extra_data', 'tests', 'leaderboard'}
TEST_FIELDS = {'score', 'max_score', 'status', 'name', 'name_format', 'number', 'output',
	       'output_format', 'tags', 'visibility', 'extra_data'}
STATUS = {'passed', 'failed'}
VISIBILITY = {'hidden', 'after_due_date', 'after_published', 'visible'}
FORMATS = {'text', 'html', 'simple_format', 'md', 'ansi'}


def gradescope_problems(data) -> list[str]:
	"""What in a results.json Gradescope's specification does not allow."""
	bad: list[str] = []
	number = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)  # noqa: E731
	if not isinstance(data, dict):
		return ['results.json is not an object']
	bad += [f'unknown top-level field {k}' for k in sorted(set(data) - TOP_FIELDS)]
	tests = data.get('tests')
	if 'score' in data and not number(data['score']):
		bad.append('score is not a number')
	if 'execution_time' in data and not number(data['execution_time']):
		bad.append('execution_time is not a number')
	for k in ('output',):
		if k in data and not isinstance(data[k], str):
			bad.append(f'{k} is not a string')
	for k in ('output_format', 'test_output_format', 'test_name_format'):
		if k in data and data[k] not in FORMATS:
			bad.append(f'{k} {data[k]!r} is none of {sorted(FORMATS)}')
	for k in ('visibility', 'stdout_visibility'):
		if k in data and data[k] not in VISIBILITY:
			bad.append(f'{k} {data[k]!r} is none of {sorted(VISIBILITY)}')
	if 'extra_data' in data and not isinstance(data['extra_data'], dict):
		bad.append('extra_data is not an object')
	if tests is None:
		if 'score' not in data:
			bad.append('neither a top-level score nor tests')
		return bad
	if not isinstance(tests, list):
		return bad + ['tests is not a list']
	for i, t in enumerate(tests):
		where = f'tests[{i}]'
		if not isinstance(t, dict):
			bad.append(f'{where} is not an object')
			continue
		bad += [f'{where}: unknown field {k}' for k in sorted(set(t) - TEST_FIELDS)]
		if 'score' not in data and 'score' not in t:
			bad.append(f'{where}: no score, and no top-level score')
		for k in ('score', 'max_score'):
			if k in t and not number(t[k]):
				bad.append(f'{where}: {k} is not a number')
		for k in ('name', 'output', 'number'):
			if k in t and not isinstance(t[k], str):
				bad.append(f'{where}: {k} is not a string')
		if 'status' in t and t['status'] not in STATUS:
			bad.append(f'{where}: status {t["status"]!r} is none of {sorted(STATUS)}')
		if 'visibility' in t and t['visibility'] not in VISIBILITY:
			bad.append(f'{where}: visibility {t["visibility"]!r}')
		for k in ('name_format', 'output_format'):
			if k in t and t[k] not in FORMATS:
				bad.append(f'{where}: {k} {t[k]!r}')
		if 'tags' in t and not (isinstance(t['tags'], list) and all(isinstance(x, str) for x in t['tags'])):
			bad.append(f'{where}: tags is not a list of strings')
		if 'extra_data' in t and not isinstance(t['extra_data'], dict):
			bad.append(f'{where}: extra_data is not an object')
	return bad


def our_fields(data: dict) -> list[str]:
	"""What kmemlab's results.json always has beyond what Gradescope needs:
	every test named, scored out of its max_score, with a status, an output
	and a visibility, and one top-level output for the whole submission."""
	bad = []
	if not isinstance(data.get('output'), str) or not data['output'].strip():
		bad.append('no top-level output')
	if not isinstance(data.get('tests'), list) or not data['tests']:
		bad.append('no tests')
	for i, t in enumerate(data.get('tests') or []):
		missing = [k for k in ('name', 'score', 'max_score', 'status', 'output', 'visibility') if k not in t]
		if missing:
			bad.append(f'tests[{i}] lacks {", ".join(missing)}')
	return bad


def total(data: dict) -> tuple[float, float]:
	tests = data.get('tests') or []
	return data.get('score', 0), sum(t.get('max_score', 0) for t in tests)


class Tree:
	"""/autograder as Gradescope lays it out, under a temporary root."""

	def __init__(self, root: Path, zip_path: Path):
		self.root = root
		self.source = root / 'source'
		self.submission = root / 'submission'
		self.results = root / 'results' / 'results.json'
		self.source.mkdir(parents=True)
		# Python's zipfile drops the files' modes: setup.sh must restore
		# them (the `executables` list), as after an unzip that drops them.
		with zipfile.ZipFile(zip_path) as zf:
			zf.extractall(self.source)
		shutil.copy(self.source / 'run_autograder', root / 'run_autograder')
		os.chmod(root / 'run_autograder', 0o755)
		self.env = dict(os.environ, KMEMLAB_AUTOGRADER_ROOT=str(root))
		self.env.pop('KMEMLAB_PREBUILT', None)

	def upload(self, files: dict[str, bytes]) -> None:
		"""A fresh submission/ holding files (relative name -> content)."""
		shutil.rmtree(self.submission, ignore_errors=True)
		self.submission.mkdir()
		for name, data in files.items():
			(self.submission / name).parent.mkdir(parents=True, exist_ok=True)
			(self.submission / name).write_bytes(data)

	def setup(self) -> subprocess.CompletedProcess:
		return subprocess.run(['sh', str(self.source / 'setup.sh')], env=dict(self.env, KMEMLAB_SKIP_APT='1'),
				      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors='replace',
				      timeout=RUN_SECONDS, check=False)

	def find(self, folder: Path) -> str:
		return subprocess.run([str(self.root / 'run_autograder'), '--find', str(folder)], env=self.env,
				      stdout=subprocess.PIPE, text=True, timeout=60, check=False).stdout

	def grade(self) -> tuple[int, dict | None, str, float]:
		"""run_autograder: (exit status, results.json or None, stdout, seconds)."""
		self.results.unlink(missing_ok=True)
		start = time.monotonic()
		proc = subprocess.run([str(self.root / 'run_autograder')], cwd=self.root, env=self.env,
				      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors='replace',
				      timeout=RUN_SECONDS, check=False)
		seconds = time.monotonic() - start
		try:
			data = json.loads(self.results.read_text())
		except (OSError, ValueError):
			data = None
		return proc.returncode, data, proc.stdout, seconds


def zipped(members: dict[str, bytes]) -> bytes:
	path = Path(tempfile.mkstemp(suffix='.zip')[1])
	try:
		with zipfile.ZipFile(path, 'w') as zf:
			for name, data in members.items():
				zf.writestr(name, data)
		return path.read_bytes()
	finally:
		path.unlink()


def run(record) -> None:
	classroom(record)
	with tempfile.TemporaryDirectory(prefix='kmemlab-autograder-') as t:
		cases(record, Path(t))


def classroom(record) -> None:
	"""The GitHub Classroom workflow, as far as it can be checked without
	GitHub: it parses as YAML (PyYAML; a plain check of its shape when
	PyYAML is missing), it runs on push, every step is an action we name
	or a shell script that bash accepts, it points KMEMLAB_PREBUILT at the
	kernels, and each make target it runs exists (make -n)."""
	text = WORKFLOW.read_text()
	scripts: list[str] = []
	try:
		import yaml  # pylint: disable=import-outside-toplevel
	except ImportError:
		yaml = None
	if yaml is not None:
		try:
			doc = yaml.safe_load(text)
			on = doc.get('on', doc.get(True))	# YAML 1.1 reads a bare `on` as true
			steps = doc['jobs']['grade']['steps']
			uses = [st['uses'].split('@')[0] for st in steps if 'uses' in st]
			scripts = [st['run'] for st in steps if 'run' in st]
			shape = ('push' in on and doc['jobs']['grade'].get('runs-on', '').startswith('ubuntu-')
				 and all(('uses' in st) != ('run' in st) for st in steps)
				 and set(uses) == {'actions/checkout', 'actions/upload-artifact'})
			why = f'on={on}; uses={uses}; {len(scripts)} scripts'
		except (yaml.YAMLError, KeyError, TypeError, AttributeError) as e:
			shape, why = False, f'{type(e).__name__}: {e}'
		record(shape, 'classroom: the workflow parses as YAML, runs on push, its steps are '
		       'actions/checkout, actions/upload-artifact and shell scripts', why)
	else:
		shape = '\t' not in text and '\non:\n  push:' in text and '\n    steps:\n' in text
		record(shape, 'classroom: the workflow has the shape of one (no PyYAML here for a full parse)', '')
	for i, script in enumerate(scripts):
		proc = subprocess.run(['bash', '-n'], input=script, stdout=subprocess.PIPE,
				      stderr=subprocess.STDOUT, text=True, check=False)
		record(proc.returncode == 0, f'classroom: the workflow\'s script {i + 1} is valid shell',
		       proc.stdout.strip())
	record('KMEMLAB_PREBUILT=' in text and 'build-kernel.sh' not in text,
	       'classroom: the workflow uses the prebuilt kernels (KMEMLAB_PREBUILT) and builds none', '')
	# Commands only: continuation lines joined (an apt-get line names the
	# package make), then each line that starts with make.
	commands = ('\n'.join(scripts) or text).replace('\\\n', ' ')
	targets = sorted(set(re.findall(r'^\s*make ([a-z][a-z-]*)', commands, re.M)))
	for target in targets:
		proc = subprocess.run(['make', '-n', '-C', str(ROOT), target, 'LAB=00'], stdout=subprocess.PIPE,
				      stderr=subprocess.STDOUT, text=True, check=False)
		record(proc.returncode == 0, f'classroom: the workflow\'s `make {target}` is a Makefile target',
		       proc.stdout.strip()[-300:])
	record(bool(targets), 'classroom: the workflow grades with a make target', str(targets))


def check_zip(record, zip_path: Path) -> None:
	solution = SOLUTION.read_bytes()
	with zipfile.ZipFile(zip_path) as zf:
		names = set(zf.namelist())
		modes = {i.filename: i.external_attr >> 16 for i in zf.infolist()}
		env = zf.read('bundle.env').decode() if 'bundle.env' in names else ''
		holds_solution = [n for n in names if not n.endswith('/') and zf.read(n) == solution]
	record(all(modes.get(n, 0) & 0o100 for n in ('setup.sh', 'run_autograder')),
	       'autograder: setup.sh and run_autograder at the zip\'s root, executable',
	       f'modes: { {n: oct(modes.get(n, 0)) for n in ("setup.sh", "run_autograder")} }')
	record(f'LAB={LAB}\n' in env and 'ARCH=x86_64\n' in env and f'SOURCES={SOURCE}\n' in env,
	       'autograder: bundle.env names the lab, its arch and its source file', env.strip())
	need = ['prebuilt/x86_64-debug/' + p for p in (
		'arch/x86/boot/bzImage', 'Module.symvers', '.config', '.kmemlab-config', '.kmemlab-built',
		'usr/gen_init_cpio', 'scripts/basic/fixdep', 'scripts/mod/modpost', 'Makefile',
		'include/generated/autoconf.h', 'include/config/auto.conf', 'tools/objtool/objtool')]
	need += ['prebuilt/busybox-x86_64/bin/busybox', f'kmemlab/labs/{LAB}/rubric.toml',
		 f'kmemlab/kunit/{LAB}/Kbuild', 'kmemlab/grader/grade.py', 'kmemlab/qemu-env/run-vm.sh']
	missing = [n for n in need if n not in names]
	record(not missing, 'autograder: the zip holds the debug kernel\'s build and boot files, busybox, '
	       'the grader and the lab', f'missing: {missing}')
	answers = [n for n in names if n.endswith('mutants.toml') or '/solutions/' in f'/{n}']
	record(not answers and not holds_solution, 'autograder: no answer in the zip (no mutants.toml, '
	       'no solutions/, no copy of the solution)', f'{answers} {holds_solution}')


def cases(record, tmp: Path) -> None:
	zip_path = tmp / f'{LAB}.zip'
	start = time.monotonic()
	proc = subprocess.run([sys.executable, str(ROOT / 'grader' / 'bundle.py'), '--lab', LAB,
			       '--out', str(zip_path)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
			      text=True, errors='replace', timeout=RUN_SECONDS, check=False)
	made = proc.returncode == 0 and zip_path.is_file()
	size = f'{zip_path.stat().st_size / (1 << 20):.1f} MiB' if made else ''
	record(made, 'autograder: make autograder LAB=00 writes the zip',
	       f'{size}, {time.monotonic() - start:.0f} s: {proc.stdout.strip()[-500:]}')
	if not made:
		return
	check_zip(record, zip_path)

	tree = Tree(tmp / 'autograder', zip_path)
	setup = tree.setup()
	fixdep = tree.source / 'prebuilt' / 'x86_64-debug' / 'scripts' / 'basic' / 'fixdep'
	record(setup.returncode == 0 and 'ready to grade' in setup.stdout and os.access(fixdep, os.X_OK),
	       'autograder: setup.sh (no apt-get) restores the modes, finds the kernel, builds the suite',
	       setup.stdout.strip()[-800:])
	if setup.returncode != 0:
		return

	layouts(record, tree, tmp / 'layouts')

	solution = SOLUTION.read_bytes()
	skeleton = {f'{LAB}/{f.name}': f.read_bytes() for f in sorted(SKELETON.iterdir()) if f.is_file()}
	broken = solution.replace(b'return 0;', b'return 0', 1)
	runs = [
		# name, upload, (expect full marks?, text the top-level output holds)
		('the solution\'s file at the top of the upload', {SOURCE: solution},
		 True, 'Graded the top of your submission'),
		('the skeleton in 00-hello/', skeleton, False, f'Graded the folder {LAB}'),
		('the solution in a zip with an extra folder level',
		 {'upload.zip': zipped({f'lab-work/{LAB}/{SOURCE}': solution, 'lab-work/notes.txt': b'mine\n'})},
		 True, f'upload.zip, folder lab-work/{LAB}'),
	]
	for name, files, full, says in runs:
		tree.upload(files)
		rc, data, out, seconds = tree.grade()
		checked(record, f'autograder: {name}', rc, data, out, seconds)
		if data is None:
			continue
		got, most = total(data)
		passed = all(t.get('status') == 'passed' for t in data.get('tests', []))
		if full:
			ok = got == most > 0 and passed
		else:
			built = all(t.get('extra_data', {}).get('outcome') != 'not-built' for t in data.get('tests', []))
			ok = got < most and not passed and built
		record(ok and says in data.get('output', ''),
		       f'autograder: {name}: ' + ('full marks' if full else 'below full marks, graded'),
		       f'score {got}/{most}; output: {data.get("output", "")[:600]}')

	tree.upload({f'{LAB}/{SOURCE}': broken})
	rc, data, out, seconds = tree.grade()
	checked(record, 'autograder: a module that does not compile', rc, data, out, seconds)
	said = (data or {}).get('output', '')
	outcomes = {t.get('extra_data', {}).get('outcome') for t in (data or {}).get('tests', [])}
	record(data is not None and data.get('score') == 0 and outcomes == {'not-built'} and 'module did not build' in said
	       and 'The compiler said:' in said and f'{LAB}/{SOURCE}:' in said and 'error:' in said,
	       'autograder: a module that does not compile: 0, and the top-level output shows the '
	       'compiler\'s error in the student\'s file', said[:800])

	tree.upload({'README.txt': b'I forgot the code\n'})
	rc, data, out, seconds = tree.grade()
	checked(record, 'autograder: an upload without the lab\'s file', rc, data, out, seconds)
	said = (data or {}).get('output', '')
	record(data is not None and data.get('score') == 0 and f'holds no {SOURCE}' in said
	       and 'README.txt' in said,
	       'autograder: an upload without the lab\'s file: 0, and the output says what is missing and '
	       'what the upload holds', said[:600])

	# The checker itself must be able to fail: a results.json that breaks
	# the specification in each way it checks.
	bad = {'score': '3', 'bogus': 1, 'stdout_visibility': 'sometimes', 'output_format': 'pdf',
	       'tests': [{'name': 1, 'score': 1, 'status': 'ok', 'visibility': 'never', 'colour': 'red'}]}
	found = gradescope_problems(bad)
	record(len(found) >= 7, 'autograder: the results.json checker rejects a results.json outside the '
	       'specification', '; '.join(found))


def checked(record, name: str, rc: int, data, out: str, seconds: float) -> None:
	"""run_autograder ended well and wrote a results.json Gradescope takes."""
	problems = ['no results.json'] if data is None else gradescope_problems(data) + our_fields(data)
	if rc != 0:
		problems.insert(0, f'run_autograder exit status {rc}')
	record(not problems, f'{name}: results.json as Gradescope specifies',
	       f'{seconds:.0f} s; ' + '; '.join(problems) + ('\n' + out[-1500:] if problems else ''))


def layouts(record, tree: Tree, top: Path) -> None:
	"""Where run_autograder looks, in the ways students pack a lab (no VM)."""
	solution = SOLUTION.read_bytes()
	header = (ROOT / 'kunit' / LAB / 'kmemlab_hello.h').read_bytes()
	cases = {
		'the file at the top': ({SOURCE: solution}, 'the top of your submission'),
		'in NN-name/': ({f'{LAB}/{SOURCE}': solution}, f'the folder {LAB}'),
		'one folder further down': ({f'mine/{LAB}/{SOURCE}': solution}, f'the folder mine/{LAB}'),
		'a whole repository (skel/ beside kunit/ and labs/)': (
			{f'repo/kunit/{LAB}/kmemlab_hello.h': header, f'repo/labs/{LAB}/README.md': b'x\n',
			 f'repo/skel/{LAB}/{SOURCE}': solution, f'repo/skel/{LAB}/kmemlab_hello.h': header},
			f'the folder repo/skel/{LAB}'),
		'macOS\'s __MACOSX copy beside the real folder': (
			{f'__MACOSX/{LAB}/{SOURCE}': b'junk', f'work/{SOURCE}': solution}, 'the folder work'),
		'a tar.gz inside the upload': (None, 'lab.tar.gz, folder x'),
		'nothing of the lab': ({'notes.txt': b'hi\n'}, 'none'),
	}
	for i, (name, (files, want)) in enumerate(cases.items()):
		folder = top / str(i)
		folder.mkdir(parents=True)
		if files is None:
			src = top / f'{i}-src' / 'x'
			src.mkdir(parents=True)
			(src / SOURCE).write_bytes(solution)
			subprocess.run(['tar', '-czf', str(folder / 'lab.tar.gz'), '-C', str(src.parent), 'x'], check=True)
		else:
			for rel, data in files.items():
				(folder / rel).parent.mkdir(parents=True, exist_ok=True)
				(folder / rel).write_bytes(data)
		said = tree.find(folder)
		record(said.splitlines()[:1] == [want], f'autograder: finds the lab folder: {name}',
		       f'expected {want!r}, got {said.strip()!r}')


def main() -> int:
	counts = {True: 0, False: 0}
	verbose = sys.argv[1:] == ['-v']

	def record(ok: bool, name: str, why: str = '') -> None:
		counts[bool(ok)] += 1
		show = why and (verbose or not ok)
		print(f'{"ok  " if ok else "FAIL"} {name}' + (f'\n     {why}' if show else ''), flush=True)

	run(record)
	print(f'{counts[True]} passed, {counts[False]} failed')
	return 0 if counts[True] and not counts[False] else 1


if __name__ == '__main__':
	sys.exit(main())
