// azo_testutil — what the tests share: private temp directories, their
// removal, and a check that a message is one printable line. Test code
// only; any thread.
#ifndef AZO_TESTUTIL_H
#define AZO_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// Creates a fresh directory "<parent>/<name>.XXXXXX" (parent: $AZO_TEST_TMP
// when it is a directory, else /tmp) and writes its path into buf. Returns
// 0, or -1 when it does not fit or cannot be made.
int azo_test_tmpdir(char *buf, size_t len, const char *name);

// Removes path and everything below it, without following symlinks, even
// where a test took permissions away. Best effort: leftovers are clutter.
void azo_test_rm_rf(const char *path);

// A listening TCP socket on 127.0.0.1, port chosen by the kernel (its
// number in *port). Returns the fd, or -1.
int azo_test_listen(int backlog, uint16_t *port);

// A port on 127.0.0.1 where nothing listens (one just closed), or 0.
uint16_t azo_test_closed_port(void);

// True when s is one non-empty line of printable text.
bool azo_test_one_line(const char *s);

#endif
