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

#endif
