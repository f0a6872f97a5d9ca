/* Shared by the verbs: error printing, version. */
#include <stdarg.h>
#include <string.h>
#include <seccomp.h>
#include <bpf/libbpf.h>
#include <nucleus/cli.h>

#ifndef NUCLEUS_COMMIT
#define NUCLEUS_COMMIT "unknown"
#endif

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
