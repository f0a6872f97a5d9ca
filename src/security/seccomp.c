/* Profile -> classic BPF with libseccomp, kept in a content-addressed cache so
 * that a warm start installs a filter without compiling anything.
 *
 * Several comparisons on one argument are a conjunction (OCI). libseccomp
 * 2.5 refuses two comparisons on the same argument in one rule, and
 * splitting them into separate rules (runc, crun) turns AND into OR, which
 * widens an ALLOW rule. Here the set of values the conjunction admits is
 * computed exactly as a union of disjoint ternary patterns and each pattern
 * becomes one rule with a single SCMP_CMP_MASKED_EQ on that argument. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <nucleus/security.h>
#include "seccomp_internal.h"

#define CACHE_MAGIC "NUCSCMP4"

const char *sc_cache_dir(void)
{
	static char dir[4096];
	const char *env;

	if (dir[0])
		return dir;
	if ((env = getenv("NUCLEUS_CACHE_DIR")) && *env)
		snprintf(dir, sizeof(dir), "%s/seccomp", env);
	else if (geteuid() == 0)
		snprintf(dir, sizeof(dir), "/var/cache/nucleus/seccomp");
	else if ((env = getenv("XDG_CACHE_HOME")) && *env == '/')
		snprintf(dir, sizeof(dir), "%s/nucleus/seccomp", env);
	else if ((env = getenv("HOME")) && *env == '/')
		snprintf(dir, sizeof(dir), "%s/.cache/nucleus/seccomp", env);
	else
		snprintf(dir, sizeof(dir), "/tmp/nucleus-cache-%u/seccomp", (unsigned)geteuid());
	return dir;
}

static uint32_t action_to_scmp(struct sc_action a)
{
	switch (a.kind) {
	case SC_ALLOW: return SCMP_ACT_ALLOW;
	case SC_ERRNO: return SCMP_ACT_ERRNO(a.data);
	case SC_KILL_PROCESS: return SCMP_ACT_KILL_PROCESS;
	case SC_KILL_THREAD: return SCMP_ACT_KILL_THREAD;
	case SC_TRAP: return SCMP_ACT_TRAP;
	case SC_LOG: return SCMP_ACT_LOG;
	case SC_TRACE: return SCMP_ACT_TRACE(a.data);
	case SC_NOTIFY: return SCMP_ACT_NOTIFY;
	}
	return SCMP_ACT_KILL_PROCESS;
}

/* What every compiled program depends on besides its profile. */
void sc_key_env(struct sha256 *s, unsigned flags)
{
	const struct scmp_version *v = seccomp_version();
	char buf[160];

	sha256_init(s);
	/* the cache format too: builds that write different formats (an
	 * upgrade with containers running) keep to entries of their own */
	snprintf(buf, sizeof(buf), "nucleus-seccomp compiler=%d cache=%s libseccomp=%u.%u.%u native=%u "
		 "flags=%u\n", SC_COMPILER_REV, CACHE_MAGIC, v->major, v->minor, v->micro,
		 seccomp_arch_native(), flags);
	sha256_update(s, buf, strlen(buf));
}

void sc_key_final(struct sha256 *s, char out[65])
{
	uint8_t d[32];

	sha256_final(s, d);
	hex_encode(d, 32, out, 65);
}

/* An in-memory profile, as text fed to a hash. */
static void profile_describe(const struct sc_profile *p, struct sha256 *s)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "default=%d/%u kflags=%u\n", p->default_action.kind,
		 p->default_action.data, p->flags);
	sha256_update(s, buf, strlen(buf));
	for (size_t i = 0; i < p->narches; i++) {
		snprintf(buf, sizeof(buf), "arch %u\n", p->arches[i]);
		sha256_update(s, buf, strlen(buf));
	}
	for (size_t i = 0; i < p->nrules; i++) {
		const struct sc_rule *r = &p->rules[i];

		snprintf(buf, sizeof(buf), "rule %d/%u", r->action.kind, r->action.data);
		sha256_update(s, buf, strlen(buf));
		for (size_t j = 0; r->names && r->names[j]; j++) {
			sha256_update(s, " ", 1);
			sha256_update(s, r->names[j], strlen(r->names[j]));
		}
		for (size_t j = 0; j < r->nargs; j++) {
			snprintf(buf, sizeof(buf), " [%u %d %llu %llu]", r->args[j].index, r->args[j].op,
				 (unsigned long long)r->args[j].value,
				 (unsigned long long)r->args[j].value_two);
			sha256_update(s, buf, strlen(buf));
		}
		sha256_update(s, "\n", 1);
	}
}

/* The cache key covers everything the compiled program depends on; the
 * profile digest only the profile. */
static void profile_key(const struct sc_profile *p, unsigned flags, char key[65], char profile[65])
{
	struct sha256 s;

	sha256_init(&s);
	profile_describe(p, &s);
	sc_key_final(&s, profile);
	sc_key_env(&s, flags);
	profile_describe(p, &s);
	sc_key_final(&s, key);
}

/* ---- value sets ------------------------------------------------------------ */

static uint64_t width_mask(unsigned w)
{
	return w >= 64 ? ~0ull : (1ull << w) - 1;
}

static void patset_add(struct sc_patset *s, uint64_t mask, uint64_t value)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->p = xrealloc(s->p, s->cap * sizeof(*s->p));
	}
	s->p[s->n++] = (struct sc_pattern){ mask, value & mask };
}

/* [lo, hi] as aligned power-of-two blocks, like a range of addresses as CIDR
 * prefixes: at most 2 * width - 2 of them. */
static void patset_add_range(struct sc_patset *s, unsigned w, uint64_t lo, uint64_t hi)
{
	uint64_t all = width_mask(w);

	for (;;) {
		unsigned k = lo ? (unsigned)__builtin_ctzll(lo) : w;
		uint64_t span = hi - lo, size_1;

		if (k > w)
			k = w;
		/* the largest aligned block at lo that ends at or before hi */
		while ((size_1 = width_mask(k)) > span)
			k--;
		patset_add(s, all & ~size_1, lo);
		if (size_1 == span)
			return;
		lo += size_1 + 1;
	}
}

void sc_patset_from_cmp(struct sc_patset *s, unsigned w, enum sc_op op, uint64_t a, uint64_t b)
{
	uint64_t all = width_mask(w);

	s->n = 0;
	switch (op) {
	case SC_OP_EQ:
		patset_add(s, all, a);
		break;
	case SC_OP_NE:
		/* everything that first differs from a at bit i, for each i */
		for (unsigned i = w; i-- > 0;)
			patset_add(s, all & ~width_mask(i), a ^ (1ull << i));
		break;
	case SC_OP_LT:
		if (a)
			patset_add_range(s, w, 0, a - 1);
		break;
	case SC_OP_LE:
		patset_add_range(s, w, 0, a);
		break;
	case SC_OP_GT:
		if (a != all)
			patset_add_range(s, w, a + 1, all);
		break;
	case SC_OP_GE:
		patset_add_range(s, w, a, all);
		break;
	case SC_OP_MASKED_EQ:
		/* as libseccomp compiles it: (v & a) == (b & a) */
		patset_add(s, a & all, b);
		break;
	}
}

int sc_patset_intersect(struct sc_patset *out, const struct sc_patset *x, const struct sc_patset *y,
			size_t limit)
{
	out->n = 0;
	for (size_t i = 0; i < x->n; i++)
		for (size_t j = 0; j < y->n; j++) {
			const struct sc_pattern *p = &x->p[i], *q = &y->p[j];

			/* disjoint when they disagree on a bit both fix */
			if ((p->value ^ q->value) & p->mask & q->mask)
				continue;
			if (out->n >= limit)
				return -E2BIG;
			patset_add(out, p->mask | q->mask, p->value | q->value);
		}
	return 0;
}

void sc_patset_free(struct sc_patset *s)
{
	free(s->p);
	memset(s, 0, sizeof(*s));
}

bool sc_cmp_holds(unsigned w, enum sc_op op, uint64_t a, uint64_t b, uint64_t v)
{
	v &= width_mask(w);
	switch (op) {
	case SC_OP_NE: return v != a;
	case SC_OP_LT: return v < a;
	case SC_OP_LE: return v <= a;
	case SC_OP_EQ: return v == a;
	case SC_OP_GE: return v >= a;
	case SC_OP_GT: return v > a;
	case SC_OP_MASKED_EQ: return (v & a) == (b & a);
	}
	return false;
}

static bool op_valid(enum sc_op op)
{
	return op >= SC_OP_NE && op <= SC_OP_MASKED_EQ;
}

/* A comparison whose datums do not fit in 32 bits: libseccomp truncates
 * them for 32-bit architectures, which changes its meaning there. */
static bool cmp_wide(const struct sc_arg *a)
{
	return a->value > UINT32_MAX || (a->op == SC_OP_MASKED_EQ && a->value_two > UINT32_MAX);
}

/* The conjunction of the comparisons on argument idx, as patterns. For a
 * 32-bit architecture the argument is a 32-bit value: the set is cut to
 * [0, 2^32) first. */
static int arg_patterns(const struct sc_rule *r, unsigned idx, bool arg32, struct sc_patset *out,
			struct nerr *err)
{
	struct sc_patset cmp = { 0 }, res = { 0 };
	bool first = true;
	int rc = 0;

	if (arg32) {
		sc_patset_from_cmp(out, 64, SC_OP_LE, UINT32_MAX, 0);
		first = false;
	}
	for (size_t i = 0; i < r->nargs; i++) {
		const struct sc_arg *a = &r->args[i];

		if (a->index != idx)
			continue;
		if (first) {
			sc_patset_from_cmp(out, 64, a->op, a->value, a->value_two);
			first = false;
			continue;
		}
		sc_patset_from_cmp(&cmp, 64, a->op, a->value, a->value_two);
		if (sc_patset_intersect(&res, out, &cmp, SC_MAX_ALTERNATIVES) < 0) {
			rc = nerr_set(err, E2BIG, "the conditions on argument %u need more than %d rules",
				      idx, SC_MAX_ALTERNATIVES);
			break;
		}
		/* swap: the result becomes the running set, its old buffer is reused */
		{
			struct sc_patset t = *out;
			*out = res;
			res = t;
		}
	}
	sc_patset_free(&cmp);
	sc_patset_free(&res);
	return rc;
}

/* The number of values a union of disjoint patterns admits (up to 2^64). */
static unsigned __int128 patset_volume(const struct sc_patset *s)
{
	unsigned __int128 v = 0;

	for (size_t i = 0; i < s->n; i++)
		v += (unsigned __int128)1 << (64 - __builtin_popcountll(s->p[i].mask));
	return v;
}

int sc_args_compare(const struct sc_arg *a, size_t na, const struct sc_arg *b, size_t nb, unsigned *rel)
{
	const struct sc_rule ra = { .args = (struct sc_arg *)a, .nargs = na };
	const struct sc_rule rb = { .args = (struct sc_arg *)b, .nargs = nb };
	const unsigned __int128 all = (unsigned __int128)1 << 64;
	bool a_empty = false, b_empty = false, c_empty = false, a_in_b = true, b_in_a = true;
	struct nerr err;
	int rc = 0;

	for (size_t i = 0; i < na + nb; i++) {
		const struct sc_arg *x = i < na ? &a[i] : &b[i - na];

		if (x->index > 5 || !op_valid(x->op))
			return -EINVAL;
	}
	for (unsigned idx = 0; idx < 6 && rc == 0; idx++) {
		struct sc_patset sa = { 0 }, sb = { 0 }, sc = { 0 };
		bool has_a = false, has_b = false;
		unsigned __int128 va = all, vb = all, vc;

		for (size_t i = 0; i < na; i++)
			has_a |= a[i].index == idx;
		for (size_t i = 0; i < nb; i++)
			has_b |= b[i].index == idx;
		if (!has_a && !has_b)
			continue;
		if ((has_a && (rc = arg_patterns(&ra, idx, false, &sa, &err)) < 0) ||
		    (has_b && (rc = arg_patterns(&rb, idx, false, &sb, &err)) < 0))
			goto next;
		if (has_a)
			va = patset_volume(&sa);
		if (has_b)
			vb = patset_volume(&sb);
		if (has_a && has_b) {
			if ((rc = sc_patset_intersect(&sc, &sa, &sb, SC_MAX_ALTERNATIVES)) < 0)
				goto next;
			vc = patset_volume(&sc);
		} else {
			vc = has_a ? va : vb;
		}
		a_empty |= va == 0;
		b_empty |= vb == 0;
		c_empty |= vc == 0;
		a_in_b &= vc == va;
		b_in_a &= vc == vb;
next:
		sc_patset_free(&sa);
		sc_patset_free(&sb);
		sc_patset_free(&sc);
	}
	if (rc < 0)
		return rc;
	*rel = (c_empty ? SC_ARGS_DISJOINT : 0) | (a_empty || a_in_b ? SC_ARGS_A_IN_B : 0) |
	       (b_empty || b_in_a ? SC_ARGS_B_IN_A : 0);
	return 0;
}

bool sc_rule_width_sensitive(const struct sc_rule *r)
{
	unsigned count[6] = { 0 };

	for (size_t i = 0; i < r->nargs; i++)
		if (r->args[i].index > 5 || ++count[r->args[i].index] > 1 || cmp_wide(&r->args[i]))
			return true;
	return false;
}

int sc_rule_alternatives(const struct sc_rule *r, bool arg32, struct sc_alt **out, size_t *n,
			 struct nerr *err)
{
	struct sc_patset sets[6] = { 0 };
	bool by_pattern[6] = { false };
	unsigned count[6] = { 0 };
	size_t pick[6] = { 0 }, total = 1;
	uint64_t keep = arg32 ? UINT32_MAX : UINT64_MAX;
	struct sc_alt *alts;
	bool simple = true;
	int rc = 0;

	*out = NULL;
	*n = 0;
	for (size_t i = 0; i < r->nargs; i++) {
		unsigned idx = r->args[i].index;

		if (idx > 5)
			return nerr_set(err, EINVAL, "argument index %u (0 to 5)", idx);
		if (!op_valid(r->args[i].op))
			return nerr_set(err, EINVAL, "comparison operator %d", (int)r->args[i].op);
		if (++count[idx] > 1 || (arg32 && cmp_wide(&r->args[i])))
			simple = false;
	}
	/* Once patterns are needed, every argument of the rule is written as
	 * patterns: libseccomp 2.5.4 can loop forever merging rules that mix
	 * a range or NE comparison on one argument with comparisons on another
	 * that differ in the high word, which is what patterns look like. */
	for (unsigned idx = 0; idx < 6; idx++)
		by_pattern[idx] = !simple && count[idx] > 0;
	if (simple) {
		alts = xcalloc(1, sizeof(*alts));
		for (size_t i = 0; i < r->nargs; i++)
			alts->args[alts->n++] = r->args[i];
		*out = alts;
		*n = 1;
		return 0;
	}
	for (unsigned idx = 0; idx < 6; idx++) {
		if (!by_pattern[idx])
			continue;
		if ((rc = arg_patterns(r, idx, arg32, &sets[idx], err)) < 0)
			goto out;
		total *= sets[idx].n;
		if (total > SC_MAX_ALTERNATIVES) {
			rc = nerr_set(err, E2BIG, "the argument conditions need more than %d rules",
				      SC_MAX_ALTERNATIVES);
			goto out;
		}
	}
	if (total == 0)          /* contradictory: the rule matches no call */
		goto out;
	alts = xcalloc(total, sizeof(*alts));
	for (size_t k = 0; k < total; k++) {
		struct sc_alt *a = &alts[k];

		for (unsigned idx = 0; idx < 6; idx++) {
			const struct sc_pattern *p;

			if (!by_pattern[idx])
				continue;
			p = &sets[idx].p[pick[idx]];
			/* mask 0 admits every value: no condition. For 32-bit
			 * arches only the low word is compared (the high word
			 * is fixed to 0 in every pattern there). */
			if (p->mask & keep)
				a->args[a->n++] = (struct sc_arg){ .index = idx, .op = SC_OP_MASKED_EQ,
								   .value = p->mask & keep,
								   .value_two = p->value & keep };
		}
		/* the next combination, mixed radix */
		for (unsigned idx = 0; idx < 6; idx++) {
			if (!by_pattern[idx])
				continue;
			if (++pick[idx] < sets[idx].n)
				break;
			pick[idx] = 0;
		}
	}
	*out = alts;
	*n = total;
out:
	for (unsigned idx = 0; idx < 6; idx++)
		sc_patset_free(&sets[idx]);
	return rc;
}

/* ---- compiling ------------------------------------------------------------------ */

/* libseccomp compares only the low 32 bits of an argument on these. */
static bool arch_is_32bit(uint32_t tok)
{
	return !(tok & __AUDIT_ARCH_64BIT) || tok == SCMP_ARCH_MIPS64N32 ||
	       tok == SCMP_ARCH_MIPSEL64N32;
}

/* Names this libseccomp cannot resolve are skipped here; profile parsers
 * collect them in sc_profile.unknown so the user hears about them once. */
static int add_rule(scmp_filter_ctx ctx, const struct sc_profile *p, const struct sc_rule *r,
		    bool arg32, size_t *budget, struct nerr *err)
{
	_cleanup_free_ struct sc_alt *alts = NULL;
	uint32_t act = action_to_scmp(r->action);
	size_t nalts;
	int rc;

	/* A rule whose action equals the default adds nothing. */
	if (act == action_to_scmp(p->default_action))
		return 0;
	if ((rc = sc_rule_alternatives(r, arg32, &alts, &nalts, err)) < 0)
		return nerr_prefix(err, "seccomp rule for `%s`", r->names && r->names[0] ? r->names[0] : "?");
	for (size_t j = 0; r->names && r->names[j]; j++) {
		int nr = seccomp_syscall_resolve_name(r->names[j]);

		if (nr == __NR_SCMP_ERROR)
			continue;
		/* libseccomp's time grows faster than its rule count, and a
		 * filter this big would not fit in BPF_MAXINSNS anyway */
		if (nalts > *budget)
			return nerr_set(err, E2BIG, "seccomp profile needs more than %d libseccomp rules "
					"(calls times argument alternatives)", SC_MAX_LIBSECCOMP_RULES);
		*budget -= nalts;
		for (size_t k = 0; k < nalts; k++) {
			struct scmp_arg_cmp cmps[6];

			for (unsigned i = 0; i < alts[k].n; i++)
				cmps[i] = (struct scmp_arg_cmp){
					.arg = alts[k].args[i].index,
					.op = (enum scmp_compare)alts[k].args[i].op,
					.datum_a = alts[k].args[i].value,
					.datum_b = alts[k].args[i].value_two,
				};
			rc = seccomp_rule_add_array(ctx, act, nr, alts[k].n, cmps);
			if (rc < 0)
				return nerr_set(err, -rc, "seccomp rule for `%s`", r->names[j]);
		}
	}
	return 0;
}

/* One libseccomp filter for a set of architectures whose arguments have the
 * same width; with_native: keep the native architecture seccomp_init adds. */
static int build_filter(const struct sc_profile *p, unsigned flags, const uint32_t *arches,
			size_t narches, bool with_native, bool arg32, scmp_filter_ctx *out,
			struct nerr *err)
{
	/* --seccomp-log-denied: the default denial goes to the supervisor,
	 * which logs it and answers with the profile's errno */
	bool notify = (flags & SC_FLAG_NOTIFY_DENIED) && p->default_action.kind == SC_ERRNO;
	scmp_filter_ctx ctx = seccomp_init(notify ? SCMP_ACT_NOTIFY : action_to_scmp(p->default_action));
	int rc;

	*out = NULL;
	if (!ctx)
		return nerr_set(err, EINVAL, "seccomp_init: default action %d/%u", p->default_action.kind,
				p->default_action.data);
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (flags & SC_FLAG_LOG_DENIED)
		seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1);
	for (size_t i = 0; i < narches; i++) {
		rc = seccomp_arch_add(ctx, arches[i]);
		if (rc < 0 && rc != -EEXIST) {
			seccomp_release(ctx);
			return nerr_set(err, -rc, "seccomp architecture %#x%s", arches[i],
					rc == -EDOM ? " (its byte order differs from this machine's)" : "");
		}
	}
	if (!with_native && (rc = seccomp_arch_remove(ctx, SCMP_ARCH_NATIVE)) < 0) {
		seccomp_release(ctx);
		return nerr_set(err, -rc, "seccomp: remove the native architecture");
	}
	for (size_t i = 0, budget = SC_MAX_LIBSECCOMP_RULES; i < p->nrules; i++) {
		rc = add_rule(ctx, p, &p->rules[i], arg32, &budget, err);
		if (rc < 0) {
			seccomp_release(ctx);
			return rc;
		}
	}
	*out = ctx;
	return 0;
}

/* Arguments are 64-bit on some of the filter's architectures and 32-bit on
 * others (x86_64 with x86 and x32): a rule whose comparisons mean something
 * else on 32 bits (several on one argument, or datums above 32 bits) is
 * compiled separately for each width and the two filters are merged. */
static int build(const struct sc_profile *p, unsigned flags, scmp_filter_ctx *out, struct nerr *err)
{
	uint32_t native = seccomp_arch_native();
	_cleanup_free_ uint32_t *a64 = xcalloc(p->narches + 1, sizeof(uint32_t));
	_cleanup_free_ uint32_t *a32 = xcalloc(p->narches + 1, sizeof(uint32_t));
	size_t n64 = 0, n32 = 0;
	bool sensitive = false;
	scmp_filter_ctx c32;
	int rc;

	for (size_t i = 0; i < p->narches; i++) {
		if (p->arches[i] == native)
			continue;
		if (arch_is_32bit(p->arches[i]))
			a32[n32++] = p->arches[i];
		else
			a64[n64++] = p->arches[i];
	}
	for (size_t i = 0; i < p->nrules && !sensitive; i++)
		sensitive = sc_rule_width_sensitive(&p->rules[i]);
	if (arch_is_32bit(native)) {
		/* a 32-bit machine: its own class is the one seccomp_init made */
		if (!sensitive || !n64) {
			for (size_t i = 0; i < n64; i++)
				a32[n32++] = a64[i];
			return build_filter(p, flags, a32, n32, true, !n64, out, err);
		}
		if ((rc = build_filter(p, flags, a32, n32, true, true, out, err)) < 0)
			return rc;
		if ((rc = build_filter(p, flags, a64, n64, false, false, &c32, err)) < 0)
			goto fail;
	} else {
		if (!sensitive || !n32) {
			for (size_t i = 0; i < n32; i++)
				a64[n64++] = a32[i];
			return build_filter(p, flags, a64, n64, true, false, out, err);
		}
		if ((rc = build_filter(p, flags, a64, n64, true, false, out, err)) < 0)
			return rc;
		if ((rc = build_filter(p, flags, a32, n32, false, true, &c32, err)) < 0)
			goto fail;
	}
	if ((rc = seccomp_merge(*out, c32)) < 0) {
		seccomp_release(c32);
		rc = nerr_set(err, -rc, "seccomp: merge the 32-bit and 64-bit filters");
		goto fail;
	}
	return 0;
fail:
	seccomp_release(*out);
	*out = NULL;
	return rc;
}

int sc_program_compile(const struct sc_profile *p, unsigned flags, struct sc_program *out,
		       struct nerr *err)
{
	scmp_filter_ctx ctx;
	_cleanup_close_ int mfd = -1;
	struct stat st;
	int rc;

	out->insns = NULL;
	out->len = 0;
	out->from_cache = false;
	out->kflags = p->flags & SC_KFLAGS_HONOURED;
	out->notify_errno = (flags & SC_FLAG_NOTIFY_DENIED) && p->default_action.kind == SC_ERRNO ?
			    p->default_action.data : 0;
	if ((rc = build(p, flags, &ctx, err)) < 0)
		return rc;
	mfd = memfd_create("nucleus-seccomp", MFD_CLOEXEC);
	if (mfd < 0) {
		seccomp_release(ctx);
		return nerr_set(err, errno, "memfd_create");
	}
	rc = seccomp_export_bpf(ctx, mfd);
	seccomp_release(ctx);
	if (rc < 0)
		return nerr_set(err, -rc, "export seccomp filter");
	if (fstat(mfd, &st) < 0)
		return nerr_set(err, errno, "stat seccomp filter");
	if (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) ||
	    st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS)
		return nerr_set(err, E2BIG, "seccomp filter of %lld instructions (the kernel takes %d)",
				(long long)st.st_size / (long long)sizeof(struct sock_filter), BPF_MAXINSNS);
	out->len = (unsigned short)(st.st_size / sizeof(struct sock_filter));
	out->insns = xmalloc((size_t)st.st_size);
	if (pread(mfd, out->insns, (size_t)st.st_size, 0) != st.st_size) {
		free(out->insns);
		out->insns = NULL;
		return nerr_set(err, EIO, "read seccomp filter");
	}
	return 0;
}

/* libseccomp 2.5.4 loops forever on some profiles (several rules for one
 * call that combine a range or NE comparison with comparisons differing in
 * an argument's high word). The supervisor must not hang on a profile, so
 * cache misses compile in a child that is given this long. */
unsigned sc_compile_timeout_ms = 10000;

struct compile_reply {
	struct nerr err;
	int rc;
	unsigned kflags;
	uint32_t notify_errno;
	uint32_t len;
};

int sc_program_compile_guarded(const struct sc_profile *p, unsigned flags, struct sc_program *out,
			   struct nerr *err)
{
	_cleanup_close_ int rfd = -1, wfd = -1;
	struct compile_reply rep;
	uint64_t deadline = now_ns() + sc_compile_timeout_ms * 1000000ull;
	size_t got = 0, want = sizeof(rep);
	char *buf = (char *)&rep;
	int fds[2], st;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return sc_program_compile(p, flags, out, err);
	rfd = fds[0];
	wfd = fds[1];
	pid = fork();
	if (pid < 0)
		return sc_program_compile(p, flags, out, err);
	if (pid == 0) {
		struct sc_program prog = { 0 };

		memset(&rep, 0, sizeof(rep));
		rep.rc = sc_program_compile(p, flags, &prog, &rep.err);
		rep.kflags = prog.kflags;
		rep.notify_errno = prog.notify_errno;
		rep.len = prog.len;
		if (write_all(wfd, &rep, sizeof(rep)) < 0 ||
		    (rep.rc == 0 && write_all(wfd, prog.insns, prog.len * sizeof(struct sock_filter)) < 0))
			_exit(1);
		_exit(0);
	}
	close(steal_fd(wfd));
	out->insns = NULL;
	while (got < want) {
		struct pollfd pfd = { .fd = rfd, .events = POLLIN };
		uint64_t now = now_ns();
		ssize_t n;
		int r;

		r = now >= deadline ? 0 : poll(&pfd, 1, (int)((deadline - now) / 1000000 + 1));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			free(out->insns);
			out->insns = NULL;
			return nerr_set(err, ETIMEDOUT, "libseccomp did not finish compiling the profile in "
					"%u ms (a libseccomp 2.5 bug with some combinations of 64-bit "
					"comparisons; see docs/seccomp.md)", sc_compile_timeout_ms);
		}
		n = read(rfd, buf + got, want - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == sizeof(rep) && buf == (char *)&rep) {
			if (rep.rc < 0 || rep.len == 0 || rep.len > BPF_MAXINSNS)
				break;
			out->insns = xmalloc(rep.len * sizeof(struct sock_filter));
			buf = out->insns;
			got = 0;
			want = rep.len * sizeof(struct sock_filter);
		}
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (got == want && buf == (char *)&rep && rep.rc < 0) {
		*err = rep.err;
		return rep.rc;
	}
	if (got != want || buf == (char *)&rep || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		free(out->insns);
		out->insns = NULL;
		return nerr_set(err, EIO, "compile the seccomp filter: the compiler process %s",
				WIFSIGNALED(st) ? strsignal(WTERMSIG(st)) : "failed");
	}
	out->len = (unsigned short)rep.len;
	out->kflags = rep.kflags;
	out->notify_errno = rep.notify_errno;
	out->from_cache = false;
	return 0;
}

/* ---- the cache -------------------------------------------------------------------
 * One file per key: a header (magic, the key itself, kernel flags, counts,
 * the SHA-256 of the profile the program was compiled from, the SHA-256 of
 * the instructions, the SHA-256 of the rest), the instructions, then the
 * unknown syscall names, each NUL-terminated. The key inside the file means
 * an entry renamed or copied under another key is refused, the profile
 * digest binds it to the profile it claims to come from, the program digest
 * is checked against the instructions themselves, and the file digest
 * catches corruption elsewhere. Whoever can write the directory can forge
 * all of that, which is why a pinned profile is compiled anyway
 * (SC_PREPARE_VERIFY) and the audit records the hash of the instructions
 * actually installed, never a digest read from the file. */

/* magic 8, key 64, kflags 4, n 4, names 4, notify errno 4, then three
 * SHA-256: profile, program, file */
#define CACHE_PROFILE_AT 88
#define CACHE_PROGRAM_AT 120
#define CACHE_DIGEST_AT 152
#define CACHE_HDR 184
#define CACHE_MAX_NAMES (64 * 1024)

const char *sc_cache_use_name(enum sc_cache_use u)
{
	switch (u) {
	case SC_CACHE_COMPILED: return "compiled";
	case SC_CACHE_HIT: return "hit";
	case SC_CACHE_VERIFIED: return "verified";
	case SC_CACHE_RECOMPILED: return "recompiled";
	case SC_CACHE_BYPASSED: return "bypassed";
	}
	return "?";
}

void sc_program_digest(const struct sc_program *prog, char out[65])
{
	sha256_hex(prog->insns, (size_t)prog->len * sizeof(struct sock_filter), out);
}

/* A cached filter is code the kernel will run for the workload: only trust
 * files owned by us in a directory nobody else can write. */
static bool cache_trusted(int dirfd, int fd)
{
	/* the rule of all runtime state (trust_fd) */
	return trust_fd(dirfd, S_IFDIR, "seccomp cache", sc_cache_dir(), NULL) == 0 &&
	       trust_fd(fd, S_IFREG, "seccomp cache entry", sc_cache_dir(), NULL) == 0;
}

static void cache_digest(const char *buf, size_t len, uint8_t out[32])
{
	struct sha256 s;

	sha256_init(&s);
	sha256_update(&s, buf, CACHE_DIGEST_AT);
	sha256_update(&s, buf + CACHE_HDR, len - CACHE_HDR);
	sha256_final(&s, out);
}

static int hex32(const char hex[65], uint8_t out[32])
{
	for (size_t i = 0; i < 32; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* -ENOENT: no entry; -EPERM: not trusted; -EINVAL: not an entry of this
 * format or not for this key; -EBADMSG: an entry for this key whose
 * digests do not hold (why says which). */
int sc_cache_load(const char *key, const char *profile_sha256, struct sc_program *out,
		  char ***unknown, char *why, size_t whylen)
{
	_cleanup_close_ int dirfd = open(sc_cache_dir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	uint32_t kflags, n, names, notify_errno;
	uint8_t digest[32], profile[32];
	char program[65];
	struct stat st;
	size_t len;

	snprintf(why, whylen, "unreadable");
	if (dirfd < 0)
		return -errno;
	fd = openat(dirfd, key, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (!cache_trusted(dirfd, fd)) {
		snprintf(why, whylen, "the entry or its directory is not owned by this user or is "
			 "writable by others");
		return -EPERM;
	}
	snprintf(why, whylen, "the entry is truncated or in another format");
	if (fstat(fd, &st) < 0 || st.st_size < CACHE_HDR ||
	    st.st_size > CACHE_HDR + 8 * BPF_MAXINSNS + CACHE_MAX_NAMES)
		return -EINVAL;
	len = (size_t)st.st_size;
	buf = xmalloc(len);
	if (read_all(fd, buf, len) != (ssize_t)len)
		return -EIO;
	memcpy(&kflags, buf + 72, 4);
	memcpy(&n, buf + 76, 4);
	memcpy(&names, buf + 80, 4);
	memcpy(&notify_errno, buf + 84, 4);
	if (memcmp(buf, CACHE_MAGIC, 8) || n == 0 || n > BPF_MAXINSNS || names > CACHE_MAX_NAMES ||
	    len != CACHE_HDR + (size_t)n * sizeof(struct sock_filter) + names ||
	    (kflags & ~SC_KFLAGS_HONOURED) || notify_errno > 4095 || (names && buf[len - 1] != '\0'))
		return -EINVAL;
	if (memcmp(buf + 8, key, 64)) {
		snprintf(why, whylen, "the entry belongs to another key");
		return -EBADMSG;
	}
	cache_digest(buf, len, digest);
	if (memcmp(digest, buf + CACHE_DIGEST_AT, 32)) {
		snprintf(why, whylen, "the entry's file digest does not match its contents");
		return -EBADMSG;
	}
	if (hex32(profile_sha256, profile) < 0 || memcmp(profile, buf + CACHE_PROFILE_AT, 32)) {
		snprintf(why, whylen, "the entry was compiled from another profile");
		return -EBADMSG;
	}
	out->insns = xmalloc((size_t)n * sizeof(struct sock_filter));
	memcpy(out->insns, buf + CACHE_HDR, (size_t)n * sizeof(struct sock_filter));
	out->len = (unsigned short)n;
	sc_program_digest(out, program);
	if (hex32(program, digest) < 0 || memcmp(digest, buf + CACHE_PROGRAM_AT, 32)) {
		free(out->insns);
		out->insns = NULL;
		out->len = 0;
		snprintf(why, whylen, "the entry's instructions do not match its program digest");
		return -EBADMSG;
	}
	out->kflags = kflags;
	out->notify_errno = notify_errno;
	if (unknown) {
		*unknown = NULL;
		for (const char *s = buf + len - names; s < buf + len; s += strlen(s) + 1)
			strv_push(unknown, s);
	}
	why[0] = '\0';
	return 0;
}

void sc_cache_store(const char *key, const char *profile_sha256, const struct sc_program *prog,
		    char *const *unknown)
{
	const char *dir = sc_cache_dir();
	_cleanup_free_ char *path = xasprintf("%s/%s", dir, key);
	size_t names = 0, code = (size_t)prog->len * sizeof(struct sock_filter), len, off;
	_cleanup_free_ char *buf = NULL;
	char program[65];
	uint32_t v;

	for (size_t i = 0; unknown && unknown[i]; i++)
		names += strlen(unknown[i]) + 1;
	if (names > CACHE_MAX_NAMES)
		return;
	len = CACHE_HDR + code + names;
	buf = xcalloc(1, len);
	memcpy(buf, CACHE_MAGIC, 8);
	memcpy(buf + 8, key, 64);
	v = prog->kflags;
	memcpy(buf + 72, &v, 4);
	v = prog->len;
	memcpy(buf + 76, &v, 4);
	v = (uint32_t)names;
	memcpy(buf + 80, &v, 4);
	v = prog->notify_errno;
	memcpy(buf + 84, &v, 4);
	sc_program_digest(prog, program);
	if (hex32(profile_sha256, (uint8_t *)buf + CACHE_PROFILE_AT) < 0 ||
	    hex32(program, (uint8_t *)buf + CACHE_PROGRAM_AT) < 0)
		return;
	memcpy(buf + CACHE_HDR, prog->insns, code);
	off = CACHE_HDR + code;
	for (size_t i = 0; unknown && unknown[i]; i++) {
		size_t l = strlen(unknown[i]) + 1;

		memcpy(buf + off, unknown[i], l);
		off += l;
	}
	cache_digest(buf, len, (uint8_t *)buf + CACHE_DIGEST_AT);
	if (mkdir_p(dir, 0700) < 0)
		return;            /* a cache that cannot be written is only slower */
	if (write_file_atomic(path, buf, len, 0600) < 0)
		log_debug("seccomp cache: cannot write %s", path);
}

static bool same_program(const struct sc_program *a, const struct sc_program *b)
{
	return a->len == b->len && a->kflags == b->kflags && a->notify_errno == b->notify_errno &&
	       !memcmp(a->insns, b->insns, (size_t)a->len * sizeof(struct sock_filter));
}

int sc_prepare_cached(const char *key, const char *profile_sha256, unsigned flags,
		      sc_compile_fn compile, void *arg, struct sc_program *out, char ***unknown,
		      struct nerr *err)
{
	bool verify = flags & SC_PREPARE_VERIFY, bypass = flags & SC_PREPARE_NO_CACHE;
	struct sc_program cached = { 0 };
	char **cached_unknown = NULL, **fresh_unknown = NULL, why[160] = "";
	int r = -ENOENT, rc;

	flags &= ~(SC_PREPARE_VERIFY | SC_PREPARE_NO_CACHE);
	snprintf(out->key, sizeof(out->key), "%s", key);
	snprintf(out->profile_sha256, sizeof(out->profile_sha256), "%s", profile_sha256);
	out->cache_note[0] = '\0';
	if (unknown)
		*unknown = NULL;
	if (!bypass)
		r = sc_cache_load(key, profile_sha256, &cached, &cached_unknown, why, sizeof(why));
	if (r == 0 && !verify) {
		out->insns = steal_ptr(cached.insns);
		out->len = cached.len;
		out->kflags = cached.kflags;
		out->notify_errno = cached.notify_errno;
		out->from_cache = true;
		out->cache = SC_CACHE_HIT;
		sc_program_digest(out, out->sha256);
		if (unknown)
			*unknown = cached_unknown;
		else
			strv_free(cached_unknown);
		return 0;
	}
	strv_free(cached_unknown);
	rc = compile(arg, flags, out, &fresh_unknown, err);
	if (rc < 0) {
		sc_program_free(&cached);
		return rc;
	}
	out->from_cache = false;
	sc_program_digest(out, out->sha256);
	if (bypass) {
		out->cache = SC_CACHE_BYPASSED;
	} else if (r == 0 && same_program(&cached, out)) {
		out->cache = SC_CACHE_VERIFIED;
	} else if (r == 0) {
		char theirs[65];

		sc_program_digest(&cached, theirs);
		out->cache = SC_CACHE_RECOMPILED;
		snprintf(out->cache_note, sizeof(out->cache_note),
			 "the cached filter (sha256 %.16s...) is not what the profile compiles to; replaced",
			 theirs);
		log_warn("seccomp cache entry %.16s...: %s", key, out->cache_note);
		sc_cache_store(key, profile_sha256, out, fresh_unknown);
	} else {
		out->cache = r == -ENOENT ? SC_CACHE_COMPILED : SC_CACHE_RECOMPILED;
		if (r != -ENOENT) {
			snprintf(out->cache_note, sizeof(out->cache_note), "%s; recompiled", why);
			/* a forged or damaged entry is worth a warning, an old format is not */
			if (r == -EBADMSG)
				log_warn("seccomp cache entry %.16s...: %s", key, out->cache_note);
			else
				log_debug("seccomp cache entry %.16s...: %s", key, out->cache_note);
		}
		sc_cache_store(key, profile_sha256, out, fresh_unknown);
	}
	sc_program_free(&cached);
	if (unknown)
		*unknown = fresh_unknown;
	else
		strv_free(fresh_unknown);
	return 0;
}

/* An in-memory profile: guarded compile (it may come from anywhere). */
static int compile_profile(void *arg, unsigned flags, struct sc_program *out, char ***unknown,
			   struct nerr *err)
{
	*unknown = NULL;
	return sc_program_compile_guarded(arg, flags, out, err);
}

int sc_program_prepare(const struct sc_profile *p, unsigned flags,
		       struct sc_program *out, struct nerr *err)
{
	char key[65], profile[65];

	memset(out, 0, sizeof(*out));
	profile_key(p, flags & ~(SC_PREPARE_VERIFY | SC_PREPARE_NO_CACHE), key, profile);
	return sc_prepare_cached(key, profile, flags, compile_profile, (void *)p, out, NULL, err);
}

/* The built-in profile: our own fixed tables, known to compile, so no
 * child is needed. */
static int compile_builtin(void *arg, unsigned flags, struct sc_program *out, char ***unknown,
			   struct nerr *err)
{
	struct sc_profile p;
	int rc;

	(void)arg;
	*unknown = NULL;
	if ((rc = sc_profile_builtin_default(&p, err)) < 0)
		return rc;
	rc = sc_program_compile(&p, flags, out, err);
	sc_profile_free(&p);
	return rc;
}

int sc_program_prepare_builtin(unsigned flags, struct sc_program *out, struct nerr *err)
{
	char key[65], profile[65];
	struct sha256 s;

	memset(out, 0, sizeof(*out));
	sha256_init(&s);
	sc_builtin_digest(&s);
	sc_key_final(&s, profile);
	sc_key_env(&s, flags & ~(SC_PREPARE_VERIFY | SC_PREPARE_NO_CACHE));
	sc_builtin_digest(&s);
	sc_key_final(&s, key);
	return sc_prepare_cached(key, profile, flags, compile_builtin, NULL, out, NULL, err);
}

void sc_program_free(struct sc_program *prog)
{
	free(prog->insns);
	prog->insns = NULL;
	prog->len = 0;
}

int sc_program_install(const struct sc_program *prog, unsigned flags, struct nerr *err)
{
	struct sock_fprog fprog = { .len = prog->len, .filter = prog->insns };
	unsigned kflags = prog->kflags & SC_KFLAGS_HONOURED;
	long r;

	if (flags & SC_FLAG_LOG_DENIED)
		kflags |= SECCOMP_FILTER_FLAG_LOG;
	if (prog->notify_errno)
		kflags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
	r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, kflags, &fprog);
	if (r < 0)
		return nerr_set(err, errno, "install seccomp filter%s",
				errno == EINVAL && kflags ? " (does this kernel know the profile's flags?)" : "");
	return prog->notify_errno ? (int)r : 0;
}

/* ---- a classic BPF interpreter, as the kernel runs seccomp filters ------------- */

uint32_t sc_bpf_run(const void *insns, unsigned len, const struct seccomp_data *d)
{
	const struct sock_filter *f = insns;
	uint32_t a = 0, x = 0, mem[BPF_MEMWORDS] = { 0 };

	for (unsigned pc = 0; pc < len; pc++) {
		const struct sock_filter *i = &f[pc];
		uint32_t src = BPF_SRC(i->code) == BPF_X ? x : i->k;

		switch (BPF_CLASS(i->code)) {
		case BPF_LD:
		case BPF_LDX: {
			uint32_t v;

			switch (BPF_MODE(i->code)) {
			case BPF_ABS:
				if (BPF_SIZE(i->code) != BPF_W || i->k % 4 || i->k > sizeof(*d) - 4)
					return SECCOMP_RET_KILL_PROCESS;
				memcpy(&v, (const char *)d + i->k, 4);
				break;
			case BPF_IMM: v = i->k; break;
			case BPF_LEN: v = sizeof(*d); break;
			case BPF_MEM:
				if (i->k >= BPF_MEMWORDS)
					return SECCOMP_RET_KILL_PROCESS;
				v = mem[i->k];
				break;
			default:
				return SECCOMP_RET_KILL_PROCESS;
			}
			if (BPF_CLASS(i->code) == BPF_LD)
				a = v;
			else
				x = v;
			break;
		}
		case BPF_ST:
		case BPF_STX:
			if (i->k >= BPF_MEMWORDS)
				return SECCOMP_RET_KILL_PROCESS;
			mem[i->k] = BPF_CLASS(i->code) == BPF_ST ? a : x;
			break;
		case BPF_ALU:
			switch (BPF_OP(i->code)) {
			case BPF_ADD: a += src; break;
			case BPF_SUB: a -= src; break;
			case BPF_MUL: a *= src; break;
			case BPF_DIV: if (!src) return SECCOMP_RET_KILL_PROCESS; a /= src; break;
			case BPF_MOD: if (!src) return SECCOMP_RET_KILL_PROCESS; a %= src; break;
			case BPF_OR: a |= src; break;
			case BPF_AND: a &= src; break;
			case BPF_XOR: a ^= src; break;
			case BPF_LSH: a = src >= 32 ? 0 : a << src; break;
			case BPF_RSH: a = src >= 32 ? 0 : a >> src; break;
			case BPF_NEG: a = -a; break;
			default: return SECCOMP_RET_KILL_PROCESS;
			}
			break;
		case BPF_JMP: {
			bool t;

			if (BPF_OP(i->code) == BPF_JA) {
				pc += i->k;
				break;
			}
			switch (BPF_OP(i->code)) {
			case BPF_JEQ: t = a == src; break;
			case BPF_JGT: t = a > src; break;
			case BPF_JGE: t = a >= src; break;
			case BPF_JSET: t = (a & src) != 0; break;
			default: return SECCOMP_RET_KILL_PROCESS;
			}
			pc += t ? i->jt : i->jf;
			break;
		}
		case BPF_RET:
			return BPF_RVAL(i->code) == BPF_A ? a : i->k;
		case BPF_MISC:
			if (BPF_MISCOP(i->code) == BPF_TAX)
				x = a;
			else
				a = x;
			break;
		}
	}
	return SECCOMP_RET_KILL_PROCESS;    /* fell off the end: the kernel refuses such a filter */
}
