/* ebpf: the userspace half shared by every BPF feature: feature probes,
 * object loading and pinning, ring-buffer plumbing. */
#ifndef NUCLEUS_EBPF_H
#define NUCLEUS_EBPF_H

#include <stdbool.h>
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
 * An object is loaded and verified once per host, pinned under
 * /sys/fs/bpf/nucleus/<name>-<version>, and reused by every later run; a
 * different version (another build) pins beside it and the stale sets are
 * unpinned — programs already attached to cgroups, and the maps they use,
 * live on until those containers end. */
#define BPF_PIN_ROOT "/sys/fs/bpf/nucleus"

/* Mount bpffs on /sys/fs/bpf if nothing is mounted there. */
int bpffs_ensure(struct nerr *err);
/* Serialise loaders host-wide (flock); returns the fd to close. */
int bpf_load_lock(struct nerr *err);
/* True when dir holds a pin for each of the names. */
bool bpf_pins_complete(const char *dir, const char *const *names);
/* Unpin every <name>-* set but keep_dir. */
void bpf_unpin_stale(const char *name, const char *keep_dir);
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
