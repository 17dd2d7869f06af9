/* libFuzzer harness for the value parsers of the command line
 * (framework/cli/options.c, framework/plan/plan.c, framework/core/util.c):
 * --timeout, --shard, --repeat, --seed, -j/--jobs, --faketime,
 * --pipe-capacity, --max-procs and --max-memory, each given one value
 * through mpt__parse_opts.
 *
 * Input: byte 0 picks the option, the rest (up to a NUL) is its value.
 * Besides what the sanitizers catch, it checks:
 *  - acceptance agrees with a plain reading of the documented grammar
 *    (digits only, the documented range, K/N with 1 <= K <= N, ...);
 *  - an accepted value is stored as read, and its canonical text parses
 *    back to the same value (a duration: the same nanoseconds, or within a
 *    nanosecond per second when it has to be printed as a decimal);
 *  - the three spellings of the job count (-j N, -jN, --jobs=N) agree;
 *  - a rejected value gets one line, "PROG: OPTION=VALUE — why (hint)". */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../framework/cli/options.h"
#include "../../framework/core/util.h"
#include "../../framework/integrations/integrations.h"
#include "../../framework/plan/plan.h"
#include "fuzz.h"

#define PROG "fz"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* No tool is "installed": --faketime stops at its check, and the
	 * environment the parser reads is empty. */
	setenv("MPT_FAKETIME_LIB", "/nonexistent/libfaketime.so.1", 1);
	unsetenv("MPT_TIMEOUT_MULTIPLIER");
	unsetenv("TEST_TOTAL_SHARDS");
	unsetenv("TEST_SHARD_INDEX");
	return 0;
}

struct parsed {
	int rc;
	struct mpt__opts o;
	char *err;
	size_t len;
};

static void parse(char **argv, int argc, struct parsed *p)
{
	memset(p, 0, sizeof *p);
	p->o.cfg.prog = PROG;
	FILE *saved = stderr;
	stderr = open_memstream(&p->err, &p->len);
	CHECK(stderr);
	p->rc = mpt__parse_opts(argc, argv, MPT__MODE_TESTS, &p->o);
	fclose(stderr);
	stderr = saved;
	CHECK(p->rc == 0 || p->rc == 2);
	if (p->rc == 0) {
		CHECK(p->len == 0);
	} else {
		/* One line naming the token: "fz: TOKEN — why (hint)"; a tool
		 * that is not installed is named by its option alone, -j N by
		 * both words. */
		char *want = !strncmp(argv[1], "--faketime=", 11) &&
				     mpt__faketime_spec_ok(argv[1] + 11)
			? mpt__xstrdup(PROG ": --faketime — ")
			: argc == 3 && !strcmp(argv[1], "-j")
			? mpt__xasprintf(PROG ": -j %s — ", argv[2])
			: mpt__xasprintf(PROG ": %s — ", argv[1]);
		CHECK(!strncmp(p->err, want, strlen(want)));
		free(want);
		CHECK(p->len > 2 && p->err[p->len - 1] == '\n' &&
		      p->err[p->len - 2] == ')');
		CHECK(memchr(p->err, '\n', p->len) == p->err + p->len - 1 ||
		      strchr(argv[argc - 1], '\n'));
	}
}

static void done(struct parsed *p)
{
	mpt__opts_free(&p->o);
	free(p->err);
}

/* Parses "--name=value" alone. */
static void parse_one(const char *name, const char *value, struct parsed *p)
{
	char *arg = mpt__xasprintf("%s=%s", name, value);
	char *argv[] = {PROG, arg, NULL};
	parse(argv, 2, p);
	free(arg);
}

/* The documented grammar of a whole number: digits only, min..max.
 * Returns 1 and the value, or 0. */
static int plain_uint(const char *s, unsigned long long min, unsigned long long max,
		      unsigned long long *out)
{
	if (!*s)
		return 0;
	unsigned long long v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return 0;
		unsigned d = (unsigned)(*p - '0');
		if (v > (~0ULL - d) / 10)
			return 0;
		v = v * 10 + d;
		if (v > max)
			return 0;
	}
	if (v < min)
		return 0;
	*out = v;
	return 1;
}

/* ---- --timeout ---------------------------------------------------------- */

/* The canonical text of a duration: the largest unit that holds it whole,
 * or seconds with nine decimals when the whole number would be too long
 * for the parser (which reads at most 1e12 in front of the point). */
static void format_duration(int64_t ns, char *buf, size_t n)
{
	static const struct { int64_t per; const char *unit; } units[] = {
		{3600000000000LL, "h"}, {60000000000LL, "m"}, {1000000000LL, "s"},
		{1000000LL, "ms"}, {1000LL, "us"}, {1, "ns"},
	};
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
		if (ns % units[i].per == 0 && ns / units[i].per <= 1000000000000LL) {
			snprintf(buf, n, "%lld%s", (long long)(ns / units[i].per), units[i].unit);
			return;
		}
	snprintf(buf, n, "%lld.%09lld", (long long)(ns / 1000000000),
		 (long long)(ns % 1000000000));
}

static void check_timeout(const char *v)
{
	struct parsed p;
	parse_one("--timeout", v, &p);
	int64_t ns = -1;
	const char *why;
	int ok = mpt__parse_duration(v, &ns, &why) == 0;
	/* Below 1 ms is refused, by its own message. */
	int short_one = ok && ns < 1000000;
	CHECK((ok && !short_one) == (p.rc == 0));
	if (short_one) {
		CHECK(strstr(p.err, "below 1 ms"));
	} else if (ok) {
		CHECK(p.o.timeout_ns == ns);
		CHECK(ns >= 1 && ns <= 1000000000000000000LL);
		char text[64];
		format_duration(ns, text, sizeof text);
		int64_t back = -1;
		if (mpt__parse_duration(text, &back, &why) != 0) {
			fprintf(stderr, "fuzz_values: --timeout=%s is %lld ns, "
				"whose text %s does not parse\n", v, (long long)ns, text);
			abort();
		}
		int64_t d = back > ns ? back - ns : ns - back;
		int exact = strchr(text, '.') == NULL;
		if (exact ? d != 0 : d > 1 + ns / 1000000000) {
			fprintf(stderr, "fuzz_values: --timeout=%s is %lld ns, "
				"its text %s %lld ns\n", v, (long long)ns, text,
				(long long)back);
			abort();
		}
		/* A number alone is seconds. */
		if (strspn(v, "0123456789.") == strlen(v)) {
			char *s = mpt__xasprintf("%ss", v);
			int64_t secs = -1;
			CHECK(mpt__parse_duration(s, &secs, &why) == 0 && secs == ns);
			free(s);
		}
		/* What the runner makes of it stays in its bounds. */
		int64_t t = mpt__timeout_for(&p.o, 0);
		CHECK(t >= 1000000 && t <= 100000000000000000LL);
	} else {
		CHECK(strstr(p.err, "not a duration"));
	}
	done(&p);
}

/* ---- --shard=K/N ------------------------------------------------------- */

static void check_shard(const char *v)
{
	struct parsed p;
	parse_one("--shard", v, &p);
	const char *slash = strchr(v, '/');
	unsigned long long k = 0, n = 0;
	int ok = 0;
	if (slash && slash > v && slash - v < 32) {
		char *ks = strndup(v, (size_t)(slash - v));
		ok = plain_uint(ks, 1, 1000000, &k) && plain_uint(slash + 1, 1, 1000000, &n) &&
		     k <= n;
		free(ks);
	}
	CHECK(ok == (p.rc == 0));
	if (ok) {
		CHECK(p.o.shard_k == k - 1 && p.o.shard_n == n);
		CHECK(p.o.shard_k < p.o.shard_n);
		/* Every index falls in exactly one shard. */
		for (unsigned long long i = 0; i < 3 * n && i < 50; i++) {
			int in = mpt__opts_in_shard(&p.o, i);
			CHECK(in == (i % n == k - 1));
		}
		char text[64];
		snprintf(text, sizeof text, "%llu/%llu", k, n);
		struct parsed q;
		parse_one("--shard", text, &q);
		CHECK(q.rc == 0 && q.o.shard_k == p.o.shard_k && q.o.shard_n == p.o.shard_n);
		done(&q);
	}
	done(&p);
}

/* ---- whole numbers: --repeat, --seed, --pipe-capacity ------------------ */

/* The largest pipe capacity: what the kernel lets an unprivileged process
 * ask for (F_SETPIPE_SZ), /proc/sys/fs/pipe-max-size. */
static unsigned long long pipe_max(void)
{
	static unsigned long long max;
	if (!max) {
		FILE *f = fopen("/proc/sys/fs/pipe-max-size", "re");
		if (!f || fscanf(f, "%llu", &max) != 1)
			max = 1 << 20;
		if (f)
			fclose(f);
	}
	return max;
}

static void check_uint(const char *name, const char *v, unsigned long long min,
		       unsigned long long max)
{
	struct parsed p;
	parse_one(name, v, &p);
	unsigned long long want = 0;
	int ok = plain_uint(v, min, max, &want);
	CHECK(ok == (p.rc == 0));
	if (ok) {
		unsigned long long got = 0;
		if (!strcmp(name, "--repeat"))
			got = p.o.repeat;
		else if (!strcmp(name, "--seed"))
			got = p.o.cfg.seed;
		else if (!strcmp(name, "--pipe-capacity"))
			got = p.o.cfg.inject ? (unsigned long long)p.o.cfg.inject->pipe_capacity : 0;
		CHECK(got == want);
		char text[32];
		snprintf(text, sizeof text, "%llu", got);
		struct parsed q;
		parse_one(name, text, &q);
		CHECK(q.rc == 0);
		done(&q);
	}
	done(&p);
}

/* ---- --max-procs, --max-memory ------------------------------------------ */

/* --max-procs=N: 0 to 100000 (0: no limit) or "unlimited". */
static void check_max_procs(const char *v)
{
	struct parsed p;
	parse_one("--max-procs", v, &p);
	unsigned long long want = 0;
	int ok = !strcmp(v, "unlimited") || plain_uint(v, 0, 100000, &want);
	CHECK(ok == (p.rc == 0));
	if (ok)
		CHECK(p.o.cfg.max_procs == want);
	else
		CHECK(p.o.cfg.max_procs == MPT__DEFAULT_MAX_PROCS);
	done(&p);
}

/* --max-memory=SIZE: bytes or a number with K, M or G (x1024), at least
 * 1M, at most 2^50; 0 or "unlimited": no limit. The canonical text (the
 * largest unit that holds it whole) parses back to the same bytes. */
static void check_max_memory(const char *v)
{
	struct parsed p;
	parse_one("--max-memory", v, &p);
	unsigned long long want = 0;
	int ok = !strcmp(v, "unlimited");
	size_t len = strlen(v);
	/* (Text of 32 bytes or more is refused whatever its value.) */
	if (!ok && len > 0 && len < 32) {
		char last = v[len - 1];
		unsigned shift = strchr("kK", last) ? 10 : strchr("mM", last) ? 20
				 : strchr("gG", last) ? 30 : 0;
		char *num = strndup(v, shift ? len - 1 : len);
		ok = *num && plain_uint(num, 0, 1ULL << (50 - shift), &want);
		free(num);
		want <<= shift;
		ok = ok && (want == 0 || want >= 1ULL << 20);
	}
	CHECK(ok == (p.rc == 0));
	if (ok) {
		CHECK(p.o.cfg.max_memory == want);
		char text[32];
		if (want % (1ULL << 30) == 0)
			snprintf(text, sizeof text, "%lluG", want >> 30);
		else if (want % (1ULL << 20) == 0)
			snprintf(text, sizeof text, "%lluM", want >> 20);
		else if (want % (1ULL << 10) == 0)
			snprintf(text, sizeof text, "%lluK", want >> 10);
		else
			snprintf(text, sizeof text, "%llu", want);
		struct parsed q;
		parse_one("--max-memory", text, &q);
		CHECK(q.rc == 0 && q.o.cfg.max_memory == want);
		done(&q);
	}
	done(&p);
}

/* ---- -j N, -jN, --jobs=N ----------------------------------------------- */

static void check_jobs(const char *v)
{
	struct parsed a, b, c;
	char *argv_a[] = {PROG, "-j", (char *)v, NULL};
	char *glued = mpt__xasprintf("-j%s", v);
	char *argv_b[] = {PROG, glued, NULL};
	parse(argv_a, 3, &a);
	parse(argv_b, 2, &b);
	parse_one("--jobs", v, &c);
	unsigned long long want = 0;
	int ok = plain_uint(v, 1, 1024, &want);
	CHECK((a.rc == 0) == ok && (b.rc == 0) == ok && (c.rc == 0) == ok);
	if (ok)
		CHECK(a.o.cfg.jobs == (int)want && b.o.cfg.jobs == (int)want &&
		      c.o.cfg.jobs == (int)want);
	free(glued);
	done(&a);
	done(&b);
	done(&c);
}

/* ---- --faketime ---------------------------------------------------------- */

static void check_faketime(const char *v)
{
	struct parsed p;
	parse_one("--faketime", v, &p);
	CHECK(p.rc == 2); /* accepted or not, libfaketime is "missing" */
	if (mpt__faketime_spec_ok(v))
		CHECK(strstr(p.err, "libfaketime is not available"));
	else
		CHECK(strstr(p.err, "not a libfaketime time"));
	done(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char *v = strndup((const char *)data + 1, size - 1);
	CHECK(v);
	switch (data[0] % 10) {
	case 0: check_timeout(v); break;
	case 1: check_shard(v); break;
	case 2: check_uint("--repeat", v, 1, 1000000); break;
	case 3: check_uint("--seed", v, 0, ~0ULL); break;
	case 4: check_jobs(v); break;
	case 5: check_faketime(v); break;
	case 6: check_uint("--pipe-capacity", v, 1, pipe_max()); break;
	case 7: check_max_procs(v); break;
	case 8: check_max_memory(v); break;
	default:
		/* Any of them on the same value: acceptance is whatever the
		 * grammar says, never a crash. */
		check_timeout(v);
		check_shard(v);
		check_jobs(v);
		break;
	}
	free(v);
	return 0;
}
