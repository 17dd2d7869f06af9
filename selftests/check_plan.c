/* Unit tests of the fault-plan parser and decisions (framework/plan). The
 * examples are the ones the README and DESIGN §8 promise; each test reads
 * like the mistake it guards against. */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../framework/plan/rules.h"

static struct mpt__rule parse_ok(const char *text)
{
	struct mpt__rule r;
	char err[MPT__RULE_TEXT_SIZE];
	int rc = mpt__rule_parse(text, &r, err, sizeof err);
	ck_assert_msg(rc == 0, "\"%s\" should parse, got: %s", text, err);
	ck_assert_msg(err[0] == 0, "no message on success, got: %s", err);
	return r;
}

/* Formats r and checks that the text parses back to the same bytes. */
static void check_round_trip(const struct mpt__rule *r, const char *canonical)
{
	char buf[MPT__RULE_TEXT_SIZE];
	int n = mpt__rule_format(r, buf, sizeof buf);
	ck_assert_int_gt(n, 0);
	ck_assert_int_eq((size_t)n, strlen(buf));
	ck_assert_str_eq(buf, canonical);
	struct mpt__rule again = parse_ok(buf);
	ck_assert_msg(memcmp(r, &again, sizeof again) == 0,
		      "\"%s\" parsed back to a different rule", buf);
}

/* ---- the documented examples parse to exactly these fields ---------------- */

START_TEST(example_read_eintr_first_call_in_leader)
{
	struct mpt__rule r = parse_ok("read:error=EINTR:nth=1@p0");
	ck_assert_int_eq(r.target, MPT__RULE_CALL);
	ck_assert_str_eq(r.name, "read");
	ck_assert_int_eq(r.action, MPT__RULE_ERROR);
	ck_assert_int_eq(r.value, EINTR);
	ck_assert_int_eq(r.when, MPT__RULE_NTH);
	ck_assert_uint_eq(r.nth, 1);
	ck_assert_uint_eq(r.every, 0);
	ck_assert_uint_eq(r.after, 0);
	ck_assert_uint_eq(r.p_ppb, 0);
	ck_assert_int_eq(r.process_kind, MPT__RULE_ID);
	ck_assert_str_eq(r.process, "p0");
	check_round_trip(&r, "read:error=EINTR:nth=1@p0");
}
END_TEST

START_TEST(example_short_write)
{
	struct mpt__rule r = parse_ok("write:short=100:nth=1@p0");
	ck_assert_int_eq(r.target, MPT__RULE_CALL);
	ck_assert_str_eq(r.name, "write");
	ck_assert_int_eq(r.action, MPT__RULE_SHORT);
	ck_assert_int_eq(r.value, 100);
	ck_assert_int_eq(r.when, MPT__RULE_NTH);
	ck_assert_uint_eq(r.nth, 1);
	ck_assert_int_eq(r.process_kind, MPT__RULE_ID);
	ck_assert_str_eq(r.process, "p0");
	check_round_trip(&r, "write:short=100:nth=1@p0");
}
END_TEST

START_TEST(example_kill_at_point)
{
	struct mpt__rule r = parse_ok("point=child.locked:kill=SIGKILL");
	ck_assert_int_eq(r.target, MPT__RULE_POINT);
	ck_assert_str_eq(r.name, "child.locked");
	ck_assert_int_eq(r.action, MPT__RULE_KILL);
	ck_assert_int_eq(r.value, SIGKILL);
	ck_assert_int_eq(r.when, 0);
	ck_assert_int_eq(r.process_kind, MPT__RULE_ANY);
	ck_assert_str_eq(r.process, "");
	check_round_trip(&r, "point=child.locked:kill=SIGKILL");
}
END_TEST

START_TEST(example_random_write_delay)
{
	struct mpt__rule r = parse_ok("write:delay=5ms:p=0.2");
	ck_assert_int_eq(r.target, MPT__RULE_CALL);
	ck_assert_str_eq(r.name, "write");
	ck_assert_int_eq(r.action, MPT__RULE_DELAY);
	ck_assert_int_eq(r.value, 5000000);
	ck_assert_int_eq(r.when, MPT__RULE_P);
	ck_assert_uint_eq(r.p_ppb, 200000000);
	ck_assert_int_eq(r.process_kind, MPT__RULE_ANY);
	check_round_trip(&r, "write:delay=5ms:p=0.2");
}
END_TEST

START_TEST(example_second_fork_fails)
{
	struct mpt__rule r = parse_ok("fork:error=EAGAIN:nth=2");
	ck_assert_int_eq(r.target, MPT__RULE_CALL);
	ck_assert_str_eq(r.name, "fork");
	ck_assert_int_eq(r.action, MPT__RULE_ERROR);
	ck_assert_int_eq(r.value, EAGAIN);
	ck_assert_int_eq(r.when, MPT__RULE_NTH);
	ck_assert_uint_eq(r.nth, 2);
	ck_assert_int_eq(r.process_kind, MPT__RULE_ANY);
	check_round_trip(&r, "fork:error=EAGAIN:nth=2");
}
END_TEST

START_TEST(example_waitpid_interrupted_every_third)
{
	struct mpt__rule r = parse_ok("waitpid:error=EINTR:every=3");
	ck_assert_int_eq(r.target, MPT__RULE_CALL);
	ck_assert_str_eq(r.name, "waitpid");
	ck_assert_int_eq(r.action, MPT__RULE_ERROR);
	ck_assert_int_eq(r.value, EINTR);
	ck_assert_int_eq(r.when, MPT__RULE_EVERY);
	ck_assert_uint_eq(r.every, 3);
	ck_assert_uint_eq(r.nth, 0);
	ck_assert_int_eq(r.process_kind, MPT__RULE_ANY);
	check_round_trip(&r, "waitpid:error=EINTR:every=3");
}
END_TEST

/* Other spellings of the same rule come back in one canonical form. */
START_TEST(other_spellings_format_canonically)
{
	static const char *const pairs[][2] = {
		{ "point=x:kill", "point=x:kill=SIGKILL" },
		{ "read:kill=9", "read:kill=SIGKILL" },
		{ "read:signal=10@children", "read:signal=SIGUSR1@children" },
		{ "read:signal=40", "read:signal=40" },
		{ "read:error=EWOULDBLOCK", "read:error=EAGAIN" },
		{ "write:delay=1.5s", "write:delay=1500ms" },
		{ "write:delay=90s", "write:delay=90s" },
		{ "write:delay=120s", "write:delay=2m" },
		{ "write:delay=250us", "write:delay=250us" },
		{ "write:delay=3", "write:delay=3s" },
		{ "read:error=EIO:p=0.50", "read:error=EIO:p=0.5" },
		{ "read:error=EIO:p=1.000", "read:error=EIO:p=1" },
		{ "read:error=EIO:p=0.000000001", "read:error=EIO:p=0.000000001" },
		{ "read:error=EIO:p=0.25:after=3:every=2:nth=8",
		  "read:error=EIO:nth=8:every=2:after=3:p=0.25" },
		{ "recv:short=1@exe=server", "recv:short=1@exe=server" },
		{ "pthread_mutex_lock:error=EOWNERDEAD@p0.1.12",
		  "pthread_mutex_lock:error=EOWNERDEAD@p0.1.12" },
	};
	for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
		struct mpt__rule r = parse_ok(pairs[i][0]);
		check_round_trip(&r, pairs[i][1]);
	}
}
END_TEST

/* close(2) lists ENOSPC and EDQUOT (NFS reports a full disk at close), and
 * a program that ignores close's result loses data there: the rule must be
 * expressible. */
START_TEST(close_can_fail_with_enospc_per_its_man_page)
{
	struct mpt__rule r = parse_ok("close:error=ENOSPC");
	ck_assert_int_eq(r.value, ENOSPC);
	parse_ok("close:error=EDQUOT");
}
END_TEST

/* ---- bad rules: rejected, the message names the token and what was expected */

static void check_rejected(const char *text, const char *token)
{
	struct mpt__rule r;
	memset(&r, 0xa5, sizeof r);
	struct mpt__rule before = r;
	char err[MPT__RULE_TEXT_SIZE];
	int rc = mpt__rule_parse(text, &r, err, sizeof err);
	ck_assert_msg(rc == -1, "\"%s\" should be rejected", text);
	ck_assert_msg(memcmp(&r, &before, sizeof r) == 0,
		      "\"%s\": a rejected rule must leave *out alone", text);
	ck_assert_msg(strncmp(err, text, strlen(text)) == 0,
		      "message should start with the rule: %s", err);
	char quoted[256];
	snprintf(quoted, sizeof quoted, "\"%s\"", token);
	ck_assert_msg(strstr(err, quoted) != NULL,
		      "message should name %s: %s", quoted, err);
	ck_assert_msg(strstr(err, "(expected ") != NULL,
		      "message should say what was expected: %s", err);
	ck_assert_msg(strchr(err, '\n') == NULL, "one line: %s", err);
	ck_assert_msg(err[strlen(err) - 1] == ')', "ends the hint: %s", err);
}

START_TEST(bad_rules_the_brief_names)
{
	check_rejected("read:error=EBOGUS", "EBOGUS");
	check_rejected("write:short=-3", "-3");
	check_rejected("point=:kill", "point=");
	check_rejected("nonsense", "nonsense");
	check_rejected("read:error=EINTR:p=1.5", "1.5");
	check_rejected("fork:error=EINTR", "EINTR");
	check_rejected("read:error=EINTR:nth=1:nth=2", "nth=2");
	check_rejected("read:error=EINTR:sometimes=1", "sometimes=1");
	check_rejected("read:error=EINTR:nth=1x", "1x");
	check_rejected("read:error=EINTR@", "");
	check_rejected("read:error=EINTR@p1", "p1");
}
END_TEST

START_TEST(unknown_errno_lists_what_the_call_can_return)
{
	char err[MPT__RULE_TEXT_SIZE];
	struct mpt__rule r;
	ck_assert_int_eq(mpt__rule_parse("read:error=EBOGUS", &r, err, sizeof err), -1);
	ck_assert_str_eq(err, "read:error=EBOGUS — unknown errno \"EBOGUS\" "
			 "(expected a symbolic errno read can return: EINTR, "
			 "EAGAIN, EIO, EBADF, EFAULT, EINVAL, EISDIR)");
	ck_assert_int_eq(mpt__rule_parse("fork:error=EINTR", &r, err, sizeof err), -1);
	ck_assert_str_eq(err, "fork:error=EINTR — fork cannot fail with \"EINTR\" "
			 "(expected a symbolic errno fork can return: EAGAIN, "
			 "ENOMEM, ENOSYS)");
}
END_TEST

START_TEST(errnos_a_call_never_returns)
{
	check_rejected("close:error=EAGAIN", "EAGAIN");
	check_rejected("close:error=EPIPE", "EPIPE");
	check_rejected("malloc:error=EINTR", "EINTR");
	check_rejected("sem_wait:error=EAGAIN", "EAGAIN");	/* trywait's */
	check_rejected("wait:error=EINVAL", "EINVAL");		/* no options */
	check_rejected("read:error=EPIPE", "EPIPE");
	check_rejected("read:error=ESTALE", "ESTALE");		/* a real errno */
	check_rejected("read:error=4", "4");			/* not symbolic */
	check_rejected("read:error=", "");
	check_rejected("read:error=eintr", "eintr");
}
END_TEST

START_TEST(bad_targets_and_actions)
{
	check_rejected("", "");
	check_rejected("read", "read");
	check_rejected("read@p0", "read");
	check_rejected(":error=EINTR", "");
	check_rejected("READ:error=EINTR", "READ");
	check_rejected("point=a b:kill", "a b");
	check_rejected("point=a/b:kill", "a/b");
	check_rejected("point=x:error=EINTR", "error=EINTR");
	check_rejected("point=x:short=4", "short=4");
	check_rejected("fork:short=1", "short=1");
	check_rejected("write:short=0", "0");
	check_rejected("write:short=", "");
	check_rejected("write:short=99999999999999999999", "99999999999999999999");
	check_rejected("write:delay=5parsecs", "5parsecs");
	check_rejected("write:delay=0", "0");
	check_rejected("write:delay=-1s", "-1s");
	check_rejected("read:explode", "explode");
	check_rejected("read:kill=SIGBOGUS", "SIGBOGUS");
	check_rejected("read:kill=SIGCHLD", "SIGCHLD");
	check_rejected("read:kill=", "");
	check_rejected("read:kill=0", "0");
	check_rejected("read:signal", "signal");
	check_rejected("read:signal=65", "65");
	check_rejected("read:signal=KILL", "KILL");
	check_rejected("read:error=EINTR:short=3", "short=3");
}
END_TEST

START_TEST(bad_when_fields)
{
	check_rejected("read:error=EINTR:", "");
	check_rejected("read:error=EINTR::nth=1", "");
	check_rejected("read:error=EINTR:nth=0", "0");
	check_rejected("read:error=EINTR:nth=", "");
	check_rejected("read:error=EINTR:nth", "nth");
	check_rejected("read:error", "error");
	check_rejected("write:short", "short");
	check_rejected("write:delay", "delay");
	check_rejected("read:error=EINTR:every=0", "0");
	check_rejected("read:error=EINTR:after=-1", "-1");
	check_rejected("read:error=EINTR:p=0", "0");
	check_rejected("read:error=EINTR:p=0.0", "0.0");
	check_rejected("read:error=EINTR:p=-0.5", "-0.5");
	check_rejected("read:error=EINTR:p=.5", ".5");
	check_rejected("read:error=EINTR:p=0.", "0.");
	check_rejected("read:error=EINTR:p=1e-3", "1e-3");
	check_rejected("read:error=EINTR:p=0.0000000001", "0.0000000001");
	check_rejected("read:error=EINTR:p=0.5:p=0.5", "p=0.5");
	check_rejected("read:error=EINTR:every=2:every=3", "every=3");
}
END_TEST

START_TEST(bad_process_selectors)
{
	check_rejected("read:error=EINTR@", "");
	check_rejected("read:error=EINTR@p", "p");
	check_rejected("read:error=EINTR@p0.", "p0.");
	check_rejected("read:error=EINTR@p0.0", "p0.0");
	check_rejected("read:error=EINTR@p0.01", "p0.01");
	check_rejected("read:error=EINTR@p0..1", "p0..1");
	check_rejected("read:error=EINTR@p0.1x", "p0.1x");
	check_rejected("read:error=EINTR@p0@p0", "p0@p0");
	check_rejected("read:error=EINTR@P0", "P0");
	check_rejected("read:error=EINTR@child", "child");
	check_rejected("read:error=EINTR@exe=", "exe=");
	check_rejected("read:error=EINTR@exe=/bin/sh", "/bin/sh");
	check_rejected("read:error=EINTR@ p0", " p0");
	check_rejected("read:error=EINTR@p0 ", "p0 ");
}
END_TEST

/* Names and the rule itself are bounded: nothing is cut silently. */
START_TEST(too_long_is_rejected_not_truncated)
{
	char text[700], name[80];
	memset(name, 'a', sizeof name - 1);
	name[sizeof name - 1] = 0;
	snprintf(text, sizeof text, "point=%s:kill", name);
	check_rejected(text, name);
	snprintf(text, sizeof text, "read:kill@exe=%s", name);
	check_rejected(text, name);
	memset(text, 'x', sizeof text - 1);
	text[sizeof text - 1] = 0;
	struct mpt__rule r;
	char err[MPT__RULE_TEXT_SIZE];
	ck_assert_int_eq(mpt__rule_parse(text, &r, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "too long"));
	ck_assert_ptr_nonnull(strstr(err, "expected"));
}
END_TEST

/* A message never runs past errlen, and no buffer at all is allowed. */
START_TEST(message_fits_the_buffer)
{
	struct mpt__rule r;
	char err[16];
	memset(err, 'Z', sizeof err);
	ck_assert_int_eq(mpt__rule_parse("read:error=EBOGUS", &r, err, 8), -1);
	ck_assert_uint_eq(strlen(err), 7);
	ck_assert_int_eq(err[8], 'Z');
	ck_assert_int_eq(mpt__rule_parse("read:error=EBOGUS", &r, NULL, 0), -1);
	ck_assert_int_eq(mpt__rule_parse(NULL, &r, err, sizeof err), -1);
	ck_assert_int_eq(mpt__rule_parse("read:error=EINTR", &r, NULL, 0), 0);
}
END_TEST

/* Control bytes in a bad rule are escaped: the message stays one line. */
START_TEST(message_escapes_control_bytes)
{
	struct mpt__rule r;
	char err[MPT__RULE_TEXT_SIZE];
	ck_assert_int_eq(mpt__rule_parse("read:error=E\nINTR", &r, err, sizeof err), -1);
	ck_assert_ptr_null(strchr(err, '\n'));
	ck_assert_ptr_nonnull(strstr(err, "E\\x0aINTR"));
}
END_TEST

/* Every errno listed for a call in the messages is one the parser takes:
 * the table and the lookups agree. */
START_TEST(every_listed_errno_is_accepted)
{
	static const char *const names[] = {
		"read", "readv", "pread", "write", "writev", "pwrite", "send",
		"recv", "fork", "wait", "wait3", "wait4", "waitpid", "waitid",
		"pipe", "pipe2", "open", "close", "dup", "dup2", "dup3",
		"socket", "connect", "accept", "pthread_mutex_lock",
		"pthread_mutex_trylock", "pthread_mutex_timedlock", "sem_wait",
		"sem_trywait", "sem_timedwait", "malloc", "calloc", "realloc",
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char text[128], err[MPT__RULE_TEXT_SIZE];
		struct mpt__rule r;
		snprintf(text, sizeof text, "%s:error=ENOTANERRNO", names[i]);
		ck_assert_int_eq(mpt__rule_parse(text, &r, err, sizeof err), -1);
		const char *list = strstr(err, "can return: ");
		ck_assert_ptr_nonnull(list);
		list += strlen("can return: ");
		int count = 0;
		while (*list && *list != ')') {
			size_t n = strcspn(list, ",)");
			snprintf(text, sizeof text, "%s:error=%.*s", names[i],
				 (int)n, list);
			struct mpt__rule ok = parse_ok(text);
			check_round_trip(&ok, text);
			count++;
			list += n;
			list += strspn(list, ", ");
		}
		ck_assert_int_gt(count, 0);
	}
}
END_TEST

/* ---- decisions ------------------------------------------------------------ */

START_TEST(without_when_every_call_fires)
{
	struct mpt__rule r = parse_ok("read:error=EINTR");
	for (uint64_t n = 1; n <= 1000; n++)
		ck_assert(mpt__rule_fires(&r, 1, "p0", n));
	ck_assert(!mpt__rule_fires(&r, 1, "p0", 0));	/* counts start at 1 */
}
END_TEST

START_TEST(nth_fires_exactly_once)
{
	struct mpt__rule r = parse_ok("fork:error=EAGAIN:nth=2");
	int hits = 0;
	for (uint64_t n = 1; n <= 1000; n++)
		if (mpt__rule_fires(&r, 7, "p0", n)) {
			ck_assert_uint_eq(n, 2);
			hits++;
		}
	ck_assert_int_eq(hits, 1);
}
END_TEST

START_TEST(every_fires_on_multiples)
{
	struct mpt__rule r = parse_ok("waitpid:error=EINTR:every=3");
	int hits = 0;
	for (uint64_t n = 1; n <= 1000; n++) {
		int f = mpt__rule_fires(&r, 7, "p0.1", n);
		ck_assert_int_eq(f, n % 3 == 0);
		hits += f;
	}
	ck_assert_int_eq(hits, 333);
}
END_TEST

START_TEST(after_fires_from_the_next_call_on)
{
	struct mpt__rule r = parse_ok("read:error=EIO:after=10");
	for (uint64_t n = 1; n <= 1000; n++)
		ck_assert_int_eq(mpt__rule_fires(&r, 7, "p0", n), n > 10);
	r = parse_ok("read:error=EIO:after=0");
	ck_assert(mpt__rule_fires(&r, 7, "p0", 1));
}
END_TEST

START_TEST(when_fields_combine_with_and)
{
	struct mpt__rule r = parse_ok("read:error=EIO:every=2:after=5");
	for (uint64_t n = 1; n <= 1000; n++)
		ck_assert_int_eq(mpt__rule_fires(&r, 7, "p0", n),
				 n > 5 && n % 2 == 0);
	/* nth outside after's range never fires: AND, not OR. */
	r = parse_ok("read:error=EIO:nth=3:after=5");
	for (uint64_t n = 1; n <= 1000; n++)
		ck_assert(!mpt__rule_fires(&r, 7, "p0", n));
	/* p thins out the every-th calls and never adds others. */
	r = parse_ok("read:error=EIO:every=4:p=0.5");
	int hits = 0;
	for (uint64_t n = 1; n <= 4000; n++) {
		int f = mpt__rule_fires(&r, 7, "p0", n);
		if (f)
			ck_assert_uint_eq(n % 4, 0);
		hits += f;
	}
	ck_assert_int_gt(hits, 400);
	ck_assert_int_lt(hits, 600);
}
END_TEST

START_TEST(probability_is_about_right)
{
	struct mpt__rule r = parse_ok("write:delay=5ms:p=0.2");
	for (uint64_t seed = 1; seed <= 5; seed++) {
		int hits = 0;
		for (uint64_t n = 1; n <= 10000; n++)
			hits += mpt__rule_fires(&r, seed, "p0.1", n);
		ck_assert_msg(hits >= 1500 && hits <= 2500,
			      "seed %llu: %d of 10000 calls, expected 2000 +- 500",
			      (unsigned long long)seed, hits);
	}
	r = parse_ok("write:delay=5ms:p=1");
	for (uint64_t n = 1; n <= 1000; n++)
		ck_assert(mpt__rule_fires(&r, 3, "p0", n));
}
END_TEST

/* The whole point of the seed: a failure seen once is seen again. */
START_TEST(same_seed_same_faults)
{
	struct mpt__rule r = parse_ok("write:delay=5ms:p=0.2");
	for (uint64_t n = 1; n <= 1000; n++)
		ck_assert_int_eq(mpt__rule_fires(&r, 137, "p0.2", n),
				 mpt__rule_fires(&r, 137, "p0.2", n));
	/* A copy of the rule (as in the session region) decides the same. */
	struct mpt__rule copy;
	memcpy(&copy, &r, sizeof copy);
	for (uint64_t n = 1; n <= 1000; n++)
		ck_assert_int_eq(mpt__rule_fires(&r, 137, "p0.2", n),
				 mpt__rule_fires(&copy, 137, "p0.2", n));
}
END_TEST

/* Number of calls 1..1000 on which the two decisions differ. */
static int differences(const char *text_a, uint64_t seed_a, const char *id_a,
			const char *text_b, uint64_t seed_b, const char *id_b)
{
	struct mpt__rule a = parse_ok(text_a), b = parse_ok(text_b);
	int diff = 0;
	for (uint64_t n = 1; n <= 1000; n++)
		diff += mpt__rule_fires(&a, seed_a, id_a, n) !=
			mpt__rule_fires(&b, seed_b, id_b, n);
	return diff;
}

START_TEST(other_seed_other_faults)
{
	const char *rule = "read:error=EINTR:p=0.5";
	/* Independent patterns differ on about half of the calls. */
	for (uint64_t seed = 1; seed < 20; seed++) {
		int d = differences(rule, seed, "p0", rule, seed + 1, "p0");
		ck_assert_msg(d > 400 && d < 600, "seeds %llu/%llu differ on %d",
			      (unsigned long long)seed,
			      (unsigned long long)seed + 1, d);
	}
	/* Seed and call count are not simply XORed together. */
	ck_assert_int_gt(differences(rule, 1, "p0", rule, 2, "p0"), 400);
	ck_assert_int_gt(differences(rule, 0, "p0", rule, 1ULL << 63, "p0"), 400);
}
END_TEST

START_TEST(other_process_other_faults)
{
	const char *rule = "read:error=EINTR:p=0.5";
	ck_assert_int_gt(differences(rule, 9, "p0", rule, 9, "p0.1"), 400);
	ck_assert_int_gt(differences(rule, 9, "p0.1", rule, 9, "p0.2"), 400);
	ck_assert_int_gt(differences(rule, 9, "p0.1.2", rule, 9, "p0.12"), 400);
}
END_TEST

/* Two rules on the same call draw independently, while changing only a
 * rule's value or probability keeps its draws. */
START_TEST(draws_follow_the_rule_target_and_action)
{
	ck_assert_int_gt(differences("read:error=EINTR:p=0.5", 9, "p0",
				     "write:error=EINTR:p=0.5", 9, "p0"), 400);
	ck_assert_int_gt(differences("read:error=EINTR:p=0.5", 9, "p0",
				     "read:delay=1ms:p=0.5", 9, "p0"), 400);
	ck_assert_int_eq(differences("read:error=EINTR:p=0.5", 9, "p0",
				     "read:error=EIO:p=0.5", 9, "p0"), 0);
	/* Raising p only adds faults: every call hit at 0.1 is hit at 0.3. */
	struct mpt__rule lo = parse_ok("read:error=EINTR:p=0.1");
	struct mpt__rule hi = parse_ok("read:error=EINTR:p=0.3");
	for (uint64_t n = 1; n <= 10000; n++)
		if (mpt__rule_fires(&lo, 5, "p0", n))
			ck_assert(mpt__rule_fires(&hi, 5, "p0", n));
}
END_TEST

/* ---- process selectors ---------------------------------------------------- */

START_TEST(process_selectors)
{
	struct mpt__rule r = parse_ok("read:error=EINTR");
	ck_assert(mpt__rule_matches_process(&r, "p0", "prog"));
	ck_assert(mpt__rule_matches_process(&r, "p0.3.1", NULL));
	ck_assert(mpt__rule_matches_process(&r, NULL, NULL));

	r = parse_ok("read:error=EINTR@p0");
	ck_assert(mpt__rule_matches_process(&r, "p0", "prog"));
	ck_assert(!mpt__rule_matches_process(&r, "p0.1", "prog"));
	ck_assert(!mpt__rule_matches_process(&r, NULL, "prog"));

	/* One logical id: not its descendants, not a longer number. */
	r = parse_ok("read:error=EINTR@p0.1");
	ck_assert(mpt__rule_matches_process(&r, "p0.1", "prog"));
	ck_assert(!mpt__rule_matches_process(&r, "p0.1.2", "prog"));
	ck_assert(!mpt__rule_matches_process(&r, "p0.11", "prog"));
	ck_assert(!mpt__rule_matches_process(&r, "p0", "prog"));

	r = parse_ok("read:error=EINTR@children");
	ck_assert(!mpt__rule_matches_process(&r, "p0", "prog"));
	ck_assert(mpt__rule_matches_process(&r, "p0.1", "prog"));
	ck_assert(mpt__rule_matches_process(&r, "p0.1.2", "prog"));
	ck_assert(!mpt__rule_matches_process(&r, NULL, "prog"));

	/* A program by its name, wherever it was run from. */
	r = parse_ok("read:error=EINTR@exe=server");
	ck_assert(mpt__rule_matches_process(&r, "p0", "server"));
	ck_assert(mpt__rule_matches_process(&r, "p0.4", "/usr/libexec/server"));
	ck_assert(!mpt__rule_matches_process(&r, "p0", "server2"));
	ck_assert(!mpt__rule_matches_process(&r, "p0", "serve"));
	ck_assert(!mpt__rule_matches_process(&r, "p0", "/srv/server/client"));
	ck_assert(!mpt__rule_matches_process(&r, "p0", NULL));
}
END_TEST

/* ---- damaged rules (read from shared memory) ------------------------------ */

START_TEST(damaged_rules_do_not_format_or_crash)
{
	struct mpt__rule r;
	char buf[MPT__RULE_TEXT_SIZE];
	memset(&r, 0, sizeof r);
	ck_assert_int_eq(mpt__rule_format(&r, buf, sizeof buf), -1);

	r = parse_ok("waitpid:error=EINTR:every=3");
	r.every = 0;
	ck_assert_int_eq(mpt__rule_format(&r, buf, sizeof buf), -1);
	for (uint64_t n = 1; n <= 10; n++)
		ck_assert(!mpt__rule_fires(&r, 1, "p0", n));

	r = parse_ok("fork:error=EAGAIN");
	r.value = EINTR;	/* fork cannot fail with EINTR */
	ck_assert_int_eq(mpt__rule_format(&r, buf, sizeof buf), -1);

	r = parse_ok("point=x:kill");
	memset(r.name, 'x', sizeof r.name);	/* no terminating NUL */
	ck_assert_int_eq(mpt__rule_format(&r, buf, sizeof buf), -1);

	r = parse_ok("read:kill@exe=a");
	memset(r.process, 'a', sizeof r.process);
	ck_assert(!mpt__rule_matches_process(&r, "p0", "a"));
	ck_assert_int_eq(mpt__rule_format(&r, buf, sizeof buf), -1);
}
END_TEST

/* format() reports the length it needs, as snprintf does. */
START_TEST(format_truncates_like_snprintf)
{
	struct mpt__rule r = parse_ok("read:error=EINTR:nth=1@p0");
	char buf[8];
	ck_assert_int_eq(mpt__rule_format(&r, buf, sizeof buf), 25);
	ck_assert_str_eq(buf, "read:er");
	ck_assert_int_eq(mpt__rule_format(&r, NULL, 0), 25);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("plan");
	TCase *t = tcase_create("parse");
	tcase_add_test(t, example_read_eintr_first_call_in_leader);
	tcase_add_test(t, example_short_write);
	tcase_add_test(t, example_kill_at_point);
	tcase_add_test(t, example_random_write_delay);
	tcase_add_test(t, example_second_fork_fails);
	tcase_add_test(t, example_waitpid_interrupted_every_third);
	tcase_add_test(t, other_spellings_format_canonically);
	tcase_add_test(t, close_can_fail_with_enospc_per_its_man_page);
	tcase_add_test(t, bad_rules_the_brief_names);
	tcase_add_test(t, unknown_errno_lists_what_the_call_can_return);
	tcase_add_test(t, errnos_a_call_never_returns);
	tcase_add_test(t, bad_targets_and_actions);
	tcase_add_test(t, bad_when_fields);
	tcase_add_test(t, bad_process_selectors);
	tcase_add_test(t, too_long_is_rejected_not_truncated);
	tcase_add_test(t, message_fits_the_buffer);
	tcase_add_test(t, message_escapes_control_bytes);
	tcase_add_test(t, every_listed_errno_is_accepted);
	tcase_add_test(t, damaged_rules_do_not_format_or_crash);
	tcase_add_test(t, format_truncates_like_snprintf);
	suite_add_tcase(s, t);

	t = tcase_create("decide");
	tcase_add_test(t, without_when_every_call_fires);
	tcase_add_test(t, nth_fires_exactly_once);
	tcase_add_test(t, every_fires_on_multiples);
	tcase_add_test(t, after_fires_from_the_next_call_on);
	tcase_add_test(t, when_fields_combine_with_and);
	tcase_add_test(t, probability_is_about_right);
	tcase_add_test(t, same_seed_same_faults);
	tcase_add_test(t, other_seed_other_faults);
	tcase_add_test(t, other_process_other_faults);
	tcase_add_test(t, draws_follow_the_rule_target_and_action);
	tcase_add_test(t, process_selectors);
	suite_add_tcase(s, t);

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
