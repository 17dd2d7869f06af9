/* The wait-for graph of one sample of a test's process tree: what each
 * process waits in, and which processes could end each wait. The watchdog
 * (watchdog.c) builds it and takes the verdict; explain.c turns a stuck
 * graph into the report. Internal to framework/inspect. */
#ifndef MPT_WAITGRAPH_H
#define MPT_WAITGRAPH_H

#include <stdint.h>
#include <sys/types.h>

#include "../core/region.h"
#include "procsample.h"

struct mpt__watch;

enum wkind {
	W_WAITPID,  /* wait4, waitid */
	W_FD,       /* read/write/recv/send on one descriptor */
	W_POLL,     /* poll, select, epoll: any of several descriptors */
	W_MUTEX,    /* futex of a mutex whose owner is known */
	W_SEM,      /* futex of a semaphore */
	W_FUTEX,    /* any other futex */
	W_FLOCK,    /* flock */
	W_FCNTL,    /* fcntl F_SETLKW */
	W_SIGNAL,   /* pause, sigsuspend, sigwait */
	W_IPC,      /* System V and POSIX message queues and semaphores */
};

struct holder {
	pid_t pid;
	int fd;
};

/* One descriptor a wait is on. */
struct target {
	int fd;
	int type;          /* MPT__FD_* */
	int dir;           /* 0: waits to read, 1: waits to write */
	unsigned long ino, peer;
	unsigned long dev; /* named pipes */
	struct holder *h;  /* who holds the end that would end the wait */
	int nh;
	int outside;       /* so does a process outside the tree */
	long fill, cap;    /* pipes, read for the report; -1 unknown */
};

struct wait {
	pid_t tid;
	int kind;
	const char *call;  /* as a program spells it: "waitpid", "write" */
	unsigned long args[6];
	struct target *t;
	int nt;
	long wpid;         /* W_WAITPID: >0 a child, -1 any, <-1 a group */
	uintptr_t addr;    /* futexes */
	pid_t owner;       /* locks: the owner, 0 when unknown */
	pid_t owner_tid;   /* ... and its thread, when known */
	int owner_dead;    /* ... who is gone */
	const char *owner_from;
	uintptr_t site;    /* where the owner took the lock (lock table) */
	char path[160];    /* file locks */
	pid_t *help;       /* the processes that could end the wait */
	int nhelp, caphelp;
	int any;           /* any process of the tree could */
	int external;      /* a process outside the tree could */
	int held_back;     /* a write the shim holds back (--pipe-capacity
			    * below a page): the thread is in ppoll() */
	int forked_copy;   /* a process-private lock whose owner thread is
			    * not a thread of the waiter: a copy made by
			    * fork() while another thread held it */
};

struct node {
	pid_t pid;
	struct mpt__proc_sample s;
	int live;          /* exists and is not a zombie */
	int blocked;       /* every thread waits with no timeout; no CPU since */
	int stuck;         /* in the stuck set */
	int timer;         /* blocked, but a timer (alarm, setitimer, a POSIX
			    * timer) may end its waits: not blocked */
	int wakeable;      /* catches a signal another process may send */
	struct wait *w;
	int nw;
	char id[48], prog[40];
	const struct mpt__proc *proc;
};

/* One sample: every process of the tree, in the runner's order (leader
 * first). */
struct sample {
	struct mpt__watch *W;
	struct mpt__region *r;
	struct node *n;
	int nn;
	struct mpt__flock_line *locks;
	int nlocks;        /* -2 until read */
};

/* The node of pid, or NULL when pid is not in the tree. */
static inline struct node *node_of(struct sample *S, pid_t pid)
{
	for (int i = 0; i < S->nn; i++)
		if (S->n[i].pid == pid)
			return &S->n[i];
	return NULL;
}

/* Fills *message (one line), *detail (the report, stacks last) and *dot
 * (Graphviz) for the stuck processes of S, stuck_ns after they last ran.
 * Reads pipe fills and call sites first, then takes the stacks with ptrace
 * tools: call it only once the verdict is taken. */
void mpt__explain_deadlock(struct sample *S, int64_t stuck_ns, char **message,
			   char **detail, char **dot);

#endif
