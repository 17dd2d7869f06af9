/* The session region: one shared, crash-safe memory area per test.
 *
 * The runner creates it (memfd, MAP_SHARED) before forking the test leader;
 * every process of the test inherits the mapping through fork().  Processes
 * append records with an atomic slot claim, fill the slot, then publish it
 * with a release store of `ready`: a writer SIGKILLed half-way leaves a slot
 * that is never published, never a torn header, so the runner can always
 * read what was finished. */
#ifndef MPT_REGION_H
#define MPT_REGION_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "../plan/rules.h"

#define MPT__REGION_MAGIC 0x6d707472u /* "mptr" */
#define MPT__MAX_RECORDS 64
#define MPT__MAX_PROCS 512
#define MPT__MAX_LOCKS 256
#define MPT__MAX_CARRIED 256

/* A finding written by a process of the test (an assertion, a skip...). */
struct mpt__record {
	atomic_uint ready;   /* 1 once the slot is complete */
	int kind;            /* enum mpt__kind */
	pid_t pid;
	char process[48];    /* logical id, "p0.1" */
	char file[160];
	int line;
	char message[768];
	char detail[1024];   /* where it was made, and the advice; may be empty */
};

/* Process states in the table. */
enum { MPT__PS_RUNNING, MPT__PS_EXITED, MPT__PS_REAPED };

/* One process of the test: added by the child right after fork() (or by the
 * parent for posix_spawn/vfork), updated at exec, exit and reap. */
struct mpt__proc {
	atomic_uint ready;
	pid_t pid;
	pid_t ppid;
	char id[48];
	char prog[32];            /* program name; updated at exec */
	atomic_uint nforks;       /* children started so far: the next id */
	atomic_uint spawning;     /* the number a posix_spawn child takes */
	atomic_int state;         /* MPT__PS_* */
	int status;               /* wait status, once reaped */
	pid_t reaped_by;
	uintptr_t fork_site;      /* return address of fork() in the parent */
	int exited_code;          /* exit(N) as the process itself saw it */
	/* --pipe-capacity below a page: a write the shim holds back because
	 * the emulated pipe is full waits in ppoll(POLLOUT) on the pipe
	 * (framework/preload/inject.c). These say so, for the watchdog to
	 * report that wait as the write it is. emu_tid is claimed last (with
	 * a release store) and cleared when the wait ends; 0: no such wait. */
	atomic_int emu_tid;       /* the thread held back */
	int emu_fd;               /* the pipe's write end */
	int emu_call;             /* MPT__EMU_WRITE or MPT__EMU_WRITEV */
	uint64_t emu_bytes;       /* the byte count the program asked for */
	/* alarm(), ualarm() and setitimer(ITIMER_REAL) as the shim saw them
	 * (framework/preload/proc.c), for the watchdog: /proc does not show
	 * these timers. When the next SIGALRM is due (CLOCK_MONOTONIC ns);
	 * INT64_MAX for a timer that repeats; 0 for none. Kept across exec,
	 * as the timer is; a fork child's entry starts at 0, as its timer. */
	_Atomic int64_t alarm_ns;
};
enum { MPT__EMU_WRITE = 0, MPT__EMU_WRITEV = 1 };

/* A process-shared lock a process of the test holds (pthread mutex or POSIX
 * semaphore). Slots are claimed once and reused by address. */
enum { MPT__LOCK_MUTEX = 1, MPT__LOCK_SEM = 2 };
struct mpt__lock {
	atomic_uint used;         /* 1 once claimed */
	int type;                 /* MPT__LOCK_* */
	uintptr_t addr;           /* address in the shared mapping */
	atomic_int owner;         /* pid holding it, 0 when free */
	int count;                /* semaphores: units taken minus posted */
	char owner_id[48];
	uintptr_t site;           /* return address of the lock call */
};

/* A descriptor without close-on-exec carried into an exec'd program. */
struct mpt__carried {
	atomic_uint ready;
	pid_t pid;                /* the process that exec'd */
	int fd;
	atomic_uint used;         /* the new program used it */
	char target[96];          /* "pipe:[1234]" */
	char prog[32];            /* the program it was carried into */
};

/* Fault injection (--inject, --pipe-capacity, --sched; DESIGN §8). The
 * runner fills in the plan before the leader starts and nobody writes it
 * afterwards; processes append every fault they apply to faults[] (slot
 * claim, then publish with `ready`, as for records). */
#define MPT__MAX_RULES 32
#define MPT__MAX_FAULTS 256
#define MPT__ACTION_SIZE 48
enum { MPT__SCHED_OFF = 0, MPT__SCHED_PERTURB = 1 };
/* A --pipe-capacity below this is emulated by the shim's write wrappers on
 * pipes of one page; from it on, pipes are shrunk with F_SETPIPE_SZ. */
#define MPT__PIPE_EMULATED_BELOW 4096
struct mpt__fault {
	atomic_uint ready;
	pid_t pid;
	uint64_t count;            /* the call count in that process (1 = first) */
	char process[48];          /* logical id */
	char call[MPT__RULE_NAME_SIZE]; /* "read", or "point=NAME" */
	char action[MPT__ACTION_SIZE];  /* "error=EINTR", "short=100", ... */
};
struct mpt__inject {
	uint32_t any;              /* nonzero when any of the below is set */
	uint32_t nrules;
	uint64_t seed;
	uint32_t sched;            /* MPT__SCHED_* */
	int32_t pipe_capacity;     /* bytes, 0: leave pipes alone */
	struct mpt__rule rules[MPT__MAX_RULES];
	char action[MPT__MAX_RULES][MPT__ACTION_SIZE]; /* each rule's ACTION text */
	atomic_uint nfaults;       /* slots claimed, may exceed MAX */
	struct mpt__fault faults[MPT__MAX_FAULTS];
	/* Precomputed with the rules (mpt__plan_load), so that a call no
	 * rule names costs the shim one test of a bit. */
	uint64_t call_mask;        /* bit c: a rule names call c (enum mpt__call) */
	uint8_t rule_call[MPT__MAX_RULES]; /* per rule: the index of its call
					    * in mpt__rule_call_names,
					    * MPT__RULE_NO_CALL for a point */
};
#define MPT__RULE_NO_CALL 0xff
_Static_assert(MPT__RULE_CALLS <= 64, "call_mask has a bit per call");

struct mpt__region {
	uint32_t magic;
	pid_t leader;
	atomic_uint nrecords;        /* slots claimed, may exceed MAX */
	atomic_uint nprocs;
	atomic_uint skipped;         /* MPT_SKIP called in the leader */
	atomic_uint body_done;       /* the body returned normally */
	struct mpt__record records[MPT__MAX_RECORDS];
	struct mpt__proc procs[MPT__MAX_PROCS];
	struct mpt__lock locks[MPT__MAX_LOCKS];
	atomic_uint ncarried;
	struct mpt__carried carried[MPT__MAX_CARRIED];
	struct mpt__inject inject;   /* fault injection (DESIGN §8) */
	/* Per-test resource limits (--max-procs, --max-memory). The runner
	 * sets the limits and live_procs = 1 (the leader) before the leader
	 * starts; the shim's fork wrappers reserve a place in live_procs
	 * before each fork and its wait wrappers give it back at each reap,
	 * so it counts the test's processes not yet reaped, zombies included.
	 * limit_hit goes from 0 to 1 once, in the process that records the
	 * resource-limit finding, and to 2 when the record is published; the
	 * runner then ends the test. */
	uint32_t max_procs;          /* 0: no limit */
	atomic_int live_procs;
	uint64_t max_memory;         /* bytes per process (RLIMIT_AS), 0: none */
	atomic_uint limit_hit;
	/* The finding kinds the test does not report (MPT_ALLOW_* bits: its
	 * .allow and the run's --allow), set by the runner before the leader
	 * starts. The shim records no finding of these kinds: recorded, they
	 * would only take the slots that the findings that count need. */
	uint32_t allow;
};

/* Creates and maps a fresh region; NULL and errno on failure. The memfd is
 * named "mptest-region-<runner pid>-<token>": the name shows in
 * /proc/PID/maps of every process that inherited the mapping, which is how
 * the fallback containment tells which test an orphan belongs to. With
 * fd_out the descriptor stays open (close-on-exec) there, for the leader to
 * carry into exec'd programs; otherwise it is closed. The descriptor is
 * never stored in the region: the test could overwrite it. */
struct mpt__region *mpt__region_new(unsigned long token, int *fd_out);
void mpt__region_free(struct mpt__region *r);
/* Makes a region whose test is over (every process of it gone) ready for
 * the next test. */
void mpt__region_reset(struct mpt__region *r);

/* Claims a record slot; NULL when the region is full. Publish with
 * mpt__record_publish() once every field is written. */
struct mpt__record *mpt__record_claim(struct mpt__region *r);
void mpt__record_publish(struct mpt__record *rec);

/* Records a process; async-signal-safe (used in atfork). Returns its entry
 * or NULL when the table is full. */
struct mpt__proc *mpt__proc_add(struct mpt__region *r, pid_t pid, pid_t ppid,
				const char *id);
/* Claims an entry to fill before the process exists (fork's prepare
 * handler); publish it with ready = 1 once its pid is known. */
struct mpt__proc *mpt__proc_reserve(struct mpt__region *r);
/* The newest entry for pid, or NULL. */
struct mpt__proc *mpt__proc_find(struct mpt__region *r, pid_t pid);
/* The logical id recorded for pid, or NULL. */
const char *mpt__proc_id(const struct mpt__region *r, pid_t pid);
/* Attaches to the region of the test this process belongs to when it was
 * exec'd (MPT_REGION_FD); NULL outside a test. */
struct mpt__region *mpt__region_attach_env(void);

/* The region of the current test, inherited through fork; NULL outside. */
extern struct mpt__region *mpt__current;

/* For the few small variables that every test leader (and the runner,
 * once per test) writes. After fork() each page written costs a
 * copy-on-write fault on both sides; scattered among the library's large
 * static buffers these variables sat on six pages, gathered in one
 * section they share one or two. Zero-initialized variables land in
 * .data this way, which costs their few bytes of file size. */
#define MPT__HOT __attribute__((section(".data.mpt_hot")))

#endif
