#define _GNU_SOURCE
#include "symbolize.h"

#include "config.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef HAVE_LIBDW
#include <elfutils/libdwfl.h>

/* libdw is loaded only when a finding needs a call site, so test processes
 * that find nothing never pay for it, and the shim has no link-time
 * dependency on it. */
static struct {
	int tried, ok;
	Dwfl *(*begin)(const Dwfl_Callbacks *);
	int (*proc_report)(Dwfl *, pid_t);
	int (*report_end)(Dwfl *, int (*)(Dwfl_Module *, void *, const char *,
					  Dwarf_Addr, void *), void *);
	Dwfl_Module *(*addrmodule)(Dwfl *, Dwarf_Addr);
	const char *(*addrname)(Dwfl_Module *, GElf_Addr);
	Dwfl_Line *(*getsrc)(Dwfl_Module *, Dwarf_Addr);
	const char *(*lineinfo)(Dwfl_Line *, Dwarf_Addr *, int *, int *, Dwarf_Word *,
				Dwarf_Word *);
	void (*end)(Dwfl *);
	Dwfl_Callbacks cb;
} dw;

static int load_dw(void)
{
	if (dw.tried)
		return dw.ok;
	dw.tried = 1;
	void *h = dlopen("libdw.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return 0;
#define SYM(field, name) (*(void **)&dw.field = dlsym(h, name))
	SYM(begin, "dwfl_begin");
	SYM(proc_report, "dwfl_linux_proc_report");
	SYM(report_end, "dwfl_report_end");
	SYM(addrmodule, "dwfl_addrmodule");
	SYM(addrname, "dwfl_module_addrname");
	SYM(getsrc, "dwfl_module_getsrc");
	SYM(lineinfo, "dwfl_lineinfo");
	SYM(end, "dwfl_end");
	SYM(cb.find_elf, "dwfl_linux_proc_find_elf");
	SYM(cb.find_debuginfo, "dwfl_standard_find_debuginfo");
#undef SYM
	dw.ok = dw.begin && dw.proc_report && dw.report_end && dw.addrmodule &&
		dw.addrname && dw.getsrc && dw.lineinfo && dw.end && dw.cb.find_elf &&
		dw.cb.find_debuginfo;
	return dw.ok;
}

static int with_dw(pid_t pid, uintptr_t addr, char *buf, size_t size)
{
	if (!load_dw())
		return 0;
	Dwfl *d = dw.begin(&dw.cb);
	if (!d)
		return 0;
	int ok = 0;
	if (dw.proc_report(d, pid) == 0 && dw.report_end(d, NULL, NULL) == 0) {
		Dwfl_Module *m = dw.addrmodule(d, addr);
		const char *fn = m ? dw.addrname(m, addr) : NULL;
		Dwfl_Line *l = m ? dw.getsrc(m, addr) : NULL;
		int line = 0;
		const char *file = l ? dw.lineinfo(l, NULL, &line, NULL, NULL, NULL) : NULL;
		if (file) {
			const char *base = strrchr(file, '/');
			snprintf(buf, size, "%s (%s:%d)", fn ? fn : "?", base ? base + 1 : file, line);
			ok = 1;
		} else if (fn) {
			snprintf(buf, size, "%s", fn);
			ok = 1;
		}
	}
	dw.end(d);
	return ok;
}
#endif

/* module+offset from /proc/PID/maps. */
static void with_maps(pid_t pid, uintptr_t addr, char *buf, size_t size)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	char line[512];
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, hi, off;
		int name_at = 0;
		if (sscanf(line, "%lx-%lx %*s %lx %*s %*s %n", &lo, &hi, &off, &name_at) < 3)
			continue;
		if (addr < lo || addr >= hi)
			continue;
		char *name = line + name_at;
		name[strcspn(name, "\n")] = 0;
		const char *base = strrchr(name, '/');
		snprintf(buf, size, "%s+0x%lx", base ? base + 1 : name, addr - lo + off);
		break;
	}
	fclose(f);
}

void mpt__symbolize(pid_t pid, uintptr_t addr, char *buf, size_t size)
{
	buf[0] = 0;
	if (!addr || size == 0)
		return;
	/* A return address points after the call: look one byte back. */
	uintptr_t at = addr - 1;
#ifdef HAVE_LIBDW
	if (with_dw(pid, at, buf, size))
		return;
#endif
	with_maps(pid, at, buf, size);
}
