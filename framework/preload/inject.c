/* Fault injection in the shim: counts the interposed calls of this process,
 * decides with the rules the runner put in the region (a pure function of
 * seed, logical id and call count, framework/plan/rules.h), applies what
 * fires and logs every applied fault in the region for the reports. Also
 * the seeded delays of --sched=perturb, the --pipe-capacity shrink and the
 * MPT_POINT entry point (include/mptest-point.h). */
#define _GNU_SOURCE
#include "inject.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../core/procid.h"

/* Rule names of enum mpt__call. */
static const char *const call_name[MPT__CALL_COUNT] = {
	"read", "write", "fork", "waitpid", "wait4", "pipe", "pipe2", "open",
	"close", "connect", "accept", "pthread_mutex_lock", "sem_wait",
};

/* Calls counted in this process since it started (or forked). */
static uint64_t counts[MPT__CALL_COUNT];

/* Points hit in this process, by name: a small table claimed slot by slot. */
#define POINTS 32
static struct {
	_Atomic int used;  /* 0 free, 1 being filled, 2 ready */
	char name[MPT__RULE_NAME_SIZE];
	uint64_t count;
} points[POINTS];

/* Calls and points seen by --sched=perturb in this process. */
static uint64_t sched_count;

void mpt__inject_fork_child(void)
{
	memset(counts, 0, sizeof counts);
	for (int i = 0; i < POINTS; i++) {
		points[i].count = 0;
	}
	sched_count = 0;
}

static void copy(char *dst, size_t n, const char *src)
{
	size_t i = 0;
	for (; src && src[i] && i + 1 < n; i++)
		dst[i] = src[i];
	dst[i] = 0;
}

static void sleep_ns(int64_t ns)
{
	struct timespec t = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
	while (syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &t, &t) != 0 &&
	       errno == EINTR)
		;
}

/* Appends an applied fault to the region's log (dropped when it is full:
 * the reports say how many were dropped). */
static void log_fault(const char *call, const char *point, uint64_t count,
		      const char *action)
{
	struct mpt__inject *in = &mpt__current->inject;
	unsigned i = atomic_fetch_add(&in->nfaults, 1);
	if (i >= MPT__MAX_FAULTS)
		return;
	struct mpt__fault *f = &in->faults[i];
	f->pid = (pid_t)syscall(SYS_getpid);
	f->count = count;
	copy(f->process, sizeof f->process, mpt__procid());
	if (point) {
		char buf[MPT__RULE_NAME_SIZE + 8] = "point=";
		copy(buf + 6, sizeof buf - 6, point);
		copy(f->call, sizeof f->call, buf);
	} else {
		copy(f->call, sizeof f->call, call);
	}
	copy(f->action, sizeof f->action, action);
	atomic_store_explicit(&f->ready, 1, memory_order_release);
}

static void die_by(int sig)
{
	raise(sig);
	/* Handled, ignored or blocked: kill means the process ends. */
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigaction(sig, &dfl, NULL);
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	sigprocmask(SIG_UNBLOCK, &s, NULL);
	raise(sig);
	raise(SIGKILL);
}

/* A counter-based hash: splitmix64's finalizer. */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* --sched=perturb: a delay of 0-2 ms at one call in four, decided from
 * (seed, logical id, the process's count of calls and points). */
static void perturb(const struct mpt__inject *in, const char *id)
{
	uint64_t n = __atomic_add_fetch(&sched_count, 1, __ATOMIC_RELAXED);
	uint64_t h = 1469598103934665603ull;
	for (const char *p = id; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	uint64_t x = mix(mix(in->seed ^ 0x70657274ull) ^ h ^ mix(n));
	if ((x & 3) == 0)
		sleep_ns((int64_t)((x >> 8) % 2000001));
}

/* The rules for target (call or point name) in this process at its count-th
 * call; see mpt__inject_call. */
static int apply(const char *call, const char *point, uint64_t count,
		 int64_t *value)
{
	struct mpt__inject *in = &mpt__current->inject;
	const char *id = mpt__procid();
	if (in->sched == MPT__SCHED_PERTURB)
		perturb(in, id);
	int result = 0, chosen = -1;
	int want = point ? MPT__RULE_POINT : MPT__RULE_CALL;
	const char *name = point ? point : call;
	unsigned n = in->nrules < MPT__MAX_RULES ? in->nrules : MPT__MAX_RULES;
	for (unsigned i = 0; i < n; i++) {
		const struct mpt__rule *r = &in->rules[i];
		if (r->target != want || strcmp(r->name, name) != 0)
			continue;
		struct mpt__proc *self = mpt__procid_self();
		if (!mpt__rule_matches_process(r, id, self ? self->prog : NULL) ||
		    !mpt__rule_fires(r, in->seed, id, count))
			continue;
		switch (r->action) {
		case MPT__RULE_ERROR:
			if (result == MPT__RULE_ERROR)
				continue; /* the first error wins */
			result = MPT__RULE_ERROR;
			*value = r->value;
			chosen = (int)i;
			break;
		case MPT__RULE_SHORT:
			if (result == MPT__RULE_ERROR ||
			    (result == MPT__RULE_SHORT && *value <= r->value))
				continue;
			result = MPT__RULE_SHORT;
			*value = r->value;
			chosen = (int)i;
			break;
		case MPT__RULE_DELAY:
			log_fault(call, point, count, in->action[i]);
			sleep_ns(r->value);
			continue;
		case MPT__RULE_KILL:
			log_fault(call, point, count, in->action[i]);
			die_by((int)r->value);
			continue;
		case MPT__RULE_SIGNAL:
			log_fault(call, point, count, in->action[i]);
			raise((int)r->value);
			continue;
		}
	}
	if (chosen >= 0) /* logged once: the rule whose effect applies */
		log_fault(call, point, count, in->action[chosen]);
	return result;
}

int mpt__inject_call(enum mpt__call call, int64_t *value)
{
	int e = errno;
	uint64_t count = __atomic_add_fetch(&counts[call], 1, __ATOMIC_RELAXED);
	int r = apply(call_name[call], NULL, count, value);
	errno = e;
	return r;
}

void mpt__inject_pipe(int wfd)
{
	int32_t cap = mpt__current->inject.pipe_capacity;
	if (cap > 0) {
		int e = errno;
		syscall(SYS_fcntl, wfd, F_SETPIPE_SZ, cap);
		errno = e;
	}
}

static uint64_t point_count(const char *name)
{
	for (int i = 0; i < POINTS; i++) {
		int u = atomic_load(&points[i].used);
		if (u == 0) {
			int expect = 0;
			if (atomic_compare_exchange_strong(&points[i].used, &expect, 1)) {
				copy(points[i].name, sizeof points[i].name, name);
				atomic_store(&points[i].used, 2);
				return __atomic_add_fetch(&points[i].count, 1, __ATOMIC_RELAXED);
			}
			u = expect;
		}
		while (u == 1) /* being filled by another thread */
			u = atomic_load(&points[i].used);
		if (!strncmp(points[i].name, name, sizeof points[i].name - 1))
			return __atomic_add_fetch(&points[i].count, 1, __ATOMIC_RELAXED);
	}
	return 0; /* too many names: counted as 0, which no nth matches */
}

/* MPT_POINT("name") in code under test (include/mptest-point.h). */
MPT__EXPORT void mpt_point_hit(const char *name);
void mpt_point_hit(const char *name)
{
	if (!mpt__inject_on() || !name)
		return;
	int e = errno;
	int64_t v;
	uint64_t count = point_count(name);
	if (count)
		apply(NULL, name, count, &v); /* errors and short do not apply */
	errno = e;
}
