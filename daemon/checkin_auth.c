/*
 * Who may post interactions: an HMAC-SHA256 signature over "<timestamp>.<raw body>" with a
 * secret from a file or credential, or a bearer token. Both comparisons take the same time
 * whatever the input: signatures are compared as digests with CRYPTO_memcmp, and a token is
 * hashed first so that its length does not show either. The timestamp bounds how long a
 * captured request stays usable; the caller keeps the signatures it took for that long, so
 * none is taken twice.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "checkin.h"
#include "secret.h"

int pb_checkin_keys_load(const struct pb_cfg_checkins *c, struct pb_checkin_keys *keys, char *err,
                         size_t errlen)
{
    char buf[sizeof keys->secret + 1];
    memset(keys, 0, sizeof *keys);
    if (c->secret_file || c->secret_credential) {
        if (pb_secret_read(c->secret_file, c->secret_credential, buf, sizeof buf, err, errlen) != 0)
            goto fail;
        keys->secret_len = strlen(buf);
        memcpy(keys->secret, buf, keys->secret_len);
    }
    if (c->token_file || c->token_credential) {
        if (pb_secret_read(c->token_file, c->token_credential, buf, sizeof buf, err, errlen) != 0)
            goto fail;
        keys->token_len = strlen(buf);
        memcpy(keys->token, buf, keys->token_len);
    }
    OPENSSL_cleanse(buf, sizeof buf);
    return 0;
fail:
    OPENSSL_cleanse(buf, sizeof buf);
    pb_checkin_keys_wipe(keys);
    return PB_ERR_INVALID;
}

void pb_checkin_keys_wipe(struct pb_checkin_keys *keys)
{
    OPENSSL_cleanse(keys, sizeof *keys);
}

static int mac(const unsigned char *secret, size_t secret_len, int64_t t, const char *body,
               size_t len, unsigned char out[32])
{
    char prefix[32];
    int n = snprintf(prefix, sizeof prefix, "%lld.", (long long)t);
    /* One buffer for the one-shot HMAC(): OpenSSL 3 deprecates the streaming HMAC_CTX. */
    unsigned char *msg = malloc((size_t)n + len + 1);
    unsigned int out_len = 0;
    if (!msg)
        return -1;
    memcpy(msg, prefix, (size_t)n);
    memcpy(msg + n, body, len);
    int ok = HMAC(EVP_sha256(), secret, (int)secret_len, msg, (size_t)n + len, out, &out_len) &&
             out_len == 32;
    free(msg);
    return ok ? 0 : -1;
}

int pb_checkin_sign(const unsigned char *secret, size_t secret_len, int64_t t, const char *body,
                    size_t len, char *out, size_t out_len)
{
    unsigned char m[32];
    if (mac(secret, secret_len, t, body, len, m) != 0)
        return PB_ERR;
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", m[i]);
    int n = snprintf(out, out_len, "t=%lld,v1=%s", (long long)t, hex);
    return n > 0 && (size_t)n < out_len ? PB_OK : PB_ERR_INVALID;
}

static int unhex(const char *s, size_t n, unsigned char *out)
{
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char c = (char)tolower((unsigned char)s[2 * i + k]);
            if (c >= '0' && c <= '9')
                v = v * 16 + (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f')
                v = v * 16 + (unsigned)(c - 'a' + 10);
            else
                return -1;
        }
        out[i] = (unsigned char)v;
    }
    return 0;
}

int pb_checkin_signature_check(const struct pb_checkin_keys *keys, const char *header,
                               const char *body, size_t len, int64_t now_ms, int64_t max_age_ms,
                               char *sig, size_t sig_len, int64_t *expires_ms, char *err,
                               size_t errlen)
{
    if (!keys->secret_len) {
        snprintf(err, errlen, "signatures are not configured here (checkins.secret_file)");
        return 401;
    }
    /* "t=<digits>,v1=<64 hex>[,v1=...]": several v1 let a sender roll its secret over. */
    long long t = -1;
    const char *cands[4];
    size_t n_cands = 0;
    for (const char *p = header; p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t part = strcspn(p, ",");
        if (part > 2 && strncmp(p, "t=", 2) == 0) {
            char *end;
            t = strtoll(p + 2, &end, 10);
            if (end != p + part || part > 14)
                t = -1;
        } else if (part == 3 + 64 && strncmp(p, "v1=", 3) == 0 && n_cands < 4) {
            cands[n_cands++] = p + 3;
        }
        p += part;
    }
    if (t < 0 || n_cands == 0) {
        snprintf(err, errlen, "malformed X-Pulsebot-Signature: expected t=<unix seconds>,v1=<hex>");
        return 401;
    }
    int64_t age = now_ms - (int64_t)t * 1000;
    if (age > max_age_ms || -age > max_age_ms) {
        snprintf(err, errlen, "the signature's timestamp is %s by more than %lld s; sign again",
                 age > 0 ? "old" : "ahead of this server's clock", (long long)(max_age_ms / 1000));
        return 401;
    }
    unsigned char want[32], got[32];
    if (mac(keys->secret, keys->secret_len, t, body, len, want) != 0) {
        snprintf(err, errlen, "could not compute the signature");
        return 401;
    }
    int match = -1;
    for (size_t i = 0; i < n_cands; i++)
        if (unhex(cands[i], 64, got) == 0 && CRYPTO_memcmp(got, want, 32) == 0)
            match = (int)i;
    OPENSSL_cleanse(want, sizeof want);
    if (match < 0) {
        snprintf(err, errlen, "the signature does not match the body");
        return 401;
    }
    snprintf(sig, sig_len, "%.64s", cands[match]);
    for (char *p = sig; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    *expires_ms = (int64_t)t * 1000 + max_age_ms;
    return 0;
}

int pb_checkin_bearer_check(const struct pb_checkin_keys *keys, const char *header, char *err,
                            size_t errlen)
{
    if (!keys->token_len) {
        snprintf(err, errlen, "bearer tokens are not configured here (checkins.token_file)");
        return 401;
    }
    if (!header || strncasecmp(header, "Bearer ", 7) != 0) {
        snprintf(err, errlen, "expected Authorization: Bearer <token>");
        return 401;
    }
    const char *tok = header + 7;
    while (*tok == ' ')
        tok++;
    unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)tok, strlen(tok), a);
    SHA256(keys->token, keys->token_len, b);
    int same = CRYPTO_memcmp(a, b, sizeof a) == 0;
    if (!same) {
        snprintf(err, errlen, "the bearer token is wrong");
        return 401;
    }
    return 0;
}
