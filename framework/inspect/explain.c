/* Explaining a deadlock: the one-line message, the report (the verdict,
 * the cycle as an indented tree, each wait with its call, descriptor,
 * object, pipe fill and the other end's holders, the call sites the region
 * knows, a fix hint keyed to the pattern, then the stacks) and the
 * wait-for graph in Graphviz DOT. */
#define _GNU_SOURCE
#include "waitgraph.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "../core/util.h"
#include "stacks.h"
#include "symbolize.h"

#define STACK_BUDGET_NS 3000000000LL /* for all stack dumps together */
#define MAX_STACKS 16

static void copy_str(char *dst, size_t n, const char *src)
{
	size_t i = 0;
	for (; src && src[i] && i + 1 < n; i++)
		dst[i] = src[i];
	dst[i] = 0;
}

static void name_node(struct sample *S, struct node *nd)
{
	nd->proc = S->r ? mpt__proc_find(S->r, nd->pid) : NULL;
	if (nd->proc && nd->proc->id[0])
		copy_str(nd->id, sizeof nd->id, nd->proc->id);
	else
		snprintf(nd->id, sizeof nd->id, "pid %d", (int)nd->pid);
	if (nd->proc && nd->proc->prog[0])
		copy_str(nd->prog, sizeof nd->prog, nd->proc->prog);
	else
		copy_str(nd->prog, sizeof nd->prog, nd->s.comm[0] ? nd->s.comm : "?");
}

/* "p0.1", or "pid 4243" for a process the region does not know. */
static const char *id_of(struct sample *S, pid_t pid, char *buf, size_t n)
{
	struct node *q = node_of(S, pid);
	if (q)
		return q->id;
	const char *id = S->r ? mpt__proc_id(S->r, pid) : NULL;
	if (id && *id)
		snprintf(buf, n, "%s", id);
	else
		snprintf(buf, n, "pid %d", (int)pid);
	return buf;
}

/* "p0 and p0.1", with "itself" for self. */
static void id_list(struct sample *S, struct mpt__buf *b, const pid_t *pids, int n, pid_t self)
{
	for (int i = 0; i < n; i++) {
		char tmp[48];
		if (i == 6 && n > 8) {
			/* Many: six, and how many more. */
			mpt__buf_printf(b, " and %d more", n - 6);
			return;
		}
		if (i > 0)
			mpt__buf_puts(b, i == n - 1 ? " and " : ", ");
		mpt__buf_puts(b, pids[i] == self ? "itself" : id_of(S, pids[i], tmp, sizeof tmp));
	}
}

static void target_object(struct sample *S, struct node *nd, const struct target *t,
			  char *buf, size_t n)
{
	if (t->type == MPT__FD_PIPE && !t->dev)
		snprintf(buf, n, "pipe:[%lu]", t->ino);
	else if (t->type == MPT__FD_SOCKET)
		snprintf(buf, n, "socket:[%lu]", t->ino);
	else
		mpt__fd_target(nd->pid, t->fd, buf, n);
}

/* The call as a reader of the program would write it. */
static void call_text(struct sample *S, struct node *nd, const struct wait *w,
		      struct mpt__buf *b)
{
	char obj[200];
	switch (w->kind) {
	case W_WAITPID:
		if (!strcmp(w->call, "waitid"))
			mpt__buf_printf(b, "waitid(%ld)", w->wpid);
		else
			mpt__buf_printf(b, "waitpid(%ld)", w->wpid);
		return;
	case W_FD: {
		const struct target *t = &w->t[0];
		target_object(S, nd, t, obj, sizeof obj);
		mpt__buf_printf(b, "%s(fd %d → %s", w->call, t->fd, obj);
		if (t->dir == 1 && (!strcmp(w->call, "write") || !strcmp(w->call, "send") ||
				    !strcmp(w->call, "pwrite")))
			mpt__buf_printf(b, ", %lu bytes", w->args[2]);
		mpt__buf_puts(b, ")");
		return;
	}
	case W_POLL:
		mpt__buf_printf(b, "%s(", w->call);
		for (int i = 0; i < w->nt; i++) {
			target_object(S, nd, &w->t[i], obj, sizeof obj);
			mpt__buf_printf(b, "%sfd %d → %s %s", i ? ", " : "", w->t[i].fd, obj,
					w->t[i].dir ? "out" : "in");
		}
		mpt__buf_puts(b, w->nt ? "; no timeout)" : "no descriptors, no timeout)");
		return;
	case W_MUTEX:
	case W_SEM:
		mpt__buf_printf(b, "%s(%#lx)", w->call, (unsigned long)w->addr);
		return;
	case W_FUTEX:
		mpt__buf_printf(b, "futex(%#lx, %s)", (unsigned long)w->addr,
				(w->args[1] & FUTEX_CMD_MASK) == FUTEX_WAIT_BITSET
					? "FUTEX_WAIT_BITSET" : "FUTEX_WAIT");
		return;
	case W_FLOCK:
		mpt__buf_printf(b, "flock(fd %d → %s, %s)", (int)w->args[0], w->path,
				(w->args[1] & LOCK_EX) ? "LOCK_EX" : "LOCK_SH");
		return;
	case W_FCNTL:
		mpt__buf_printf(b, "fcntl(fd %d → %s, %s)", (int)w->args[0], w->path,
				(int)w->args[1] == F_SETLKW ? "F_SETLKW" : "F_OFD_SETLKW");
		return;
	default:
		mpt__buf_printf(b, "%s()", w->call);
	}
}

/* A mutex wait on a lock the waiting thread itself holds. */
static int relock(const struct node *nd, const struct wait *w)
{
	if (w->kind != W_MUTEX || w->owner != nd->pid)
		return 0;
	return w->owner_tid ? w->owner_tid == w->tid : nd->nw == 1;
}

static int pipe_full(const struct target *t)
{
	return t->fill >= 0 && t->cap > 0 && t->fill + 4096 > t->cap;
}

/* The holders of a target, as processes (each once). */
static int target_pids(const struct target *t, pid_t *out, int max)
{
	int n = 0;
	for (int i = 0; i < t->nh && n < max; i++) {
		int dup = 0;
		for (int j = 0; j < n; j++)
			dup |= out[j] == t->h[i].pid;
		if (!dup)
			out[n++] = t->h[i].pid;
	}
	return n;
}

/* The clause of the one-line message: "waits in write() on a full pipe
 * only p0 reads". */
static void phrase(struct sample *S, struct node *nd, const struct wait *w, struct mpt__buf *b)
{
	pid_t *who;
	int n;
	char tmp[48];
	mpt__buf_printf(b, "waits in %s%s", w->call,
			w->kind == W_FCNTL ? "(F_SETLKW)" : "()");
	switch (w->kind) {
	case W_WAITPID:
		mpt__buf_puts(b, w->wpid > 0 || w->nhelp == 1 ? " for " : " for its children ");
		id_list(S, b, w->help, w->nhelp, 0);
		return;
	case W_FD: {
		const struct target *t = &w->t[0];
		who = mpt__xcalloc((size_t)t->nh + 1, sizeof *who);
		n = target_pids(t, who, t->nh);
		const char *obj = t->type == MPT__FD_SOCKET ? "socket" : "pipe";
		if (t->dir == 1)
			mpt__buf_printf(b, " on a %s%s only ", pipe_full(t) ? "full " : "", obj);
		else
			mpt__buf_printf(b, " on an empty %s only ", obj);
		id_list(S, b, who, n, nd->pid);
		free(who);
		if (t->dir == 1)
			mpt__buf_puts(b, n > 1 ? " read" : " reads");
		else
			mpt__buf_puts(b, n > 1 ? " write to" : " writes to");
		return;
	}
	case W_POLL:
		mpt__buf_puts(b, " with no timeout, on descriptors only ");
		id_list(S, b, w->help, w->nhelp, nd->pid);
		mpt__buf_puts(b, " could make ready");
		return;
	case W_MUTEX:
		if (w->forked_copy)
			mpt__buf_printf(b, " for its copy of a mutex thread %d of %s held when "
					   "it forked",
					(int)w->owner_tid, id_of(S, w->owner, tmp, sizeof tmp));
		else if (w->owner_dead)
			mpt__buf_printf(b, " for a mutex held by %s, which is gone",
					id_of(S, w->owner, tmp, sizeof tmp));
		else if (relock(nd, w))
			mpt__buf_puts(b, " for a mutex it holds itself");
		else if (w->owner == nd->pid)
			mpt__buf_printf(b, " for a mutex its own thread %d holds",
					(int)w->owner_tid);
		else
			mpt__buf_printf(b, " for a mutex %s holds",
					id_of(S, w->owner, tmp, sizeof tmp));
		return;
	case W_SEM:
		mpt__buf_puts(b, " on a semaphore no live process will post");
		return;
	case W_FUTEX:
		mpt__buf_puts(b, " for a wake-up no live process will send");
		return;
	case W_FLOCK:
	case W_FCNTL:
		if (w->owner > 0 && w->nhelp)
			mpt__buf_printf(b, " for a lock %s holds",
					w->owner == nd->pid ? "it itself" : id_of(S, w->owner, tmp, sizeof tmp));
		else {
			mpt__buf_puts(b, " for a lock on a file ");
			id_list(S, b, w->help, w->nhelp, nd->pid);
			mpt__buf_puts(b, " also has open");
		}
		return;
	case W_SIGNAL:
		mpt__buf_puts(b, " for a signal no live process will send");
		return;
	default:
		mpt__buf_puts(b, " for an operation no live process will perform");
	}
}

/* The stuck processes a node's waits point to, each once. */
static int stuck_children(struct sample *S, struct node *nd, struct node **out, int max)
{
	int n = 0;
	for (int j = 0; j < nd->nw; j++)
		for (int i = 0; i < nd->w[j].nhelp && n < max; i++) {
			struct node *q = node_of(S, nd->w[j].help[i]);
			int dup = 0;
			for (int k = 0; k < n; k++)
				dup |= out[k] == q;
			if (q && q->stuck && !dup)
				out[n++] = q;
		}
	return n;
}

static void label(struct node *nd, struct mpt__buf *b)
{
	mpt__buf_printf(b, "%s (pid %d, %s)", nd->id, (int)nd->pid, nd->prog);
}

/* What a process of the tree waits in, after its label. */
static void waits_text(struct sample *S, struct node *nd, struct mpt__buf *b)
{
	for (int j = 0; j < nd->nw; j++) {
		if (nd->nw > 1)
			mpt__buf_printf(b, "%s thread %d", j ? ";" : "", (int)nd->w[j].tid);
		mpt__buf_puts(b, " waits in ");
		call_text(S, nd, &nd->w[j], b);
		const struct wait *w = &nd->w[j];
		if (w->any && !w->nhelp)
			mpt__buf_puts(b, " (nobody left to end it)");
		for (int i = 0; i < w->nhelp; i++) {
			struct node *q = node_of(S, w->help[i]);
			if (!q || !q->live)
				mpt__buf_printf(b, " (pid %d, which is gone)", (int)w->help[i]);
		}
		if (w->owner_dead) {
			char tmp[48];
			mpt__buf_printf(b, " (held by %s, pid %d, which is gone)",
					id_of(S, w->owner, tmp, sizeof tmp), (int)w->owner);
		}
	}
}

/* The tree the report prints: each stuck process reachable from root gets
 * a parent (par[], an index; -1 for root), breadth first, so that each is
 * printed once and as near the root as it can be. */
static void span(struct sample *S, struct node *root, int *par)
{
	int *queue = mpt__xcalloc((size_t)S->nn, sizeof *queue);
	struct node **kids = mpt__xcalloc((size_t)S->nn, sizeof *kids);
	int head = 0, tail = 0;
	par[root - S->n] = -1;
	queue[tail++] = (int)(root - S->n);
	while (head < tail) {
		struct node *nd = &S->n[queue[head++]];
		int nk = stuck_children(S, nd, kids, S->nn);
		for (int i = 0; i < nk; i++) {
			int k = (int)(kids[i] - S->n);
			if (par[k] == -2) {
				par[k] = (int)(nd - S->n);
				queue[tail++] = k;
			}
		}
	}
	free(kids);
	free(queue);
}

static int has_tree_kids(struct sample *S, const int *par, int idx)
{
	for (int i = 0; i < S->nn; i++)
		if (par[i] == idx)
			return 1;
	return 0;
}

/* The text a leaf is grouped by: its program and its waits. */
static char *leaf_key(struct sample *S, struct node *nd)
{
	struct mpt__buf k = {0};
	mpt__buf_printf(&k, "%s|", nd->prog);
	waits_text(S, nd, &k);
	return k.p ? k.p : mpt__xasprintf("%s", "");
}

struct tree_ctx {
	struct sample *S;
	struct mpt__buf *b;
	int *par;
	int *printed;
	struct node *path[64];
};

/* The wait-for graph as an indented tree: the spanning tree of span(),
 * each process once; the other processes a process waits for on a line
 * of their own (or one line for many); a run of siblings with no children
 * that wait alike as one line. */
static void tree(struct tree_ctx *c, struct node *nd, const char *prefix, int last, int depth)
{
	struct sample *S = c->S;
	struct mpt__buf *b = c->b;
	int idx = (int)(nd - S->n);
	mpt__buf_puts(b, "  ");
	mpt__buf_puts(b, prefix);
	if (depth > 0)
		mpt__buf_puts(b, last ? "└─ " : "├─ ");
	c->printed[idx] = 1;
	label(nd, b);
	waits_text(S, nd, b);
	mpt__buf_puts(b, "\n");
	c->path[depth] = nd;

	struct node **kids = mpt__xcalloc((size_t)S->nn, sizeof *kids);
	int nk = stuck_children(S, nd, kids, S->nn), ntree = 0, nother = 0;
	/* Itself among them (a reader holding its write end): its wait
	 * says so already. */
	for (int i = 0; i < nk; i++)
		if (kids[i] == nd) {
			memmove(&kids[i], &kids[i + 1], (size_t)(nk - i - 1) * sizeof *kids);
			nk--;
			break;
		}
	for (int i = 0; i < nk; i++) {
		if (c->par[kids[i] - S->n] == idx && depth + 1 < 64)
			ntree++;
		else
			nother++;
	}
	char sub[256];
	snprintf(sub, sizeof sub, "%s%s", prefix, depth == 0 ? "" : last ? "   " : "│  ");
	/* The other edges: to the path (the cycle), or to processes printed
	 * elsewhere in the tree. */
	if (nother > 0 && nother <= 3) {
		int left = nother;
		for (int i = 0; i < nk; i++) {
			struct node *q = kids[i];
			if (c->par[q - S->n] == idx && depth + 1 < 64)
				continue;
			int on_path = 0;
			for (int d = 0; d <= depth; d++)
				on_path |= c->path[d] == q;
			left--;
			mpt__buf_printf(b, "  %s%s%s (pid %d): %s\n", sub,
					ntree == 0 && left == 0 ? "└─ " : "├─ ", q->id, (int)q->pid,
					on_path ? "back where the cycle started"
					: c->printed[q - S->n] ? "see above" : "see below");
		}
	} else if (nother > 3) {
		mpt__buf_printf(b, "  %s%sand %d processes shown elsewhere in this tree (", sub,
				ntree == 0 ? "└─ " : "├─ ", nother);
		int said = 0;
		for (int i = 0; i < nk; i++) {
			if (c->par[kids[i] - S->n] == idx && depth + 1 < 64)
				continue;
			if (said == 6) {
				mpt__buf_puts(b, ", …");
				break;
			}
			mpt__buf_printf(b, "%s%s", said++ ? ", " : "", kids[i]->id);
		}
		mpt__buf_puts(b, ")\n");
	}
	/* The tree children, a run of alike leaves as one line. */
	int done = 0;
	for (int i = 0; i < nk; i++) {
		struct node *q = kids[i];
		int qi = (int)(q - S->n);
		if (c->par[qi] != idx || depth + 1 >= 64)
			continue;
		done++;
		int run = 1;
		char *key = NULL;
		if (!has_tree_kids(S, c->par, qi)) {
			key = leaf_key(S, q);
			for (int j = i + 1; j < nk; j++) {
				int ji = (int)(kids[j] - S->n);
				if (c->par[ji] != idx)
					continue;
				char *k2 = has_tree_kids(S, c->par, ji) ? NULL : leaf_key(S, kids[j]);
				int same = k2 && !strcmp(k2, key);
				free(k2);
				if (!same)
					break;
				run++;
			}
		}
		free(key);
		if (run < 3) {
			tree(c, q, sub, done == ntree, depth + 1);
			continue;
		}
		/* The first in full, the rest in one line. */
		tree(c, q, sub, 0, depth + 1);
		struct node *first = NULL, *lastq = NULL;
		for (int j = i + 1, got = 0; j < nk && got < run - 1; j++) {
			int ji = (int)(kids[j] - S->n);
			if (c->par[ji] != idx)
				continue;
			got++;
			c->printed[ji] = 1;
			if (!first)
				first = kids[j];
			lastq = kids[j];
			i = j;
		}
		done += run - 1;
		mpt__buf_printf(b, "  %s%s%s%s%s (%d processes, pids %d to %d): wait as %s does\n",
				sub, done == ntree ? "└─ " : "├─ ", first->id,
				run - 1 > 2 ? " … " : " and ", lastq->id, run - 1, (int)first->pid,
				(int)lastq->pid, q->id);
	}
	free(kids);
}

/* Each wait in full: call, descriptor, object, fill, the other end. */
static void wait_detail(struct sample *S, struct node *nd, const struct wait *w,
			struct mpt__buf *b)
{
	char tmp[48];
	mpt__buf_printf(b, "  %s (pid %d)", nd->id, (int)nd->pid);
	if (nd->nw > 1)
		mpt__buf_printf(b, ", thread %d", (int)w->tid);
	mpt__buf_puts(b, ": ");
	call_text(S, nd, w, b);
	char wchan[64];
	mpt__thread_wchan(nd->pid, w->tid, wchan, sizeof wchan);
	if (w->held_back)
		mpt__buf_printf(b, ", held back by --pipe-capacity=%d (the shim waits in "
				   "ppoll() until the pipe is empty)",
				S->r ? (int)S->r->inject.pipe_capacity : 0);
	else if (wchan[0])
		mpt__buf_printf(b, ", asleep in the kernel in %s()", wchan);
	mpt__buf_puts(b, "\n");
	switch (w->kind) {
	case W_WAITPID: {
		/* Many children: four, and a count of the rest. */
		int shown = w->nhelp > 8 ? 4 : w->nhelp, stuck = 0;
		for (int i = 0; i < w->nhelp; i++) {
			struct node *q = node_of(S, w->help[i]);
			if (i >= shown) {
				stuck += q && q->stuck;
				continue;
			}
			mpt__buf_printf(b, "      waits for %s (pid %d) to exit; it is %s\n",
					id_of(S, w->help[i], tmp, sizeof tmp), (int)w->help[i],
					q && q->stuck ? "stuck (see its wait)" : "gone");
		}
		if (shown < w->nhelp)
			mpt__buf_printf(b, "      and for %d more children (%d stuck, %d gone)\n",
					w->nhelp - shown, stuck, w->nhelp - shown - stuck);
		return;
	}
	case W_FD:
	case W_POLL:
		for (int k = 0; k < w->nt; k++) {
			const struct target *t = &w->t[k];
			if (w->kind == W_POLL)
				mpt__buf_printf(b, "      fd %d, waiting to %s:\n", t->fd,
						t->dir ? "write" : "read");
			const char *ind = w->kind == W_POLL ? "        " : "      ";
			if (t->type == MPT__FD_PIPE && t->cap > 0)
				mpt__buf_printf(b, "%sthe pipe holds %ld of %ld bytes%s\n", ind,
						t->fill, t->cap,
						t->dir == 1 && pipe_full(t) ? ": it is full"
						: t->dir == 0 && t->fill == 0 ? ": it is empty" : "");
			if (t->type == MPT__FD_SOCKET)
				mpt__buf_printf(b, "%sthe other end is socket:[%lu]\n", ind, t->peer);
			mpt__buf_printf(b, "%sits %s end is held only by ", ind,
					t->dir == 1 ? "read" : "write");
			pid_t *who = mpt__xcalloc((size_t)t->nh + 1, sizeof *who);
			int nwho = target_pids(t, who, t->nh), others = 0;
			for (int i = 0; i < nwho; i++) {
				if (i == 6 && nwho > 8) {
					/* Many: six, and how many more. */
					for (int k2 = i; k2 < nwho; k2++)
						others += who[k2] != nd->pid;
					mpt__buf_printf(b, " and %d more processes", nwho - 6);
					break;
				}
				if (i)
					mpt__buf_puts(b, i == nwho - 1 ? " and " : ", ");
				mpt__buf_printf(b, "%s%s (fd", id_of(S, who[i], tmp, sizeof tmp),
						who[i] == nd->pid ? " itself" : "");
				for (int k2 = 0, c = 0; k2 < t->nh; k2++)
					if (t->h[k2].pid == who[i])
						mpt__buf_printf(b, "%s %d", c++ ? "," : "", t->h[k2].fd);
				mpt__buf_puts(b, ")");
				others += who[i] != nd->pid;
			}
			free(who);
			mpt__buf_puts(b, !t->nh ? "nobody\n"
					 : others ? ", stuck as well\n"
						  : ": it waits for itself\n");
		}
		return;
	case W_MUTEX:
		if (w->forked_copy)
			mpt__buf_printf(b, "      a process-private mutex (FUTEX_PRIVATE_FLAG) held "
					   "by thread %d of %s (pid %d, from %s): the child got "
					   "a copy of it, locked, from fork(), and no thread of "
					   "the child will ever unlock it\n",
					(int)w->owner_tid, id_of(S, w->owner, tmp, sizeof tmp),
					(int)w->owner, w->owner_from);
		else if (w->owner_dead)
			mpt__buf_printf(b, "      the mutex is held by %s (pid %d, from %s), which "
					   "is gone: it will never be unlocked\n",
					id_of(S, w->owner, tmp, sizeof tmp), (int)w->owner,
					w->owner_from);
		else
			mpt__buf_printf(b, "      the mutex is held by %s (pid %d%s%.0d), from %s\n",
					id_of(S, w->owner, tmp, sizeof tmp), (int)w->owner,
					w->owner_tid && w->owner_tid != w->owner ? ", thread " : "",
					w->owner_tid && w->owner_tid != w->owner ? (int)w->owner_tid : 0,
					w->owner_from);
		return;
	case W_SEM:
		mpt__buf_puts(b, "      a semaphore at value 0: every other process of the test "
				 "is stuck or gone, so nobody is left to sem_post() it\n");
		return;
	case W_FUTEX:
		mpt__buf_puts(b, "      a futex (a lock, condition variable, semaphore or "
				 "pthread_join): every other process of the test is stuck or "
				 "gone, so nobody is left to wake it\n");
		return;
	case W_FLOCK:
	case W_FCNTL:
		if (w->owner > 0 && w->nhelp)
			mpt__buf_printf(b, "      the lock is held by %s (pid %d), from %s\n",
					id_of(S, w->owner, tmp, sizeof tmp), (int)w->owner,
					w->owner_from);
		else {
			mpt__buf_puts(b, "      the lock holder is not listed; the file is open in ");
			id_list(S, b, w->help, w->nhelp, 0);
			mpt__buf_puts(b, "\n");
		}
		return;
	case W_SIGNAL:
		mpt__buf_puts(b, "      only a signal ends it: every other process of the test "
				 "is stuck or gone, so nobody is left to send one\n");
		return;
	default:
		mpt__buf_puts(b, "      every other process of the test is stuck or gone, so "
				 "nobody is left to end it\n");
	}
}

/* Whether a wait names its object in full in call_text(), so that two
 * alike are the same wait. */
static int groupable(const struct wait *w)
{
	return w->kind == W_FD || w->kind == W_POLL || w->kind == W_SEM || w->kind == W_FUTEX ||
	       w->kind == W_FLOCK || w->kind == W_FCNTL;
}

static char *wait_key(struct sample *S, struct node *nd)
{
	if (nd->nw != 1 || !groupable(&nd->w[0]))
		return NULL;
	struct mpt__buf k = {0};
	call_text(S, nd, &nd->w[0], &k);
	return k.p;
}

/* Each wait in full, once for a run of processes that wait alike (many
 * workers reading one pipe). */
static void waits_section(struct sample *S, struct mpt__buf *b)
{
	for (int i = 0; i < S->nn; i++) {
		struct node *nd = &S->n[i];
		if (!nd->stuck)
			continue;
		for (int j = 0; j < nd->nw; j++)
			wait_detail(S, nd, &nd->w[j], b);
		char *key = wait_key(S, nd);
		if (!key)
			continue;
		int run = 0, last = i;
		for (int k = i + 1; k < S->nn; k++) {
			if (!S->n[k].stuck)
				continue;
			char *k2 = wait_key(S, &S->n[k]);
			int same = k2 && !strcmp(k2, key);
			free(k2);
			if (!same)
				break;
			run++;
			last = k;
		}
		if (run >= 2) {
			struct node *first = NULL;
			for (int k = i + 1; k <= last && !first; k++)
				if (S->n[k].stuck)
					first = &S->n[k];
			mpt__buf_printf(b, "  %s%s%s (%d processes, pids %d to %d): each waits in ",
					first->id, run > 2 ? " … " : " and ", S->n[last].id, run,
					(int)first->pid, (int)S->n[last].pid);
			call_text(S, nd, &nd->w[0], b);
			mpt__buf_printf(b, " as %s does\n", nd->id);
			i = last;
		}
		free(key);
	}
}

struct pattern {
	const char *name, *hint;
};

static const struct wait *fd_wait(struct node *nd, int dir)
{
	for (int j = 0; j < nd->nw; j++)
		if (nd->w[j].kind == W_FD && nd->w[j].t[0].dir == dir)
			return &nd->w[j];
	return NULL;
}

static int holds(const struct target *t, pid_t pid)
{
	for (int i = 0; i < t->nh; i++)
		if (t->h[i].pid == pid)
			return 1;
	return 0;
}

/* The shape of the deadlock, for the fix hint. */
static struct pattern classify_pattern(struct sample *S)
{
	int reads = 0, writes = 0, mutexes = 0;
	for (int i = 0; i < S->nn; i++) {
		struct node *nd = &S->n[i];
		if (!nd->stuck)
			continue;
		/* Join before drain: a waitpid() for a child that writes to a
		 * pipe only its waiter reads. */
		for (int j = 0; j < nd->nw; j++) {
			const struct wait *w = &nd->w[j];
			for (int k = 0; w->kind == W_WAITPID && k < w->nhelp; k++) {
				struct node *c = node_of(S, w->help[k]);
				const struct wait *cw = c && c->stuck ? fd_wait(c, 1) : NULL;
				if (cw && holds(&cw->t[0], nd->pid))
					return (struct pattern){
						"join-before-drain",
						"read the pipe to EOF before you waitpid() the writer"};
			}
		}
		const struct wait *r = fd_wait(nd, 0);
		if (r && r->t[0].nh > 0 && !(r->t[0].nh == 1 && r->t[0].h[0].pid == nd->pid)) {
			/* Reads a pipe other stuck processes write: count those
			 * that are themselves reading. */
			for (int k = 0; k < r->nhelp; k++) {
				struct node *q = node_of(S, r->help[k]);
				if (q && q != nd && q->stuck && fd_wait(q, 0)) {
					reads++;
					break;
				}
			}
		}
		if (fd_wait(nd, 1))
			writes++;
		for (int j = 0; j < nd->nw; j++)
			if (nd->w[j].kind == W_MUTEX && nd->w[j].nhelp && !relock(nd, &nd->w[j]) &&
			    !nd->w[j].forked_copy)
				mutexes++;
	}
	for (int i = 0; i < S->nn; i++)
		for (int j = 0; S->n[i].stuck && j < S->n[i].nw; j++)
			if (S->n[i].w[j].forked_copy)
				return (struct pattern){
					"lock held by another thread at fork",
					"in a threaded program call only async-signal-safe "
					"functions between fork() and exec() or _exit(); take no "
					"lock in the child"};
	if (mutexes >= 2)
		return (struct pattern){"lock-order inversion",
					"take the locks in the same order in every process"};
	/* Before the ring: workers that kept the write end all read one pipe
	 * each of them could write, which looks like a ring of readers. */
	for (int i = 0; i < S->nn; i++) {
		struct node *nd = &S->n[i];
		const struct wait *r = nd->stuck ? fd_wait(nd, 0) : NULL;
		if (r && r->t[0].type == MPT__FD_PIPE && holds(&r->t[0], nd->pid))
			return (struct pattern){
				"reader holds its own write end",
				r->t[0].dev ? "open the named pipe O_RDONLY to read it (O_RDWR "
					      "keeps a write end open), and close your copies "
					      "of the write end"
					    : "close your copy of the write end after fork()"};
	}
	if (reads >= 2)
		return (struct pattern){reads == 2 ? "both sides read first"
						   : "every process of the ring reads first",
					"decide which side writes first: one process must send "
					"before it waits to receive"};
	if (writes >= 2)
		return (struct pattern){"both sides write first",
					"drain as you write: poll() both directions, or read in "
					"another process or thread"};
	for (int i = 0; i < S->nn; i++) {
		struct node *nd = &S->n[i];
		for (int j = 0; nd->stuck && j < nd->nw; j++) {
			const struct wait *w = &nd->w[j];
			if (w->kind == W_MUTEX && w->owner_dead)
				return (struct pattern){
					"mutex held by a dead process",
					"never kill a process that holds a shared lock; use "
					"PTHREAD_MUTEX_ROBUST and handle EOWNERDEAD"};
			if (relock(nd, w))
				return (struct pattern){"relock of a held mutex",
							"unlock before locking again, or use a "
							"recursive mutex"};
			if (w->kind == W_SEM)
				return (struct pattern){
					"semaphore no live process will post",
					"make sure a live process posts: post before a poster can "
					"exit, or wait with sem_timedwait()"};
			if (w->kind == W_FLOCK || w->kind == W_FCNTL)
				return (struct pattern){
					"file lock held by a waiting process",
					"release the lock before blocking on anything else, or take "
					"it with LOCK_NB (F_SETLK) and retry"};
		}
	}
	int futexes = 0;
	for (int i = 0; i < S->nn; i++)
		for (int j = 0; S->n[i].stuck && j < S->n[i].nw; j++)
			futexes += S->n[i].w[j].kind == W_FUTEX;
	if (futexes >= 2)
		return (struct pattern){
			"futex waits no live process will wake",
			"if these futexes are locks, take them in the same order in every "
			"process (the stacks show which lock each process waits for); if "
			"not, make sure a process that stays alive wakes them"};
	for (int i = 0; i < S->nn; i++) {
		struct node *nd = &S->n[i];
		for (int j = 0; nd->stuck && j < nd->nw; j++)
			if (nd->w[j].kind == W_FUTEX)
				return (struct pattern){
					"futex no live process will wake",
					"make sure the process that should unlock, post or signal is "
					"still alive (a lock held across fork() in a threaded process "
					"also ends like this)"};
	}
	if (mutexes)
		return (struct pattern){"lock wait in a cycle",
					"take the locks in the same order in every process"};
	return (struct pattern){"wait-for cycle",
				"break the cycle: one of these waits must come after the other "
				"side has moved, or must be bounded"};
}

static void dot_escape(struct mpt__buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			mpt__buf_add(b, "\\", 1);
		if (*s == '\n')
			mpt__buf_puts(b, "\\n");
		else
			mpt__buf_add(b, s, 1);
	}
}

static char *make_dot(struct sample *S)
{
	struct mpt__buf b = {0};
	int nobody = 0;
	mpt__buf_puts(&b, "digraph deadlock {\n  rankdir=LR;\n"
			  "  node [shape=box, fontname=\"monospace\"];\n");
	for (int i = 0; i < S->nn; i++) {
		struct node *nd = &S->n[i];
		if (!nd->stuck)
			continue;
		mpt__buf_printf(&b, "  p%d [label=\"", (int)nd->pid);
		char *l = mpt__xasprintf("%s\npid %d\n%s", nd->id, (int)nd->pid, nd->prog);
		dot_escape(&b, l);
		free(l);
		mpt__buf_puts(&b, "\"];\n");
	}
	for (int i = 0; i < S->nn; i++) {
		struct node *nd = &S->n[i];
		for (int j = 0; nd->stuck && j < nd->nw; j++) {
			const struct wait *w = &nd->w[j];
			struct mpt__buf lab = {0};
			call_text(S, nd, w, &lab);
			for (int k = 0; k < w->nt; k++)
				if (w->t[k].type == MPT__FD_PIPE && w->t[k].cap > 0)
					mpt__buf_printf(&lab, "\n%ld/%ld bytes", w->t[k].fill,
							w->t[k].cap);
			for (int k = 0; k < w->nhelp; k++) {
				struct node *q = node_of(S, w->help[k]);
				if (!q || !q->live)
					mpt__buf_printf(&b, "  p%d [label=\"pid %d\\ngone\", "
							    "style=dashed];\n",
							(int)w->help[k], (int)w->help[k]);
				mpt__buf_printf(&b, "  p%d -> p%d [label=\"", (int)nd->pid,
						(int)w->help[k]);
				dot_escape(&b, lab.p ? lab.p : "");
				mpt__buf_puts(&b, "\"];\n");
			}
			if (w->nhelp == 0 || w->owner_dead) {
				if (!nobody++)
					mpt__buf_puts(&b, "  nobody [label=\"no live process\", "
							  "shape=plaintext];\n");
				mpt__buf_printf(&b, "  p%d -> nobody [label=\"", (int)nd->pid);
				dot_escape(&b, lab.p ? lab.p : "");
				mpt__buf_puts(&b, "\"];\n");
			}
			mpt__buf_free(&lab);
		}
	}
	mpt__buf_puts(&b, "}\n");
	return b.p;
}

/* Where the region says each stuck process was started, and where the
 * locks it waits for were taken; symbolized while the processes live. */
static void call_sites(struct sample *S, struct mpt__buf *b)
{
	int any = 0;
	char site[512], tmp[48];
	for (int i = 0; i < S->nn; i++) {
		struct node *nd = &S->n[i];
		if (!nd->stuck || !nd->proc || !nd->proc->fork_site)
			continue;
		pid_t parent = nd->proc->ppid;
		mpt__symbolize(parent, nd->proc->fork_site, site, sizeof site);
		if (!any++)
			mpt__buf_puts(b, "\nCall sites:\n");
		mpt__buf_printf(b, "  %s (pid %d) was started by %s at %s\n", nd->id,
				(int)nd->pid, id_of(S, parent, tmp, sizeof tmp),
				site[0] ? site : "an unknown place (its parent is gone)");
		/* The processes after it started from the same place: one line. */
		int run = 0, last = i;
		struct node *first = NULL;
		for (int k = i + 1; k < S->nn; k++) {
			struct node *q = &S->n[k];
			if (!q->stuck)
				continue;
			if (!q->proc || q->proc->ppid != parent ||
			    q->proc->fork_site != nd->proc->fork_site)
				break;
			if (!first)
				first = q;
			run++;
			last = k;
		}
		if (run >= 2) {
			mpt__buf_printf(b, "  %s%s%s (%d processes) were started there as well\n",
					first->id, run > 2 ? " … " : " and ", S->n[last].id, run);
			i = last;
		}
	}
	for (int i = 0; i < S->nn; i++) {
		struct node *nd = &S->n[i];
		for (int j = 0; nd->stuck && j < nd->nw; j++) {
			const struct wait *w = &nd->w[j];
			if (w->kind != W_MUTEX || !w->site || w->owner <= 0 || w->owner_dead)
				continue;
			mpt__symbolize(w->owner, w->site, site, sizeof site);
			if (!site[0])
				continue;
			if (!any++)
				mpt__buf_puts(b, "\nCall sites:\n");
			mpt__buf_printf(b, "  the mutex at %#lx was locked by %s at %s\n",
					(unsigned long)w->addr, id_of(S, w->owner, tmp, sizeof tmp),
					site);
		}
	}
}

void mpt__explain_deadlock(struct sample *S, int64_t stuck_ns, char **message,
			   char **detail, char **dot)
{
	for (int i = 0; i < S->nn; i++)
		name_node(S, &S->n[i]);
	int nstuck = 0;
	long page = sysconf(_SC_PAGESIZE);
	/* Pipe fills first, before anything else touches the processes. */
	for (int i = 0; i < S->nn; i++) {
		struct node *nd = &S->n[i];
		if (!nd->stuck)
			continue;
		nstuck++;
		for (int j = 0; j < nd->nw; j++)
			for (int k = 0; k < nd->w[j].nt; k++) {
				struct target *t = &nd->w[j].t[k];
				if (t->type == MPT__FD_PIPE &&
				    mpt__pipe_fill(nd->pid, t->fd, &t->fill, &t->cap) < 0)
					t->fill = t->cap = -1;
				/* A pipe of one page under an emulated
				 * --pipe-capacity holds what the shim lets it. */
				if (t->type == MPT__FD_PIPE && S->r && t->cap == page &&
				    S->r->inject.pipe_capacity > 0 &&
				    S->r->inject.pipe_capacity < MPT__PIPE_EMULATED_BELOW)
					t->cap = S->r->inject.pipe_capacity;
			}
	}
	/* The leader when it is stuck, else the first stuck process. */
	struct node *root = NULL;
	for (int i = 0; i < S->nn && !root; i++)
		if (S->n[i].stuck)
			root = &S->n[i];
	struct pattern pat = classify_pattern(S);

	/* The one line: follow the first edge of each process. */
	struct mpt__buf m = {0};
	mpt__buf_printf(&m, "deadlock: %s (pid %d", root->id, (int)root->pid);
	int *visited = mpt__xcalloc((size_t)S->nn, sizeof *visited);
	int said = 0;
	for (struct node *nd = root; nd;) {
		if (said++ == 4) {
			mpt__buf_printf(&m, "... (%d processes in all)", nstuck);
			break;
		}
		visited[nd - S->n] = 1;
		/* Of several threads, the one whose wait names somebody. */
		const struct wait *w = &nd->w[0];
		for (int j = 0; j < nd->nw && !w->nhelp; j++)
			if (nd->w[j].nhelp)
				w = &nd->w[j];
		if (nd->nw > 1)
			mpt__buf_printf(&m, nd == root ? ", thread %d" : "in thread %d ", (int)w->tid);
		if (nd == root)
			mpt__buf_puts(&m, ") ");
		phrase(S, nd, w, &m);
		struct node *kids[64], *next = NULL;
		int nk = stuck_children(S, nd, kids, 64);
		for (int i = 0; i < nk && !next; i++)
			if (!visited[kids[i] - S->n])
				next = kids[i];
		if (next)
			mpt__buf_printf(&m, ", which ");
		nd = next;
	}
	free(visited);
	*message = m.p;

	struct mpt__buf d = {0};
	if (nstuck == 1)
		mpt__buf_printf(&d, "This is a deadlock (%s): a process of the test is blocked "
				    "on a wait that only it, or nobody, could end; it has not run "
				    "for %lld ms.\n",
				pat.name, (long long)(stuck_ns / 1000000));
	else
		mpt__buf_printf(&d, "This is a deadlock (%s): %d processes of the test are "
				    "blocked, each waiting only for processes that are stuck as "
				    "well, or gone; none has run for %lld ms.\n",
				pat.name, nstuck, (long long)(stuck_ns / 1000000));
	mpt__buf_puts(&d, "\nWait-for graph (each process waits for those below it):\n");
	struct tree_ctx tc = {.S = S, .b = &d};
	tc.printed = mpt__xcalloc((size_t)S->nn, sizeof *tc.printed);
	tc.par = mpt__xcalloc((size_t)S->nn, sizeof *tc.par);
	for (int i = 0; i < S->nn; i++)
		tc.par[i] = -2;
	span(S, root, tc.par);
	tree(&tc, root, "", 1, 0);
	for (int i = 0; i < S->nn; i++)
		if (S->n[i].stuck && !tc.printed[i]) {
			if (tc.par[i] == -2)
				span(S, &S->n[i], tc.par);
			tree(&tc, &S->n[i], "", 1, 0);
		}
	free(tc.printed);
	free(tc.par);
	mpt__buf_puts(&d, "\nWaits:\n");
	waits_section(S, &d);
	call_sites(S, &d);
	mpt__buf_printf(&d, "\nFix: %s.\n", pat.hint);
	*dot = make_dot(S);

	/* Last: stacks, with ptrace, which may end the waits above. */
	pid_t pids[MAX_STACKS];
	char *titles[MAX_STACKS];
	int n = 0;
	for (int i = 0; i < S->nn && n < MAX_STACKS; i++)
		if (S->n[i].stuck) {
			struct mpt__buf t = {0};
			label(&S->n[i], &t);
			titles[n] = t.p;
			pids[n++] = S->n[i].pid;
		}
	mpt__stacks_append(&d, pids, (const char *const *)titles, n, STACK_BUDGET_NS);
	for (int i = 0; i < n; i++)
		free(titles[i]);
	*detail = d.p;
}

