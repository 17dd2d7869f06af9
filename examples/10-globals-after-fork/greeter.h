/* A pre-forking greeter service: a worker process answers requests with the
 * greeting from the service's configuration, a global. start_service() is
 * where the buggy and the fixed program differ. */
#ifndef GREETER_H
#define GREETER_H
#include <sys/types.h>

struct config {
	char greeting[32];
	int loaded;
};
extern struct config config;   /* the service's configuration */

struct service {
	pid_t worker;
	int requests;   /* write end: names to greet */
	int replies;    /* read end: the greetings */
};

/* Reads the configuration into the global config. */
void load_config(void);
/* Forks the worker process. */
int start_worker(struct service *s);
/* Loads the configuration and starts the worker, in some order. */
int start_service(struct service *s);

#endif
