// azo_testutil — what the tests share: private temp directories, their
// removal, and a check that a message is one printable line. Test code
// only; any thread.
#ifndef AZO_TESTUTIL_H
#define AZO_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>

// Creates a fresh directory "<parent>/<name>.XXXXXX" (parent: $AZO_TEST_TMP
// when it is a directory, else /tmp) and writes its path into buf. Returns
// 0, or -1 when it does not fit or cannot be made.
int azo_test_tmpdir(char *buf, size_t len, const char *name);

// Removes path and everything below it, without following symlinks, even
// where a test took permissions away. Best effort: leftovers are clutter.
void azo_test_rm_rf(const char *path);

// True when s is one non-empty line of printable text.
bool azo_test_one_line(const char *s);

#endif
