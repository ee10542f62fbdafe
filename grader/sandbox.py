# SPDX-License-Identifier: GPL-2.0
"""Run a build command in a bubblewrap (bwrap) sandbox.

A student's module is compiled by the kernel's Kbuild, which runs make,
gcc, as and ld on files the student wrote: a `.incbin` or an `#include`
can read any file the compiler can, and make can run anything. So the
build sees only what it needs, read-only: /usr (the compiler and its
libraries), /etc/alternatives and /etc/ld.so.cache (the tools' symlinks
and the loader's cache, no secrets), the lab kernel's build dir and the
source tree it points to, and one writable scratch dir mounted at a fixed
path. It has its own empty /tmp, only /dev/null, no network, no other
process, a clean environment, limits on memory, file size and time, and
dies with the grader. The checkout, /root, other
submissions and the solutions are simply not there.

  run(cmd, scratch, mount_at, ro=[...], timeout=s) -> CompletedProcess
  probe() -> '' when bwrap works here, else one line saying why not
"""

from __future__ import annotations

import hashlib
import os
import resource
import shutil
import subprocess
import tempfile
from pathlib import Path

# The top-level directories the compiler may need, as they are on this
# host: on a merged-/usr system (Debian 12) they are symlinks into /usr.
TOP = ('bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32')
ETC = ('/etc/alternatives', '/etc/ld.so.cache')
PATH = '/usr/local/bin:/usr/bin:/bin'
MEMORY = 4 << 30	# bytes of address space per process
FILE_SIZE = 1 << 30	# bytes per file written


class Unavailable(Exception):
	"""bwrap is missing or cannot make a sandbox on this host."""


def args(scratch: Path, mount_at: str, ro: list[Path], writable: bool = True) -> list[str]:
	"""bwrap's arguments: what the sandbox sees (see the module comment);
	scratch read-only at mount_at unless writable."""
	a = ['bwrap', '--unshare-all', '--unshare-user', '--disable-userns', '--cap-drop', 'ALL',
	     '--die-with-parent', '--new-session', '--clearenv',
	     '--setenv', 'PATH', PATH, '--setenv', 'HOME', mount_at, '--setenv', 'LC_ALL', 'C',
	     '--ro-bind', '/usr', '/usr', '--proc', '/proc', '--tmpfs', '/tmp',
	     # /dev/null only: no endless /dev/zero or /dev/urandom to #include.
	     '--dev-bind', '/dev/null', '/dev/null']
	for top in TOP:
		p = Path('/') / top
		if p.is_symlink():
			a += ['--symlink', os.readlink(p), str(p)]
		elif p.is_dir():
			a += ['--ro-bind', str(p), str(p)]
	for e in ETC:
		if os.path.exists(e):
			a += ['--ro-bind', e, e]
	for path in ro:
		a += ['--ro-bind', str(path), str(path)]
	return a + ['--bind' if writable else '--ro-bind', str(scratch), mount_at, '--chdir', mount_at]


def limits() -> list[str]:
	"""The prlimit(1) command (util-linux) that starts bwrap with the
	build's resource limits: memory and file size far above what a module
	needs, no core dumps. A command, not a preexec_fn: the grader forks
	from several threads (grader/pool.py, the build beside the VM's
	start), where a preexec_fn can deadlock the child. Each limit is
	clamped to the grader's own hard limit (a CI job's `ulimit -v`):
	prlimit cannot raise it, and would refuse to start."""
	def clamp(kind: int, want: int) -> int:
		hard = resource.getrlimit(kind)[1]
		return want if hard == resource.RLIM_INFINITY else min(want, hard)
	return ['prlimit', f'--as={clamp(resource.RLIMIT_AS, MEMORY)}',
		f'--fsize={clamp(resource.RLIMIT_FSIZE, FILE_SIZE)}', '--core=0', '--']


def run(cmd: list[str], scratch: Path, mount_at: str, ro: list[Path],
	timeout: float = 300, writable: bool = True) -> subprocess.CompletedProcess:
	"""Run cmd in the sandbox with scratch at mount_at (writable unless
	writable=False) and the ro paths read-only at their own paths; stdout
	and stderr together, as text. A command that outlives timeout (seconds) is killed and reported
	as exit status 124 with a line saying so."""
	try:
		return subprocess.run(limits() + args(scratch, mount_at, ro, writable) + ['--'] + cmd,
				      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
				      text=True, errors='replace', timeout=timeout, check=False)
	except subprocess.TimeoutExpired as e:
		out = e.stdout.decode(errors='replace') if isinstance(e.stdout, bytes) else (e.stdout or '')
		return subprocess.CompletedProcess(cmd, 124, out + f'\nerror: the build took more than {timeout:.0f}s\n')


_probed: str | None = None


def probe() -> str:
	"""'' when a sandbox can be made here, else why not (one line).

	The probe starts bwrap once (about 0.05 s, before every make check's
	VM could start), so a success is remembered for the host's current
	boot in the kernel cache (like qemu-env/kvm-probe.sh's answer), named
	by everything that decides it: the boot, the user, the bwrap and
	prlimit found on PATH (their path, size and mtime) and the sysctls
	that allow or forbid unprivileged user namespaces. A failure is never
	remembered: it is probed again, and said, every time."""
	global _probed
	if _probed is not None:
		return _probed
	bwrap = shutil.which('bwrap')
	if not bwrap:
		_probed = 'bwrap is missing (Debian package bubblewrap): the student build would run unsandboxed'
		return _probed
	memo = probe_memo(bwrap)
	if memo and memo.is_file():
		_probed = ''
		return _probed
	with tempfile.TemporaryDirectory(prefix='kmemlab-probe-') as scratch:
		proc = subprocess.run(limits() + args(Path(scratch), '/scratch', []) + ['--', 'true'],
				      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
				      errors='replace', check=False)
	if proc.returncode != 0:
		said = (proc.stdout.strip().splitlines() or ['no message'])[-1]
		_probed = (f'bwrap cannot make a sandbox here ({said}); are unprivileged user namespaces '
			   'off (sysctl kernel.unprivileged_userns_clone)?')
	else:
		_probed = ''
		if memo:
			try:
				memo.parent.mkdir(parents=True, exist_ok=True)
				memo.touch()
			except OSError:
				pass	# probed again next time
	return _probed


# What decides whether bwrap can make its sandbox, besides bwrap itself.
USERNS_SYSCTLS = ('/proc/sys/kernel/unprivileged_userns_clone', '/proc/sys/user/max_user_namespaces',
		  '/proc/sys/kernel/apparmor_restrict_unprivileged_userns')


def probe_memo(bwrap: str) -> Path | None:
	"""Where a successful probe() is remembered (see there); None when the
	host's boot cannot be told apart (no boot_id)."""
	try:
		boot = Path('/proc/sys/kernel/random/boot_id').read_text().strip()
	except OSError:
		return None
	h = hashlib.sha256(f'{boot}\0{os.getuid()}\0'.encode())
	for f in (bwrap, shutil.which('prlimit') or '-'):
		try:
			st = os.stat(f)
			h.update(f'{f} {st.st_size} {st.st_mtime_ns}\0'.encode())
		except OSError:
			h.update(f'{f} -\0'.encode())
	for f in USERNS_SYSCTLS:
		try:
			h.update(f'{f}={Path(f).read_text().strip()}\0'.encode())
		except OSError:
			h.update(f'{f} -\0'.encode())
	return kmemlab_cache() / f'sandbox-probe-{h.hexdigest()[:16]}'


def kmemlab_cache() -> Path:
	"""kmemlab's cache (lab kernels, busybox, probes' answers), as
	qemu-env/lib.sh names it: $KMEMLAB_CACHE, else
	${XDG_CACHE_HOME:-~/.cache}/kmemlab."""
	return Path(os.environ.get('KMEMLAB_CACHE') or
		    Path(os.environ.get('XDG_CACHE_HOME') or Path.home() / '.cache') / 'kmemlab')
