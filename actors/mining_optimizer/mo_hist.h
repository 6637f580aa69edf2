// mo_hist — a price history for the backtest: market ticks loaded from a
// CSV or JSON file, each row checked by the live tick validator
// (mo_tick_parse), then sorted by time, ties kept in file order. A bad
// file is refused whole with the first error. Owns its rows; no clock, no
// threads of its own; one thread at a time.
//
// CSV: a header line naming the columns ts, symbol, algorithm, price,
// block_reward, block_time, net_hashrate, difficulty in any order
// (net_hashrate or difficulty may be left out, or empty in a row); then
// one tick a line. Fields are trimmed and may be wrapped in double quotes;
// no field holds a comma. Blank lines are skipped.
// JSON: an array of tick objects with the same keys, or {"ticks": [...]}
// (other keys of that object ignored); null counts as absent.
// ts: Unix milliseconds, Unix seconds (below 1e11), or ISO-8601 with a zone
// ("2026-11-01T00:00:00Z", "...+01:00", fractions of a second allowed).
#ifndef MO_HIST_H
#define MO_HIST_H
#include "mo_calc.h"

#include <stddef.h>
#include <stdint.h>

#define MO_HIST_CSV_MAX (64u << 20) // bytes of a CSV file
#define MO_HIST_JSON_MAX                                                       \
    (16u << 20)                   // bytes of a JSON file (jansson's
                                  // tree takes ~20x the text)
#define MO_HIST_ROWS_MAX  2000000 // ticks in one history
#define MO_HIST_COINS_MAX 1000    // distinct symbols in one history

typedef struct mo_hist mo_hist_t;

// Loads the history file at path: JSON when its name ends in ".json", CSV
// when in ".csv", otherwise JSON when its first non-blank byte is '[' or
// '{'. On success returns 0 and *out owns the history. On failure *out is
// NULL and err holds one line naming the file and the place: "PATH:LINE:
// FIELD: ..." (CSV), "PATH: ticks[I].FIELD: ..." (JSON), e.g.
// "history.csv:12: price: expected a positive number"; returns AZO_EBADREQ
// (content), -EFBIG (over the size limit) or another -errno (cannot read).
int mo_hist_load(mo_hist_t **out, const char *path, char *err, size_t errlen);

// As mo_hist_load for text[0..len) already in memory; name stands for the
// file in messages and chooses the format like a path does. text is
// borrowed for the call.
int mo_hist_parse(mo_hist_t **out, const char *name, const char *text,
                  size_t len, char *err, size_t errlen);

// Frees *self_p if not NULL, then sets *self_p to NULL.
void mo_hist_destroy(mo_hist_t **self_p);

// Ticks held (>= 1), and distinct coins among them.
size_t mo_hist_count(const mo_hist_t *self);
size_t mo_hist_ncoins(const mo_hist_t *self);

// The i-th tick in time order (0 <= i < count): its time (Unix ms), and
// when c is not NULL the tick itself into *c. Returns the tick's coin
// number, 0 <= coin < ncoins (numbered in file order).
size_t mo_hist_tick(const mo_hist_t *self, size_t i, int64_t *ts, mo_coin_t *c);

// Parses a time as the ts column takes it into *ms. Returns 0 or -EINVAL.
int mo_hist_parse_ts(const char *text, int64_t *ms);
#endif
