// arc_fs — the archiver's file operations that never lose a file (#8):
// moves within a file system (rename without overwrite + fsync of both
// directories) and across file systems (copy to a temporary name, fsync,
// verify size and SHA-256, rename, fsync, only then unlink the source),
// gzip and gunzip through zlib into a temporary file renamed only when
// complete, streaming SHA-256, dated archive names with collision suffixes,
// and the recognition of our temporary files left by a crash. Blocking
// I/O; any thread; no global state. Every failure returns -errno (or an
// AZO_E* code) and a one-line reason naming the path in err.
#ifndef ARC_FS_H
#define ARC_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define ARC_SHA_HEX  65          // 64 hex digits and NUL
#define ARC_TMP_MARK ".arc-tmp." // in the names of our temporary files

// SHA-256 of the file at path, as lower-case hex; *size (may be NULL) gets
// its size. Returns 0 or -errno.
int arc_fs_sha256(const char *path, char hex[ARC_SHA_HEX], int64_t *size,
                  char *err, size_t errlen);

// arc_fs_sha256 of name relative to the directory dirfd (AT_FDCWD: the
// working directory); path names the file in messages.
int arc_fs_sha256_at(int dirfd, const char *name, const char *path,
                     char hex[ARC_SHA_HEX], int64_t *size, char *err,
                     size_t errlen);

// fsync of directory dir. Returns 0 or -errno.
int arc_fs_sync_dir(const char *dir, char *err, size_t errlen);

// Moves the regular file src to dst, which must not exist (-EEXIST then:
// nothing is overwritten, ever). dst's directory must exist. On one file
// system: renameat2(RENAME_NOREPLACE), then fsync of dst's and src's
// directories. Across file systems (EXDEV): copies to a temporary name in
// dst's directory (ARC_TMP_MARK in it), fsyncs it, checks its size and
// SHA-256 against the source's (sha: the source's hex, or NULL to compute
// it here), renames it to dst without overwrite, fsyncs the directory,
// and only then unlinks src and fsyncs its directory. Permissions and
// mtime are kept. A crash at any point leaves src complete, or dst
// complete (and maybe src too, and maybe a temporary file). *cross (may be
// NULL) says whether it was a copy. Returns 0 or -errno; a copy whose
// source does not match sha (or changed size while copied) fails with
// AZO_ECONFLICT, a copy that reads back wrong with -EIO, and both leave src
// untouched and no temporary file. If only the final unlink of src fails,
// dst is complete and src still there: the error says so.
int arc_fs_move(const char *src, const char *dst, const char *sha, bool *cross,
                char *err, size_t errlen);

// Compresses src into dst (which must not exist) with gzip at level
// (1..9) through zlib: writes a temporary file beside dst, fsyncs it,
// renames it to dst without overwrite and fsyncs the directory. src is
// left in place; dst keeps src's mtime and mode. Output readable by gzip
// -t and zcat. Returns 0 or -errno (-EINVAL: level; -EEXIST: dst exists)
// / AZO_EINTERNAL (zlib). On failure no dst and no temporary file.
int arc_fs_gzip(const char *src, const char *dst, int level, char *err,
                size_t errlen);

// The reverse, for restores: decompresses the gzip file src into dst (must
// not exist), same temporary-file discipline. A corrupt or truncated src
// fails with AZO_EBADREQ and leaves no dst. Concatenated gzip members are
// decompressed one after the other. Returns 0 or a negative code.
int arc_fs_gunzip(const char *src, const char *dst, char *err, size_t errlen);

// Builds the archive name of file base (a name, no directory) with mtime:
// "<stem>_<YYYYMMDD><ext><suffix>" (date in UTC; stem and ext split at the
// last dot, a leading dot is not an extension: "app.log" ->
// "app_20261123.log", ".bashrc" -> ".bashrc_20261123", "a.tar.gz" ->
// "a.tar_20261123.gz"), suffix "" or ".gz". When that name exists in dir,
// tries "<stem>_<YYYYMMDD>_1<ext><suffix>", _2, ... up to _9999. Writes the
// name (not the path) into out. Returns 0, -EEXIST (all taken),
// -ENAMETOOLONG (over NAME_MAX or outlen), or -errno (dir unreadable).
// Only looks: the name is free at the time of the call; the caller's
// rename without overwrite is what makes it safe.
int arc_fs_dated_name(const char *dir, const char *base, time_t mtime,
                      const char *suffix, char *out, size_t outlen);

// True when name (no directory) is one of our temporary files (a crash
// left it): "." <part of dst's name> ARC_TMP_MARK <16 hex digits>.
bool arc_fs_is_tmp(const char *name);

// Removes our temporary files in dir (not recursive; regular files only)
// and fsyncs dir if it removed any. Returns how many, or -errno.
int arc_fs_clean_tmp(const char *dir, char *err, size_t errlen);

#endif
