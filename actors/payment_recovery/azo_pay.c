// azo_pay — payment-recovery actor. Its real work arrives with #7; until then
// every planned command answers `unavailable` and anything else under its
// prefix answers `unknown_command`.
#include "azo_pay.h"

static const azo_cmd_entry_t s_cmds[] = {
    {"pay.submit", azo_cmd_unavailable},  {"pay.get", azo_cmd_unavailable},
    {"pay.list", azo_cmd_unavailable},    {"pay.retry", azo_cmd_unavailable},
    {"pay.requeue", azo_cmd_unavailable}, {"pay.sweep", azo_cmd_unavailable},
};

const azo_actor_def_t azo_pay_def = {
    .name = "payment-recovery",
    .prefix = "pay.",
    .cmds = s_cmds,
    .ncmds = sizeof s_cmds / sizeof s_cmds[0],
};
