#define _GNU_SOURCE
/* TAP 14 on stdout, one line per test as it finishes, with a YAML block
 * of findings for failures and of the faults --inject applied (for any
 * test that had some); Automake's tap-driver.sh reads it, and passes the
 * YAML lines to the log as they are. */
#include "report.h"

#include <string.h>

#include "../core/kinds.h"

void mpt__tap_plan(FILE *f, size_t n)
{
	fprintf(f, "TAP version 14\n1..%zu\n", n);
	fflush(f);
}

/* A YAML scalar in double quotes, escaped as JSON is (a YAML subset). */
static void yaml_str(FILE *f, const char *s, size_t n)
{
	mpt__json_string(f, s, n);
}

/* Test names must not contain '#' (a TAP directive) or a newline. */
static void name(FILE *f, const char *s)
{
	for (; *s; s++)
		fputc(*s == '#' || *s == '\n' ? '_' : *s, f);
}

/* The applied faults, as a YAML sequence at two spaces. */
static void faults(FILE *f, const struct mpt__result *r)
{
	if (r->nfaults)
		fputs("  faults:\n", f);
	for (size_t i = 0; i < r->nfaults; i++) {
		const struct mpt__fault_entry *e = &r->faults[i];
		fputs("    - process: ", f);
		yaml_str(f, e->process, strlen(e->process));
		fprintf(f, "\n      pid: %d\n      call: ", (int)e->pid);
		yaml_str(f, e->call, strlen(e->call));
		fprintf(f, "\n      count: %llu\n      action: ", e->count);
		yaml_str(f, e->action, strlen(e->action));
		fputc('\n', f);
	}
	if (r->faults_dropped)
		fprintf(f, "  faults_dropped: %zu\n", r->faults_dropped);
}

void mpt__tap_result(FILE *f, size_t number, const struct mpt__result *r)
{
	switch (r->status) {
	case MPT__PASS:
		fprintf(f, "ok %zu - ", number);
		name(f, r->name);
		fputc('\n', f);
		if (r->nfaults || r->faults_dropped) {
			fputs("  ---\n", f);
			faults(f, r);
			fputs("  ...\n", f);
		}
		break;
	case MPT__SKIP:
		fprintf(f, "ok %zu - ", number);
		name(f, r->name);
		fputs(" # SKIP ", f);
		name(f, r->reason ? r->reason : "skipped");
		fputc('\n', f);
		break;
	default:
		fprintf(f, "not ok %zu - ", number);
		name(f, r->name);
		fputc('\n', f);
		fputs("  ---\n", f);
		fprintf(f, "  duration_ms: %.3f\n", r->duration_ms);
		if (r->status == MPT__ERROR && r->reason) {
			fputs("  error: ", f);
			yaml_str(f, r->reason, strlen(r->reason));
			fputc('\n', f);
		}
		if (r->findings)
			fputs("  findings:\n", f);
		for (const struct mpt__finding *x = r->findings; x; x = x->next) {
			fprintf(f, "    - kind: %s\n", mpt__kind_name(x->kind));
			if (x->pid)
				fprintf(f, "      pid: %d\n", (int)x->pid);
			if (x->process)
				fprintf(f, "      process: %s\n", x->process);
			fputs("      message: ", f);
			yaml_str(f, x->message, strlen(x->message));
			fputc('\n', f);
		}
		faults(f, r);
		if (r->output && r->output_len) {
			fputs("  output: ", f);
			yaml_str(f, r->output, r->output_len);
			fputc('\n', f);
		}
		fputs("  ...\n", f);
	}
	fflush(f);
}
