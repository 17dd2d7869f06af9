/* Running a test's tree under an outside tool: libfaketime (--faketime) and
 * Valgrind (--valgrind).
 *
 * The command line turns them on (tools.c); the runner then starts each
 * test through them with the means struct mpt__config already has — an
 * argv prefix the leader execs through (wrap), a library preloaded after
 * the shim (extra_preload), environment for the tree (extra_env), and API
 * tests re-executed as their own leader (reexec) so the tool covers the test
 * body too — and calls mpt__tools_after_test once a test's tree is gone. */
#ifndef MPT_INTEGRATIONS_H
#define MPT_INTEGRATIONS_H

#include <stdint.h>
#include <sys/types.h>

struct mpt__config;
struct mpt__region;
struct mpt__result;
struct mpt__tools;

/* ---- the command line (tools.c) ------------------------------------------ */

/* --faketime=SPEC and --valgrind[=ARGS] (args NULL for the bare form).
 * *t is created on first use. Return 0, or print one line naming the bad
 * token and return 2. */
int mpt__tools_faketime(struct mpt__tools **t, const char *prog, const char *arg,
			const char *spec);
int mpt__tools_valgrind(struct mpt__tools **t, const char *prog, const char *arg,
			const char *args);
/* Once every option is read: checks that the tools are installed, fills
 * cfg (wrap, extra_preload, extra_env, reexec for API tests, after_test)
 * and scales the timeout multiplier for Valgrind. t may be NULL. Returns 0,
 * or prints one line and returns 2. */
int mpt__tools_configure(struct mpt__tools *t, struct mpt__config *cfg,
			 double *multiplier, int api);
/* Removes Valgrind's log directory and frees everything; t may be NULL. */
void mpt__tools_free(struct mpt__tools *t);
/* The runner's after_test hook (arg is the struct mpt__tools). */
void mpt__tools_after_test(void *arg, struct mpt__region *region, pid_t leader,
			   int64_t start_ns, struct mpt__result *r);

/* ---- libfaketime (faketime.c) -------------------------------------------- */

/* libfaketime.so.1 to preload: MPT_FAKETIME_LIB from the environment, else
 * what configure found; NULL when it is not there, or (with *why set) when
 * what is there is no shared library (a directory, a text file). */
const char *mpt__faketime_lib(const char **why);
/* Whether spec looks like a FAKETIME value libfaketime accepts: an offset
 * ("+0 x10", "-2d"), a start date ("@2024-01-01 12:00:00"), an absolute
 * date ("2024-01-01 12:00:00") or "%" (FAKETIME_FOLLOW_FILE). */
int mpt__faketime_spec_ok(const char *spec);
/* libfaketime keeps a semaphore and a shared memory object per process
 * tree in /dev/shm, named after the pid that made them, and removes them
 * at a normal exit only. Removes those of the given (dead) processes that
 * were made at or after since_realtime (seconds, CLOCK_REALTIME). */
void mpt__faketime_cleanup(const pid_t *pids, int n, double since_realtime);

/* ---- Valgrind (valgrind.c) ----------------------------------------------- */

/* The valgrind program: MPT_VALGRIND from the environment, else what
 * configure found, else valgrind on PATH. Malloc'd, or NULL; *why says
 * what is wrong with an MPT_VALGRIND that is there (a directory, a file
 * that is not executable), and stays NULL when it is just not there. */
char *mpt__valgrind_path(const char **why);
/* Splits the ARGS of --valgrind=ARGS into options, at white space and at a
 * comma that begins another option (",-"), so that
 * "--leak-check=full,--show-leak-kinds=definite,possible" is two options.
 * Returns a malloc'd NULL-terminated array (*n entries), or NULL with *bad
 * set to the offending token (malloc'd) and *why to the reason. */
char **mpt__valgrind_split(const char *args, int *n, char **bad, const char **why);
/* Turns the logs DIR/vg.PID (and DIR/vg.PID.N, moved aside by the shim
 * before an exec) of the given processes into valgrind findings
 * (and adds Valgrind's stack to their crash findings), then removes them.
 * With take_all, every other log in DIR is taken too (only one test was
 * running, so they are its processes'). */
void mpt__valgrind_collect(const char *dir, struct mpt__region *g,
			   const pid_t *pids, int n, int take_all,
			   struct mpt__result *r);

#endif
