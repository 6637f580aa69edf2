// fuzz_config — libFuzzer target for the config loader. The input up to its
// first NUL is a configuration file; each NUL-separated piece after it (at
// most S_MAX_SETS) is a `--set PATH=VALUE` override. azo_config_load reads
// the file from disk with azod's schema: azo_sup_schema over every actor
// definition of azo_actors_all. A config that loads then goes through
// azo_sup_check (what `azod --check` adds) and every typed getter of the
// schema's keys; a failure must leave one non-empty line in err, and never
// be an "internal error" (the scanner and zconfig disagreeing).
//
// Process-global state, main thread only (libFuzzer calls the target from
// one thread): the temp file every input is written to, made (and unlinked)
// at the first call, and the schema, built once.
#include "azo_actors.h"
#include "azo_config.h"
#include "azo_err.h"
#include "azo_fuzz.h"
#include "azo_sup.h"

#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#define S_MAX_SETS 8
#define S_ERRLEN   1024 // what azod uses

static char s_path[64];         // how the loader opens the temp file
static int s_fd = -1;           // the temp file, already unlinked
static azo_cfg_key_t *s_schema; // owned, from azo_sup_schema
static size_t s_nschema;        //
static const azo_actor_def_t *const *s_defs; // azo_actors_all
static size_t s_ndefs;

static void
s_cleanup(void)
{
    if (s_fd >= 0)
        (void)close(s_fd); // unlinked: nothing to keep
    free(s_schema);
}

// Makes the temp file and the schema, once. The file is unlinked at once
// and reached through /proc/self/fd, so that nothing stays behind when an
// input crashes the process. Without them the target cannot run at all: it
// stops loudly.
static void
s_setup(void)
{
    if (s_fd >= 0)
        return;
    s_defs = azo_actors_all(&s_ndefs);
    s_schema = azo_sup_schema(s_defs, s_ndefs, &s_nschema);
    const char *tmp = getenv("TMPDIR");
    char name[4096];
    snprintf(name, sizeof name, "%s/azo-fuzz-config-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    s_fd = mkstemp(name);
    if (!s_schema || s_fd < 0 || unlink(name) < 0) {
        fprintf(stderr, "fuzz_config: cannot set up (%s)\n",
                s_schema ? name : "out of memory");
        abort();
    }
    snprintf(s_path, sizeof s_path, "/proc/self/fd/%d", s_fd);
    atexit(s_cleanup);
}

// Replaces the temp file's contents with text[0..len). Writes first and then
// cuts the file to len: on ext4, cutting a file to 0 bytes makes the next
// close flush it to disk, which would slow every run down tenfold.
static bool
s_write(const uint8_t *text, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = pwrite(s_fd, text + done, len - done, (off_t)done);
        if (n <= 0)
            return false;
        done += (size_t)n;
    }
    return ftruncate(s_fd, (off_t)len) == 0;
}

// Reads every key of the schema without a wildcard through its getter.
static void
s_getters(const azo_config_t *cfg)
{
    for (size_t i = 0; i < s_nschema; i++) {
        const azo_cfg_key_t *k = &s_schema[i];
        if (strchr(k->path, '*'))
            continue;
        switch (k->type) {
        case AZO_CFG_SECTION:
        case AZO_CFG_OPTIONAL:
            (void)azo_config_section(cfg, k->path); // may be absent
            break;
        case AZO_CFG_STR:
        case AZO_CFG_ENUM:
        case AZO_CFG_ENDPOINT:
            (void)azo_config_str(cfg, k->path); // NULL when absent
            break;
        case AZO_CFG_INT: {
            int64_t v = azo_config_int(cfg, k->path, k->min);
            AZO_FUZZ_CHECK(k->min == k->max || (v >= k->min && v <= k->max));
            break;
        }
        case AZO_CFG_BOOL:
            (void)azo_config_bool(cfg, k->path, false);
            break;
        case AZO_CFG_DURATION: {
            int64_t v = azo_config_ms(cfg, k->path, k->min);
            AZO_FUZZ_CHECK(v >= 0);
            AZO_FUZZ_CHECK(k->min == k->max || (v >= k->min && v <= k->max));
            break;
        }
        case AZO_CFG_SIZE: {
            int64_t v = azo_config_size(cfg, k->path, k->min);
            AZO_FUZZ_CHECK(v >= 0);
            AZO_FUZZ_CHECK(k->min == k->max || (v >= k->min && v <= k->max));
            break;
        }
        case AZO_CFG_REAL:
            (void)azo_config_real(cfg, k->path, 0.0);
            break;
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_setup();
    const uint8_t *nul = memchr(data, 0, size);
    size_t tlen = nul ? (size_t)(nul - data) : size;
    if (!s_write(data, tlen))
        return 0; // disk trouble: not a finding

    // The overrides: a NUL-terminated copy of what follows the first NUL.
    size_t rest = nul ? size - tlen - 1 : 0;
    char *setbuf = malloc(rest + 1);
    if (!setbuf)
        return 0;
    memcpy(setbuf, nul ? nul + 1 : data, rest);
    setbuf[rest] = 0;
    const char *sets[S_MAX_SETS];
    size_t nsets = 0;
    for (char *p = setbuf; nul && nsets < S_MAX_SETS && p <= setbuf + rest;
         p += strlen(p) + 1)
        sets[nsets++] = p;

    char err[S_ERRLEN] = "x";
    azo_config_t *cfg = NULL;
    int rc = azo_config_load(&cfg, s_path, sets, nsets, s_schema, s_nschema,
                             err, sizeof err);
    AZO_FUZZ_CHECK(rc == 0 || rc == AZO_EBADREQ);
    AZO_FUZZ_CHECK((rc == 0) == (cfg != NULL));
    if (rc == 0) {
        AZO_FUZZ_CHECK(err[0] == 0);
        AZO_FUZZ_CHECK(strcmp(azo_config_source(cfg), s_path) == 0);
        s_getters(cfg);
        char why[S_ERRLEN] = "";
        rc = azo_sup_check(cfg, s_defs, s_ndefs, why, sizeof why);
        AZO_FUZZ_CHECK(rc <= 0 && (rc == 0 || why[0] != 0));
        azo_config_destroy(&cfg);
        AZO_FUZZ_CHECK(cfg == NULL);
    } else {
        AZO_FUZZ_CHECK(err[0] != 0 && strchr(err, '\n') == NULL);
        // The scanner must accept only what zconfig reads the same way:
        // "FILE: internal error: ..." (quoted text comes after a line).
        char internal[sizeof s_path + 32];
        snprintf(internal, sizeof internal, "%s: internal error", s_path);
        if (strncmp(err, internal, strlen(internal)) == 0)
            fprintf(stderr, "fuzz_config: %s\n", err);
        AZO_FUZZ_CHECK(strncmp(err, internal, strlen(internal)) != 0);
    }
    free(setbuf);
    return 0;
}
