#!/usr/bin/env python3
"""Turn a Docker seccomp profile into the OCI runtime-spec `linux.seccomp` form.

Docker's profile format has three things the OCI form has no room for:
`archMap` (native architecture -> its sub-architectures), and the per-rule
`includes`/`excludes` conditions (architectures, capabilities, minimum kernel)
that dockerd resolves when it builds a container's config.  This script does
that resolution itself, for one target described on the command line:

  docker-seccomp-to-oci.py PROFILE [--arch amd64] [--kernel 6.1.0]
                                   [--cap CAP_X ...]

and prints the OCI object on stdout.  Resolution rules (a rule is kept only
when every `includes` condition holds and no `excludes` condition holds):

  includes.arches     the target arch is one of them
  includes.caps       every listed capability is in the container's set
  includes.minKernel  the running kernel is at least that version
  excludes.arches     the target arch is one of them           -> dropped
  excludes.caps       any listed capability is in the set      -> dropped
  excludes.minKernel  the running kernel is at least that      -> dropped

`architectures` is the archMap entry whose architecture is the target's
native one, followed by its subArchitectures.  Rules keep their order;
`comment`, `includes` and `excludes` are removed, and `errnoRet` and `args`
are kept as they are.  The output is deterministic for a given input and
target (no timestamps, stable key order).
"""
import argparse
import json
import platform
import re
import sys

# Docker names architectures the Go way; libseccomp/OCI use SCMP_ARCH_*.
GO_TO_SCMP = {
    "amd64": "SCMP_ARCH_X86_64",
    "x86": "SCMP_ARCH_X86",
    "386": "SCMP_ARCH_X86",
    "x32": "SCMP_ARCH_X32",
    "arm64": "SCMP_ARCH_AARCH64",
    "arm": "SCMP_ARCH_ARM",
    "s390x": "SCMP_ARCH_S390X",
    "s390": "SCMP_ARCH_S390",
    "ppc64le": "SCMP_ARCH_PPC64LE",
    "riscv64": "SCMP_ARCH_RISCV64",
    "loong64": "SCMP_ARCH_LOONGARCH64",
}
UNAME_TO_GO = {"x86_64": "amd64", "aarch64": "arm64", "s390x": "s390x",
               "ppc64le": "ppc64le", "riscv64": "riscv64",
               "loongarch64": "loong64"}


def version_tuple(text):
    """'6.1.0-18-amd64' -> (6, 1); '4.8' -> (4, 8)."""
    m = re.match(r"(\d+)\.(\d+)", text)
    if not m:
        raise ValueError("cannot read a kernel version from %r" % text)
    return int(m.group(1)), int(m.group(2))


def keep(rule, arch, caps, kernel):
    inc = rule.get("includes") or {}
    exc = rule.get("excludes") or {}
    if inc.get("arches") and arch not in inc["arches"]:
        return False
    if inc.get("caps") and not all(c in caps for c in inc["caps"]):
        return False
    if inc.get("minKernel") and kernel < version_tuple(inc["minKernel"]):
        return False
    if exc.get("arches") and arch in exc["arches"]:
        return False
    if exc.get("caps") and any(c in caps for c in exc["caps"]):
        return False
    if exc.get("minKernel") and kernel >= version_tuple(exc["minKernel"]):
        return False
    return True


def convert(profile, arch, caps, kernel):
    native = GO_TO_SCMP[arch]
    arches = []
    for entry in profile.get("archMap") or []:
        if entry.get("architecture") == native:
            arches = [native] + list(entry.get("subArchitectures") or [])
            break
    out = {"defaultAction": profile["defaultAction"]}
    if "defaultErrnoRet" in profile:
        out["defaultErrnoRet"] = profile["defaultErrnoRet"]
    out["architectures"] = arches
    rules = []
    for rule in profile.get("syscalls") or []:
        if not keep(rule, arch, caps, kernel):
            continue
        oci = {"names": list(rule["names"]), "action": rule["action"]}
        if rule.get("errnoRet") is not None:
            oci["errnoRet"] = rule["errnoRet"]
        if rule.get("args"):
            oci["args"] = [{k: a[k] for k in ("index", "value", "valueTwo", "op")
                            if k in a} for a in rule["args"]]
        rules.append(oci)
    out["syscalls"] = rules
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("profile")
    ap.add_argument("--arch", default=UNAME_TO_GO.get(platform.machine()))
    ap.add_argument("--kernel", default=platform.release())
    ap.add_argument("--cap", action="append", default=[],
                    help="a capability the container keeps (repeatable)")
    args = ap.parse_args()
    if args.arch not in GO_TO_SCMP:
        sys.exit("docker-seccomp-to-oci: unknown architecture %r" % args.arch)
    with open(args.profile) as f:
        profile = json.load(f)
    out = convert(profile, args.arch, set(args.cap), version_tuple(args.kernel))
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
