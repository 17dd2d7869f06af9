/* libFuzzer harness for test selection (framework/cli/options.c):
 * --filter=GLOB, as parsed by mpt__parse_opts and matched by
 * mpt__opts_selects on "suite/name", and --shard=K/N over the filtered
 * list (mpt__opts_in_shard), as mpt_main uses them.
 *
 * Input: byte 0: the number of filters (0-3) and of shards (1-8); the rest,
 * split at NUL and newline bytes, is the filters and then test names.
 * Besides what the sanitizers catch (and libFuzzer's timeout: a glob that
 * takes seconds to match is a finding too), it checks:
 *  - the filter is kept as given, and with no filter every test runs;
 *    an empty filter is refused (empty tokens are not used otherwise);
 *  - several filters select exactly the tests any one of them selects;
 *  - a name with its glob characters escaped selects that name, "*"
 *    selects every name, and "*GLOB" selects whatever GLOB does;
 *  - the shards 1..N of the filtered list are disjoint and cover it,
 *    and their sizes differ by at most one. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../framework/cli/options.h"
#include "../../framework/core/util.h"
#include "fuzz.h"

#define PROG "fz"
#define MAX_TOKENS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The options of one command line and the argv they point into. */
struct sel {
	struct mpt__opts o;
	char *argv[MAX_TOKENS + 3];
	int argc;
};

/* Parses --filter=F for each of the filters, and --shard=K/N when n > 0. */
static void parse(char **filters, int nf, unsigned k, unsigned n, struct sel *s)
{
	s->argc = 0;
	s->argv[s->argc++] = mpt__xstrdup(PROG);
	for (int i = 0; i < nf; i++)
		s->argv[s->argc++] = mpt__xasprintf("--filter=%s", filters[i]);
	if (n)
		s->argv[s->argc++] = mpt__xasprintf("--shard=%u/%u", k, n);
	s->argv[s->argc] = NULL;
	memset(&s->o, 0, sizeof s->o);
	s->o.cfg.prog = PROG;
	CHECK(mpt__parse_opts(s->argc, s->argv, MPT__MODE_TESTS, &s->o) == 0);
	CHECK(s->o.nfilters == nf);
	for (int i = 0; i < nf; i++)
		CHECK(!strcmp(s->o.filters[i], filters[i]));
}

static void drop(struct sel *s)
{
	mpt__opts_free(&s->o);
	for (int i = 0; i < s->argc; i++)
		free(s->argv[i]);
}

/* GLOB that matches exactly name: every glob character escaped. */
static char *escaped(const char *name)
{
	char *e = mpt__xmalloc(2 * strlen(name) + 1), *q = e;
	for (const char *p = name; *p; p++) {
		if (strchr("*?[]\\", *p))
			*q++ = '\\';
		*q++ = *p;
	}
	*q = 0;
	return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int nf = data[0] & 3;
	unsigned nshards = 1 + ((data[0] >> 2) & 7);
	char *text = malloc(size);
	CHECK(text);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = 0;
	char *tok[MAX_TOKENS];
	int ntok = 0;
	size_t start = 0;
	for (size_t i = 0; i <= size - 1 && ntok < MAX_TOKENS; i++) {
		if (i == size - 1 || text[i] == 0 || text[i] == '\n') {
			text[i] = 0;
			if (text[start])
				tok[ntok++] = text + start;
			start = i + 1;
		}
	}
	if (nf > ntok)
		nf = ntok;
	char **filters = tok, **names = tok + nf;
	int nnames = ntok - nf;

	struct mpt__opts empty = {.cfg.prog = PROG};
	char *eargv[] = {PROG, "--filter=", NULL};
	char *msg = NULL;
	size_t msglen = 0;
	FILE *saved = stderr;
	stderr = open_memstream(&msg, &msglen); /* the message is not the point */
	CHECK(stderr);
	int rc = mpt__parse_opts(2, eargv, MPT__MODE_TESTS, &empty);
	fclose(stderr);
	stderr = saved;
	free(msg);
	CHECK(rc == 2);
	mpt__opts_free(&empty);

	struct sel all, none, one[3];
	parse(filters, nf, 0, 0, &all);
	parse(NULL, 0, 0, 0, &none);
	for (int i = 0; i < nf; i++)
		parse(filters + i, 1, 0, 0, &one[i]);

	int selected[MAX_TOKENS];
	int nsel = 0;
	for (int j = 0; j < nnames; j++) {
		const char *name = names[j];
		CHECK(mpt__opts_selects(&none.o, name));
		int any = 0;
		for (int i = 0; i < nf; i++) {
			int s = mpt__opts_selects(&one[i].o, name);
			CHECK(s == 0 || s == 1);
			any |= s;
			if (s) {
				/* "*GLOB" selects whatever GLOB does. */
				char *star = mpt__xasprintf("*%s", filters[i]);
				struct sel w;
				parse(&star, 1, 0, 0, &w);
				CHECK(mpt__opts_selects(&w.o, name));
				drop(&w);
				free(star);
			}
		}
		CHECK(mpt__opts_selects(&all.o, name) == (nf ? any : 1));
		if (any || !nf)
			selected[nsel++] = j;

		char *lit = escaped(name), *star = "*";
		struct sel l, s;
		parse(&lit, 1, 0, 0, &l);
		parse(&star, 1, 0, 0, &s);
		CHECK(mpt__opts_selects(&l.o, name));
		CHECK(mpt__opts_selects(&s.o, name));
		for (int i = 0; i < nnames; i++)
			CHECK(mpt__opts_selects(&l.o, names[i]) == !strcmp(names[i], name));
		drop(&l);
		drop(&s);
		free(lit);
	}

	/* The shards of the filtered list: disjoint, covering, balanced. */
	int owner[MAX_TOKENS];
	unsigned per[9] = {0};
	for (int j = 0; j < nsel; j++)
		owner[j] = 0;
	for (unsigned k = 1; k <= nshards; k++) {
		struct sel sh;
		parse(filters, nf, k, nshards, &sh);
		for (int j = 0; j < nsel; j++)
			if (mpt__opts_in_shard(&sh.o, (unsigned long long)j)) {
				CHECK(owner[j] == 0);
				owner[j] = (int)k;
				per[k]++;
			}
		drop(&sh);
	}
	for (int j = 0; j < nsel; j++)
		CHECK(owner[j] != 0);
	for (unsigned k = 1; k <= nshards; k++)
		CHECK(per[k] + 1 >= per[1] && per[k] <= per[1]);

	drop(&all);
	drop(&none);
	for (int i = 0; i < nf; i++)
		drop(&one[i]);
	free(text);
	return 0;
}
