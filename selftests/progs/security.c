/* Security hygiene seen from inside a test (check_security.c runs these):
 * what a test's process is given by the harness — descriptors, the shared
 * region, the environment — and what the runner keeps to itself. */
#define _GNU_SOURCE
#include <mptest.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int region_fd(void)
{
	const char *r = getenv("MPT_REGION_FD");
	return r && *r ? atoi(r) : -1;
}

/* Every descriptor of the test body but 0, 1, 2 and the region's. */
MPT_TEST(security, no_stray_fds)
{
	/* With the preload library, the region's descriptor is passed on
	 * (900 or above); without it, nothing is. */
	int region = region_fd(), stray = 0;
	MPT_ASSERT(region >= 900 || (region == -1 && !getenv("LD_PRELOAD")));
	DIR *d = opendir("/proc/self/fd");
	MPT_ASSERT(d != NULL);
	struct dirent *e;
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);
		if (e->d_name[0] == '.' || fd <= 2 || fd == region || fd == dirfd(d))
			continue;
		char path[64], target[256] = "?";
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		ssize_t len = readlink(path, target, sizeof target - 1);
		target[len > 0 ? len : 1] = 0;
		printf("stray descriptor %d -> %s\n", fd, target);
		stray++;
	}
	closedir(d);
	MPT_ASSERT_EQ(stray, 0);

	if (region == -1)
		return;
	/* And in a program the test execs. */
	const char *plain = getenv("SEC_PLAIN");
	MPT_ASSERT(plain != NULL);
	pid_t p = MPT_ASSERT_OK(fork());
	if (p == 0) {
		execl(plain, "security", "fds", (char *)NULL);
		_exit(127);
	}
	mpt_wait_exited(p, 0);
}

/* The runner's own descriptors (the test leader's parent), all
 * close-on-exec: what it inherited itself is 0, 1 and 2 only here. */
MPT_TEST(security, runner_fds_cloexec)
{
	char dir[64];
	snprintf(dir, sizeof dir, "/proc/%d/fdinfo", (int)getppid());
	DIR *d = opendir(dir);
	MPT_ASSERT(d != NULL);
	struct dirent *e;
	int open_across_exec = 0, seen = 0;
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);
		if (e->d_name[0] == '.' || fd <= 2)
			continue;
		char path[128], buf[512];
		snprintf(path, sizeof path, "%s/%d", dir, fd);
		FILE *f = fopen(path, "re");
		if (!f)
			continue; /* closed meanwhile */
		unsigned long flags = 0;
		while (fgets(buf, sizeof buf, f))
			if (sscanf(buf, "flags: %lo", &flags) == 1)
				break;
		fclose(f);
		seen++;
		if (!(flags & 02000000)) { /* O_CLOEXEC */
			char link[128], target[256] = "?";
			snprintf(link, sizeof link, "/proc/%d/fd/%d", (int)getppid(), fd);
			ssize_t len = readlink(link, target, sizeof target - 1);
			target[len > 0 ? len : 1] = 0;
			printf("runner descriptor %d -> %s is not close-on-exec\n", fd, target);
			open_across_exec++;
		}
	}
	closedir(d);
	MPT_ASSERT(seen > 0); /* its region, signalfd, ... */
	MPT_ASSERT_EQ(open_across_exec, 0);
}

/* The session region is a memfd, seen in the maps and through its
 * descriptor; no shared file with a guessable name in /dev/shm or /tmp. */
MPT_TEST(security, region_is_memfd)
{
	char link[64], target[256] = "";
	snprintf(link, sizeof link, "/proc/self/fd/%d", region_fd());
	ssize_t len = readlink(link, target, sizeof target - 1);
	MPT_ASSERT(len > 0);
	target[len] = 0;
	MPT_ASSERT(strncmp(target, "/memfd:mptest-region", 20) == 0);

	FILE *maps = fopen("/proc/self/maps", "re");
	MPT_ASSERT(maps != NULL);
	char line[1024];
	int memfd_maps = 0, named = 0;
	while (fgets(line, sizeof line, maps)) {
		if (strstr(line, "/memfd:mptest-region"))
			memfd_maps++;
		/* A shared mapping (perms "rw-s") of a file someone could
		 * open by name. */
		char perms[8] = "";
		sscanf(line, "%*s %7s", perms);
		if (perms[3] == 's' && (strstr(line, " /dev/shm/") || strstr(line, " /tmp/"))) {
			printf("shared mapping with a name: %s", line);
			named++;
		}
	}
	fclose(maps);
	MPT_ASSERT(memfd_maps >= 1);
	MPT_ASSERT_EQ(named, 0);

	/* A name is guessable when it holds what an attacker knows: the
	 * runner's or the test's pid, or what the region is called. Random
	 * mkdtemp names (the selftests' scratch, --valgrind's logs) are not;
	 * /dev/shm has no business holding anything of mptest's. */
	char runner[16], self[16];
	snprintf(runner, sizeof runner, "%d", (int)getppid());
	snprintf(self, sizeof self, "%d", (int)getpid());
	static const char *const dirs[] = {"/dev/shm", "/tmp"};
	int guessable = 0;
	for (int i = 0; i < 2; i++) {
		DIR *d = opendir(dirs[i]);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			const char *n = e->d_name;
			if (strncmp(n, "mptest", 6))
				continue;
			if (i == 0 || strstr(n, "region") || strstr(n, runner) || strstr(n, self)) {
				printf("guessable name: %s/%s\n", dirs[i], n);
				guessable++;
			}
		}
		if (d)
			closedir(d);
	}
	MPT_ASSERT_EQ(guessable, 0);
}

/* The environment the test body is given, for check_security to compare
 * with the runner's (SEC_ENV_OUT). */
MPT_TEST(security, environment)
{
	const char *out = getenv("SEC_ENV_OUT");
	MPT_ASSERT(out != NULL);
	FILE *f = fopen(out, "we");
	MPT_ASSERT(f != NULL);
	for (char **e = environ; *e; e++)
		fprintf(f, "%s\n", *e);
	MPT_ASSERT_EQ(fclose(f), 0);
}
