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

#define MPT__REGION_MAGIC 0x6d707472u /* "mptr" */
#define MPT__MAX_RECORDS 64
#define MPT__MAX_PROCS 512

/* A finding written by a process of the test (an assertion, a skip...). */
struct mpt__record {
	atomic_uint ready;   /* 1 once the slot is complete */
	int kind;            /* enum mpt__kind */
	pid_t pid;
	char process[48];    /* logical id, "p0.1" */
	char file[160];
	int line;
	char message[768];
};

/* One process of the test, written by the child right after fork(). */
struct mpt__proc {
	atomic_uint ready;
	pid_t pid;
	pid_t ppid;
	char id[48];
};

struct mpt__region {
	uint32_t magic;
	pid_t leader;
	atomic_uint nrecords;        /* slots claimed, may exceed MAX */
	atomic_uint nprocs;
	atomic_uint skipped;         /* MPT_SKIP called in the leader */
	atomic_uint body_done;       /* the body returned normally */
	struct mpt__record records[MPT__MAX_RECORDS];
	struct mpt__proc procs[MPT__MAX_PROCS];
};

/* Creates and maps a fresh region; NULL and errno on failure. The memfd is
 * named "mptest-region-<runner pid>-<token>": the name shows in
 * /proc/PID/maps of every process that inherited the mapping, which is how
 * the fallback containment tells which test an orphan belongs to. */
struct mpt__region *mpt__region_new(unsigned long token);
void mpt__region_free(struct mpt__region *r);

/* Claims a record slot; NULL when the region is full. Publish with
 * mpt__record_publish() once every field is written. */
struct mpt__record *mpt__record_claim(struct mpt__region *r);
void mpt__record_publish(struct mpt__record *rec);

/* Records the calling process; async-signal-safe (used in atfork). */
void mpt__proc_add(struct mpt__region *r, pid_t pid, pid_t ppid,
		   const char *id);
/* The logical id recorded for pid, or NULL. */
const char *mpt__proc_id(const struct mpt__region *r, pid_t pid);

/* The region of the current test, inherited through fork; NULL outside. */
extern struct mpt__region *mpt__current;

#endif
