/* From recorded traces to a minimal OCI seccomp profile. */
#include <errno.h>
#include <string.h>
#include <jansson.h>
#include <nucleus/security.h>

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

static const char *action_token(enum sc_action_kind k)
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

static const char *op_token(enum sc_op op)
{
	static const char *const t[] = {
		[SC_OP_NE] = "SCMP_CMP_NE", [SC_OP_LT] = "SCMP_CMP_LT", [SC_OP_LE] = "SCMP_CMP_LE",
		[SC_OP_EQ] = "SCMP_CMP_EQ", [SC_OP_GE] = "SCMP_CMP_GE", [SC_OP_GT] = "SCMP_CMP_GT",
		[SC_OP_MASKED_EQ] = "SCMP_CMP_MASKED_EQ",
	};
	return op >= SC_OP_NE && op <= SC_OP_MASKED_EQ ? t[op] : "SCMP_CMP_EQ";
}

/* One base rule, limited to `names`, as OCI JSON. */
static json_t *rule_json(const struct sc_rule *r, json_t *names)
{
	json_t *o = json_pack("{s:o,s:s}", "names", names, "action", action_token(r->action.kind));

	if (r->action.kind == SC_ERRNO)
		json_object_set_new(o, "errnoRet", json_integer(r->action.data));
	if (r->nargs) {
		json_t *args = json_array();

		for (size_t i = 0; i < r->nargs; i++)
			json_array_append_new(args, json_pack("{s:I,s:I,s:I,s:s}",
				"index", (json_int_t)r->args[i].index, "value", (json_int_t)r->args[i].value,
				"valueTwo", (json_int_t)r->args[i].value_two, "op", op_token(r->args[i].op)));
		json_object_set_new(o, "args", args);
	}
	return o;
}

json_t *sc_profile_to_oci(const struct sc_profile *p)
{
	json_t *prof = json_object(), *rules = json_array();

	json_object_set_new(prof, "defaultAction", json_string(action_token(p->default_action.kind)));
	if (p->default_action.kind == SC_ERRNO)
		json_object_set_new(prof, "defaultErrnoRet", json_integer(p->default_action.data));
	for (size_t i = 0; i < p->nrules; i++) {
		json_t *names = json_array();

		for (size_t k = 0; p->rules[i].names[k]; k++)
			json_array_append_new(names, json_string(p->rules[i].names[k]));
		json_array_append_new(rules, rule_json(&p->rules[i], names));
	}
	json_object_set_new(prof, "syscalls", rules);
	return prof;
}

/* How the base treats a name: allowed outright, by its conditional (or
 * non-allow) rules, or not at all. */
enum base_verdict { BASE_ALLOW, BASE_RULES, BASE_DENY };

static enum base_verdict base_verdict(const struct sc_profile *b, const char *name)
{
	bool rules = false;

	for (size_t i = 0; i < b->nrules; i++) {
		const struct sc_rule *r = &b->rules[i];

		if (!strv_contains(r->names, name))
			continue;
		if (r->action.kind == SC_ALLOW && !r->nargs)
			return BASE_ALLOW;
		rules = true;
	}
	if (rules)
		return BASE_RULES;
	return b->default_action.kind == SC_ALLOW ? BASE_ALLOW : BASE_DENY;
}

int sc_generate(const struct sc_trace_set *s, const struct sc_profile *base, bool kill_default,
		json_t **out, char ***denied, struct nerr *err)
{
	json_t *prof = json_object(), *arches = json_array(), *rules = json_array(), *allow = json_array();
	char **names = NULL, **kept = NULL;
	unsigned abis_seen = 0;

	(void)err;
	if (denied)
		*denied = NULL;
	for (unsigned abi = 0; abi < SC_TRACE_ABIS; abi++)
		for (unsigned w = 0; w < SC_TRACE_MAX_NR / 64; w++)
			if (s->seen[abi][w])
				abis_seen |= 1u << abi;
	if (kill_default) {
		json_object_set_new(prof, "defaultAction", json_string("SCMP_ACT_KILL_PROCESS"));
	} else {
		json_object_set_new(prof, "defaultAction", json_string("SCMP_ACT_ERRNO"));
		json_object_set_new(prof, "defaultErrnoRet", json_integer(EPERM));
	}
	for (unsigned abi = 0; abi < SC_TRACE_ABIS; abi++)
		if (abis_seen & (1u << abi) || abi == 0)
			json_array_append_new(arches, json_string(abi_arch_token[abi]));
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
	qsort(names, strv_len(names), sizeof(char *), cmp_str);
	for (size_t i = 0; names[i]; i++) {
		switch (base ? base_verdict(base, names[i]) : BASE_ALLOW) {
		case BASE_ALLOW:
			json_array_append_new(allow, json_string(names[i]));
			break;
		case BASE_RULES:
			strv_push(&kept, names[i]);
			break;
		case BASE_DENY:
			if (denied)
				strv_push(denied, names[i]);
			break;
		}
	}
	if (json_array_size(allow))
		json_array_append_new(rules, json_pack("{s:o,s:s}", "names", allow, "action", "SCMP_ACT_ALLOW"));
	else
		json_decref(allow);
	/* The base's conditional and non-allow rules for what was seen, in the
	 * base's order, each limited to the names seen. */
	for (size_t i = 0; base && kept && i < base->nrules; i++) {
		const struct sc_rule *r = &base->rules[i];
		json_t *jn = json_array();

		for (size_t k = 0; kept[k]; k++)
			if (strv_contains(r->names, kept[k]))
				json_array_append_new(jn, json_string(kept[k]));
		if (json_array_size(jn))
			json_array_append_new(rules, rule_json(r, jn));
		else
			json_decref(jn);
	}
	strv_free(names);
	strv_free(kept);
	json_object_set_new(prof, "syscalls", rules);
	*out = prof;
	return 0;
}
