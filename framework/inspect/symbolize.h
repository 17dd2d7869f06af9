/* Call sites as people read them: "parse_config (config.c:42)". */
#ifndef MPT_SYMBOLIZE_H
#define MPT_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Names the code at addr, a return address in process pid (the caller's
 * own pid works too; another process must still be alive). Uses libdw,
 * loaded on first use with dlopen, for function, file and line; falls back
 * to "module+0xoffset" from /proc/PID/maps. buf is empty when nothing is
 * known. Allocates: never call it in fork's path. */
void mpt__symbolize(pid_t pid, uintptr_t addr, char *buf, size_t size);

#endif
