# A named user without a rootfs is the host's: the module declares it (and
# its group), so the workload and the tmpfiles rule of its volume agree.
{ fixtures }:
{
  services.nucleus = {
    enable = true;
    containers.feeds = {
      command = [ "/usr/bin/feeds" ];
      user = "feeds";
      memory = "64M";
      verifyRootfsAttestation = false;
      volumes = [ { source = "/var/lib/feeds"; dest = "/var/lib/feeds"; readOnly = false; createHostPath = true; } ];
    };
  };
}
