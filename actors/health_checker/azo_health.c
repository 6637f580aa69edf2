// azo_health — health-checker actor. Its real work arrives with #6; until then
// every planned command answers `unavailable` and anything else under its
// prefix answers `unknown_command`.
#include "azo_health.h"

static const azo_cmd_entry_t s_cmds[] = {
    {"health.status", azo_cmd_unavailable},
    {"health.check", azo_cmd_unavailable},
};

const azo_actor_def_t azo_health_def = {
    .name = "health-checker",
    .prefix = "health.",
    .cmds = s_cmds,
    .ncmds = sizeof s_cmds / sizeof s_cmds[0],
};
