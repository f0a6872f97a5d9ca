# Evaluate nix/module.nix with one example configuration, offline, against
# nixpkgs' lib/ alone (no nixpkgs, no store): the NixOS options the module
# sets are declared by small stubs below, typed, so a value of the wrong
# shape fails here as it would on NixOS.
#
#   nix-instantiate --eval --strict --json --store dummy:// nix/tests/eval.nix \
#     --argstr nixpkgsLib DIR/nixpkgs-lib --argstr example sigid-proxy \
#     --argstr fixtures DIR --argstr nucleus /opt/nucleus
#
# The result: the units, tmpfiles rules and users the module made, the
# containers' option values (what the tests compare `nucleus run --dry-run`
# with), the flag table and the container options' names.
{ nixpkgsLib, example, fixtures, nucleus ? "/opt/nucleus" }:
let
  lib = import "${nixpkgsLib}/lib";
  inherit (lib) mkOption types;

  unitValue = types.oneOf [ types.bool types.int types.str (types.listOf types.str) ];
  stubs = {
    options = {
      assertions = mkOption {
        type = types.listOf (types.submodule {
          options.assertion = mkOption { type = types.bool; };
          options.message = mkOption { type = types.str; };
        });
        default = [ ];
      };
      environment.systemPackages = mkOption { type = types.listOf types.package; default = [ ]; };
      systemd.services = mkOption {
        default = { };
        type = types.attrsOf (types.submodule {
          options = {
            description = mkOption { type = types.str; default = ""; };
            wantedBy = mkOption { type = types.listOf types.str; default = [ ]; };
            after = mkOption { type = types.listOf types.str; default = [ ]; };
            wants = mkOption { type = types.listOf types.str; default = [ ]; };
            serviceConfig = mkOption { type = types.attrsOf unitValue; default = { }; };
          };
        });
      };
      systemd.tmpfiles.rules = mkOption { type = types.listOf types.str; default = [ ]; };
      users.users = mkOption {
        default = { };
        type = types.attrsOf (types.submodule {
          options.isSystemUser = mkOption { type = types.bool; default = false; };
          options.group = mkOption { type = types.str; };
        });
      };
      users.groups = mkOption { type = types.attrsOf (types.submodule { }); default = { }; };
    };
  };

  # a package as types.package sees one, without a store
  package = { type = "derivation"; name = "nucleus"; outPath = nucleus; };

  eval = lib.evalModules {
    modules = [
      stubs
      ../module.nix
      (import (./. + "/${example}.nix") { inherit fixtures; })
      { _module.args.pkgs = { nucleus = package; }; }
    ];
  };
  inherit (eval) config options;
  failed = lib.filter (a: !a.assertion) config.assertions;
  flags = import ../flags.nix { inherit lib; };
in
if failed != [ ] then throw (lib.concatMapStringsSep "\n" (a: a.message) failed)
else {
  services = config.systemd.services;
  tmpfiles = config.systemd.tmpfiles.rules;
  users = config.users.users;
  groups = builtins.attrNames config.users.groups;
  containers = config.services.nucleus.containers;
  flagTable = map (e: { inherit (e) option flags; }) flags;
  containerOptions = lib.filter (n: !lib.hasPrefix "_" n)
    (builtins.attrNames (options.services.nucleus.containers.type.getSubOptions [ ]));
}
