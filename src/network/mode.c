/* --network's modes by name: the CLI, the state and the stored config. */
#include <string.h>
#include <nucleus/network.h>

static const char *const mode_names[] = {
	[NETWORK_NONE] = "none", [NETWORK_HOST] = "host", [NETWORK_BRIDGE] = "bridge",
};

const char *network_mode_name(enum network_mode m)
{
	return (unsigned)m < ARRAY_SIZE(mode_names) ? mode_names[m] : "none";
}

int network_mode_parse(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(mode_names); i++)
		if (!strcmp(s, mode_names[i]))
			return (int)i;
	return -1;
}
