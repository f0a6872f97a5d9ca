/* nucleus bundle: the OCI bundle of a `nucleus run` command line, written
 * without running it (src/oci). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <nucleus/cli.h>
#include <nucleus/oci.h>

static const char bundle_help[] =
	"Usage: nucleus bundle [OPTIONS] -o DIR [--] COMMAND [ARG...]\n"
	"\n"
	"Write the OCI runtime bundle (DIR/config.json, DIR/rootfs, the context's copy\n"
	"and the secrets) of the container `nucleus run` would start with the same\n"
	"options, without running it: for review, for runc, crun or runsc\n"
	"(`runc run --bundle DIR ID`). DIR is created 0700, or must be empty.\n"
	"What a bundle cannot express (--seccomp-mode trace, --landlock-policy, the\n"
	"attestation and context checks, --sd-notify=container, :U volumes) is refused.\n"
	"\n"
	"Options:\n"
	"  -o, --output DIR               Where to write the bundle (required)\n"
	"  -h, --help                     Show this help\n"
	"  and every option of 'nucleus run' (see 'nucleus run --help')\n";

static int usage(const char *msg)
{
	fprintf(stderr, "nucleus: bundle: %s (see 'nucleus bundle --help')\n", msg);
	return EXIT_RUNTIME;
}

int cmd_bundle(int argc, char **argv)
{
	struct container_config cfg;
	struct oci_bundle_opts opts = { 0 };
	struct nerr err = { 0 };
	_cleanup_free_ char **run_argv = xcalloc((size_t)argc + 1, sizeof(char *));
	const char *out = NULL;
	int n = 0, i = 1, r;

	/* -o comes out, the rest is run's: a word after a flag that takes a
	 * value is that value (`-e -o` sets a variable named -o) */
	run_argv[n++] = argv[0];
	while (i < argc) {
		const char *a = argv[i];

		if (!strcmp(a, "--") || a[0] != '-' || !a[1])
			break;
		if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
			if (i + 1 >= argc)
				return usage("flag `-o` needs a value");
			out = argv[i + 1];
			i += 2;
			continue;
		}
		if (str_has_prefix(a, "--output=") || (a[1] == 'o' && a[2])) {
			out = a[1] == 'o' ? a + 2 : a + strlen("--output=");
			i++;
			continue;
		}
		run_argv[n++] = argv[i++];
		if (run_flag_takes_value(a) && i < argc)
			run_argv[n++] = argv[i++];
	}
	while (i < argc)
		run_argv[n++] = argv[i++];

	container_config_init(&cfg);
	r = run_parse_args(n, run_argv, &cfg, &err);
	if (r == 1) {
		fputs(bundle_help, stdout);
		container_config_free(&cfg);
		return 0;
	}
	if (r < 0) {
		container_config_free(&cfg);
		return usage(err.msg);
	}
	if (!out || !out[0]) {
		container_config_free(&cfg);
		return usage("-o DIR is required");
	}
	if (container_config_load_policies(&cfg, &err) < 0 ||
	    (random_id(cfg.id) < 0 && nerr_set(&err, errno, "getrandom") < 0)) {
		container_config_free(&cfg);
		return cli_fail(&err);
	}
	opts.runtime = cfg.rt.kind;
	r = oci_bundle_write(&cfg, out, &opts, &err);
	container_config_free(&cfg);
	if (r < 0)
		return cli_fail(&err);
	printf("%s\n", out);
	return 0;
}
