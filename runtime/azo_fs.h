// azo_fs — small file-system helpers shared by the runtime (data directory,
// store). Stateless; any thread.
#ifndef AZO_FS_H
#define AZO_FS_H

#include <stddef.h>
#include <sys/types.h>

// mkdir -p: creates dir and its missing parents with mode (existing
// directories are left as they are). Returns 0 or -errno; on failure err
// (may be NULL) says which directory could not be made, e.g.
// "data/x: cannot create directory data: Not a directory".
int azo_fs_mkdirs(const char *dir, mode_t mode, char *err, size_t errlen);

// Reads the whole regular file at path (relative to dirfd; AT_FDCWD: the
// working directory), opened with O_RDONLY | O_CLOEXEC | O_NONBLOCK (a FIFO
// never blocks: it is refused) plus flags (O_NOFOLLOW, ...). Reads what
// fstat saw and no more. On success returns 0, *buf (malloc'd,
// NUL-terminated, the caller frees it) and *len. Otherwise returns -errno,
// -EINVAL (not a regular file) or -EFBIG (over max bytes), with the reason
// in err (without the path: callers name the file).
int azo_fs_read_file(int dirfd, const char *path, int flags, size_t max,
                     char **buf, size_t *len, char *err, size_t errlen);

#endif
