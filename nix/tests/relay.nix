# relay: a message relay on another OCI runtime (runc) with a pinned
# rootfs manifest, an encrypted systemd credential (systemd-creds
# encrypt), every credential of the unit passed through, a health check
# (through runc's exec), and a flag given as is (extraArgs).
{ fixtures }:
{
  services.nucleus = {
    enable = true;
    containers.relay = {
      command = [ "/bin/relay" "--config" "/run/secrets/relay.conf" ];
      runtime = "oci:/usr/sbin/runc";
      rootfs = "${fixtures}/rootfs";
      rootfsAttestationSha256 = "0000000000000000000000000000000000000000000000000000000000000000";
      user = "7071";
      group = "7072";
      memory = "96M";
      cpus = 0.25;
      credentials = [
        { name = "relay.conf"; source = "/etc/relay/relay.conf.cred"; dest = "/run/secrets/relay.conf"; encrypted = true; }
        { name = "tls-key"; source = "/etc/relay/tls.key"; dest = "/etc/relay/tls.key"; }
      ];
      credentialsPassthrough = true;
      sdNotify = "container";
      volumes = [ { source = "/var/spool/relay"; dest = "/var/spool/relay"; readOnly = false; createHostPath = true; } ];
      # a flag the module has no option for (the -d log: unused under systemd)
      extraArgs = [ "--log-opt" "max-size=1m" ];
      healthCheck = [ "/bin/relay" "--health" ];
    };
  };
}
