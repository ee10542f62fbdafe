# SPDX-License-Identifier: GPL-2.0
"""Refuse a student module that uses what grader/forbidden.toml denies.

Runs on the host before the module goes to the VM. The .ko is read as
data, never run: its undefined symbols (`readelf --syms`) and section names
(`readelf -S`). The student's sources are read as text, with comments and
string and character literals blanked out, and split into identifiers.

  load(path) -> [Rule]
  check(rules, kos, sources) -> Verdict or None
      kos: the built .ko files; sources: file name -> text
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path


@dataclass
class Rule:
	kind: str
	reason: str
	symbols: list[str] = field(default_factory=list)
	tokens: list[str] = field(default_factory=list)
	sections: list[str] = field(default_factory=list)


@dataclass
class Verdict:
	kind: str	# the rule's kind, e.g. detector-off
	text: str	# "uses kmemleak_not_leak: switches off the leak detector"


def load(path: Path) -> list[Rule]:
	rules = []
	for entry in tomllib.loads(path.read_text())['deny']:
		rule = Rule(**entry)
		if not (rule.kind and rule.reason and (rule.symbols or rule.tokens or rule.sections)):
			raise ValueError(f'{path}: a [[deny]] entry needs kind, reason and something to deny')
		rules.append(rule)
	return rules


# What is not code: an #include line (its file name), a comment, a string
# or character literal. Each is blanked, keeping its newlines so that line
# numbers stay right.
LEXEME = re.compile(r'^[ \t]*#[ \t]*include[^\n]*|//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|'
		    r"'(?:\\.|[^'\\\n])*'", re.S | re.M)
IDENT = re.compile(r'##\s*__VA_ARGS__|##|[A-Za-z_][A-Za-z0-9_]*')


def code_only(text: str) -> str:
	"""The source with comments and literals blanked, newlines kept."""
	return LEXEME.sub(lambda m: ' ' + '\n' * m.group(0).count('\n'), text)


def source_names(text: str) -> list[tuple[str, int]]:
	"""(identifier or "##", line) in order; "##__VA_ARGS__", the GNU
	comma swallow of variadic macros, is not pasting and is skipped."""
	names = []
	for n, line in enumerate(code_only(text).split('\n'), 1):
		for m in IDENT.finditer(line):
			tok = m.group(0)
			if not (tok.startswith('##') and tok.endswith('__VA_ARGS__')):
				names.append((tok, n))
	return names


def tool_lines(cmd: list[str]) -> list[str]:
	proc = subprocess.run(cmd, capture_output=True, text=True, errors='replace', check=False)
	if proc.returncode != 0:
		raise RuntimeError(f'{" ".join(cmd)}: {proc.stderr.strip()[:200]}')
	return proc.stdout.splitlines()


def imports(ko: Path) -> list[str]:
	"""The symbols the module needs from the kernel or other modules: the
	named symbols of its symbol table whose section index is UND
	(`readelf --syms`, the list `nm -u` gives, in a fifth of nm's time:
	nm loads the compiler's LTO plugin first)."""
	names = []
	for line in tool_lines(['readelf', '--syms', '--wide', str(ko)]):
		f = line.split()
		# Num: Value Size Type Bind Vis Ndx Name
		if len(f) == 8 and f[0].endswith(':') and f[6] == 'UND':
			names.append(f[7])
	return names


def sections(ko: Path) -> list[str]:
	names = []
	for line in tool_lines(['readelf', '--section-headers', '--wide', str(ko)]):
		m = re.match(r'\s*\[\s*\d+\]\s+(\S+)', line)
		if m:
			names.append(m.group(1))
	return names


def matches(name: str, patterns: list[str]) -> bool:
	return any(fnmatchcase(name, p) for p in patterns)


def check(rules: list[Rule], kos: list[Path], sources: dict[str, str]) -> Verdict | None:
	"""The first thing denied, in the order: the sources (file by file,
	line by line), the imports, the sections. None when all is well."""
	for fname, text in sources.items():
		for name, line in source_names(text):
			for r in rules:
				if matches(name, r.tokens + r.symbols):
					return Verdict(r.kind, f'uses {name} ({fname}:{line}): {r.reason}')
	for ko in kos:
		for sym in imports(ko):
			for r in rules:
				if matches(sym, r.symbols):
					return Verdict(r.kind, f'uses {sym}: {r.reason}')
		for sec in sections(ko):
			for r in rules:
				if matches(sec, r.sections):
					return Verdict(r.kind, f'has a {sec} section: {r.reason}')
	return None
