# web: a public web front on the bridge, port 443 published on one host
# address, its capability and Landlock policies pinned, scratch space in a
# sized tmpfs, a shell health check that kills it when it stays unhealthy;
# and a compose topology run as its own unit.
{ fixtures }:
{
  services.nucleus = {
    enable = true;
    containers.web = {
      command = [ "/bin/httpd" "-f" "-p" "8080" "-h" "/srv" ];
      rootfs = "${fixtures}/rootfs";
      user = "web";
      workdir = "/srv";
      hostname = "web-1";
      memory = 536870912;
      cpus = 1;
      cpuWeight = 200;
      memlock = "1M";
      tmpfsSize = "32M";
      tmpfs = [ { dest = "/var/cache/web"; size = "8m"; mode = "0700"; } { dest = "/run/web"; exec = true; } ];
      volumes = [
        { source = "/srv/www"; dest = "/srv"; }
        { source = "/var/lib/web/uploads"; dest = "/srv/uploads"; readOnly = false; createHostPath = true; owner = "7080"; ownerGroup = "7080"; mode = "0700"; }
      ];
      network = "bridge";
      bridge = "nucleus-web";
      subnets = [ "10.0.77.0/24" ];
      portForwards = [
        { hostAddress = "192.0.2.10"; hostPort = 443; containerPort = 8080; }
        { hostPort = "9000-9001"; containerPort = "9000-9001"; protocol = "udp"; }
      ];
      dns = [ "10.0.77.1" ];
      dnsSearch = [ "internal.example" ];
      addHosts = { db = "10.0.77.5"; cache = "10.0.77.6"; };
      egressAllow = [ "10.0.77.0/24" ];
      egressTcpPorts = [ 5432 6379 ];
      egressUdpPorts = [ 53 ];
      capsPolicy = {
        path = "${fixtures}/web.caps.toml";
        sha256 = "06094b235d681c88c624e603467552fc057966b8d6825a44a15dc075b03444be";
      };
      landlockPolicy = {
        path = "${fixtures}/web.landlock.toml";
        sha256 = "7da9cd3e5ac24e0863f6ea5bb2d7559cb3a2954dbf538a6ae78251d876539634";
      };
      healthCheck = "wget -q -O /dev/null http://127.0.0.1:8080/ || exit 1";
      healthInterval = 15;
      healthTimeout = "2s";
      healthStartInterval = "500ms";
      healthOnFailure = "kill";
      readinessTcpPort = 8080;
      sdNotify = true;
      auditOptions = { max-size = "50m"; max-file = 4; };
      ioLimits = [ "8:0 riops=1000 wbps=10M" ];
    };
    topologies.shop.configFile = "${fixtures}/shop.topology.toml";
  };
}
