/* Shared by the verbs: error printing, version. */
#include <stdarg.h>
#include <string.h>
#include <seccomp.h>
#include <bpf/libbpf.h>
#include <nucleus/cli.h>
#include <nucleus/container.h>

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

int cli_lookup(const char *query, struct container_state *st)
{
	struct nerr err = { 0 };
	char id[33];

	if (state_lookup(query, id, &err) < 0 || state_read(id, st, &err) < 0) {
		fprintf(stderr, "nucleus: %s\n", err.msg);
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
