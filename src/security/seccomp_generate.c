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
static const char *const abi_docker_arch[] = { "amd64", "x86", "x32" };

int sc_generate(const struct sc_trace_set *s, bool kill_default, json_t **out, struct nerr *err)
{
	json_t *prof = json_object(), *arches = json_array(), *rules = json_array();
	unsigned abis_seen = 0;

	(void)err;
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
	for (unsigned abi = 0; abi < SC_TRACE_ABIS; abi++) {
		char **names = NULL;
		json_t *rule, *jn;

		/* the runtime execs the workload under the filter: execve always */
		if (abi == 0 && !sc_trace_set_has(s, 0, 59))
			strv_push_take(&names, sc_trace_syscall_name(0, 59));
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
		if (!names)
			continue;
		qsort(names, strv_len(names), sizeof(char *), cmp_str);
		jn = json_array();
		for (size_t i = 0; names[i]; i++)
			json_array_append_new(jn, json_string(names[i]));
		strv_free(names);
		rule = json_pack("{s:o,s:s}", "names", jn, "action", "SCMP_ACT_ALLOW");
		/* with several ABIs, each list holds for its own architecture only */
		if (abis_seen & ~1u)
			json_object_set_new(rule, "includes", json_pack("{s:[s]}", "arches", abi_docker_arch[abi]));
		json_array_append_new(rules, rule);
	}
	json_object_set_new(prof, "syscalls", rules);
	*out = prof;
	return 0;
}
