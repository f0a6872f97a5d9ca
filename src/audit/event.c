/* Reading audit lines back: filters, the human-readable form, --since. */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include <nucleus/audit.h>

/* RFC 3339 "2026-11-28T10:00:00.123456789Z" -> ns */
static bool parse_time(const char *s, uint64_t *ns)
{
	struct tm tm = { 0 };
	const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	uint64_t frac = 0, scale = 1000000000ull;

	if (!rest)
		return false;
	if (*rest == '.') {
		for (rest++; *rest >= '0' && *rest <= '9'; rest++) {
			scale /= 10;
			frac += (uint64_t)(*rest - '0') * scale;
		}
	}
	if (*rest != 'Z' && *rest != '\0')
		return false;
	*ns = (uint64_t)timegm(&tm) * 1000000000ull + frac;
	return true;
}

int audit_parse_since(const char *s, uint64_t *ns)
{
	uint64_t n;
	size_t len = strlen(s);

	if (parse_time(s, ns))
		return 0;
	if (len >= 2) {
		_cleanup_free_ char *num = strndup(s, len - 1);
		uint64_t unit = s[len - 1] == 's' ? 1 : s[len - 1] == 'm' ? 60 : s[len - 1] == 'h' ? 3600 :
				s[len - 1] == 'd' ? 86400 : 0;

		if (unit && parse_u64(num, 0, UINT64_MAX / 1000000000ull / 86400, &n) == 0) {
			*ns = realtime_ns() - n * unit * 1000000000ull;
			return 0;
		}
	}
	return -EINVAL;
}

bool audit_line_matches(const char *line, const struct audit_filter *f)
{
	json_t *o;
	const char *type, *time;
	uint64_t t;
	bool ok = true;

	if (!f->types && !f->since_ns)
		return true;
	o = json_loads(line, 0, NULL);
	if (!o)
		return false;
	type = json_string_value(json_object_get(o, "type"));
	time = json_string_value(json_object_get(o, "time"));
	if (f->types && (!type || !strv_contains(f->types, type)))
		ok = false;
	if (ok && f->since_ns && (!time || !parse_time(time, &t) || t < f->since_ns))
		ok = false;
	json_decref(o);
	return ok;
}

static const char *colour_of(const char *type)
{
	if (!strcmp(type, "exec"))
		return "\033[32m";
	if (!strcmp(type, "connect") || !strcmp(type, "egress_denied"))
		return "\033[36m";
	if (!strcmp(type, "seccomp_denied") || !strcmp(type, "mount") || !strcmp(type, "ptrace") ||
	    !strcmp(type, "bpf") || !strcmp(type, "module") || !strcmp(type, "oom") || !strcmp(type, "kill"))
		return "\033[31m";
	if (!strcmp(type, "open") || !strcmp(type, "setuid") || !strcmp(type, "setgid"))
		return "\033[33m";
	return "\033[2m";
}

/* details as "k=v k=v"; exec as its argv */
static void details_text(json_t *d, const char *type, char *buf, size_t len)
{
	const char *k;
	json_t *v;
	size_t used = 0;

	buf[0] = '\0';
	if (!strcmp(type, "exec") && json_is_array(json_object_get(d, "argv"))) {
		size_t i;
		json_array_foreach(json_object_get(d, "argv"), i, v)
			used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s",
						 i ? " " : "", json_string_value(v) ? json_string_value(v) : "");
		if (used)
			return;
	}
	json_object_foreach(d, k, v) {
		_cleanup_free_ char *val = json_is_string(v) ? xstrdup(json_string_value(v))
							     : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s=%s",
					 used ? " " : "", k, val ? val : "");
	}
}

void audit_format_human(const char *line, bool colour, char *out, size_t len)
{
	json_t *o = json_loads(line, 0, NULL);
	const char *time, *name, *type, *source, *comm;
	char details[2048], clock[32] = "", pidtext[16] = "-";
	json_t *pid;

	if (!o) {
		snprintf(out, len, "%s", line);
		return;
	}
	time = json_string_value(json_object_get(o, "time"));
	name = json_string_value(json_object_get(o, "name"));
	type = json_string_value(json_object_get(o, "type"));
	source = json_string_value(json_object_get(o, "source"));
	comm = json_string_value(json_object_get(o, "comm"));
	pid = json_object_get(o, "pid");
	if (time && strlen(time) >= 23)
		snprintf(clock, sizeof(clock), "%.10s %.12s", time, time + 11);
	details_text(json_object_get(o, "details"), type ? type : "", details, sizeof(details));
	if (json_is_integer(pid))
		snprintf(pidtext, sizeof(pidtext), "%lld", (long long)json_integer_value(pid));
	/* one event, one line */
	for (char *p = details; *p; p++)
		if (*p == '\n' || *p == '\t' || *p == '\r')
			*p = ' ';
	snprintf(out, len, "%-23s  %-14s %s%-14s%s %-10s %6s %-15s %s", clock, name ? name : "",
		 colour ? colour_of(type ? type : "") : "", type ? type : "?", colour ? "\033[0m" : "",
		 source ? source : "", pidtext, comm ? comm : "", details);
	json_decref(o);
}
