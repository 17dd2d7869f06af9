/* A leaderboard printer that pipes its lines through sort(1). How the
 * sort child is started (start_sort) is where the buggy and the fixed
 * program differ. */
#ifndef SORTER_H
#define SORTER_H
#include <sys/types.h>

/* Starts `sort -t: -k2,2nr`, its input the read end of a new pipe, its
 * output our stdout; returns its pid and sets *in to the pipe's write end. */
pid_t start_sort(int *in);

/* The whole program: pipe the leaderboard through sort and wait for it;
 * 0, or 1 when sort failed. */
int print_leaderboard(void);

#endif
