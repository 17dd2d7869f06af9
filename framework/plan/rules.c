/* Fault-injection rules: the parser, the canonical text and the decision.
 * Everything here is a pure function of its arguments; the tables are
 * constant. */
#define _GNU_SOURCE
#include "rules.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../core/util.h"

/* ---- tables -------------------------------------------------------------- */

/* The calls a rule can aim at: exactly those whose wrapper in the shim
 * counts and asks (mpt__rule_call_names[] below has the same names in the
 * shim's order), and the errno values each can fail with according to its
 * man page (Linux man-pages 6.x, POSIX for the pthread functions), most
 * useful to inject first. EWOULDBLOCK, EDEADLOCK and
 * ENOTSUP are accepted as the other names of EAGAIN, EDEADLK and
 * EOPNOTSUPP. */
#define CALL_SHORT 1	/* transfers bytes: short=BYTES applies */

static const struct call {
	const char *name;
	unsigned flags;
	const char *errnos;	/* space-separated names */
} calls[] = {
#define READ_ERRS "EINTR EAGAIN EIO EBADF EFAULT EINVAL EISDIR"
#define WRITE_ERRS "EINTR EAGAIN ENOSPC EPIPE EIO EDQUOT EFBIG EBADF " \
	"EDESTADDRREQ EFAULT EINVAL EPERM"
#define SEEK_ERRS " ESPIPE ENXIO EOVERFLOW"
#define SEND_ERRS "EINTR EAGAIN EPIPE ECONNRESET ENOBUFS ENOMEM EMSGSIZE " \
	"ENOTCONN EACCES EALREADY EBADF EDESTADDRREQ EFAULT EINVAL EISCONN " \
	"ENOTSOCK EOPNOTSUPP"
#define RECV_ERRS "EINTR EAGAIN ECONNREFUSED ENOMEM ENOTCONN EBADF EFAULT " \
	"EINVAL ENOTSOCK"
#define OPEN_ERRS "EINTR EMFILE ENFILE ENOENT EACCES ENOSPC EDQUOT EEXIST " \
	"EISDIR ENOTDIR ELOOP ENAMETOOLONG ENOMEM EAGAIN EBUSY EFAULT EFBIG " \
	"EINVAL ENODEV ENXIO EOPNOTSUPP EOVERFLOW EPERM EROFS ETXTBSY"
#define ACCEPT_ERRS "EINTR EAGAIN ECONNABORTED EMFILE ENFILE ENOBUFS ENOMEM " \
	"EPERM EPROTO EBADF EFAULT EINVAL ENOTSOCK EOPNOTSUPP"
#define MUTEX_ERRS "EOWNERDEAD ENOTRECOVERABLE EDEADLK EAGAIN EINVAL"
#define FORK_ERRS "EAGAIN ENOMEM ENOSYS"
	{ "read", CALL_SHORT, READ_ERRS },
	{ "readv", CALL_SHORT, READ_ERRS },
	{ "pread", CALL_SHORT, READ_ERRS SEEK_ERRS },
	{ "write", CALL_SHORT, WRITE_ERRS },
	{ "writev", CALL_SHORT, WRITE_ERRS },
	{ "pwrite", CALL_SHORT, WRITE_ERRS SEEK_ERRS },
	{ "send", CALL_SHORT, SEND_ERRS },
	{ "recv", CALL_SHORT, RECV_ERRS },
	{ "fork", 0, FORK_ERRS },
	{ "wait", 0, "EINTR ECHILD" },
	{ "wait3", 0, "EINTR ECHILD EINVAL" },
	{ "wait4", 0, "EINTR ECHILD EINVAL" },
	{ "waitpid", 0, "EINTR ECHILD EINVAL ESRCH" },
	{ "waitid", 0, "EINTR ECHILD EINVAL EAGAIN" },
	{ "pipe", 0, "EMFILE ENFILE EFAULT" },
	{ "pipe2", 0, "EMFILE ENFILE EFAULT EINVAL ENOPKG" },
	{ "open", 0, OPEN_ERRS " EBADF" },
	/* close(2): ENOSPC and EDQUOT come at close on NFS. */
	{ "close", 0, "EINTR EIO ENOSPC EDQUOT EBADF" },
	{ "dup", 0, "EMFILE EBADF" },
	{ "dup2", 0, "EINTR EBUSY EMFILE EBADF" },
	{ "dup3", 0, "EINTR EBUSY EMFILE EBADF EINVAL" },
	{ "socket", 0, "EMFILE ENFILE ENOBUFS ENOMEM EACCES EAFNOSUPPORT "
		       "EINVAL EPROTONOSUPPORT" },
	{ "connect", 0, "EINTR EAGAIN ECONNREFUSED ETIMEDOUT ENETUNREACH "
			"EINPROGRESS EALREADY EACCES EPERM EADDRINUSE "
			"EADDRNOTAVAIL EAFNOSUPPORT EBADF EFAULT EISCONN "
			"ENOTSOCK EPROTOTYPE" },
	{ "accept", 0, ACCEPT_ERRS },
	{ "pthread_mutex_lock", 0, MUTEX_ERRS },
	{ "pthread_mutex_trylock", 0, "EBUSY " MUTEX_ERRS },
	{ "pthread_mutex_timedlock", 0, "ETIMEDOUT " MUTEX_ERRS },
	{ "sem_wait", 0, "EINTR EINVAL" },
	{ "sem_trywait", 0, "EAGAIN EINTR EINVAL" },
	{ "sem_timedwait", 0, "ETIMEDOUT EINTR EINVAL" },
	{ "malloc", 0, "ENOMEM" },
	{ "calloc", 0, "ENOMEM" },
	{ "realloc", 0, "ENOMEM" },
};

const char *const mpt__rule_call_names[MPT__RULE_CALLS] = {
	"read", "write", "fork", "waitpid", "wait4", "pipe", "pipe2", "open",
	"close", "connect", "accept", "pthread_mutex_lock", "sem_wait",
	"readv", "writev", "pread", "pwrite", "send", "recv", "socket", "dup",
	"dup2", "dup3", "wait", "wait3", "waitid", "pthread_mutex_trylock",
	"pthread_mutex_timedlock", "sem_trywait", "sem_timedwait", "malloc",
	"calloc", "realloc",
};
_Static_assert(sizeof calls / sizeof calls[0] == MPT__RULE_CALLS,
	       "calls[] and mpt__rule_call_names[] name the same calls");

int mpt__rule_call_index(const char *name)
{
	for (int i = 0; name && i < MPT__RULE_CALLS; i++)
		if (!strcmp(name, mpt__rule_call_names[i]))
			return i;
	return -1;
}

/* Functions counted under another call's name (their wrapper asks about
 * that call), so a rule names what it matches: "sendto" is refused with a
 * pointer to "send", which counts send, sendto and sendmsg. */
static const struct alias {
	const char *name, *counted_as;
} aliases[] = {
	{ "sendto", "send" }, { "sendmsg", "send" },
	{ "recvfrom", "recv" }, { "recvmsg", "recv" },
	{ "pread64", "pread" }, { "pwrite64", "pwrite" },
	{ "openat", "open" }, { "open64", "open" }, { "openat64", "open" },
	{ "creat", "open" }, { "creat64", "open" },
	{ "accept4", "accept" },
	{ "pthread_mutex_clocklock", "pthread_mutex_timedlock" },
	{ "sem_clockwait", "sem_timedwait" },
};

#define E(x) { #x, x }
static const struct errname {
	const char *name;
	int value;
} errnames[] = {
	E(E2BIG), E(EACCES), E(EADDRINUSE), E(EADDRNOTAVAIL), E(EAFNOSUPPORT),
	E(EAGAIN), E(EALREADY), E(EBADF), E(EBUSY), E(ECHILD),
	E(ECONNABORTED), E(ECONNREFUSED), E(ECONNRESET), E(EDEADLK),
	E(EDESTADDRREQ), E(EDQUOT), E(EEXIST), E(EFAULT), E(EFBIG),
	E(EINPROGRESS), E(EINTR), E(EINVAL), E(EIO), E(EISCONN), E(EISDIR),
	E(ELIBBAD), E(ELOOP), E(EMFILE), E(EMSGSIZE), E(ENAMETOOLONG),
	E(ENETUNREACH), E(ENFILE), E(ENOBUFS), E(ENODEV), E(ENOENT),
	E(ENOEXEC), E(ENOLCK), E(ENOMEM), E(ENOPKG), E(ENOSPC), E(ENOSYS),
	E(ENOTCONN), E(ENOTDIR), E(ENOTRECOVERABLE), E(ENOTSOCK), E(ENXIO),
	E(EOPNOTSUPP), E(EOVERFLOW), E(EOWNERDEAD), E(EPERM), E(EPIPE),
	E(EPROTO), E(EPROTONOSUPPORT), E(EPROTOTYPE), E(EROFS), E(ESPIPE),
	E(ESRCH), E(ETIMEDOUT), E(ETXTBSY), E(EUSERS),
	/* Other names of the same values; the first name above is the one
	 * printed. */
	E(EWOULDBLOCK), E(EDEADLOCK), E(ENOTSUP),
};

static const struct signame {
	const char *name;
	int value;
} signames[] = {
#define S(x) { #x, x }
	S(SIGHUP), S(SIGINT), S(SIGQUIT), S(SIGILL), S(SIGTRAP), S(SIGABRT),
	S(SIGBUS), S(SIGFPE), S(SIGKILL), S(SIGUSR1), S(SIGSEGV), S(SIGUSR2),
	S(SIGPIPE), S(SIGALRM), S(SIGTERM), S(SIGCHLD), S(SIGCONT),
	S(SIGSTOP), S(SIGTSTP), S(SIGTTIN), S(SIGTTOU), S(SIGURG), S(SIGXCPU),
	S(SIGXFSZ), S(SIGVTALRM), S(SIGPROF), S(SIGWINCH), S(SIGIO), S(SIGPWR),
	S(SIGSYS),
#ifdef SIGSTKFLT
	S(SIGSTKFLT),
#endif
	/* Other names of the same signals; the first name is printed. */
	S(SIGIOT), S(SIGPOLL), S(SIGCLD),
};

#define SIG_MAX 64
#define PPB 1000000000u
#define MAX_TEXT 512	/* longest rule accepted */
#define MAX_DELAY_NS 1000000000000000000LL	/* mpt__parse_duration's */

static const char grammar[] = "TARGET:ACTION[:WHEN...][@PROCESS]";
static const char actions[] =
	"error=ERRNO, short=BYTES, delay=DURATION, kill[=SIGNAL] or signal=SIGNAL";
static const char whens[] = "nth=N, every=K, after=N or p=PROBABILITY";
static const char processes[] = "p0, p0.1, ..., exe=NAME or children";

/* ---- small helpers -------------------------------------------------------- */

/* A piece of the rule text: not NUL-terminated. */
struct tok {
	const char *p;
	size_t n;
};

static int tok_is(struct tok t, const char *s)
{
	return strlen(s) == t.n && memcmp(t.p, s, t.n) == 0;
}

/* Splits "key=value": 1 if there is an '=', with *k and *v set. */
static int tok_split(struct tok t, struct tok *k, struct tok *v)
{
	const char *eq = memchr(t.p, '=', t.n);
	if (!eq) {
		*k = t;
		v->p = t.p + t.n;
		v->n = 0;
		return 0;
	}
	k->p = t.p;
	k->n = (size_t)(eq - t.p);
	v->p = eq + 1;
	v->n = t.n - k->n - 1;
	return 1;
}

/* Copies a token into a NUL-terminated buffer of MAX_TEXT + 1. */
static const char *tok_str(struct tok t, char *buf)
{
	memcpy(buf, t.p, t.n);
	buf[t.n] = 0;
	return buf;
}

static const struct call *find_call(struct tok t)
{
	for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
		if (tok_is(t, calls[i].name))
			return &calls[i];
	return NULL;
}

static const struct call *find_call_str(const char *name)
{
	struct tok t = { name, strnlen(name, MPT__RULE_NAME_SIZE) };
	return find_call(t);
}

/* Whether the space-separated list holds the word. */
static int list_has(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; *p;) {
		const char *end = strchr(p, ' ');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == n && memcmp(p, word, n) == 0)
			return 1;
		p += len;
		while (*p == ' ')
			p++;
	}
	return 0;
}

static const struct errname *find_errno(struct tok t)
{
	for (size_t i = 0; i < sizeof errnames / sizeof errnames[0]; i++)
		if (tok_is(t, errnames[i].name))
			return &errnames[i];
	return NULL;
}

/* The printed name of an errno value: the first entry with that value. */
static const char *errno_name(int value)
{
	for (size_t i = 0; i < sizeof errnames / sizeof errnames[0]; i++)
		if (errnames[i].value == value)
			return errnames[i].name;
	return NULL;
}

/* Whether name is an errno the C library knows, though no call here can
 * fail with it. */
static int known_errno(const char *name)
{
	for (int e = 1; e < 256; e++) {	/* Linux errnos end at 133 */
		const char *n = strerrorname_np(e);
		if (n && !strcmp(n, name))
			return 1;
	}
	return 0;
}

/* Whether the call can fail with errno value e. */
static int call_can_fail(const struct call *c, int e)
{
	for (size_t i = 0; i < sizeof errnames / sizeof errnames[0]; i++)
		if (errnames[i].value == e && list_has(c->errnos, errnames[i].name))
			return 1;
	return 0;
}

static const char *signal_name(int sig)
{
	for (size_t i = 0; i < sizeof signames / sizeof signames[0]; i++)
		if (signames[i].value == sig)
			return signames[i].name;
	return NULL;
}

/* Signals whose default action neither ends the process nor dumps core:
 * kill= with one of them would not kill. */
static int signal_kills(int sig)
{
	switch (sig) {
	case SIGCHLD: case SIGCONT: case SIGURG: case SIGWINCH:
	case SIGSTOP: case SIGTSTP: case SIGTTIN: case SIGTTOU:
		return 0;
	}
	return 1;
}

/* A signal: a symbolic name or a number 1..64; 0 or -1. */
static int parse_signal(struct tok t, int *sig)
{
	for (size_t i = 0; i < sizeof signames / sizeof signames[0]; i++)
		if (tok_is(t, signames[i].name)) {
			*sig = signames[i].value;
			return 0;
		}
	char buf[MAX_TEXT + 1];
	unsigned long long v;
	if (t.n > 2 || mpt__parse_uint(tok_str(t, buf), 1, SIG_MAX, &v))
		return -1;
	*sig = (int)v;
	return 0;
}

/* A probability "0.2", "1", "1.0", "0.000001": 0 < p <= 1 with at most
 * nine significant decimals, in parts per billion; 0 or -1. */
static int parse_probability(struct tok t, uint32_t *ppb)
{
	size_t i = 0;
	unsigned whole = 0;
	if (!t.n || t.p[0] < '0' || t.p[0] > '9')
		return -1;
	for (; i < t.n && t.p[i] >= '0' && t.p[i] <= '9'; i++) {
		whole = whole * 10 + (unsigned)(t.p[i] - '0');
		if (whole > 1)
			return -1;
	}
	uint64_t v = (uint64_t)whole * PPB;
	if (i < t.n) {
		if (t.p[i++] != '.' || i == t.n)
			return -1;
		uint64_t scale = PPB / 10;
		for (; i < t.n; i++) {
			if (t.p[i] < '0' || t.p[i] > '9')
				return -1;
			unsigned d = (unsigned)(t.p[i] - '0');
			if (scale)
				v += d * scale;
			else if (d)
				return -1;	/* finer than 1e-9 */
			scale /= 10;
		}
	}
	if (v == 0 || v > PPB)
		return -1;
	*ppb = (uint32_t)v;
	return 0;
}

/* A logical id: "p0" followed by any number of ".N", N >= 1 without
 * leading zeros. */
static int valid_logical_id(struct tok t)
{
	if (t.n < 2 || t.p[0] != 'p' || t.p[1] != '0')
		return 0;
	size_t i = 2;
	while (i < t.n) {
		if (t.p[i++] != '.' || i == t.n || t.p[i] < '1' || t.p[i] > '9')
			return 0;
		while (i < t.n && t.p[i] >= '0' && t.p[i] <= '9')
			i++;
	}
	return 1;
}

static int point_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

/* Program names: printable, no space, no '/' (the rule names a program,
 * not a path) and no '@'. */
static int exe_char(char c)
{
	return c > ' ' && c < 0x7f && c != '/' && c != '@';
}

/* ---- error messages --------------------------------------------------- */

struct msg {
	char *p;
	size_t cap, len;
};

static void msg_add(struct msg *m, const char *s, size_t n)
{
	for (size_t i = 0; i < n && m->len + 1 < m->cap; i++)
		m->p[m->len++] = s[i];
	if (m->cap)
		m->p[m->len] = 0;
}

static void msg_printf(struct msg *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void msg_printf(struct msg *m, const char *fmt, ...)
{
	char buf[MPT__RULE_TEXT_SIZE];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n > 0)
		msg_add(m, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* Adds user text, at most max bytes of output for it, with anything
 * unprintable escaped so that the message stays on one line. */
static void msg_quote(struct msg *m, const char *s, size_t n, size_t max)
{
	size_t out = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[8];
		size_t len = 1;
		if (c < 0x20 || c >= 0x7f || c == '\\' || c == '"')
			len = (size_t)snprintf(esc, sizeof esc, "\\x%02x", c);
		else
			esc[0] = (char)c;
		if (out + len > max) {
			msg_add(m, "...", 3);
			break;
		}
		msg_add(m, esc, len);
		out += len;
	}
}

struct ctx {
	const char *text;
	size_t len;
	struct msg m;
};

/* Starts the message: `RULE — WHAT "TOKEN" (expected `; the caller adds
 * what was expected and the closing parenthesis with fail_end(). */
static void fail_begin(struct ctx *c, const char *what, struct tok bad)
{
	c->m.len = 0;
	if (c->m.cap)
		c->m.p[0] = 0;
	msg_quote(&c->m, c->text, c->len, 200);
	msg_printf(&c->m, " — %s \"", what);
	msg_quote(&c->m, bad.p, bad.n, 128);
	msg_add(&c->m, "\" (expected ", 12);
}

static int fail(struct ctx *c, const char *what, struct tok bad,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail(struct ctx *c, const char *what, struct tok bad,
		const char *fmt, ...)
{
	char buf[MPT__RULE_TEXT_SIZE];
	fail_begin(c, what, bad);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	msg_add(&c->m, buf, strlen(buf));
	msg_add(&c->m, ")", 1);
	return -1;
}

/* The call's errno list, comma-separated. */
static void add_errno_list(struct msg *m, const struct call *cl)
{
	for (const char *p = cl->errnos; *p;) {
		size_t len = strcspn(p, " ");
		if (p != cl->errnos)
			msg_add(m, ", ", 2);
		msg_add(m, p, len);
		p += len;
		p += strspn(p, " ");
	}
}

/* what is "unknown errno" or NULL for "CALL cannot fail with". */
static int fail_errno(struct ctx *c, const char *what, struct tok bad,
		      const struct call *cl)
{
	char buf[96];
	if (!what) {
		snprintf(buf, sizeof buf, "%s cannot fail with", cl->name);
		what = buf;
	}
	fail_begin(c, what, bad);
	msg_printf(&c->m, "a symbolic errno %s can return: ", cl->name);
	add_errno_list(&c->m, cl);
	msg_add(&c->m, ")", 1);
	return -1;
}

/* The names of the calls with all of flags, comma-separated, the last
 * after "or". */
static void call_list(char *buf, size_t n, unsigned flags)
{
	struct msg m = { buf, n, 0 };
	size_t total = 0, seen = 0;
	buf[0] = 0;
	for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
		total += (calls[i].flags & flags) == flags;
	for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
		if ((calls[i].flags & flags) != flags)
			continue;
		if (seen)
			msg_printf(&m, seen + 1 == total ? " or " : ", ");
		msg_printf(&m, "%s", calls[i].name);
		seen++;
	}
}

/* A function counted under another name: which, and what else it counts. */
static int fail_alias(struct ctx *c, struct tok t, const char *as)
{
	fail_begin(c, "no rules of its own for", t);
	msg_printf(&c->m, "%s, which counts the calls of %s", as, as);
	for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
		if (!strcmp(aliases[i].counted_as, as))
			msg_printf(&c->m, ", %s", aliases[i].name);
	msg_add(&c->m, ")", 1);
	return -1;
}

/* ---- the parser ------------------------------------------------------- */

static int parse_target(struct ctx *c, struct tok t, struct mpt__rule *r)
{
	struct tok k, v;
	if (tok_split(t, &k, &v) && tok_is(k, "point")) {
		if (!v.n)
			return fail(c, "empty point name in", t,
				    "point=NAME with NAME of [A-Za-z0-9_.-]+");
		for (size_t i = 0; i < v.n; i++)
			if (!point_char(v.p[i]))
				return fail(c, "bad point name", v,
					    "a name of [A-Za-z0-9_.-]+");
		if (v.n >= MPT__RULE_NAME_SIZE)
			return fail(c, "point name too long", v,
				    "at most %d characters",
				    MPT__RULE_NAME_SIZE - 1);
		r->target = MPT__RULE_POINT;
		memcpy(r->name, v.p, v.n);
		return 0;
	}
	const struct call *cl = find_call(t);
	if (!cl) {
		for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
			if (tok_is(t, aliases[i].name))
				return fail_alias(c, t, aliases[i].counted_as);
		char list[MPT__RULE_TEXT_SIZE];
		call_list(list, sizeof list, 0);
		return fail(c, t.n ? "unknown target" : "empty target", t,
			    "%s, where TARGET is point=NAME or a call: %s",
			    grammar, list);
	}
	r->target = MPT__RULE_CALL;
	memcpy(r->name, t.p, t.n);
	return 0;
}

static int parse_action(struct ctx *c, struct tok t, struct mpt__rule *r)
{
	struct tok k, v;
	int has_value = tok_split(t, &k, &v);
	const struct call *cl =
		r->target == MPT__RULE_CALL ? find_call_str(r->name) : NULL;
	char buf[MAX_TEXT + 1];

	if (!has_value && (tok_is(k, "error") || tok_is(k, "short") ||
			   tok_is(k, "delay")))
		return fail(c, "missing value in", t, "%.*s=VALUE; actions: %s",
			    (int)k.n, k.p, actions);
	if (tok_is(k, "error")) {
		if (!cl)
			return fail(c, "an MPT_POINT cannot fail:", t,
				    "delay=DURATION, kill[=SIGNAL] or "
				    "signal=SIGNAL for a point= target");
		const struct errname *e = find_errno(v);
		if (!e) {
			if (v.n && known_errno(tok_str(v, buf)))
				return fail_errno(c, NULL, v, cl);
			return fail_errno(c, "unknown errno", v, cl);
		}
		if (!call_can_fail(cl, e->value))
			return fail_errno(c, NULL, v, cl);
		r->action = MPT__RULE_ERROR;
		r->value = e->value;
		return 0;
	}
	if (tok_is(k, "short")) {
		if (!cl || !(cl->flags & CALL_SHORT)) {
			char list[MPT__RULE_TEXT_SIZE];
			call_list(list, sizeof list, CALL_SHORT);
			return fail(c, "short transfers need a call that moves "
				    "bytes:", t, "short= on %s", list);
		}
		unsigned long long n;
		if (mpt__parse_uint(tok_str(v, buf), 1, INT64_MAX, &n))
			return fail(c, "bad byte count", v,
				    "short=BYTES with BYTES a positive integer");
		r->action = MPT__RULE_SHORT;
		r->value = (int64_t)n;
		return 0;
	}
	if (tok_is(k, "delay")) {
		int64_t ns;
		const char *why;
		if (mpt__parse_duration(tok_str(v, buf), &ns, &why))
			return fail(c, "bad duration", v, "%s", why);
		r->action = MPT__RULE_DELAY;
		r->value = ns;
		return 0;
	}
	if (tok_is(k, "kill") || tok_is(k, "signal")) {
		int kill = tok_is(k, "kill");
		int sig = SIGKILL;
		if (!kill && !has_value)
			return fail(c, "missing signal in", t,
				    "signal=SIGNAL, e.g. signal=SIGUSR1");
		if (has_value && parse_signal(v, &sig))
			return fail(c, "unknown signal", v,
				    "a signal name such as SIGKILL, SIGTERM, "
				    "SIGUSR1, or a number 1..%d", SIG_MAX);
		if (kill && !signal_kills(sig))
			return fail(c, "signal does not kill:", v,
				    "a signal that ends the process, such as "
				    "SIGKILL or SIGTERM; signal=%.*s sends it "
				    "and goes on", (int)v.n, v.p);
		r->action = kill ? MPT__RULE_KILL : MPT__RULE_SIGNAL;
		r->value = sig;
		return 0;
	}
	return fail(c, "unknown action", t, "%s:ACTION with ACTION one of %s",
		    r->target == MPT__RULE_POINT ? "point=NAME" : r->name,
		    actions);
}

static int parse_when(struct ctx *c, struct tok t, struct mpt__rule *r)
{
	struct tok k, v;
	char buf[MAX_TEXT + 1];
	int has_value = tok_split(t, &k, &v);
	unsigned bit;
	if (tok_is(k, "nth"))
		bit = MPT__RULE_NTH;
	else if (tok_is(k, "every"))
		bit = MPT__RULE_EVERY;
	else if (tok_is(k, "after"))
		bit = MPT__RULE_AFTER;
	else if (tok_is(k, "p"))
		bit = MPT__RULE_P;
	else if (tok_is(k, "error") || tok_is(k, "short") ||
		 tok_is(k, "delay") || tok_is(k, "kill") ||
		 tok_is(k, "signal"))
		return fail(c, "a second action", t,
			    "one action per rule, then WHEN fields: %s", whens);
	else if (!t.n)
		return fail(c, "empty field", t,
			    "a WHEN field between the colons: %s", whens);
	else
		return fail(c, "unknown WHEN field", t, "%s", whens);
	if (r->when & bit)
		return fail(c, "duplicate WHEN field", t,
			    "each of nth=, every=, after=, p= at most once");
	r->when |= (uint8_t)bit;
	if (!has_value)
		return fail(c, "missing value in", t, "%.*s=VALUE; WHEN fields: %s",
			    (int)k.n, k.p, whens);

	unsigned long long n;
	const char *s = tok_str(v, buf);
	switch (bit) {
	case MPT__RULE_NTH:
		if (mpt__parse_uint(s, 1, UINT64_MAX, &n))
			return fail(c, "bad call number", v,
				    "nth=N with N an integer >= 1");
		r->nth = n;
		break;
	case MPT__RULE_EVERY:
		if (mpt__parse_uint(s, 1, UINT64_MAX, &n))
			return fail(c, "bad period", v,
				    "every=K with K an integer >= 1");
		r->every = n;
		break;
	case MPT__RULE_AFTER:
		if (mpt__parse_uint(s, 0, UINT64_MAX, &n))
			return fail(c, "bad call number", v,
				    "after=N with N an integer >= 0");
		r->after = n;
		break;
	default:
		if (parse_probability(v, &r->p_ppb))
			return fail(c, "bad probability", v,
				    "p=P with P a decimal, 0 < P <= 1, at most "
				    "9 decimals, e.g. p=0.2");
		break;
	}
	return 0;
}

static int parse_process(struct ctx *c, struct tok t, struct mpt__rule *r)
{
	struct tok k, v;
	if (tok_is(t, "children")) {
		r->process_kind = MPT__RULE_CHILDREN;
		return 0;
	}
	if (tok_split(t, &k, &v) && tok_is(k, "exe")) {
		if (!v.n)
			return fail(c, "empty program name in", t,
				    "exe=NAME with NAME a program's file name");
		for (size_t i = 0; i < v.n; i++)
			if (!exe_char(v.p[i]))
				return fail(c, "bad program name", v,
					    "a file name without '/', '@', "
					    "spaces or control characters");
		if (v.n >= MPT__RULE_NAME_SIZE)
			return fail(c, "program name too long", v,
				    "at most %d characters",
				    MPT__RULE_NAME_SIZE - 1);
		r->process_kind = MPT__RULE_EXE;
		memcpy(r->process, v.p, v.n);
		return 0;
	}
	if (!valid_logical_id(t))
		return fail(c, t.n ? "malformed process" : "empty process", t,
			    "@PROCESS with PROCESS one of %s", processes);
	if (t.n >= MPT__RULE_NAME_SIZE)
		return fail(c, "logical id too long", t, "at most %d characters",
			    MPT__RULE_NAME_SIZE - 1);
	r->process_kind = MPT__RULE_ID;
	memcpy(r->process, t.p, t.n);
	return 0;
}

int mpt__rule_parse(const char *text, struct mpt__rule *out, char *err,
		    size_t errlen)
{
	struct mpt__rule r;
	struct ctx c = { text ? text : "", 0, { err, err ? errlen : 0, 0 } };
	memset(&r, 0, sizeof r);
	if (c.m.cap)
		c.m.p[0] = 0;
	c.len = strnlen(c.text, MAX_TEXT + 1);
	struct tok all = { c.text, c.len };
	if (!c.len)
		return fail(&c, "empty rule", all, "%s, e.g. read:error=EINTR:nth=1",
			    grammar);
	if (c.len > MAX_TEXT)
		return fail(&c, "rule too long:", all, "at most %d characters",
			    MAX_TEXT);

	const char *at = memchr(c.text, '@', c.len);
	struct tok body = { c.text, at ? (size_t)(at - c.text) : c.len };

	/* The fields of the body, split at ':'. */
	struct tok field = { body.p, 0 };
	const char *end = body.p + body.n;
	int index = 0;
	for (const char *p = body.p;; p++) {
		if (p < end && *p != ':')
			continue;
		field.n = (size_t)(p - field.p);
		int rc;
		if (index == 0)
			rc = parse_target(&c, field, &r);
		else if (index == 1)
			rc = parse_action(&c, field, &r);
		else
			rc = parse_when(&c, field, &r);
		if (rc)
			return -1;
		index++;
		if (p == end)
			break;
		field.p = p + 1;
	}
	if (index == 1) {
		struct tok tgt = { body.p, body.n };
		return fail(&c, "missing action after", tgt,
			    "%.*s:ACTION with ACTION one of %s", (int)tgt.n,
			    tgt.p, actions);
	}
	if (at) {
		struct tok proc = { at + 1, c.len - body.n - 1 };
		if (parse_process(&c, proc, &r))
			return -1;
	}
	*out = r;
	return 0;
}

/* ---- canonical text ---------------------------------------------------- */

/* A duration in the largest unit that divides it, which
 * mpt__parse_duration() reads back exactly while the number stays below
 * its limit of 1e12; longer odd durations fall back to seconds with nine
 * decimals. */
static int format_duration(int64_t ns, char *buf, size_t n)
{
	static const struct {
		const char *unit;
		int64_t ns;
	} units[] = {
		{ "h", 3600000000000LL }, { "m", 60000000000LL },
		{ "s", 1000000000LL }, { "ms", 1000000LL }, { "us", 1000LL },
		{ "ns", 1 },
	};
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (ns % units[i].ns == 0 && ns / units[i].ns <= 1000000000000LL)
			return snprintf(buf, n, "%lld%s",
					(long long)(ns / units[i].ns),
					units[i].unit);
	return snprintf(buf, n, "%lld.%09llds", (long long)(ns / 1000000000),
			(long long)(ns % 1000000000));
}

static int name_ok(const char *s, int (*ok)(char))
{
	size_t n = strnlen(s, MPT__RULE_NAME_SIZE);
	if (!n || n == MPT__RULE_NAME_SIZE)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!ok(s[i]))
			return 0;
	return 1;
}

int mpt__rule_format(const struct mpt__rule *r, char *buf, size_t n)
{
	char out[MPT__RULE_TEXT_SIZE], num[48];
	struct msg m = { out, sizeof out, 0 };
	const struct call *cl = NULL;
	out[0] = 0;

	if (r->target == MPT__RULE_CALL) {
		if (!memchr(r->name, 0, sizeof r->name) ||
		    !(cl = find_call_str(r->name)))
			return -1;
		msg_printf(&m, "%s", r->name);
	} else if (r->target == MPT__RULE_POINT) {
		if (!name_ok(r->name, point_char))
			return -1;
		msg_printf(&m, "point=%s", r->name);
	} else {
		return -1;
	}

	switch (r->action) {
	case MPT__RULE_ERROR: {
		const char *e = r->value > 0 && r->value < 4096 ?
			errno_name((int)r->value) : NULL;
		if (!cl || !e || !call_can_fail(cl, (int)r->value))
			return -1;
		msg_printf(&m, ":error=%s", e);
		break;
	}
	case MPT__RULE_SHORT:
		if (!cl || !(cl->flags & CALL_SHORT) || r->value < 1)
			return -1;
		msg_printf(&m, ":short=%lld", (long long)r->value);
		break;
	case MPT__RULE_DELAY:
		if (r->value < 1 || r->value > MAX_DELAY_NS)
			return -1;
		format_duration(r->value, num, sizeof num);
		msg_printf(&m, ":delay=%s", num);
		break;
	case MPT__RULE_KILL:
	case MPT__RULE_SIGNAL: {
		if (r->value < 1 || r->value > SIG_MAX ||
		    (r->action == MPT__RULE_KILL && !signal_kills((int)r->value)))
			return -1;
		const char *s = signal_name((int)r->value);
		if (s)
			snprintf(num, sizeof num, "%s", s);
		else
			snprintf(num, sizeof num, "%d", (int)r->value);
		msg_printf(&m, ":%s=%s",
			   r->action == MPT__RULE_KILL ? "kill" : "signal", num);
		break;
	}
	default:
		return -1;
	}

	if (r->when & ~(MPT__RULE_NTH | MPT__RULE_EVERY | MPT__RULE_AFTER |
			MPT__RULE_P))
		return -1;
	if (r->when & MPT__RULE_NTH) {
		if (!r->nth)
			return -1;
		msg_printf(&m, ":nth=%llu", (unsigned long long)r->nth);
	}
	if (r->when & MPT__RULE_EVERY) {
		if (!r->every)
			return -1;
		msg_printf(&m, ":every=%llu", (unsigned long long)r->every);
	}
	if (r->when & MPT__RULE_AFTER)
		msg_printf(&m, ":after=%llu", (unsigned long long)r->after);
	if (r->when & MPT__RULE_P) {
		if (!r->p_ppb || r->p_ppb > PPB)
			return -1;
		if (r->p_ppb == PPB) {
			msg_printf(&m, ":p=1");
		} else {
			/* 0.xxxxxxxxx without the trailing zeros. */
			snprintf(num, sizeof num, "%09u", (unsigned)r->p_ppb);
			size_t len = strlen(num);
			while (len > 1 && num[len - 1] == '0')
				num[--len] = 0;
			msg_printf(&m, ":p=0.%s", num);
		}
	}

	switch (r->process_kind) {
	case MPT__RULE_ANY:
		break;
	case MPT__RULE_ID: {
		size_t len = strnlen(r->process, sizeof r->process);
		struct tok t = { r->process, len };
		if (len == sizeof r->process || !valid_logical_id(t))
			return -1;
		msg_printf(&m, "@%s", r->process);
		break;
	}
	case MPT__RULE_EXE:
		if (!name_ok(r->process, exe_char))
			return -1;
		msg_printf(&m, "@exe=%s", r->process);
		break;
	case MPT__RULE_CHILDREN:
		msg_printf(&m, "@children");
		break;
	default:
		return -1;
	}
	return snprintf(buf, n, "%s", out);
}

/* ---- decisions ---------------------------------------------------------- */

static int str_eq_bounded(const char *a, const char *rule_field)
{
	size_t n = strnlen(rule_field, MPT__RULE_NAME_SIZE);
	return n < MPT__RULE_NAME_SIZE && strncmp(a, rule_field, n) == 0 &&
	       a[n] == 0;
}

int mpt__rule_matches_process(const struct mpt__rule *r,
			      const char *logical_id, const char *prog)
{
	switch (r->process_kind) {
	case MPT__RULE_ANY:
		return 1;
	case MPT__RULE_ID:
		return logical_id && str_eq_bounded(logical_id, r->process);
	case MPT__RULE_CHILDREN:
		return logical_id && *logical_id && strcmp(logical_id, "p0") != 0;
	case MPT__RULE_EXE: {
		if (!prog)
			return 0;
		const char *slash = strrchr(prog, '/');
		return str_eq_bounded(slash ? slash + 1 : prog, r->process);
	}
	}
	return 0;
}

/* splitmix64's finalizer: a bijection with full avalanche. */
static uint64_t mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* One step of the chain: a new input folded into the state. */
static uint64_t absorb(uint64_t h, uint64_t x)
{
	return mix((h ^ x) + 0x9e3779b97f4a7c15ULL);
}

static uint64_t fnv1a(uint64_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n && s[i]; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

int mpt__rule_fires(const struct mpt__rule *r, uint64_t seed,
		    const char *logical_id, uint64_t call_count)
{
	if (!mpt__rule_count_allows(r, call_count))
		return 0;
	if (r->when & MPT__RULE_P) {
		/* The rule's identity (target and action, not its values)
		 * separates the draws of two rules on the same call. */
		uint64_t rule = fnv1a(0xcbf29ce484222325ULL, r->name,
				      sizeof r->name);
		rule = absorb(rule, (uint64_t)r->target << 8 | r->action);
		uint64_t id = fnv1a(0xcbf29ce484222325ULL,
				    logical_id ? logical_id : "", SIZE_MAX);
		uint64_t h = absorb(0, seed);
		h = absorb(h, id);
		h = absorb(h, rule);
		h = absorb(h, call_count);
		if (h % PPB >= r->p_ppb)
			return 0;
	}
	return 1;
}
