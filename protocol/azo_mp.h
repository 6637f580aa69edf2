// azo_mp — msgpack helpers under the wire contract: a bounded validator that
// runs before msgpack-c allocates anything, packing shortcuts, and lookups
// in decoded maps. Stateless; any thread. Knows nothing of envelopes (see
// azo_wire) and never allocates on behalf of a peer.
#ifndef AZO_MP_H
#define AZO_MP_H

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AZO_MP_MAX_DEPTH 16    // nesting of maps and arrays
#define AZO_MP_MAX_ITEMS 65536 // objects in one message, keys included
#define AZO_MP_MAX_BYTES (16u * 1024 * 1024) // hard cap on any buffer

// Checks that buf[0..len) holds exactly one msgpack object, with no ext
// types, every map key a string, every string valid UTF-8, nesting at most
// AZO_MP_MAX_DEPTH, at most AZO_MP_MAX_ITEMS objects and no declared length
// beyond the bytes present. Returns 0, or AZO_EBADREQ with a one-line reason
// in err (may be NULL) such as "truncated msgpack at byte 12".
int azo_mp_check(const void *buf, size_t len, char *err, size_t errlen);

// True when buf[0..n) is well-formed UTF-8 (no overlongs, surrogates or
// code points past U+10FFFF).
bool azo_mp_utf8_ok(const void *buf, size_t n);

// Copies src[0..srclen) into dst as one printable line for logs and error
// messages: control characters and invalid UTF-8 bytes become '?', and the
// copy ends on a character boundary before dstlen. dst is always
// NUL-terminated (dstlen > 0). Returns the length written.
size_t azo_mp_clean_text(char *dst, size_t dstlen, const void *src,
                         size_t srclen);

// Decodes buf (already checked) into *obj, allocating from zone. Strings and
// binaries in *obj point into buf: buf must outlive *obj. Returns 0 or
// AZO_EBADREQ.
int azo_mp_unpack(const void *buf, size_t len, msgpack_zone *zone,
                  msgpack_object *obj);

// Returns the value under string key in map, or NULL when map is NULL, not a
// map, or has no such key. Borrowed from map.
const msgpack_object *azo_mp_get(const msgpack_object *map, const char *key);

// True when obj is a string equal to s.
bool azo_mp_str_eq(const msgpack_object *obj, const char *s);

// Copies a string object into a NUL-terminated string allocated from zone.
// Returns NULL when obj is not a string, holds a NUL byte, or zone is out
// of memory.
const char *azo_mp_strdup(const msgpack_object *obj, msgpack_zone *zone);

// Reads an integer object (positive or negative). Returns 0, or AZO_EBADREQ
// when obj is not an integer or does not fit int64.
int azo_mp_int(const msgpack_object *obj, int64_t *out);

// Packing shortcuts. s == NULL packs nil.
void azo_pack_str(msgpack_packer *pk, const char *s);
void azo_pack_strn(msgpack_packer *pk, const char *s, size_t len);
void azo_pack_kstr(msgpack_packer *pk, const char *key, const char *val);
void azo_pack_kint(msgpack_packer *pk, const char *key, int64_t val);
void azo_pack_kuint(msgpack_packer *pk, const char *key, uint64_t val);
void azo_pack_kbool(msgpack_packer *pk, const char *key, bool val);
void azo_pack_kreal(msgpack_packer *pk, const char *key, double val);

// A map (or array) whose size is known only at the end: open writes a
// 32-bit header and returns its offset; close patches the count. pk must
// write into a msgpack_sbuffer (msgpack_packer_init with
// msgpack_sbuffer_write).
size_t azo_pack_map_open(msgpack_packer *pk);
void azo_pack_map_close(msgpack_packer *pk, size_t at, uint32_t n);
size_t azo_pack_array_open(msgpack_packer *pk);
void azo_pack_array_close(msgpack_packer *pk, size_t at, uint32_t n);

#endif
