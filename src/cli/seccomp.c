/* nucleus seccomp trace | generate */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <jansson.h>
#include <nucleus/cli.h>
#include <nucleus/container.h>
#include <nucleus/resources.h>
#include <nucleus/security.h>

static const char seccomp_help[] =
	"Usage: nucleus seccomp COMMAND\n"
	"\n"
	"Commands:\n"
	"  trace      Record every syscall a running container makes, as NDJSON\n"
	"  generate   Merge traces into a minimal OCI seccomp profile\n"
	"  default    Print the built-in profile as OCI JSON\n"
	"  hash       Print the SHA-256 of the filter a profile compiles to\n"
	"\n"
	"The workflow: record (nucleus run --seccomp-mode trace --seccomp-log t.ndjson, or\n"
	"nucleus seccomp trace), generate, review, pin its SHA-256, enforce with\n"
	"--seccomp-profile FILE --seccomp-profile-sha256 HEX. See docs/seccomp.md.\n"
	"Run 'nucleus seccomp COMMAND --help' for the options of a command.\n";

static const char trace_help[] =
	"Usage: nucleus seccomp trace [OPTIONS] CONTAINER\n"
	"\n"
	"Record every syscall a running container makes, from now until Ctrl-C or its\n"
	"exit, and write them as NDJSON (one line per syscall, with counts).\n"
	"\n"
	"Options:\n"
	"  -o, --output FILE   Write the trace to FILE (default: stdout)\n"
	"  -f, --follow        Also print each syscall as it happens\n"
	"  -h, --help          Show this help\n";

static const char generate_help[] =
	"Usage: nucleus seccomp generate [OPTIONS] TRACE...\n"
	"\n"
	"Merge traces into a minimal OCI seccomp profile for --seccomp-profile. It never\n"
	"allows what the built-in default profile forbids (argument rules included):\n"
	"recorded calls the default denies stay denied and are listed on stderr.\n"
	"\n"
	"Options:\n"
	"  -o, --output FILE             Write the profile to FILE (default: stdout)\n"
	"      --base PROFILE            Never allow what PROFILE denies either, and keep its\n"
	"                                argument rules (resolved as for a container\n"
	"                                without capabilities)\n"
	"      --allow-syscall NAME      Allow NAME whatever the trace and the profiles say\n"
	"                                (repeatable); reported on stderr\n"
	"      --default-action ACTION   errno (default) or kill\n"
	"  -h, --help                    Show this help\n";

static const char default_help[] =
	"Usage: nucleus seccomp default [OPTIONS]\n"
	"\n"
	"Print the built-in profile (what runs without --seccomp-profile) as OCI JSON.\n"
	"\n"
	"Options:\n"
	"  -o, --output FILE   Write the profile to FILE (default: stdout)\n"
	"  -h, --help          Show this help\n";

static const char hash_help[] =
	"Usage: nucleus seccomp hash [OPTIONS] [PROFILE]\n"
	"\n"
	"Compile PROFILE (OCI/Docker JSON; default: the built-in profile) without the\n"
	"cache and print the SHA-256 of the instructions the kernel would get, as the\n"
	"audit's seccomp event shows them (filter_sha256): \"HASH  PROFILE\". A JSON\n"
	"profile is resolved as for a container without capabilities (the default).\n"
	"\n"
	"Options:\n"
	"      --log-denied   The filter of a run with --seccomp-log-denied\n"
	"  -h, --help         Show this help\n";

static void print_live(const struct sc_trace_entry *e, void *arg)
{
	(void)arg;
	printf("%-7s %-24s (pid %u %s)\n", sc_trace_abi_name(e->abi), e->name, e->pid, e->comm);
	fflush(stdout);
}

static int trace_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' }, { "follow", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	struct container_state st = { 0 };
	struct cgroup_host host;
	struct cgroup cg;
	struct sc_trace *t = NULL;
	struct sc_trace_entry *e = NULL;
	struct sc_trace_stats stats;
	struct nerr err = { 0 };
	const char *output = NULL;
	bool follow = false;
	sigset_t mask;
	FILE *out = stdout;
	size_t n = 0;
	int c, sfd = -1, pidfd = -1, ep = -1, status = EXIT_RUNTIME;

	optind = 0;
	opterr = 0;
	while ((c = cli_getopt(argc, argv, ":o:fh", opts)) != -1) {
		switch (c) {
		case 'o': output = optarg; break;
		case 'f': follow = true; break;
		case 'h': fputs(trace_help, stdout); return 0;
		case ':': return cli_usage_error("seccomp trace", "%s", cli_opterror());
		default: return cli_usage_error("seccomp trace", "%s", cli_opterror());
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error("seccomp trace", "give exactly one container");
	if (cli_lookup(argv[optind], &st) < 0)
		return EXIT_NO_CONTAINER;
	if (st.status != STATUS_RUNNING || !state_pid_alive(&st)) {
		fprintf(stderr, "nucleus: container %s is not running\n", st.cfg.name);
		container_state_free(&st);
		return 1;
	}
	if (output && !(out = fopen(output, "we"))) {
		fprintf(stderr, "nucleus: seccomp trace: open `%s`: %s\n", output, strerror(errno));
		container_state_free(&st);
		return EXIT_RUNTIME;
	}
	if (cgroup_host_detect(&host, &err) < 0 || cgroup_open(&cg, &host, st.cfg.id, &err) < 0 || cg.v2_fd < 0) {
		fprintf(stderr, "nucleus: seccomp trace: the container has no cgroup v2 directory: %s\n", err.msg);
		goto done;
	}
	pidfd = (int)syscall(SYS_pidfd_open, st.pid, 0);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sc_trace_start(cg.id, cgroup_v2_level(&host), false, 0, &t, &err) < 0) {
		fprintf(stderr, "nucleus: seccomp trace: %s\n", err.msg);
		goto done;
	}
	fprintf(stderr, "nucleus: tracing %s; Ctrl-C to stop\n", st.cfg.name);
	ep = epoll_create1(EPOLL_CLOEXEC);
	{
		int fds[] = { sfd, pidfd, sc_trace_events_fd(t) };
		for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
			struct epoll_event ev = { .events = EPOLLIN, .data.fd = fds[i] };
			if (fds[i] >= 0)
				epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
		}
	}
	for (bool stop = false; !stop;) {
		struct epoll_event evs[4];
		int k = epoll_wait(ep, evs, 4, -1);

		if (k < 0 && errno != EINTR)
			break;
		for (int i = 0; i < k; i++) {
			if (evs[i].data.fd == sfd || evs[i].data.fd == pidfd)
				stop = true;
			else
				sc_trace_drain(t, follow ? print_live : NULL, NULL);
		}
	}
	sc_trace_drain(t, follow ? print_live : NULL, NULL);
	if (sc_trace_collect(t, &e, &n, &stats, &err) < 0) {
		fprintf(stderr, "nucleus: seccomp trace: %s\n", err.msg);
		goto done;
	}
	if (follow && out == stdout)
		printf("\n");
	sc_trace_write_ndjson(e, n, out);
	fprintf(stderr, "nucleus: %zu syscalls recorded%s%s\n", n, output ? " in " : "", output ? output : "");
	if (stats.events_lost)
		fprintf(stderr, "nucleus: %llu live events lost (ring buffer full); the recorded set is complete\n",
			(unsigned long long)stats.events_lost);
	status = 0;
done:
	sc_trace_entries_free(e, n);
	sc_trace_stop(t);
	if (out && out != stdout)
		fclose(out);
	if (ep >= 0)
		close(ep);
	if (sfd >= 0)
		close(sfd);
	if (pidfd >= 0)
		close(pidfd);
	container_state_free(&st);
	return status;
}

/* "nucleus: warning: 2 recorded syscalls denied by ...: a, b" */
static void warn_names(const char *noun, const char *what, char **names)
{
	size_t n = strv_len(names);

	if (!n)
		return;
	fprintf(stderr, "nucleus: warning: %zu %s%s %s:", n, noun, n == 1 ? "" : "s", what);
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, "%s %s", i ? "," : "", names[i]);
	fputc('\n', stderr);
}

static int generate_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' }, { "base", required_argument, NULL, 'b' },
		{ "default-action", required_argument, NULL, 'a' },
		{ "allow-syscall", required_argument, NULL, 's' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sc_trace_set *set = xcalloc(1, sizeof(*set));
	struct sc_generate_opts gen = { 0 };
	struct sc_generate_report rep = { 0 };
	struct nerr err = { 0 };
	const char *output = NULL, *base = NULL;
	json_t *prof = NULL;
	struct sc_profile base_prof = { 0 };
	bool have_base = false;
	char **allow = NULL;
	int c, status = EXIT_RUNTIME;

	optind = 0;
	opterr = 0;
	while ((c = cli_getopt(argc, argv, ":o:h", opts)) != -1) {
		switch (c) {
		case 'o': output = optarg; break;
		case 'b': base = optarg; break;
		case 's':
			if (!strv_contains(allow, optarg))
				strv_push(&allow, optarg);
			break;
		case 'a':
			if (!strcmp(optarg, "kill"))
				gen.kill_default = true;
			else if (strcmp(optarg, "errno")) {
				status = cli_usage_error("seccomp generate", "--default-action must be errno or kill");
				goto done;
			}
			break;
		case 'h': fputs(generate_help, stdout); status = 0; goto done;
		default: status = cli_usage_error("seccomp generate", "%s", cli_opterror()); goto done;
		}
	}
	if (optind >= argc) {
		status = cli_usage_error("seccomp generate", "give at least one trace");
		goto done;
	}
	for (int i = optind; i < argc; i++)
		if (sc_trace_read_ndjson(argv[i], set, &err) < 0) {
			fprintf(stderr, "nucleus: %s\n", err.msg);
			goto done;
		}
	if (base) {
		/* resolved as for a container without capabilities (the default) */
		struct sc_context ctx = { .bounding = 0 };

		if (sc_profile_load_oci_file(base, &ctx, &base_prof, &err) < 0) {
			fprintf(stderr, "nucleus: %s\n", err.msg);
			goto done;
		}
		have_base = true;
	}
	gen.base = have_base ? &base_prof : NULL;
	gen.allow = allow;
	if (sc_generate(set, &gen, &prof, &rep, &err) < 0) {
		fprintf(stderr, "nucleus: %s\n", err.msg);
		goto done;
	}
	warn_names("recorded syscall", "denied by the built-in default profile, left denied "
		   "(--allow-syscall NAME allows one)", rep.denied_default);
	warn_names("recorded syscall", "denied by the base profile, left denied", rep.denied_base);
	warn_names("recorded syscall", "denied by the base profile and the built-in default, left denied",
		   rep.denied_both);
	warn_names("recorded syscall", "with argument rules in the base profile and the built-in default "
		   "that cannot be combined, left denied", rep.denied_combined);
	warn_names("syscall", have_base ? "allowed beyond the built-in default and the base profile "
					  "(--allow-syscall)"
					: "allowed beyond the built-in default profile (--allow-syscall)",
		   rep.allowed_extra);
	for (unsigned abi = 1; abi < SC_TRACE_ABIS; abi++)
		if (rep.foreign_abis & (1u << abi))
			fprintf(stderr, "nucleus: warning: the traces used the %s ABI: the profile allows the "
					"same calls through it (the built-in default refuses every call of "
					"that ABI)\n", sc_trace_abi_name(abi));
	if (rep.clone_for_clone3)
		fprintf(stderr, "nucleus: clone3 fails with ENOSYS as in the built-in default; clone, which "
				"libc falls back to, is allowed under the default's flag rule\n");
	if (output ? json_dump_file(prof, output, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0
		   : json_dumpf(prof, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0) {
		fprintf(stderr, "nucleus: write `%s`: %s\n", output ? output : "stdout", strerror(errno));
		goto done;
	}
	if (!output)
		putchar('\n');
	status = 0;
done:
	json_decref(prof);
	if (have_base)
		sc_profile_free(&base_prof);
	sc_generate_report_free(&rep);
	strv_free(allow);
	free(set);
	return status;
}

/* The built-in profile as an OCI profile: to review, or to start from. */
static int default_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sc_profile p;
	struct nerr err = { 0 };
	const char *output = NULL;
	json_t *j;
	int c, r;

	optind = 0;
	opterr = 0;
	while ((c = cli_getopt(argc, argv, ":o:h", opts)) != -1) {
		switch (c) {
		case 'o': output = optarg; break;
		case 'h': fputs(default_help, stdout); return 0;
		case ':': return cli_usage_error("seccomp default", "%s", cli_opterror());
		default: return cli_usage_error("seccomp default", "%s", cli_opterror());
		}
	}
	if (optind != argc)
		return cli_usage_error("seccomp default", "takes no arguments");
	if (sc_profile_builtin_default(&p, &err) < 0) {
		fprintf(stderr, "nucleus: %s\n", err.msg);
		return EXIT_RUNTIME;
	}
	j = sc_profile_to_oci(&p);
	sc_profile_free(&p);
	r = output ? json_dump_file(j, output, JSON_INDENT(2) | JSON_PRESERVE_ORDER)
		   : json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (r < 0) {
		fprintf(stderr, "nucleus: write `%s`: %s\n", output ? output : "stdout", strerror(errno));
		return EXIT_RUNTIME;
	}
	if (!output)
		putchar('\n');
	return 0;
}

/* The hash of what a start installs, computed here without the cache, to
 * compare with the audit's filter_sha256. */
static int hash_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "log-denied", no_argument, NULL, 'l' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sc_context ctx = { .bounding = 0 };
	struct sc_program prog;
	struct nerr err = { 0 };
	unsigned flags = SC_PREPARE_NO_CACHE;
	const char *profile;
	int c, r;

	optind = 0;
	opterr = 0;
	while ((c = cli_getopt(argc, argv, ":h", opts)) != -1) {
		switch (c) {
		case 'l': flags |= SC_FLAG_NOTIFY_DENIED; break;
		case 'h': fputs(hash_help, stdout); return 0;
		default: return cli_usage_error("seccomp hash", "%s", cli_opterror());
		}
	}
	if (argc - optind > 1)
		return cli_usage_error("seccomp hash", "give at most one profile");
	profile = optind < argc ? argv[optind] : NULL;
	r = profile ? sc_program_prepare_file(profile, &ctx, flags, &prog, NULL, &err)
		    : sc_program_prepare_builtin(flags, &prog, &err);
	if (r < 0) {
		fprintf(stderr, "nucleus: %s\n", err.msg);
		return EXIT_RUNTIME;
	}
	printf("%s  %s\n", prog.sha256, profile ? profile : "builtin-default");
	sc_program_free(&prog);
	return 0;
}

int cmd_seccomp(int argc, char **argv)
{
	static const struct cli_subcommand subs[] = {
		{ "trace", trace_cmd }, { "generate", generate_cmd }, { "default", default_cmd }, { "hash", hash_cmd },
		{ NULL, NULL },
	};

	return cli_subcommands("seccomp", seccomp_help, subs, argc, argv);
}
