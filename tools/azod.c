// azod — the azo supervisor daemon: loads the configuration (a file or the
// embedded default, plus --set overrides), opens the node and runs its
// actors until SIGINT, SIGTERM or a `shutdown` command. Main thread only.
#include "azo_actors.h"
#include "azo_config.h"
#include "azo_err.h"
#include "azo_host.h"
#include "azo_sup.h"

#include <czmq.h>
#include <errno.h>
#include <getopt.h>
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
        "       azod --join ENDPOINT --node NAME   (node agent: not yet "
        "available, #10)\n"
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
    if (join || (node && !host.actor)) {
        fprintf(stderr, "azod: node agents (--join/--node) are not "
                        "available in this build yet (#10)\n");
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
