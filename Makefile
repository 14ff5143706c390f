# wcard: multi-field packet classification in eBPF.
#   make            build everything into build/ (installs missing Debian packages first)
#   make test       Criterion suite (BPF_PROG_TEST_RUN against a userspace reference),
#                   each fuzz target for FUZZ_CI_TIME (25) seconds, the suite
#                   again with ASan + UBSan (build/asan), and part of the BPF
#                   suites on Linux 5.10 under qemu (make vmtest)
#   make fuzz       each libFuzzer target for FUZZ_TIME (300) seconds
#   make stress     the concurrency tests at full size
#   make demo       generate rules and a trace, classify through XDP, check, summarize
#   make bench      trace-driven lookup benchmark (QUICK=1: short); make readme-results
#                   copies its figures into README.md
#   make vmlinux    regenerate vmlinux/$(ARCH)/vmlinux.h from the running kernel's BTF
#   make vmtest     the BPF suites in Debian's kernels under qemu (KERNEL=5.10|6.1|6.12|all,
#                   default 5.10); make vmtest-table copies the results into README.md
#   make deps       install the Debian packages the project needs (only missing ones)
#   make install    CLI, libwcard (.a, .so), headers, BPF objects, wcard.pc, man page
#                   (PREFIX=/usr/local, DESTDIR= for staging)
# V=1 shows full commands.

BUILD ?= build
VERSION := 0.1.0
SOVERSION := 0
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCDIR ?= $(PREFIX)/include
BPFDIR ?= $(PREFIX)/share/wcard/bpf
MANDIR ?= $(PREFIX)/share/man
ARCH ?= x86
CLANG ?= clang-19
BPFTOOL ?= bpftool
CC ?= gcc
PKG_CONFIG ?= pkg-config

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

INCLUDES := -Iinclude -I$(BUILD) -I$(BUILD)/include
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) $(INCLUDES) -Ivmlinux/$(ARCH) \
	-Wall -Wno-unused-function -Werror
# The examples build on the UAPI <linux/bpf.h> instead of vmlinux.h: the public
# headers must work with either. Debian keeps <asm/types.h> under the multiarch dir.
UAPI_INC := $(addprefix -I,$(wildcard /usr/include/$(shell uname -m)-linux-gnu))
EXAMPLE_BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 $(INCLUDES) $(UAPI_INC) -Wall \
	-Wno-unused-function -Werror
# Recursive (=) so pkg-config runs after `deps` has installed it.
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags libbpf zlib)
PKG_LIBS = $(shell $(PKG_CONFIG) --libs libbpf zlib)
XDP_CFLAGS = $(shell $(PKG_CONFIG) --cflags libxdp)
XDP_LIBS = $(shell $(PKG_CONFIG) --libs libxdp)
CRIT_CFLAGS = $(shell $(PKG_CONFIG) --cflags criterion)
CRIT_LIBS = $(shell $(PKG_CONFIG) --libs criterion)
WARN := -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
CFLAGS ?= -O2 -g
ifeq ($(SANITIZE),1)
# UB is fatal (no recover): a sanitizer finding fails the test instead of scrolling by.
CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif
USER_CFLAGS = $(CFLAGS) $(WARN) -fPIC -std=gnu11 $(INCLUDES) -Iuser $(PKG_CFLAGS)
# libwcard's own objects: only what the public headers mark WCARD_API is
# visible outside the library (user/libwcard.map says the same to the linker).
LIB_CFLAGS = $(USER_CFLAGS) -fvisibility=hidden

DEPS_STAMP := $(BUILD)/.deps-ok
# Shipped BPF objects (bpf/): the XDP filter and the LPM lookups, whose
# skeletons libwcard embeds; libwcard.bpf.o has rules of its own below.
BPF_PROGS := wcard_xdp wcard_lpm4
BENCH_BPF := wcard_bench
SKELS := $(patsubst %,$(BUILD)/%.skel.h,$(BPF_PROGS) $(BENCH_BPF)) \
	$(patsubst %,$(BUILD)/compat/%.skel.h,$(BPF_PROGS) $(BENCH_BPF)) \
	$(BUILD)/include/wcard/libwcard.subskel.h
# Test-only BPF programs (tests/progs), built both ways like the shipped ones
# but never installed: the tests and fuzz targets include their skeletons.
TEST_BPF := $(patsubst tests/progs/%.bpf.c,%,$(wildcard tests/progs/*.bpf.c))
TEST_SKELS := $(patsubst %,$(BUILD)/%.skel.h,$(TEST_BPF)) \
	$(patsubst %,$(BUILD)/compat/%.skel.h,$(TEST_BPF))
# The BPF library for static linking, and the example built both ways with it.
EXAMPLES := $(BUILD)/libwcard.bpf.o $(BUILD)/examples/blocklist_hdr.bpf.o \
	$(BUILD)/examples/blocklist_link.bpf.o $(BUILD)/examples/blocklist \
	$(BUILD)/compat/libwcard.bpf.o $(BUILD)/compat/examples/blocklist_hdr.bpf.o \
	$(BUILD)/compat/examples/blocklist_link.bpf.o
# libwcard: one folder per subsystem, in the order they build on each other
# (README, Layout). The test kit (user/testkit: the reference classifier,
# frames, generated sets) is linked by the tests, the bench and the CLI, and
# never installed.
LIB_DIRS := core rules tm lpm clf
LIB_SRCS := $(foreach d,$(LIB_DIRS),$(wildcard user/$(d)/*.c))
LIB_OBJS := $(patsubst user/%.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
TESTKIT_SRCS := $(wildcard user/testkit/*.c)
TESTKIT_OBJS := $(patsubst user/%.c,$(BUILD)/obj/%.o,$(TESTKIT_SRCS))
CLI_SRCS := $(wildcard user/cli/*.c)
CLI_OBJS := $(patsubst user/cli/%.c,$(BUILD)/obj/cli/%.o,$(CLI_SRCS))
TEST_SRCS := $(wildcard tests/*.c)
TEST_OBJS := $(patsubst tests/%.c,$(BUILD)/obj/tests/%.o,$(TEST_SRCS))
HDRS := $(wildcard include/wcard/*.h)
USER_HDRS := $(foreach d,$(LIB_DIRS) testkit,$(wildcard user/$(d)/*.h))
CLI_HDRS := $(wildcard user/cli/*.h)

.PHONY: all deps test test-suite stress demo bench vmlinux clean format install uninstall fuzz \
	fuzz-seeds \
	readme-results vmtest vmtest-ci vmtest-kernels vmtest-table
.DELETE_ON_ERROR:
.SECONDARY:

all: $(BUILD)/wcard $(BUILD)/libwcard.a $(BUILD)/libwcard.so $(BUILD)/tests/wcard-tests \
	$(BUILD)/wcard.1 \
	$(BUILD)/wcard-bench $(EXAMPLES) $(SKELS) $(TEST_SKELS)

deps: $(DEPS_STAMP)
$(DEPS_STAMP): scripts/deps.sh
	$(call msg,DEPS,checking Debian packages)
	$(Q)scripts/deps.sh
	$(Q)mkdir -p $(BUILD) && touch $@

vmlinux: $(DEPS_STAMP)
	$(call msg,GEN,vmlinux/$(ARCH)/vmlinux.h)
	$(Q)mkdir -p vmlinux/$(ARCH)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/$(ARCH)/vmlinux.h

# BPF: clang -> bpftool gen object (static link step, also for single objects) -> skeleton
$(BUILD)/%.tmp.bpf.o: bpf/%.bpf.c $(HDRS) | $(DEPS_STAMP)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@
$(BUILD)/%.tmp.bpf.o: bench/%.bpf.c $(HDRS) | $(DEPS_STAMP)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@
$(BUILD)/%.tmp.bpf.o: tests/progs/%.bpf.c $(HDRS) | $(DEPS_STAMP)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@
$(BUILD)/%.bpf.o: $(BUILD)/%.tmp.bpf.o
	$(call msg,GEN-OBJ,$@)
	$(Q)$(BPFTOOL) gen object $@ $<
$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $* > $@
# The compat build of every BPF object, for kernels without open-coded
# iterators (WCARD_COMPAT, include/wcard/compat.bpf.h), in $(BUILD)/compat/.
# libwcard opens a skeleton with these ELF bytes when the probe says so, so a
# compat object must match the default one in maps, programs and globals: the
# skeletons' structs are compared when the compat one is made.
$(BUILD)/compat/%.tmp.bpf.o: bpf/%.bpf.c $(HDRS) | $(DEPS_STAMP)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -DWCARD_COMPAT -c $< -o $@
$(BUILD)/compat/%.tmp.bpf.o: bench/%.bpf.c $(HDRS) | $(DEPS_STAMP)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -DWCARD_COMPAT -c $< -o $@
$(BUILD)/compat/%.tmp.bpf.o: tests/progs/%.bpf.c $(HDRS) | $(DEPS_STAMP)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -DWCARD_COMPAT -c $< -o $@
$(BUILD)/compat/%.skel.h: $(BUILD)/compat/%.bpf.o $(BUILD)/%.skel.h
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_compat > $@.tmp
	$(Q)scripts/skel-match.sh $* $@.tmp $(BUILD)/$*.skel.h || { rm -f $@.tmp; exit 1; }
	$(Q)mv $@.tmp $@

# libwcard.bpf.o's maps and constants inside whatever object links it.
$(BUILD)/include/wcard/libwcard.subskel.h: $(BUILD)/libwcard.bpf.o
	$(call msg,GEN-SUB,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(BPFTOOL) gen subskeleton $< name wcard > $@

# One source, two builds: the headers alone, and statically linked with libwcard.bpf.o
# (WCARD_LINK_LIB: the headers only declare wcard's global subprograms).
$(BUILD)/examples/%.hdr.tmp.bpf.o: examples/*/%.bpf.c $(HDRS) | $(DEPS_STAMP)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(EXAMPLE_BPF_CFLAGS) -c $< -o $@
$(BUILD)/examples/%.link.tmp.bpf.o: examples/*/%.bpf.c $(HDRS) | $(DEPS_STAMP)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(EXAMPLE_BPF_CFLAGS) -DWCARD_LINK_LIB -c $< -o $@
$(BUILD)/examples/%_hdr.bpf.o: $(BUILD)/examples/%.hdr.tmp.bpf.o
	$(call msg,GEN-OBJ,$@)
	$(Q)$(BPFTOOL) gen object $@ $<
$(BUILD)/examples/%_link.bpf.o: $(BUILD)/examples/%.link.tmp.bpf.o $(BUILD)/libwcard.bpf.o
	$(call msg,GEN-OBJ,$@)
	$(Q)$(BPFTOOL) gen object $@ $^
# And both again as compat builds, in $(BUILD)/compat/examples.
$(BUILD)/compat/examples/%.hdr.tmp.bpf.o: examples/*/%.bpf.c $(HDRS) | $(DEPS_STAMP)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(EXAMPLE_BPF_CFLAGS) -DWCARD_COMPAT -c $< -o $@
$(BUILD)/compat/examples/%.link.tmp.bpf.o: examples/*/%.bpf.c $(HDRS) | $(DEPS_STAMP)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(EXAMPLE_BPF_CFLAGS) -DWCARD_COMPAT -DWCARD_LINK_LIB -c $< -o $@
$(BUILD)/compat/examples/%_hdr.bpf.o: $(BUILD)/compat/examples/%.hdr.tmp.bpf.o
	$(call msg,GEN-OBJ,$@)
	$(Q)$(BPFTOOL) gen object $@ $<
$(BUILD)/compat/examples/%_link.bpf.o: $(BUILD)/compat/examples/%.link.tmp.bpf.o \
		$(BUILD)/compat/libwcard.bpf.o
	$(call msg,GEN-OBJ,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

$(BUILD)/obj/%.o: user/%.c $(HDRS) $(USER_HDRS) $(SKELS) | $(DEPS_STAMP)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LIB_CFLAGS) -c $< -o $@
$(BUILD)/obj/cli/%.o: user/cli/%.c $(HDRS) $(CLI_HDRS) bench/harness.h | $(DEPS_STAMP)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(USER_CFLAGS) $(XDP_CFLAGS) -Ibench -c $< -o $@
$(BUILD)/obj/tests/%.o: tests/%.c tests/*.h $(HDRS) $(USER_HDRS) $(SKELS) $(TEST_SKELS) | \
		$(DEPS_STAMP)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(USER_CFLAGS) $(CRIT_CFLAGS) -Itests -c $< -o $@
$(BUILD)/obj/bench/%.o: bench/%.c bench/harness.h $(HDRS) $(SKELS) | $(DEPS_STAMP)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(USER_CFLAGS) -c $< -o $@

# The archive holds one object, its internal symbols made local, so that an
# application's own names never meet libwcard's (as the .so's version script
# does for dynamic linking). The tests link $(LIB_OBJS) directly.
$(BUILD)/libwcard.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)$(LD) -r -o $(BUILD)/obj/libwcard.o $^
	$(Q)objcopy --localize-hidden $(BUILD)/obj/libwcard.o
	$(Q)rm -f $@ && ar rcs $@ $(BUILD)/obj/libwcard.o
$(BUILD)/libwcard.so: $(LIB_OBJS) user/libwcard.map
	$(call msg,LD,$@)
	$(Q)$(CC) -shared $(LDFLAGS) -Wl,-soname,libwcard.so.$(SOVERSION) \
		-Wl,--version-script=user/libwcard.map -o $@ $(LIB_OBJS) $(PKG_LIBS)
$(BUILD)/libwcard-testkit.a: $(TESTKIT_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^
# The CLI carries the benchmark engine for `wcard bench`.
$(BUILD)/wcard: $(CLI_OBJS) $(BUILD)/obj/bench/harness.o $(BUILD)/obj/bench/twin.o \
		$(BUILD)/libwcard-testkit.a \
		$(BUILD)/libwcard.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(XDP_LIBS) $(PKG_LIBS) -lpthread -lm
# The example's user half: loads either build of blocklist.bpf.o and fills it.
$(BUILD)/examples/blocklist: examples/blocklist/blocklist.c $(HDRS) $(SKELS) $(BUILD)/libwcard.a
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(USER_CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libwcard.a $(PKG_LIBS)
# The manual page comes from the CLI's own command table (wcard help --man).
$(BUILD)/wcard.1: $(BUILD)/wcard
	$(call msg,GEN,$@)
	$(Q)$(BUILD)/wcard help --man > $@
$(BUILD)/tests/wcard-tests: $(TEST_OBJS) $(TESTKIT_OBJS) $(LIB_OBJS)
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CRIT_LIBS) -lpthread
$(BUILD)/wcard-bench: $(BUILD)/obj/bench/bench.o $(BUILD)/obj/bench/harness.o $(BUILD)/obj/bench/cli.o \
		$(BUILD)/obj/bench/twin.o \
		$(BUILD)/libwcard-testkit.a $(BUILD)/libwcard.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) -lm -lpthread

# ---- fuzzing: libFuzzer targets (tests/fuzz), clang with ASan and UBSan -------
# make fuzz runs each target FUZZ_TIME seconds on its committed seeds
# (tests/fuzz/corpus/NAME) and what it found before ($(BUILD)/fuzz/corpus/NAME);
# crashes land in $(BUILD)/fuzz/crashes. make test runs it for FUZZ_CI_TIME.
FUZZ_TARGETS := rules routes parse tm
FUZZ_TIME ?= 300
FUZZ_CI_TIME ?= 25
FUZZ_DIR := $(BUILD)/fuzz
FUZZ_CFLAGS := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined $(WARN) -std=gnu11 $(INCLUDES) -Iuser $(PKG_CFLAGS) -Itests
FUZZ_LIB_OBJS := $(patsubst user/%.c,$(FUZZ_DIR)/obj/%.o,$(LIB_SRCS) $(TESTKIT_SRCS)) \
	$(FUZZ_DIR)/obj/ref_parse.o
FUZZ_BINS := $(patsubst %,$(FUZZ_DIR)/fuzz_%,$(FUZZ_TARGETS))

$(FUZZ_DIR)/obj/%.o: user/%.c $(HDRS) $(USER_HDRS) $(SKELS) | $(DEPS_STAMP)
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@
$(FUZZ_DIR)/obj/ref_parse.o: tests/ref_parse.c tests/ref_parse.h $(HDRS) | $(DEPS_STAMP)
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@
$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h tests/wctest.h $(FUZZ_LIB_OBJS) $(SKELS) \
		$(TEST_SKELS)
	$(call msg,LD-FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -D_GNU_SOURCE -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB_OBJS) $(PKG_LIBS) -lpthread

# The binary seeds (frames, operation programs) are committed; this rewrites them.
fuzz-seeds: tests/fuzz/mkseeds.c $(BUILD)/libwcard-testkit.a $(BUILD)/libwcard.a
	$(call msg,GEN,tests/fuzz/corpus/parse and tm)
	$(Q)mkdir -p $(FUZZ_DIR)
	$(Q)$(CC) $(USER_CFLAGS) -Itests -o $(FUZZ_DIR)/mkseeds $< $(BUILD)/libwcard-testkit.a \
		$(BUILD)/libwcard.a $(PKG_LIBS)
	$(Q)$(FUZZ_DIR)/mkseeds tests/fuzz/corpus/parse tests/fuzz/corpus/tm

fuzz: $(FUZZ_BINS)
	$(Q)scripts/fuzz.sh $(FUZZ_DIR) $(FUZZ_TIME) $(FUZZ_TARGETS)

# Criterion options: TEST_ARGS='--tap' or '--junit' or '--filter=parse/*'
TEST_ARGS ?=
# The Criterion suites of this build.
test-suite: all
	$(Q)WCARD_BIN=$(abspath $(BUILD)/wcard) WCARD_DATA=$(abspath ../shared/data) \
		WCARD_BUILD=$(abspath $(BUILD)) WCARD_SRC=$(CURDIR) WCARD_LDFLAGS='$(LDFLAGS)' LSAN_OPTIONS=suppressions=$(abspath tests/lsan.supp) \
		$(BUILD)/tests/wcard-tests --jobs 2 $(TEST_ARGS)

# make test: the suites (valgrind memcheck of the CLI among them), every fuzz
# target for FUZZ_CI_TIME seconds on its seeds, then the suites again built with
# ASan and UBSan into $(BUILD)/asan (unless this is already a SANITIZE=1 run).
test: test-suite $(FUZZ_BINS)
	$(Q)scripts/fuzz.sh $(FUZZ_DIR) $(FUZZ_CI_TIME) $(FUZZ_TARGETS)
ifneq ($(SANITIZE),1)
	$(call msg,ASAN,the suites again with ASan and UBSan in $(BUILD)/asan)
	$(Q)$(MAKE) --no-print-directory SANITIZE=1 BUILD=$(BUILD)/asan test-suite
	$(call msg,VMTEST,the BPF suites on Linux 5.10 under qemu (make vmtest runs them all))
	$(Q)$(MAKE) --no-print-directory vmtest-ci
endif

# The concurrency tests at full size: 1M rule updates, 1M route changes.
stress: all
	$(Q)WCARD_STRESS=1 WCARD_DATA=$(abspath ../shared/data) \
		$(BUILD)/tests/wcard-tests --jobs 1 --filter 'update/*' $(TEST_ARGS)
	$(Q)WCARD_STRESS=1 WCARD_DATA=$(abspath ../shared/data) \
		$(BUILD)/tests/wcard-tests --jobs 1 --filter 'lpm/*concurrent*' $(TEST_ARGS)

demo: $(BUILD)/wcard
	$(Q)$(BUILD)/wcard demo --dir $(BUILD)/demo

# ---- make vmtest: the suites in Debian's stock kernels under qemu (tests/vm) --
# tests/vm/run.sh boots each kernel of tests/vm/kernels.txt (TCG, no KVM) over
# this host's root filesystem and runs tests/vm/guest.sh there; every kernel
# runs even when one fails, and the summary names those that failed. Results:
# build/vm/results/KERNEL.json. make vmtest-kernels only downloads and
# prepares the kernels.
KERNEL ?= 5.10
VMTEST_KERNELS := $(shell sed -n 's/^\([0-9][^[:space:]]*\).*/\1/p' tests/vm/kernels.txt)
VMTEST_RUN = $(if $(filter all,$(KERNEL)),$(VMTEST_KERNELS),$(KERNEL))

# make test's part: the oldest kernel, the suites that fit in CI time (a
# suite, or suite/pattern in Criterion's extended glob).
VMTEST_CI_SUITES := bf parse example tm/!(classbench*) xdp/!(classbench*) pin/!(algorithm_kept_*) \
	cli/!(classify_classbench*|bench*) \
	update/lookup_keeps_the_entry_generation \
	lpm/@(random_edges|bulk_load_atomic_trie4|cli_pinned)

vmtest: all
	$(Q)summary=; rc=0; for k in $(VMTEST_RUN); do \
		$(if $(VMTEST_SUITES),VMTEST_SUITES="$(VMTEST_SUITES)") \
		VMTEST_BUILD=$(abspath $(BUILD)) tests/vm/run.sh $$k; r=$$?; \
		if [ $$r -eq 0 ]; then summary="$$summary $$k pass,"; \
		else summary="$$summary $$k FAIL ($$r),"; rc=1; fi; \
	done; echo "vmtest: summary:$${summary%,}"; exit $$rc

# make test's VM part alone.
vmtest-ci:
	$(Q)$(MAKE) --no-print-directory vmtest KERNEL=5.10 VMTEST_SUITES="$(VMTEST_CI_SUITES)"

vmtest-kernels: $(DEPS_STAMP)
	$(Q)for k in $(VMTEST_RUN); do \
		VMTEST_BUILD=$(abspath $(BUILD)) tests/vm/run.sh --prepare $$k || exit 1; done

vmtest-table:
	$(call msg,GEN,README.md tested kernels from $(BUILD)/vm/results)
	$(Q)python3 scripts/vm-table.py $(BUILD)/vm/results README.md tests/vm/kernels.txt

# Results and plots: bench/results (committed; the README quotes them), or with
# QUICK=1 a short run into $(BUILD)/bench-results.
BENCH_OUT ?= $(if $(filter-out 0,$(QUICK)),$(BUILD)/bench-results,bench/results)
bench: $(BUILD)/wcard-bench
	$(Q)$(BUILD)/wcard-bench --out $(BENCH_OUT) $(BENCH_ARGS)
	$(call msg,PLOT,$(BENCH_OUT)/*.svg)
	$(Q)gnuplot -e "dir='$(BENCH_OUT)'" bench/plots.gp

# README.md's results sections, rewritten from the committed bench/results/results.json.
readme-results:
	$(call msg,GEN,README.md results from bench/results/results.json)
	$(Q)python3 scripts/readme-results.py bench/results/results.json README.md

format:
	clang-format -i $(wildcard bpf/*.c bench/*.c user/*/*.c user/*/*.h tests/*.c tests/*.h \
		tests/progs/*.c include/wcard/*.h)

# Everything a user of the CLI, of libwcard and of the BPF library needs.
install: all
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCDIR)/wcard \
		$(DESTDIR)$(BPFDIR) $(DESTDIR)$(MANDIR)/man1
	$(Q)install -m 755 $(BUILD)/wcard $(DESTDIR)$(BINDIR)/wcard
	$(Q)install -m 644 $(BUILD)/libwcard.a $(DESTDIR)$(LIBDIR)/libwcard.a
	$(Q)install -m 755 $(BUILD)/libwcard.so $(DESTDIR)$(LIBDIR)/libwcard.so.$(VERSION)
	$(Q)ln -sf libwcard.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libwcard.so.$(SOVERSION)
	$(Q)ln -sf libwcard.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libwcard.so
	$(Q)install -m 644 $(HDRS) $(BUILD)/include/wcard/libwcard.subskel.h $(DESTDIR)$(INCDIR)/wcard/
	$(Q)install -m 644 $(BUILD)/wcard_xdp.bpf.o $(BUILD)/libwcard.bpf.o $(DESTDIR)$(BPFDIR)/
	$(Q)install -d $(DESTDIR)$(BPFDIR)/compat
	$(Q)install -m 644 $(BUILD)/compat/wcard_xdp.bpf.o $(BUILD)/compat/libwcard.bpf.o \
		$(DESTDIR)$(BPFDIR)/compat/
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCDIR@|$(INCDIR)|' \
		-e 's|@BPFDIR@|$(BPFDIR)|' -e 's|@VERSION@|$(VERSION)|' wcard.pc.in \
		> $(DESTDIR)$(LIBDIR)/pkgconfig/wcard.pc
	$(Q)install -m 644 $(BUILD)/wcard.1 $(DESTDIR)$(MANDIR)/man1/wcard.1

uninstall:
	$(call msg,UNINSTALL,$(DESTDIR)$(PREFIX))
	$(Q)rm -f $(DESTDIR)$(BINDIR)/wcard $(DESTDIR)$(LIBDIR)/libwcard.a \
		$(DESTDIR)$(LIBDIR)/libwcard.so* $(DESTDIR)$(LIBDIR)/pkgconfig/wcard.pc \
		$(DESTDIR)$(MANDIR)/man1/wcard.1
	$(Q)rm -rf $(DESTDIR)$(INCDIR)/wcard $(DESTDIR)$(BPFDIR)

clean:
	$(call msg,CLEAN,$(BUILD))
	$(Q)rm -rf $(BUILD)
