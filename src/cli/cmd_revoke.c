/* sealroom revoke: any single owner revokes a compose hash, for good. */
#include "gate_cmd.h"

const char sr_cmd_revoke_summary[] = "revoke a compose hash on the consortium gate (any single owner, final)";

int sr_cmd_revoke(int argc, char **argv) { return gc_hash_action(argc, argv, 1); }
