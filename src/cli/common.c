/* Shared by the verbs: flag parsing, error printing, version. */
#include <getopt.h>
#include <stdarg.h>
#include <string.h>
#include <seccomp.h>
#include <bpf/libbpf.h>
#include <nucleus/cli.h>
#include <nucleus/container.h>

#ifndef NUCLEUS_COMMIT
#define NUCLEUS_COMMIT "unknown"
#endif

static char opt_error[160];

const char *cli_opterror(void)
{
	return opt_error[0] ? opt_error : "invalid flag";
}

/* The long option named exactly by `name` (up to '=' or its end). */
static const struct option *long_exact(const struct option *longopts, const char *name)
{
	size_t len = strcspn(name, "=");

	for (const struct option *o = longopts; o && o->name; o++)
		if (strlen(o->name) == len && !strncmp(o->name, name, len))
			return o;
	return NULL;
}

/* Some no_argument long option whose val is `val` begins with `name`
 * (up to '='): what getopt_long took `--name=VALUE` for. */
static bool long_noarg_prefix(const struct option *longopts, const char *name, int val)
{
	size_t len = strcspn(name, "=");

	for (const struct option *o = longopts; o && o->name; o++)
		if (o->has_arg == no_argument && o->val == val && !strncmp(o->name, name, len))
			return true;
	return false;
}

static bool is_long(const char *elem)
{
	return elem[0] == '-' && elem[1] == '-' && elem[2];
}

static int opt_fail(int c)
{
	/* what a user typed, on one line */
	for (char *p = opt_error; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return c;
}

int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts)
{
	const char *elem;
	int idx = -1, c;

	opt_error[0] = '\0';
	c = getopt_long(argc, argv, shortopts, longopts, &idx);
	if (c == -1)
		return c;
	if (c != '?' && c != ':') {
		if (idx < 0)
			return c;
		/* `--name VALUE`: optarg is the element after the flag's own */
		if (longopts[idx].has_arg != no_argument && optind >= 2 && optarg == argv[optind - 1])
			elem = argv[optind - 2];
		else
			elem = argv[optind - 1];
		if (is_long(elem) && long_exact(longopts, elem + 2) == &longopts[idx])
			return c;
		/* getopt_long took an abbreviation: a flag added later would
		 * change what this command line means */
		snprintf(opt_error, sizeof(opt_error), "unknown flag `%.*s`", (int)strcspn(elem, "="), elem);
		return opt_fail('?');
	}
	/* Both errors below advanced optind past the element of a long flag. */
	elem = optind >= 1 && optind <= argc ? argv[optind - 1] : "";
	if (c == ':') {
		if (!is_long(elem)) {
			snprintf(opt_error, sizeof(opt_error), "flag `-%c` needs a value", optopt);
		} else if (long_exact(longopts, elem + 2)) {
			snprintf(opt_error, sizeof(opt_error), "flag `%s` needs a value", elem);
		} else {
			snprintf(opt_error, sizeof(opt_error), "unknown flag `%s`", elem);
			c = '?';
		}
		return opt_fail(c);
	}
	/* '?': an unknown or ambiguous long flag (optopt 0), a long flag given
	 * a value it does not take (`--all=1`), or an unknown short flag */
	if (optopt == 0 || (is_long(elem) && strchr(elem, '=') &&
			    long_noarg_prefix(longopts, elem + 2, optopt))) {
		if (optopt && long_exact(longopts, elem + 2))
			snprintf(opt_error, sizeof(opt_error), "flag `%.*s` takes no value",
				 (int)strcspn(elem, "="), elem);
		else
			snprintf(opt_error, sizeof(opt_error), "unknown flag `%.*s`", (int)strcspn(elem, "="), elem);
	} else {
		snprintf(opt_error, sizeof(opt_error), "unknown flag `-%c`", optopt);
	}
	return opt_fail('?');
}

int cli_fail(const struct nerr *err)
{
	fprintf(stderr, "nucleus: %s\n", err->msg[0] ? err->msg : "unknown error");
	return EXIT_RUNTIME;
}

int cli_usage_error(const char *verb, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "nucleus: %s: %s (see 'nucleus %s --help')\n", verb, msg, verb);
	return EXIT_RUNTIME;
}

int cli_subcommands(const char *verb, const char *help, const struct cli_subcommand *subs, int argc, char **argv)
{
	char names[256] = "";

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(help, argc < 2 ? stderr : stdout);
		return argc < 2 ? EXIT_RUNTIME : 0;
	}
	for (const struct cli_subcommand *s = subs; s->name; s++) {
		if (!strcmp(argv[1], s->name))
			return s->fn(argc - 1, argv + 1);
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", s == subs ? "" : ", ", s->name);
	}
	return cli_usage_error(verb, "unknown command `%s` (%s)", argv[1], names);
}

int cmd_version(int argc, char **argv)
{
	const struct scmp_version *sv = seccomp_version();

	(void)argc;
	(void)argv;
	printf("nucleus version %s\n", NUCLEUS_VERSION);
	printf("commit: %s\n", NUCLEUS_COMMIT);
	printf("libbpf: %u.%u\n", libbpf_major_version(), libbpf_minor_version());
	printf("libseccomp: %u.%u.%u\n", sv->major, sv->minor, sv->micro);
	printf("+SECCOMP +LANDLOCK +CGROUPV1 +CGROUPV2 +BPF +USERNS\n");
	return 0;
}

int cli_lookup(const char *query, struct container_state *st)
{
	struct nerr err = { 0 };
	char id[33];

	if (state_lookup(query, id, &err) < 0 || state_read(id, st, &err) < 0) {
		fprintf(stderr, "nucleus: %s\n", err.msg);
		/* state nucleus refuses to trust: nothing the verb could do
		 * with it would be right */
		if (trust_refused(&err))
			exit(EXIT_RUNTIME);
		return -1;
	}
	return 0;
}

void human_duration(uint64_t ns, char *buf, size_t len)
{
	uint64_t s = ns / 1000000000ull;

	if (s < 1)
		snprintf(buf, len, "Less than a second");
	else if (s < 60)
		snprintf(buf, len, "%llu second%s", (unsigned long long)s, s == 1 ? "" : "s");
	else if (s < 120)
		snprintf(buf, len, "About a minute");
	else if (s < 3600)
		snprintf(buf, len, "%llu minutes", (unsigned long long)(s / 60));
	else if (s < 7200)
		snprintf(buf, len, "About an hour");
	else if (s < 48 * 3600)
		snprintf(buf, len, "%llu hours", (unsigned long long)(s / 3600));
	else
		snprintf(buf, len, "%llu days", (unsigned long long)(s / 86400));
}
