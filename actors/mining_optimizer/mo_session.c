// mo_session — realised totals from mining session exports (see
// mo_session.h).
#include "mo_session.h"

#include "azo_err.h"
#include "azo_fs.h"
#include "azo_mp.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_FILE_MAX (16 * 1024 * 1024)

// A number >= 0 at key of o into *out; absent: false with *present false.
static bool
s_num(const json_t *o, const char *key, double *out, bool *present)
{
    json_t *v = json_object_get(o, key);
    *present = v != NULL;
    if (!v || !json_is_number(v))
        return false;
    *out = json_number_value(v);
    return isfinite(*out) && *out >= 0;
}

static int
s_run(mo_sess_totals_t *t, const json_t *r, const char *where, char *err,
      size_t errlen)
{
    if (!json_is_object(r))
        return azo_err_set(err, errlen, AZO_EBADREQ, "%s: expected an object",
                           where);
    const char *algo = json_string_value(json_object_get(r, "algorithm"));
    if (!algo || !*algo || strlen(algo) >= MO_ALGO_MAX)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "%s.algorithm: expected a name of 1-%d bytes", where,
                           MO_ALGO_MAX - 1);
    double dur, hr, shares = 0, rev, watts = 0, kwh = 0;
    bool has;
    static const char *const need[] = {"duration_s", "hashrate", "revenue"};
    double *needv[] = {&dur, &hr, &rev};
    for (int i = 0; i < 3; i++)
        if (!s_num(r, need[i], needv[i], &has))
            return azo_err_set(err, errlen, AZO_EBADREQ,
                               "%s.%s: expected a number >= 0%s", where,
                               need[i], has ? "" : " (missing)");
    if (!s_num(r, "shares", &shares, &has) && has)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "%s.shares: expected a number >= 0", where);
    bool has_w, has_k;
    bool ok_w = s_num(r, "power_w", &watts, &has_w);
    bool ok_k = s_num(r, "energy_kwh", &kwh, &has_k);
    if ((has_w && !ok_w) || (has_k && !ok_k) || (!has_w && !has_k))
        return azo_err_set(
            err, errlen, AZO_EBADREQ, "%s.%s: expected a number >= 0%s", where,
            has_k && !ok_k ? "energy_kwh" : "power_w",
            !has_w && !has_k ? " (power_w or energy_kwh is needed)" : "");
    if (!has_k)
        kwh = watts * dur / 3600.0 / 1000.0;
    mo_sess_algo_t *a = NULL;
    for (size_t i = 0; i < t->nalgos && !a; i++)
        if (strcmp(t->algos[i].algo, algo) == 0)
            a = &t->algos[i];
    if (!a) {
        if (t->nalgos == MO_ALGOS_MAX)
            return azo_err_set(err, errlen, AZO_EBADREQ,
                               "%s.algorithm: more than %d algorithms", where,
                               MO_ALGOS_MAX);
        a = &t->algos[t->nalgos++];
        memset(a, 0, sizeof *a);
        snprintf(a->algo, sizeof a->algo, "%s", algo);
    }
    a->runs++;
    a->duration_s += dur;
    a->hash_s += hr * dur;
    a->shares += shares;
    a->revenue += rev;
    a->energy_kwh += kwh;
    return 0;
}

int
mo_session_add(mo_sess_totals_t *t, const char *text, size_t len,
               const char *name, char *err, size_t errlen)
{
    json_error_t je;
    json_t *root = json_loadb(text, len, 0, &je);
    if (!root)
        return azo_err_set(err, errlen, AZO_EBADREQ, "%s: line %d: %s", name,
                           je.line, je.text);
    json_t *list =
        json_is_object(root) ? json_object_get(root, "sessions") : root;
    int rc = 0;
    mo_sess_totals_t copy = *t; // unchanged on failure
    if (!json_is_array(list))
        rc = azo_err_set(err, errlen, AZO_EBADREQ,
                         "%s: expected {\"sessions\": [...]} or an array of "
                         "sessions",
                         name);
    for (size_t i = 0; rc == 0 && i < json_array_size(list); i++) {
        json_t *s = json_array_get(list, i);
        json_t *runs = json_object_get(s, "algorithms");
        char where[96];
        snprintf(where, sizeof where, "%s: sessions[%zu]", name, i);
        if (!json_is_array(runs)) {
            rc = azo_err_set(err, errlen, AZO_EBADREQ,
                             "%s.algorithms: expected an array", where);
            break;
        }
        for (size_t j = 0; rc == 0 && j < json_array_size(runs); j++) {
            char w[160];
            snprintf(w, sizeof w, "%s.algorithms[%zu]", where, j);
            rc = s_run(&copy, json_array_get(runs, j), w, err, errlen);
        }
        copy.sessions++;
    }
    json_decref(root);
    if (rc == 0) {
        copy.files++;
        *t = copy;
    }
    return rc;
}

int
mo_session_dir(const char *dir, double kwh_price, mo_sess_totals_t *t,
               char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    t->kwh_price = kwh_price;
    DIR *d = opendir(dir);
    if (!d) {
        int rc = -errno;
        return azo_err_set(err, errlen, rc, "sessions_dir %s: %s", dir,
                           azo_err_str(rc));
    }
    struct dirent *de;
    int64_t n = 0;
    while ((de = readdir(d)) && n < MO_SESS_FILES_MAX) {
        size_t len = strlen(de->d_name);
        if (len < 6 || de->d_name[0] == '.' ||
            strcmp(de->d_name + len - 5, ".json") != 0)
            continue;
        n++;
        char why[400] = "", how[256], *buf = NULL;
        size_t got = 0;
        if (azo_fs_read_file(dirfd(d), de->d_name, O_NOFOLLOW, S_FILE_MAX, &buf,
                             &got, how, sizeof how) != 0)
            (void)azo_err_set(why, sizeof why, 0, "%s: %s", de->d_name, how);
        else
            (void)mo_session_add(t, buf, got, de->d_name, why, sizeof why);
        free(buf);
        if (why[0]) {
            t->bad_files++;
            if (!t->error[0])
                snprintf(t->error, sizeof t->error, "%s", why);
        }
    }
    closedir(d);
    return 0;
}

void
mo_session_pack(const mo_sess_totals_t *t, msgpack_packer *pk)
{
    double dur = 0, rev = 0, kwh = 0, best_pph = 0;
    const char *best = NULL;
    for (size_t i = 0; i < t->nalgos; i++) {
        const mo_sess_algo_t *a = &t->algos[i];
        dur += a->duration_s;
        rev += a->revenue;
        kwh += a->energy_kwh;
        double profit = a->revenue - a->energy_kwh * t->kwh_price;
        double pph = a->duration_s > 0 ? profit / (a->duration_s / 3600) : 0;
        if (a->duration_s > 0 && (!best || pph > best_pph)) {
            best = a->algo;
            best_pph = pph;
        }
    }
    msgpack_pack_map(pk, 11);
    azo_pack_kint(pk, "files", t->files);
    azo_pack_kint(pk, "sessions", t->sessions);
    azo_pack_kint(pk, "bad_files", t->bad_files);
    azo_pack_str(pk, "error");
    if (t->error[0])
        azo_pack_str(pk, t->error);
    else
        msgpack_pack_nil(pk);
    azo_pack_kreal(pk, "duration_s", dur);
    azo_pack_kreal(pk, "revenue", rev);
    azo_pack_kreal(pk, "energy_kwh", kwh);
    azo_pack_kreal(pk, "power_cost", kwh * t->kwh_price);
    azo_pack_kreal(pk, "profit", rev - kwh * t->kwh_price);
    azo_pack_str(pk, "best_algorithm");
    if (best)
        azo_pack_str(pk, best);
    else
        msgpack_pack_nil(pk);
    azo_pack_str(pk, "algorithms");
    msgpack_pack_array(pk, (uint32_t)t->nalgos);
    for (size_t i = 0; i < t->nalgos; i++) {
        const mo_sess_algo_t *a = &t->algos[i];
        double cost = a->energy_kwh * t->kwh_price;
        msgpack_pack_map(pk, 10);
        azo_pack_kstr(pk, "algorithm", a->algo);
        azo_pack_kint(pk, "runs", a->runs);
        azo_pack_kreal(pk, "duration_s", a->duration_s);
        azo_pack_kreal(pk, "hashrate",
                       a->duration_s > 0 ? a->hash_s / a->duration_s : 0);
        azo_pack_kreal(pk, "shares", a->shares);
        azo_pack_kreal(pk, "revenue", a->revenue);
        azo_pack_kreal(pk, "energy_kwh", a->energy_kwh);
        azo_pack_kreal(pk, "power_cost", cost);
        azo_pack_kreal(pk, "profit", a->revenue - cost);
        azo_pack_kreal(pk, "profit_per_hour",
                       a->duration_s > 0
                           ? (a->revenue - cost) / (a->duration_s / 3600)
                           : 0);
    }
}
