/*
 * Webhook bodies to closed interactions. pulsebot's own format and a help desk's native body
 * go through the same code: the own format is a built-in source whose fields are the pointers
 * "/id", "/customer/id", ... A field is a JSON pointer (RFC 6901) or a literal. Every field is
 * checked for type and size here, so that what reaches the store fits its columns and every
 * refusal says which field is wrong and why.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checkin.h"
#include "clock.h"

const cJSON *pb_json_pointer(const cJSON *root, const char *pointer)
{
    if (!root || !pointer)
        return NULL;
    if (!*pointer)
        return root;
    if (*pointer != '/')
        return NULL;
    const cJSON *cur = root;
    const char *p = pointer;
    char token[256];
    while (*p == '/' && cur) {
        p++;
        size_t n = 0;
        /* Unescape ~1 to '/' and ~0 to '~', in that order of reading, as RFC 6901 says. */
        while (*p && *p != '/') {
            char c = *p++;
            if (c == '~') {
                if (*p != '0' && *p != '1')
                    return NULL;
                c = *p++ == '0' ? '~' : '/';
            }
            if (n + 1 >= sizeof token)
                return NULL;
            token[n++] = c;
        }
        token[n] = '\0';
        if (cJSON_IsObject(cur)) {
            cur = cJSON_GetObjectItemCaseSensitive(cur, token);
        } else if (cJSON_IsArray(cur)) {
            /* An index is digits without a leading zero; "-" (past the end) names nothing. */
            if (n == 0 || (n > 1 && token[0] == '0') || n > 9)
                return NULL;
            for (size_t i = 0; i < n; i++)
                if (!isdigit((unsigned char)token[i]))
                    return NULL;
            cur = cJSON_GetArrayItem(cur, atoi(token));
        } else {
            return NULL;
        }
    }
    return cur;
}

int pb_checkin_depth_ok(const char *body, size_t len, int max)
{
    int depth = 0, in_string = 0;
    for (size_t i = 0; i < len; i++) {
        char c = body[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = 0;
        } else if (c == '"') {
            in_string = 1;
        } else if (c == '{' || c == '[') {
            if (++depth > max)
                return 0;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return 1;
}

static int two(const char *s, int *out)
{
    if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]))
        return -1;
    *out = (s[0] - '0') * 10 + (s[1] - '0');
    return 0;
}

int64_t pb_checkin_time_parse(const char *text)
{
    if (!text || !*text)
        return -1;
    size_t n = strlen(text);
    if (strspn(text, "0123456789") == n) {
        if (n > 12)
            return -1;
        return (int64_t)strtoll(text, NULL, 10) * 1000;
    }
    /* YYYY-MM-DDTHH:MM:SS[.fff][Z|+HH:MM|-HH:MM] */
    int y0, y1, mo, d, h, mi, se;
    if (n < 20 || two(text, &y0) || two(text + 2, &y1) || text[4] != '-' || two(text + 5, &mo) ||
        text[7] != '-' || two(text + 8, &d) ||
        (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || two(text + 11, &h) ||
        text[13] != ':' || two(text + 14, &mi) || text[16] != ':' || two(text + 17, &se))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return -1;
    const char *p = text + 19;
    int64_t ms = 0;
    if (*p == '.') {
        int digits = 0;
        for (p++; isdigit((unsigned char)*p); p++, digits++)
            if (digits < 3)
                ms = ms * 10 + (*p - '0');
        if (digits == 0)
            return -1;
        for (; digits < 3; digits++)
            ms *= 10;
    }
    int64_t offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (two(p + 1, &oh) || p[3] != ':' || two(p + 4, &om) || oh > 23 || om > 59)
            return -1;
        offset = (*p == '-' ? -1 : 1) * ((int64_t)oh * 3600 + om * 60);
        p += 6;
    } else {
        return -1;
    }
    if (*p)
        return -1;
    struct tm tm = {.tm_year = y0 * 100 + y1 - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = se};
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    return ((int64_t)t - offset) * 1000 + ms;
}

/* The built-in source: pulsebot's own body (docs/checkins.md). */
static const struct pb_cfg_checkin_fields own_fields = {
    .id = "/id",
    .customer_id = "/customer/id",
    .customer_name = "/customer/name",
    .customer_email = "/customer/email",
    .customer_locale = "/customer/locale",
    .customer_timezone = "/customer/timezone",
    .connector = "/customer/reach/connector",
    .user = "/customer/reach/user",
    .team = "/team",
    .agent = "/agent",
    .channel = "/channel",
    .touchpoint = "/touchpoint",
    .closed_at = "/closed_at",
};

struct ctx {
    const cJSON *root;
    char *err;
    size_t errlen;
};

static const char *type_name(const cJSON *v)
{
    return cJSON_IsObject(v)   ? "an object"
           : cJSON_IsArray(v)  ? "an array"
           : cJSON_IsBool(v)   ? "a boolean"
           : cJSON_IsNull(v)   ? "null"
           : cJSON_IsNumber(v) ? "a number"
                               : "a string";
}

/* Scalars as text: numbers without a fraction as integers (help desks' ids are numbers). */
static int scalar_text(const cJSON *v, char *buf, size_t len)
{
    if (cJSON_IsString(v)) {
        if (strlen(v->valuestring) >= len)
            return -2;
        snprintf(buf, len, "%s", v->valuestring);
        return 0;
    }
    if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d == (double)(long long)d && d > -1e15 && d < 1e15)
            snprintf(buf, len, "%lld", (long long)d);
        else
            snprintf(buf, len, "%.17g", d);
        return 0;
    }
    if (cJSON_IsBool(v)) {
        snprintf(buf, len, "%s", cJSON_IsTrue(v) ? "true" : "false");
        return 0;
    }
    return -1;
}

/* Reads field `name` (a pointer or a literal) into buf. 0: set or absent (buf ""), else 422. */
static int field(struct ctx *c, const char *name, const char *spec, char *buf, size_t len,
                 int required)
{
    buf[0] = '\0';
    if (!spec) {
        if (required) {
            snprintf(c->err, c->errlen, "%s: missing", name);
            return 422;
        }
        return 0;
    }
    if (spec[0] != '/') {
        snprintf(buf, len, "%s", spec);
        return 0;
    }
    const cJSON *v = pb_json_pointer(c->root, spec);
    if (!v || cJSON_IsNull(v)) {
        if (!required)
            return 0;
        snprintf(c->err, c->errlen, "%s: missing (expected at %s)", name, spec);
        return 422;
    }
    int rc = scalar_text(v, buf, len);
    if (rc == -1) {
        snprintf(c->err, c->errlen, "%s (%s): expected a string or a number, got %s", name, spec,
                 type_name(v));
        return 422;
    }
    if (rc == -2) {
        snprintf(c->err, c->errlen, "%s (%s): at most %zu bytes", name, spec, len - 1);
        return 422;
    }
    if (required && !buf[0]) {
        snprintf(c->err, c->errlen, "%s (%s): must not be empty", name, spec);
        return 422;
    }
    return 0;
}

/* A tag's value: a scalar, or an array of scalars joined by commas (Zendesk's tag list). */
static int tag_value(const cJSON *v, char *buf, size_t len)
{
    if (!cJSON_IsArray(v))
        return scalar_text(v, buf, len);
    size_t used = 0;
    const cJSON *item;
    buf[0] = '\0';
    cJSON_ArrayForEach(item, v)
    {
        char one[256];
        int rc = scalar_text(item, one, sizeof one);
        if (rc)
            return rc;
        int w = snprintf(buf + used, len - used, "%s%s", used ? "," : "", one);
        if (w < 0 || (size_t)w >= len - used)
            return -2;
        used += (size_t)w;
    }
    return 0;
}

static int add_tag(struct ctx *c, cJSON *tags, const char *name, const cJSON *v, const char *where)
{
    char value[512];
    int rc = tag_value(v, value, sizeof value);
    if (rc == -1) {
        snprintf(c->err, c->errlen, "tags.%s (%s): expected a string, number or boolean, got %s",
                 name, where, type_name(v));
        return 422;
    }
    if (rc == -2 || strlen(name) > 64) {
        snprintf(c->err, c->errlen, "tags.%s (%s): too long", name, where);
        return 422;
    }
    cJSON_AddStringToObject(tags, name, value);
    return 0;
}

static int read_tags(struct ctx *c, const struct pb_cfg_checkin_source *src, char *out, size_t len)
{
    cJSON *tags = cJSON_CreateObject();
    int rc = 0;
    if (!tags)
        return 500;
    if (!src) {
        const cJSON *t = pb_json_pointer(c->root, "/tags"), *item;
        if (t && !cJSON_IsNull(t) && !cJSON_IsObject(t)) {
            snprintf(c->err, c->errlen, "tags (/tags): expected an object, got %s", type_name(t));
            rc = 422;
        }
        if (cJSON_IsObject(t))
            cJSON_ArrayForEach(item, t) if (!rc && !cJSON_IsNull(item)) rc =
                add_tag(c, tags, item->string, item, "/tags");
    } else {
        for (size_t i = 0; !rc && i < src->fields.n_tags; i++) {
            const char *name = src->fields.tags[i].connector, *spec = src->fields.tags[i].user;
            if (spec[0] != '/') {
                cJSON_AddStringToObject(tags, name, spec);
                continue;
            }
            const cJSON *v = pb_json_pointer(c->root, spec);
            if (v && !cJSON_IsNull(v))
                rc = add_tag(c, tags, name, v, spec);
        }
    }
    char *text = rc ? NULL : cJSON_PrintUnformatted(tags);
    if (!rc && (!text || strlen(text) >= len)) {
        snprintf(c->err, c->errlen, "tags: at most %zu bytes in all", len - 1);
        rc = 422;
    }
    if (!rc)
        snprintf(out, len, "%s", text);
    free(text);
    cJSON_Delete(tags);
    return rc;
}

/* Ids become part of the customer key and of log lines: printable ASCII, no spaces. */
static int id_ok(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
            return 0;
    return 1;
}

int pb_checkin_parse(const struct pb_config *cfg, const struct pb_cfg_checkin_source *src,
                     const char *body, size_t len, struct pb_interaction *in, char *err,
                     size_t errlen)
{
    memset(in, 0, sizeof *in);
    if (!pb_checkin_depth_ok(body, len, cfg->checkins.max_depth)) {
        snprintf(err, errlen, "the body nests deeper than %d levels", cfg->checkins.max_depth);
        return 400;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    if (!root) {
        size_t at = end && end >= body ? (size_t)(end - body) : 0;
        snprintf(err, errlen, "the body is not valid JSON (near byte %zu)", at);
        return 400;
    }
    struct ctx c = {root, err, errlen};
    const struct pb_cfg_checkin_fields *f = src ? &src->fields : &own_fields;
    char customer_id[128], closed[64];
    int rc = 0;
    if (!cJSON_IsObject(root)) {
        snprintf(err, errlen, "the body must be a JSON object, got %s", type_name(root));
        rc = 400;
        goto out;
    }
    if (!src) {
        const cJSON *cu = cJSON_GetObjectItemCaseSensitive(root, "customer");
        const cJSON *reach = cJSON_GetObjectItemCaseSensitive(cu, "reach");
        if (cu && !cJSON_IsObject(cu)) {
            snprintf(err, errlen, "customer: expected an object, got %s", type_name(cu));
            rc = 422;
            goto out;
        }
        if (reach && !cJSON_IsNull(reach) && !cJSON_IsObject(reach)) {
            snprintf(err, errlen, "customer.reach: expected an object, got %s", type_name(reach));
            rc = 422;
            goto out;
        }
    }
    if ((rc = field(&c, "id", f->id, in->ext_id, sizeof in->ext_id, 1)) ||
        (rc = field(&c, "customer.id", f->customer_id, customer_id, sizeof customer_id, 1)) ||
        (rc = field(&c, "customer.name", f->customer_name, in->name, sizeof in->name, 0)) ||
        (rc = field(&c, "customer.email", f->customer_email, in->email, sizeof in->email, 0)) ||
        (rc = field(&c, "customer.locale", f->customer_locale, in->locale, sizeof in->locale, 0)) ||
        (rc = field(&c, "customer.timezone", f->customer_timezone, in->timezone,
                    sizeof in->timezone, 0)) ||
        (rc = field(&c, "customer.reach.connector", f->connector, in->connector,
                    sizeof in->connector, 0)) ||
        (rc = field(&c, "customer.reach.user", f->user, in->user, sizeof in->user, 0)) ||
        (rc = field(&c, "team", f->team, in->team, sizeof in->team, 0)) ||
        (rc = field(&c, "agent", f->agent, in->agent, sizeof in->agent, 0)) ||
        (rc = field(&c, "channel", f->channel, in->channel, sizeof in->channel, 0)) ||
        (rc = field(&c, "touchpoint", f->touchpoint, in->touchpoint, sizeof in->touchpoint, 0)) ||
        (rc = field(&c, "closed_at", f->closed_at, closed, sizeof closed, 0)) ||
        (rc = read_tags(&c, src, in->tags, sizeof in->tags)))
        goto out;
    rc = 422;
    if (!id_ok(in->ext_id) || !id_ok(customer_id)) {
        snprintf(err, errlen, "%s: must be printable ASCII without spaces",
                 id_ok(in->ext_id) ? "customer.id" : "id");
        goto out;
    }
    int n = snprintf(in->customer, sizeof in->customer, "customer:%s%s%s", src ? src->id : "",
                     src ? ":" : "", customer_id);
    if (n < 0 || (size_t)n >= sizeof in->customer) {
        snprintf(err, errlen, "customer.id: too long (the customer key is at most %zu bytes)",
                 sizeof in->customer - 1);
        goto out;
    }
    if (in->email[0] && (!strchr(in->email, '@') || strchr(in->email, ' '))) {
        snprintf(err, errlen, "customer.email: \"%s\" is not an email address", in->email);
        goto out;
    }
    for (char *p = in->email; *p; p++) /* opt-outs match emails in any case */
        *p = (char)tolower((unsigned char)*p);
    if (in->connector[0] && !pb_config_connector(cfg, in->connector)) {
        snprintf(err, errlen, "customer.reach.connector: no connector \"%s\" is configured",
                 in->connector);
        goto out;
    }
    if (!in->connector[0] != !in->user[0]) {
        snprintf(err, errlen, "customer.reach: give both connector and user, or neither");
        goto out;
    }
    in->closed_ms = closed[0] ? pb_checkin_time_parse(closed) : pb_now_ms();
    if (in->closed_ms < 0) {
        snprintf(err, errlen,
                 "closed_at: \"%s\" is neither an RFC 3339 time (2024-05-01T12:30:00Z) nor "
                 "Unix seconds",
                 closed);
        goto out;
    }
    snprintf(in->source, sizeof in->source, "%s", src ? src->id : "");
    rc = 0;
out:
    cJSON_Delete(root);
    return rc;
}
