/* nucleus inspect: containers' whole configuration and state as JSON
 * (docker inspect's use: a script's view of one container). */
#include <getopt.h>
#include <string.h>
#include <jansson.h>
#include <nucleus/cli.h>
#include <nucleus/container.h>

static const char inspect_help[] =
	"Usage: nucleus inspect [OPTIONS] CONTAINER...\n"
	"\n"
	"Print a JSON array with one object per container: its id, name, the whole\n"
	"configuration it was started with (\"config\", the form `run` reads back) and\n"
	"its state (\"state\": status, pids, times, exit code, the health check's status,\n"
	"failing streak and last results, ready, restarts).\n"
	"\n"
	"Options:\n"
	"  -h, --help    Show this help\n";

/* The state as state.json holds it, its configuration apart; the status
 * as ps sees it (a running one nobody supervises has exited). */
static json_t *inspect_one(struct container_state *st)
{
	json_t *state = container_state_to_json(st), *o;
	const char *status = container_status_name(st->status);
	bool supervised = state_supervised(st->cfg.id);

	if (st->status != STATUS_EXITED && !supervised)
		status = st->status == STATUS_RUNNING ? "exited" : "dead";
	json_object_set_new(state, "status", json_string(status));
	json_object_set_new(state, "running", json_boolean(!strcmp(status, "running")));
	if (st->health.status == HEALTH_NONE)
		json_object_set_new(state, "health", json_null());
	json_object_del(state, "version");
	o = json_pack("{s:s,s:s,s:O,s:o}", "id", st->cfg.id, "name", st->cfg.name,
		      "config", json_object_get(state, "config"), "state", state);
	json_object_del(state, "config");
	return o;
}

int cmd_inspect(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	json_t *all;
	int c, status = 0;

	optind = 0;
	opterr = 0;
	while ((c = cli_getopt(argc, argv, "+h", opts)) != -1) {
		switch (c) {
		case 'h': fputs(inspect_help, stdout); return 0;
		default: return cli_usage_error("inspect", "%s", cli_opterror());
		}
	}
	if (optind >= argc)
		return cli_usage_error("inspect", "no container given");
	all = json_array();
	for (int i = optind; i < argc; i++) {
		struct container_state st = { 0 };

		/* as docker: what was found is printed, an unknown one said
		 * and the status 1 */
		if (cli_lookup(argv[i], &st) < 0) {
			status = EXIT_NO_CONTAINER;
			continue;
		}
		json_array_append_new(all, inspect_one(&st));
		container_state_free(&st);
	}
	json_dumpf(all, stdout, JSON_INDENT(4));
	fputc('\n', stdout);
	json_decref(all);
	return status;
}
