/* nucleus ps */
#include <getopt.h>
#include <string.h>
#include <jansson.h>
#include <nucleus/cli.h>
#include <nucleus/container.h>

static const char ps_help[] =
	"Usage: nucleus ps [OPTIONS]\n"
	"\n"
	"List running containers (with -a, also those that exited and wait for 'nucleus rm').\n"
	"\n"
	"Options:\n"
	"  -a, --all     Show all containers\n"
	"  -q, --quiet   Only show ids\n"
	"      --json    Print JSON\n"
	"  -h, --help    Show this help\n";

/* What a container is now: the state file, checked against reality. */
static enum container_status live_status(const struct container_state *st, const char *id)
{
	if (st->status == STATUS_EXITED)
		return STATUS_EXITED;
	if (!state_supervised(id))
		return STATUS_DEAD;
	return st->status;
}

static void status_text(const struct container_state *st, enum container_status s, char *buf, size_t len)
{
	char d[64];
	uint64_t now = realtime_ns();

	switch (s) {
	case STATUS_RUNNING:
		human_duration(now - st->started_ns, d, sizeof(d));
		snprintf(buf, len, "Up %s", d);
		break;
	case STATUS_EXITED:
		human_duration(now - st->finished_ns, d, sizeof(d));
		snprintf(buf, len, "Exited (%d) %s ago%s", st->exit_code, d, st->oom_killed ? " (OOM killed)" : "");
		break;
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

static void command_text(char **argv, char *buf, size_t len)
{
	char full[512] = "";

	for (size_t i = 0; argv && argv[i]; i++) {
		strncat(full, i ? " " : "", sizeof(full) - strlen(full) - 1);
		strncat(full, argv[i], sizeof(full) - strlen(full) - 1);
	}
	if (strlen(full) > 20)
		snprintf(buf, len, "\"%.17s...\"", full);
	else
		snprintf(buf, len, "\"%s\"", full);
}

int cmd_ps(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' }, { "quiet", no_argument, NULL, 'q' },
		{ "json", no_argument, NULL, 'j' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_strv_ char **ids = NULL;
	struct nerr err = { 0 };
	bool all = false, quiet = false, json = false;
	json_t *arr = NULL;
	struct table tbl = { .ncols = 7 };
	int c;

	optind = 0;
	opterr = 0;
	while ((c = cli_getopt(argc, argv, "+aqh", opts)) != -1) {
		switch (c) {
		case 'a': all = true; break;
		case 'q': quiet = true; break;
		case 'j': json = true; break;
		case 'h': fputs(ps_help, stdout); return 0;
		default: return cli_usage_error("ps", "%s", cli_opterror());
		}
	}
	if (optind < argc)
		return cli_usage_error("ps", "unexpected argument `%s`", argv[optind]);
	container_gc();
	if (state_list(&ids, &err) < 0)
		return cli_fail(&err);
	if (json)
		arr = json_array();
	else if (!quiet)
		table_add(&tbl, "CONTAINER ID", "NAME", "COMMAND", "CREATED", "STATUS", "PID", "PORTS");
	for (size_t i = 0; ids && ids[i]; i++) {
		struct container_state st = { 0 };
		enum container_status s;
		char status[96], created[64], cmd[64];

		if (state_read(ids[i], &st, NULL) < 0)
			continue;
		s = live_status(&st, ids[i]);
		if (!all && s != STATUS_RUNNING) {
			container_state_free(&st);
			continue;
		}
		status_text(&st, s, status, sizeof(status));
		if (json) {
			json_t *o = json_pack("{s:s,s:s,s:s,s:i,s:i,s:b,s:b,s:I,s:s}", "id", st.id, "name", st.name,
					      "status", container_status_name(s), "pid", s == STATUS_RUNNING ? st.pid : 0,
					      "exit_code", st.exit_code, "oom_killed", st.oom_killed,
					      "detached", st.detached, "created_ns", (json_int_t)st.created_ns,
					      "state", status);
			json_t *a = json_array();
			for (size_t k = 0; st.argv && st.argv[k]; k++)
				json_array_append_new(a, json_string(st.argv[k]));
			json_object_set_new(o, "command", a);
			json_object_set_new(o, "network", json_string(st.network[0] ? st.network : "none"));
			a = json_array();
			for (size_t k = 0; st.addresses && st.addresses[k]; k++)
				json_array_append_new(a, json_string(st.addresses[k]));
			json_object_set_new(o, "addresses", a);
			a = json_array();
			for (size_t k = 0; st.ports && st.ports[k]; k++)
				json_array_append_new(a, json_string(st.ports[k]));
			json_object_set_new(o, "ports", a);
			json_array_append_new(arr, o);
		} else if (quiet) {
			printf("%.12s\n", st.id);
		} else {
			char d[64], shortid[13], pid[16];

			human_duration(realtime_ns() - st.created_ns, d, sizeof(d));
			snprintf(created, sizeof(created), "%s ago", d);
			command_text(st.argv, cmd, sizeof(cmd));
			snprintf(shortid, sizeof(shortid), "%.12s", st.id);
			snprintf(pid, sizeof(pid), "%d", s == STATUS_RUNNING ? (int)st.pid : 0);
			_cleanup_free_ char *ports = ports_text(st.ports);

			table_add(&tbl, shortid, st.name, cmd, created, status, pid, ports);
		}
		container_state_free(&st);
	}
	if (!json && !quiet)
		table_print(&tbl, stdout);
	if (json) {
		json_dumpf(arr, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(arr);
	}
	return 0;
}
