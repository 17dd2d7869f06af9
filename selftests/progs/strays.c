/* Daemons that carry no mark of their test: started past the shim (a raw
 * execve system call, as a static program's would be) or with an empty
 * environment, so that neither the session region nor MPT_TEST_TOKEN
 * names their test. Without cgroups the runner must still find and kill
 * them: nothing a test starts may outlive the run. The daemon writes its
 * pid to $MPT_SELFTEST_PIDFILE (one line per daemon). */
#define _GNU_SOURCE
#include <mptest.h>

#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

/* sh -c SCRIPT with an empty environment, in a child; raw: past the shim's
 * execve wrapper, which would otherwise give the shim back to sh. */
static void sh_unmarked(const char *script, int raw)
{
	pid_t p = fork();
	MPT_ASSERT_OK(p);
	if (p == 0) {
		char *argv[] = {"sh", "-c", (char *)script, NULL};
		/* Empty but for ASAN_OPTIONS: in an ASan build the shim the
		 * execve wrapper gives back to sh needs it to start. */
		char asan[512];
		const char *a = getenv("ASAN_OPTIONS");
		snprintf(asan, sizeof asan, "ASAN_OPTIONS=%s", a ? a : "");
		char *envp[] = {a ? asan : NULL, NULL};
		if (raw)
			syscall(SYS_execve, "/bin/sh", argv, envp);
		else
			execve("/bin/sh", argv, envp);
		_exit(127);
	}
	mpt_wait_exited(p, 0);
}

static void daemon_unmarked(int raw)
{
	const char *pidfile = getenv("MPT_SELFTEST_PIDFILE");
	MPT_ASSERT(pidfile != NULL);
	char script[1024];
	/* setsid: a session of its own; sh exits at once, so the sleep is
	 * reparented to the runner (the subreaper). */
	snprintf(script, sizeof script,
		 "/usr/bin/setsid /bin/sleep 300 </dev/null >/dev/null 2>&1 & "
		 "echo $! >> '%s'", pidfile);
	sh_unmarked(script, raw);
}

MPT_TEST(strays, daemon_raw_exec) { daemon_unmarked(1); }

MPT_TEST(strays, daemon_empty_env) { daemon_unmarked(0); }

/* The correct twin: the unmarked program ends before the test does. */
MPT_TEST(strays, unmarked_program_ends) { sh_unmarked("/bin/sleep 0", 1); }

/* Runs beside the others under -j2. */
MPT_TEST(strays, bystander) { usleep(100000); }
