/* mptest — a test harness for multi-process C code.
 *
 * Write tests with MPT_TEST(suite, name) and build them with
 *   cc t.c $(pkg-config --cflags --libs mptest)
 * libmptest supplies main(); a program with its own main() calls mpt_main().
 * Every test runs in its own process tree; an assertion that fails in any
 * process of that tree (a plain fork() child included) fails the test. */
#ifndef MPTEST_H
#define MPTEST_H

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Exported from libmptest (built with -fvisibility=hidden). */
#define MPT_API __attribute__((visibility("default")))

/* Finding kinds, as bits for the .allow option of MPT_TEST. */
#define MPT_ALLOW_ZOMBIE            (1u << 0)
#define MPT_ALLOW_LEAKED_PROCESS    (1u << 1)
#define MPT_ALLOW_FD_LEAK           (1u << 2)
#define MPT_ALLOW_LOCK_HELD         (1u << 3)
#define MPT_ALLOW_DEADLOCK          (1u << 4)
#define MPT_ALLOW_TIMEOUT           (1u << 5)
#define MPT_ALLOW_CRASH             (1u << 6)
#define MPT_ALLOW_STDIO_DUPLICATE   (1u << 7)
#define MPT_ALLOW_FORK_WITH_THREADS (1u << 8)
#define MPT_ALLOW_ASSERTION         (1u << 9)
#define MPT_ALLOW_EXIT_STATUS       (1u << 10)
#define MPT_ALLOW_VALGRIND          (1u << 11)
#define MPT_ALLOW_RESOURCE_LIMIT    (1u << 12)

/* Per-test options, given as designated initializers after the name:
 *   MPT_TEST(pipes, slow, .timeout_ms = 5000, .allow = MPT_ALLOW_FD_LEAK) */
struct mpt_test_options {
	int mpt__reserved;   /* keeps the initializer list non-empty; ignore */
	int timeout_ms;      /* 0: the run's timeout (default 30 s) */
	unsigned allow;      /* MPT_ALLOW_* bits: finding kinds not reported */
	int skip;            /* non-zero: the test is listed but not run */
};

/* One registered test; built by MPT_TEST, never by hand. */
struct mpt_test {
	const char *suite;
	const char *name;
	const char *file;
	int line;
	void (*fn)(void);
	struct mpt_test_options opt;
	struct mpt_test *mpt__next;
};

MPT_API void mpt_register(struct mpt_test *t);

#define MPT__ID(p, s, n) p##s##__##n

/* Defines and registers a test; the block that follows is its body.
 * Tests are found without a registration list (a constructor per test).
 * MPT_TEST(suite, name) passes MPT__TEST an empty last argument: no
 * variadic argument is ever missing (-pedantic users), and the options
 * end with a comma, which an initializer list allows. */
#define MPT_TEST(...) MPT__TEST(__VA_ARGS__, )
#define MPT__TEST(suite, name, ...)                                           \
	static void MPT__ID(mpt__fn_, suite, name)(void);                     \
	static struct mpt_test MPT__ID(mpt__t_, suite, name) = {              \
		#suite, #name, __FILE__, __LINE__,                            \
		MPT__ID(mpt__fn_, suite, name), { 0, __VA_ARGS__ }, 0 };      \
	__attribute__((constructor)) static void                              \
	MPT__ID(mpt__reg_, suite, name)(void)                                 \
	{                                                                     \
		mpt_register(&MPT__ID(mpt__t_, suite, name));                 \
	}                                                                     \
	static void MPT__ID(mpt__fn_, suite, name)(void)

/* Runs the registered tests with the given command line (the same options as
 * the supplied main()); returns the exit code: 0 all passed, 1 a test failed,
 * 2 bad usage, 99 internal error. */
MPT_API int mpt_main(int argc, char **argv);

/* ---- assertions --------------------------------------------------------
 * A failed assertion records the process (pid and logical id), file, line,
 * the expression text and the values in the run's crash-safe region, then
 * ends the calling process.  It fails the test whichever process it is in. */

struct mpt__val { char s[64]; };
MPT_API struct mpt__val mpt__val_i(long long v);
MPT_API struct mpt__val mpt__val_u(unsigned long long v);
MPT_API struct mpt__val mpt__val_f(long double v);
MPT_API struct mpt__val mpt__val_p(const volatile void *v);

#define MPT__VAL(x) __extension__ _Generic((x),                               \
	_Bool: mpt__val_i, char: mpt__val_i, signed char: mpt__val_i,         \
	short: mpt__val_i, int: mpt__val_i, long: mpt__val_i,                 \
	long long: mpt__val_i,                                                \
	unsigned char: mpt__val_u, unsigned short: mpt__val_u,                \
	unsigned int: mpt__val_u, unsigned long: mpt__val_u,                  \
	unsigned long long: mpt__val_u,                                       \
	float: mpt__val_f, double: mpt__val_f, long double: mpt__val_f,       \
	default: mpt__val_p)(x)

__attribute__((noreturn, format(printf, 4, 5)))
MPT_API void mpt__fail(const char *file, int line, const char *expr,
	       const char *fmt, ...);
__attribute__((noreturn))
MPT_API void mpt__fail_cmp(const char *file, int line, const char *expr,
		   const char *op, const char *a, const char *b);
__attribute__((noreturn))
MPT_API void mpt__fail_str(const char *file, int line, const char *expr,
		   const char *a, const char *b);
__attribute__((noreturn))
MPT_API void mpt__fail_errno(const char *file, int line, const char *expr, int err);
MPT_API int mpt__str_eq(const char *a, const char *b);

#define MPT__PUSH_SIGN                                                        \
	_Pragma("GCC diagnostic push")                                        \
	_Pragma("GCC diagnostic ignored \"-Wsign-compare\"")
#define MPT__POP _Pragma("GCC diagnostic pop")

/* MPT_ASSERT(expr): fails unless expr is true. */
#define MPT_ASSERT(expr)                                                      \
	do {                                                                  \
		if (!(expr))                                                  \
			mpt__fail(__FILE__, __LINE__, "MPT_ASSERT(" #expr ")",\
				  "expected true, got false");                \
	} while (0)

/* Whether a value is a negative signed integer, and whether it is of an
 * unsigned integer type: a signed and an unsigned operand are compared as
 * numbers, not as C's conversions would (-1 < 1u is true here, as it reads,
 * where C converts -1 to UINT_MAX). */
static inline int mpt__neg_i(long long v) { return v < 0; }
static inline int mpt__no_f(long double v) { (void)v; return 0; }
static inline int mpt__no_u(unsigned long long v) { (void)v; return 0; }
static inline int mpt__yes_u(unsigned long long v) { (void)v; return 1; }
static inline int mpt__no_i(long long v) { (void)v; return 0; }
static inline int mpt__no_p(const volatile void *v) { (void)v; return 0; }
#define MPT__SIGNED_NEG(x) __extension__ _Generic((x),                        \
	_Bool: mpt__no_u, char: mpt__neg_i, signed char: mpt__neg_i,          \
	short: mpt__neg_i, int: mpt__neg_i, long: mpt__neg_i,                 \
	long long: mpt__neg_i,                                                \
	unsigned char: mpt__no_u, unsigned short: mpt__no_u,                  \
	unsigned int: mpt__no_u, unsigned long: mpt__no_u,                    \
	unsigned long long: mpt__no_u,                                        \
	float: mpt__no_f, double: mpt__no_f, long double: mpt__no_f,          \
	default: mpt__no_p)(x)
#define MPT__UNSIGNED(x) __extension__ _Generic((x),                          \
	_Bool: mpt__yes_u, char: mpt__no_i, signed char: mpt__no_i,           \
	short: mpt__no_i, int: mpt__no_i, long: mpt__no_i,                    \
	long long: mpt__no_i,                                                 \
	unsigned char: mpt__yes_u, unsigned short: mpt__yes_u,                \
	unsigned int: mpt__yes_u, unsigned long: mpt__yes_u,                  \
	unsigned long long: mpt__yes_u,                                       \
	float: mpt__no_f, double: mpt__no_f, long double: mpt__no_f,          \
	default: mpt__no_p)(x)

/* text is the assertion as written: stringified here, in the macro the
 * user called, so macros in its arguments show unexpanded. A negative
 * signed operand is below any unsigned one: then the two compare as -1
 * and 0 do. */
#define MPT__ASSERT_CMP(a, b, op, text)                                       \
	do {                                                                  \
		__extension__ __auto_type mpt__a = (a);                       \
		__extension__ __auto_type mpt__b = (b);                       \
		MPT__PUSH_SIGN                                                \
		int mpt__ok = MPT__SIGNED_NEG(mpt__a) && MPT__UNSIGNED(mpt__b) \
			? (-1 op 0)                                           \
			: MPT__UNSIGNED(mpt__a) && MPT__SIGNED_NEG(mpt__b)    \
			? (0 op -1) : (mpt__a op mpt__b);                     \
		MPT__POP                                                      \
		if (!mpt__ok)                                                 \
			mpt__fail_cmp(__FILE__, __LINE__,                     \
				      text, #op,                              \
				      MPT__VAL(mpt__a).s, MPT__VAL(mpt__b).s);\
	} while (0)

/* Both operands are evaluated once; the failure prints both values. */
#define MPT_ASSERT_EQ(a, b) MPT__ASSERT_CMP(a, b, ==, "MPT_ASSERT_EQ(" #a ", " #b ")")
#define MPT_ASSERT_NE(a, b) MPT__ASSERT_CMP(a, b, !=, "MPT_ASSERT_NE(" #a ", " #b ")")
#define MPT_ASSERT_LT(a, b) MPT__ASSERT_CMP(a, b, <, "MPT_ASSERT_LT(" #a ", " #b ")")
#define MPT_ASSERT_LE(a, b) MPT__ASSERT_CMP(a, b, <=, "MPT_ASSERT_LE(" #a ", " #b ")")
#define MPT_ASSERT_GT(a, b) MPT__ASSERT_CMP(a, b, >, "MPT_ASSERT_GT(" #a ", " #b ")")
#define MPT_ASSERT_GE(a, b) MPT__ASSERT_CMP(a, b, >=, "MPT_ASSERT_GE(" #a ", " #b ")")

/* Compares two C strings (NULL allowed); prints both, quoted and escaped. */
#define MPT_ASSERT_STR_EQ(a, b)                                               \
	do {                                                                  \
		const char *mpt__sa = (a), *mpt__sb = (b);                    \
		if (!mpt__str_eq(mpt__sa, mpt__sb))                           \
			mpt__fail_str(__FILE__, __LINE__,                     \
				      "MPT_ASSERT_STR_EQ(" #a ", " #b ")",    \
				      mpt__sa, mpt__sb);                      \
	} while (0)

/* MPT_ASSERT_OK(call): fails when call returns -1, printing errno's name and
 * text; otherwise its value is the call's result:
 *   int fd = MPT_ASSERT_OK(open(path, O_RDONLY)); */
#define MPT_ASSERT_OK(call)                                                   \
	__extension__ ({                                                      \
		__extension__ __auto_type mpt__r = (call);                    \
		if (mpt__r == -1)                                             \
			mpt__fail_errno(__FILE__, __LINE__,                   \
					"MPT_ASSERT_OK(" #call ")", errno);   \
		mpt__r;                                                       \
	})

/* Ends the test as skipped, with a reason. */
__attribute__((noreturn, format(printf, 3, 4)))
MPT_API void mpt__skip(const char *file, int line, const char *fmt, ...);
#define MPT_SKIP(...) mpt__skip(__FILE__, __LINE__, __VA_ARGS__)

/* ---- process helpers --------------------------------------------------- */

/* Reaps pid (retrying EINTR) and asserts it exited with status code. */
MPT_API void mpt__wait_exited(const char *file, int line, pid_t pid, int code);
/* Reaps pid and asserts it was killed by signal sig. */
MPT_API void mpt__wait_signaled(const char *file, int line, pid_t pid, int sig);
#define mpt_wait_exited(pid, code) mpt__wait_exited(__FILE__, __LINE__, pid, code)
#define mpt_wait_signaled(pid, sig) mpt__wait_signaled(__FILE__, __LINE__, pid, sig)

/* Asserts that the calling process has no children left: none running and
 * none exited but unreaped (a zombie). A mid-test check of what the harness
 * checks anyway when the test ends. */
MPT_API void mpt__assert_no_children(const char *file, int line);
#define mpt_assert_no_children() mpt__assert_no_children(__FILE__, __LINE__)

/* Asserts that the calling process holds no descriptor it did not hold
 * when the test started (in the leader: the body's start), naming each new
 * one and where it was made. */
MPT_API void mpt__assert_fds_unchanged(const char *file, int line);
#define mpt_assert_fds_unchanged() mpt__assert_fds_unchanged(__FILE__, __LINE__)

/* Asserts that the calling process holds no process-shared mutex,
 * semaphore unit or file lock that the shim saw it take. */
MPT_API void mpt__assert_no_locks(const char *file, int line);
#define mpt_assert_no_locks() mpt__assert_no_locks(__FILE__, __LINE__)

/* The logical id of the calling process in its test: "p0" for the test
 * leader, "p0.1" for its first child, "p0.1.2" for that child's second... */
MPT_API const char *mpt_process_id(void);

#ifdef __cplusplus
}
#endif

/* errno is used by MPT_ASSERT_OK. */
#include <errno.h>

#endif /* MPTEST_H */
