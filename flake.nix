{
  description = "nucleus: a minimal Linux container runtime for agent sandboxes and production services";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  # The module and mkRootfs are plain files (nix/), re-exported here: the
  # tests evaluate them offline, where a flake's inputs cannot be fetched.
  outputs = { self, nixpkgs }:
    let
      system = "x86_64-linux";
      pkgs = nixpkgs.legacyPackages.${system};
      nucleus = pkgs.callPackage ./nix/package.nix {
        src = self;
        commit = self.shortRev or "dirty";
      };
    in
    {
      packages.${system} = {
        default = nucleus;
        nucleus = nucleus;
      };

      nixosModules.default = { lib, ... }: {
        imports = [ ./nix/module.nix ];
        services.nucleus.package = lib.mkDefault self.packages.${system}.default;
      };

      lib.mkRootfs = args: import ./nix/mkRootfs.nix ({ nucleus = self.packages.${system}.default; } // args);

      devShells.${system}.default = pkgs.mkShell {
        inputsFrom = [ nucleus ];
        packages = with pkgs; [ clang-tools cmocka python3 busybox nix gdb strace ];
      };
    };
}
