# Just enough of nixpkgs for nix/mkRootfs.nix to build offline, in a
# private store, without nixpkgs' stdenv (out of reach here: it is fetched
# from the network): runCommand, buildEnv and closureInfo as plain
# derivations whose builder is busybox's sh, a busybox package, and
# nucleus itself (the tests' build, with the C library it links, run
# through that library's loader: the build sandbox has no /lib).
#
# `tools`: a host directory with bin/busybox, bin/nucleus and lib/ (the
# loader and libc), copied into the store as it is.
{ tools }:
let
  t = builtins.path { path = /. + tools; name = "nucleus-test-tools"; };
  sh = "${t}/bin/sh";
  runCommand = name: attrs: script: derivation ({
    inherit name;
    system = builtins.currentSystem;
    builder = sh;
    args = [ "-ec" script ];
    PATH = "${t}/bin";
  } // attrs);
in
{
  inherit runCommand;

  buildEnv = { name, paths, pathsToLink ? [ "/" ] }: runCommand name { } ''
    mkdir -p $out
    for p in ${toString paths}; do
      for d in ${toString pathsToLink}; do
        [ -d "$p$d" ] || continue
        mkdir -p "$out$d"
        for f in "$p$d"/*; do ln -s "$f" "$out$d/"; done
      done
    done
  '';

  # the closure from the references Nix records (exportReferencesGraph):
  # every store path named in the graph, sorted, as nixpkgs' store-paths
  closureInfo = { rootPaths }: runCommand "closure-info"
    { exportReferencesGraph = builtins.concatLists (builtins.genList (i: [ "graph${toString i}" (builtins.elemAt rootPaths i) ]) (builtins.length rootPaths)); } ''
    mkdir -p $out
    cat graph* | grep '^${builtins.storeDir}/' | grep -v '\.drv$' | sort -u > $out/store-paths
  '';

  busybox = runCommand "busybox" { } ''
    mkdir -p $out/bin
    cp ${t}/bin/busybox $out/bin/busybox
    for a in sh echo cat id ls; do ln -s busybox $out/bin/$a; done
  '';

  nucleus = runCommand "nucleus" { } ''
    mkdir -p $out/bin
    printf '#!${sh}\nexec ${t}/lib/ld-linux-x86-64.so.2 --library-path ${t}/lib ${t}/bin/nucleus "$@"\n' > $out/bin/nucleus
    chmod +x $out/bin/nucleus
  '';
}
