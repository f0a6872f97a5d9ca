/* nucleus rootfs attest | verify */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <string.h>
#include <nucleus/attest.h>
#include <nucleus/cli.h>

static const char rootfs_help[] =
	"Usage: nucleus rootfs COMMAND\n"
	"\n"
	"Commands:\n"
	"  attest     Write the manifest of a rootfs (" ATTEST_MANIFEST ")\n"
	"  verify     Check a rootfs against its manifest, both ways\n"
	"\n"
	"The manifest lists every regular file (\"<sha256>  <path>\") and symlink\n"
	"(\"-><target>  <path>\"), sorted; with a " ATTEST_STORE_PATHS " list, the files\n"
	"of those /nix/store paths too. Pin it with --rootfs-attestation-sha256: it sits\n"
	"inside the tree it attests. See docs/attestation.md.\n"
	"Run 'nucleus rootfs COMMAND --help' for the options of a command.\n";

static const char attest_help[] =
	"Usage: nucleus rootfs attest [OPTIONS] DIR\n"
	"\n"
	"Hash every regular file and record every symlink of DIR (and of the store paths\n"
	"its " ATTEST_STORE_PATHS " lists) into the manifest, written atomically;\n"
	"prints \"<sha256 of the manifest>  <manifest>\", the value to pin.\n"
	"\n"
	"Options:\n"
	"  -o, --output FILE   Write the manifest to FILE (default: DIR/" ATTEST_MANIFEST ";\n"
	"                      a read-only store path needs -o)\n"
	"      --store DIR     Where the listed /nix/store paths are (default: /nix/store)\n"
	"  -h, --help          Show this help\n";

static const char verify_help[] =
	"Usage: nucleus rootfs verify [OPTIONS] DIR\n"
	"\n"
	"Check DIR against its manifest: every file, symlink and listed store path present\n"
	"and unchanged, and nothing more. Exit 0 when it matches, 1 with the first\n"
	"difference when not, 125 when it cannot be checked.\n"
	"\n"
	"Options:\n"
	"      --manifest FILE   The manifest (default: DIR/" ATTEST_MANIFEST ")\n"
	"      --sha256 HEX      Refuse a manifest whose sha256 is not HEX\n"
	"      --store DIR       Where the listed /nix/store paths are (default: /nix/store)\n"
	"  -h, --help            Show this help\n";

static int open_dir(const char *verb, const char *path, int *fd)
{
	*fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0) {
		fprintf(stderr, "nucleus: rootfs %s: open `%s`: %s\n", verb, path, strerror(errno));
		return -1;
	}
	return 0;
}

/* The store fd when the tree has a store paths list, else -1. verify
 * leaves a list it cannot read to attest_verify, which checks it against
 * the manifest first (a tampered list is a difference, not an error). */
static int open_store(const char *verb, int dirfd, const char *store, int *store_fd)
{
	_cleanup_strv_ char **paths = NULL;
	struct nerr err = { 0 };
	bool verify = !strcmp(verb, "verify");

	*store_fd = -1;
	if (attest_store_paths_read(dirfd, &paths, &err) < 0) {
		if (verify)
			return open_dir(verb, store, store_fd);
		fprintf(stderr, "nucleus: rootfs %s: %s\n", verb, err.msg);
		return -1;
	}
	if (!paths || !paths[0])
		return 0;
	return open_dir(verb, store, store_fd);
}

static int attest_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' }, { "store", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	struct attest_manifest m = { 0 };
	struct nerr err = { 0 };
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int dirfd = -1, store_fd = -1;
	const char *output = NULL, *store = ATTEST_STORE_DIR;
	char sum[65];
	int c, r;

	optind = 0;
	opterr = 0;
	while ((c = cli_getopt(argc, argv, ":o:h", opts)) != -1) {
		switch (c) {
		case 'o': output = optarg; break;
		case 's': store = optarg; break;
		case 'h': fputs(attest_help, stdout); return 0;
		default: return cli_usage_error("rootfs attest", "%s", cli_opterror());
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error("rootfs attest", "give exactly one directory");
	if (open_dir("attest", argv[optind], &dirfd) < 0 || open_store("attest", dirfd, store, &store_fd) < 0)
		return EXIT_RUNTIME;
	if (attest_build(dirfd, store_fd, &m, &err) < 0) {
		fprintf(stderr, "nucleus: rootfs attest `%s`: %s\n", argv[optind], err.msg);
		return EXIT_RUNTIME;
	}
	text = attest_manifest_format(&m);
	attest_manifest_free(&m);
	r = output ? write_file_atomic(output, text, strlen(text), 0644)
		   : write_file_atomic_at(dirfd, ATTEST_MANIFEST, text, strlen(text), 0644);
	if (r < 0) {
		fprintf(stderr, "nucleus: rootfs attest: write `%s%s%s`: %s%s\n", output ? output : argv[optind],
			output ? "" : "/", output ? "" : ATTEST_MANIFEST, strerror(-r),
			r == -EROFS && !output ? " (give -o FILE)" : "");
		return EXIT_RUNTIME;
	}
	sha256_hex(text, strlen(text), sum);
	if (output)
		printf("%s  %s\n", sum, output);
	else
		printf("%s  %s/%s\n", sum, argv[optind], ATTEST_MANIFEST);
	return 0;
}

static int verify_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "manifest", required_argument, NULL, 'm' }, { "sha256", required_argument, NULL, 'S' },
		{ "store", required_argument, NULL, 's' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct attest_manifest m = { 0 };
	struct nerr err = { 0 };
	_cleanup_close_ int dirfd = -1, store_fd = -1;
	const char *manifest = NULL, *pin = NULL, *store = ATTEST_STORE_DIR;
	int c, r;

	optind = 0;
	opterr = 0;
	while ((c = cli_getopt(argc, argv, ":h", opts)) != -1) {
		switch (c) {
		case 'm': manifest = optarg; break;
		case 'S': pin = optarg; break;
		case 's': store = optarg; break;
		case 'h': fputs(verify_help, stdout); return 0;
		default: return cli_usage_error("rootfs verify", "%s", cli_opterror());
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error("rootfs verify", "give exactly one directory");
	if (pin && (strlen(pin) != 64 || !is_hex_string(pin, 64)))
		return cli_usage_error("rootfs verify", "--sha256 takes 64 hex digits, not `%s`", pin);
	if (open_dir("verify", argv[optind], &dirfd) < 0)
		return EXIT_RUNTIME;
	if (manifest) {
		_cleanup_free_ char *text = NULL;
		size_t len = 0;

		if ((r = read_file(manifest, ATTEST_MANIFEST_MAX, &text, &len)) < 0) {
			fprintf(stderr, "nucleus: rootfs verify: read `%s`: %s\n", manifest, strerror(-r));
			return EXIT_RUNTIME;
		}
		r = attest_manifest_load(text, len, pin, &m, &err);
	} else {
		r = attest_manifest_read(dirfd, pin, &m, &err);
	}
	if (r < 0) {
		fprintf(stderr, "nucleus: rootfs attestation: %s\n", err.msg);
		return r == -ATTEST_DIFFERS ? 1 : EXIT_RUNTIME;
	}
	if (open_store("verify", dirfd, store, &store_fd) < 0) {
		attest_manifest_free(&m);
		return EXIT_RUNTIME;
	}
	r = attest_verify(dirfd, store_fd, &m, &err);
	if (r < 0) {
		attest_manifest_free(&m);
		fprintf(stderr, "nucleus: rootfs attestation: %s\n", err.msg);
		return r == -ATTEST_DIFFERS ? 1 : EXIT_RUNTIME;
	}
	printf("%s: matches its manifest (%zu entries)\n", argv[optind], m.n);
	attest_manifest_free(&m);
	return 0;
}

int cmd_rootfs(int argc, char **argv)
{
	static const struct cli_subcommand subs[] = { { "attest", attest_cmd }, { "verify", verify_cmd }, { NULL, NULL } };

	return cli_subcommands("rootfs", rootfs_help, subs, argc, argv);
}
