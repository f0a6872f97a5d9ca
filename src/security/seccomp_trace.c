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

static char *pin_dir(unsigned level)
{
	return xasprintf("%s/trace-%s-l%u", BPF_PIN_ROOT, SYSCALL_TRACE_BPF_VERSION, level);
}

static bool pinned(const char *dir, const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static const char *prog_pin(bool btf, bool exec)
{
	return exec ? (btf ? "exec_btf" : "exec_raw") : (btf ? "enter_btf" : "enter_raw");
}

/* Load and pin once; tp_btf where trampolines work, raw_tp otherwise. */
static int ensure_pinned(unsigned level, const char *dir, struct nerr *err)
{
	struct syscall_trace_bpf *skel = NULL;
	bool btf;
	int lock, r = 0;

	if (bpf_pins_complete(dir, map_names) && (pinned(dir, "enter_btf") || pinned(dir, "enter_raw")))
		return 0;
	if ((r = bpffs_ensure(err)) < 0 || (lock = bpf_load_lock(err)) < 0)
		return r < 0 ? r : lock;
	if (bpf_pins_complete(dir, map_names))
		goto out;
	remove_tree(dir);
	bpf_quiet_libbpf();
	for (int attempt = 0; attempt < 2; attempt++) {
		btf = attempt == 0;
		skel = syscall_trace_bpf__open();
		if (!skel) {
			r = nerr_set(err, errno, "open the trace BPF object");
			goto out;
		}
		skel->rodata->cgroup_level = level;
		bpf_program__set_autoload(skel->progs.trace_enter_btf, btf);
		bpf_program__set_autoload(skel->progs.trace_exec_btf, btf);
		bpf_program__set_autoload(skel->progs.trace_enter_raw, !btf);
		bpf_program__set_autoload(skel->progs.trace_exec_raw, !btf);
		r = syscall_trace_bpf__load(skel);
		if (r == 0)
			break;
		syscall_trace_bpf__destroy(skel);
		skel = NULL;
	}
	if (r < 0) {
		r = nerr_set(err, -r, "load the syscall recorder (needs tp_btf or raw_tp programs and ring buffers)");
		goto out;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		r = nerr_set(err, errno, "create `%s`", dir);
		goto out;
	}
	{
		struct bpf_program *enter = btf ? skel->progs.trace_enter_btf : skel->progs.trace_enter_raw;
		struct bpf_program *exec = btf ? skel->progs.trace_exec_btf : skel->progs.trace_exec_raw;
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s", dir, prog_pin(btf, false));
		if ((r = bpf_program__pin(enter, path)) < 0)
			goto pin_fail;
		snprintf(path, sizeof(path), "%s/%s", dir, prog_pin(btf, true));
		if ((r = bpf_program__pin(exec, path)) < 0)
			goto pin_fail;
		for (size_t i = 0; map_names[i]; i++) {
			struct bpf_map *m = bpf_object__find_map_by_name(skel->obj, map_names[i]);

			snprintf(path, sizeof(path), "%s/%s", dir, map_names[i]);
			if (!m || (r = bpf_map__pin(m, path)) < 0)
				goto pin_fail;
		}
	}
	/* other builds' sets stay while they trace: their links are pinned there */
	bpf_sets_collect("trace", SYSCALL_TRACE_BPF_VERSION, level, "traced", NULL, NULL);
	log_debug("trace: loaded and pinned %s (%s)", dir, btf ? "tp_btf" : "raw_tp");
	goto out;
pin_fail:
	r = nerr_set(err, r < 0 ? -r : ENOENT, "pin the syscall recorder in `%s`", dir);
out:
	if (r < 0)
		remove_tree(dir);
	syscall_trace_bpf__destroy(skel);
	close(lock);
	return r;
}

/* ---- links: attached while at least one trace runs ----------------------------------- */

static bool owner_alive(const struct sctrace_state *st)
{
	return st->owner_start && proc_start_time((pid_t)st->owner_pid) == st->owner_start;
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

/* Under the load lock: drop entries of tracers that died, then make the
 * links exist exactly when some container is traced. */
static int sync_links(struct sc_trace *t, struct nerr *err)
{
	uint64_t key, next, *prev = NULL;
	bool any = false;
	char path[4096];

	while (bpf_map_get_next_key(t->traced_fd, prev, &next) == 0) {
		struct sctrace_state st;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(t->traced_fd, &key, &st) < 0)
			continue;
		if (st.owner_pid && !owner_alive(&st)) {
			log_debug("trace: collecting the entry of a tracer that died (cgroup %llu)",
				  (unsigned long long)key);
			remove_entries(t->traced_fd, t->counts_fd, t->stats_fd, t->events_fd, key);
			prev = NULL;       /* the walk restarts after a deletion */
			continue;
		}
		any = true;
	}
	for (int exec = 0; exec < 2; exec++) {
		const char *link = exec ? "link_exec" : "link_enter";
		bool btf = pinned(t->dir, "enter_btf");
		int pfd, lfd;

		snprintf(path, sizeof(path), "%s/%s", t->dir, link);
		if (!any) {
			unlink(path);       /* the last reference: the tracepoint is detached */
			continue;
		}
		if (access(path, F_OK) == 0)
			continue;
		pfd = bpf_pin_open(t->dir, prog_pin(btf, exec), err);
		if (pfd < 0)
			return pfd;
		lfd = bpf_raw_tracepoint_open(btf ? NULL : exec ? "sched_process_exec" : "sys_enter", pfd);
		close(pfd);
		if (lfd < 0)
			return nerr_set(err, -lfd, "attach the syscall recorder");
		if (bpf_obj_pin(lfd, path) < 0) {
			int e = errno;
			close(lfd);
			return nerr_set(err, e, "pin `%s`", path);
		}
		close(lfd);
	}
	return 0;
}

bool sc_trace_attached(unsigned level)
{
	_cleanup_free_ char *dir = pin_dir(level);

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
	t->dir = pin_dir(level);
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
	 * the set as in use: a collector that unpinned it before the lock was
	 * taken makes this run load it again. */
	for (int tries = 0;; tries++) {
		if ((r = ensure_pinned(level, t->dir, err)) < 0 || (r = lock = bpf_load_lock(err)) < 0)
			goto fail;
		if (bpf_pins_complete(t->dir, map_names))
			break;
		close(lock);
		lock = -1;
		if (tries == 2) {
			r = nerr_set(err, ESTALE, "the pinned set `%s` keeps disappearing", t->dir);
			goto fail;
		}
	}
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
		if (lock >= 0 && bpf_sets_others("trace", SYSCALL_TRACE_BPF_VERSION, t->level))
			bpf_sets_collect("trace", SYSCALL_TRACE_BPF_VERSION, t->level, "traced", NULL, NULL);
		if (lock >= 0)
			close(lock);
	}
	ring_buffer__free(t->ring);
	int fds[] = { t->traced_fd, t->counts_fd, t->stats_fd, t->events_fd, t->ring_fd };
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(t->dir);
	free(t);
}
