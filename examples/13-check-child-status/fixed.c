/* Fix: check how every child ended — exit status and signal — and act on
 * it; and the crash it would have reported is fixed at its source: the
 * parser rejects a line without '=' instead of dereferencing NULL, the
 * child exits 2 with a message, and the parent skips that file, says so,
 * and converts the rest. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "convert.h"

static char *trim(char *s)
{
	while (*s == ' ')
		s++;
	size_t n = strlen(s);
	while (n && s[n - 1] == ' ')
		s[--n] = 0;
	return s;
}

int parse_line(char *line, char **key, char **value)
{
	char *eq = strchr(line, '=');
	if (!eq)
		return -1;
	*eq = 0;
	*key = trim(line);
	*value = trim(eq + 1);
	return 0;
}

int convert_all(void)
{
	pid_t pid[NFILES];
	for (int i = 0; i < NFILES; i++) {
		fflush(NULL);
		pid[i] = fork();
		if (pid[i] < 0) {
			perror("fork");
			return 1;
		}
		if (pid[i] == 0) {
			int rc = convert_file(i);
			fflush(NULL);
			_exit(rc);
		}
	}
	int converted = 0, crashed = 0;
	for (int i = 0; i < NFILES; i++) {
		int st;
		while (waitpid(pid[i], &st, 0) < 0 && errno == EINTR)
			;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			converted++;
		else if (WIFEXITED(st))
			fprintf(stderr, "convert: file %d skipped (bad input)\n", i + 1);
		else {
			fprintf(stderr, "convert: file %d: the converter died of signal %d\n",
				i + 1, WTERMSIG(st));
			crashed++;
		}
	}
	printf("converted %d of %d files\n", converted, NFILES);
	return crashed ? 1 : 0;
}
