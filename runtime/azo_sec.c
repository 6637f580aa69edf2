// azo_sec — CURVE for the node's endpoints: certificates, zauth with a
// validated copy of the allowed client keys, client-side settings.
#include "azo_sec.h"
#include "azo_err.h"
#include "azo_fs.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_MAX_CERT_FILE 65536 // a certificate is a few hundred bytes
#define S_MAX_CLIENTS   10000 // keys taken from the clients directory
#define S_RETRY_MS      1000  // looking for a missing clients directory
#define S_MAX_TOLD      20    // skipped files named in the log, per pass

struct azo_sec {
    zactor_t *auth;   // owned: zauth
    zcert_t *cert;    // owned: the node's certificate
    char allow[1024]; // security/allow, or ""

    char clients[PATH_MAX];      // the operator's directory
    char base[PATH_MAX];         // <data_dir>/curve
    char current[PATH_MAX + 32]; // the copy zauth reads now, or ""
    unsigned serial;             // of the next copy
    size_t allowed;              // client keys in the current copy
    int ino;                     // inotify descriptor, or -1
    int watch;                   // its watch on clients, or -1
    zloop_t *loop;               // borrowed, once attached
    int retry_timer;             // while clients is missing or a sync
                                 // failed, or -1
    bool gone;                   // clients is missing
};

static bool
s_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

// A Z85 CURVE key: 40 characters of the Z85 alphabet.
static bool
s_key_ok(const char *key)
{
    static const char z85[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"
                              "KLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
    return key && strlen(key) == AZO_SEC_KEYLEN &&
           strspn(key, z85) == AZO_SEC_KEYLEN;
}

// The secret file of a certificate named NAME or NAME_secret.
static void
s_secret_path(const char *name, char *buf, size_t buflen)
{
    snprintf(buf, buflen, "%s%s", name,
             s_ends_with(name, "_secret") ? "" : "_secret");
}

// Loads the certificate with both keys from secret (a NAME_secret file)
// into *out. Refuses a file that others may read. Returns 0 or a negative
// code with err.
static int
s_load_secret(const char *secret, zcert_t **out, char *err, size_t errlen)
{
    *out = NULL;
    struct stat st;
    if (stat(secret, &st) < 0)
        return azo_err_set(err, errlen, -errno, "%s: %s", secret,
                           strerror(errno));
    if (!S_ISREG(st.st_mode) || st.st_size > S_MAX_CERT_FILE)
        return azo_err_set(err, errlen, AZO_EBADREQ,
                           "%s: not a certificate file", secret);
    if (st.st_mode & 077)
        return azo_err_set(err, errlen, AZO_EFORBIDDEN,
                           "%s: permissions %04o are too open for a secret key "
                           "(chmod 600 %s)",
                           secret, (unsigned)(st.st_mode & 07777), secret);
    zcert_t *cert = zcert_load(secret);
    if (!cert || !s_key_ok(zcert_public_txt(cert)) ||
        !s_key_ok(zcert_secret_txt(cert)) ||
        strspn(zcert_secret_txt(cert), "0") == AZO_SEC_KEYLEN) {
        zcert_destroy(&cert);
        return azo_err_set(
            err, errlen, AZO_EBADREQ,
            "%s: not a secret certificate (zcert format with "
            "curve/public-key and curve/secret-key; make one with "
            "azoctl keygen)",
            secret);
    }
    *out = cert;
    return 0;
}

// --- configuration -----------------------------------------------------------

bool
azo_sec_enabled(const azo_config_t *cfg)
{
    return azo_config_bool(cfg, "security/curve", false);
}

void
azo_sec_server_cert_path(const azo_config_t *cfg, char *buf, size_t buflen)
{
    const char *path = azo_config_str(cfg, "security/server_cert");
    if (path && *path)
        s_secret_path(path, buf, buflen);
    else
        snprintf(buf, buflen, "%s/server.cert_secret",
                 azo_config_str(cfg, "node/data_dir"));
}

// Calls fn for each address in list (separated by spaces or commas).
// Returns 0, or the first negative value fn returns.
static int
s_each_address(const char *list, int (*fn)(const char *addr, void *arg),
               void *arg)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", list ? list : "");
    char *save = NULL;
    for (char *a = strtok_r(buf, " ,", &save); a;
         a = strtok_r(NULL, " ,", &save)) {
        int rc = fn(a, arg);
        if (rc < 0)
            return rc;
    }
    return 0;
}

// An IPv4 or IPv6 address, with a /bits mask when masks is true.
static bool
s_address_valid(const char *addr, bool masks)
{
    char host[64];
    const char *slash = strchr(addr, '/');
    size_t n = slash ? (size_t)(slash - addr) : strlen(addr);
    if (n >= sizeof host || (slash && !masks))
        return false;
    memcpy(host, addr, n);
    host[n] = 0;
    unsigned char tmp[sizeof(struct in6_addr)];
    int bits = inet_pton(AF_INET, host, tmp) == 1    ? 32
               : inet_pton(AF_INET6, host, tmp) == 1 ? 128
                                                     : -1;
    if (bits < 0 || !slash)
        return bits > 0;
    char *end;
    long m = strtol(slash + 1, &end, 10);
    return slash[1] && !*end && m >= 0 && m <= bits;
}

typedef struct {
    bool masks;
    char bad[64];
} s_check_t;

static int
s_address_ok(const char *addr, void *arg)
{
    s_check_t *check = arg;
    if (s_address_valid(addr, check->masks))
        return 0;
    snprintf(check->bad, sizeof check->bad, "%s", addr);
    return -1;
}

int
azo_sec_check(const azo_config_t *cfg, char *err, size_t errlen)
{
    static const char *const lists[] = {"security/allow", "security/deny"};
    static const char *const what[] = {
        "an IPv4 or IPv6 address or range (10.0.0.0/8)",
        "an IPv4 or IPv6 address (no ranges)"};
    for (size_t i = 0; i < 2; i++) {
        const char *list = azo_config_str(cfg, lists[i]);
        if (!list || !*list)
            continue;
        if (!azo_sec_enabled(cfg))
            return azo_err_set(err, errlen, AZO_EBADREQ,
                               "%s applies only with security/curve = 1",
                               lists[i]);
        if (strlen(list) >= 1024)
            return azo_err_set(err, errlen, AZO_EBADREQ,
                               "%s: too long (at most 1023 characters)",
                               lists[i]);
        s_check_t check = {.masks = i == 0};
        if (s_each_address(list, s_address_ok, &check) < 0)
            return azo_err_set(
                err, errlen, AZO_EBADREQ,
                "%s: '%s' is not %s; separate them with spaces or "
                "commas",
                lists[i], check.bad, what[i]);
    }
    return 0;
}

// --- the allowed keys
// ---------------------------------------------------------

// Removes dir and the files in it (our copies: no subdirectories).
static void
s_remove_copy(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (streq(e->d_name, ".") || streq(e->d_name, ".."))
                continue;
            char path[PATH_MAX + 300];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            (void)unlink(path);
        }
        closedir(d);
    }
    (void)rmdir(dir);
}

// Removes the copies an earlier run left in base (a killed azod).
static void
s_remove_stale(const char *base)
{
    DIR *d = opendir(base);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strncmp(e->d_name, "allowed.", 8) == 0) {
            char path[PATH_MAX + 300];
            snprintf(path, sizeof path, "%s/%s", base, e->d_name);
            s_remove_copy(path);
        }
    closedir(d);
}

// True when path (size bytes) looks like a text file: zconfig would log a
// binary one's bytes in its complaint.
static bool
s_is_text(const char *path, off_t size)
{
    if (size <= 0 || size > S_MAX_CERT_FILE)
        return false;
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    unsigned char buf[S_MAX_CERT_FILE];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    for (size_t i = 0; i < n; i++)
        if ((buf[i] < 0x20 && buf[i] != '\n' && buf[i] != '\r' &&
             buf[i] != '\t') ||
            buf[i] == 0x7f)
            return false;
    return n > 0;
}

// Adds the keys of the clients directory to copy (a fresh directory),
// skipping secret files, hidden files, files that are not certificates and
// keys seen before (seen: key -> file name). Returns the number added.
static size_t
s_copy_clients(azo_sec_t *self, const char *copy, zhashx_t *seen)
{
    DIR *d = opendir(self->clients);
    if (!d) {
        zsys_warning("CURVE: cannot read security/clients = %s: %s; no "
                     "client key is allowed until it can be read",
                     self->clients, strerror(errno));
        return 0;
    }
    size_t n = 0;
    int told = 0; // problems logged in this pass
    struct dirent *e;
    while ((e = readdir(d)) && n < S_MAX_CLIENTS) {
        if (e->d_name[0] == '.' || s_ends_with(e->d_name, "_secret"))
            continue;
        char path[PATH_MAX + 300];
        snprintf(path, sizeof path, "%s/%s", self->clients, e->d_name);
        struct stat st;
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        zcert_t *cert = s_is_text(path, st.st_size) ? zcert_load(path) : NULL;
        const char *key = cert ? zcert_public_txt(cert) : NULL;
        if (!s_key_ok(key) || strspn(key, "0") == AZO_SEC_KEYLEN) {
            if (told++ < S_MAX_TOLD)
                zsys_warning("CURVE: %s is not a certificate; skipped", path);
        } else if (zhashx_lookup(seen, key)) {
            if (told++ < S_MAX_TOLD)
                zsys_warning("CURVE: %s holds the same key as %s; skipped",
                             path, (const char *)zhashx_lookup(seen, key));
        } else {
            char out[PATH_MAX + 64];
            snprintf(out, sizeof out, "%s/c%zu", copy, n);
            if (zcert_save_public(cert, out) == 0) {
                zhashx_insert(seen, key, strdup(e->d_name));
                n++;
            }
        }
        zcert_destroy(&cert);
    }
    if (e)
        zsys_warning("CURVE: %s holds more than %d certificates; the rest "
                     "are not allowed",
                     self->clients, S_MAX_CLIENTS);
    closedir(d);
    if (told > S_MAX_TOLD)
        zsys_warning("CURVE: %d more files of %s skipped", told - S_MAX_TOLD,
                     self->clients);
    return n;
}

static int s_on_retry(zloop_t *loop, int timer_id, void *arg);

// Points zauth at location (a directory of certificates; one that does
// not exist allows nobody).
static void
s_use(azo_sec_t *self, const char *location)
{
    zstr_sendx(self->auth, "CURVE", location, NULL);
    zsock_wait(self->auth);
    if (self->current[0] && strcmp(self->current, location) != 0)
        s_remove_copy(self->current);
    snprintf(self->current, sizeof self->current, "%s", location);
}

// Arms the (one-shot) retry timer, once attached.
static void
s_retry_later(azo_sec_t *self)
{
    if (self->loop && self->retry_timer < 0)
        self->retry_timer =
            zloop_timer(self->loop, S_RETRY_MS, 1, s_on_retry, self);
}

// Makes a fresh copy of the allowed keys (the node's own, then the
// clients directory's) and points zauth at it. When the copy cannot be
// made (a full disk), fails closed: nobody is allowed until a retry
// succeeds, so that a removed key never stays allowed. Returns 0 or a
// negative code.
static int
s_sync(azo_sec_t *self)
{
    char copy[sizeof self->current];
    snprintf(copy, sizeof copy, "%s/allowed.%u", self->base, self->serial++);
    char own[sizeof copy + 8];
    snprintf(own, sizeof own, "%s/node", copy);
    zhashx_t *seen = zhashx_new();
    int rc = seen ? 0 : -ENOMEM;
    if (rc == 0 && mkdir(copy, 0700) < 0)
        rc = -errno;
    if (rc == 0 && zcert_save_public(self->cert, own) != 0)
        rc = errno ? -errno : -EIO;
    if (rc == 0) {
        zhashx_set_destructor(seen, (zhashx_destructor_fn *)zstr_free);
        zhashx_insert(seen, zcert_public_txt(self->cert),
                      strdup("the node's own certificate"));
        self->allowed = s_copy_clients(self, copy, seen);
        s_use(self, copy);
        zsys_info("CURVE: %zu client key%s allowed (security/clients = %s)",
                  self->allowed, self->allowed == 1 ? "" : "s", self->clients);
    } else {
        zsys_error("CURVE: cannot write the allowed keys to %s: %s; refusing "
                   "every new connection until it works",
                   copy, strerror(-rc));
        s_remove_copy(copy);
        char none[sizeof self->base + 8];
        snprintf(none, sizeof none, "%s/none", self->base);
        s_use(self, none);
        self->allowed = 0;
        s_retry_later(self);
    }
    zhashx_destroy(&seen);
    return rc;
}

// Watches the clients directory, if it exists. Returns true when watched.
static bool
s_watch(azo_sec_t *self)
{
    if (self->ino < 0 || self->watch >= 0)
        return self->watch >= 0;
    self->watch = inotify_add_watch(
        self->ino, self->clients,
        IN_CREATE | IN_DELETE | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO |
            IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR);
    return self->watch >= 0;
}

// S_RETRY_MS after the clients directory went missing or a sync failed;
// re-armed until both are fine. One-shot: zloop removes it after this.
static int
s_on_retry(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    azo_sec_t *self = arg;
    self->retry_timer = -1;
    if (!s_watch(self)) {
        s_retry_later(self); // still missing
        return 0;
    }
    if (self->gone)
        zsys_info("CURVE: security/clients = %s is back", self->clients);
    self->gone = false;
    (void)s_sync(self); // arms the timer again if it fails
    return 0;
}

static int
s_on_inotify(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void)loop;
    azo_sec_t *self = arg;
    char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
    bool gone = false, any = false;
    ssize_t n;
    while ((n = read(item->fd, buf, sizeof buf)) > 0) {
        any = true;
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            if (ev->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF))
                gone = true;
            p += sizeof *ev + ev->len;
        }
    }
    if (!any)
        return 0;
    if (gone && self->watch >= 0) {
        (void)inotify_rm_watch(self->ino, self->watch); // may be gone
        self->watch = -1;
    }
    if (gone && !s_watch(self)) {
        zsys_warning("CURVE: security/clients = %s is gone: no client key "
                     "is allowed until it is back",
                     self->clients);
        self->gone = true;
        s_retry_later(self);
    }
    (void)s_sync(self);
    return 0;
}

// --- server side -------------------------------------------------------------

// The node's certificate: loaded, or made when it is the default one.
static int
s_server_cert(azo_sec_t *self, const azo_config_t *cfg, char *err,
              size_t errlen)
{
    char secret[PATH_MAX];
    azo_sec_server_cert_path(cfg, secret, sizeof secret);
    const char *conf = azo_config_str(cfg, "security/server_cert");
    if (access(secret, F_OK) < 0 && errno == ENOENT && !(conf && *conf)) {
        char stem[PATH_MAX], pub[AZO_SEC_KEYLEN + 1], why[PATH_MAX + 64];
        int rc = azo_fs_mkdirs(azo_config_str(cfg, "node/data_dir"), 0700, why,
                               sizeof why);
        if (rc < 0)
            return azo_err_set(err, errlen, rc, "node/data_dir: %s", why);
        snprintf(stem, sizeof stem, "%.*s", (int)(strlen(secret) - 7), secret);
        rc = azo_sec_keygen(stem, pub, err, errlen);
        if (rc < 0)
            return rc;
        zsys_info("CURVE: made the node's certificate %s (public key %s)", stem,
                  pub);
    }
    char why[PATH_MAX + 256];
    int rc = s_load_secret(secret, &self->cert, why, sizeof why);
    if (rc < 0)
        return azo_err_set(err, errlen, rc, "security/server_cert: %s", why);
    return 0;
}

// One accept filter entry. libzmq refuses an IPv6 one on an IPv4 socket,
// which could never match anyway: skipped (czmq's setter would abort).
static int
s_accept(const char *addr, void *arg)
{
    (void)zmq_setsockopt(zsock_resolve(arg), ZMQ_TCP_ACCEPT_FILTER, addr,
                         strlen(addr));
    return 0;
}

static int
s_deny(const char *addr, void *arg)
{
    zstr_sendx(arg, "DENY", addr, NULL);
    return zsock_wait(arg) < 0 ? -1 : 0;
}

int
azo_sec_open(azo_sec_t **out, const azo_config_t *cfg, char *err, size_t errlen)
{
    *out = NULL;
    if (!azo_sec_enabled(cfg))
        return 0;
    int rc = azo_sec_check(cfg, err, errlen);
    if (rc < 0)
        return rc;
    azo_sec_t *self = calloc(1, sizeof *self);
    if (!self)
        return -ENOMEM;
    self->ino = self->watch = self->retry_timer = -1;
    const char *data = azo_config_str(cfg, "node/data_dir");
    const char *clients = azo_config_str(cfg, "security/clients");
    if (clients && *clients)
        snprintf(self->clients, sizeof self->clients, "%s", clients);
    else
        snprintf(self->clients, sizeof self->clients, "%s/clients", data);
    snprintf(self->base, sizeof self->base, "%s/curve", data);
    char why[PATH_MAX + 64];
    if ((rc = s_server_cert(self, cfg, err, errlen)) < 0)
        goto fail;
    if ((rc = azo_fs_mkdirs(self->base, 0700, why, sizeof why)) < 0 ||
        (rc = azo_fs_mkdirs(self->clients, 0700, why, sizeof why)) < 0) {
        rc = azo_err_set(err, errlen, rc, "security: %s", why);
        goto fail;
    }
    s_remove_stale(self->base);
    self->auth = zactor_new(zauth, NULL);
    self->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (!self->auth || self->ino < 0) {
        rc = azo_err_set(err, errlen, -ENOMEM, "security: cannot start zauth");
        goto fail;
    }
    if (!s_watch(self)) {
        rc = azo_err_set(err, errlen, -errno, "security/clients: %s: %s",
                         self->clients, strerror(errno));
        goto fail;
    }
    // The allow list filters tcp connections as they are accepted
    // (azo_sec_server); zauth's own list would refuse every ipc peer.
    const char *allow = azo_config_str(cfg, "security/allow");
    snprintf(self->allow, sizeof self->allow, "%s", allow ? allow : "");
    if (s_each_address(azo_config_str(cfg, "security/deny"), s_deny,
                       self->auth) < 0)
        rc = -EIO;
    if (rc < 0 || (rc = s_sync(self)) < 0) {
        azo_err_set(err, errlen, rc, "security: cannot set up zauth");
        goto fail;
    }
    *out = self;
    return 0;
fail:
    azo_sec_destroy(&self);
    return rc;
}

void
azo_sec_destroy(azo_sec_t **self_p)
{
    azo_sec_t *self = *self_p;
    if (!self)
        return;
    if (self->loop && self->ino >= 0) {
        zmq_pollitem_t item = {NULL, self->ino, ZMQ_POLLIN, 0};
        zloop_poller_end(self->loop, &item);
    }
    if (self->loop && self->retry_timer >= 0)
        zloop_timer_end(self->loop, self->retry_timer);
    zactor_destroy(&self->auth);
    if (self->current[0])
        s_remove_copy(self->current);
    if (self->ino >= 0)
        close(self->ino);
    zcert_destroy(&self->cert);
    free(self);
    *self_p = NULL;
}

void
azo_sec_server(azo_sec_t *self, zsock_t *sock, const char *endpoint)
{
    zsock_set_zap_domain(sock, AZO_SEC_ZAP_DOMAIN);
    zcert_apply(self->cert, sock);
    zsock_set_curve_server(sock, 1);
    if (self->allow[0] && strncmp(endpoint, "tcp://", 6) == 0) {
        if (strncmp(endpoint, "tcp://[", 7) == 0)
            zsock_set_ipv6(sock, 1); // before the filters: v6 entries too
        // Loopback stays allowed: process actors connect from there.
        (void)s_each_address(self->allow, s_accept, sock);
        (void)s_accept("127.0.0.1", sock);
        (void)s_accept("::1", sock);
    }
}

int
azo_sec_attach(azo_sec_t *self, zloop_t *loop)
{
    self->loop = loop;
    zmq_pollitem_t item = {NULL, self->ino, ZMQ_POLLIN, 0};
    // Changes since open wait in the inotify queue: they count too.
    return zloop_poller(loop, &item, s_on_inotify, self) < 0 ? AZO_EINTERNAL
                                                             : 0;
}

const char *
azo_sec_public(azo_sec_t *self)
{
    return zcert_public_txt(self->cert);
}

size_t
azo_sec_allowed(const azo_sec_t *self)
{
    return self->allowed;
}

// --- client side -------------------------------------------------------------

static void
s_client_fill(azo_sec_client_t *out, zcert_t *cert, const char *server)
{
    snprintf(out->pub, sizeof out->pub, "%s", zcert_public_txt(cert));
    snprintf(out->sec, sizeof out->sec, "%s", zcert_secret_txt(cert));
    snprintf(out->server, sizeof out->server, "%s", server);
}

int
azo_sec_client_load(azo_sec_client_t *out, const char *cert, const char *server,
                    char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    char secret[PATH_MAX];
    s_secret_path(cert, secret, sizeof secret);
    zcert_t *mine = NULL;
    int rc = s_load_secret(secret, &mine, err, errlen);
    if (rc < 0)
        return rc;
    char key[AZO_SEC_KEYLEN + 1] = "";
    if (s_key_ok(server))
        snprintf(key, sizeof key, "%s", server);
    else {
        struct stat st;
        zcert_t *theirs = stat(server, &st) == 0 && S_ISREG(st.st_mode) &&
                                  st.st_size <= S_MAX_CERT_FILE
                              ? zcert_load(server)
                              : NULL;
        if (theirs && s_key_ok(zcert_public_txt(theirs)))
            snprintf(key, sizeof key, "%s", zcert_public_txt(theirs));
        zcert_destroy(&theirs);
    }
    if (!key[0]) {
        zcert_destroy(&mine);
        return azo_err_set(
            err, errlen, AZO_EBADREQ,
            "server key '%s': expected a 40-character Z85 key or "
            "a certificate file holding one",
            server);
    }
    s_client_fill(out, mine, key);
    zcert_destroy(&mine);
    return 0;
}

int
azo_sec_client_node(azo_sec_client_t *out, const azo_config_t *cfg, char *err,
                    size_t errlen)
{
    memset(out, 0, sizeof *out);
    char secret[PATH_MAX];
    azo_sec_server_cert_path(cfg, secret, sizeof secret);
    zcert_t *cert = NULL;
    int rc = s_load_secret(secret, &cert, err, errlen);
    if (rc < 0)
        return rc;
    s_client_fill(out, cert, zcert_public_txt(cert));
    zcert_destroy(&cert);
    return 0;
}

void
azo_sec_client_apply(const azo_sec_client_t *c, zsock_t *sock)
{
    zsock_set_curve_publickey(sock, c->pub);
    zsock_set_curve_secretkey(sock, c->sec);
    zsock_set_curve_serverkey(sock, c->server);
}

int
azo_sec_keygen(const char *path, char *pub, char *err, size_t errlen)
{
    char secret[PATH_MAX];
    if (!path || !*path || s_ends_with(path, "_secret") ||
        strlen(path) + 8 > sizeof secret)
        return azo_err_set(
            err, errlen, AZO_EBADREQ,
            "expected a certificate name such as keys/alice (the "
            "files NAME and NAME_secret are written)");
    snprintf(secret, sizeof secret, "%s_secret", path);
    if (access(path, F_OK) == 0 || access(secret, F_OK) == 0)
        return azo_err_set(err, errlen, -EEXIST,
                           "%s or %s exists already; not overwritten", path,
                           secret);
    zcert_t *cert = zcert_new();
    if (!cert)
        return azo_err_set(err, errlen, -ENOMEM, "cannot make a key pair");
    const char *base = strrchr(path, '/');
    zcert_set_meta(cert, "name", "%s", base ? base + 1 : path);
    zcert_set_meta(cert, "created-by", "azo %s", AZO_VERSION);
    // The secret file is born 0600: nobody else ever sees it readable.
    mode_t old = umask(077);
    int rc = zcert_save_secret(cert, secret);
    umask(old);
    if (rc == 0)
        rc = zcert_save_public(cert, path);
    if (rc == 0)
        snprintf(pub, AZO_SEC_KEYLEN + 1, "%s", zcert_public_txt(cert));
    else {
        rc = azo_err_set(err, errlen, errno ? -errno : -EIO,
                         "cannot write %s or %s: %s", path, secret,
                         strerror(errno ? errno : EIO));
        (void)unlink(secret);
    }
    zcert_destroy(&cert);
    return rc;
}
