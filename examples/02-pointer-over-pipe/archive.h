/* A log archiver: a worker process, started early, compresses the files the
 * parent sends it one job at a time over a pipe. What a job message holds
 * (send_job, recv_job) is where the buggy and the fixed program differ. */
#ifndef ARCHIVE_H
#define ARCHIVE_H

struct job {
	int id;
	const char *path;   /* the file to archive */
};

/* Sends one job over fd; 0, or -1 on error. */
int send_job(int fd, const struct job *job);
/* Receives one job from fd into *job (valid until the next call):
 * 1, 0 at end of file, or -1 on error. */
int recv_job(int fd, struct job *job);

/* The whole program: start the worker, send it every job, wait for it;
 * 0, or 1 when a job or the worker failed. */
int run_archiver(void);

#endif
