#define _GNU_SOURCE
#include "region.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct mpt__region *mpt__current MPT__HOT;

struct mpt__region *mpt__region_new(unsigned long token, int *fd_out)
{
	char name[64];
	snprintf(name, sizeof name, "mptest-region-%d-%lu", (int)getpid(), token);
	int fd = memfd_create(name, MFD_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (ftruncate(fd, sizeof(struct mpt__region)) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return NULL;
	}
	void *p = mmap(NULL, sizeof(struct mpt__region), PROT_READ | PROT_WRITE,
		       MAP_SHARED, fd, 0);
	int e = errno;
	if (p == MAP_FAILED || !fd_out)
		close(fd); /* the mapping outlives the descriptor */
	if (p == MAP_FAILED) {
		errno = e;
		return NULL;
	}
	struct mpt__region *r = p;
	r->magic = MPT__REGION_MAGIC;
	if (fd_out)
		*fd_out = fd;
	return r;
}

/* Only what the last test used is cleared: the counters bound each table,
 * so a reused region costs a few cache lines, not a fresh mapping. */
void mpt__region_reset(struct mpt__region *r)
{
	unsigned n = atomic_load(&r->nrecords);
	memset(r->records, 0, sizeof r->records[0] * (n < MPT__MAX_RECORDS ? n : MPT__MAX_RECORDS));
	n = atomic_load(&r->nprocs);
	memset(r->procs, 0, sizeof r->procs[0] * (n < MPT__MAX_PROCS ? n : MPT__MAX_PROCS));
	n = atomic_load(&r->ncarried);
	memset(r->carried, 0, sizeof r->carried[0] * (n < MPT__MAX_CARRIED ? n : MPT__MAX_CARRIED));
	for (int i = 0; i < MPT__MAX_LOCKS; i++)
		if (atomic_load(&r->locks[i].used))
			memset(&r->locks[i], 0, sizeof r->locks[i]);
	n = atomic_load(&r->inject.nfaults);
	memset(r->inject.faults, 0,
	       sizeof r->inject.faults[0] * (n < MPT__MAX_FAULTS ? n : MPT__MAX_FAULTS));
	memset(&r->inject, 0, offsetof(struct mpt__inject, faults));
	r->leader = 0;
	r->allow = 0;
	atomic_store(&r->nrecords, 0);
	atomic_store(&r->nprocs, 0);
	atomic_store(&r->skipped, 0);
	atomic_store(&r->body_done, 0);
	atomic_store(&r->ncarried, 0);
	r->magic = MPT__REGION_MAGIC;
}

void mpt__region_free(struct mpt__region *r)
{
	if (r)
		munmap(r, sizeof *r);
}

struct mpt__region *mpt__region_attach_env(void)
{
	const char *v = getenv("MPT_REGION_FD");
	if (!v || !*v)
		return NULL;
	int fd = atoi(v);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || (size_t)st.st_size != sizeof(struct mpt__region))
		return NULL;
	void *p = mmap(NULL, sizeof(struct mpt__region), PROT_READ | PROT_WRITE,
		       MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return NULL;
	struct mpt__region *r = p;
	if (r->magic != MPT__REGION_MAGIC) {
		munmap(p, sizeof *r);
		return NULL;
	}
	return r;
}

struct mpt__record *mpt__record_claim(struct mpt__region *r)
{
	unsigned i = atomic_fetch_add(&r->nrecords, 1);
	if (i >= MPT__MAX_RECORDS)
		return NULL;
	return &r->records[i];
}

void mpt__record_publish(struct mpt__record *rec)
{
	atomic_store_explicit(&rec->ready, 1, memory_order_release);
}

static void copy(char *dst, size_t n, const char *src)
{
	size_t i = 0;
	for (; src && src[i] && i + 1 < n; i++)
		dst[i] = src[i];
	dst[i] = 0;
}

struct mpt__proc *mpt__proc_add(struct mpt__region *r, pid_t pid, pid_t ppid,
				const char *id)
{
	unsigned i = atomic_fetch_add(&r->nprocs, 1);
	if (i >= MPT__MAX_PROCS)
		return NULL;
	struct mpt__proc *p = &r->procs[i];
	p->pid = pid;
	p->ppid = ppid;
	copy(p->id, sizeof p->id, id);
	atomic_store_explicit(&p->ready, 1, memory_order_release);
	return p;
}

struct mpt__proc *mpt__proc_reserve(struct mpt__region *r)
{
	unsigned i = atomic_fetch_add(&r->nprocs, 1);
	return i < MPT__MAX_PROCS ? &r->procs[i] : NULL;
}

struct mpt__proc *mpt__proc_find(struct mpt__region *r, pid_t pid)
{
	unsigned n = atomic_load(&r->nprocs);
	if (n > MPT__MAX_PROCS)
		n = MPT__MAX_PROCS;
	/* The newest entry wins: pids can be reused within a test. */
	for (unsigned i = n; i-- > 0;) {
		struct mpt__proc *p = &r->procs[i];
		if (atomic_load_explicit(&p->ready, memory_order_acquire) &&
		    p->pid == pid)
			return p;
	}
	return NULL;
}

const char *mpt__proc_id(const struct mpt__region *r, pid_t pid)
{
	struct mpt__proc *p = mpt__proc_find((struct mpt__region *)r, pid);
	return p ? p->id : NULL;
}
