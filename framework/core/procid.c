#define _GNU_SOURCE
#include "procid.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "region.h"

uintptr_t mpt__fork_site;
static char lid[48] MPT__HOT = "?";
static struct mpt__proc *self MPT__HOT;
static unsigned pending;   /* the number the next child gets */

static void set_prog(struct mpt__proc *p)
{
	const char *name = program_invocation_short_name;
	size_t i = 0;
	for (; name && name[i] && i + 1 < sizeof p->prog; i++)
		p->prog[i] = name[i];
	p->prog[i] = 0;
}

/* Appends ".n" to id in place (async-signal-safe). */
static void append_number(char *id, size_t cap, unsigned n)
{
	size_t len = strlen(id);
	char digits[12];
	int nd = 0;
	do {
		digits[nd++] = (char)('0' + n % 10);
		n /= 10;
	} while (n);
	if (len + 1 + (size_t)nd >= cap)
		return;
	id[len++] = '.';
	while (nd)
		id[len++] = digits[--nd];
	id[len] = 0;
}

/* The child's entry is claimed and filled in the parent before fork(), and
 * published by whichever side learns the pid first: the child in its fork
 * handler, or the parent when fork() returns (mpt__procid_forked). A child
 * that is killed before it ever runs still has its id. */
static struct mpt__proc *pending_entry;

static void before_fork(void)
{
	pending_entry = NULL;
	if (!mpt__current || !self)
		return;
	pending = atomic_fetch_add(&self->nforks, 1) + 1;
	struct mpt__proc *e = mpt__proc_reserve(mpt__current);
	if (!e)
		return;
	memcpy(e->id, lid, sizeof e->id);
	e->id[sizeof e->id - 1] = 0;
	append_number(e->id, sizeof e->id, pending);
	memcpy(e->prog, self->prog, sizeof e->prog);
	e->ppid = getpid();
	e->fork_site = mpt__fork_site;
	pending_entry = e;
}

static void publish(struct mpt__proc *e, pid_t pid)
{
	if (!atomic_load_explicit(&e->ready, memory_order_acquire)) {
		e->pid = pid;
		atomic_store_explicit(&e->ready, 1, memory_order_release);
	}
}

/* Runs in the child right after fork(): async-signal-safe work only, since
 * the parent may have had other threads. */
static void in_child(void)
{
	if (!mpt__current || !self)
		return;
	struct mpt__proc *e = pending_entry;
	pending_entry = NULL;
	mpt__fork_site = 0;
	if (!e) {
		append_number(lid, sizeof lid, pending);
		self = mpt__proc_add(mpt__current, getpid(), getppid(), lid);
		return;
	}
	publish(e, getpid());
	memcpy(lid, e->id, sizeof lid);
	self = e;
}

void mpt__procid_forked(pid_t child)
{
	struct mpt__proc *e = pending_entry;
	pending_entry = NULL;
	if (e && child > 0)
		publish(e, child);
}

/* When the preload library runs in this process too, its copy of this
 * file keeps the ids: this copy answers through it and counts nothing, so
 * no fork is numbered twice. */
static const char *(*delegate)(void) MPT__HOT;

void mpt__procid_set_delegate(const char *(*fn)(void))
{
	delegate = fn;
}

static void register_handlers(void)
{
	static int registered MPT__HOT;
	if (!delegate && !registered && pthread_atfork(before_fork, NULL, in_child) == 0)
		registered = 1;
}

void mpt__procid_leader_init(void)
{
	strcpy(lid, "p0");
	register_handlers();
	if (mpt__current) {
		self = mpt__proc_add(mpt__current, getpid(), getppid(), lid);
		if (self)
			set_prog(self);
	}
}

void mpt__procid_attach(void)
{
	if (!mpt__current || delegate)
		return;
	register_handlers();
	self = mpt__proc_find(mpt__current, getpid());
	if (!self) {
		/* Started by a path without our hooks (clone, a static
		 * binary's fork): number it under its parent. */
		struct mpt__proc *parent = mpt__proc_find(mpt__current, getppid());
		if (parent) {
			/* A posix_spawn child took its number before it existed. */
			unsigned n = atomic_exchange(&parent->spawning, 0);
			strcpy(lid, parent->id);
			append_number(lid, sizeof lid,
				      n ? n : atomic_fetch_add(&parent->nforks, 1) + 1);
		} else {
			strcpy(lid, "p?");
		}
		self = mpt__proc_add(mpt__current, getpid(), getppid(), lid);
	} else {
		memcpy(lid, self->id, sizeof lid);
		lid[sizeof lid - 1] = 0;
	}
	if (self)
		set_prog(self);
}

void mpt__procid_spawn_begin(void)
{
	if (mpt__current && self)
		atomic_store(&self->spawning, atomic_fetch_add(&self->nforks, 1) + 1);
}

void mpt__procid_spawned(pid_t child, uintptr_t site)
{
	if (!mpt__current || !self)
		return;
	/* The child's program may have registered itself already. */
	unsigned n = atomic_exchange(&self->spawning, 0);
	struct mpt__proc *p = mpt__proc_find(mpt__current, child);
	if (!p && n) {
		char id[48];
		memcpy(id, lid, sizeof id);
		append_number(id, sizeof id, n);
		p = mpt__proc_add(mpt__current, child, getpid(), id);
	}
	if (p)
		p->fork_site = site;
}

const char *mpt__procid(void)
{
	return delegate ? delegate() : lid;
}

struct mpt__proc *mpt__procid_self(void)
{
	return self;
}
