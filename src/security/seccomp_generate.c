/* From recorded traces to a minimal OCI seccomp profile that is never
 * weaker than the built-in default, nor than a --base profile. */
#include <errno.h>
#include <string.h>
#include <jansson.h>
#include <seccomp.h>
#include <nucleus/security.h>
#include "seccomp_internal.h"

void sc_trace_set_add(struct sc_trace_set *s, unsigned abi, unsigned nr, uint64_t count)
{
	if (abi >= SC_TRACE_ABIS || nr >= SC_TRACE_MAX_NR)
		return;
	s->seen[abi][nr / 64] |= 1ull << (nr % 64);
	s->count[abi][nr] += count;
}

bool sc_trace_set_has(const struct sc_trace_set *s, unsigned abi, unsigned nr)
{
	return abi < SC_TRACE_ABIS && nr < SC_TRACE_MAX_NR && (s->seen[abi][nr / 64] >> (nr % 64)) & 1;
}

int sc_trace_read_ndjson(const char *path, struct sc_trace_set *s, struct nerr *err)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0, r = 0;

	if (!f)
		return nerr_set(err, errno, "trace `%s`", path);
	while (getline(&line, &cap, f) > 0) {
		json_error_t je;
		json_t *o;
		json_int_t nr, count;
		const char *abi_name;
		int abi;

		lineno++;
		if (strspn(line, " \t\r\n") == strlen(line))
			continue;
		o = json_loads(line, 0, &je);
		if (!o) {
			r = nerr_set(err, 0, "%s:%d: %s", path, lineno, je.text);
			break;
		}
		if (json_unpack(o, "{s:I,s:s,s:I}", "syscall", &nr, "abi", &abi_name, "count", &count) < 0 ||
		    nr < 0 || nr >= SC_TRACE_MAX_NR || count < 0 || (abi = sc_trace_abi_from_name(abi_name)) < 0) {
			json_decref(o);
			r = nerr_set(err, 0, "%s:%d: expected {\"syscall\": N, \"abi\": \"x86_64|x86|x32\", "
					     "\"count\": N}", path, lineno);
			break;
		}
		sc_trace_set_add(s, (unsigned)abi, (unsigned)nr, (uint64_t)count);
		json_decref(o);
	}
	free(line);
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *const abi_arch_token[] = { "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32" };

const char *sc_action_token(enum sc_action_kind k)
{
	switch (k) {
	case SC_ALLOW: return "SCMP_ACT_ALLOW";
	case SC_ERRNO: return "SCMP_ACT_ERRNO";
	case SC_KILL_PROCESS: return "SCMP_ACT_KILL_PROCESS";
	case SC_KILL_THREAD: return "SCMP_ACT_KILL_THREAD";
	case SC_TRAP: return "SCMP_ACT_TRAP";
	case SC_LOG: return "SCMP_ACT_LOG";
	case SC_TRACE: return "SCMP_ACT_TRACE";
	case SC_NOTIFY: return "SCMP_ACT_NOTIFY";
	}
	return "SCMP_ACT_KILL_PROCESS";
}

const char *sc_op_token(enum sc_op op)
{
	static const char *const t[] = {
		[SC_OP_NE] = "SCMP_CMP_NE", [SC_OP_LT] = "SCMP_CMP_LT", [SC_OP_LE] = "SCMP_CMP_LE",
		[SC_OP_EQ] = "SCMP_CMP_EQ", [SC_OP_GE] = "SCMP_CMP_GE", [SC_OP_GT] = "SCMP_CMP_GT",
		[SC_OP_MASKED_EQ] = "SCMP_CMP_MASKED_EQ",
	};
	return op >= SC_OP_NE && op <= SC_OP_MASKED_EQ ? t[op] : NULL;
}

static json_t *args_json(const struct sc_arg *args, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:I,s:I,s:I,s:s}",
			"index", (json_int_t)args[i].index, "value", (json_int_t)args[i].value,
			"valueTwo", (json_int_t)args[i].value_two, "op", sc_op_token(args[i].op) ? sc_op_token(args[i].op) : "SCMP_CMP_EQ"));
	return a;
}

/* One rule as OCI JSON; takes `names`. */
static json_t *rule_json(struct sc_action act, const struct sc_arg *args, size_t nargs, json_t *names)
{
	json_t *o = json_pack("{s:o,s:s}", "names", names, "action", sc_action_token(act.kind));

	if (act.kind == SC_ERRNO || (act.kind == SC_TRACE && act.data))
		json_object_set_new(o, "errnoRet", json_integer(act.data));
	if (nargs)
		json_object_set_new(o, "args", args_json(args, nargs));
	return o;
}

json_t *sc_profile_to_oci(const struct sc_profile *p)
{
	json_t *prof = json_object(), *rules = json_array();

	json_object_set_new(prof, "defaultAction", json_string(sc_action_token(p->default_action.kind)));
	if (p->default_action.kind == SC_ERRNO)
		json_object_set_new(prof, "defaultErrnoRet", json_integer(p->default_action.data));
	for (size_t i = 0; i < p->nrules; i++) {
		json_t *names = json_array();

		for (size_t k = 0; p->rules[i].names[k]; k++)
			json_array_append_new(names, json_string(p->rules[i].names[k]));
		json_array_append_new(rules, rule_json(p->rules[i].action, p->rules[i].args,
						       p->rules[i].nargs, names));
	}
	json_object_set_new(prof, "syscalls", rules);
	return prof;
}

/* ---- what a profile does with one syscall name --------------------------------------
 * V_ALLOW: allowed whatever the arguments. V_FIXED: one action whatever
 * the arguments (clone3's ENOSYS). V_COND: allowed under conditions (the
 * allow alternatives), with conditional non-allow rules beside them.
 * V_DENY: the profile's default denial. As libseccomp builds the filter, a
 * rule without conditions decides the call alone, whatever conditional
 * rules the name has. */
enum vkind { V_DENY, V_ALLOW, V_FIXED, V_COND };

struct alt {
	struct sc_action act;
	struct sc_arg *args;
	size_t nargs;
};

struct verdict {
	enum vkind kind;
	struct sc_action act;            /* V_ALLOW (ALLOW or LOG), V_FIXED */
	struct alt *allow, *other;       /* V_COND */
	size_t nallow, nother;
};

static bool allows(struct sc_action a)
{
	return a.kind == SC_ALLOW || a.kind == SC_LOG;
}

static void alt_push(struct alt **v, size_t *n, struct sc_action act, const struct sc_arg *args,
		     size_t nargs)
{
	struct alt *a;

	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	a = &(*v)[(*n)++];
	a->act = act;
	a->nargs = nargs;
	a->args = nargs ? xcalloc(nargs, sizeof(*args)) : NULL;
	if (nargs)
		memcpy(a->args, args, nargs * sizeof(*args));
}

static void alts_free(struct alt *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].args);
	free(v);
}

static void verdict_free(struct verdict *v)
{
	alts_free(v->allow, v->nallow);
	alts_free(v->other, v->nother);
	memset(v, 0, sizeof(*v));
}

static void verdict_of(const struct sc_profile *p, const char *name, struct verdict *v)
{
	bool any_allow = false, any_fixed = false;
	struct sc_action ua = { SC_ALLOW, 0 }, fa = { SC_ERRNO, EPERM };

	memset(v, 0, sizeof(*v));
	for (size_t i = 0; i < p->nrules; i++) {
		const struct sc_rule *r = &p->rules[i];

		if (!strv_contains(r->names, name))
			continue;
		if (allows(r->action) && !r->nargs) {
			if (!any_allow)
				ua = r->action;
			any_allow = true;
		} else if (!r->nargs) {
			if (!any_fixed)
				fa = r->action;
			any_fixed = true;
		} else if (allows(r->action)) {
			alt_push(&v->allow, &v->nallow, r->action, r->args, r->nargs);
		} else {
			alt_push(&v->other, &v->nother, r->action, r->args, r->nargs);
		}
	}
	if (any_fixed || any_allow || allows(p->default_action) || !v->nallow) {
		/* decided without the conditional allow rules */
		struct alt *other = v->other;
		size_t nother = v->nother;

		alts_free(v->allow, v->nallow);
		v->allow = NULL;
		v->nallow = 0;
		if (any_fixed) {
			v->kind = V_FIXED;
			v->act = fa;
		} else if (any_allow) {
			v->kind = V_ALLOW;
			v->act = ua;
		} else if (allows(p->default_action) && !nother) {
			v->kind = V_ALLOW;
			v->act = p->default_action;
		} else if (allows(p->default_action)) {
			/* allowed unless a conditional rule says otherwise */
			v->kind = V_COND;
			alt_push(&v->allow, &v->nallow, p->default_action, NULL, 0);
			return;
		} else {
			v->kind = V_DENY;
		}
		alts_free(other, nother);
		v->other = NULL;
		v->nother = 0;
		return;
	}
	v->kind = V_COND;
}

static bool args_equal(const struct alt *a, const struct alt *b)
{
	return a->nargs == b->nargs && (!a->nargs || !memcmp(a->args, b->args, a->nargs * sizeof(*a->args)));
}

/* Both alternatives at once: the stricter of the two when one implies the
 * other, nothing when they exclude each other, else every condition of
 * both (the OCI compiler ANDs them exactly). */
static void alt_meet(struct alt **v, size_t *n, const struct alt *a, const struct alt *b)
{
	struct sc_action act = a->act.kind == SC_LOG || b->act.kind == SC_LOG ?
			       (struct sc_action){ SC_LOG, 0 } : (struct sc_action){ SC_ALLOW, 0 };
	unsigned rel = 0;

	if (sc_args_compare(a->args, a->nargs, b->args, b->nargs, &rel) < 0)
		rel = 0;              /* too big to tell: keep every condition */
	if (rel & SC_ARGS_DISJOINT)
		return;
	if (rel & SC_ARGS_A_IN_B) {
		alt_push(v, n, act, a->args, a->nargs);
	} else if (rel & SC_ARGS_B_IN_A) {
		alt_push(v, n, act, b->args, b->nargs);
	} else {
		struct sc_arg *both = xcalloc(a->nargs + b->nargs, sizeof(*both));

		memcpy(both, a->args, a->nargs * sizeof(*both));
		memcpy(both + a->nargs, b->args, b->nargs * sizeof(*both));
		alt_push(v, n, act, both, a->nargs + b->nargs);
		free(both);
	}
}

/* Drop alternatives another one already covers. */
static void alts_prune(struct alt *v, size_t *n)
{
	for (size_t i = 0; i < *n;) {
		bool covered = false;

		for (size_t j = 0; j < *n && !covered; j++) {
			unsigned rel = 0;

			if (i == j || v[i].act.kind != v[j].act.kind ||
			    sc_args_compare(v[i].args, v[i].nargs, v[j].args, v[j].nargs, &rel) < 0)
				continue;
			/* of two equal sets, the later one goes */
			covered = (rel & SC_ARGS_A_IN_B) && (!(rel & SC_ARGS_B_IN_A) || j < i);
		}
		if (covered) {
			free(v[i].args);
			memmove(&v[i], &v[i + 1], (*n - i - 1) * sizeof(*v));
			(*n)--;
		} else {
			i++;
		}
	}
}

/* What both profiles allow: deny wins, an action without conditions wins
 * over conditions (the first profile's when both have one), conditions
 * are intersected. */
static void combine(const struct verdict *x, const struct verdict *y, struct verdict *out)
{
	memset(out, 0, sizeof(*out));
	if (x->kind == V_DENY || y->kind == V_DENY) {
		out->kind = V_DENY;
	} else if (x->kind == V_FIXED || y->kind == V_FIXED) {
		out->kind = V_FIXED;
		out->act = x->kind == V_FIXED ? x->act : y->act;
	} else if (x->kind == V_ALLOW && y->kind == V_ALLOW) {
		out->kind = V_ALLOW;
		out->act = y->act.kind == SC_LOG ? y->act : x->act;
	} else {
		/* an unconditional allow is the alternative without conditions */
		struct alt any = { .act = x->kind == V_ALLOW ? x->act : y->act };
		const struct alt *xa = x->kind == V_ALLOW ? &any : x->allow;
		const struct alt *ya = y->kind == V_ALLOW ? &any : y->allow;
		size_t nx = x->kind == V_ALLOW ? 1 : x->nallow, ny = y->kind == V_ALLOW ? 1 : y->nallow;

		out->kind = V_COND;
		for (size_t i = 0; i < nx; i++)
			for (size_t j = 0; j < ny; j++)
				alt_meet(&out->allow, &out->nallow, &xa[i], &ya[j]);
		alts_prune(out->allow, &out->nallow);
		for (int k = 0; k < 2; k++) {
			const struct verdict *v = k ? y : x;

			for (size_t i = 0; i < v->nother; i++) {
				bool dup = false;

				for (size_t j = 0; j < out->nother && !dup; j++)
					dup = out->other[j].act.kind == v->other[i].act.kind &&
					      out->other[j].act.data == v->other[i].act.data &&
					      args_equal(&out->other[j], &v->other[i]);
				if (!dup)
					alt_push(&out->other, &out->nother, v->other[i].act, v->other[i].args,
						 v->other[i].nargs);
			}
		}
		/* Which of an allow and a non-allow rule that overlap wins is
		 * libseccomp's business (a rule without conditions always
		 * does): an allow inside a non-allow rule goes, a partial
		 * overlap denies the name rather than risk allowing more than
		 * a profile does. */
		bool inexact = false;

		for (size_t i = 0; i < out->nallow && !inexact;) {
			bool shadowed = false;

			for (size_t j = 0; j < out->nother && !inexact && !shadowed; j++) {
				unsigned rel = 0;

				if (sc_args_compare(out->allow[i].args, out->allow[i].nargs, out->other[j].args,
						    out->other[j].nargs, &rel) < 0)
					inexact = true;
				else if (rel & SC_ARGS_A_IN_B)
					shadowed = true;
				else if (!(rel & SC_ARGS_DISJOINT))
					inexact = true;
			}
			if (shadowed) {
				free(out->allow[i].args);
				memmove(&out->allow[i], &out->allow[i + 1], (out->nallow - i - 1) * sizeof(*out->allow));
				out->nallow--;
			} else {
				i++;
			}
		}
		if (!out->nallow || inexact) {
			verdict_free(out);
			out->kind = V_DENY;
		}
	}
}

void sc_generate_report_free(struct sc_generate_report *r)
{
	strv_free(r->denied_default);
	strv_free(r->denied_base);
	strv_free(r->denied_both);
	strv_free(r->denied_combined);
	strv_free(r->allowed_extra);
	memset(r, 0, sizeof(*r));
}

/* The verdict of the built-in default and the base (when given) together. */
static void name_verdict(const struct sc_profile *builtin, const struct sc_profile *base, const char *name,
			 struct verdict *out, struct verdict *vb, struct verdict *vx)
{
	verdict_of(builtin, name, vb);
	if (base)
		verdict_of(base, name, vx);
	else
		*vx = (struct verdict){ .kind = V_ALLOW, .act = { SC_ALLOW, 0 } };
	combine(vb, vx, out);
}

int sc_generate(const struct sc_trace_set *s, const struct sc_generate_opts *o, json_t **out,
		struct sc_generate_report *rep, struct nerr *err)
{
	json_t *prof, *arches, *rules, *allow, *logged;
	struct sc_profile builtin;
	char **names = NULL;
	unsigned abis_seen = 0;
	int rc;

	memset(rep, 0, sizeof(*rep));
	*out = NULL;
	for (size_t i = 0; o->allow && o->allow[i]; i++)
		if (seccomp_syscall_resolve_name(o->allow[i]) == __NR_SCMP_ERROR)
			return nerr_set(err, 0, "--allow-syscall %s: no such syscall", o->allow[i]);
	if ((rc = sc_profile_builtin_default(&builtin, err)) < 0)
		return rc;
	prof = json_object();
	arches = json_array();
	rules = json_array();
	allow = json_array();
	logged = json_array();
	for (unsigned abi = 0; abi < SC_TRACE_ABIS; abi++)
		for (unsigned w = 0; w < SC_TRACE_MAX_NR / 64; w++)
			if (s->seen[abi][w])
				abis_seen |= 1u << abi;
	if (o->kill_default) {
		json_object_set_new(prof, "defaultAction", json_string("SCMP_ACT_KILL_PROCESS"));
	} else {
		json_object_set_new(prof, "defaultAction", json_string("SCMP_ACT_ERRNO"));
		json_object_set_new(prof, "defaultErrnoRet", json_integer(EPERM));
	}
	/* A workload seen using the 32-bit ABIs keeps them, with the same
	 * names and rules (the compiler cuts the rules to 32 bits there). */
	for (unsigned abi = 0; abi < SC_TRACE_ABIS; abi++)
		if (abis_seen & (1u << abi) || abi == 0)
			json_array_append_new(arches, json_string(abi_arch_token[abi]));
	rep->foreign_abis = abis_seen & ~1u;
	json_object_set_new(prof, "architectures", arches);

	/* Names are resolved per ABI (nr 2 is open on x86_64, fork on i386).
	 * An OCI profile names syscalls for all of its architectures at once,
	 * so the lists merge: a name seen through one ABI is allowed through
	 * each ABI the profile covers. */
	/* the runtime execs the workload under the filter: execve always */
	strv_push_take(&names, sc_trace_syscall_name(0, 59));
	for (unsigned abi = 0; abi < SC_TRACE_ABIS; abi++)
		for (unsigned nr = 0; nr < SC_TRACE_MAX_NR; nr++) {
			char *n;

			if (!sc_trace_set_has(s, abi, nr))
				continue;
			n = sc_trace_syscall_name(abi, nr);
			if (strv_contains(names, n))
				free(n);
			else
				strv_push_take(&names, n);
		}
	/* Where clone3 is answered with ENOSYS (as the default does, so that
	 * the flags of clone can be checked), libc falls back to clone: under
	 * the profile the workload makes calls its trace never showed. */
	if (strv_contains(names, "clone3") && !strv_contains(names, "clone") &&
	    !strv_contains(o->allow, "clone3")) {
		struct verdict v, vb, vx;

		name_verdict(&builtin, o->base, "clone3", &v, &vb, &vx);
		if (v.kind != V_ALLOW) {
			strv_push(&names, "clone");
			rep->clone_for_clone3 = true;
		}
		verdict_free(&v);
		verdict_free(&vb);
		verdict_free(&vx);
	}
	for (size_t i = 0; o->allow && o->allow[i]; i++)
		if (!strv_contains(names, o->allow[i]))
			strv_push(&names, o->allow[i]);
	qsort(names, strv_len(names), sizeof(char *), cmp_str);

	for (size_t i = 0; names[i]; i++) {
		struct verdict v, vb, vx;

		name_verdict(&builtin, o->base, names[i], &v, &vb, &vx);
		if (strv_contains(o->allow, names[i])) {
			/* asked for by name: allowed whatever the profiles say */
			if (v.kind != V_ALLOW)
				strv_push(&rep->allowed_extra, names[i]);
			verdict_free(&v);
			v.kind = V_ALLOW;
			v.act = (struct sc_action){ SC_ALLOW, 0 };
		}
		switch (v.kind) {
		case V_ALLOW:
			json_array_append_new(v.act.kind == SC_LOG ? logged : allow, json_string(names[i]));
			break;
		case V_FIXED:
			json_array_append_new(rules, rule_json(v.act, NULL, 0, json_pack("[s]", names[i])));
			break;
		case V_COND:
			for (size_t k = 0; k < v.nallow; k++)
				json_array_append_new(rules, rule_json(v.allow[k].act, v.allow[k].args, v.allow[k].nargs,
								       json_pack("[s]", names[i])));
			for (size_t k = 0; k < v.nother; k++)
				json_array_append_new(rules, rule_json(v.other[k].act, v.other[k].args, v.other[k].nargs,
								       json_pack("[s]", names[i])));
			break;
		case V_DENY:
			if (vb.kind == V_DENY && o->base && vx.kind == V_DENY)
				strv_push(&rep->denied_both, names[i]);
			else if (vb.kind == V_DENY)
				strv_push(&rep->denied_default, names[i]);
			else if (vx.kind == V_DENY)
				strv_push(&rep->denied_base, names[i]);
			else
				strv_push(&rep->denied_combined, names[i]);
			break;
		}
		verdict_free(&v);
		verdict_free(&vb);
		verdict_free(&vx);
	}
	/* the unconditional allowlist first, for the reader */
	if (json_array_size(logged))
		json_array_insert_new(rules, 0, json_pack("{s:o,s:s}", "names", logged, "action", "SCMP_ACT_LOG"));
	else
		json_decref(logged);
	if (json_array_size(allow))
		json_array_insert_new(rules, 0, json_pack("{s:o,s:s}", "names", allow, "action", "SCMP_ACT_ALLOW"));
	else
		json_decref(allow);
	strv_free(names);
	sc_profile_free(&builtin);
	json_object_set_new(prof, "syscalls", rules);
	*out = prof;
	return 0;
}
