/* Fault-injection rule parsing and decisions. Placeholder until it lands. */
#include "rules.h"
