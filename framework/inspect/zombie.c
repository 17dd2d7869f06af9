#define _GNU_SOURCE
#include "zombie.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/kinds.h"
#include "../core/region.h"
#include "../core/util.h"
#include "symbolize.h"

static ssize_t slurp(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	return n;
}

/* State and exit code from /proc/PID/stat (exit_code is field 52). */
static int stat_of(pid_t pid, char *state, int *exit_code, unsigned long *flags)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (slurp(path, buf, sizeof buf) <= 0)
		return -1;
	char *p = strrchr(buf, ')');
	if (!p || !p[1])
		return -1;
	*state = p[2];
	*exit_code = -1;
	*flags = 0;
	int field = 3;
	for (char *q = p + 2; *q; q++) {
		if (*q != ' ')
			continue;
		if (++field == 9)
			*flags = strtoul(q + 1, NULL, 10);
		else if (field == 52) {
			*exit_code = atoi(q + 1);
			break;
		}
	}
	return 0;
}

int mpt__zombie_check(struct mpt__region *r, pid_t parent, const char *when,
		      pid_t except, mpt__finding_fn *emit)
{
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)parent, (int)parent);
	if (slurp(path, buf, sizeof buf) <= 0)
		return 0;
	const char *pid_id = r ? mpt__proc_id(r, parent) : NULL;
	int found = 0;
	for (char *p = buf; *p;) {
		char *end;
		long child = strtol(p, &end, 10);
		if (end == p)
			break;
		p = end;
		while (*p == ' ')
			p++;
		if (except && child == except)
			continue;
		char state;
		int code;
		unsigned long flags;
		/* A child already in exit (PF_EXITING: it has closed its files,
		 * so its parent may have seen end of file) but not yet a zombie
		 * has exited all the same: the parent did not wait for it. */
		if (stat_of((pid_t)child, &state, &code, &flags) < 0 ||
		    (state != 'Z' && !(flags & 0x4)))
			continue;
		if (state != 'Z')
			code = -1;
		struct mpt__proc *e = r ? mpt__proc_find(r, (pid_t)child) : NULL;
		char how[64], msg[512], detail[1000], where[200] = "";
		if (e && e->fork_site) {
			char text[160];
			mpt__symbolize(parent, e->fork_site, text, sizeof text);
			if (text[0])
				snprintf(where, sizeof where, "Forked at %s. ", text);
		}
		if (code >= 0 && (code & 0x7f) == 0)
			snprintf(how, sizeof how, "exited with status %d", (code >> 8) & 0xff);
		else if (code >= 0) {
			char sig[16];
			snprintf(how, sizeof how, "was killed by %s",
				 mpt__signal_name(code & 0x7f, sig));
		}
		else
			snprintf(how, sizeof how, "exited");
		snprintf(msg, sizeof msg, "%s (pid %ld%s%s) %s, but its parent %s (pid %d) "
			 "never waited for it", e ? e->id : "a child", child,
			 e && e->prog[0] ? ", " : "", e ? e->prog : "", how,
			 pid_id ? pid_id : "?", (int)parent);
		snprintf(detail, sizeof detail,
			 "%sSeen %s: the child stayed a zombie while %s lived on. "
			 "Reap every child you start: waitpid(pid, &status, 0), "
			 "or a SIGCHLD handler that loops on waitpid(-1, &st, WNOHANG).",
			 where, when, pid_id ? pid_id : "its parent");
		emit(MPT__K_ZOMBIE, (pid_t)child, e ? e->id : NULL, msg, detail);
		found++;
	}
	return found;
}
