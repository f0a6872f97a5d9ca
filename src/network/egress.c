/* The userspace half of the egress policy: the pinned object, this
 * container's map entries, attachment to its cgroup, denial events. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <nucleus/ebpf.h>
#include <nucleus/network.h>
#include <nucleus/resources.h>
#include "egress.skel.h"
#include "egress.version.h"
#include "egress.h"
#include "net_internal.h"

struct egress {
	uint64_t cgid;
	unsigned level;
	int parent_fd;              /* the containers' cgroup parent, where the anchors are */
	char *set;                  /* the pinned set's directory name */
	int policy_fd, rules4_fd, rules6_fd, counters_fd, ratelimit_fd, events_fd;
	int ring_fd;
	struct ring_buffer *ring;
	void (*sink)(const struct egress_denial *, void *);
	void *sink_arg;
	struct egress_key4 *keys4;
	uint32_t *verdicts4;
	size_t nkeys4;
	struct egress_key6 *keys6;
	uint32_t *verdicts6;
	size_t nkeys6;
};

static const char *const map_names[] = { "policy", "rules4", "rules6", "counters", "ratelimit", "events", NULL };

/* The programs, by name, and where each attaches: the same order. */
static const char *const prog_names[] = {
	"egress_connect4", "egress_connect6", "egress_sendmsg4", "egress_sendmsg6",
	"egress_sock_create", "egress_sockops", "egress_skb", "egress_ingress", NULL,
};
static const enum bpf_attach_type prog_types[] = {
	BPF_CGROUP_INET4_CONNECT, BPF_CGROUP_INET6_CONNECT, BPF_CGROUP_UDP4_SENDMSG, BPF_CGROUP_UDP6_SENDMSG,
	BPF_CGROUP_INET_SOCK_CREATE, BPF_CGROUP_SOCK_OPS, BPF_CGROUP_INET_EGRESS, BPF_CGROUP_INET_INGRESS,
};
_Static_assert(ARRAY_SIZE(prog_names) == ARRAY_SIZE(prog_types) + 1, "a type for each program");

/* ---- configuration ---------------------------------------------------------------- */

void egress_config_free(struct egress_config *c)
{
	free(c->allow);
	free(c->tcp_ports);
	free(c->udp_ports);
	free(c->dns);
	memset(c, 0, sizeof(*c));
}

int egress_add_allow(struct egress_config *c, const char *arg, struct nerr *err)
{
	struct cidr net;
	int r;

	c->enabled = true;
	if (!*arg)
		return 0;            /* "" : deny all */
	if ((r = cidr_parse(arg, &net, err)) < 0)
		return r;
	c->allow = xrealloc(c->allow, (c->nallow + 1) * sizeof(net));
	c->allow[c->nallow++] = net;
	return 0;
}

int egress_add_port(struct egress_config *c, bool tcp, const char *arg, struct nerr *err)
{
	uint16_t **ports = tcp ? &c->tcp_ports : &c->udp_ports;
	size_t *n = tcp ? &c->ntcp : &c->nudp;
	uint64_t v;

	if (parse_u64(arg, 1, 65535, &v) < 0)
		return nerr_set(err, 0, "invalid port `%s`: expected 1-65535", arg);
	if (*n >= EGRESS_MAX_PORTS)
		return nerr_set(err, 0, "at most %d %s ports", EGRESS_MAX_PORTS, tcp ? "TCP" : "UDP");
	c->enabled = true;
	*ports = xrealloc(*ports, (*n + 1) * sizeof(uint16_t));
	(*ports)[(*n)++] = (uint16_t)v;
	return 0;
}

int egress_add_dns(struct egress_config *c, const char *arg, struct nerr *err)
{
	struct cidr ip;

	if (cidr_parse(arg, &ip, err) < 0 || strchr(arg, '/'))
		return nerr_set(err, 0, "invalid DNS server `%s`: expected an IP address", arg);
	c->dns = xrealloc(c->dns, (c->ndns + 1) * sizeof(ip));
	c->dns[c->ndns++] = ip;
	return 0;
}

/* ---- the pinned set ----------------------------------------------------------------- */

static int load(unsigned level, struct bpf_loaded *l, struct nerr *err)
{
	struct egress_bpf *skel = egress_bpf__open();
	int r;

	if (!skel)
		return nerr_set(err, errno, "open the egress BPF object");
	skel->rodata->cgroup_level = level;
	if ((r = egress_bpf__load(skel)) < 0) {
		egress_bpf__destroy(skel);
		return nerr_set(err, -r, "load the egress BPF programs (this kernel needs cgroup_skb, "
				       "cgroup_sock_addr, cgroup_sock, sock_ops, LPM tries and ring buffers)");
	}
	*l = (struct bpf_loaded){ .obj = skel->obj, .progs = prog_names, .skel = skel };
	return 0;
}

static void unload(void *skel)
{
	egress_bpf__destroy(skel);
}

static void drop_anchor(const char *version, void *arg);

/* arg of drop_anchor: the containers' cgroup parent (an int *) */
static const struct bpf_set_def set_def = {
	.object = "egress", .version = EGRESS_BPF_VERSION, .abi = EGRESS_BPF_ABI, .owners = "policy",
	.maps = map_names, .load = load, .unload = unload, .gone = drop_anchor,
};

/* ---- entries of supervisors that died without detaching (SIGKILL) -------------------- */

/* Every rule of one container in an LPM trie (its cgid follows prefixlen). */
static void forget_rules(int fd, size_t key_size, uint64_t cgid)
{
	uint8_t key[sizeof(struct egress_key6)], next[sizeof(struct egress_key6)];
	void *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		uint64_t c;

		memcpy(key, next, key_size);
		memcpy(&c, key + sizeof(uint32_t), sizeof(c));
		if (c == cgid && bpf_map_delete_elem(fd, key) == 0) {
			prev = NULL;           /* the walk starts over after a delete */
			continue;
		}
		prev = key;
	}
}

static void forget(uint64_t cgid, void *arg)
{
	const struct egress *e = arg;

	bpf_map_delete_elem(e->policy_fd, &cgid);
	bpf_map_delete_elem(e->counters_fd, &cgid);
	bpf_map_delete_elem(e->ratelimit_fd, &cgid);
	bpf_map_delete_elem(e->events_fd, &cgid);
	forget_rules(e->rules4_fd, sizeof(struct egress_key4), cgid);
	forget_rules(e->rules6_fd, sizeof(struct egress_key6), cgid);
}

/* A supervisor gone, a zombie or exiting: a SIGKILLed one stays a zombie
 * until its reaper gets to it, and `rm` right after the kill must not take
 * it for alive. */
static bool owner_dead(const void *value)
{
	const struct egress_policy *p = value;

	return p->owner_start && !proc_running((pid_t)p->owner_pid, p->owner_start);
}

/* Entries of supervisors that died without detaching. */
static void collect_dead(struct egress *e)
{
	bpf_owners_collect(e->policy_fd, sizeof(struct egress_policy), owner_dead, forget, e, "egress");
}

/* ---- the anchor: keep the kernel's cgroup-BPF static keys on ----------------------------
 * The kernel runs cgroup programs of an attach type only while some program
 * of that type is attached anywhere (a static key per type). Switching a key
 * patches kernel text and waits for every CPU: the first policy container's
 * 8 attaches, and its cgroup's release, cost milliseconds each run (see
 * docs/egress.md). So the programs are also attached to an empty cgroup of
 * nucleus's own, next to the containers' (.egress-anchor-<version>), where
 * they never run: no process ever enters it. Every policy container after
 * the first then only attaches. The price is the host's: with the keys on,
 * each socket operation and packet outside any container also checks its
 * cgroup's (empty) program array. It stays as long as its version's pinned
 * set, until reboot for the running build; rmdir it to drop it. */
#define ANCHOR_PREFIX ".egress-anchor-"

/* The programs go on in order and the first failure stops: the last one
 * there means all are (one query on every policy run, not eight). */
static bool anchor_complete(int anchor)
{
	__u32 cnt = 0;

	return bpf_prog_query(anchor, prog_types[ARRAY_SIZE(prog_types) - 1], 0, NULL, NULL, &cnt) == 0 && cnt > 0;
}

/* A version's set is unpinned: its anchor, which holds its programs (and
 * so its maps), goes with it. arg: the parent's fd, -1 when unknown. */
static void drop_anchor(const char *version, void *arg)
{
	int parent = *(int *)arg;
	_cleanup_free_ char *name = xasprintf(ANCHOR_PREFIX "%s", version);

	if (parent >= 0 && unlinkat(parent, name, AT_REMOVEDIR) == 0)
		log_debug("egress: anchor %s removed", name);
}

/* Best effort: without it a run is slower, never less safe. */
static void ensure_anchor(int parent, unsigned level, const char *dir)
{
	_cleanup_free_ char *name = xasprintf(ANCHOR_PREFIX "%s", EGRESS_BPF_VERSION);
	_cleanup_close_ int anchor = -1;
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int lock;

	if (parent < 0)
		return;
	anchor = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (anchor >= 0 && anchor_complete(anchor))
		return;
	if ((lock = bpf_load_lock(NULL)) < 0)
		return;
	if (anchor < 0 && mkdirat(parent, name, 0700) < 0 && errno != EEXIST)
		goto out;
	if (anchor < 0)
		anchor = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (anchor < 0)
		goto out;
	for (size_t i = 0; i < ARRAY_SIZE(prog_types); i++) {
		__u32 cnt = 0;
		int pfd;

		if (bpf_prog_query(anchor, prog_types[i], 0, NULL, NULL, &cnt) == 0 && cnt > 0)
			continue;
		if ((pfd = bpf_pin_open(dir, prog_names[i], NULL)) < 0)
			goto out;
		if (bpf_prog_attach(pfd, anchor, prog_types[i], BPF_F_ALLOW_MULTI) < 0) {
			log_debug("egress: anchor: attach %s: %s", prog_names[i], strerror(errno));
			close(pfd);
			goto out;
		}
		close(pfd);
	}
	/* anchors of versions whose set is gone (unpinned by hand, or by a
	 * build before sets were versioned) hold programs nobody needs */
	d = fdopendir(dup(parent));
	while (d && (de = readdir(d))) {
		_cleanup_free_ char *set = NULL;

		if (!str_has_prefix(de->d_name, ANCHOR_PREFIX) || !strcmp(de->d_name, name))
			continue;
		set = xasprintf("%s/egress-%s-l%u", BPF_PIN_ROOT, de->d_name + strlen(ANCHOR_PREFIX), level);
		if (access(set, F_OK) < 0)
			unlinkat(parent, de->d_name, AT_REMOVEDIR);
	}
	log_debug("egress: anchor %s attached", name);
out:
	close(lock);
}

/* The containers' cgroup parent at `level` as this process sees the
 * hierarchy, for the anchors; -1 when it sees another level. */
static int anchor_parent(unsigned level)
{
	struct cgroup_host host;
	_cleanup_free_ char *path = NULL;

	if (cgroup_host_detect(&host, NULL) < 0 || !host.v2_mount[0] || cgroup_v2_level(&host) != level)
		return -1;
	path = xasprintf("%s/%s", host.v2_mount, CGROUP_PARENT);
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* Unpin the sets of other versions that no container uses any more (an
 * upgraded-away build's), with their anchors. A readdir when there is
 * nothing to collect. */
static void collect_sets(unsigned level, int parent)
{
	_cleanup_close_ int opened = -1;
	int lock;

	if (!bpf_sets_others(set_def.object, set_def.version, level) || (lock = bpf_load_lock(NULL)) < 0)
		return;
	if (parent < 0)
		parent = opened = anchor_parent(level);
	bpf_sets_collect(set_def.object, set_def.version, level, set_def.owners, set_def.gone, &parent);
	close(lock);
}

/* ---- one container --------------------------------------------------------------------- */

static void key4_of(const struct cidr *c, uint64_t cgid, struct egress_key4 *k)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = 64 + c->prefix;
	k->cgid = cgid;
	memcpy(k->addr, c->addr, 4);
}

static void key6_of(const struct cidr *c, uint64_t cgid, struct egress_key6 *k)
{
	memset(k, 0, sizeof(*k));
	k->prefixlen = 64 + c->prefix;
	k->cgid = cgid;
	memcpy(k->addr, c->addr, 16);
}

/* Rules are merged here, not by reading the trie back: a lookup in an LPM
 * trie answers with the longest matching prefix, not the same key. */
static int put_rule(struct egress *e, const struct cidr *c, uint32_t verdict, struct nerr *err)
{
	struct egress_rule rule = { .verdict = verdict };
	size_t i;
	int r;

	if (c->family == 4) {
		struct egress_key4 k;

		key4_of(c, e->cgid, &k);
		for (i = 0; i < e->nkeys4 && memcmp(&e->keys4[i], &k, sizeof(k)); i++)
			;
		if (i == e->nkeys4) {
			e->keys4 = xrealloc(e->keys4, (e->nkeys4 + 1) * sizeof(k));
			e->verdicts4 = xrealloc(e->verdicts4, (e->nkeys4 + 1) * sizeof(uint32_t));
			e->keys4[e->nkeys4] = k;
			e->verdicts4[e->nkeys4++] = 0;
		}
		rule.verdict = e->verdicts4[i] |= verdict;
		r = bpf_map_update_elem(e->rules4_fd, &k, &rule, BPF_ANY);
	} else {
		struct egress_key6 k;

		key6_of(c, e->cgid, &k);
		for (i = 0; i < e->nkeys6 && memcmp(&e->keys6[i], &k, sizeof(k)); i++)
			;
		if (i == e->nkeys6) {
			e->keys6 = xrealloc(e->keys6, (e->nkeys6 + 1) * sizeof(k));
			e->verdicts6 = xrealloc(e->verdicts6, (e->nkeys6 + 1) * sizeof(uint32_t));
			e->keys6[e->nkeys6] = k;
			e->verdicts6[e->nkeys6++] = 0;
		}
		rule.verdict = e->verdicts6[i] |= verdict;
		r = bpf_map_update_elem(e->rules6_fd, &k, &rule, BPF_ANY);
	}
	if (r < 0)
		return nerr_set(err, -r, "egress rule");
	return 0;
}

static int fill_policy(struct egress *e, const struct egress_config *c, struct nerr *err)
{
	struct egress_policy pol = { 0 };
	struct egress_ratelimit rl = { 0 };
	int ncpu = libbpf_num_possible_cpus();
	_cleanup_free_ struct egress_counters *zero = NULL;
	int r;

	if (c->private_netns)
		pol.flags |= EG_PRIVATE_NETNS;
	if (c->allow_raw)
		pol.flags |= EG_ALLOW_RAW;
	pol.owner_pid = (uint64_t)getpid();
	pol.owner_start = proc_start_time(getpid());
	pol.ntcp = (uint16_t)c->ntcp;
	pol.nudp = (uint16_t)c->nudp;
	memcpy(pol.tcp_ports, c->tcp_ports, c->ntcp * sizeof(uint16_t));
	memcpy(pol.udp_ports, c->udp_ports, c->nudp * sizeof(uint16_t));
	for (size_t i = 0; i < c->nallow; i++)
		if ((r = put_rule(e, &c->allow[i], EV_ALLOW, err)) < 0)
			return r;
	for (size_t i = 0; i < c->ndns; i++)
		if ((r = put_rule(e, &c->dns[i], EV_DNS, err)) < 0)
			return r;
	/* A resolver inside an allowed prefix keeps what that prefix allows:
	 * its /32 must not narrow it to port 53 alone. */
	for (size_t i = 0; i < c->ndns; i++)
		for (size_t j = 0; j < c->nallow; j++)
			if (cidr_contains(&c->allow[j], &c->dns[i]) && (r = put_rule(e, &c->dns[i], EV_ALLOW, err)) < 0)
				return r;
	if (ncpu <= 0)
		return nerr_set(err, -ncpu, "count CPUs");
	zero = xcalloc((size_t)ncpu, sizeof(*zero));
	if ((r = bpf_map_update_elem(e->counters_fd, &e->cgid, zero, BPF_ANY)) < 0 ||
	    (r = bpf_map_update_elem(e->ratelimit_fd, &e->cgid, &rl, BPF_ANY)) < 0 ||
	    (r = bpf_map_update_elem(e->events_fd, &e->cgid, &e->ring_fd, BPF_ANY)) < 0)
		return nerr_set(err, -r, "egress maps");
	/* the policy last: until it exists the programs let everything pass,
	 * and nothing runs in the cgroup yet */
	if ((r = bpf_map_update_elem(e->policy_fd, &e->cgid, &pol, BPF_ANY)) < 0)
		return nerr_set(err, -r, "egress policy");
	return 0;
}

void egress_set_sink(struct egress *e, void (*sink)(const struct egress_denial *, void *), void *arg)
{
	if (e) {
		e->sink = sink;
		e->sink_arg = arg;
	}
}

static int on_event(void *ctx, void *data, size_t len)
{
	struct egress *e = ctx;
	const struct egress_event *ev = data;
	char addr[INET6_ADDRSTRLEN] = "";
	const char *proto;
	char who[64] = "", comm[17];
	pid_t pid;
	static const char *const hooks[] = { "", "connect", "sendmsg", "packet", "socket" };
	if (len < sizeof(*ev))
		return 0;
	inet_ntop(ev->family == 6 ? AF_INET6 : AF_INET, ev->addr, addr, sizeof(addr));
	switch (ev->proto) {
	case 6: proto = "tcp"; break;
	case 17: proto = "udp"; break;
	case 1: proto = "icmp"; break;
	case 58: proto = "icmpv6"; break;
	default: proto = "ip"; break;
	}
	pid = ev->pid ? proc_ns_pid((pid_t)ev->pid) : 0;
	if (pid)
		snprintf(who, sizeof(who), " (pid %d %.16s)", (int)pid, ev->comm);
	if (ev->source == ES_SOCKET)
		log_error("egress denied: %s socket%s", ev->proto == 3 ? "raw" : "packet", who);
	else if (ev->family == 6)
		log_error("egress denied: %s [%s]:%u%s", proto, addr, ev->dport, who);
	else
		log_error("egress denied: %s %s:%u%s", proto, addr, ev->dport, who);
	if (e && e->sink) {
		struct egress_denial d = {
			.proto = ev->source == ES_SOCKET ? (ev->proto == 3 ? "raw socket" : "packet socket") : proto,
			.address = ev->source == ES_SOCKET ? "" : addr, .port = ev->dport, .pid = pid,
			.comm = comm, .hook = ev->source < ARRAY_SIZE(hooks) ? hooks[ev->source] : "",
		};
		memcpy(comm, ev->comm, 16);
		comm[16] = '\0';
		e->sink(&d, e->sink_arg);
	}
	return 0;
}

int egress_attach(const struct egress_config *c, int cgroup_fd, uint64_t cgid, unsigned cgroup_level,
		  struct egress **out, struct nerr *err)
{
	_cleanup_free_ char *dir = NULL;
	struct egress *e = xcalloc(1, sizeof(*e));
	int *fds[] = { &e->policy_fd, &e->rules4_fd, &e->rules6_fd, &e->counters_fd, &e->ratelimit_fd, &e->events_fd };
	int r, lock = -1;

	*out = NULL;
	e->cgid = cgid;
	e->level = cgroup_level;
	e->ring_fd = -1;
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		*fds[i] = -1;
	if (cgroup_fd < 0) {
		free(e);
		return nerr_set(err, 0, "an egress policy needs the container's cgroup v2 directory, which this "
				       "host does not give nucleus");
	}
	e->parent_fd = openat(cgroup_fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if ((r = bpf_ring_open("nucleus_egress", EGRESS_RING_BYTES, on_event, e, &e->ring, &e->ring_fd,
			       "egress event", err)) < 0)
		goto fail;
	/* From the pins to this container's policy entry, which marks the set
	 * as in use, no collector may unpin the set (the shared lock). */
	if ((r = lock = bpf_set_acquire(&set_def, cgroup_level, false, &e->parent_fd, &dir, err)) < 0)
		goto fail;
	e->set = xstrdup(strrchr(dir, '/') + 1);
	log_debug("egress: programs pinned");
	for (size_t i = 0; map_names[i]; i++)
		if ((*fds[i] = r = bpf_pin_open(dir, map_names[i], err)) < 0)
			goto fail;
	log_debug("egress: maps and ring open");
	collect_dead(e);
	if ((r = fill_policy(e, c, err)) < 0)
		goto fail;
	close(lock);
	lock = -1;
	log_debug("egress: policy in the maps");
	ensure_anchor(e->parent_fd, cgroup_level, dir);
	for (size_t i = 0; i < ARRAY_SIZE(prog_types); i++) {
		int pfd = bpf_pin_open(dir, prog_names[i], err);

		if (pfd < 0) {
			r = pfd;
			goto fail;
		}
		r = bpf_prog_attach(pfd, cgroup_fd, prog_types[i], BPF_F_ALLOW_MULTI);
		close(pfd);
		if (r < 0) {
			r = nerr_set(err, -r, "attach %s to the container's cgroup", prog_names[i]);
			goto fail;
		}
	}
	*out = e;
	return 0;
fail:
	if (lock >= 0)
		close(lock);
	egress_detach(e);
	return r;
}

const char *egress_pin_set(const struct egress *e)
{
	return e ? e->set : NULL;
}

int egress_events_fd(const struct egress *e)
{
	return e && e->ring ? ring_buffer__epoll_fd(e->ring) : -1;
}

void egress_events_drain(struct egress *e)
{
	if (e && e->ring)
		ring_buffer__consume(e->ring);
}

void egress_detach(struct egress *e)
{
	if (!e)
		return;
	if (e->policy_fd >= 0)
		bpf_map_delete_elem(e->policy_fd, &e->cgid);
	for (size_t i = 0; i < e->nkeys4; i++)
		bpf_map_delete_elem(e->rules4_fd, &e->keys4[i]);
	for (size_t i = 0; i < e->nkeys6; i++)
		bpf_map_delete_elem(e->rules6_fd, &e->keys6[i]);
	if (e->counters_fd >= 0)
		bpf_map_delete_elem(e->counters_fd, &e->cgid);
	if (e->ratelimit_fd >= 0)
		bpf_map_delete_elem(e->ratelimit_fd, &e->cgid);
	if (e->events_fd >= 0)
		bpf_map_delete_elem(e->events_fd, &e->cgid);
	egress_events_drain(e);
	ring_buffer__free(e->ring);
	int fds[] = { e->policy_fd, e->rules4_fd, e->rules6_fd, e->counters_fd, e->ratelimit_fd, e->events_fd, e->ring_fd };
	for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	/* an old build's set whose last container is gone goes now */
	if (e->policy_fd >= 0)
		collect_sets(e->level, e->parent_fd);
	if (e->parent_fd >= 0)
		close(e->parent_fd);
	free(e->set);
	free(e->keys4);
	free(e->keys6);
	free(e->verdicts4);
	free(e->verdicts6);
	free(e);
}

/* The maps of one set, for a collector; false when one is missing. */
static void gc_set(const char *dir, const int *fds, void *arg)
{
	struct egress e = { .policy_fd = fds[0], .rules4_fd = fds[1], .rules6_fd = fds[2],
			    .counters_fd = fds[3], .ratelimit_fd = fds[4], .events_fd = fds[5] };

	(void)dir;
	(void)arg;
	collect_dead(&e);
}

void egress_gc(unsigned cgroup_level)
{
	/* where an unpinned set's anchor goes with it */
	_cleanup_close_ int parent = anchor_parent(cgroup_level);

	/* every set whose maps this build knows, not only its own: a container
	 * of another build is removed by this one after an upgrade */
	bpf_sets_gc(&set_def, cgroup_level, gc_set, NULL, &parent);
}

/* The counters of cgid in the set at dir: 0, -ENOENT when it has none. */
static int totals_in(const char *dir, uint64_t cgid, struct egress_totals *t, struct nerr *err)
{
	_cleanup_free_ struct egress_counters *v = NULL;
	int ncpu = libbpf_num_possible_cpus(), fd, r;

	if (ncpu <= 0)
		return -EINVAL;
	fd = bpf_pin_open(dir, "counters", err);
	if (fd < 0)
		return fd;
	v = xcalloc((size_t)ncpu, sizeof(*v));
	r = bpf_map_lookup_elem(fd, &cgid, v);
	close(fd);
	if (r < 0)
		return -ENOENT;
	for (int i = 0; i < ncpu; i++) {
		t->allow_pkts += v[i].allow_pkts;
		t->allow_bytes += v[i].allow_bytes;
		t->deny_pkts += v[i].deny_pkts;
		t->deny_bytes += v[i].deny_bytes;
		t->deny_calls += v[i].deny_calls;
		t->events += v[i].events;
		t->events_lost += v[i].events_lost;
		t->events_limited += v[i].events_limited;
	}
	return 0;
}

int egress_totals(uint64_t cgid, unsigned cgroup_level, const char *set, struct egress_totals *t, struct nerr *err)
{
	_cleanup_strv_ char **sets = NULL;

	memset(t, 0, sizeof(*t));
	if (set && *set) {
		_cleanup_free_ char *dir = xasprintf("%s/%s", BPF_PIN_ROOT, set);

		if (!bpf_set_compatible(dir, EGRESS_BPF_VERSION, EGRESS_BPF_ABI))
			return nerr_set(err, EPROTO, "the egress counters in `%s` have a layout this build does not know",
					dir);
		return totals_in(dir, cgid, t, err);
	}
	/* a container that did not record its set (started by an older
	 * build): the set whose maps have its cgroup */
	sets = bpf_sets_list("egress", cgroup_level);
	for (size_t i = 0; sets && sets[i]; i++) {
		_cleanup_free_ char *dir = xasprintf("%s/%s", BPF_PIN_ROOT, sets[i]);

		if (bpf_set_compatible(dir, EGRESS_BPF_VERSION, EGRESS_BPF_ABI) && totals_in(dir, cgid, t, NULL) == 0)
			return 0;
	}
	return -ENOENT;
}
