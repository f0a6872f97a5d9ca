# lib.mkRootfs { pkgs; name ? "nucleus-rootfs"; packages; }: a root
# filesystem for `nucleus run --rootfs`: the packages' /bin, /sbin, /lib,
# /etc, /share (a buildEnv: symlinks into their store paths), the closure's
# store paths in .nucleus-rootfs-store-paths (what nucleus binds at
# /nix/store), and the attestation manifest .nucleus-rootfs-sha256 written
# by `nucleus rootfs attest` itself (the code that verifies it at run time,
# not a second implementation). Run it with --verify-rootfs-attestation;
# the manifest's hash, for --rootfs-attestation-sha256, is the second
# output, `pin` (outside the tree: the manifest covers every file in it).
{ pkgs
, name ? "nucleus-rootfs"
, packages
, nucleus ? pkgs.nucleus
, extraCommands ? ""
}:
let
  env = pkgs.buildEnv {
    name = "${name}-env";
    paths = packages;
    pathsToLink = [ "/bin" "/sbin" "/lib" "/etc" "/share" ];
  };
  closure = pkgs.closureInfo { rootPaths = [ env ]; };
in
pkgs.runCommand name { outputs = [ "out" "pin" ]; } ''
  mkdir -p $out
  for d in bin sbin lib etc share; do
    if [ -e ${env}/$d ]; then cp -a ${env}/$d $out/$d; fi
  done
  # mount points nucleus fills (proc, dev, tmp, run) and writes nothing else into
  for d in proc dev tmp run etc; do [ -e $out/$d ] || mkdir $out/$d; done
  ${extraCommands}
  cp ${closure}/store-paths $out/.nucleus-rootfs-store-paths
  # it prints "<sha256>  <manifest>": the pin is the first word
  ${nucleus}/bin/nucleus rootfs attest --store ${builtins.storeDir} $out > attest.out
  read -r hash _ < attest.out
  echo "$hash" > $pin
''
