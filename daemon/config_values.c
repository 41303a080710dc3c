/*
 * The rules for single values of the configuration: durations, ids, time zones, URLs and the
 * like. Each rule carries the words the error message and the reference use for it, so the
 * message always says what would have been accepted.
 */
#include "config_internal.h"

#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int64_t pb_duration_parse_ms(const char *text)
{
    if (!text || !*text)
        return -1;
    /* A bare number counts seconds; otherwise one or more <number><unit> parts ("1h30m"). */
    int bare = strspn(text, "0123456789") == strlen(text);
    int64_t total = 0;
    const char *p = text;
    while (*p) {
        if (!isdigit((unsigned char)*p))
            return -1;
        int64_t n = 0;
        while (isdigit((unsigned char)*p)) {
            if (n > (INT64_MAX - 9) / 10)
                return -1;
            n = n * 10 + (*p++ - '0');
        }
        int64_t unit;
        if (bare)
            unit = 1000;
        else if (p[0] == 'm' && p[1] == 's')
            unit = 1, p += 2;
        else if (*p == 's')
            unit = 1000, p++;
        else if (*p == 'm')
            unit = 60 * 1000, p++;
        else if (*p == 'h')
            unit = 3600 * 1000, p++;
        else if (*p == 'd')
            unit = 86400 * 1000, p++;
        else if (*p == 'w')
            unit = 7 * 86400 * 1000LL, p++;
        else
            return -1;
        if (n > (INT64_MAX - total) / unit)
            return -1;
        total += n * unit;
    }
    return total;
}

static int ok_id(const char *v)
{
    size_t n = strlen(v);
    /* 63: ids are kept in 64-byte fields in the store, with their terminating NUL. */
    if (n == 0 || n > 63 || !isalnum((unsigned char)v[0]))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)v[i]) && !strchr("_.-", v[i]))
            return 0;
    return 1;
}

static int ok_text(const char *v)
{
    for (; *v; v++)
        if (!isspace((unsigned char)*v))
            return 1;
    return 0;
}

/* A connector's name is also a key in people's `handles` groups, so it must be a valid
 * libconfig setting name, and ':' separates it from the address in a channel. */
static int ok_connector_name(const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n > 32 || !islower((unsigned char)v[0]))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!islower((unsigned char)v[i]) && !isdigit((unsigned char)v[i]) && !strchr("_-", v[i]))
            return 0;
    return 1;
}

/* The module type becomes a file name (<type>.so), so nothing that could leave the directory. */
static int ok_module(const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n > 32)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!islower((unsigned char)v[i]) && !isdigit((unsigned char)v[i]) && v[i] != '_')
            return 0;
    return 1;
}

/* A name is a time zone when the system's database has a compiled zone file for it; the
 * tables that live beside them (zone.tab, leapseconds) fail the magic check. */
static int ok_timezone(const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n > 64 || v[0] == '/' || strstr(v, ".."))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)v[i]) && !strchr("_+-/", v[i]))
            return 0;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", v);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    struct stat st;
    char magic[4] = {0};
    int ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && read(fd, magic, 4) == 4 &&
             memcmp(magic, "TZif", 4) == 0;
    close(fd);
    return ok;
}

static int ok_url(const char *v)
{
    const char *rest = NULL;
    if (strncmp(v, "http://", 7) == 0)
        rest = v + 7;
    else if (strncmp(v, "https://", 8) == 0)
        rest = v + 8;
    if (!rest || !*rest || *rest == '/')
        return 0;
    for (; *rest; rest++)
        if (isspace((unsigned char)*rest))
            return 0;
    return 1;
}

/* BCP 47 in the loose form people write: "en", "nb-NO", "pt_BR". */
static int ok_locale(const char *v)
{
    size_t i = 0;
    while (isalpha((unsigned char)v[i]))
        i++;
    if (i < 2 || i > 3)
        return 0;
    while (v[i]) {
        if (v[i] != '-' && v[i] != '_')
            return 0;
        size_t j = ++i;
        while (isalnum((unsigned char)v[i]))
            i++;
        if (i - j < 1 || i - j > 8)
            return 0;
    }
    return 1;
}

static int ok_email(const char *v)
{
    const char *at = strchr(v, '@');
    if (!at || at == v || !at[1] || strchr(at + 1, '@'))
        return 0;
    for (; *v; v++)
        if (isspace((unsigned char)*v) || iscntrl((unsigned char)*v))
            return 0;
    return 1;
}

static int ok_host(const char *v)
{
    if (!*v)
        return 0;
    for (; *v; v++)
        if (isspace((unsigned char)*v) || strchr("/[]", *v))
            return 0;
    return 1;
}

const struct pb_cfg_check pb_cfg_check_id = {
    "id",
    "an id of letters, digits, '_', '-' and '.' (at most 63, starting with a letter or digit)",
    ok_id};
const struct pb_cfg_check pb_cfg_check_text = {"string", "a non-empty string", ok_text};
const struct pb_cfg_check pb_cfg_check_connector_name = {
    "name", "a name of lowercase letters, digits, '_' and '-' (at most 32, starting with a letter)",
    ok_connector_name};
const struct pb_cfg_check pb_cfg_check_module = {
    "module name", "a module name of lowercase letters, digits and '_' (at most 32)", ok_module};
const struct pb_cfg_check pb_cfg_check_timezone = {
    "time zone", "an IANA time zone name such as \"Europe/Oslo\" (see /usr/share/zoneinfo)",
    ok_timezone};
const struct pb_cfg_check pb_cfg_check_url = {
    "URL", "an http:// or https:// URL such as \"https://pulse.example.com\"", ok_url};
const struct pb_cfg_check pb_cfg_check_locale = {
    "locale", "a language tag such as \"en\" or \"nb-NO\"", ok_locale};
const struct pb_cfg_check pb_cfg_check_email = {"email", "an email address", ok_email};
const struct pb_cfg_check pb_cfg_check_host = {
    "address", "an IP address or host name such as \"127.0.0.1\" or \"::1\"", ok_host};
