# nucleus — the single entry point: all, test, test-unit, test-sanitize,
# test-integration, test-vm, bench, fuzz, install, deps, clean.

PREFIX ?= /usr/local
DESTDIR ?=
BUILD ?= build

CC ?= gcc
CLANG ?= clang
BPFTOOL ?= bpftool
# Extra clang flags for the BPF objects (the upgrade tests build a second
# version: BPF_EXTRA_CFLAGS=-DNUCLEUS_BPF_BUILD_TAG=2).
BPF_EXTRA_CFLAGS ?=

COMMIT := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

# Where the BPF objects, skeletons and version headers are: the sanitizer
# build (in a directory of its own) uses the normal build's.
BPF_BUILD ?= $(BUILD)/bpf
# Added to CFLAGS and LDFLAGS (the sanitizer build sets it).
SAN ?=
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer

WARN := -Wall -Wextra -Werror -Wno-format-truncation
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu17 $(WARN) -D_GNU_SOURCE -D_FORTIFY_SOURCE=2 -fPIE \
          -fstack-protector-strong -Iinclude -I$(BPF_BUILD) -Ibpf \
          -DNUCLEUS_COMMIT='"$(COMMIT)"' $(SAN)
# cmocka's tests take a `void **state` most of them do not use.
TEST_CFLAGS := $(CFLAGS) -Wno-unused-parameter
# Every object records the headers it includes (build/**/*.d), so touching
# one rebuilds what includes it and nothing else.
DEPFLAGS = -MMD -MP -MF $@.d
LDFLAGS ?=
LDFLAGS += -pie -Wl,-z,relro,-z,now $(SAN)
# libbpf, libseccomp, libcap and jansson are linked statically: every shared
# library costs the dynamic loader time at each container start.
STATIC_LIBS := -lbpf -lelf -lz -lseccomp -lcap -ljansson
LDLIBS := -Wl,-Bstatic $(STATIC_LIBS) -Wl,-Bdynamic

SRC := $(sort $(wildcard src/*/*.c))
OBJ := $(SRC:%.c=$(BUILD)/%.o)
BPF_SRC := $(wildcard bpf/*.bpf.c)
BPF_OBJ := $(BPF_SRC:bpf/%.bpf.c=$(BPF_BUILD)/%.bpf.o)
SKELS := $(BPF_SRC:bpf/%.bpf.c=$(BPF_BUILD)/%.skel.h)
VERSIONS := $(BPF_SRC:bpf/%.bpf.c=$(BPF_BUILD)/%.version.h)
BPF_HEADERS := $(sort $(wildcard bpf/*.h))

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

# Every tests/fuzz/fuzz_*.c is a libFuzzer target (clang, ASan + UBSan)
# over the whole library built again with coverage instrumentation.
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_OBJ := $(SRC:src/%.c=$(BUILD)/fuzz/obj/%.o)
FUZZ_CFLAGS := -g -O1 -std=gnu17 -D_GNU_SOURCE -Iinclude -I$(BPF_BUILD) -Ibpf -DNUCLEUS_COMMIT='"fuzz"' $(SAN_FLAGS)
FUZZ_LIBS := -lbpf -lelf -lz -lseccomp -lcap -ljansson

all: $(BUILD)/nucleus $(BUILD)/tests/probe

deps:
	@./tools/deps

# ---- BPF: clang -> object -> skeleton ---------------------------------------
$(BPF_BUILD)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) vmlinux/x86/vmlinux.h
	@mkdir -p $(dir $@)
	$(CLANG) -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_x86 -Ivmlinux/x86 -Ibpf $(BPF_EXTRA_CFLAGS) -c $< -o $@
	llvm-strip -g $@ 2>/dev/null || true

# The skeleton, and a version (hash of the object) that names its pinned set;
# the ABI, a hash of the headers that define the maps' keys and values, tells
# another build whether it may read and write this one's maps.
$(BPF_BUILD)/%.skel.h: $(BPF_BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@.tmp && mv $@.tmp $@

$(BPF_BUILD)/%.version.h: $(BPF_BUILD)/%.bpf.o $(BPF_HEADERS) Makefile
	{ echo "#define $(shell echo $* | tr a-z- A-Z_)_BPF_VERSION \"$$(sha256sum $< | cut -c1-16)\""; \
	  echo "#define $(shell echo $* | tr a-z- A-Z_)_BPF_ABI \"$$(cat $(BPF_HEADERS) | sha256sum | cut -c1-16)\""; \
	} > $@.tmp && mv $@.tmp $@

# ---- userspace -----------------------------------------------------------------
# The generated headers are there before the first build (order-only); from
# then on each object depends, through its .d file, on the ones it includes.
$(BUILD)/src/%.o: src/%.c | $(SKELS) $(VERSIONS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEPFLAGS) -Isrc/$(firstword $(subst /, ,$*)) -c $< -o $@

$(BUILD)/libnucleus.a: $(filter-out $(BUILD)/src/main.o,$(OBJ))
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/src/main.o: src/main.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/nucleus: $(BUILD)/src/main.o $(BUILD)/libnucleus.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# ---- tests ----------------------------------------------------------------------
# The probe runs inside containers: static, so it needs nothing from the root.
$(BUILD)/tests/probe: tests/integration/probe.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu17 -O2 -Wall -Wextra -Werror -static -o $@ $<

# Test-only code every unit test links, kept out of the library nucleus
# ships (the cBPF interpreter the seccomp tests run filters with).
UNIT_LIB := $(filter-out $(UNIT_SRC),$(wildcard tests/unit/*.c))
$(BUILD)/tests/test_%: tests/unit/test_%.c $(UNIT_LIB) $(wildcard tests/unit/*.h) $(BUILD)/libnucleus.a
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) $(DEPFLAGS) $(LDFLAGS) -o $@ $< $(UNIT_LIB) $(BUILD)/libnucleus.a $(LDLIBS) -lcmocka

TOOLS := $(BUILD)/tests/toml-decode $(BUILD)/tests/toml-test-suite
$(BUILD)/tests/tools/%.o: tests/tools/%.c
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) $(DEPFLAGS) -Itests/tools -c $< -o $@
$(TOOLS): $(BUILD)/tests/%: $(BUILD)/tests/tools/%.o $(BUILD)/tests/tools/toml-json.o $(BUILD)/libnucleus.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

test-build: all $(UNIT_BIN) $(TOOLS)

test-unit: test-build
	@tests/run-unit.sh $(BUILD)

# ---- the sanitizer build: the unit tier's binaries with ASan + UBSan, in
# $(BUILD)/asan, and the fuzz targets (their seeds replayed, not fuzzed) ----
sanitize-build: $(SKELS) $(VERSIONS)
	@env CFLAGS="-O1 -g" $(MAKE) --no-print-directory BUILD=$(BUILD)/asan BPF_BUILD=$(BPF_BUILD) \
		SAN="$(SAN_FLAGS)" $(BUILD)/asan/libnucleus.a \
		$(UNIT_SRC:tests/unit/%.c=$(BUILD)/asan/tests/%) $(BUILD)/asan/tests/toml-test-suite

test-sanitize: sanitize-build fuzz-build
	@tests/run-sanitize.sh $(BUILD)

# ---- fuzz targets ----------------------------------------------------------------
$(BUILD)/fuzz/obj/%.o: src/%.c | $(SKELS) $(VERSIONS)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(DEPFLAGS) -Isrc/$(firstword $(subst /, ,$*)) -c $< -o $@

$(BUILD)/fuzz/libnucleus-fuzz.a: $(FUZZ_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(UNIT_LIB) $(BUILD)/fuzz/libnucleus-fuzz.a
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(DEPFLAGS) -Isrc/security -o $@ $< $(UNIT_LIB) $(BUILD)/fuzz/libnucleus-fuzz.a $(FUZZ_LIBS)

fuzz-build: $(FUZZ_BIN)

test-integration: all
	@tests/integration/run.sh $(BUILD)

test-vm: all
	@./tools/deps vm
	@tests/vm/run-tier.sh $(BUILD)

# `make test` installs what it needs, builds, and runs every tier this
# machine can run; the last line is the combined "N passed, M failed".
test:
	@./tools/deps vm fuzz
	@$(MAKE) --no-print-directory test-build sanitize-build fuzz-build
	@tests/run-all.sh $(BUILD)

bench: all
	@./tools/deps bench vm
	@tools/bench/run $(BUILD)

fuzz: all
	@./tools/deps fuzz
	@$(MAKE) --no-print-directory fuzz-build
	@tests/fuzz/run.sh $(BUILD) $${FUZZ_SECONDS:-60}

demo:
	@./tools/deps
	@$(MAKE) --no-print-directory all
	@./tools/demo $(BUILD)

install: all
	install -D -m 0755 $(BUILD)/nucleus $(DESTDIR)$(PREFIX)/bin/nucleus
	install -D -m 0644 docs/nucleus.1 $(DESTDIR)$(PREFIX)/share/man/man1/nucleus.1
	install -D -m 0644 contrib/completion/nucleus.bash \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/nucleus

clean:
	rm -rf $(BUILD)

-include $(wildcard $(BUILD)/src/*.d $(BUILD)/src/*/*.d $(BUILD)/tests/*.d $(BUILD)/tests/tools/*.d \
	$(BUILD)/fuzz/*.d $(BUILD)/fuzz/obj/*/*.d)

.PHONY: all deps test test-build test-unit test-sanitize sanitize-build test-integration test-vm \
	bench fuzz fuzz-build demo install clean
.DELETE_ON_ERROR:
.SECONDARY: $(BPF_OBJ) $(SKELS) $(VERSIONS)
