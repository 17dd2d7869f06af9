/* libFuzzer harness for the fault-rule parser (framework/plan/rules.c) and
 * the duration parser it uses (mpt__parse_duration, framework/core/util.c).
 * Built and run by run.sh. Besides what the sanitizers catch, it checks the
 * contracts the rest of mptest relies on:
 *  - a rejected rule gets a one-line message that fits the documented
 *    bound, says what was expected, and never overruns a small buffer;
 *  - an accepted rule formats to text that parses back to the same rule
 *    (a delay may come back within a nanosecond per 1e9 when it is too
 *    long and odd to print exactly), and formats the same again;
 *  - a decision is the same every time it is asked. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../framework/core/util.h"
#include "../../framework/plan/rules.h"
#include "fuzz.h"

static void check_duration(const char *text)
{
	int64_t ns = -42;
	const char *why = NULL;
	if (mpt__parse_duration(text, &ns, &why) == 0) {
		CHECK(ns >= 1 && ns <= 1000000000000000000LL);
	} else {
		CHECK(why && strstr(why, "duration"));
		CHECK(ns == -42);
	}
}

static int same_delay(int64_t a, int64_t b)
{
	int64_t d = a > b ? a - b : b - a;
	return d <= 1 + a / 1000000000;
}

static void check_rejected(const char *text, const char *err)
{
	size_t len = strlen(err);
	CHECK(len > 0);
	CHECK(len < MPT__RULE_TEXT_SIZE - 1);	/* not cut short */
	CHECK(!strchr(err, '\n') && !strchr(err, '\r'));
	CHECK(strstr(err, " (expected "));
	CHECK(err[len - 1] == ')');

	/* A small buffer gets a cut, terminated message and no more. */
	char small[24];
	size_t cap = (strlen(text) % (sizeof small - 1)) + 1;
	memset(small, 'Z', sizeof small);
	struct mpt__rule r;
	CHECK(mpt__rule_parse(text, &r, small, cap) == -1);
	CHECK(memchr(small, 0, cap) != NULL);
	for (size_t i = cap; i < sizeof small; i++)
		CHECK(small[i] == 'Z');
	CHECK(mpt__rule_parse(text, &r, NULL, 0) == -1);
}

static void check_accepted(const char *text, const struct mpt__rule *r,
			   const char *err, const uint8_t *data, size_t size)
{
	CHECK(err[0] == 0);
	CHECK(memchr(r->name, 0, sizeof r->name));
	CHECK(memchr(r->process, 0, sizeof r->process));

	char buf[MPT__RULE_TEXT_SIZE], again[MPT__RULE_TEXT_SIZE];
	char e2[MPT__RULE_TEXT_SIZE];
	int n = mpt__rule_format(r, buf, sizeof buf);
	CHECK(n > 0 && (size_t)n < sizeof buf && (size_t)n == strlen(buf));

	struct mpt__rule back;
	if (mpt__rule_parse(buf, &back, e2, sizeof e2) != 0) {
		fprintf(stderr, "fuzz_rules: \"%s\" formats as \"%s\", which "
			"does not parse: %s\n", text, buf, e2);
		abort();
	}
	struct mpt__rule cmp = back;
	if (r->action == MPT__RULE_DELAY && back.action == MPT__RULE_DELAY &&
	    same_delay(r->value, back.value))
		cmp.value = r->value;
	if (memcmp(r, &cmp, sizeof cmp) != 0) {
		fprintf(stderr, "fuzz_rules: \"%s\" formats as \"%s\", which "
			"parses to a different rule\n", text, buf);
		abort();
	}
	if (cmp.value == back.value) {
		CHECK(mpt__rule_format(&back, again, sizeof again) == n);
		CHECK(strcmp(buf, again) == 0);
	}

	/* Decisions: pure, whatever the numbers. */
	uint64_t seed = 0, count = 0;
	for (size_t i = 0; i < size; i++) {
		seed = seed * 131 + data[i];
		count = count * 31 + data[i];
	}
	static const char *const ids[] = { "p0", "p0.1", "p0.2.7", "", NULL };
	static const uint64_t counts[] = { 0, 1, 2, 3, 1000, UINT64_MAX };
	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		for (size_t j = 0; j < sizeof counts / sizeof counts[0]; j++) {
			int a = mpt__rule_fires(r, seed, ids[i], counts[j]);
			CHECK(a == 0 || a == 1);
			CHECK(a == mpt__rule_fires(&back, seed, ids[i], counts[j]));
		}
		int a = mpt__rule_fires(r, seed, ids[i], count);
		CHECK(a == mpt__rule_fires(r, seed, ids[i], count));
		int m = mpt__rule_matches_process(r, ids[i], "prog");
		CHECK(m == 0 || m == 1);
		CHECK(m == mpt__rule_matches_process(r, ids[i], "prog"));
		(void)mpt__rule_matches_process(r, ids[i], NULL);
		(void)mpt__rule_matches_process(r, ids[i], text);
	}
	(void)mpt__rule_matches_process(r, text, text);
	(void)mpt__rule_fires(r, seed, text, count);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;

	check_duration(text);

	struct mpt__rule r;
	char err[MPT__RULE_TEXT_SIZE];
	memset(err, 'Z', sizeof err);
	if (mpt__rule_parse(text, &r, err, sizeof err) == 0)
		check_accepted(text, &r, err, data, size);
	else
		check_rejected(text, err);

	/* The same bytes as a damaged rule read from shared memory. */
	struct mpt__rule raw;
	memset(&raw, 0, sizeof raw);
	memcpy(&raw, data, size < sizeof raw ? size : sizeof raw);
	char buf[MPT__RULE_TEXT_SIZE];
	int n = mpt__rule_format(&raw, buf, sizeof buf);
	CHECK(n == -1 || (n > 0 && (size_t)n < sizeof buf));
	if (n > 0) {
		/* Whatever formats, parses. */
		struct mpt__rule back;
		if (mpt__rule_parse(buf, &back, err, sizeof err) != 0) {
			fprintf(stderr, "fuzz_rules: a raw rule formats as "
				"\"%s\", which does not parse: %s\n", buf, err);
			abort();
		}
	}
	(void)mpt__rule_fires(&raw, 1, "p0", 3);
	(void)mpt__rule_matches_process(&raw, "p0.1", "prog");

	free(text);
	return 0;
}
