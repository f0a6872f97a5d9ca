/* The kernel source of audit events (bpf/audit.bpf.c): BPF-LSM where the
 * kernel runs it, tracepoints where it does not; loaded once, pinned, and
 * attached while at least one container is audited. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <jansson.h>
#include <nucleus/audit.h>
#include <nucleus/ebpf.h>
#include "audit.skel.h"
#include "audit.version.h"
#include "audit.h"

struct audit_kernel {
	uint64_t cgid;
	unsigned level;
	char *dir;
	bool lsm;
	char reason[160];
	int scopes_fd, stats_fd, events_fd, ring_fd;
	struct ring_buffer *ring;
	struct audit_log *log;        /* where drain writes; set per drain */
	uint64_t mono_to_real;        /* add to bpf_ktime_get_ns() for CLOCK_REALTIME */
};

static const char *const map_names[] = { "scopes", "stats", "events", NULL };
static const char *const lsm_progs[] = {
	"lsm_exec", "lsm_open", "lsm_connect", "lsm_ptrace", "lsm_ptrace_traceme", "lsm_mount", "lsm_bpf",
	"lsm_module_request", "lsm_module_load", "lsm_setuid", "lsm_setgid", NULL,
};
static const char *const tp_progs[] = { "tp_exec", "tp_syscall", NULL };

static int load_variant(unsigned level, bool lsm, struct audit_bpf **out)
{
	struct audit_bpf *skel = audit_bpf__open();
	struct bpf_program *p;

	*out = NULL;
	if (!skel)
		return -errno;
	skel->rodata->cgroup_level = level;
	bpf_object__for_each_program(p, skel->obj)
		bpf_program__set_autoload(p, str_has_prefix(bpf_program__name(p), lsm ? "lsm_" : "tp_"));
	int r = audit_bpf__load(skel);
	if (r < 0) {
		audit_bpf__destroy(skel);
		return r;
	}
	*out = skel;
	return 0;
}

/* The pinned set's directory names its source: ...-lsm or ...-tp-<why>. */
static int load(unsigned level, struct bpf_loaded *l, struct nerr *err)
{
	struct audit_bpf *skel = NULL;
	const char *variant = "lsm";
	int r;

	if (!bpf_lsm_active())
		variant = "tp-nolsm";
	else if ((r = load_variant(level, true, &skel)) < 0)
		variant = r == -EPERM ? "tp-eperm" : "tp-refused";
	if (!skel && (r = load_variant(level, false, &skel)) < 0)
		return nerr_set(err, -r, "load the audit programs (neither BPF-LSM nor tp_btf tracepoints load)");
	*l = (struct bpf_loaded){ .obj = skel->obj, .variant = variant, .progs = strcmp(variant, "lsm") ? tp_progs : lsm_progs,
				  .skel = skel };
	return 0;
}

static void unload(void *skel)
{
	audit_bpf__destroy(skel);
}

/* other builds' sets stay while a container of theirs is audited */
static const struct bpf_set_def set_def = {
	.object = "audit", .version = AUDIT_BPF_VERSION, .abi = AUDIT_BPF_ABI, .owners = "scopes",
	.maps = map_names, .variants = true, .load = load, .unload = unload,
};

/* A supervisor that was killed stays a zombie until its reaper gets to it
 * (never, under a PID 1 that does not reap): dead all the same. */
static bool owner_dead(const void *value)
{
	const struct audit_scope *sc = value;

	return sc->owner_start && !proc_running((pid_t)sc->owner_pid, sc->owner_start);
}

static void forget(uint64_t cgid, void *arg)
{
	struct audit_kernel *k = arg;

	bpf_map_delete_elem(k->scopes_fd, &cgid);
	bpf_map_delete_elem(k->stats_fd, &cgid);
	bpf_map_delete_elem(k->events_fd, &cgid);
}

/* Links exist exactly while some container is audited. Under the load lock. */
static int sync_links(struct audit_kernel *k, struct nerr *err)
{
	const char *const *progs = k->lsm ? lsm_progs : tp_progs;
	struct bpf_tp_link links[ARRAY_SIZE(lsm_progs)];
	size_t n = 0;
	/* entries of supervisors that died without cleaning up go first */
	bool any = bpf_owners_collect(k->scopes_fd, sizeof(struct audit_scope), owner_dead, forget, k, "audit") > 0;

	for (; progs[n]; n++)
		links[n] = (struct bpf_tp_link){ .prog = progs[n] };
	return bpf_links_sync(k->dir, links, n, any, err);
}

static const char *kind_name(uint32_t kind)
{
	static const char *const names[] = {
		[AK_EXEC] = "exec", [AK_CONNECT] = "connect", [AK_OPEN] = "open", [AK_PTRACE] = "ptrace",
		[AK_MOUNT] = "mount", [AK_BPF] = "bpf", [AK_MODULE] = "module", [AK_SETUID] = "setuid",
		[AK_SETGID] = "setgid",
	};
	return kind < ARRAY_SIZE(names) && names[kind] ? names[kind] : "unknown";
}

static json_t *details_of(const struct audit_event *e)
{
	char addr[INET6_ADDRSTRLEN];

	switch (e->kind) {
	case AK_EXEC: {
		json_t *argv = json_array();
		uint32_t n = e->exec.args_len < AUDIT_ARGS_MAX ? e->exec.args_len : AUDIT_ARGS_MAX, whole = 0;
		bool truncated;

		/* argc strings at most: what follows argv may be the environment */
		for (uint32_t i = 0; i < n && (!e->exec.argc || whole < e->exec.argc);) {
			size_t len = strnlen(e->exec.args + i, n - i);

			json_array_append_new(argv, json_stringn(e->exec.args + i, len));
			if (i + len < n)
				whole++;
			i += (uint32_t)len + 1;
		}
		truncated = e->exec.argc ? whole < e->exec.argc : e->exec.args_len >= AUDIT_ARGS_MAX;
		return json_pack("{s:s%,s:o,s:b}", "filename", e->exec.filename,
				 strnlen(e->exec.filename, AUDIT_PATH_MAX), "argv", argv,
				 "argv_truncated", truncated);
	}
	case AK_CONNECT:
		if (e->connect.family != 2 && e->connect.family != 10)
			return json_pack("{s:i}", "family", e->connect.family);
		inet_ntop(e->connect.family == 2 ? AF_INET : AF_INET6, e->connect.addr, addr, sizeof(addr));
		return json_pack("{s:s,s:s,s:i}", "family", e->connect.family == 2 ? "inet" : "inet6",
				 "address", addr, "port", e->connect.port);
	case AK_OPEN:
		return json_pack("{s:s%,s:i}", "path", e->open.path, strnlen(e->open.path, AUDIT_PATH_MAX),
				 "flags", e->open.flags);
	case AK_PTRACE:
		return json_pack("{s:i,s:i}", "target_pid", e->ptrace.target, "request", e->ptrace.request);
	case AK_MOUNT:
		return json_pack("{s:s%,s:s%,s:s%,s:I}", "source", e->mount.source, strnlen(e->mount.source, 64),
				 "target", e->mount.target, strnlen(e->mount.target, AUDIT_PATH_MAX),
				 "fstype", e->mount.type, strnlen(e->mount.type, 32), "flags", (json_int_t)e->mount.flags);
	case AK_BPF:
		return json_pack("{s:i}", "cmd", e->bpf.cmd);
	case AK_MODULE:
		return json_pack("{s:s%,s:s}", "module", e->module.name, strnlen(e->module.name, 64),
				 "how", e->module.how ? "load" : "request");
	case AK_SETUID:
	case AK_SETGID:
		return json_pack("{s:i,s:i}", "from", e->setid.from, "to", e->setid.to);
	}
	return json_object();
}

static int on_event(void *ctx, void *data, size_t len)
{
	struct audit_kernel *k = ctx;
	const struct audit_event *e = data;
	json_t *details;
	char comm[17];

	if (len < sizeof(*e) || !k->log)
		return 0;
	memcpy(comm, e->comm, 16);
	comm[16] = '\0';
	details = details_of(e);
	/* the LSM layer's answer, where it was seen (refused: an errno name) */
	if (e->has_verdict && details) {
		const char *name = e->verdict < 0 ? strerrorname_np(-e->verdict) : NULL;

		json_object_set_new(details, "refused", e->verdict < 0 ? json_string(name ? name : "error")
								       : json_false());
	}
	audit_log_event(k->log, e->ts + k->mono_to_real, kind_name(e->kind),
			e->source == AS_LSM ? "lsm" : "tracepoint", (int)e->pid, (long)e->uid, comm, details);
	return 0;
}

int audit_kernel_start(uint64_t cgid, unsigned level, pid_t init_pid, size_t ring_bytes,
		       struct audit_kernel **out, struct nerr *err)
{
	struct audit_kernel *k = xcalloc(1, sizeof(*k));
	int *fds[] = { &k->scopes_fd, &k->stats_fd, &k->events_fd };
	struct audit_scope scope = { 0 };
	int ncpu = libbpf_num_possible_cpus(), lock = -1, r;
	_cleanup_free_ struct audit_stats *zero = NULL;
	char nspath[64];
	struct stat st;
	const char *base;

	*out = NULL;
	k->cgid = cgid;
	k->level = level;
	k->ring_fd = -1;
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		*fds[i] = -1;
	k->mono_to_real = realtime_ns() - now_ns();
	if ((r = bpf_ring_open("nucleus_audit", (uint32_t)(ring_bytes ? ring_bytes : AUDIT_RING_BYTES),
			       on_event, k, &k->ring, &k->ring_fd, "audit", err)) < 0)
		goto fail;
	/* Under the lock from the pins to this container's scope, which marks
	 * the set as in use. */
	if ((r = lock = bpf_set_acquire(&set_def, level, true, NULL, &k->dir, err)) < 0)
		goto fail;
	base = strrchr(k->dir, '-');
	k->lsm = str_has_suffix(k->dir, "-lsm");
	if (k->lsm)
		snprintf(k->reason, sizeof(k->reason), "BPF-LSM loads and `bpf` is an active LSM");
	else if (base && !strcmp(base, "-eperm"))
		snprintf(k->reason, sizeof(k->reason), "BPF-LSM programs are refused at load (EPERM)");
	else if (base && !strcmp(base, "-nolsm"))
		snprintf(k->reason, sizeof(k->reason), "`bpf` is not an active LSM (boot with lsm=...,bpf)");
	else
		snprintf(k->reason, sizeof(k->reason), "BPF-LSM programs do not load on this kernel");
	for (size_t i = 0; map_names[i]; i++)
		if ((*fds[i] = r = bpf_pin_open(k->dir, map_names[i], err)) < 0)
			goto fail;
	snprintf(nspath, sizeof(nspath), "/proc/%d/ns/pid", (int)init_pid);
	if (stat(nspath, &st) == 0) {
		scope.pidns_dev = st.st_dev;
		scope.pidns_ino = st.st_ino;
	}
	scope.owner_pid = (uint64_t)getpid();
	scope.owner_start = proc_start_time(getpid());
	zero = xcalloc((size_t)(ncpu > 0 ? ncpu : 1), sizeof(*zero));
	if ((r = bpf_map_update_elem(k->stats_fd, &cgid, zero, BPF_ANY)) < 0 ||
	    (r = bpf_map_update_elem(k->events_fd, &cgid, &k->ring_fd, BPF_ANY)) < 0) {
		r = nerr_set(err, -r, "audit maps");
		goto fail;
	}
	if ((r = bpf_map_update_elem(k->scopes_fd, &cgid, &scope, BPF_ANY)) < 0) {
		r = nerr_set(err, -r, "audit scope");
		goto fail;
	}
	if ((r = sync_links(k, err)) < 0)
		goto fail;
	close(lock);
	*out = k;
	return 0;
fail:
	if (lock >= 0)
		close(lock);
	audit_kernel_stop(k);
	return r;
}

const char *audit_kernel_pin_set(const struct audit_kernel *k)
{
	const char *base = k && k->dir ? strrchr(k->dir, '/') : NULL;

	return base ? base + 1 : NULL;
}

const char *audit_kernel_source(const struct audit_kernel *k)
{
	return k->lsm ? "lsm" : "tracepoint";
}

const char *audit_kernel_reason(const struct audit_kernel *k)
{
	return k->reason;
}

int audit_kernel_fd(const struct audit_kernel *k)
{
	return k && k->ring ? ring_buffer__epoll_fd(k->ring) : -1;
}

void audit_kernel_drain(struct audit_kernel *k, struct audit_log *l)
{
	if (!k || !k->ring)
		return;
	k->log = l;
	ring_buffer__consume(k->ring);
}

void audit_kernel_counts(const struct audit_kernel *k, uint64_t *events, uint64_t *lost)
{
	int ncpu = libbpf_num_possible_cpus();
	_cleanup_free_ struct audit_stats *s = NULL;

	*events = *lost = 0;
	if (!k || k->stats_fd < 0 || ncpu <= 0)
		return;
	s = xcalloc((size_t)ncpu, sizeof(*s));
	if (bpf_map_lookup_elem(k->stats_fd, &k->cgid, s) < 0)
		return;
	for (int i = 0; i < ncpu; i++) {
		*events += s[i].events;
		*lost += s[i].lost;
	}
}

/* The counters of cgid in the set at dir: 0, or -ENOENT. */
static int totals_in(const char *dir, uint64_t cgid, uint64_t *events, uint64_t *lost)
{
	_cleanup_free_ struct audit_stats *s = NULL;
	int ncpu = libbpf_num_possible_cpus(), fd, r;

	if (ncpu <= 0)
		return -ENOENT;
	if ((fd = bpf_pin_open(dir, "stats", NULL)) < 0)
		return fd;
	s = xcalloc((size_t)ncpu, sizeof(*s));
	r = bpf_map_lookup_elem(fd, &cgid, s);
	close(fd);
	if (r < 0)
		return -ENOENT;
	for (int i = 0; i < ncpu; i++) {
		*events += s[i].events;
		*lost += s[i].lost;
	}
	return 0;
}

int audit_totals(uint64_t cgid, unsigned level, const char *set, uint64_t *events, uint64_t *lost)
{
	_cleanup_strv_ char **sets = NULL;

	*events = *lost = 0;
	if (set && *set) {
		_cleanup_free_ char *dir = xasprintf("%s/%s", BPF_PIN_ROOT, set);

		if (!bpf_set_compatible(dir, AUDIT_BPF_VERSION, AUDIT_BPF_ABI))
			return -EPROTO;     /* counters of a layout this build does not know */
		return totals_in(dir, cgid, events, lost);
	}
	/* no recorded set (an older build's container): the one with its cgroup */
	sets = bpf_sets_list("audit", level);
	for (size_t i = 0; sets && sets[i]; i++) {
		_cleanup_free_ char *dir = xasprintf("%s/%s", BPF_PIN_ROOT, sets[i]);

		if (bpf_set_compatible(dir, AUDIT_BPF_VERSION, AUDIT_BPF_ABI) &&
		    totals_in(dir, cgid, events, lost) == 0)
			return 0;
	}
	return -ENOENT;
}

static void gc_set(const char *dir, const int *fds, void *arg)
{
	struct audit_kernel k = { .dir = (char *)dir, .lsm = str_has_suffix(dir, "-lsm"),
				  .scopes_fd = fds[0], .stats_fd = fds[1], .events_fd = fds[2] };

	(void)arg;
	sync_links(&k, NULL);
}

void audit_kernel_gc(unsigned level)
{
	bpf_sets_gc(&set_def, level, gc_set, NULL, NULL);
}

void audit_kernel_stop(struct audit_kernel *k)
{
	if (!k)
		return;
	if (k->scopes_fd >= 0) {
		int lock = bpf_load_lock(NULL);

		bpf_map_delete_elem(k->scopes_fd, &k->cgid);
		sync_links(k, NULL);
		/* other builds' sets whose containers are all gone go now (their
		 * links with them) */
		if (lock >= 0) {
			bpf_set_collect_others(&set_def, k->level, NULL);
			close(lock);
		}
	}
	if (k->stats_fd >= 0)
		bpf_map_delete_elem(k->stats_fd, &k->cgid);
	if (k->events_fd >= 0)
		bpf_map_delete_elem(k->events_fd, &k->cgid);
	ring_buffer__free(k->ring);
	int fds[] = { k->scopes_fd, k->stats_fd, k->events_fd, k->ring_fd };
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(k->dir);
	free(k);
}
