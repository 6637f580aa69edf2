// azo_sec — CURVE security for the node's endpoints, on czmq's zauth, zcert
// and zcertstore. Server side (the supervisor): the node's certificate
// (loaded, or made on first start), a zauth actor that allows the client
// keys found in the operator's clients directory plus the node's own key
// (process actors present it), re-read when that directory changes
// (inotify), and optional address allow/deny lists. Client side (azoctl,
// process actors): a client certificate and the server's public key,
// applied to a socket. Certificates are zcert files: NAME holds the public
// key, NAME_secret both keys and is kept mode 0600.
//
// zauth reads a directory of certificates itself, but czmq 4.2 aborts the
// whole process when two files there hold the same key. So zauth never
// sees the operator's directory: azo_sec validates it and hands zauth a
// fresh private copy (<data_dir>/curve/allowed.N, one public file per
// distinct key) after every change. Supervisor thread only.
#ifndef AZO_SEC_H
#define AZO_SEC_H

#include "azo_config.h"

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>

#define AZO_SEC_ZAP_DOMAIN "azo"
#define AZO_SEC_KEYLEN     40 // a Z85 CURVE key

typedef struct azo_sec azo_sec_t;

// Checks the security section of cfg beyond the schema (addresses in
// allow/deny). Returns 0 or AZO_EBADREQ with err.
int azo_sec_check(const azo_config_t *cfg, char *err, size_t errlen);

// True when cfg turns CURVE on.
bool azo_sec_enabled(const azo_config_t *cfg);

// Writes into buf the path of the node's secret certificate file:
// security/server_cert (NAME or NAME_secret), or <data_dir>/server.cert,
// always ending in "_secret".
void azo_sec_server_cert_path(const azo_config_t *cfg, char *buf,
                              size_t buflen);

// Server side. With CURVE off, returns 0 and *out NULL. Otherwise loads
// the node's certificate (making it when it is the default one and
// absent), starts zauth with the allowed keys and the address lists, and
// returns 0 with *out; or a negative code with err.
int azo_sec_open(azo_sec_t **out, const azo_config_t *cfg, char *err,
                 size_t errlen);

// Stops zauth and frees *self_p; sets it to NULL. NULL is fine.
void azo_sec_destroy(azo_sec_t **self_p);

// Makes sock a CURVE server with the node's certificate, and for a tcp
// endpoint applies security/allow as accept filters (before bind).
void azo_sec_server(azo_sec_t *self, zsock_t *sock, const char *endpoint);

// Watches the clients directory on loop: changes take effect for new
// connections at once. Returns 0 or a negative code.
int azo_sec_attach(azo_sec_t *self, zloop_t *loop);

// The node's public key (Z85) and how many client keys are allowed now.
const char *azo_sec_public(azo_sec_t *self);
size_t azo_sec_allowed(const azo_sec_t *self);

// Client side: what a client socket needs.
typedef struct {
    char pub[AZO_SEC_KEYLEN + 1];    // the client's public key
    char sec[AZO_SEC_KEYLEN + 1];    // its secret key
    char server[AZO_SEC_KEYLEN + 1]; // the server's public key
} azo_sec_client_t;

// Loads a client certificate (cert: NAME or NAME_secret) and the server's
// key (server: a Z85 key, or a certificate file holding it). Returns 0 or
// a negative code with err.
int azo_sec_client_load(azo_sec_client_t *out, const char *cert,
                        const char *server, char *err, size_t errlen);

// Process actors: the node's own certificate as client, and its public key
// as the server's. Returns 0 or a negative code with err.
int azo_sec_client_node(azo_sec_client_t *out, const azo_config_t *cfg,
                        char *err, size_t errlen);

// Makes sock a CURVE client with c (before connect).
void azo_sec_client_apply(const azo_sec_client_t *c, zsock_t *sock);

// Writes a new certificate: path (public) and path_secret (mode 0600);
// name goes into its metadata. Never overwrites. Returns 0 with the public
// key in pub (AZO_SEC_KEYLEN + 1 bytes), or a negative code with err.
int azo_sec_keygen(const char *path, char *pub, char *err, size_t errlen);

#endif
