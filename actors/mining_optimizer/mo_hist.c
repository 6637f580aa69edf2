// mo_hist — price histories from CSV or JSON (see mo_hist.h). Every row is
// turned into the msgpack map a live tick would be and checked by
// mo_tick_parse, so the backtest accepts exactly what the actor accepts.
// The map is built on the stack, pointing into the text: no packing, no
// allocation per row.
#include "mo_hist.h"

#include "azo_fs.h"

#include "azo_err.h"
#include "azo_mp.h"
#include "mo_market.h"

#include <assert.h>
#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define S_LINE_MAX 4096 // bytes of one CSV line
#define S_MSG_MAX  320  // one error message, before the caller's buffer

// The keys of a tick, which are also the CSV columns.
enum { K_TS, K_SYMBOL, K_ALGO, K_PRICE, K_REWARD, K_BTIME, K_NETHASH, K_DIFF };
#define S_NKEYS 8
static const char *const s_keys[S_NKEYS] = {
    "ts",           "symbol",     "algorithm",    "price",
    "block_reward", "block_time", "net_hashrate", "difficulty",
};
#define S_KEY_LIST                                                             \
    "ts, symbol, algorithm, price, block_reward, block_time, net_hashrate, "   \
    "difficulty"

// A tick as stored: names live once per coin.
typedef struct {
    int64_t ts;
    uint32_t coin;
    uint32_t seq; // file order: ties in ts keep it
    double price, block_reward, block_time, net_hashrate, difficulty;
} s_row_t;

typedef struct {
    char symbol[MO_SYM_MAX];
    char algo[MO_ALGO_MAX];
    size_t first; // line (CSV) or index (JSON) where first seen
} s_coin_t;

struct mo_hist {
    s_row_t *rows; // owned
    size_t n, cap;
    s_coin_t *coins; // owned
    size_t ncoins, coins_cap;
    zhashx_t *index; // symbol -> coin + 1; only while loading
    bool json;
};

// Where a row came from, for messages: "PATH:LINE" then ": field" (CSV), or
// "PATH: ticks[I]" then ".field" (JSON), as mo_tick_parse puts them.
typedef struct {
    char where[300];
    const char *sep;
    size_t at; // line or index
} s_place_t;

// "WHERE<sep>FIELD: message" into err; returns AZO_EBADREQ.
static int s_fail(const s_place_t *p, const char *field, char *err,
                  size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int
s_fail(const s_place_t *p, const char *field, char *err, size_t errlen,
       const char *fmt, ...)
{
    char msg[S_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (field)
        return azo_err_set(err, errlen, AZO_EBADREQ, "%s%s%s: %s", p->where,
                           p->sep, field, msg);
    return azo_err_set(err, errlen, AZO_EBADREQ, "%s: %s", p->where, msg);
}

static void
s_kv_str(msgpack_object_kv *kv, int key, const char *s, size_t len)
{
    kv->key.type = MSGPACK_OBJECT_STR;
    kv->key.via.str.ptr = s_keys[key];
    kv->key.via.str.size = (uint32_t)strlen(s_keys[key]);
    kv->val.type = MSGPACK_OBJECT_STR;
    kv->val.via.str.ptr = s;
    kv->val.via.str.size = (uint32_t)len;
}

// A time value: Unix seconds below 1e11 (year 5138), else milliseconds.
static int
s_ts_num(double v, int64_t *ms)
{
    if (!isfinite(v) || v < 0 || v >= 1e15)
        return -EINVAL;
    *ms = v < 1e11 ? llround(v * 1000.0) : llround(v);
    return 0;
}

// Reads n digits at *p into *out, advancing *p.
static bool
s_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char ch = (*p)[i];
        if (ch < '0' || ch > '9')
            return false;
        v = v * 10 + (ch - '0');
    }
    *p += n;
    *out = v;
    return true;
}

// ISO-8601: YYYY-MM-DDTHH:MM[:SS[.fff]] then Z or +HH:MM / -HH:MM.
static int
s_ts_iso(const char *s, int64_t *ms)
{
    struct tm tm = {0};
    int y, mo, d, h, mi, sec = 0, frac = 0;
    if (!s_digits(&s, 4, &y) || *s++ != '-' || !s_digits(&s, 2, &mo) ||
        *s++ != '-' || !s_digits(&s, 2, &d) || (*s != 'T' && *s != ' '))
        return -EINVAL;
    s++;
    if (!s_digits(&s, 2, &h) || *s++ != ':' || !s_digits(&s, 2, &mi))
        return -EINVAL;
    if (*s == ':') {
        s++;
        if (!s_digits(&s, 2, &sec))
            return -EINVAL;
        if (*s == '.') {
            s++;
            int scale = 100, nd = 0;
            for (; *s >= '0' && *s <= '9'; s++, nd++) {
                frac += (*s - '0') * scale;
                scale /= 10;
            }
            if (!nd || nd > 9)
                return -EINVAL;
        }
    }
    int off = 0; // minutes east of UTC
    if (*s == 'Z')
        s++;
    else if (*s == '+' || *s == '-') {
        int sign = *s++ == '-' ? -1 : 1, oh, om;
        if (!s_digits(&s, 2, &oh) || *s++ != ':' || !s_digits(&s, 2, &om) ||
            oh > 23 || om > 59)
            return -EINVAL;
        off = sign * (oh * 60 + om);
    } else
        return -EINVAL; // no zone: local time is not a point in time
    if (*s || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
        mi > 59 || sec > 59)
        return -EINVAL;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    // timegm normalises Feb 30 into March: a changed day is no such date.
    if (t == (time_t)-1 || tm.tm_mday != d || tm.tm_mon != mo - 1)
        return -EINVAL;
    int64_t v = ((int64_t)t - (int64_t)off * 60) * 1000 + frac;
    if (v < 0)
        return -EINVAL;
    *ms = v;
    return 0;
}

int
mo_hist_parse_ts(const char *text, int64_t *ms)
{
    if (!*text)
        return -EINVAL;
    if (strchr(text, '-') || strchr(text, ':'))
        return s_ts_iso(text, ms);
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end || errno)
        return -EINVAL;
    return s_ts_num(v, ms);
}

static int
s_ts_fail(const s_place_t *p, char *err, size_t errlen, bool missing)
{
    return s_fail(p, "ts", err, errlen,
                  "expected Unix seconds or milliseconds, or ISO-8601 with a "
                  "zone (2026-11-01T00:00:00Z)%s",
                  missing ? " (missing)" : "");
}

// Makes room for one more element in *v (n used of *cap, each size bytes),
// doubling. Returns 0 or -ENOMEM (*v unchanged).
static int
s_grow(void **v, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return 0;
    size_t c = *cap ? 2 * *cap : 64;
    void *p = realloc(*v, c * size);
    if (!p)
        return -ENOMEM;
    *v = p;
    *cap = c;
    return 0;
}

static int
s_coin_add(mo_hist_t *self, const mo_coin_t *c, const s_place_t *p,
           uint32_t *id, char *err, size_t errlen)
{
    size_t at = (size_t)zhashx_lookup(self->index, c->symbol);
    if (at) {
        const s_coin_t *k = &self->coins[at - 1];
        if (strcmp(k->algo, c->algo) != 0)
            return s_fail(p, "algorithm", err, errlen,
                          "%s is '%s' here but '%s' at %s%zu%s", c->symbol,
                          c->algo, k->algo, self->json ? "ticks[" : "line ",
                          k->first, self->json ? "]" : "");
        *id = (uint32_t)(at - 1);
        return 0;
    }
    if (self->ncoins == MO_HIST_COINS_MAX)
        return s_fail(p, "symbol", err, errlen, "more than %d coins",
                      MO_HIST_COINS_MAX);
    if (s_grow((void **)&self->coins, &self->coins_cap, self->ncoins,
               sizeof *self->coins))
        return -ENOMEM;
    s_coin_t *k = &self->coins[self->ncoins];
    memcpy(k->symbol, c->symbol, sizeof k->symbol);
    memcpy(k->algo, c->algo, sizeof k->algo);
    k->first = p->at;
    if (zhashx_insert(self->index, k->symbol, (void *)(self->ncoins + 1)))
        return -ENOMEM;
    *id = (uint32_t)self->ncoins++;
    return 0;
}

// Validates one row given as a map (kv[0..n)) and appends it. has_ts: a
// ts key is among them.
static int
s_add(mo_hist_t *self, msgpack_object_kv *kv, uint32_t n, bool has_ts,
      const s_place_t *p, char *err, size_t errlen)
{
    if (!has_ts)
        return s_ts_fail(p, err, errlen, true);
    if (self->n == MO_HIST_ROWS_MAX)
        return s_fail(p, NULL, err, errlen, "more than %d ticks",
                      MO_HIST_ROWS_MAX);
    msgpack_object map = {.type = MSGPACK_OBJECT_MAP};
    map.via.map.size = n;
    map.via.map.ptr = kv;
    mo_coin_t c;
    int64_t ts;
    char msg[S_MSG_MAX];
    int rc = mo_tick_parse(&map, p->where, &c, &ts, msg, sizeof msg);
    if (rc) {
        // "WHERE.field: ..." reads "WHERE: field: ..." after a line number.
        size_t wl = strlen(p->where), len = strlen(msg);
        if (p->sep[0] == ':' && len > wl && msg[wl] == '.' &&
            len + 1 < sizeof msg) {
            memmove(msg + wl + 2, msg + wl + 1, len - wl);
            msg[wl] = ':';
            msg[wl + 1] = ' ';
        }
        return azo_err_set(err, errlen, rc, "%s", msg);
    }
    uint32_t id = 0;
    if ((rc = s_coin_add(self, &c, p, &id, err, errlen)))
        return rc;
    if (s_grow((void **)&self->rows, &self->cap, self->n, sizeof *self->rows))
        return -ENOMEM;
    self->rows[self->n] = (s_row_t){
        .ts = ts,
        .coin = id,
        .seq = (uint32_t)self->n,
        .price = c.price,
        .block_reward = c.block_reward,
        .block_time = c.block_time,
        .net_hashrate = c.net_hashrate,
        .difficulty = c.difficulty,
    };
    self->n++;
    return 0;
}

// --- CSV --------------------------------------------------------------------

// Splits line (modified in place) at commas into at most max trimmed,
// unquoted fields. Returns the count, or max + 1 when there are more.
static size_t
s_split(char *line, char **f, size_t max)
{
    size_t n = 0;
    char *s = line;
    for (;;) {
        char *end = strchr(s, ',');
        if (end)
            *end = 0;
        if (n == max)
            return max + 1;
        while (*s == ' ' || *s == '\t')
            s++;
        size_t len = strlen(s);
        while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
            s[--len] = 0;
        if (len >= 2 && s[0] == '"' && s[len - 1] == '"') {
            s[len - 1] = 0;
            s++;
        }
        f[n++] = s;
        if (!end)
            return n;
        s = end + 1;
    }
}

static int
s_csv_header(char *line, const s_place_t *p, int *col, size_t *ncols, char *err,
             size_t errlen)
{
    char *f[S_NKEYS + 1];
    size_t n = s_split(line, f, S_NKEYS);
    bool seen[S_NKEYS] = {false};
    for (size_t i = 0; i < n && i < S_NKEYS; i++) {
        int k = 0;
        while (k < S_NKEYS && strcmp(f[i], s_keys[k]) != 0)
            k++;
        char name[64];
        azo_mp_clean_text(name, sizeof name, f[i], strlen(f[i]));
        if (k == S_NKEYS)
            return s_fail(
                p, NULL, err, errlen,
                "header: unknown column '%s' (columns: " S_KEY_LIST ")", name);
        if (seen[k])
            return s_fail(p, NULL, err, errlen, "header: column '%s' twice",
                          name);
        seen[k] = true;
        col[i] = k;
    }
    if (n > S_NKEYS)
        return s_fail(p, NULL, err, errlen,
                      "header: more than %d columns (columns: " S_KEY_LIST ")",
                      S_NKEYS);
    for (int k = 0; k <= K_BTIME; k++)
        if (!seen[k])
            return s_fail(p, NULL, err, errlen,
                          "header: no '%s' column (columns: " S_KEY_LIST ")",
                          s_keys[k]);
    if (!seen[K_NETHASH] && !seen[K_DIFF])
        return s_fail(p, NULL, err, errlen,
                      "header: needs a net_hashrate or a difficulty column");
    *ncols = n;
    return 0;
}

static int
s_csv_row(mo_hist_t *self, char *line, const int *col, size_t ncols,
          const s_place_t *p, char *err, size_t errlen)
{
    char *f[S_NKEYS + 1];
    size_t n = s_split(line, f, ncols);
    if (n != ncols)
        return s_fail(p, NULL, err, errlen, "expected %zu fields, found %s%zu",
                      ncols, n > ncols ? "more than " : "",
                      n > ncols ? ncols : n);
    msgpack_object_kv kv[S_NKEYS];
    uint32_t nkv = 0;
    bool has_ts = false;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(f[i]);
        if (!len)
            continue; // empty: absent, as mo_tick_parse reports it
        msgpack_object_kv *e = &kv[nkv++];
        s_kv_str(e, col[i], f[i], len);
        if (col[i] == K_TS) {
            int64_t ms;
            if (mo_hist_parse_ts(f[i], &ms))
                return s_ts_fail(p, err, errlen, false);
            e->val.type = MSGPACK_OBJECT_POSITIVE_INTEGER;
            e->val.via.u64 = (uint64_t)ms;
            has_ts = true;
        } else if (col[i] != K_SYMBOL && col[i] != K_ALGO) {
            // A number, or left a string for mo_tick_parse to refuse.
            char *end;
            double v = strtod(f[i], &end);
            if (!*end) {
                e->val.type = MSGPACK_OBJECT_FLOAT64;
                e->val.via.f64 = v;
            }
        }
    }
    return s_add(self, kv, nkv, has_ts, p, err, errlen);
}

static int
s_csv(mo_hist_t *self, const char *name, const char *text, size_t len,
      char *err, size_t errlen)
{
    int col[S_NKEYS];
    size_t ncols = 0;
    bool header = false;
    char line[S_LINE_MAX];
    s_place_t p = {.sep = ": "};
    size_t pos = 0;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        pos = 3; // a byte order mark, as spreadsheets write
    for (size_t no = 1; pos < len; no++) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - (text + pos)) : len - pos;
        snprintf(p.where, sizeof p.where, "%s:%zu", name, no);
        p.at = no;
        if (ll >= sizeof line)
            return s_fail(&p, NULL, err, errlen, "line longer than %d bytes",
                          S_LINE_MAX - 1);
        memcpy(line, text + pos, ll);
        pos += ll + 1;
        if (ll && line[ll - 1] == '\r')
            ll--;
        line[ll] = 0;
        if (memchr(line, 0, ll))
            return s_fail(&p, NULL, err, errlen, "a NUL byte");
        if (strspn(line, " \t") == ll)
            continue;
        int rc = header ? s_csv_row(self, line, col, ncols, &p, err, errlen)
                        : s_csv_header(line, &p, col, &ncols, err, errlen);
        if (rc)
            return rc;
        header = true;
    }
    if (!header)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "%s: empty: expected a header line naming the "
                           "columns (" S_KEY_LIST ")",
                           name);
    return 0;
}

// --- JSON -------------------------------------------------------------------

static int
s_json_tick(mo_hist_t *self, json_t *o, const s_place_t *p, char *err,
            size_t errlen)
{
    if (!json_is_object(o))
        return s_fail(p, NULL, err, errlen, "expected an object");
    msgpack_object_kv kv[S_NKEYS];
    uint32_t nkv = 0;
    bool has_ts = false;
    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        int k = 0;
        while (k < S_NKEYS && strcmp(key, s_keys[k]) != 0)
            k++;
        if (k == S_NKEYS) {
            char name[64];
            azo_mp_clean_text(name, sizeof name, key, strlen(key));
            return s_fail(p, name, err, errlen,
                          "unknown key (keys: " S_KEY_LIST ")");
        }
        if (json_is_null(v))
            continue;
        msgpack_object_kv *e = &kv[nkv++];
        s_kv_str(e, k, "", 0);
        msgpack_object *val = &e->val;
        if (k == K_TS) {
            int64_t ms;
            int rc = json_is_string(v)
                         ? mo_hist_parse_ts(json_string_value(v), &ms)
                     : json_is_number(v) ? s_ts_num(json_number_value(v), &ms)
                                         : -EINVAL;
            if (rc)
                return s_ts_fail(p, err, errlen, false);
            val->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
            val->via.u64 = (uint64_t)ms;
            has_ts = true;
        } else if (json_is_string(v)) {
            val->via.str.ptr = json_string_value(v);
            val->via.str.size = (uint32_t)json_string_length(v);
        } else if (json_is_integer(v)) {
            json_int_t i = json_integer_value(v);
            val->type = i < 0 ? MSGPACK_OBJECT_NEGATIVE_INTEGER
                              : MSGPACK_OBJECT_POSITIVE_INTEGER;
            val->via.i64 = i;
        } else if (json_is_real(v)) {
            val->type = MSGPACK_OBJECT_FLOAT64;
            val->via.f64 = json_real_value(v);
        } else if (json_is_boolean(v)) {
            val->type = MSGPACK_OBJECT_BOOLEAN;
            val->via.boolean = json_is_true(v);
        } else
            val->type = MSGPACK_OBJECT_NIL; // objects, arrays: refused
    }
    return s_add(self, kv, nkv, has_ts, p, err, errlen);
}

static int
s_json(mo_hist_t *self, const char *name, const char *text, size_t len,
       char *err, size_t errlen)
{
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return azo_err_set(err, errlen, AZO_EBADREQ, "%s:%d:%d: %s", name,
                           je.line, je.column, je.text);
    json_t *ticks =
        json_is_object(root) ? json_object_get(root, "ticks") : root;
    int rc = 0;
    if (!json_is_array(ticks))
        rc = azo_err_set(err, errlen, AZO_EBADREQ,
                         "%s: expected an array of ticks or {\"ticks\": "
                         "[...]}",
                         name);
    s_place_t p = {.sep = "."};
    for (size_t i = 0; !rc && i < json_array_size(ticks); i++) {
        snprintf(p.where, sizeof p.where, "%s: ticks[%zu]", name, i);
        p.at = i;
        rc = s_json_tick(self, json_array_get(ticks, i), &p, err, errlen);
    }
    json_decref(root);
    return rc;
}

// --- loading ----------------------------------------------------------------

static bool
s_ends(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

static int
s_cmp(const void *a, const void *b)
{
    const s_row_t *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int
mo_hist_parse(mo_hist_t **out, const char *name, const char *text, size_t len,
              char *err, size_t errlen)
{
    *out = NULL;
    size_t lead = 0;
    while (lead < len && text[lead] && strchr(" \t\r\n", text[lead]))
        lead++;
    bool json =
        s_ends(name, ".json") || (!s_ends(name, ".csv") && lead < len &&
                                  (text[lead] == '[' || text[lead] == '{'));
    size_t max = json ? MO_HIST_JSON_MAX : MO_HIST_CSV_MAX;
    // jansson's tree takes many times the text: JSON gets less.
    if (len > max)
        return azo_err_set(err, errlen, -EFBIG,
                           "%s: %zu bytes, more than the %u MiB a %s history "
                           "may hold",
                           name, len, (unsigned)(max >> 20),
                           json ? "JSON" : "CSV");
    if (lead == len)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "%s: empty file: expected CSV with a header line "
                           "(" S_KEY_LIST ") or a JSON array of ticks",
                           name);
    mo_hist_t *self = calloc(1, sizeof *self);
    if (!self || !(self->index = zhashx_new())) {
        free(self);
        return azo_err_set(err, errlen, -ENOMEM, "%s: out of memory", name);
    }
    self->json =
        s_ends(name, ".json") ||
        (!s_ends(name, ".csv") && (text[lead] == '[' || text[lead] == '{'));
    int rc = self->json ? s_json(self, name, text, len, err, errlen)
                        : s_csv(self, name, text, len, err, errlen);
    if (rc == -ENOMEM)
        azo_err_set(err, errlen, rc, "%s: out of memory", name);
    else if (!rc && !self->n)
        rc = azo_err_set(err, errlen, AZO_EBADREQ, "%s: no ticks", name);
    zhashx_destroy(&self->index);
    if (rc) {
        mo_hist_destroy(&self);
        return rc;
    }
    qsort(self->rows, self->n, sizeof *self->rows, s_cmp);
    *out = self;
    return 0;
}

int
mo_hist_load(mo_hist_t **out, const char *path, char *err, size_t errlen)
{
    *out = NULL;
    char why[256], *buf;
    size_t len;
    int rc = azo_fs_read_file(AT_FDCWD, path, O_NOCTTY, MO_HIST_CSV_MAX, &buf,
                              &len, why, sizeof why);
    if (rc)
        return azo_err_set(err, errlen, rc, "%s: %s", path, why);
    rc = mo_hist_parse(out, path, buf, len, err, errlen);
    free(buf);
    return rc;
}

void
mo_hist_destroy(mo_hist_t **self_p)
{
    mo_hist_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy(&self->index);
    free(self->rows);
    free(self->coins);
    free(self);
    *self_p = NULL;
}

size_t
mo_hist_count(const mo_hist_t *self)
{
    return self->n;
}

size_t
mo_hist_ncoins(const mo_hist_t *self)
{
    return self->ncoins;
}

size_t
mo_hist_tick(const mo_hist_t *self, size_t i, int64_t *ts, mo_coin_t *c)
{
    assert(i < self->n);
    const s_row_t *r = &self->rows[i];
    *ts = r->ts;
    if (c) {
        const s_coin_t *k = &self->coins[r->coin];
        memcpy(c->symbol, k->symbol, sizeof c->symbol);
        memcpy(c->algo, k->algo, sizeof c->algo);
        c->price = r->price;
        c->block_reward = r->block_reward;
        c->block_time = r->block_time;
        c->net_hashrate = r->net_hashrate;
        c->difficulty = r->difficulty;
    }
    return r->coin;
}
