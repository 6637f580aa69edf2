// hc_metrics — procfs readers for the health-checker (see the header).
// Stateless; any thread. The files are produced by the kernel but read as
// untrusted text: a fake or future procfs must give an error, never a
// crash or a read past the buffer. Numbers are parsed by hand rather than
// with strtoull/strtod, which accept signs, "inf", hex and the locale's
// decimal point.
#include "hc_metrics.h"
#include "azo_err.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

// Reads <root>/<rel> with one read() into buf (NUL-terminated; a file
// longer than len - 1 bytes is cut there, and the parsers then find a
// field missing). Returns the length read, or -errno. An empty file is
// AZO_EBADREQ. A process that ends while we read gives -ESRCH: reported as
// gone (-ENOENT), like a missing file.
static int
s_read(const char *root, const char *rel, char *buf, size_t len)
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%s/%s", root, rel);
    if (n < 0 || (size_t)n >= sizeof path)
        return -ENAMETOOLONG;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t got = read(fd, buf, len - 1);
    int e = errno;
    (void)close(fd); // read-only: nothing to lose
    if (got < 0)
        return e == ESRCH ? -ENOENT : -e;
    buf[got] = 0;
    return got > 0 ? (int)got : AZO_EBADREQ;
}

static bool
s_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

// True at the end of a field: a blank, the end of the line or of the text.
static bool
s_is_end(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == 0;
}

static const char *
s_skip_blanks(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

// Parses an unsigned decimal field at *pp (after blanks) into *out and
// moves *pp past it. Returns 0, or -1 (no digits, junk after them, or more
// than 64 bits).
static int
s_u64(const char **pp, uint64_t *out)
{
    const char *p = s_skip_blanks(*pp);
    if (!s_is_digit(*p))
        return -1;
    uint64_t v = 0;
    for (; s_is_digit(*p); p++) {
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    if (!s_is_end(*p))
        return -1;
    *out = v;
    *pp = p;
    return 0;
}

// Parses a non-negative decimal "<digits>[.<digits>]" at *pp (after
// blanks) into *out and moves *pp past it. Returns 0 or -1.
static int
s_decimal(const char **pp, double *out)
{
    const char *p = s_skip_blanks(*pp);
    if (!s_is_digit(*p))
        return -1;
    // At most 15 integer digits: exact in a double, and never infinite.
    double v = 0;
    for (int n = 0; s_is_digit(*p); p++, n++) {
        if (n == 15)
            return -1;
        v = v * 10 + (*p - '0');
    }
    if (*p == '.') {
        p++;
        if (!s_is_digit(*p))
            return -1;
        double scale = 0.1;
        for (; s_is_digit(*p); p++, scale /= 10)
            v += (*p - '0') * scale;
    }
    if (!s_is_end(*p))
        return -1;
    *out = v;
    *pp = p;
    return 0;
}

// Returns what follows key on the first line of text that starts with key,
// or NULL.
static const char *
s_find_line(const char *text, const char *key)
{
    size_t klen = strlen(key);
    for (const char *p = text; p;) {
        if (strncmp(p, key, klen) == 0)
            return p + klen;
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return NULL;
}

int
hc_metrics_cpu(const char *root, hc_cpu_t *out)
{
    assert(root && out);
    char buf[4096];
    int rc = s_read(root, "stat", buf, sizeof buf);
    if (rc < 0)
        return rc;
    // "cpu  user nice system idle iowait irq softirq steal guest guest_nice";
    // kernels before 2.6 stop after idle. Guest time is counted in user and
    // nice already, so the sum stops at steal.
    const char *p = s_find_line(buf, "cpu ");
    if (!p)
        return AZO_EBADREQ;
    uint64_t f[8] = {0}, total = 0;
    int nf = 0;
    while (nf < 8) {
        const char *q = s_skip_blanks(p);
        if (*q == '\n' || *q == 0)
            break;
        if (s_u64(&p, &f[nf]) < 0 || total > UINT64_MAX - f[nf])
            return AZO_EBADREQ;
        total += f[nf++];
    }
    if (nf < 4)
        return AZO_EBADREQ;
    // idle + iowait <= total: both are terms of the sum.
    out->busy = total - f[3] - f[4];
    out->total = total;
    return 0;
}

double
hc_metrics_cpu_pct(const hc_cpu_t *prev, const hc_cpu_t *cur)
{
    assert(prev && cur);
    if (cur->total <= prev->total || cur->busy < prev->busy)
        return 0;
    double pct = 100.0 * (double)(cur->busy - prev->busy) /
                 (double)(cur->total - prev->total);
    return pct > 100 ? 100 : pct;
}

// Reads "<key> <n> kB" of meminfo as bytes into *out. Returns 0 or -1.
static int
s_meminfo_kb(const char *text, const char *key, uint64_t *out)
{
    const char *p = s_find_line(text, key);
    uint64_t kb;
    if (!p || s_u64(&p, &kb) < 0 || kb > UINT64_MAX / 1024)
        return -1;
    p = s_skip_blanks(p);
    if (p[0] != 'k' || p[1] != 'B' || !s_is_end(p[2]))
        return -1;
    *out = kb * 1024;
    return 0;
}

int
hc_metrics_mem(const char *root, hc_mem_t *out)
{
    assert(root && out);
    // About 1.5 KiB on current kernels; both fields are in the first lines.
    char buf[8192];
    int rc = s_read(root, "meminfo", buf, sizeof buf);
    if (rc < 0)
        return rc;
    hc_mem_t m;
    if (s_meminfo_kb(buf, "MemTotal:", &m.total) < 0 ||
        s_meminfo_kb(buf, "MemAvailable:", &m.available) < 0)
        return AZO_EBADREQ;
    *out = m;
    return 0;
}

int
hc_metrics_load(const char *root, double load[3])
{
    assert(root && load);
    char buf[4096];
    int rc = s_read(root, "loadavg", buf, sizeof buf);
    if (rc < 0)
        return rc;
    // "0.52 0.58 0.59 1/467 12345": the run-queue fields are not used.
    const char *p = buf;
    double v[3];
    for (int i = 0; i < 3; i++)
        if (s_decimal(&p, &v[i]) < 0)
            return AZO_EBADREQ;
    memcpy(load, v, sizeof v);
    return 0;
}

// a * b, or UINT64_MAX when it does not fit.
static uint64_t
s_mul_sat(uint64_t a, uint64_t b)
{
    return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

int
hc_metrics_disk(const char *path, uint64_t *free_bytes, uint64_t *total_bytes)
{
    assert(path && free_bytes && total_bytes);
    struct statvfs st;
    if (statvfs(path, &st) != 0)
        return -errno;
    // Block counts are in f_frsize units; some file systems leave it 0.
    uint64_t unit = st.f_frsize ? st.f_frsize : st.f_bsize;
    *free_bytes = s_mul_sat(st.f_bavail, unit);
    *total_bytes = s_mul_sat(st.f_blocks, unit);
    return 0;
}

// Reads utime + stime (fields 14 and 15) of the stat file at rel.
static int
s_task_ticks(const char *root, const char *rel, uint64_t *out)
{
    char buf[4096];
    int rc = s_read(root, rel, buf, sizeof buf);
    if (rc < 0)
        return rc;
    // "pid (comm) S ppid ...": comm may hold blanks and ')', so fields are
    // counted from the last ')'; no later field can hold one.
    const char *p = strrchr(buf, ')');
    if (!p)
        return AZO_EBADREQ;
    p++;
    // Skip fields 3 (the state) to 13, each one word on the same line.
    for (int field = 3; field <= 13; field++) {
        p = s_skip_blanks(p);
        if (s_is_end(*p))
            return AZO_EBADREQ;
        while (!s_is_end(*p))
            p++;
    }
    uint64_t utime, stime;
    if (s_u64(&p, &utime) < 0 || s_u64(&p, &stime) < 0 ||
        utime > UINT64_MAX - stime)
        return AZO_EBADREQ;
    *out = utime + stime;
    return 0;
}

// Reads the resident set (field 2 of statm, in pages) in bytes.
static int
s_task_rss(const char *root, const char *rel, uint64_t *out)
{
    char buf[4096];
    int rc = s_read(root, rel, buf, sizeof buf);
    if (rc < 0)
        return rc;
    const char *p = buf;
    uint64_t size, resident;
    long page = sysconf(_SC_PAGESIZE);
    if (s_u64(&p, &size) < 0 || s_u64(&p, &resident) < 0)
        return AZO_EBADREQ;
    if (page <= 0 || resident > UINT64_MAX / (uint64_t)page)
        return AZO_EBADREQ;
    *out = resident * (uint64_t)page;
    return 0;
}

int
hc_metrics_task(const char *root, int pid, int tid, hc_task_t *out)
{
    assert(root && out);
    if (pid <= 0 || tid < 0)
        return -EINVAL;
    char rel[64];
    if (tid)
        snprintf(rel, sizeof rel, "%d/task/%d/stat", pid, tid);
    else
        snprintf(rel, sizeof rel, "%d/stat", pid);
    hc_task_t t;
    int rc = s_task_ticks(root, rel, &t.cpu_ticks);
    if (rc < 0)
        return rc;
    snprintf(rel, sizeof rel, "%d/statm", pid);
    rc = s_task_rss(root, rel, &t.rss_bytes);
    if (rc < 0)
        return rc;
    *out = t;
    return 0;
}

long
hc_metrics_ticks_per_sec(void)
{
    long t = sysconf(_SC_CLK_TCK);
    return t > 0 ? t : 100;
}
