/* nucleus ps */
#include <getopt.h>
#include <regex.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include <nucleus/audit.h>
#include <nucleus/cli.h>
#include <nucleus/container.h>

static const char ps_help[] =
	"Usage: nucleus ps [OPTIONS]\n"
	"\n"
	"List running containers (with -a, also those that exited and wait for 'nucleus rm').\n"
	"\n"
	"Options:\n"
	"  -a, --all             Show all containers\n"
	"  -q, --quiet           Only show ids\n"
	"      --no-trunc        Do not truncate ids and commands\n"
	"  -f, --filter KEY=VAL  Only containers that match (repeatable: the same key\n"
	"                        ORs, different keys AND): name=REGEX, id=REGEX,\n"
	"                        status=created|running|exited|dead (implies -a)\n"
	"      --format TEMPLATE Print with a docker-style template: {{.ID}} {{.Names}}\n"
	"                        {{.Command}} {{.Status}} {{.State}} {{.CreatedAt}}\n"
	"                        {{.RunningFor}} {{.Ports}} {{.Networks}} {{.Pid}},\n"
	"                        {{json .}}; a `table ` prefix aligns columns at \\t and\n"
	"                        prints a header; `json`: one JSON object per line\n"
	"      --json            Print JSON\n"
	"  -h, --help            Show this help\n";

/* docker's state names (the state file says "creating") */
static const char *const state_names[] = {
	[STATUS_CREATING] = "created", [STATUS_RUNNING] = "running",
	[STATUS_EXITED] = "exited", [STATUS_DEAD] = "dead",
};

static void status_text(const struct container_state *st, enum container_status s, char *buf, size_t len)
{
	char d[64];
	uint64_t now = realtime_ns();

	switch (s) {
	case STATUS_RUNNING: {
		/* docker's forms */
		static const char *const health[] = {
			[HEALTH_NONE] = "", [HEALTH_STARTING] = " (health: starting)",
			[HEALTH_HEALTHY] = " (healthy)", [HEALTH_UNHEALTHY] = " (unhealthy)",
		};
		uint64_t since = st->finished_ns ? st->finished_ns : st->restarted_ns;

		if (st->restarting) {
			human_duration(since && now > since ? now - since : 0, d, sizeof(d));
			snprintf(buf, len, "Restarting (%d) %s ago", st->exit_code, d);
			break;
		}
		human_duration(now - st->started_ns, d, sizeof(d));
		snprintf(buf, len, "Up %s%s", d, health[st->health.status]);
		break;
	}
	case STATUS_EXITED: {
		char code[16];

		/* its supervisor died before it could see the exit */
		if (st->exit_code == EXIT_CODE_UNKNOWN)
			snprintf(code, sizeof(code), "unknown");
		else
			snprintf(code, sizeof(code), "%d", st->exit_code);
		human_duration(now - st->finished_ns, d, sizeof(d));
		if (st->finished_ns)
			snprintf(buf, len, "Exited (%s) %s ago%s", code, d,
				 st->oom_killed ? " (OOM killed)" : st->checkpointed ? " (checkpointed)" : "");
		else
			snprintf(buf, len, "Exited (%s)", code);
		break;
	}
	case STATUS_CREATING:
		snprintf(buf, len, "Created");
		break;
	default:
		snprintf(buf, len, "Dead");
	}
}

/* Published ports as docker shows them: "127.0.0.1:8080->80/tcp, ..." */
static char *ports_text(char **ports)
{
	char *t = xstrdup("");

	for (size_t i = 0; ports && ports[i]; i++) {
		/* canonical form [HOSTIP:]HOST[-END]:CONT[-END]/PROTO */
		const char *slash = strrchr(ports[i], '/'), *colon;
		char *n;
		int hlen;

		if (!slash)
			continue;
		for (colon = slash; colon > ports[i] && *colon != ':'; colon--)
			;
		hlen = (int)(colon - ports[i]);
		n = xasprintf("%s%s%.*s->%s", t, *t ? ", " : "", hlen, ports[i], colon + 1);
		free(t);
		t = n;
	}
	return t;
}

/* An argument as ps shows it: KEY=VALUE (also --flag=VALUE) with a
 * secret-looking KEY, by the rule the audit log applies to -e names, keeps
 * only the KEY. */
static char *shown_arg(const char *arg)
{
	const char *eq = strchr(arg, '=');
	_cleanup_free_ char *key = NULL;

	if (!eq || eq == arg || !eq[1])
		return xstrdup(arg);
	key = strndup(arg, (size_t)(eq - arg));
	if (key && env_name_looks_secret(key))
		return xasprintf("%s=%s", key, AUDIT_REDACTED);
	return xstrdup(arg);
}

#define COMMAND_WIDTH 20

/* The command, quoted; cut to 20 characters unless no_trunc. Linear in
 * its length, and stops early when cut: argv may have 100k elements. */
static char *command_text(char **argv, bool no_trunc)
{
	struct strbuf b = { 0 };
	char *out;

	strbuf_puts(&b, "");
	for (size_t i = 0; argv && argv[i] && (no_trunc || display_width(b.s) <= COMMAND_WIDTH); i++) {
		_cleanup_free_ char *a = shown_arg(argv[i]);

		if (i)
			strbuf_puts(&b, " ");
		strbuf_puts(&b, a);
	}
	if (!no_trunc && display_width(b.s) > COMMAND_WIDTH) {
		size_t cut = 0, w = 0;

		/* 17 characters, not bytes, then "..." */
		while (b.s[cut] && (w < COMMAND_WIDTH - 3 || ((unsigned char)b.s[cut] & 0xc0) == 0x80)) {
			if (((unsigned char)b.s[cut] & 0xc0) != 0x80)
				w++;
			cut++;
		}
		out = xasprintf("\"%.*s...\"", (int)cut, b.s);
	} else {
		out = xasprintf("\"%s\"", b.s);
	}
	free(b.s);
	return out;
}

/* ---- one container, as the placeholders see it ------------------------- */
struct row {
	const struct container_state *st;
	enum container_status s;
	bool supervised;
	bool no_trunc;
};

static char *f_id(const struct row *r) { return xasprintf("%.*s", r->no_trunc ? 64 : 12, r->st->cfg.id); }
static char *f_names(const struct row *r) { return xstrdup(r->st->cfg.name); }
static char *f_command(const struct row *r) { return command_text(r->st->cfg.proc.argv, r->no_trunc); }
static char *f_state(const struct row *r) { return xstrdup(state_names[r->s]); }
static char *f_ports(const struct row *r) { return ports_text(r->st->ports); }
static char *f_networks(const struct row *r) { return xstrdup(network_mode_name(r->st->cfg.net.mode)); }
static char *f_pid(const struct row *r) { return xasprintf("%d", r->s == STATUS_RUNNING ? (int)r->st->pid : 0); }

static char *f_status(const struct row *r)
{
	char b[96];

	status_text(r->st, r->s, b, sizeof(b));
	return xstrdup(b);
}

static char *f_running_for(const struct row *r)
{
	char d[64];

	human_duration(realtime_ns() - r->st->created_ns, d, sizeof(d));
	return xasprintf("%s ago", d);
}

/* As docker: "2024-01-02 15:04:05 +0100 CET" */
static char *f_created_at(const struct row *r)
{
	time_t t = (time_t)(r->st->created_ns / 1000000000ull);
	struct tm tm;
	char b[64];

	localtime_r(&t, &tm);
	strftime(b, sizeof(b), "%Y-%m-%d %H:%M:%S %z %Z", &tm);
	return xstrdup(b);
}

static const struct field {
	const char *name, *header;
	char *(*get)(const struct row *r);
} fields[] = {
	{ "ID", "CONTAINER ID", f_id },
	{ "Names", "NAMES", f_names },
	{ "Command", "COMMAND", f_command },
	{ "CreatedAt", "CREATED AT", f_created_at },
	{ "RunningFor", "CREATED", f_running_for },
	{ "Status", "STATUS", f_status },
	{ "State", "STATE", f_state },
	{ "Pid", "PID", f_pid },
	{ "Ports", "PORTS", f_ports },
	{ "Networks", "NETWORKS", f_networks },
};

/* ---- --format: a small subset of Go templates ----------------------------- */
enum seg_kind { SEG_TEXT, SEG_FIELD, SEG_JSON_FIELD, SEG_JSON_ALL };

struct seg {
	enum seg_kind kind;
	char *text;                /* SEG_TEXT */
	const struct field *f;     /* SEG_FIELD, SEG_JSON_FIELD */
};

struct tmpl {
	bool table;
	struct seg *segs;
	size_t n;
};

static void tmpl_free(struct tmpl *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->segs[i].text);
	free(t->segs);
	t->segs = NULL;
	t->n = 0;
}

static void tmpl_add(struct tmpl *t, enum seg_kind kind, char *text, const struct field *f)
{
	t->segs = xrealloc(t->segs, (t->n + 1) * sizeof(*t->segs));
	t->segs[t->n++] = (struct seg){ kind, text, f };
}

static const struct field *field_named(const char *name, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		if (strlen(fields[i].name) == len && !strncmp(fields[i].name, name, len))
			return &fields[i];
	return NULL;
}

static int tmpl_parse(const char *format, struct tmpl *t, struct nerr *err)
{
	struct strbuf text = { 0 };
	const char *p;

	memset(t, 0, sizeof(*t));
	if (!strcmp(format, "json"))
		format = "{{json .}}";
	else if (!strcmp(format, "table"))
		format = "table {{.ID}}\\t{{.Names}}\\t{{.Command}}\\t{{.RunningFor}}\\t{{.Status}}\\t{{.Pid}}\\t{{.Ports}}";
	if (!strncmp(format, "table ", 6)) {
		t->table = true;
		format += 6;
		format += strspn(format, " ");
	}
	strbuf_puts(&text, "");
	for (p = format; *p;) {
		const char *open = strstr(p, "{{"), *close, *a, *e;
		size_t n;

		if (!open) {
			open = p + strlen(p);
		}
		/* literal text, with docker's \t and \n */
		for (; p < open; p++) {
			if (p[0] == '\\' && (p[1] == 't' || p[1] == 'n')) {
				strbuf_puts(&text, p[1] == 't' ? "\t" : "\n");
				p++;
			} else {
				strbuf_add(&text, p, 1);
			}
		}
		if (!*p)
			break;
		if (!(close = strstr(open + 2, "}}"))) {
			free(text.s);
			tmpl_free(t);
			return nerr_set(err, 0, "--format: `{{` without `}}`");
		}
		if (text.len) {
			tmpl_add(t, SEG_TEXT, text.s, NULL);
			text = (struct strbuf){ 0 };
			strbuf_puts(&text, "");
		}
		a = open + 2;
		e = close;
		while (a < e && *a == ' ')
			a++;
		while (e > a && e[-1] == ' ')
			e--;
		n = (size_t)(e - a);
		if (n == 6 && !strncmp(a, "json .", 6)) {
			tmpl_add(t, SEG_JSON_ALL, NULL, NULL);
		} else {
			bool json = n > 6 && !strncmp(a, "json .", 6);
			const char *name = json ? a + 6 : a + 1;
			const struct field *f = NULL;

			if (json || (n > 1 && *a == '.'))
				f = field_named(name, (size_t)(e - name));
			if (!f) {
				char known[256] = "";

				for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
					snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s.%s",
						 i ? " " : "", fields[i].name);
				free(text.s);
				tmpl_free(t);
				return nerr_set(err, 0, "--format: unknown placeholder `{{%.*s}}` (known: %s, json .)",
						(int)(close - open - 2), open + 2, known);
			}
			tmpl_add(t, json ? SEG_JSON_FIELD : SEG_FIELD, NULL, f);
		}
		p = close + 2;
	}
	if (text.len)
		tmpl_add(t, SEG_TEXT, text.s, NULL);
	else
		free(text.s);
	return 0;
}

static json_t *row_json(const struct row *r)
{
	json_t *o = json_object();

	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		_cleanup_free_ char *v = fields[i].get(r);

		json_object_set_new(o, fields[i].name, json_string(v));
	}
	return o;
}

/* One container (or, without one, the header) through the template. */
static char *tmpl_render(const struct tmpl *t, const struct row *r)
{
	struct strbuf b = { 0 };

	strbuf_puts(&b, "");
	for (size_t i = 0; i < t->n; i++) {
		const struct seg *s = &t->segs[i];
		char *v = NULL;

		switch (s->kind) {
		case SEG_TEXT:
			strbuf_puts(&b, s->text);
			continue;
		case SEG_FIELD:
			v = r ? s->f->get(r) : xstrdup(s->f->header);
			break;
		case SEG_JSON_FIELD: {
			_cleanup_free_ char *raw = r ? s->f->get(r) : xstrdup(s->f->header);
			json_t *j = json_string(raw);

			v = j ? json_dumps(j, JSON_ENCODE_ANY) : xstrdup("null");
			json_decref(j);
			break;
		}
		case SEG_JSON_ALL:
			if (r) {
				json_t *o = row_json(r);
				v = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
				json_decref(o);
			} else {
				v = xstrdup("");
			}
			break;
		}
		strbuf_puts(&b, v ? v : "");
		free(v);
	}
	return b.s;
}

/* As docker's tabwriter (minimum width 10, padding 3): cells end at a tab;
 * the last cell of a line is not aligned. */
static void print_aligned(char **lines, FILE *out)
{
	size_t *w = NULL, nw = 0;

	for (size_t i = 0; lines && lines[i]; i++) {
		size_t c = 0;

		for (char *p = lines[i], *tab; (tab = strchr(p, '\t')); p = tab + 1, c++) {
			size_t cw;

			*tab = '\0';
			cw = display_width(p);
			*tab = '\t';
			if (c >= nw) {
				w = xrealloc(w, (c + 1) * sizeof(*w));
				while (nw <= c)
					w[nw++] = 0;
			}
			if (cw > w[c])
				w[c] = cw;
		}
	}
	for (size_t i = 0; lines && lines[i]; i++) {
		size_t c = 0;
		char *p, *tab;

		for (p = lines[i]; (tab = strchr(p, '\t')); p = tab + 1, c++) {
			size_t cw, col = w[c] + 3 < 10 ? 10 : w[c] + 3;

			*tab = '\0';
			cw = display_width(p);
			fprintf(out, "%s%*s", p, (int)(col - cw), "");
			*tab = '\t';
		}
		fprintf(out, "%s\n", p);
	}
	free(w);
}

/* ---- --filter ------------------------------------------------------------------ */
struct filters {
	regex_t *names, *ids;
	size_t nnames, nids;
	unsigned statuses;     /* bits of enum container_status; 0: any */
};

static void filters_free(struct filters *f)
{
	for (size_t i = 0; i < f->nnames; i++)
		regfree(&f->names[i]);
	for (size_t i = 0; i < f->nids; i++)
		regfree(&f->ids[i]);
	free(f->names);
	free(f->ids);
}

static int filter_add(struct filters *f, const char *spec)
{
	const char *eq = strchr(spec, '=');
	regex_t **set;
	size_t *n;

	if (!eq)
		return cli_usage_error("ps", "invalid filter `%s`: expected KEY=VALUE", spec);
	if (!strncmp(spec, "status=", 7)) {
		for (size_t s = 0; s < ARRAY_SIZE(state_names); s++) {
			if (!strcmp(eq + 1, state_names[s])) {
				f->statuses |= 1u << s;
				return 0;
			}
		}
		return cli_usage_error("ps", "invalid filter `%s`: status is created, running, exited or dead", spec);
	}
	if (!strncmp(spec, "name=", 5)) {
		set = &f->names;
		n = &f->nnames;
	} else if (!strncmp(spec, "id=", 3)) {
		set = &f->ids;
		n = &f->nids;
	} else {
		return cli_usage_error("ps", "invalid filter `%s`: the keys are name, id and status", spec);
	}
	*set = xrealloc(*set, (*n + 1) * sizeof(regex_t));
	if (regcomp(&(*set)[*n], eq + 1, REG_EXTENDED | REG_NOSUB) != 0)
		return cli_usage_error("ps", "invalid filter `%s`: not a regular expression", spec);
	(*n)++;
	return 0;
}

static bool any_match(const regex_t *set, size_t n, const char *s)
{
	if (!n)
		return true;
	for (size_t i = 0; i < n; i++)
		if (regexec(&set[i], s, 0, NULL, 0) == 0)
			return true;
	return false;
}

static bool filters_match(const struct filters *f, const struct container_state *st, enum container_status s)
{
	return (!f->statuses || (f->statuses & (1u << s))) && any_match(f->names, f->nnames, st->cfg.name) &&
	       any_match(f->ids, f->nids, st->cfg.id);
}

static json_t *container_json(const struct row *r)
{
	const struct container_state *st = r->st;
	char status[96];
	json_t *o, *a;

	status_text(st, r->s, status, sizeof(status));
	o = json_pack("{s:s,s:s,s:s,s:i,s:i,s:i,s:b,s:b,s:I,s:s}", "id", st->cfg.id, "name", st->cfg.name,
		      "status", container_status_name(r->s), "pid", r->s == STATUS_RUNNING ? st->pid : 0,
		      "supervisor_pid", r->supervised ? st->supervisor : 0, "exit_code", st->exit_code,
		      "oom_killed", st->oom_killed, "detached", st->cfg.detach,
		      "created_ns", (json_int_t)st->created_ns, "state", status);
	a = json_array();
	for (size_t k = 0; st->cfg.proc.argv && st->cfg.proc.argv[k]; k++) {
		_cleanup_free_ char *shown = shown_arg(st->cfg.proc.argv[k]);

		json_array_append_new(a, json_string(shown));
	}
	json_object_set_new(o, "command", a);
	/* the service's: the health check's status, streak and last result */
	if (st->health.status != HEALTH_NONE) {
		json_t *h = json_pack("{s:s,s:I}", "status", health_status_name(st->health.status),
				      "failing_streak", (json_int_t)st->health.failing_streak);

		if (st->health.nlog) {
			const struct health_result *l = &st->health.log[st->health.nlog - 1];
			char t[64];

			format_rfc3339(l->end_ns, t, sizeof(t));
			json_object_set_new(h, "last", json_pack("{s:i,s:s,s:s}", "exit_code", l->exit_code,
								 "end", t, "output", l->output ? l->output : ""));
		}
		json_object_set_new(o, "health", h);
	}
	json_object_set_new(o, "ready", json_boolean(st->ready));
	json_object_set_new(o, "restarts", json_integer(st->restarts));
	json_object_set_new(o, "restarting", json_boolean(st->restarting));
	if (st->log_lost_bytes)
		json_object_set_new(o, "log_lost_bytes", json_integer((json_int_t)st->log_lost_bytes));
	json_object_set_new(o, "network", json_string(network_mode_name(st->cfg.net.mode)));
	a = json_array();
	for (size_t k = 0; st->addresses && st->addresses[k]; k++)
		json_array_append_new(a, json_string(st->addresses[k]));
	json_object_set_new(o, "addresses", a);
	a = json_array();
	for (size_t k = 0; st->ports && st->ports[k]; k++)
		json_array_append_new(a, json_string(st->ports[k]));
	json_object_set_new(o, "ports", a);
	return o;
}

int cmd_ps(int argc, char **argv)
{
	enum { OPT_JSON = 1000, OPT_NO_TRUNC, OPT_FORMAT };
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' }, { "quiet", no_argument, NULL, 'q' },
		{ "json", no_argument, NULL, OPT_JSON }, { "no-trunc", no_argument, NULL, OPT_NO_TRUNC },
		{ "filter", required_argument, NULL, 'f' }, { "format", required_argument, NULL, OPT_FORMAT },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	_cleanup_strv_ char **ids = NULL;
	_cleanup_strv_ char **lines = NULL;
	struct filters filters = { 0 };
	struct tmpl tmpl = { 0 };
	struct nerr err = { 0 };
	const char *format = NULL;
	bool all = false, quiet = false, json = false, no_trunc = false;
	json_t *arr = NULL;
	struct text_table tbl = { .ncols = 7 };
	int c, status = 0;

	optind = 0;
	opterr = 0;
	while ((c = cli_getopt(argc, argv, "+:aqf:h", opts)) != -1) {
		switch (c) {
		case 'a': all = true; break;
		case 'q': quiet = true; break;
		case OPT_JSON: json = true; break;
		case OPT_NO_TRUNC: no_trunc = true; break;
		case OPT_FORMAT: format = *optarg ? optarg : NULL; break;   /* "": the default */
		case 'f':
			if ((status = filter_add(&filters, optarg)))
				goto out;
			break;
		case 'h': fputs(ps_help, stdout); goto out;
		default: status = cli_usage_error("ps", "%s", cli_opterror()); goto out;
		}
	}
	if (optind < argc) {
		status = cli_usage_error("ps", "unexpected argument `%s`", argv[optind]);
		goto out;
	}
	if (json && format) {
		status = cli_usage_error("ps", "--json and --format cannot be combined");
		goto out;
	}
	if (format && quiet) {
		fprintf(stderr, "nucleus: ps: warning: ignoring --format, because --quiet is given\n");
		format = NULL;
	}
	if (format && tmpl_parse(format, &tmpl, &err) < 0) {
		status = cli_usage_error("ps", "%s", err.msg);
		goto out;
	}
	/* as docker: asking for a status shows the containers not running */
	if (filters.statuses)
		all = true;
	container_gc();
	if (state_list(&ids, &err) < 0) {
		status = cli_fail(&err);
		goto out;
	}
	if (json)
		arr = json_array();
	else if (format && tmpl.table)
		strv_push_take(&lines, tmpl_render(&tmpl, NULL));
	else if (!quiet && !format)
		text_table_add(&tbl, "CONTAINER ID", "NAME", "COMMAND", "CREATED", "STATUS", "PID", "PORTS");
	for (size_t i = 0; ids && ids[i]; i++) {
		struct container_state st = { 0 };
		struct row r = { .st = &st, .no_trunc = no_trunc };

		nerr_clear(&err);
		if (state_read(ids[i], &st, &err) < 0) {
			/* one entry refused is said, the others listed */
			if (trust_refused(&err))
				fprintf(stderr, "nucleus: %s\n", err.msg);
			continue;
		}
		/* what it is now: the state file, checked against reality. A
		 * running one nobody supervises has exited: its supervisor died,
		 * or could not record the exit (a full filesystem). */
		r.supervised = state_supervised(ids[i]);
		r.s = st.status == STATUS_EXITED ? STATUS_EXITED : r.supervised ? st.status :
		      st.status == STATUS_RUNNING ? STATUS_EXITED : STATUS_DEAD;
		if (st.status == STATUS_RUNNING && r.s == STATUS_EXITED) {
			st.exit_code = EXIT_CODE_UNKNOWN;
			st.finished_ns = 0;
		}
		if ((!all && r.s != STATUS_RUNNING) || !filters_match(&filters, &st, r.s)) {
			container_state_free(&st);
			continue;
		}
		if (json) {
			json_array_append_new(arr, container_json(&r));
		} else if (quiet) {
			printf("%.*s\n", no_trunc ? 64 : 12, st.cfg.id);
		} else if (format) {
			char *line = tmpl_render(&tmpl, &r);

			if (tmpl.table)
				strv_push_take(&lines, line);
			else {
				puts(line);
				free(line);
			}
		} else {
			_cleanup_free_ char *id = f_id(&r), *cmd = f_command(&r), *created = f_running_for(&r);
			_cleanup_free_ char *st_text = f_status(&r), *pid = f_pid(&r), *ports = f_ports(&r);

			text_table_add(&tbl, id, st.cfg.name, cmd, created, st_text, pid, ports);
		}
		container_state_free(&st);
	}
	if (json) {
		json_dumpf(arr, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(arr);
	} else if (format && tmpl.table) {
		print_aligned(lines, stdout);
	} else if (!quiet && !format) {
		text_table_print(&tbl, stdout);
	}
out:
	tmpl_free(&tmpl);
	filters_free(&filters);
	return status;
}
