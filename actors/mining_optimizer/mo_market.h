// mo_market — the market data the optimizer works from: ticks (one coin's
// price, block reward, block time and network hashrate or difficulty)
// validated field by field, kept per coin with the price smoothed by an
// EMA, and jumps beyond a configured factor held until later ticks confirm
// them. Ticks come as msgpack maps (control messages, the external feed,
// JSON files converted by the caller). One thread.
#ifndef MO_MARKET_H
#define MO_MARKET_H
#include "mo_calc.h"

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MO_COINS_MAX 100000 // coins one market holds

typedef struct {
    double ema_alpha;      // weight of a new price, (0, 1]; 1: no smoothing
    double outlier_factor; // a price above last*f or below last/f is held
                           // (f > 1); 0: no outlier check
    int outlier_confirm;   // consecutive jumped ticks that make it the new
                           // level (2: the jump and one confirmation);
                           // below 2: no outlier check
} mo_smooth_t;

// One coin as the market holds it.
typedef struct {
    mo_coin_t c;         // as used: c.price is the smoothed price
    double last_price;   // last accepted raw price
    double held_price;   // the first tick of a jump waiting for
                         // confirmation; 0: none
    int held_n;          // ticks of it so far
    int64_t ts;          // last tick (Unix ms)
    uint64_t ticks;      // applied, held ones included
    uint64_t held_total; // ticks held as outliers
} mo_mcoin_t;

typedef enum {
    MO_TICK_ACCEPTED,  // applied (smoothed)
    MO_TICK_HELD,      // a jump: price held, the rest applied
    MO_TICK_CONFIRMED, // a held jump confirmed: the new level
    MO_TICK_DROPPED,   // a held jump not confirmed: back to normal
} mo_tick_t;

typedef struct mo_market mo_market_t;

mo_market_t *mo_market_new(const mo_smooth_t *smooth);
void mo_market_destroy(mo_market_t **self_p);

// Validates one tick, a msgpack map {symbol, algorithm, price,
// block_reward, block_time, net_hashrate | difficulty, ts?}, into *c and
// *ts (0 when absent). On failure returns AZO_EBADREQ with a message that
// starts with where and names the field ("ticks[2].price: expected a
// positive number").
int mo_tick_parse(const msgpack_object *obj, const char *where, mo_coin_t *c,
                  int64_t *ts, char *err, size_t errlen);

// Applies a valid tick received at ts (Unix ms). Returns its mo_tick_t,
// or -ENOMEM / -E2BIG (MO_COINS_MAX coins already).
int mo_market_apply(mo_market_t *self, const mo_coin_t *c, int64_t ts);

size_t mo_market_count(const mo_market_t *self);
// The i-th coin (0 <= i < count), in the order first seen.
const mo_mcoin_t *mo_market_at(const mo_market_t *self, size_t i);
const mo_mcoin_t *mo_market_get(const mo_market_t *self, const char *symbol);

// The name of a mo_tick_t ("accepted", "held", ...).
const char *mo_tick_name(int t);
#endif
