/* A sales report: the parent prints a header, then forks one worker per
 * region; each worker prints its region's line and exits. Where the fork
 * happens (start_region) is where the buggy and the fixed program differ. */
#ifndef REGIONS_H
#define REGIONS_H
#include <sys/types.h>

/* Forks the worker for region r; its pid, or -1. */
pid_t start_region(int r);
/* The worker's part: prints region r's line and exits with exit(). */
void region_worker(int r) __attribute__((noreturn));

/* The whole program: the header, a worker per region, the footer; 0, or 1. */
int print_report(void);

#endif
