/* Fault-injection rules (--inject, DESIGN §8): parsing, canonical text and
 * the decision whether a rule fires at a given call.
 *
 *   TARGET:ACTION[:WHEN...][@PROCESS]
 *
 *   TARGET   a call name (read, write, fork, waitpid, malloc, ...: exactly
 *            the calls the shim counts; a function counted under another
 *            name, such as sendto under send, is refused with that name)
 *            or point=NAME, an MPT_POINT name of [A-Za-z0-9_.-]+
 *   ACTION   error=ERRNO   fail with a symbolic errno the call can return
 *                          (per its man page; calls only)
 *            short=BYTES   transfer at most BYTES (read/write/send/recv-like
 *                          calls only)
 *            delay=DUR     sleep first (30s, 250ms, 100us, ...)
 *            kill[=SIG]    end the calling process with SIG (SIGKILL)
 *            signal=SIG    send SIG to the calling process and go on
 *   WHEN     nth=N (only the N-th call), every=K (every K-th call), after=N
 *            (the calls after the N-th), p=P (with probability 0 < P <= 1
 *            under the seed); several are ANDed; none means every call
 *   PROCESS  p0, p0.1, ... (one logical id), exe=NAME (a program), or
 *            children (every process but p0); none means every process
 *
 * A rule is plain data with no pointers, so the runner can copy the parsed
 * rules into the session region and every process of the tree can read
 * them. Nothing here keeps state: the decision is a pure function of the
 * rule, the seed, the logical process id and that process's call count, so
 * one seed replays the same faults in the same processes.
 *
 * mpt__rule_matches_process() and mpt__rule_fires() are async-signal-safe
 * (the shim calls them inside interposed calls, also in a child between
 * fork and exec); parsing and formatting are not. */
#ifndef MPT_RULES_H
#define MPT_RULES_H

#include <stddef.h>
#include <stdint.h>

/* Size of the name arrays below, terminating NUL included. */
#define MPT__RULE_NAME_SIZE 64
/* A buffer this large holds any error message and any formatted rule. */
#define MPT__RULE_TEXT_SIZE 1024

/* What the rule aims at. */
enum mpt__rule_target {
	MPT__RULE_CALL = 1,	/* name is a call: "read", "fork", ... */
	MPT__RULE_POINT = 2,	/* name is an MPT_POINT name */
};

/* What it does when it fires; the meaning of mpt__rule.value. */
enum mpt__rule_action {
	MPT__RULE_ERROR = 1,	/* fail the call; value: the errno */
	MPT__RULE_SHORT = 2,	/* transfer at most value bytes (>= 1) */
	MPT__RULE_DELAY = 3,	/* sleep value nanoseconds (>= 1), then go on */
	MPT__RULE_KILL = 4,	/* send signal value to itself; never go on */
	MPT__RULE_SIGNAL = 5,	/* send signal value to itself, then go on */
};

/* Which WHEN fields are set (mpt__rule.when is a mask of these). */
enum mpt__rule_when {
	MPT__RULE_NTH = 1,	/* fires only at call nth */
	MPT__RULE_EVERY = 2,	/* fires at calls every, 2*every, ... */
	MPT__RULE_AFTER = 4,	/* fires at calls after+1, after+2, ... */
	MPT__RULE_P = 8,	/* fires with probability p_ppb / 1e9 */
};

/* Which processes the rule applies to. */
enum mpt__rule_process {
	MPT__RULE_ANY = 0,	/* every process of the test */
	MPT__RULE_ID = 1,	/* the one whose logical id is process */
	MPT__RULE_EXE = 2,	/* those whose program is named process */
	MPT__RULE_CHILDREN = 3,	/* every process whose id is not "p0" */
};

struct mpt__rule {
	uint8_t target;		/* enum mpt__rule_target */
	uint8_t action;		/* enum mpt__rule_action */
	uint8_t when;		/* mask of enum mpt__rule_when; 0: every call */
	uint8_t process_kind;	/* enum mpt__rule_process */
	uint32_t p_ppb;		/* MPT__RULE_P: probability in parts per
				 * billion, 1..1000000000 */
	int64_t value;		/* per action: errno, bytes, ns or signal */
	uint64_t nth;		/* MPT__RULE_NTH: >= 1 */
	uint64_t every;		/* MPT__RULE_EVERY: >= 1 */
	uint64_t after;		/* MPT__RULE_AFTER: >= 0 */
	char name[MPT__RULE_NAME_SIZE];	   /* call or point name */
	char process[MPT__RULE_NAME_SIZE]; /* logical id or program name;
					    * empty for ANY and CHILDREN */
};

/* Parses one rule. Returns 0 with *out filled in (every byte, padding
 * included, so rules compare with memcmp), or -1 with a one-line message in
 * err (when errlen > 0) that quotes the rule, names the bad token and says
 * what was expected, e.g.
 *   read:error=EBOGUS — unknown errno "EBOGUS" (expected a symbolic errno
 *   read can return: EINTR, EAGAIN, EIO, ...)
 * The message is bounded by MPT__RULE_TEXT_SIZE. */
int mpt__rule_parse(const char *text, struct mpt__rule *out, char *err,
		    size_t errlen);

/* Writes the canonical text of r ("read:error=EINTR:nth=1@p0"; WHEN fields
 * in the order nth, every, after, p; kill always with its signal), which
 * mpt__rule_parse() turns back into the same rule. Returns the length it
 * needed, as snprintf does (the text fits when it is < n, and always fits
 * in MPT__RULE_TEXT_SIZE), or -1 if r is not a valid rule. */
int mpt__rule_format(const struct mpt__rule *r, char *buf, size_t n);

/* Whether r applies to the process with logical id logical_id ("p0.1") and
 * program prog (a name or a path, of which the last component counts).
 * Either may be NULL when unknown, which matches only selectors that do not
 * need it. */
int mpt__rule_matches_process(const struct mpt__rule *r,
			      const char *logical_id, const char *prog);

/* The calls a rule can name, in the order of the shim's enum mpt__call
 * (framework/preload/inject.h), which indexes this table. */
#define MPT__RULE_CALLS 33
extern const char *const mpt__rule_call_names[MPT__RULE_CALLS];

/* The index of call name in mpt__rule_call_names, or -1. */
int mpt__rule_call_index(const char *name);

/* The count part of mpt__rule_fires(): whether nth=, every= and after= let
 * r fire at the call_count-th call (p= is not looked at). Cheap, so the
 * shim asks it first; mpt__rule_fires() includes it. */
static inline int mpt__rule_count_allows(const struct mpt__rule *r,
					 uint64_t call_count)
{
	if (call_count == 0)
		return 0;
	if ((r->when & MPT__RULE_NTH) && call_count != r->nth)
		return 0;
	/* A rule read from shared memory could be damaged: every=0 never
	 * fires rather than dividing by zero. */
	if ((r->when & MPT__RULE_EVERY) &&
	    (r->every == 0 || call_count % r->every != 0))
		return 0;
	if ((r->when & MPT__RULE_AFTER) && call_count <= r->after)
		return 0;
	return 1;
}

/* Whether r fires at the call_count-th call (1 for the first) of its target
 * in the process logical_id, under seed. Only the WHEN part is decided here:
 * callers check the target and mpt__rule_matches_process() first.
 *
 * p= draws a counter-based hash of (seed, logical id, target and action of
 * the rule, call count): no state, so it is the same in every run, and it
 * does not depend on p, nth, every or after, so raising p only adds calls to
 * those already hit. */
int mpt__rule_fires(const struct mpt__rule *r, uint64_t seed,
		    const char *logical_id, uint64_t call_count);

#endif
