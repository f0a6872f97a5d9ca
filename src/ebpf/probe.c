/* Probing by trying: each program type is loaded for real, on its own. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <nucleus/ebpf.h>
#include "probe.skel.h"

static int libbpf_to_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char text[8192], *save = NULL;

	if (level == LIBBPF_DEBUG || log_threshold < LOG_DEBUG)
		return 0;
	vsnprintf(text, sizeof(text), fmt, ap);
	/* a verifier log arrives as one message of many lines */
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		log_debug("libbpf: %s", l);
	return 0;
}

void bpf_quiet_libbpf(void)
{
	libbpf_set_print(libbpf_to_log);
}

static const struct {
	const char *type;
	const char *section;
	const char *prog;
} probes[] = {
	{ "cgroup_skb", "cgroup_skb/egress", "probe_cgroup_skb" },
	{ "cgroup_sock_addr", "cgroup/connect4", "probe_sock_addr" },
	{ "cgroup_sock", "cgroup/sock_create", "probe_sock_create" },
	{ "tracepoint", "tracepoint/raw_syscalls/sys_enter", "probe_tracepoint" },
	{ "raw_tp", "raw_tp/sys_enter", "probe_raw_tp" },
	{ "tp_btf", "tp_btf/sys_enter", "probe_tp_btf" },
	{ "lsm", "lsm/bprm_check_security", "probe_lsm" },
};

static int load_only(const char *name)
{
	struct probe_bpf *skel = probe_bpf__open();
	struct bpf_program *p;
	int r;

	if (!skel)
		return errno ? errno : EINVAL;
	bpf_object__for_each_program(p, skel->obj) {
		bpf_program__set_autoload(p, !strcmp(bpf_program__name(p), name));
	}
	r = probe_bpf__load(skel);
	probe_bpf__destroy(skel);
	return r < 0 ? -r : 0;
}

int bpf_probe_features(struct bpf_features *f, struct nerr *err)
{
	int fd;

	(void)err;
	memset(f, 0, sizeof(*f));
	bpf_quiet_libbpf();
	f->vmlinux_btf = access("/sys/kernel/btf/vmlinux", R_OK) == 0;
	for (size_t i = 0; i < ARRAY_SIZE(probes) && i < BPF_PROBES_MAX; i++) {
		f->progs[i].type = probes[i].type;
		f->progs[i].section = probes[i].section;
		f->progs[i].err = load_only(probes[i].prog);
		f->nprogs++;
	}
	fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "nucleus_probe", 0, 0, 4096, NULL);
	f->ringbuf_err = fd < 0 ? -fd : 0;
	if (fd >= 0)
		close(fd);
	if (f->ringbuf_err == 0)
		f->ringbuf_err = load_only("probe_ringbuf");
	return 0;
}

int bpf_features_err(const struct bpf_features *f, const char *type)
{
	for (size_t i = 0; i < f->nprogs; i++)
		if (!strcmp(f->progs[i].type, type))
			return f->progs[i].err;
	return ENOENT;
}
