# SPDX-License-Identifier: GPL-2.0
"""make test: hostile submissions, made at test time from a copy of lab
00's solution or skeleton (never kept in the repository), on x86_64.

Each must lose its marks with a named reason, run nothing on the host,
show no host file, leave the suite as the lab built it, and change
nothing in the checkout outside build/ and results/. The build-only
cases need no VM; the others are graded like any submission.

  run(record, kdirs, debug) - record(ok, name, why) for each case;
      kdirs(flavour) -> the x86_64 lab kernel's build dir; debug: also the
      cases that need the debug kernel (kmemleak)
"""

from __future__ import annotations

import hashlib
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'grader'))

import build  # noqa: E402
import forbidden  # noqa: E402
import grade  # noqa: E402
import report  # noqa: E402
import score  # noqa: E402
from outcome import Outcome  # noqa: E402

LAB = ROOT / 'labs' / '00-hello'
SOURCE = 'kmemlab_hello.c'
ARCH = 'x86_64'
RULES = forbidden.load(ROOT / 'grader' / 'forbidden.toml')


def checkout_state() -> dict[str, str]:
	"""Every file git sees as changed or new (build/ and results/ are
	ignored by .gitignore), with a hash of its content."""
	out = subprocess.run(['git', '-C', str(ROOT), 'status', '--porcelain', '--untracked-files=all'],
			     capture_output=True, text=True, check=True).stdout
	state = {}
	for line in out.splitlines():
		path = ROOT / line[3:].split(' -> ')[-1]
		state[line] = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ''
	return state


class Submission:
	"""A submission folder made from lab 00's solution or skeleton."""

	def __init__(self, tmp: Path, name: str, tree: str = 'solutions'):
		self.root = tmp / name
		self.dir = self.root / LAB.name
		self.dir.mkdir(parents=True)
		shutil.copy(ROOT / tree / LAB.name / SOURCE, self.dir / SOURCE)

	def edit(self, old: str, new: str) -> 'Submission':
		path = self.dir / SOURCE
		text = path.read_text()
		assert text.count(old) == 1, f'{old!r} occurs {text.count(old)} times in {SOURCE}'
		path.write_text(text.replace(old, new))
		return self

	def add(self, name: str, text: str) -> 'Submission':
		(self.dir / name).write_text(text)
		return self

	def student(self, kdir: Path) -> build.Student:
		rubric = score.load_rubric(LAB / 'rubric.toml')
		return build.Student(LAB.name, rubric.sources, self.dir, kdir, ARCH)

	def grade(self, flavour: str, kdir: Path, out: Path) -> tuple[grade.Lab, score.LabResult]:
		lab = grade.Lab(LAB, str(self.root), ARCH, flavour, kdir)
		result = lab.grade(score.load_deductions(ROOT / 'grader' / 'deductions.toml'))
		out.mkdir(parents=True, exist_ok=True)
		report.write_gradescope([result], out / 'results.json')
		report.write_junit([result], out / 'junit.xml')
		return lab, result


INCLUDE = '#include "kmemlab_hello.h"'
INIT = 'init_calls++;'


def run(record, kdirs, debug: bool = True) -> None:
	before = checkout_state()
	with tempfile.TemporaryDirectory(prefix='kmemlab-hostile-') as t:
		cases(record, kdirs, Path(t), debug)
	after = checkout_state()
	changed = sorted(set(before.items()) ^ set(after.items()))
	record(not changed, 'hostile: nothing in the checkout changed outside build/ and results/', str(changed))


def cases(record, kdirs, tmp: Path, debug: bool) -> None:
	fast = kdirs('fast')
	token = f'kmemlab-secret-{secrets.token_hex(8)}'
	secret = ROOT / 'build' / f'hostile-secret-{secrets.token_hex(4)}'
	secret.parent.mkdir(exist_ok=True)
	secret.write_text(f'{token}\n')
	try:
		build_only(record, fast, tmp, secret, token)
		graded(record, kdirs, tmp, secret, token, debug)
	finally:
		secret.unlink()


def build_only(record, kdir: Path, tmp: Path, secret: Path, token: str) -> None:
	# A Kbuild that runs a command on the host and changes the flags.
	marker = ROOT / 'build' / f'hostile-marker-{secrets.token_hex(4)}'
	tmp_marker = Path(f'/tmp/kmemlab-hostile-marker-{secrets.token_hex(4)}')
	sub = Submission(tmp, 'kbuild-shell', 'skel').add(
		'Kbuild', f'obj-m := kmemlab_hello.o kmemlab_hello_test.o\n$(shell touch {marker} {tmp_marker})\n'
		'ccflags-y += -DKUNIT_EXPECT_EQ_MSG=\\(void\\) -include /etc/passwd\n'
		'KBUILD_CFLAGS += -DCONFIG_KUNIT=0\n').add('Makefile', f'$(shell touch {marker})\n')
	st = sub.student(kdir)
	problem = st.build()
	suite = build.Suite(LAB.name, kdir, ARCH)
	record(not problem and not marker.exists() and not tmp_marker.exists(),
	       'hostile: a Kbuild $(shell ...) in the submission runs nothing on the host',
	       f'problem {problem!r}, markers {marker.exists()} {tmp_marker.exists()}')
	record(any('Kbuild, Makefile' in n for n in st.notes) and (st.dir / 'Kbuild').read_text() == st.kbuild()
	       and suite.key() == build.Suite(LAB.name, kdir, ARCH).key() and 'kmemlab_hello_test' not in
	       ' '.join(p.name for p in st.dir.iterdir()),
	       'hostile: a student Kbuild that changes the flags is ignored (one note), the suite is untouched',
	       f'notes {st.notes}')
	for n, (what, edit) in enumerate((
		('#include of the solutions', (INCLUDE, f'{INCLUDE}\n#include "../../../solutions/00-hello/{SOURCE}"')),
		('.incbin of a host file', (INCLUDE, f'{INCLUDE}\nasm(".pushsection .rodata\\n.incbin \\"{secret}\\"\\n'
					     '.popsection");')),
	)):
		st = Submission(tmp, f'include-{n}').edit(*edit).student(kdir)
		problem = st.build()
		record(('error: ' in problem or 'Error: ' in problem) and '\n' not in problem and
		       token not in problem + st.log, f'hostile: {what} does not build, one line, no content shown',
		       problem)


def graded(record, kdirs, tmp: Path, secret: Path, token: str, debug: bool) -> None:
	fast = kdirs('fast')
	out = tmp / 'results'
	labs = []
	# Graded all the way (the VM boots while it compiles), to see the results.
	sub = Submission(tmp, 'include-graded').edit(INCLUDE, f'{INCLUDE}\n#include "{secret}"')
	lab, r = sub.grade('fast', fast, out)
	shown = ''.join(p.read_text() for p in out.iterdir()) + lab.build_log
	record(r.outcome is Outcome.NOT_BUILT and r.points == 0 and token not in shown,
	       'hostile: a graded host-file include gets 0, one line, and no content in the results',
	       r.problem)

	labs.append(lab)
	if debug:
		labs.append(hidden_leak(record, kdirs('debug'), tmp, out))
	labs.append(power_off(record, fast, tmp, out))
	labs.append(user_cast(record, fast, tmp, out))
	for lab in labs:	# their trees are of no further use
		shutil.rmtree(lab.bdir.parent, ignore_errors=True)
		build.remove_unused(lab.student.dir)	# unless another grader uses it (same source)


def hidden_leak(record, kdir: Path, tmp: Path, out: Path) -> grade.Lab:
	"""A real leak hidden from kmemleak, on the graded kernel."""
	sub = Submission(tmp, 'kmemleak-off').edit(INCLUDE, f'#include <linux/slab.h>\n#include <linux/kmemleak.h>\n{INCLUDE}')
	sub.edit(INIT, f'{INIT}\n\t{{\n\t\tvoid *leak = kmalloc(64, GFP_KERNEL);\n\n\t\tkmemleak_not_leak(leak);\n\t}}')
	lab, r = sub.grade('debug', kdir, out)
	imported = forbidden.check(RULES, lab.student.kos(), {}) if lab.student.kos()[0].exists() else None
	record(r.outcome is Outcome.FORBIDDEN and r.verdict == 'detector-off' and 'kmemleak_not_leak' in r.problem
	       and r.points < r.max_points
	       and imported is not None and 'kmemleak_not_leak' in imported.text,
	       'hostile: kmemleak_not_leak on a leaked buffer is a named verdict (source and import)',
	       f'{r.points}/{r.max_points} {r.problem}; import check: {imported}')
	return lab


def power_off(record, kdir: Path, tmp: Path, out: Path) -> grade.Lab:
	"""A module that would stop the VM early, taking the rest with it."""
	sub = Submission(tmp, 'power-off').edit(INCLUDE, f'#include <linux/reboot.h>\n{INCLUDE}')
	sub.edit('pr_info("Goodbye, %s.\\n", greeting);', 'pr_info("Goodbye, %s.\\n", greeting);\n\tkernel_power_off();')
	lab, r = sub.grade('fast', kdir, out)
	imported = forbidden.check(RULES, lab.student.kos(), {}) if lab.student.kos()[0].exists() else None
	record(r.outcome is Outcome.FORBIDDEN and r.verdict == 'stops-machine' and 'kernel_power_off' in r.problem
	       and r.points == 0
	       and imported is not None and 'kernel_power_off' in imported.text,
	       'hostile: kernel_power_off in the exit function is a named verdict (source and import)',
	       f'{r.points}/{r.max_points} {r.problem}; import check: {imported}')
	return lab


def user_cast(record, kdir: Path, tmp: Path, out: Path) -> grade.Lab:
	"""__user confusion: sparse at build time, a named deduction."""
	sub = Submission(tmp, 'sparse').edit(INCLUDE, f'#include <linux/uaccess.h>\n{INCLUDE}')
	sub.edit(INIT, f'{INIT}\n\t{{\n\t\tconst char __user *u = NULL;\n\n\t\tpr_debug("%p\\n", (const char *)u);\n\t}}')
	lab, r = sub.grade('fast', kdir, out)
	kinds = {d.kind: d for d in r.deductions}
	text = kinds['sparse'].text if 'sparse' in kinds else ''
	record('sparse' in kinds and r.points < r.max_points and text.startswith(f'{sub.root}/{LAB.name}/{SOURCE}:')
	       and 'address space' in text,
	       'hostile: a __user pointer cast to a plain one is a named sparse deduction at the student\'s line',
	       f'{r.points}/{r.max_points} deductions {kinds}')
	return lab
