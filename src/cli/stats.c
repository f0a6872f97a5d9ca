/* nucleus stats */
#include <getopt.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include <nucleus/cli.h>
#include <nucleus/container.h>
#include <nucleus/resources.h>
#include <nucleus/network.h>
#include <nucleus/audit.h>
#include <nucleus/ebpf.h>

static const char stats_help[] =
	"Usage: nucleus stats [OPTIONS] [CONTAINER...]\n"
	"\n"
	"Show CPU, memory, pids and block I/O of running containers (all of them by\n"
	"default), refreshed every second.\n"
	"\n"
	"Options:\n"
	"      --no-stream   Print one sample and exit\n"
	"      --json        Print JSON (one array per sample)\n"
	"  -h, --help        Show this help\n";

struct target {
	struct container_state st;
	struct cgroup cg;
	bool open;
	struct cgroup_sample prev, cur;
	struct egress_totals net;
	bool have_net;
	uint64_t audit_events, audit_lost;
	bool have_audit;
	uint64_t rx_bytes, tx_bytes;   /* its network namespace, lo left out */
	bool have_io;
};

/* Bytes through the container's interfaces but lo, as docker's NET I/O:
 * /proc/PID/net/dev of its init shows its own namespace. Host networking
 * has no counters of its own. */
static bool net_io(const struct container_state *st, uint64_t *rx, uint64_t *tx)
{
	char path[64], line[512];
	FILE *f;

	*rx = *tx = 0;
	if (st->cfg.net.mode == NETWORK_HOST || !state_pid_alive(st))
		return false;
	snprintf(path, sizeof(path), "/proc/%d/net/dev", (int)st->pid);
	if (!(f = fopen(path, "re")))
		return false;
	while (fgets(line, sizeof(line), f)) {
		char name[32];
		unsigned long long r, t, skip;

		if (sscanf(line, " %31[^:]: %llu %llu %llu %llu %llu %llu %llu %llu %llu", name, &r,
			   &skip, &skip, &skip, &skip, &skip, &skip, &skip, &t) != 10 || !strcmp(name, "lo"))
			continue;
		*rx += r;
		*tx += t;
	}
	fclose(f);
	return true;
}

static void sample(struct target *t)
{
	cgroup_sample(&t->cg, &t->cur);
	t->have_net = t->st.egress && egress_totals(t->cg.id, t->st.cgroup_level, bpf_pins_find(t->st.bpf_pins, "egress"),
						    &t->net, NULL) == 0;
	t->have_io = net_io(&t->st, &t->rx_bytes, &t->tx_bytes);
	t->have_audit = t->st.audit &&
			audit_totals(t->cg.id, t->st.cgroup_level, bpf_pins_find(t->st.bpf_pins, "audit"),
				     &t->audit_events, &t->audit_lost) == 0;
}

static void human_bytes(uint64_t b, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)b;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.2f%s" : "%.0f%s", v, units[u]);
}

static double cpu_percent(const struct target *t)
{
	uint64_t dt = t->cur.when_ns - t->prev.when_ns;

	if (!t->cur.have_cpu || !dt || t->cur.cpu_usage_ns < t->prev.cpu_usage_ns)
		return 0;
	return 100.0 * (double)(t->cur.cpu_usage_ns - t->prev.cpu_usage_ns) / (double)dt;
}

static json_t *to_json(const struct target *t)
{
	const struct cgroup_sample *s = &t->cur;

	json_t *net = json_null(), *audit = json_null();

	if (t->have_net)
		net = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
			"allowed_packets", (json_int_t)t->net.allow_pkts, "allowed_bytes", (json_int_t)t->net.allow_bytes,
			"denied_packets", (json_int_t)t->net.deny_pkts, "denied_bytes", (json_int_t)t->net.deny_bytes,
			"denied_calls", (json_int_t)t->net.deny_calls, "events", (json_int_t)t->net.events,
			"events_lost", (json_int_t)t->net.events_lost, "events_limited", (json_int_t)t->net.events_limited);
	if (t->have_audit)
		audit = json_pack("{s:I,s:I}", "events", (json_int_t)t->audit_events,
				  "events_lost", (json_int_t)t->audit_lost);
	json_t *o = json_pack("{s:s,s:s,s:f,s:I,s:I,s:f,s:I,s:I,s:I,s:I,s:o,s:o}",
		"id", t->st.cfg.id, "name", t->st.cfg.name, "cpu_percent", cpu_percent(t),
		"memory_usage", (json_int_t)s->memory_usage, "memory_limit", (json_int_t)s->memory_limit,
		"memory_percent", s->memory_limit ? 100.0 * (double)s->memory_usage / (double)s->memory_limit : 0.0,
		"pids", (json_int_t)s->pids, "pids_limit", (json_int_t)s->pids_limit,
		"block_read", (json_int_t)s->blk_read, "block_write", (json_int_t)s->blk_write,
		"network", net, "audit", audit);

	json_object_set_new(o, "net_rx_bytes", t->have_io ? json_integer((json_int_t)t->rx_bytes) : json_null());
	json_object_set_new(o, "net_tx_bytes", t->have_io ? json_integer((json_int_t)t->tx_bytes) : json_null());
	return o;
}

static void print_table(struct target *t, size_t n, bool clear)
{
	struct text_table tbl = { .ncols = 10 };

	if (clear)
		fputs("\033[2J\033[H", stdout);
	text_table_add(&tbl, "CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "PIDS", "NET I/O", "BLOCK I/O",
		  "EGRESS ALLOWED / DENIED", "AUDIT EVENTS / LOST");
	for (size_t i = 0; i < n; i++) {
		const struct cgroup_sample *s = &t[i].cur;
		char mu[32], ml[32], br[32], bw[32], mem[72], blk[72], pct[16], id[13], cpu[16], pids[24], net[64];
		char aud[48], rx[32], tx[32], nio[72];

		snprintf(id, sizeof(id), "%.12s", t[i].st.cfg.id);
		if (!t[i].open) {
			text_table_add(&tbl, id, t[i].st.cfg.name, "--", "--", "--", "--", "--", "--", "--", "--");
			continue;
		}
		human_bytes(s->memory_usage, mu, sizeof(mu));
		if (s->memory_limit)
			human_bytes(s->memory_limit, ml, sizeof(ml));
		else
			snprintf(ml, sizeof(ml), "unlimited");
		snprintf(mem, sizeof(mem), "%s / %s", mu, ml);
		if (s->memory_limit)
			snprintf(pct, sizeof(pct), "%.2f%%", 100.0 * (double)s->memory_usage / (double)s->memory_limit);
		else
			snprintf(pct, sizeof(pct), "--");
		human_bytes(s->blk_read, br, sizeof(br));
		human_bytes(s->blk_write, bw, sizeof(bw));
		snprintf(blk, sizeof(blk), s->have_blk ? "%s / %s" : "--", br, bw);
		human_bytes(t[i].rx_bytes, rx, sizeof(rx));
		human_bytes(t[i].tx_bytes, tx, sizeof(tx));
		snprintf(nio, sizeof(nio), t[i].have_io ? "%s / %s" : "--", rx, tx);
		snprintf(cpu, sizeof(cpu), "%.2f%%", cpu_percent(&t[i]));
		snprintf(pids, sizeof(pids), "%llu", (unsigned long long)s->pids);
		if (t[i].have_net)
			snprintf(net, sizeof(net), "%llu / %llu pkts, %llu calls refused",
				 (unsigned long long)t[i].net.allow_pkts, (unsigned long long)t[i].net.deny_pkts,
				 (unsigned long long)t[i].net.deny_calls);
		else
			snprintf(net, sizeof(net), "no policy");
		if (t[i].have_audit)
			snprintf(aud, sizeof(aud), "%llu / %llu", (unsigned long long)t[i].audit_events,
				 (unsigned long long)t[i].audit_lost);
		else
			snprintf(aud, sizeof(aud), "--");
		text_table_add(&tbl, id, t[i].st.cfg.name, cpu, mem, pct, pids, nio, blk, net, aud);
	}
	text_table_print(&tbl, stdout);
	fflush(stdout);
}

int cmd_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "no-stream", no_argument, NULL, 'n' }, { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 },
	};
	bool stream = true, json = false;
	struct cgroup_host host;
	struct target *t = NULL;
	size_t n = 0;
	int c, status = 0;

	optind = 0;
	opterr = 0;
	while ((c = cli_getopt(argc, argv, "+h", opts)) != -1) {
		switch (c) {
		case 'n': stream = false; break;
		case 'j': json = true; break;
		case 'h': fputs(stats_help, stdout); return 0;
		default: return cli_usage_error("stats", "%s", cli_opterror());
		}
	}
	cgroup_host_detect(&host, NULL);
	if (optind < argc) {
		for (int i = optind; i < argc; i++) {
			t = xrealloc(t, (n + 1) * sizeof(*t));
			memset(&t[n], 0, sizeof(*t));
			if (cli_lookup(argv[i], &t[n].st) < 0) {
				status = EXIT_NO_CONTAINER;
				continue;
			}
			n++;
		}
		if (status) {
			for (size_t i = 0; i < n; i++)
				container_state_free(&t[i].st);
			free(t);
			return status;
		}
	} else {
		_cleanup_strv_ char **ids = NULL;

		container_gc();
		state_list(&ids, NULL);
		for (size_t i = 0; ids && ids[i]; i++) {
			t = xrealloc(t, (n + 1) * sizeof(*t));
			memset(&t[n], 0, sizeof(*t));
			if (state_read(ids[i], &t[n].st, NULL) < 0)
				continue;
			if (t[n].st.status != STATUS_RUNNING) {
				container_state_free(&t[n].st);
				continue;
			}
			n++;
		}
	}
	for (size_t i = 0; i < n; i++) {
		t[i].open = t[i].st.status == STATUS_RUNNING &&
			    cgroup_open(&t[i].cg, &host, t[i].st.cfg.id, NULL) == 0;
		if (t[i].open)
			sample(&t[i]);
	}
	for (;;) {
		struct timespec ts = { 0, stream ? 1000000000L - 1 : 500000000L };

		nanosleep(&ts, NULL);
		for (size_t i = 0; i < n; i++) {
			t[i].prev = t[i].cur;
			if (t[i].open)
				sample(&t[i]);
		}
		if (json) {
			json_t *arr = json_array();
			for (size_t i = 0; i < n; i++)
				if (t[i].open)
					json_array_append_new(arr, to_json(&t[i]));
			json_dumpf(arr, stdout, stream ? JSON_COMPACT : JSON_INDENT(2));
			putchar('\n');
			fflush(stdout);
			json_decref(arr);
		} else {
			print_table(t, n, stream && isatty(STDOUT_FILENO));
		}
		if (!stream)
			break;
	}
	for (size_t i = 0; i < n; i++) {
		if (t[i].open)
			cgroup_close(&t[i].cg);
		container_state_free(&t[i].st);
	}
	free(t);
	return 0;
}
