#define _GNU_SOURCE
#include "harness.h"

#include <check.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *builddir(void)
{
	const char *d = getenv("top_builddir");
	return d && *d ? d : ".";
}

const char *srcdir(void)
{
	const char *d = getenv("top_srcdir");
	return d && *d ? d : ".";
}

/* Scratch directories: one root per selftest program, made before Check
 * forks its first test (/tmp/mptest-selftest-XXXXXX), and in it one
 * directory per test process. A test process removes its own when it ends
 * through exit() (a passing test); the program removes the root, and with
 * it what failed or killed tests left (Check ends a failed test with
 * _exit), when it ends. Tests read their files before they end, so
 * nothing they inspect goes early. MPT_SELFTEST_KEEP=1 keeps them all. */
#define SCRATCH_PREFIX "/tmp/mptest-selftest-"
static char scratch_root[64];
static pid_t scratch_root_owner;
static char scratch_dir[256];
static pid_t scratch_owner;

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		rmdir(path);
	else if (flag != FTW_D && flag != FTW_DNR)
		unlink(path);
	return 0; /* what cannot be removed (a leftover process's file) stays */
}

/* Removes dir and what is in it, if it is a directory of ours below the
 * scratch prefix: nftw does not follow symbolic links (FTW_PHYS) nor
 * cross into other file systems (FTW_MOUNT). */
static void remove_tree(const char *dir)
{
	struct stat st;
	if (!dir[0] || strncmp(dir, SCRATCH_PREFIX, strlen(SCRATCH_PREFIX)) != 0 ||
	    strstr(dir, "/..") || lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != getuid())
		return;
	const char *keep = getenv("MPT_SELFTEST_KEEP");
	if (keep && *keep && *keep != '0')
		return;
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static void remove_scratch_dir(void)
{
	if (scratch_owner == getpid())
		remove_tree(scratch_dir);
}

static void remove_scratch_root(void)
{
	if (scratch_root_owner == getpid())
		remove_tree(scratch_root);
}

const char *scratch_root_new(void)
{
	snprintf(scratch_root, sizeof scratch_root, SCRATCH_PREFIX "XXXXXX");
	if (!mkdtemp(scratch_root))
		abort();
	/* Registered once: a fork inherits the handler. */
	if (!scratch_root_owner)
		atexit(remove_scratch_root);
	scratch_root_owner = getpid();
	return scratch_root;
}

__attribute__((constructor)) static void make_scratch_root(void)
{
	scratch_root_new();
}

const char *scratch(void)
{
	if (scratch_owner != getpid()) {
		snprintf(scratch_dir, sizeof scratch_dir, "%s/t%d-XXXXXX", scratch_root,
			 (int)getpid());
		if (!mkdtemp(scratch_dir))
			abort();
		/* Registered once: a fork inherits the handler (and it acts
		 * only in the process whose directory scratch_dir names). */
		if (!scratch_owner)
			atexit(remove_scratch_dir);
		scratch_owner = getpid();
	}
	return scratch_dir;
}

char *bin(const char *rel)
{
	return path_in(builddir(), rel);
}

char *opt(const char *name, const char *value)
{
	char *p;
	if (asprintf(&p, "%s=%s", name, value) < 0)
		abort();
	return p;
}

void contains(const char *hay, const char *needle)
{
	ck_assert_msg(hay && strstr(hay, needle), "expected \"%s\" in \"%s\"", needle,
		      hay ? hay : "(null)");
}

json_object *expect_only(json_object *t, const char *name, const char *kind, const char *id)
{
	ck_assert_msg(t != NULL, "%s missing", name);
	ck_assert_str_eq(json_str(t, "status"), "fail");
	json_object *fs;
	ck_assert(json_object_object_get_ex(t, "findings", &fs));
	ck_assert_msg(json_object_array_length(fs) == 1, "%s: %zu findings: %s", name,
		      json_object_array_length(fs), json_object_to_json_string(fs));
	json_object *f = json_finding(t, kind);
	ck_assert_msg(f != NULL, "%s: no %s finding: %s", name, kind,
		      json_object_to_json_string(fs));
	if (id)
		ck_assert_str_eq(json_str(f, "process"), id);
	return f;
}

void expect_clean(json_object *t, const char *name)
{
	ck_assert_msg(t != NULL, "%s missing", name);
	json_object *fs;
	ck_assert(json_object_object_get_ex(t, "findings", &fs));
	ck_assert_msg(json_object_array_length(fs) == 0, "%s: %s", name,
		      json_object_to_json_string(fs));
	ck_assert_str_eq(json_str(t, "status"), "pass");
}

char *path_in(const char *dir, const char *name)
{
	char *p;
	if (asprintf(&p, "%s/%s", dir, name) < 0)
		abort();
	return p;
}

static char *slurp_fd(int fd)
{
	size_t cap = 4096, len = 0;
	char *b = malloc(cap);
	lseek(fd, 0, SEEK_SET);
	for (;;) {
		if (len + 1 >= cap)
			b = realloc(b, cap *= 2);
		ssize_t r = read(fd, b + len, cap - len - 1);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	b[len] = 0;
	return b;
}

/* Under MPT_SELFTEST_VALGRIND=1 our own programs (the runner is inside
 * each of them) run under memcheck, following forks; with -q Valgrind
 * writes nothing unless it found an error, so any non-empty log fails. */
static int our_program(const char *path)
{
	return strncmp(path, builddir(), strlen(builddir())) == 0;
}

static void check_valgrind_logs(const char *dir)
{
	char cmd[512];
	snprintf(cmd, sizeof cmd,
		 "find %s -type f -name 'vg.*' -size +0 2>/dev/null | head -3", dir);
	FILE *p = popen(cmd, "r");
	char file[512];
	int bad = 0;
	while (p && fgets(file, sizeof file, p)) {
		file[strcspn(file, "\n")] = 0;
		char show[600];
		snprintf(show, sizeof show, "cat '%s' >&2", file);
		if (system(show) != 0)
			fprintf(stderr, "(cannot show %s)\n", file);
		bad = 1;
	}
	if (p)
		pclose(p);
	if (bad) {
		fprintf(stderr, "valgrind reported errors in the framework (logs in %s)\n", dir);
		exit(1);
	}
}

struct run_result run_cmd(char *const argv[], char *const env[], int limit_s)
{
	struct run_result res = {0};
	const char *vg = getenv("MPT_SELFTEST_VALGRIND");
	int use_vg = vg && *vg && *vg != '0' && our_program(argv[0]);
	char vgdir[300] = "";
	char *vgargv[64];
	if (use_vg) {
		static int seq;
		snprintf(vgdir, sizeof vgdir, "%s/valgrind-%d", scratch(), seq++);
		mkdir(vgdir, 0755);
		static char logopt[400];
		snprintf(logopt, sizeof logopt, "--log-file=%s/vg.%%p", vgdir);
		int n = 0;
		vgargv[n++] = "valgrind";
		vgargv[n++] = "-q";
		vgargv[n++] = logopt;
		vgargv[n++] = "--leak-check=full";
		vgargv[n++] = "--show-leak-kinds=definite";
		vgargv[n++] = "--errors-for-leak-kinds=definite";
		for (int i = 0; argv[i] && n < 63; i++)
			vgargv[n++] = argv[i];
		vgargv[n] = NULL;
		argv = vgargv;
		limit_s *= 4;
	}
	FILE *o = tmpfile(), *e = tmpfile();
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t p = fork();
	if (p == 0) {
		dup2(fileno(o), 1);
		dup2(fileno(e), 2);
		int devnull = open("/dev/null", O_RDONLY);
		dup2(devnull, 0);
		/* Only 0, 1 and 2 reach the program. */
		if (devnull > 2)
			close(devnull);
		if (fileno(o) > 2)
			close(fileno(o));
		if (fileno(e) > 2)
			close(fileno(e));
		for (int i = 0; env && env[i]; i++)
			putenv(env[i]);
		execvp(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(126);
	}
	int st = 0;
	for (int waited = 0;; waited++) {
		pid_t r = waitpid(p, &st, WNOHANG);
		if (r == p)
			break;
		if (waited > limit_s * 200) {
			kill(p, SIGKILL);
			waitpid(p, &st, 0);
			break;
		}
		usleep(5000);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	res.seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	res.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	res.out = slurp_fd(fileno(o));
	res.err = slurp_fd(fileno(e));
	fclose(o);
	fclose(e);
	if (use_vg)
		check_valgrind_logs(vgdir);
	return res;
}

void run_free(struct run_result *r)
{
	free(r->out);
	free(r->err);
}

json_object *json_load(const char *path)
{
	return json_object_from_file(path);
}

json_object *json_test(json_object *report, const char *name)
{
	json_object *tests;
	if (!json_object_object_get_ex(report, "tests", &tests))
		return NULL;
	size_t n = json_object_array_length(tests);
	for (size_t i = 0; i < n; i++) {
		json_object *t = json_object_array_get_idx(tests, i);
		const char *nm = json_str(t, "name");
		if (nm && strcmp(nm, name) == 0)
			return t;
	}
	return NULL;
}

const char *json_str(json_object *o, const char *key)
{
	json_object *v;
	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

long long json_int(json_object *o, const char *key)
{
	json_object *v;
	if (!o || !json_object_object_get_ex(o, key, &v))
		return -1;
	return json_object_get_int64(v);
}

json_object *json_finding(json_object *test, const char *kind)
{
	json_object *fs;
	if (!test || !json_object_object_get_ex(test, "findings", &fs))
		return NULL;
	size_t n = json_object_array_length(fs);
	for (size_t i = 0; i < n; i++) {
		json_object *f = json_object_array_get_idx(fs, i);
		const char *k = json_str(f, "kind");
		if (k && strcmp(k, kind) == 0)
			return f;
	}
	return NULL;
}

int json_count_kind(json_object *test, const char *kind)
{
	json_object *fs;
	if (!test || !json_object_object_get_ex(test, "findings", &fs))
		return -1;
	int c = 0;
	size_t n = json_object_array_length(fs);
	for (size_t i = 0; i < n; i++) {
		const char *k = json_str(json_object_array_get_idx(fs, i), "kind");
		if (k && strcmp(k, kind) == 0)
			c++;
	}
	return c;
}

const char *proc_stat(int pid)
{
	static char buf[512];
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return "(gone)";
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return buf;
}

int alive(int pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	char *rp = strrchr(buf, ')');
	return rp && rp[2] != 'Z' && rp[2] != 'X';
}

int read_int_file(const char *path)
{
	FILE *f = fopen(path, "r");
	int v = -1;
	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

int count_str(const char *hay, const char *needle)
{
	int c = 0;
	size_t n = strlen(needle);
	for (const char *p = hay; (p = strstr(p, needle)); p += n)
		c++;
	return c;
}

/* In the ASan build the selftest driver itself keeps its small strings for
 * the life of each Check test; leak checking is for the framework, which
 * runs in the test programs this driver starts. */
__attribute__((visibility("default"))) const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}
