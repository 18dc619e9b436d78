/* sealroom approve: an owner approves a compose hash on the gate. */
#include "gate_cmd.h"

const char sr_cmd_approve_summary[] = "approve a recipe's compose hash on the consortium gate (owner signature)";

int sr_cmd_approve(int argc, char **argv) { return gc_hash_action(argc, argv, 0); }
