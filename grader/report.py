# SPDX-License-Identifier: GPL-2.0
"""Say what was graded: a table on the terminal, Gradescope's results.json,
JUnit XML for CI dashboards, and a transcript of every lab that lost points.
"""

from __future__ import annotations

import re
from pathlib import Path

from outcome import Outcome
from score import LabResult

WIDTH = 64
DETAIL_LINES = 12
TOTALS = re.compile(r'^# \S+: pass:\d+ fail:\d+')	# KUnit's per-case tally
# What XML 1.0 cannot hold (its Char production), and what JSON readers
# choke on: control characters but tab and newline, CR, lone surrogates,
# U+FFFE/U+FFFF. The kernel log may hold any byte (a student's pr_info, an
# unterminated buffer).
UNSAFE = re.compile('[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff\ufffe\uffff]')


def clean(text) -> str:
	"""text made safe for JSON, XML 1.0 and a terminal: each unsafe
	character becomes a visible escape (\\x05, \\udc80)."""
	text = str(text)
	def esc(m: re.Match) -> str:
		c = ord(m.group(0))
		return f'\\x{c:02x}' if c < 0x100 else f'\\u{c:04x}'
	return UNSAFE.sub(esc, text)


def clean_all(data):
	"""clean() every string in a JSON-like structure."""
	if isinstance(data, str):
		return clean(data)
	if isinstance(data, dict):
		return {clean(k): clean_all(v) for k, v in data.items()}
	if isinstance(data, list):
		return [clean_all(v) for v in data]
	return data


def lab_header(r: LabResult) -> str:
	if r.run:	# a rubric's [runs.NAME]
		return f'{r.lab} ({r.run} run: {r.arch}, {r.flavour} kernel)'
	return f'{r.lab} ({r.arch}, {r.flavour} kernel)'


def row(r: LabResult) -> str:
	"""What names a result row in results.json and junit.xml: the arch,
	or the name of a rubric's run (07-pci-dma (iommu))."""
	return r.run or r.arch


def print_lab(r: LabResult, verbose: bool = False) -> None:
	print(clean(render_lab(r, verbose)), end='')


def render_lab(r: LabResult, verbose: bool = False) -> str:
	out: list[str] = []
	print = lambda text='': out.append(f'{text}\n')  # noqa: E731 pylint: disable=redefined-builtin
	print(lab_header(r))
	if r.problem:
		print(f'  !! {r.problem}')
	for n in r.notes:
		print(f'  note: {n}')
	for w in r.warnings[:5]:
		print(f'  compiler: {w}')
	# Not one test ran (the module did not build, its insmod failed): one
	# line for them all, so the "!!" line above stays on the screen.
	none_ran = bool(r.tests) and all(r.halted and t.problem and not t.timed for t in r.tests)
	if none_ran:
		n = len(r.tests)
		print(f'  not run: {"all " if n > 1 else ""}{n} test{"s" if n != 1 else ""} '
		      f'({sum(t.max_points for t in r.tests)} points), for the reason above')
	for t in [] if none_ran else r.tests:
		label = f'  {t.key} '
		dots = '.' * max(2, WIDTH - len(label))
		score = 'skip' if t.outcome.skipped else f'{t.points}/{t.max_points}'
		# A test that never ran to its end has no time (not 0.00s).
		line = f'{label}{dots} {score:>5}  ' + (f'{t.seconds:5.2f}s' if t.timed else '     -')
		if not t.outcome.passed:
			# Not run for the lab's problem: the "!!" line above says why.
			line += '  not run' if r.halted and t.problem else f'  {t.reason}'
		print(line)
		if verbose and t.outcome.failed:
			shown = [d for d in t.details if not TOTALS.search(d)]
			for d in shown[:DETAIL_LINES]:
				print(f'      | {d}')
			if len(shown) > DETAIL_LINES:
				print(f'      | ... ({len(shown) - DETAIL_LINES} more lines in the transcript)')
		elif verbose and t.outcome.passed:
			for d in t.details[:DETAIL_LINES]:	# what it measured or found
				print(f'      # {d}')
	for d in r.deductions:
		more = f' (and {d.count - 1} more)' if d.count > 1 else ''
		print(f'  deduction -{d.points}: {d.kind}: {d.text}{more}')
		if verbose:
			for w in d.where[1:DETAIL_LINES]:	# the first is the text above
				print(f'      | {w}')
	for why in r.resumes:
		print(f'  resumed: {why}')
	if r.stopped:
		print(f'  stopped: {r.stopped}')
	if r.left_out:
		n = len(r.left_out)
		print(f'  left out by TEST={r.test_glob}: {n} test' + ('s' if n != 1 else ''))
	print(f'  Score: {r.points}/{r.max_points}')
	if r.transcript:
		print(f'  transcript: {r.transcript}')
	return ''.join(out)


def print_total(results: list[LabResult]) -> None:
	got = sum(r.points for r in results)
	out_of = sum(r.max_points for r in results)
	print(f'Score: {got}/{out_of}')


def test_output(r: LabResult, t) -> str:
	"""A test's output in results.json: its reason, why no fresh VM ran it
	when the resume bounds left it without a result, its details."""
	lines = [t.reason] if t.reason else []
	if r.stopped and t.outcome is Outcome.NOT_RUN:
		lines.append(f'stopped: {r.stopped}')
	return '\n'.join(lines + t.details)


def summary_line(r: LabResult) -> str:
	"""A lab's line in results.json's top-level output, which students see
	at once: with hidden tests, the visible tests' points only."""
	hidden = [t for t in r.tests if t.hidden and not t.outcome.skipped]
	if not hidden:
		return f'{lab_header(r)}: {r.points}/{r.max_points}'
	shown = [t for t in r.tests if not t.hidden and not t.outcome.skipped]
	return (f'{lab_header(r)}: {sum(t.points for t in shown)}/{sum(t.max_points for t in shown)}'
		f' in the visible tests; {len(hidden)} more shown once grades are published')


def write_gradescope(results: list[LabResult], path: Path) -> None:
	"""Gradescope autograder format: score, tests[] with max_score. A
	rubric's [hidden] cases get visibility "after_published"; the score
	counts every test. Each test's extra_data.outcome is its Outcome's
	value (outcome.py: passed, failed, not-built, crashed, ...)."""
	tests = []
	for r in results:
		for t in r.tests:
			if t.outcome.skipped:
				continue
			tests.append({
				'name': f'{r.lab} ({row(r)}): {t.key}',
				'score': t.points,
				'max_score': t.max_points,
				'status': 'passed' if t.outcome.passed else 'failed',
				'output': test_output(r, t),
				'visibility': 'after_published' if t.hidden else 'visible',
				'extra_data': {'lab': r.lab, 'arch': r.arch, 'run': row(r), 'seconds': round(t.seconds, 3),
					       'outcome': t.outcome.value},
			})
		for d in r.deductions:
			tests.append({
				'name': f'{r.lab} ({row(r)}): deduction: {d.kind}',
				'score': -d.points,
				'max_score': 0,
				'status': 'failed',
				'output': f'{d.text} ({d.count} report(s))',
				'visibility': 'visible',
			})
	data = {
		'score': sum(r.points for r in results),
		'execution_time': round(sum(r.seconds for r in results), 1),
		'output': '\n'.join(summary_line(r)
				    + (f' - verdict ({r.verdict})' if r.verdict else '')
				    + (f' - {r.problem}' if r.problem else '') for r in results),
		'tests': tests,
	}
	import json	# here: the grader imports it while the VM boots (labvm.import_for_results)
	path.write_text(json.dumps(clean_all(data), indent=2) + '\n')


def write_junit(results: list[LabResult], path: Path) -> None:
	import xml.etree.ElementTree as ET	# as json above
	root = ET.Element('testsuites')
	# Every text and attribute cleaned before it is written.
	Sub = lambda parent, tag, **attrs: ET.SubElement(parent, tag, {k: clean(v) for k, v in attrs.items()})  # noqa: E731
	for r in results:
		suite = Sub(root, 'testsuite', name=f'{r.lab}.{row(r)}',
				      tests=str(len(r.tests)), time=f'{r.seconds:.3f}',
				      failures=str(sum(t.outcome.failed for t in r.tests)),
				      skipped=str(sum(t.outcome.skipped for t in r.tests)))
		for t in r.tests:
			case = Sub(suite, 'testcase', classname=f'{r.lab}.{row(r)}',
					     name=t.key, time=f'{t.seconds:.3f}')
			# type: the test's Outcome (outcome.py), message: its reason.
			if t.outcome.skipped:
				Sub(case, 'skipped', message=t.reason, type=t.outcome.value)
			elif t.outcome.failed:
				fail = Sub(case, 'failure', message=t.reason, type=t.outcome.value)
				fail.text = clean(test_output(r, t))
		for d in r.deductions:
			case = Sub(suite, 'testcase', classname=f'{r.lab}.{row(r)}',
					     name=f'deduction.{d.kind}')
			Sub(case, 'failure', message=f'-{d.points}: {d.text}')
	ET.indent(root)
	ET.ElementTree(root).write(path, encoding='utf-8', xml_declaration=True)
