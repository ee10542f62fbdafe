# SPDX-License-Identifier: GPL-2.0
"""Run one make test module on its own: `python3 tests/<module>.py`.

  main(run, *args) calls run(record, *args), where record(ok, name, why='')
  prints a PASS or FAIL line at once; returns the exit status: 0 when all
  passed, 1 otherwise (make test runs the same run() through tests/run.py's
  job pool instead).
"""

from __future__ import annotations


def main(run, *args) -> int:
	failures = []

	def record(ok: bool, name: str, why: str = '') -> None:
		print(f'{"PASS" if ok else "FAIL"} {name}' + ('' if ok else f': {why}'), flush=True)
		if not ok:
			failures.append(name)

	run(record, *args)
	return 1 if failures else 0
