// Unit tests of hc_metrics: sane values from the real /proc, exact values
// from a fake procfs written by hand in a temp dir, the CPU share between
// samples, and a malformed-input table (the readers must fail, not crash).
#include "azo_err.h"
#include "azo_fs.h"
#include "azo_testutil.h"
#include "hc_metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cmocka.h>

typedef struct {
    char root[512]; // the fake procfs
} fixture_t;

static int
s_setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    if (!f || azo_test_tmpdir(f->root, sizeof f->root, "hc_metrics") < 0) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int
s_teardown(void **state)
{
    fixture_t *f = *state;
    azo_test_rm_rf(f->root);
    free(f);
    return 0;
}

// Writes len bytes of data to <root>/<rel>, making its directories.
static void
s_put_n(const fixture_t *f, const char *rel, const char *data, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", f->root, rel);
    char *slash = strrchr(path, '/');
    *slash = 0;
    assert_int_equal(azo_fs_mkdirs(path, 0700, NULL, 0), 0);
    *slash = '/';
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

static void
s_put(const fixture_t *f, const char *rel, const char *text)
{
    s_put_n(f, rel, text, strlen(text));
}

static void
test_hc_metrics_real_proc(void **state)
{
    (void)state;
    hc_cpu_t cpu;
    assert_int_equal(hc_metrics_cpu("/proc", &cpu), 0);
    assert_true(cpu.total > 0);
    assert_true(cpu.busy <= cpu.total);
    hc_mem_t mem;
    assert_int_equal(hc_metrics_mem("/proc", &mem), 0);
    assert_true(mem.available > 0);
    assert_true(mem.total > mem.available);
    double load[3] = {-1, -1, -1};
    assert_int_equal(hc_metrics_load("/proc", load), 0);
    for (int i = 0; i < 3; i++)
        assert_true(load[i] >= 0);
    uint64_t free_b = 0, total_b = 0;
    assert_int_equal(hc_metrics_disk("/", &free_b, &total_b), 0);
    assert_true(total_b > 0);
    assert_true(free_b <= total_b);
    hc_task_t task;
    int tid = (int)syscall(SYS_gettid);
    assert_int_equal(hc_metrics_task("/proc", getpid(), tid, &task), 0);
    assert_true(task.rss_bytes > 0);
    hc_task_t proc;
    assert_int_equal(hc_metrics_task("/proc", getpid(), 0, &proc), 0);
    assert_true(proc.rss_bytes > 0);
    // The process has used at least the time this thread had then.
    assert_true(proc.cpu_ticks >= task.cpu_ticks);
    assert_true(hc_metrics_ticks_per_sec() > 0);
}

static void
test_hc_metrics_fake_exact(void **state)
{
    fixture_t *f = *state;
    s_put(f, "stat",
          "cpu  100 20 30 1000 50 5 6 7 8 9\n"
          "cpu0 50 10 15 500 25 2 3 3 4 4\n"
          "intr 12345\n");
    s_put(f, "meminfo",
          "MemTotal:       16318412 kB\n"
          "MemFree:          500000 kB\n"
          "MemAvailable:    8000000 kB\n"
          "Buffers:            1000 kB\n");
    s_put(f, "loadavg", "0.52 1.5 12.25 1/467 12345\n");
    // A comm with blanks and ')' in it: fields count from the last ')'.
    s_put(f, "42/stat",
          "42 ((a) b)) S 1 42 42 0 -1 4194560 100 0 0 0 700 300 0 0 20 0 "
          "3 0 12345 1000000 250 18446744073709551615\n");
    s_put(f, "42/task/43/stat",
          "43 (a) b) R 1 42 42 0 -1 4194560 10 0 0 0 11 22 0 0 20 0 3 0 "
          "12346\n");
    s_put(f, "42/statm", "2000 250 100 10 0 300 0\n");

    hc_cpu_t cpu;
    assert_int_equal(hc_metrics_cpu(f->root, &cpu), 0);
    // user..steal = 100+20+30+1000+50+5+6+7; guest time is not added again.
    assert_int_equal(cpu.total, 1218);
    assert_int_equal(cpu.busy, 1218 - 1000 - 50);
    hc_mem_t mem;
    assert_int_equal(hc_metrics_mem(f->root, &mem), 0);
    assert_int_equal(mem.total, 16318412ull * 1024);
    assert_int_equal(mem.available, 8000000ull * 1024);
    double load[3];
    assert_int_equal(hc_metrics_load(f->root, load), 0);
    assert_float_equal(load[0], 0.52, 1e-9);
    assert_float_equal(load[1], 1.5, 1e-9);
    assert_float_equal(load[2], 12.25, 1e-9);
    long page = sysconf(_SC_PAGESIZE);
    hc_task_t t;
    assert_int_equal(hc_metrics_task(f->root, 42, 0, &t), 0);
    assert_int_equal(t.cpu_ticks, 1000);
    assert_int_equal(t.rss_bytes, 250ull * (uint64_t)page);
    assert_int_equal(hc_metrics_task(f->root, 42, 43, &t), 0);
    assert_int_equal(t.cpu_ticks, 33);
    assert_int_equal(t.rss_bytes, 250ull * (uint64_t)page);

    // Kernels before 2.6 stop after idle: four counters are enough.
    s_put(f, "stat", "cpu 1 2 3 4\n");
    assert_int_equal(hc_metrics_cpu(f->root, &cpu), 0);
    assert_int_equal(cpu.total, 10);
    assert_int_equal(cpu.busy, 6);
    // No trailing newline, the largest values.
    s_put(f, "meminfo", "MemAvailable: 0 kB\nMemTotal: 18014398509481983 kB");
    assert_int_equal(hc_metrics_mem(f->root, &mem), 0);
    assert_int_equal(mem.total, 18014398509481983ull * 1024);
    assert_int_equal(mem.available, 0);
}

static void
test_hc_metrics_cpu_pct(void **state)
{
    (void)state;
    hc_cpu_t a = {.busy = 100, .total = 1000};
    hc_cpu_t b = {.busy = 150, .total = 1100};
    assert_float_equal(hc_metrics_cpu_pct(&a, &b), 50.0, 1e-9);
    hc_cpu_t idle = {.busy = 100, .total = 1100};
    assert_float_equal(hc_metrics_cpu_pct(&a, &idle), 0.0, 1e-9);
    hc_cpu_t full = {.busy = 200, .total = 1100};
    assert_float_equal(hc_metrics_cpu_pct(&a, &full), 100.0, 1e-9);
    // No time passed, or the counters went backwards: 0.
    assert_float_equal(hc_metrics_cpu_pct(&a, &a), 0.0, 1e-9);
    assert_float_equal(hc_metrics_cpu_pct(&b, &a), 0.0, 1e-9);
    hc_cpu_t busy_back = {.busy = 50, .total = 2000};
    assert_float_equal(hc_metrics_cpu_pct(&a, &busy_back), 0.0, 1e-9);
    // Inconsistent samples never go past 100.
    hc_cpu_t odd = {.busy = 1000, .total = 1001};
    assert_float_equal(hc_metrics_cpu_pct(&a, &odd), 100.0, 1e-9);
}

typedef enum { S_CPU, S_MEM, S_LOAD, S_TASK } s_reader_t;

static int
s_call(const fixture_t *f, s_reader_t r)
{
    hc_cpu_t cpu;
    hc_mem_t mem;
    double load[3];
    hc_task_t t;
    switch (r) {
    case S_CPU:
        return hc_metrics_cpu(f->root, &cpu);
    case S_MEM:
        return hc_metrics_mem(f->root, &mem);
    case S_LOAD:
        return hc_metrics_load(f->root, load);
    case S_TASK:
        return hc_metrics_task(f->root, 7, 0, &t);
    }
    return 0;
}

static void
test_hc_metrics_malformed_table(void **state)
{
    fixture_t *f = *state;
    static const char good_stat[] =
        "7 (x) S 1 7 7 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 9\n";
    static const struct {
        s_reader_t reader;
        const char *rel;
        const char *text;
    } rows[] = {
        {S_CPU, "stat", ""},
        {S_CPU, "stat", "intr 1 2 3\n"},
        {S_CPU, "stat", "cpu0 1 2 3 4\n"},
        {S_CPU, "stat", "cpu 1 2 3\n"},
        {S_CPU, "stat", "cpu 1 2 x 4\n"},
        {S_CPU, "stat", "cpu 1 2 -3 4\n"},
        {S_CPU, "stat", "cpu 1 2 3 4x\n"},
        {S_CPU, "stat", "cpu 18446744073709551616 2 3 4\n"},
        {S_CPU, "stat", "cpu 18446744073709551615 2 3 4\n"},
        {S_CPU, "stat", "cpu\n1 2 3 4\n"},
        {S_MEM, "meminfo", ""},
        {S_MEM, "meminfo", "MemTotal: 100 kB\n"},
        {S_MEM, "meminfo", "MemAvailable: 100 kB\n"},
        {S_MEM, "meminfo", "MemTotal: 100\nMemAvailable: 50 kB\n"},
        {S_MEM, "meminfo", "MemTotal: 100 MB\nMemAvailable: 50 kB\n"},
        {S_MEM, "meminfo", "MemTotal: 100 kBx\nMemAvailable: 50 kB\n"},
        {S_MEM, "meminfo", "MemTotal: x kB\nMemAvailable: 50 kB\n"},
        {S_MEM, "meminfo",
         "MemTotal: 18014398509481984 kB\nMemAvailable: 50 kB\n"},
        {S_LOAD, "loadavg", ""},
        {S_LOAD, "loadavg", "0.5 0.5\n"},
        {S_LOAD, "loadavg", "0.5 abc 0.5\n"},
        {S_LOAD, "loadavg", "0.5 1. 0.5\n"},
        {S_LOAD, "loadavg", "-1 0.5 0.5\n"},
        {S_LOAD, "loadavg", "inf 0.5 0.5\n"},
        {S_LOAD, "loadavg", "0x1 0.5 0.5\n"},
        {S_LOAD, "loadavg", "0,5 0.5 0.5\n"},
        {S_LOAD, "loadavg", "0.5\n0.5 0.5\n"},
        {S_LOAD, "loadavg", "1234567890123456 0.5 0.5\n"},
        {S_TASK, "7/stat", ""},
        {S_TASK, "7/stat", "7 (x S 1 7 7 0 -1 0 0 0 0 0 1 2 0\n"},
        {S_TASK, "7/stat", "7 (x) S 1 7 7\n"},
        {S_TASK, "7/stat", "7 (x) S 1 7 7 0 -1 0 0 0 0 0 1\n"},
        {S_TASK, "7/stat", "7 (x) S 1 7 7 0 -1 0 0 0 0 0 x 2 0\n"},
        {S_TASK, "7/stat", "7 (x) S 1 7 7 0 -1 0 0 0 0 0\n1 2 0\n"},
        {S_TASK, "7/stat",
         "7 (x) S 1 7 7 0 -1 0 0 0 0 0 18446744073709551615 1 0\n"},
        {S_TASK, "7/statm", ""},
        {S_TASK, "7/statm", "2000\n"},
        {S_TASK, "7/statm", "2000 x 100\n"},
        {S_TASK, "7/statm", "2000 18446744073709551615 100\n"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        // From a valid task each time: a task row breaks one file only.
        s_put(f, "7/stat", good_stat);
        s_put(f, "7/statm", "2000 250 100 10 0 300 0\n");
        assert_int_equal(s_call(f, S_TASK), 0);
        s_put(f, rows[i].rel, rows[i].text);
        int rc = s_call(f, rows[i].reader);
        if (rc != AZO_EBADREQ)
            fail_msg("row %zu (%s): rc %d", i, rows[i].text, rc);
    }

    // A NUL inside, and files longer than the buffers: no read past them.
    s_put_n(f, "stat", "cpu 1 2\0 3 4\n", 13);
    assert_int_equal(hc_metrics_cpu(f->root, &(hc_cpu_t){0}), AZO_EBADREQ);
    static char big[20000];
    memset(big, 'x', sizeof big);
    s_put_n(f, "stat", big, sizeof big);
    assert_int_equal(hc_metrics_cpu(f->root, &(hc_cpu_t){0}), AZO_EBADREQ);
    s_put_n(f, "meminfo", big, sizeof big);
    assert_int_equal(hc_metrics_mem(f->root, &(hc_mem_t){0}), AZO_EBADREQ);
    s_put_n(f, "loadavg", big, sizeof big);
    assert_int_equal(s_call(f, S_LOAD), AZO_EBADREQ);
    s_put_n(f, "7/stat", big, sizeof big);
    assert_int_equal(s_call(f, S_TASK), AZO_EBADREQ);
    // Digits all the way to the end of the buffer.
    memcpy(big, "cpu ", 4);
    memset(big + 4, '1', sizeof big - 4);
    s_put_n(f, "stat", big, sizeof big);
    assert_int_equal(hc_metrics_cpu(f->root, &(hc_cpu_t){0}), AZO_EBADREQ);
    // The fields past the buffer's end are missing.
    memcpy(big, "MemTotal: 1 kB\n", 15);
    s_put_n(f, "meminfo", big, sizeof big);
    assert_int_equal(hc_metrics_mem(f->root, &(hc_mem_t){0}), AZO_EBADREQ);
    // A failed read leaves the output as it was.
    hc_mem_t mem = {.total = 1, .available = 2};
    assert_int_equal(hc_metrics_mem(f->root, &mem), AZO_EBADREQ);
    assert_int_equal(mem.total, 1);
    assert_int_equal(mem.available, 2);
}

static void
test_hc_metrics_missing(void **state)
{
    fixture_t *f = *state;
    hc_cpu_t cpu;
    hc_mem_t mem;
    double load[3];
    hc_task_t t;
    assert_int_equal(hc_metrics_cpu(f->root, &cpu), -ENOENT);
    assert_int_equal(hc_metrics_mem(f->root, &mem), -ENOENT);
    assert_int_equal(hc_metrics_load(f->root, load), -ENOENT);
    assert_int_equal(hc_metrics_task(f->root, 42, 0, &t), -ENOENT);
    assert_int_equal(hc_metrics_task(f->root, 42, 43, &t), -ENOENT);
    assert_int_equal(hc_metrics_cpu("/nonexistent/proc", &cpu), -ENOENT);
    // A stat without its statm, and a thread that has gone.
    s_put(f, "42/stat", "42 (x) S 1 42 42 0 -1 0 0 0 0 0 1 2 0\n");
    assert_int_equal(hc_metrics_task(f->root, 42, 0, &t), -ENOENT);
    s_put(f, "42/statm", "2000 250 100 10 0 300 0\n");
    assert_int_equal(hc_metrics_task(f->root, 42, 0, &t), 0);
    assert_int_equal(hc_metrics_task(f->root, 42, 99, &t), -ENOENT);
    // A directory where a file should be.
    s_put(f, "stat/x", "");
    assert_int_equal(hc_metrics_cpu(f->root, &cpu), -EISDIR);
    // Bad ids are refused before any file is opened.
    assert_int_equal(hc_metrics_task(f->root, 0, 0, &t), -EINVAL);
    assert_int_equal(hc_metrics_task(f->root, -1, 0, &t), -EINVAL);
    assert_int_equal(hc_metrics_task(f->root, 42, -1, &t), -EINVAL);
    // The real /proc: a pid that cannot exist (above pid_max's ceiling).
    assert_int_equal(hc_metrics_task("/proc", 0x7ffffff0, 0, &t), -ENOENT);
    uint64_t fb, tb;
    assert_int_equal(hc_metrics_disk("/nonexistent/dir", &fb, &tb), -ENOENT);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hc_metrics_real_proc),
        cmocka_unit_test_setup_teardown(test_hc_metrics_fake_exact, s_setup,
                                        s_teardown),
        cmocka_unit_test(test_hc_metrics_cpu_pct),
        cmocka_unit_test_setup_teardown(test_hc_metrics_malformed_table,
                                        s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_hc_metrics_missing, s_setup,
                                        s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
