// mo_session — realised totals from mining session exports: JSON files,
// each a list of sessions ({"sessions": [...]} or an array), each session
// a list of per-algorithm runs {algorithm, duration_s, hashrate, shares,
// revenue, power_w | energy_kwh}. Totals per algorithm and overall:
// time, mean hashrate, shares, revenue, energy, its cost, profit. A bad
// file is skipped and named; the good ones still count.
#ifndef MO_SESSION_H
#define MO_SESSION_H
#include "mo_calc.h"

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#define MO_SESS_FILES_MAX 1000 // files read from one directory

typedef struct {
    char algo[MO_ALGO_MAX];
    int64_t runs;
    double duration_s, hash_s; // hash_s: sum of hashrate x seconds
    double shares, revenue, energy_kwh;
} mo_sess_algo_t;

typedef struct {
    mo_sess_algo_t algos[MO_ALGOS_MAX];
    size_t nalgos;
    int64_t files, sessions, bad_files;
    char error[400]; // the first bad file's message, or ""
    double kwh_price;
} mo_sess_totals_t;

// Adds the sessions of one JSON text (named name in messages) to t.
// Returns 0, or AZO_EBADREQ with err naming the field
// ("sessions[1].algorithms[0].revenue: expected a number >= 0"); then t
// is unchanged.
int mo_session_add(mo_sess_totals_t *t, const char *text, size_t len,
                   const char *name, char *err, size_t errlen);

// Totals of every *.json file in dir (at most MO_SESS_FILES_MAX, each at
// most 16 MiB), energy priced at kwh_price. Returns 0, or a negative code
// when dir cannot be read (err).
int mo_session_dir(const char *dir, double kwh_price, mo_sess_totals_t *t,
                   char *err, size_t errlen);

// Packs t as {files, sessions, bad_files, error, duration_s, revenue,
// energy_kwh, power_cost, profit, best_algorithm, algorithms: [{algorithm,
// runs, duration_s, hashrate, shares, revenue, energy_kwh, power_cost,
// profit, profit_per_hour}]}.
void mo_session_pack(const mo_sess_totals_t *t, msgpack_packer *pk);
#endif
