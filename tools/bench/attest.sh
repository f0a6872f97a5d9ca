#!/usr/bin/env bash
# Attestation: `nucleus rootfs verify` of a tree against `sha256sum -c` of
# the same manifest, in the same run. See docs/attestation.md.
#
#   tools/bench/attest.sh BUILD_DIR      (normally via: make bench)
#
# Builds a tree of >= 200 MB (BENCH_ATTEST_FILES files of 4 KiB to 1 MiB,
# most of them small, and BENCH_ATTEST_BIG files of 20 MiB; random content)
# in a temporary directory it removes, writes its manifest with `nucleus
# rootfs attest` (regular files only, so sha256sum reads every line), runs
# each verifier once to warm the page cache, then BENCH_ATTEST_ROUNDS
# interleaved rounds (the order alternates) of
#   nucleus rootfs verify DIR
#   NUCLEUS_SHA256=portable nucleus rootfs verify DIR   (without the CPU's
#                                                       SHA extensions)
#   (cd DIR && sha256sum -c --quiet .nucleus-rootfs-sha256)
# and prints the medians, the CPU time, the speed per core (bytes / CPU
# seconds) and the ratio of the medians.
#
# Writes BUILD_DIR/bench/attest.json; the last line printed is
#   bench-attest: bytes=… files=… threads=… nucleus=…ms sha256sum=…ms nucleus/sha256sum=…
set -euo pipefail

BUILD=$(cd "${1:?usage: attest.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/common.bash
source "$HERE/lib/common.bash"

bench_require python3 sha256sum
NUCLEUS=$BUILD/nucleus
[ -x "$NUCLEUS" ] || bench_die "attest: $NUCLEUS not built (make)"

FILES=${BENCH_ATTEST_FILES:-3000}
BIG=${BENCH_ATTEST_BIG:-4}
ROUNDS=${BENCH_ATTEST_ROUNDS:-5}
for v in FILES ROUNDS; do
  [ "${!v}" -ge 1 ] 2>/dev/null || bench_die "attest: $v must be a positive integer (got '${!v}')"
done
[ "$BIG" -ge 0 ] 2>/dev/null || bench_die "attest: BIG must be a non-negative integer (got '$BIG')"

OUT=$BUILD/bench
mkdir -p "$OUT"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/nucleus-bench-attest.XXXXXX")
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

bench_start "== attest: nucleus rootfs verify against sha256sum -c of the same manifest"

TREE=$WORK/tree
python3 - "$TREE" "$FILES" "$BIG" <<'EOF'
import os, random, sys
root, files, big = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(15)
for i in range(files):
    d = os.path.join(root, "d%02d" % (i % 37), "s%d" % (i % 5))
    os.makedirs(d, exist_ok=True)
    # 4 KiB to 1 MiB, most of them small (a distribution like a system's)
    size = int(4096 * 256 ** (rng.random() ** 3))
    with open(os.path.join(d, "f%05d" % i), "wb") as f:
        f.write(os.urandom(size))
for i in range(big):
    d = os.path.join(root, "big")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "b%d" % i), "wb") as f:
        for _ in range(20):
            f.write(os.urandom(1 << 20))

EOF
BYTES=$(find "$TREE" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
[ "$BYTES" -ge 200000000 ] || bench_warn "attest: the tree holds only $BYTES bytes (< 200 MB)"
"$NUCLEUS" rootfs attest "$TREE" >/dev/null || bench_die "attest: nucleus rootfs attest failed"
NFILES=$(wc -l < "$TREE/.nucleus-rootfs-sha256")
THREADS=$(( $(nproc) < 8 ? $(nproc) : 8 ))
bench_note "tree: $NFILES files, $BYTES bytes; $(nproc) CPUs online (nucleus hashes on $THREADS threads)"
bench_note "sha256sum: $(sha256sum --version | head -1); SHA extensions in this CPU: $(grep -qw sha_ni /proc/cpuinfo && echo yes || echo no)"

# The timing: wall clock and the children's CPU time of each run.
python3 - "$WORK/times.txt" "$ROUNDS" "$TREE" "$NUCLEUS" <<'EOF'
import os, resource, subprocess, sys, time
out, rounds, tree, nucleus = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
cmds = {
    "nucleus": ([nucleus, "rootfs", "verify", tree], None),
    "portable": ([nucleus, "rootfs", "verify", tree], None),
    "sha256sum": (["sha256sum", "-c", "--quiet", ".nucleus-rootfs-sha256"], tree),
}
def once(name):
    argv, cwd = cmds[name]
    env = dict(os.environ, NUCLEUS_SHA256="portable") if name == "portable" else None
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    t1 = time.monotonic()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.exit("attest: %s failed (%d): %s" % (name, p.returncode, p.stderr.decode(errors="replace")[:300]))
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return t1 - t0, cpu
for name in cmds:          # warm the page cache for both
    once(name)
with open(out, "w") as f:
    for i in range(rounds):
        order = ["nucleus", "portable", "sha256sum"]
        order = order if i % 2 == 0 else order[::-1]
        for name in order:
            wall, cpu = once(name)
            f.write("%s %d %.6f %.6f\n" % (name, i + 1, wall, cpu))
EOF

bench_check_load "at end" 1
python3 - "$WORK/times.txt" "$OUT/attest.json" "$BYTES" "$NFILES" "$THREADS" \
  "$(sha256sum --version | head -1)" "$(uname -r)" "$(nproc)" <<'EOF'
import json, statistics, sys
times_p, out_p, nbytes, nfiles, threads, sha_ver, kernel, cpus = sys.argv[1:]
nbytes, nfiles, threads, cpus = int(nbytes), int(nfiles), int(threads), int(cpus)
runs = {}
for line in open(times_p):
    name, rnd, wall, cpu = line.split()
    runs.setdefault(name, []).append((float(wall), float(cpu)))
res = {}
print()
print("%-10s %10s %10s %10s %14s %14s %4s" % ("verifier", "median_ms", "min_ms", "max_ms", "cpu_ms(median)",
      "MB/s per core", "n"))
for name in ("nucleus", "portable", "sha256sum"):
    w = sorted(x[0] for x in runs[name])
    c = statistics.median(x[1] for x in runs[name])
    per_core = nbytes / c / 1e6 if c else 0.0
    res[name] = {"median_ms": statistics.median(w) * 1e3, "min_ms": w[0] * 1e3, "max_ms": w[-1] * 1e3,
                 "cpu_ms_median": c * 1e3, "mb_per_s_per_core": per_core,
                 "mb_per_s": nbytes / statistics.median(w) / 1e6, "runs": len(w)}
    r = res[name]
    print("%-10s %10.1f %10.1f %10.1f %14.1f %14.0f %4d" % (name, r["median_ms"], r["min_ms"], r["max_ms"],
          r["cpu_ms_median"], per_core, r["runs"]))
ratio = res["nucleus"]["median_ms"] / res["sha256sum"]["median_ms"]
print()
ratio_p = res["portable"]["median_ms"] / res["sha256sum"]["median_ms"]
print("attest: nucleus/sha256sum = %.2f   (target <= 0.60; nucleus on %d threads, sha256sum on one)" % (ratio, threads))
print("attest: without the SHA extensions (NUCLEUS_SHA256=portable): nucleus/sha256sum = %.2f" % ratio_p)
summary = ("bench-attest: bytes=%d files=%d threads=%d nucleus=%.0fms sha256sum=%.0fms "
           "nucleus_mbps_per_core=%.0f sha256sum_mbps_per_core=%.0f nucleus/sha256sum=%.2f "
           "portable=%.0fms portable/sha256sum=%.2f") % (
    nbytes, nfiles, threads, res["nucleus"]["median_ms"], res["sha256sum"]["median_ms"],
    res["nucleus"]["mb_per_s_per_core"], res["sha256sum"]["mb_per_s_per_core"], ratio,
    res["portable"]["median_ms"], ratio_p)
doc = {"benchmark": "attest", "summary": summary,
       "meta": {"bytes": nbytes, "files": nfiles, "threads": threads, "cpus": cpus, "kernel": kernel,
                "sha256sum": sha_ver},
       "unit": "ms", "statistic": "median", "results": res, "ratio": ratio, "ratio_portable": ratio_p}
with open(out_p, "w") as f:
    json.dump(doc, f, indent=2, sort_keys=True)
    f.write("\n")
print()
print(summary)
EOF
