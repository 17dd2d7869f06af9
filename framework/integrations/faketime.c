/* libfaketime (--faketime=SPEC): where the library is, what a FAKETIME
 * value looks like, and the /dev/shm files it leaves behind when a process
 * of the test is killed. The tree gets the library through LD_PRELOAD, after
 * the shim; the runner never loads it, so its clock and the test's timeout
 * stay real. */
#define _GNU_SOURCE
#include "integrations.h"
#include "../core/util.h"

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

/* Why p cannot be preloaded, or NULL when it can: ld.so skips what is not
 * a shared object with a warning in the test's output, and the test would
 * quietly run on the real clock. */
static const char *not_a_library(const char *p)
{
	struct stat st;
	if (stat(p, &st) != 0)
		return "no such file";
	if (!S_ISREG(st.st_mode))
		return S_ISDIR(st.st_mode) ? "a directory, not a shared library"
					   : "not a regular file";
	FILE *f = fopen(p, "re");
	if (!f)
		return "not readable";
	unsigned char magic[4] = {0};
	size_t n = fread(magic, 1, sizeof magic, f);
	fclose(f);
	if (n != 4 || memcmp(magic, "\177ELF", 4))
		return "not a shared library (no ELF header)";
	return NULL;
}

const char *mpt__faketime_lib(const char **why)
{
	const char *env = getenv("MPT_FAKETIME_LIB");
	const char *p = env && *env ? env : MPT_FAKETIME_LIB;
	*why = NULL;
	if (!*p)
		return NULL;
	const char *problem = not_a_library(p);
	/* A file that is not there is a library that is not installed; one
	 * that is there but is no library is a mistake to name. */
	if (problem && access(p, F_OK) == 0)
		*why = problem;
	return problem ? NULL : p;
}

int mpt__faketime_spec_ok(const char *spec)
{
	if (!spec || !*spec)
		return 0;
	if (!strcmp(spec, "%"))
		return 1;
	const char *p = spec;
	if (*p == '+' || *p == '-' || *p == '@')
		p++;
	return isdigit((unsigned char)*p) || (spec[0] != '@' && *p == '.' &&
					      isdigit((unsigned char)p[1]));
}

/* Whether pid is a live process (not a zombie): a test's processes are all
 * dead by now, so a live one is somebody else that reused the pid. */
static int live(pid_t pid)
{
	char st = mpt__proc_state(pid);
	return st && st != 'Z' && st != 'X';
}

void mpt__faketime_cleanup(const pid_t *pids, int n, double since_realtime)
{
	static const char *const names[] = {"/dev/shm/faketime_shm_%d",
					    "/dev/shm/sem.faketime_sem_%d"};
	for (int i = 0; i < n; i++) {
		if (pids[i] <= 0 || live(pids[i]))
			continue;
		for (size_t k = 0; k < sizeof names / sizeof *names; k++) {
			char path[64];
			struct stat st;
			snprintf(path, sizeof path, names[k], (int)pids[i]);
			/* Only what this test made: ours, and not older than
			 * the test (another tree may have had the pid before). */
			if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
			    st.st_uid == geteuid() &&
			    (double)st.st_ctim.tv_sec + 1 >= since_realtime)
				unlink(path);
		}
	}
}
