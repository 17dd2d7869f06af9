/* A checksum tool: a worker process checksums a file and sends the result
 * over a pipe, while the parent shows a progress spinner driven by a
 * SIGALRM timer. The I/O helpers are where the buggy and the fixed program
 * differ. */
#ifndef IO_H
#define IO_H
#include <stddef.h>
#include <sys/types.h>

/* Reads exactly len bytes; 0, or -1 (errno set; EPIPE for an early end). */
int read_full(int fd, void *buf, size_t len);
/* Writes all len bytes; 0, or -1. */
int write_full(int fd, const void *buf, size_t len);
/* Waits for pid; its wait status, or -1. */
int wait_child(pid_t pid);

/* The whole program: start the worker, show the spinner, read the result;
 * 0, or 1 (with a message) on failure. */
int run_checksum(void);

#endif
