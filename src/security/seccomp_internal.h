/* Shared by the seccomp files of the security module, and by their tests.
 * seccomp.c prepares a profile's program and installs it; the program comes
 * from seccomp_cache.c (keys, entries, the prepare protocol) or from
 * seccomp_compile.c (libseccomp, in a guarded child), which takes each rule's
 * argument conditions as alternatives from seccomp_valuesets.c. The cBPF
 * interpreter that runs compiled programs is test-only (tests/unit/cbpf.c). */
#ifndef NUCLEUS_SECCOMP_INTERNAL_H
#define NUCLEUS_SECCOMP_INTERNAL_H

#include <linux/seccomp.h>
#include <nucleus/security.h>
#include <nucleus/util.h>

/* Feed the built-in profile's definition into a hash. */
void sc_builtin_digest(struct sha256 *s);

/* Bump when a change to the compiler (profile -> BPF) or to the OCI parser
 * (JSON -> profile) would turn the same input into a different filter: both
 * are part of every cache key. */
#define SC_COMPILER_REV 2
#define SC_OCI_PARSER_REV 1

/* ---- sets of 64-bit values as unions of ternary patterns -------------------
 * A pattern (mask, value) stands for every v with (v & mask) == value; value
 * never has bits outside mask. The set of argument values a conjunction of
 * comparisons admits is computed exactly as a union of disjoint patterns, so
 * it can be compiled to one SCMP_CMP_MASKED_EQ per pattern. The functions
 * work on the low `width` bits (1..64) so tests can check them exhaustively
 * on small widths; the compiler uses 64. */
struct sc_pattern {
	uint64_t mask, value;
};
struct sc_patset {
	struct sc_pattern *p;
	size_t n, cap;
};
/* {v : v op a}; for MASKED_EQ {v : (v & a) == (b & a)}, the way libseccomp
 * compiles it (bits of b outside the mask are ignored). Datums must fit in
 * width. */
void sc_patset_from_cmp(struct sc_patset *s, unsigned width, enum sc_op op, uint64_t a, uint64_t b);
/* out = x ∩ y (out must differ from both). -E2BIG when it would hold more
 * than `limit` patterns. */
int sc_patset_intersect(struct sc_patset *out, const struct sc_patset *x, const struct sc_patset *y,
			size_t limit);
void sc_patset_free(struct sc_patset *s);
bool sc_cmp_holds(unsigned width, enum sc_op op, uint64_t a, uint64_t b, uint64_t v);

/* A rule's argument conditions as alternatives (their OR is the rule's
 * AND), each with at most one comparison per argument index. A rule with at
 * most one comparison per argument is its own single alternative; a rule
 * whose conditions contradict each other has none. arg32: for architectures
 * whose arguments are 32 bits (libseccomp compares only the low word there),
 * computed over [0, 2^32) and emitted as low-word comparisons. */
#define SC_MAX_ALTERNATIVES 1024
#define SC_MAX_LIBSECCOMP_RULES 4096     /* per filter: calls x alternatives */
struct sc_alt {
	struct sc_arg args[6];
	unsigned n;
};
int sc_rule_alternatives(const struct sc_rule *r, bool arg32, struct sc_alt **out, size_t *n,
			 struct nerr *err);
/* Whether the alternatives differ between 64-bit and 32-bit arguments. */
bool sc_rule_width_sensitive(const struct sc_rule *r);

/* How the argument conditions a[0..na) and b[0..nb) (each a conjunction,
 * as in one rule) relate, exactly, for 64-bit arguments (and therefore for
 * their low words too): *rel gets SC_ARGS_DISJOINT when no call satisfies
 * both, SC_ARGS_A_IN_B when every call satisfying a satisfies b, and
 * SC_ARGS_B_IN_A. -E2BIG when the sets are too big to compare, -EINVAL for
 * a bad index or operator. */
#define SC_ARGS_DISJOINT 1u
#define SC_ARGS_A_IN_B 2u
#define SC_ARGS_B_IN_A 4u
int sc_args_compare(const struct sc_arg *a, size_t na, const struct sc_arg *b, size_t nb, unsigned *rel);

/* The context with its defaults filled in (native arch, running kernel). */
void sc_context_resolve(const struct sc_context *in, struct sc_context *out);

/* The cache, keyed by a digest the caller computed and bound to the
 * profile's digest, storing the profile's unknown names with the program.
 * load: 0, or -errno with `why` saying what was wrong with an entry
 * (-ENOENT: none; -EBADMSG: an entry for this key whose digests fail). */
int sc_cache_load(const char *key, const char *profile_sha256, struct sc_program *out,
		  char ***unknown, char *why, size_t whylen);
void sc_cache_store(const char *key, const char *profile_sha256, const struct sc_program *prog,
		    char *const *unknown);
/* What a cache miss (or SC_PREPARE_VERIFY) runs: fill out's instructions,
 * kflags and notify_errno, and *unknown (NULL when none). */
typedef int (*sc_compile_fn)(void *arg, unsigned flags, struct sc_program *out, char ***unknown,
			     struct nerr *err);
/* The cache protocol shared by every prepare function: flags may carry
 * SC_PREPARE_VERIFY / SC_PREPARE_NO_CACHE; fills key, profile_sha256,
 * sha256 (always computed from the instructions), cache and cache_note. */
int sc_prepare_cached(const char *key, const char *profile_sha256, unsigned flags,
		      sc_compile_fn compile, void *arg, struct sc_program *out, char ***unknown,
		      struct nerr *err);
/* SHA-256 of the instructions (hex). */
void sc_program_digest(const struct sc_program *prog, char out[65]);
void sc_key_env(struct sha256 *s, unsigned flags);
/* sc_program_compile in a child process with a time limit (libseccomp can
 * loop forever on some profiles); what the prepare functions use. */
extern unsigned sc_compile_timeout_ms;     /* 10 s; tests lower it */
int sc_program_compile_guarded(const struct sc_profile *p, unsigned flags, struct sc_program *out,
			       struct nerr *err);
void sc_key_final(struct sha256 *s, char out[65]);

/* Kernel flags (SECCOMP_FILTER_FLAG_*) that the installer passes on. */
#define SC_KFLAGS_HONOURED (SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW)

#endif
