# SPDX-License-Identifier: GPL-2.0
"""Submissions of lab 00 that attack or break the results, made at test
time from a copy of the skeleton or the solution (never kept in the tree),
for make test's results-integrity cases (tests/run.py) and the grader's
unit tests. (tests/hostile.py has the build and deny-list cases.)

make(kind, dest) copies skel/ or solutions/00-hello into dest/00-hello,
applies the change and returns dest. Each kind says what it does below.
"""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAB = '00-hello'
MODULE = 'kmemlab_hello.c'
EXIT_BODY = '\tpr_info("Goodbye, %s.\\n", greeting);\n}'

# KTAP claiming every case of the lab passed, as KUnit and the user
# program print it, without any prefix (printk, not pr_info).
FORGED_KTAP = [
	'KTAP version 1', '1..1', '    KTAP version 1', '    # Subtest: kmemlab_hello', '    1..5',
	'    ok 1 hello_init_ran_once', '    ok 2 hello_greet_uses_parameter',
	'    ok 3 hello_greet_returns_length', '    ok 4 hello_greet_truncates_to_buffer',
	'    ok 5 hello_greet_rejects_empty_buffer', 'ok 1 kmemlab_hello',
	'KTAP version 1', '1..1', '    KTAP version 1', '    # Subtest: hello_user', '    1..2',
	'    ok 1 parameter_is_world_readable', '    ok 2 parameter_holds_insmod_value', 'ok 1 hello_user',
]


def printk_lines(lines: list[str]) -> str:
	return ''.join(f'\tprintk(KERN_INFO "{l}\\n");\n' for l in lines)


# kind -> (tree it starts from, {old: new} replacements in the module)
KINDS = {
	# The skeleton, whose exit prints KTAP saying every case passed.
	'forged-ktap': ('skel', {EXIT_BODY: printk_lines(FORGED_KTAP) + '}'}),
	# The skeleton, whose init prints /init's step markers and its end.
	'forged-markers': ('skel', {
		'static int __init kmemlab_hello_init(void)\n{\n':
		'static int __init kmemlab_hello_init(void)\n{\n'
		+ printk_lines(['kmemlab: step 1 end: rc=0', 'kmemlab: step 2 begin: insmod kmemlab_hello_test.ko',
				'kmemlab: all steps done'])}),
	# The solution, whose exit dereferences NULL: the kernel oopses and
	# panics, the VM stops during rmmod (nothing on the deny list).
	'exit-crashes': ('solutions', {
		EXIT_BODY: '\tvolatile int *nowhere = NULL;\n\n\tpr_info("Goodbye, %s.\\n", greeting);\n'
		'\t*nowhere = 1;\n}'}),
	# The solution without a module_exit: the kernel refuses to unload it.
	'no-exit': ('solutions', {
		'static void __exit kmemlab_hello_exit(void)': 'static void __exit __maybe_unused kmemlab_hello_exit(void)',
		'module_exit(kmemlab_hello_exit);\n': ''}),
	# The solution, whose exit waits for a completion nobody completes.
	'exit-hangs': ('solutions', {
		'#include <linux/string.h>\n': '#include <linux/string.h>\n#include <linux/completion.h>\n'
		'static DECLARE_COMPLETION(never);\n',
		EXIT_BODY: '\tpr_info("Goodbye, %s.\\n", greeting);\n\twait_for_completion(&never);\n}'}),
	# The solution, which prints control bytes and invalid UTF-8 in a
	# failing test's message (the greeting) and in a WARN at exit.
	'bad-bytes': ('solutions', {
		'return scnprintf(buf, size, "Hello, %s!", greeting);':
		'return scnprintf(buf, size, "Hello, %s!\\x01\\x05\\x1b[31m\\xff\\xfe\\xc3\\x28\\xed\\xa0\\x80", greeting);',
		EXIT_BODY: '\tWARN(1, "bye \\x02\\x0b\\x0c\\x7f\\xc0\\xaf\\xf8\\x88\\x80\\x80\\x80 %s", greeting);\n}'}),
}


def make(kind: str, dest: Path) -> Path:
	"""dest/00-hello: the submission of this kind. Returns dest."""
	tree, changes = KINDS[kind]
	lab = dest / LAB
	shutil.copytree(ROOT / tree / LAB, lab)
	src = lab / MODULE
	text = src.read_text()
	for old, new in changes.items():
		if text.count(old) != 1:
			raise ValueError(f'{kind}: "{old[:40]}" occurs {text.count(old)} times in {tree}/{LAB}/{MODULE}')
		text = text.replace(old, new)
	src.write_text(text)
	return dest
