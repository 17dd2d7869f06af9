/* Security hygiene (issue 9, item 5), each point asserted from outside:
 *  - a test's processes get no descriptor of the harness but 0, 1, 2 and
 *    the session region's, and the runner's own are all close-on-exec;
 *  - the session region is a memfd, with no guessable name anywhere;
 *  - reports are 0644 (narrowed by a stricter umask), written through a
 *    temporary file renamed into place, a symlink at the target replaced,
 *    an unwritable target refused at once with exit 2;
 *  - a test's environment is the runner's plus the documented MPT_*
 *    variables and LD_PRELOAD, nothing else.
 * The runner is started here with a known environment and only 0, 1 and 2
 * open (not through run_cmd, whose descriptors it would inherit), so what a
 * test sees beyond that comes from the harness. */
#define _GNU_SOURCE
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0)
		abort();
	va_end(ap);
	return p;
}

/* Variables a test may find that its runner did not have (README.md,
 * "Environment"): the region descriptor, the preload library, the token
 * of the subreaper containment. */
static const char *const documented[] = {"MPT_REGION_FD", "LD_PRELOAD",
					 "MPT_TEST_TOKEN", NULL};

struct clean_run {
	int status;
	char *out, *err;
};

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return strdup("");
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		fwrite(chunk, 1, n, m);
	fclose(m);
	fclose(f);
	return buf;
}

/* MPT_PRELOAD for the runner, when not this build's. */
static const char *preload_override;

/* The environment the runner is started with: fixed entries, the
 * sanitizer and containment settings of this run, and extra ones. */
static char **known_env(const char *env_out)
{
	static char *env[32];
	int n = 0;
	env[n++] = "PATH=/usr/bin:/bin";
	env[n++] = "HOME=/nonexistent-home";
	env[n++] = "LANG=C";
	env[n++] = "SEC_USER_VAR=a value with spaces=and an equals sign";
	env[n++] = opt("MPT_PRELOAD", preload_override ? preload_override
				     : getenv("MPT_PRELOAD") ? getenv("MPT_PRELOAD") : "");
	env[n++] = opt("SEC_PLAIN", bin("selftests/plain/security"));
	env[n++] = opt("SEC_ENV_OUT", env_out ? env_out : "/nonexistent");
	static const char *const pass[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS",
					   "MPT_NO_CGROUP", "MPT_TIMEOUT_MULTIPLIER", NULL};
	for (int i = 0; pass[i]; i++)
		if (getenv(pass[i]))
			env[n++] = opt(pass[i], getenv(pass[i]));
	env[n] = NULL;
	return env;
}

/* Runs argv with env and only 0, 1, 2 open — and keep_fd too when >= 0. */
static struct clean_run run_clean(char *const argv[], char *const env[], int keep_fd)
{
	struct clean_run r = {0};
	char *out = path_in(scratch(), "clean.out"), *err = path_in(scratch(), "clean.err");
	pid_t p = fork();
	ck_assert_int_ge(p, 0);
	if (p == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int i = open("/dev/null", O_RDONLY);
		if (o < 0 || e < 0 || i < 0)
			_exit(126);
		dup2(i, 0);
		dup2(o, 1);
		dup2(e, 2);
		for (int fd = 3; fd < 1024; fd++)
			if (fd != keep_fd)
				close(fd);
		execve(argv[0], argv, env);
		_exit(127);
	}
	int st;
	while (waitpid(p, &st, 0) < 0 && errno == EINTR)
		;
	r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r.out = slurp(out);
	r.err = slurp(err);
	free(out);
	free(err);
	return r;
}

static void clean_free(struct clean_run *r)
{
	free(r->out);
	free(r->err);
}

static struct clean_run api(const char *test, const char *env_out, int keep_fd)
{
	char *prog = bin("selftests/progs/security");
	char *filter = opt("--filter", test);
	char *argv[] = {prog, filter, "--verbose", NULL};
	struct clean_run r = run_clean(argv, known_env(env_out), keep_fd);
	free(prog);
	free(filter);
	return r;
}

static struct clean_run plain(const char *mode, const char *env_out, int keep_fd)
{
	char *mpt_run = bin("mpt-run"), *prog = bin("selftests/plain/security");
	char *argv[] = {mpt_run, "--verbose", "--", prog, (char *)mode, NULL};
	struct clean_run r = run_clean(argv, known_env(env_out), keep_fd);
	free(mpt_run);
	free(prog);
	return r;
}

#define EXPECT_PASS(r)                                                          \
	ck_assert_msg((r).status == 0, "exit %d\nstdout:\n%s\nstderr:\n%s",     \
		      (r).status, (r).out, (r).err)

/* ---- descriptors --------------------------------------------------------- */

START_TEST(api_test_gets_no_harness_fd)
{
	struct clean_run r = api("security/no_stray_fds", NULL, -1);
	EXPECT_PASS(r);
	ck_assert_ptr_null(strstr(r.out, "stray descriptor"));
	clean_free(&r);
}
END_TEST

/* A test program that cannot find libmptest-preload.so passes no region
 * descriptor on: nothing would read it (unless the library is installed
 * where configure said, when it is found and passed as above). */
START_TEST(no_preload_no_region_fd)
{
	preload_override = "/nonexistent/libmptest-preload.so";
	struct clean_run r = api("security/no_stray_fds", NULL, -1);
	preload_override = NULL;
	EXPECT_PASS(r);
	ck_assert_ptr_null(strstr(r.out, "stray descriptor"));
	clean_free(&r);
}
END_TEST

START_TEST(runner_fds_are_cloexec)
{
	struct clean_run r = api("security/runner_fds_cloexec", NULL, -1);
	EXPECT_PASS(r);
	clean_free(&r);
}
END_TEST

START_TEST(mpt_run_program_gets_no_harness_fd)
{
	struct clean_run r = plain("fds", NULL, -1);
	EXPECT_PASS(r);
	clean_free(&r);
}
END_TEST

/* The twin: a descriptor the runner was given is passed on (it is the
 * user's), and the checks above see it — so they would see one of the
 * harness's. */
START_TEST(stray_fd_is_seen)
{
	int fd = open("/dev/null", O_RDONLY);
	ck_assert_int_ge(fd, 3);
	int high = fcntl(fd, F_DUPFD, 77);
	close(fd);
	ck_assert_int_eq(high, 77);
	struct clean_run r = api("security/no_stray_fds", NULL, high);
	ck_assert_int_eq(r.status, 1);
	contains(r.out, "stray descriptor 77 -> /dev/null");
	clean_free(&r);
	r = plain("fds", NULL, high);
	ck_assert_int_eq(r.status, 1);
	contains(r.out, "stray descriptor 77 -> /dev/null");
	clean_free(&r);
	close(high);
}
END_TEST

/* ---- the session region ---------------------------------------------------- */

START_TEST(region_is_a_memfd)
{
	struct clean_run r = api("security/region_is_memfd", NULL, -1);
	EXPECT_PASS(r);
	clean_free(&r);
}
END_TEST

/* ---- the environment --------------------------------------------------------- */

static int has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, line, n) && (p[n] == '\n' || p[n] == 0))
			return 1;
	return 0;
}

/* Every entry of env_file is one the runner had, or a documented one;
 * every entry the runner had is there (LD_PRELOAD may be extended). */
static void compare_env(const char *env_file, char **runner_env)
{
	char *seen = slurp(env_file);
	ck_assert_msg(*seen, "the test wrote no environment to %s", env_file);
	for (char *line = seen; *line;) {
		char *end = strchr(line, '\n');
		if (end)
			*end = 0;
		int known = 0;
		for (int i = 0; runner_env[i]; i++)
			known |= !strcmp(runner_env[i], line);
		for (int i = 0; documented[i] && !known; i++)
			known |= !strncmp(line, documented[i], strlen(documented[i])) &&
				 line[strlen(documented[i])] == '=';
		ck_assert_msg(known, "the test was given %s, which the runner did not "
			      "have and README.md does not document", line);
		if (!end)
			break;
		*end = '\n';
		line = end + 1;
	}
	for (int i = 0; runner_env[i]; i++)
		ck_assert_msg(has_line(seen, runner_env[i]) || !strncmp(runner_env[i], "LD_PRELOAD=", 11),
			      "the test lost %s", runner_env[i]);
	contains(seen, "MPT_REGION_FD=");
	contains(seen, "LD_PRELOAD=");
	free(seen);
}

START_TEST(api_environment)
{
	char *out = path_in(scratch(), "api.env");
	unlink(out);
	struct clean_run r = api("security/environment", out, -1);
	EXPECT_PASS(r);
	compare_env(out, known_env(out));
	clean_free(&r);
	free(out);
}
END_TEST

START_TEST(mpt_run_environment)
{
	char *out = path_in(scratch(), "plain.env");
	unlink(out);
	struct clean_run r = plain("env", out, -1);
	EXPECT_PASS(r);
	compare_env(out, known_env(out));
	clean_free(&r);
	free(out);
}
END_TEST

/* ---- report files ------------------------------------------------------------ */

static mode_t mode_of(const char *path)
{
	struct stat st;
	ck_assert_msg(lstat(path, &st) == 0, "%s: %s", path, strerror(errno));
	ck_assert_msg(S_ISREG(st.st_mode), "%s is not a regular file", path);
	return st.st_mode & 07777;
}

/* Only the given names in dir: no temporary file left behind. */
static void only_files(const char *dir, const char *const *names)
{
	DIR *d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		int ok = 0;
		for (int i = 0; names[i]; i++)
			ok |= !strcmp(e->d_name, names[i]);
		ck_assert_msg(ok, "%s/%s left behind", dir, e->d_name);
	}
	closedir(d);
}

/* mpt-run --json=DIR/r.json --junit=DIR/r.xml under umask mask. */
static struct clean_run run_reports(const char *json, const char *junit, mode_t mask)
{
	char *mpt_run = bin("mpt-run"), *j = opt("--json", json), *x = opt("--junit", junit);
	char *argv[] = {mpt_run, "--quiet", j, x, "--", "/bin/true", NULL};
	mode_t old = umask(mask);
	struct clean_run r = run_clean(argv, known_env(NULL), -1);
	umask(old);
	free(mpt_run);
	free(j);
	free(x);
	return r;
}

START_TEST(reports_are_0644_whatever_the_umask)
{
	char *dir = path_in(scratch(), "reports-mode");
	mkdir(dir, 0755);
	char *json = path_in(dir, "r.json"), *junit = path_in(dir, "r.xml");
	static const char *const names[] = {"r.json", "r.xml", NULL};

	struct clean_run r = run_reports(json, junit, 0);
	EXPECT_PASS(r);
	ck_assert_int_eq(mode_of(json), 0644);
	ck_assert_int_eq(mode_of(junit), 0644);
	only_files(dir, names);
	clean_free(&r);

	/* A stricter umask is respected. */
	r = run_reports(json, junit, 077);
	EXPECT_PASS(r);
	ck_assert_int_eq(mode_of(json), 0600);
	ck_assert_int_eq(mode_of(junit), 0600);
	only_files(dir, names);
	clean_free(&r);

	json_object *rep = json_load(json);
	ck_assert_ptr_nonnull(rep);
	json_object_put(rep);
	unlink(json);
	unlink(junit);
	rmdir(dir);
	free(json);
	free(junit);
	free(dir);
}
END_TEST

/* A symlink at the report's path is replaced by the report; the file it
 * pointed to is left as it was. */
START_TEST(report_replaces_a_symlink)
{
	char *dir = path_in(scratch(), "reports-link");
	mkdir(dir, 0755);
	char *json = path_in(dir, "r.json"), *junit = path_in(dir, "r.xml");
	char *victim = path_in(dir, "victim");
	FILE *f = fopen(victim, "we");
	ck_assert_ptr_nonnull(f);
	fputs("keep me\n", f);
	fclose(f);
	ck_assert_int_eq(symlink(victim, json), 0);
	struct clean_run r = run_reports(json, junit, 022);
	EXPECT_PASS(r);
	ck_assert_int_eq(mode_of(json), 0644); /* lstat: a file, not the link */
	char *kept = slurp(victim);
	ck_assert_str_eq(kept, "keep me\n");
	free(kept);
	static const char *const names[] = {"r.json", "r.xml", "victim", NULL};
	only_files(dir, names);
	clean_free(&r);
	unlink(json);
	unlink(junit);
	unlink(victim);
	rmdir(dir);
	free(json);
	free(junit);
	free(victim);
	free(dir);
}
END_TEST

/* A report that cannot be written is refused before anything runs: one
 * line naming the option and why, exit 2. */
START_TEST(unwritable_report_refused_at_once)
{
	char *file = path_in(scratch(), "a-file");
	FILE *f = fopen(file, "we");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	char *under_file = path_in(file, "r.json");
	const char *paths[] = {"/nonexistent-mptest-dir/r.json", under_file, NULL};
	const char *whys[] = {"No such file or directory", "not a directory", NULL};
	for (int i = 0; paths[i]; i++) {
		char *mpt_run = bin("mpt-run"), *j = opt("--json", paths[i]);
		char *marker = path_in(scratch(), "ran");
		unlink(marker);
		char *script = xasprintf("touch '%s'", marker);
		char *argv[] = {mpt_run, j, "--", "/bin/sh", "-c", script, NULL};
		struct clean_run r = run_clean(argv, known_env(NULL), -1);
		ck_assert_msg(r.status == 2, "exit %d: %s", r.status, r.err);
		char *want = xasprintf("mpt-run: %s — its directory", j);
		contains(r.err, whys[i]);
		contains(r.err, want);
		ck_assert_int_eq(count_str(r.err, "\n"), 1);
		ck_assert_msg(access(marker, F_OK) != 0, "the program ran anyway");
		free(want);
		free(script);
		free(marker);
		free(mpt_run);
		free(j);
		clean_free(&r);
	}
	free(under_file);
	unlink(file);
	free(file);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("security");
	TCase *t = tcase_create("hygiene");
	tcase_set_timeout(t, 60);
	tcase_add_test(t, api_test_gets_no_harness_fd);
	tcase_add_test(t, no_preload_no_region_fd);
	tcase_add_test(t, runner_fds_are_cloexec);
	tcase_add_test(t, mpt_run_program_gets_no_harness_fd);
	tcase_add_test(t, stray_fd_is_seen);
	tcase_add_test(t, region_is_a_memfd);
	tcase_add_test(t, api_environment);
	tcase_add_test(t, mpt_run_environment);
	tcase_add_test(t, reports_are_0644_whatever_the_umask);
	tcase_add_test(t, report_replaces_a_symlink);
	tcase_add_test(t, unwritable_report_refused_at_once);
	suite_add_tcase(s, t);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
