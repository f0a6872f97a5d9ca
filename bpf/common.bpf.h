/* SPDX-License-Identifier: GPL-2.0 */
/* What every per-container BPF object of nucleus has (egress, the syscall
 * recorder, audit): its license, the containers' level in the cgroup2 tree,
 * maps keyed by the container's cgroup id, and a ring buffer per container
 * so that a supervisor reads only its own events. Kernel side only: include
 * after vmlinux.h and bpf_helpers.h. */
#ifndef NUCLEUS_COMMON_BPF_H
#define NUCLEUS_COMMON_BPF_H

char LICENSE[] SEC("license") = "GPL";

/* Depth of <nucleus>/<id> below the cgroup2 root; set before load. */
const volatile __u32 cgroup_level = 2;

#ifdef NUCLEUS_BPF_BUILD_TAG
/* Only in test builds (make BPF_EXTRA_CFLAGS=-DNUCLEUS_BPF_BUILD_TAG=N): a
 * second build of the same source whose object, hence version, differs. */
const volatile __u32 build_tag = NUCLEUS_BPF_BUILD_TAG;
#endif

/* The container of the current task: its cgroup's ancestor at the
 * containers' level, so sub-cgroups a workload creates are still its own. */
static __always_inline __u64 current_container(void)
{
	return bpf_get_current_ancestor_cgroup_id(cgroup_level);
}

/* A map of one value per container, keyed by its cgroup id. */
#define CONTAINER_MAP(name, map_type, value_type, entries) \
	struct {                                           \
		__uint(type, map_type);                    \
		__uint(max_entries, entries);              \
		__type(key, __u64);                        \
		__type(value, value_type);                 \
	} name SEC(".maps")

/* `events`: each container's ring buffer (of `bytes`), by cgroup id. The
 * supervisor creates the ring and puts it in. */
#define CONTAINER_RINGS(bytes, entries)                  \
	struct ring {                                    \
		__uint(type, BPF_MAP_TYPE_RINGBUF);      \
		__uint(max_entries, bytes);              \
	};                                               \
	struct {                                         \
		__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS); \
		__uint(max_entries, entries);            \
		__type(key, __u64);                      \
		__array(values, struct ring);            \
	} events SEC(".maps")

/* Room for `size` bytes in the ring of container cgid (rings: &events).
 * NULL when it has no ring, or when it is full: then *full is set, and the
 * caller counts a lost event. */
static __always_inline void *ring_reserve(void *rings, __u64 cgid, __u64 size, bool *full)
{
	void *ring = bpf_map_lookup_elem(rings, &cgid);
	void *e;

	*full = false;
	if (!ring)
		return NULL;
	e = bpf_ringbuf_reserve(ring, size, 0);
	*full = !e;
	return e;
}

#endif
