# A host directory created for a user only the rootfs's passwd knows: the
# host would resolve the name differently (or not at all), so the module's
# assertion refuses it.
{ fixtures }:
{
  services.nucleus = {
    enable = true;
    containers.owned = {
      command = [ "/bin/true" ];
      rootfs = "${fixtures}/rootfs";
      user = "sigid";
      memory = "32M";
      volumes = [ { source = "/var/lib/owned"; dest = "/data"; readOnly = false; createHostPath = true; } ];
    };
  };
}
