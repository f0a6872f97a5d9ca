/* The command line of `run` and the configuration it produces. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include <nucleus/cli.h>
#include <nucleus/container.h>
#include "run_args.h"




static void basic_flags(void **state)
{
	struct container_config c;
	struct nerr e;

	assert_int_equal(parse(&c, &e, N("--name", "web", "-e", "A=1", "-w", "/tmp", "--hostname", "h1",
					  "--context", "/tmp", "--context-mode", "bind", "--time-namespace",
					  "--disable-cgroup-namespace", "--", "sh", "-c", "x"),
			       ARGS("--name", "web", "-e", "A=1", "-w", "/tmp", "--hostname", "h1",
				    "--context", "/tmp", "--context-mode", "bind", "--time-namespace",
				    "--disable-cgroup-namespace", "--", "sh", "-c", "x")), 0);
	assert_string_equal(c.name, "web");
	assert_string_equal(c.proc.workdir, "/tmp");
	assert_string_equal(c.proc.hostname, "h1");
	assert_int_equal(c.fs.context_mode, CONTEXT_BIND);
	assert_true(c.ns.time);
	assert_false(c.ns.cgroup);
	assert_int_equal(strv_len(c.proc.argv), 3);
	assert_string_equal(c.proc.argv[2], "x");
	assert_string_equal(env_get(c.proc.env, "A"), "1");
	assert_non_null(env_get(c.proc.env, "PATH"));
	container_config_free(&c);
}

static void command_starts_at_first_operand(void **state)
{
	struct container_config c;
	struct nerr e;

	/* flags after the command belong to the command */
	assert_int_equal(parse(&c, &e, N("ls", "-l", "--name", "x"), ARGS("ls", "-l", "--name", "x")), 0);
	assert_int_equal(strv_len(c.proc.argv), 4);
	assert_string_equal(c.name, "");
	container_config_free(&c);
}

/* docker's habits: -it, -dt and -dit all parse */
static void interactive_and_tty_combined(void **state)
{
	const char *combos[] = { "-it", "-dt", "-dit", "-di" };
	struct container_config c;
	struct nerr e;

	for (size_t i = 0; i < sizeof(combos) / sizeof(*combos); i++) {
		assert_int_equal(parse(&c, &e, 3, (char *[]){ "run", (char *)combos[i], "sh", NULL }), 0);
		assert_int_equal(c.proc.interactive, strchr(combos[i], 'i') != NULL);
		assert_int_equal(c.proc.tty, strchr(combos[i], 't') != NULL);
		assert_int_equal(c.detach, strchr(combos[i], 'd') != NULL);
		container_config_free(&c);
	}
	assert_int_equal(parse(&c, &e, N("--interactive", "sh"), ARGS("--interactive", "sh")), 0);
	assert_true(c.proc.interactive);
	container_config_free(&c);
}

static void errors(void **state)
{
	struct container_config c;
	struct nerr e;

	assert_true(parse(&c, &e, N("--bogus", "--", "true"), ARGS("--bogus", "--", "true")) < 0);
	assert_string_equal(e.msg, "unknown flag `--bogus`");
	container_config_free(&c);
	assert_true(parse(&c, &e, N("--context-mode", "zip", "true"), ARGS("--context-mode", "zip", "true")) < 0);
	assert_non_null(strstr(e.msg, "copy or bind"));
	container_config_free(&c);
	assert_true(parse(&c, &e, 1, (char *[]){ "run", NULL }) < 0);
	assert_non_null(strstr(e.msg, "no command"));
	container_config_free(&c);
	assert_true(parse(&c, &e, N("--name"), ARGS("--name")) < 0);
	assert_non_null(strstr(e.msg, "needs a value"));
	container_config_free(&c);
	assert_true(parse(&c, &e, N("-e", "LD_PRELOAD=/x.so", "true"), ARGS("-e", "LD_PRELOAD=/x.so", "true")) < 0);
	assert_non_null(strstr(e.msg, "LD_PRELOAD"));
	container_config_free(&c);
	assert_true(parse(&c, &e, N("--name", "a/b", "true"), ARGS("--name", "a/b", "true")) < 0);
	container_config_free(&c);
	assert_true(parse(&c, &e, N("-w", "rel", "true"), ARGS("-w", "rel", "true")) < 0);
	container_config_free(&c);
	assert_true(parse(&c, &e, N("--network", "host", "true"), ARGS("--network", "host", "true")) < 0);
	assert_non_null(strstr(e.msg, "--allow-host-network"));
	container_config_free(&c);
	assert_int_equal(parse(&c, &e, N("--network", "host", "--allow-host-network", "true"),
			       ARGS("--network", "host", "--allow-host-network", "true")), 0);
	container_config_free(&c);
	assert_int_equal(parse(&c, &e, N("--help"), ARGS("--help")), 1);
	container_config_free(&c);
}

static void environment_rules(void **state)
{
	char **env = NULL;
	struct nerr e = { 0 };

	assert_true(env_name_forbidden("LD_PRELOAD"));
	assert_true(env_name_forbidden("LD_LIBRARY_PATH"));
	assert_true(env_name_forbidden("LD_AUDIT"));
	assert_true(env_name_forbidden("GLIBC_TUNABLES"));
	assert_false(env_name_forbidden("LDFLAGS"));
	assert_false(env_name_forbidden("PATH"));
	assert_int_equal(env_add(&env, "K=v", &e), 0);
	assert_int_equal(env_add(&env, "K=w", &e), 0);     /* replaces */
	assert_int_equal(strv_len(env), 1);
	assert_string_equal(env[0], "K=w");
	assert_true(env_add(&env, "=v", &e) < 0);
	assert_true(env_add(&env, "A B=v", &e) < 0);
	setenv("NUCLEUS_UNIT_X", "host", 1);
	assert_int_equal(env_add(&env, "NUCLEUS_UNIT_X", &e), 0);
	assert_string_equal(env[1], "NUCLEUS_UNIT_X=host");
	unsetenv("NUCLEUS_UNIT_Y");
	assert_int_equal(env_add(&env, "NUCLEUS_UNIT_Y", &e), 0);
	assert_int_equal(strv_len(env), 2);                /* unset on the host: not added */
	strv_free(env);
}

static void exec_paths(void **state)
{
	struct container_config c;
	struct landlock_spec l = { 0 };
	struct nerr e = { 0 };
	char *p = NULL;

	assert_int_equal(exec_path_parse("/tmp/", &p, &e), 0);
	assert_string_equal(p, "/tmp");
	free(p);
	assert_int_equal(exec_path_parse("/context/bin", &p, &e), 0);
	free(p);
	assert_true(exec_path_parse("/tmpx", &p, &e) < 0);
	assert_true(exec_path_parse("/usr/bin", &p, &e) < 0);
	assert_true(exec_path_parse("/tmp//x", &p, &e) < 0);
	assert_true(exec_path_parse("/tmp/./x", &p, &e) < 0);
	assert_true(exec_path_parse("/tmp/x/..", &p, &e) < 0);
	assert_true(exec_path_parse("tmp", &p, &e) < 0);

	/* --allow-exec entries covered by a broader one are dropped */
	container_config_init(&c);
	c.fs.context = xstrdup("/somewhere");
	strv_push(&c.fs.allow_exec, "/tmp/a/b");
	strv_push(&c.fs.allow_exec, "/tmp/a");
	strv_push(&c.fs.allow_exec, "/context/bin");
	assert_int_equal(container_exec_plan(&c, &e), 0);
	assert_int_equal(strv_len(c.fs.exec_paths), 2);
	assert_string_equal(c.fs.exec_paths[0], "/tmp/a");
	assert_string_equal(c.fs.exec_paths[1], "/context/bin");

	/* a policy's execute grants: beneath a workspace, above one, elsewhere */
	c.sec.landlock = &l;
	c.sec.landlock_policy = xstrdup("p.toml");
	strv_free(c.fs.allow_exec);
	c.fs.allow_exec = NULL;
	landlock_spec_allow_exec(&l, "/usr");
	landlock_spec_allow_exec(&l, "/context/tools");
	assert_int_equal(container_exec_plan(&c, &e), 0);
	assert_int_equal(strv_len(c.fs.exec_paths), 1);
	assert_string_equal(c.fs.exec_paths[0], "/context/tools");
	landlock_spec_allow_exec(&l, "/");
	assert_int_equal(container_exec_plan(&c, &e), 0);
	assert_int_equal(strv_len(c.fs.exec_paths), 2);
	assert_true(strv_contains(c.fs.exec_paths, "/tmp"));
	assert_true(strv_contains(c.fs.exec_paths, "/context"));
	landlock_spec_allow_exec(&l, "/proc/self");
	assert_true(container_exec_plan(&c, &e) < 0);
	assert_non_null(strstr(e.msg, "never makes executable"));
	landlock_spec_free(&l);
	c.sec.landlock = NULL;
	container_config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(basic_flags),
		cmocka_unit_test(command_starts_at_first_operand),
		cmocka_unit_test(interactive_and_tty_combined),
		cmocka_unit_test(errors),
		cmocka_unit_test(environment_rules),
		cmocka_unit_test(exec_paths),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
