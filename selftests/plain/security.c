/* Run under mpt-run by check_security (and exec'd by progs/security.c):
 *   security fds   exits 1, naming each, if a descriptor other than 0, 1,
 *                  2 and the session region's (MPT_REGION_FD) is open
 *   security env   writes its environment, one entry a line, to the file
 *                  SEC_ENV_OUT names */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static int stray_fds(void)
{
	const char *r = getenv("MPT_REGION_FD");
	int region = r && *r ? atoi(r) : -1, n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		int fd = atoi(e->d_name);
		if (fd <= 2 || fd == region || fd == dirfd(d))
			continue;
		char path[64], target[256] = "?";
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		ssize_t len = readlink(path, target, sizeof target - 1);
		target[len > 0 ? len : 1] = 0;
		printf("stray descriptor %d -> %s\n", fd, target);
		n++;
	}
	closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "fds"))
		return stray_fds() == 0 ? 0 : 1;
	if (argc == 2 && !strcmp(argv[1], "env")) {
		const char *out = getenv("SEC_ENV_OUT");
		FILE *f = out ? fopen(out, "we") : NULL;
		if (!f)
			return 2;
		for (char **e = environ; *e; e++)
			fprintf(f, "%s\n", *e);
		return fclose(f) == 0 ? 0 : 2;
	}
	fprintf(stderr, "usage: security fds|env\n");
	return 2;
}
