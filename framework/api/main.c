#define _GNU_SOURCE
/* The main() libmptest supplies. It lives alone in this file so that a
 * program with its own main() never pulls it in from the static library. */
#include "../../include/mptest.h"

MPT_API int main(int argc, char **argv);

int main(int argc, char **argv)
{
	return mpt_main(argc, argv);
}
