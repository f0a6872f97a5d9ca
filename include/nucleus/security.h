/* security: capabilities, seccomp (profile -> filter -> cache), Landlock,
 * rlimits, no_new_privs. Profiles are prepared (compiled or loaded from the
 * cache) by the supervisor before clone; the child only installs them. */
#ifndef NUCLEUS_SECURITY_H
#define NUCLEUS_SECURITY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
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
	unsigned flags;        /* SECCOMP_FILTER_FLAG_* the profile asks for (LOG,
	                        * SPEC_ALLOW, TSYNC) */
};
void sc_profile_free(struct sc_profile *p);
/* The OCI/Docker profile tokens: "SCMP_ACT_ERRNO", "SCMP_CMP_MASKED_EQ"
 * (op: NULL for a value outside the enum). */
const char *sc_action_token(enum sc_action_kind k);
const char *sc_op_token(enum sc_op op);
/* The built-in default (at least as strict as Docker's default). */
int sc_profile_builtin_default(struct sc_profile *p, struct nerr *err);
/* An allow-all profile (trace mode records but does not enforce). */
int sc_profile_allow_all(struct sc_profile *p, struct nerr *err);

/* How a prepared program was obtained. */
enum sc_cache_use {
	SC_CACHE_COMPILED,     /* no entry: compiled (and stored) */
	SC_CACHE_HIT,          /* taken from a cache entry that passed every check */
	SC_CACHE_VERIFIED,     /* SC_PREPARE_VERIFY: compiled, and equal to the entry */
	SC_CACHE_RECOMPILED,   /* an entry existed but was refused or differed from the
	                        * compiled program (cache_note says why); replaced */
	SC_CACHE_BYPASSED,     /* SC_PREPARE_NO_CACHE: compiled, cache neither read nor written */
};
const char *sc_cache_use_name(enum sc_cache_use u);

/* A compiled classic-BPF filter ready for seccomp(2). */
struct sc_program {
	void *insns;           /* struct sock_filter[] */
	unsigned short len;
	char key[65];          /* cache key (hex SHA-256): profile, arch, versions, flags */
	char sha256[65];       /* SHA-256 of insns, the exact bytes passed to seccomp(2):
	                        * the audit's filter_sha256 */
	char profile_sha256[65]; /* what it was compiled from: a JSON profile's file
	                        * SHA-256 (what a pin names), else a digest of the
	                        * built-in or in-memory profile */
	bool from_cache;       /* cache == SC_CACHE_HIT */
	enum sc_cache_use cache;
	char cache_note[200];  /* SC_CACHE_RECOMPILED: why the entry was not used */
	unsigned kflags;       /* SECCOMP_FILTER_FLAG_* to install with (from the
	                        * profile: LOG, SPEC_ALLOW) */
	unsigned notify_errno; /* SC_FLAG_NOTIFY_DENIED: the errno the supervisor
	                        * answers a denial with; 0 = no listener */
};
#define SC_FLAG_LOG_DENIED 1u  /* SECCOMP_FILTER_FLAG_LOG */
/* --seccomp-log-denied: a profile whose default action is ERRNO returns
 * USER_NOTIF instead; the supervisor logs each denial as an audit event and
 * answers with that errno. A KILL default stays a kill. */
#define SC_FLAG_NOTIFY_DENIED 2u
/* For the prepare functions only (not part of the program or its key):
 * compile even when a cache entry exists and use the entry only if it is
 * the same program. A cache entry is checked against the profile it names
 * and its own digests, which a writer of the cache directory can forge;
 * pinned profiles (--seccomp-profile-sha256) and attach ask for this. */
#define SC_PREPARE_VERIFY 0x100u
/* Neither read nor write the cache (`nucleus seccomp hash`). */
#define SC_PREPARE_NO_CACHE 0x200u
/* Compile a profile, or take the compiled filter from the cache when one
 * exists for the same (profile, arch, libseccomp version, flags). */
int sc_program_prepare(const struct sc_profile *p, unsigned flags,
		       struct sc_program *out, struct nerr *err);
/* The same for the built-in profile, whose cache key is computed from its
 * static definition: a warm start builds nothing. */
int sc_program_prepare_builtin(unsigned flags, struct sc_program *out, struct nerr *err);
void sc_program_free(struct sc_program *prog);
/* Install in the calling thread (after no_new_privs), with prog->kflags plus
 * SECCOMP_FILTER_FLAG_LOG when flags has SC_FLAG_LOG_DENIED. Returns the
 * listener fd when the program has notify_errno, else 0. */
int sc_program_install(const struct sc_program *prog, unsigned flags, struct nerr *err);
/* Where compiled filters are kept: /var/cache/nucleus/seccomp (root) or
 * $XDG_CACHE_HOME/nucleus/seccomp. NUCLEUS_CACHE_DIR overrides. */
const char *sc_cache_dir(void);
/* Compile without the cache (the fuzzer, benchmarks). */
int sc_program_compile(const struct sc_profile *p, unsigned flags,
		       struct sc_program *out, struct nerr *err);

/* ---- OCI / Docker JSON profiles (docs/seccomp.md) ------------------------------
 * What a profile is resolved against: its includes/excludes (caps, arches,
 * minKernel) and its archMap depend on the container and the host. */
struct sc_context {
	uint64_t bounding;     /* the container's capability bounding set, bit n = cap n */
	uint32_t arch;         /* SCMP_ARCH_*; 0 = seccomp_arch_native(). Only for
	                        * resolution: a filter always covers the native arch */
	struct {
		unsigned major, minor, patch;
	} kernel;              /* all 0 = the running kernel (uname) */
};
/* "6.18.44-fc-v782" -> 6.18.44; -EINVAL when it does not start with N.N. */
int sc_kernel_version_parse(const char *release, unsigned *major, unsigned *minor, unsigned *patch);

/* Parse an OCI runtime-spec or Docker seccomp profile and resolve it for
 * ctx: only the rules that apply remain, architectures are SCMP_ARCH_*
 * tokens, and syscall names this libseccomp does not know are listed in
 * out->unknown (compiling skips them; warn once). Errors name the JSON path
 * ("syscalls[3].args[0].op: unknown operator ...") or line:column. */
int sc_profile_load_oci(const char *json_text, size_t len, const struct sc_context *ctx,
			struct sc_profile *out, struct nerr *err);
int sc_profile_load_oci_file(const char *path, const struct sc_context *ctx,
			     struct sc_profile *out, struct nerr *err);
/* How many times the OCI parser ran in this process (tests check that a
 * cache hit parses nothing). */
unsigned long sc_profile_oci_parse_count(void);

/* A profile file -> a program, through the cache. The key covers the file's
 * SHA-256, ctx (bounding set, arch, kernel), the native arch, libseccomp's
 * version, the parser/compiler revisions and `flags`: a hit reads the file
 * and one cache entry, and parses nothing. `unknown` (may be NULL) receives
 * the unknown syscall names (NULL when none; free with strv_free), the same
 * on a hit as on a miss. out->kflags carries the profile's LOG/SPEC_ALLOW
 * to sc_program_install. */
int sc_program_prepare_file(const char *path, const struct sc_context *ctx, unsigned flags,
			    struct sc_program *out, char ***unknown, struct nerr *err);
/* The same from a buffer. To pin a profile (--seccomp-profile-sha256), read
 * the file once, check sha256_hex() of that buffer, and pass the buffer
 * here, so the bytes checked are the bytes compiled. `name` (may be NULL)
 * prefixes errors. */
int sc_program_prepare_oci(const char *json_text, size_t len, const char *name,
			   const struct sc_context *ctx, unsigned flags,
			   struct sc_program *out, char ***unknown, struct nerr *err);

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
/* Grant read and execute beneath path (--allow-exec). */
void landlock_spec_allow_exec(struct landlock_spec *s, const char *path);
/* Read and write beneath `path` (a writable volume or tmpfs mount). */
void landlock_spec_allow_write(struct landlock_spec *s, const char *path);
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

/* ---- seccomp trace (the BPF syscall recorder) ------------------------------------ */
struct sc_trace;
struct sc_trace_entry {
	unsigned abi;          /* 0 x86_64, 1 x86 (i386), 2 x32 */
	unsigned nr;
	uint64_t count;
	char *name;
	unsigned pid;          /* live events only */
	char comm[16];
};
struct sc_trace_stats {
	uint64_t events, events_lost, out_of_range;
};
/* Record the container whose cgroup v2 id is cgid (level: its depth). With
 * at_exec, recording starts at its workload's exec. ring_bytes 0: default. */
int sc_trace_start(uint64_t cgid, unsigned level, bool at_exec, size_t ring_bytes,
		   struct sc_trace **out, struct nerr *err);
int sc_trace_events_fd(const struct sc_trace *t);
/* Hand each first-seen syscall (live) to cb. */
void sc_trace_drain(struct sc_trace *t, void (*cb)(const struct sc_trace_entry *, void *), void *arg);
/* The recorded set, sorted by ABI and number, with exact counts. */
int sc_trace_collect(struct sc_trace *t, struct sc_trace_entry **out, size_t *n,
		     struct sc_trace_stats *stats, struct nerr *err);
void sc_trace_entries_free(struct sc_trace_entry *e, size_t n);
/* One line per syscall: {"syscall": nr, "name": "...", "abi": "x86_64", "count": n} */
int sc_trace_write_ndjson(const struct sc_trace_entry *e, size_t n, FILE *f);
/* Remove the container's entries; the tracepoint goes when the last trace does. */
void sc_trace_stop(struct sc_trace *t);
/* The entries of traced containers whose tracer died, in this build's set
 * at `level`; the recorder's links go with the last one. */
void sc_trace_gc(unsigned level);
/* Is the sys_enter tracepoint attached right now? */
bool sc_trace_attached(unsigned level);
const char *sc_trace_abi_name(unsigned abi);
int sc_trace_abi_from_name(const char *name);
char *sc_trace_syscall_name(unsigned abi, unsigned nr);

/* Traces merged for `nucleus seccomp generate`. */
#define SC_TRACE_ABIS 3
#define SC_TRACE_MAX_NR 1024
struct sc_trace_set {
	uint64_t seen[SC_TRACE_ABIS][SC_TRACE_MAX_NR / 64];
	uint64_t count[SC_TRACE_ABIS][SC_TRACE_MAX_NR];
};
void sc_trace_set_add(struct sc_trace_set *s, unsigned abi, unsigned nr, uint64_t count);
bool sc_trace_set_has(const struct sc_trace_set *s, unsigned abi, unsigned nr);
/* Merge an NDJSON trace into the set. */
int sc_trace_read_ndjson(const char *path, struct sc_trace_set *s, struct nerr *err);
struct json_t;
/* A resolved profile as OCI JSON (`nucleus seccomp default`). */
struct json_t *sc_profile_to_oci(const struct sc_profile *p);
/* A minimal OCI profile allowing what the traces recorded (and execve,
 * which the runtime needs to start the workload under the filter), never
 * more than the built-in default allows, nor more than `base` (resolved)
 * when given: per name, a denial by either wins, an action without
 * conditions (clone3's ENOSYS) wins over conditions, and the argument
 * conditions of both are intersected. `allow` (--allow-syscall) names are
 * allowed whatever the profiles say, recorded or not. */
struct sc_generate_opts {
	const struct sc_profile *base;   /* NULL: the built-in default alone */
	bool kill_default;
	char *const *allow;              /* NULL-terminated, may be NULL */
};
struct sc_generate_report {
	char **denied_default;   /* recorded, denied by the built-in default only */
	char **denied_base;      /* recorded, denied by the base only */
	char **denied_both;      /* recorded, denied by both */
	char **denied_combined;  /* recorded, allowed by each under conditions that
	                          * exclude each other or cannot be combined exactly */
	char **allowed_extra;    /* --allow-syscall names allowed beyond the profiles */
	bool clone_for_clone3;   /* clone added: clone3 fails with ENOSYS and libc
	                          * falls back to clone */
	unsigned foreign_abis;   /* bit per ABI (1 x86, 2 x32) the traces used, which
	                          * the profile covers and the built-in default, native
	                          * only, refuses outright */
};
void sc_generate_report_free(struct sc_generate_report *r);
int sc_generate(const struct sc_trace_set *s, const struct sc_generate_opts *o, struct json_t **out,
		struct sc_generate_report *rep, struct nerr *err);

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

/* Names of the Landlock access rights in a mask (space-separated). */
void landlock_access_names(uint64_t fs, char *buf, size_t len);

/* The container configuration's security part (container_config.sec);
 * its strings and the Landlock spec are owned (container_config_free). */
enum trust_level { TRUST_TRUSTED, TRUST_UNTRUSTED };
/* The kernel's lockdown levels, in order (/sys/kernel/security/lockdown). */
enum lockdown_level { LOCKDOWN_NONE, LOCKDOWN_INTEGRITY, LOCKDOWN_CONFIDENTIALITY };
/* "none [integrity] confidentiality" (the kernel's line: the bracketed word)
 * or a bare level; "" is none (no lockdown LSM). -EINVAL for anything else. */
int lockdown_parse(const char *s, enum lockdown_level *out);
const char *lockdown_name(enum lockdown_level l);
/* Refuse unless the running kernel's lockdown is at least `want`. */
int lockdown_require(enum lockdown_level want, struct nerr *err);

struct sec_config {
	struct cap_sets caps;        /* kept by the workload; all zero by default */
	struct landlock_spec *landlock;   /* a policy file; NULL: the default rules */
	/* policy files as given, and their pins */
	char *caps_policy, *caps_policy_sha256;
	char *landlock_policy, *landlock_policy_sha256;
	char *seccomp_profile, *seccomp_profile_sha256;
	bool seccomp_trace;          /* --seccomp-mode trace */
	bool seccomp_log_denied;     /* --seccomp-log-denied: denials become audit events */
	char *seccomp_log;           /* where the trace goes (NDJSON) */
	bool allow_memfd_exec;       /* leave vm.memfd_noexec as the host has it */
	bool allow_degraded;         /* --allow-degraded-security: a seccomp, Landlock or
	                              * mount-audit failure is a warning, not an error */
	enum trust_level trust;      /* --trust-level */
	enum lockdown_level require_lockdown;   /* --require-kernel-lockdown */
	int landlock_min_abi;        /* refuse to start below this Landlock ABI (0: any) */
};

#endif
