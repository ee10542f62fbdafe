# SPDX-License-Identifier: GPL-2.0
"""TEST=glob: which of a rubric's tests one run grades.

The glob has KUnit's form (lib/kunit/executor.c, kunit_filter_suites):
"suite_glob.case_glob", split at the first '.', or "suite_glob" alone for
every case of the matching suites, with glob(7)'s *, ? and [...]
(lib/glob.c, glob_match). The VM gets it as the kernel argument
kunit.filter_glob=GLOB: KUnit runs only the matching cases of the suites
in modules (kunit_module_init applies it at every module load), and the
user programs read the same parameter (kunit/include/ktap_user.h) and skip
the rest. The grader scores only the rubric keys ("suite.case") it matches.

  problem(glob) -> '' or why the glob cannot be used
  matches(glob, key) -> does the glob select this "suite.case"
  split(keys, glob) -> (the keys it selects, the keys it leaves out)
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase

# What a glob may hold: names, '.', and the glob characters. Nothing the
# kernel command line would split or quote; no backslash, which
# glob_match() takes as an escape and fnmatch does not; no '^', which
# glob_match() takes literally and fnmatch(3) as a negation.
ALLOWED = re.compile(r'[A-Za-z0-9_.*?\[\]!-]+')
MAX_LENGTH = 200	# ktap_user.h reads the parameter into 256 bytes


def problem(glob: str) -> str:
	"""'' when glob can be used, else a line saying why not."""
	if not ALLOWED.fullmatch(glob):
		return (f'TEST={glob} holds characters a test glob cannot have '
			f'(letters, digits, _ - . * ? [ ] ! only)')
	if len(glob) > MAX_LENGTH:
		return f'TEST= is longer than {MAX_LENGTH} characters'
	return ''


def matches(glob: str, key: str) -> bool:
	"""Does glob select the rubric test key ("suite.case"), as KUnit would?"""
	suite, _, case = key.partition('.')
	suite_glob, dot, case_glob = glob.partition('.')
	return fnmatchcase(suite, suite_glob) and (not dot or fnmatchcase(case, case_glob))


def split(keys, glob: str) -> tuple[list[str], list[str]]:
	"""(the keys glob selects, the keys it leaves out), each in keys' order."""
	kept = [k for k in keys if matches(glob, k)]
	return kept, [k for k in keys if k not in kept]
