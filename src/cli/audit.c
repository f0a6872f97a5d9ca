/* nucleus audit tail */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <string.h>
#include <time.h>
#include <poll.h>
#include <sys/inotify.h>
#include <jansson.h>
#include <nucleus/audit.h>
#include <nucleus/cli.h>
#include <nucleus/container.h>
#include <nucleus/rotlog.h>

static const char audit_help[] =
	"Usage: nucleus audit tail [OPTIONS] [CONTAINER...]\n"
	"\n"
	"Show the audit events of containers started with --audit (all of them when none\n"
	"is named): lifecycle, security setup, and what they did in the kernel.\n"
	"\n"
	"Options:\n"
	"  -f, --follow        Keep printing new events as they happen\n"
	"  -n, --lines N       Only the last N events (default: all; with -f: 10)\n"
	"      --json          Print the JSON lines as they are stored\n"
	"      --type T        Only events of type T (repeatable; the types are below)\n"
	"      --since TIME    Only events after TIME (RFC 3339, or 30s, 10m, 2h, 1d ago)\n"
	"  -h, --help          Show this help\n"
	"\n"
	"The rotated files of a log (audit.jsonl.1, .2 ...) are read too, oldest first;\n"
	"when the oldest were rotated away, one line on stderr (a \"history_lost\" record\n"
	"with --json) says how many events are missing.\n";

/* Every type an audit log holds: what the kernel source reports, then what
 * the runtime writes. A --type outside these would silently match nothing. */
static const char *const kernel_types[] = {
	"exec", "connect", "open", "mount", "ptrace", "bpf", "module", "setuid", "setgid", NULL,
};
static const char *const runtime_types[] = {
	"audit", "audit_lost", "create", "capabilities", "seccomp", "landlock", "oci_runtime", "egress", "start",
	"exit", "oom", "stop", "kill", "rm", "egress_denied", "seccomp_denied",
	"seccomp_denied_suppressed", NULL,
};

static void types_text(const char *const *types, const char *sep, char *buf, size_t len)
{
	buf[0] = '\0';
	for (size_t i = 0; types[i]; i++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? sep : "", types[i]);
}

static bool known_type(const char *t)
{
	return strv_contains((char *const *)kernel_types, t) || strv_contains((char *const *)runtime_types, t);
}

static void print_help(void)
{
	char k[512], r[512];

	types_text(kernel_types, " ", k, sizeof(k));
	types_text(runtime_types, " ", r, sizeof(r));
	fputs(audit_help, stdout);
	printf("\nEvent types:\n  kernel:  %s\n  runtime: %s\n", k, r);
}

/* Colour on a terminal, unless NO_COLOR asks for none (no-color.org). */
static bool want_colour(void)
{
	const char *no = getenv("NO_COLOR");

	return isatty(STDOUT_FILENO) && !(no && *no);
}

struct source {
	char *path;         /* the log; its rotated files (.1, .2 ...) are read too */
	char *id;           /* filter the host log to this container; NULL: everything */
	char *name;         /* for messages */
	bool host;          /* the host-wide log */
	struct rotlog_reader *rd;   /* NULL: nothing to read (no host log yet) */
	char **lines;       /* where read_new puts what it reads */
	const struct audit_filter *filter;
	bool have_before;   /* the oldest file began after a rotation: */
	uint64_t events_before;     /* the events written before it, gone now */
	char *first;        /* the first event there is (of this container) */
};

static bool for_container(const char *line, const char *id)
{
	char needle[64];

	if (!id)
		return true;
	snprintf(needle, sizeof(needle), "\"id\":\"%s\"", id);
	return strstr(line, needle) != NULL;
}

static void on_line(const char *data, size_t len, unsigned file, void *arg)
{
	struct source *s = arg;
	_cleanup_free_ char *line = strndup(data, len);
	uint64_t n;

	if (!line || !*line)
		return;
	/* a file begun by a rotation says how many events came before it;
	 * the oldest one there is tells how much history is gone */
	if (audit_rotation_line(line, &n)) {
		if (file == 0 && !s->have_before) {
			s->have_before = true;
			s->events_before = n;
		}
		return;
	}
	if (!for_container(line, s->id))
		return;
	if (!s->first)
		s->first = xstrdup(line);
	if (audit_line_matches(line, s->filter))
		strv_push(&s->lines, line);
}

/* Read what is new in a source, across rotations; whole lines only. */
static void read_new(struct source *s, char ***lines, const struct audit_filter *f)
{
	if (!s->rd)
		return;
	s->filter = f;
	s->lines = NULL;
	rotlog_reader_read(s->rd, on_line, s);
	for (size_t i = 0; s->lines && s->lines[i]; i++)
		strv_push(lines, s->lines[i]);
	strv_free(s->lines);
	s->lines = NULL;
}

static char *json_field(const char *line, const char *key)
{
	json_t *o = json_loads(line, 0, NULL);
	const char *v = json_string_value(json_object_get(o, key));
	char *out = v ? xstrdup(v) : NULL;

	json_decref(o);
	return out;
}

/* History that is no longer there, in one line: on stderr, or as a
 * "history_lost" record with --json. Said when what is shown begins at the
 * oldest event kept (not cut by -n or by a later --since). */
static void say_lost(struct source *s, bool json, uint64_t since_ns)
{
	_cleanup_free_ char *first_time = NULL, *first_type = NULL;
	bool known_count = !s->host;
	uint64_t t;

	if (!s->have_before || !s->events_before || !s->first)
		return;
	first_time = json_field(s->first, "time");
	first_type = json_field(s->first, "type");
	/* one container in the shared host log: only when its own first
	 * event (the "audit" header) is among what was rotated away */
	if (s->host && s->id && first_type && !strcmp(first_type, "audit"))
		return;
	if (since_ns && first_time && audit_parse_since(first_time, &t) == 0 && since_ns >= t)
		return;
	if (json) {
		json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:{s:o,s:s,s:s}}", "time", first_time ? first_time : "",
				      "id", s->id ? s->id : "", "name", s->name ? s->name : "",
				      "type", "history_lost", "source", "nucleus", "details",
				      "events", known_count ? json_integer((json_int_t)s->events_before) : json_null(),
				      "reason", "rotated", "file", s->path);
		char *text = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

		if (text)
			puts(text);
		free(text);
		json_decref(o);
	} else if (known_count) {
		fprintf(stderr, "nucleus: audit history of %s is incomplete: its first %llu events were rotated "
				"away (see --audit-opt max-file); shown from %s on\n", s->name ? s->name : "?",
			(unsigned long long)s->events_before, first_time ? first_time : "?");
	} else if (s->id) {
		fprintf(stderr, "nucleus: audit history of %s is incomplete: its first events were rotated out "
				"of %s; shown from %s on\n", s->name ? s->name : s->id, s->path,
			first_time ? first_time : "?");
	} else {
		fprintf(stderr, "nucleus: audit history is incomplete: %llu earlier events were rotated out of "
				"%s; shown from %s on\n", (unsigned long long)s->events_before, s->path,
			first_time ? first_time : "?");
	}
	fflush(stdout);
}

static int by_time(const void *a, const void *b)
{
	/* lines begin {"time":"<RFC 3339, fixed width>" */
	return strncmp(*(char *const *)a, *(char *const *)b, 48);
}

static void print_lines(char **lines, size_t from, bool json, bool colour)
{
	char out[4096];

	for (size_t i = from; lines && lines[i]; i++) {
		if (json) {
			puts(lines[i]);
		} else {
			audit_format_human(lines[i], colour, out, sizeof(out));
			puts(out);
		}
	}
	fflush(stdout);
}

static int open_source(struct source *s)
{
	struct nerr err = { 0 };
	int r = rotlog_reader_open(s->path, &s->rd, &err);

	/* no host log yet: nothing to show */
	if (r == -ENOENT || (r == -EACCES && s->host))
		return 0;
	if (r < 0)
		fprintf(stderr, "nucleus: %s\n", err.msg);
	return r;
}

struct find {
	const char *query;
	char id[33];
	char *name;
};

/* The newest container the host log knows by this name or id prefix. */
static void find_line(const char *data, size_t len, unsigned file, void *arg)
{
	struct find *f = arg;
	_cleanup_free_ char *line = strndup(data, len);
	char needle_name[96], needle_id[64];
	char *idp;

	(void)file;
	if (!line)
		return;
	snprintf(needle_name, sizeof(needle_name), "\"name\":\"%s\"", f->query);
	snprintf(needle_id, sizeof(needle_id), "\"id\":\"%s", f->query);
	if (!strstr(line, needle_name) && !strstr(line, needle_id))
		return;
	if ((idp = strstr(line, "\"id\":\"")) && strlen(idp + 6) > 32 && idp[6 + 32] == '"') {
		snprintf(f->id, sizeof(f->id), "%.32s", idp + 6);
		free(f->name);
		f->name = json_field(line, "name");
	}
}

/* A named container: its own files while it exists, else the host log. */
static int add_source(struct source **srcs, size_t *n, const char *query)
{
	struct container_state st = { 0 };
	struct nerr err = { 0 };
	struct source *s;
	char id[33];

	*srcs = xrealloc(*srcs, (*n + 1) * sizeof(**srcs));
	s = &(*srcs)[*n];
	memset(s, 0, sizeof(*s));
	if (state_lookup(query, id, &err) == 0 && state_read(id, &st, NULL) == 0) {
		if (!st.audit) {
			fprintf(stderr, "nucleus: container %s has no audit data (start it with --audit)\n", st.cfg.name);
			container_state_free(&st);
			return -1;
		}
		s->path = xstrdup(st.audit_path);
		s->id = xstrdup(st.cfg.id);
		s->name = xstrdup(st.cfg.name);
		container_state_free(&st);
		(*n)++;
		if (open_source(s) < 0)
			return -1;
		return 0;
	}
	/* gone (or never detached): its events live on in the host log */
	struct rotlog_reader *rd = NULL;
	struct find f = { .query = query };

	if (rotlog_reader_open(AUDIT_HOST_LOG, &rd, NULL) == 0) {
		rotlog_reader_read(rd, find_line, &f);
		rotlog_reader_close(rd);
	}
	if (f.id[0]) {
		s->path = xstrdup(AUDIT_HOST_LOG);
		s->id = xstrdup(f.id);
		s->name = f.name ? f.name : xstrdup(query);
		s->host = true;
		(*n)++;
		return open_source(s) < 0 ? -1 : 0;
	}
	free(f.name);
	fprintf(stderr, "nucleus: no such container, and no audit data for it: %s\n", query);
	return -1;
}

static bool any_alive(struct source *srcs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (srcs[i].id && state_supervised(srcs[i].id))
			return true;
	return false;
}

int cmd_audit(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "follow", no_argument, NULL, 'f' }, { "lines", required_argument, NULL, 'n' },
		{ "tail", required_argument, NULL, 'n' }, { "json", no_argument, NULL, 'j' },
		{ "type", required_argument, NULL, 't' }, { "since", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	struct audit_filter filter = { 0 };
	struct source *srcs = NULL;
	char **lines = NULL;
	uint64_t last = 0;
	bool follow = false, json = false, have_last = false, everything;
	size_t nsrc = 0, count, from = 0;
	int c, status = 0;

	if (argc < 2 || strcmp(argv[1], "tail")) {
		if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
			print_help();
			return 0;
		}
		return cli_usage_error("audit", "expected `tail`");
	}
	argc--;
	argv++;
	optind = 0;
	opterr = 0;
	while ((c = cli_getopt(argc, argv, ":fn:h", opts)) != -1) {
		switch (c) {
		case 'f': follow = true; break;
		case 'j': json = true; break;
		case 'n':
			if (parse_u64(optarg, 0, UINT32_MAX, &last) < 0)
				return cli_usage_error("audit tail", "invalid --lines `%s`", optarg);
			have_last = true;
			break;
		case 't':
			if (!known_type(optarg)) {
				char k[512], r[512];

				types_text(kernel_types, ", ", k, sizeof(k));
				types_text(runtime_types, ", ", r, sizeof(r));
				strv_free(filter.types);
				return cli_usage_error("audit tail", "unknown event type `%s` (%s, %s)", optarg, k, r);
			}
			strv_push(&filter.types, optarg);
			break;
		case 's':
			if (audit_parse_since(optarg, &filter.since_ns) < 0) {
				strv_free(filter.types);
				return cli_usage_error("audit tail", "invalid --since `%s`", optarg);
			}
			break;
		case 'h': strv_free(filter.types); print_help(); return 0;
		default: strv_free(filter.types); return cli_usage_error("audit tail", "%s", cli_opterror());
		}
	}
	everything = optind >= argc;
	if (everything) {
		srcs = xcalloc(1, sizeof(*srcs));
		srcs[0].path = xstrdup(AUDIT_HOST_LOG);
		srcs[0].host = true;
		nsrc = 1;
		if (open_source(&srcs[0]) < 0)
			status = 1;
	}
	for (int i = optind; i < argc; i++)
		if (add_source(&srcs, &nsrc, argv[i]) < 0)
			status = EXIT_NO_CONTAINER;
	if (status) {
		strv_free(filter.types);
		goto done;
	}
	for (size_t i = 0; i < nsrc; i++)
		read_new(&srcs[i], &lines, &filter);
	count = strv_len(lines);
	if (nsrc > 1 && count)
		qsort(lines, count, sizeof(char *), by_time);
	if (!have_last && follow)
		last = 10, have_last = true;
	if (have_last && count > last)
		from = count - last;
	for (size_t i = 0; !from && i < nsrc; i++)
		say_lost(&srcs[i], json, filter.since_ns);
	print_lines(lines, from, json, want_colour());
	strv_free(lines);
	lines = NULL;
	if (follow) {
		int in = inotify_init1(IN_CLOEXEC);

		for (size_t i = 0; i < nsrc; i++)
			inotify_add_watch(in, srcs[i].path, IN_MODIFY);
		/* until every named container has ended (never, for the host log) */
		while (everything || any_alive(srcs, nsrc)) {
			struct pollfd p = { .fd = in, .events = POLLIN };
			char ev[4096];

			if (poll(&p, 1, 200) > 0)
				(void)!read(in, ev, sizeof(ev));
			for (size_t i = 0; i < nsrc; i++)
				read_new(&srcs[i], &lines, &filter);
			print_lines(lines, 0, json, want_colour());
			strv_free(lines);
			lines = NULL;
		}
		for (size_t i = 0; i < nsrc; i++)
			read_new(&srcs[i], &lines, &filter);
		print_lines(lines, 0, json, want_colour());
		strv_free(lines);
		close(in);
	}
	strv_free(filter.types);
done:
	for (size_t i = 0; i < nsrc; i++) {
		free(srcs[i].path);
		free(srcs[i].id);
		free(srcs[i].name);
		free(srcs[i].first);
		rotlog_reader_close(srcs[i].rd);
	}
	free(srcs);
	return status;
}
