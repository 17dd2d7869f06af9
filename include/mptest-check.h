/* mptest-check.h — mptest's hygiene checks for Check (libcheck) tests.
 *
 *   #include <check.h>
 *   #include <mptest-check.h>
 *
 *   TCase *tc = tcase_create("workers");
 *   mpt_check_guard(tc);             // every test of tc gets the checks
 *   tcase_add_test(tc, test_pool_stop);
 *
 * Build with both libraries; the program keeps its own main():
 *   cc t.c $(pkg-config --cflags --libs check mptest)
 *
 * In Check's fork mode (the default), each test runs in a process of its
 * own. mpt_check_guard() adds a checked fixture: its setup makes that
 * process a test leader (a session region, logical id p0, mptest's
 * interposition shim on, and a subreaper, so that no descendant can escape
 * by daemonizing); its teardown fails the test through Check
 * (ck_abort_msg) with the first finding's text — the kind ("zombie",
 * "leaked-process", "fd-leak", "lock-held", "stdio-duplicate", "crash",
 * "assertion"), the process and pid, where it was forked, and advice —
 * followed by how many findings there were of each kind. Processes still
 * running at teardown are reported, then killed and reaped.
 *
 * Findings made by other processes (a child that exits leaving its own
 * child unreaped, an MPT_ASSERT that fails in a child, a child killed by
 * SIGSEGV that its parent reaps) are recorded in the region as they happen
 * and reported by the teardown.
 *
 * Programs a test execs run without mptest's shim (only mpt-run preloads
 * it), so their own children are not watched: a child such a program
 * leaves behind that ends as a zombie of the test's process (its
 * subreaper) is not blamed on the test, which never forked it.
 *
 * Limits:
 *   - A test that fails before its teardown (a failed ck_assert ends the
 *     test's process at once in fork mode) skips the checks: it has failed
 *     already. The guard still kills and reaps what the test left running,
 *     daemons in a session of their own included, as the test's process
 *     exits (by exit() or _exit()); Check then kills the test's process
 *     group.
 *   - What ends the test's process without an exit escapes that cleanup:
 *     Check's timeout (it SIGKILLs the test's process group, which a
 *     setsid() daemon has left), a test body that kills itself or crashes.
 *     Orphans then go to init. Run the program under mpt-run, whose runner
 *     owns the whole tree, when a test may hang or crash.
 *   - CK_NOFORK (CK_FORK=no, or srunner_set_fork_status): every test runs
 *     in Check's one process. The fixture still works per test — zombies,
 *     leaked processes (killed and reaped at each teardown), locks, and
 *     what the test's other processes record — but the descriptor check of
 *     that one process is off, since Check opens a file in it for every
 *     test; a crash or a hang of the test body takes the whole run down; and
 *     when the body has failed already, Check reports that failure (the
 *     teardown still cleans up).
 *     Use fork mode for multi-process code. (The guard takes CK_NOFORK from
 *     CK_FORK=no, from seeing a second test in the same process, or from a
 *     parent that is not the suite's runner, the same program: so at the
 *     first test too when srunner_set_fork_status set it.)
 *   - Run the Check program under mpt-run to get the checks for every
 *     process of the whole run instead (see examples/check-adapter). The
 *     guard keeps working there, beside the preload library. */
#ifndef MPTEST_CHECK_H
#define MPTEST_CHECK_H

#include <check.h>
#include <stddef.h>

#include <mptest.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The guard itself, usable from any framework: begin makes the calling
 * process a test leader of its own; end runs the end-of-test checks, kills
 * and reaps what is left, and puts the process back as it was. end returns
 * how many findings there were and writes the first one's text (one line,
 * then the counts per kind) to text; text may be NULL. */
MPT_API void mpt_guard_begin(void);
MPT_API int mpt_guard_end(char *text, size_t size);

static inline void mpt__check_setup(void)
{
	mpt_guard_begin();
}

static inline void mpt__check_teardown(void)
{
	/* Check refuses a message past 4 KB with its file name (and fails
	 * the whole run): the text is cut well below. */
	char text[3072];
	if (mpt_guard_end(text, sizeof text))
		ck_abort_msg("%s", text);
}

/* Adds mptest's per-test checks to every test of tc (a checked fixture:
 * it runs in each test's own process in fork mode). */
static inline void mpt_check_guard(TCase *tc)
{
	tcase_add_checked_fixture(tc, mpt__check_setup, mpt__check_teardown);
}

#ifdef __cplusplus
}
#endif

#endif /* MPTEST_CHECK_H */
