#define _GNU_SOURCE
/* The human report: a line per test, the findings and output of failures,
 * a live progress line on a terminal, and the closing count. */
#include "report.h"

#include <string.h>

#include "../core/kinds.h"

static void clear_progress(struct mpt__human *h)
{
	if (h->progress_shown) {
		fputs("\r\033[K", h->f);
		h->progress_shown = 0;
	}
}

void mpt__human_progress(struct mpt__human *h, size_t done, size_t total,
			 size_t running, const char *name)
{
	if (!h->tty)
		return;
	clear_progress(h);
	fprintf(h->f, "[%zu/%zu] %zu running%s%.60s", done, total, running,
		name ? ": " : "", name ? name : "");
	h->progress_shown = 1;
	fflush(h->f);
}

/* Output is shown as text; bytes that would upset a terminal are escaped. */
static void show_output(FILE *f, const struct mpt__result *r)
{
	fputs("  --- output", f);
	if (r->output_dropped)
		fprintf(f, " (last %zu bytes; %zu earlier bytes dropped)",
			r->output_len, r->output_dropped);
	fputs(" ---\n", f);
	int bol = 1;
	for (size_t i = 0; i < r->output_len; i++) {
		unsigned char c = (unsigned char)r->output[i];
		if (bol)
			fputs("  | ", f);
		bol = c == '\n';
		if (c == '\n' || c == '\t' || c >= 0x20)
			fputc(c, f);
		else
			fprintf(f, "\\x%02x", c);
	}
	if (!bol)
		fputc('\n', f);
}

static void indent(FILE *f, const char *text, const char *pad)
{
	const char *p = text;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		if (n)
			fprintf(f, "%s%.*s\n", pad, (int)n, p);
		else
			fputc('\n', f); /* no whitespace-only lines */
		p += n + (nl ? 1 : 0);
	}
}

void mpt__human_result(struct mpt__human *h, const struct mpt__result *r)
{
	FILE *f = h->f;
	clear_progress(h);
	if (h->quiet && (r->status == MPT__PASS || r->status == MPT__SKIP))
		return;
	static const char *const tag[] = {"PASS", "FAIL", "SKIP", "ERROR"};
	fprintf(f, "%-5s %s (%.1f ms)", tag[r->status], r->name, r->duration_ms);
	if (r->reason)
		fprintf(f, ": %s", r->reason);
	fputc('\n', f);
	/* Many findings of one kind (200 leaked children) are shown as the
	 * first few and a count; the advice is shown once per kind. The JSON
	 * and JUnit reports list every finding of the result (those the
	 * session region could not hold are in none: the first finding's
	 * detail says so). */
	enum { SHOW_PER_KIND = 10 };
	int shown[MPT__K_COUNT] = {0}, hidden[MPT__K_COUNT] = {0};
	for (const struct mpt__finding *x = r->findings; x; x = x->next) {
		int k = x->kind < MPT__K_COUNT ? x->kind : 0;
		if (shown[k] == SHOW_PER_KIND) {
			hidden[k]++;
			continue;
		}
		fprintf(f, "  %s", mpt__kind_name(x->kind));
		/* Messages that already begin with the process ("p0.1 (pid 42,
		 * prog) exited...") are not prefixed with it again. */
		size_t idlen = x->process ? strlen(x->process) : 0;
		int named = idlen && !strncmp(x->message, x->process, idlen) &&
			    x->message[idlen] == ' ';
		if (named)
			;
		else if (x->process)
			fprintf(f, " in %s (pid %d)", x->process, (int)x->pid);
		else if (x->pid)
			fprintf(f, " in pid %d", (int)x->pid);
		fprintf(f, ": %s\n", x->message);
		if (x->detail && *x->detail && !shown[k])
			indent(f, x->detail, "    ");
		shown[k]++;
	}
	for (int k = 0; k < MPT__K_COUNT; k++)
		if (hidden[k])
			fprintf(f, "  ... and %d more %s findings, listed in --json and "
				   "--junit\n", hidden[k], mpt__kind_name(k));
	int failed = r->status == MPT__FAIL || r->status == MPT__ERROR;
	/* Injected faults explain a failure; a passing test lists them only
	 * with --verbose. */
	for (size_t i = 0; i < r->nfaults && (failed || h->verbose); i++)
		fprintf(f, "  injected %s at %s call %llu in %s (pid %d)\n",
			r->faults[i].action, r->faults[i].call, r->faults[i].count,
			r->faults[i].process, (int)r->faults[i].pid);
	if (r->faults_dropped && (failed || h->verbose))
		fprintf(f, "  ... and %zu more injected faults (the log was full)\n",
			r->faults_dropped);
	if (r->output && r->output_len && (failed || h->verbose))
		show_output(f, r);
	fflush(f);
}

void mpt__human_summary(struct mpt__human *h, const struct mpt__summary *s)
{
	clear_progress(h);
	fprintf(h->f, "%zu passed, %zu failed", s->passed, s->failed + s->errors);
	if (s->skipped)
		fprintf(h->f, ", %zu skipped", s->skipped);
	fputc('\n', h->f);
	fflush(h->f);
}
