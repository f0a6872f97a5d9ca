/* The service part of the configuration (cfg->svc): health check,
 * readiness, restart policy, sd_notify; defaults, the values as users type
 * them, and the combinations refused. What the supervisor does with them
 * lives beside the run (health.c, sdnotify.c, the restart in run.c). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <nucleus/container.h>

#define NS_PER_SEC 1000000000ull

void service_config_init(struct service_config *s)
{
	memset(s, 0, sizeof(*s));
	/* docker's defaults */
	s->health.interval_ns = 30 * NS_PER_SEC;
	s->health.timeout_ns = 30 * NS_PER_SEC;
	s->health.start_interval_ns = 5 * NS_PER_SEC;
	s->health.retries = 3;
}

void probe_cmd_free(struct probe_cmd *p)
{
	strv_free(p->cmd);
	p->cmd = NULL;
	p->shell = false;
}

void service_config_free(struct service_config *s)
{
	probe_cmd_free(&s->health.probe);
	probe_cmd_free(&s->readiness);
}

/* Go's time.ParseDuration units, which docker's flags take. */
static const struct { const char *unit; double ns; } units[] = {
	{ "ns", 1 }, { "us", 1e3 }, { "µs", 1e3 }, { "ms", 1e6 }, { "s", 1e9 }, { "m", 60e9 }, { "h", 3600e9 },
};

int service_duration_parse(const char *s, uint64_t *ns, struct nerr *err)
{
	const char *p = s;
	double total = 0;
	char *end;

	if (!*s)
		return nerr_set(err, 0, "empty duration");
	/* plain seconds */
	errno = 0;
	total = strtod(s, &end);
	if (!*end && end != s) {
		if (errno || !isfinite(total) || total < 0 || total * 1e9 >= (double)UINT64_MAX)
			return nerr_set(err, 0, "invalid duration `%s`", s);
		*ns = (uint64_t)(total * 1e9 + 0.5);
		return 0;
	}
	total = 0;
	while (*p) {
		double v;
		size_t best = 0, k = 0;

		char num[64];
		size_t len = strspn(p, "0123456789.");

		if (*p < '0' || *p > '9')
			return nerr_set(err, 0, "invalid duration `%s` (30s, 1m30s, 500ms, or seconds)", s);
		/* Go's numbers: digits and a point, no exponent nor hex (which
		 * strtod would take: 1e3s, 0x10s) */
		if (len >= sizeof(num))
			return nerr_set(err, 0, "invalid duration `%s`", s);
		memcpy(num, p, len);
		num[len] = '\0';
		errno = 0;
		v = strtod(num, &end);
		if (errno || *end)
			return nerr_set(err, 0, "invalid duration `%s`", s);
		p += len;
		for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
			size_t n = strlen(units[i].unit);

			/* the longest unit that matches: "ms" before "m" */
			if (!strncmp(p, units[i].unit, n) && n > best) {
				best = n;
				k = i;
			}
		}
		if (!best)
			return nerr_set(err, 0, "invalid duration `%s`: a number needs a unit (ns, us, ms, s, m, h)", s);
		total += v * units[k].ns;
		p += best;
	}
	if (!isfinite(total) || total >= (double)UINT64_MAX)
		return nerr_set(err, 0, "invalid duration `%s`", s);
	*ns = (uint64_t)(total + 0.5);
	return 0;
}

int service_probe_parse(const char *s, struct probe_cmd *out, struct nerr *err)
{
	probe_cmd_free(out);
	if (!*s)
		return nerr_set(err, 0, "empty command");
	if (s[0] == '[') {
		json_error_t je;
		json_t *a = json_loads(s, JSON_REJECT_DUPLICATES, &je), *e;
		size_t i;

		/* not JSON: a shell command that starts with `[` (test's
		 * `[ -e /ready ]`, the commonest check of all) */
		if (!a)
			goto shell;
		if (!json_is_array(a) || !json_array_size(a)) {
			json_decref(a);
			return nerr_set(err, 0, "`%s`: the exec form is a non-empty JSON array of strings", s);
		}
		json_array_foreach(a, i, e) {
			if (!json_is_string(e) || (i == 0 && !json_string_length(e))) {
				json_decref(a);
				probe_cmd_free(out);
				return nerr_set(err, 0, "`%s`: the exec form is a non-empty JSON array of strings", s);
			}
			strv_push(&out->cmd, json_string_value(e));
		}
		json_decref(a);
		return 0;
	}
shell:
	strv_push(&out->cmd, s);
	out->shell = true;
	return 0;
}

static int name_index(const char *s, const char *const *names)
{
	for (size_t i = 0; names[i]; i++)
		if (!strcmp(s, names[i]))
			return (int)i;
	return -1;
}

const char *const health_action_names[] = {
	[HEALTH_ACTION_NONE] = "none", [HEALTH_ACTION_KILL] = "kill",
	[HEALTH_ACTION_RESTART] = "restart", [HEALTH_ACTION_STOP] = "stop", NULL,
};
const char *const restart_policy_names[] = {
	[RESTART_NO] = "no", [RESTART_ON_FAILURE] = "on-failure",
	[RESTART_ALWAYS] = "always", [RESTART_UNLESS_STOPPED] = "unless-stopped", NULL,
};
const char *const sd_notify_mode_names[] = {
	[SD_NOTIFY_OFF] = "off", [SD_NOTIFY_READY] = "ready", [SD_NOTIFY_CONTAINER] = "container",
	[SD_NOTIFY_HEALTHY] = "healthy", [SD_NOTIFY_STARTED] = "started", NULL,
};
const char *const health_status_names[] = {
	[HEALTH_NONE] = "none", [HEALTH_STARTING] = "starting",
	[HEALTH_HEALTHY] = "healthy", [HEALTH_UNHEALTHY] = "unhealthy", NULL,
};

const char *health_action_name(enum health_action a) { return health_action_names[a]; }
const char *restart_policy_name(enum restart_policy p) { return restart_policy_names[p]; }
const char *sd_notify_mode_name(enum sd_notify_mode m) { return sd_notify_mode_names[m]; }
const char *health_status_name(enum health_status s) { return health_status_names[s]; }

int service_restart_parse(const char *s, enum restart_policy *policy, unsigned *max, struct nerr *err)
{
	const char *colon = strchr(s, ':');
	_cleanup_free_ char *name = colon ? strndup(s, (size_t)(colon - s)) : xstrdup(s);
	int i = name ? name_index(name, restart_policy_names) : -1;
	uint64_t n = 0;

	if (i < 0)
		return nerr_set(err, 0, "invalid restart policy `%s` (no, on-failure[:N], always, unless-stopped)", s);
	if (colon) {
		if (i != RESTART_ON_FAILURE)
			return nerr_set(err, 0, "invalid restart policy `%s`: only on-failure takes a maximum", s);
		if (parse_u64(colon + 1, 0, 1000000, &n) < 0)
			return nerr_set(err, 0, "invalid restart policy `%s`: the maximum is a number of restarts", s);
	}
	*policy = (enum restart_policy)i;
	*max = (unsigned)n;
	return 0;
}

int service_health_action_parse(const char *s, enum health_action *out, struct nerr *err)
{
	int i = name_index(s, health_action_names);

	if (i < 0)
		return nerr_set(err, 0, "invalid action `%s` (none, kill, restart or stop)", s);
	*out = (enum health_action)i;
	return 0;
}

int service_sd_notify_parse(const char *s, enum sd_notify_mode *out, struct nerr *err)
{
	int i = name_index(s, sd_notify_mode_names);

	if (i <= SD_NOTIFY_OFF)
		return nerr_set(err, 0, "invalid mode `%s` (container, healthy or started)", s);
	*out = (enum sd_notify_mode)i;
	return 0;
}

int service_config_validate(const struct container_config *c, struct nerr *err)
{
	const struct service_config *s = &c->svc;
	const struct health_config *h = &s->health;

	if (h->disabled && h->probe.cmd)
		return nerr_set(err, 0, "--no-healthcheck conflicts with --health-cmd");
	if (!h->probe.cmd && h->on_failure != HEALTH_ACTION_NONE)
		return nerr_set(err, 0, "--health-on-failure needs --health-cmd");
	if (h->probe.cmd && (!h->interval_ns || !h->timeout_ns || !h->start_interval_ns))
		return nerr_set(err, 0, "--health-interval, --health-timeout and --health-start-interval must be "
				"more than 0");
	if (s->readiness.cmd && s->readiness_tcp)
		return nerr_set(err, 0, "--readiness-cmd conflicts with --readiness-tcp (one readiness check)");
	if (s->sd_notify == SD_NOTIFY_HEALTHY && !h->probe.cmd)
		return nerr_set(err, 0, "--sd-notify=healthy needs --health-cmd");
	if (s->restart != RESTART_NO && c->remove)
		return nerr_set(err, 0, "--restart conflicts with --rm (a container removed on exit is not restarted)");
	if (h->on_failure == HEALTH_ACTION_RESTART && c->remove)
		return nerr_set(err, 0, "--health-on-failure restart conflicts with --rm");
	return 0;
}
