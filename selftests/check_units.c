/* Unit tests of the parsers and escapers every report depends on. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../framework/core/kinds.h"
#include "../framework/core/util.h"
#include "../framework/report/report.h"

START_TEST(durations)
{
	int64_t ns;
	const char *why;
	ck_assert_int_eq(mpt__parse_duration("30", &ns, &why), 0);
	ck_assert_int_eq(ns, 30000000000LL);
	ck_assert_int_eq(mpt__parse_duration("250ms", &ns, &why), 0);
	ck_assert_int_eq(ns, 250000000LL);
	ck_assert_int_eq(mpt__parse_duration("1.5s", &ns, &why), 0);
	ck_assert_int_eq(ns, 1500000000LL);
	ck_assert_int_eq(mpt__parse_duration("2m", &ns, &why), 0);
	ck_assert_int_eq(ns, 120000000000LL);
	ck_assert_int_eq(mpt__parse_duration("100us", &ns, &why), 0);
	ck_assert_int_eq(ns, 100000LL);
	const char *bad[] = {"", "s", "-1s", "1x", "1.5.5s", "0", "0ms", ".", "1e3s", "99999999999999h"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		ck_assert_msg(mpt__parse_duration(bad[i], &ns, &why) == -1, "accepted %s", bad[i]);
	ck_assert_ptr_nonnull(strstr(why, "250ms"));
}
END_TEST

START_TEST(unsigned_numbers)
{
	unsigned long long v;
	ck_assert_int_eq(mpt__parse_uint("42", 0, 100, &v), 0);
	ck_assert_int_eq(v, 42);
	ck_assert_int_eq(mpt__parse_uint("101", 0, 100, &v), -1);
	ck_assert_int_eq(mpt__parse_uint("0", 1, 100, &v), -1);
	ck_assert_int_eq(mpt__parse_uint("18446744073709551615", 0, ~0ULL, &v), 0);
	ck_assert_int_eq(mpt__parse_uint("18446744073709551616", 0, ~0ULL, &v), -1);
	ck_assert_int_eq(mpt__parse_uint("4x", 0, 100, &v), -1);
	ck_assert_int_eq(mpt__parse_uint("", 0, 100, &v), -1);
}
END_TEST

START_TEST(kinds_round_trip)
{
	for (int k = 0; k < MPT__K_COUNT; k++)
		ck_assert_int_eq(mpt__kind_parse(mpt__kind_name(k)), k);
	ck_assert_int_eq(mpt__kind_parse("zombies"), -1);
	ck_assert_str_eq(mpt__kind_name(MPT__K_LEAKED_PROCESS), "leaked-process");
}
END_TEST

static char *escaped(void (*fn)(FILE *, const char *, size_t), const char *s, size_t n)
{
	char *buf;
	size_t len;
	FILE *f = open_memstream(&buf, &len);
	fn(f, s, n);
	fclose(f);
	return buf;
}

START_TEST(json_escapes_anything)
{
	static const char in[] = "a\"b\\c\n\x01\xff\xc3\xa9\xe2\x82";
	char *out = escaped(mpt__json_string, in, sizeof in - 1);
	/* The quote and backslash escaped, a control byte as \u, invalid
	 * bytes (0xff, the truncated sequence) as U+FFFD, é kept. */
	ck_assert_str_eq(out, "\"a\\\"b\\\\c\\n\\u0001\\ufffd\xc3\xa9\\ufffd\\ufffd\"");
	free(out);
}
END_TEST

START_TEST(xml_escapes_anything)
{
	static const char in[] = "<a>&]]>\x1b\x01ok\xff\xef\xbf\xbe";
	char *out = escaped(mpt__xml_text, in, sizeof in - 1);
	ck_assert_str_eq(out, "&lt;a&gt;&amp;]]&gt;\\x1b\\x01ok\\xff\\xfffe");
	free(out);
}
END_TEST

static int write_hello(FILE *f, void *arg)
{
	fputs(arg, f);
	return 0;
}

START_TEST(atomic_files)
{
	char dir[] = "/tmp/mptest-unit-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char path[128];
	snprintf(path, sizeof path, "%s/r.json", dir);
	ck_assert_int_eq(mpt__write_atomic(path, write_hello, "hello"), 0);
	char buf[16] = {0};
	FILE *f = fopen(path, "r");
	ck_assert_uint_eq(fread(buf, 1, sizeof buf - 1, f), 5);
	fclose(f);
	ck_assert_str_eq(buf, "hello");
	snprintf(path, sizeof path, "%s/missing-dir/r.json", dir);
	ck_assert_int_eq(mpt__write_atomic(path, write_hello, "x"), -1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("units");
	TCase *t = tcase_create("units");
	tcase_add_test(t, durations);
	tcase_add_test(t, unsigned_numbers);
	tcase_add_test(t, kinds_round_trip);
	tcase_add_test(t, json_escapes_anything);
	tcase_add_test(t, xml_escapes_anything);
	tcase_add_test(t, atomic_files);
	suite_add_tcase(s, t);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
