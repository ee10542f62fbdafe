# SPDX-License-Identifier: GPL-2.0
"""Read what a lab's VM run left behind: the results channel and the
serial console log.

The results channel (the VM's third serial port, written by /init only,
every line tagged with the run's secret) says which steps ran, how each
ended, the KTAP of every KUnit suite (read from KUnit's debugfs after the
suite's module loaded) and of every user program, and whether /init got to
the end. Test statuses come from there and nowhere else.

The serial console (ttyS0) has the same step markers and KTAP lines with
the kernel's timestamps, among everything else the kernel printed, so it
gives:

- for every test case, its time and the kernel reports (BUG, WARNING,
  KASAN, lockdep, ...) printed while it ran;
- the reports printed outside any test case (module exit, leak check);
- whether the kernel panicked, and in which step and suite.

A step marker or KTAP-looking line on the console that the channel does
not vouch for (one more than the channel has, a different status, printed
in another step, or with a module's prefix) is a forged result: something
other than /init and KUnit printed it, and the run's results are void.
"""

from __future__ import annotations

import errno
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Optional


TIMESTAMP = re.compile(r'^\[\s*(\d+\.\d+)\] ?(.*)$')
ALL_DONE = 'kmemlab: all steps done'
# A task's kernel stack, logged when the VM was about to hit its limit
# (qemu-env/init.sh, stuck): "kmemlab: stuck: COMM (pid N, STATE)", then
# "Call Trace:" and its frames; "kmemlab: stuck: end" after the last.
STUCK = 'kmemlab: stuck: '
# Anything that looks like a step marker, wherever it is in a line.
MARKERISH = re.compile(r'kmemlab: (?:step \d+ (?:begin|end)\b|all steps done)')
# Anything that looks like KTAP a parser would take: a result line at any
# indentation, a subtest header or a version line, with or without a
# "module: " prefix before it (a parser strips a prefix it saw first).
KTAPISH = re.compile(r'^(?P<prefix>\S+: ?)?(?P<indent>\s*)'
		     r'(?:(?P<status>ok|not ok) (?P<num>\d+)\b ?(?P<rest>.*)|# Subtest: ?(?P<subtest>.*)'
		     r'|(?P<version>K?TAP version) ?\d*)\s*$')
STRUCTURE = re.compile(r'^\s*(?:K?TAP version \d+|1\.\.\d+|# Subtest: .*)\s*$')
RESULT = re.compile(r'^(?P<indent>\s*)(?P<status>ok|not ok) (?P<num>\d+)(?: (?P<rest>.*))?$')
SUITE_HEADER = re.compile(r'^    # Subtest: (\S+)$')
CASE_RESULT = re.compile(r'^    (ok|not ok) \d+ (\S+)')
# A parameter's result inside a parameterised case (KUNIT_CASE_PARAM).
PARAM_HEADER = re.compile(r'^        # Subtest: (\S+)$')
PARAM_RESULT = re.compile(r'^        (?:ok|not ok) (\d+) (.+?)(?: # SKIP.*)?$')
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
	# A page fault in the kernel (arch/x86/mm/fault.c, show_fault_oops()):
	# its first line, then "Oops:" for the same fault, one kind.
	('oops', re.compile(r'(BUG: unable to handle .*)')),
	('oops', re.compile(r'BUG: (kernel NULL pointer dereference.*)')),
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
	where: list[str] = field(default_factory=list)	# the lines that locate it (locate())


# A call-trace frame: "[? ]function+0xoff/0xsize [module]".
FRAME = re.compile(r'^\s*(?P<unsure>\? )?(?P<fn>[\w.$]+)\+0x[0-9a-f]+/0x[0-9a-f]+(?: \[(?P<mod>\w+)\])?\s*$')
# A frame the unwinder could not name: a bare address, as a module's
# init code freed after loading, or a return address into it, prints
# ("? 0xffffffffa0006000", lib/dump_stack.c via printk's %pB).
RAW_FRAME = re.compile(r'^\s*(?:\? )?0x[0-9a-f]+\s*$')
# Where the CPU was: x86_64 "RIP: 0010:fn+0x5/0x20 [mod]", i386 "EIP: fn+...".
WHERE = re.compile(r'^(?:RIP: [0-9a-f]{4}:|EIP: )\S')
# The same in kernel code: a function, not a user address ("RIP: 0033:0x44b9a0").
KERNEL_WHERE = re.compile(r'^(?:RIP: [0-9a-f]{4}:|EIP: )[\w.$]+\+0x')
# Frames of the kernel's reporting machinery, not of the code at fault.
MACHINERY = re.compile(r'^(?:dump_stack\w*|show_stack|show_regs|print_report|print_address_description'
		       r'|kasan_\w+|__kasan_\w+|__asan_\w+|check_region_inline|__warn|warn_slowpath\w*'
		       r'|report_bug|handle_bug|exc_\w+|asm_exc_\w+|__might_\w+|___might_sleep|__schedule_bug'
		       r'|debug_dma_\w+|check_unmap|check_sync|err_printk|print_\w*bug\w*|lockdep_\w+'
		       r'|mark_lock\w*|valid_state|check_noncircular|check_prev_add|validate_chain'
		       r'|__lock_acquire|lock_acquire|lock_release|__lock_release|panic|watchdog_timer_fn)$')
TRACE_FRAMES = 3	# frames shown when none is in a module
# A line of a register dump ("RAX: ...", "Code: ...", "FS:  ...").
REGISTERS = re.compile(r'^(?:[A-Z][A-Z0-9]{1,5}: |Code: )')


def locate(lines: list[str], i: int) -> list[str]:
	"""The lines that say where the kernel report on line i happened, for a
	student:

	- the report's own line, after the one or two lines before it when
	  they name the faulting address ("Corrupted page table at address"
	  and the page-table entries of a bad pte), and with KASAN's "Read of
	  size" or a page fault's first "#PF:" line under it;
	- the RIP/EIP line (the instruction at fault), unless it is in the
	  reporting machinery (a WARN of the DMA-API checker);
	- the call trace up to the first frame in a module (the student's or
	  the lab's test), the machinery and the unreliable "?" frames left
	  out; of a long way there, the innermost frame, "...", and the frame
	  that called into the module.

	Empty lines are never returned."""
	out = [lines[i].strip()]
	for j in (i - 1, i - 2):	# "... at address X", maybe a page-table line, the report
		if j >= 0 and re.search(r'\baddress\b', lines[j]) and not classify(lines[j]):
			out[:0] = [l.strip() for l in lines[j:i]]
			break
	where, extra, frames, in_trace = '', '', [], False
	for line in lines[i + 1:i + 120]:
		s = line.strip()
		if s.startswith('---[ end trace'):
			break
		if 'Kernel panic - not syncing' in s:
			if where or frames:
				break
			# The report printed nothing more (a soft lockup's registers
			# and trace at a level the console left out, kunit/include/
			# lab_user.h): the panic's own trace shows where it was.
			in_trace = False
			continue
		if not in_trace:
			if s.startswith('Call Trace:'):
				in_trace = True
			elif not where and WHERE.match(s):
				where = s
			elif not where and not extra and re.match(r'(?:Read|Write) of size \d+|#PF: ', s):
				extra = s
				out.append(s)
			continue
		m = FRAME.match(line)
		if m:
			if not m.group('unsure'):
				frames.append(m)
			continue
		if RAW_FRAME.match(line):
			continue	# says nothing, and the trace goes on
		if not where and KERNEL_WHERE.match(s):
			if frames and frames[-1].group('fn').startswith('asm_exc_'):
				# An exception's (a page fault's in a user copy):
				# the report came from its handling, which the
				# frames before say (a driver's .fault that slept
				# in atomic context); the trace goes on below.
				continue
			# The registers of the code an interrupt stopped (a panic's
			# trace from the watchdog's timer): that code is the place,
			# and the interrupt's own frames before it say nothing.
			where, frames = s, []
			continue
		if re.fullmatch(r'<(?:TASK|IRQ|/IRQ|NMI|/NMI|SOFTIRQ|/SOFTIRQ)>', s) or REGISTERS.match(s):
			continue	# an exception's registers inside the trace: it goes on
		break	# </TASK>, or the next message: the trace ended
	at = FRAME.match(re.sub(r'^(?:RIP: [0-9a-f]{4}:|EIP: )', '', where))
	if where and not (at and MACHINERY.match(at.group('fn').split('.')[0])):
		out.append(where)
	mine = [f for f in frames if not MACHINERY.match(f.group('fn').split('.')[0])]
	first_mod = next((k for k, f in enumerate(mine) if f.group('mod')), None)
	if first_mod is None:
		shown = mine[:TRACE_FRAMES]
	elif first_mod <= 2:
		shown = mine[:first_mod + 1]
	else:
		shown = [mine[0], None, mine[first_mod - 1], mine[first_mod]]
	if shown:
		out.append('Call Trace:')
		out += [f'  {f.group(0).strip()}' if f else '  ...' for f in shown]
	mapped = mapped_at(lines, i) if lines[i].strip().startswith('DMA-API: ') else []
	if mapped:
		out.append(MAPPED_AT)
		out += [f'  {f}' for f in mapped]
	return out


# After a DMA-API checker's report of a bad unmap or sync, the stack of
# the map it concerns (kernel/dma/debug.c, err_printk(): "Mapped at:"
# then the frames, with no "Call Trace:" line).
MAPPED_AT = 'DMA-API: Mapped at:'


def mapped_at(lines: list[str], i: int) -> list[str]:
	"""The frames of the "DMA-API: Mapped at:" stack that follows the
	checker's report on line i (after its WARN's registers and trace),
	the checker's own left out, up to the first in a module; [] when the
	next report comes first."""
	for k in range(i + 1, min(len(lines), i + 150)):
		s = lines[k].strip()
		if s == MAPPED_AT:
			break
		found = classify(lines[k])
		if found and not (found[0] == 'warning' and 'kernel/dma/debug.c' in found[1]):
			return []	# another report: this one printed no map stack
	else:
		return []
	frames = []
	for line in lines[k + 1:k + 20]:
		m = FRAME.match(line)
		if not m:
			break
		if m.group('unsure') or MACHINERY.match(m.group('fn').split('.')[0]):
			continue
		frames.append(m.group(0).strip())
		if m.group('mod'):
			break
	return frames


# Error numbers as the kernel names them (errno's few aliases resolved the
# kernel's way), and the kernel-internal ones of include/linux/errno.h.
ERRNO_NAMES = {**errno.errorcode, errno.EAGAIN: 'EAGAIN', errno.EDEADLK: 'EDEADLK',
	       errno.EOPNOTSUPP: 'EOPNOTSUPP', 512: 'ERESTARTSYS', 513: 'ERESTARTNOINTR',
	       514: 'ERESTARTNOHAND', 515: 'ENOIOCTLCMD', 516: 'ERESTART_RESTARTBLOCK',
	       517: 'EPROBE_DEFER', 518: 'EOPENSTALE', 519: 'ENOPARAM', 524: 'ENOTSUPP'}
# A negative number right after a word that says it is an error code.
ERRNO_NUMBER = re.compile(r'(?P<lead>\b(?:error|errno|err|ret|failed with|fails? with|returned|returns?'
			  r'|gave|got|status)\b\s*[:=]?\s*)-(?P<num>\d{1,3})\b(?! \(E)')


def name_errnos(text: str) -> str:
	"""text with each negative error code that a KUnit message printed as a
	number followed by its name: "failed with -12" -> "failed with -12
	(ENOMEM)". Only numbers after a word such as "error", "returned" or
	"got" are named; others may not be error codes at all."""
	def named(m: re.Match) -> str:
		name = ERRNO_NAMES.get(int(m.group('num')))
		return f"{m.group('lead')}-{m.group('num')}" + (f' ({name})' if name else '')
	return ERRNO_NUMBER.sub(named, text)


# A failed check: KUnit's "# case: EXPECTATION FAILED at file:line" (the
# assertion's text and values and the _MSG text follow, lib/kunit/assert.c),
# or ktap_user.h's one line with the message after the location.
FAILED_AT = re.compile(r'^\s*# (?:(?P<case>\S+): )?(?P<kind>EXPECTATION|ASSERTION) FAILED at '
		       r'(?P<where>\S+?:\d+)(?:: (?P<msg>.*))?$')


# What a macro leaves in the text of a KUnit check: not for a student.
EXPANDED = re.compile(r'__builtin_\w+|\(\{|__UNIQUE_ID|__auto_type|\btypeof\(|_Generic')
# A unary check's line says nothing its message does not.
UNARY = re.compile(r'^Expected .* to be (?:true|false), but is (?:true|false)$')


def tidy_diagnostics(raw: list[str], kunit: bool) -> list[str]:
	"""A case's diagnostic lines as a student reads them, stripped of their
	KTAP indentation.

	KUnit prints a failed check as the location, then the check with its
	macros expanded and the values it compared (lib/kunit/assert.c), then
	the _MSG text at column 0. Here the location and the message come
	first, on one line ("# case: EXPECTATION FAILED at file:line:
	message"), as a user program prints it; then the expected/actual lines
	("  Expected got == want, but", "    got == 3 (0x3)"), except those that
	show a macro's expansion ("__builtin_expect(!!(...))") or a true/false
	check's bare verdict, when there is a message to say it instead. KUnit's
	error codes get their names (name_errnos)."""
	out: list[str] = []
	i = 0
	while i < len(raw):
		m = FAILED_AT.match(raw[i])
		if not m or m.group('msg') is not None or not kunit:
			if raw[i].strip():
				out.append(name_errnos(raw[i].strip()) if kunit else raw[i].strip())
			i += 1
			continue
		j = i + 1
		while j < len(raw) and not re.match(r'^\s+# ', raw[j]):
			j += 1
		block = raw[i + 1:j]
		# The message starts at the first line at column 0 (the check's
		# own lines are indented).
		start = next((k for k, l in enumerate(block) if l.strip() and not l[0].isspace()), len(block))
		message = ' '.join(l.strip() for l in block[start:] if l.strip())
		head = f"# {m.group('case') + ': ' if m.group('case') else ''}{m.group('kind')} FAILED at {m.group('where')}"
		out.append(name_errnos(f'{head}: {message}' if message else head))
		for line in block[:start]:
			text = line.strip()
			if not text or message and (EXPANDED.search(text) or UNARY.match(text)):
				continue
			indent = '  ' if text.startswith('Expected') else '    '
			out.append(indent + name_errnos(text))
		i = j
	return out


@dataclass
class Step:
	number: int
	verb: str
	args: str
	rc: Optional[int] = None	# None: never finished
	output: list[str] = field(default_factory=list)	# what it printed (channel)
	suites: dict[str, list[str]] = field(default_factory=dict)	# KUnit suite -> its KTAP (channel)
	first: int = -1		# index of the begin marker in Run.lines (-1: not on the console)
	last: int = -1		# index of the end marker (or of the last line)

	@property
	def module(self) -> str:
		"""insmod's module, without .ko."""
		words = self.args.split()
		return words[0].removesuffix('.ko') if self.verb == 'insmod' and words else ''


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
	timed: bool = False	# seconds was measured (its console lines have timestamps)


@dataclass
class Run:
	lines: list[str]
	steps: list[Step]
	cases: dict[str, Case]		# "suite.case" -> Case, in order of report
	reports: list[Report]		# outside any case
	finished: bool			# the channel says /init ran every step
	panic: Optional[Report] = None
	stopped_step: Optional[Step] = None	# begun, never ended
	open_suite: Optional[str] = None	# suite running when it stopped
	stop_reports: list[Report] = field(default_factory=list)	# in the open case
	forged: list[str] = field(default_factory=list)	# why the results cannot be trusted
	on_console: set[str] = field(default_factory=set)	# cases the console says ended
	foreign_suites: list[tuple[Step, str]] = field(default_factory=list)	# suites from lab modules
	# For the student only, never scored (the console proves nothing):
	# what the console showed of the suite that was running when the VM
	# stopped, its failed cases' messages and the failures logged in the
	# case that never ended, before the first kernel report.
	console_failures: dict[str, list[str]] = field(default_factory=dict)
	before_stop: list[str] = field(default_factory=list)
	# The open case's last parameter that ended before the stop, when
	# that case is parameterised: (case, number, description).
	last_param: Optional[tuple[str, int, str]] = None
	# Where the guest's tasks waited when the grader asked, just before
	# the VM's limit (qemu-env/init.sh, stuck): each task's locate() lines.
	stuck: list[list[str]] = field(default_factory=list)


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


def last_param(lines: list[str]) -> Optional[tuple[str, int, str]]:
	"""In the console lines of a case that never ended: (the case, the
	number, the description) of its last parameter that did, if it is a
	parameterised case whose parameters KUnit reported as they ended."""
	case, last = None, None
	for line in lines:
		m = PARAM_HEADER.match(line)
		if m:
			case, last = m.group(1), None
			continue
		m = PARAM_RESULT.match(line)
		if m and case:
			last = (case, int(m.group(1)), m.group(2).strip())
	return last


def find_reports(lines: list[str]) -> list[Report]:
	reports = []
	for i, line in enumerate(lines):
		found = classify(line)
		if not found:
			continue
		kind, text = found
		# A WARN from the DMA-API checker is one report, not two, and its
		# "Mapped at:" stack belongs to the report before it.
		if kind == 'warning' and 'kernel/dma/debug.c' in text or line.strip() == MAPPED_AT:
			continue
		reports.append(Report(kind, text, i + 1, lines[max(0, i - 2):i + 25], locate(lines, i)))
	return reports


@dataclass
class Channel:
	steps: list[Step]
	done: bool		# "all steps done" arrived
	problems: list[str]	# lines /init did not write, steps out of order


def read_channel(text: str, secret: str) -> Channel:
	"""The results channel: "<secret> B n verb args", "E n rc", "O n line",
	"K n suite line", "D" (see qemu-env/init.sh)."""
	ch = Channel([], False, [])
	tag = f'{secret} '
	foreign = 0
	by_number: dict[int, Step] = {}
	for raw in text.split('\n'):
		line = raw.rstrip('\r')
		if not line:
			continue
		if not secret or not line.startswith(tag):
			foreign += 1
			continue
		kind, _, rest = line[len(tag):].partition(' ')
		try:
			if kind == 'B':
				num, _, rest = rest.partition(' ')
				verb, _, args = rest.partition(' ')
				n = int(num)
				if n != len(ch.steps) + 1 or ch.done:
					ch.problems.append(f'step {n} began out of order')
					continue
				by_number[n] = Step(n, verb, args.rstrip())
				ch.steps.append(by_number[n])
			elif kind == 'E':
				num, _, rc = rest.partition(' ')
				step = by_number.get(int(num))
				if step is None or step.rc is not None or step is not ch.steps[-1]:
					ch.problems.append(f'step {num} ended out of order')
					continue
				step.rc = int(rc)
			elif kind == 'O':
				num, _, out = rest.partition(' ')
				step = by_number.get(int(num))
				if step is None or step.rc is not None:
					ch.problems.append(f'output for step {num} outside it')
					continue
				step.output.append(out)
			elif kind == 'K':
				num, _, rest = rest.partition(' ')
				suite, _, out = rest.partition(' ')
				step = by_number.get(int(num))
				if step is None or step.rc is not None:
					ch.problems.append(f'KUnit results for step {num} outside it')
					continue
				step.suites.setdefault(suite, []).append(out)
			elif kind == 'D':
				if ch.done or any(s.rc is None for s in ch.steps):
					ch.problems.append('"all steps done" out of order')
				ch.done = True
			else:
				ch.problems.append(f'unknown line kind "{kind[:20]}"')
		except ValueError:
			ch.problems.append(f'malformed line "{line[len(tag):len(tag) + 40]}"')
	if foreign:
		ch.problems.append(f'{foreign} line(s) on the results channel without the run\'s secret')
	return ch


NO_HEADER = 'no "# Subtest:" header'


@dataclass
class Doc:
	"""One KTAP document: one suite (a KUnit suite or a user program)."""
	suite: str
	cases: dict[str, tuple[str, list[str], str]]	# case -> (status, diagnostics, skip reason)
	ended: bool	# its suite result line came
	problem: str = ''	# not KTAP as KUnit or ktap_user.h writes it


def read_doc(lines: list[str], kunit: bool = False) -> Doc:
	"""Read one suite's KTAP strictly, as KUnit's debugfs file or
	kunit/include/ktap_user.h write it: top-level header, the suite's
	"# Subtest:" and plan at four spaces, case results at four spaces
	numbered 1, 2, ... up to the plan, parameter results at eight spaces
	after the case's own "# Subtest:", one suite result line last. Any other
	result line (which a message quoting a student's text could hold) makes
	the document forged: its problem says why. kunit: the document is a
	KUnit suite's (its diagnostics are tidied the KUnit way, see
	tidy_diagnostics)."""
	doc = Doc('', {}, False)
	plan = None
	diag: list[str] = []
	in_params = False
	param_skips: set[str] = set()	# the reasons of this case's skipped parameters
	for raw in lines:
		line = raw.rstrip()
		m = RESULT.match(line)
		h = SUITE_HEADER.match(line)
		if h and not doc.suite and not doc.cases:
			doc.suite = h.group(1)
			continue
		if doc.suite and plan is None and re.fullmatch(r'    1\.\.(\d+)', line):
			plan = int(line.split('..')[1])
			diag = []	# the header lines before it are no case's
			continue
		if re.fullmatch(r'        # Subtest: \S+', line):
			in_params = True
		if not m:
			if line.strip() and not STRUCTURE.match(line):
				diag.append(line)	# indentation kept for tidy_diagnostics
			continue
		indent, status, num = len(m.group('indent')), m.group('status'), int(m.group('num'))
		rest = m.group('rest') or ''
		name, _, directive = rest.partition(' # ')
		name = name.strip()
		if doc.ended:
			doc.problem = f'a result line after the suite\'s own: "{line.strip()[:80]}"'
		elif indent == 0:
			if name != doc.suite or not doc.suite:
				doc.problem = f'a suite result line for "{name[:40]}" in suite "{doc.suite}"'
			doc.ended = True
		elif indent == 4 and doc.suite and plan is not None:
			if num != len(doc.cases) + 1 or num > plan or name in doc.cases or not name:
				doc.problem = f'a second or out-of-order result line "{line.strip()[:80]}"'
				continue
			skip = directive[len('SKIP'):].strip() if directive.startswith('SKIP') else ''
			if directive.startswith('SKIP') and not skip and len(param_skips) == 1:
				# A parameterised case whose parameters all skipped
				# has a reasonless SKIP of its own (kunit_run_tests):
				# their one reason is the case's.
				skip = param_skips.pop()
			st = 'skip' if skip or directive.startswith('SKIP') else ('pass' if status == 'ok' else 'fail')
			doc.cases[name] = (st, tidy_diagnostics(diag, kunit), name_errnos(skip) if kunit else skip)
			diag, in_params = [], False
			param_skips = set()
		elif indent == 8 and in_params:
			if status == 'not ok':
				diag.append(f'    # parameter "{name}" failed')
			elif directive.startswith('SKIP'):
				param_skips.add(directive[len('SKIP'):].strip())
		else:
			doc.problem = f'a result line no test wrote: "{line.strip()[:80]}"'
		if doc.problem:
			break
	if not doc.suite and not doc.problem:
		doc.problem = NO_HEADER
	return doc


def split_docs(lines: list[str]) -> list[list[str]]:
	"""A user program's output: one document per top-level KTAP version line."""
	docs: list[list[str]] = []
	for line in lines:
		if line.startswith('KTAP version') or line.startswith('TAP version'):
			docs.append([])
		if docs:
			docs[-1].append(line)
	return docs


KTAP_LINE = re.compile(r'(not )?ok \d+\b|# Subtest: |KTAP version |\d+\.\.\d+$|# \S+: pass:\d+ ')


def failure_messages(lines: list[str], stamps: list[Optional[float]]) -> list[str]:
	"""The student's message of every failed expectation in these console
	lines, each as "message (file:line)".

	A user program prints "... FAILED at file:line: message" on one line.
	KUnit prints "FAILED at file:line", the values, and the _MSG text last,
	all in one printk: the lines of one report share one timestamp, which
	tells them from kernel messages printed in between. KUnit's error codes
	get their names (name_errnos).
	"""
	found = []
	for i, line in enumerate(lines):
		if 'FAILED at ' not in line:
			continue
		where = line.split('FAILED at ', 1)[1].strip()
		m = re.match(r'(\S+:\d+): (.*)', where)
		if m:
			found.append(f'{m.group(2)} ({m.group(1)})')
			continue
		block = [l.strip() for l, t in zip(lines[i + 1:], stamps[i + 1:])
			 if t == stamps[i] and stamps[i] is not None]
		# KTAP's own lines that may share the stamp (a parameter's
		# "not ok 1 ..." printed in the same microsecond) are no message.
		block = [l for l in block if l and not KTAP_LINE.match(l)]
		found.append(name_errnos(f'{block[-1] if block else "expectation failed"} ({where})'))
	return found


def failure_message(lines: list[str], stamps: list[Optional[float]]) -> str:
	"""The first of failure_messages(), or ''."""
	return next(iter(failure_messages(lines, stamps)), '')


def marker_texts(step: Step) -> tuple[str, Optional[str]]:
	"""The console markers /init prints for a step (end: None if it did not end)."""
	begin = f'kmemlab: step {step.number} begin: {step.verb} {step.args}'.rstrip()
	end = f'kmemlab: step {step.number} end: rc={step.rc}' if step.rc is not None else None
	return begin, end


def lost_tail(text: str, ch: Channel) -> bool:
	"""Is this console marker one /init printed after a channel line the VM
	did not get out before it stopped (the end of the last step, the begin
	of the next)? Such a marker counts for nothing: the step stays
	unfinished. "all steps done" is never one: /init drains the channel
	before it prints that."""
	if ch.done or not ch.steps or ch.steps[-1].rc is not None:
		return False
	last = ch.steps[-1].number
	return bool(re.fullmatch(rf'kmemlab: step {last} end: rc=\d+|kmemlab: step {last + 1} begin: .*', text))


def place_steps(lines: list[str], ch: Channel) -> list[str]:
	"""Find each channel step's markers on the console (Step.first/last);
	return why any marker-like console line is not one the channel vouches
	for. A marker the console lacks (a lost line) is no problem."""
	expected: list[tuple[str, Step, str]] = []
	for step in ch.steps:
		begin, end = marker_texts(step)
		expected.append((begin, step, 'begin'))
		if end:
			expected.append((end, step, 'end'))
	if ch.done:
		expected.append((ALL_DONE, None, 'done'))
	order = {text: k for k, (text, _, _) in enumerate(expected)}
	problems = []
	seen: dict[str, int] = {}	# marker -> its console line
	last_k = -1
	for i, line in enumerate(lines):
		if not MARKERISH.search(line):
			continue
		text = line.rstrip()
		if text not in order and lost_tail(text, ch):
			continue
		if text not in order:
			problems.append(f'a step marker /init did not print: "{text[:80]}"')
		elif text in seen:
			problems.append(f'a step marker printed twice: "{text[:80]}"')
		elif order[text] < last_k:
			problems.append(f'a step marker out of order: "{text[:80]}"')
		else:
			seen[text] = i
			last_k = order[text]
	for text, i in seen.items():
		_, step, what = expected[order[text]]
		if what == 'begin':
			step.first = i
		elif what == 'end':
			step.last = i
	for n, step in enumerate(ch.steps):
		if step.first < 0:
			continue
		if step.last < 0:	# no end on the console: up to the next step's begin
			nxt = next((s.first for s in ch.steps[n + 1:] if s.first >= 0), len(lines))
			step.last = nxt - 1
	return problems


def claim(m: re.Match) -> tuple:
	"""What a KTAP-looking console line says, as a comparable key."""
	indent = len(m.group('indent'))
	if m.group('version'):
		return (indent, 'version')
	if m.group('subtest') is not None:
		return (indent, 'subtest', m.group('subtest').strip())
	rest = (m.group('rest') or '').strip()
	if indent == 0:	# the suite line: KUnit numbers it per load and adds its SKIP comment
		return (0, m.group('status'), rest.split(' # ')[0].strip())
	return (indent, m.group('status'), int(m.group('num')), rest)


def vouched_claims(step: Step) -> Counter:
	"""The KTAP-looking lines the channel has for a step."""
	lines = [l for doc in step.suites.values() for l in doc]
	if step.verb == 'run':
		lines += step.output
	found = Counter()
	for line in lines:
		m = KTAPISH.match(line.rstrip())
		if m and not m.group('prefix'):
			found[claim(m)] += 1
	return found


def check_console(lines: list[str], ch: Channel, suite_steps: set[int]) -> list[str]:
	"""Why KTAP-looking console lines are not vouched for by the channel:
	each must be in a step whose channel holds it at least as many times.
	The step that never ended is spared: a KUnit step's results were never
	read, and the channel of a program the VM stopped in may have lost its
	last lines (the port's buffer, when the kernel died) that /dev/kmsg still
	printed; only the channel's lines count there, and the console's are
	read only to tell which case was running (grader/boots.py)."""
	problems = []
	owner = {}
	for step in ch.steps:
		if step.first >= 0:
			for i in range(step.first, step.last + 1):
				owner[i] = step
	seen: dict[int, Counter] = {}
	vouched: dict[int, Counter] = {}
	for i, line in enumerate(lines):
		m = KTAPISH.match(line.rstrip())
		if not m:
			continue
		step = owner.get(i)
		if m.group('prefix') is not None:
			problems.append(f'KTAP printed by a module: "{line.strip()[:80]}"')
			continue
		if step is None:
			problems.append(f'KTAP outside every step: "{line.strip()[:80]}"')
			continue
		if step.rc is None and (step.verb == 'run' or step.verb == 'insmod' and step.number in suite_steps):
			continue
		key = claim(m)
		if step.number not in vouched:
			vouched[step.number] = vouched_claims(step)
			seen[step.number] = Counter()
		seen[step.number][key] += 1
		if seen[step.number][key] > vouched[step.number][key]:
			where = f"step {step.number} '{step.verb} {step.args}'".rstrip()
			problems.append(f'KTAP the results channel does not hold for {where}: "{line.strip()[:80]}"')
	return problems


def filter_skip(status: tuple[str, list[str], str]) -> bool:
	"""Is this (status, diagnostics, skip reason) a user program's case
	that KUnit's filter left out (ktap_user.h)?"""
	return status[0] == 'skip' and status[2].startswith('left out by kunit.filter_glob=')


def parse(serial: str, qemu: str = '', results: str = '', secret: str = '',
	  suite_modules: frozenset[str] | set[str] | list[str] = frozenset()) -> Run:
	"""Read one run: the console (serial), QEMU's log, and the results
	channel with its secret. suite_modules: the lab's KUnit modules (from
	kunit/NN/Kbuild): KUnit results count only from the steps that load
	them."""
	lines, stamps = split_timestamps(serial)
	ch = read_channel(results, secret)
	steps = ch.steps
	reports = find_reports(lines)
	for line in qemu.splitlines():
		found = classify(line, DEVICE_REPORTS)
		if found:
			reports.append(Report(found[0], found[1], 0, [line]))

	run = Run(lines=lines, steps=steps, cases={}, reports=[], finished=ch.done)
	run.stuck = [locate(lines, i) for i, line in enumerate(lines)
		     if line.startswith(STUCK) and line != STUCK + 'end']
	run.forged += [f'results channel: {p}' for p in ch.problems]
	run.forged += place_steps(lines, ch)
	run.panic = next((r for r in reports if r.kind == 'panic'), None)
	run.stopped_step = next((s for s in steps if s.rc is None), None)
	suite_steps = {s.number for s in steps if s.verb == 'insmod' and s.module in set(suite_modules)}
	run.forged += check_console(lines, ch, suite_steps)

	# Statuses, from the channel only: KUnit suites of a finished step
	# that loaded one of the lab's suite modules; user programs' output.
	# A user program run for one case (a resumed run, grader/boots.py)
	# reports the others as left out by the filter: such a result gives
	# way to another, and is no second result.
	statuses: dict[str, tuple[str, list[str], str]] = {}
	status_step: dict[str, int] = {}	# the step that gave each status
	for step in steps:
		docs = []
		if step.number in suite_steps and step.rc is not None:
			docs = [read_doc(d, kunit=True) for d in step.suites.values()]
		elif step.verb == 'run':
			docs = [read_doc(d) for d in split_docs(step.output)]
		for name in step.suites if step.number not in suite_steps else []:
			run.foreign_suites.append((step, name))
		for doc in docs:
			if doc.problem == NO_HEADER and step.rc is None:
				continue	# the VM stopped before the program's first lines were out
			if doc.problem:
				run.forged.append(f"{doc.suite or 'a suite'} in step {step.number}: {doc.problem}")
				continue
			for case, st in doc.cases.items():
				key = f'{doc.suite}.{case}'
				if key in statuses and filter_skip(st):
					continue
				if key in statuses and not filter_skip(statuses[key]):
					run.forged.append(f'a second result for {key} in step {step.number}')
				statuses[key] = st
				status_step[key] = step.number

	# Each case's window on the console: from the previous case result (or
	# its suite's header) to its own result line. Reports inside it belong
	# to it. Only cases the channel reported get a Case.
	windows: list[tuple[int, int, str]] = []	# (first, last, "suite.case")
	for step in steps:
		if step.first < 0:
			continue
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
				if '# SKIP left out by kunit.filter_glob=' not in line:
					run.on_console.add(key)
				if key in statuses and key not in run.cases and status_step[key] == step.number:
					status, diag, skip = statuses[key]
					timed = stamps[i] is not None and prev_ts is not None
					seconds = stamps[i] - prev_ts if timed else 0.0
					run.cases[key] = Case(suite, m.group(2), status, seconds, diag, skip_reason=skip,
							      message=failure_message(lines[start:i], stamps[start:i]),
							      timed=timed)
					windows.append((start, i, key))
				elif key not in statuses and m.group(1) == 'not ok':
					run.console_failures[key] = failure_messages(lines[start:i], stamps[start:i])
				start, prev_ts = i, stamps[i]
				continue
			m = SUITE_RESULT.match(line)
			if m and m.group(2) == suite:
				suite = None
		if step is run.stopped_step and suite:
			run.open_suite = suite
			windows.append((start, len(lines), f'{suite}.*'))
			stop = next((r.line - 1 for r in reports if r.line - 1 > start), len(lines))
			run.before_stop = failure_messages(lines[start:stop], stamps[start:stop])
			run.last_param = last_param(lines[start:stop])
	for key, (status, diag, skip) in statuses.items():
		if key not in run.cases:	# its console lines were lost
			suite, _, name = key.partition('.')
			run.cases[key] = Case(suite, name, status, 0.0, diag, skip_reason=skip)

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
