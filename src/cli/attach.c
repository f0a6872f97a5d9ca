/* nucleus attach */
#include <getopt.h>
#include <string.h>
#include <nucleus/cli.h>
#include <nucleus/container.h>

static const char attach_help[] =
	"Usage: nucleus attach [OPTIONS] CONTAINER [--] [COMMAND [ARG...]]\n"
	"\n"
	"Run COMMAND (default /bin/sh) inside a running container: in all its namespaces\n"
	"and its cgroup, with the same (empty) capabilities, no_new_privs, Landlock rules\n"
	"and seccomp filter as its workload. Nothing is gained by attaching.\n"
	"COMMAND gets the container's environment (its run's -e), then the -e given here.\n"
	"\n"
	"Options:\n"
	"  -t, --tty                  Allocate a pseudo-terminal\n"
	"  -i, --interactive          Accepted for docker's habits: stdin is always passed\n"
	"  -e, --env KEY[=VALUE]      Set an environment variable (over the container's)\n"
	"  -h, --help                 Show this help\n";

int cmd_attach(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tty", no_argument, NULL, 't' }, { "env", required_argument, NULL, 'e' },
		{ "interactive", no_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	struct container_state st = { 0 };
	struct nerr err = { 0 };
	_cleanup_strv_ char **env = NULL;
	_cleanup_strv_ char **cmd = NULL;
	char **user_env = NULL;
	bool tty = false;
	int c, exit_code = EXIT_RUNTIME, r;

	optind = 0;
	opterr = 0;
	while ((c = cli_getopt(argc, argv, "+:te:ih", opts)) != -1) {
		switch (c) {
		case 't': tty = true; break;
		case 'i': break;   /* stdin is always passed through */
		case 'e': strv_push(&user_env, optarg); break;
		case 'h': fputs(attach_help, stdout); strv_free(user_env); return 0;
		case ':':
			strv_free(user_env);
			return cli_usage_error("attach", "flag `%s` needs a value", argv[optind - 1]);
		default:
			strv_free(user_env);
			return cli_usage_error("attach", "%s", cli_opterror());
		}
	}
	if (optind >= argc) {
		strv_free(user_env);
		return cli_usage_error("attach", "no container given");
	}
	/* the flags are checked before the container is looked up */
	{
		_cleanup_strv_ char **check = NULL;

		for (size_t i = 0; user_env && user_env[i]; i++) {
			if (env_add(&check, user_env[i], &err) < 0) {
				strv_free(user_env);
				fprintf(stderr, "nucleus: attach: %s\n", err.msg);
				return EXIT_RUNTIME;
			}
		}
	}
	if (cli_lookup(argv[optind], &st) < 0) {
		strv_free(user_env);
		return EXIT_NO_CONTAINER;
	}
	/* As docker exec: the workload's environment (a container started
	 * before it was kept gets the defaults), the hostname, then -e. */
	env_defaults(&env, tty);
	for (size_t i = 0; st.cfg.proc.env && st.cfg.proc.env[i]; i++)
		if (strchr(st.cfg.proc.env[i], '='))
			(void)env_add(&env, st.cfg.proc.env[i], &err);
	{
		_cleanup_free_ char *h = xasprintf("HOSTNAME=%s", st.cfg.proc.hostname);
		env_add(&env, h, &err);
	}
	for (size_t i = 0; user_env && user_env[i]; i++)
		env_add(&env, user_env[i], &err);
	strv_free(user_env);
	nerr_clear(&err);
	for (int i = optind + 1; i < argc; i++)
		if (i > optind + 1 || strcmp(argv[i], "--"))
			strv_push(&cmd, argv[i]);
	if (!cmd)
		strv_push(&cmd, "/bin/sh");
	r = container_attach(&st, cmd, env, tty, &exit_code, &err);
	if (r < 0)
		exit_code = cli_fail(&err);
	else if (err.code)
		fprintf(stderr, "nucleus: %s\n", err.msg);
	container_state_free(&st);
	return exit_code;
}
