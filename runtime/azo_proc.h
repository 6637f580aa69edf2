// azo_proc — operating-system processes for process actors: start the azod
// binary for one actor in its own process group with signals unblocked,
// watch it through a pidfd (readable when it ends, no polling), reap it and
// say how it ended, signal it, and recognise a live process by start time
// and command line so that a recycled pid is never taken for ours.
// Supervisor thread only. Linux (pidfd_open, 5.3+).
#ifndef AZO_PROC_H
#define AZO_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct {
    pid_t pid;           // 0 when none
    int pidfd;           // -1 when none; poll it for POLLIN
    uint64_t start_time; // clock ticks after boot (/proc/PID/stat field 22)
    bool child;          // ours to reap (false for an adopted process)
} azo_proc_t;

// Sets *p to "no process".
void azo_proc_init(azo_proc_t *p);

// Starts exe with argv (NULL-terminated; argv[0] included) in a new process
// group, with no signal blocked or ignored (posix_spawn). Returns 0 with *p
// filled in, or -errno (-ENOENT: no such program; pidfd_open).
int azo_proc_spawn(azo_proc_t *p, const char *exe, char *const argv[]);

// Takes over a process that is not our child (started by an earlier
// supervisor): checks that pid is alive, started at start_time and has
// arg1 followed by arg2 in its command line. Returns 0 with *p filled in,
// AZO_ENOTFOUND (gone, or a different process now), or -errno.
int azo_proc_adopt(azo_proc_t *p, pid_t pid, uint64_t start_time,
                   const char *arg1, const char *arg2);

// Reads the start time of pid. Returns 0 or -errno.
int azo_proc_start_time(pid_t pid, uint64_t *out);

// After the pidfd polled readable: collects the process and writes how it
// ended into how ("exit 0", "signal 9"; an adopted process only "ended").
// *failed is true unless it exited with status 0. Closes the pidfd.
// Returns 0, -EAGAIN when it has not ended after all, or -errno.
int azo_proc_reap(azo_proc_t *p, char *how, size_t len, bool *failed);

// Sends sig through the pidfd (never to a recycled pid). Returns 0 or
// -errno (-ESRCH: already gone).
int azo_proc_signal(azo_proc_t *p, int sig);

// Closes the pidfd without reaping (shutdown paths); *p becomes "none".
void azo_proc_close(azo_proc_t *p);

#endif
