# A wrong option type: evaluation must fail naming the option.
{ fixtures }:
{
  services.nucleus = {
    enable = true;
    containers.bad = {
      command = [ "/bin/true" ];
      memory = true;
    };
  };
}
