// azo_sched — scheduler actor. Its real work arrives with #5; until then
// every planned command answers `unavailable` and anything else under its
// prefix answers `unknown_command`.
#include "azo_sched.h"

static const azo_cmd_entry_t s_cmds[] = {
    {"sched.list", azo_cmd_unavailable},   {"sched.get", azo_cmd_unavailable},
    {"sched.run", azo_cmd_unavailable},    {"sched.pause", azo_cmd_unavailable},
    {"sched.resume", azo_cmd_unavailable}, {"sched.set", azo_cmd_unavailable},
};

const azo_actor_def_t azo_sched_def = {
    .name = "scheduler",
    .prefix = "sched.",
    .cmds = s_cmds,
    .ncmds = sizeof s_cmds / sizeof s_cmds[0],
};
