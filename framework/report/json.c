#define _GNU_SOURCE
/* The JSON report, in the schema of DESIGN §7. */
#include "report.h"

#include <string.h>

#include "../core/kinds.h"

static void str(FILE *f, const char *s)
{
	mpt__json_string(f, s, strlen(s));
}

int mpt__report_json(FILE *f, void *arg)
{
	const struct mpt__report_set *set = arg;
	fputs("{\"mptest\": 1,\n \"tests\": [", f);
	for (size_t i = 0; i < set->n; i++) {
		const struct mpt__result *r = &set->results[i];
		fputs(i ? ",\n  {" : "\n  {", f);
		fputs("\"name\": ", f);
		str(f, r->name);
		fprintf(f, ", \"status\": \"%s\", \"duration_ms\": %.3f, "
			   "\"seed\": %llu",
			mpt__status_name(r->status), r->duration_ms, r->seed);
		if (r->reason) {
			fputs(", \"reason\": ", f);
			str(f, r->reason);
		}
		fputs(", \"findings\": [", f);
		for (const struct mpt__finding *x = r->findings; x; x = x->next) {
			fputs(x == r->findings ? "" : ", ", f);
			fprintf(f, "{\"kind\": \"%s\", \"pid\": %d, \"process\": ",
				mpt__kind_name(x->kind), (int)x->pid);
			if (x->process)
				str(f, x->process);
			else
				fputs("null", f);
			fputs(", \"message\": ", f);
			str(f, x->message);
			fputs(", \"detail\": ", f);
			str(f, x->detail ? x->detail : "");
			fputc('}', f);
		}
		fputc(']', f);
		if (r->nfaults || r->faults_dropped) {
			fputs(", \"faults\": [", f);
			for (size_t k = 0; k < r->nfaults; k++) {
				const struct mpt__fault_entry *e = &r->faults[k];
				fputs(k ? ", {\"process\": " : "{\"process\": ", f);
				str(f, e->process);
				fprintf(f, ", \"pid\": %d, \"call\": ", (int)e->pid);
				str(f, e->call);
				fprintf(f, ", \"count\": %llu, \"action\": ", e->count);
				str(f, e->action);
				fputc('}', f);
			}
			fputc(']', f);
			if (r->faults_dropped)
				fprintf(f, ", \"faults_dropped\": %zu", r->faults_dropped);
		}
		if (r->output && r->output_len) {
			fputs(", \"output\": ", f);
			mpt__json_string(f, r->output, r->output_len);
		}
		fputc('}', f);
	}
	fprintf(f, "],\n \"summary\": {\"passed\": %zu, \"failed\": %zu, "
		   "\"skipped\": %zu, \"errors\": %zu}}\n",
		set->sum.passed, set->sum.failed, set->sum.skipped,
		set->sum.errors);
	return ferror(f) ? -1 : 0;
}
