/* nucleus logs */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <nucleus/cli.h>
#include <nucleus/container.h>

static const char logs_help[] =
	"Usage: nucleus logs [OPTIONS] CONTAINER\n"
	"\n"
	"Show what a detached container wrote: its stdout on stdout, its stderr (and the\n"
	"runtime's messages about it) on stderr.\n"
	"\n"
	"Options:\n"
	"  -f, --follow      Keep printing new output until the container exits\n"
	"  -n, --tail N      Only the last N lines (\"all\": everything)\n"
	"  -t, --timestamps  Begin each line with the time it was written (RFC 3339)\n"
	"  -h, --help        Show this help\n";

/* Offset where the last n records (lines of the log) start. */
static off_t tail_offset(int fd, uint64_t n)
{
	char buf[8192];
	off_t end = lseek(fd, 0, SEEK_END), pos = end;
	uint64_t lines = 0;

	if (end <= 0 || n == 0)
		return n == 0 ? end : 0;
	while (pos > 0) {
		size_t chunk = pos > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)pos;
		ssize_t got;

		pos -= (off_t)chunk;
		got = pread(fd, buf, chunk, pos);
		if (got <= 0)
			return 0;
		for (ssize_t i = got - 1; i >= 0; i--) {
			/* the newline ending the file does not start a line */
			if (buf[i] == '\n' && pos + i != end - 1 && ++lines == n)
				return pos + i + 1;
		}
	}
	return 0;
}

struct reader {
	char *partial;           /* a record the supervisor is still writing */
	size_t len;
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

static void emit_line(struct reader *rd, const char *line, size_t len)
{
	struct log_record r;

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

/* Everything complete that is there now. */
static void copy_out(int fd, struct reader *rd)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		size_t start = 0;

		rd->partial = xrealloc(rd->partial, rd->len + (size_t)n);
		memcpy(rd->partial + rd->len, buf, (size_t)n);
		rd->len += (size_t)n;
		for (size_t i = 0; i < rd->len; i++) {
			if (rd->partial[i] == '\n') {
				emit_line(rd, rd->partial + start, i - start);
				start = i + 1;
			}
		}
		memmove(rd->partial, rd->partial + start, rd->len - start);
		rd->len -= start;
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
	struct reader rd = { 0 };
	uint64_t tail = 0;
	bool follow = false, have_tail = false;
	int c, fd;

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
				"terminal that started it, not to a log\n", st.name);
		container_state_free(&st);
		return 1;
	}
	{
		struct nerr err = { 0 };

		/* not through a symlink, and only a log of the caller's */
		fd = open_trusted_at(AT_FDCWD, st.log_path, O_RDONLY, 0, S_IFREG, "log", st.log_path, &err);
		if (fd < 0) {
			fprintf(stderr, "nucleus: %s\n", err.msg);
			container_state_free(&st);
			return trust_refused(&err) ? EXIT_RUNTIME : 1;
		}
	}
	lseek(fd, have_tail ? tail_offset(fd, tail) : 0, SEEK_SET);
	copy_out(fd, &rd);
	/* -f: until nobody looks after the container any more, then drain. */
	while (follow && state_supervised(st.id)) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };

		nanosleep(&ts, NULL);
		copy_out(fd, &rd);
	}
	if (follow)
		copy_out(fd, &rd);
	/* what the log had no room for is gone: say so rather than end as if complete */
	if (follow) {
		char id[33];

		/* (the supervisor records it as the container ends) */
		snprintf(id, sizeof(id), "%s", st.id);
		container_state_free(&st);
		state_read(id, &st, NULL);
	}
	if (st.log_lost_bytes)
		fprintf(stderr, "nucleus: the log of %s is incomplete: %llu bytes of output could not be written "
			"(%s)\n", st.name, (unsigned long long)st.log_lost_bytes, strerror(st.log_errno));
	free(rd.partial);
	close(fd);
	container_state_free(&st);
	return 0;
}
