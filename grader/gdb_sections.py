# SPDX-License-Identifier: GPL-2.0
"""Run inside gdb (make gdb's setup file sources it after vmlinux-gdb.py):
lx-symbols with every section of a module where the kernel put it.

Linux 6.12's lx-symbols (scripts/gdb/linux/symbols.py) runs
`add-symbol-file MODULE.ko TEXT -s .data ADDR ...` with .text and a few
data sections only. For a relocatable file gdb then puts the debug info of
every other code section, .init.text and .exit.text included, at the
address of .text: a module's init and exit functions seem to sit on top of
its first functions, a stop in kmemlab_hello_greet is shown as
kmemlab_hello_exit, and `break my_init` lands in .text. Passing the other
sections with -s is not enough: gdb (13) still reads their line and
function ranges relative to .text.

So this replaces LxSymbols.load_module_symbols: it reads where the kernel
placed each section of the module (struct module's sect_attrs, what
/sys/module/NAME/sections/ shows), writes a copy of the .ko whose section
headers carry those addresses (objcopy --change-section-address), and has
gdb read the copy with every section placed. The module the VM loaded is
not touched. The copies live in a private temporary folder, removed when
gdb exits.

In: the kernel's gdb scripts loaded (import linux.symbols). Out: lx-symbols
behaves as before, prints the same "loading @ADDR: FILE" line, and falls
back to the kernel's own way when objcopy fails (with a line saying so).
"""

import atexit
import itertools
import os
import shutil
import subprocess
import tempfile

import gdb
import linux.symbols
from linux import constants

_copies = tempfile.mkdtemp(prefix='kmemlab-gdb-')
atexit.register(shutil.rmtree, _copies, True)
_serial = itertools.count(1)
_kernels_way = linux.symbols.LxSymbols.load_module_symbols


def _placed(module) -> dict:
	"""Section name -> address, as the kernel placed them; .text first."""
	where = {'.text': int(module['mem'][constants.LX_MOD_TEXT]['base'])}
	try:
		attrs = module['sect_attrs'].dereference()
	except gdb.error:
		return where
	for n in range(int(attrs['nsections'])):
		attr = attrs['attrs'][n]
		where[attr['battr']['attr']['name'].string()] = int(attr['address'])
	return where


def _load_module_symbols(self, module):
	name = module['name'].string()
	path = self._get_module_file(name)
	if not path and not self.module_files_updated:
		self._update_module_files()
		path = self._get_module_file(name)
	if not path:
		gdb.write("no module object found for '{}'\n".format(name))
		return
	where = _placed(module)
	# A new name for every load: gdb may still hold an earlier copy open.
	copy = os.path.join(_copies, '{}.{}.ko'.format(os.path.basename(path)[:-3], next(_serial)))
	moves = [arg for section, addr in where.items()
		 for arg in ('--change-section-address', '{}={:#x}'.format(section, addr))]
	made = subprocess.run(['objcopy'] + moves + [path, copy], stdout=subprocess.PIPE,
			      stderr=subprocess.STDOUT, universal_newlines=True, check=False)
	if made.returncode != 0:
		gdb.write('objcopy could not place the sections of {} ({}); init and exit '
			  'functions may show at wrong addresses\n'.format(path, made.stdout.strip()[:200]))
		_kernels_way(self, module)
		return
	gdb.write('loading @{:#x}: {}\n'.format(where['.text'], path))
	others = ' '.join('-s {} {:#x}'.format(s, a) for s, a in where.items() if s != '.text')
	gdb.execute('add-symbol-file {} {:#x} {}'.format(copy, where['.text'], others), to_string=True)
	if name not in self.loaded_modules:
		self.loaded_modules.append(name)


linux.symbols.LxSymbols.load_module_symbols = _load_module_symbols
