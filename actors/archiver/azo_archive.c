// azo_archive — archiver actor. Its real work arrives with #8; until then
// every planned command answers `unavailable` and anything else under its
// prefix answers `unknown_command`.
#include "azo_archive.h"

static const azo_cmd_entry_t s_cmds[] = {
    {"archive.run", azo_cmd_unavailable},
    {"archive.list", azo_cmd_unavailable},
    {"archive.restore", azo_cmd_unavailable},
};

const azo_actor_def_t azo_archive_def = {
    .name = "archiver",
    .prefix = "archive.",
    .cmds = s_cmds,
    .ncmds = sizeof s_cmds / sizeof s_cmds[0],
};
