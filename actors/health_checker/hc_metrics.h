// hc_metrics — the node's system metrics for the health-checker, read from
// procfs: CPU jiffies, memory, load average, a file system's free space, and
// one process's or thread's CPU time and resident memory. Pure readers: no
// state, no allocation; each file is read with one read() into a stack
// buffer and its content is never trusted. Every reader takes the procfs
// root (normally "/proc") so that tests can point it at a fake tree. Any
// thread. Does not sample over time: callers keep the previous sample.
#ifndef HC_METRICS_H
#define HC_METRICS_H

#include <stdint.h>

// Jiffies from the aggregate "cpu" line of <root>/stat.
typedef struct {
    uint64_t busy;  // total - idle - iowait
    uint64_t total; // user + nice + system + idle + iowait + irq + softirq
                    // + steal (guest time is already in user and nice)
} hc_cpu_t;

// Reads the CPU counters into *out. Returns 0, -errno (cannot read), or
// AZO_EBADREQ (unparseable: no "cpu" line, fewer than 4 counters, junk,
// overflow). *out is untouched on failure.
int hc_metrics_cpu(const char *root, hc_cpu_t *out);

// The busy share of CPU time between two samples, 0..100. Returns 0 when no
// time passed or a counter went backwards (a reset), and at most 100.
double hc_metrics_cpu_pct(const hc_cpu_t *prev, const hc_cpu_t *cur);

// Bytes from <root>/meminfo (its kB values * 1024).
typedef struct {
    uint64_t total;     // MemTotal
    uint64_t available; // MemAvailable
} hc_mem_t;

// Reads the memory sizes into *out. Returns 0, -errno, or AZO_EBADREQ (a
// field missing, not "<n> kB", or overflowing). *out untouched on failure.
int hc_metrics_mem(const char *root, hc_mem_t *out);

// Reads the 1, 5 and 15 minute load averages of <root>/loadavg into load.
// Returns 0, -errno, or AZO_EBADREQ (not three decimals). load untouched on
// failure.
int hc_metrics_load(const char *root, double load[3]);

// Space of the file system holding path (statvfs): *free_bytes is what an
// unprivileged user may still use (f_bavail), *total_bytes its size; both
// saturate at UINT64_MAX. Returns 0 or -errno (both untouched then).
int hc_metrics_disk(const char *path, uint64_t *free_bytes,
                    uint64_t *total_bytes);

// One process's or thread's usage.
typedef struct {
    uint64_t cpu_ticks; // utime + stime, clock ticks (hc_metrics_ticks_per_sec)
    uint64_t rss_bytes; // the process's resident set (threads share it)
} hc_task_t;

// Reads the CPU time of thread tid of process pid from
// <root>/<pid>/task/<tid>/stat, or of the whole process from <root>/<pid>/stat
// when tid is 0, and the process's RSS from <root>/<pid>/statm. Returns 0,
// -ENOENT (no such process or thread: it is gone), -EINVAL (pid <= 0 or
// tid < 0), another -errno, or AZO_EBADREQ (unparseable). *out untouched on
// failure.
int hc_metrics_task(const char *root, int pid, int tid, hc_task_t *out);

// Clock ticks per second (sysconf(_SC_CLK_TCK)), 100 if unknown.
long hc_metrics_ticks_per_sec(void);

#endif
