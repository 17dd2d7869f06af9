/* A service with a metrics thread that logs every millisecond, and event
 * hooks: on every log rotation it runs an external command. How a hook is
 * started (run_hook) is where the buggy and the fixed program differ. */
#ifndef HOOKS_H
#define HOOKS_H
#include <stdio.h>

extern FILE *service_log;   /* shared by every thread */

/* Runs `echo rotated FILE` as the hook for file; its exit status, or -1. */
int run_hook(const char *file);

/* The whole program: the metrics thread, five rotations with a hook each;
 * 0, or 1 when a hook failed. */
int run_service(void);

#endif
