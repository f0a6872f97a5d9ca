# services.nucleus: containers as systemd units (`nucleus run --service-mode
# production` in the foreground, the unit's main process) and compose
# topologies as oneshot units. Every container option is one `nucleus run`
# flag (nix/flags.nix); the tests render each unit and parse its ExecStart
# with `nucleus run --dry-run` (docs/nixos.md).
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption mkEnableOption mkIf types literalExpression;
  cfg = config.services.nucleus;
  flagTable = import ./flags.nix { inherit lib; };

  # An ExecStart word as systemd splits it: plain when it can be, else in
  # double quotes with C escapes (JSON's are a subset systemd reads); % and
  # $ doubled so that neither a specifier nor a variable is expanded.
  escapeArg = s:
    let q = if builtins.match "[A-Za-z0-9_./:=@,+-]+" s != null then s else builtins.toJSON s;
    in builtins.replaceStrings [ "%" "$" ] [ "%%" "$$" ] q;
  execLine = args: lib.concatMapStringsSep " " escapeArg args;

  sha256 = types.strMatching "[0-9a-f]{64}";
  # a path in the container
  inside = types.strMatching "/.*";
  size = types.either types.ints.positive (types.strMatching "[0-9]+[KkMmGgTt]?");
  duration = types.either types.ints.unsigned (types.strMatching "([0-9]+(\\.[0-9]+)?(ns|us|ms|s|m|h)?)+");
  probeType = types.either types.str (types.nonEmptyListOf types.str);
  portOrRange = types.either types.port (types.strMatching "[0-9]+(-[0-9]+)?");
  nullOr = t: mkOption { type = types.nullOr t; default = null; };

  policy = what: mkOption {
    type = types.nullOr (types.submodule {
      options = {
        path = mkOption { type = types.path; description = "The ${what} file."; };
        sha256 = mkOption { type = sha256; description = "Its SHA-256 (sha256sum): nucleus refuses any other content."; };
      };
    });
    default = null;
    description = "A ${what} and its pin.";
  };

  containerOptions = { name, config, ... }: {
    options = {
      enable = mkOption { type = types.bool; default = true; description = "Run this container as nucleus-${name}.service."; };
      command = mkOption {
        type = types.nonEmptyListOf types.str;
        description = "The workload's argv (after `--`).";
      };
      rootfs = mkOption {
        type = types.nullOr types.path;
        default = null;
        description = "A directory or store path (lib.mkRootfs) as / (--rootfs); null: the host's /usr, /bin, /lib.";
      };
      verifyRootfsAttestation = mkOption {
        type = types.bool;
        default = config.rootfs != null;
        defaultText = literalExpression "rootfs != null";
        description = "--verify-rootfs-attestation; false: --no-rootfs-attestation (production needs one).";
      };
      rootfsAttestationSha256 = nullOr sha256 // { description = "--rootfs-attestation-sha256: the manifest's pin."; };
      user = nullOr types.str // { description = "--user NAME|UID[:GROUP|GID]."; };
      group = nullOr types.str // { description = "--group NAME|GID."; };
      supplementaryGroups = mkOption { type = types.listOf types.str; default = [ ]; description = "--additional-group, each."; };
      userns = mkOption { type = types.bool; default = false; description = "--userns."; };
      timeNamespace = mkOption { type = types.bool; default = false; description = "--time-namespace."; };
      workdir = nullOr types.str // { description = "--workdir."; };
      hostname = nullOr types.str // { description = "--hostname."; };
      environment = mkOption { type = types.attrsOf types.str; default = { }; description = "--env KEY=VALUE, each."; };

      runtime = nullOr (types.strMatching "native|gvisor|oci:.+") // { description = "--runtime native|gvisor|oci:PATH."; };
      gvisorPlatform = nullOr types.str // { description = "--gvisor-platform (ptrace, kvm, systrap)."; };
      trustLevel = nullOr (types.enum [ "trusted" "untrusted" ]) // { description = "--trust-level (untrusted implies --runtime gvisor)."; };
      requireKernelLockdown = nullOr (types.enum [ "integrity" "confidentiality" ]) // { description = "--require-kernel-lockdown."; };
      audit = mkOption { type = types.bool; default = true; description = "false: --no-audit (production's audit trail off)."; };
      auditOptions = mkOption {
        type = types.attrsOf (types.either types.str types.ints.positive);
        default = { };
        example = { max-size = "50m"; max-file = 5; };
        description = "--audit-opt KEY=VALUE, each.";
      };

      memory = mkOption { type = size; example = "256M"; description = "--memory (required: production mode needs it)."; };
      swap = mkOption { type = types.bool; default = false; description = "--swap."; };
      cpus = nullOr (types.either types.ints.positive (types.numbers.positive)) // { description = "--cpus (0.5, 2)."; };
      cpuWeight = nullOr (types.ints.between 1 10000) // { description = "--cpu-weight."; };
      pids = nullOr types.ints.unsigned // { description = "--pids (0: unlimited)."; };
      ioLimits = mkOption { type = types.listOf types.str; default = [ ]; description = "--io-limit \"MAJ:MIN riops=N ...\", each."; };
      memlock = nullOr size // { description = "--memlock."; };
      tmpfsSize = nullOr size // { description = "--tmpfs-size."; };

      volumes = mkOption {
        default = [ ];
        description = "--volume SRC:DEST:ro|rw[,exec], each; writable ones are the unit's ReadWritePaths.";
        type = types.listOf (types.submodule {
          options = {
            source = mkOption { type = types.path; description = "The host directory or file."; };
            dest = mkOption { type = inside; description = "Where the container sees it."; };
            readOnly = mkOption { type = types.bool; default = true; };
            exec = mkOption { type = types.bool; default = false; };
            createHostPath = mkOption { type = types.bool; default = false; description = "A tmpfiles rule creates the source directory."; };
            owner = nullOr types.str // { description = "Its owner (tmpfiles); default: the container's user."; };
            ownerGroup = nullOr types.str // { description = "Its group (tmpfiles); default: the container's group."; };
            mode = mkOption { type = types.strMatching "[0-7]{3,4}"; default = "0750"; };
          };
        });
      };
      tmpfs = mkOption {
        default = [ ];
        description = "--tmpfs DEST[:size=,mode=,exec], each.";
        type = types.listOf (types.submodule {
          options = {
            dest = mkOption { type = inside; };
            size = nullOr types.str;
            mode = nullOr (types.strMatching "[0-7]{3,4}");
            exec = mkOption { type = types.bool; default = false; };
          };
        });
      };
      secrets = mkOption {
        default = [ ];
        description = "--secret SRC:DEST, each (a 0400 file of the workload user under /run/secrets).";
        type = types.listOf (types.submodule {
          options = {
            source = mkOption { type = types.path; };
            dest = mkOption { type = inside; };
          };
        });
      };
      credentials = mkOption {
        default = [ ];
        description = "systemd credentials: LoadCredential(Encrypted)=NAME:SOURCE and --systemd-credential NAME:DEST, each.";
        type = types.listOf (types.submodule {
          options = {
            name = mkOption { type = types.strMatching "[A-Za-z0-9_.-]+"; };
            source = mkOption { type = types.path; };
            dest = mkOption { type = inside; };
            encrypted = mkOption { type = types.bool; default = false; description = "LoadCredentialEncrypted (systemd-creds encrypt)."; };
          };
        });
      };
      credentialsPassthrough = mkOption { type = types.bool; default = false; description = "--credentials-passthrough."; };

      network = nullOr (types.enum [ "none" "bridge" ]) // { description = "--network (production refuses host)."; };
      bridge = nullOr types.str // { description = "--bridge."; };
      subnets = mkOption { type = types.listOf types.str; default = [ ]; description = "--subnet, each."; };
      portForwards = mkOption {
        default = [ ];
        description = "--publish [HOSTIP:]HOSTPORT:CONTPORT/PROTO, each.";
        type = types.listOf (types.submodule {
          options = {
            hostAddress = nullOr types.str;
            hostPort = mkOption { type = portOrRange; };
            containerPort = mkOption { type = portOrRange; };
            protocol = mkOption { type = types.enum [ "tcp" "udp" ]; default = "tcp"; };
          };
        });
      };
      dns = mkOption { type = types.listOf types.str; default = [ ]; description = "--dns, each."; };
      dnsSearch = mkOption { type = types.listOf types.str; default = [ ]; description = "--dns-search, each."; };
      addHosts = mkOption { type = types.attrsOf types.str; default = { }; description = "--add-host NAME:IP, each."; };
      egressAllow = mkOption { type = types.listOf types.str; default = [ ]; description = "--egress-allow CIDR, each."; };
      egressTcpPorts = mkOption { type = types.listOf types.port; default = [ ]; description = "--egress-tcp-port, each."; };
      egressUdpPorts = mkOption { type = types.listOf types.port; default = [ ]; description = "--egress-udp-port, each."; };

      seccompProfile = policy "OCI/Docker JSON seccomp profile (--seccomp-profile, --seccomp-profile-sha256)";
      seccompLogDenied = mkOption { type = types.bool; default = false; description = "--seccomp-log-denied."; };
      capsPolicy = policy "capability TOML policy (--caps-policy, --caps-policy-sha256)";
      landlockPolicy = policy "Landlock TOML policy (--landlock-policy, --landlock-policy-sha256)";

      healthCheck = nullOr probeType // { description = "--health-cmd: a string for /bin/sh -c, or an argv."; };
      healthInterval = nullOr duration // { description = "--health-interval."; };
      healthTimeout = nullOr duration // { description = "--health-timeout."; };
      healthRetries = nullOr types.ints.positive // { description = "--health-retries."; };
      healthStartPeriod = nullOr duration // { description = "--health-start-period."; };
      healthStartInterval = nullOr duration // { description = "--health-start-interval."; };
      healthOnFailure = nullOr (types.enum [ "none" "kill" "restart" "stop" ]) // { description = "--health-on-failure."; };
      readinessCheck = nullOr probeType // { description = "--readiness-cmd."; };
      readinessTcpPort = nullOr types.port // { description = "--readiness-tcp."; };
      sdNotify = mkOption {
        type = types.either types.bool (types.enum [ "container" "healthy" "started" ]);
        default = false;
        description = "--sd-notify[=MODE]; the unit is then Type=notify.";
      };

      extraArgs = mkOption { type = types.listOf types.str; default = [ ]; description = "More `nucleus run` flags, before `--`."; };
    };
  };

  # "name[:group]" of --user, for tmpfiles' owner columns
  userPart = u: if u == null then "root" else builtins.head (lib.splitString ":" u);
  groupPart = c:
    if c.group != null then c.group
    else if c.user != null && lib.hasInfix ":" c.user then lib.last (lib.splitString ":" c.user)
    else userPart c.user;
  numeric = s: builtins.match "[0-9]+" s != null;
  # an owner the host resolves to the same id as the rootfs does
  hostId = s: s == "root" || numeric s;
  volumeOwner = c: v: if v.owner != null then v.owner else userPart c.user;
  volumeGroup = c: v: if v.ownerGroup != null then v.ownerGroup else groupPart c;

  enabled = lib.filterAttrs (_: c: c.enable) cfg.containers;

  argsOf = name: c:
    [ "${cfg.package}/bin/nucleus" "run" "--service-mode" "production" "--name" name ]
    ++ lib.concatMap (e: e.args c.${e.option}) flagTable
    ++ c.extraArgs ++ [ "--" ] ++ c.command;

  unitOf = name: c: lib.nameValuePair "nucleus-${name}" {
    description = "nucleus container ${name}";
    wantedBy = [ "multi-user.target" ];
    after = [ "network-online.target" ];
    wants = [ "network-online.target" ];
    serviceConfig = {
      # the supervisor is the main process and sends MAINPID/READY itself
      Type = if c.sdNotify != false then "notify" else "simple";
      ExecStart = execLine (argsOf name c);
      Restart = "on-failure";
      RestartSec = "5s";
      SyslogIdentifier = "nucleus-${name}";
      ProtectSystem = "strict";
      ProtectHome = true;
      # what nucleus writes under that protection: its state (/run/nucleus,
      # shared by every container: kept when one unit stops), the bridge's
      # leases, the logs and audit trail, the seccomp filter cache
      RuntimeDirectory = [ "nucleus" "nucleus-net" ];
      RuntimeDirectoryMode = "0711";
      RuntimeDirectoryPreserve = "yes";
      LogsDirectory = "nucleus";
      CacheDirectory = "nucleus";
      ReadWritePaths = map (v: toString v.source) (lib.filter (v: !v.readOnly) c.volumes);
    } // lib.optionalAttrs (c.sdNotify != false) { NotifyAccess = "main"; }
      // lib.optionalAttrs (lib.any (x: !x.encrypted) c.credentials) {
      LoadCredential = map (x: "${x.name}:${toString x.source}") (lib.filter (x: !x.encrypted) c.credentials);
    } // lib.optionalAttrs (lib.any (x: x.encrypted) c.credentials) {
      LoadCredentialEncrypted = map (x: "${x.name}:${toString x.source}") (lib.filter (x: x.encrypted) c.credentials);
    };
  };

  tmpfilesOf = c: map
    (v: "d ${toString v.source} ${v.mode} ${volumeOwner c v} ${volumeGroup c v} - -")
    (lib.filter (v: v.createHostPath) c.volumes);

  topologyUnit = name: t: lib.nameValuePair "nucleus-topology-${name}" {
    description = "nucleus topology ${name}";
    wantedBy = [ "multi-user.target" ];
    after = [ "network-online.target" ];
    wants = [ "network-online.target" ];
    serviceConfig = {
      Type = "oneshot";
      RemainAfterExit = true;
      ExecStart = execLine [ "${cfg.package}/bin/nucleus" "compose" "-f" (toString t.configFile) "up" "-d" ];
      ExecStop = execLine [ "${cfg.package}/bin/nucleus" "compose" "-f" (toString t.configFile) "down" ];
      SyslogIdentifier = "nucleus-topology-${name}";
    };
  };

  # named users that nucleus resolves in the host's passwd (no rootfs):
  # made here, so that the workload and its tmpfiles agree on the ids
  hostUsers = lib.filterAttrs (_: c: c.rootfs == null && c.user != null && !numeric (userPart c.user)
    && userPart c.user != "root") enabled;
in
{
  options.services.nucleus = {
    enable = mkEnableOption "nucleus containers as systemd units";
    package = mkOption {
      type = types.package;
      default = pkgs.nucleus;
      defaultText = literalExpression "pkgs.nucleus";
      description = "The nucleus to run (the flake's packages.default).";
    };
    containers = mkOption {
      type = types.attrsOf (types.submodule containerOptions);
      default = { };
      description = "Containers, each nucleus-<name>.service.";
    };
    topologies = mkOption {
      default = { };
      description = "Compose topologies, each nucleus-topology-<name>.service (compose up -d / down).";
      type = types.attrsOf (types.submodule {
        options = {
          enable = mkOption { type = types.bool; default = true; };
          configFile = mkOption { type = types.path; description = "The topology's TOML file."; };
        };
      });
    };
  };

  config = mkIf cfg.enable {
    assertions = lib.concatLists (lib.mapAttrsToList
      (name: c: map
        (v: {
          assertion = !(v.createHostPath && c.rootfs != null)
            || (hostId (volumeOwner c v) && hostId (volumeGroup c v));
          message = "services.nucleus.containers.${name}: volume ${toString v.source} is created on the host, "
            + "but its owner is a name of the rootfs's passwd: give a numeric user, or the volume's owner and ownerGroup";
        })
        c.volumes)
      enabled);
    environment.systemPackages = [ cfg.package ];
    systemd.services = lib.mapAttrs' unitOf enabled
      // lib.mapAttrs' topologyUnit (lib.filterAttrs (_: t: t.enable) cfg.topologies);
    systemd.tmpfiles.rules = lib.concatLists (lib.mapAttrsToList (_: tmpfilesOf) enabled);
    users.users = lib.mapAttrs'
      (_: c: lib.nameValuePair (userPart c.user) { isSystemUser = true; group = groupPart c; })
      hostUsers;
    users.groups = lib.mapAttrs' (_: c: lib.nameValuePair (groupPart c) { }) hostUsers;
  };
}
