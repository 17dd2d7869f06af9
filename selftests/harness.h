/* Helpers for the selftests: run a program under the real runner, capture
 * what it printed and how it ended, and read the JSON report it wrote. */
#ifndef MPT_SELFTEST_HARNESS_H
#define MPT_SELFTEST_HARNESS_H

#include <json-c/json.h>
#include <stddef.h>

struct run_result {
	int status;        /* exit code, or 128+signal */
	char *out;         /* stdout */
	char *err;         /* stderr */
	double seconds;    /* wall time */
};

/* Paths of built programs and of the scratch directory. */
const char *builddir(void);
const char *srcdir(void);
/* A fresh directory per process, in the program's scratch root; removed
 * when the process ends through exit(), else with the root. */
const char *scratch(void);
/* Makes a new scratch root (/tmp/mptest-selftest-XXXXXX) owned by this
 * process, removed with everything in it when this process exits. Done
 * for every selftest program before main(); for the test of the cleanup. */
const char *scratch_root_new(void);
char *path_in(const char *dir, const char *name);  /* malloc'd */

/* Runs argv (NULL-terminated) with extra environment entries "K=V" (NULL
 * terminated, may be NULL), killing it after limit_s seconds. */
struct run_result run_cmd(char *const argv[], char *const env[], int limit_s);
void run_free(struct run_result *r);

/* Parses a JSON file; NULL if missing or invalid. */
json_object *json_load(const char *path);
/* The test object named name in a report, or NULL. */
json_object *json_test(json_object *report, const char *name);
const char *json_str(json_object *o, const char *key);
long long json_int(json_object *o, const char *key);
/* How many findings of kind the test has. */
int json_count_kind(json_object *test, const char *kind);
/* The first finding of kind, or NULL. */
json_object *json_finding(json_object *test, const char *kind);

/* A built program: top_builddir/rel (malloc'd). */
char *bin(const char *rel);
/* "name=value" (malloc'd), for options and environment entries. */
char *opt(const char *name, const char *value);
/* A Check assertion that needle occurs in hay. */
void contains(const char *hay, const char *needle);

/* Check assertions on a test of a report: it failed with exactly one
 * finding, of kind, from process id (when id is not NULL); returns it. */
json_object *expect_only(json_object *t, const char *name, const char *kind, const char *id);
/* ... or it passed with no finding at all. */
void expect_clean(json_object *t, const char *name);

/* Whether a process exists (not a zombie). */
int alive(int pid);
/* The first line of /proc/PID/stat, or "(gone)": for failure messages. */
const char *proc_stat(int pid);
/* Reads a small integer from a file, or -1. */
int read_int_file(const char *path);
/* How many times needle occurs in hay. */
int count_str(const char *hay, const char *needle);

#endif
