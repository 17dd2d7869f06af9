/* A report renderer: for every job the parent creates the job's output file,
 * and a worker process writes the report into it. How the output descriptor
 * reaches the worker is where the buggy and the fixed program differ. */
#ifndef REPORTS_H
#define REPORTS_H

#define JOBS 8

/* Creates dir/report-JOB.txt for writing; its descriptor, or -1. */
int open_output(const char *dir, int job);
/* Writes job's report to out (the worker's part); 0, or -1. */
int render_report(int out, int job);
/* Checks that every report was written, then removes them and dir;
 * the program's exit code. */
int check_outputs(const char *dir);

/* The whole program: render every job's report in a worker, then check
 * them; the program's exit code. */
int run_reports(void);

#endif
