// arc_rot — logrotate-style rotation of one log file (#8, the `rotate`
// job): by size and/or age, `rotate N`, compress (gzip level 6 through
// arc_fs_gzip), delaycompress, dateext, missingok, notifempty, and either
// rename + signal (the writer reopens) or copytruncate. Never overwrites:
// every rename is renameat2(RENAME_NOREPLACE) followed by an fsync of the
// directory; an existing target stops the run. Removes only rotated files
// (never the log or other files): in numbered mode only path.(N+1), the
// one pushed past N, as logrotate does (path.(N+2) and beyond, left by a
// larger N, stay, as there); in dateext mode the dated files
// older than the newest N (rotate 0 drops the rotated content, as in
// logrotate: the operator asked for it). Blocking I/O; any thread; no
// global state. Also removes every temporary file of ours
// (arc_fs_clean_tmp) in the log's directory: run one arc operation per
// directory at a time. File systems without RENAME_NOREPLACE are refused.
//
// Names: numbered path.1 (newest) .. path.N, dateext path-YYYYMMDD (UTC
// date of now_ms; path-YYYYMMDD-1, -2 ... when taken), ordered by date
// then suffix (a clock set back makes a new one sort older); either with
// ".gz" when compressed.
//
// Due when the log (lstat: a regular file) is non-empty or !notifempty,
// and: both triggers 0, or size > 0 and its size > size, or max_age_ms > 0
// and now - (ctime of the newest rotated file) >= max_age_ms. The ctime,
// not the mtime: the rename and arc_fs_gzip set it at the rotation itself,
// while the mtime keeps the last write (an idle log would rotate early),
// and touch cannot set it. No rotated file yet: due.
//
// A run: (1) temporary files removed; (2) recovery, below; (3) if due:
// numbered: with k the lowest free slot in 1..N+1, path.(k-1) -> path.k,
// ..., path.1 -> path.2 (oldest first), then the log -> path.1, then
// path.(N+1) removed; dateext: the log -> its dated name, then the dated
// files past the newest N removed; rename mode: then the pidfile's process
// gets sig (a pid <= 1 is refused); copytruncate: the log is copied to a
// temporary file, fsynced, renamed into place, the directory fsynced, bytes
// written meanwhile appended, and only then the log truncated to 0 and fsynced
// (bytes written between that last copy and the truncation are lost, as with
// logrotate); rotate 0 with copytruncate truncates without a copy;
// (4) compress: every plain rotated file but the newest with
// delaycompress (and but the newest when this run's signal failed: the
// writer may still write into it) becomes .gz, the plain one unlinked only
// once the .gz is complete. As with logrotate, the writer may append to
// path.1 after the signal until it reopens; delaycompress keeps those
// lines.
//
// Recovery, at every run, so that a re-run after a crash at any step
// finishes the work and never loses or duplicates a rotation:
// - X and X.gz both present: arc_fs_gzip renames only complete files, so
//   when the .gz's trailer (ISIZE) matches X's size, X is removed; else
//   both are kept and the run stops (-EEXIST).
// - Numbered slots 1..N+1 all present: path.(N+1) is the removal a crash
//   interrupted, and goes. A gap from a half-done shift is simply where
//   the next rotation's shift stops, so nothing is shifted twice.
// - copytruncate: a plain newest rotated file whose bytes are a non-empty
//   prefix of the log is a copy whose truncation never happened: it is
//   removed (the bytes are still in the log) before deciding.
// - Rename mode with a pidfile and the log missing: the signal may have
//   been lost, so it is sent again (a writer that creates its log only at
//   its first write gets it at every run).
// - dateext: the dated files past the newest N go at every run (a pruning
//   a crash interrupted); a plain file that should be .gz is compressed
//   by (4) at every run; temporary files go by (1).
// - A rotated name that is not a regular file stops the run untouched.
#ifndef ARC_ROT_H
#define ARC_ROT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARC_ROT_MAX 10000 // most rotated files kept (rotate N)

typedef struct {
    const char *path;    // the log file; borrowed
    int rotate;          // rotated files kept, 0..ARC_ROT_MAX
    int64_t size;        // rotate when larger (bytes; 0: not a trigger)
    int64_t max_age_ms;  // rotate when the last rotation is this old (0: no;
                         // needs rotate >= 1)
    bool compress;       // gzip rotated files
    bool delaycompress;  // ... but the newest
    bool dateext;        // path-YYYYMMDD instead of path.1
    bool missingok;      // a missing log is not an error
    bool notifempty;     // an empty log is not rotated
    bool copytruncate;   // copy + truncate instead of rename + signal
    const char *pidfile; // rename mode: signal this pid after (NULL: none)
    int sig;             // with pidfile: e.g. SIGHUP
    int64_t now_ms;      // wall clock, Unix ms (0: CLOCK_REALTIME)
} arc_rot_cfg_t;

// One step done (or, in a dry run, that would be done), in order. action:
// "rotate" (decided: from the log, bytes its size, err the reason), "skip"
// (not rotated: err says why), "rename", "copy" (to the rotated name),
// "truncate" (bytes the log held), "compress" (from -> from.gz, bytes
// uncompressed; from then goes, unreported), "remove" (err: why),
// "signal" (from the pidfile, bytes the pid). to may be NULL; rc is 0 or a
// negative code with err saying why; err may be NULL when rc is 0. Strings live
// until the call returns.
typedef void(arc_rot_report_fn)(void *arg, const char *action, const char *from,
                                const char *to, int64_t bytes, int rc,
                                const char *err);

// Rotates cfg->path if due (see above). dry_run: reports what would be
// done and changes nothing. fn may be NULL. Returns 0 (rotated, or not
// due), or the negative code of a failure that stopped the run (also
// reported, and its reason in err): AZO_EBADREQ for a bad cfg, -ENOENT for
// a missing log without missingok (after recovery and compression).
// Failures of single steps (compressing or removing one old file,
// signalling) are reported and the run goes on.
int arc_rot_run(const arc_rot_cfg_t *cfg, bool dry_run, arc_rot_report_fn *fn,
                void *arg, char *err, size_t errlen);

#endif
