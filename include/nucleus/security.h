/* security: capabilities, seccomp (profile -> filter -> cache), Landlock,
 * rlimits, no_new_privs. Profiles are prepared (compiled or loaded from the
 * cache) by the supervisor before clone; the child only installs them. */
#ifndef NUCLEUS_SECURITY_H
#define NUCLEUS_SECURITY_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <nucleus/util.h>

/* ---- capabilities --------------------------------------------------------- */
/* Bit masks of capabilities (bit n = capability n) for each of the five sets. */
struct cap_sets {
	uint64_t bounding, permitted, effective, inheritable, ambient;
	/* false (the default): securebits NOROOT, so exec gives uid 0 only its
	 * ambient set; true: uid 0 gets bounding | inheritable | ambient at
	 * exec, as in docker (chosen by the capability policy). */
	bool root_gains_at_exec;
};
/* Drop everything that is not in `keep` (all zero: drop all five sets),
 * lock securebits so uid 0 gains nothing at exec, and keep the process's
 * identity. Call before no_new_privs and seccomp. */
int caps_apply(const struct cap_sets *keep, struct nerr *err);
/* "CAP_NET_ADMIN", "net_admin" -> 12; -1 when unknown. */
int capability_from_name(const char *name);
const char *capability_name(int cap);
int capability_last(void);

/* ---- rlimits ---------------------------------------------------------------- */
struct rlimit_spec {
	uint64_t nofile_soft, nofile_hard;
	uint64_t memlock;      /* bytes; soft = hard */
	uint64_t core;         /* bytes; 0 disables core dumps */
};
void rlimits_default(struct rlimit_spec *r);
int rlimits_apply(const struct rlimit_spec *r, struct nerr *err);

int set_no_new_privs(struct nerr *err);

/* ---- seccomp ----------------------------------------------------------------
 * An intermediate profile that both the built-in default and OCI JSON
 * profiles turn into, and that one compiler turns into BPF. */
enum sc_action_kind {
	SC_ALLOW, SC_ERRNO, SC_KILL_PROCESS, SC_KILL_THREAD, SC_TRAP,
	SC_LOG, SC_TRACE, SC_NOTIFY,
};
struct sc_action {
	enum sc_action_kind kind;
	uint32_t data;         /* errno for SC_ERRNO, msg for SC_TRACE */
};
enum sc_op { SC_OP_NE = 1, SC_OP_LT, SC_OP_LE, SC_OP_EQ, SC_OP_GE, SC_OP_GT, SC_OP_MASKED_EQ };
struct sc_arg {
	unsigned index;
	uint64_t value, value_two;
	enum sc_op op;
};
struct sc_rule {
	char **names;          /* NULL-terminated */
	struct sc_action action;
	struct sc_arg *args;
	size_t nargs;
};
struct sc_profile {
	struct sc_action default_action;
	uint32_t *arches;      /* AUDIT_ARCH_* / SCMP_ARCH_* tokens; empty = native */
	size_t narches;
	struct sc_rule *rules;
	size_t nrules;
	char **unknown;        /* syscall names this libseccomp does not know */
};
void sc_profile_free(struct sc_profile *p);
/* The built-in default (at least as strict as Docker's default). */
int sc_profile_builtin_default(struct sc_profile *p, struct nerr *err);
/* An allow-all profile (trace mode records but does not enforce). */
int sc_profile_allow_all(struct sc_profile *p, struct nerr *err);

/* A compiled classic-BPF filter ready for seccomp(2). */
struct sc_program {
	void *insns;           /* struct sock_filter[] */
	unsigned short len;
	char key[65];          /* cache key (hex SHA-256) */
	bool from_cache;
};
#define SC_FLAG_LOG_DENIED 1u  /* SECCOMP_FILTER_FLAG_LOG */
/* Compile a profile, or take the compiled filter from the cache when one
 * exists for the same (profile, arch, libseccomp version, flags). */
int sc_program_prepare(const struct sc_profile *p, unsigned flags,
		       struct sc_program *out, struct nerr *err);
/* The same for the built-in profile, whose cache key is computed from its
 * static definition: a warm start builds nothing. */
int sc_program_prepare_builtin(unsigned flags, struct sc_program *out, struct nerr *err);
void sc_program_free(struct sc_program *prog);
/* Install in the calling thread (after no_new_privs). */
int sc_program_install(const struct sc_program *prog, unsigned flags, struct nerr *err);
/* Where compiled filters are kept: /var/cache/nucleus/seccomp (root) or
 * $XDG_CACHE_HOME/nucleus/seccomp. NUCLEUS_CACHE_DIR overrides. */
const char *sc_cache_dir(void);

/* ---- Landlock ---------------------------------------------------------------- */
/* Access bits as Landlock defines them (ABI 1..7); see landlock.c. */
struct landlock_path_rule {
	char *path;
	uint64_t access;       /* LANDLOCK_ACCESS_FS_* */
};
struct landlock_net_rule {
	uint16_t port;
	uint64_t access;       /* LANDLOCK_ACCESS_NET_* */
};
struct landlock_spec {
	int min_abi;                      /* 0: any */
	struct landlock_path_rule *rules;
	size_t nrules;
	struct landlock_net_rule *net;
	size_t nnet;
	bool restrict_net;                /* handle net access (ABI >= 4) */
	uint64_t scopes;                  /* LANDLOCK_SCOPE_* (ABI >= 6) */
	bool best_effort;                 /* the built-in rules: no warning for what an
	                                   * older ABI cannot enforce */
};
/* Best Landlock ABI of this kernel; 0 when unavailable. */
int landlock_abi(void);
/* The default agent rules: read+execute for system dirs, read-write for
 * /tmp and (copy mode) /context, devices as needed. */
void landlock_default_spec(struct landlock_spec *s, bool context_writable, bool have_context);
void landlock_spec_free(struct landlock_spec *s);
/* Apply in the calling thread after pivot_root. `abi_used` reports the ABI
 * enforced; unenforceable parts are returned as a warning string (or NULL). */
int landlock_apply(const struct landlock_spec *s, int *abi_used, char **warning, struct nerr *err);
/* The filesystem access rights a given ABI handles. */
uint64_t landlock_fs_handled(int abi);

/* ---- policy files -------------------------------------------------------------
 * Parsed by the supervisor before anything is created; errors name
 * file:line:column. */

/* Refuse a file whose SHA-256 is not `expected_hex` (when given); the
 * message shows both hashes. `what` names the policy ("seccomp profile"). */
int policy_check_pin(const char *what, const char *path, const char *expected_hex, struct nerr *err);

/* Capability policy (TOML): tables [bounding] [permitted] [effective]
 * [inheritable] [ambient], each `keep = [names]`. The sets are what the
 * workload will have after exec; a set the kernel cannot produce is an
 * error that says why. */
int caps_policy_load(const char *path, struct cap_sets *out, struct nerr *err);
int caps_policy_parse(const char *text, size_t len, const char *name, struct cap_sets *out, struct nerr *err);

/* Landlock policy (TOML): min_abi, [[rules]] path/access, [[net]]
 * port/access, scope. Replaces the default rules. */
int landlock_policy_load(const char *path, struct landlock_spec *out, struct nerr *err);
int landlock_policy_parse(const char *text, size_t len, const char *name, struct landlock_spec *out, struct nerr *err);
/* "read" -> rights, as documented in docs/policies.md; 0 when unknown. */
uint64_t landlock_access_from_name(const char *name);

/* Under an egress policy: refuse socket(AF_PACKET), which no cgroup BPF
 * hook sees. Stacked on the main filter (after no_new_privs). */
int sc_install_packet_guard(struct nerr *err);

/* ---- host facts for `nucleus info` ------------------------------------------- */
struct seccomp_caps {
	unsigned actions;      /* bit per SECCOMP_RET_* action available (see host.c) */
	unsigned flags;        /* SECCOMP_FILTER_FLAG_* the kernel accepts */
	bool available;
};
void seccomp_probe(struct seccomp_caps *c);
/* Names for the bits above, in order; NULL-terminated. */
extern const char *const seccomp_action_names[];
extern const char *const seccomp_flag_names[];

/* Active LSMs and the lockdown mode from securityfs. When securityfs is not
 * mounted and we are root, it is mounted in a private mount namespace of a
 * short-lived child, so the host's mounts stay as they are. */
struct host_security {
	char lsm[256];         /* "" when unknown */
	char lockdown[32];     /* "none", "integrity", "confidentiality", "" */
};
void host_security_read(struct host_security *hs);
/* Names of the Landlock access rights in a mask (space-separated). */
void landlock_access_names(uint64_t fs, char *buf, size_t len);

#endif
