# SPDX-License-Identifier: GPL-2.0
"""Read what a lab's VM run left behind: the serial console log.

The VM's /init frames every step with "kmemlab: step N begin/end" markers,
and every line carries the kernel's timestamp (user programs write through
/dev/kmsg), so one pass over the log tells:

- which steps ran and how each ended (insmod status, ...);
- the KTAP results, parsed by the kernel tree's own kunit_parser;
- for every test case, its time and the kernel reports (BUG, WARNING,
  KASAN, lockdep, ...) printed while it ran;
- the reports printed outside any test case (module exit, leak check);
- whether the kernel panicked, and in which step and suite.
"""

from __future__ import annotations

import io
import re
import sys
from dataclasses import dataclass, field
from typing import Optional

# The parser lives in the kernel tree: tools/testing/kunit/kunit_parser.py.
kunit_parser = None


def load_kunit_parser(kernel_src: str) -> None:
	"""Import the kernel tree's KTAP parser and silence its printing."""
	global kunit_parser
	sys.path.insert(0, f'{kernel_src}/tools/testing/kunit')
	import kunit_parser as parser  # pylint: disable=import-outside-toplevel
	import kunit_printer  # pylint: disable=import-outside-toplevel
	parser.stdout = kunit_printer.Printer(io.StringIO())
	kunit_parser = parser


TIMESTAMP = re.compile(r'^\[\s*(\d+\.\d+)\] ?(.*)$')
STEP_BEGIN = re.compile(r'^kmemlab: step (\d+) begin: (\S+) ?(.*)$')
STEP_END = re.compile(r'^kmemlab: step (\d+) end: rc=(\d+)$')
ALL_DONE = 'kmemlab: all steps done'
SUITE_HEADER = re.compile(r'^    # Subtest: (\S+)$')
CASE_RESULT = re.compile(r'^    (ok|not ok) \d+ (\S+)')
SUITE_RESULT = re.compile(r'^(ok|not ok) \d+ (\S+)')

# Kernel reports, first match wins. The kind names the deduction in
# grader/deductions.toml; the group is the text shown to the student.
REPORTS = [
	('panic', re.compile(r'Kernel panic - not syncing: (.*)')),
	('kasan', re.compile(r'BUG: (KASAN: .*)')),
	('sleep-in-atomic', re.compile(r'BUG: (sleeping function called from invalid context.*)')),
	('sleep-in-atomic', re.compile(r'BUG: (scheduling while atomic.*)')),
	('lockup', re.compile(r'BUG: (soft lockup.*)')),
	('lockup', re.compile(r'INFO: (task .* blocked for more than .*)')),
	('oops', re.compile(r'(BUG: unable to handle .*)')),
	('oops', re.compile(r'(kernel BUG at .*)')),
	('oops', re.compile(r'(Oops: .*)')),
	('oops', re.compile(r'(general protection fault.*)')),
	('slab', re.compile(r'^(BUG [\w.-]+ \(.*\): .*)')),
	('page', re.compile(r'BUG: (Bad page .*)')),
	('lockdep', re.compile(r'WARNING: (possible (?:circular|recursive) locking.*|inconsistent lock state'
			       r'|bad unlock balance detected!|lock held when returning to user space!'
			       r'|held lock freed!|suspicious RCU usage.*)')),
	('dma-api', re.compile(r'(DMA-API: .*)')),
	('bug', re.compile(r'BUG: (.*)')),
	('warning', re.compile(r'WARNING: CPU: \d+ PID: \d+ at (.*)')),
	('kmemleak', re.compile(r'(unreferenced object 0x[0-9a-f]+ \(size \d+\)):')),
]
# Said by QEMU itself (LOG.qemu): the edu device refusing a DMA address
# (clamped to its mask; out of its buffer, which stops QEMU), and
# -d guest_errors on an access the device does not accept.
DEVICE_REPORTS = [
	('device', re.compile(r'(EDU: clamping DMA .*)')),
	('device', re.compile(r'(EDU: DMA range .* out of bounds.*)')),
	('device', re.compile(r"(Invalid (?:read|write) at addr .*region 'edu-mmio'.*)")),
]


@dataclass
class Report:
	kind: str
	text: str
	line: int		# 1-based line in the serial log (0: QEMU's log)
	context: list[str] = field(default_factory=list)


@dataclass
class Step:
	number: int
	verb: str
	args: str
	rc: Optional[int] = None	# None: never finished
	output: list[str] = field(default_factory=list)
	first: int = 0		# index of the begin marker in Run.lines
	last: int = 0		# index of the end marker (or of the last line)


@dataclass
class Case:
	suite: str
	name: str
	status: str		# pass, fail, skip, crash
	seconds: float = 0.0
	diagnostics: list[str] = field(default_factory=list)
	reports: list[Report] = field(default_factory=list)
	skip_reason: str = ''
	message: str = ''	# the first failed expectation's text, and where


@dataclass
class Run:
	lines: list[str]
	steps: list[Step]
	cases: dict[str, Case]		# "suite.case" -> Case, in order of report
	reports: list[Report]		# outside any case
	finished: bool			# /init ran every step
	panic: Optional[Report] = None
	stopped_step: Optional[Step] = None	# begun, never ended
	open_suite: Optional[str] = None	# suite running when it stopped
	stop_reports: list[Report] = field(default_factory=list)	# in the open case


def split_timestamps(text: str) -> tuple[list[str], list[Optional[float]]]:
	"""Strip the printk timestamp of every line; keep it beside."""
	lines, stamps = [], []
	for raw in text.replace('\r', '').split('\n'):
		m = TIMESTAMP.match(raw)
		if m:
			stamps.append(float(m.group(1)))
			lines.append(m.group(2))
		else:
			stamps.append(None)
			lines.append(raw)
	return lines, stamps


def classify(line: str, table=REPORTS) -> Optional[tuple[str, str]]:
	for kind, pattern in table:
		m = pattern.search(line)
		if m:
			return kind, m.group(1).strip()
	return None


def find_reports(lines: list[str]) -> list[Report]:
	reports = []
	for i, line in enumerate(lines):
		found = classify(line)
		if not found:
			continue
		kind, text = found
		# A WARN from the DMA-API checker is one report, not two.
		if kind == 'warning' and 'kernel/dma/debug.c' in text:
			continue
		reports.append(Report(kind, text, i + 1, lines[max(0, i - 2):i + 25]))
	return reports


def find_steps(lines: list[str]) -> list[Step]:
	steps: list[Step] = []
	for i, line in enumerate(lines):
		m = STEP_BEGIN.match(line)
		if m:
			steps.append(Step(int(m.group(1)), m.group(2), m.group(3), first=i, last=len(lines) - 1))
			continue
		m = STEP_END.match(line)
		if m and steps and steps[-1].number == int(m.group(1)):
			steps[-1].rc = int(m.group(2))
			steps[-1].last = i
	for step in steps:
		step.output = [l for l in lines[step.first + 1:step.last]
			       if not l.startswith('kmemlab: ')]
	return steps


def ktap_statuses(step_lines: list[str]) -> dict[str, tuple[str, list[str]]]:
	"""suite.case -> (status, diagnostics) from kunit_parser, for one step.

	A step may hold several KTAP documents (one per KUnit module loaded, or
	per user program); each starts at a top-level "KTAP version" line.
	"""
	status_name = {
		kunit_parser.TestStatus.SUCCESS: 'pass',
		kunit_parser.TestStatus.FAILURE: 'fail',
		kunit_parser.TestStatus.SKIPPED: 'skip',
	}
	docs: list[list[str]] = []
	for line in step_lines:
		if line.startswith('KTAP version') or line.startswith('TAP version'):
			docs.append([])
		if docs:
			docs[-1].append(line)
	result = {}
	for doc in docs:
		main = kunit_parser.parse_run_tests(doc)
		for suite in main.subtests:
			for case in suite.subtests:
				status = status_name.get(case.status, 'crash')
				diag = [l.strip() for l in case.log if l.strip()]
				for param in case.subtests:
					diag += [l.strip() for l in param.log if l.strip()]
					if param.status == kunit_parser.TestStatus.FAILURE:
						diag.append(f'# parameter "{param.name}" failed')
				result[f'{suite.name}.{case.name}'] = (status, diag)
	return result


def failure_message(lines: list[str], stamps: list[Optional[float]]) -> str:
	"""The student's message of the first failed expectation in a case.

	A user program prints "... FAILED at file:line: message" on one line.
	KUnit prints "FAILED at file:line", the values, and the _MSG text last,
	all in one printk: the lines of one report share one timestamp, which
	tells them from kernel messages printed in between.
	"""
	for i, line in enumerate(lines):
		if 'FAILED at ' not in line:
			continue
		where = line.split('FAILED at ', 1)[1].strip()
		m = re.match(r'(\S+:\d+): (.*)', where)
		if m:
			return f'{m.group(2)} ({m.group(1)})'
		block = [l.strip() for l, t in zip(lines[i + 1:], stamps[i + 1:])
			 if t == stamps[i] and stamps[i] is not None]
		block = [l for l in block if l]
		return f'{block[-1] if block else "expectation failed"} ({where})'
	return ''


def parse(serial: str, qemu: str = '') -> Run:
	lines, stamps = split_timestamps(serial)
	steps = find_steps(lines)
	reports = find_reports(lines)
	for i, line in enumerate(qemu.splitlines()):
		found = classify(line, DEVICE_REPORTS)
		if found:
			reports.append(Report(found[0], found[1], 0, [line]))

	run = Run(lines=lines, steps=steps, cases={}, reports=[],
		  finished=any(l.strip() == ALL_DONE for l in lines))
	run.panic = next((r for r in reports if r.kind == 'panic'), None)
	run.stopped_step = next((s for s in steps if s.rc is None), None)

	# Each case's window: from the previous case result (or its suite's
	# header) to its own result line. Reports inside it belong to it.
	windows: list[tuple[int, int, str]] = []	# (first, last, "suite.case")
	for step in steps:
		statuses = ktap_statuses(lines[step.first + 1:step.last + 1])
		suite, start, prev_ts = None, 0, None
		for i in range(step.first + 1, step.last + 1):
			line = lines[i]
			m = SUITE_HEADER.match(line)
			if m:
				suite, start, prev_ts = m.group(1), i, stamps[i]
				continue
			m = CASE_RESULT.match(line)
			if m and suite:
				key = f'{suite}.{m.group(2)}'
				status, diag = statuses.get(key, ('crash', []))
				seconds = 0.0
				if stamps[i] is not None and prev_ts is not None:
					seconds = stamps[i] - prev_ts
				skip = line.split('# SKIP', 1)[1].strip() if '# SKIP' in line else ''
				run.cases[key] = Case(suite, m.group(2), status, seconds, diag, skip_reason=skip,
						      message=failure_message(lines[start:i], stamps[start:i]))
				windows.append((start, i, key))
				start, prev_ts = i, stamps[i]
				continue
			m = SUITE_RESULT.match(line)
			if m and m.group(2) == suite:
				suite = None
		if step is run.stopped_step and suite:
			run.open_suite = suite
			windows.append((start, len(lines), f'{suite}.*'))

	for report in reports:
		idx = report.line - 1
		owner = next((key for first, last, key in windows if report.line and first < idx <= last), None)
		if owner and owner in run.cases:
			run.cases[owner].reports.append(report)
		elif owner is None and report.kind != 'panic':
			run.reports.append(report)
		elif owner:
			run.stop_reports.append(report)
	return run
