#!/usr/bin/env python3
"""Per-stage timeline of `nucleus run`: medians over N debug logs.

  stages.py --json OUT LOG...

Each LOG is the stderr of one `NUCLEUS_LOG=debug nucleus run ...`. Its
milestone lines ("nucleus[PID]: +T.TTTms run: cloned 123", the child's
"child: ..." lines too; the filesystem's per-op "fs: ..." lines are left
out) give each milestone's time since the start. For every milestone seen
in every log this prints the median time since the start and the median
step from the milestone before it (the step is taken per run, then the
median), in the order the first log has them, so a regression shows the
stage it is in. Debug logging costs a little per line: the figures are
for where the time goes, not for the wall time (that is the timed runs).
"""
import argparse
import json
import re
import statistics
import sys

LINE = re.compile(r"^nucleus\[\d+\]: \+([0-9.]+)ms ((?:run|child): .*)$")


def label(text):
    # numbers that vary per run (pids, counts) are not part of the name
    return re.sub(r"\s+\d+$", "", text.strip())


def parse(path):
    out, seen = [], set()
    with open(path, errors="replace") as f:
        for line in f:
            m = LINE.match(line.rstrip("\n"))
            if not m:
                continue
            name = label(m.group(2))
            if name in seen:       # a repeated milestone: keep the first
                continue
            seen.add(name)
            out.append((name, float(m.group(1))))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", required=True)
    ap.add_argument("logs", nargs="+")
    a = ap.parse_args()

    runs = [parse(p) for p in a.logs]
    runs = [r for r in runs if r]
    if not runs:
        print("stages: no milestones in the debug logs", file=sys.stderr)
        return 1
    common = set.intersection(*(set(n for n, _ in r) for r in runs))
    order = [n for n, _ in runs[0] if n in common]
    at = {n: [] for n in order}
    step = {n: [] for n in order}
    for r in runs:
        prev = 0.0
        # times in the order this run logged them (parent and child interleave)
        for n, t in sorted(((n, t) for n, t in r if n in common), key=lambda x: x[1]):
            at[n].append(t)
            step[n].append(t - prev)
            prev = t
    order.sort(key=lambda n: statistics.median(at[n]))
    rows = [{"stage": n, "at_ms": statistics.median(at[n]),
             "step_ms": statistics.median(step[n])} for n in order]
    print("stage timeline: medians over %d runs (NUCLEUS_LOG=debug)" % len(runs))
    print("  %9s %9s  %s" % ("at ms", "step ms", "milestone"))
    for row in rows:
        print("  %9.3f %9.3f  %s" % (row["at_ms"], row["step_ms"], row["stage"]))
    with open(a.json, "w") as f:
        json.dump({"runs": len(runs), "stages": rows}, f, indent=2)
        f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
