// azo_config — the node's configuration: one ZPL file (czmq zconfig) or the
// embedded default, plus `--set PATH=VALUE` overrides, validated against a
// schema of typed keys before anything starts. Loaded by the main thread
// before any other thread exists; read-only afterwards, so any thread may
// read it. Does not know what the keys mean: callers supply the schema.
#ifndef AZO_CONFIG_H
#define AZO_CONFIG_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct azo_config azo_config_t;

typedef enum {
    AZO_CFG_SECTION,  // a section: may hold children, value ignored
    AZO_CFG_STR,      // any non-empty string
    AZO_CFG_INT,      // decimal integer, optional sign, within [min, max]
    AZO_CFG_BOOL,     // 1|0|true|false|yes|no|on|off
    AZO_CFG_ENUM,     // one of choices ("a|b|c")
    AZO_CFG_DURATION, // azo_config_parse_duration(), ms within [min, max]
    AZO_CFG_SIZE,     // azo_config_parse_size(), bytes within [min, max]
    AZO_CFG_ENDPOINT, // tcp://HOST:PORT, ipc://PATH or inproc://NAME
    AZO_CFG_REAL,     // decimal number (strtod), within [min, max] if set
    AZO_CFG_OPTIONAL, // a section whose presence means something (an actor
                      // to run): defaults below it apply only when the
                      // file or an override has it; never created
} azo_cfg_type_t;

// One schema entry. path is slash-separated; a segment "*" matches any one
// name (e.g. "actors/scheduler/jobs/*/every"). Every key present in the file
// must match an entry, and every entry's parent path must be a SECTION or
// OPTIONAL entry (top-level entries have no parent). min == max == 0 means
// unbounded.
typedef struct {
    const char *path;
    azo_cfg_type_t type;
    const char *dflt;    // default text applied when absent, or NULL
    int64_t min, max;    // INT, DURATION (ms), SIZE (bytes), REAL
    const char *choices; // ENUM only: "thread|process"
    const char *help;    // what an operator should write, for messages
} azo_cfg_key_t;

// Loads file (NULL: the embedded default text, see azo_config_set_default),
// applies sets[0..nsets) in order ("PATH=VALUE", split at the first '=':
// creates the key and missing parent sections, or replaces its value), fills
// in defaults, and validates every key against schema.
// Defaults: a schema entry with dflt whose key is absent is created; when
// its path holds a "*", only under sections that exist ("actors/*/mode"
// goes into each actors/<name>).
// Validation: every key must match an entry; a SECTION must not have a
// value, a value key must not have children, no name may repeat within a
// section, and each value must parse as its type (within [min, max]).
// On success returns 0, *out owns the config and err is "". On failure
// returns AZO_EBADREQ (bad content) or -errno (cannot read file: -ENOENT,
// -EISDIR, -EFBIG over 1 MiB, ...), *out is NULL, and err holds one line
// "SOURCE: PATH: message", SOURCE being "FILE:LINE", "--set PATH=VALUE" or
// "schema default", e.g.
//   "configs/azo.cfg:12: supervisor/period: expected a duration with a
//    unit (250ms, 5s, 10m, 6h, 7d), got '60'"
//   "--set supervisor/bogus=1: supervisor/bogus: unknown key (supervisor
//    has: strategy, ...)"
//   "configs/azo.cfg:3: indent 4 spaces at once (found 2 spaces)"
// file is "embedded" in messages when NULL. schema is borrowed for the call
// only and asserted well-formed; err may be NULL.
int azo_config_load(azo_config_t **out, const char *file,
                    const char *const *sets, size_t nsets,
                    const azo_cfg_key_t *schema, size_t nschema, char *err,
                    size_t errlen);

// Destroys *self_p if not NULL and sets it to NULL.
void azo_config_destroy(azo_config_t **self_p);

// Sets the text loaded when azo_config_load gets file == NULL. Call before
// any thread starts; text is borrowed for the life of the process (static).
void azo_config_set_default_g(const char *text);

// Writes the configuration (defaults and overrides applied) to file path
// (mode 0600, replaced whole through a temp file) so that azo_config_load
// reads it back the same: four spaces per level, each value quoted with "
// or, when it holds a ", with '. Returns 0, or a negative code with err
// naming the path or the key (AZO_EBADREQ: a value holding both quote
// characters or a control character, which ZPL cannot hold).
int azo_config_save(const azo_config_t *self, const char *path, char *err,
                    size_t errlen);

// Returns "embedded" or the file name given to azo_config_load. Borrowed
// until the config is destroyed.
const char *azo_config_source(const azo_config_t *self);

// Reports a problem with the key at path that only the caller can see
// (cross-key rules, values a schema type cannot check): writes "SOURCE:
// PATH: message" into err, SOURCE being "FILE:LINE", "--set PATH=VALUE"
// or "FILE: schema default" as in azo_config_load. Returns AZO_EBADREQ.
int azo_config_fail(const azo_config_t *self, const char *path, char *err,
                    size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

// Typed getters for validated keys (defaults already applied). A key that
// is absent with no default returns NULL / dflt. path must be a key of the
// schema; the value was validated at load, so these cannot fail otherwise
// (a getter of the wrong type for the key also returns dflt). The string is
// borrowed until the config is destroyed.
const char *azo_config_str(const azo_config_t *self, const char *path);
int64_t azo_config_int(const azo_config_t *self, const char *path,
                       int64_t dflt);
bool azo_config_bool(const azo_config_t *self, const char *path, bool dflt);
int64_t azo_config_ms(const azo_config_t *self, const char *path, int64_t dflt);
int64_t azo_config_size(const azo_config_t *self, const char *path,
                        int64_t dflt);
double azo_config_real(const azo_config_t *self, const char *path, double dflt);

// Returns the section at path (borrowed, read-only, lives as long as the
// config), or NULL; path "" returns the root. Iterate children with
// zconfig_child / zconfig_next.
zconfig_t *azo_config_section(const azo_config_t *self, const char *path);

// Parses a duration: one or more <integer><unit> groups, units ms, s, m, h,
// d ("250ms", "5s", "1h30m"), in any order; "0" alone is allowed. On
// success *ms holds milliseconds and 0 is returned; otherwise AZO_EBADREQ
// (no unit, unknown unit, sign, blank, overflow of int64 ms, empty).
int azo_config_parse_duration(const char *text, int64_t *ms);

// Writes ms the way azo_config_parse_duration reads it ("1h30m", "250ms";
// "0ms" for 0 or less) into buf (len > 0; cut to fit).
void azo_config_fmt_duration(char *buf, size_t len, int64_t ms);

// Parses a size: <integer> with optional unit B, K/KB/KiB, M/MB/MiB,
// G/GB/GiB, T/TB/TiB (all powers of 1024, any case). Returns 0 and sets
// *bytes, or AZO_EBADREQ (sign, blank, unknown unit, overflow of int64).
int azo_config_parse_size(const char *text, int64_t *bytes);

#endif
