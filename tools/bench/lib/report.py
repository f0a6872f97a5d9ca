#!/usr/bin/env python3
"""Merge hyperfine JSON exports from several rounds and report them.

  report.py --label NAME --order FILE --primary P --peer A --peer B
            [--rss FILE] [--meta FILE] --json OUT  HYPERFINE_JSON...

--order    lines "name<TAB>command": the runners, in the order to print them
--rss      lines "name kib": peak RSS samples (any number per name)
--meta     a JSON object copied into OUT under "meta"

Every sample (hyperfine's per-run wall times) of a runner, from every round,
goes into one pool; the median and the 90th percentile are taken over that
pool. Each runner's median is divided by each peer's median from the same
pool, so every ratio compares figures measured in the same run. Prints a
table, then the RSS lines, then one summary line:

  bench-NAME: P=X.XXms A=Y.YYms B=Z.ZZms P/A=R1 P/B=R2
"""
import argparse
import json
import math
import os
import re
import statistics
import sys


def percentile(sorted_vals, q):
    """Nearest-rank percentile: the smallest sample with at least q% of the
    samples at or below it."""
    rank = max(1, math.ceil(q / 100.0 * len(sorted_vals)))
    return sorted_vals[rank - 1]


def fmt_ratio(x):
    return "n/a" if x is None else "%.2f" % x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--label", required=True)
    ap.add_argument("--order", required=True)
    ap.add_argument("--primary", required=True)
    ap.add_argument("--peer", action="append", default=[])
    ap.add_argument("--ratio", action="append", default=[],
                    help="A/B: also print the ratio of two runners' medians")
    ap.add_argument("--rss")
    ap.add_argument("--meta")
    ap.add_argument("--json", required=True)
    ap.add_argument("exports", nargs="*")
    a = ap.parse_args()

    order, cmds = [], {}
    with open(a.order) as f:
        for line in f:
            line = line.rstrip("\n")
            if line:
                name, cmd = line.split("\t", 1)
                order.append(name)
                cmds[name] = cmd

    samples = {n: [] for n in order}
    rounds = {}   # round id -> name -> samples of that round
    for i, path in enumerate(a.exports):
        m = re.search(r"round(\d+)", os.path.basename(path))
        rid = int(m.group(1)) if m else -1 - i
        with open(path) as f:
            for res in json.load(f)["results"]:
                samples.setdefault(res["command"], []).extend(res["times"])
                rounds.setdefault(rid, {}).setdefault(res["command"], []).extend(res["times"])

    stats = {}
    for name in order:
        t = sorted(samples.get(name) or [])
        if not t:
            continue
        stats[name] = {
            "command": cmds[name],
            "n": len(t),
            "median_ms": statistics.median(t) * 1e3,
            "p90_ms": percentile(t, 90) * 1e3,
            "mean_ms": statistics.fmean(t) * 1e3,
            "min_ms": t[0] * 1e3,
            "max_ms": t[-1] * 1e3,
        }
    for name, s in stats.items():
        s["ratio"] = {}
        for peer in a.peer:
            p = stats.get(peer)
            s["ratio"][peer] = (s["median_ms"] / p["median_ms"]) if p else None

    width = max([len(n) for n in order] + [6])
    head = "%-*s %9s %9s %5s" % (width, "runner", "median_ms", "p90_ms", "n")
    head += "".join(" %16s" % ("/" + p) for p in a.peer)
    print(head)
    for name in order:
        s = stats.get(name)
        if not s:
            print("%-*s %9s %9s %5s%s" % (width, name, "-", "-", "0",
                                           "".join(" %16s" % "n/a" for _ in a.peer)))
            continue
        line = "%-*s %9.2f %9.2f %5d" % (width, name, s["median_ms"], s["p90_ms"], s["n"])
        line += "".join(" %16s" % fmt_ratio(s["ratio"][p]) for p in a.peer)
        print(line)

    # The primary's ratio to each peer, round by round: how much a ratio moves
    # between rounds shows how much the machine's noise moved it.
    per_round = {}
    for peer in a.peer:
        vals = []
        for rid in sorted(rounds):
            r = rounds[rid]
            if r.get(a.primary) and r.get(peer):
                vals.append(statistics.median(r[a.primary]) / statistics.median(r[peer]))
        if vals:
            per_round[peer] = vals
    if per_round:
        print()
        for peer, vals in per_round.items():
            print("%s/%s per round: %s (spread %.2f..%.2f over %d rounds)"
                  % (a.primary, peer, " ".join("%.2f" % v for v in vals),
                     min(vals), max(vals), len(vals)))

    rss = {}
    if a.rss:
        raw = {}
        with open(a.rss) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2:
                    raw.setdefault(parts[0], []).append(int(parts[1]))
        for name in order:
            if name in raw:
                v = sorted(raw[name])
                rss[name] = {"n": len(v), "median_kib": statistics.median(v),
                             "max_kib": v[-1]}
        if rss:
            print()
            print("peak RSS (ru_maxrss from wait4, median of runs):")
            base = rss.get(a.primary)
            for name in order:
                if name not in rss:
                    continue
                r = rss[name]
                extra = ""
                if base and name != a.primary:
                    r["primary_ratio"] = base["median_kib"] / r["median_kib"]
                    extra = "  %s/%s=%.2f" % (a.primary, name, r["primary_ratio"])
                print("  %-*s %8.0f KiB (n=%d, max %d)%s"
                      % (width, name, r["median_kib"], r["n"], r["max_kib"], extra))

    summary = "bench-%s:" % a.label
    for name in [a.primary] + a.peer:
        s = stats.get(name)
        summary += " %s=%s" % (name, ("%.2fms" % s["median_ms"]) if s else "n/a")
    prim = stats.get(a.primary)
    for peer in a.peer:
        r = prim["ratio"][peer] if prim else None
        summary += " %s/%s=%s" % (a.primary, peer, fmt_ratio(r))

    extra = {}
    for pair in a.ratio:
        x, y = pair.split("/", 1)
        if stats.get(x) and stats.get(y):
            extra[pair] = stats[x]["median_ms"] / stats[y]["median_ms"]
        summary += " %s=%s" % (pair, fmt_ratio(extra.get(pair)))
    if extra:
        print()
        for pair, v in extra.items():
            print("%s = %.2f" % (pair, v))

    doc = {"benchmark": a.label, "unit": "ms", "statistic": "median",
           "primary": a.primary, "peers": a.peer, "order": order,
           "results": stats, "peak_rss": rss, "summary": summary, "ratios": extra,
           "ratio_per_round": {"%s/%s" % (a.primary, p): v for p, v in per_round.items()}}
    if a.meta:
        with open(a.meta) as f:
            doc["meta"] = json.load(f)
    with open(a.json, "w") as f:
        json.dump(doc, f, indent=2, sort_keys=True)
        f.write("\n")

    print()
    print(summary)
    missing = [n for n in [a.primary] + a.peer if n not in stats]
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
