/* A program with its own main() that hands the command line to mpt_main. */
#include <mptest.h>

#include <stdio.h>

static int configured;

MPT_TEST(ownmain, sees_setup)
{
	MPT_ASSERT_EQ(configured, 42);
}

int main(int argc, char **argv)
{
	configured = 42;
	return mpt_main(argc, argv);
}
