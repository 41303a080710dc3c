/*
 * Conversations, kept durably in the host's key/value store. One key per message:
 *
 *   m/<conversation>/<20-digit send id>               a message the core sent
 *   m/<conversation>/<20-digit id>.<10-digit seq>     what a person wrote, after message <id>
 *
 * Keys sort in the order the page shows them, so a conversation is a prefix scan. The send id
 * is the outbox row, so a send repeated after a crash finds its key and is not stored twice.
 * A person's own text takes the id of the last message before it plus a sequence number: it
 * sorts after the question it answers and before whatever the core sends next.
 *
 * Each conversation keeps the newest `history` messages. A send older than all of those is
 * not stored at all: it would be trimmed at once, and it is most likely a repeat of one that
 * was kept long ago and trimmed since.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "webchat.h"

#define ID_DIGITS  20
#define SEQ_DIGITS 10

struct keylist {
    size_t prefix_len;
    int want_values;
    int failed; /* out of memory while visiting */
    struct entry {
        char *suffix;
        char *value;
    } * v;
    size_t n, cap;
};

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* The part of a key after the conversation: a send id, or a send id and a sequence number.
 * Anything else under the prefix belongs to a longer conversation id ("dm:a/b" under "dm:a/")
 * or is not ours. */
static int suffix_valid(const char *s)
{
    size_t len = strlen(s);

    if (len == ID_DIGITS)
        return all_digits(s, ID_DIGITS);
    return len == ID_DIGITS + 1 + SEQ_DIGITS && all_digits(s, ID_DIGITS) && s[ID_DIGITS] == '.' &&
           all_digits(s + ID_DIGITS + 1, SEQ_DIGITS);
}

int webchat_conv_for_target(enum pb_target_kind kind, const char *target, char *conv, size_t len)
{
    int n;

    if (!webchat_id_valid(target))
        return PB_ERR_INVALID;
    if (kind == PB_TARGET_PERSON)
        n = snprintf(conv, len, "dm:%s", target);
    else if (kind == PB_TARGET_CHANNEL)
        n = snprintf(conv, len, "room:%s", target);
    else
        return PB_ERR_INVALID;
    return n > 0 && (size_t)n < len ? 0 : PB_ERR_INVALID;
}

/* A message ref of a core message is "<conversation>/<20-digit id>". */
int webchat_ref_split(const char *ref, char *conv, size_t conv_len)
{
    const char *slash = ref ? strrchr(ref, '/') : NULL;
    size_t n;

    if (!slash || strlen(slash + 1) != ID_DIGITS || !all_digits(slash + 1, ID_DIGITS))
        return PB_ERR_INVALID;
    n = (size_t)(slash - ref);
    if (n >= conv_len)
        return PB_ERR_INVALID;
    memcpy(conv, ref, n);
    conv[n] = '\0';
    if (strncmp(conv, "dm:", 3) == 0)
        return webchat_id_valid(conv + 3) ? 0 : PB_ERR_INVALID;
    if (strncmp(conv, "room:", 5) == 0)
        return webchat_id_valid(conv + 5) ? 0 : PB_ERR_INVALID;
    return PB_ERR_INVALID;
}

static void keylist_free(struct keylist *kl)
{
    for (size_t i = 0; i < kl->n; i++) {
        free(kl->v[i].suffix);
        free(kl->v[i].value);
    }
    free(kl->v);
    memset(kl, 0, sizeof(*kl));
}

static int collect(void *arg, const char *key, const char *value)
{
    struct keylist *kl = arg;
    const char *suffix;

    if (kl->failed || strlen(key) <= kl->prefix_len)
        return 0;
    suffix = key + kl->prefix_len;
    if (!suffix_valid(suffix))
        return 0;
    if (kl->n == kl->cap) {
        size_t cap = kl->cap ? kl->cap * 2 : 32;
        struct entry *v = realloc(kl->v, cap * sizeof(*v));
        if (!v) {
            kl->failed = 1;
            return 0;
        }
        kl->v = v;
        kl->cap = cap;
    }
    kl->v[kl->n].suffix = strdup(suffix);
    kl->v[kl->n].value = kl->want_values && value ? strdup(value) : NULL;
    if (!kl->v[kl->n].suffix || (kl->want_values && value && !kl->v[kl->n].value)) {
        free(kl->v[kl->n].suffix);
        free(kl->v[kl->n].value);
        kl->failed = 1;
        return 0;
    }
    kl->n++;
    return 0;
}

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const struct entry *)a)->suffix, ((const struct entry *)b)->suffix);
}

/* The conversation's keys in order. The host promises key order; sorting again costs little
 * and keeps this correct with any store. */
static int scan(struct webchat *wc, const char *conv, int want_values, struct keylist *kl)
{
    char prefix[WC_MAX_KEY];
    int rc;

    memset(kl, 0, sizeof(*kl));
    kl->want_values = want_values;
    kl->prefix_len = (size_t)snprintf(prefix, sizeof(prefix), "m/%s/", conv);
    if (kl->prefix_len >= sizeof(prefix))
        return PB_ERR_INVALID;
    rc = wc->host->kv_scan(wc->ctx, prefix, collect, kl);
    if (rc == 0 && kl->failed)
        rc = PB_ERR_NOMEM;
    if (rc) {
        keylist_free(kl);
        return rc == PB_ERR_NOMEM ? rc : PB_ERR_STORE;
    }
    if (kl->n > 1)
        qsort(kl->v, kl->n, sizeof(*kl->v), entry_cmp);
    return 0;
}

static void delete_key(struct webchat *wc, const char *conv, const char *suffix)
{
    char key[WC_MAX_KEY];

    snprintf(key, sizeof(key), "m/%s/%s", conv, suffix);
    /* A failed delete leaves one message too many; the next add tries again. */
    if (wc->host->kv_delete(wc->ctx, key) != PB_OK)
        wc_log(wc, PB_LOG_WARNING, "could not trim %s", key);
}

/* Stores `value` under `suffix` in a conversation whose current keys are `kl`, then trims it
 * to `history` messages. The put comes first: a trim that fails costs space, never a message. */
static int add_sorted(struct webchat *wc, const char *conv, const struct keylist *kl,
                      const char *suffix, const char *value, int *trimmed)
{
    char key[WC_MAX_KEY];
    size_t rank = 0, excess, drop;

    while (rank < kl->n && strcmp(kl->v[rank].suffix, suffix) < 0)
        rank++;
    excess = kl->n + 1 > wc->history ? kl->n + 1 - wc->history : 0;
    *trimmed = rank < excess;
    if (*trimmed) {
        drop = kl->n > wc->history ? kl->n - wc->history : 0;
    } else {
        snprintf(key, sizeof(key), "m/%s/%s", conv, suffix);
        if (wc->host->kv_put(wc->ctx, key, value) != PB_OK)
            return PB_ERR_STORE;
        drop = excess;
    }
    for (size_t i = 0; i < drop; i++)
        delete_key(wc, conv, kl->v[i].suffix);
    return 0;
}

int webchat_history_add(struct webchat *wc, const char *conv, uint64_t id, const char *value,
                        int *duplicate, int *trimmed)
{
    char suffix[ID_DIGITS + 1];
    struct keylist kl;
    int rc;

    *duplicate = 0;
    *trimmed = 0;
    snprintf(suffix, sizeof(suffix), "%020" PRIu64, id);
    rc = scan(wc, conv, 0, &kl);
    if (rc)
        return rc;
    for (size_t i = 0; i < kl.n; i++) {
        if (strcmp(kl.v[i].suffix, suffix) == 0) {
            *duplicate = 1;
            goto out;
        }
    }
    rc = add_sorted(wc, conv, &kl, suffix, value, trimmed);
out:
    keylist_free(&kl);
    return rc;
}

/* Stores what a person wrote; on success `*json` is the message to push (free it). */
int webchat_history_add_user(struct webchat *wc, const char *conv, const char *user,
                             const char *text, int64_t at, char **json)
{
    char suffix[ID_DIGITS + 1 + SEQ_DIGITS + 1];
    char ref[WC_MAX_KEY];
    unsigned long long seq = 1;
    struct keylist kl;
    cJSON *msg = NULL;
    int rc, trimmed;

    *json = NULL;
    rc = scan(wc, conv, 0, &kl);
    if (rc)
        return rc;
    memset(suffix, '0', ID_DIGITS);
    if (kl.n > 0) {
        const char *last = kl.v[kl.n - 1].suffix;
        memcpy(suffix, last, ID_DIGITS);
        if (last[ID_DIGITS] == '.')
            seq = strtoull(last + ID_DIGITS + 1, NULL, 10) + 1;
    }
    snprintf(suffix + ID_DIGITS, sizeof(suffix) - ID_DIGITS, ".%010llu", seq % 10000000000ULL);
    snprintf(ref, sizeof(ref), "%s/%s", conv, suffix);
    rc = PB_ERR_NOMEM;
    msg = webchat_render_user_text(conv, ref, user, text, at);
    if (!msg || !(*json = cJSON_PrintUnformatted(msg)))
        goto out;
    rc = add_sorted(wc, conv, &kl, suffix, *json, &trimmed);
out:
    if (rc) {
        free(*json);
        *json = NULL;
    }
    cJSON_Delete(msg);
    keylist_free(&kl);
    return rc;
}

int webchat_history_get(struct webchat *wc, const char *ref, cJSON **out)
{
    char key[WC_MAX_KEY];
    char *value = NULL;
    int rc, n;

    *out = NULL;
    n = snprintf(key, sizeof(key), "m/%s", ref);
    if (n < 0 || (size_t)n >= sizeof(key))
        return PB_ERR_UNKNOWN;
    rc = wc->host->kv_get(wc->ctx, key, &value);
    if (rc == PB_ERR_UNKNOWN || (rc == PB_OK && !value))
        return PB_ERR_UNKNOWN;
    if (rc != PB_OK)
        return PB_ERR_STORE;
    *out = cJSON_Parse(value);
    free(value);
    if (!cJSON_IsObject(*out)) {
        cJSON_Delete(*out);
        *out = NULL;
        wc_log(wc, PB_LOG_WARNING, "stored message %s is not JSON; treating it as gone", key);
        return PB_ERR_UNKNOWN;
    }
    return 0;
}

int webchat_history_replace(struct webchat *wc, const char *ref, const char *value)
{
    char key[WC_MAX_KEY];
    int n = snprintf(key, sizeof(key), "m/%s", ref);

    if (n < 0 || (size_t)n >= sizeof(key))
        return PB_ERR_INVALID;
    return wc->host->kv_put(wc->ctx, key, value) == PB_OK ? 0 : PB_ERR_STORE;
}

/* Appends the conversation's newest `history` messages to `array`, oldest first. */
int webchat_history_load(struct webchat *wc, const char *conv, cJSON *array)
{
    struct keylist kl;
    size_t first;
    int rc = scan(wc, conv, 1, &kl);

    if (rc)
        return rc;
    first = kl.n > wc->history ? kl.n - wc->history : 0;
    for (size_t i = first; i < kl.n; i++) {
        cJSON *m = kl.v[i].value ? cJSON_Parse(kl.v[i].value) : NULL;
        if (!cJSON_IsObject(m)) {
            cJSON_Delete(m);
            continue;
        }
        cJSON_AddItemToArray(array, m);
    }
    keylist_free(&kl);
    return 0;
}
