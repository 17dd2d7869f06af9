/* Plain programs (no libmptest) for the stdio hygiene checks under mpt-run:
 * argv[1] names the case. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return 0;
}
