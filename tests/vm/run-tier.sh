#!/bin/bash
# The VM tier: one boot of Debian's kernel (pure cgroup v2, lsm=...,bpf)
# running the integration tests that matter on such a kernel, against the
# same nucleus binary. Last line: "vm: N passed, M failed".
set -u
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "$ROOT" && readlink -f "$BUILD")

# Tests that need python3, useradd or setpriv stay on the host tier; the
# guest has busybox, bash and what VM_BINARIES adds.
VM_TESTS=${VM_TESTS:-'^test_(pid_namespace|capabilities|no_new_privs|seccomp_(clone3|denies|socket|docker_profile_enforces|profile|unknown|builtin|attach)|hostname|only_|root_and_host|landlock_(policy_(replaces|missing|min)|denies|and_noexec)|masked|proc_tunables|sys_absent|dev_nodes|exit_|signals|container_dies|context_|workdir|env_loader|bad_input|cgroup_namespace|time_namespace|namespaces_differ|userns_maps|userns_host|memory_limit|oom_in_state|pids_limit|default_pids|cpu_quota|cpu_limits|io_limit_written|limit_flags|memlock|detach|stop_|kill_sends|rm_refuses|logs_follow|lookup_by|names_are|twenty|attach_runs|attach_to_rootless|crash_recovery|audit_(exec_connect|mount_and|outside|lifecycle|header|secrets|egress|tiny|tail_|seccomp_log)|init_(forwards|is_pid1|exit_statuses)|workspace_(exec_refusal|subtree|bind_context|landlock_execute|grant_that|allow_exec|attach))'}

payload=$(mktemp -d)
trap 'rm -rf "$payload"' EXIT
mkdir -p "$payload/build/tests" "$payload/tests"
cp "$BUILD/nucleus" "$payload/build/nucleus"
cp "$BUILD/tests/probe" "$payload/build/tests/probe"
cp -r "$ROOT/tests/integration" "$payload/tests/"
cp -r "$ROOT/config" "$payload/config"
mkdir -p "$payload/tests/fuzz/seeds/seccomp"
cp "$ROOT/tests/fuzz/seeds/seccomp/docker-default.json" "$payload/tests/fuzz/seeds/seccomp/"
cat > "$payload/vm-run.sh" <<SCRIPT
#!/bin/bash
cd /payload
echo "kernel \$(uname -r); cgroup: \$(stat -f -c %T /sys/fs/cgroup); lsm: \$(cat /sys/kernel/security/lsm)"
TESTS='$VM_TESTS' tests/integration/run.sh build 2>&1 | sed 's/^integration:/vm:/'
exit \${PIPESTATUS[0]}
SCRIPT
chmod +x "$payload/vm-run.sh"

"$ROOT/tests/vm/run" --timeout "${VM_TIMEOUT:-900}" --payload "$payload" \
	--modules brd --binaries "/usr/bin/readlink /usr/bin/stat /usr/bin/pgrep" -- /payload/vm-run.sh
