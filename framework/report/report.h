/* Test results and the four report formats (DESIGN §7). */
#ifndef MPT_REPORT_H
#define MPT_REPORT_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

struct mpt__finding {
	int kind;            /* enum mpt__kind */
	pid_t pid;           /* 0 when no single process */
	char *process;       /* logical id ("p0.1") or NULL */
	char *message;       /* one line */
	char *detail;        /* multi-line explanation, or NULL */
	struct mpt__finding *next;
};

/* A fault --inject applied in a process of the test (not a finding). */
struct mpt__fault_entry {
	char *process;       /* logical id */
	pid_t pid;
	char *call;          /* "read", "point=child.locked" */
	unsigned long long count; /* the call count in that process */
	char *action;        /* "error=EINTR" */
};

struct mpt__result {
	char *name;          /* "suite/name" */
	int status;          /* enum mpt__status */
	double duration_ms;
	unsigned long long seed;
	struct mpt__finding *findings;
	char *reason;        /* why skipped, or why it could not run (error); or NULL */
	char *output;        /* captured stdout+stderr (a bounded tail), or NULL */
	size_t output_len;
	size_t output_dropped; /* bytes dropped before the tail */
	struct mpt__fault_entry *faults; /* applied faults, sorted; or NULL */
	size_t nfaults;
	size_t faults_dropped;   /* more than the region's log held */
};

void mpt__result_add(struct mpt__result *r, int kind, pid_t pid,
		     const char *process, const char *message,
		     const char *detail);
void mpt__result_free_output(struct mpt__result *r);
void mpt__result_clear(struct mpt__result *r);

struct mpt__summary {
	size_t passed, failed, skipped, errors;
};

/* JSON (DESIGN §7 schema) and JUnit XML writers, for mpt__write_atomic. */
struct mpt__report_set {
	struct mpt__result *results;
	size_t n;
	struct mpt__summary sum;
	const char *suite_name;   /* JUnit <testsuite name>: the program */
};
int mpt__report_json(FILE *f, void *set);
int mpt__report_junit(FILE *f, void *set);

/* TAP 14 on a stream, one result at a time. */
void mpt__tap_plan(FILE *f, size_t n);
void mpt__tap_result(FILE *f, size_t number, const struct mpt__result *r);

/* The human report: one line per test, failures with findings and output. */
struct mpt__human {
	FILE *f;
	int tty;          /* draw a live progress line */
	int verbose;      /* show output of passing tests too */
	int quiet;        /* only failures and the closing line */
	int progress_shown;
};
void mpt__human_progress(struct mpt__human *h, size_t done, size_t total,
			 size_t running, const char *name);
void mpt__human_result(struct mpt__human *h, const struct mpt__result *r);
void mpt__human_summary(struct mpt__human *h, const struct mpt__summary *s);

/* Escaping helpers shared by the writers. */
void mpt__json_string(FILE *f, const char *s, size_t n);
void mpt__xml_text(FILE *f, const char *s, size_t n);

#endif
