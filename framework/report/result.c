#define _GNU_SOURCE
#include "report.h"

#include <stdlib.h>

#include "../core/util.h"

void mpt__result_add(struct mpt__result *r, int kind, pid_t pid,
		     const char *process, const char *message,
		     const char *detail)
{
	struct mpt__finding *f = mpt__xcalloc(1, sizeof *f);
	f->kind = kind;
	f->pid = pid;
	f->process = process ? mpt__xstrdup(process) : NULL;
	f->message = mpt__xstrdup(message);
	f->detail = detail ? mpt__xstrdup(detail) : NULL;
	/* Keep the order in which they were found. */
	struct mpt__finding **p = &r->findings;
	while (*p)
		p = &(*p)->next;
	*p = f;
}

void mpt__result_free_output(struct mpt__result *r)
{
	free(r->output);
	r->output = NULL;
	r->output_len = 0;
}

void mpt__result_clear(struct mpt__result *r)
{
	struct mpt__finding *f = r->findings;
	while (f) {
		struct mpt__finding *next = f->next;
		free(f->process);
		free(f->message);
		free(f->detail);
		free(f);
		f = next;
	}
	for (size_t i = 0; i < r->nfaults; i++) {
		free(r->faults[i].process);
		free(r->faults[i].call);
		free(r->faults[i].action);
	}
	free(r->faults);
	free(r->name);
	free(r->reason);
	free(r->output);
	*r = (struct mpt__result){0};
}
