# batch: untrusted code (a customer's job) under gVisor: the trust level
# picks the runtime, on runsc's ptrace platform; no rootfs (the host's
# /usr, /bin, /lib read-only), so no attestation to verify; nobody's ids
# (runsc runs as root: no user namespace of nucleus's), its own time
# namespace; no audit trail (gVisor's own kernel
# sees its syscalls); swap allowed. Not started at boot: enable = false
# keeps its unit out, and `batch-ready` shows a disabled one leaves none.
{ fixtures }:
{
  services.nucleus = {
    enable = true;
    containers.batch = {
      command = [ "/usr/bin/env" "python3" "/srv/job.py" ];
      trustLevel = "untrusted";
      gvisorPlatform = "ptrace";
      user = "65534:65534";
      timeNamespace = true;
      memory = "1G";
      swap = true;
      pids = 0;
      audit = false;
      verifyRootfsAttestation = false;
      environment.JOB_ID = "nightly \"report\" \\ 50%";
      sdNotify = "started";
    };
    containers.batch-disabled = {
      enable = false;
      command = [ "/bin/false" ];
      memory = "1G";
    };
  };
}
