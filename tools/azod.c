// azod — the azo supervisor daemon: loads the configuration (a file or the
// embedded default, plus --set overrides), opens the node and runs its
// actors until SIGINT, SIGTERM or a `shutdown` command. Main thread only.
#define _GNU_SOURCE // asprintf
#include "azo_actors.h"
#include "azo_bus.h"
#include "azo_config.h"
#include "azo_err.h"
#include "azo_fs.h"
#include "azo_host.h"
#include "azo_node.h"
#include "azo_sec.h"
#include "azo_sup.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

extern const char azo_default_cfg[]; // generated from configs/azo.cfg

#define S_MAX_SETS 256

static void
s_usage(FILE *out)
{
    fprintf(
        out,
        "Usage: azod [-c FILE] [--set PATH=VALUE]... [--check]\n"
        "       azod --join ENDPOINT --node NAME [-c FILE] [--set "
        "PATH=VALUE]...\n"
        "       azod --actor NAME --gen N --node NAME --cluster ENDPOINT -c "
        "FILE\n"
        "            [--standby]   (a process actor: started by azod itself)\n"
        "\n"
        "Runs one azo node: the supervisor and its actors (scheduler,\n"
        "health-checker, mining-optimizer, payment-recovery, archiver),\n"
        "until SIGINT, SIGTERM or a `shutdown` control command.\n"
        "\n"
        "Options:\n"
        "  -c, --config FILE     configuration file (ZPL); default: the\n"
        "                        embedded copy of configs/azo.cfg\n"
        "  -s, --set PATH=VALUE  override one key, e.g.\n"
        "                        --set endpoints/control=ipc:///tmp/azo.ctl\n"
        "                        (repeatable; applied in order)\n"
        "      --join ENDPOINT   run as a node agent of the supervisor whose\n"
        "                        cluster endpoint is ENDPOINT: it runs the\n"
        "                        actors the supervisor places on --node NAME,\n"
        "                        with the supervisor's configuration, except\n"
        "                        this node's own keys, which come from -c\n"
        "                        FILE (or the defaults): node/*, endpoints/*,\n"
        "                        security/*, store/*, cluster/cert and\n"
        "                        cluster/server_key (CURVE to the\n"
        "                        supervisor); --set then overrides any key\n"
        "      --node NAME       this agent's node name (with --join)\n"
        "      --check           validate the configuration (everything azod\n"
        "                        checks before binding anything) and exit\n"
        "      --print-default   print the embedded default configuration\n"
        "  -h, --help            show this help\n"
        "      --version         show the version\n"
        "\n"
        "Signals: SIGINT and SIGTERM stop the node (actors in reverse start\n"
        "order); SIGHUP is logged and ignored.\n"
        "\n"
        "Exit status: 0 clean stop; 1 could not start or run, or an actor\n"
        "did not stop in time and was abandoned; 2 bad usage or\n"
        "configuration; 3 escalated (sup.escalated): restart intensity\n"
        "exceeded, or a thread actor hung.\n"
        "\n"
        "Security: by default every endpoint binds loopback or ipc only;\n"
        "--set security/curve=1 requires CURVE keys of every client (the\n"
        "node's certificate is made in the data directory at the first\n"
        "start; allowed client certificates go in <data_dir>/clients;\n"
        "azoctl keygen makes them): docs/security.md.\n"
        "\n"
        "Logs go to stderr. Endpoints, topics and commands: docs/protocol.md;\n"
        "configuration keys: docs/operations.md.\n");
}

// --- node agent
// -------------------------------------------------------------

// Keys of the agent's own file that stay its own: everything else comes
// from the supervisor's configuration.
static bool
s_local_key(const char *path)
{
    static const char *const prefixes[] = {
        "node/",  "endpoints/",         "security/",
        "store/", "cluster/server_key", "cluster/cert"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (strncmp(path, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

// True once a SIGINT or SIGTERM is waiting on sigfd (consumed).
static bool
s_signalled(int sigfd)
{
    struct signalfd_siginfo si;
    while (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si)
        if (si.ssi_signo != SIGHUP)
            return true;
    return false;
}

// Asks the supervisor at ep for the cluster's configuration until it
// answers (or a signal comes). Returns 0 with *text (malloc'd), 1 on a
// signal, or a negative code.
static int
s_join_config(zsock_t *up, const char *node, int64_t hb_ms, int sigfd,
              char **text, size_t *len)
{
    azo_node_hello_t *h = calloc(1, sizeof *h);
    azo_node_state_t *st = calloc(1, sizeof *st);
    msgpack_sbuffer sb, frame;
    msgpack_sbuffer_init(&sb);
    msgpack_sbuffer_init(&frame);
    int rc = h && st ? -EAGAIN : -ENOMEM;
    if (h) {
        snprintf(h->node, sizeof h->node, "%s", node);
        snprintf(h->version, sizeof h->version, "%s", AZO_VERSION);
        h->pid = (int64_t)getpid();
        h->need_config = true;
        azo_node_hello_pack(&sb, h);
    }
    uint8_t hdr[AZO_BUS_HDR], ep[AZO_NODE_EPOCH_LEN] = {0};
    azo_bus_hdr_write(hdr, AZO_BUS_NODE, AZO_REG_SUP, AZO_REG_SUP, 0);
    msgpack_sbuffer_write(&frame, (const char *)hdr, sizeof hdr);
    msgpack_sbuffer_write(&frame, sb.data, sb.size);
    int64_t next = 0;
    while (rc == -EAGAIN) {
        int64_t now = zclock_mono();
        if (now >= next) {
            (void)zmq_send(zsock_resolve(up), ep, sizeof ep,
                           ZMQ_SNDMORE | ZMQ_DONTWAIT);
            (void)zmq_send(zsock_resolve(up), frame.data, frame.size,
                           ZMQ_DONTWAIT);
            next = now + (hb_ms < 250 ? hb_ms : 250); // until it answers
        }
        zmq_pollitem_t items[2] = {{zsock_resolve(up), 0, ZMQ_POLLIN, 0},
                                   {NULL, sigfd, ZMQ_POLLIN, 0}};
        if (zmq_poll(items, 2, (long)(next - now)) < 0 && errno != EINTR) {
            rc = -errno;
            break;
        }
        if ((items[1].revents & ZMQ_POLLIN) && s_signalled(sigfd)) {
            rc = 1;
            break;
        }
        if (!(items[0].revents & ZMQ_POLLIN))
            continue;
        zmsg_t *msg = zmsg_recv(up);
        zframe_t *f1 = msg ? zmsg_first(msg) : NULL;
        zframe_t *f2 = msg ? zmsg_next(msg) : NULL;
        azo_bus_msg_t m;
        if (f2 && zframe_size(f1) == AZO_NODE_EPOCH_LEN &&
            azo_bus_parse(zframe_data(f2), zframe_size(f2), &m) == 0 &&
            m.kind == AZO_BUS_NODE &&
            azo_node_state_decode(m.body, m.len, st) == 0 && st->config) {
            *text = strndup(st->config, st->config_len);
            *len = st->config_len;
            rc = *text ? 0 : -ENOMEM;
            zsys_info("supervisor %s sent the cluster's configuration (%zu "
                      "bytes)",
                      st->node, st->config_len);
        }
        zmsg_destroy(&msg);
    }
    msgpack_sbuffer_destroy(&sb);
    msgpack_sbuffer_destroy(&frame);
    free(h);
    free(st);
    return rc;
}

// azod --join: a node agent.
static int
s_join(const char *join, const char *node, const char *file,
       const char *const *sets, size_t nsets,
       const azo_actor_def_t *const *defs, size_t ndefs, int sigfd)
{
    char ident[96];
    snprintf(ident, sizeof ident, "azod[agent %s]", node);
    zsys_set_logident(ident);
    size_t nkeys;
    azo_cfg_key_t *schema = azo_sup_schema(defs, ndefs, &nkeys);
    if (!schema) {
        fprintf(stderr, "azod: out of memory\n");
        return AZO_EXIT_ERROR;
    }
    char err[1024];
    azo_config_t *local = NULL, *cfg = NULL;
    zsock_t *up = NULL;
    char *text = NULL;
    size_t tlen = 0;
    char **merged = NULL;
    size_t nmerged = 0;
    int code = AZO_EXIT_USAGE;
    for (size_t i = 0; i < nsets; i++)
        if (strncmp(sets[i], "node/name=", 10) == 0) {
            fprintf(stderr, "azod: --set node/name: an agent's name is "
                            "--node NAME\n");
            goto done;
        }
    // This node's own settings: its file (or the default) and --set.
    int rc = azo_config_load(&local, file, sets, nsets, schema, nkeys, err,
                             sizeof err);
    if (rc < 0) {
        fprintf(stderr, "azod: %s\n", err);
        goto done;
    }
    const char *dir = azo_config_str(local, "node/data_dir");
    const char *server_key = azo_config_str(local, "cluster/server_key");
    const char *cert = azo_config_str(local, "cluster/cert");
    if (!server_key != !cert) {
        fprintf(stderr, "azod: cluster/server_key and cluster/cert go "
                        "together (CURVE to the supervisor needs both)\n");
        goto done;
    }
    if ((rc = azo_fs_mkdirs(dir, 0700, err, sizeof err)) < 0) {
        fprintf(stderr, "azod: node/data_dir: %s\n", err);
        goto done;
    }
    up = zsock_new(ZMQ_DEALER);
    if (!up) {
        code = AZO_EXIT_ERROR;
        goto done;
    }
    if (server_key) {
        azo_sec_client_t cl;
        if ((rc = azo_sec_client_load(&cl, cert, server_key, err, sizeof err)) <
            0) {
            fprintf(stderr, "azod: cluster: %s\n", err);
            goto done;
        }
        azo_sec_client_apply(&cl, up);
    }
    // Nothing waits in a queue for a supervisor that is not there: a
    // hello is sent again each heartbeat anyway.
    zsock_set_immediate(up, 1);
    zsock_set_linger(up, 500);
    zsock_set_sndhwm(up, (int)azo_config_int(local, "limits/queue", 10000));
    zsock_set_reconnect_ivl(up, 100);
    // The first state carries the configuration (at most 4 MiB).
    zsock_set_maxmsgsize(up, azo_config_size(local, "limits/max_msg", 1 << 20) +
                                 (4 << 20));
    zsock_set_reconnect_ivl_max(up, 1000);
    if (zsock_connect(up, "%s", join) < 0) {
        fprintf(stderr, "azod: --join %s: %s\n", join, zmq_strerror(errno));
        goto done;
    }
    zsys_info("node agent %s: asking %s for the cluster's configuration", node,
              join);
    rc =
        s_join_config(up, node, azo_config_ms(local, "cluster/heartbeat", 1000),
                      sigfd, &text, &tlen);
    if (rc != 0) {
        code = rc == 1 ? AZO_EXIT_OK : AZO_EXIT_ERROR;
        goto done;
    }
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/cluster.cfg", dir);
    char tmp[PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, text, tlen) != (ssize_t)tlen || fsync(fd) < 0 ||
        rename(tmp, path) < 0) {
        fprintf(stderr, "azod: %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        code = AZO_EXIT_ERROR;
        goto done;
    }
    close(fd);
    // The cluster's file, then this node's own keys, then --set.
    merged = calloc(nkeys + nsets + 1, sizeof *merged);
    if (!merged) {
        code = AZO_EXIT_ERROR;
        goto done;
    }
    if (asprintf(&merged[nmerged++], "node/name=%s", node) < 0) {
        code = AZO_EXIT_ERROR;
        goto done;
    }
    for (size_t i = 0; i < nkeys; i++) {
        const char *v = azo_config_str(local, schema[i].path);
        if (schema[i].type == AZO_CFG_SECTION || !s_local_key(schema[i].path) ||
            streq(schema[i].path, "node/name") || !v)
            continue;
        if (asprintf(&merged[nmerged++], "%s=%s", schema[i].path, v) < 0) {
            merged[--nmerged] = NULL;
            code = AZO_EXIT_ERROR;
            goto done;
        }
    }
    for (size_t i = 0; i < nsets; i++)
        merged[nmerged + i] = (char *)sets[i]; // borrowed: not freed
    rc = azo_config_load(&cfg, path, (const char *const *)merged,
                         nmerged + nsets, schema, nkeys, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "azod: the cluster's configuration: %s\n", err);
        goto done;
    }
    azo_sup_t *sup = NULL;
    rc = azo_sup_open_agent(&sup, cfg, defs, ndefs, &up, join, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "azod: %s\n", err);
        code = rc == AZO_EBADREQ || rc == AZO_EFORBIDDEN || rc == AZO_EUNAVAIL
                   ? AZO_EXIT_USAGE
                   : AZO_EXIT_ERROR;
        goto done;
    }
    azo_sup_set_signalfd(sup, sigfd);
    code = azo_sup_run(sup);
    if (azo_sup_abandoned(sup)) {
        zsys_error("leaving with actor threads abandoned");
        fflush(NULL);
        _exit(code == AZO_EXIT_OK ? AZO_EXIT_ERROR : code);
    }
    azo_sup_close(&sup);
done:
    for (size_t i = 0; i < nmerged; i++)
        free(merged[i]);
    free(merged);
    free(text);
    zsock_destroy(&up);
    azo_config_destroy(&cfg);
    azo_config_destroy(&local);
    free(schema);
    return code;
}

int
main(int argc, char **argv)
{
    enum {
        OPT_CHECK = 256,
        OPT_VERSION,
        OPT_JOIN,
        OPT_NODE,
        OPT_DEFAULT,
        OPT_ACTOR,
        OPT_GEN,
        OPT_CLUSTER,
        OPT_STANDBY,
    };
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"set", required_argument, NULL, 's'},
        {"check", no_argument, NULL, OPT_CHECK},
        {"print-default", no_argument, NULL, OPT_DEFAULT},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {"join", required_argument, NULL, OPT_JOIN},
        {"node", required_argument, NULL, OPT_NODE},
        {"actor", required_argument, NULL, OPT_ACTOR},
        {"gen", required_argument, NULL, OPT_GEN},
        {"cluster", required_argument, NULL, OPT_CLUSTER},
        {"standby", no_argument, NULL, OPT_STANDBY},
        {NULL, 0, NULL, 0},
    };
    const char *file = NULL;
    const char *sets[S_MAX_SETS];
    size_t nsets = 0;
    bool check = false, join = false;
    const char *join_ep = NULL;
    azo_host_opts_t host = {0};
    const char *node = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "c:s:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            file = optarg;
            break;
        case 's':
            if (nsets == S_MAX_SETS) {
                fprintf(stderr, "azod: more than %d --set options\n",
                        S_MAX_SETS);
                return AZO_EXIT_USAGE;
            }
            sets[nsets++] = optarg;
            break;
        case OPT_CHECK:
            check = true;
            break;
        case OPT_DEFAULT:
            fputs(azo_default_cfg, stdout);
            return AZO_EXIT_OK;
        case 'h':
            s_usage(stdout);
            return AZO_EXIT_OK;
        case OPT_VERSION:
            printf("azod %s\n", AZO_VERSION);
            return AZO_EXIT_OK;
        case OPT_JOIN:
            join = true;
            join_ep = optarg;
            break;
        case OPT_NODE:
            node = optarg;
            break;
        case OPT_ACTOR:
            host.actor = optarg;
            break;
        case OPT_GEN:
            host.gen = (uint32_t)strtoul(optarg, NULL, 10);
            break;
        case OPT_CLUSTER:
            host.cluster = optarg;
            break;
        case OPT_STANDBY:
            host.standby = true;
            break;
        default:
            s_usage(stderr);
            return AZO_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "azod: unexpected argument '%s'\n", argv[optind]);
        s_usage(stderr);
        return AZO_EXIT_USAGE;
    }
    if (join && (!node || host.actor || check)) {
        fprintf(stderr, "azod: --join needs --node NAME (and no --actor or "
                        "--check)\n");
        return AZO_EXIT_USAGE;
    }
    if (node && !join && !host.actor) {
        fprintf(stderr, "azod: --node goes with --join (or --actor)\n");
        return AZO_EXIT_USAGE;
    }
    if (join && !azo_node_name_ok(node)) {
        fprintf(stderr,
                "azod: --node '%s': expected 1..64 letters, digits, '.', "
                "'_' or '-'\n",
                node);
        return AZO_EXIT_USAGE;
    }

    // Signals are read from a signalfd by the supervisor's loop, never by
    // a handler: a handler's flag is missed when the signal lands between
    // the loop's check and its poll, leaving the node deaf to SIGTERM for
    // up to the poll timeout. Blocked here, before any thread exists, so
    // that every thread inherits the mask. (A child process started later
    // must unblock them before exec: the mask survives execve.)
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    int sigfd = -1;
    if (pthread_sigmask(SIG_BLOCK, &sigs, NULL) != 0 ||
        (sigfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
        fprintf(stderr, "azod: cannot set up signal handling: %s\n",
                strerror(errno));
        return AZO_EXIT_ERROR;
    }
    signal(SIGPIPE, SIG_IGN);
    // Each health probe in flight holds an fd (an exec probe three): allow
    // as many as the hard limit does, not the usual soft 1024.
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl); // best effort: else the old one
    }

    zsys_init();
    zsys_set_logident("azod");
    zsys_set_logstream(stderr);
    zsys_set_logsystem(false);
    size_t ndefs;
    const azo_actor_def_t *const *defs = azo_actors_all(&ndefs);

    if (host.actor) {
        // A process actor, started by a supervisor: it passes everything.
        host.config = file;
        host.node = node;
        if (!file || !node || !host.cluster) {
            fprintf(stderr, "azod: --actor needs -c, --node and --cluster\n");
            return AZO_EXIT_USAGE;
        }
        char ident[64];
        snprintf(ident, sizeof ident, "azod[%s]", host.actor);
        zsys_set_logident(ident);
        int code = azo_host_run(&host, defs, ndefs, sigfd);
        close(sigfd);
        return code;
    }

    azo_config_set_default_g(azo_default_cfg);
    if (join) {
        int code = s_join(join_ep, node, file, sets, nsets, defs, ndefs, sigfd);
        close(sigfd);
        return code;
    }
    size_t nkeys;
    azo_cfg_key_t *schema = azo_sup_schema(defs, ndefs, &nkeys);
    if (!schema) {
        fprintf(stderr, "azod: out of memory\n");
        return AZO_EXIT_ERROR;
    }
    char err[1024];
    azo_config_t *cfg = NULL;
    int rc = azo_config_load(&cfg, file, sets, nsets, schema, nkeys, err,
                             sizeof err);
    free(schema);
    if (rc < 0) {
        fprintf(stderr, "azod: %s\n", err);
        return AZO_EXIT_USAGE;
    }
    if (check) {
        rc = azo_sup_check(cfg, defs, ndefs, err, sizeof err);
        if (rc < 0) {
            fprintf(stderr, "azod: %s\n", err);
            azo_config_destroy(&cfg);
            return AZO_EXIT_USAGE;
        }
        printf("azod: configuration %s is valid\n", azo_config_source(cfg));
        azo_config_destroy(&cfg);
        return AZO_EXIT_OK;
    }
    azo_sup_t *sup = NULL;
    rc = azo_sup_open(&sup, cfg, defs, ndefs, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "azod: %s\n", err);
        azo_config_destroy(&cfg);
        return rc == AZO_EBADREQ || rc == AZO_EFORBIDDEN || rc == AZO_EUNAVAIL
                   ? AZO_EXIT_USAGE
                   : AZO_EXIT_ERROR;
    }
    azo_sup_set_signalfd(sup, sigfd);
    int code = azo_sup_run(sup);
    if (azo_sup_abandoned(sup)) {
        // A stuck actor thread still holds sockets; tearing the ZeroMQ
        // context down would wait for it forever. Committed LMDB data is
        // already durable. Not a clean stop: say so in the status.
        zsys_error("leaving with actor threads abandoned");
        fflush(NULL);
        _exit(code == AZO_EXIT_OK ? AZO_EXIT_ERROR : code);
    }
    azo_sup_close(&sup);
    azo_config_destroy(&cfg);
    close(sigfd);
    return code;
}
