/* Bug: the parser trusts its input — a line without '=' makes strchr()
 * return NULL, and the child dies of SIGSEGV. And the parent waits for its
 * children but never looks at how they ended, so the batch "succeeds". */
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
	*eq = 0;                      /* NULL when the '=' is missing */
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
		if (pid[i] == 0) {
			int rc = convert_file(i);
			fflush(NULL);
			_exit(rc);
		}
	}
	for (int i = 0; i < NFILES; i++)
		while (waitpid(pid[i], NULL, 0) < 0 && errno == EINTR)   /* status? */
			;
	printf("converted %d files\n", NFILES);
	return 0;
}
