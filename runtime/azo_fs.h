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

#endif
