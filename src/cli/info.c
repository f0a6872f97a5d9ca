/* nucleus info: what the kernel really supports, probed by trying, and what
 * nucleus enforces with it. */
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <string.h>
#include <sys/utsname.h>
#include <jansson.h>
#include <nucleus/checkpoint.h>
#include <nucleus/cli.h>
#include <nucleus/container.h>
#include <nucleus/ebpf.h>
#include <nucleus/isolation.h>
#include <nucleus/oci.h>
#include <nucleus/resources.h>
#include <nucleus/security.h>

static const char info_help[] =
	"Usage: nucleus info [--json]\n"
	"\n"
	"Show the kernel, the cgroup layout, namespaces, Landlock, seccomp, the BPF\n"
	"program types that load, ring buffers, LSMs and lockdown, probed by trying.\n"
	"\n"
	"Options:\n"
	"      --json   Print JSON\n"
	"  -h, --help   Show this help\n";

static const struct { uint64_t flag; const char *name; } ns_names[] = {
	{ CLONE_NEWPID, "pid" }, { CLONE_NEWNS, "mount" }, { CLONE_NEWNET, "net" },
	{ CLONE_NEWUTS, "uts" }, { CLONE_NEWIPC, "ipc" }, { CLONE_NEWCGROUP, "cgroup" },
	{ CLONE_NEWUSER, "user" }, { CLONE_NEWTIME, "time" },
};

struct facts {
	struct utsname uts;
	struct cgroup_host cg;
	uint64_t ns;
	bool userns_unpriv;
	long max_userns;
	int landlock_abi;
	struct seccomp_caps sc;
	struct bpf_features bpf;
	struct host_security hs;
	/* --runtime gvisor: runsc (NULL: not found), its platforms and
	 * default, or why they could not be read */
	char *runsc;
	char **platforms;
	char *platform_default;
	struct nerr runsc_err;
	/* checkpoint/restore: criu's path, version and `criu check` */
	struct criu_info criu;
};

static void gather(struct facts *f)
{
	struct nerr err = { 0 };
	_cleanup_free_ char *buf = NULL;

	uname(&f->uts);
	cgroup_host_detect(&f->cg, &err);
	f->ns = ns_probe();
	f->userns_unpriv = userns_unprivileged();
	f->max_userns = -1;
	if (read_file("/proc/sys/user/max_user_namespaces", 64, &buf, NULL) == 0)
		f->max_userns = strtol(buf, NULL, 10);
	f->landlock_abi = landlock_abi();
	seccomp_probe(&f->sc);
	bpf_probe_features(&f->bpf, &err);
	host_security_read(&f->hs);
	if ((f->runsc = find_program("runsc")))
		runsc_platforms(f->runsc, &f->platforms, &f->platform_default, &f->runsc_err);
	/* `criu check` needs root; as another user it is not run */
	criu_probe(&f->criu, geteuid() == 0);
}

static void facts_free(struct facts *f)
{
	criu_info_free(&f->criu);
	free(f->runsc);
	strv_free(f->platforms);
	free(f->platform_default);
}

static const char *audit_source(const struct facts *f, char *why, size_t len)
{
	int lsm = bpf_features_err(&f->bpf, "lsm");

	if (lsm == 0 && strstr(f->hs.lsm, "bpf")) {
		snprintf(why, len, "BPF-LSM loads and `bpf` is an active LSM");
		return "lsm";
	}
	if (lsm)
		snprintf(why, len, "BPF-LSM programs are refused at load: %s", strerror(lsm));
	else
		snprintf(why, len, "`bpf` is not in the active LSM list (boot with lsm=...,bpf)");
	return "tracepoint";
}

static json_t *to_json(const struct facts *f)
{
	json_t *o = json_object(), *cg = json_object(), *v1 = json_object(), *ns = json_array();
	json_t *ll = json_object(), *sc = json_object(), *acts = json_array(), *flg = json_array();
	json_t *bpf = json_object(), *progs = json_object(), *aud = json_object();
	char names[512], why[256];

	json_object_set_new(o, "version", json_string(NUCLEUS_VERSION));
	json_object_set_new(o, "kernel", json_string(f->uts.release));
	json_object_set_new(o, "arch", json_string(f->uts.machine));

	json_object_set_new(cg, "layout", json_string(cgroup_layout_name(f->cg.layout)));
	json_object_set_new(cg, "v2", f->cg.v2_mount[0] ? json_string(f->cg.v2_mount) : json_null());
	for (size_t i = 0; i < f->cg.nv1; i++)
		json_object_set_new(v1, f->cg.v1[i].options, json_string(f->cg.v1[i].mount));
	json_object_set_new(cg, "v1", v1);
	json_object_set_new(o, "cgroups", cg);

	for (size_t i = 0; i < ARRAY_SIZE(ns_names); i++)
		if (f->ns & ns_names[i].flag)
			json_array_append_new(ns, json_string(ns_names[i].name));
	json_object_set_new(o, "namespaces", ns);
	json_object_set_new(o, "user_namespaces", json_pack("{s:b,s:b,s:I}",
		"available", (f->ns & CLONE_NEWUSER) != 0, "unprivileged", f->userns_unpriv,
		"max", (json_int_t)f->max_userns));

	json_object_set_new(ll, "abi", json_integer(f->landlock_abi));
	landlock_access_names(landlock_fs_handled(f->landlock_abi), names, sizeof(names));
	json_object_set_new(ll, "enforced_fs_access", json_string(names));
	json_object_set_new(ll, "network_rules", json_boolean(f->landlock_abi >= 4));
	json_object_set_new(ll, "scopes", json_boolean(f->landlock_abi >= 6));
	json_object_set_new(o, "landlock", ll);

	for (size_t i = 0; seccomp_action_names[i]; i++)
		if (f->sc.actions & (1u << i))
			json_array_append_new(acts, json_string(seccomp_action_names[i]));
	for (size_t i = 0; seccomp_flag_names[i]; i++)
		if (f->sc.flags & (1u << i))
			json_array_append_new(flg, json_string(seccomp_flag_names[i]));
	json_object_set_new(sc, "available", json_boolean(f->sc.available));
	json_object_set_new(sc, "actions", acts);
	json_object_set_new(sc, "flags", flg);
	json_object_set_new(sc, "cache", json_string(sc_cache_dir()));
	json_object_set_new(o, "seccomp", sc);

	for (size_t i = 0; i < f->bpf.nprogs; i++) {
		const struct bpf_prog_probe *p = &f->bpf.progs[i];
		json_object_set_new(progs, p->type, json_pack("{s:b,s:s,s:s?}", "loads", p->err == 0,
			"section", p->section, "error", p->err ? strerror(p->err) : NULL));
	}
	json_object_set_new(bpf, "programs", progs);
	json_object_set_new(bpf, "ringbuf", json_boolean(f->bpf.ringbuf_err == 0));
	json_object_set_new(bpf, "vmlinux_btf", json_boolean(f->bpf.vmlinux_btf));
	json_object_set_new(o, "bpf", bpf);

	json_object_set_new(o, "lsm", f->hs.lsm[0] ? json_string(f->hs.lsm) : json_null());
	json_object_set_new(o, "lockdown", f->hs.lockdown[0] ? json_string(f->hs.lockdown) : json_null());
	json_object_set_new(aud, "source", json_string(audit_source(f, why, sizeof(why))));
	json_object_set_new(aud, "reason", json_string(why));
	json_object_set_new(o, "audit", aud);
	json_object_set_new(o, "runtime_dir", json_string(runtime_dir()));
	if (f->runsc) {
		json_t *pl = json_array();

		for (size_t i = 0; f->platforms && f->platforms[i]; i++)
			json_array_append_new(pl, json_string(f->platforms[i]));
		json_object_set_new(o, "gvisor", json_pack("{s:s,s:o,s:s?,s:s?}", "runsc", f->runsc, "platforms", pl,
							     "default_platform", f->platform_default, "error",
							     f->runsc_err.msg[0] ? f->runsc_err.msg : NULL));
	} else {
		json_object_set_new(o, "gvisor", json_null());
	}
	if (f->criu.path)
		json_object_set_new(o, "criu", json_pack("{s:s,s:s,s:b,s:s?}", "path", f->criu.path, "version",
							  f->criu.version, "works", f->criu.works, "reason",
							  f->criu.works ? NULL : f->criu.reason));
	else
		json_object_set_new(o, "criu", json_null());
	return o;
}

static void print_text(const struct facts *f)
{
	char names[512], why[256];

	printf("Version:           %s\n", NUCLEUS_VERSION);
	printf("Kernel:            %s %s\n", f->uts.release, f->uts.machine);
	printf("Cgroups:           %s\n", cgroup_layout_name(f->cg.layout));
	if (f->cg.v2_mount[0])
		printf("  v2:              %s\n", f->cg.v2_mount);
	for (size_t i = 0; i < f->cg.nv1; i++)
		printf("  v1 %-14s %s\n", f->cg.v1[i].options, f->cg.v1[i].mount);
	printf("Namespaces:       ");
	for (size_t i = 0; i < ARRAY_SIZE(ns_names); i++)
		if (f->ns & ns_names[i].flag)
			printf(" %s", ns_names[i].name);
	printf("\n");
	printf("User namespaces:   %s (unprivileged: %s, max %ld)\n",
	       f->ns & CLONE_NEWUSER ? "yes" : "no", f->userns_unpriv ? "yes" : "no", f->max_userns);
	if (f->landlock_abi) {
		landlock_access_names(landlock_fs_handled(f->landlock_abi), names, sizeof(names));
		printf("Landlock:          ABI %d\n", f->landlock_abi);
		printf("  enforced:        %s\n", names);
		printf("  network rules:   %s\n", f->landlock_abi >= 4 ? "yes" : "no");
		printf("  scopes:          %s\n", f->landlock_abi >= 6 ? "yes" : "no");
	} else {
		printf("Landlock:          not available\n");
	}
	printf("Seccomp:           %s\n", f->sc.available ? "yes" : "no");
	printf("  actions:        ");
	for (size_t i = 0; seccomp_action_names[i]; i++)
		if (f->sc.actions & (1u << i))
			printf(" %s", seccomp_action_names[i]);
	printf("\n  flags:          ");
	for (size_t i = 0; seccomp_flag_names[i]; i++)
		if (f->sc.flags & (1u << i))
			printf(" %s", seccomp_flag_names[i]);
	printf("\n  cache:           %s\n", sc_cache_dir());
	printf("BPF programs:\n");
	for (size_t i = 0; i < f->bpf.nprogs; i++) {
		const struct bpf_prog_probe *p = &f->bpf.progs[i];
		if (p->err)
			printf("  %-17s no (%s)\n", p->type, strerror(p->err));
		else
			printf("  %-17s yes\n", p->type);
	}
	printf("Ring buffer:       %s\n", f->bpf.ringbuf_err ? strerror(f->bpf.ringbuf_err) : "yes");
	printf("BTF:               %s\n", f->bpf.vmlinux_btf ? "yes (/sys/kernel/btf/vmlinux)" : "no");
	printf("LSMs:              %s\n", f->hs.lsm[0] ? f->hs.lsm : "unknown");
	printf("Lockdown:          %s\n", f->hs.lockdown[0] ? f->hs.lockdown : "unknown");
	printf("Audit source:      %s (%s)\n", audit_source(f, why, sizeof(why)), why);
	printf("Runtime dir:       %s\n", runtime_dir());
	if (!f->runsc) {
		printf("gVisor:            no (runsc not in $PATH)\n");
	} else if (f->runsc_err.msg[0]) {
		printf("gVisor:            %s (%s)\n", f->runsc, f->runsc_err.msg);
	} else {
		_cleanup_free_ char *list = strv_join(f->platforms, ", ");

		printf("gVisor:            %s (platforms: %s; default %s)\n", f->runsc, list,
		       f->platform_default ? f->platform_default : "none marked");
	}
	/* nucleus checkpoint/restore */
	if (!f->criu.path)
		printf("CRIU:              no (criu not found)\n");
	else if (f->criu.works)
		printf("CRIU:              %s %s (criu check: ok)\n", f->criu.path, f->criu.version);
	else if (geteuid() != 0)
		printf("CRIU:              %s %s (criu check: needs root)\n", f->criu.path, f->criu.version);
	else
		printf("CRIU:              %s %s (criu check failed: %s)\n", f->criu.path, f->criu.version,
		       f->criu.reason);
}

int cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct facts f;
	bool json = false;
	int c;

	optind = 0;
	opterr = 0;
	while ((c = cli_getopt(argc, argv, "+h", opts)) != -1) {
		if (c == 'j')
			json = true;
		else if (c == 'h') {
			fputs(info_help, stdout);
			return 0;
		} else
			return cli_usage_error("info", "%s", cli_opterror());
	}
	if (optind < argc)
		return cli_usage_error("info", "unexpected argument `%s`", argv[optind]);
	memset(&f, 0, sizeof(f));
	gather(&f);
	if (json) {
		json_t *o = to_json(&f);
		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(o);
	} else {
		print_text(&f);
	}
	facts_free(&f);
	return 0;
}
