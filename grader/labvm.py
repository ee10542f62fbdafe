# SPDX-License-Identifier: GPL-2.0
"""The lab's VM: its run directory and secret, its initramfs, booting it
while the student's module compiles, the receive protocol that hands the
module over, and reading what each VM left.

  LabVM(name, rubric, arch, flavour, kdir, bdir)
    .run(builds)      -> [boots.Boot]: the first VM, then the fresh VMs
                         that go on after a crash or hang (grader/boots.py);
                         or a Problem when the lab could not be built
    .start_run() / .end_run(): a private run dir and secret per VM
    .stage(), .mkinitramfs(), .vm_env(): what make shell and make gdb boot too

The protocol (qemu-env/init.sh's "receive" step): the VM boots with the
lab's suite and programs in its initramfs and a second serial port on a
Unix socket (connect()). Meanwhile the student's module is built; once it
has built and passed the deny list, its archive is made and, when the
guest writes "R" on that port, sent gzip-compressed as "<size>\\n" and
the bytes (send_when_asked()); the rubric's time limit counts from then.
Every VM has that port: STUCK_GRACE seconds before its limit the grader
writes "S" on it and the guest logs where its tasks wait (wait_asking()).
The results come back on the VM's third serial port, written only by /init and tagged
with the run's secret (docs/grading.md, "Results channel"), into the run
dir; the console log is build/<arch>-<flavour>/<src>/<lab>/serial.log.

EnvironmentFailure: the machine, not the student (QEMU missing or failing,
a results channel that stayed empty, a build tool missing).
"""

from __future__ import annotations

import concurrent.futures
import fcntl
import gzip
import hashlib
import importlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Sequence, Union

import build
import sandbox
import score
from labbuild import LabBuild
from outcome import Problem

if TYPE_CHECKING:	# annotations; imported while the VM boots (import_for_results)
	import boots

ROOT = Path(__file__).resolve().parent.parent
QEMU_ENV = ROOT / 'qemu-env'

# Seconds QEMU's backstop limit adds to the rubric's for the student's
# build, which runs while the VM boots (the sandbox's own build limit).
RECEIVE_ALLOWANCE = 300

# Seconds before a VM's limit at which the guest is asked for the kernel
# stacks of the tasks the lab may be waiting for (qemu-env/init.sh,
# stuck; ask_where_stuck()): the console then says where a hang waited.
# A VM that ends within them keeps its results; its console has the dump.
STUCK_GRACE = 3


# The kernels whose first VM may boot while the student's module builds
# and take it over the lab port (the "receive" step): the fast one, whose
# boot (0.6-1 s) hides the build. The others build first
# (LabVM.build_then_boot).
RECEIVE_FLAVOURS = ('fast',)
# What one instruction counts in a clock = "icount" lab's guest, by
# kernel (qemu-env/run-vm.sh, QEMU_ICOUNT_SHIFT): 64 ns on the fast one;
# QEMU's adaptive shift on the others, whose boot runs long stretches
# without a reschedule that a fixed 64 ns makes soft lockups.
ICOUNT_SHIFT = {'fast': '6'}
# First-VM archives kept per run folder (LabVM.mkinitramfs): the graded
# run's (the same whether the module is received or in the initramfs),
# a resumed VM's, make shell's.
KEEP_INITRDS = 3


class EnvironmentFailure(Exception):
	"""The machine, not the student: no lab can be graded."""


class LabVM:
	"""The VMs of one lab on one arch and kernel (kdir, flavour): bdir is
	the lab's run folder under build/ (staging, initramfs, serial log);
	test_glob, when set, is the TEST= glob the VM boots with."""

	def __init__(self, name: str, rubric: score.Rubric, arch: str, flavour: str, kdir: Path, bdir: Path):
		self.name = name
		self.rubric = rubric
		self.arch, self.flavour, self.kdir = arch, flavour, kdir
		self.bdir = bdir
		self.test_glob = ''
		# Per run: a private directory outside the build tree (which the
		# student's build can see) for the initramfs holding the secret
		# and for the results channel; removed when the run is read.
		self.run_dir: Optional[Path] = None
		self.timed_out = False	# the VM outlived the rubric's limit
		self.port: Optional[socket.socket] = None	# the first VM's lab port, when not received
		self.secret = ''
		self.channel = ''	# what the results channel said
		self.sent_at = 0.0	# when the first VM got the student's module (time.monotonic())

	def start_run(self) -> None:
		"""A fresh private directory and secret for one VM run."""
		self.timed_out = False
		self.run_dir = Path(tempfile.mkdtemp(prefix='kmemlab-run-'))
		self.secret = os.urandom(8).hex()	# as secrets.token_hex(8)
		fd = os.open(self.run_dir / 'secret', os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
		with os.fdopen(fd, 'w') as f:
			f.write(self.secret + '\n')

	def end_run(self) -> None:
		if self.run_dir:
			shutil.rmtree(self.run_dir, ignore_errors=True)
		self.run_dir = None

	def close_port(self) -> None:
		if self.port:
			self.port.close()
		self.port = None

	def port_path(self) -> str:
		"""The VM's lab port, its second serial port (ttyS1): a Unix
		socket in the run dir, for the receive step and the question
		where a hang waited (ask_where_stuck)."""
		return str(self.run_dir / 'lab.sock')

	def stage(self, name: str, kos: list[Path], programs: list[Path], steps: str = '') -> Path:
		"""A directory of what goes under /lab in the VM (symlinks)."""
		vm = self.bdir / name
		shutil.rmtree(vm, ignore_errors=True)
		vm.mkdir(parents=True)
		for ko in kos:
			(vm / ko.name).symlink_to(ko)
		if programs:
			(vm / 'bin').mkdir()
			for exe in programs:
				(vm / 'bin' / exe.name).symlink_to(exe)
		if steps:
			(vm / 'steps').write_text(steps)
		return vm

	def vm_env(self, limit: int, socket_path: str = '') -> dict[str, str]:
		"""qemu-env/run-vm.sh's settings for this lab's VM: its memory, its
		kernel arguments, QEMU's limit in seconds (0: none), the lab port's
		socket ('' none) and where the results channel goes (the run dir).
		make shell boots with these too (grader/shell.py)."""
		# The graded kernel poisons freed pages (0xaa, mm/page_poison.c):
		# memory handed out without zeroing then shows it.
		# The rubric's own kernel arguments (e.g. swiotlb=force) follow.
		# On x86_64 the graded kernel keeps four-level paging (no5lvl):
		# with KASAN and LA57 together, a timer interrupt that lands while
		# start_kernel identifies the CPU was reported as a KASAN
		# wild-memory-access in __common_interrupt (seen on about one boot
		# in ten here), before any lab code ran, and generic KASAN prints
		# only its first report. Five-level walks are checked on the fast
		# kernel (make check, and lab 04's graded la57 run).
		no5lvl = 'no5lvl' if self.flavour in score.DEBUG_FLAVOURS and self.arch == 'x86_64' else ''
		# With TEST=, KUnit runs only the matching cases (kunit_module_init)
		# and ktap_user.h's programs read the same parameter.
		only = f'kunit.filter_glob={self.test_glob}' if self.test_glob else ''
		append = ['page_poison=1' if self.flavour in score.DEBUG_FLAVOURS else '', no5lvl,
			  self.rubric.append.get(self.arch, ''), only, os.environ.get('QEMU_APPEND', '')]
		return dict(os.environ, QEMU_MEM=self.rubric.memory, QEMU_TIMEOUT=str(limit),
			    QEMU_LAB_SOCKET=socket_path, QEMU_APPEND=' '.join(filter(None, append)),
			    # The iommu kernel boots on q35 behind QEMU's Intel IOMMU.
			    QEMU_IOMMU='intel' if self.flavour == 'iommu' else '',
			    # The rubric's clock, unless the caller's environment says.
			    QEMU_ICOUNT=os.environ.get('QEMU_ICOUNT', '1' if self.rubric.clock == 'icount' else '0'),
			    QEMU_ICOUNT_SHIFT=os.environ.get('QEMU_ICOUNT_SHIFT', ICOUNT_SHIFT.get(self.flavour, 'auto')),
			    QEMU_RESULTS=str(self.run_dir / 'results.log'))

	def boot(self, initrd: Path, socket_path: str, receive: bool = False) -> subprocess.Popen:
		"""Start the VM, its lab port on socket_path (port_path()). When it
		receives the module (the receive protocol), QEMU's own limit is a
		backstop that also covers the student's build (the VM boots while
		it compiles); the rubric's limit is counted from the moment the
		module is sent (send_when_asked), so a slow or busy host does not
		time out a correct module. Otherwise the module is in the
		initramfs and the rubric's limit counts from the boot."""
		limit = self.rubric.timeout + (RECEIVE_ALLOWANCE if receive else 0)
		env = self.vm_env(limit, socket_path)
		return subprocess.Popen([QEMU_ENV / 'run-vm.sh', self.arch, str(self.kdir), str(initrd),
					 str(self.bdir / 'serial.log')], env=env, start_new_session=True)

	def late_archive(self, kos: list[Path]) -> bytes:
		"""What the receive step takes: the student's modules under /lab, a
		cpio archive written by the kernel tree's own gen_init_cpio,
		gzip-compressed (the serial port is the slow part, qemu-env/init.sh).
		One program, not mkinitramfs.sh's dozen: every process started
		beside the booting VM slowed it here (docs/performance.md)."""
		spec = ''.join(f'file /lab/{ko.name} {ko} 755 0 0\n' for ko in kos)
		cpio = subprocess.run([self.kdir / 'usr' / 'gen_init_cpio', '-'], input=spec.encode(),
				      capture_output=True, check=True).stdout
		return gzip.compress(cpio, 9, mtime=0)

	def mkinitramfs(self, vm: Path, out: Path, kos: Sequence[Path] = (), marked: bool = False) -> None:
		"""The VM's initramfs out: qemu-env/mkinitramfs.sh's archive of the
		staged folder vm (copy_kept_initramfs), then the run's secret and
		the modules kos under /lab (append_run_files; marked: with
		/lab/.in-initramfs, which tells the receive step they are there)."""
		self.copy_kept_initramfs(vm, out)
		self.append_run_files(out, kos, marked)

	def copy_kept_initramfs(self, vm: Path, out: Path) -> None:
		"""Copy mkinitramfs.sh's archive of the staged folder vm to out.

		That archive is made without the secret and kept in the lab's run
		folder, named by what it holds (initrd_key; the newest
		KEEP_INITRDS stay): a warm make check whose suite and steps did
		not change reuses it, and append_run_files() adds what changes
		from run to run. Saves the script's ~0.1 s. The kept archive
		(about 4 MB) is copied by the kernel (shutil.copyfile:
		sendfile(2)) in about 2 ms, where reading and writing it here
		took 15."""
		script = [QEMU_ENV / 'mkinitramfs.sh', self.arch, str(self.kdir), str(vm)]
		kept = self.bdir / f'initrd-{initrd_key(self.arch, vm)[:24]}.cpio'
		try:
			shutil.copyfile(kept, out)
		except FileNotFoundError:
			# Written aside and renamed: make shell or another grader of
			# the same folder may read or write one beside this one.
			tmp = kept.with_name(f'{kept.name}.tmp{os.getpid()}-{threading.get_ident()}')
			subprocess.run(script + [str(tmp)], check=True)
			shutil.copyfile(tmp, out)
			os.replace(tmp, kept)
			for old in sorted(self.bdir.glob('initrd-*.cpio'), key=mtime, reverse=True)[KEEP_INITRDS:]:
				old.unlink(missing_ok=True)	# the first VM's, a resumed VM's and make shell's stay

	def append_run_files(self, out: Path, kos: Sequence[Path] = (), marked: bool = False) -> None:
		"""Append to the initramfs out a second archive of the run's secret
		(/secret) and the modules kos (/lab/<name>, the student's, which
		change at every edit), made by the kernel tree's gen_init_cpio:
		the kernel unpacks concatenated archives in turn
		(init/initramfs.c), as mkinitramfs.sh's own base + lab do."""
		spec = f'file /secret {self.run_dir / "secret"} 400 0 0\n'
		spec += ''.join(f'file /lab/{ko.name} {ko} 755 0 0\n' for ko in kos)
		spec += 'dir /lab/.in-initramfs 755 0 0\n' if marked else ''
		run_files = subprocess.run([self.kdir / 'usr' / 'gen_init_cpio', '-'], check=True, capture_output=True,
					   input=spec.encode()).stdout
		with open(out, 'ab') as f:
			f.write(run_files)

	def build_and_boot(self, builds: LabBuild) -> tuple[Optional[Problem], Optional[subprocess.Popen]]:
		"""Build, and boot the VM: (None, the running VM) or (the problem, None).

		The suite and user programs are built from lab files only, once
		(then reused). On the fast kernel, when the student's sources
		changed since their last build, the VM boots with the suite while
		the module compiles (0.5-1.3 s here) and takes it over its second
		serial port once it has compiled and passed the deny list (the
		"receive" step): the boot (0.6-1 s) hides the build. A module
		built before (a run again without an edit, another TEST=) goes
		into the initramfs (build_then_boot), which costs nothing, where
		the receive step took 0.06 s (lab 00's 2 KB) to 0.24 s (lab 07's
		7 KB, under the instruction clock)."""
		try:
			problem = builds.build_suite()
		except build.Missing as e:
			raise EnvironmentFailure(str(e)) from e
		if problem:
			return problem, None
		if not self.receives or builds.student.built():
			return self.build_then_boot(builds)
		# The module build starts first, in a thread: the initramfs and
		# QEMU's start (about 0.1 s of the host's time) overlap it too.
		pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
		building = pool.submit(builds.build_student)
		proc = None
		try:
			vm = self.stage('vm', builds.suite.kos(), builds.suite.executables(), 'receive\n' + builds.steps())
			self.mkinitramfs(vm, self.run_dir / 'initrd.cpio')
			proc = self.boot(self.run_dir / 'initrd.cpio', self.port_path(), receive=True)
			import_for_results()
			# Connected before the guest asks: QEMU drops what a guest
			# writes to a socket port with nobody on the other end.
			sock = connect(proc, self.port_path())
			try:
				problem = building.result()
			except build.Missing as e:
				raise EnvironmentFailure(str(e)) from e
			if problem:
				stop(proc)
				return problem, None
			data = self.late_archive(builds.student.kos())
			checking = pool.submit(builds.check_student)	# sparse, while the VM runs the tests
			if sock:
				self.sent_at = time.monotonic()
				if not send_when_asked(proc, sock, data, self.rubric.timeout):
					self.timed_out = True
			problem = checking.result()
			if problem:	# sparse did not finish: no grade without its check
				stop(proc)
				return problem, None
		except BaseException:
			if proc is not None:
				stop(proc)
			raise
		finally:
			pool.shutdown(wait=True)
		return None, proc

	def build_then_boot(self, builds: LabBuild) -> tuple[Optional[Problem], Optional[subprocess.Popen]]:
		"""The graded kernels (not RECEIVE_FLAVOURS), and a module built
		before: the student's module first (then the build only finds
		its tree), then a VM with everything in its initramfs. Their boot
		takes seconds, the module build (build.Recipe) under one, and the
		serial port moves about 12 KiB/s into the guest: lab 07's 40 KiB
		debug module took 3 s or more to receive. The rubric's limit
		counts from the boot, as for the fresh VMs after a crash."""
		try:
			problem = builds.build_student()
		except build.Missing as e:
			raise EnvironmentFailure(str(e)) from e
		if problem:
			return problem, None
		# On the fast kernel the steps begin with "receive" all the same,
		# which finds the module there (/lab/.in-initramfs, init.sh): the
		# steps keep their numbers, and the kept archive is the one of the
		# run that receives.
		steps = ('receive\n' if self.receives else '') + builds.steps()
		vm = self.stage('vm', builds.suite.kos(), builds.suite.executables(), steps)
		self.mkinitramfs(vm, self.run_dir / 'initrd.cpio', builds.student.kos(), marked=self.receives)
		self.sent_at = time.monotonic()
		proc = self.boot(self.run_dir / 'initrd.cpio', self.port_path())
		try:
			self.port = connect(proc, self.port_path())
			import_for_results()
			problem = builds.check_student()	# sparse, while the VM boots
		except BaseException:
			stop(proc)
			self.close_port()
			raise
		if problem:	# sparse did not finish: no grade without its check
			stop(proc)
			self.close_port()
			return problem, None
		return None, proc

	@property
	def receives(self) -> bool:
		"""Whether the first VM boots while the module builds ("receive")."""
		return self.flavour in RECEIVE_FLAVOURS

	def run(self, builds: LabBuild) -> Union[Problem, list[boots.Boot]]:
		"""Build, boot, wait, read; after a crash or hang in a test, go on
		in fresh VMs (grader/boots.py). The problem that kept the lab from
		running, or every VM's Boot (plan, exit status, parsed run, logs)
		in order. Needs start_run() first; each fresh VM gets a run dir
		and secret of its own, and the first VM's secret is restored.

		Two gradings of one folder's lab on one kernel (two make checks
		in two terminals) share the run folder, its staging and its
		console log: the second waits for the first (flock on
		<run folder>/.vm.lock), and says so."""
		self.bdir.mkdir(parents=True, exist_ok=True)
		with open(self.bdir / '.vm.lock', 'w') as lock:
			try:
				fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
			except BlockingIOError:
				print(f'{self.name}: another grading of this folder\'s lab on the {self.flavour} kernel is '
				      'running: waiting for it to end', file=sys.stderr, flush=True)
				fcntl.flock(lock, fcntl.LOCK_EX)
			return self.run_locked(builds)

	def run_locked(self, builds: LabBuild) -> Union[Problem, list[boots.Boot]]:
		"""run(), the folder's lock held."""
		problem, proc = self.build_and_boot(builds)
		import boots	# imported while the VM booted (import_for_results)
		if problem:
			return problem
		start = self.sent_at or time.monotonic()
		if self.port:	# the module was in the initramfs: the limit counts from the boot
			status = wait_asking(proc, self.port, start + self.rubric.timeout)
			self.port = None
		else:	# received: send_when_asked() waited
			status = proc.wait()
		if self.timed_out:
			status = score.TIMEOUT_STATUS
		steps = builds.steps()
		modules = [k.stem for k in builds.suite.kos()]
		chains = builds.chains()
		plan = boots.first_plan(steps, list(self.rubric.points), receive=self.receives)
		vms = [self.read_boot(plan, status, time.monotonic() - start, modules, chains)]
		first_secret = self.secret
		while boots.go_on(vms, self.rubric.timeout):
			plan = boots.next_plan(steps, plan, vms[-1].run, vms[-1].crash,
					       builds.suite.modules, self.test_glob)
			self.end_run()
			self.start_run()
			vm = self.stage('vm-resume', builds.suite.kos(), builds.suite.executables(), plan.text)
			vms.append(self.resume_boot(vm, builds.student.kos(), plan, modules, chains))
		self.secret = first_secret	# the first VM's, with its logs (result.serial)
		return vms

	def read_boot(self, plan: boots.Plan, status: int, seconds: float, modules: list[str],
		      chains: dict[str, set[str]]) -> boots.Boot:
		"""Read what one VM left (the run dir's channel, the console log):
		its Boot, with the parsed run and, unless its results are void,
		the test it crashed in (boots.crash). modules: the lab's suite
		modules; chains: LabBuild.chains()."""
		import boots
		import vmlog
		log = self.bdir / 'serial.log'
		read = lambda p: p.read_text(errors='replace') if p.exists() else ''  # noqa: E731
		serial, qemu = read(log), read(Path(f'{log}.qemu'))
		self.channel = read(self.run_dir / 'results.log')
		if status not in (0, score.TIMEOUT_STATUS) and not serial:
			raise EnvironmentFailure(f'QEMU failed to start (exit status {status}): {qemu.strip()[:300]}')
		if not self.channel.strip() and 'kmemlab: step 1 begin' in serial:
			# /init writes the channel before it loads anything: the port
			# itself failed (no ttyS2 in the guest, QEMU could not write).
			raise EnvironmentFailure('the VM ran but its results channel (ttyS2) stayed empty')
		run = vmlog.parse(serial, qemu, self.channel, self.secret, suite_modules=modules)
		got = run.steps[0] if run.steps else None
		if got and got.verb == 'receive' and got.rc not in (None, 0):
			# The grader's own archive, before any lab module loaded: the
			# port or the guest's tools failed, not the student.
			said = '; '.join(got.output[-2:]) or f'exit status {got.rc}'
			raise EnvironmentFailure(f'the VM did not receive the module over its lab port ({said})')
		boot = boots.Boot(plan, run, status, seconds, serial=serial, channel=self.channel, qemu=qemu,
				  secret=self.secret)
		if not score.forged_reasons(self.rubric, run):
			boot.crash = boots.crash(plan, run, status, modules, chains)
		return boot

	def resume_boot(self, vm: Path, kos: Sequence[Path], plan: boots.Plan, modules: list[str],
			chains: dict[str, set[str]]) -> boots.Boot:
		"""A fresh VM that goes on after a crash: vm is its staged /lab
		(the suite's modules and the programs, no "receive", plan's
		steps), kos the student's modules; the lab's time limit."""
		self.mkinitramfs(vm, self.run_dir / 'initrd.cpio', kos)
		env = self.vm_env(self.rubric.timeout, self.port_path())
		start = time.monotonic()
		proc = subprocess.Popen([QEMU_ENV / 'run-vm.sh', self.arch, str(self.kdir), str(self.run_dir / 'initrd.cpio'),
					 str(self.bdir / 'serial.log')], env=env, start_new_session=True)
		try:
			status = wait_asking(proc, connect(proc, self.port_path()), start + self.rubric.timeout)
		except BaseException:
			stop(proc)
			raise
		return self.read_boot(plan, status, time.monotonic() - start, modules, chains)


def mtime(p: Path) -> float:
	try:
		return p.stat().st_mtime
	except FileNotFoundError:
		return 0.0


def initrd_key(arch: str, vm: Path) -> str:
	"""What mkinitramfs.sh's archive of the staged folder vm depends on:
	each entry's name, a link's target with its size and mtime, a file's
	bytes (the steps), the scripts, and the busybox candidates of
	qemu-env/lib.sh's busybox_for (their size and mtime). A sha256 hex."""
	h = hashlib.sha256(f'{arch}\0'.encode())
	for p in sorted(vm.rglob('*')):
		h.update(str(p.relative_to(vm)).encode() + b'\0')
		if p.is_symlink():
			st = p.stat()
			h.update(f'{os.readlink(p)} {st.st_size} {st.st_mtime_ns}\0'.encode())
		elif p.is_file():
			h.update(p.read_bytes() + b'\0')
	cache = sandbox.kmemlab_cache()
	prebuilt = os.environ.get('KMEMLAB_PREBUILT', '')
	for f in (QEMU_ENV / 'mkinitramfs.sh', QEMU_ENV / 'init.sh', QEMU_ENV / 'lib.sh', Path('/bin/busybox'),
		  cache / 'busybox-i386' / 'bin' / 'busybox', Path(prebuilt) / f'busybox-{arch}' / 'bin' / 'busybox'):
		st = f.stat() if f.exists() else None
		h.update(f'{f} {st.st_size} {st.st_mtime_ns}\0'.encode() if st else f'{f} -\0'.encode())
	h.update(prebuilt.encode())
	return h.hexdigest()


def import_for_results() -> None:
	"""Import what only reading a finished VM needs (boots, vmlog and its
	patterns, the JSON and JUnit writers) while the VM boots, not before
	QEMU starts: about 0.03 s off every make check."""
	for name in ('json', 'xml.etree.ElementTree', 'boots', 'vmlog'):
		importlib.import_module(name)


def stop(proc: subprocess.Popen) -> None:
	"""End a VM started by LabVM.boot, QEMU and all."""
	try:
		os.killpg(proc.pid, signal.SIGKILL)
	except ProcessLookupError:
		pass
	proc.wait()


def connect(proc: subprocess.Popen, path: str) -> Optional[socket.socket]:
	"""Connect to the VM's second serial port as soon as QEMU offers it."""
	sock = socket.socket(socket.AF_UNIX)
	while proc.poll() is None:
		try:
			sock.connect(path)
			return sock
		except OSError:
			time.sleep(0.01)
	sock.close()
	return None


def send_when_asked(proc: subprocess.Popen, sock: socket.socket, data: bytes, seconds: int) -> bool:
	"""Give the VM's "receive" step its archive: wait for the guest's "R",
	then send "<size>\\n" and the bytes, and give the VM `seconds` from
	then on to finish. False when it did not: the VM is stopped (a time-out).
	If the VM ends first (it crashed while booting) the socket closes,
	nothing is sent, and the console log says why."""
	with sock:
		try:
			if sock.recv(1) != b'R':
				return True
			sock.sendall(b'%d\n' % len(data) + data)
		except OSError:
			return True
		# Hold the connection until QEMU has passed it all on.
		status = wait_asking(proc, sock, time.monotonic() + seconds, backstop=False)
	return status is not None


def ask_where_stuck(sock: Optional[socket.socket]) -> None:
	"""Ask the guest to log where its tasks wait ("S" on the lab port:
	qemu-env/init.sh, stuck), when the VM is about to hit its limit."""
	try:
		if sock:
			sock.sendall(b'S\n')
	except OSError:
		pass	# the guest is gone, or never listened


def wait_asking(proc: subprocess.Popen, sock: Optional[socket.socket], deadline: float,
		backstop: bool = True) -> Optional[int]:
	"""Wait for the VM to end by deadline (time.monotonic()), asking it
	STUCK_GRACE seconds before where its tasks wait (ask_where_stuck).
	backstop: run-vm.sh's own limit ends the VM at the deadline, whose
	exit status (score.TIMEOUT_STATUS then) is returned; else the VM is
	stopped here at the deadline, and None returned. Closes sock."""
	try:
		try:
			return proc.wait(timeout=max(deadline - STUCK_GRACE - time.monotonic(), 0))
		except subprocess.TimeoutExpired:
			ask_where_stuck(sock)
		if backstop:
			return proc.wait()
		try:
			return proc.wait(timeout=max(deadline - time.monotonic(), 0))
		except subprocess.TimeoutExpired:
			stop(proc)
			return None
	finally:
		if sock:
			sock.close()
