#define _GNU_SOURCE
#include "plan.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/util.h"
#include "../report/report.h"

static int bad(const char *prog, const char *tok, const char *why, const char *hint)
{
	fprintf(stderr, "%s: %s — %s (%s)\n", prog, tok, why, hint);
	return 2;
}

static const char *value(const char *arg, const char *name)
{
	size_t n = strlen(name);
	return !strncmp(arg, name, n) && arg[n] == '=' ? arg + n + 1 : NULL;
}

/* /proc/sys/fs/pipe-max-size, or its default. */
static unsigned long long pipe_max_size(void)
{
	char buf[32];
	unsigned long long n;
	if (mpt__read_file("/proc/sys/fs/pipe-max-size", buf, sizeof buf) > 0) {
		buf[strcspn(buf, "\n")] = 0;
		if (mpt__parse_uint(buf, 4096, INT_MAX, &n) == 0) /* stored in an int */
			return n;
	}
	return 1u << 20;
}

static struct mpt__inject_plan *get(struct mpt__inject_plan **plan)
{
	if (!*plan)
		*plan = mpt__xcalloc(1, sizeof **plan);
	return *plan;
}

int mpt__plan_option(struct mpt__inject_plan **plan, const char *prog,
		     const char *arg)
{
	const char *v;
	if ((v = value(arg, "--inject"))) {
		struct mpt__inject_plan *p = get(plan);
		if (p->nrules == MPT__MAX_RULES)
			return bad(prog, arg, "too many rules",
				   "at most 32 --inject rules per run");
		char err[MPT__RULE_TEXT_SIZE];
		if (mpt__rule_parse(v, &p->rules[p->nrules], err, sizeof err) < 0) {
			/* The message quotes the rule, names the token and
			 * says what was expected. */
			fprintf(stderr, "%s: --inject=%s\n", prog, err);
			return 2;
		}
		p->nrules++;
		return 0;
	}
	if ((v = value(arg, "--pipe-capacity"))) {
		/* Below a page the shim emulates the capacity (framework/
		 * preload/inject.c); above, the kernel's limit for
		 * unprivileged F_SETPIPE_SZ is the largest that works. */
		unsigned long long n, max = pipe_max_size();
		char hint[96];
		snprintf(hint, sizeof hint, "expected a number of bytes from 1 to %llu", max);
		if (mpt__parse_uint(v, 1, ~0ULL, &n))
			return bad(prog, arg, "not a pipe capacity", hint);
		if (n > max)
			return bad(prog, arg, "larger than the largest pipe of this system",
				   hint);
		get(plan)->pipe_capacity = (int)n;
		return 0;
	}
	if ((v = value(arg, "--sched"))) {
		if (!strcmp(v, "off")) {
			get(plan)->sched = MPT__SCHED_OFF;
			return 0;
		}
		if (!strcmp(v, "perturb")) {
			get(plan)->sched = MPT__SCHED_PERTURB;
			return 0;
		}
		if (!strcmp(v, "serial"))
			return bad(prog, arg, "not available yet in this version of mptest",
				   "the serial scheduler lands with a later release; "
				   "--sched=perturb is available");
		return bad(prog, arg, "unknown scheduler", "expected off or perturb");
	}
	return -1;
}

void mpt__plan_free(struct mpt__inject_plan *plan)
{
	free(plan);
}

/* The ACTION part of a rule's canonical text: after the first ':', up to
 * the next ':' or '@' (point names and call names hold neither). */
static void action_text(const struct mpt__rule *r, char *buf, size_t n)
{
	char text[MPT__RULE_TEXT_SIZE];
	buf[0] = 0;
	if (mpt__rule_format(r, text, sizeof text) < 0)
		return;
	const char *a = strchr(text, ':');
	if (!a)
		return;
	a++;
	size_t len = strcspn(a, ":@");
	snprintf(buf, n, "%.*s", (int)len, a);
}

void mpt__plan_load(struct mpt__region *g, const struct mpt__inject_plan *plan,
		    unsigned long long seed)
{
	struct mpt__inject *in = &g->inject;
	in->seed = seed;
	/* After faults[]: mpt__region_reset() does not clear these. */
	in->call_mask = 0;
	memset(in->rule_call, MPT__RULE_NO_CALL, sizeof in->rule_call);
	if (!plan)
		return;
	in->nrules = plan->nrules;
	for (unsigned i = 0; i < plan->nrules; i++) {
		in->rules[i] = plan->rules[i];
		action_text(&plan->rules[i], in->action[i], sizeof in->action[i]);
		int c = plan->rules[i].target == MPT__RULE_CALL
			? mpt__rule_call_index(plan->rules[i].name) : -1;
		if (c >= 0) {
			in->rule_call[i] = (uint8_t)c;
			in->call_mask |= 1ull << c;
		}
	}
	in->sched = (uint32_t)plan->sched;
	in->pipe_capacity = plan->pipe_capacity;
	in->any = plan->nrules > 0 || plan->sched != MPT__SCHED_OFF ||
		  plan->pipe_capacity > 0;
}

static int by_process_call_count(const void *a, const void *b)
{
	const struct mpt__fault_entry *x = a, *y = b;
	int c = strcmp(x->process, y->process);
	if (!c)
		c = strcmp(x->call, y->call);
	if (!c)
		c = x->count < y->count ? -1 : x->count > y->count;
	if (!c)
		c = strcmp(x->action, y->action);
	return c;
}

void mpt__plan_collect(struct mpt__result *r, struct mpt__region *g)
{
	struct mpt__inject *in = &g->inject;
	unsigned n = atomic_load(&in->nfaults);
	if (n > MPT__MAX_FAULTS) {
		r->faults_dropped = n - MPT__MAX_FAULTS;
		n = MPT__MAX_FAULTS;
	}
	if (!n)
		return;
	r->faults = mpt__xcalloc(n, sizeof *r->faults);
	for (unsigned i = 0; i < n; i++) {
		struct mpt__fault *f = &in->faults[i];
		if (!atomic_load_explicit(&f->ready, memory_order_acquire))
			continue; /* its writer died half-way */
		f->process[sizeof f->process - 1] = 0;
		f->call[sizeof f->call - 1] = 0;
		f->action[sizeof f->action - 1] = 0;
		struct mpt__fault_entry *e = &r->faults[r->nfaults++];
		e->process = mpt__xstrdup(f->process);
		e->pid = f->pid;
		e->call = mpt__xstrdup(f->call);
		e->count = f->count;
		e->action = mpt__xstrdup(f->action);
	}
	qsort(r->faults, r->nfaults, sizeof *r->faults, by_process_call_count);
}
