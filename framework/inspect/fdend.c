/* End-of-test descriptor checks, in the runner: descriptors carried across
 * exec into a program that never used them, where that program could not
 * say so itself: it was killed, or it is still running as the test ends.
 * A program that exits reports its own (framework/preload/fd.c) and marks
 * the entries, so nothing is reported twice. */
#define _GNU_SOURCE
#include "endcheck.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../core/kinds.h"
#include "../core/region.h"
#include "../core/util.h"

/* The origin fd.c stores in the last bytes of a carried entry's target[]
 * (the region has no field for it yet); the same layout as there. */
struct carried_origin {
	uint64_t site;
	int32_t pid;        /* the process that made it; 0 unknown */
	uint16_t spawn_no;
	uint8_t accmode;    /* O_ACCMODE bits + 1; 0 unknown */
	uint8_t pad;
	char how[12];
};
#define TARGET_SIZE sizeof(((struct mpt__carried *)0)->target)
#define ORIGIN_AT (TARGET_SIZE - sizeof(struct carried_origin))

static int listed(const pid_t *pids, int n, pid_t pid)
{
	for (int i = 0; i < n; i++)
		if (pids[i] == pid)
			return 1;
	return 0;
}

/* Whether the live process pid still holds the entry's descriptor. */
static int still_holds(const struct mpt__carried *c)
{
	char path[64], now[256];
	snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)c->pid, c->fd);
	ssize_t n = readlink(path, now, sizeof now - 1);
	if (n <= 0)
		return 0;
	now[n] = 0;
	/* A long path is stored with only its tail ("...dir/file"). */
	const char *want = c->target;
	if (!strncmp(want, "...", 3)) {
		size_t wl = strlen(want + 3);
		return (size_t)n >= wl && !strcmp(now + n - wl, want + 3);
	}
	return !strcmp(now, want);
}

static const char *advice(const char *target, int accmode)
{
	if (!strncmp(target, "pipe:", 5) && accmode == O_WRONLY + 1)
		return "A pipe's write end held by a program that never writes to it keeps "
		       "the reader from ever seeing end-of-file. Create it close-on-exec "
		       "(pipe2(fds, O_CLOEXEC)) or close it in the child before exec.";
	return "Pass resources to a program explicitly: create descriptors with "
	       "O_CLOEXEC (SOCK_CLOEXEC, pipe2(fds, O_CLOEXEC)) or close them in the "
	       "child before exec.";
}

void mpt__fd_end_of_test(struct mpt__region *r, const pid_t *pids, int n,
			 mpt__finding_fn *emit)
{
	if (!r)
		return;
	unsigned k = atomic_load(&r->ncarried);
	if (k > MPT__MAX_CARRIED)
		k = MPT__MAX_CARRIED;
	for (unsigned i = 0; i < k; i++) {
		struct mpt__carried *c = &r->carried[i];
		if (!atomic_load_explicit(&c->ready, memory_order_acquire))
			continue;
		/* No program ran the shim for it (a static binary, a failed
		 * exec, a posix_spawn child nobody claimed): unknown, not a leak. */
		c->prog[sizeof c->prog - 1] = 0;
		if (c->pid <= 0 || !c->prog[0] || atomic_load(&c->used))
			continue;
		int live = listed(pids, n, c->pid);
		unsigned zero = 0;
		if (live && !still_holds(c)) {
			atomic_compare_exchange_strong(&c->used, &zero, 1);
			continue;
		}
		if (!atomic_compare_exchange_strong(&c->used, &zero, 2))
			continue;

		struct carried_origin o;
		memcpy(&o, c->target + ORIGIN_AT, sizeof o);
		o.how[sizeof o.how - 1] = 0;
		char target[ORIGIN_AT];
		memcpy(target, c->target, sizeof target);
		target[sizeof target - 1] = 0;

		char how[96];
		struct mpt__proc *p = mpt__proc_find(r, c->pid);
		if (live)
			snprintf(how, sizeof how, "; it was still running when the test ended");
		else if (p && atomic_load(&p->state) == MPT__PS_REAPED && WIFSIGNALED(p->status)) {
			char sig[16];
			snprintf(how, sizeof how, " before it was killed by %s",
				 mpt__signal_name(WTERMSIG(p->status), sig));
		} else
			snprintf(how, sizeof how, " before it ended");
		const char *id = mpt__proc_id(r, c->pid);
		const char *end = "";
		if (!strncmp(target, "pipe:", 5))
			end = o.accmode == O_WRONLY + 1 ? ", write end"
			      : o.accmode == O_RDONLY + 1 ? ", read end" : "";
		char *msg = mpt__xasprintf(
			"%s (pid %d, %s) got fd %d (%s%s) across exec without close-on-exec "
			"and never used it%s", id ? id : "a process", (int)c->pid, c->prog, c->fd,
			target, end, how);
		const char *maker = o.pid > 0 ? mpt__proc_id(r, o.pid) : NULL;
		char *detail = o.how[0]
			? mpt__xasprintf("Made by %s() in %s (pid %d). %s", o.how,
					 maker ? maker : "another process", (int)o.pid,
					 advice(target, o.accmode))
			: mpt__xstrdup(advice(target, o.accmode));
		emit(MPT__K_FD_LEAK, c->pid, id, msg, detail);
		free(msg);
		free(detail);
	}
}
