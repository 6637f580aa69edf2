// azo_json — msgpack <-> JSON for the command-line tools (azoctl's output,
// `call key=value` arguments). Stateless; any thread. Applies the wire
// contract's limits (AZO_MP_MAX_DEPTH) in both directions, never aborts on
// input, and does not touch sockets or envelopes (see protocol/azo_wire.h).
#ifndef AZO_JSON_H
#define AZO_JSON_H

#include <jansson.h>
#include <msgpack.h>

// Converts a decoded msgpack object to a new JSON value; the caller owns the
// result (json_decref). Mapping: nil -> null, bool, integers -> integer,
// except a positive integer above INT64_MAX, which becomes a JSON *string*
// of its decimal value (jansson integers are int64 and a real would lose
// digits); float32/float64 -> real (float32 by its shortest decimal form,
// NaN and infinities -> null); str -> string (may hold NUL bytes); bin ->
// base64 string (RFC 4648, padded); array -> array; map -> object, keys in
// order, a later duplicate key replacing the earlier value. Returns NULL when
// a map key is not a string, on ext types, a string that is not UTF-8,
// nesting deeper than AZO_MP_MAX_DEPTH (counted like azo_mp_check: only
// non-empty maps and arrays nest), or out of memory. obj is borrowed.
json_t *azo_json_from_mp(const msgpack_object *obj);

// Packs a JSON value: object -> map, array, string, integer (int64), real
// (float64), true/false/null. Returns 0, or AZO_EBADREQ when nesting is
// deeper than AZO_MP_MAX_DEPTH (as in azo_json_from_mp); on failure nothing
// has been written to pk. json is borrowed.
int azo_json_to_mp(const json_t *json, msgpack_packer *pk);

// Packs the value of a `key=value` command-line argument: when text parses as
// one JSON value (numbers, true/false/null, "quoted strings", objects,
// arrays) that value, otherwise text itself as a string (so `abc`, `` and
// an integer too large for int64 all become strings). Returns 0, or
// AZO_EBADREQ (nothing written) when text is JSON nested too deep or is not
// valid UTF-8.
int azo_json_parse_arg(const char *text, msgpack_packer *pk);

#endif
