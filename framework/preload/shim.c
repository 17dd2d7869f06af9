/* The shim's core: activation, real symbols, findings, call sites. */
#define _GNU_SOURCE
#include "shim.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/kinds.h"
#include "../core/procid.h"
#include "../core/util.h"
#include "../inspect/symbolize.h"

int mpt__shim_active MPT__HOT;

#ifdef MPT_PRELOAD
/* The preload library announces itself, so a libmptest loaded beside it
 * stays passive instead of counting every call twice. */
MPT__EXPORT int mpt__preload_marker = 1;
MPT__EXPORT const char *mpt__preload_procid(void);
const char *mpt__preload_procid(void)
{
	return mpt__procid();
}

__attribute__((constructor)) static void preload_init(void)
{
	int e = errno;
	if (!mpt__current)
		mpt__current = mpt__region_attach_env();
	if (mpt__current) {
		mpt__procid_attach();
		mpt__shim_active = 1;
		mpt__shim_register_exit();
	}
	errno = e;
}
#else
/* In libmptest: active in a test leader and its forks, unless the preload
 * library is loaded too. Called by the runner in each new leader. */
void mpt__shim_enable(void);

/* Whether the preload library is loaded is known when this library's
 * constructors run (LD_PRELOAD objects are loaded first), so it is asked
 * once, in the runner. A failed dlsym walks every object's symbol table:
 * asked in each new leader, it cost page faults in every test on pages the
 * fork had just shared. */
static void *preload_ids;
static int preload_looked_up;

__attribute__((constructor)) static void shim_lookup_preload(void)
{
	preload_ids = dlsym(RTLD_DEFAULT, "mpt__preload_procid");
	preload_looked_up = 1;
}

void mpt__shim_enable(void)
{
	if (!preload_looked_up)
		shim_lookup_preload();
	void *ids = preload_ids;
	mpt__shim_active = ids == NULL;
	if (mpt__shim_active)
		mpt__shim_register_exit();
	else
		mpt__procid_set_delegate((const char *(*)(void))ids);
}
#endif

#ifndef MPT_PRELOAD
/* Functions every test leader calls through the wrappers (its output
 * redirection, its cgroup entry, its end) or that most tests use, looked
 * up once in the runner. A wrapper resolves its function at its first
 * call in a process, so a lookup made in a leader was made again in every
 * leader: a dozen page faults per test, on pages the fork had just shared
 * (bench/README.md, "What was found"). */
static const char *const early_names[] = {
	"write", "dup2", "_exit", "exit", "read", "close", "fork", "waitpid",
	"wait4", "pipe", "pipe2", "fflush",
};
static void *early[sizeof early_names / sizeof early_names[0]];

__attribute__((constructor)) static void shim_lookup_early(void)
{
	for (size_t i = 0; i < sizeof early / sizeof early[0]; i++)
		early[i] = dlsym(RTLD_NEXT, early_names[i]);
}
#endif

void *mpt__real(const char *name)
{
#ifndef MPT_PRELOAD
	for (size_t i = 0; i < sizeof early / sizeof early[0]; i++)
		if (early[i] && strcmp(name, early_names[i]) == 0)
			return early[i];
#endif
	void *p = dlsym(RTLD_NEXT, name);
	if (!p) {
		static const char msg[] = "mptest shim: a libc function is missing\n";
		ssize_t w = write(2, msg, sizeof msg - 1);
		(void)w;
		abort();
	}
	return p;
}

static void copy(char *dst, size_t n, const char *src)
{
	size_t i = 0;
	for (; src && src[i] && i + 1 < n; i++)
		dst[i] = src[i];
	dst[i] = 0;
}

void mpt__shim_finding(int kind, const char *message, const char *detail)
{
	mpt__shim_finding_for(kind, getpid(), mpt__procid(), message, detail);
}

void mpt__shim_finding_for(int kind, pid_t pid, const char *id,
			   const char *message, const char *detail)
{
	if (!mpt__current)
		return;
	/* A kind the test or the run allows would be dropped from the report
	 * anyway; recorded, it would take a slot of the region from a finding
	 * that counts (80 allowed zombies filled it and failed the test). */
	if (kind >= 0 && kind < 32 && ((mpt__current->allow >> kind) & 1))
		return;
	struct mpt__record *rec = mpt__record_claim(mpt__current);
	if (!rec)
		return;
	rec->kind = kind;
	rec->pid = pid;
	copy(rec->process, sizeof rec->process, id);
	rec->file[0] = 0;
	rec->line = 0;
	copy(rec->message, sizeof rec->message, message);
	copy(rec->detail, sizeof rec->detail, detail);
	mpt__record_publish(rec);
}

void mpt__site_text(uintptr_t addr, char *buf, size_t size)
{
	mpt__symbolize(getpid(), addr, buf, size);
}

unsigned long mpt__calls MPT__HOT;
pid_t mpt__last_child;
unsigned long mpt__last_child_calls;
int64_t mpt__last_child_ns;

void mpt__note_child(pid_t child)
{
	mpt__last_child = child;
	mpt__last_child_calls = __atomic_load_n(&mpt__calls, __ATOMIC_RELAXED);
	mpt__last_child_ns = mpt__now_ns();
}

/* The child a parent started just before it exited, with no call of ours in
 * between and within 20 ms: fork(); _exit() (a daemon's double fork). */
static pid_t just_started(unsigned long calls)
{
	if (!mpt__last_child || calls != mpt__last_child_calls ||
	    mpt__now_ns() - mpt__last_child_ns > 20000000)
		return 0;
	return mpt__last_child;
}

void mpt__shim_at_exit(int code, unsigned long calls)
{
	struct mpt__proc *self = mpt__procid_self();
	if (self) {
		self->exited_code = code;
		atomic_store(&self->state, MPT__PS_EXITED);
	}
	/* A process that never started a child has none to leave behind. */
	if (!self || atomic_load(&self->nforks) > 0)
		/* fork(); _exit(): the double fork of a daemon. A child that
		 * is already gone by then was a zombie only while its parent
		 * was on its way out. */
		mpt__zombie_check(mpt__current, getpid(), "when the parent exited",
				  just_started(calls), mpt__shim_finding_for);
	mpt__fd_at_exit();
	mpt__lock_at_exit();
}
