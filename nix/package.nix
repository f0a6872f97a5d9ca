# nucleus built with nixpkgs' libraries (the flake's packages.default).
# The Makefile links libbpf, libseccomp, libcap and jansson statically on
# Debian; nixpkgs ships them shared, so LDLIBS links them as they are. The
# BPF objects are compiled by the unwrapped clang: the wrapper's hardening
# flags are not for the BPF target.
{ lib, stdenv, pkg-config, llvmPackages, bpftools, libbpf, elfutils, zlib, libseccomp
, libcap, jansson, libmnl, nftables, src, version ? "unstable", commit ? "unknown" }:
stdenv.mkDerivation {
  pname = "nucleus";
  inherit version src;
  nativeBuildInputs = [ pkg-config llvmPackages.clang-unwrapped llvmPackages.llvm bpftools ];
  buildInputs = [ libbpf elfutils zlib libseccomp libcap jansson libmnl nftables ];
  makeFlags = [
    "PREFIX=${placeholder "out"}"
    "COMMIT=${commit}"
    "CLANG=${llvmPackages.clang-unwrapped}/bin/clang"
    "BPFTOOL=bpftool"
    "LDLIBS=-lbpf -lelf -lz -lseccomp -lcap -ljansson"
  ];
  buildFlags = [ "all" ];
  # the BPF objects: no zero-call-used-regs or stack protector for -target bpf
  hardeningDisable = [ "zerocallusedregs" "stackprotector" ];
  enableParallelBuilding = true;
  meta = {
    description = "A minimal Linux container runtime: agent sandboxes and production services (eBPF egress, audit, trace)";
    platforms = [ "x86_64-linux" ];
    mainProgram = "nucleus";
  };
}
