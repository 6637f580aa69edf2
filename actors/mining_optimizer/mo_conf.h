// mo_conf — the mining-optimizer's settings: its config schema (keys under
// actors/mining-optimizer/) and the loader that turns a validated config
// into the rig profile, the smoothing and the switching rules. Shared by
// the actor and the backtest tool, so both decide with the same settings.
#ifndef MO_CONF_H
#define MO_CONF_H
#include "azo_config.h"
#include "mo_calc.h"
#include "mo_market.h"
#include "mo_switch.h"

typedef struct {
    mo_rig_t rig;
    mo_smooth_t smooth;
    mo_switch_cfg_t sw;
    int64_t stale_ms;     // coins without a tick for this long are left out
    double switch_cost_s; // mining time lost per switch (backtest, report)
} mo_conf_t;

#define MO_CONF_NKEYS 36 // entries of mo_conf_keys (checked at build time)
extern const azo_cfg_key_t mo_conf_keys[];

// Reads the settings under base ("actors/mining-optimizer") of a config
// validated against mo_conf_keys. Checks what the schema cannot (hashrates,
// bands, at most MO_ALGOS_MAX algorithms): on failure returns AZO_EBADREQ
// with a message naming file, line and key (azo_config_fail) in err.
int mo_conf_load(const azo_config_t *cfg, const char *base, mo_conf_t *out,
                 char *err, size_t errlen);
#endif
