# nucleus — the single entry point: all, test, test-unit, test-integration,
# test-vm, bench, fuzz, install, deps, clean.

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

WARN := -Wall -Wextra -Werror -Wno-unused-parameter -Wno-format-truncation
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu17 $(WARN) -D_GNU_SOURCE -D_FORTIFY_SOURCE=2 -fPIE \
          -fstack-protector-strong -Iinclude -I$(BUILD)/bpf -Ibpf \
          -DNUCLEUS_COMMIT='"$(COMMIT)"'
LDFLAGS ?=
LDFLAGS += -pie -Wl,-z,relro,-z,now
# libbpf, libseccomp, libcap and jansson are linked statically: every shared
# library costs the dynamic loader time at each container start.
STATIC_LIBS := -lbpf -lelf -lz -lseccomp -lcap -ljansson
LDLIBS := -Wl,-Bstatic $(STATIC_LIBS) -Wl,-Bdynamic

SRC := $(sort $(wildcard src/*/*.c))
OBJ := $(SRC:%.c=$(BUILD)/%.o)
BPF_SRC := $(wildcard bpf/*.bpf.c)
BPF_OBJ := $(BPF_SRC:bpf/%.bpf.c=$(BUILD)/bpf/%.bpf.o)
SKELS := $(BPF_SRC:bpf/%.bpf.c=$(BUILD)/bpf/%.skel.h)
VERSIONS := $(BPF_SRC:bpf/%.bpf.c=$(BUILD)/bpf/%.version.h)
BPF_HEADERS := $(sort $(wildcard bpf/*.h))

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

all: $(BUILD)/nucleus $(BUILD)/tests/probe

deps:
	@./tools/deps

# ---- BPF: clang -> object -> skeleton ---------------------------------------
$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) vmlinux/x86/vmlinux.h
	@mkdir -p $(dir $@)
	$(CLANG) -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_x86 -Ivmlinux/x86 -Ibpf $(BPF_EXTRA_CFLAGS) -c $< -o $@
	llvm-strip -g $@ 2>/dev/null || true

# The skeleton, and a version (hash of the object) that names its pinned set;
# the ABI, a hash of the headers that define the maps' keys and values, tells
# another build whether it may read and write this one's maps.
$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@.tmp && mv $@.tmp $@

$(BUILD)/bpf/%.version.h: $(BUILD)/bpf/%.bpf.o $(BPF_HEADERS) Makefile
	{ echo "#define $(shell echo $* | tr a-z- A-Z_)_BPF_VERSION \"$$(sha256sum $< | cut -c1-16)\""; \
	  echo "#define $(shell echo $* | tr a-z- A-Z_)_BPF_ABI \"$$(cat $(BPF_HEADERS) | sha256sum | cut -c1-16)\""; \
	} > $@.tmp && mv $@.tmp $@

# ---- userspace -----------------------------------------------------------------
$(BUILD)/src/%.o: src/%.c $(wildcard include/nucleus/*.h) $(SKELS) $(VERSIONS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Isrc/$(firstword $(subst /, ,$*)) -c $< -o $@

$(BUILD)/libnucleus.a: $(filter-out $(BUILD)/src/main.o,$(OBJ))
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/src/main.o: src/main.c $(wildcard include/nucleus/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

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
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(UNIT_LIB) $(BUILD)/libnucleus.a $(LDLIBS) -lcmocka

TOOLS := $(BUILD)/tests/toml-decode $(BUILD)/tests/toml-test-suite
$(BUILD)/tests/toml-decode: tests/tools/toml-decode.c tests/tools/toml-json.c $(BUILD)/libnucleus.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/tools $(LDFLAGS) -o $@ $(filter %.c,$^) $(BUILD)/libnucleus.a $(LDLIBS)
$(BUILD)/tests/toml-test-suite: tests/tools/toml-test-suite.c tests/tools/toml-json.c $(BUILD)/libnucleus.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/tools $(LDFLAGS) -o $@ $(filter %.c,$^) $(BUILD)/libnucleus.a $(LDLIBS)

test-build: all $(UNIT_BIN) $(TOOLS)

test-unit: test-build
	@tests/run-unit.sh $(BUILD)

test-integration: all
	@tests/integration/run.sh $(BUILD)

test-vm: all
	@./tools/deps vm
	@tests/vm/run-tier.sh $(BUILD)

# `make test` installs what it needs, builds, and runs every tier this
# machine can run; the last line is the combined "N passed, M failed".
test:
	@./tools/deps vm
	@$(MAKE) --no-print-directory test-build
	@tests/run-all.sh $(BUILD)

bench: all
	@./tools/deps bench
	@tools/bench/run $(BUILD)

fuzz: all
	@./tools/deps fuzz
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

.PHONY: all deps test test-build test-unit test-integration test-vm bench fuzz demo install clean
.DELETE_ON_ERROR:
.SECONDARY: $(BPF_OBJ) $(SKELS) $(VERSIONS)
