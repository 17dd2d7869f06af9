#define _GNU_SOURCE
/* The JUnit XML report: valid against the common (Jenkins/Ant) schema
 * whatever bytes a test printed. The faults --inject applied to a test are
 * lines at the start of its <system-out> ("injected error=EINTR at read
 * call 1 in p0 (pid 123)", as in the human report), before what it
 * printed. */
#include "report.h"

#include <string.h>

#include "../core/kinds.h"

static void text(FILE *f, const char *s)
{
	mpt__xml_text(f, s, strlen(s));
}

int mpt__report_junit(FILE *f, void *arg)
{
	const struct mpt__report_set *set = arg;
	double total = 0;
	for (size_t i = 0; i < set->n; i++)
		total += set->results[i].duration_ms;
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n", f);
	fputs("  <testsuite name=\"", f);
	text(f, set->suite_name);
	fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
		   "skipped=\"%zu\" time=\"%.3f\">\n",
		set->n, set->sum.failed, set->sum.errors, set->sum.skipped,
		total / 1000);
	for (size_t i = 0; i < set->n; i++) {
		const struct mpt__result *r = &set->results[i];
		const char *slash = strchr(r->name, '/');
		fputs("    <testcase classname=\"", f);
		if (slash)
			mpt__xml_text(f, r->name, (size_t)(slash - r->name));
		else
			text(f, set->suite_name);
		fputs("\" name=\"", f);
		text(f, slash ? slash + 1 : r->name);
		fprintf(f, "\" time=\"%.3f\">\n", r->duration_ms / 1000);
		if (r->status == MPT__SKIP) {
			fputs("      <skipped message=\"", f);
			text(f, r->reason ? r->reason : "skipped");
			fputs("\"/>\n", f);
		} else if (r->status == MPT__FAIL || r->status == MPT__ERROR) {
			/* An error (the test could not run to its end: not
			 * found, interrupted) says why; a failure, its first
			 * finding. */
			const struct mpt__finding *x = r->findings;
			int error = r->status == MPT__ERROR;
			const char *tag = error ? "error" : "failure";
			const char *why = error && r->reason ? r->reason : x ? x->message : "failed";
			fprintf(f, "      <%s message=\"", tag);
			text(f, why);
			fprintf(f, "\" type=\"%s\">", !error && x ? mpt__kind_name(x->kind) : "error");
			if (error && r->reason) {
				text(f, r->reason);
				fputc('\n', f);
			}
			for (; x; x = x->next) {
				fprintf(f, "%s: ", mpt__kind_name(x->kind));
				if (x->process)
					fprintf(f, "%s (pid %d): ", x->process, (int)x->pid);
				text(f, x->message);
				fputc('\n', f);
				if (x->detail) {
					text(f, x->detail);
					fputc('\n', f);
				}
			}
			fprintf(f, "</%s>\n", tag);
		}
		int has_output = r->output && r->output_len;
		if (has_output || r->nfaults || r->faults_dropped) {
			fputs("      <system-out>", f);
			for (size_t k = 0; k < r->nfaults; k++) {
				const struct mpt__fault_entry *e = &r->faults[k];
				fputs("injected ", f);
				text(f, e->action);
				fputs(" at ", f);
				text(f, e->call);
				fprintf(f, " call %llu in ", e->count);
				text(f, e->process);
				fprintf(f, " (pid %d)\n", (int)e->pid);
			}
			if (r->faults_dropped)
				fprintf(f, "... and %zu more injected faults (the log was "
					   "full)\n", r->faults_dropped);
			if (has_output && r->output_dropped)
				fprintf(f, "[%zu earlier bytes dropped]\n", r->output_dropped);
			if (has_output)
				mpt__xml_text(f, r->output, r->output_len);
			fputs("</system-out>\n", f);
		}
		fputs("    </testcase>\n", f);
	}
	fputs("  </testsuite>\n</testsuites>\n", f);
	return ferror(f) ? -1 : 0;
}
