#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"

const char *const inputs[NFILES][4] = {
	{ "port = 8080", "workers = 4", "log = /var/log/app.log", NULL },
	{ "timeout = 30", "retries = 3", NULL },
	{ "cache = on", "cache_size 512", "ttl = 60", NULL },   /* a typo: no '=' */
};

int convert_file(int i)
{
	printf("{");
	for (int l = 0; inputs[i][l]; l++) {
		char line[128], *key, *value;
		snprintf(line, sizeof line, "%s", inputs[i][l]);
		if (parse_line(line, &key, &value) < 0) {
			fprintf(stderr, "convert: file %d, line %d: not a setting: %s\n",
				i + 1, l + 1, inputs[i][l]);
			return 2;
		}
		printf("%s\"%s\": \"%s\"", l ? ", " : "", key, value);
	}
	printf("}\n");
	return 0;
}

#ifndef NO_MAIN   /* test.c is built with -DNO_MAIN: libmptest supplies main() */
int main(void)
{
	return convert_all();
}
#endif
