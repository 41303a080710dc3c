/*
 * Signed tokens (see token.h). The payload is a kind byte followed by fixed fields for that
 * kind, big-endian, so that a token's meaning never depends on parsing text. The MAC is
 * compared in constant time.
 */
#include "token.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pulsebot/plugin.h"

#define MAC_LEN     16
#define PAYLOAD_MAX 200

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static size_t b64url_encode(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = b64url[(acc >> bits) & 63];
        }
    }
    if (bits > 0)
        out[o++] = b64url[(acc << (6 - bits)) & 63];
    out[o] = '\0';
    return o;
}

static int b64url_value(char c)
{
    const char *p = c ? strchr(b64url, c) : NULL;
    return p ? (int)(p - b64url) : -1;
}

/* Returns the decoded length, or -1 for a character outside the alphabet or too much input. */
static int b64url_decode(const char *in, size_t n, unsigned char *out, size_t outlen)
{
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64url_value(in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o == outlen)
                return -1;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    /* Only the canonical spelling is accepted: unused trailing bits must be zero, so no two
     * texts stand for the same token. */
    if (bits >= 6 || (acc & ((1u << bits) - 1)) != 0)
        return -1;
    return (int)o;
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Lays a token out as bytes; returns the length or -1 when it does not fit. */
static int encode_payload(const struct pb_token *t, unsigned char *p)
{
    p[0] = (unsigned char)t->kind;
    switch (t->kind) {
    case PB_TOKEN_CHOICE:
        put_u64(p + 1, t->id);
        p[9] = t->index;
        p[10] = (unsigned char)((uint16_t)t->value >> 8);
        p[11] = (unsigned char)((uint16_t)t->value & 0xff);
        return 12;
    case PB_TOKEN_ACTION:
        put_u64(p + 1, t->id);
        p[9] = t->index;
        return 10;
    case PB_TOKEN_LINK: {
        size_t c = strlen(t->connector), u = strlen(t->user);
        if (c > 60 || u > 120 || 1 + 4 + 1 + c + 1 + u > PAYLOAD_MAX)
            return -1;
        put_u32(p + 1, t->expires);
        p[5] = (unsigned char)c;
        memcpy(p + 6, t->connector, c);
        p[6 + c] = (unsigned char)u;
        memcpy(p + 7 + c, t->user, u);
        return (int)(7 + c + u);
    }
    }
    return -1;
}

static int decode_payload(const unsigned char *p, size_t n, struct pb_token *t)
{
    memset(t, 0, sizeof *t);
    t->kind = (enum pb_token_kind)p[0];
    switch (t->kind) {
    case PB_TOKEN_CHOICE:
        if (n != 12)
            return PB_ERR_INVALID;
        t->id = get_u64(p + 1);
        t->index = p[9];
        t->value = (int16_t)(uint16_t)((p[10] << 8) | p[11]);
        return PB_OK;
    case PB_TOKEN_ACTION:
        if (n != 10)
            return PB_ERR_INVALID;
        t->id = get_u64(p + 1);
        t->index = p[9];
        return PB_OK;
    case PB_TOKEN_LINK: {
        if (n < 7)
            return PB_ERR_INVALID;
        t->expires = get_u32(p + 1);
        size_t c = p[5];
        if (6 + c + 1 > n)
            return PB_ERR_INVALID;
        size_t u = p[6 + c];
        if (7 + c + u != n || c >= sizeof t->connector || u >= sizeof t->user)
            return PB_ERR_INVALID;
        memcpy(t->connector, p + 6, c);
        memcpy(t->user, p + 7 + c, u);
        return PB_OK;
    }
    }
    return PB_ERR_INVALID;
}

static void mac(const struct pb_token_key *key, const unsigned char *p, size_t n,
                unsigned char out[MAC_LEN])
{
    unsigned char full[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key->bytes, PB_TOKEN_KEY_LEN, p, n, full, &len);
    memcpy(out, full, MAC_LEN);
}

int pb_token_sign(const struct pb_token_key *key, const struct pb_token *t, char *out,
                  size_t outlen)
{
    unsigned char buf[PAYLOAD_MAX + MAC_LEN];
    int n = encode_payload(t, buf);
    if (n < 0 || outlen < ((size_t)n + MAC_LEN) * 4 / 3 + 4)
        return PB_ERR_INVALID;
    mac(key, buf, (size_t)n, buf + n);
    b64url_encode(buf, (size_t)n + MAC_LEN, out);
    return PB_OK;
}

int pb_token_verify(const struct pb_token_key *key, const char *text, struct pb_token *out)
{
    unsigned char buf[PAYLOAD_MAX + MAC_LEN];
    size_t len = text ? strlen(text) : 0;
    if (len == 0 || len > PB_TOKEN_MAX)
        return PB_ERR_INVALID;
    int n = b64url_decode(text, len, buf, sizeof buf);
    if (n <= MAC_LEN)
        return PB_ERR_INVALID;
    unsigned char expect[MAC_LEN];
    size_t payload = (size_t)n - MAC_LEN;
    mac(key, buf, payload, expect);
    if (CRYPTO_memcmp(expect, buf + payload, MAC_LEN) != 0)
        return PB_ERR_FORGED;
    return decode_payload(buf, payload, out);
}

static int read_key(int fd, struct pb_token_key *key)
{
    size_t got = 0;
    while (got < PB_TOKEN_KEY_LEN) {
        ssize_t r = read(fd, key->bytes + got, PB_TOKEN_KEY_LEN - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

/* Creates the key next to its final name and renames it into place, so that a crash can
 * never leave a short key behind that would silently invalidate every token. */
static int create_key(const char *path, struct pb_token_key *key, char *err, size_t errlen)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.new", path);
    if (getrandom(key->bytes, PB_TOKEN_KEY_LEN, 0) != PB_TOKEN_KEY_LEN) {
        snprintf(err, errlen, "cannot get random bytes for the signing key: %s", strerror(errno));
        return PB_ERR;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        return PB_ERR;
    }
    int ok = write(fd, key->bytes, PB_TOKEN_KEY_LEN) == PB_TOKEN_KEY_LEN && fsync(fd) == 0;
    close(fd);
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return PB_ERR;
    }
    return PB_OK;
}

int pb_token_key_load(const char *path, struct pb_token_key *key, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return create_key(path, key, err, errlen);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open the signing key %s: %s", path, strerror(errno));
        return PB_ERR;
    }
    struct stat st;
    int bad = fstat(fd, &st) != 0 || st.st_size != PB_TOKEN_KEY_LEN || read_key(fd, key) != 0;
    close(fd);
    if (bad) {
        snprintf(err, errlen,
                 "the signing key %s is not %d bytes; restore it from a backup, or delete it to "
                 "make a new one (every button and link already sent stops working)",
                 path, PB_TOKEN_KEY_LEN);
        return PB_ERR;
    }
    return PB_OK;
}
