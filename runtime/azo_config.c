// azo_config — loads the node's configuration (DESIGN.md "Configuration"):
// one ZPL file or the embedded default, then `--set PATH=VALUE` overrides,
// then schema defaults, then validation of every key against the schema.
// The main thread loads it before any other thread exists; afterwards the
// tree is read-only and any thread may call the getters.
//
// Global state: s_default_text, the embedded default configuration, set by
// the main thread (azo_config_set_default_g) before any thread starts.
//
// zconfig (czmq 4.x) parses the text, but on a syntax error it prints
// through zclock_log to stdout, not through the zsys logger, so
// zsys_set_logstream cannot capture the message, and it returns NULL without
// saying why. It also keeps no line numbers and silently cuts lines at 1024
// bytes. So this module first scans the text itself with the same ZPL rules
// (s_scan), reports the first error as FILE:LINE, and only gives zconfig text
// it has accepted. The scan records the line of every key; zconfig creates
// nodes in file order, so a pre-order walk of the tree pairs each node with
// its line (s_map_lines checks the names agree).
//
// Does not know what the keys mean, does not watch or reload the file, and
// never writes configuration.
#include "azo_config.h"
#include "azo_err.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_FILE_MAX  (16 * 1024 * 1024) // larger files are refused unread
#define S_LINE_MAX  1024 // zconfig truncates longer lines silently
#define S_PATH_MAX  512  // longest key path, NUL included
#define S_CLIP_MAX  200  // longest user text quoted in a message
#define S_VALUE_MAX 60   // longest value quoted in a message
// zconfig appends a key by walking its section's children, so parsing costs
// keys x siblings: 1 MiB of one-letter keys would take hours. These caps
// keep the worst case well under a second and are far above real configs.
#define S_KEYS_MAX    262144 // keys in the whole text
#define S_SECTION_MAX 16384  // keys directly in one section
#define S_IPC_MAX     106    // sun_path is 108 bytes with its NUL

#if defined(__GNUC__)
#define S_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define S_PRINTF(f, a)
#endif

struct azo_config;

// Where a key of the file was written.
typedef struct {
    int line;        // 1-based
    size_t name_off; // offset of the key's name in the text
    size_t name_len;
} s_keyline_t;

// Where a node of the tree came from. Nodes absent from the origin table
// were created by schema defaults.
typedef struct {
    const zconfig_t *node; // borrowed
    int line;              // file line, or 0
    int set;               // index into sets, or -1 when from the file
} s_origin_t;

struct azo_config {
    zconfig_t *root;     // owned: the validated tree
    char *source;        // owned: the file name, or "embedded"
    s_origin_t *origins; // owned, sorted by node address (azo_config_fail)
    size_t norigins;
    char **sets; // owned copies of the --set arguments
    size_t nsets;
    zhashx_t *index; // owned: full key path -> node (borrowed), so that a
                     // lookup costs the same with 10,000 jobs as with 1
};

// State of one azo_config_load call.
typedef struct {
    const char *source;          // borrowed: file name or "embedded"
    const char *const *sets;     // borrowed
    size_t nsets;                //
    const azo_cfg_key_t *schema; // borrowed
    size_t nschema;              //
    size_t *depths;              // owned: s_depth of each schema path
    zconfig_t *root;             // owned until handed to the config
    s_keyline_t *keylines;       // owned, in file order
    size_t nkeylines, keylines_cap;
    s_origin_t *origins; // owned, sorted by node address
    size_t norigins, origins_cap;
    // Keys so far in the open section at each level (s_scan_line).
    unsigned section_keys[S_LINE_MAX / 4 + 2];
    char *err; // borrowed, may be NULL
    size_t errlen;
} s_load_t;

// Text cut down for a message (see s_clipn).
typedef struct {
    char s[S_CLIP_MAX + 4];
} s_clip_t;

// The embedded default configuration; see the file comment.
static const char *s_default_text;

static const struct {
    const char *unit;
    int shift;
} s_size_units[] = {
    {"", 0},     {"B", 0},   {"K", 10},   {"KB", 10},  {"KiB", 10},
    {"M", 20},   {"MB", 20}, {"MiB", 20}, {"G", 30},   {"GB", 30},
    {"GiB", 30}, {"T", 40},  {"TB", 40},  {"TiB", 40},
};

static const struct {
    const char *unit;
    int64_t ms;
} s_duration_units[] = {
    {"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1},
};

// ---------------------------------------------------------------------------
// Messages

// Returns at most max bytes of text[0..len) for a message: control bytes
// become '?' so a hostile file cannot send terminal escapes to the
// operator's screen, and a cut text ends in "...", never inside a UTF-8
// sequence.
static s_clip_t
s_clipn(const char *text, size_t len, size_t max)
{
    s_clip_t c;
    if (max > S_CLIP_MAX)
        max = S_CLIP_MAX;
    size_t n = len;
    bool cut = false;
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
            n--;
        cut = true;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)text[i];
        c.s[i] = (ch < 0x20 || ch == 0x7F) ? '?' : (char)ch;
    }
    if (cut)
        memcpy(c.s + n, "...", 3), n += 3;
    c.s[n] = '\0';
    return c;
}

static s_clip_t
s_clip(const char *text, size_t max)
{
    return s_clipn(text, strlen(text), max);
}

static const s_origin_t *
s_origin_in(const s_origin_t *origins, size_t n, const zconfig_t *node)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uintptr_t at = (uintptr_t)origins[mid].node;
        if (at == (uintptr_t)node)
            return &origins[mid];
        if (at < (uintptr_t)node)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static const s_origin_t *
s_origin_find(const s_load_t *ld, const zconfig_t *node)
{
    return s_origin_in(ld->origins, ld->norigins, node);
}

// Writes the "SOURCE: " of a key with origin o (NULL: a schema default)
// into err, replacing what was there.
static void
s_origin_prefix(char *err, size_t errlen, const char *source,
                const char *const *sets, const s_origin_t *o)
{
    if (!err || !errlen)
        return;
    if (o && o->set >= 0)
        snprintf(err, errlen, "--set %s: ", s_clip(sets[o->set], S_CLIP_MAX).s);
    else if (o && o->line > 0)
        snprintf(err, errlen, "%s:%d: ", source, o->line);
    else
        snprintf(err, errlen, "%s: schema default: ", source);
}

// Appends to err after its first used bytes.
static void
s_errv(s_load_t *ld, const char *fmt, va_list ap)
{
    if (!ld->err || ld->errlen == 0)
        return;
    size_t used = strlen(ld->err);
    if (used + 1 >= ld->errlen)
        return;
    (void)vsnprintf(ld->err + used, ld->errlen - used, fmt, ap); // may cut
}

S_PRINTF(2, 3)
static void
s_err(s_load_t *ld, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_errv(ld, fmt, ap);
    va_end(ap);
}

// Reports a problem with a key: "SOURCE: PATH: message (help)", where
// SOURCE is "FILE:LINE", "--set PATH=VALUE" or "schema default" after the
// origin of node. Returns AZO_EBADREQ.
S_PRINTF(5, 6)
static int
s_fail_key(s_load_t *ld, const zconfig_t *node, const char *path,
           const char *help, const char *fmt, ...)
{
    s_origin_prefix(ld->err, ld->errlen, ld->source, ld->sets,
                    s_origin_find(ld, node));
    s_err(ld, "%s: ", path);
    va_list ap;
    va_start(ap, fmt);
    s_errv(ld, fmt, ap);
    va_end(ap);
    if (help && *help)
        s_err(ld, " (%s)", help);
    return AZO_EBADREQ;
}

// Reports a problem at a line of the text (line 0: the whole text).
// Returns AZO_EBADREQ.
S_PRINTF(3, 4)
static int
s_fail_line(s_load_t *ld, int line, const char *fmt, ...)
{
    if (ld->err && ld->errlen)
        ld->err[0] = '\0';
    if (line > 0)
        s_err(ld, "%s:%d: ", ld->source, line);
    else
        s_err(ld, "%s: ", ld->source);
    va_list ap;
    va_start(ap, fmt);
    s_errv(ld, fmt, ap);
    va_end(ap);
    return AZO_EBADREQ;
}

// Reports a malformed --set argument. Returns AZO_EBADREQ.
S_PRINTF(3, 4)
static int
s_fail_set(s_load_t *ld, size_t i, const char *fmt, ...)
{
    if (ld->err && ld->errlen)
        ld->err[0] = '\0';
    s_err(ld, "--set %s: ", s_clip(ld->sets[i], S_CLIP_MAX).s);
    va_list ap;
    va_start(ap, fmt);
    s_errv(ld, fmt, ap);
    va_end(ap);
    return AZO_EBADREQ;
}

// Formats ms the way azo_config_parse_duration reads it ("1h30m").
void
azo_config_fmt_duration(char *buf, size_t len, int64_t ms)
{
    if (ms <= 0) {
        snprintf(buf, len, "%" PRId64 "ms", ms);
        return;
    }
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof s_duration_units / sizeof s_duration_units[0];
         i++) {
        int64_t n = ms / s_duration_units[i].ms;
        if (n == 0 || used >= len)
            continue;
        ms -= n * s_duration_units[i].ms;
        int w = snprintf(buf + used, len - used, "%" PRId64 "%s", n,
                         s_duration_units[i].unit);
        if (w > 0)
            used += (size_t)w;
    }
}

// Formats bytes in the largest unit that divides it exactly ("64MiB").
static void
s_fmt_bytes(char *buf, size_t len, int64_t bytes)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (u < 4 && bytes != 0 && bytes % 1024 == 0)
        bytes /= 1024, u++;
    snprintf(buf, len, "%" PRId64 "%s", bytes, units[u]);
}

// ---------------------------------------------------------------------------
// Paths and the schema

// Splits off the next '/'-separated segment of *p; *p becomes NULL after
// the last one. Returns false when *p is already NULL.
static bool
s_seg_next(const char **p, const char **seg, size_t *len)
{
    if (!*p)
        return false;
    const char *slash = strchr(*p, '/');
    *seg = *p;
    *len = slash ? (size_t)(slash - *p) : strlen(*p);
    *p = slash ? slash + 1 : NULL;
    return true;
}

static size_t
s_depth(const char *path)
{
    size_t n = 1;
    for (; *path; path++)
        n += *path == '/';
    return n;
}

// True if the first n segments of pattern match those of path, where a
// pattern segment "*" matches any one name.
static bool
s_match_segs(const char *pattern, const char *path, size_t n)
{
    const char *ps, *ks;
    size_t pl, kl;
    for (size_t i = 0; i < n; i++) {
        if (!s_seg_next(&pattern, &ps, &pl) || !s_seg_next(&path, &ks, &kl))
            return false;
        if (pl == 1 && *ps == '*')
            continue;
        if (pl != kl || memcmp(ps, ks, pl) != 0)
            return false;
    }
    return true;
}

static size_t
s_wildcards(const char *pattern)
{
    size_t n = 0;
    const char *seg;
    size_t len;
    while (s_seg_next(&pattern, &seg, &len))
        n += len == 1 && *seg == '*';
    return n;
}

// Returns the schema entry for path, preferring the one with the fewest
// wildcards, or NULL.
static const azo_cfg_key_t *
s_schema_find(const s_load_t *ld, const char *path)
{
    size_t depth = s_depth(path);
    const azo_cfg_key_t *best = NULL;
    size_t best_wild = SIZE_MAX;
    for (size_t i = 0; i < ld->nschema; i++) {
        const azo_cfg_key_t *k = &ld->schema[i];
        size_t kd = ld->depths ? ld->depths[i] : s_depth(k->path);
        if (kd != depth || !s_match_segs(k->path, path, depth))
            continue;
        size_t wild = s_wildcards(k->path);
        if (wild < best_wild)
            best = k, best_wild = wild;
    }
    return best;
}

static bool
s_is_section(azo_cfg_type_t type)
{
    return type == AZO_CFG_SECTION || type == AZO_CFG_OPTIONAL;
}

// Checks the schema for programmer errors (see azo_cfg_key_t).
static void
s_schema_assert(const azo_cfg_key_t *schema, size_t nschema)
{
    for (size_t i = 0; i < nschema; i++) {
        const azo_cfg_key_t *k = &schema[i];
        assert(k->path && *k->path && k->path[0] != '/');
        assert(k->path[strlen(k->path) - 1] != '/' && !strstr(k->path, "//"));
        assert(k->type >= AZO_CFG_SECTION && k->type <= AZO_CFG_OPTIONAL);
        assert(k->type != AZO_CFG_ENUM || (k->choices && *k->choices));
        assert(k->min <= k->max);
        const char *slash = strrchr(k->path, '/');
        // A default on a wildcard leaf would have to invent a name.
        assert(!k->dflt || strcmp(slash ? slash + 1 : k->path, "*") != 0);
        if (!slash)
            continue;
        size_t plen = (size_t)(slash - k->path);
        bool parent = false;
        for (size_t j = 0; j < nschema && !parent; j++)
            parent = s_is_section(schema[j].type) &&
                     strlen(schema[j].path) == plen &&
                     memcmp(schema[j].path, k->path, plen) == 0;
        assert(parent);
        (void)parent; // only read by assert
    }
}

// ---------------------------------------------------------------------------
// Reading and scanning the text

static bool
s_namechar(unsigned char c)
{
    // zconfig uses isalnum(); ASCII only here keeps us independent of the
    // locale and at most as lenient as zconfig.
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || (c && strchr("$-_@.&+", c));
}

// Reads file into *text (NUL-terminated, owned by the caller).
static int
s_read_file(s_load_t *ld, const char *file, char **text, size_t *size)
{
    struct stat st;
    int rc = 0;
    if (stat(file, &st) < 0) {
        rc = -errno;
        s_fail_line(ld, 0, "cannot read: %s", strerror(-rc));
        return rc;
    }
    if (S_ISDIR(st.st_mode)) {
        s_fail_line(ld, 0, "cannot read: %s", strerror(EISDIR));
        return -EISDIR;
    }
    // A FIFO is allowed for `-c <(generate-config)`; devices and sockets
    // are not configuration files.
    if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode)) {
        s_fail_line(ld, 0, "cannot read: not a regular file");
        return -EINVAL;
    }
    if (S_ISREG(st.st_mode) && st.st_size > S_FILE_MAX) {
        s_fail_line(ld, 0, "cannot read: file too large (%jd bytes, max %d)",
                    (intmax_t)st.st_size, S_FILE_MAX);
        return -EFBIG;
    }
    int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        rc = -errno;
        s_fail_line(ld, 0, "cannot read: %s", strerror(-rc));
        return rc;
    }
    // One byte more than the limit tells a file that grew past it.
    size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 2 : 65536;
    size_t used = 0;
    char *buf = malloc(cap);
    if (!buf) {
        rc = -ENOMEM;
        goto fail;
    }
    for (;;) {
        if (used + 1 == cap) {
            size_t ncap = cap * 2 > S_FILE_MAX + 2 ? S_FILE_MAX + 2 : cap * 2;
            if (ncap == cap)
                break; // holds S_FILE_MAX + 1 bytes: too large
            char *nbuf = realloc(buf, ncap);
            if (!nbuf) {
                rc = -ENOMEM;
                goto fail;
            }
            buf = nbuf, cap = ncap;
        }
        ssize_t n = read(fd, buf + used, cap - 1 - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            goto fail;
        }
        if (n == 0)
            break;
        used += (size_t)n;
    }
    if (used > S_FILE_MAX) {
        s_fail_line(ld, 0, "cannot read: file too large (more than %d bytes)",
                    S_FILE_MAX);
        rc = -EFBIG;
        free(buf);
        (void)close(fd); // read-only: nothing to lose
        return rc;
    }
    (void)close(fd); // read-only: nothing to lose
    buf[used] = '\0';
    *text = buf;
    *size = used;
    return 0;
fail:
    s_fail_line(ld, 0, "cannot read: %s", strerror(-rc));
    free(buf);
    (void)close(fd); // read-only: nothing to lose
    return rc;
}

// Returns the length of the valid UTF-8 sequence at s (at most avail
// bytes), or 0 when it is not one (RFC 3629: no overlongs, no surrogates).
static size_t
s_utf8_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF; // range of the second byte
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else
        return 0;
    if (avail < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

// Checks that the rest of a line, from i, is blank or a comment.
static int
s_scan_eoln(s_load_t *ld, const char *line, size_t i, size_t len, int lineno)
{
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    if (i < len && line[i] != '#')
        return s_fail_line(ld, lineno,
                           "invalid syntax at '%s' (expected NAME = VALUE, "
                           "NAME, or # comment)",
                           s_clipn(line + i, len - i, S_VALUE_MAX).s);
    return 0;
}

// Checks one line (len bytes, no '\n') with zconfig's rules and records
// its key, if any. *last is the level of the previous key, -1 at first.
static int
s_scan_line(s_load_t *ld, const char *text, size_t off, size_t len, int lineno,
            int *last)
{
    const char *line = text + off;
    const unsigned char *u = (const unsigned char *)line;
    for (size_t i = 0; i < len; i++) {
        if (u[i] == 0)
            return s_fail_line(ld, lineno, "NUL byte (not a text file?)");
        if (u[i] == '\r' && i + 1 == len)
            continue; // CRLF line end
        if ((u[i] < 0x20 && u[i] != '\t') || u[i] == 0x7F)
            return s_fail_line(ld, lineno,
                               "control character 0x%02x (not a text file?)",
                               u[i]);
        if (u[i] >= 0x80) {
            size_t n = s_utf8_len(u + i, len - i);
            if (n == 0)
                return s_fail_line(ld, lineno,
                                   "invalid UTF-8 (not a text file?)");
            i += n - 1;
        }
    }
    if (len > S_LINE_MAX)
        return s_fail_line(ld, lineno, "line too long (%zu bytes, max %d)", len,
                           S_LINE_MAX);
    // zconfig trims trailing white space, then reads the indentation, a
    // name, and " = value" or nothing, then allows only a # comment.
    while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t' ||
                       line[len - 1] == '\r'))
        len--;
    size_t i = 0;
    while (i < len && line[i] == ' ')
        i++;
    if (i < len && line[i] == '\t')
        return s_fail_line(ld, lineno,
                           "tab in indentation (indent 4 spaces per level)");
    if (i % 4 != 0)
        return s_fail_line(ld, lineno,
                           "indent 4 spaces at once (found %zu spaces)", i);
    int level = (int)(i / 4);
    size_t name = i;
    while (i < len && (s_namechar(u[i]) || line[i] == '/'))
        i++;
    size_t name_len = i - name;
    if (name_len == 0)
        return s_scan_eoln(ld, line, i, len, lineno);
    if (memchr(line + name, '/', name_len))
        return s_fail_line(ld, lineno,
                           "'/' is not allowed in key name '%s' (indent "
                           "child keys instead)",
                           s_clipn(line + name, name_len, S_VALUE_MAX).s);
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    if (i < len && line[i] == '=') {
        i++;
        while (i < len && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (i < len && (line[i] == '"' || line[i] == '\'')) {
            const char *end = memchr(line + i + 1, line[i], len - i - 1);
            if (!end)
                return s_fail_line(ld, lineno, "missing closing %c", line[i]);
            int rc =
                s_scan_eoln(ld, line, (size_t)(end - line) + 1, len, lineno);
            if (rc)
                return rc;
        }
        // An unquoted value runs to the end of the line or to a '#'.
    } else {
        int rc = s_scan_eoln(ld, line, i, len, lineno);
        if (rc)
            return rc;
    }
    if (level > *last + 1)
        return s_fail_line(ld, lineno,
                           "indented too deep (at most 4 spaces more than "
                           "the key above)");
    *last = level;
    if (ld->nkeylines >= S_KEYS_MAX)
        return s_fail_line(ld, lineno, "too many keys (max %d)", S_KEYS_MAX);
    if (++ld->section_keys[level] > S_SECTION_MAX)
        return s_fail_line(ld, lineno, "too many keys in one section (max %d)",
                           S_SECTION_MAX);
    ld->section_keys[level + 1] = 0; // the new key opens an empty section
    if (ld->nkeylines == ld->keylines_cap) {
        size_t ncap = ld->keylines_cap ? ld->keylines_cap * 2 : 64;
        s_keyline_t *n = realloc(ld->keylines, ncap * sizeof *n);
        if (!n)
            return -ENOMEM;
        ld->keylines = n, ld->keylines_cap = ncap;
    }
    ld->keylines[ld->nkeylines++] = (s_keyline_t){
        .line = lineno, .name_off = off + name, .name_len = name_len};
    return 0;
}

// Checks the whole text before zconfig sees it; see the file comment.
static int
s_scan(s_load_t *ld, const char *text, size_t size)
{
    if (size >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        return s_fail_line(ld, 1,
                           "UTF-8 byte order mark (save the file "
                           "without one)");
    int lineno = 1;
    int last = -1;
    size_t pos = 0;
    while (pos < size) {
        const char *nl = memchr(text + pos, '\n', size - pos);
        size_t len = nl ? (size_t)(nl - text - pos) : size - pos;
        int rc = s_scan_line(ld, text, pos, len, lineno, &last);
        if (rc)
            return rc;
        pos += len + (nl ? 1 : 0);
        lineno++;
    }
    return 0;
}

static int
s_origin_cmp(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const s_origin_t *)a)->node;
    uintptr_t y = (uintptr_t)((const s_origin_t *)b)->node;
    return (x > y) - (x < y);
}

// Records (or, for a node already known, replaces) the origin of node.
// Keeps the table sorted unless sorted is false (the caller sorts later).
static int
s_origin_set(s_load_t *ld, const zconfig_t *node, int line, int set,
             bool sorted)
{
    if (sorted) {
        s_origin_t *o = (s_origin_t *)s_origin_find(ld, node);
        if (o) {
            o->line = line, o->set = set;
            return 0;
        }
    }
    if (ld->norigins == ld->origins_cap) {
        size_t ncap = ld->origins_cap ? ld->origins_cap * 2 : 64;
        s_origin_t *n = realloc(ld->origins, ncap * sizeof *n);
        if (!n)
            return -ENOMEM;
        ld->origins = n, ld->origins_cap = ncap;
    }
    size_t at = ld->norigins;
    if (sorted) {
        at = 0;
        while (at < ld->norigins &&
               (uintptr_t)ld->origins[at].node < (uintptr_t)node)
            at++;
        memmove(ld->origins + at + 1, ld->origins + at,
                (ld->norigins - at) * sizeof *ld->origins);
    }
    ld->origins[at] = (s_origin_t){.node = node, .line = line, .set = set};
    ld->norigins++;
    return 0;
}

// Pairs the nodes of the tree, in pre-order, with the scanned keys.
static int
s_map_node(s_load_t *ld, zconfig_t *node, const char *text, size_t *next)
{
    for (zconfig_t *c = zconfig_child(node); c; c = zconfig_next(c)) {
        if (*next >= ld->nkeylines)
            return AZO_EBADREQ;
        const s_keyline_t *kl = &ld->keylines[*next];
        const char *name = zconfig_name(c);
        if (!name || strlen(name) != kl->name_len ||
            memcmp(name, text + kl->name_off, kl->name_len) != 0)
            return AZO_EBADREQ;
        int rc = s_origin_set(ld, c, kl->line, -1, false);
        if (rc)
            return rc;
        (*next)++;
        rc = s_map_node(ld, c, text, next);
        if (rc)
            return rc;
    }
    return 0;
}

static int
s_map_lines(s_load_t *ld, const char *text)
{
    size_t next = 0;
    int rc = s_map_node(ld, ld->root, text, &next);
    if (rc == 0 && next != ld->nkeylines)
        rc = AZO_EBADREQ;
    if (rc == AZO_EBADREQ)
        return s_fail_line(ld, 0,
                           "internal error: zconfig and the scanner "
                           "disagree on the keys");
    if (rc == 0 && ld->norigins > 1)
        qsort(ld->origins, ld->norigins, sizeof *ld->origins, s_origin_cmp);
    return rc;
}

// ---------------------------------------------------------------------------
// Overrides and defaults

// Returns the first child of node named seg[0..len), as zconfig_locate.
static zconfig_t *
s_child(zconfig_t *node, const char *seg, size_t len)
{
    for (zconfig_t *c = zconfig_child(node); c; c = zconfig_next(c)) {
        const char *name = zconfig_name(c);
        if (name && strlen(name) == len && memcmp(name, seg, len) == 0)
            return c;
    }
    return NULL;
}

static int
s_apply_set(s_load_t *ld, size_t i)
{
    const char *arg = ld->sets[i];
    assert(arg);
    const char *eq = strchr(arg, '=');
    if (!eq)
        return s_fail_set(ld, i, "expected PATH=VALUE");
    const char *path = arg;
    if (*path == '/')
        path++; // zconfig's own paths may start with '/'
    size_t plen = (size_t)(eq - path);
    if (eq < path || plen == 0)
        return s_fail_set(ld, i, "empty PATH (expected PATH=VALUE)");
    if (plen >= S_PATH_MAX)
        return s_fail_set(ld, i, "PATH longer than %d bytes", S_PATH_MAX - 1);
    char buf[S_PATH_MAX];
    memcpy(buf, path, plen);
    buf[plen] = '\0';
    bool ok = buf[0] != '/' && buf[plen - 1] != '/' && !strstr(buf, "//");
    for (size_t j = 0; ok && j < plen; j++)
        ok = buf[j] == '/' || s_namechar((unsigned char)buf[j]);
    if (!ok)
        return s_fail_set(ld, i,
                          "bad PATH '%s' (names of letters, digits and "
                          "$-_@.&+ separated by '/')",
                          s_clip(buf, S_VALUE_MAX).s);
    const char *value = eq + 1;
    for (const char *v = value; *v; v++)
        if ((unsigned char)*v < 0x20 || *v == 0x7F)
            return s_fail_set(ld, i, "control character in VALUE");
    zconfig_put(ld->root, buf, value);

    // Keys the override created come from it, and so does the value.
    zconfig_t *node = ld->root;
    const char *p = buf, *seg;
    size_t len;
    while (s_seg_next(&p, &seg, &len)) {
        node = s_child(node, seg, len);
        assert(node); // zconfig_put just made the whole path
        if (!p || !s_origin_find(ld, node)) {
            int rc = s_origin_set(ld, node, 0, (int)i, true);
            if (rc)
                return rc;
        }
    }
    return 0;
}

// True when some ancestor of k is an OPTIONAL section the tree lacks: its
// defaults must not bring it into being (an actor nobody configured).
static bool
s_under_absent_optional(zconfig_t *root, const azo_cfg_key_t *schema,
                        size_t nschema, const azo_cfg_key_t *k)
{
    for (size_t i = 0; i < nschema; i++) {
        const azo_cfg_key_t *a = &schema[i];
        size_t alen = strlen(a->path);
        if (a->type != AZO_CFG_OPTIONAL || strchr(a->path, '*') ||
            strncmp(k->path, a->path, alen) != 0 || k->path[alen] != '/')
            continue;
        if (!zconfig_locate(root, a->path))
            return true;
    }
    return false;
}

// Applies the default dflt for the key path rest below node: literal
// segments are created once no wildcard is left in rest; a wildcard
// segment applies to every existing child.
static int
s_apply_default(zconfig_t *node, const char *rest, const char *dflt)
{
    const char *p = rest, *seg = rest;
    size_t len = 0;
    (void)s_seg_next(&p, &seg, &len); // rest is never NULL here
    if (len == 1 && *seg == '*') {
        for (zconfig_t *c = zconfig_child(node); c; c = zconfig_next(c)) {
            int rc = s_apply_default(c, p, dflt);
            if (rc)
                return rc;
        }
        return 0;
    }
    zconfig_t *c = s_child(node, seg, len);
    if (!c) {
        if (strchr(seg, '*'))
            return 0; // only under sections that exist
        char *name = strndup(seg, len);
        if (!name)
            return -ENOMEM;
        c = zconfig_new(name, node);
        free(name);
        if (!c)
            return -ENOMEM;
        zconfig_set_value(c, "%s", p ? "" : dflt);
    }
    return p ? s_apply_default(c, p, dflt) : 0;
}

// ---------------------------------------------------------------------------
// Validation

// Parses a run of decimal digits at *p into *v. Returns 0, -EINVAL when
// there is no digit, or -ERANGE when it does not fit in int64 (limit is
// INT64_MAX or, for a negative number, INT64_MAX + 1).
static int
s_digits(const char **p, uint64_t limit, uint64_t *v)
{
    const char *s = *p;
    uint64_t acc = 0;
    if (*s < '0' || *s > '9')
        return -EINVAL;
    for (; *s >= '0' && *s <= '9'; s++) {
        uint64_t d = (uint64_t)(*s - '0');
        if (acc > (limit - d) / 10)
            return -ERANGE;
        acc = acc * 10 + d;
    }
    *p = s;
    *v = acc;
    return 0;
}

static int
s_parse_int(const char *text, int64_t *v)
{
    bool neg = *text == '-';
    if (*text == '-' || *text == '+')
        text++;
    uint64_t acc;
    uint64_t limit = (uint64_t)INT64_MAX + (neg ? 1 : 0);
    int rc = s_digits(&text, limit, &acc);
    if (rc == 0 && *text)
        rc = -EINVAL;
    if (rc == -ERANGE)
        for (; *text >= '0' && *text <= '9'; text++)
            ; // an overflow is only an overflow if the rest is digits
    if (rc == -ERANGE && *text)
        rc = -EINVAL;
    if (rc)
        return rc;
    if (neg)
        *v = acc > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)acc;
    else
        *v = (int64_t)acc;
    return 0;
}

static int
s_parse_bool(const char *text, bool *v)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(text, yes[i]) == 0)
            return *v = true, 0;
        if (strcasecmp(text, no[i]) == 0)
            return *v = false, 0;
    }
    return AZO_EBADREQ;
}

static int
s_parse_real(const char *text, double *v)
{
    // strtod would also take hex, "inf", "nan" and leading blanks.
    if (!*text || strspn(text, "0123456789+-.eE") != strlen(text))
        return AZO_EBADREQ;
    char *end;
    errno = 0;
    double d = strtod(text, &end);
    // ERANGE with a tiny result is an underflow to (almost) zero: fine.
    if (*end || !isfinite(d) || (errno == ERANGE && (d > 1.0 || d < -1.0)))
        return AZO_EBADREQ;
    *v = d;
    return 0;
}

static bool
s_enum_has(const char *choices, const char *text)
{
    size_t len = strlen(text);
    const char *c = choices;
    while (c) {
        const char *bar = strchr(c, '|');
        size_t clen = bar ? (size_t)(bar - c) : strlen(c);
        if (clen == len && memcmp(c, text, len) == 0)
            return true;
        c = bar ? bar + 1 : NULL;
    }
    return false;
}

// Returns NULL if text is a valid endpoint, else what is wrong with it.
static const char *
s_endpoint_problem(const char *text)
{
    if (strncmp(text, "ipc://", 6) == 0) {
        size_t n = strlen(text + 6);
        if (n == 0)
            return "empty ipc PATH";
        return n > S_IPC_MAX ? "ipc PATH longer than 106 bytes" : NULL;
    }
    if (strncmp(text, "inproc://", 9) == 0)
        return text[9] ? NULL : "empty inproc NAME";
    if (strncmp(text, "tcp://", 6) != 0)
        return "unknown transport";
    const char *host = text + 6;
    const char *colon;
    if (*host == '[') {
        const char *close = strchr(host, ']');
        if (!close)
            return "missing ']' after the IPv6 address";
        size_t n = (size_t)(close - host - 1);
        char addr[INET6_ADDRSTRLEN];
        struct in6_addr in6;
        if (n == 0 || n >= sizeof addr)
            return "bad IPv6 address";
        memcpy(addr, host + 1, n);
        addr[n] = '\0';
        if (inet_pton(AF_INET6, addr, &in6) != 1)
            return "bad IPv6 address";
        if (close[1] != ':')
            return "missing :PORT";
        colon = close + 1;
    } else {
        colon = strrchr(host, ':');
        if (!colon)
            return "missing :PORT";
        size_t n = (size_t)(colon - host);
        if (n == 0)
            return "empty HOST";
        if (!(n == 1 && *host == '*')) {
            bool dotted = true;
            for (size_t i = 0; i < n; i++) {
                char c = host[i];
                bool digit = c >= '0' && c <= '9';
                if (!digit && !(c >= 'a' && c <= 'z') &&
                    !(c >= 'A' && c <= 'Z') && c != '.' && c != '-' && c != '_')
                    return "HOST must be a name, an IPv4 address, * or "
                           "[IPv6]";
                dotted = dotted && (digit || c == '.');
            }
            if (dotted) {
                char addr[INET_ADDRSTRLEN];
                struct in_addr in4;
                if (n >= sizeof addr)
                    return "bad IPv4 address";
                memcpy(addr, host, n);
                addr[n] = '\0';
                if (inet_pton(AF_INET, addr, &in4) != 1)
                    return "bad IPv4 address";
            }
        }
    }
    const char *port = colon + 1;
    if (strcmp(port, "*") == 0)
        return NULL;
    int64_t v;
    if (*port < '0' || *port > '9' || strlen(port) > 5 ||
        s_parse_int(port, &v) != 0 || v < 1 || v > 65535)
        return "PORT must be 1..65535 or *";
    return NULL;
}

static int
s_check_value(s_load_t *ld, const zconfig_t *node, const azo_cfg_key_t *k,
              const char *path, const char *value)
{
    bool bounded = k->min != 0 || k->max != 0;
    const s_clip_t quoted = s_clip(value, S_VALUE_MAX);
    const char *got = quoted.s;
    char lo[48], hi[48];
    switch (k->type) {
    case AZO_CFG_SECTION:
    case AZO_CFG_OPTIONAL:
        break; // checked by the caller
    case AZO_CFG_STR:
        if (!*value)
            return s_fail_key(ld, node, path, k->help,
                              "expected a non-empty string");
        break;
    case AZO_CFG_INT: {
        int64_t v;
        int rc = s_parse_int(value, &v);
        if (rc == -EINVAL)
            return s_fail_key(ld, node, path, k->help,
                              "expected an integer, got '%s'", got);
        if (rc == -ERANGE || (bounded && (v < k->min || v > k->max))) {
            if (!bounded)
                return s_fail_key(ld, node, path, k->help,
                                  "integer out of range, got '%s'", got);
            return s_fail_key(ld, node, path, k->help,
                              "expected an integer between %" PRId64
                              " and %" PRId64 ", got '%s'",
                              k->min, k->max, got);
        }
        break;
    }
    case AZO_CFG_BOOL: {
        bool b;
        if (s_parse_bool(value, &b) != 0)
            return s_fail_key(ld, node, path, k->help,
                              "expected true|false, yes|no, on|off or 1|0, "
                              "got '%s'",
                              got);
        break;
    }
    case AZO_CFG_ENUM:
        if (!s_enum_has(k->choices, value))
            return s_fail_key(ld, node, path, k->help,
                              "expected one of %s, got '%s'", k->choices, got);
        break;
    case AZO_CFG_DURATION: {
        int64_t ms;
        if (azo_config_parse_duration(value, &ms) != 0)
            return s_fail_key(ld, node, path, k->help,
                              "expected a duration with a unit (250ms, 5s, "
                              "10m, 6h, 7d), got '%s'",
                              got);
        if (bounded && (ms < k->min || ms > k->max)) {
            azo_config_fmt_duration(lo, sizeof lo, k->min);
            azo_config_fmt_duration(hi, sizeof hi, k->max);
            return s_fail_key(ld, node, path, k->help,
                              "expected a duration between %s and %s, got "
                              "'%s'",
                              lo, hi, got);
        }
        break;
    }
    case AZO_CFG_SIZE: {
        int64_t bytes;
        if (azo_config_parse_size(value, &bytes) != 0)
            return s_fail_key(ld, node, path, k->help,
                              "expected a size with an optional unit (4096, "
                              "64K, 512MiB, 1G), got '%s'",
                              got);
        if (bounded && (bytes < k->min || bytes > k->max)) {
            s_fmt_bytes(lo, sizeof lo, k->min);
            s_fmt_bytes(hi, sizeof hi, k->max);
            return s_fail_key(ld, node, path, k->help,
                              "expected a size between %s and %s, got '%s'", lo,
                              hi, got);
        }
        break;
    }
    case AZO_CFG_ENDPOINT: {
        const char *why = s_endpoint_problem(value);
        if (why)
            return s_fail_key(ld, node, path, k->help,
                              "expected tcp://HOST:PORT, ipc://PATH or "
                              "inproc://NAME, got '%s': %s",
                              got, why);
        break;
    }
    case AZO_CFG_REAL: {
        double d;
        if (s_parse_real(value, &d) != 0)
            return s_fail_key(ld, node, path, k->help,
                              "expected a number, got '%s'", got);
        if (bounded && (d < (double)k->min || d > (double)k->max))
            return s_fail_key(ld, node, path, k->help,
                              "expected a number between %" PRId64
                              " and %" PRId64 ", got '%s'",
                              k->min, k->max, got);
        break;
    }
    }
    return 0;
}

// Reports path (a child of the section path[0..plen)) as unknown, listing
// the names the schema allows there.
static int
s_fail_unknown(s_load_t *ld, const zconfig_t *node, const char *path,
               size_t plen)
{
    char list[256] = "";
    size_t used = 0;
    size_t depth = s_depth(path);
    for (size_t i = 0; i < ld->nschema; i++) {
        const char *kp = ld->schema[i].path;
        if (s_depth(kp) != depth || !s_match_segs(kp, path, depth - 1))
            continue;
        const char *slash = strrchr(kp, '/');
        const char *name = slash ? slash + 1 : kp;
        bool dup = false;
        for (size_t j = 0; j < i && !dup; j++) {
            const char *jp = ld->schema[j].path;
            const char *js = strrchr(jp, '/');
            dup = s_depth(jp) == depth && s_match_segs(jp, path, depth - 1) &&
                  strcmp(js ? js + 1 : jp, name) == 0;
        }
        if (dup || used >= sizeof list - 1)
            continue;
        int w = snprintf(list + used, sizeof list - used, "%s%s",
                         used ? ", " : "", name);
        used = w < 0 ? sizeof list - 1 : used + (size_t)w;
        if (used >= sizeof list - 1)
            strcpy(list + sizeof list - 4, "...");
    }
    char where[S_PATH_MAX] = "top level";
    if (plen > 0)
        snprintf(where, sizeof where, "%.*s", (int)plen, path);
    if (!*list)
        return s_fail_key(ld, node, path, NULL,
                          "unknown key (%s takes no keys)", where);
    return s_fail_key(ld, node, path, NULL, "unknown key (%s has: %s)", where,
                      list);
}

static int s_check_section(s_load_t *ld, zconfig_t *section, char *path,
                           size_t plen);

static int
s_check_key(s_load_t *ld, zconfig_t *node, const azo_cfg_key_t *k, char *path,
            size_t plen)
{
    const char *value = zconfig_value(node) ? zconfig_value(node) : "";
    if (s_is_section(k->type)) {
        // A value on a section is always a mistake ("actors = scheduler"),
        // even though zconfig would keep it beside the children.
        if (*value)
            return s_fail_key(ld, node, path, k->help,
                              "expected a section (keys indented below it), "
                              "got a value '%s'",
                              s_clip(value, S_VALUE_MAX).s);
        return s_check_section(ld, node, path, plen);
    }
    if (zconfig_child(node)) {
        // Blame the override that added a child, if one did.
        const zconfig_t *blame = node;
        for (zconfig_t *c = zconfig_child(node); c; c = zconfig_next(c)) {
            const s_origin_t *o = s_origin_find(ld, c);
            if (o && o->set >= 0) {
                blame = c;
                break;
            }
        }
        return s_fail_key(ld, blame, path, k->help,
                          "expected a value, not a section");
    }
    return s_check_value(ld, node, k, path, value);
}

// Checks every child of section, whose path is path[0..plen).
static int
s_check_section(s_load_t *ld, zconfig_t *section, char *path, size_t plen)
{
    zconfig_t *first = zconfig_child(section);
    zhashx_t *seen = NULL; // name -> first node with it (borrowed)
    if (first && zconfig_next(first))
        seen = zhashx_new();
    int rc = 0;
    for (zconfig_t *c = first; c && rc == 0; c = zconfig_next(c)) {
        const char *name = zconfig_name(c) ? zconfig_name(c) : "";
        size_t nlen = strlen(name);
        size_t len = plen + (plen ? 1 : 0) + nlen;
        if (len >= S_PATH_MAX) {
            path[plen] = '\0';
            rc = s_fail_key(ld, c, plen ? path : "(top level)", NULL,
                            "key path longer than %d bytes", S_PATH_MAX - 1);
            break;
        }
        if (plen)
            path[plen] = '/';
        memcpy(path + plen + (plen ? 1 : 0), name, nlen + 1);
        zconfig_t *prev = seen ? zhashx_lookup(seen, name) : NULL;
        if (prev) {
            const s_origin_t *o = s_origin_find(ld, prev);
            if (o && o->line > 0)
                rc = s_fail_key(ld, c, path, NULL,
                                "duplicate key (first at line %d)", o->line);
            else
                rc = s_fail_key(ld, c, path, NULL, "duplicate key");
            break;
        }
        if (seen)
            (void)zhashx_insert(seen, name, c); // absent: checked above
        const azo_cfg_key_t *k = s_schema_find(ld, path);
        if (!k)
            rc = s_fail_unknown(ld, c, path, plen);
        else
            rc = s_check_key(ld, c, k, path, len);
    }
    path[plen] = '\0';
    zhashx_destroy(&seen);
    return rc;
}

// ---------------------------------------------------------------------------
// Public API

// Adds every key below node (path[0..plen)) to index. Returns 0 or -ENOMEM.
static int
s_index(zhashx_t *index, zconfig_t *node, char *path, size_t plen)
{
    for (zconfig_t *c = zconfig_child(node); c; c = zconfig_next(c)) {
        const char *name = zconfig_name(c) ? zconfig_name(c) : "";
        size_t n = strlen(name);
        if (plen + n + 2 > S_PATH_MAX)
            continue; // refused by s_check_section already
        size_t at = plen;
        if (plen)
            path[at++] = '/';
        memcpy(path + at, name, n + 1);
        if (zhashx_insert(index, path, c) == -1 && !zhashx_lookup(index, path))
            return -ENOMEM;
        int rc = s_index(index, c, path, at + n);
        if (rc < 0)
            return rc;
        path[plen] = 0;
    }
    return 0;
}

int
azo_config_load(azo_config_t **out, const char *file, const char *const *sets,
                size_t nsets, const azo_cfg_key_t *schema, size_t nschema,
                char *err, size_t errlen)
{
    assert(out);
    assert(sets || nsets == 0);
    assert(schema || nschema == 0);
    assert(nsets < INT32_MAX);
    *out = NULL;
    if (err && errlen)
        err[0] = '\0';
    s_schema_assert(schema, nschema);

    s_load_t ld = {.source = file ? file : "embedded",
                   .sets = sets,
                   .nsets = nsets,
                   .schema = schema,
                   .nschema = nschema,
                   .err = err,
                   .errlen = errlen};
    char *owned = NULL;
    const char *text = s_default_text;
    size_t size = 0;
    azo_config_t *self = NULL;
    char path[S_PATH_MAX] = "";
    int rc;
    if (file) {
        rc = s_read_file(&ld, file, &owned, &size);
        if (rc)
            goto fail;
        text = owned;
    } else if (!text) {
        s_fail_line(&ld, 0,
                    "no default configuration (call "
                    "azo_config_set_default_g first)");
        rc = -ENOENT;
        goto fail;
    } else if ((size = strlen(text)) > S_FILE_MAX) {
        rc = s_fail_line(&ld, 0, "default configuration larger than %d bytes",
                         S_FILE_MAX);
        goto fail;
    }
    if (nschema && (ld.depths = malloc(nschema * sizeof *ld.depths)))
        for (size_t i = 0; i < nschema; i++)
            ld.depths[i] = s_depth(schema[i].path);
    rc = s_scan(&ld, text, size);
    if (rc)
        goto fail;
    ld.root = zconfig_str_load(text);
    if (!ld.root) {
        rc = s_fail_line(&ld, 0,
                         "internal error: zconfig rejected text the "
                         "scanner accepted");
        goto fail;
    }
    rc = s_map_lines(&ld, text);
    if (rc)
        goto fail;
    for (size_t i = 0; i < nsets && rc == 0; i++)
        rc = s_apply_set(&ld, i);
    // Defaults go in after the overrides, so that a section an override
    // created (actors/x/...) also gets its wildcard defaults.
    for (size_t i = 0; i < nschema && rc == 0; i++)
        if (schema[i].dflt &&
            !s_under_absent_optional(ld.root, schema, nschema, &schema[i]))
            rc = s_apply_default(ld.root, schema[i].path, schema[i].dflt);
    if (rc)
        goto fail;
    rc = s_check_section(&ld, ld.root, path, 0);
    if (rc)
        goto fail;

    self = calloc(1, sizeof *self);
    if (!self || !(self->source = strdup(ld.source)) ||
        (nsets && !(self->sets = calloc(nsets, sizeof *self->sets)))) {
        rc = -ENOMEM;
        goto fail;
    }
    for (self->nsets = 0; self->nsets < nsets; self->nsets++)
        if (!(self->sets[self->nsets] = strdup(sets[self->nsets]))) {
            rc = -ENOMEM;
            goto fail;
        }
    if (!(self->index = zhashx_new()) ||
        s_index(self->index, ld.root, path, 0) < 0) {
        rc = -ENOMEM;
        goto fail;
    }
    self->root = ld.root;
    ld.root = NULL;
    self->origins = ld.origins; // sorted: s_check_section added none
    self->norigins = ld.norigins;
    *out = self;
    free(ld.depths);
    free(ld.keylines);
    free(owned);
    return 0;
fail:
    if (rc == -ENOMEM)
        s_fail_line(&ld, 0, "out of memory");
    if (self) {
        while (self->nsets)
            free(self->sets[--self->nsets]);
        free(self->sets);
        free(self->source);
        zhashx_destroy(&self->index);
    }
    free(self);
    zconfig_destroy(&ld.root);
    free(ld.depths);
    free(ld.origins);
    free(ld.keylines);
    free(owned);
    return rc;
}

// The node at path, or NULL.
static zconfig_t *
s_locate(const azo_config_t *self, const char *path)
{
    return zhashx_lookup(self->index, path);
}

void
azo_config_destroy(azo_config_t **self_p)
{
    assert(self_p);
    azo_config_t *self = *self_p;
    if (!self)
        return;
    zconfig_destroy(&self->root);
    zhashx_destroy(&self->index);
    free(self->source);
    free(self->origins);
    while (self->nsets)
        free(self->sets[--self->nsets]);
    free(self->sets);
    free(self);
    *self_p = NULL;
}

// Writes the children of node at depth into f; path[0..plen) is node's.
static int
s_save_section(FILE *f, zconfig_t *node, int depth, char *path, size_t plen,
               char *err, size_t errlen)
{
    for (zconfig_t *c = zconfig_child(node); c; c = zconfig_next(c)) {
        const char *name = zconfig_name(c);
        size_t n = strlen(name);
        if (plen + n + 2 > S_PATH_MAX)
            return azo_err_set(err, errlen, AZO_EBADREQ, "%s: path too long",
                               path);
        size_t at = plen;
        if (plen)
            path[at++] = '/';
        memcpy(path + at, name, n + 1);
        const char *v = zconfig_value(c);
        fprintf(f, "%*s%s", depth * 4, "", name);
        if (v && *v) {
            bool dq = strchr(v, '"') != NULL, sq = strchr(v, '\'') != NULL;
            for (const char *p = v; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                    dq = sq = true;
            if (dq && sq)
                return azo_err_set(err, errlen, AZO_EBADREQ,
                                   "%s: the value holds both \" and ' (or a "
                                   "control character): it cannot be "
                                   "written as ZPL for process actors",
                                   path);
            fprintf(f, " = %c%s%c", dq ? '\'' : '"', v, dq ? '\'' : '"');
        }
        fputc('\n', f);
        int rc = s_save_section(f, c, depth + 1, path, at + n, err, errlen);
        if (rc < 0)
            return rc;
        path[plen] = 0;
    }
    return 0;
}

int
azo_config_save(const azo_config_t *self, const char *path, char *err,
                size_t errlen)
{
    assert(self && path);
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return azo_err_set(err, errlen, -ENAMETOOLONG, "%s: path too long",
                           path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        int rc = -errno;
        if (fd >= 0)
            close(fd);
        return azo_err_set(err, errlen, rc, "%s: cannot write: %s", tmp,
                           strerror(-rc));
    }
    char key[S_PATH_MAX] = "";
    fprintf(f, "#   azod: the configuration in effect (written at start; "
               "do not edit)\n");
    int rc = s_save_section(f, self->root, 0, key, 0, err, errlen);
    if (rc == 0 && (fflush(f) != 0 || fsync(fileno(f)) != 0))
        rc = azo_err_set(err, errlen, -errno, "%s: cannot write: %s", tmp,
                         strerror(errno));
    if (fclose(f) != 0 && rc == 0)
        rc = azo_err_set(err, errlen, -errno, "%s: cannot write: %s", tmp,
                         strerror(errno));
    if (rc == 0 && rename(tmp, path) < 0)
        rc = azo_err_set(err, errlen, -errno, "%s: cannot rename: %s", path,
                         strerror(errno));
    if (rc < 0)
        (void)unlink(tmp);
    return rc;
}

int
azo_config_fail(const azo_config_t *self, const char *path, char *err,
                size_t errlen, const char *fmt, ...)
{
    assert(self && path && fmt);
    if (!err || !errlen)
        return AZO_EBADREQ;
    const zconfig_t *node = s_locate(self, path);
    s_origin_prefix(err, errlen, self->source, (const char *const *)self->sets,
                    node ? s_origin_in(self->origins, self->norigins, node)
                         : NULL);
    size_t used = strlen(err);
    if (used + 1 < errlen)
        snprintf(err + used, errlen - used, "%s: ", path);
    used = strlen(err);
    if (used + 1 < errlen) {
        va_list ap;
        va_start(ap, fmt);
        (void)vsnprintf(err + used, errlen - used, fmt, ap); // may cut
        va_end(ap);
    }
    return AZO_EBADREQ;
}

void
azo_config_set_default_g(const char *text)
{
    s_default_text = text;
}

const char *
azo_config_source(const azo_config_t *self)
{
    assert(self);
    return self->source;
}

// Returns the value at path, or NULL when the key is absent.
static const char *
s_value(const azo_config_t *self, const char *path)
{
    assert(self && path);
    zconfig_t *node = s_locate(self, path);
    return node ? zconfig_value(node) : NULL;
}

const char *
azo_config_str(const azo_config_t *self, const char *path)
{
    return s_value(self, path);
}

int64_t
azo_config_int(const azo_config_t *self, const char *path, int64_t dflt)
{
    const char *v = s_value(self, path);
    int64_t n;
    return v && s_parse_int(v, &n) == 0 ? n : dflt;
}

bool
azo_config_bool(const azo_config_t *self, const char *path, bool dflt)
{
    const char *v = s_value(self, path);
    bool b;
    return v && s_parse_bool(v, &b) == 0 ? b : dflt;
}

int64_t
azo_config_ms(const azo_config_t *self, const char *path, int64_t dflt)
{
    const char *v = s_value(self, path);
    int64_t ms;
    return v && azo_config_parse_duration(v, &ms) == 0 ? ms : dflt;
}

int64_t
azo_config_size(const azo_config_t *self, const char *path, int64_t dflt)
{
    const char *v = s_value(self, path);
    int64_t bytes;
    return v && azo_config_parse_size(v, &bytes) == 0 ? bytes : dflt;
}

double
azo_config_real(const azo_config_t *self, const char *path, double dflt)
{
    const char *v = s_value(self, path);
    double d;
    return v && s_parse_real(v, &d) == 0 ? d : dflt;
}

zconfig_t *
azo_config_section(const azo_config_t *self, const char *path)
{
    assert(self);
    if (!path || !*path)
        return self->root;
    return s_locate(self, path);
}

int
azo_config_parse_duration(const char *text, int64_t *ms)
{
    assert(ms);
    if (!text || !*text)
        return AZO_EBADREQ;
    if (strcmp(text, "0") == 0)
        return *ms = 0, 0;
    int64_t total = 0;
    const char *p = text;
    while (*p) {
        uint64_t n;
        if (s_digits(&p, INT64_MAX, &n) != 0)
            return AZO_EBADREQ;
        int64_t unit = 0;
        // "ms" before "m": the longest unit that matches.
        if (p[0] == 'm' && p[1] == 's')
            unit = 1, p += 2;
        else if (*p == 's')
            unit = 1000, p++;
        else if (*p == 'm')
            unit = 60000, p++;
        else if (*p == 'h')
            unit = 3600000, p++;
        else if (*p == 'd')
            unit = 86400000, p++;
        else
            return AZO_EBADREQ;
        if ((int64_t)n > INT64_MAX / unit)
            return AZO_EBADREQ;
        int64_t part = (int64_t)n * unit;
        if (total > INT64_MAX - part)
            return AZO_EBADREQ;
        total += part;
    }
    *ms = total;
    return 0;
}

int
azo_config_parse_size(const char *text, int64_t *bytes)
{
    assert(bytes);
    if (!text)
        return AZO_EBADREQ;
    uint64_t n;
    if (s_digits(&text, INT64_MAX, &n) != 0)
        return AZO_EBADREQ;
    for (size_t i = 0; i < sizeof s_size_units / sizeof s_size_units[0]; i++) {
        if (strcasecmp(text, s_size_units[i].unit) != 0)
            continue;
        int shift = s_size_units[i].shift;
        if (n > (uint64_t)INT64_MAX >> shift)
            return AZO_EBADREQ;
        *bytes = (int64_t)(n << shift);
        return 0;
    }
    return AZO_EBADREQ;
}
