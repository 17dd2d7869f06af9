/* Fault-injection rules (--inject): TARGET:ACTION[:WHEN...][@PROCESS]. */
#ifndef MPT_RULES_H
#define MPT_RULES_H
/* Placeholder until the rule parser lands. */
#endif
