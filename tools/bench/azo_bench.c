// azo_bench — helpers shared by the benchmarks. Stateless; any thread. The
// envelope code here uses msgpack-c directly and nothing of azo: it is the
// "raw" side of every comparison.
// nftw() is X/Open.
#define _XOPEN_SOURCE 700

#include "azo_bench.h"

#include <czmq.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int64_t
azo_bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void
azo_bench_sort(double *v, size_t n)
{
    qsort(v, n, sizeof *v, s_cmp_double);
}

double
azo_bench_pct(const double *sorted, size_t n, double q)
{
    // Nearest rank: the smallest value with at least q of the samples at or
    // below it.
    size_t rank = (size_t)(q * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

double
azo_bench_median(double *v, size_t n)
{
    azo_bench_sort(v, n);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double
azo_bench_best(double *v, size_t n)
{
    azo_bench_sort(v, n);
    return v[n - 1];
}

azo_bench_stats_t
azo_bench_stats(double *v, size_t n)
{
    azo_bench_stats_t s = {0};
    if (n == 0)
        return s;
    s.p50 = azo_bench_median(v, n); // sorts v
    s.p90 = azo_bench_pct(v, n, 0.9);
    s.p99 = azo_bench_pct(v, n, 0.99);
    s.min = v[0];
    s.max = v[n - 1];
    return s;
}

bool
azo_bench_arg_int(const char *prog, const char *what, const char *arg, int lo,
                  int hi, int *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(arg, &end, 10);
    bool good = *arg && end && !*end && errno == 0 && v >= lo && v <= hi;
    if (good)
        *out = (int)v;
    else
        fprintf(stderr, "%s: %s: '%s' is not in %d..%d\n", prog, what, arg, lo,
                hi);
    return good;
}

static void
s_pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

void
azo_bench_pack_req_head(msgpack_packer *pk, uint64_t id, const char *cmd)
{
    msgpack_pack_map(pk, 4);
    s_pack_str(pk, "v");
    msgpack_pack_uint64(pk, 1);
    s_pack_str(pk, "id");
    msgpack_pack_uint64(pk, id);
    s_pack_str(pk, "cmd");
    s_pack_str(pk, cmd);
    s_pack_str(pk, "args");
}

void
azo_bench_pack_req(msgpack_packer *pk, uint64_t id, const char *cmd,
                   const char *key, int64_t val)
{
    azo_bench_pack_req_head(pk, id, cmd);
    msgpack_pack_map(pk, key ? 1 : 0);
    if (key) {
        s_pack_str(pk, key);
        msgpack_pack_int64(pk, val);
    }
}

void
azo_bench_pack_rep_head(msgpack_packer *pk, uint64_t id)
{
    msgpack_pack_map(pk, 4);
    s_pack_str(pk, "v");
    msgpack_pack_uint64(pk, 1);
    s_pack_str(pk, "id");
    msgpack_pack_uint64(pk, id);
    s_pack_str(pk, "ok");
    msgpack_pack_true(pk);
    s_pack_str(pk, "result");
}

void
azo_bench_pack_rep(msgpack_packer *pk, uint64_t id, const char *key,
                   int64_t val)
{
    azo_bench_pack_rep_head(pk, id);
    msgpack_pack_map(pk, 1);
    s_pack_str(pk, key);
    msgpack_pack_int64(pk, val);
}

static bool
s_key_is(const msgpack_object *k, const char *name)
{
    size_t n = strlen(name);
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n &&
           memcmp(k->via.str.ptr, name, n) == 0;
}

bool
azo_bench_int(const msgpack_object *o, int64_t *out)
{
    if (o && o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        *out = (int64_t)o->via.u64;
        return true;
    }
    if (o && o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = o->via.i64;
        return true;
    }
    return false;
}

const msgpack_object *
azo_bench_get(const msgpack_object *map, const char *key)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++)
        if (s_key_is(&map->via.map.ptr[i].key, key))
            return &map->via.map.ptr[i].val;
    return NULL;
}

// Looks for "n" (and "code") in a nested map such as args or result.
static void
s_scan_inner(const msgpack_object *map, azo_bench_env_t *out)
{
    if (map->type != MSGPACK_OBJECT_MAP)
        return;
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        const msgpack_object *v = &map->via.map.ptr[i].val;
        if (s_key_is(k, "n"))
            out->has_n = azo_bench_int(v, &out->n);
        else if (s_key_is(k, "code") && v->type == MSGPACK_OBJECT_STR) {
            out->code = v->via.str.ptr;
            out->code_len = v->via.str.size;
        }
    }
}

int
azo_bench_unpack(msgpack_unpacked *u, const void *data, size_t len,
                 azo_bench_env_t *out)
{
    memset(out, 0, sizeof *out);
    size_t off = 0;
    if (msgpack_unpack_next(u, data, len, &off) != MSGPACK_UNPACK_SUCCESS)
        return -1;
    const msgpack_object *root = &u->data;
    if (root->type != MSGPACK_OBJECT_MAP)
        return -1;
    for (uint32_t i = 0; i < root->via.map.size; i++) {
        const msgpack_object *k = &root->via.map.ptr[i].key;
        const msgpack_object *v = &root->via.map.ptr[i].val;
        int64_t id;
        if (s_key_is(k, "id") && azo_bench_int(v, &id)) {
            out->has_id = true;
            out->id = (uint64_t)id;
        } else if (s_key_is(k, "cmd") && v->type == MSGPACK_OBJECT_STR) {
            out->cmd = v->via.str.ptr;
            out->cmd_len = v->via.str.size;
        } else if (s_key_is(k, "ok") && v->type == MSGPACK_OBJECT_BOOLEAN)
            out->ok = v->via.boolean;
        else if (s_key_is(k, "args") || s_key_is(k, "result") ||
                 s_key_is(k, "error"))
            s_scan_inner(v, out);
    }
    return 0;
}

void
azo_bench_router_init(azo_bench_router_t *r)
{
    zmq_msg_init(&r->ident);
    zmq_msg_init(&r->body);
    msgpack_unpacked_init(&r->u);
    memset(&r->env, 0, sizeof r->env);
    msgpack_sbuffer_init(&r->sb);
    msgpack_packer_init(&r->pk, &r->sb, msgpack_sbuffer_write);
}

void
azo_bench_router_fini(azo_bench_router_t *r)
{
    msgpack_sbuffer_destroy(&r->sb);
    msgpack_unpacked_destroy(&r->u);
    zmq_msg_close(&r->body);
    zmq_msg_close(&r->ident);
}

int
azo_bench_router_recv(azo_bench_router_t *r, void *sock)
{
    if (zmq_msg_recv(&r->ident, sock, 0) < 0 ||
        zmq_msg_recv(&r->body, sock, 0) < 0)
        return -1;
    msgpack_sbuffer_clear(&r->sb);
    return azo_bench_unpack(&r->u, zmq_msg_data(&r->body),
                            zmq_msg_size(&r->body), &r->env) < 0
               ? 1
               : 0;
}

int
azo_bench_router_send(azo_bench_router_t *r, void *sock)
{
    if (zmq_msg_send(&r->ident, sock, ZMQ_SNDMORE) < 0 ||
        zmq_send(sock, r->sb.data, r->sb.size, 0) < 0)
        return -1;
    return 0;
}

int
azo_bench_tmpdir(char *buf, size_t len)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    int n = snprintf(buf, len, "%s/azo-bench-XXXXXX", base);
    // ipc:// paths must fit sockaddr_un (108 bytes) with room for names.
    if (n < 0 || (size_t)n >= len || n > 80)
        return -ENAMETOOLONG;
    if (!mkdtemp(buf))
        return -errno;
    return 0;
}

static int
s_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    (void)remove(path); // best effort: a leftover temp file is harmless
    return 0;
}

void
azo_bench_rmtree(const char *dir)
{
    (void)nftw(dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
}

const char *
azo_bench_fmt_rate(char *buf, size_t len, double per_s)
{
    if (per_s >= 1e6)
        snprintf(buf, len, "%.2fM/s", per_s / 1e6);
    else if (per_s >= 1e3)
        snprintf(buf, len, "%.1fk/s", per_s / 1e3);
    else
        snprintf(buf, len, "%.0f/s", per_s);
    return buf;
}

const char *
azo_bench_fmt_us(char *buf, size_t len, double us)
{
    snprintf(buf, len, us < 100 ? "%.1f us" : "%.0f us", us);
    return buf;
}

void
azo_bench_summary(const char *metric, const char *azo, const char *baseline,
                  double ratio, const char *target, const char *met)
{
    printf("@summary|%s|%s|%s|%.2f|%s|%s\n", metric, azo, baseline, ratio,
           target ? target : "-", met ? met : "-");
    fflush(stdout);
}

void
azo_bench_summary_ms(const char *metric, double azo_ms, double base_ms,
                     const char *target, bool met)
{
    char a[32], b[32];
    snprintf(a, sizeof a, azo_ms < 1 ? "%.3f ms" : "%.2f ms", azo_ms);
    snprintf(b, sizeof b, base_ms < 1 ? "%.3f ms" : "%.2f ms", base_ms);
    azo_bench_summary(metric, a, b, base_ms > 0 ? azo_ms / base_ms : 0, target,
                      target ? (met ? "yes" : "NO") : NULL);
}

void
azo_bench_print_machine(void)
{
    double load[3] = {0, 0, 0};
    if (getloadavg(load, 3) < 0)
        load[0] = load[1] = load[2] = -1; // unknown: printed as such
    printf("machine: %ld CPUs online, load average %.2f %.2f %.2f at "
           "start\n",
           sysconf(_SC_NPROCESSORS_ONLN), load[0], load[1], load[2]);
    fflush(stdout);
}

// --- child processes ----------------------------------------------------

void
azo_bench_child_init(azo_bench_child_t *c)
{
    c->pid = 0;
    c->pidfd = -1;
}

int
azo_bench_child_spawn(azo_bench_child_t *c, const char *path,
                      char *const argv[], const char *log, int deathsig)
{
    azo_bench_child_init(c);
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        // Only async-signal-safe calls until exec.
        (void)prctl(PR_SET_PDEATHSIG, deathsig);
        (void)signal(SIGPIPE, SIG_DFL); // ignored here, not by default
        if (log) {
            int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
            if (fd >= 0) {
                (void)dup2(fd, STDOUT_FILENO);
                (void)dup2(fd, STDERR_FILENO);
                (void)close(fd);
            }
        }
        execv(path, argv);
        _exit(127);
    }
    return azo_bench_child_adopt(c, pid);
}

int
azo_bench_child_adopt(azo_bench_child_t *c, pid_t pid)
{
    azo_bench_child_init(c);
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0) {
        int rc = -errno;
        (void)kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        return rc;
    }
    c->pid = pid;
    c->pidfd = fd;
    return 0;
}

int
azo_bench_child_signal(azo_bench_child_t *c, int sig)
{
    if (c->pidfd < 0)
        return -ESRCH;
    return syscall(SYS_pidfd_send_signal, c->pidfd, sig, NULL, 0) < 0 ? -errno
                                                                      : 0;
}

bool
azo_bench_child_alive(const azo_bench_child_t *c)
{
    struct pollfd p = {c->pidfd, POLLIN, 0};
    return c->pidfd >= 0 && poll(&p, 1, 0) == 0;
}

int
azo_bench_child_wait(azo_bench_child_t *c, int wait_ms, int *status)
{
    if (c->pid <= 0)
        return 0;
    int64_t deadline = azo_bench_now_ns() + (int64_t)wait_ms * 1000000;
    while (true) {
        int st = 0;
        pid_t r = waitpid(c->pid, &st, WNOHANG);
        if (r == c->pid || (r < 0 && errno == ECHILD)) {
            if (status)
                *status = r == c->pid ? st : -1; // -1: reaped elsewhere
            close(c->pidfd);
            azo_bench_child_init(c);
            return 0;
        }
        int64_t left = (deadline - azo_bench_now_ns()) / 1000000;
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd p = {c->pidfd, POLLIN, 0};
        (void)poll(&p, 1, (int)(left > 1000 ? 1000 : left + 1));
    }
}

int
azo_bench_kill_mentioning(const char *text)
{
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    int n = 0;
    size_t tlen = strlen(text);
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0 || pid == (long)getpid())
            continue;
        char path[64], buf[4096];
        snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t len = read(fd, buf, sizeof buf);
        close(fd);
        bool hit = false;
        for (ssize_t i = 0; len > 0 && i + (ssize_t)tlen <= len && !hit; i++)
            hit = memcmp(buf + i, text, tlen) == 0;
        if (hit && kill((pid_t)pid, SIGKILL) == 0)
            n++;
    }
    closedir(d);
    return n;
}

void
azo_bench_print_log(const char *path, int last)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    // Two passes: count, then print the last lines.
    char line[1024];
    int total = 0, at = 0;
    while (fgets(line, sizeof line, f))
        total++;
    rewind(f);
    fprintf(stderr, "--- %s (last %d lines) ---\n", path, last);
    while (fgets(line, sizeof line, f))
        if (at++ >= total - last)
            fputs(line, stderr);
    fclose(f);
}

int
azo_bench_setup_g(const char *prog, const char **azod, char *buf, size_t len,
                  char *dir, size_t dirlen)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        fprintf(stderr, "%s: cannot find its own binary\n", prog);
        return 1;
    }
    self[n] = 0;
    if (!*azod)
        *azod = azo_bench_default_azod(self, buf, len);
    if (access(*azod, X_OK) != 0) {
        fprintf(stderr, "%s: no azod at %s (use --azod PATH)\n", prog, *azod);
        return 2;
    }
    // A reader that goes away (| head) must not kill us before the cleanup.
    (void)signal(SIGPIPE, SIG_IGN);
    zsys_init();
    zsys_set_logident(prog);
    zsys_set_logsystem(false);
    zsys_set_logstream(NULL);
    azo_bench_print_machine();
    printf("azod: %s\n", *azod);
    int rc = azo_bench_tmpdir(dir, dirlen);
    if (rc < 0) {
        fprintf(stderr, "%s: cannot make a temp directory: %s\n", prog,
                strerror(-rc));
        return 1;
    }
    return 0;
}

bool
azo_bench_leave_dir(const char *prog, const char *dir, bool keep)
{
    int left = azo_bench_kill_mentioning(dir);
    if (left > 0)
        fprintf(stderr, "%s: killed %d leftover process(es) mentioning %s\n",
                prog, left, dir);
    if (keep)
        printf("kept: %s\n", dir);
    else
        azo_bench_rmtree(dir);
    if (zsys_interrupted)
        fprintf(stderr, "%s: interrupted\n", prog);
    fflush(stdout);
    return left == 0;
}

const char *
azo_bench_default_azod(const char *self, char *buf, size_t len)
{
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", self);
    snprintf(buf, len, "%s/../azod", dirname(copy));
    return buf;
}
