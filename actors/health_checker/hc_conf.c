// hc_conf — a probed target's settings and command lines (see hc_conf.h).
#include "hc_conf.h"

#include "azo_err.h"
#include "azo_exec.h"
#include "azo_wire.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
hc_conf_target_fini(hc_target_cfg_t *t)
{
    azo_exec_argv_free(&t->argv);
    azo_exec_argv_free(&t->run);
    memset(t, 0, sizeof *t);
}

// The node's own control endpoint as a client connects to it: a
// wildcard bind (tcp://*:7710, tcp://0.0.0.0:7710) is reached on loopback.
static const char *
s_self(hc_target_cfg_t *t, const char *control)
{
    const char *host = strstr(control ? control : "", "://");
    if (host && (strncmp(host + 3, "*:", 2) == 0 ||
                 strncmp(host + 3, "0.0.0.0:", 8) == 0))
        snprintf(t->self_addr, sizeof t->self_addr, "tcp://127.0.0.1%s",
                 strchr(host + 3, ':'));
    else
        snprintf(t->self_addr, sizeof t->self_addr, "%s",
                 control ? control : "");
    return t->self_addr;
}

void
hc_conf_set_self(hc_target_cfg_t *t, const char *control)
{
    t->addr = s_self(t, control);
    t->self_pending = false;
}

// The path of key k of the target, in buf.
static const char *
s_key(char *buf, size_t len, const char *base, const char *name, const char *k)
{
    snprintf(buf, len, "%s/targets/%s/%s", base, name, k);
    return buf;
}

int
hc_conf_target(const azo_config_t *cfg, const char *base, const char *name,
               const char *self_control, hc_target_cfg_t *out, char *err,
               size_t errlen)
{
    static const char *const kinds[] = {"tcp", "http", "exec", "zmq"};
    static const hc_probe_kind_t kind_of[] = {HC_PROBE_TCP, HC_PROBE_HTTP,
                                              HC_PROBE_EXEC, HC_PROBE_ZMQ};
    memset(out, 0, sizeof *out);
    out->name = name;
    char path[512], k[512];
    snprintf(path, sizeof path, "%s/targets/%s", base, name);
    if (strlen(name) > 100 || !azo_wire_topic_ok(name, strlen(name)))
        return azo_config_fail(cfg, path, err, errlen,
                               "a target name must be 1..100 characters "
                               "without blanks (it ends event topics)");
    const char *what = NULL;
    for (size_t i = 0; i < 4; i++) {
        const char *v =
            azo_config_str(cfg, s_key(k, sizeof k, base, name, kinds[i]));
        if (!v)
            continue;
        if (what)
            return azo_config_fail(cfg, k, err, errlen,
                                   "a target has one probe; it already has "
                                   "%s",
                                   what);
        what = kinds[i];
        out->kind = kind_of[i];
        out->addr = v;
    }
    if (!what)
        return azo_config_fail(cfg, path, err, errlen,
                               "no probe: give one of tcp, http, exec, zmq");
    s_key(k, sizeof k, base, name, what);
    char why[300] = "";
    int rc = 0;
    if (out->kind == HC_PROBE_EXEC) {
        rc = azo_exec_argv(out->addr, &out->argv, why, sizeof why);
        out->addr = NULL;
    } else {
        bool self = out->kind == HC_PROBE_ZMQ && strcmp(out->addr, "self") == 0;
        if (self)
            out->addr = s_self(out, self_control);
        // A port chosen at bind (tcp://127.0.0.1:*) is known at run time.
        out->self_pending =
            self && (strstr(out->addr, ":*") || strstr(out->addr, ":!"));
        if (!out->self_pending)
            rc = hc_probe_check_addr(out->kind, out->addr, why, sizeof why);
    }
    if (rc == -ENOMEM)
        return rc;
    if (rc < 0) {
        hc_conf_target_fini(out);
        return azo_config_fail(cfg, k, err, errlen, "%s", why);
    }
    out->expect = azo_config_str(cfg, s_key(k, sizeof k, base, name, "expect"));
    if (out->expect && out->kind != HC_PROBE_HTTP) {
        hc_conf_target_fini(out);
        return azo_config_fail(cfg, k, err, errlen,
                               "only an http probe has expected text");
    }
#define S_MS(field, key)                                                       \
    out->field = azo_config_ms(cfg, s_key(k, sizeof k, base, name, key), 0)
    S_MS(period_ms, "period");
    S_MS(timeout_ms, "timeout");
    S_MS(initial_delay_ms, "initial_delay");
    S_MS(degraded_after_ms, "degraded_after");
    S_MS(action_every_ms, "action_every");
    S_MS(action_timeout_ms, "action_timeout");
#undef S_MS
    out->failure_threshold = (int)azo_config_int(
        cfg, s_key(k, sizeof k, base, name, "failure_threshold"), 3);
    out->success_threshold = (int)azo_config_int(
        cfg, s_key(k, sizeof k, base, name, "success_threshold"), 1);
    out->output_cap = (size_t)azo_config_size(
        cfg, s_key(k, sizeof k, base, name, "output"), 4096);
    out->restart =
        azo_config_str(cfg, s_key(k, sizeof k, base, name, "restart"));
    if (out->restart) {
        char actor[256];
        snprintf(actor, sizeof actor, "actors/%s", out->restart);
        const char *self_name = strrchr(base, '/');
        if (self_name && strcmp(self_name + 1, out->restart) == 0)
            rc = azo_config_fail(cfg, k, err, errlen,
                                 "the health-checker does not restart "
                                 "itself (the supervisor does)");
        else if (!azo_config_section(cfg, actor))
            rc = azo_config_fail(cfg, k, err, errlen,
                                 "no actor '%s' is configured on this node",
                                 out->restart);
        if (rc < 0) {
            hc_conf_target_fini(out);
            return rc;
        }
    }
    const char *run =
        azo_config_str(cfg, s_key(k, sizeof k, base, name, "run"));
    if (run && (rc = azo_exec_argv(run, &out->run, why, sizeof why)) < 0) {
        hc_conf_target_fini(out);
        return rc == -ENOMEM ? rc
                             : azo_config_fail(cfg, k, err, errlen, "%s", why);
    }
    out->server_key =
        azo_config_str(cfg, s_key(k, sizeof k, base, name, "server_key"));
    out->client_cert =
        azo_config_str(cfg, s_key(k, sizeof k, base, name, "client_cert"));
    if ((out->server_key || out->client_cert) && out->kind != HC_PROBE_ZMQ)
        rc = azo_config_fail(cfg, k, err, errlen,
                             "only a zmq probe takes CURVE keys");
    else if (!out->server_key != !out->client_cert)
        rc = azo_config_fail(cfg, path, err, errlen,
                             "server_key and client_cert go together (CURVE)");
    else if (out->server_key && strlen(out->server_key) != 40)
        rc = azo_config_fail(cfg, s_key(k, sizeof k, base, name, "server_key"),
                             err, errlen,
                             "expected a Z85 public key of 40 characters");
    if (rc < 0) {
        hc_conf_target_fini(out);
        return rc;
    }
    return 0;
}
