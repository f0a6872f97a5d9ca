# The one table from a container's options to `nucleus run` flags: the
# module renders ExecStart from it, and the tests check it both ways
# against `nucleus run --help` (every option a flag it parses, every flag a
# service may use an option). An entry: the option's name, the flags it
# can produce, and `args`, its value as the CLI parses it (null, false and
# [] give nothing: nucleus's own default).
{ lib }:
let
  inherit (lib) optionals mapAttrsToList concatStringsSep;

  # 0.5 and 2, never 0.500000 (Nix's toString of a float)
  num = x:
    if builtins.isInt x then toString x
    else
      let
        s = toString x;
        frac = builtins.match "([0-9]+)\\.([0-9]*[1-9])0*" s;
        whole = builtins.match "([0-9]+)\\.0*" s;
      in
      if frac != null then "${builtins.elemAt frac 0}.${builtins.elemAt frac 1}"
      else if whole != null then builtins.elemAt whole 0
      else s;
  # a size or a duration: a number as is, a string unchanged
  scalar = x: if builtins.isString x then x else num x;

  opt = flag: v: optionals (v != null) [ flag (scalar v) ];
  bool = flag: v: optionals v [ flag ];
  each = flag: f: vs: lib.concatMap (v: [ flag (f v) ]) vs;
  # a check: a string for /bin/sh -c, a list run as is (a JSON array)
  probe = flag: v:
    optionals (v != null) [ flag (if builtins.isList v then builtins.toJSON v else v) ];
  # a policy file with its pin: a Nix path is copied into the store (by
  # the interpolation), so the unit names what was pinned, wherever the
  # configuration was evaluated
  pinned = flag: v: optionals (v != null) [ flag "${v.path}" "${flag}-sha256" v.sha256 ];

  volume = v:
    "${toString v.source}:${v.dest}:${concatStringsSep "," ([ (if v.readOnly then "ro" else "rw") ]
      ++ optionals v.exec [ "exec" ])}";
  tmpfs = t:
    let o = optionals (t.size != null) [ "size=${t.size}" ] ++ optionals (t.mode != null) [ "mode=${t.mode}" ]
      ++ optionals t.exec [ "exec" ];
    in if o == [ ] then t.dest else "${t.dest}:${concatStringsSep "," o}";
  publish = p:
    "${lib.optionalString (p.hostAddress != null) "${p.hostAddress}:"}${scalar p.hostPort}:${scalar p.containerPort}/${p.protocol}";
in
[
  # identity
  { option = "user"; flags = [ "--user" ]; args = opt "--user"; }
  { option = "group"; flags = [ "--group" ]; args = opt "--group"; }
  { option = "supplementaryGroups"; flags = [ "--additional-group" ]; args = each "--additional-group" (g: g); }
  { option = "userns"; flags = [ "--userns" ]; args = bool "--userns"; }
  { option = "timeNamespace"; flags = [ "--time-namespace" ]; args = bool "--time-namespace"; }
  { option = "workdir"; flags = [ "--workdir" ]; args = opt "--workdir"; }
  { option = "hostname"; flags = [ "--hostname" ]; args = opt "--hostname"; }
  { option = "environment"; flags = [ "--env" ];
    args = env: lib.concatLists (mapAttrsToList (k: v: [ "--env" "${k}=${v}" ]) env); }
  # runtime and trust
  { option = "runtime"; flags = [ "--runtime" ]; args = opt "--runtime"; }
  { option = "gvisorPlatform"; flags = [ "--gvisor-platform" ]; args = opt "--gvisor-platform"; }
  { option = "trustLevel"; flags = [ "--trust-level" ]; args = opt "--trust-level"; }
  { option = "requireKernelLockdown"; flags = [ "--require-kernel-lockdown" ]; args = opt "--require-kernel-lockdown"; }
  { option = "audit"; flags = [ "--no-audit" ]; args = v: optionals (!v) [ "--no-audit" ]; }
  { option = "auditOptions"; flags = [ "--audit-opt" ];
    args = o: lib.concatLists (mapAttrsToList (k: v: [ "--audit-opt" "${k}=${scalar v}" ]) o); }
  # the root filesystem
  { option = "rootfs"; flags = [ "--rootfs" ]; args = v: optionals (v != null) [ "--rootfs" "${v}" ]; }
  # production needs one or the other: verification, or saying no to it
  { option = "verifyRootfsAttestation"; flags = [ "--verify-rootfs-attestation" "--no-rootfs-attestation" ];
    args = v: if v then [ "--verify-rootfs-attestation" ] else [ "--no-rootfs-attestation" ]; }
  { option = "rootfsAttestationSha256"; flags = [ "--rootfs-attestation-sha256" ]; args = opt "--rootfs-attestation-sha256"; }
  # resources
  { option = "memory"; flags = [ "--memory" ]; args = opt "--memory"; }
  { option = "swap"; flags = [ "--swap" ]; args = bool "--swap"; }
  { option = "cpus"; flags = [ "--cpus" ]; args = opt "--cpus"; }
  { option = "cpuWeight"; flags = [ "--cpu-weight" ]; args = opt "--cpu-weight"; }
  { option = "pids"; flags = [ "--pids" ]; args = opt "--pids"; }
  { option = "ioLimits"; flags = [ "--io-limit" ]; args = each "--io-limit" (s: s); }
  { option = "memlock"; flags = [ "--memlock" ]; args = opt "--memlock"; }
  { option = "tmpfsSize"; flags = [ "--tmpfs-size" ]; args = opt "--tmpfs-size"; }
  # data
  { option = "volumes"; flags = [ "--volume" ]; args = each "--volume" volume; }
  { option = "tmpfs"; flags = [ "--tmpfs" ]; args = each "--tmpfs" tmpfs; }
  # secrets' and volumes' sources are host paths as given (toString: a Nix
  # path is never copied into the world-readable store)
  { option = "secrets"; flags = [ "--secret" ]; args = each "--secret" (s: "${toString s.source}:${s.dest}"); }
  { option = "credentials"; flags = [ "--systemd-credential" ]; args = each "--systemd-credential" (c: "${c.name}:${c.dest}"); }
  { option = "credentialsPassthrough"; flags = [ "--credentials-passthrough" ]; args = bool "--credentials-passthrough"; }
  # network
  { option = "network"; flags = [ "--network" ]; args = opt "--network"; }
  { option = "bridge"; flags = [ "--bridge" ]; args = opt "--bridge"; }
  { option = "subnets"; flags = [ "--subnet" ]; args = each "--subnet" (s: s); }
  { option = "portForwards"; flags = [ "--publish" ]; args = each "--publish" publish; }
  { option = "dns"; flags = [ "--dns" ]; args = each "--dns" (s: s); }
  { option = "dnsSearch"; flags = [ "--dns-search" ]; args = each "--dns-search" (s: s); }
  { option = "addHosts"; flags = [ "--add-host" ];
    args = h: lib.concatLists (mapAttrsToList (n: ip: [ "--add-host" "${n}:${ip}" ]) h); }
  { option = "egressAllow"; flags = [ "--egress-allow" ]; args = each "--egress-allow" (s: s); }
  { option = "egressTcpPorts"; flags = [ "--egress-tcp-port" ]; args = each "--egress-tcp-port" toString; }
  { option = "egressUdpPorts"; flags = [ "--egress-udp-port" ]; args = each "--egress-udp-port" toString; }
  # policies, each with its pin
  { option = "seccompProfile"; flags = [ "--seccomp-profile" "--seccomp-profile-sha256" ]; args = pinned "--seccomp-profile"; }
  { option = "seccompLogDenied"; flags = [ "--seccomp-log-denied" ]; args = bool "--seccomp-log-denied"; }
  { option = "capsPolicy"; flags = [ "--caps-policy" "--caps-policy-sha256" ]; args = pinned "--caps-policy"; }
  { option = "landlockPolicy"; flags = [ "--landlock-policy" "--landlock-policy-sha256" ]; args = pinned "--landlock-policy"; }
  # supervision
  { option = "healthCheck"; flags = [ "--health-cmd" ]; args = probe "--health-cmd"; }
  { option = "healthInterval"; flags = [ "--health-interval" ]; args = opt "--health-interval"; }
  { option = "healthTimeout"; flags = [ "--health-timeout" ]; args = opt "--health-timeout"; }
  { option = "healthRetries"; flags = [ "--health-retries" ]; args = opt "--health-retries"; }
  { option = "healthStartPeriod"; flags = [ "--health-start-period" ]; args = opt "--health-start-period"; }
  { option = "healthStartInterval"; flags = [ "--health-start-interval" ]; args = opt "--health-start-interval"; }
  { option = "healthOnFailure"; flags = [ "--health-on-failure" ]; args = opt "--health-on-failure"; }
  { option = "readinessCheck"; flags = [ "--readiness-cmd" ]; args = probe "--readiness-cmd"; }
  { option = "readinessTcpPort"; flags = [ "--readiness-tcp" ]; args = opt "--readiness-tcp"; }
  # one flag, its two spellings: --sd-notify (bare) and --sd-notify=MODE
  { option = "sdNotify"; flags = [ "--sd-notify" ];
    args = v: if v == true then [ "--sd-notify" ] else if v == false then [ ] else [ "--sd-notify=${v}" ]; }
]
