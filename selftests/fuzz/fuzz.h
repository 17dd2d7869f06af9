/* What every harness in selftests/fuzz shares. */
#ifndef MPT_FUZZ_H
#define MPT_FUZZ_H

#include <stdio.h>
#include <stdlib.h>

/* An invariant of the code under fuzzing: a crash (with the condition) the
 * fuzzer records, when it does not hold. */
#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "%s:%d: %s failed\n", __FILE__,      \
				__LINE__, #cond);                            \
			abort();                                             \
		}                                                            \
	} while (0)

#endif
