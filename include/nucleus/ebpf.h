/* ebpf: the userspace half shared by every BPF feature: feature probes,
 * object loading and pinning, ring-buffer plumbing. */
#ifndef NUCLEUS_EBPF_H
#define NUCLEUS_EBPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <nucleus/util.h>

struct bpf_prog_probe {
	const char *type;       /* "cgroup_skb", "cgroup_sock_addr", ... */
	const char *section;    /* the program's ELF section */
	int err;                /* 0: loads; else the errno of the load */
};

#define BPF_PROBES_MAX 12
struct bpf_features {
	struct bpf_prog_probe progs[BPF_PROBES_MAX];
	size_t nprogs;
	int ringbuf_err;        /* 0: BPF_MAP_TYPE_RINGBUF can be created */
	bool vmlinux_btf;       /* /sys/kernel/btf/vmlinux is readable */
};

/* Load one tiny program of each type (each on its own), and create a ring
 * buffer. Takes a few milliseconds per type; used by `nucleus info`. */
int bpf_probe_features(struct bpf_features *f, struct nerr *err);
/* 0 when a program type loads, else its errno; types as in bpf_prog_probe. */
int bpf_features_err(const struct bpf_features *f, const char *type);
/* Route libbpf's messages through nucleus logging (debug level only). */
void bpf_quiet_libbpf(void);

/* Active LSMs and the lockdown mode from securityfs. When securityfs is not
 * mounted and we are root, it is mounted in a private mount namespace of a
 * short-lived child, so the host's mounts stay as they are. */
struct host_security {
	char lsm[256];         /* "" when unknown */
	/* "none", "integrity", "confidentiality", "": the bracketed word of
	 * the kernel's line, which is read whole first (its longest,
	 * "none integrity [confidentiality]", is 32 characters) */
	char lockdown[64];
};
void host_security_read(struct host_security *hs);
/* `bpf` is among the active LSMs: BPF-LSM programs would run. */
bool bpf_lsm_active(void);

/* ---- load once, attach many ------------------------------------------------------
 * An object is loaded and verified once per host, pinned as a set under
 * /sys/fs/bpf/nucleus/<name>-<version>-l<level>[-<variant>] (version: a hash
 * of the object; level: the containers' depth in the cgroup2 tree), and
 * reused by every later run. Another build (another version) pins its own
 * set beside it and both stay: each container records the set it uses, and
 * its counters and cleanup go to that set whichever build asks. A build
 * never unpins its own set (its next run needs it); it unpins another
 * version's set once no cgroup that still exists has an entry in it
 * (bpf_sets_collect): the set of an upgraded-away build goes after its last
 * container, at the new build's next load, container end or `rm`.
 *
 * Another build reads or writes values in a set only when the set's `abi`
 * link names the same ABI (a hash of the headers that define the maps' keys
 * and values); otherwise it only tells whether the set is in use. */
#define BPF_PIN_ROOT "/sys/fs/bpf/nucleus"

/* Mount bpffs on /sys/fs/bpf if nothing is mounted there. */
int bpffs_ensure(struct nerr *err);
/* Serialise loaders and collectors host-wide (flock); returns the fd to close. */
int bpf_load_lock(struct nerr *err);
/* The same lock, shared: held from opening a set's pins until the run's own
 * entry is in its maps, so that no collector unpins the set in between. */
int bpf_use_lock(struct nerr *err);
/* True when dir holds a pin for each of the names. */
bool bpf_pins_complete(const char *dir, const char *const *names);
/* A set's directory name: its version (at most 32 characters) and level.
 * False when name is not a set of `object`. */
bool bpf_set_parse(const char *name, const char *object, char version[33], unsigned *level);
/* The directory names of every set of `object` at `level`, sorted. */
char **bpf_sets_list(const char *object, unsigned level);
/* The set of `object` among a container's recorded pins, or NULL. */
const char *bpf_pins_find(char *const *pins, const char *object);
/* Some set of `object` at `level` has another version than `version`. */
bool bpf_sets_others(const char *object, const char *version, unsigned level);
/* Record in a set the ABI of the build that pinned it (the `abi` link). */
int bpf_set_mark_abi(const char *dir, const char *abi);
/* This build may read and write the values of the set at dir: its version
 * is `version`, or its `abi` link names `abi`. */
bool bpf_set_compatible(const char *dir, const char *version, const char *abi);
/* Some key of the set's map `owners` (cgroup ids) names a cgroup that still
 * exists. When that cannot be told, true: a set is kept rather than lost. */
bool bpf_set_in_use(const char *dir, const char *owners);
/* Under the load lock: unpin every set of `object` at `level` of another
 * version than `version` that is not in use (its map `owners`), calling
 * gone(its version, arg) for each. */
void bpf_sets_collect(const char *object, const char *version, unsigned level, const char *owners,
		      void (*gone)(const char *version, void *arg), void *arg);
/* ---- one object's lifecycle (object.c) ----------------------------------------------
 * What egress, the trace recorder and audit share: finding or loading and
 * pinning their set, dropping the entries of owners that died, and the
 * pinned raw-tracepoint links that exist while some container uses them. */

/* What an object's loader hands back. */
struct bpf_object;
struct bpf_loaded {
	struct bpf_object *obj;        /* loaded, with cgroup_level set */
	const char *variant;           /* the set's name ends in -<variant>; NULL: no suffix */
	const char *const *progs;      /* the programs to pin, by name in obj; NULL-terminated */
	const char *const *pins;       /* their pin names, in the same order; NULL: their names */
	const char *how;               /* for the debug line ("tp_btf"); NULL: nothing */
	void *skel;                    /* handed to unload */
};

struct bpf_set_def {
	const char *object;            /* "egress": its sets are <object>-<version>-l<level>[-<variant>] */
	const char *version;           /* the object's hash */
	const char *abi;               /* the maps' layout, the `abi` link; NULL: no link (trace's sets have none) */
	const char *owners;            /* the map keyed by the cgroup ids of the containers using the set */
	/* Pinned after the programs: a set is complete when they all are. */
	const char *const *maps;
	bool variants;                 /* the loader picks a variant: a set is found by its name's stem */
	/* Open and load the object (its variants in turn): 0, or -errno with
	 * err set. Under the load lock. */
	int (*load)(unsigned level, struct bpf_loaded *l, struct nerr *err);
	void (*unload)(void *skel);
	/* Each other version's set that a collection unpins (arg: bpf_set_acquire's). */
	void (*gone)(const char *version, void *arg);
};

/* The directory of def's set at level ("/sys/fs/bpf/nucleus/egress-<v>-l2"). */
char *bpf_set_dir(const struct bpf_set_def *def, unsigned level, const char *variant);
/* Load and pin def's set at level once per host (every later run only
 * finds it), unpinning on the way the sets of other versions that no
 * container uses; then hold the lock that keeps collectors from unpinning
 * it until the caller's own entry is in its owners map: shared, or
 * exclusive with `exclusive` (and always after this call pinned the set,
 * under the load lock). A set unpinned before the lock was taken is loaded
 * again. Returns the lock's fd and *dir (the caller frees). */
int bpf_set_acquire(const struct bpf_set_def *def, unsigned level, bool exclusive, void *gone_arg, char **dir,
		    struct nerr *err);
/* Under the load lock: unpin the sets of other versions at level that no
 * container uses. A readdir when there are none. */
void bpf_set_collect_others(const struct bpf_set_def *def, unsigned level, void *gone_arg);
/* The collection of dead containers: for each set of def's object at
 * level whose maps this build can read (its own version, or the same
 * `abi`), fn(dir, fds, arg) with its maps open in def->maps' order (closed
 * after); then the other versions' sets nobody uses go (gone_arg as
 * bpf_set_collect_others'). Takes the load lock; does nothing when it
 * cannot. */
void bpf_sets_gc(const struct bpf_set_def *def, unsigned level,
		 void (*fn)(const char *dir, const int *fds, void *arg), void *arg, void *gone_arg);
/* Walk an owners map (u64 cgroup-id keys, values of value_size bytes) and
 * forget(cgid, arg) each entry whose owner dead(value) says is gone; the
 * walk starts over after each. Returns the entries left whose value could
 * be read. `what` names the object in the debug line. */
size_t bpf_owners_collect(int fd, size_t value_size, bool (*dead)(const void *value),
			  void (*forget)(uint64_t cgid, void *arg), void *arg, const char *what);

/* A program of a pinned set attached by a pinned raw-tracepoint link. */
struct bpf_tp_link {
	const char *prog;              /* the program's pin */
	const char *link;              /* the link's pin; NULL: link_<prog> */
	const char *tp;                /* the raw tracepoint; NULL: BTF-typed (the program names it) */
};
/* With `on`, attach and pin each link not pinned yet; without, unpin them
 * (the last reference: the program is detached). */
int bpf_links_sync(const char *dir, const struct bpf_tp_link *links, size_t n, bool on, struct nerr *err);

/* Open a pinned object by dir/name. */
int bpf_pin_open(const char *dir, const char *name, struct nerr *err);
/* A ring buffer map of `bytes` (a power of two, pages), by a direct
 * bpf(2): libbpf's bpf_map_create first probes the kernel for map-name
 * support with two program loads, which cost a start-up more than the map. */
int bpf_ringbuf_new(const char *name, uint32_t bytes);
/* bpf_ringbuf_new() and a libbpf consumer (*ring) calling fn(ctx, ...) for
 * each record; *fd gets the map, -1 on failure (the caller closes it after
 * ring_buffer__free). `what` names it in errors ("create the audit ring
 * buffer"). Returns 0 or -errno. */
struct ring_buffer;
int bpf_ring_open(const char *name, uint32_t bytes, int (*fn)(void *ctx, void *data, size_t size), void *ctx,
		  struct ring_buffer **ring, int *fd, const char *what, struct nerr *err);

#endif
