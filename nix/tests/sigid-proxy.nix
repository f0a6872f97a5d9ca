# sigid-proxy: a small signing proxy. It holds a signing key (a secret) and
# an upstream token (a systemd credential), keeps its nonce database in a
# volume, talks to one upstream network on 443 only, answers health checks,
# and tells systemd when it is healthy. Production mode, from an attested
# rootfs (lib.mkRootfs on NixOS; a fixture directory here), every policy
# pinned.
{ fixtures }:
{
  services.nucleus = {
    enable = true;
    containers.sigid-proxy = {
      command = [ "/bin/sigid-proxy" "--listen" "127.0.0.1:8443" "--upstream" "https://signer.internal:443" ];
      rootfs = "${fixtures}/rootfs";
      user = "sigid";
      group = "sigid";
      supplementaryGroups = [ "signers" ];
      memory = "128M";
      cpus = 0.5;
      pids = 64;
      environment = {
        SIGID_LOG = "info";
        SIGID_MOTD = "signs 100% of what it's asked to, for $USER";
      };
      seccompProfile = {
        path = "${fixtures}/sigid-proxy.seccomp.json";
        sha256 = "d34cc73dabccc3a14dfe14b7a681bd73c3d82f7d4a5500ef5c273c6894505462";
      };
      seccompLogDenied = true;
      secrets = [ { source = "${fixtures}/sigid-signing.key"; dest = "/run/secrets/signing.key"; } ];
      credentials = [ { name = "upstream-token"; source = "${fixtures}/upstream-token"; dest = "/run/secrets/upstream.token"; } ];
      volumes = [ {
        source = "/var/lib/sigid-proxy";
        dest = "/var/lib/sigid";
        readOnly = false;
        createHostPath = true;
        owner = "7071";
        ownerGroup = "7071";
      } ];
      egressAllow = [ "203.0.113.0/24" "2001:db8:5::/48" ];
      egressTcpPorts = [ 443 ];
      healthCheck = [ "/bin/sigid-proxy" "--check" "http://127.0.0.1:8443/healthz" ];
      healthInterval = "10s";
      healthRetries = 3;
      healthStartPeriod = "30s";
      readinessCheck = [ "/bin/sigid-proxy" "--ready" ];
      sdNotify = "healthy";
    };
  };
}
