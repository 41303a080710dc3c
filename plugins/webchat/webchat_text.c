/*
 * Untrusted text made safe to keep and to send: every string the connector puts on the wire
 * is valid UTF-8 (a browser drops a websocket whose text frame is not) and bounded in bytes,
 * cut at a character boundary. Escaping for the page is cJSON's job and the page's (it sets
 * textContent only); this file only guarantees the bytes are well formed.
 */
#include <stdlib.h>
#include <string.h>

#include "webchat.h"

/* The length of the well-formed UTF-8 sequence at p (RFC 3629: no overlongs, no surrogates,
 * nothing above U+10FFFF), or 0 if there is none. */
static size_t utf8_seq(const unsigned char *p, size_t avail)
{
    unsigned char c = p[0];
    unsigned char lo = 0x80, hi = 0xBF;
    size_t n;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4;
    else
        return 0;
    if (avail < n)
        return 0;
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return n;
}

int webchat_text_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    while (i < len) {
        size_t n = utf8_seq(p + i, len - i);
        if (n == 0 || p[i] == 0)
            return 0;
        i += n;
    }
    return 1;
}

/* A copy of `s` with each malformed byte replaced by U+FFFD, at most `max` bytes long. */
char *webchat_text_dup(const char *s, size_t max, int *truncated)
{
    static const char replacement[] = "\xEF\xBF\xBD";
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s), i = 0, o = 0;
    /* Each input byte grows to at most three output bytes. */
    size_t cap = (len < max ? len : max) * 3 + 1;
    char *out = malloc(cap);

    if (truncated)
        *truncated = 0;
    if (!out)
        return NULL;
    while (i < len) {
        size_t n = utf8_seq(p + i, len - i);
        const char *src = (const char *)p + i;
        size_t out_n = n;

        if (n == 0) {
            src = replacement;
            out_n = 3;
            n = 1;
        }
        if (o + out_n > max || o + out_n >= cap) {
            if (truncated)
                *truncated = 1;
            break;
        }
        memcpy(out + o, src, out_n);
        o += out_n;
        i += n;
    }
    out[o] = '\0';
    return out;
}

/* A user id or channel address we are willing to put in a key and a conversation id. */
int webchat_id_valid(const char *s)
{
    size_t len;

    if (!s)
        return 0;
    len = strlen(s);
    if (len == 0 || len > WC_MAX_ID || !webchat_text_valid(s, len))
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7F)
            return 0;
    }
    return 1;
}

int webchat_blank(const char *s)
{
    for (; *s; s++)
        if (!strchr(" \t\r\n\f\v", *s))
            return 0;
    return 1;
}
