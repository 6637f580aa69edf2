// azo_bench_gwload — the plain load generator of issue #7's benchmark: the
// rate the local test gateway (tests/gateway/pay_gateway.py) sustains on its
// own, printed beside the payment-recovery actor's rate against the same
// gateway. No azo code: libcurl multi only. Not a test: it measures.
//
//   azo_bench_gwload URL N CONC [API_KEY]
//
// POSTs N charges to URL/v1/charges, each with its own Idempotency-Key
// (unique to this run, so that a gateway not reset between runs executes
// every one rather than replaying), pm_card_visa, 1000 usd, customer cus_<i>
// and metadata[payment_id]=load-<i>, keeping CONC requests in flight over as
// many keep-alive connections. Prints one line and exits 0 when every
// request got HTTP 200, 1 when not, 2 on bad usage or setup failure.
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    CURL *easy;                 // owned
    struct curl_slist *headers; // owned; this request's headers
    char body[256];             // the form body libcurl points at
} s_slot_t;

static int64_t
s_now_ns(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts); // cannot fail for MONOTONIC
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

// Parses a positive count; returns it, or -1 when s is not one.
static long
s_count(const char *s)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    return errno || end == s || *end || v <= 0 || v > 100000000 ? -1 : v;
}

// The response body is not looked at: the status says enough.
static size_t
s_discard(char *ptr, size_t size, size_t n, void *arg)
{
    (void)ptr;
    (void)arg;
    return size * n;
}

// Sets slot up for request i and adds it to multi. Returns 0 or -1.
static int
s_start(CURLM *multi, s_slot_t *slot, const char *url, const char *auth,
        const char *nonce, long i)
{
    char key[96];
    (void)snprintf(key, sizeof key, "Idempotency-Key: gwload-%s-%ld", nonce, i);
    (void)snprintf(slot->body, sizeof slot->body,
                   "amount=1000&currency=usd&customer=cus_%ld"
                   "&payment_method=pm_card_visa"
                   "&metadata%%5Bpayment_id%%5D=load-%ld",
                   i, i);
    curl_slist_free_all(slot->headers);
    slot->headers = NULL;
    // "Expect:" stops libcurl from waiting for a 100 Continue.
    const char *lines[] = {key, "Expect:", auth};
    for (size_t k = 0; k < sizeof lines / sizeof *lines; k++) {
        if (!lines[k])
            continue;
        struct curl_slist *h = curl_slist_append(slot->headers, lines[k]);
        if (!h)
            return -1;
        slot->headers = h;
    }
    CURL *e = slot->easy;
    if (curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, slot->body) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, slot->headers) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, s_discard) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 30000L) != CURLE_OK ||
        curl_easy_setopt(e, CURLOPT_PRIVATE, slot) != CURLE_OK)
        return -1;
    return curl_multi_add_handle(multi, e) == CURLM_OK ? 0 : -1;
}

int
main(int argc, char **argv)
{
    long n = argc >= 4 ? s_count(argv[2]) : -1;
    long conc = argc >= 4 ? s_count(argv[3]) : -1;
    if (argc > 5 || n < 0 || conc < 0) {
        fprintf(stderr, "usage: %s URL N CONC [API_KEY]\n", argv[0]);
        return 2;
    }
    if (conc > n)
        conc = n;
    char url[1024], auth[512], nonce[48];
    if (snprintf(url, sizeof url, "%s/v1/charges", argv[1]) >=
            (int)sizeof url ||
        (argc == 5 && snprintf(auth, sizeof auth, "Authorization: Bearer %s",
                               argv[4]) >= (int)sizeof auth)) {
        fprintf(stderr, "%s: URL or API_KEY too long\n", argv[0]);
        return 2;
    }
    (void)snprintf(nonce, sizeof nonce, "%ld-%" PRId64, (long)getpid(),
                   s_now_ns());
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "%s: curl_global_init failed\n", argv[0]);
        return 2;
    }
    int rc = 2;
    long started = 0, done = 0, ok = 0;
    CURLM *multi = curl_multi_init();
    s_slot_t *slots = calloc((size_t)conc, sizeof *slots);
    if (!multi || !slots ||
        curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, conc) !=
            CURLM_OK ||
        curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, conc) != CURLM_OK)
        goto fail;
    int64_t t0 = s_now_ns();
    for (long k = 0; k < conc; k++) {
        slots[k].easy = curl_easy_init();
        if (!slots[k].easy ||
            s_start(multi, &slots[k], url, argc == 5 ? auth : NULL, nonce,
                    started++) < 0)
            goto fail;
    }
    while (done < n) {
        int running;
        if (curl_multi_perform(multi, &running) != CURLM_OK)
            goto fail;
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(multi, &left))) {
            if (m->msg != CURLMSG_DONE)
                continue;
            s_slot_t *slot;
            long status = 0;
            (void)curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &slot);
            if (m->data.result == CURLE_OK)
                (void)curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE,
                                        &status);
            ok += status == 200;
            done++;
            if (curl_multi_remove_handle(multi, slot->easy) != CURLM_OK)
                goto fail;
            if (started < n &&
                s_start(multi, slot, url, argc == 5 ? auth : NULL, nonce,
                        started++) < 0)
                goto fail;
        }
        // Completions first, then wait: a handle just re-added makes the
        // poll return at once (libcurl gives it a zero timeout).
        if (done < n && curl_multi_poll(multi, NULL, 0, 1000, NULL) != CURLM_OK)
            goto fail;
    }
    double s = (double)(s_now_ns() - t0) / 1e9;
    printf("gateway raw: %ld requests, %ld in flight, %.3f s, %.0f req/s "
           "(ok %ld, other %ld)\n",
           n, conc, s, (double)n / s, ok, n - ok);
    rc = ok == n ? 0 : 1;
fail:
    if (rc == 2)
        fprintf(stderr, "%s: libcurl setup failed after %ld of %ld\n", argv[0],
                done, n);
    for (long k = 0; slots && k < conc; k++) {
        if (slots[k].easy) {
            (void)curl_multi_remove_handle(multi, slots[k].easy); // if added
            curl_easy_cleanup(slots[k].easy);
        }
        curl_slist_free_all(slots[k].headers);
    }
    free(slots);
    (void)curl_multi_cleanup(multi);
    curl_global_cleanup();
    return rc;
}
