# SPDX-License-Identifier: GPL-2.0
"""Run grading jobs side by side: one VM per worker.

Each job grades one lab of one submission (a build, a VM, the scoring) and
spends nearly all its time waiting on a child process (the sandboxed
compiler, QEMU), so threads are enough; under TCG each VM keeps one host
core busy, so the default number of workers is the number of cores.
make test and make grade-class both go through here.

  run(jobs, workers, done) - run every Job; after each one ends, call
      done(job, value, error, progress) in the caller's thread order of
      completion: value is what job.fn returned (None if it raised),
      error the exception it raised (None if it did not), progress a
      Progress. Jobs start longest first (by their `cost`, an estimate in
      seconds), which keeps the workers busy to the end. KeyboardInterrupt
      cancels the jobs not yet started and waits for the running ones,
      whose VMs have their own time limits.

Built on the standard library's concurrent.futures thread pool.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Callable, Optional


@dataclass
class Job:
	name: str
	fn: Callable[[], Any]
	cost: float = 1.0	# seconds, an estimate: only the order depends on it


@dataclass
class Progress:
	done: int
	total: int
	elapsed: float	# seconds since run() started

	def eta(self) -> Optional[float]:
		"""Seconds still to go, from the mean pace so far (None at first)."""
		if not self.done:
			return None
		return self.elapsed / self.done * (self.total - self.done)

	def line(self) -> str:
		eta = self.eta()
		left = '' if eta is None else f', about {fmt(eta)} left'
		return f'[{self.done}/{self.total}] {fmt(self.elapsed)} elapsed{left}'


def fmt(seconds: float) -> str:
	m, s = divmod(int(seconds + 0.5), 60)
	return f'{m}:{s:02d}' if m < 60 else f'{m // 60}:{m % 60:02d}:{s:02d}'


def default_workers() -> int:
	"""The JOBS environment variable, else the number of cores."""
	try:
		n = int(os.environ.get('JOBS', ''))
	except ValueError:
		n = 0
	return n if n > 0 else os.cpu_count() or 1


def run(jobs: list[Job], workers: int,
	done: Callable[[Job, Any, Optional[BaseException], Progress], None]) -> None:
	start = time.monotonic()
	order = sorted(jobs, key=lambda j: -j.cost)
	finished = 0
	lock = threading.Lock()
	with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix='grade') as pool:
		running = {pool.submit(j.fn): j for j in order}
		try:
			while running:
				ended, _ = wait(running, return_when=FIRST_COMPLETED)
				for f in ended:
					job = running.pop(f)
					error = f.exception()
					value = None if error else f.result()
					with lock:
						finished += 1
						done(job, value, error, Progress(finished, len(order), time.monotonic() - start))
		except KeyboardInterrupt:
			for f in running:
				f.cancel()
			raise
