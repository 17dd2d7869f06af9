/* The deadlock watchdog.
 *
 * Every sample reads each process of the tree from /proc: the state and
 * CPU time of each thread and the system call it is blocked in. A process
 * is blocked when every thread of it waits in a call with no timeout and it
 * has not run since the previous sample. Only then does the watchdog look
 * further (descriptors, /proc/locks, the region's lock table, sock_diag) to
 * learn what each wait needs and who could provide it: its helpers. A
 * waitpid() needs one of the awaited children; a read of a pipe needs a
 * holder of its write end (the reader itself included); a write to a full
 * pipe needs a holder of the read end; a mutex needs its owner; a semaphore,
 * a pause() or a futex nobody can attribute needs "anybody in the tree".
 * A wait that something outside the tree might end (a terminal, a socket
 * to a server, a pipe the runner drains) never counts as stuck.
 *
 * The stuck set is then the largest set of blocked processes each of whose
 * waits can only be ended by members of the set or by processes that are
 * gone: start from every blocked process and drop, until nothing changes,
 * each one that some moving process could still wake. What remains is a
 * cycle in the wait-for graph, a wait on a dead or missing party, or the
 * whole tree blocked. The verdict needs the same stuck set, with no CPU
 * progress, in CONFIRM samples in a row, which keeps slow but moving tests
 * (a sleeper, a long computation) clear while the verdict still comes
 * within a few tens of milliseconds.
 *
 * Only once the verdict is taken does anything touch the processes
 * (explain.c): pipe fills are read through /proc/PID/fd (never reading the
 * pipe), call sites are symbolized, and then the stacks are taken with
 * ptrace tools, which may end the very waits being reported. */
#define _GNU_SOURCE
#include "watchdog.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../core/region.h"
#include "../core/util.h"
#include "procsample.h"
#include "waitgraph.h"

#define CONFIRM 2          /* samples in a row showing the same stuck set */
#define MAX_POLL 256       /* descriptors of one poll()/select() looked at */

#ifndef F_OFD_SETLKW
#define F_OFD_SETLKW 38
#endif
#ifndef FUTEX_LOCK_PI2
#define FUTEX_LOCK_PI2 13
#endif

/* ---- the state kept between samples -------------------------------------- */

struct prev_run {
	pid_t pid;
	uint64_t run_ns;
};

/* Whether processes outside the tree hold a pipe or socket: looked up once
 * per inode, the first time a blocked process waits on it. */
struct seen {
	unsigned long ino;
	unsigned bits;     /* 1: an outside holder can read, 2: can write */
};

/* Whether processes outside the tree map a file a futex lives in: looked
 * up for a would-be verdict, and again once the answer is a second old. */
struct mapped {
	struct mpt__file_id f;
	int outside;
	int64_t when;
};

struct mpt__watch {
	struct mapped *mapped;
	int nmapped;
	struct prev_run *prev;
	int nprev;
	char *sig;         /* the stuck set of the last sample, or NULL */
	int streak;        /* samples in a row with that stuck set */
	int64_t since;     /* the sample before the streak: stuck since then */
	int64_t last;      /* when the previous sample was taken */
	struct seen *seen;
	int nseen, capseen;
};

struct mpt__watch *mpt__watch_new(void)
{
	return mpt__xcalloc(1, sizeof(struct mpt__watch));
}

void mpt__watch_free(struct mpt__watch *w)
{
	if (!w)
		return;
	free(w->prev);
	free(w->sig);
	free(w->seen);
	free(w->mapped);
	free(w);
}

/* ---- one sample ----------------------------------------------------------- */

/* The process of the tree a thread belongs to. */
static struct node *node_of_tid(struct sample *S, pid_t tid)
{
	for (int i = 0; i < S->nn; i++)
		for (int j = 0; j < S->n[i].s.nthreads; j++)
			if (S->n[i].s.threads[j].tid == tid)
				return &S->n[i];
	return NULL;
}

static void add_help(struct wait *w, pid_t pid)
{
	for (int i = 0; i < w->nhelp; i++)
		if (w->help[i] == pid)
			return;
	if (w->nhelp == w->caphelp) {
		w->caphelp = w->caphelp ? 2 * w->caphelp : 4;
		w->help = mpt__xrealloc(w->help, (size_t)w->caphelp * sizeof *w->help);
	}
	w->help[w->nhelp++] = pid;
}

static struct target *add_target(struct wait *w, int fd, int dir)
{
	w->t = mpt__xrealloc(w->t, (size_t)(w->nt + 1) * sizeof *w->t);
	struct target *t = &w->t[w->nt++];
	memset(t, 0, sizeof *t);
	t->fd = fd;
	t->dir = dir;
	t->fill = t->cap = -1;
	return t;
}

static void free_wait(struct wait *w)
{
	for (int i = 0; i < w->nt; i++)
		free(w->t[i].h);
	free(w->t);
	free(w->help);
}

static void free_sample(struct sample *S)
{
	for (int i = 0; i < S->nn; i++) {
		for (int j = 0; j < S->n[i].nw; j++)
			free_wait(&S->n[i].w[j]);
		free(S->n[i].w);
		mpt__proc_sample_free(&S->n[i].s);
	}
	free(S->n);
	free(S->locks);
}

/* ---- phase 1: is a thread waiting with no timeout, and on what? ---------- */

/* poll(), ppoll(): the descriptors, read from the process's memory. */
static int poll_targets(pid_t pid, struct wait *w, unsigned long ufds, unsigned long nfds)
{
	if (nfds == 0)
		return 1; /* waits for a signal only */
	if (nfds > MAX_POLL)
		return 0;
	struct pollfd p[MAX_POLL];
	if (mpt__read_mem(pid, ufds, p, nfds * sizeof *p) < 0)
		return 0;
	for (unsigned long i = 0; i < nfds; i++) {
		if (p[i].fd < 0)
			continue;
		if (p[i].events & (POLLOUT | POLLWRNORM))
			add_target(w, p[i].fd, 1);
		if ((p[i].events & (POLLIN | POLLRDNORM | POLLPRI)) ||
		    !(p[i].events & (POLLOUT | POLLWRNORM)))
			add_target(w, p[i].fd, 0);
	}
	return 1;
}

/* select(), pselect6(): the descriptor sets. */
static int select_targets(pid_t pid, struct wait *w, const unsigned long *a)
{
	int nfds = (int)a[0];
	if (nfds <= 0)
		return 1;
	if (nfds > FD_SETSIZE)
		return 0;
	size_t bytes = ((size_t)nfds + 7) / 8;
	for (int dir = 0; dir < 2; dir++) {
		unsigned char set[FD_SETSIZE / 8];
		if (!a[1 + dir])
			continue;
		if (mpt__read_mem(pid, a[1 + dir], set, bytes) < 0)
			return 0;
		for (int fd = 0; fd < nfds; fd++)
			if (set[fd / 8] & (1u << (fd % 8)))
				add_target(w, fd, dir);
	}
	return 1;
}

static int epoll_targets(pid_t pid, struct wait *w, int epfd)
{
	struct mpt__epoll_item it[MAX_POLL];
	int n = mpt__epoll_items(pid, epfd, it, MAX_POLL);
	if (n < 0)
		return 0;
	for (int i = 0; i < n; i++) {
		if (it[i].events & EPOLLOUT)
			add_target(w, it[i].tfd, 1);
		if (it[i].events & (EPOLLIN | EPOLLPRI))
			add_target(w, it[i].tfd, 0);
	}
	return 1;
}

/* --pipe-capacity below a page: a write the shim holds back waits in
 * ppoll(POLLOUT) on the pipe alone, and the process's region entry names
 * the thread and the descriptor (framework/preload/inject.c). Such a wait
 * is the write it stands for, on a full pipe, and is reported as that:
 * the call, the descriptor and the byte count the program passed. Any
 * other poll, of this thread or another, stays a poll. */
static int held_back_write(struct mpt__region *r, struct node *nd,
			   const struct mpt__thread_sample *t, struct wait *w)
{
	const unsigned long *a = t->args;
	if (!r || r->inject.pipe_capacity <= 0 || r->inject.pipe_capacity >= MPT__PIPE_EMULATED_BELOW ||
	    a[1] != 1)
		return 0;
	struct mpt__proc *p = mpt__proc_find(r, nd->pid);
	if (!p || atomic_load_explicit(&p->emu_tid, memory_order_acquire) != t->tid)
		return 0;
	int fd = p->emu_fd;
	struct pollfd pfd;
	if (mpt__read_mem(nd->pid, a[0], &pfd, sizeof pfd) < 0 || pfd.fd != fd ||
	    pfd.events != POLLOUT)
		return 0;
	w->kind = W_FD;
	w->call = p->emu_call == MPT__EMU_WRITEV ? "writev" : "write";
	w->args[0] = (unsigned long)fd;
	w->args[1] = 0;
	w->args[2] = (unsigned long)p->emu_bytes;
	w->held_back = 1;
	add_target(w, fd, 1);
	return 1;
}

/* Fills w and returns 1 when the thread waits in a call with no timeout
 * that the watchdog understands; 0 when it is running, sleeping for a
 * while, or in anything else (all of which count as moving). */
static int classify(struct mpt__region *r, struct node *nd,
		    const struct mpt__thread_sample *t, struct wait *w)
{
	const unsigned long *a = t->args;
	memset(w, 0, sizeof *w);
	w->tid = t->tid;
	memcpy(w->args, t->args, sizeof w->args);
	if ((t->state != 'S' && t->state != 'D') || t->nr < 0)
		return 0;
	w->kind = W_FD;
	switch (t->nr) {
	case SYS_read: w->call = "read"; goto rd;
	case SYS_readv: w->call = "readv"; goto rd;
	case SYS_pread64: w->call = "pread"; goto rd;
	case SYS_preadv: w->call = "preadv"; goto rd;
#ifdef SYS_preadv2
	case SYS_preadv2: w->call = "preadv2"; goto rd;
#endif
	case SYS_recvfrom: w->call = "recv"; goto rd;
	case SYS_recvmsg: w->call = "recvmsg"; goto rd;
	case SYS_recvmmsg:
		if (a[4])
			return 0;
		w->call = "recvmmsg";
	rd:
		add_target(w, (int)a[0], 0);
		return 1;
	case SYS_write: w->call = "write"; goto wr;
	case SYS_writev: w->call = "writev"; goto wr;
	case SYS_pwrite64: w->call = "pwrite"; goto wr;
	case SYS_pwritev: w->call = "pwritev"; goto wr;
#ifdef SYS_pwritev2
	case SYS_pwritev2: w->call = "pwritev2"; goto wr;
#endif
	case SYS_sendto: w->call = "send"; goto wr;
	case SYS_sendmsg: w->call = "sendmsg"; goto wr;
	case SYS_sendmmsg:
		w->call = "sendmmsg";
	wr:
		add_target(w, (int)a[0], 1);
		return 1;

	case SYS_wait4:
		if (a[2] & WNOHANG)
			return 0;
		w->kind = W_WAITPID;
		w->call = "waitpid";
		w->wpid = (long)(int)a[0];
		if (w->wpid == 0)
			w->wpid = -(long)nd->s.pgrp;
		return 1;
	case SYS_waitid:
		if (a[3] & WNOHANG)
			return 0;
		w->kind = W_WAITPID;
		w->call = "waitid";
		switch ((int)a[0]) {
		case P_ALL: w->wpid = -1; return 1;
		case P_PID: w->wpid = (long)(int)a[1]; return 1;
		case P_PGID: w->wpid = -(long)((int)a[1] ? (int)a[1] : nd->s.pgrp); return 1;
#ifdef P_PIDFD
		case P_PIDFD:
			w->wpid = mpt__pidfd_pid(nd->pid, (int)a[1]);
			return w->wpid > 0;
#endif
		}
		return 0;

#ifdef SYS_poll
	case SYS_poll:
		if ((int)a[2] >= 0)
			return 0;
		if (held_back_write(r, nd, t, w))
			return 1;
		w->kind = W_POLL;
		w->call = "poll";
		return poll_targets(nd->pid, w, a[0], a[1]);
#endif
	case SYS_ppoll:
		if (a[2])
			return 0;
		if (held_back_write(r, nd, t, w))
			return 1;
		w->kind = W_POLL;
		w->call = "ppoll";
		return poll_targets(nd->pid, w, a[0], a[1]);
#ifdef SYS_select
	case SYS_select:
		if (a[4])
			return 0;
		w->kind = W_POLL;
		w->call = "select";
		return select_targets(nd->pid, w, a);
#endif
	case SYS_pselect6:
		if (a[4])
			return 0;
		w->kind = W_POLL;
		w->call = "pselect";
		return select_targets(nd->pid, w, a);
#ifdef SYS_epoll_wait
	case SYS_epoll_wait:
		if ((int)a[3] >= 0)
			return 0;
		w->kind = W_POLL;
		w->call = "epoll_wait";
		return epoll_targets(nd->pid, w, (int)a[0]);
#endif
	case SYS_epoll_pwait:
		if ((int)a[3] >= 0)
			return 0;
		w->kind = W_POLL;
		w->call = "epoll_pwait";
		return epoll_targets(nd->pid, w, (int)a[0]);
#ifdef SYS_epoll_pwait2
	case SYS_epoll_pwait2:
		if (a[3])
			return 0;
		w->kind = W_POLL;
		w->call = "epoll_pwait2";
		return epoll_targets(nd->pid, w, (int)a[0]);
#endif

	case SYS_futex: {
		int cmd = (int)(a[1] & FUTEX_CMD_MASK);
		if (cmd != FUTEX_WAIT && cmd != FUTEX_WAIT_BITSET && cmd != FUTEX_LOCK_PI &&
		    cmd != FUTEX_LOCK_PI2 && cmd != FUTEX_WAIT_REQUEUE_PI)
			return 0;
		if (a[3])
			return 0; /* a timeout */
		w->kind = W_FUTEX;
		w->call = "futex";
		w->addr = a[0];
		return 1;
	}
#ifdef SYS_futex_waitv
	case SYS_futex_waitv:
		if (a[3])
			return 0;
		w->kind = W_FUTEX;
		w->call = "futex_waitv";
		return 1;
#endif
	case SYS_flock:
		if (a[1] & LOCK_NB)
			return 0;
		w->kind = W_FLOCK;
		w->call = "flock";
		return 1;
	case SYS_fcntl:
		if ((int)a[1] != F_SETLKW && (int)a[1] != F_OFD_SETLKW)
			return 0;
		w->kind = W_FCNTL;
		w->call = "fcntl";
		return 1;

#ifdef SYS_pause
	case SYS_pause:
		w->kind = W_SIGNAL;
		w->call = "pause";
		return 1;
#endif
	case SYS_rt_sigsuspend:
		w->kind = W_SIGNAL;
		w->call = "sigsuspend";
		return 1;
	case SYS_rt_sigtimedwait:
		if (a[2])
			return 0;
		w->kind = W_SIGNAL;
		w->call = "sigwaitinfo";
		return 1;
#ifdef SYS_semop
	case SYS_semop:
		w->kind = W_IPC;
		w->call = "semop";
		return 1;
#endif
	case SYS_semtimedop:
		if (a[3])
			return 0;
		w->kind = W_IPC;
		w->call = "semop";
		return 1;
	case SYS_msgrcv:
		w->kind = W_IPC;
		w->call = "msgrcv";
		return 1;
	case SYS_msgsnd:
		w->kind = W_IPC;
		w->call = "msgsnd";
		return 1;
	case SYS_mq_timedreceive:
	case SYS_mq_timedsend:
		if (a[4])
			return 0;
		w->kind = W_IPC;
		w->call = t->nr == SYS_mq_timedsend ? "mq_send" : "mq_receive";
		return 1;
	}
	return 0;
}

/* ---- timers and signals ------------------------------------------------------ */

#define SIGBIT(sig) (1ULL << ((sig) - 1))

/* Whether a timer may end nd's waits: a POSIX timer or a caught SIGALRM
 * (procsample.c), or an alarm()/setitimer() the shim saw that is still
 * due (or fired so recently that its signal may still be on its way), and
 * SIGALRM is not ignored. */
static int timer_pending(struct mpt__region *r, struct node *nd, uint64_t caught,
			 uint64_t ignored)
{
	if (mpt__timer_signal_likely(nd->pid, caught))
		return 1;
	struct mpt__proc *p = r ? mpt__proc_find(r, nd->pid) : NULL;
	int64_t due = p ? atomic_load(&p->alarm_ns) : 0;
	if (due == 0 || due + 200000000LL < mpt__now_ns())
		return 0;
	return !(ignored & SIGBIT(SIGALRM));
}

/* Whether nd catches a signal another process of the tree may send it.
 * Handlers of faults a process raises itself (SIGSEGV, SIGBUS, SIGFPE,
 * SIGILL, SIGTRAP, SIGSYS, SIGPIPE) do not count; a SIGCHLD handler
 * counts while a child of it is live. */
static int wakeable(struct sample *S, struct node *nd, uint64_t caught)
{
	caught &= ~(SIGBIT(SIGSEGV) | SIGBIT(SIGBUS) | SIGBIT(SIGFPE) | SIGBIT(SIGILL) |
		    SIGBIT(SIGTRAP) | SIGBIT(SIGSYS) | SIGBIT(SIGPIPE));
	if (caught & SIGBIT(SIGCHLD)) {
		caught &= ~SIGBIT(SIGCHLD);
		for (int i = 0; i < S->nn; i++)
			if (S->n[i].live && S->n[i].s.ppid == nd->pid)
				return 1;
	}
	return caught != 0;
}

/* ---- phase 2: who could end each wait ------------------------------------ */

static unsigned seen_bits(struct mpt__watch *W, unsigned long ino, int *known)
{
	for (int i = 0; i < W->nseen; i++)
		if (W->seen[i].ino == ino) {
			*known = 1;
			return W->seen[i].bits;
		}
	*known = 0;
	return 0;
}

/* A pipe or socket: the holders of the end that would end the wait. */
static void resolve_target(struct sample *S, struct node *nd, struct wait *w, struct target *t)
{
	const struct mpt__fd_sample *f = mpt__sample_fd(&nd->s, t->fd);
	if (!f) {
		w->external = 1;
		return;
	}
	t->type = f->type;
	t->ino = f->ino;
	t->dev = f->dev;
	unsigned long want = f->ino;
	if (f->named == 1) {
		w->external = 1; /* a named pipe anybody may still open */
		return;
	}
	if (f->type == MPT__FD_SOCKET) {
		if (mpt__unix_peer(f->ino, &t->peer) < 0) {
			w->external = 1; /* not a Unix socket pair: could be anyone */
			return;
		}
		want = t->peer;
	} else if (f->type != MPT__FD_PIPE) {
		w->external = 1; /* a terminal, a file, an eventfd... */
		return;
	}
	for (int i = 0; i < S->nn; i++) {
		struct node *q = &S->n[i];
		if (!q->live)
			continue;
		for (int j = 0; j < q->s.nfds; j++) {
			const struct mpt__fd_sample *g = &q->s.fds[j];
			if (g->type != f->type || g->ino != want || g->dev != f->dev)
				continue;
			if (f->type == MPT__FD_PIPE &&
			    g->acc == (t->dir == 0 ? O_RDONLY : O_WRONLY))
				continue; /* the same end as the waiter's */
			t->h = mpt__xrealloc(t->h, (size_t)(t->nh + 1) * sizeof *t->h);
			t->h[t->nh++] = (struct holder){q->pid, g->fd};
			add_help(w, q->pid);
		}
	}
	int known;
	unsigned bits = f->dev ? 0 : seen_bits(S->W, want, &known);
	if (f->type == MPT__FD_PIPE)
		bits &= t->dir == 0 ? 2u : 1u;
	t->outside = bits != 0;
	/* Nobody in the tree holds the other end, yet the call blocks rather
	 * than failing: somebody outside does. */
	if (t->nh == 0 || t->outside)
		w->external = 1;
}

/* A lock owner: an edge to its process. When the owner is not in the tree,
 * an authoritative owner that is gone makes the wait endless; otherwise
 * the wait falls back to "anybody in the tree". */
static void owner_help(struct sample *S, struct wait *w, pid_t tid, int authoritative)
{
	struct node *q = node_of_tid(S, tid);
	if (!q)
		q = node_of(S, tid);
	if (q && q->live) {
		w->owner = q->pid;
		if (q->pid != tid)
			w->owner_tid = tid;
		else if (q->s.nthreads == 1)
			w->owner_tid = tid;
		add_help(w, q->pid);
		return;
	}
	w->owner = tid;
	if (!authoritative)
		w->any = 1;
	else if (mpt__pid_alive(tid))
		w->external = 1;
	else
		w->owner_dead = 1;
}

static void resolve_futex(struct sample *S, struct node *nd, struct wait *w)
{
	if (S->r && w->addr) {
		for (int i = 0; i < MPT__MAX_LOCKS; i++) {
			struct mpt__lock *L = &S->r->locks[i];
			if (!atomic_load(&L->used) || L->addr != w->addr)
				continue;
			if (L->type == MPT__LOCK_SEM) {
				w->kind = W_SEM;
				w->call = "sem_wait";
				w->any = 1;
				return;
			}
			if (L->type != MPT__LOCK_MUTEX)
				break;
			w->kind = W_MUTEX;
			w->call = "pthread_mutex_lock";
			w->owner_from = "the lock table";
			w->site = L->site;
			pid_t owner = atomic_load(&L->owner);
			if (owner > 0)
				owner_help(S, w, owner, 1);
			else
				w->any = 1;
			return;
		}
	}
	int cmd = (int)(w->args[1] & FUTEX_CMD_MASK);
	uint32_t word[3];
	if (w->addr && mpt__read_mem(nd->pid, w->addr, word, sizeof word) == 0) {
		if (cmd == FUTEX_LOCK_PI || cmd == FUTEX_LOCK_PI2) {
			/* A priority-inheritance lock holds its owner's thread id. */
			pid_t tid = (pid_t)(word[0] & FUTEX_TID_MASK);
			if (tid > 0) {
				w->kind = W_MUTEX;
				w->call = "pthread_mutex_lock";
				w->owner_from = "the lock word";
				owner_help(S, w, tid, 0);
				return;
			}
		} else if (cmd == FUTEX_WAIT && w->args[2] == 2 && word[0] != 0 &&
			   (int)word[2] > 0) {
			/* glibc's contended mutex: lock word 2, and the owner's
			 * thread id in __owner, the third int. Trusted only when
			 * that names a thread of the tree. */
			struct node *q = node_of_tid(S, (pid_t)word[2]);
			if ((w->args[1] & FUTEX_PRIVATE_FLAG) && q && q != nd) {
				/* A process-private mutex held by a thread of
				 * another process: the child's copy of a lock
				 * another thread held when its parent forked.
				 * No thread of this process will unlock it. */
				w->kind = W_MUTEX;
				w->call = "pthread_mutex_lock";
				w->owner_from = "the mutex's owner field";
				w->owner = q->pid;
				w->owner_tid = (pid_t)word[2];
				w->forked_copy = 1;
				return;
			}
			if (q && q->live) {
				w->kind = W_MUTEX;
				w->call = "pthread_mutex_lock";
				w->owner_from = "the mutex's owner field";
				owner_help(S, w, (pid_t)word[2], 0);
				return;
			}
			if (S->r && mpt__proc_find(S->r, (pid_t)word[2]) &&
			    !mpt__pid_alive((pid_t)word[2])) {
				/* A process of this test that is gone: most likely
				 * it died holding the mutex. Named so, but judged
				 * like any futex. */
				w->kind = W_MUTEX;
				w->call = "pthread_mutex_lock";
				w->owner_from = "the mutex's owner field";
				w->owner = (pid_t)word[2];
				w->owner_dead = 1;
				w->any = 1;
				return;
			}
			if (!(w->args[1] & FUTEX_PRIVATE_FLAG) && mpt__pid_alive((pid_t)word[2]) &&
			    !node_of(S, mpt__tid_tgid((pid_t)word[2]))) {
				/* A live thread outside the tree holds a shared
				 * mutex (memory from shm_open() or a file): it
				 * may well unlock it. */
				w->kind = W_MUTEX;
				w->call = "pthread_mutex_lock";
				w->owner_from = "the mutex's owner field";
				w->owner = (pid_t)word[2];
				w->external = 1;
				return;
			}
		} else if (cmd == FUTEX_WAIT_BITSET && w->args[2] == 0 && word[0] == 0 &&
			   word[1] >= 1 && word[1] < 65536 && (word[2] == 0 || word[2] == 128)) {
			/* glibc's sem_t: value 0, waiters, private flag. */
			w->kind = W_SEM;
			w->call = "sem_wait";
			w->any = 1;
			return;
		}
	}
	w->any = 1;
}

static void resolve_file_lock(struct sample *S, struct node *nd, struct wait *w)
{
	int fd = (int)w->args[0];
	dev_t dev;
	ino_t ino;
	mpt__fd_target(nd->pid, fd, w->path, sizeof w->path);
	if (mpt__fd_file_id(nd->pid, fd, &dev, &ino) < 0) {
		w->external = 1;
		return;
	}
	if (S->nlocks == -2)
		S->nlocks = mpt__read_file_locks(&S->locks);
	long id = -1;
	for (int i = 0; i < S->nlocks; i++) {
		struct mpt__flock_line *l = &S->locks[i];
		if (l->waiter && l->pid == nd->pid && l->ino == (unsigned long)ino &&
		    l->major == major(dev) && l->minor == minor(dev))
			id = l->id;
	}
	pid_t holder = 0;
	for (int i = 0; i < S->nlocks && id >= 0; i++)
		if (!S->locks[i].waiter && S->locks[i].id == id)
			holder = S->locks[i].pid;
	w->owner_from = "/proc/locks";
	if (holder > 0) {
		struct node *q = node_of(S, holder);
		if (q && q->live) {
			w->owner = holder;
			add_help(w, holder);
			return;
		}
		if (mpt__pid_alive(holder)) {
			w->owner = holder;
			w->external = 1;
			return;
		}
	}
	/* An OFD lock, or a flock taken by a process that has gone while
	 * others keep the descriptor: whoever has the file open may hold it. */
	for (int i = 0; i < S->nn; i++) {
		struct node *q = &S->n[i];
		for (int j = 0; q->live && j < q->s.nfds; j++) {
			dev_t d2;
			ino_t i2;
			if (q->s.fds[j].type == MPT__FD_FILE &&
			    mpt__fd_file_id(q->pid, q->s.fds[j].fd, &d2, &i2) == 0 &&
			    d2 == dev && i2 == ino && !(q == nd && q->s.fds[j].fd == fd))
				add_help(w, q->pid);
		}
	}
	if (w->nhelp == 0)
		w->external = 1;
}

/* System V objects with a key, and POSIX message queues with a name, are
 * open to any process of the system: one outside the tree may end the
 * wait. IPC_PRIVATE ones and unlinked queues only to the tree. */
static void resolve_ipc(struct node *nd, struct wait *w)
{
	w->any = 1;
	if (!strcmp(w->call, "semop") || !strncmp(w->call, "msg", 3)) {
		long key = mpt__sysv_key(w->call[0] == 's' ? "sem" : "msg", (int)w->args[0]);
		if (key != 0)
			w->external = 1; /* a key, or not found: anybody */
		return;
	}
	char target[160];
	mpt__fd_target(nd->pid, (int)w->args[0], target, sizeof target);
	size_t len = strlen(target);
	if (len < 10 || strcmp(target + len - 10, " (deleted)"))
		w->external = 1;
}

static void resolve_wait(struct sample *S, struct node *nd, struct wait *w)
{
	switch (w->kind) {
	case W_WAITPID:
		if (w->wpid > 0) {
			struct node *q = node_of(S, (pid_t)w->wpid);
			if (q && q->live)
				add_help(w, q->pid);
			else
				w->external = 1;
			return;
		}
		for (int i = 0; i < S->nn; i++) {
			struct node *q = &S->n[i];
			if (q->live && q->s.ppid == nd->pid &&
			    (w->wpid == -1 || q->s.pgrp == (pid_t)-w->wpid))
				add_help(w, q->pid);
		}
		/* A child the tree list does not show yet. */
		if (w->nhelp == 0)
			w->external = 1;
		return;
	case W_FD:
	case W_POLL:
		if (w->kind == W_POLL && w->nt == 0)
			w->any = 1; /* only a signal can end it */
		for (int i = 0; i < w->nt; i++)
			resolve_target(S, nd, w, &w->t[i]);
		return;
	case W_FUTEX:
		resolve_futex(S, nd, w);
		return;
	case W_FLOCK:
	case W_FCNTL:
		resolve_file_lock(S, nd, w);
		return;
	case W_IPC:
		resolve_ipc(nd, w);
		return;
	default:
		w->any = 1;
	}
}

/* The inode whose holders would end a wait on t: the pipe, or the socket's
 * peer; 0 for named pipes (anybody may open those) and everything else. */
static unsigned long other_end(const struct target *t)
{
	if (t->type == MPT__FD_PIPE && !t->dev)
		return t->ino;
	if (t->type == MPT__FD_SOCKET)
		return t->peer;
	return 0;
}

/* Whether processes outside the tree hold the pipes and sockets the stuck
 * processes wait on (the runner draining the test's output, a pipe
 * inherited from outside). Scanning every process of the system is not
 * cheap, so it happens only for a would-be verdict, once per inode; a wait
 * an outside process could end is then no longer stuck. Returns whether
 * that changed anything. */
static int check_outside(struct sample *S)
{
	struct mpt__watch *W = S->W;
	unsigned long *inos = NULL;
	int n = 0, known;
	for (int i = 0; i < S->nn; i++) {
		struct node *nd = &S->n[i];
		for (int j = 0; nd->stuck && j < nd->nw; j++)
			for (int k = 0; k < nd->w[j].nt; k++) {
				unsigned long ino = other_end(&nd->w[j].t[k]);
				int dup = 0;
				for (int m = 0; m < n; m++)
					dup |= inos[m] == ino;
				if (!ino || dup || (seen_bits(W, ino, &known), known))
					continue;
				inos = mpt__xrealloc(inos, (size_t)(n + 1) * sizeof *inos);
				inos[n++] = ino;
			}
	}
	if (n == 0)
		return 0;
	pid_t *skip = mpt__xcalloc((size_t)S->nn, sizeof *skip);
	for (int i = 0; i < S->nn; i++)
		skip[i] = S->n[i].pid;
	unsigned *found = mpt__xcalloc((size_t)n, sizeof *found);
	mpt__scan_holders(skip, S->nn, inos, n, found);
	for (int i = 0; i < n; i++) {
		if (W->nseen == W->capseen) {
			W->capseen = W->capseen ? 2 * W->capseen : 16;
			W->seen = mpt__xrealloc(W->seen, (size_t)W->capseen * sizeof *W->seen);
		}
		W->seen[W->nseen++] = (struct seen){inos[i], found[i]};
	}
	free(found);
	free(skip);
	free(inos);
	int changed = 0;
	for (int i = 0; i < S->nn; i++) {
		struct node *nd = &S->n[i];
		for (int j = 0; nd->stuck && j < nd->nw; j++)
			for (int k = 0; k < nd->w[j].nt; k++) {
				struct target *t = &nd->w[j].t[k];
				unsigned long ino = other_end(t);
				unsigned bits = ino ? seen_bits(W, ino, &known) : 0;
				if (t->type == MPT__FD_PIPE)
					bits &= t->dir == 0 ? 2u : 1u;
				if (bits && !t->outside) {
					t->outside = 1;
					nd->w[j].external = 1;
					changed = 1;
				}
			}
	}
	return changed;
}

/* Whether a live process of the tree is not stuck: moving, or blocked with
 * a timer pending. */
static int any_unstuck(struct sample *S)
{
	for (int i = 0; i < S->nn; i++)
		if (S->n[i].live && !S->n[i].stuck)
			return 1;
	return 0;
}

/* Whether an ancestor of nd in the tree waits for a timer: a `timeout`-like
 * watchdog that will signal its descendants when it fires. */
static int timer_above(struct sample *S, struct node *nd)
{
	struct node *q = nd;
	for (int depth = 0; depth < 64 && q; depth++) {
		q = q->s.ppid > 1 && q->s.ppid != q->pid ? node_of(S, q->s.ppid) : NULL;
		if (q && q->live && q->timer)
			return 1;
	}
	return 0;
}

/* A futex wait whose word lives in a shared mapping of a file (shm_open(),
 * sem_open(), a mapped file): the file of that mapping, if it could be
 * shared with processes outside the tree. */
static int futex_file(struct node *nd, const struct wait *w, struct mpt__file_id *f)
{
	if ((w->kind != W_SEM && w->kind != W_FUTEX && w->kind != W_MUTEX) || !w->addr ||
	    w->external || w->forked_copy || (w->args[1] & FUTEX_PRIVATE_FLAG))
		return 0;
	int shared;
	return mpt__mapping_of(nd->pid, w->addr, f, &shared) == 0 && shared && f->ino != 0;
}

static struct mapped *mapped_of(struct mpt__watch *W, const struct mpt__file_id *f)
{
	for (int i = 0; i < W->nmapped; i++)
		if (W->mapped[i].f.ino == f->ino && W->mapped[i].f.major == f->major &&
		    W->mapped[i].f.minor == f->minor)
			return &W->mapped[i];
	return NULL;
}

/* Whether a process outside the tree maps the memory a stuck futex wait
 * is on (a server holding a mutex in shm_open() memory, a named semaphore
 * another program posts): then it may end the wait. Reading every
 * process's maps is not cheap: only for a would-be verdict, and an answer
 * is kept for a second. Returns whether that changed anything. */
static int check_shared_memory(struct sample *S)
{
	struct mpt__watch *W = S->W;
	int64_t now = mpt__now_ns();
	struct mpt__file_id *ask = NULL;
	int n = 0;
	for (int i = 0; i < S->nn; i++)
		for (int j = 0; S->n[i].stuck && j < S->n[i].nw; j++) {
			struct mpt__file_id f;
			if (!futex_file(&S->n[i], &S->n[i].w[j], &f))
				continue;
			struct mapped *m = mapped_of(W, &f);
			if (m && now - m->when < 1000000000LL)
				continue;
			ask = mpt__xrealloc(ask, (size_t)(n + 1) * sizeof *ask);
			ask[n++] = f;
		}
	if (n > 0) {
		pid_t *skip = mpt__xcalloc((size_t)S->nn, sizeof *skip);
		for (int i = 0; i < S->nn; i++)
			skip[i] = S->n[i].pid;
		int *found = mpt__xcalloc((size_t)n, sizeof *found);
		mpt__scan_mappers(skip, S->nn, ask, n, found);
		for (int i = 0; i < n; i++) {
			struct mapped *m = mapped_of(W, &ask[i]);
			if (!m) {
				W->mapped = mpt__xrealloc(W->mapped, (size_t)(W->nmapped + 1) *
									 sizeof *W->mapped);
				m = &W->mapped[W->nmapped++];
				m->f = ask[i];
			}
			m->outside = found[i];
			m->when = now;
		}
		free(found);
		free(skip);
		free(ask);
	}
	int changed = 0;
	for (int i = 0; i < S->nn; i++)
		for (int j = 0; S->n[i].stuck && j < S->n[i].nw; j++) {
			struct mpt__file_id f;
			struct mapped *m;
			if (futex_file(&S->n[i], &S->n[i].w[j], &f) && (m = mapped_of(W, &f)) &&
			    m->outside) {
				S->n[i].w[j].external = 1;
				changed = 1;
			}
		}
	return changed;
}

/* Whether every wait of nd can only be ended by stuck or gone processes. */
static int only_stuck_helpers(struct sample *S, struct node *nd)
{
	/* A process that catches signals may be woken by one (the self-pipe
	 * idiom: a handler writes to a pipe its own thread reads) from any
	 * process still moving. */
	if (nd->wakeable && any_unstuck(S))
		return 0;
	if (timer_above(S, nd))
		return 0;
	for (int j = 0; j < nd->nw; j++) {
		struct wait *w = &nd->w[j];
		if (w->external)
			return 0;
		if (w->any)
			for (int i = 0; i < S->nn; i++)
				if (S->n[i].live && !S->n[i].stuck)
					return 0;
		for (int i = 0; i < w->nhelp; i++) {
			struct node *q = node_of(S, w->help[i]);
			if (q ? q->live && !q->stuck : mpt__pid_alive(w->help[i]))
				return 0;
		}
	}
	return 1;
}

static void find_stuck(struct sample *S)
{
	for (int i = 0; i < S->nn; i++)
		S->n[i].stuck = S->n[i].blocked;
	int changed;
	do {
		changed = 0;
		for (int i = 0; i < S->nn; i++)
			if (S->n[i].stuck && !only_stuck_helpers(S, &S->n[i])) {
				S->n[i].stuck = 0;
				changed = 1;
			}
	} while (changed);
}

static char *stuck_signature(struct sample *S)
{
	struct mpt__buf b = {0};
	for (int i = 0; i < S->nn; i++) {
		struct node *nd = &S->n[i];
		if (!nd->stuck)
			continue;
		mpt__buf_printf(&b, "%d:%llu", (int)nd->pid, (unsigned long long)nd->s.run_ns);
		for (int j = 0; j < nd->s.nthreads; j++) {
			const struct mpt__thread_sample *t = &nd->s.threads[j];
			mpt__buf_printf(&b, ",%d/%ld/%lx/%lx/%lx", (int)t->tid, t->nr, t->args[0],
					t->args[1], t->args[2]);
		}
		mpt__buf_puts(&b, ";");
	}
	return b.p;
}

/* ---- the sample ------------------------------------------------------------ */

static uint64_t prev_run(struct mpt__watch *W, pid_t pid, int *found)
{
	for (int i = 0; i < W->nprev; i++)
		if (W->prev[i].pid == pid) {
			*found = 1;
			return W->prev[i].run_ns;
		}
	*found = 0;
	return 0;
}

static void reset(struct mpt__watch *W)
{
	free(W->sig);
	W->sig = NULL;
	W->streak = 0;
}

int mpt__watch_sample(struct mpt__watch *W, struct mpt__region *r,
		      const pid_t *pids, int n, int64_t now_ns,
		      char **message, char **detail, char **dot)
{
	if (!W || n <= 0)
		return 0;
	struct sample S = {.W = W, .r = r, .nlocks = -2};
	S.n = mpt__xcalloc((size_t)n, sizeof *S.n);
	int nblocked = 0;
	for (int i = 0; i < n; i++) {
		if (pids[i] <= 0 || node_of(&S, pids[i]))
			continue;
		struct node *nd = &S.n[S.nn++];
		nd->pid = pids[i];
		mpt__sample_process(nd->pid, &nd->s);
		nd->live = nd->s.state && nd->s.state != 'Z' && nd->s.state != 'X' &&
			   nd->s.nthreads > 0;
		if (!nd->live)
			continue;
		int found;
		uint64_t before = prev_run(W, nd->pid, &found);
		nd->w = mpt__xcalloc((size_t)nd->s.nthreads, sizeof *nd->w);
		int all = 1;
		for (int j = 0; j < nd->s.nthreads && all; j++) {
			all = classify(r, nd, &nd->s.threads[j], &nd->w[j]);
			nd->nw = j + 1;
		}
		/* It must not have run since the last sample either: a process
		 * that sleeps and wakes between samples is moving. */
		nd->blocked = all && found && before == nd->s.run_ns;
		nblocked += nd->blocked;
	}
	/* Remember CPU times for the next sample. */
	W->prev = mpt__xrealloc(W->prev, (size_t)S.nn * sizeof *W->prev + 1);
	W->nprev = 0;
	for (int i = 0; i < S.nn; i++)
		if (S.n[i].live)
			W->prev[W->nprev++] = (struct prev_run){S.n[i].pid, S.n[i].s.run_ns};

	int verdict = 0;
	if (nblocked == 0) {
		reset(W);
		goto out;
	}
	for (int i = 0; i < S.nn; i++) {
		if (!S.n[i].live)
			continue;
		mpt__sample_fds(&S.n[i].s);
		if (!S.n[i].blocked)
			continue;
		/* alarm() before a blocking call is a classic timeout, and a
		 * wait a timer may end is not stuck: a handler interrupts it,
		 * or the default action ends the process. */
		uint64_t caught = 0, ignored = 0;
		mpt__signal_masks(S.n[i].pid, &caught, &ignored);
		if (timer_pending(r, &S.n[i], caught, ignored)) {
			S.n[i].blocked = 0;
			S.n[i].timer = 1;
		}
		S.n[i].wakeable = wakeable(&S, &S.n[i], caught);
	}
	for (int i = 0; i < S.nn; i++)
		for (int j = 0; S.n[i].blocked && j < S.n[i].nw; j++)
			resolve_wait(&S, &S.n[i], &S.n[i].w[j]);
	find_stuck(&S);
	if (check_outside(&S))
		find_stuck(&S);
	if (check_shared_memory(&S))
		find_stuck(&S);
	char *sig = stuck_signature(&S);
	if (!sig) {
		reset(W);
		goto out;
	}
	if (W->sig && !strcmp(W->sig, sig)) {
		W->streak++;
		free(sig);
	} else {
		free(W->sig);
		W->sig = sig;
		W->streak = 1;
		/* No process of the set has run since the previous sample. */
		W->since = W->last ? W->last : now_ns;
	}
	if (W->streak < CONFIRM)
		goto out;
	mpt__explain_deadlock(&S, now_ns - W->since, message, detail, dot);
	reset(W);
	verdict = 1;
out:
	W->last = now_ns;
	free_sample(&S);
	return verdict;
}
