/* Fix: flush every stdio stream before fork(), so the child starts with
 * empty buffers and writes only what it prints itself. (A child that must
 * not flush at all ends with _exit().) */
#include <stdio.h>
#include <unistd.h>

#include "regions.h"

pid_t start_region(int r)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0)
		region_worker(r);
	return pid;
}
