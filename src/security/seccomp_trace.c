/* The userspace half of the seccomp trace recorder (bpf/syscall_trace.bpf.c):
 * the pinned object, one container's entries, the tracepoint links that
 * exist only while some trace runs, and the recorded set. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <seccomp.h>
#include <nucleus/ebpf.h>
#include <nucleus/security.h>
#include "syscall_trace.skel.h"
#include "syscall_trace.version.h"
#include "trace.h"

struct sc_trace {
	uint64_t cgid;
	unsigned level;
	char *dir;
	int traced_fd, counts_fd, stats_fd, events_fd, ring_fd;
	struct ring_buffer *ring;
	void (*cb)(const struct sc_trace_entry *, void *);
	void *cb_arg;
};

static const char *const map_names[] = { "traced", "counts", "stats", "events", NULL };
static const char *const abi_names[] = { "x86_64", "x86", "x32" };
static const uint32_t abi_arch[] = { SCMP_ARCH_X86_64, SCMP_ARCH_X86, SCMP_ARCH_X32 };

const char *sc_trace_abi_name(unsigned abi)
{
	return abi < ARRAY_SIZE(abi_names) ? abi_names[abi] : "?";
}

int sc_trace_abi_from_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(abi_names); i++)
		if (!strcmp(name, abi_names[i]))
			return (int)i;
	return -1;
}

char *sc_trace_syscall_name(unsigned abi, unsigned nr)
{
	char *n;

	if (abi >= ARRAY_SIZE(abi_arch))
		return NULL;
	n = seccomp_syscall_resolve_num_arch(abi_arch[abi], (int)(abi == ABI_X32 ? nr | 0x40000000u : nr));
	if (!n)
		n = xasprintf("syscall_%u", nr);
	return n;
}

static bool pinned(const char *dir, const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

/* tp_btf where trampolines work, raw_tp otherwise; the pins say which */
static const char *const progs_btf[] = { "trace_enter_btf", "trace_exec_btf", NULL };
static const char *const pins_btf[] = { "enter_btf", "exec_btf", NULL };
static const char *const progs_raw[] = { "trace_enter_raw", "trace_exec_raw", NULL };
static const char *const pins_raw[] = { "enter_raw", "exec_raw", NULL };
static const struct bpf_tp_link links_btf[] = {
	{ "enter_btf", "link_enter", NULL },
	{ "exec_btf", "link_exec", NULL },
};
static const struct bpf_tp_link links_raw[] = {
	{ "enter_raw", "link_enter", "sys_enter" },
	{ "exec_raw", "link_exec", "sched_process_exec" },
};

static int load(unsigned level, struct bpf_loaded *l, struct nerr *err)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		struct syscall_trace_bpf *skel = syscall_trace_bpf__open();
		bool btf = attempt == 0;
		int r;

		if (!skel)
			return nerr_set(err, errno, "open the trace BPF object");
		skel->rodata->cgroup_level = level;
		bpf_program__set_autoload(skel->progs.trace_enter_btf, btf);
		bpf_program__set_autoload(skel->progs.trace_exec_btf, btf);
		bpf_program__set_autoload(skel->progs.trace_enter_raw, !btf);
		bpf_program__set_autoload(skel->progs.trace_exec_raw, !btf);
		if ((r = syscall_trace_bpf__load(skel)) == 0) {
			*l = (struct bpf_loaded){ .obj = skel->obj, .progs = btf ? progs_btf : progs_raw,
						  .pins = btf ? pins_btf : pins_raw, .how = btf ? "tp_btf" : "raw_tp",
						  .skel = skel };
			return 0;
		}
		syscall_trace_bpf__destroy(skel);
		if (!btf)
			return nerr_set(err, -r, "load the syscall recorder (needs tp_btf or raw_tp programs and ring buffers)");
	}
	return -EINVAL;                /* not reached */
}

static void unload(void *skel)
{
	syscall_trace_bpf__destroy(skel);
}

/* other builds' sets stay while they trace: their links are pinned there */
static const struct bpf_set_def set_def = {
	.object = "trace", .version = SYSCALL_TRACE_BPF_VERSION, .owners = "traced",
	.maps = map_names, .load = load, .unload = unload,
};

/* ---- links: attached while at least one trace runs ----------------------------------- */

/* A killed tracer that is a zombie (until its reaper gets to it) is dead. */
static bool owner_alive(const struct sctrace_state *st)
{
	return st->owner_start && proc_running((pid_t)st->owner_pid, st->owner_start);
}

static void remove_entries(int traced, int counts, int stats, int events, uint64_t cgid)
{
	bpf_map_delete_elem(traced, &cgid);
	for (uint32_t abi = 0; abi < ABI_COUNT; abi++) {
		struct sctrace_key k = { .cgid = cgid, .abi = abi };

		bpf_map_delete_elem(counts, &k);
	}
	bpf_map_delete_elem(stats, &cgid);
	bpf_map_delete_elem(events, &cgid);
}

static bool owner_dead(const void *value)
{
	const struct sctrace_state *st = value;

	return st->owner_pid && !owner_alive(st);
}

static void forget(uint64_t cgid, void *arg)
{
	struct sc_trace *t = arg;

	remove_entries(t->traced_fd, t->counts_fd, t->stats_fd, t->events_fd, cgid);
}

/* Under the load lock: drop entries of tracers that died, then make the
 * links exist exactly when some container is traced. */
static int sync_links(struct sc_trace *t, struct nerr *err)
{
	bool any = bpf_owners_collect(t->traced_fd, sizeof(struct sctrace_state), owner_dead, forget, t, "trace") > 0;
	bool btf = pinned(t->dir, "enter_btf");

	return bpf_links_sync(t->dir, btf ? links_btf : links_raw, ARRAY_SIZE(links_btf), any, err);
}

bool sc_trace_attached(unsigned level)
{
	_cleanup_free_ char *dir = bpf_set_dir(&set_def, level, NULL);

	return pinned(dir, "link_enter");
}

static int on_event(void *ctx, void *data, size_t len)
{
	struct sc_trace *t = ctx;
	const struct sctrace_event *ev = data;
	struct sc_trace_entry e;

	if (len < sizeof(*ev) || !t->cb)
		return 0;
	e.abi = ev->abi;
	e.nr = ev->nr;
	e.count = 1;
	e.pid = ev->pid;
	memcpy(e.comm, ev->comm, sizeof(e.comm));
	e.comm[sizeof(e.comm) - 1] = '\0';
	e.name = sc_trace_syscall_name(ev->abi, ev->nr);
	t->cb(&e, t->cb_arg);
	free(e.name);
	return 0;
}

int sc_trace_start(uint64_t cgid, unsigned level, bool at_exec, size_t ring_bytes,
		   struct sc_trace **out, struct nerr *err)
{
	struct sc_trace *t = xcalloc(1, sizeof(*t));
	int *fds[] = { &t->traced_fd, &t->counts_fd, &t->stats_fd, &t->events_fd };
	struct sctrace_state st = { .enabled = !at_exec, .owner_pid = (uint64_t)getpid() };
	int ncpu = libbpf_num_possible_cpus(), lock = -1, r;
	void *zero = NULL;

	*out = NULL;
	t->cgid = cgid;
	t->level = level;
	t->ring_fd = -1;
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		*fds[i] = -1;
	st.owner_start = proc_start_time(getpid());
	if (ncpu <= 0) {
		r = nerr_set(err, EINVAL, "count CPUs");
		goto fail;
	}
	if ((r = bpf_ring_open("nucleus_trace", (uint32_t)(ring_bytes ? ring_bytes : TRACE_RING_BYTES),
			       on_event, t, &t->ring, &t->ring_fd, "trace", err)) < 0)
		goto fail;
	/* Under the lock from the pins to this container's state, which marks
	 * the set as in use. */
	if ((r = lock = bpf_set_acquire(&set_def, level, true, NULL, &t->dir, err)) < 0)
		goto fail;
	for (size_t i = 0; map_names[i]; i++)
		if ((*fds[i] = r = bpf_pin_open(t->dir, map_names[i], err)) < 0)
			goto fail;
	zero = xcalloc((size_t)ncpu, sizeof(struct sctrace_counts));
	for (uint32_t abi = 0; abi < ABI_COUNT; abi++) {
		struct sctrace_key k = { .cgid = cgid, .abi = abi };

		if ((r = bpf_map_update_elem(t->counts_fd, &k, zero, BPF_ANY)) < 0)
			goto map_fail;
	}
	memset(zero, 0, (size_t)ncpu * sizeof(struct sctrace_stats));
	if ((r = bpf_map_update_elem(t->stats_fd, &cgid, zero, BPF_ANY)) < 0 ||
	    (r = bpf_map_update_elem(t->events_fd, &cgid, &t->ring_fd, BPF_ANY)) < 0)
		goto map_fail;
	/* the state last: it turns recording on */
	if ((r = bpf_map_update_elem(t->traced_fd, &cgid, &st, BPF_NOEXIST)) < 0) {
		r = nerr_set(err, -r, r == -EEXIST ? "the container is traced already" : "start the trace");
		goto fail;
	}
	if ((r = sync_links(t, err)) < 0)
		goto fail;
	close(lock);
	free(zero);
	*out = t;
	return 0;
map_fail:
	r = nerr_set(err, -r, "trace maps");
fail:
	if (lock >= 0)
		close(lock);
	free(zero);
	sc_trace_stop(t);
	return r;
}

int sc_trace_events_fd(const struct sc_trace *t)
{
	return t && t->ring ? ring_buffer__epoll_fd(t->ring) : -1;
}

void sc_trace_drain(struct sc_trace *t, void (*cb)(const struct sc_trace_entry *, void *), void *arg)
{
	if (!t || !t->ring)
		return;
	t->cb = cb;
	t->cb_arg = arg;
	ring_buffer__consume(t->ring);
}

int sc_trace_collect(struct sc_trace *t, struct sc_trace_entry **out, size_t *n,
		     struct sc_trace_stats *stats, struct nerr *err)
{
	int ncpu = libbpf_num_possible_cpus();
	_cleanup_free_ struct sctrace_counts *c = NULL;
	_cleanup_free_ struct sctrace_stats *s = NULL;
	struct sctrace_state state;

	*out = NULL;
	*n = 0;
	if (ncpu <= 0)
		return nerr_set(err, EINVAL, "count CPUs");
	c = xcalloc((size_t)ncpu, sizeof(*c));
	if (bpf_map_lookup_elem(t->traced_fd, &t->cgid, &state) < 0)
		return nerr_set(err, errno, "read the trace of cgroup %llu", (unsigned long long)t->cgid);
	for (uint32_t abi = 0; abi < ABI_COUNT; abi++) {
		struct sctrace_key k = { .cgid = t->cgid, .abi = abi };

		if (bpf_map_lookup_elem(t->counts_fd, &k, c) < 0)
			return nerr_set(err, errno, "read the trace of cgroup %llu", (unsigned long long)t->cgid);
		for (unsigned nr = 0; nr < TRACE_MAX_NR; nr++) {
			uint64_t total = 0;

			if (!(state.seen[abi][nr / 64] & (1ull << (nr % 64))))
				continue;
			for (int cpu = 0; cpu < ncpu; cpu++)
				total += c[cpu].n[nr];
			*out = xrealloc(*out, (*n + 1) * sizeof(**out));
			(*out)[*n] = (struct sc_trace_entry){ .abi = abi, .nr = nr, .count = total,
							     .name = sc_trace_syscall_name(abi, nr) };
			(*n)++;
		}
	}
	if (stats) {
		memset(stats, 0, sizeof(*stats));
		s = xcalloc((size_t)ncpu, sizeof(*s));
		if (bpf_map_lookup_elem(t->stats_fd, &t->cgid, s) == 0)
			for (int cpu = 0; cpu < ncpu; cpu++) {
				stats->events += s[cpu].events;
				stats->events_lost += s[cpu].events_lost;
				stats->out_of_range += s[cpu].out_of_range;
			}
	}
	return 0;
}

void sc_trace_entries_free(struct sc_trace_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(e[i].name);
	free(e);
}

int sc_trace_write_ndjson(const struct sc_trace_entry *e, size_t n, FILE *f)
{
	for (size_t i = 0; i < n; i++)
		if (fprintf(f, "{\"syscall\": %u, \"name\": \"%s\", \"abi\": \"%s\", \"count\": %llu}\n",
			    e[i].nr, e[i].name, sc_trace_abi_name(e[i].abi), (unsigned long long)e[i].count) < 0)
			return -EIO;
	return fflush(f) == 0 ? 0 : -EIO;
}

static void gc_set(const char *dir, const int *fds, void *arg)
{
	struct sc_trace t = { .dir = (char *)dir, .traced_fd = fds[0], .counts_fd = fds[1], .stats_fd = fds[2],
			      .events_fd = fds[3], .ring_fd = -1 };

	(void)arg;
	sync_links(&t, NULL);
}

void sc_trace_gc(unsigned level)
{
	bpf_sets_gc(&set_def, level, gc_set, NULL, NULL);
}

void sc_trace_stop(struct sc_trace *t)
{
	int lock;

	if (!t)
		return;
	if (t->traced_fd >= 0 && t->counts_fd >= 0 && t->stats_fd >= 0 && t->events_fd >= 0) {
		lock = bpf_load_lock(NULL);
		remove_entries(t->traced_fd, t->counts_fd, t->stats_fd, t->events_fd, t->cgid);
		sync_links(t, NULL);
		/* other builds' sets whose traces are all gone go now */
		if (lock >= 0) {
			bpf_set_collect_others(&set_def, t->level, NULL);
			close(lock);
		}
	}
	ring_buffer__free(t->ring);
	int fds[] = { t->traced_fd, t->counts_fd, t->stats_fd, t->events_fd, t->ring_fd };
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(t->dir);
	free(t);
}
