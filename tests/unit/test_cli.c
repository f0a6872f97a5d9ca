/* The command line: long flags are matched exactly, never as abbreviations. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <getopt.h>
#include <string.h>
#include <nucleus/cli.h>
#include <nucleus/container.h>

#define ARGS(...) (char *[]){ "verb", __VA_ARGS__, NULL }
#define N(...) ((int)(sizeof((char *[]){ "verb", __VA_ARGS__ }) / sizeof(char *)))

static const struct option opts[] = {
	{ "all", no_argument, NULL, 'a' },
	{ "userns", no_argument, NULL, 1000 },
	{ "name", required_argument, NULL, 'n' },
	{ "network", required_argument, NULL, 1001 },
	{ NULL, 0, NULL, 0 },
};

/* Every option of argv in order as "c[=optarg]", then the first error. */
static void parse(int argc, char **argv, const char *shortopts, char *out, size_t len)
{
	int c;

	out[0] = '\0';
	optind = 0;
	opterr = 0;
	while ((c = cli_getopt(argc, argv, shortopts, opts)) != -1) {
		size_t used = strlen(out);

		if (c == '?' || c == ':') {
			snprintf(out + used, len - used, "%c%s", c, cli_opterror());
			return;
		}
		snprintf(out + used, len - used, "%d%s%s ", c, optarg ? "=" : "", optarg ? optarg : "");
	}
}

static void exact_long_flags(void **state)
{
	char out[256];

	parse(N("--all", "--userns", "--name", "x", "--network=host", "cmd"),
	      ARGS("--all", "--userns", "--name", "x", "--network=host", "cmd"), "+:an:", out, sizeof(out));
	assert_string_equal(out, "97 1000 110=x 1001=host ");
	parse(N("-a", "-nx", "-an", "y", "--"), ARGS("-a", "-nx", "-an", "y", "--"), "+:an:", out, sizeof(out));
	assert_string_equal(out, "97 110=x 97 110=y ");
	/* a value that looks like a flag is still a value */
	parse(N("--name", "--all"), ARGS("--name", "--all"), "+:an:", out, sizeof(out));
	assert_string_equal(out, "110=--all ");
}

static void abbreviations_refused(void **state)
{
	char out[256];

	/* getopt_long alone would read these as --userns and --network */
	parse(N("--user", "12345"), ARGS("--user", "12345"), "+:an:", out, sizeof(out));
	assert_string_equal(out, "?unknown flag `--user`");
	parse(N("--net", "host", "cmd"), ARGS("--net", "host", "cmd"), "+:an:", out, sizeof(out));
	assert_string_equal(out, "?unknown flag `--net`");
	parse(N("--net=host"), ARGS("--net=host"), "+:an:", out, sizeof(out));
	assert_string_equal(out, "?unknown flag `--net`");
	parse(N("--nam", "x"), ARGS("--nam", "x"), "+:an:", out, sizeof(out));
	assert_string_equal(out, "?unknown flag `--nam`");
	/* abbreviated and without its value: unknown, not "needs a value" */
	parse(N("--nam"), ARGS("--nam"), "+:an:", out, sizeof(out));
	assert_string_equal(out, "?unknown flag `--nam`");
	parse(N("--al"), ARGS("--al"), "+:an:", out, sizeof(out));
	assert_string_equal(out, "?unknown flag `--al`");
	parse(N("--al=1"), ARGS("--al=1"), "+:an:", out, sizeof(out));
	assert_string_equal(out, "?unknown flag `--al`");
	/* ambiguous and unknown ones, as before */
	parse(N("--n", "x"), ARGS("--n", "x"), "+:an:", out, sizeof(out));
	assert_string_equal(out, "?unknown flag `--n`");
	parse(N("--bogus"), ARGS("--bogus"), "+:an:", out, sizeof(out));
	assert_string_equal(out, "?unknown flag `--bogus`");
}

static void other_errors(void **state)
{
	char out[256];

	parse(N("--all=1"), ARGS("--all=1"), "+:an:", out, sizeof(out));
	assert_string_equal(out, "?flag `--all` takes no value");
	parse(N("--name"), ARGS("--name"), "+:an:", out, sizeof(out));
	assert_string_equal(out, ":flag `--name` needs a value");
	parse(N("-n"), ARGS("-n"), "+:an:", out, sizeof(out));
	assert_string_equal(out, ":flag `-n` needs a value");
	parse(N("--all", "-aZ"), ARGS("--all", "-aZ"), "+:an:", out, sizeof(out));
	assert_string_equal(out, "97 97 ?unknown flag `-Z`");
	parse(N("--name=v", "-Za"), ARGS("--name=v", "-Za"), "+:an:", out, sizeof(out));
	assert_string_equal(out, "110=v ?unknown flag `-Z`");
	/* one line, whatever was typed */
	parse(N("--b\nx"), ARGS("--b\nx"), "+:an:", out, sizeof(out));
	assert_string_equal(out, "?unknown flag `--b?x`");
}

/* Without '+', getopt_long moves operands behind the flags: the flag's own
 * element is still the one checked. */
static void permuted(void **state)
{
	char out[256];

	parse(N("c1", "--name", "x", "c2", "--all"), ARGS("c1", "--name", "x", "c2", "--all"), ":an:", out,
	      sizeof(out));
	assert_string_equal(out, "110=x 97 ");
	parse(N("c1", "--user", "c2"), ARGS("c1", "--user", "c2"), ":an:", out, sizeof(out));
	assert_string_equal(out, "?unknown flag `--user`");
	parse(N("c1", "c2", "--nam", "x"), ARGS("c1", "c2", "--nam", "x"), ":an:", out, sizeof(out));
	assert_string_equal(out, "?unknown flag `--nam`");
}

static int run_args(struct container_config *c, struct nerr *e, int argc, char **argv)
{
	container_config_init(c);
	memset(e, 0, sizeof(*e));
	argv[0] = "run";
	return run_parse_args(argc, argv, c, e);
}

/* `nucleus run --user 12345` must not run 12345 under --userns. */
static void run_refuses_abbreviations(void **state)
{
	struct container_config c;
	struct nerr e;

	assert_true(run_args(&c, &e, N("--use", "12345", "true"), ARGS("--use", "12345", "true")) < 0);
	assert_string_equal(e.msg, "unknown flag `--use`");
	container_config_free(&c);
	assert_true(run_args(&c, &e, N("--usern", "true"), ARGS("--usern", "true")) < 0);
	assert_string_equal(e.msg, "unknown flag `--usern`");
	container_config_free(&c);
	assert_true(run_args(&c, &e, N("--net", "host", "true"), ARGS("--net", "host", "true")) < 0);
	assert_string_equal(e.msg, "unknown flag `--net`");
	container_config_free(&c);
	assert_true(run_args(&c, &e, N("--rm=yes", "true"), ARGS("--rm=yes", "true")) < 0);
	assert_string_equal(e.msg, "flag `--rm` takes no value");
	container_config_free(&c);
	assert_int_equal(run_args(&c, &e, N("--network", "none", "--name", "x", "true"),
				  ARGS("--network", "none", "--name", "x", "true")), 0);
	assert_string_equal(c.name, "x");
	container_config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(exact_long_flags),
		cmocka_unit_test(abbreviations_refused),
		cmocka_unit_test(other_errors),
		cmocka_unit_test(permuted),
		cmocka_unit_test(run_refuses_abbreviations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
