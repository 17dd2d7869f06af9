#ifndef REPORT_H
#define REPORT_H
#include <stddef.h>
#include <sys/types.h>
/* Forks a child that writes size bytes into fd[1]; returns its pid. */
pid_t start_report_writer(int fd[2], size_t size);
/* The whole program: run the writer, read its report of size bytes, wait
 * for it; 0, or 1 when the report came short. */
int read_report(size_t size);
#endif
