// azo_host — a process actor's main. Main thread of an `azod --actor`
// process; the actor code itself runs in azo_actor_run_process.
#include "azo_host.h"
#include "azo_err.h"
#include "azo_sec.h"
#include "azo_sup.h"

#include <czmq.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

int
azo_host_run(const azo_host_opts_t *o, const azo_actor_def_t *const *defs,
             size_t ndefs, int sigfd)
{
    char err[1024];
    size_t nkeys;
    azo_cfg_key_t *schema = azo_sup_schema(defs, ndefs, &nkeys);
    azo_config_t *cfg = NULL;
    int rc = schema ? azo_config_load(&cfg, o->config, NULL, 0, schema, nkeys,
                                      err, sizeof err)
                    : -ENOMEM;
    free(schema);
    if (rc < 0) {
        zsys_error("%s: %s", o->actor, rc == -ENOMEM ? "out of memory" : err);
        return 2;
    }
    int code = 1;
    azo_registry_t *reg = azo_registry_new();
    azo_store_t *store = NULL;
    zsock_t *dealer = NULL;
    int idx = -1;
    for (size_t i = 0; reg && i < ndefs; i++) {
        int r = azo_registry_add(reg, defs[i]->name, defs[i]->prefix);
        if (r > 0 && strcmp(defs[i]->name, o->actor) == 0)
            idx = r;
    }
    if (!reg || idx < 0) {
        zsys_error("%s: no such actor in this build", o->actor);
        code = 2;
        goto done;
    }
    // Everything goes through the supervisor, which knows who is up.
    for (int i = 0; i < azo_registry_size(reg); i++) {
        azo_registry_set_remote(reg, i, true);
        azo_registry_set_up(reg, i, 0);
    }

    const char *dbs[AZO_REG_MAX];
    size_t ndbs = 0;
    for (int i = 0; i < azo_registry_size(reg); i++)
        dbs[ndbs++] = azo_registry_name(reg, i);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/azo.lmdb",
             azo_config_str(cfg, "node/data_dir"));
    rc = azo_store_open(&store, path,
                        azo_config_size(cfg, "store/map_size", 1 << 30), dbs,
                        ndbs, err, sizeof err);
    if (rc < 0) {
        zsys_error("%s: %s", o->actor, err);
        goto done;
    }

    char key[128];
    int hwm = (int)azo_config_int(cfg, "limits/queue", 10000);
    dealer = zsock_new(ZMQ_DEALER);
    if (!dealer)
        goto done;
    char ident[64];
    snprintf(ident, sizeof ident, "p:%s:%d", o->actor, (int)getpid());
    zsock_set_identity(dealer, ident);
    zsock_set_sndhwm(dealer, hwm);
    zsock_set_rcvhwm(dealer, hwm);
    zsock_set_linger(dealer, 2000); // EXIT is the last frame: let it out
    zsock_set_maxmsgsize(
        dealer, azo_config_size(cfg, "limits/max_msg", 1 << 20) + 4096);
    if (strncmp(o->cluster, "tcp://[", 7) == 0)
        zsock_set_ipv6(dealer, 1);
    if (azo_sec_enabled(cfg)) {
        // The node's own certificate: the supervisor allows its key.
        azo_sec_client_t curve;
        if (azo_sec_client_node(&curve, cfg, err, sizeof err) < 0) {
            zsys_error("%s: %s", o->actor, err);
            code = 2;
            goto done;
        }
        azo_sec_client_apply(&curve, dealer);
    }
    if (zsock_connect(dealer, "%s", o->cluster) < 0) {
        zsys_error("%s: cannot connect to %s: %s", o->actor, o->cluster,
                   zmq_strerror(errno));
        code = 2;
        goto done;
    }
    snprintf(key, sizeof key, "actors/%s/heartbeat", o->actor);
    azo_actor_env_t env = {
        .def = defs[idx - 1],
        .reg = reg,
        .idx = idx,
        .gen = o->gen,
        .store = store,
        .cfg = cfg,
        .node = o->node,
        .hwm = hwm,
        .heartbeat_ms = azo_config_ms(cfg, key, 1000),
        .orphan_grace_ms = azo_config_ms(cfg, "supervisor/orphan_grace", 60000),
    };
    code = azo_actor_run_process(&env, dealer, sigfd, o->standby);
done:
    zsock_destroy(&dealer);
    azo_store_close(&store);
    azo_registry_destroy(&reg);
    azo_config_destroy(&cfg);
    return code;
}
