/* Stack dumps of stuck processes, for the deadlock report. They attach
 * with ptrace (through eu-stack or gdb), which can end the very wait being
 * reported: take them only after the verdict. */
#ifndef MPT_STACKS_H
#define MPT_STACKS_H

#include <stdint.h>
#include <sys/types.h>

struct mpt__buf;

/* Appends to b, for each pids[i], a heading (titles[i]) and its stack,
 * indented; runs one eu-stack (or gdb) per process at once and gives them
 * budget_ns in all before killing the rest. Says in one line when neither
 * tool is installed. Leaves every process of pids stopped (SIGSTOP): the
 * caller kills them next. */
void mpt__stacks_append(struct mpt__buf *b, const pid_t *pids,
			const char *const *titles, int n, int64_t budget_ns);

#endif
