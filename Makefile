# SPDX-License-Identifier: GPL-2.0
#
# kmemlab - graded Linux kernel memory-management and driver labs.
# `make help` lists the targets. Every target that boots a VM first makes
# sure the lab kernel is built (once; it is cached outside the repo).

# Empty ARCH: each lab on its own default arch (the first in its rubric).
ARCH	?=
SRC	?= skel
LAB	?=
# Debian's own python3 (make deps installs it) when there is one: a
# version manager's shim first on PATH (pyenv) costs about a second per
# call, and make check calls python once per run.
PYTHON	?= $(firstword $(wildcard /usr/bin/python3) python3)
# The grader's compiled bytecode is kept, under build/ (not beside the
# sources), whatever the environment says: with PYTHONDONTWRITEBYTECODE
# set, every make check compiled the grader's modules afresh before its
# VM could start.
export PYTHONDONTWRITEBYTECODE :=
export PYTHONPYCACHEPREFIX := $(CURDIR)/build/pycache

# make check: the fast kernel (seconds); DEBUG=1 or make grade: the
# debug kernel (KASAN, kmemleak, lockdep, DMA-API checks), as graded.
ifeq ($(DEBUG),1)
CHECK_FLAVOUR := debug
else
CHECK_FLAVOUR := fast
endif

comma := ,
labs_arg := $(foreach l,$(subst $(comma), ,$(LAB)),--lab $(l))
arch_arg := $(if $(ARCH),--arch $(ARCH))
# TEST=glob: only the tests "suite.case" it matches (KUnit's filter_glob).
test_arg := $(if $(TEST),--test '$(TEST)')
# RUN=name: only a rubric's [runs.name] (RUN=iommu: labs 07 and 08 behind
# an emulated IOMMU, on its own kernel); make grade grades every run anyway.
run_arg := $(if $(RUN),--run '$(RUN)')
# VMs at once (make test, make mutants): default the number of cores.
jobs_arg := $(if $(JOBS),--jobs $(JOBS))
# deps and kernel: the arch asked for, or both (labs default to either).
arches := $(or $(ARCH),x86_64 i386)
# The student edition (make dist) has no solutions/: there make test runs
# tests/student.py, and the targets that need the solutions are not there.
EDITION := $(if $(wildcard solutions/.),full,student)

.PHONY: help deps deps-checked kernel check shell gdb grade grade-class test test-quick mutants skels bench dist autograder prebuilt clean

help:
	@echo 'kmemlab: graded kernel memory-management and driver labs'
	@echo
	@echo '  make check LAB=NN        build lab NN from skel/, run it in the VM (fast kernel),'
	@echo '                           show every failure; exit 0 only when all tests pass'
	@echo '  make check LAB=NN DEBUG=1  the same on the debug kernel, as graded'
	@echo '  make check LAB=NN TEST=glob  only the tests glob matches: suite.case, as KUnit'"'"'s'
	@echo '                           filter_glob (TEST='"'"'kmemlab_hello.*'"'"'); the others are left out'
	@echo '  make check LAB=07 RUN=iommu  the lab'"'"'s iommu run: x86_64 behind an emulated IOMMU'
	@echo '                           (labs 07 and 08; its own kernel, built on first use)'
	@echo '  make shell LAB=NN        a shell in the lab'"'"'s VM: your module loaded (LOAD=0: not),'
	@echo '                           the lab'"'"'s programs on the PATH; exit or Ctrl-D powers it off'
	@echo '  make gdb LAB=NN          the lab'"'"'s VM under gdb, held at its first instruction: the'
	@echo '                           kernel'"'"'s gdb scripts (lx-symbols, lx-dmesg) and your module'"'"'s'
	@echo '                           symbols, so "break your_function" works; quit ends the VM'
	@echo '                           (a debug-info kernel, built once on first use: docs/kernel.md)'
	@echo '  make grade               grade every lab (debug kernel, and the runs a rubric names,'
	@echo '                           e.g. iommu): score table, results/results.json (Gradescope),'
	@echo '                           results/junit.xml'
ifeq ($(EDITION),full)
	@echo '  make grade-class SUBMISSIONS=dir [LAB=NN] [JOBS=n]  grade a class: dir/<student>/ or'
	@echo '                           <student>.zip each; gradebook.csv and per-student results'
	@echo '                           in results/class (OUT=dir); a re-run grades only what changed;'
	@echo '                           FLAVOUR=fast: the fast kernel, a quick look (not the grade)'
	@echo '  make test                kmemlab'"'"'s own tests: solutions earn full marks, skeletons'
	@echo '                           do not, mistakes lose points, grader unit tests'
	@echo '  make mutants             grade every typical mistake (kunit/*/mutants.toml): killed/total per lab'
	@echo '  make skels               regenerate skel/ from solutions/'
	@echo '  make dist DEST=dir       write the student edition to dir: no solutions, no'
	@echo '                           typical mistakes, no hidden tests (dist/export.py)'
	@echo '  make autograder LAB=NN [OUT=file.zip]  a Gradescope autograder for lab NN: the grader,'
	@echo '                           the lab'"'"'s suite and its prebuilt debug kernel (docs/courses.md)'
	@echo '  make prebuilt [ARCH=..] [OUT=file.tar.gz]  the graded kernels, prebuilt, for machines'
	@echo '                           without linux-source-6.12 (GitHub Classroom, docs/courses.md)'
else
	@echo '  make test                check this tree: grader unit tests, every lab'"'"'s skeleton'
	@echo '                           builds and runs (an untouched one scores below full marks)'
endif
	@echo '  make kernel              build (or find cached) the lab kernels (ARCH, or both)'
	@echo '  make deps                install missing Debian packages (as root)'
ifeq ($(EDITION),full)
	@echo '  make bench [PART=loop,labs,costs,throughput]  measure the student loop of every lab,'
	@echo '                           the cost of the safeguards, labs graded per hour (docs/performance.md)'
endif
	@echo '  make clean               remove build/ and results/ (the kernel cache stays)'
	@echo
ifeq ($(EDITION),full)
	@echo 'Variables: LAB=NN[,NN] ARCH=x86_64|i386 (default: each lab'"'"'s own) SRC=skel|solutions|DIR DEBUG=1'
	@echo '           TEST=suite.case glob (check, grade) RUN=iommu (check, grade) LOAD=0 (shell)'
else
	@echo 'Variables: LAB=NN[,NN] ARCH=x86_64|i386 (default: each lab'"'"'s own) SRC=skel|DIR DEBUG=1'
	@echo '           TEST=suite.case glob (check, grade) RUN=iommu (check, grade) LOAD=0 (shell)'
endif
	@echo 'Kernel cache: $${KMEMLAB_CACHE:-~/.cache/kmemlab}; KERNEL_TARBALL=... for other distros.'

deps:
	@qemu-env/deps.sh $(arches)

# make check's deps: qemu-env/deps.sh only when something it looks at
# changed since it last passed for these arches (a stamp under build/):
# dpkg's database (a package installed or removed), the script and its
# lib.sh, and the i386 busybox it unpacks into the cache (or the one
# KMEMLAB_PREBUILT brings). Otherwise its dozen programs
# ran before every check's VM could start. make deps always runs it.
empty :=
space := $(empty) $(empty)
deps_stamp := build/deps/$(subst $(space),+,$(arches))$(if $(KMEMLAB_PREBUILT),-prebuilt)$(if $(KERNEL_TARBALL),-tarball)

deps-checked:
	@s='$(deps_stamp)'; bb="$${KMEMLAB_CACHE:-$${XDG_CACHE_HOME:-$$HOME/.cache}/kmemlab}/busybox-i386/bin/busybox"; \
	if [ "$$s" -nt /var/lib/dpkg/status ] && [ "$$s" -nt qemu-env/deps.sh ] && [ "$$s" -nt qemu-env/lib.sh ] && \
		case ' $(arches) ' in *' i386 '*) [ -x "$${KMEMLAB_PREBUILT:-/nonexistent}/busybox-i386/bin/busybox" ] || [ -x "$$bb" ] ;; esac; then :; \
	else qemu-env/deps.sh $(arches) && mkdir -p build/deps && touch "$$s"; fi

kernel: deps
	@for a in $(arches); do for f in fast debug; do \
		qemu-env/build-kernel.sh $$a $$f >/dev/null || exit 1; done; done

check: deps-checked
	@if [ -z "$(LAB)" ]; then echo 'make check needs LAB=NN (e.g. make check LAB=01)'; exit 2; fi
	@if [ ! -d '$(SRC)' ]; then echo 'make check: there is no submission $(SRC) (no such folder)'; exit 2; fi
	@$(PYTHON) grader/grade.py --check $(arch_arg) --flavour $(CHECK_FLAVOUR) --src $(SRC) $(labs_arg) $(test_arg) $(run_arg)

shell: deps
	@if [ -z "$(LAB)" ]; then echo 'make shell needs LAB=NN (e.g. make shell LAB=05)'; exit 2; fi
	@if [ ! -d '$(SRC)' ]; then echo 'make shell: there is no submission $(SRC) (no such folder)'; exit 2; fi
	@$(PYTHON) grader/shell.py $(arch_arg) --flavour $(CHECK_FLAVOUR) --src $(SRC) --lab '$(LAB)' \
		$(if $(filter 0,$(LOAD)),--no-load)

# The gdb kernel (qemu-env/config/gdb.config) is built on first use only.
gdb:
	@qemu-env/deps.sh $(arches) gdb
	@if [ -z "$(LAB)" ]; then echo 'make gdb needs LAB=NN (e.g. make gdb LAB=00)'; exit 2; fi
	@if [ ! -d '$(SRC)' ]; then echo 'make gdb: there is no submission $(SRC) (no such folder)'; exit 2; fi
	@$(PYTHON) grader/gdbvm.py $(arch_arg) --src $(SRC) --lab '$(LAB)'

grade: deps
	@$(PYTHON) grader/grade.py $(arch_arg) --flavour debug --src $(SRC) $(labs_arg) $(test_arg) $(run_arg)

ifeq ($(EDITION),full)
grade-class: deps
	@if [ -z "$(SUBMISSIONS)" ]; then echo 'make grade-class needs SUBMISSIONS=dir (one folder or archive per student)'; exit 2; fi
	@$(PYTHON) grader/grade_class.py '$(SUBMISSIONS)' $(labs_arg) $(jobs_arg) $(if $(OUT),--out '$(OUT)') \
		$(if $(FLAVOUR),--flavour '$(FLAVOUR)')

test:
	@qemu-env/deps.sh x86_64 i386 gdb
	@$(PYTHON) tests/run.py $(labs_arg) $(jobs_arg)

mutants: deps
	@$(PYTHON) tests/run.py --mutants $(arch_arg) $(labs_arg) $(jobs_arg)

test-quick: deps
	@$(PYTHON) tests/run.py --quick $(arch_arg) $(labs_arg) $(jobs_arg)

skels:
	@$(PYTHON) skelgen/skelgen.py

bench: deps
	@$(PYTHON) bench/bench.py $(foreach p,$(subst $(comma), ,$(PART)),--part $(p)) $(jobs_arg)

dist:
	@$(PYTHON) dist/export.py '$(DEST)'

autograder: deps
	@if [ -z "$(LAB)" ]; then echo 'make autograder needs LAB=NN (e.g. make autograder LAB=01)'; exit 2; fi
	@$(PYTHON) grader/bundle.py --lab '$(LAB)' $(arch_arg) $(if $(OUT),--out '$(OUT)')

prebuilt: deps
	@$(PYTHON) grader/bundle.py --prebuilt '$(or $(OUT),build/kmemlab-prebuilt.tar.gz)' $(arch_arg)
else
test: deps
	@$(PYTHON) tests/student.py $(arch_arg) $(labs_arg)

test-quick mutants skels bench dist:
	@echo 'make $@: not in the student edition (it needs the solutions)'; exit 2
endif

clean:
	rm -rf build results
