# nix/mkRootfs.nix built offline with nix/tests/mini-pkgs.nix:
#   nix-build --store DIR nix/tests/rootfs.nix --argstr tools TOOLS
{ tools }:
let pkgs = import ./mini-pkgs.nix { inherit tools; };
in import ../mkRootfs.nix { inherit pkgs; name = "sigid-rootfs"; packages = [ pkgs.busybox ]; }
