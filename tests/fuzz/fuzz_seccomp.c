/* libFuzzer target for OCI/Docker seccomp profiles.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iinclude \
 *         tests/fuzz/fuzz_seccomp.c src/security/seccomp_oci.c src/security/seccomp.c \
 *         src/security/seccomp_default.c src/util/[a-z]*.c -lseccomp -ljansson -lcap \
 *         -o fuzz_seccomp
 *   LSAN_OPTIONS=suppressions=tests/fuzz/seccomp.lsan.supp \
 *       ./fuzz_seccomp -dict=tests/fuzz/seccomp.dict -timeout=10 CORPUS tests/fuzz/seeds/seccomp
 *
 * (libseccomp 2.5.4 itself leaks when it merges overlapping rules; the
 * suppression file names it. nucleus compiles in a short-lived child.)
 *
 * Every input is parsed with a fixed context (x86_64, Docker's capabilities,
 * kernel 6.1). A rejection must carry a one-line message. An accepted
 * profile must be well formed and is compiled (never installed); when all
 * its rules share one action, the compiled filter is run in userspace on
 * argument values near the profile's datums and must give exactly the
 * verdict the rules define: this checks the AND of several comparisons on
 * one argument, the 32-bit sub-architectures and libseccomp together. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <seccomp.h>
#include <linux/seccomp.h>

#include "nucleus/security.h"
#include "../../src/security/seccomp_internal.h"
#include "../unit/cbpf.h"

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_seccomp: %s\n", what);
		abort();
	}
}

static uint32_t ret_of(struct sc_action a)
{
	switch (a.kind) {
	case SC_ALLOW: return SECCOMP_RET_ALLOW;
	case SC_ERRNO: return SECCOMP_RET_ERRNO | (a.data & 0xffff);
	case SC_KILL_PROCESS: return SECCOMP_RET_KILL_PROCESS;
	case SC_KILL_THREAD: return SECCOMP_RET_KILL_THREAD;
	case SC_TRAP: return SECCOMP_RET_TRAP;
	case SC_LOG: return SECCOMP_RET_LOG;
	case SC_TRACE: return SECCOMP_RET_TRACE | (a.data & 0xffff);
	case SC_NOTIFY: break;
	}
	check(false, "unexpected action");
	return 0;
}

static void check_profile(const struct sc_profile *p)
{
	check(p->default_action.kind != SC_NOTIFY, "NOTIFY default accepted");
	for (size_t i = 0; i < p->narches; i++)
		check(p->arches[i] != 0, "arch token 0");
	for (size_t i = 0; i < p->nrules; i++) {
		const struct sc_rule *r = &p->rules[i];

		check(r->names && r->names[0], "rule without names");
		check(r->action.kind != SC_NOTIFY, "NOTIFY rule accepted");
		for (size_t j = 0; j < r->nargs; j++)
			check(r->args[j].index <= 5 && r->args[j].op >= SC_OP_NE &&
			      r->args[j].op <= SC_OP_MASKED_EQ, "bad argument condition");
	}
	for (size_t i = 0; p->unknown && p->unknown[i]; i++)
		check(p->unknown[i][0] && !strchr(p->unknown[i], '\n'), "bad unknown name");
}

/* Rules libseccomp 2.5.4 may never finish adding (see seccomp.c): one
 * comparison on each of several arguments, one of them a range or NE. */
static bool may_hang_libseccomp(const struct sc_profile *p)
{
	for (size_t i = 0; i < p->nrules; i++) {
		const struct sc_rule *r = &p->rules[i];
		bool range = false;

		for (size_t j = 0; j < r->nargs; j++)
			range |= r->args[j].op != SC_OP_EQ && r->args[j].op != SC_OP_MASKED_EQ;
		if (range && r->nargs >= 2 && !sc_rule_width_sensitive(r))
			return true;
	}
	return false;
}

static uint64_t rnd_state;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static uint64_t pick_value(const struct sc_rule *r)
{
	uint64_t v;

	if (r->nargs == 0 || rnd() % 4 == 0)
		return rnd() % 3 == 0 ? rnd() : rnd() & 0xff;
	v = r->args[rnd() % r->nargs].value;
	if (rnd() % 2)
		v = r->args[rnd() % r->nargs].value_two;
	return v + (rnd() % 3) - 1;
}

static bool rule_holds(const struct sc_rule *r, const __u64 *args, bool arg32)
{
	for (size_t j = 0; j < r->nargs; j++) {
		uint64_t v = args[r->args[j].index];

		if (!sc_cmp_holds(64, r->args[j].op, r->args[j].value, r->args[j].value_two,
				  arg32 ? v & 0xffffffff : v))
			return false;
	}
	return true;
}

/* All rules with one action: the filter's verdict is that action exactly
 * when some rule for the call holds. */
static void check_verdicts(const struct sc_profile *p, const struct sc_program *prog)
{
	uint32_t act, def = ret_of(p->default_action);
	bool has_x86 = false;

	if (p->nrules == 0 || seccomp_arch_native() != SCMP_ARCH_X86_64)
		return;
	act = ret_of(p->rules[0].action);
	for (size_t i = 0; i < p->nrules; i++)
		if (ret_of(p->rules[i].action) != act)
			return;
	if (act == def)
		return;
	for (size_t i = 0; i < p->narches; i++)
		has_x86 |= p->arches[i] == SCMP_ARCH_X86;
	rnd_state = 0x2545F4914F6CDD1Dull ^ prog->len;
	for (size_t i = 0; i < p->nrules && i < 16; i++) {
		const char *name = p->rules[i].names[0];

		for (int k = 0; k < 24; k++) {
			struct seccomp_data d = { .arch = SCMP_ARCH_X86_64 };
			bool want = false;
			int nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, name);

			for (int a = 0; a < 6; a++)
				d.args[a] = pick_value(&p->rules[rnd() % p->nrules]);
			if (nr >= 0) {
				for (size_t j = 0; j < p->nrules; j++)
					if (strv_contains(p->rules[j].names, name))
						want |= rule_holds(&p->rules[j], d.args, false);
				d.nr = nr;
				if (sc_bpf_run(prog->insns, prog->len, &d) != (want ? act : def)) {
					fprintf(stderr, "x86_64 %s: want %#x\n", name, want ? act : def);
					check(false, "verdict differs from the rules");
				}
			}
			nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86, name);
			if (has_x86 && nr >= 0) {
				want = false;
				for (int a = 0; a < 6; a++)
					d.args[a] &= 0xffffffff;
				for (size_t j = 0; j < p->nrules; j++)
					if (strv_contains(p->rules[j].names, name))
						want |= rule_holds(&p->rules[j], d.args, true);
				d.nr = nr;
				d.arch = SCMP_ARCH_X86;
				if (sc_bpf_run(prog->insns, prog->len, &d) != (want ? act : def)) {
					fprintf(stderr, "x86 %s: want %#x\n", name, want ? act : def);
					check(false, "verdict differs from the rules (32-bit)");
				}
			}
		}
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	sc_compile_timeout_ms = 2000;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Docker's default capabilities, and CAP_SYS_ADMIN when the input is odd-sized */
	struct sc_context ctx = { .bounding = 0xa80425fbull | (size & 1 ? 1ull << 21 : 0),
				  .arch = SCMP_ARCH_X86_64, .kernel = { 6, 1, 0 } };
	struct sc_profile p;
	struct sc_program prog = { 0 };
	struct nerr e = { 0 };
	int rc;

	if (sc_profile_load_oci((const char *)data, size, &ctx, &p, &e) < 0) {
		check(e.msg[0] != '\0', "error without message");
		check(!strchr(e.msg, '\n'), "error message spans lines");
		check(p.rules == NULL && p.arches == NULL && p.unknown == NULL, "profile left after error");
		return 0;
	}
	check_profile(&p);
	if (may_hang_libseccomp(&p))
		rc = sc_program_compile_guarded(&p, 0, &prog, &e);
	else
		rc = sc_program_compile(&p, 0, &prog, &e);
	if (rc == 0) {
		check(prog.len > 0 && prog.insns, "empty program");
		check((prog.kflags & ~SC_KFLAGS_HONOURED) == 0, "unknown kernel flags");
		check_verdicts(&p, &prog);
		sc_program_free(&prog);
	} else {
		check(e.msg[0] != '\0', "compile error without message");
	}
	sc_profile_free(&p);
	return 0;
}
