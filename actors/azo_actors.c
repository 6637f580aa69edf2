// azo_actors — the table of actor definitions azod registers. Static.
#include "azo_actors.h"
#include "azo_sched.h"
#include "azo_health.h"
#include "azo_mining.h"
#include "azo_pay.h"
#include "azo_archive.h"

static const azo_actor_def_t *const s_all[] = {
    &azo_sched_def, &azo_health_def,  &azo_mining_def,
    &azo_pay_def,   &azo_archive_def,
};

const azo_actor_def_t *const *
azo_actors_all(size_t *n)
{
    *n = sizeof s_all / sizeof s_all[0];
    return s_all;
}
