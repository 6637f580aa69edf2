// Unit tests of arc_rot on temp directories: size and age triggers (the
// clock injected), notifempty, missingok, rotate N shifting and keeping
// exactly N, compress and delaycompress (checked with gzip -t and zcat),
// dateext names and pruning by date, copytruncate (a writer's O_APPEND fd
// keeps writing at 0), rename + signal to a child process, dry runs that
// change nothing and announce exactly what the real run then does,
// recovery from hand-made crash states, and targets never overwritten.
#include "arc_fs.h"
#include "arc_rot.h"
#include "azo_err.h"
#include "azo_testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#define NOBODY  65534
#define DAY_MS  86400000LL
#define JAN1    1767261600000LL // 2026-01-01T10:00:00Z
#define REP_MAX 16384

typedef struct fix fix_t;

// What a run reported, one line per step: "action from>to rc", paths
// without the directory. hook (may be NULL) runs after each report.
struct fix {
    char dir[PATH_MAX];
    char log[PATH_MAX];
    char rep[REP_MAX];
    size_t len;
    int errors;
    void (*hook)(fix_t *f, const char *action, const char *from,
                 const char *to);
};

static int
setup(void **state)
{
    fix_t *f = calloc(1, sizeof *f);
    if (!f || azo_test_tmpdir(f->dir, sizeof f->dir, "arc_rot") < 0) {
        free(f);
        return -1;
    }
    int n = snprintf(f->log, sizeof f->log, "%s/app.log", f->dir);
    if (n < 0 || (size_t)n >= sizeof f->log) {
        azo_test_rm_rf(f->dir);
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fix_t *f = *state;
    azo_test_rm_rf(f->dir);
    free(f);
    return 0;
}

static const char *
s_short(const fix_t *f, const char *path)
{
    size_t n = strlen(f->dir);
    if (path && strncmp(path, f->dir, n) == 0 && path[n] == '/')
        return path + n + 1;
    return path ? path : "-";
}

static void
s_on_report(void *arg, const char *action, const char *from, const char *to,
            int64_t bytes, int rc, const char *err)
{
    fix_t *f = arg;
    (void)bytes;
    assert_non_null(action);
    if (rc < 0) {
        f->errors++;
        assert_non_null(err);
        assert_true(azo_test_one_line(err));
    }
    int n = snprintf(f->rep + f->len, REP_MAX - f->len, "%s %s>%s %d\n", action,
                     s_short(f, from), s_short(f, to), rc);
    assert_true(n > 0 && (size_t)n < REP_MAX - f->len);
    f->len += (size_t)n;
    if (f->hook)
        f->hook(f, action, from, to);
}

static int
s_run(fix_t *f, const arc_rot_cfg_t *c, bool dry)
{
    char err[512] = "";
    f->len = 0;
    f->rep[0] = '\0';
    f->errors = 0;
    int rc = arc_rot_run(c, dry, s_on_report, f, err, sizeof err);
    if (rc < 0)
        assert_true(azo_test_one_line(err));
    return rc;
}

static void
s_path(const fix_t *f, const char *name, char *buf)
{
    int n = snprintf(buf, PATH_MAX, "%s/%s", f->dir, name);
    assert_true(n > 0 && n < PATH_MAX);
}

// Writes (replaces) file name with text.
static void
s_put(const fix_t *f, const char *name, const char *text)
{
    char p[PATH_MAX];
    s_path(f, name, p);
    FILE *fp = fopen(p, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
    assert_int_equal(fclose(fp), 0);
}

// The content of file name, or "(none)" when it is absent. Static buffer.
static const char *
s_get(const fix_t *f, const char *name)
{
    static char buf[8192];
    char p[PATH_MAX];
    s_path(f, name, p);
    FILE *fp = fopen(p, "rb");
    if (!fp)
        return "(none)";
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static bool
s_exists(const fix_t *f, const char *name)
{
    char p[PATH_MAX];
    struct stat st;
    s_path(f, name, p);
    return lstat(p, &st) == 0;
}

static int __attribute__((format(printf, 1, 2))) s_sh(const char *fmt, ...)
{
    char cmd[PATH_MAX * 3];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    assert_true(n > 0 && (size_t)n < sizeof cmd);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// The content of gzip file name, after checking it with gzip -t. Static.
static const char *
s_gunzip(const fix_t *f, const char *name)
{
    char p[PATH_MAX];
    s_path(f, name, p);
    assert_int_equal(s_sh("gzip -t '%s'", p), 0);
    assert_int_equal(s_sh("zcat '%s' > '%s/zcat.out'", p, f->dir), 0);
    const char *s = s_get(f, "zcat.out");
    char out[PATH_MAX];
    s_path(f, "zcat.out", out);
    assert_int_equal(unlink(out), 0);
    return s;
}

// The names in the directory, sorted, each with its bytes: the whole
// state of the directory, for dry-run comparisons. malloc'd.
static char *
s_listing(const fix_t *f)
{
    struct dirent **v;
    int n = scandir(f->dir, &v, NULL, alphasort);
    assert_true(n >= 0);
    size_t cap = 1 << 16, len = 0;
    char *out = calloc(1, cap);
    assert_non_null(out);
    for (int i = 0; i < n; i++) {
        if (strcmp(v[i]->d_name, ".") && strcmp(v[i]->d_name, "..")) {
            char p[PATH_MAX];
            struct stat st;
            s_path(f, v[i]->d_name, p);
            assert_int_equal(lstat(p, &st), 0);
            int m = snprintf(out + len, cap - len, "%s %lld %o [%s]\n",
                             v[i]->d_name, (long long)st.st_size,
                             (unsigned)st.st_mode,
                             S_ISREG(st.st_mode) ? s_get(f, v[i]->d_name) : "");
            assert_true(m > 0 && (size_t)m < cap - len);
            len += (size_t)m;
        }
        free(v[i]);
    }
    free(v);
    return out;
}

static arc_rot_cfg_t
s_cfg(const fix_t *f, int rotate)
{
    return (arc_rot_cfg_t){.path = f->log, .rotate = rotate, .now_ms = JAN1};
}

static void
test_arc_rot_size_trigger(void **state)
{
    fix_t *f = *state;
    arc_rot_cfg_t c = s_cfg(f, 3);
    c.size = 100;
    s_put(f, "app.log", "fifty bytes of log........................end\n");
    assert_int_equal(s_run(f, &c, false), 0);
    assert_non_null(strstr(f->rep, "skip app.log>- 0"));
    assert_false(s_exists(f, "app.log.1"));
    char big[151];
    memset(big, 'x', 150);
    big[150] = '\0';
    s_put(f, "app.log", big);
    assert_int_equal(s_run(f, &c, false), 0);
    assert_string_equal(f->rep, "rotate app.log>- 0\n"
                                "rename app.log>app.log.1 0\n");
    assert_string_equal(s_get(f, "app.log.1"), big);
    assert_false(s_exists(f, "app.log")); // rename mode: the writer reopens
    assert_int_equal(f->errors, 0);
}

static void
test_arc_rot_age_trigger(void **state)
{
    fix_t *f = *state;
    arc_rot_cfg_t c = s_cfg(f, 3);
    c.max_age_ms = 3600000;
    s_put(f, "app.log", "one\n");
    assert_int_equal(s_run(f, &c, false), 0); // never rotated: due
    assert_string_equal(s_get(f, "app.log.1"), "one\n");
    // The last rotation is the ctime of the newest rotated file.
    char p[PATH_MAX];
    struct stat st;
    s_path(f, "app.log.1", p);
    assert_int_equal(lstat(p, &st), 0);
    int64_t at =
        (int64_t)st.st_ctim.tv_sec * 1000 + st.st_ctim.tv_nsec / 1000000;
    s_put(f, "app.log", "two\n");
    c.now_ms = at + 3600000 - 1;
    assert_int_equal(s_run(f, &c, false), 0);
    assert_non_null(strstr(f->rep, "skip app.log>- 0"));
    assert_string_equal(s_get(f, "app.log"), "two\n");
    c.now_ms = at + 3600000;
    assert_int_equal(s_run(f, &c, false), 0);
    assert_non_null(strstr(f->rep, "rotate app.log>- 0"));
    assert_string_equal(s_get(f, "app.log.1"), "two\n");
    assert_string_equal(s_get(f, "app.log.2"), "one\n");
}

static void
test_arc_rot_notifempty(void **state)
{
    fix_t *f = *state;
    arc_rot_cfg_t c = s_cfg(f, 3);
    c.notifempty = true;
    s_put(f, "app.log", "");
    assert_int_equal(s_run(f, &c, false), 0);
    assert_string_equal(f->rep, "skip app.log>- 0\n");
    assert_true(s_exists(f, "app.log"));
    assert_false(s_exists(f, "app.log.1"));
    c.notifempty = false; // an empty log is rotated then
    assert_int_equal(s_run(f, &c, false), 0);
    assert_string_equal(s_get(f, "app.log.1"), "");
}

static void
test_arc_rot_missingok(void **state)
{
    fix_t *f = *state;
    arc_rot_cfg_t c = s_cfg(f, 3);
    char err[512];
    assert_int_equal(arc_rot_run(&c, false, NULL, NULL, err, sizeof err),
                     -ENOENT);
    assert_non_null(strstr(err, "app.log"));
    assert_int_equal(s_run(f, &c, false), -ENOENT);
    assert_int_equal(f->errors, 1);
    c.missingok = true;
    assert_int_equal(s_run(f, &c, false), 0);
    assert_string_equal(f->rep, "skip app.log>- 0\n");
    assert_int_equal(f->errors, 0);
    // A missing directory too.
    char p[PATH_MAX];
    s_path(f, "nodir/app.log", p);
    c.path = p;
    assert_int_equal(s_run(f, &c, false), 0);
    c.missingok = false;
    assert_int_equal(s_run(f, &c, false), -ENOENT);
    assert_false(s_exists(f, "nodir"));
}

static void
test_arc_rot_bad_cfg(void **state)
{
    fix_t *f = *state;
    arc_rot_cfg_t c = s_cfg(f, -1);
    assert_int_equal(s_run(f, &c, false), AZO_EBADREQ);
    c = s_cfg(f, ARC_ROT_MAX + 1);
    assert_int_equal(s_run(f, &c, false), AZO_EBADREQ);
    c = s_cfg(f, 0);
    c.max_age_ms = DAY_MS; // nothing kept would date the last rotation
    assert_int_equal(s_run(f, &c, false), AZO_EBADREQ);
    c = s_cfg(f, 1);
    c.pidfile = "x.pid"; // and no signal
    assert_int_equal(s_run(f, &c, false), AZO_EBADREQ);
    char p[PATH_MAX];
    s_path(f, "", p); // a directory, not a file
    c = s_cfg(f, 1);
    c.path = p;
    assert_int_equal(s_run(f, &c, false), AZO_EBADREQ);
}

// Rotates n times, the log holding "gen1\n" .. "gen<n>\n" in turn.
static void
s_rotate_gens(fix_t *f, const arc_rot_cfg_t *c, int n)
{
    for (int i = 1; i <= n; i++) {
        char text[32];
        snprintf(text, sizeof text, "gen%d\n", i);
        s_put(f, "app.log", text);
        assert_int_equal(s_run(f, c, false), 0);
        assert_int_equal(f->errors, 0);
        if (c->delaycompress)
            assert_false(s_exists(f, "app.log.1.gz")); // .1 stays plain
    }
}

static void
test_arc_rot_keeps_n(void **state)
{
    fix_t *f = *state;
    arc_rot_cfg_t c = s_cfg(f, 3);
    s_put(f, "app.log.old", "not ours");
    s_put(f, "app.log.7", "beyond N+1: not ours");
    s_put(f, "other.log", "other");
    s_rotate_gens(f, &c, 5);
    assert_string_equal(f->rep, "rotate app.log>- 0\n"
                                "rename app.log.3>app.log.4 0\n"
                                "rename app.log.2>app.log.3 0\n"
                                "rename app.log.1>app.log.2 0\n"
                                "rename app.log>app.log.1 0\n"
                                "remove app.log.4>- 0\n");
    assert_string_equal(s_get(f, "app.log.1"), "gen5\n");
    assert_string_equal(s_get(f, "app.log.2"), "gen4\n");
    assert_string_equal(s_get(f, "app.log.3"), "gen3\n");
    assert_false(s_exists(f, "app.log.4"));
    assert_false(s_exists(f, "app.log"));
    assert_string_equal(s_get(f, "app.log.old"), "not ours");
    assert_string_equal(s_get(f, "app.log.7"), "beyond N+1: not ours");
    assert_string_equal(s_get(f, "other.log"), "other");
}

static void
test_arc_rot_rotate_0(void **state)
{
    fix_t *f = *state;
    arc_rot_cfg_t c = s_cfg(f, 0); // logrotate's rotate 0: content dropped
    s_put(f, "app.log", "dropped\n");
    s_put(f, "app.log.2", "not ours at rotate 0");
    assert_int_equal(s_run(f, &c, false), 0);
    assert_string_equal(f->rep, "rotate app.log>- 0\n"
                                "rename app.log>app.log.1 0\n"
                                "remove app.log.1>- 0\n");
    assert_false(s_exists(f, "app.log"));
    assert_false(s_exists(f, "app.log.1"));
    assert_string_equal(s_get(f, "app.log.2"), "not ours at rotate 0");
    c.copytruncate = true; // truncated without a copy
    s_put(f, "app.log", "dropped too\n");
    assert_int_equal(s_run(f, &c, false), 0);
    assert_string_equal(f->rep, "rotate app.log>- 0\n"
                                "truncate app.log>- 0\n");
    assert_string_equal(s_get(f, "app.log"), "");
    assert_false(s_exists(f, "app.log.1"));
}

static void
test_arc_rot_compress(void **state)
{
    fix_t *f = *state;
    arc_rot_cfg_t c = s_cfg(f, 3);
    c.compress = true;
    s_rotate_gens(f, &c, 1);
    assert_string_equal(f->rep, "rotate app.log>- 0\n"
                                "rename app.log>app.log.1 0\n"
                                "compress app.log.1>app.log.1.gz 0\n");
    assert_false(s_exists(f, "app.log.1"));
    assert_string_equal(s_gunzip(f, "app.log.1.gz"), "gen1\n");
    s_rotate_gens(f, &c, 2);
    assert_string_equal(s_gunzip(f, "app.log.3.gz"), "gen1\n");
    assert_string_equal(s_gunzip(f, "app.log.1.gz"), "gen2\n");
    assert_string_equal(s_gunzip(f, "app.log.2.gz"), "gen1\n");
}

static void
test_arc_rot_delaycompress(void **state)
{
    fix_t *f = *state;
    arc_rot_cfg_t c = s_cfg(f, 3);
    c.compress = c.delaycompress = true;
    s_rotate_gens(f, &c, 5);
    assert_string_equal(f->rep, "rotate app.log>- 0\n"
                                "rename app.log.3.gz>app.log.4.gz 0\n"
                                "rename app.log.2.gz>app.log.3.gz 0\n"
                                "rename app.log.1>app.log.2 0\n"
                                "rename app.log>app.log.1 0\n"
                                "remove app.log.4.gz>- 0\n"
                                "compress app.log.2>app.log.2.gz 0\n");
    assert_string_equal(s_get(f, "app.log.1"), "gen5\n");
    assert_false(s_exists(f, "app.log.2"));
    assert_false(s_exists(f, "app.log.3"));
    assert_string_equal(s_gunzip(f, "app.log.2.gz"), "gen4\n");
    assert_string_equal(s_gunzip(f, "app.log.3.gz"), "gen3\n");
    assert_false(s_exists(f, "app.log.4.gz"));
}

static void
test_arc_rot_dateext(void **state)
{
    fix_t *f = *state;
    arc_rot_cfg_t c = s_cfg(f, 2);
    c.dateext = true;
    s_put(f, "app.log-2025", "not a dated name");
    s_put(f, "app.log", "a\n");
    assert_int_equal(s_run(f, &c, false), 0);
    assert_string_equal(f->rep, "rotate app.log>- 0\n"
                                "rename app.log>app.log-20260101 0\n");
    s_put(f, "app.log", "b\n"); // the same day: a suffix
    c.now_ms = JAN1 + 3600000;
    assert_int_equal(s_run(f, &c, false), 0);
    assert_string_equal(s_get(f, "app.log-20260101-1"), "b\n");
    s_put(f, "app.log", "c\n"); // the next day: the oldest by date goes
    c.now_ms = JAN1 + DAY_MS;
    assert_int_equal(s_run(f, &c, false), 0);
    assert_string_equal(f->rep, "rotate app.log>- 0\n"
                                "rename app.log>app.log-20260102 0\n"
                                "remove app.log-20260101>- 0\n");
    assert_false(s_exists(f, "app.log-20260101"));
    assert_string_equal(s_get(f, "app.log-20260101-1"), "b\n");
    assert_string_equal(s_get(f, "app.log-20260102"), "c\n");
    // Compressed: the dated name gets ".gz"; a .gz takes its name too.
    c.compress = true;
    s_put(f, "app.log", "d\n");
    c.now_ms = JAN1 + 9 * DAY_MS;
    assert_int_equal(s_run(f, &c, false), 0);
    assert_string_equal(f->rep,
                        "rotate app.log>- 0\n"
                        "rename app.log>app.log-20260110 0\n"
                        "remove app.log-20260101-1>- 0\n"
                        "compress app.log-20260110>app.log-20260110.gz 0\n"
                        "compress app.log-20260102>app.log-20260102.gz 0\n");
    assert_string_equal(s_gunzip(f, "app.log-20260110.gz"), "d\n");
    assert_string_equal(s_gunzip(f, "app.log-20260102.gz"), "c\n");
    s_put(f, "app.log", "e\n");
    assert_int_equal(s_run(f, &c, false), 0);
    assert_string_equal(s_gunzip(f, "app.log-20260110-1.gz"), "e\n");
    assert_false(s_exists(f, "app.log-20260102.gz"));
    assert_string_equal(s_get(f, "app.log-2025"), "not a dated name");
}

static void
test_arc_rot_copytruncate(void **state)
{
    fix_t *f = *state;
    arc_rot_cfg_t c = s_cfg(f, 2);
    c.copytruncate = true;
    s_put(f, "app.log", "before\n");
    int fd = open(f->log, O_WRONLY | O_APPEND); // the writer's
    assert_true(fd >= 0);
    assert_int_equal(chmod(f->log, 0640), 0);
    assert_int_equal(s_run(f, &c, false), 0);
    assert_string_equal(f->rep, "rotate app.log>- 0\n"
                                "copy app.log>app.log.1 0\n"
                                "truncate app.log>- 0\n");
    assert_int_equal(write(fd, "after\n", 6), 6);
    assert_int_equal(close(fd), 0);
    assert_string_equal(s_get(f, "app.log.1"), "before\n");
    assert_string_equal(s_get(f, "app.log"), "after\n"); // at offset 0
    char p[PATH_MAX];
    struct stat st;
    s_path(f, "app.log.1", p);
    assert_int_equal(lstat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640); // the log's mode
    assert_true(s_exists(f, "app.log"));
}

static volatile sig_atomic_t s_hup;

static void
s_on_hup(int sig)
{
    (void)sig;
    s_hup = 1;
}

// A writer that "reopens its log" on SIGHUP: writes marker and exits 0.
// SIGHUP is blocked across the fork, so none is lost before the handler.
static pid_t
s_spawn_writer(const fix_t *f, const char *marker)
{
    char m[PATH_MAX];
    s_path(f, marker, m);
    sigset_t hup, old;
    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    assert_int_equal(sigprocmask(SIG_BLOCK, &hup, &old), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct sigaction sa = {.sa_handler = s_on_hup};
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGHUP, &sa, NULL) < 0)
            _exit(2);
        alarm(30); // no signal at all: SIGALRM ends the child, test fails
        sigset_t none;
        sigemptyset(&none);
        while (!s_hup)
            sigsuspend(&none);
        int fd = open(m, O_WRONLY | O_CREAT | O_EXCL, 0600);
        _exit(fd >= 0 && write(fd, "reopened", 8) == 8 ? 0 : 1);
    }
    assert_int_equal(sigprocmask(SIG_SETMASK, &old, NULL), 0);
    return pid;
}

static void
s_reap(pid_t pid)
{
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static void
test_arc_rot_signal(void **state)
{
    fix_t *f = *state;
    pid_t pid = s_spawn_writer(f, "marker");
    char pidfile[PATH_MAX], text[32];
    s_path(f, "app.pid", pidfile);
    snprintf(text, sizeof text, "%d\n", (int)pid);
    s_put(f, "app.pid", text);
    s_put(f, "app.log", "line\n");
    arc_rot_cfg_t c = s_cfg(f, 2);
    c.pidfile = pidfile;
    c.sig = SIGHUP;
    c.compress = true;
    assert_int_equal(s_run(f, &c, false), 0);
    assert_string_equal(f->rep, "rotate app.log>- 0\n"
                                "rename app.log>app.log.1 0\n"
                                "signal app.pid>- 0\n"
                                "compress app.log.1>app.log.1.gz 0\n");
    s_reap(pid);
    assert_string_equal(s_get(f, "marker"), "reopened");
    assert_string_equal(s_gunzip(f, "app.log.1.gz"), "line\n");
}

static void
test_arc_rot_signal_lost(void **state)
{
    fix_t *f = *state;
    char pidfile[PATH_MAX], text[32];
    s_path(f, "app.pid", pidfile);
    s_put(f, "app.pid", "garbage\n");
    s_put(f, "app.log", "line\n");
    arc_rot_cfg_t c = s_cfg(f, 2);
    c.pidfile = pidfile;
    c.sig = SIGHUP;
    c.compress = true;
    // The signal fails: the writer may still write into app.log.1, so it
    // is not compressed yet; the rotation itself stands.
    assert_int_equal(s_run(f, &c, false), 0);
    assert_int_equal(f->errors, 1);
    assert_non_null(strstr(f->rep, "signal app.pid>- -1000\n"));
    assert_string_equal(s_get(f, "app.log.1"), "line\n");
    assert_false(s_exists(f, "app.log.1.gz"));
    // Next run, the log still missing: the signal is sent again, and then
    // the rotated file is compressed.
    pid_t pid = s_spawn_writer(f, "marker");
    snprintf(text, sizeof text, "%d\n", (int)pid);
    s_put(f, "app.pid", text);
    c.missingok = true;
    assert_int_equal(s_run(f, &c, false), 0);
    assert_string_equal(f->rep, "signal app.pid>- 0\n"
                                "skip app.log>- 0\n"
                                "compress app.log.1>app.log.1.gz 0\n");
    s_reap(pid);
    assert_string_equal(s_get(f, "marker"), "reopened");
    assert_string_equal(s_gunzip(f, "app.log.1.gz"), "line\n");
}

// Runs c as a dry run and checks that the directory did not change, then
// for real, and checks that the real run did what the dry run announced.
static void
s_dry_then_real(fix_t *f, const arc_rot_cfg_t *c, int want)
{
    char *before = s_listing(f);
    assert_int_equal(s_run(f, c, true), want);
    char *dry = strdup(f->rep);
    char *after = s_listing(f);
    assert_string_equal(before, after);
    assert_int_equal(s_run(f, c, false), want);
    assert_string_equal(dry, f->rep);
    free(before);
    free(after);
    free(dry);
}

static void
test_arc_rot_dry_run(void **state)
{
    fix_t *f = *state;
    char p[PATH_MAX];
    s_put(f, "app.log", "the log, long enough to be due\n");
    s_put(f, "app.log.1", "g1\n");
    s_put(f, "app.log.2", "g2\n");
    s_path(f, "app.log.2", p);
    assert_int_equal(s_sh("gzip '%s'", p), 0);
    s_put(f, "app.log.3", "g3\n"); // N+1 with 1..N full: an interrupted
    s_put(f, ".app.log" ARC_TMP_MARK "0123456789abcdef", "partial");
    arc_rot_cfg_t c = s_cfg(f, 2);
    c.size = 10;
    c.compress = true;
    s_dry_then_real(f, &c, 0);
    assert_string_equal(f->rep, "remove .app.log.arc-tmp.0123456789abcdef>- 0\n"
                                "rotate app.log>- 0\n"
                                "remove app.log.3>- 0\n"
                                "rename app.log.2.gz>app.log.3.gz 0\n"
                                "rename app.log.1>app.log.2 0\n"
                                "rename app.log>app.log.1 0\n"
                                "remove app.log.3.gz>- 0\n"
                                "compress app.log.1>app.log.1.gz 0\n"
                                "compress app.log.2>app.log.2.gz 0\n");
    char *end = s_listing(f);
    assert_null(strstr(end, "arc-tmp"));
    free(end);
    assert_string_equal(s_gunzip(f, "app.log.1.gz"),
                        "the log, long enough to be due\n");
    assert_string_equal(s_gunzip(f, "app.log.2.gz"), "g1\n");
    assert_false(s_exists(f, "app.log.3.gz"));
    // Dated, and with a signal to send: a dry run reads the pidfile only.
    pid_t pid = s_spawn_writer(f, "marker");
    char text[32];
    snprintf(text, sizeof text, "%d\n", (int)pid);
    s_put(f, "app.pid", text);
    s_path(f, "app.pid", p);
    s_put(f, "app.log", "dated\n");
    c.dateext = true;
    c.pidfile = p;
    c.sig = SIGHUP;
    c.size = 0;
    s_dry_then_real(f, &c, 0);
    assert_string_equal(f->rep, "rotate app.log>- 0\n"
                                "rename app.log>app.log-20260101 0\n"
                                "signal app.pid>- 0\n"
                                "compress app.log-20260101>"
                                "app.log-20260101.gz 0\n");
    s_reap(pid);
    assert_string_equal(s_get(f, "marker"), "reopened");
}

static void
test_arc_rot_recover_compress(void **state)
{
    fix_t *f = *state;
    char p[PATH_MAX];
    arc_rot_cfg_t c = s_cfg(f, 3);
    c.size = 1000;
    c.compress = c.delaycompress = true;
    s_put(f, "app.log", "small\n");
    s_put(f, "app.log.1", "g1\n");
    // A crash after the .gz was complete, before the plain file went.
    s_put(f, "app.log.2", "g2\n");
    s_path(f, "app.log.2", p);
    assert_int_equal(s_sh("gzip -k '%s'", p), 0);
    // A crash before the compression.
    s_put(f, "app.log.3", "g3\n");
    s_dry_then_real(f, &c, 0);
    assert_string_equal(f->rep, "remove app.log.2>- 0\n"
                                "skip app.log>- 0\n"
                                "compress app.log.3>app.log.3.gz 0\n");
    assert_string_equal(s_get(f, "app.log.1"), "g1\n");
    assert_string_equal(s_gunzip(f, "app.log.2.gz"), "g2\n");
    assert_string_equal(s_gunzip(f, "app.log.3.gz"), "g3\n");
    assert_false(s_exists(f, "app.log.2"));
    assert_false(s_exists(f, "app.log.3"));
    // Both forms but the .gz is something else: both kept, stopped.
    s_put(f, "app.log.1.gz", "not a gzip of app.log.1 at all, no\n");
    char *before = s_listing(f);
    assert_int_equal(s_run(f, &c, false), -EEXIST);
    assert_int_equal(f->errors, 1);
    char *after = s_listing(f);
    assert_string_equal(before, after);
    free(before);
    free(after);
}

static void
test_arc_rot_recover_tmp(void **state)
{
    fix_t *f = *state;
    s_put(f, ".app.log" ARC_TMP_MARK "0123456789abcdef", "partial");
    s_put(f, ".x" ARC_TMP_MARK "fedcba9876543210", "another's, same dir");
    s_put(f, ".app.log" ARC_TMP_MARK "xyz", "not a temporary name");
    arc_rot_cfg_t c = s_cfg(f, 1);
    c.missingok = true;
    assert_int_equal(s_run(f, &c, false), 0);
    assert_non_null(
        strstr(f->rep, "remove .app.log.arc-tmp.0123456789abcdef>- 0\n"));
    assert_non_null(strstr(f->rep, "remove .x.arc-tmp.fedcba9876543210>- 0\n"));
    assert_false(s_exists(f, ".app.log" ARC_TMP_MARK "0123456789abcdef"));
    assert_false(s_exists(f, ".x" ARC_TMP_MARK "fedcba9876543210"));
    assert_string_equal(s_get(f, ".app.log" ARC_TMP_MARK "xyz"),
                        "not a temporary name");
}

// The state before the rotation that a crash interrupted: log L, then
// A B C in .1 .2 .3 (rotate 3). Writes what `state` lists ("L1" puts L
// in app.log.1, "-" leaves the log missing).
static void
s_state(fix_t *f, const char *const *files)
{
    for (; *files; files += 2)
        s_put(f, files[0], files[1]);
}

static void
s_check_end(fix_t *f)
{
    assert_string_equal(s_get(f, "app.log.1"), "L\n");
    assert_string_equal(s_get(f, "app.log.2"), "A\n");
    assert_string_equal(s_get(f, "app.log.3"), "B\n");
    assert_false(s_exists(f, "app.log.4"));
    assert_false(s_exists(f, "app.log"));
    // And the next rotation shifts each once.
    arc_rot_cfg_t c = s_cfg(f, 3);
    s_put(f, "app.log", "M\n");
    assert_int_equal(s_run(f, &c, false), 0);
    assert_string_equal(s_get(f, "app.log.1"), "M\n");
    assert_string_equal(s_get(f, "app.log.2"), "L\n");
    assert_string_equal(s_get(f, "app.log.3"), "A\n");
    assert_false(s_exists(f, "app.log.4"));
}

static void
s_clear(fix_t *f)
{
    const char *names[] = {"app.log", "app.log.1", "app.log.2", "app.log.3",
                           "app.log.4"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char p[PATH_MAX];
        s_path(f, names[i], p);
        (void)unlink(p); // absent is fine
    }
}

static void
test_arc_rot_recover_shift(void **state)
{
    fix_t *f = *state;
    arc_rot_cfg_t c = s_cfg(f, 3);
    c.size = 1;
    c.missingok = true;
    // After .3 -> .4 and .2 -> .3.
    const char *a[] = {"app.log", "L\n",       "app.log.1", "A\n", "app.log.3",
                       "B\n",     "app.log.4", "C\n",       NULL};
    s_state(f, a);
    s_dry_then_real(f, &c, 0);
    assert_string_equal(f->rep, "rotate app.log>- 0\n"
                                "rename app.log.1>app.log.2 0\n"
                                "rename app.log>app.log.1 0\n"
                                "remove app.log.4>- 0\n");
    s_check_end(f);
    // After .1 -> .2 as well.
    s_clear(f);
    const char *b[] = {"app.log", "L\n",       "app.log.2", "A\n", "app.log.3",
                       "B\n",     "app.log.4", "C\n",       NULL};
    s_state(f, b);
    s_dry_then_real(f, &c, 0);
    assert_string_equal(f->rep, "rotate app.log>- 0\n"
                                "rename app.log>app.log.1 0\n"
                                "remove app.log.4>- 0\n");
    s_check_end(f);
    // After the log -> .1, before the removal of .4: not due (no log),
    // the removal is finished.
    s_clear(f);
    const char *d[] = {"app.log.1", "L\n",       "app.log.2",
                       "A\n",       "app.log.3", "B\n",
                       "app.log.4", "C\n",       NULL};
    s_state(f, d);
    s_dry_then_real(f, &c, 0);
    assert_string_equal(f->rep, "skip app.log>- 0\n"
                                "remove app.log.4>- 0\n");
    s_check_end(f);
}

static void
test_arc_rot_recover_copytruncate(void **state)
{
    fix_t *f = *state;
    arc_rot_cfg_t c = s_cfg(f, 2);
    c.copytruncate = true;
    c.size = 1;
    // A crash after the copy took its name, before the truncation: the
    // writer has appended since.
    s_put(f, "app.log", "AAAA\nmore\n");
    s_put(f, "app.log.1", "AAAA\n");
    s_put(f, "app.log.2", "old\n");
    s_put(f, "app.log.3", "older\n");
    s_dry_then_real(f, &c, 0);
    assert_string_equal(f->rep, "remove app.log.1>- 0\n"
                                "rotate app.log>- 0\n"
                                "copy app.log>app.log.1 0\n"
                                "truncate app.log>- 0\n"
                                "remove app.log.3>- 0\n");
    assert_string_equal(s_get(f, "app.log.1"), "AAAA\nmore\n");
    assert_string_equal(s_get(f, "app.log.2"), "old\n");
    assert_false(s_exists(f, "app.log.3"));
    assert_string_equal(s_get(f, "app.log"), "");
    // Dated: the copy gets the same dated name again.
    c.dateext = true;
    s_put(f, "app.log", "X\nmore\n");
    s_put(f, "app.log-20260101", "X\n");
    s_dry_then_real(f, &c, 0);
    assert_string_equal(f->rep, "remove app.log-20260101>- 0\n"
                                "rotate app.log>- 0\n"
                                "copy app.log>app.log-20260101 0\n"
                                "truncate app.log>- 0\n");
    assert_string_equal(s_get(f, "app.log-20260101"), "X\nmore\n");
    assert_false(s_exists(f, "app.log-20260101-1"));
    c.dateext = false;
    // The writer goes on: the rotated file is no prefix of the log, stays.
    s_put(f, "app.log", "AAAA\nmoRe\nand more\n");
    c.size = 1000;
    assert_int_equal(s_run(f, &c, false), 0);
    assert_string_equal(f->rep, "skip app.log>- 0\n");
}

static void
s_intrude(fix_t *f, const char *action, const char *from, const char *to)
{
    (void)to;
    if (strcmp(action, "rename") == 0 &&
        strcmp(s_short(f, from), "app.log.2") == 0)
        s_put(f, "app.log.2", "intruder\n");
}

static void
s_intrude_gz(fix_t *f, const char *action, const char *from, const char *to)
{
    (void)to;
    if (strcmp(action, "rename") == 0 &&
        strcmp(s_short(f, from), "app.log.2") == 0)
        s_put(f, "app.log.2.gz", "intruder\n");
}

static void
test_arc_rot_no_overwrite(void **state)
{
    fix_t *f = *state;
    arc_rot_cfg_t c = s_cfg(f, 3);
    s_put(f, "app.log", "L\n");
    s_put(f, "app.log.1", "A\n");
    s_put(f, "target", "T\n");
    char p[PATH_MAX];
    s_path(f, "app.log.2", p);
    assert_int_equal(symlink("target", p), 0);
    // A rotated name that is not a regular file: nothing is touched.
    char *before = s_listing(f);
    assert_int_equal(s_run(f, &c, false), -EEXIST);
    char *after = s_listing(f);
    assert_string_equal(before, after);
    free(before);
    free(after);
    assert_int_equal(unlink(p), 0);
    // A target that appears during the run (another writer): the rename
    // refuses, the run stops, nothing is overwritten or lost.
    s_put(f, "app.log.2", "B\n");
    f->hook = s_intrude; // after .2 -> .3, app.log.2 is made again
    assert_int_equal(s_run(f, &c, false), -EEXIST);
    f->hook = NULL;
    assert_string_equal(s_get(f, "app.log"), "L\n");
    assert_string_equal(s_get(f, "app.log.1"), "A\n");
    assert_string_equal(s_get(f, "app.log.2"), "intruder\n");
    assert_string_equal(s_get(f, "app.log.3"), "B\n");
    assert_int_equal(unlink(p), 0); // the operator resolves it
    assert_int_equal(s_run(f, &c, false), 0);
    assert_string_equal(s_get(f, "app.log.1"), "L\n");
    assert_string_equal(s_get(f, "app.log.2"), "A\n");
    assert_string_equal(s_get(f, "app.log.3"), "B\n");
    // The other form of the target counts too.
    s_put(f, "app.log", "M\n");
    f->hook = s_intrude_gz;
    assert_int_equal(s_run(f, &c, false), -EEXIST);
    f->hook = NULL;
    assert_string_equal(s_get(f, "app.log.1"), "L\n");
    assert_string_equal(s_get(f, "app.log.2.gz"), "intruder\n");
    assert_string_equal(s_get(f, "app.log.3"), "A\n");
    assert_string_equal(s_get(f, "app.log"), "M\n");
}

static void
s_vanish(fix_t *f, const char *action, const char *from, const char *to)
{
    (void)from;
    (void)to;
    char p[PATH_MAX];
    s_path(f, "app.log.1", p);
    if (strcmp(action, "skip") == 0)
        assert_int_equal(unlink(p), 0);
}

static void
s_count_errors(void *arg, const char *action, const char *from, const char *to,
               int64_t bytes, int rc, const char *err)
{
    (void)action, (void)from, (void)to, (void)bytes, (void)err;
    if (rc < 0)
        ++*(int *)arg;
}

// In dir: a rotation whose compression of app.log.2 cannot read it. Runs
// without cmocka (maybe in a child): 0 when all went as expected.
static int
s_unreadable(const char *dir)
{
    char log[PATH_MAX], p[PATH_MAX];
    snprintf(log, sizeof log, "%s/app.log", dir);
    const char *names[] = {"app.log", "app.log.1", "app.log.2"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        FILE *fp = fopen(p, "w");
        if (!fp || fputs(names[i], fp) < 0 || fclose(fp) != 0)
            return 10;
    }
    snprintf(p, sizeof p, "%s/app.log.1", dir);
    if (chmod(p, 0) != 0)
        return 11;
    arc_rot_cfg_t c = {.path = log, .rotate = 3, .compress = true};
    int errors = 0;
    char err[512];
    if (arc_rot_run(&c, false, s_count_errors, &errors, err, sizeof err))
        return 12;
    if (errors != 1)
        return 13;
    struct stat st;
    snprintf(p, sizeof p, "%s/app.log.2", dir); // the unreadable one
    if (lstat(p, &st) != 0)
        return 14;
    const char *gz[] = {"app.log.1.gz", "app.log.3.gz"};
    for (int i = 0; i < 2; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, gz[i]);
        if (lstat(p, &st) != 0)
            return 15;
    }
    return 0;
}

static void
test_arc_rot_step_errors(void **state)
{
    fix_t *f = *state;
    // A rotated file that vanishes: reported, the others still done.
    arc_rot_cfg_t c = s_cfg(f, 3);
    c.size = 1000;
    c.compress = true;
    s_put(f, "app.log", "L\n");
    s_put(f, "app.log.1", "A\n");
    s_put(f, "app.log.2", "B\n");
    f->hook = s_vanish;
    assert_int_equal(s_run(f, &c, false), 0);
    f->hook = NULL;
    assert_int_equal(f->errors, 1);
    assert_non_null(strstr(f->rep, "compress app.log.1>app.log.1.gz -2\n"
                                   "compress app.log.2>app.log.2.gz 0\n"));
    assert_string_equal(s_gunzip(f, "app.log.2.gz"), "B\n");
    // A permission error on an old rotated file (as nobody when root,
    // who bypasses permissions).
    char sub[PATH_MAX];
    s_path(f, "nobody", sub);
    assert_int_equal(mkdir(sub, 0700), 0);
    if (geteuid() != 0) {
        assert_int_equal(s_unreadable(sub), 0);
        return;
    }
    assert_int_equal(chmod(f->dir, 0711), 0);
    assert_int_equal(chown(sub, NOBODY, NOBODY), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (setgid(NOBODY) != 0 || setuid(NOBODY) != 0)
            _exit(100);
        struct stat st;
        _exit(stat(sub, &st) != 0 ? 101 : s_unreadable(sub));
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    if (WEXITSTATUS(st) == 101)
        skip(); // a parent directory nobody cannot search
    assert_int_equal(WEXITSTATUS(st), 0);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_arc_rot_size_trigger),     T(test_arc_rot_age_trigger),
        T(test_arc_rot_notifempty),       T(test_arc_rot_missingok),
        T(test_arc_rot_bad_cfg),          T(test_arc_rot_keeps_n),
        T(test_arc_rot_rotate_0),         T(test_arc_rot_compress),
        T(test_arc_rot_delaycompress),    T(test_arc_rot_dateext),
        T(test_arc_rot_copytruncate),     T(test_arc_rot_signal),
        T(test_arc_rot_signal_lost),      T(test_arc_rot_dry_run),
        T(test_arc_rot_recover_compress), T(test_arc_rot_recover_tmp),
        T(test_arc_rot_recover_shift),    T(test_arc_rot_recover_copytruncate),
        T(test_arc_rot_no_overwrite),     T(test_arc_rot_step_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
