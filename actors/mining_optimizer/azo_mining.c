// azo_mining — mining-optimizer actor. Its real work arrives with #9; until
// then every planned command answers `unavailable` and anything else under its
// prefix answers `unknown_command`.
#include "azo_mining.h"

static const azo_cmd_entry_t s_cmds[] = {
    {"mining.report", azo_cmd_unavailable},
    {"mining.market", azo_cmd_unavailable},
    {"mining.optimize", azo_cmd_unavailable},
};

const azo_actor_def_t azo_mining_def = {
    .name = "mining-optimizer",
    .prefix = "mining.",
    .cmds = s_cmds,
    .ncmds = sizeof s_cmds / sizeof s_cmds[0],
};
