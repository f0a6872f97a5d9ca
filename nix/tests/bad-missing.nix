# A container without memory (production mode requires --memory): the
# option has no default, so evaluation fails naming it.
{ fixtures }:
{
  services.nucleus = {
    enable = true;
    containers.nomem.command = [ "/bin/true" ];
  };
}
