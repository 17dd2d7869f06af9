#define _GNU_SOURCE
#include "reports.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int open_output(const char *dir, int job)
{
	char path[256];
	snprintf(path, sizeof path, "%s/report-%d.txt", dir, job);
	return open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
}

int render_report(int out, int job)
{
	char text[128];
	int len = snprintf(text, sizeof text, "report %d: %d orders, %d returns\n",
			   job, 100 + job * 7, job % 3);
	return write(out, text, (size_t)len) == len ? 0 : -1;
}

int check_outputs(const char *dir)
{
	int missing = 0;
	for (int job = 1; job <= JOBS; job++) {
		char path[256];
		struct stat st;
		snprintf(path, sizeof path, "%s/report-%d.txt", dir, job);
		if (stat(path, &st) < 0 || st.st_size == 0)
			missing++;
		unlink(path);
	}
	rmdir(dir);
	if (missing) {
		fprintf(stderr, "reports: %d of %d reports missing\n", missing, JOBS);
		return 1;
	}
	printf("reports: %d reports written\n", JOBS);
	return 0;
}

#ifndef NO_MAIN   /* test.c is built with -DNO_MAIN: libmptest supplies main() */
int main(void)
{
	return run_reports();
}
#endif
