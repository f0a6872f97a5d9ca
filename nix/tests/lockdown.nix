# A service that refuses to start on a kernel below lockdown=integrity
# (the test accepts either outcome of --dry-run, by the kernel's level),
# in a user namespace of its own.
{ fixtures }:
{
  services.nucleus = {
    enable = true;
    containers.locked = {
      command = [ "/bin/true" ];
      memory = "32M";
      verifyRootfsAttestation = false;
      requireKernelLockdown = "integrity";
      userns = true;
    };
  };
}
