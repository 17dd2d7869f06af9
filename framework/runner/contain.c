#define _GNU_SOURCE
#include "contain.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../core/util.h"

struct mpt__contain {
	int slots;
	int cgroup;          /* 1: cgroup v2 lanes are in use */
	char *base;          /* .../mptest-<pid> */
	int *dirfd;          /* per slot: the lane's cgroup directory */
	int *procsfd;        /* per slot: its cgroup.procs, for the leader */
	pid_t *leaders;      /* per slot: the running leader, or 0 */
	int limits;          /* MPT__CONTAIN_* limits the lanes enforce */
	/* The runner's children before any test (a program with its own
	 * main may have started some before mpt_main): never a test's, never
	 * signalled. By pid and start time, since pids are reused. */
	pid_t *before;
	unsigned long long *before_start;
	int nbefore;
};

/* A process's start time (field 22 of /proc/PID/stat), or 0. */
static unsigned long long start_time(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (mpt__read_file(path, buf, sizeof buf) <= 0)
		return 0;
	char *p = strrchr(buf, ')');
	unsigned long long t = 0;
	/* ") state ppid pgrp session tty tpgid flags minflt cminflt majflt
	 * cmajflt utime stime cutime cstime priority nice threads itrealvalue
	 * starttime" */
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u "
			 "%*d %*d %*d %*d %*d %*d %llu", &t) != 1)
		return 0;
	return t;
}

static int was_there_before(const struct mpt__contain *c, pid_t pid)
{
	for (int i = 0; i < c->nbefore; i++)
		if (c->before[i] == pid)
			return start_time(pid) == c->before_start[i];
	return 0;
}

/* The cgroup2 mount point, from /proc/self/mountinfo; on a hybrid host it
 * is /sys/fs/cgroup/unified, not /sys/fs/cgroup. */
static char *cgroup2_mount(void)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return NULL;
	char *line = NULL, *found = NULL;
	size_t cap = 0;
	while (!found && getline(&line, &cap, f) > 0) {
		/* id parent maj:min root mountpoint options... - fstype src */
		char *dash = strstr(line, " - ");
		if (!dash || strncmp(dash + 3, "cgroup2 ", 8) != 0)
			continue;
		char *save, *tok = strtok_r(line, " ", &save);
		for (int i = 0; tok && i < 4; i++)
			tok = strtok_r(NULL, " ", &save);
		if (tok)
			found = mpt__xstrdup(tok);
	}
	free(line);
	fclose(f);
	return found;
}

static char *own_cgroup(void)
{
	char buf[4096];
	if (mpt__read_file("/proc/self/cgroup", buf, sizeof buf) <= 0)
		return NULL;
	for (char *l = buf; l && *l;) {
		char *nl = strchr(l, '\n');
		if (nl)
			*nl = 0;
		if (strncmp(l, "0::", 3) == 0)
			return mpt__xstrdup(l + 3);
		l = nl ? nl + 1 : NULL;
	}
	return NULL;
}

static void rmdir_lanes(const char *base)
{
	DIR *d = opendir(base);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] == 's') {
			char *p = mpt__xasprintf("%s/%s", base, e->d_name);
			rmdir(p);
			free(p);
		}
	closedir(d);
	rmdir(base);
}

/* Groups left by runners that were killed outright are removed. */
static void remove_stale(const char *parent)
{
	DIR *d = opendir(parent);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		int pid;
		if (sscanf(e->d_name, "mptest-%d", &pid) != 1)
			continue;
		if (kill(pid, 0) == 0 || errno != ESRCH)
			continue;
		char *p = mpt__xasprintf("%s/%s", parent, e->d_name);
		rmdir_lanes(p);
		free(p);
	}
	closedir(d);
}

/* A probe child moves itself into lane 0: the kernel's delegation rules
 * decide, so asking it is the only reliable test. */
static int probe(struct mpt__contain *c)
{
	pid_t p = fork();
	if (p < 0)
		return -1;
	if (p == 0)
		_exit(write(c->procsfd[0], "0", 1) == 1 ? 0 : 1);
	int st;
	while (waitpid(p, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* Writes text to a cgroup file (relative to dirfd, or a path with
 * AT_FDCWD) in one write; 0, or -1 when it cannot be opened or the kernel
 * refused the value. */
static int put_file(int dirfd, const char *file, const char *text)
{
	int fd = openat(dirfd, file, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t len = strlen(text);
	int ok = write(fd, text, len) == (ssize_t)len;
	close(fd);
	return ok ? 0 : -1;
}

/* Pressure (PSI) accounting off for one of our groups. With it on, every
 * context switch of a task in a lane updates the pressure state of the lane
 * and of each ancestor in our base group; bench/shim-overhead.sh's
 * ping-pong switches 200,000 times (one manual test: 1.03x -> 1.015x bare;
 * other runs: within the noise). Nothing in mptest reads *.pressure files,
 * and the accounting of the groups above ours is left alone.
 * cgroup.pressure exists from Linux 6.1 on; where it is missing,
 * read-only or refused this is simply skipped: an optimization. */
static void pressure_off(int dirfd, const char *file)
{
	/* EINVAL on a kernel built without PSI: nothing to undo */
	put_file(dirfd, file, "0");
}

static int setup_cgroup(struct mpt__contain *c)
{
	char *mnt = cgroup2_mount(), *own = own_cgroup();
	int ok = -1;
	if (!mnt || !own)
		goto out;
	char *parent = mpt__xasprintf("%s%s", mnt, strcmp(own, "/") ? own : "");
	remove_stale(parent);
	c->base = mpt__xasprintf("%s/mptest-%d", parent, (int)getpid());
	free(parent);
	if (mkdir(c->base, 0755) < 0 && errno != EEXIST)
		goto out;
	{
		char *pressure = mpt__xasprintf("%s/cgroup.pressure", c->base);
		pressure_off(AT_FDCWD, pressure);
		free(pressure);
	}
	for (int i = 0; i < c->slots; i++) {
		char *p = mpt__xasprintf("%s/s%d", c->base, i);
		int r = mkdir(p, 0755);
		if (r == 0 || errno == EEXIST)
			c->dirfd[i] = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		free(p);
		if (c->dirfd[i] < 0)
			goto out;
		pressure_off(c->dirfd[i], "cgroup.pressure");
		c->procsfd[i] = openat(c->dirfd[i], "cgroup.procs",
				       O_WRONLY | O_CLOEXEC);
		if (c->procsfd[i] < 0)
			goto out;
	}
	if (faccessat(c->dirfd[0], "cgroup.kill", W_OK, 0) < 0)
		goto out;
	ok = 1;
out:
	/* Freed before the probe forks: its child ends holding nothing (under
	 * Valgrind a string only this frame pointed to was a "definite" leak
	 * of the probe process). */
	free(mnt);
	free(own);
	return ok == 1 ? probe(c) : ok;
}

static void close_lanes(struct mpt__contain *c)
{
	for (int i = 0; i < c->slots; i++) {
		if (c->dirfd[i] >= 0)
			close(c->dirfd[i]);
		if (c->procsfd[i] >= 0)
			close(c->procsfd[i]);
		c->dirfd[i] = c->procsfd[i] = -1;
	}
}

struct mpt__contain *mpt__contain_new(int slots, int no_cgroup)
{
	struct mpt__contain *c = mpt__xcalloc(1, sizeof *c);
	c->slots = slots;
	c->dirfd = mpt__xmalloc(sizeof(int) * (size_t)slots);
	c->procsfd = mpt__xmalloc(sizeof(int) * (size_t)slots);
	c->leaders = mpt__xcalloc((size_t)slots, sizeof(pid_t));
	for (int i = 0; i < slots; i++)
		c->dirfd[i] = c->procsfd[i] = -1;
	pid_t kids[1024];
	c->nbefore = mpt__children_of(getpid(), kids, 0, 1024);
	c->before = mpt__xmalloc(sizeof(pid_t) * (size_t)(c->nbefore + 1));
	c->before_start = mpt__xmalloc(sizeof *c->before_start * (size_t)(c->nbefore + 1));
	for (int i = 0; i < c->nbefore; i++) {
		c->before[i] = kids[i];
		c->before_start[i] = start_time(kids[i]);
	}
	if (!no_cgroup && !getenv("MPT_NO_CGROUP") && setup_cgroup(c) == 0) {
		c->cgroup = 1;
	} else {
		close_lanes(c);
		if (c->base)
			rmdir_lanes(c->base);
		free(c->base);
		c->base = NULL;
	}
	return c;
}

void mpt__contain_free(struct mpt__contain *c)
{
	if (!c)
		return;
	close_lanes(c);
	if (c->base)
		rmdir_lanes(c->base);
	free(c->base);
	free(c->dirfd);
	free(c->procsfd);
	free(c->leaders);
	free(c->before);
	free(c->before_start);
	free(c);
}

int mpt__contain_uses_cgroup(const struct mpt__contain *c)
{
	return c->cgroup;
}

void mpt__contain_enter(struct mpt__contain *c, int slot, unsigned long token)
{
	if (c->cgroup) {
		if (write(c->procsfd[slot], "0", 1) != 1) {
			/* The probe passed, so this is unexpected; the
			 * fallback sweep still finds the tree. */
		}
	} else {
		/* Exec'd descendants carry the token in their environment. */
		char v[32];
		snprintf(v, sizeof v, "%d-%lu", (int)getppid(), token);
		setenv("MPT_TEST_TOKEN", v, 1);
	}
}

void mpt__contain_close_fds(struct mpt__contain *c)
{
	/* In a new test leader, which never uses them again: closed but not
	 * marked closed, so the two arrays' pages (shared with the runner
	 * since fork) are not copied. */
	for (int i = 0; i < c->slots; i++) {
		if (c->dirfd[i] >= 0)
			close(c->dirfd[i]);
		if (c->procsfd[i] >= 0)
			close(c->procsfd[i]);
	}
}

/* ---- the fallback: the runner's own children, by token ---------------- */

static int has_token(pid_t pid, unsigned long token)
{
	char want[64], path[64];
	/* Processes that did not exec share the region mapping. */
	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	int found = 0;
	if (f) {
		char *line = NULL;
		size_t cap = 0;
		char name[64];
		snprintf(name, sizeof name, "/memfd:mptest-region-%d-%lu ",
			 (int)getpid(), token);
		while (!found && getline(&line, &cap, f) > 0)
			found = strstr(line, name) != NULL;
		free(line);
		fclose(f);
	}
	if (found)
		return 1;
	/* Exec'd ones carry MPT_TEST_TOKEN; those exec'd with an empty
	 * environment got the region's descriptor (MPT_REGION_FD) back from
	 * the shim, and hold it before the shim in them maps it. */
	static char env[1 << 16];
	snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
	ssize_t len = mpt__read_file(path, env, sizeof env);
	snprintf(want, sizeof want, "MPT_TEST_TOKEN=%d-%lu", (int)getpid(), token);
	int regionfd = -1;
	for (ssize_t i = 0; i < len; i += (ssize_t)strlen(env + i) + 1) {
		if (strcmp(env + i, want) == 0)
			return 1;
		if (!strncmp(env + i, "MPT_REGION_FD=", 14))
			regionfd = atoi(env + i + 14);
	}
	if (regionfd < 0)
		return 0;
	char link[128], target[128];
	snprintf(link, sizeof link, "/proc/%d/fd/%d", (int)pid, regionfd);
	ssize_t n = readlink(link, target, sizeof target - 1);
	if (n <= 0)
		return 0;
	target[n] = 0;
	snprintf(want, sizeof want, "/memfd:mptest-region-%d-%lu ", (int)getpid(), token);
	return !strncmp(target, want, strlen(want));
}

static int is_zombie(pid_t pid)
{
	char st = mpt__proc_state(pid);
	return !st || st == 'Z' || st == 'X'; /* 0: gone */
}

int mpt__proc_dying(pid_t pid)
{
	char path[64], buf[2048];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (mpt__read_file(path, buf, sizeof buf) <= 0)
		return 1;
	char *p = strrchr(buf, ')');
	unsigned long flags = 0;
	/* ") state ppid pgrp session tty_nr tpgid flags" */
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %lu", &flags) != 1)
		return 1;
	if (flags & 0x4) /* PF_EXITING */
		return 1;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if (mpt__read_file(path, buf, sizeof buf) <= 0)
		return 1;
	for (const char *key = "SigPnd:"; key; key = strcmp(key, "SigPnd:") ? NULL : "ShdPnd:") {
		const char *l = strstr(buf, key);
		unsigned long long mask;
		if (l && sscanf(l + strlen(key), " %llx", &mask) == 1 &&
		    (mask & (1ULL << (SIGKILL - 1))))
			return 1;
	}
	return 0;
}

int mpt__children_of(pid_t pid, pid_t *out, int n, int max)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return n;
	struct dirent *e;
	static char buf[1 << 16];
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char cpath[320];
		snprintf(cpath, sizeof cpath, "/proc/%d/task/%s/children",
			 (int)pid, e->d_name);
		if (mpt__read_file(cpath, buf, sizeof buf) <= 0)
			continue;
		for (char *p = buf; *p && n < max;) {
			char *end;
			long v = strtol(p, &end, 10);
			if (end == p)
				break;
			out[n++] = (pid_t)v;
			p = end;
			while (*p == ' ' || *p == '\n')
				p++;
		}
	}
	closedir(d);
	return n;
}

void mpt__contain_set_leader(struct mpt__contain *c, int slot, pid_t leader)
{
	c->leaders[slot] = leader;
}

static int is_leader(const struct mpt__contain *c, pid_t pid)
{
	for (int i = 0; i < c->slots; i++)
		if (c->leaders[i] == pid)
			return 1;
	return 0;
}

/* The runner's children that are not its test leaders (nor were there
 * before the run), with their subtrees; with token 0 every one of them,
 * else those of the test with that token. Zombies are left out. */
static int list_orphans(const struct mpt__contain *c, unsigned long token, pid_t leader,
			pid_t *pids, int max)
{
	pid_t mine[1024];
	int nmine = mpt__children_of(getpid(), mine, 0, 1024), n = 0;
	for (int i = 0; i < nmine && n < max; i++) {
		/* Leaders are the runner's own children, never orphans (a new
		 * leader still maps the other tests' regions for a moment). */
		if (mine[i] == leader || is_leader(c, mine[i]) || is_zombie(mine[i]))
			continue;
		if (c->nbefore && was_there_before(c, mine[i]))
			continue;
		if (token && !has_token(mine[i], token))
			continue;
		/* The whole subtree below an orphan is the test's. */
		int start = n;
		pids[n++] = mine[i];
		for (int j = start; j < n && n < max; j++)
			n = mpt__children_of(pids[j], pids, n, max);
	}
	/* Drop zombies: they are dead, and their parents are in the list. */
	int k = 0;
	for (int i = 0; i < n; i++)
		if (!is_zombie(pids[i]))
			pids[k++] = pids[i];
	return k;
}

static int list_fallback(const struct mpt__contain *c, unsigned long token, pid_t leader,
			 pid_t *pids, int max)
{
	/* With one lane, every child of the runner but the leader came from
	 * the running test: a process that dropped both the region's mapping
	 * and MPT_TEST_TOKEN (a static program, a daemon exec'd with an
	 * empty environment, any program when the shim was not found) is
	 * still claimed. With several lanes such a process is unattributable
	 * and goes at the next quiet moment (mpt__contain_strays). */
	return list_orphans(c, c->slots == 1 ? 0 : token, leader, pids, max);
}

int mpt__contain_strays(struct mpt__contain *c, pid_t *pids, int max)
{
	return list_orphans(c, 0, 0, pids, max);
}

static int list_cgroup(struct mpt__contain *c, int slot, pid_t leader,
		       pid_t *pids, int max)
{
	int fd = openat(c->dirfd[slot], "cgroup.procs", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	static char buf[1 << 16];
	ssize_t len = 0, r;
	while ((r = read(fd, buf + len, sizeof buf - 1 - (size_t)len)) > 0)
		len += r;
	close(fd);
	/* An empty group (the common case, checked before every test) writes
	 * nothing: a store into buf would be a copy-on-write fault. */
	if (len <= 0)
		return 0;
	buf[len] = 0;
	int n = 0;
	for (char *p = buf; *p && n < max;) {
		char *end;
		long v = strtol(p, &end, 10);
		if (end == p)
			break;
		if ((pid_t)v != leader && !is_zombie((pid_t)v))
			pids[n++] = (pid_t)v;
		p = end;
		while (*p == '\n')
			p++;
	}
	return n;
}

int mpt__contain_tree(struct mpt__contain *c, int slot, unsigned long token,
		      pid_t leader, pid_t *pids, int max)
{
	int n = 0;
	if (max < 1)
		return 0;
	pids[n++] = leader;
	if (c->cgroup) {
		n += list_cgroup(c, slot, leader, pids + 1, max - 1);
		return n;
	}
	/* The leader's subtree, then orphans already reparented to us. */
	for (int j = 0; j < n && n < max; j++)
		n = mpt__children_of(pids[j], pids, n, max);
	int k = 0;
	for (int i = 0; i < n; i++)
		if (i == 0 || !is_zombie(pids[i]))
			pids[k++] = pids[i];
	return k + list_fallback(c, token, leader, pids + k, max - k);
}

int mpt__contain_list(struct mpt__contain *c, int slot, unsigned long token,
		      pid_t leader, pid_t *pids, int max)
{
	if (c->cgroup)
		return list_cgroup(c, slot, leader, pids, max);
	return list_fallback(c, token, leader, pids, max);
}

static void reap_all(void (*reap)(void *, pid_t, int), void *arg)
{
	int st;
	pid_t p;
	while ((p = waitpid(-1, &st, WNOHANG)) > 0)
		reap(arg, p, st);
}

void mpt__contain_kill(struct mpt__contain *c, int slot, unsigned long token,
		       pid_t leader,
		       void (*reap)(void *arg, pid_t pid, int status), void *arg)
{
	pid_t pids[4096];
	int64_t deadline = mpt__now_ns() + 5000000000LL;
	if (c->cgroup && slot >= 0) /* when refused: signalling each process below does it */
		put_file(c->dirfd[slot], "cgroup.kill", "1");
	/* Every process signalled, so that the run waits until each one is
	 * really dead: a killed process drops its memory map (and so its
	 * token) before it becomes a zombie, and tearing down a large map
	 * (an ASan process's) can take a while on a loaded machine. */
	static pid_t killed[4096];
	int nkilled = 0;
	struct timespec ts = {0, 500000};
	for (;;) {
		reap_all(reap, arg);
		int n = slot < 0 ? mpt__contain_strays(c, pids, 4096)
				 : mpt__contain_list(c, slot, token, leader, pids, 4096);
		if (n == 0 || mpt__now_ns() > deadline)
			break;
		for (int i = 0; i < n; i++) {
			kill(pids[i], SIGKILL);
			int seen = 0;
			for (int j = 0; j < nkilled && !seen; j++)
				seen = killed[j] == pids[i];
			if (!seen && nkilled < 4096)
				killed[nkilled++] = pids[i];
		}
		nanosleep(&ts, NULL);
	}
	for (int j = 0; j < nkilled;) {
		reap_all(reap, arg);
		if (is_zombie(killed[j]) || mpt__now_ns() > deadline)
			j++;
		else
			nanosleep(&ts, NULL);
	}
	reap_all(reap, arg);
}

/* ---- limits through the lanes' controllers ---------------------------------
 * A lane can enforce pids.max and memory.max only if the runner's own group
 * delegates those controllers (they are listed in our base group's
 * cgroup.controllers); then "+pids" / "+memory" in the base group's
 * cgroup.subtree_control gives them to the lanes. The base group holds no
 * process (the runner stays in its parent), as cgroup v2 requires. Where
 * they are not delegated (a hybrid host with only hugetlb, say), nothing
 * is enabled and the shim and the runner's own count are the limits. */

static int enable_controller(struct mpt__contain *c, const char *ctl)
{
	char *path = mpt__xasprintf("%s/cgroup.controllers", c->base);
	char buf[1024];
	ssize_t n = mpt__read_file(path, buf, sizeof buf);
	free(path);
	int listed = 0;
	char *save = NULL;
	for (char *tok = n > 0 ? strtok_r(buf, " \n", &save) : NULL; tok && !listed;
	     tok = strtok_r(NULL, " \n", &save))
		listed = strcmp(tok, ctl) == 0;
	if (!listed)
		return -1;
	path = mpt__xasprintf("%s/cgroup.subtree_control", c->base);
	char w[32];
	snprintf(w, sizeof w, "+%s", ctl);
	int r = put_file(AT_FDCWD, path, w);
	free(path);
	return r;
}

static int write_value(int dirfd, const char *file, unsigned long long v)
{
	char b[32];
	snprintf(b, sizeof b, "%llu", v);
	return put_file(dirfd, file, b);
}

int mpt__contain_set_limits(struct mpt__contain *c, unsigned long long pids_max,
			    unsigned long long memory_max)
{
	if (!c->cgroup)
		return 0;
	int ok;
	if (pids_max && enable_controller(c, "pids") == 0) {
		ok = 1;
		for (int i = 0; i < c->slots; i++)
			ok &= write_value(c->dirfd[i], "pids.max", pids_max) == 0;
		if (ok)
			c->limits |= MPT__CONTAIN_PIDS;
	}
	if (memory_max && enable_controller(c, "memory") == 0) {
		ok = 1;
		for (int i = 0; i < c->slots; i++) {
			ok &= write_value(c->dirfd[i], "memory.max", memory_max) == 0;
			/* Without this the limit pushes the test into swap
			 * instead of ending it; absent when there is no swap. */
			write_value(c->dirfd[i], "memory.swap.max", 0);
		}
		if (ok)
			c->limits |= MPT__CONTAIN_MEMORY;
	}
	return c->limits;
}

/* "key N" from a flat-keyed cgroup file of the lane, or 0. */
static unsigned long long lane_counter(struct mpt__contain *c, int slot, const char *file,
				       const char *key)
{
	int fd = openat(c->dirfd[slot], file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	char buf[1024];
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	size_t kl = strlen(key);
	for (char *l = buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, key, kl) && l[kl] == ' ')
			return strtoull(l + kl + 1, NULL, 10);
	return 0;
}

void mpt__contain_limit_events(struct mpt__contain *c, int slot, unsigned long long *pids_max,
			       unsigned long long *oom_kills)
{
	*pids_max = c->limits & MPT__CONTAIN_PIDS ? lane_counter(c, slot, "pids.events", "max") : 0;
	*oom_kills = c->limits & MPT__CONTAIN_MEMORY
		? lane_counter(c, slot, "memory.events", "oom_kill") : 0;
}
