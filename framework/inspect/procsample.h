/* What the deadlock watchdog reads about a process, all from /proc (and one
 * sock_diag query for socket peers): its threads, the system call each is
 * blocked in and with which arguments, CPU time, descriptors, the file
 * locks of the system, and fills of pipes. Nothing here stops, signals or
 * attaches to the process, and nothing ever reads from one of its pipes. */
#ifndef MPT_PROCSAMPLE_H
#define MPT_PROCSAMPLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* mpt__thread_sample.nr when the thread is not inside a system call. */
#define MPT__NR_RUNNING (-2L)  /* on a CPU ("running" in /proc/PID/syscall) */
#define MPT__NR_NONE (-1L)     /* blocked outside a system call (a fault) */
#define MPT__NR_UNKNOWN (-3L)  /* /proc/PID/syscall could not be read */

struct mpt__thread_sample {
	pid_t tid;
	char state;              /* R, S, D, T, t, Z, X... from stat */
	uint64_t run_ns;         /* CPU time so far */
	long nr;                 /* system call number, or MPT__NR_* */
	unsigned long args[6];   /* its arguments, as the kernel shows them */
};

enum { MPT__FD_OTHER, MPT__FD_PIPE, MPT__FD_SOCKET, MPT__FD_FILE };

struct mpt__fd_sample {
	int fd;
	int type;                /* MPT__FD_* */
	int acc;                 /* O_RDONLY, O_WRONLY or O_RDWR (pipes only) */
	unsigned long ino;       /* pipes and sockets: the inode of the link */
	unsigned long dev;       /* named pipes: the device (0 for pipe:[...]) */
	int named;               /* a FIFO: 1 while it still has a name, 2 unlinked */
};

struct mpt__proc_sample {
	pid_t pid, ppid, pgrp;
	char state;              /* of the process; 0 when it is gone */
	char comm[32];
	uint64_t run_ns;         /* all threads */
	int nthreads;
	struct mpt__thread_sample *threads;
	int nfds;                /* -1 until mpt__sample_fds() */
	struct mpt__fd_sample *fds;
};

/* Samples a process and each of its threads. Returns 0, or -1 when it is
 * gone (s->state is then 0). Free with mpt__proc_sample_free(). */
int mpt__sample_process(pid_t pid, struct mpt__proc_sample *s);
/* Reads the process's descriptor table into s->fds. */
void mpt__sample_fds(struct mpt__proc_sample *s);
void mpt__proc_sample_free(struct mpt__proc_sample *s);
/* The entry for fd, or NULL. */
const struct mpt__fd_sample *mpt__sample_fd(const struct mpt__proc_sample *s,
					    int fd);

/* Whether pid exists and is not a zombie. */
int mpt__pid_alive(pid_t pid);
/* The process a thread id belongs to (its tgid), or 0. */
pid_t mpt__tid_tgid(pid_t tid);

/* Whether a timer might interrupt pid's wait, given its SigCgt mask
 * (mpt__signal_masks): it catches SIGALRM (alarm() and setitimer(), which
 * /proc does not show, are then likely in use; unless it catches most
 * fatal signals alike, as cleanup handlers do) or has a POSIX timer
 * (/proc/PID/timers). */
int mpt__timer_signal_likely(pid_t pid, uint64_t caught);

/* Where a thread sleeps in the kernel ("anon_pipe_write"); empty when
 * unknown. */
void mpt__thread_wchan(pid_t pid, pid_t tid, char *buf, size_t n);

/* Reads n bytes of pid's memory at addr through /proc/PID/mem. Returns 0
 * or -1. */
int mpt__read_mem(pid_t pid, uintptr_t addr, void *buf, size_t n);
/* What fd of pid points to ("pipe:[123]", "/tmp/x"); "?" on failure. */
void mpt__fd_target(pid_t pid, int fd, char *buf, size_t n);
/* The device and inode of the file fd of pid points to; 0 or -1. */
int mpt__fd_file_id(pid_t pid, int fd, dev_t *dev, ino_t *ino);
/* How many bytes the pipe behind fd of pid holds, and how many it can
 * hold: opens /proc/PID/fd/N itself (O_RDONLY|O_NONBLOCK), asks FIONREAD
 * and F_GETPIPE_SZ, and closes it; never reads. 0 or -1. */
int mpt__pipe_fill(pid_t pid, int fd, long *fill, long *cap);
/* The process a pidfd of pid refers to, or 0. */
pid_t mpt__pidfd_pid(pid_t pid, int fd);

/* The descriptors an epoll instance of pid watches. */
struct mpt__epoll_item {
	int tfd;
	unsigned events;
	unsigned long ino;
};
int mpt__epoll_items(pid_t pid, int epfd, struct mpt__epoll_item *items,
		     int max);

/* One line of /proc/locks. */
struct mpt__flock_line {
	long id;                 /* the lock's number; its waiters share it */
	int waiter;              /* a "->" line: a request blocked on lock id */
	char type[12];           /* FLOCK, POSIX, OFDLCK... */
	pid_t pid;               /* -1 for OFD locks */
	unsigned major, minor;
	unsigned long ino;
};
/* Reads /proc/locks; returns the number of lines (*out malloc'd) or -1. */
int mpt__read_file_locks(struct mpt__flock_line **out);

/* The inode of the peer of a connected Unix socket (sock_diag); 0 or -1
 * when unknown (not a Unix socket, not connected, no unix_diag). */
int mpt__unix_peer(unsigned long ino, unsigned long *peer);

/* Looks for holders of the given pipe and socket inodes among the
 * processes of the system that are not in skip[]. For each inode sets
 * found[i] bits: 1 = a holder with read access, 2 = with write access. */
void mpt__scan_holders(const pid_t *skip, int nskip, const unsigned long *inos,
		       int n, unsigned *found);

/* The signals pid catches (SigCgt) and ignores (SigIgn), bit sig-1 for
 * each. 0, or -1 when it is gone. */
int mpt__signal_masks(pid_t pid, uint64_t *caught, uint64_t *ignored);

/* A file by device and inode, as /proc/PID/maps shows it. */
struct mpt__file_id {
	unsigned major, minor;
	unsigned long ino;
};
/* The mapping of pid that holds addr: the file behind it (ino 0 for an
 * anonymous one, MAP_SHARED|MAP_ANONYMOUS included) and whether it is
 * shared. 0, or -1 when not found. */
int mpt__mapping_of(pid_t pid, uintptr_t addr, struct mpt__file_id *id, int *shared);
/* Looks for processes of the system not in skip[] that map one of the
 * files shared; sets found[i] for each file some such process maps. Reads
 * every /proc/PID/maps: only for a would-be verdict. */
void mpt__scan_mappers(const pid_t *skip, int nskip, const struct mpt__file_id *files,
		       int n, int *found);
/* The key of a System V IPC object by its id, from /proc/sysvipc/TABLE
 * ("sem", "msg"); -1 when not found. */
long mpt__sysv_key(const char *table, int id);

#endif
