/* Where runtime state lives. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <nucleus/container.h>

const char *runtime_dir(void)
{
	static char dir[4096];
	const char *env;

	if (dir[0])
		return dir;
	if ((env = getenv("NUCLEUS_ROOT")) && *env == '/')
		snprintf(dir, sizeof(dir), "%s", env);
	else if (geteuid() == 0)
		snprintf(dir, sizeof(dir), "/run/nucleus");
	else if ((env = getenv("XDG_RUNTIME_DIR")) && *env == '/')
		snprintf(dir, sizeof(dir), "%s/nucleus", env);
	else
		snprintf(dir, sizeof(dir), "/tmp/nucleus-%u", (unsigned)geteuid());
	return dir;
}
