/* Reading a process's state from /proc for the deadlock watchdog. */
#define _GNU_SOURCE
#include "procsample.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <unistd.h>

#include "../core/util.h"

#define MAX_THREADS 256
#define MAX_FDS 4096

/* The fields of a stat line after "(comm)": the comm may hold spaces and
 * parentheses, so parsing starts after the last ')'. */
static int parse_stat(const char *line, char *comm, size_t ncomm, char *state,
		      pid_t *ppid, pid_t *pgrp, uint64_t *ticks)
{
	const char *open = strchr(line, '('), *close = strrchr(line, ')');
	if (!open || !close || close < open)
		return -1;
	if (comm) {
		size_t n = (size_t)(close - open - 1);
		if (n >= ncomm)
			n = ncomm - 1;
		memcpy(comm, open + 1, n);
		comm[n] = 0;
	}
	/* state ppid pgrp session tty tpgid flags minflt cminflt majflt
	 * cmajflt utime stime */
	char st;
	int pp, pg;
	unsigned long long ut, stt;
	if (sscanf(close + 1, " %c %d %d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
		   &st, &pp, &pg, &ut, &stt) != 5)
		return -1;
	*state = st;
	if (ppid)
		*ppid = pp;
	if (pgrp)
		*pgrp = pg;
	if (ticks)
		*ticks = ut + stt;
	return 0;
}

static void sample_thread(pid_t pid, pid_t tid, struct mpt__thread_sample *t)
{
	char path[64], buf[512];
	memset(t, 0, sizeof *t);
	t->tid = tid;
	t->nr = MPT__NR_UNKNOWN;
	snprintf(path, sizeof path, "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	uint64_t ticks = 0;
	if (mpt__read_file(path, buf, sizeof buf) < 0 ||
	    parse_stat(buf, NULL, 0, &t->state, NULL, NULL, &ticks) < 0) {
		t->state = 'X';
		return;
	}
	/* schedstat counts nanoseconds on the CPU; stat only clock ticks, too
	 * coarse to see a process that wakes briefly. */
	snprintf(path, sizeof path, "/proc/%d/task/%d/schedstat", (int)pid, (int)tid);
	unsigned long long ns;
	if (mpt__read_file(path, buf, sizeof buf) > 0 && sscanf(buf, "%llu", &ns) == 1)
		t->run_ns = ns;
	else
		t->run_ns = ticks * (1000000000ULL / (uint64_t)sysconf(_SC_CLK_TCK));
	if (t->state != 'S' && t->state != 'D')
		return;
	snprintf(path, sizeof path, "/proc/%d/task/%d/syscall", (int)pid, (int)tid);
	if (mpt__read_file(path, buf, sizeof buf) <= 0)
		return;
	if (!strncmp(buf, "running", 7)) {
		t->nr = MPT__NR_RUNNING;
		return;
	}
	char *p = buf, *end;
	long nr = strtol(p, &end, 10);
	if (end == p)
		return;
	t->nr = nr;
	p = end;
	for (int i = 0; i < 6 && nr >= 0; i++) {
		t->args[i] = strtoul(p, &end, 16);
		if (end == p)
			break;
		p = end;
	}
}

int mpt__sample_process(pid_t pid, struct mpt__proc_sample *s)
{
	char path[64], buf[1024];
	memset(s, 0, sizeof *s);
	s->pid = pid;
	s->nfds = -1;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (mpt__read_file(path, buf, sizeof buf) < 0 ||
	    parse_stat(buf, s->comm, sizeof s->comm, &s->state, &s->ppid, &s->pgrp,
		       NULL) < 0) {
		s->state = 0;
		return -1;
	}
	if (s->state == 'Z' || s->state == 'X')
		return 0;
	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return 0;
	s->threads = mpt__xcalloc(MAX_THREADS, sizeof *s->threads);
	struct dirent *e;
	while ((e = readdir(d)) && s->nthreads < MAX_THREADS) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		struct mpt__thread_sample *t = &s->threads[s->nthreads];
		sample_thread(pid, (pid_t)atoi(e->d_name), t);
		if (t->state == 'X')
			continue; /* exited between readdir and stat */
		s->run_ns += t->run_ns;
		s->nthreads++;
	}
	closedir(d);
	return 0;
}

/* The access mode a descriptor was opened with. */
static int fdinfo_acc(pid_t pid, int fd)
{
	char path[64], info[512];
	const char *fl;
	unsigned flags;
	snprintf(path, sizeof path, "/proc/%d/fdinfo/%d", (int)pid, fd);
	if (mpt__read_file(path, info, sizeof info) > 0 && (fl = strstr(info, "flags:")) &&
	    sscanf(fl + 6, "%o", &flags) == 1)
		return (int)(flags & O_ACCMODE);
	return O_RDWR;
}

void mpt__sample_fds(struct mpt__proc_sample *s)
{
	char path[64], link[128];
	if (s->nfds >= 0)
		return;
	s->nfds = 0;
	snprintf(path, sizeof path, "/proc/%d/fd", (int)s->pid);
	DIR *d = opendir(path);
	if (!d)
		return;
	size_t cap = 0;
	struct dirent *e;
	while ((e = readdir(d)) && s->nfds < MAX_FDS) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		int fd = atoi(e->d_name);
		snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)s->pid, fd);
		ssize_t n = readlink(path, link, sizeof link - 1);
		if (n < 0)
			continue;
		link[n] = 0;
		struct mpt__fd_sample f = {.fd = fd, .type = MPT__FD_OTHER, .acc = O_RDWR};
		if (sscanf(link, "pipe:[%lu]", &f.ino) == 1) {
			f.type = MPT__FD_PIPE;
			f.acc = fdinfo_acc(s->pid, fd);
		} else if (sscanf(link, "socket:[%lu]", &f.ino) == 1) {
			f.type = MPT__FD_SOCKET;
		} else if (link[0] == '/') {
			struct stat st;
			f.type = MPT__FD_FILE;
			/* A named pipe behaves as a pipe; one that still has a
			 * name can be opened by anybody, at any time. */
			if (stat(path, &st) == 0 && S_ISFIFO(st.st_mode)) {
				f.type = MPT__FD_PIPE;
				f.ino = st.st_ino;
				f.dev = st.st_dev;
				f.named = st.st_nlink > 0 ? 1 : 2;
				f.acc = fdinfo_acc(s->pid, fd);
			}
		}
		if ((size_t)s->nfds == cap) {
			cap = cap ? cap * 2 : 32;
			s->fds = mpt__xrealloc(s->fds, cap * sizeof *s->fds);
		}
		s->fds[s->nfds++] = f;
	}
	closedir(d);
}

void mpt__proc_sample_free(struct mpt__proc_sample *s)
{
	free(s->threads);
	free(s->fds);
	s->threads = NULL;
	s->fds = NULL;
}

const struct mpt__fd_sample *mpt__sample_fd(const struct mpt__proc_sample *s, int fd)
{
	for (int i = 0; i < s->nfds; i++)
		if (s->fds[i].fd == fd)
			return &s->fds[i];
	return NULL;
}

int mpt__pid_alive(pid_t pid)
{
	char path[64], buf[512], st;
	if (pid <= 0)
		return 0;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if (mpt__read_file(path, buf, sizeof buf) < 0 ||
	    parse_stat(buf, NULL, 0, &st, NULL, NULL, NULL) < 0)
		return 0;
	return st != 'Z' && st != 'X';
}

pid_t mpt__tid_tgid(pid_t tid)
{
	char path[64], buf[2048];
	if (tid <= 0)
		return 0;
	snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
	if (mpt__read_file(path, buf, sizeof buf) < 0)
		return 0;
	const char *t = strstr(buf, "\nTgid:");
	return t ? (pid_t)atoi(t + 6) : 0;
}

void mpt__thread_wchan(pid_t pid, pid_t tid, char *buf, size_t n)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/task/%d/wchan", (int)pid, (int)tid);
	if (mpt__read_file(path, buf, n) <= 0 || !strcmp(buf, "0"))
		buf[0] = 0;
	buf[strcspn(buf, "\n")] = 0;
}

int mpt__timer_signal_likely(pid_t pid, uint64_t caught)
{
#define BIT(sig) (1ULL << ((sig) - 1))
	/* Programs that clean up on every fatal signal (sort, for one) catch
	 * SIGALRM along with the rest: that says nothing about a timer. */
	int cleanup = 0;
	static const int fatal[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGPIPE, SIGXCPU};
	for (size_t i = 0; i < sizeof fatal / sizeof *fatal; i++)
		cleanup += (caught & BIT(fatal[i])) != 0;
	if ((caught & BIT(SIGALRM)) && cleanup < 3)
		return 1;
#undef BIT
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/%d/timers", (int)pid);
	return mpt__read_file(path, buf, sizeof buf) > 0;
}

int mpt__read_mem(pid_t pid, uintptr_t addr, void *buf, size_t n)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t r = pread(fd, buf, n, (off_t)addr);
	close(fd);
	return r == (ssize_t)n ? 0 : -1;
}

void mpt__fd_target(pid_t pid, int fd, char *buf, size_t n)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)pid, fd);
	ssize_t r = readlink(path, buf, n - 1);
	if (r < 0)
		snprintf(buf, n, "?");
	else
		buf[r] = 0;
}

int mpt__fd_file_id(pid_t pid, int fd, dev_t *dev, ino_t *ino)
{
	char path[64];
	struct stat st;
	snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)pid, fd);
	if (stat(path, &st) < 0)
		return -1;
	*dev = st.st_dev;
	*ino = st.st_ino;
	return 0;
}

int mpt__pipe_fill(pid_t pid, int fd, long *fill, long *cap)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)pid, fd);
	/* For a pipe this opens the pipe itself as one more reader: there is a
	 * writer (or the waiter would not block), so the open does not wait,
	 * and closing it again wakes nobody. */
	int p = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (p < 0)
		return -1;
	int n = 0;
	int rc = ioctl(p, FIONREAD, &n);
	long c = fcntl(p, F_GETPIPE_SZ);
	close(p);
	if (rc < 0 || c < 0)
		return -1;
	*fill = n;
	*cap = c;
	return 0;
}

pid_t mpt__pidfd_pid(pid_t pid, int fd)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/fdinfo/%d", (int)pid, fd);
	if (mpt__read_file(path, buf, sizeof buf) < 0)
		return 0;
	const char *p = strstr(buf, "\nPid:");
	return p ? (pid_t)atoi(p + 5) : 0;
}

int mpt__epoll_items(pid_t pid, int epfd, struct mpt__epoll_item *items, int max)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/fdinfo/%d", (int)pid, epfd);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	char line[256];
	int n = 0;
	while (n < max && fgets(line, sizeof line, f)) {
		struct mpt__epoll_item it = {0};
		const char *ino;
		if (sscanf(line, "tfd: %d events: %x", &it.tfd, &it.events) != 2)
			continue;
		if ((ino = strstr(line, "ino:")))
			it.ino = strtoul(ino + 4, NULL, 16);
		items[n++] = it;
	}
	fclose(f);
	return n;
}

int mpt__read_file_locks(struct mpt__flock_line **out)
{
	FILE *f = fopen("/proc/locks", "re");
	*out = NULL;
	if (!f)
		return -1;
	char line[256];
	int n = 0, cap = 0;
	while (fgets(line, sizeof line, f)) {
		struct mpt__flock_line l = {0};
		char *p = line, *end;
		l.id = strtol(p, &end, 10);
		if (end == p || *end != ':')
			continue;
		p = end + 1;
		while (*p == ' ')
			p++;
		if (!strncmp(p, "->", 2)) {
			l.waiter = 1;
			p += 2;
		}
		int pid;
		if (sscanf(p, "%11s %*s %*s %d %x:%x:%lu", l.type, &pid, &l.major,
			   &l.minor, &l.ino) != 5)
			continue;
		l.pid = pid;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			*out = mpt__xrealloc(*out, (size_t)cap * sizeof **out);
		}
		(*out)[n++] = l;
	}
	fclose(f);
	return n;
}

int mpt__unix_peer(unsigned long ino, unsigned long *peer)
{
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return -1;
	struct timeval tv = {0, 100000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	struct {
		struct nlmsghdr h;
		struct unix_diag_req r;
	} m;
	memset(&m, 0, sizeof m);
	m.h.nlmsg_len = sizeof m;
	m.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	m.h.nlmsg_flags = NLM_F_REQUEST;
	m.r.sdiag_family = AF_UNIX;
	m.r.udiag_states = ~0u;
	m.r.udiag_ino = (unsigned)ino;
	m.r.udiag_show = UDIAG_SHOW_PEER;
	m.r.udiag_cookie[0] = m.r.udiag_cookie[1] = ~0u; /* no cookie */
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	int rc = -1;
	union {
		char buf[8192];
		struct nlmsghdr h;
	} u;
	if (sendto(fd, &m, sizeof m, 0, (struct sockaddr *)&sa, sizeof sa) < 0)
		goto out;
	ssize_t n = recv(fd, u.buf, sizeof u.buf, 0);
	if (n < (ssize_t)NLMSG_LENGTH(sizeof(struct unix_diag_msg)) ||
	    u.h.nlmsg_type != SOCK_DIAG_BY_FAMILY || u.h.nlmsg_len > (size_t)n)
		goto out;
	struct unix_diag_msg *d = NLMSG_DATA(&u.h);
	struct rtattr *a = (struct rtattr *)(d + 1);
	int len = (int)(u.h.nlmsg_len - NLMSG_LENGTH(sizeof *d));
	for (; RTA_OK(a, len); a = RTA_NEXT(a, len))
		if (a->rta_type == UNIX_DIAG_PEER && RTA_PAYLOAD(a) >= 4) {
			unsigned v;
			memcpy(&v, RTA_DATA(a), sizeof v);
			if (v) {
				*peer = v;
				rc = 0;
			}
		}
out:
	close(fd);
	return rc;
}

/* The next process in the /proc listing d that is not in skip, or 0. */
static pid_t next_other_pid(DIR *d, const pid_t *skip, int nskip)
{
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid_t pid = (pid_t)atoi(e->d_name);
		int mine = 0;
		for (int i = 0; i < nskip && !mine; i++)
			mine = skip[i] == pid;
		if (!mine)
			return pid;
	}
	return 0;
}

void mpt__scan_holders(const pid_t *skip, int nskip, const unsigned long *inos,
		       int n, unsigned *found)
{
	DIR *d = opendir("/proc");
	if (!d)
		return;
	char path[300], link[128], info[512];
	pid_t pid;
	while ((pid = next_other_pid(d, skip, nskip)) > 0) {
		snprintf(path, sizeof path, "/proc/%d/fd", (int)pid);
		DIR *fdd = opendir(path);
		if (!fdd)
			continue;
		struct dirent *fe;
		while ((fe = readdir(fdd))) {
			if (!isdigit((unsigned char)fe->d_name[0]))
				continue;
			snprintf(path, sizeof path, "/proc/%d/fd/%s", (int)pid, fe->d_name);
			ssize_t r = readlink(path, link, sizeof link - 1);
			if (r < 0)
				continue;
			link[r] = 0;
			unsigned long ino;
			int pipe = 0;
			if (sscanf(link, "pipe:[%lu]", &ino) == 1)
				pipe = 1;
			else if (sscanf(link, "socket:[%lu]", &ino) != 1)
				continue;
			for (int i = 0; i < n; i++) {
				if (inos[i] != ino)
					continue;
				unsigned acc = O_RDWR, flags;
				const char *fl;
				snprintf(path, sizeof path, "/proc/%d/fdinfo/%s", (int)pid,
					 fe->d_name);
				if (pipe && mpt__read_file(path, info, sizeof info) > 0 &&
				    (fl = strstr(info, "flags:")) &&
				    sscanf(fl + 6, "%o", &flags) == 1)
					acc = flags & O_ACCMODE;
				found[i] |= acc == O_RDONLY ? 1u : acc == O_WRONLY ? 2u : 3u;
			}
		}
		closedir(fdd);
	}
	closedir(d);
}

int mpt__signal_masks(pid_t pid, uint64_t *caught, uint64_t *ignored)
{
	char path[64], buf[4096];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	*caught = *ignored = 0;
	if (mpt__read_file(path, buf, sizeof buf) <= 0)
		return -1;
	const char *c = strstr(buf, "\nSigCgt:"), *i = strstr(buf, "\nSigIgn:");
	if (c)
		*caught = strtoull(c + 8, NULL, 16);
	if (i)
		*ignored = strtoull(i + 8, NULL, 16);
	return 0;
}

/* Whether a line of /proc/PID/maps maps one of the files. */
static void match_mapping(const char *line, const struct mpt__file_id *files, int n,
			  int *found)
{
	unsigned maj, min;
	unsigned long ino;
	if (sscanf(line, "%*s %*s %*s %x:%x %lu", &maj, &min, &ino) != 3 || ino == 0)
		return;
	for (int i = 0; i < n; i++)
		if (files[i].ino == ino && files[i].major == maj && files[i].minor == min)
			found[i] = 1;
}

void mpt__scan_mappers(const pid_t *skip, int nskip, const struct mpt__file_id *files,
		       int n, int *found)
{
	DIR *d = opendir("/proc");
	if (!d)
		return;
	char path[300], line[1024];
	pid_t pid;
	while ((pid = next_other_pid(d, skip, nskip)) > 0) {
		snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof line, f)) {
			/* Only shared mappings can carry a futex across processes. */
			const char *perm = strchr(line, ' ');
			if (perm && perm[4] == 's')
				match_mapping(line, files, n, found);
			size_t len = strlen(line);
			while (len && line[len - 1] != '\n' && fgets(line, sizeof line, f))
				len = strlen(line);
		}
		fclose(f);
	}
	closedir(d);
}

int mpt__mapping_of(pid_t pid, uintptr_t addr, struct mpt__file_id *id, int *shared)
{
	char path[64], line[1024];
	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	int r = -1;
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, hi, ino;
		char perm[8];
		unsigned maj, min;
		if (sscanf(line, "%lx-%lx %7s %*s %x:%x %lu", &lo, &hi, perm, &maj, &min, &ino) == 6 &&
		    addr >= lo && addr < hi) {
			id->major = maj;
			id->minor = min;
			id->ino = ino;
			*shared = perm[3] == 's';
			/* MAP_SHARED|MAP_ANONYMOUS: only forks of its maker, all
			 * in the tree, can map it. */
			if (strstr(line, " /dev/zero (deleted)"))
				id->ino = 0;
			r = 0;
			break;
		}
		size_t len = strlen(line);
		while (len && line[len - 1] != '\n' && fgets(line, sizeof line, f))
			len = strlen(line);
	}
	fclose(f);
	return r;
}

long mpt__sysv_key(const char *table, int id)
{
	char path[64], line[512];
	snprintf(path, sizeof path, "/proc/sysvipc/%s", table);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	long key = -1, k;
	int i;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "%ld %d", &k, &i) == 2 && i == id) {
			key = k;
			break;
		}
	fclose(f);
	return key;
}
