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
	"  -h, --help          Show this help\n";

/* Every type an audit log holds: what the kernel source reports, then what
 * the runtime writes. A --type outside these would silently match nothing. */
static const char *const kernel_types[] = {
	"exec", "connect", "open", "mount", "ptrace", "bpf", "module", "setuid", "setgid", NULL,
};
static const char *const runtime_types[] = {
	"audit", "audit_lost", "create", "capabilities", "seccomp", "landlock", "egress", "start",
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
	char *path;
	char *id;           /* filter the host log to this container; NULL: everything */
	off_t off;
	char *partial;      /* an incomplete last line */
};

static bool for_container(const char *line, const char *id)
{
	char needle[64];

	if (!id)
		return true;
	snprintf(needle, sizeof(needle), "\"id\":\"%s\"", id);
	return strstr(line, needle) != NULL;
}

/* Read what is new in a source; whole lines only. */
static void read_new(struct source *s, char ***lines, const struct audit_filter *f)
{
	_cleanup_close_ int fd = open(s->path, O_RDONLY | O_CLOEXEC);
	char buf[65536];
	ssize_t n;

	if (fd < 0)
		return;
	lseek(fd, s->off, SEEK_SET);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		char *chunk = xasprintf("%s%.*s", s->partial ? s->partial : "", (int)n, buf);
		char *start = chunk, *nl;

		s->off += n;
		free(s->partial);
		s->partial = NULL;
		while ((nl = strchr(start, '\n'))) {
			*nl = '\0';
			if (*start && for_container(start, s->id) && audit_line_matches(start, f))
				strv_push(lines, start);
			start = nl + 1;
		}
		if (*start)
			s->partial = xstrdup(start);
		free(chunk);
	}
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

/* A named container: its own file while it exists, else the host log. */
static int add_source(struct source **srcs, size_t *n, const char *query)
{
	struct container_state st = { 0 };
	struct nerr err = { 0 };
	char id[33];

	*srcs = xrealloc(*srcs, (*n + 1) * sizeof(**srcs));
	memset(&(*srcs)[*n], 0, sizeof(**srcs));
	if (state_lookup(query, id, &err) == 0 && state_read(id, &st, NULL) == 0) {
		if (!st.audit) {
			fprintf(stderr, "nucleus: container %s has no audit data (start it with --audit)\n", st.name);
			container_state_free(&st);
			return -1;
		}
		(*srcs)[*n].path = xstrdup(st.audit_path);
		(*srcs)[*n].id = xstrdup(st.id);
		container_state_free(&st);
		(*n)++;
		return 0;
	}
	/* gone (or never detached): its events live on in the host log */
	_cleanup_free_ char *text = NULL;
	if (read_file(AUDIT_HOST_LOG, 1 << 30, &text, NULL) == 0) {
		char needle_name[96], needle_id[64];
		char *found;

		snprintf(needle_name, sizeof(needle_name), "\"name\":\"%s\"", query);
		snprintf(needle_id, sizeof(needle_id), "\"id\":\"%s", query);
		if ((found = strstr(text, needle_name)) || (found = strstr(text, needle_id))) {
			char *line = found;
			while (line > text && line[-1] != '\n')
				line--;
			char *idp = strstr(line, "\"id\":\"");
			if (idp) {
				(*srcs)[*n].path = xstrdup(AUDIT_HOST_LOG);
				(*srcs)[*n].id = strndup(idp + 6, 32);
				(*n)++;
				return 0;
			}
		}
	}
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
		nsrc = 1;
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
		free(srcs[i].partial);
	}
	free(srcs);
	return status;
}
