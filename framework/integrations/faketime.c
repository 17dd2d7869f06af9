/* libfaketime (--faketime=SPEC): where the library is, what a FAKETIME
 * value looks like, and the /dev/shm files it leaves behind when a process
 * of the test is killed. The tree gets the library through LD_PRELOAD, after
 * the shim; the runner never loads it, so its clock and the test's timeout
 * stay real. */
#define _GNU_SOURCE
#include "integrations.h"

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

const char *mpt__faketime_lib(void)
{
	const char *env = getenv("MPT_FAKETIME_LIB");
	const char *p = env && *env ? env : MPT_FAKETIME_LIB;
	return *p && access(p, R_OK) == 0 ? p : NULL;
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
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	char *rp = strrchr(buf, ')');
	return rp && rp[1] && rp[2] != 'Z' && rp[2] != 'X';
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
