/* nucleus logs */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <nucleus/cli.h>
#include <nucleus/container.h>
#include <nucleus/rotlog.h>

static const char logs_help[] =
	"Usage: nucleus logs [OPTIONS] CONTAINER\n"
	"\n"
	"Show what a detached container wrote: its stdout on stdout, its stderr (and the\n"
	"runtime's messages about it) on stderr.\n"
	"\n"
	"Options:\n"
	"  -f, --follow      Keep printing new output until the container exits\n"
	"  -n, --tail N      Only the last N lines (\"all\": everything), counted across\n"
	"                    the rotated files of the log (see 'nucleus run --log-opt')\n"
	"  -t, --timestamps  Begin each line with the time it was written (RFC 3339)\n"
	"  -h, --help        Show this help\n";

struct reader {
	bool timestamps;
	bool mid_line[3];        /* per output fd: the last text did not end a line */
};

static void emit(struct reader *rd, const struct log_record *r)
{
	int fd = r->is_stderr ? STDERR_FILENO : STDOUT_FILENO;

	if (rd->timestamps && !rd->mid_line[fd] && r->len) {
		char ts[64];

		snprintf(ts, sizeof(ts), "%s ", r->time);
		write_all(fd, ts, strlen(ts));
	}
	write_all(fd, r->text, r->len);
	if (r->len)
		rd->mid_line[fd] = r->text[r->len - 1] != '\n';
}

static void emit_line(const char *line, size_t len, unsigned file, void *arg)
{
	struct reader *rd = arg;
	struct log_record r;

	(void)file;
	if (!len)
		return;
	if (log_decode(line, len, &r) < 0) {
		/* not a record: shown as it is rather than lost */
		write_all(STDOUT_FILENO, line, len);
		write_all(STDOUT_FILENO, "\n", 1);
		return;
	}
	emit(rd, &r);
	free(r.text);
}

/* Whether each record ends a line of output (what a pump read cut in two
 * is two records of one line). */
struct line_ends {
	bool *ends;
	size_t n, cap;
};

static void note_end(const char *line, size_t len, unsigned file, void *arg)
{
	struct line_ends *e = arg;
	struct log_record r;
	bool end = true;

	(void)file;
	if (!len)
		return;
	if (log_decode(line, len, &r) == 0) {
		end = r.len && r.text[r.len - 1] == '\n';
		free(r.text);
	}
	if (e->n == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 64;
		e->ends = xrealloc(e->ends, e->cap * sizeof(*e->ends));
	}
	e->ends[e->n++] = end;
}

/* --tail N counts lines, as docker does, not records: how many records
 * from the end hold the last N lines (a last line without its newline
 * counts). Looks at more records until N+1 line ends are seen or the log
 * has no more; UINT64_MAX: all of it. */
static uint64_t records_for_lines(const char *path, uint64_t lines)
{
	for (uint64_t want = lines + 1;; want *= 4) {
		struct line_ends e = { 0 };
		struct rotlog_reader *r = NULL;
		uint64_t seen = 0;

		if (rotlog_reader_open(path, &r, NULL) < 0)
			return lines;
		rotlog_reader_tail(r, want);
		rotlog_reader_read(r, note_end, &e);
		rotlog_reader_close(r);
		for (size_t i = e.n; i-- > 0;) {
			if ((e.ends[i] || i + 1 == e.n) && ++seen == lines + 1) {
				free(e.ends);
				return e.n - (i + 1);
			}
		}
		free(e.ends);
		if (e.n < want)
			return UINT64_MAX;
	}
}

int cmd_logs(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "follow", no_argument, NULL, 'f' }, { "tail", required_argument, NULL, 'n' },
		{ "timestamps", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	struct container_state st = { 0 };
	struct rotlog_reader *log = NULL;
	struct nerr err = { 0 };
	struct reader rd = { 0 };
	uint64_t tail = 0;
	bool follow = false, have_tail = false;
	int c;

	optind = 0;
	opterr = 0;
	while ((c = cli_getopt(argc, argv, "+:fn:th", opts)) != -1) {
		switch (c) {
		case 'f': follow = true; break;
		case 't': rd.timestamps = true; break;
		case 'n':
			if (!strcmp(optarg, "all")) {
				have_tail = false;
				break;
			}
			if (parse_u64(optarg, 0, UINT64_MAX, &tail) < 0)
				return cli_usage_error("logs", "invalid --tail `%s`", optarg);
			have_tail = true;
			break;
		case 'h': fputs(logs_help, stdout); return 0;
		case ':': return cli_usage_error("logs", "flag `%s` needs a value", argv[optind - 1]);
		default: return cli_usage_error("logs", "%s", cli_opterror());
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error("logs", "give exactly one container");
	if (cli_lookup(argv[optind], &st) < 0)
		return EXIT_NO_CONTAINER;
	if (!st.log_path[0]) {
		fprintf(stderr, "nucleus: container %s runs in the foreground: its output goes to the "
				"terminal that started it, not to a log\n", st.cfg.name);
		container_state_free(&st);
		return 1;
	}
	/* container.log and what rotated out of it (.1, .2 ...), oldest first;
	 * only files of the caller's, never through a symlink */
	if (rotlog_reader_open(st.log_path, &log, &err) < 0) {
		fprintf(stderr, "nucleus: %s\n", err.msg);
		container_state_free(&st);
		return trust_refused(&err) ? EXIT_RUNTIME : 1;
	}
	if (have_tail) {
		uint64_t records = tail ? records_for_lines(st.log_path, tail) : 0;

		if (records != UINT64_MAX)
			rotlog_reader_tail(log, records);
	}
	rotlog_reader_read(log, emit_line, &rd);
	/* -f: until nobody looks after the container any more, then drain;
	 * a rotation meanwhile is followed into the new file */
	while (follow && state_supervised(st.cfg.id)) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };

		nanosleep(&ts, NULL);
		rotlog_reader_read(log, emit_line, &rd);
	}
	if (follow)
		rotlog_reader_read(log, emit_line, &rd);
	rotlog_reader_close(log);
	/* what the log had no room for is gone: say so rather than end as if complete */
	if (follow) {
		char id[33];

		/* (the supervisor records it as the container ends) */
		snprintf(id, sizeof(id), "%s", st.cfg.id);
		container_state_free(&st);
		state_read(id, &st, NULL);
	}
	if (st.log_lost_bytes)
		fprintf(stderr, "nucleus: the log of %s is incomplete: %llu bytes of output could not be written "
			"(%s)\n", st.cfg.name, (unsigned long long)st.log_lost_bytes, strerror(st.log_errno));
	container_state_free(&st);
	return 0;
}
