#ifndef REPORT_H
#define REPORT_H
#include <stddef.h>
#include <sys/types.h>
/* Forks a child that writes size bytes into fd[1]; returns its pid. */
pid_t start_report_writer(int fd[2], size_t size);
#endif
