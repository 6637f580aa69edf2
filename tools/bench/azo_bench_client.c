// azo_bench_client — a control client of an azod under test (see
// azo_bench_client.h).
#include "azo_bench_client.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

int
azo_bench_client_open(azo_bench_client_t *c, const char *endpoint)
{
    memset(c, 0, sizeof *c);
    msgpack_sbuffer_init(&c->sb);
    msgpack_packer_init(&c->pk, &c->sb, msgpack_sbuffer_write);
    zmq_msg_init(&c->msg);
    msgpack_unpacked_init(&c->u);
    c->ready = true;
    c->sock = zsock_new(ZMQ_DEALER);
    if (!c->sock)
        return -ENOMEM;
    zsock_set_linger(c->sock, 0);
    zsock_set_reconnect_ivl(c->sock, 10); // azod binds after we connect
    return zsock_connect(c->sock, "%s", endpoint) < 0 ? -EINVAL : 0;
}

void
azo_bench_client_close(azo_bench_client_t *c)
{
    zsock_destroy(&c->sock);
    if (!c->ready)
        return;
    zmq_msg_close(&c->msg);
    msgpack_unpacked_destroy(&c->u);
    msgpack_sbuffer_destroy(&c->sb);
    c->ready = false;
}

// Decodes the reply in c->msg. Returns the reply's id, or -1 when it is
// not a reply.
static int64_t
s_decode(azo_bench_client_t *c)
{
    c->ok = false;
    c->result = NULL;
    snprintf(c->message, sizeof c->message, "(no message)");
    if (msgpack_unpack_next(&c->u, zmq_msg_data(&c->msg), zmq_msg_size(&c->msg),
                            NULL) != MSGPACK_UNPACK_SUCCESS)
        return -1;
    const msgpack_object *root = &c->u.data;
    const msgpack_object *ok = azo_bench_get(root, "ok");
    int64_t id = -1;
    if (!ok || ok->type != MSGPACK_OBJECT_BOOLEAN ||
        !azo_bench_int(azo_bench_get(root, "id"), &id))
        return -1;
    c->ok = ok->via.boolean;
    c->result = azo_bench_get(root, "result");
    const msgpack_object *m =
        azo_bench_get(azo_bench_get(root, "error"), "message");
    if (m && m->type == MSGPACK_OBJECT_STR)
        snprintf(c->message, sizeof c->message, "%.*s", (int)m->via.str.size,
                 m->via.str.ptr);
    return id;
}

msgpack_packer *
azo_bench_client_req(azo_bench_client_t *c, const char *cmd)
{
    msgpack_sbuffer_clear(&c->sb);
    azo_bench_pack_req_head(&c->pk, ++c->last_id, cmd);
    return &c->pk;
}

int
azo_bench_client_send(azo_bench_client_t *c, const azo_bench_child_t *azod,
                      int wait_ms, double *rtt_ms)
{
    void *raw = zsock_resolve(c->sock);
    uint64_t id = c->last_id;
    int64_t t0 = azo_bench_now_ns();
    if (zmq_send(raw, c->sb.data, c->sb.size, ZMQ_DONTWAIT) < 0)
        return -EAGAIN; // not connected yet
    int64_t deadline = t0 + (int64_t)wait_ms * 1000000;
    zmq_pollitem_t items[2] = {{raw, 0, ZMQ_POLLIN, 0},
                               {NULL, azod ? azod->pidfd : -1, ZMQ_POLLIN, 0}};
    while (!zsys_interrupted) {
        if (zmq_msg_recv(&c->msg, raw, ZMQ_DONTWAIT) >= 0) {
            int64_t t1 = azo_bench_now_ns();
            int64_t got = s_decode(c);
            if (got < 0)
                return -EPROTO;
            if ((uint64_t)got != id)
                continue; // the late reply of an earlier, timed-out call
            if (rtt_ms)
                *rtt_ms = (double)(t1 - t0) / 1e6;
            return 0;
        }
        int64_t left_ms = (deadline - azo_bench_now_ns()) / 1000000;
        if (left_ms < 0)
            return -ETIMEDOUT;
        if (zmq_poll(items, azod ? 2 : 1, (long)left_ms + 1) > 0 &&
            (items[1].revents & ZMQ_POLLIN))
            return -ECHILD;
    }
    return -EINTR;
}

int
azo_bench_client_call(azo_bench_client_t *c, const char *cmd, const char *key,
                      const char *val, const azo_bench_child_t *azod,
                      int wait_ms, double *rtt_ms)
{
    msgpack_packer *pk = azo_bench_client_req(c, cmd);
    msgpack_pack_map(pk, key ? 1 : 0);
    if (key) {
        msgpack_pack_str_with_body(pk, key, strlen(key));
        msgpack_pack_str_with_body(pk, val, strlen(val));
    }
    return azo_bench_client_send(c, azod, wait_ms, rtt_ms);
}

int
azo_bench_client_ready(azo_bench_client_t *c, const azo_bench_child_t *azod,
                       const char *cmd, const char *key, const char *val,
                       int wait_ms)
{
    int64_t deadline = azo_bench_now_ns() + (int64_t)wait_ms * 1000000;
    while (!zsys_interrupted && azo_bench_now_ns() < deadline) {
        int rc = azo_bench_client_call(c, cmd, key, val, azod, 250, NULL);
        if (rc == 0 && c->ok)
            return 0;
        if (rc == -ECHILD || rc == -EPROTO)
            return rc;
        if (rc == 0 || rc == -EAGAIN)
            zclock_sleep(20); // "unavailable" (the actor is starting), or
                              // the ipc connection is not up yet
    }
    return zsys_interrupted ? -EINTR : -ETIMEDOUT;
}

int64_t
azo_bench_client_int(const azo_bench_client_t *c, const char *key)
{
    int64_t v = -1;
    if (c->ok)
        (void)azo_bench_int(azo_bench_get(c->result, key), &v); // -1 stays
    return v;
}

// --- an azod under test ------------------------------------------------------

void
azo_bench_azod_init(azo_bench_azod_t *a, const char *dir, const char *name)
{
    memset(a, 0, sizeof *a);
    azo_bench_child_init(&a->proc);
    snprintf(a->cfg, sizeof a->cfg, "%s/%s.cfg", dir, name);
    snprintf(a->log, sizeof a->log, "%s/azod.log", dir);
    snprintf(a->ctl, sizeof a->ctl, "ipc://%s/ctl", dir);
}

FILE *
azo_bench_azod_cfg_open(const azo_bench_azod_t *a, const char *prog,
                        const char *dir, const char *name, const char *comment)
{
    FILE *f = fopen(a->cfg, "w");
    if (!f) {
        fprintf(stderr, "%s: cannot write %s: %s\n", prog, a->cfg,
                strerror(errno));
        return NULL;
    }
    fprintf(f,
            "#   %s\n"
            "node\n"
            "    name = bench-%s\n"
            "    data_dir = %s/data\n"
            "endpoints\n"
            "    control = %s\n"
            "    events = ipc://%s/ev\n"
            "    cluster = ipc://%s/cl\n"
            "actors\n",
            comment, name, dir, a->ctl, dir, dir);
    return f;
}

int
azo_bench_azod_cfg_close(const azo_bench_azod_t *a, const char *prog, FILE *f)
{
    int rc = ferror(f) ? EIO : 0;
    if (fclose(f) != 0 && rc == 0)
        rc = errno;
    if (rc == 0)
        return 0;
    fprintf(stderr, "%s: cannot write %s: %s\n", prog, a->cfg, strerror(rc));
    return -1;
}

int
azo_bench_azod_spawn(azo_bench_azod_t *a, const char *prog, const char *path)
{
    char *argv[] = {(char *)path, "-c", a->cfg, NULL};
    fflush(NULL); // the child must not inherit unwritten output
    int rc = azo_bench_child_spawn(&a->proc, path, argv, a->log, SIGTERM);
    if (rc == 0)
        rc = azo_bench_client_open(&a->client, a->ctl);
    if (rc == 0)
        return 0;
    fprintf(stderr, "%s: cannot start azod: %s\n", prog, strerror(-rc));
    return -1;
}

int
azo_bench_azod_stop(azo_bench_azod_t *a, const char *prog, int wait_ms)
{
    azo_bench_child_t *azod = &a->proc;
    azo_bench_client_t *client = &a->client;
    bool running = azod->pid > 0;
    int steps[3] = {0, SIGTERM, SIGKILL}, rc = -ETIMEDOUT, status = -1;
    for (int i = 0; running && i < 3 && rc < 0; i++) {
        if (steps[i] == 0 &&
            (!client->sock ||
             azo_bench_client_call(client, "shutdown", NULL, NULL, azod,
                                   wait_ms, NULL) < 0))
            continue; // no answer: on to SIGTERM
        if (steps[i] != 0)
            (void)azo_bench_child_signal(azod, steps[i]); // ended: -ESRCH
        rc = azo_bench_child_wait(azod, wait_ms, &status);
    }
    azo_bench_client_close(client);
    if (!running || (rc == 0 && WIFEXITED(status) && !WEXITSTATUS(status)))
        return 0;
    fprintf(stderr, "%s: azod ended with wait status %d%s\n", prog, status,
            rc < 0 ? " (not reaped)" : "");
    azo_bench_print_log(a->log, 30);
    return -1;
}
