/*
 * Diagnostics: a growing list of "file:line: message" lines. The config loader collects every
 * problem here instead of stopping at the first, so one --check-config run shows them all.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Without a file or a line the prefix shrinks rather than printing "(null):0:". */
static int format_prefix(char *buf, size_t len, const char *file, int line)
{
    if (file && line > 0)
        return snprintf(buf, len, "%s:%d: ", file, line);
    if (file)
        return snprintf(buf, len, "%s: ", file);
    buf[0] = '\0';
    return 0;
}

void pb_diag_add(struct pb_diag *d, const char *file, int line, const char *fmt, ...)
{
    if (!d)
        return;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        char **lines = realloc(d->lines, cap * sizeof *lines);
        if (!lines)
            return; /* out of memory: the caller still knows loading failed */
        d->lines = lines;
        d->cap = cap;
    }
    char prefix[512];
    int np = format_prefix(prefix, sizeof prefix, file, line);
    if (np < 0)
        np = 0;
    if ((size_t)np >= sizeof prefix)
        np = (int)sizeof prefix - 1;

    va_list ap;
    va_start(ap, fmt);
    int nm = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (nm < 0)
        nm = 0;

    char *text = malloc((size_t)np + (size_t)nm + 1);
    if (!text)
        return;
    memcpy(text, prefix, (size_t)np);
    va_start(ap, fmt);
    vsnprintf(text + np, (size_t)nm + 1, fmt, ap);
    va_end(ap);
    d->lines[d->n++] = text;
}

void pb_diag_free(struct pb_diag *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++)
        free(d->lines[i]);
    free(d->lines);
    d->lines = NULL;
    d->n = d->cap = 0;
}
