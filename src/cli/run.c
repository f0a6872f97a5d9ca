/* nucleus run: flags -> container_config -> container_run. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <string.h>
#include <nucleus/cli.h>
#include <nucleus/container.h>
#include <nucleus/resources.h>
#include <nucleus/security.h>

static const char run_help[] =
	"Usage: nucleus run [OPTIONS] [--] COMMAND [ARG...]\n"
	"\n"
	"Run COMMAND in a new container: fresh pid, mount, network, uts, ipc and cgroup\n"
	"namespaces, a read-only tmpfs root with the host's /usr, /bin, /lib (and /nix)\n"
	"bound read-only, no capabilities, no_new_privs, Landlock and seccomp.\n"
	"\n"
	"Options:\n"
	"      --name NAME                Name of the container (default: the short id)\n"
	"      --context DIR              Make DIR available at /context\n"
	"      --context-mode MODE        copy (default: a writable copy) or bind (read-only)\n"
	"      --allow-exec PATH          Let the workload run programs it finds or builds under\n"
	"                                 PATH: /tmp, /context, or a directory beneath them\n"
	"                                 (repeatable; by default only the read-only system\n"
	"                                 directories are executable)\n"
	"  -e, --env KEY[=VALUE]          Set an environment variable (KEY alone: the caller's\n"
	"                                 value); LD_* and GLIBC_TUNABLES are refused\n"
	"  -w, --workdir DIR              Working directory (default: /context with a\n"
	"                                 context, else /)\n"
	"      --hostname NAME            Hostname (default: the container name)\n"
	"  -u, --user NAME|UID[:GROUP|GID]\n"
	"                                 Run COMMAND (and --init's init, and 'attach') as\n"
	"                                 this user, after the privileged setup (default:\n"
	"                                 root). Names are looked up in --rootfs's\n"
	"                                 /etc/passwd and /etc/group, else the host's; a\n"
	"                                 number needs no entry. The group is the user's\n"
	"                                 from passwd (0 for a uid without an entry, as\n"
	"                                 docker), the supplementary groups the user's in\n"
	"                                 /etc/group; HOME is the entry's home unless -e\n"
	"                                 HOME is given (see docs/identity.md)\n"
	"      --group NAME|GID           The primary group instead (no memberships)\n"
	"      --additional-group NAME|GID\n"
	"                                 A supplementary group besides (repeatable).\n"
	"                                 --rootless maps one id: only 0 there\n"
	"  -t, --tty                      Allocate a pseudo-terminal (with -d, its output\n"
	"                                 goes to the log)\n"
	"  -i, --interactive              Keep stdin open. Foreground runs always pass stdin\n"
	"                                 on; with -d stdin is a pipe that stays open (nothing\n"
	"                                 is written to it), without -i it is /dev/null\n"
	"      --allow-memfd-exec         Let the workload execute memfds (by default\n"
	"                                 vm.memfd_noexec is 2 in its pid namespace)\n"
	"      --init                     Run a minimal init as pid 1 that reaps orphans and\n"
	"                                 forwards signals to COMMAND\n"
	"      --rootless                 Run in a user namespace mapping only the caller's\n"
	"                                 uid/gid to root (the default for non-root callers)\n"
	"      --userns                   As root: map container root to an unprivileged\n"
	"                                 host range (/etc/subuid, else 100000:65536)\n"
	"      --allow-chroot-fallback    Use chroot if pivot_root is refused (weaker)\n"
	"      --time-namespace           Give the container its own time namespace\n"
	"      --disable-cgroup-namespace Let the container see the host's cgroup paths\n"
	"      --require-cgroup           Fail instead of running without a cgroup\n"
	"  -d, --detach                   Run in the background; print the id. stdout and\n"
	"                                 stderr go to the container's log ('nucleus logs')\n"
	"      --rm                       With -d: remove the container when it exits\n"
	"                                 (foreground runs are always removed)\n"
	"      --log-opt KEY=VALUE        The log's cap, as docker's json-file: max-size=SIZE\n"
	"                                 (default 10m) and max-file=N (default 3): the log\n"
	"                                 is rotated as container.log.1 ... (repeatable)\n"
	"      --dry-run                  Parse and validate everything (the policies and the\n"
	"                                 seccomp profile loaded, their pins checked), print\n"
	"                                 the effective configuration as JSON (id all zeros)\n"
	"                                 and exit 0; no container is created\n"
	"\n"
	"Runtime (see docs/gvisor.md):\n"
	"      --runtime RUNTIME          native (default: nucleus's own namespaces, seccomp\n"
	"                                 and Landlock), gvisor (runsc, gVisor's application\n"
	"                                 kernel, on an OCI bundle made from these flags) or\n"
	"                                 oci:PATH (another OCI runtime, e.g. oci:runc, on\n"
	"                                 the same bundle)\n"
	"      --gvisor-platform NAME     runsc's platform (ptrace, kvm, systrap: those the\n"
	"                                 installed runsc offers); default: runsc's\n"
	"\n"
	"Service mode (see docs/production.md):\n"
	"      --service-mode MODE        agent (default: an ephemeral sandbox) or production:\n"
	"                                 a long-running service where every degradation is\n"
	"                                 fatal; requires --memory and root, forbids the\n"
	"                                 --allow-* flags and --seccomp-mode trace, turns on\n"
	"                                 --init, the audit trail, a deny-all egress policy\n"
	"                                 (unless --egress-allow), /proc hidepid=invisible\n"
	"                                 and needs Landlock ABI 3\n"
	"      --allow-degraded-security  Agent mode: a seccomp, Landlock or mount-audit\n"
	"                                 failure is a warning instead of an error\n"
	"      --trust-level LEVEL        trusted (default) or untrusted: the workload runs\n"
	"                                 under gVisor (implies --runtime gvisor; any other\n"
	"                                 runtime is refused)\n"
	"      --require-kernel-lockdown LEVEL\n"
	"                                 Refuse to start unless the kernel's lockdown is at\n"
	"                                 least integrity or confidentiality\n"
	"      --no-audit                 Production mode without its audit trail\n"
	"      --rootfs DIR               DIR read-only as / instead of the host's /usr, /bin,\n"
	"                                 /lib: any directory tree, or a Nix store path with\n"
	"                                 its closure at /nix/store (see docs/rootfs.md)\n"
	"      --verify-rootfs-attestation\n"
	"                                 Verify the mounted rootfs against its manifest\n"
	"                                 (.nucleus-rootfs-sha256: nucleus rootfs attest)\n"
	"      --rootfs-attestation-sha256 HEX\n"
	"                                 Refuse the manifest unless its SHA-256 is HEX\n"
	"                                 (implies --verify-rootfs-attestation)\n"
	"      --no-rootfs-attestation    Production mode without rootfs attestation\n"
	"      --verify-context-integrity Hash --context before launch and refuse to run\n"
	"                                 when the populated /context differs\n"
	"\n"
	"Secrets (see docs/secrets.md):\n"
	"      --secret SRC:DEST          The host file SRC as DEST: a 0400 file of the\n"
	"                                 workload user on a read-only tmpfs at\n"
	"                                 /run/secrets (DEST elsewhere: bound from there)\n"
	"      --systemd-credential NAME:DEST\n"
	"                                 The credential NAME of $CREDENTIALS_DIRECTORY,\n"
	"                                 as a --secret\n"
	"      --credentials-passthrough  Every credential of $CREDENTIALS_DIRECTORY in\n"
	"                                 /run/secrets/credentials, the workload's\n"
	"                                 CREDENTIALS_DIRECTORY\n"
	"\n"
	"Resources:\n"
	"      --memory SIZE              Memory limit (512K, 64M, 1G); swap off unless --swap\n"
	"      --swap                     Allow swap beyond --memory\n"
	"      --cpus N                   CPU quota in CPUs (0.5, 2)\n"
	"      --cpu-weight N             CPU weight, 1-10000 (default 100)\n"
	"      --pids N                   Process limit (default 512, 0: unlimited)\n"
	"      --io-limit SPEC            \"MAJ:MIN riops=N wiops=N rbps=SIZE wbps=SIZE\"\n"
	"                                 (repeatable)\n"
	"      --limits MODE              enforce (default): a limit flag that cannot be\n"
	"                                 applied (no cgroup, e.g. rootless) is an error;\n"
	"                                 best-effort: run without it, with a warning\n"
	"      --memlock SIZE             RLIMIT_MEMLOCK (default 64K)\n"
	"      --tmpfs-size SIZE          Size of /tmp, and how much a copied /context may grow\n"
	"                                 (default 1G, at most --memory)\n"
	"\n"
	"Volumes (see docs/volumes.md):\n"
	"  -v, --volume SRC:DEST[:OPTS]   Bind the host directory or file SRC (absolute,\n"
	"                                 not a symlink) at DEST, nosuid, nodev; OPTS,\n"
	"                                 comma-separated: ro or rw (default: rw in agent\n"
	"                                 mode, ro in production), exec (default noexec),\n"
	"                                 U (chown SRC recursively to the workload's\n"
	"                                 user; root only) (repeatable)\n"
	"      --tmpfs DEST[:OPTS]        A tmpfs at DEST, nosuid, nodev; OPTS,\n"
	"                                 comma-separated: size=SIZE (default 64M, at\n"
	"                                 most --memory), mode=OCTAL (default 1777), exec\n"
	"                                 (default noexec) (repeatable)\n"
	"\n"
	"Network (see docs/networking.md):\n"
	"      --network MODE             none (default: only lo), bridge (a veth on a host\n"
	"                                 bridge, NAT, IPv4 and IPv6) or host\n"
	"      --allow-host-network       Accept --network host\n"
	"      --bridge NAME              The host bridge (default nucleus0; created on first use)\n"
	"      --subnet CIDR              Its subnet, once per family (default 10.0.42.0/24 and\n"
	"                                 fd00:6e75:636c::/64)\n"
	"  -p, --publish [HOSTIP:]HOSTPORT:CONTPORT[/tcp|/udp]\n"
	"                                 Publish a container port on the host (repeatable;\n"
	"                                 ranges as 8000-8010:8000-8010)\n"
	"      --dns IP                   A resolver for resolv.conf (repeatable; bridge\n"
	"                                 default: 8.8.8.8, 8.8.4.4); under an egress policy\n"
	"                                 TCP/UDP 53 to it is always allowed\n"
	"      --dns-search DOMAIN        A search domain for resolv.conf (repeatable)\n"
	"      --add-host NAME:IP         Add a line to /etc/hosts (repeatable; IP\n"
	"                                 host-gateway: the bridge's gateway)\n"
	"      --hosts-file PATH          compose's: PATH bound read-only at /etc/hosts, the\n"
	"                                 container's names and --add-host lines kept in it\n"
	"                                 while it runs (docs/networking.md)\n"
	"\n"
	"Egress (enforced by BPF on the container's cgroup; see docs/egress.md):\n"
	"      --egress-allow CIDR        Allow connections to CIDR (repeatable; IPv4 or IPv6;\n"
	"                                 \"\" denies everything). Any egress flag makes the\n"
	"                                 default deny\n"
	"      --egress-tcp-port N        Only these TCP ports of the allowed CIDRs (repeatable)\n"
	"      --egress-udp-port N        Only these UDP ports of the allowed CIDRs (repeatable)\n"
	"\n"
	"Seccomp (see docs/seccomp.md):\n"
	"      --seccomp-profile FILE     An OCI/Docker JSON seccomp profile instead of the\n"
	"                                 built-in one\n"
	"      --seccomp-profile-sha256 HEX\n"
	"                                 Refuse the profile unless its SHA-256 is HEX\n"
	"      --seccomp-log-denied       Write each call the profile denies (its default\n"
	"                                 errno) to the audit log as seccomp_denied\n"
	"      --seccomp-mode MODE        enforce (default) or trace: record every syscall\n"
	"                                 the workload makes (BPF recorder), with an\n"
	"                                 allow-all filter\n"
	"      --seccomp-log FILE         Where trace mode writes what it recorded (NDJSON)\n"
	"\n"
	"Audit (see docs/audit.md):\n"
	"      --audit                    Record lifecycle, security setup and kernel events\n"
	"                                 (exec, connect, mount, ptrace, bpf, modules, id\n"
	"                                 changes, sensitive opens) for 'nucleus audit tail'\n"
	"      --audit-opt KEY=VALUE      The audit log's cap: max-size=SIZE (default 10m),\n"
	"                                 max-file=N (default 5) (repeatable)\n"
	"\n"
	"Policies (see docs/policies.md):\n"
	"      --caps-policy FILE         Capability sets from a TOML policy (default: none)\n"
	"      --caps-policy-sha256 HEX   Refuse the policy unless its SHA-256 is HEX\n"
	"      --landlock-policy FILE     Landlock rules from a TOML policy (replaces the\n"
	"                                 default rules)\n"
	"      --landlock-policy-sha256 HEX\n"
	"                                 Refuse the policy unless its SHA-256 is HEX\n"
	"\n"
	"Services (see docs/services.md):\n"
	"      --health-cmd CMD           A health check run in the container as the\n"
	"                                 container (attach's restrictions, its cgroup):\n"
	"                                 a string for /bin/sh -c, or a JSON array\n"
	"                                 '[\"pg_isready\",\"-U\",\"app\"]' run as is\n"
	"      --health-interval DURATION Between checks (default 30s; 1m30s, 500ms, or\n"
	"                                 seconds)\n"
	"      --health-timeout DURATION  A check running longer is killed with its\n"
	"                                 children and fails (default 30s)\n"
	"      --health-retries N         Consecutive failures that make it unhealthy\n"
	"                                 (default 3)\n"
	"      --health-start-period DURATION\n"
	"                                 Failures in this time after the start do not\n"
	"                                 count (default 0); the first success ends it\n"
	"      --health-start-interval DURATION\n"
	"                                 Between checks during the start period\n"
	"                                 (default 5s)\n"
	"      --no-healthcheck           No health check\n"
	"      --health-on-failure ACTION none (default), kill, restart or stop when the\n"
	"                                 container turns unhealthy\n"
	"      --restart POLICY           no (default), on-failure[:N], always or\n"
	"                                 unless-stopped: the supervisor restarts the\n"
	"                                 workload, with backoff, in the same cgroup,\n"
	"                                 BPF policy, network and state\n"
	"      --readiness-cmd CMD        A check run (as --health-cmd) until it first\n"
	"                                 passes: the container is then ready\n"
	"      --readiness-tcp PORT       Ready once the container accepts a TCP\n"
	"                                 connection on PORT (its own loopback)\n"
	"      --sd-notify[=MODE]         Under systemd ($NOTIFY_SOCKET): MAINPID is the\n"
	"                                 supervisor, READY=1 when the container is ready\n"
	"                                 (bare: the readiness check, else the health\n"
	"                                 check, else the start), container (when the\n"
	"                                 workload sends it, through\n"
	"                                 /run/notify/notify.sock), healthy or started;\n"
	"                                 STATUS=, STOPPING=1, WATCHDOG=1\n"
	"  -h, --help                     Show this help\n"
	"\n"
	"Signals: SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 sent to nucleus\n"
	"are passed to the container's pid 1. A pid 1 that neither handles nor ignores\n"
	"the signal (a command without handlers, which the kernel would not let it\n"
	"stop) ends the container as the signal would end an ordinary process, so\n"
	"Ctrl-C and kill work; with --init the init passes it on to COMMAND.\n"
	"\n"
	"The exit status is the command's; 128+N when it was killed by signal N;\n"
	"125 when nucleus failed, 126 when the command cannot be executed, 127 when it\n"
	"is not found.\n";

enum {
	OPT_NAME = 1000, OPT_CONTEXT, OPT_CONTEXT_MODE, OPT_HOSTNAME, OPT_ROOTLESS, OPT_USERNS,
	OPT_CHROOT, OPT_TIMENS, OPT_NO_CGNS, OPT_NETWORK, OPT_ALLOW_HOST_NET, OPT_REQUIRE_CG,
	OPT_RM, OPT_MEMORY, OPT_SWAP, OPT_CPUS, OPT_CPU_WEIGHT, OPT_PIDS, OPT_IO_LIMIT, OPT_MEMLOCK,
	OPT_CAPS_POLICY, OPT_CAPS_SHA, OPT_LL_POLICY, OPT_LL_SHA,
	OPT_EGRESS_ALLOW, OPT_EGRESS_TCP, OPT_EGRESS_UDP, OPT_DNS, OPT_SC_MODE, OPT_SC_LOG, OPT_AUDIT,
	OPT_SC_PROFILE, OPT_SC_SHA, OPT_SC_LOG_DENIED, OPT_BRIDGE, OPT_SUBNET, OPT_DNS_SEARCH, OPT_ADD_HOST, OPT_HOSTS_FILE,
	OPT_ALLOW_EXEC, OPT_INIT, OPT_MEMFD_EXEC, OPT_TMPFS_SIZE, OPT_LOG_OPT, OPT_AUDIT_OPT, OPT_LIMITS,
	OPT_SERVICE_MODE, OPT_DEGRADED, OPT_TRUST, OPT_LOCKDOWN, OPT_NO_AUDIT, OPT_ROOTFS, OPT_VERIFY_ATTEST,
	OPT_ATTEST_SHA, OPT_NO_ATTEST, OPT_VERIFY_CONTEXT, OPT_GROUP, OPT_ADD_GROUP,
	OPT_SECRET, OPT_CREDENTIAL, OPT_CRED_PASSTHROUGH,
	OPT_TMPFS,
	OPT_HEALTH_CMD, OPT_HEALTH_INTERVAL, OPT_HEALTH_TIMEOUT, OPT_HEALTH_RETRIES, OPT_HEALTH_START_PERIOD,
	OPT_HEALTH_START_INTERVAL, OPT_NO_HEALTHCHECK, OPT_HEALTH_ON_FAILURE, OPT_RESTART, OPT_READINESS_CMD,
	OPT_READINESS_TCP, OPT_SD_NOTIFY, OPT_RUNTIME, OPT_GVISOR_PLATFORM, OPT_DRY_RUN,
};

static const struct option run_opts[] = {
	{ "name", required_argument, NULL, OPT_NAME },
	{ "context", required_argument, NULL, OPT_CONTEXT },
	{ "context-mode", required_argument, NULL, OPT_CONTEXT_MODE },
	{ "allow-exec", required_argument, NULL, OPT_ALLOW_EXEC },
	{ "env", required_argument, NULL, 'e' },
	{ "workdir", required_argument, NULL, 'w' },
	{ "hostname", required_argument, NULL, OPT_HOSTNAME },
	{ "user", required_argument, NULL, 'u' },
	{ "group", required_argument, NULL, OPT_GROUP },
	{ "additional-group", required_argument, NULL, OPT_ADD_GROUP },
	{ "tty", no_argument, NULL, 't' },
	{ "init", no_argument, NULL, OPT_INIT },
	{ "allow-memfd-exec", no_argument, NULL, OPT_MEMFD_EXEC },
	{ "interactive", no_argument, NULL, 'i' },
	{ "network", required_argument, NULL, OPT_NETWORK },
	{ "allow-host-network", no_argument, NULL, OPT_ALLOW_HOST_NET },
	{ "bridge", required_argument, NULL, OPT_BRIDGE },
	{ "subnet", required_argument, NULL, OPT_SUBNET },
	{ "publish", required_argument, NULL, 'p' },
	{ "dns-search", required_argument, NULL, OPT_DNS_SEARCH },
	{ "add-host", required_argument, NULL, OPT_ADD_HOST },
	{ "hosts-file", required_argument, NULL, OPT_HOSTS_FILE },
	{ "rootless", no_argument, NULL, OPT_ROOTLESS },
	{ "userns", no_argument, NULL, OPT_USERNS },
	{ "allow-chroot-fallback", no_argument, NULL, OPT_CHROOT },
	{ "time-namespace", no_argument, NULL, OPT_TIMENS },
	{ "disable-cgroup-namespace", no_argument, NULL, OPT_NO_CGNS },
	{ "require-cgroup", no_argument, NULL, OPT_REQUIRE_CG },
	{ "detach", no_argument, NULL, 'd' },
	{ "rm", no_argument, NULL, OPT_RM },
	{ "log-opt", required_argument, NULL, OPT_LOG_OPT },
	{ "memory", required_argument, NULL, OPT_MEMORY },
	{ "swap", no_argument, NULL, OPT_SWAP },
	{ "cpus", required_argument, NULL, OPT_CPUS },
	{ "cpu-weight", required_argument, NULL, OPT_CPU_WEIGHT },
	{ "pids", required_argument, NULL, OPT_PIDS },
	{ "io-limit", required_argument, NULL, OPT_IO_LIMIT },
	{ "limits", required_argument, NULL, OPT_LIMITS },
	{ "memlock", required_argument, NULL, OPT_MEMLOCK },
	{ "tmpfs-size", required_argument, NULL, OPT_TMPFS_SIZE },
	{ "volume", required_argument, NULL, 'v' },
	{ "tmpfs", required_argument, NULL, OPT_TMPFS },
	{ "egress-allow", required_argument, NULL, OPT_EGRESS_ALLOW },
	{ "egress-tcp-port", required_argument, NULL, OPT_EGRESS_TCP },
	{ "egress-udp-port", required_argument, NULL, OPT_EGRESS_UDP },
	{ "dns", required_argument, NULL, OPT_DNS },
	{ "seccomp-mode", required_argument, NULL, OPT_SC_MODE },
	{ "seccomp-log", required_argument, NULL, OPT_SC_LOG },
	{ "audit", no_argument, NULL, OPT_AUDIT },
	{ "audit-opt", required_argument, NULL, OPT_AUDIT_OPT },
	{ "seccomp-profile", required_argument, NULL, OPT_SC_PROFILE },
	{ "seccomp-profile-sha256", required_argument, NULL, OPT_SC_SHA },
	{ "seccomp-log-denied", no_argument, NULL, OPT_SC_LOG_DENIED },
	{ "caps-policy", required_argument, NULL, OPT_CAPS_POLICY },
	{ "caps-policy-sha256", required_argument, NULL, OPT_CAPS_SHA },
	{ "landlock-policy", required_argument, NULL, OPT_LL_POLICY },
	{ "landlock-policy-sha256", required_argument, NULL, OPT_LL_SHA },
	{ "service-mode", required_argument, NULL, OPT_SERVICE_MODE },
	{ "allow-degraded-security", no_argument, NULL, OPT_DEGRADED },
	{ "trust-level", required_argument, NULL, OPT_TRUST },
	{ "runtime", required_argument, NULL, OPT_RUNTIME },
	{ "gvisor-platform", required_argument, NULL, OPT_GVISOR_PLATFORM },
	{ "require-kernel-lockdown", required_argument, NULL, OPT_LOCKDOWN },
	{ "no-audit", no_argument, NULL, OPT_NO_AUDIT },
	{ "rootfs", required_argument, NULL, OPT_ROOTFS },
	{ "verify-rootfs-attestation", no_argument, NULL, OPT_VERIFY_ATTEST },
	{ "rootfs-attestation-sha256", required_argument, NULL, OPT_ATTEST_SHA },
	{ "no-rootfs-attestation", no_argument, NULL, OPT_NO_ATTEST },
	{ "secret", required_argument, NULL, OPT_SECRET },
	{ "systemd-credential", required_argument, NULL, OPT_CREDENTIAL },
	{ "credentials-passthrough", no_argument, NULL, OPT_CRED_PASSTHROUGH },
	{ "verify-context-integrity", no_argument, NULL, OPT_VERIFY_CONTEXT },
	{ "health-cmd", required_argument, NULL, OPT_HEALTH_CMD },
	{ "health-interval", required_argument, NULL, OPT_HEALTH_INTERVAL },
	{ "health-timeout", required_argument, NULL, OPT_HEALTH_TIMEOUT },
	{ "health-retries", required_argument, NULL, OPT_HEALTH_RETRIES },
	{ "health-start-period", required_argument, NULL, OPT_HEALTH_START_PERIOD },
	{ "health-start-interval", required_argument, NULL, OPT_HEALTH_START_INTERVAL },
	{ "no-healthcheck", no_argument, NULL, OPT_NO_HEALTHCHECK },
	{ "health-on-failure", required_argument, NULL, OPT_HEALTH_ON_FAILURE },
	{ "restart", required_argument, NULL, OPT_RESTART },
	{ "readiness-cmd", required_argument, NULL, OPT_READINESS_CMD },
	{ "readiness-tcp", required_argument, NULL, OPT_READINESS_TCP },
	{ "sd-notify", optional_argument, NULL, OPT_SD_NOTIFY },
	{ "dry-run", no_argument, NULL, OPT_DRY_RUN },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* --dry-run: not part of the configuration (compose's services never set
 * it); cmd_run reads it after the parse. */
static bool dry_run;

/* The flags of cfg->svc (service supervision). */
static int service_flag(struct container_config *cfg, int c, const char *arg, struct nerr *err)
{
	struct service_config *s = &cfg->svc;
	struct health_config *h = &s->health;
	uint64_t v;
	int r = 0;

	switch (c) {
	case OPT_HEALTH_CMD:
		return service_probe_parse(arg, &h->probe, err) < 0 ? nerr_prefix(err, "--health-cmd") : 0;
	case OPT_HEALTH_INTERVAL:
		return service_duration_parse(arg, &h->interval_ns, err) < 0 ? nerr_prefix(err, "--health-interval") : 0;
	case OPT_HEALTH_TIMEOUT:
		return service_duration_parse(arg, &h->timeout_ns, err) < 0 ? nerr_prefix(err, "--health-timeout") : 0;
	case OPT_HEALTH_START_PERIOD:
		r = service_duration_parse(arg, &h->start_period_ns, err);
		return r < 0 ? nerr_prefix(err, "--health-start-period") : 0;
	case OPT_HEALTH_START_INTERVAL:
		r = service_duration_parse(arg, &h->start_interval_ns, err);
		return r < 0 ? nerr_prefix(err, "--health-start-interval") : 0;
	case OPT_HEALTH_RETRIES:
		if (parse_u64(arg, 1, 1000000, &v) < 0)
			return nerr_set(err, 0, "invalid --health-retries `%s` (a number from 1)", arg);
		h->retries = (unsigned)v;
		return 0;
	case OPT_NO_HEALTHCHECK:
		h->disabled = true;
		return 0;
	case OPT_HEALTH_ON_FAILURE:
		r = service_health_action_parse(arg, &h->on_failure, err);
		return r < 0 ? nerr_prefix(err, "--health-on-failure") : 0;
	case OPT_RESTART:
		return service_restart_parse(arg, &s->restart, &s->restart_max, err) < 0 ? nerr_prefix(err, "--restart") : 0;
	case OPT_READINESS_CMD:
		return service_probe_parse(arg, &s->readiness, err) < 0 ? nerr_prefix(err, "--readiness-cmd") : 0;
	case OPT_READINESS_TCP:
		if (parse_u64(arg, 1, 65535, &v) < 0)
			return nerr_set(err, 0, "invalid --readiness-tcp `%s` (a port, 1-65535)", arg);
		s->readiness_tcp = (uint16_t)v;
		return 0;
	case OPT_SD_NOTIFY:
		if (!arg) {
			s->sd_notify = SD_NOTIFY_READY;
			return 0;
		}
		return service_sd_notify_parse(arg, &s->sd_notify, err) < 0 ? nerr_prefix(err, "--sd-notify") : 0;
	}
	return nerr_set(err, EINVAL, "unknown service flag");
}

/* The config owns its strings: a flag given again replaces the value. */
static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

/* One of the -e arguments sets `name` ("NAME" or "NAME=..."). */
static bool env_names(char *const *args, const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; args && args[i]; i++)
		if (!strncmp(args[i], name, n) && (args[i][n] == '=' || !args[i][n]))
			return true;
	return false;
}

bool run_flag_takes_value(const char *arg)
{
	static const char with_value[] = "ewpuv";   /* the short options' string above */

	if (arg[0] != '-' || !arg[1])
		return false;
	if (arg[1] == '-') {
		if (strchr(arg, '='))
			return false;
		for (size_t i = 0; run_opts[i].name; i++)
			if (!strcmp(arg + 2, run_opts[i].name))
				return run_opts[i].has_arg == required_argument;
		return false;
	}
	/* a cluster (-ti, -e): the value is the next word when the flag
	 * taking one ends it */
	for (const char *f = arg + 1; *f; f++)
		if (strchr(with_value, *f))
			return !f[1];
	return false;
}

/* Parse argv into cfg. Returns 0, 1 for --help, or <0 with err set. */
int run_parse_args(int argc, char **argv, struct container_config *cfg, struct nerr *err)
{
	char **user_env = NULL;
	bool runtime_given = false;
	uint64_t v;
	int c, r = 0;

	optind = 0;   /* full re-initialisation: the parser may run more than once */
	opterr = 0;
	dry_run = false;
	while ((c = cli_getopt(argc, argv, "+:e:w:tihdp:u:v:", run_opts)) != -1) {
		switch (c) {
		case OPT_NAME:
			if (strlen(optarg) >= sizeof(cfg->name)) {
				r = nerr_set(err, 0, "container name `%s` is too long", optarg);
				goto out;
			}
			strcpy(cfg->name, optarg);
			break;
		case OPT_CONTEXT:
			set_str(&cfg->fs.context, optarg);
			break;
		case OPT_CONTEXT_MODE:
			if (!strcmp(optarg, "copy"))
				cfg->fs.context_mode = CONTEXT_COPY;
			else if (!strcmp(optarg, "bind"))
				cfg->fs.context_mode = CONTEXT_BIND;
			else {
				r = nerr_set(err, 0, "invalid --context-mode `%s` (copy or bind)", optarg);
				goto out;
			}
			break;
		case OPT_ALLOW_EXEC: {
			char *p;

			if ((r = exec_path_parse(optarg, &p, err)) < 0)
				goto out;
			strv_push_take(&cfg->fs.allow_exec, p);
			break;
		}
		case 'e':
			strv_push(&user_env, optarg);
			break;
		case 'w':
			set_str(&cfg->proc.workdir, optarg);
			break;
		case OPT_HOSTNAME:
			set_str(&cfg->proc.hostname, optarg);
			break;
		case 'u':
			set_str(&cfg->proc.identity.user, optarg);
			break;
		case OPT_GROUP:
			set_str(&cfg->proc.identity.group, optarg);
			break;
		case OPT_ADD_GROUP:
			strv_push(&cfg->proc.identity.additional_groups, optarg);
			break;
		case 't':
			cfg->proc.tty = true;
			break;
		case OPT_INIT:
			cfg->proc.init = true;
			break;
		case OPT_MEMFD_EXEC:
			cfg->sec.allow_memfd_exec = true;
			break;
		case 'i':
			cfg->proc.interactive = true;
			break;
		case OPT_NETWORK:
			if (!strcmp(optarg, "none"))
				cfg->net.mode = NETWORK_NONE;
			else if (!strcmp(optarg, "host"))
				cfg->net.mode = NETWORK_HOST;
			else if (!strcmp(optarg, "bridge"))
				cfg->net.mode = NETWORK_BRIDGE;
			else {
				r = nerr_set(err, 0, "invalid --network `%s` (none, bridge or host)", optarg);
				goto out;
			}
			break;
		case OPT_ALLOW_HOST_NET:
			cfg->net.allow_host_network = true;
			break;
		case OPT_BRIDGE:
			cfg->net.bridge_flags = true;
			if ((r = bridge_config_set_name(&cfg->net.bridge, optarg, err)) < 0) {
				r = nerr_prefix(err, "--bridge");
				goto out;
			}
			break;
		case OPT_SUBNET:
			cfg->net.bridge_flags = true;
			if ((r = bridge_config_add_subnet(&cfg->net.bridge, optarg, err)) < 0) {
				r = nerr_prefix(err, "--subnet");
				goto out;
			}
			break;
		case 'p':
			cfg->net.bridge_flags = true;
			if ((r = bridge_config_add_port(&cfg->net.bridge, optarg, err)) < 0) {
				r = nerr_prefix(err, "-p");
				goto out;
			}
			break;
		case OPT_DNS_SEARCH:
			if ((r = dns_search_check(optarg, err)) < 0) {
				r = nerr_prefix(err, "--dns-search");
				goto out;
			}
			strv_push(&cfg->net.dns_search, optarg);
			break;
		case OPT_ADD_HOST:
			strv_push(&cfg->net.add_hosts, optarg);
			break;
		case OPT_HOSTS_FILE:
			free(cfg->net.hosts_file);
			cfg->net.hosts_file = xstrdup(optarg);
			break;
		case OPT_ROOTLESS:
			cfg->ns.rootless = true;
			break;
		case OPT_USERNS:
			cfg->ns.userns = true;
			break;
		case OPT_CHROOT:
			cfg->fs.allow_chroot_fallback = true;
			break;
		case OPT_TIMENS:
			cfg->ns.time = true;
			break;
		case OPT_NO_CGNS:
			cfg->ns.cgroup = false;
			break;
		case OPT_REQUIRE_CG:
			cfg->res.require_cgroup = true;
			break;
		case 'd':
			cfg->detach = true;
			break;
		case OPT_RM:
			cfg->remove = true;
			break;
		case OPT_LOG_OPT:
			if ((r = log_opt_parse(&cfg->audit.log_opts, optarg, "--log-opt", err)) < 0)
				goto out;
			break;
		case OPT_AUDIT_OPT:
			if ((r = log_opt_parse(&cfg->audit.audit_opts, optarg, "--audit-opt", err)) < 0)
				goto out;
			break;
		case OPT_MEMORY:
			if (parse_size(optarg, &v) < 0 || v < 4096) {
				r = nerr_set(err, 0, "invalid --memory `%s`: expected a size such as 512K, 64M or 1G "
						 "(at least 4K)", optarg);
				goto out;
			}
			cfg->res.limits.memory_max = v;
			cfg->res.limits.given |= LIMIT_MEMORY;
			break;
		case OPT_SWAP:
			cfg->res.limits.swap = true;
			break;
		case OPT_CPUS:
			if ((r = cpus_parse(optarg, &cfg->res.limits.cpu_quota_us, &cfg->res.limits.cpu_period_us, err)) < 0)
				goto out;
			cfg->res.limits.given |= LIMIT_CPUS;
			break;
		case OPT_CPU_WEIGHT:
			if (parse_u64(optarg, 1, 10000, &v) < 0) {
				r = nerr_set(err, 0, "invalid --cpu-weight `%s`: expected 1 to 10000", optarg);
				goto out;
			}
			cfg->res.limits.cpu_weight = v;
			cfg->res.limits.given |= LIMIT_CPU_WEIGHT;
			break;
		case OPT_PIDS:
			if (parse_u64(optarg, 0, 4194304, &v) < 0) {
				r = nerr_set(err, 0, "invalid --pids `%s`: expected a number (0: unlimited)", optarg);
				goto out;
			}
			cfg->res.limits.pids_max = v;
			cfg->res.limits.given |= LIMIT_PIDS;
			break;
		case OPT_IO_LIMIT: {
			struct io_limit io;

			if ((r = io_limit_parse(optarg, &io, err)) < 0)
				goto out;
			cfg->res.limits.io = xrealloc(cfg->res.limits.io, (cfg->res.limits.nio + 1) * sizeof(io));
			cfg->res.limits.io[cfg->res.limits.nio++] = io;
			cfg->res.limits.given |= LIMIT_IO;
			break;
		}
		case OPT_LIMITS:
			if (strcmp(optarg, "enforce") && strcmp(optarg, "best-effort")) {
				r = nerr_set(err, 0, "invalid --limits `%s` (enforce or best-effort)", optarg);
				goto out;
			}
			cfg->res.limits.best_effort = !strcmp(optarg, "best-effort");
			break;
		case OPT_MEMLOCK:
			if (parse_size(optarg, &v) < 0) {
				r = nerr_set(err, 0, "invalid --memlock `%s`: expected a size such as 64K or 8M", optarg);
				goto out;
			}
			cfg->res.rlimits.memlock = v;
			break;
		case OPT_TMPFS_SIZE:
			if (parse_size(optarg, &v) < 0 || v < 4096) {
				r = nerr_set(err, 0, "invalid --tmpfs-size `%s`: expected a size such as 64M or 1G "
						 "(at least 4K)", optarg);
				goto out;
			}
			cfg->fs.tmpfs_size = v;
			break;
		case 'v': {
			struct fs_volume vol;

			if ((r = fs_volume_parse(optarg, &vol, err)) < 0)
				goto out;
			cfg->fs.volumes = xrealloc(cfg->fs.volumes, (cfg->fs.n_volumes + 1) * sizeof(vol));
			cfg->fs.volumes[cfg->fs.n_volumes++] = vol;
			break;
		}
		case OPT_TMPFS: {
			struct fs_tmpfs t;

			if ((r = fs_tmpfs_parse(optarg, &t, err)) < 0)
				goto out;
			cfg->fs.tmpfs = xrealloc(cfg->fs.tmpfs, (cfg->fs.n_tmpfs + 1) * sizeof(t));
			cfg->fs.tmpfs[cfg->fs.n_tmpfs++] = t;
			break;
		}
		case OPT_EGRESS_ALLOW:
			if ((r = egress_add_allow(&cfg->net.egress, optarg, err)) < 0) {
				r = nerr_prefix(err, "--egress-allow");
				goto out;
			}
			break;
		case OPT_EGRESS_TCP:
		case OPT_EGRESS_UDP:
			if ((r = egress_add_port(&cfg->net.egress, c == OPT_EGRESS_TCP, optarg, err)) < 0) {
				r = nerr_prefix(err, "--egress-%s-port", c == OPT_EGRESS_TCP ? "tcp" : "udp");
				goto out;
			}
			break;
		case OPT_DNS:
			if ((r = egress_add_dns(&cfg->net.egress, optarg, err)) < 0) {
				r = nerr_prefix(err, "--dns");
				goto out;
			}
			strv_push(&cfg->net.dns, optarg);
			break;
		case OPT_SC_MODE:
			if (!strcmp(optarg, "trace"))
				cfg->sec.seccomp_trace = true;
			else if (!strcmp(optarg, "enforce"))
				cfg->sec.seccomp_trace = false;
			else {
				r = nerr_set(err, 0, "invalid --seccomp-mode `%s` (enforce or trace)", optarg);
				goto out;
			}
			break;
		case OPT_SC_LOG:
			set_str(&cfg->sec.seccomp_log, optarg);
			break;
		case OPT_AUDIT:
			cfg->audit.enabled = true;
			break;
		case OPT_SC_PROFILE:
			set_str(&cfg->sec.seccomp_profile, optarg);
			break;
		case OPT_SC_SHA:
			set_str(&cfg->sec.seccomp_profile_sha256, optarg);
			break;
		case OPT_SC_LOG_DENIED:
			cfg->sec.seccomp_log_denied = true;
			break;
		case OPT_CAPS_POLICY:
			set_str(&cfg->sec.caps_policy, optarg);
			break;
		case OPT_CAPS_SHA:
			set_str(&cfg->sec.caps_policy_sha256, optarg);
			break;
		case OPT_LL_POLICY:
			set_str(&cfg->sec.landlock_policy, optarg);
			break;
		case OPT_LL_SHA:
			set_str(&cfg->sec.landlock_policy_sha256, optarg);
			break;
		case OPT_SERVICE_MODE:
			if (!strcmp(optarg, "agent"))
				cfg->mode = MODE_AGENT;
			else if (!strcmp(optarg, "production"))
				cfg->mode = MODE_PRODUCTION;
			else {
				r = nerr_set(err, 0, "invalid --service-mode `%s` (agent or production)", optarg);
				goto out;
			}
			break;
		case OPT_DEGRADED:
			cfg->sec.allow_degraded = true;
			break;
		case OPT_TRUST:
			if (!strcmp(optarg, "trusted"))
				cfg->sec.trust = TRUST_TRUSTED;
			else if (!strcmp(optarg, "untrusted"))
				cfg->sec.trust = TRUST_UNTRUSTED;
			else {
				r = nerr_set(err, 0, "invalid --trust-level `%s` (trusted or untrusted)", optarg);
				goto out;
			}
			break;
		case OPT_RUNTIME:
			if ((r = runtime_parse(optarg, &cfg->rt, err)) < 0) {
				nerr_prefix(err, "--runtime");
				goto out;
			}
			runtime_given = true;
			break;
		case OPT_GVISOR_PLATFORM:
			set_str(&cfg->rt.platform, optarg);
			break;
		case OPT_LOCKDOWN:
			if (!strcmp(optarg, "integrity"))
				cfg->sec.require_lockdown = LOCKDOWN_INTEGRITY;
			else if (!strcmp(optarg, "confidentiality"))
				cfg->sec.require_lockdown = LOCKDOWN_CONFIDENTIALITY;
			else {
				r = nerr_set(err, 0, "invalid --require-kernel-lockdown `%s` (integrity or "
						 "confidentiality)", optarg);
				goto out;
			}
			break;
		case OPT_NO_AUDIT:
			cfg->audit.opt_out = true;
			break;
		case OPT_ROOTFS:
			set_str(&cfg->fs.rootfs, optarg);
			break;
		case OPT_VERIFY_ATTEST:
			cfg->fs.verify_attestation = true;
			break;
		case OPT_ATTEST_SHA:
			set_str(&cfg->fs.attestation_sha256, optarg);
			break;
		case OPT_NO_ATTEST:
			cfg->fs.no_attestation = true;
			break;
		case OPT_VERIFY_CONTEXT:
			cfg->fs.verify_context = true;
			break;
		case OPT_SECRET:
		case OPT_CREDENTIAL:
			if ((r = container_secret_add(cfg, c == OPT_CREDENTIAL, optarg, err)) < 0)
				goto out;
			break;
		case OPT_CRED_PASSTHROUGH:
			cfg->fs.credentials_passthrough = true;
			break;
		case OPT_DRY_RUN:
			dry_run = true;
			break;
		case OPT_HEALTH_CMD: case OPT_HEALTH_INTERVAL: case OPT_HEALTH_TIMEOUT: case OPT_HEALTH_RETRIES:
		case OPT_HEALTH_START_PERIOD: case OPT_HEALTH_START_INTERVAL: case OPT_NO_HEALTHCHECK:
		case OPT_HEALTH_ON_FAILURE: case OPT_RESTART: case OPT_READINESS_CMD: case OPT_READINESS_TCP:
		case OPT_SD_NOTIFY:
			if ((r = service_flag(cfg, c, optarg, err)) < 0)
				goto out;
			break;
		case 'h':
			r = 1;
			goto out;
		case ':':
			r = nerr_set(err, 0, "flag `%s` needs a value", argv[optind - 1]);
			goto out;
		default:
			r = nerr_set(err, 0, "%s", cli_opterror());
			goto out;
		}
	}
	for (int i = optind; i < argc; i++)
		strv_push(&cfg->proc.argv, argv[i]);
	env_defaults(&cfg->proc.env, cfg->proc.tty);
	for (size_t i = 0; user_env && user_env[i]; i++)
		if ((r = env_add(&cfg->proc.env, user_env[i], err)) < 0)
			goto out;
	/* an untrusted workload gets the application kernel without asking */
	if (cfg->sec.trust == TRUST_UNTRUSTED && !runtime_given)
		cfg->rt.kind = RUNTIME_GVISOR;
	/* An ordinary user gets a user namespace without asking, as with podman. */
	if (geteuid() != 0 && !cfg->ns.userns)
		cfg->ns.rootless = true;
	if ((r = container_config_validate(cfg, err)) < 0)
		goto out;
	/* docker: HOME from the user's passwd entry, unless -e HOME */
	if (cfg->proc.identity.home && !env_names(user_env, "HOME")) {
		_cleanup_free_ char *home = xasprintf("HOME=%s", cfg->proc.identity.home);

		r = env_add(&cfg->proc.env, home, err);
	}
out:
	strv_free(user_env);
	return r;
}

/* The effective configuration, as the state would store it; the id is a
 * fixed all-zero one, since nothing exists to name. The seccomp profile is
 * compiled as the run would (its pin checked on the bytes): a unit whose
 * profile does not match fails here, not at boot. */
static int dry_run_print(struct container_config *cfg)
{
	struct sc_program prog = { 0 };
	struct nerr err = { 0 };
	json_t *j;
	char *text;
	int r;

	r = container_seccomp_prepare(cfg->sec.seccomp_trace, cfg->sec.seccomp_profile, cfg->sec.seccomp_profile_sha256,
				      cfg->sec.caps.bounding, cfg->sec.seccomp_log_denied ? SC_FLAG_NOTIFY_DENIED : 0,
				      true, &prog, &err);
	sc_program_free(&prog);
	if (r < 0) {
		container_config_free(cfg);
		return cli_fail(&err);
	}
	memset(cfg->id, '0', sizeof(cfg->id) - 1);
	cfg->id[sizeof(cfg->id) - 1] = 0;
	j = container_config_to_json(cfg);
	text = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(j);
	container_config_free(cfg);
	if (!text) {
		fputs("nucleus: run --dry-run: the configuration cannot be written as JSON\n", stderr);
		return EXIT_RUNTIME;
	}
	puts(text);
	free(text);
	return 0;
}

int cmd_run(int argc, char **argv)
{
	struct container_config cfg;
	struct nerr err = { 0 };
	int exit_code = EXIT_RUNTIME, r;

	container_config_init(&cfg);
	r = run_parse_args(argc, argv, &cfg, &err);
	if (r == 1) {
		fputs(run_help, stdout);
		container_config_free(&cfg);
		return 0;
	}
	if (r < 0) {
		fprintf(stderr, "nucleus: run: %s (see 'nucleus run --help')\n", err.msg);
		container_config_free(&cfg);
		return EXIT_RUNTIME;
	}
	if (container_config_load_policies(&cfg, &err) < 0) {
		container_config_free(&cfg);
		return cli_fail(&err);
	}
	if (dry_run)
		return dry_run_print(&cfg);
	if (random_id(cfg.id) < 0) {
		nerr_set(&err, errno, "getrandom");
		container_config_free(&cfg);
		return cli_fail(&err);
	}
	if (cfg.detach) {
		r = container_run_detached(&cfg, &exit_code, &err);
		if (r == 0 && !err.code)
			printf("%s\n", cfg.id);
	} else {
		r = container_run(&cfg, &exit_code, &err);
	}
	if (r < 0)
		exit_code = cli_fail(&err);
	else if (err.code)
		fprintf(stderr, "nucleus: %s\n", err.msg);   /* 126/127 */
	container_config_free(&cfg);
	return exit_code;
}
