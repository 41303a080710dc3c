/*
 * Secrets from files and systemd credentials: see secret.h. The rules are strict on purpose: a
 * token file readable by others is refused rather than used, because the daemon would otherwise
 * quietly keep working with a leaked secret. Error texts name the file or credential and never
 * the content; buffers that held part of a secret are wiped.
 */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(char *buf, size_t len, int code, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static int fail(char *buf, size_t len, int code, char *err, size_t errlen, const char *fmt, ...)
{
    if (buf && len)
        explicit_bzero(buf, len);
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* Reads all of fd into buf; more than len - 1 bytes is an error unless the excess is only the
 * trailing newlines an editor adds. Returns the length, -1 on a read error, -2 when too long. */
static ssize_t read_all(int fd, char *buf, size_t len)
{
    size_t n = 0;
    while (n < len - 1) {
        ssize_t r = read(fd, buf + n, len - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        n += (size_t)r;
    }
    char more[64];
    for (;;) {
        ssize_t r = read(fd, more, sizeof more);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            explicit_bzero(more, sizeof more);
            return -1;
        }
        if (r == 0)
            break;
        for (ssize_t i = 0; i < r; i++) {
            if (more[i] != '\n' && more[i] != '\r') {
                explicit_bzero(more, sizeof more);
                return -2;
            }
        }
    }
    explicit_bzero(more, sizeof more);
    buf[n] = '\0';
    return (ssize_t)n;
}

int pb_secret_read(const char *file, const char *credential, char *buf, size_t len, char *err,
                   size_t errlen)
{
    char path[PATH_MAX], what[PATH_MAX + 32];
    if (!buf || len < 2)
        return fail(buf, len, PB_ERR_INVALID, err, errlen, "no room for a secret");
    if (file && credential)
        return fail(buf, len, PB_ERR_INVALID, err, errlen,
                    "give a secret file or a credential name, not both");
    if (!file && !credential)
        return fail(buf, len, PB_ERR_INVALID, err, errlen,
                    "no secret given: give a secret file or a credential name");
    if (credential) {
        const char *dir = getenv("CREDENTIALS_DIRECTORY");
        if (!*credential || strchr(credential, '/') || strcmp(credential, ".") == 0 ||
            strcmp(credential, "..") == 0)
            return fail(buf, len, PB_ERR_INVALID, err, errlen,
                        "credential name \"%s\" is not a plain file name", credential);
        if (!dir || !*dir)
            return fail(buf, len, PB_ERR_UNKNOWN, err, errlen,
                        "credential \"%s\": $CREDENTIALS_DIRECTORY is not set (load it with "
                        "LoadCredential=%s:/path in the service unit, or use a secret file)",
                        credential, credential);
        snprintf(path, sizeof path, "%s/%s", dir, credential);
        snprintf(what, sizeof what, "credential \"%s\"", credential);
    } else {
        snprintf(path, sizeof path, "%s", file);
        snprintf(what, sizeof what, "secret file %s", file);
    }

    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return fail(buf, len, errno == ENOENT ? PB_ERR_UNKNOWN : PB_ERR, err, errlen,
                    "%s: cannot open%s%s: %s", what, credential ? " " : "", credential ? path : "",
                    strerror(errno));
    struct stat st;
    int rc = PB_OK;
    if (fstat(fd, &st) < 0) {
        rc = fail(buf, len, PB_ERR, err, errlen, "%s: %s", what, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = fail(buf, len, PB_ERR_INVALID, err, errlen, "%s is not a regular file", what);
        goto out;
    }
    /* systemd gives credentials to the service alone; a file is the operator's to protect. */
    if (file && (st.st_mode & (S_IRWXG | S_IRWXO))) {
        rc = fail(buf, len, PB_ERR_INVALID, err, errlen,
                  "%s can be read or written by group or others (mode %04o); fix it with: "
                  "chmod 600 %s",
                  what, (unsigned)(st.st_mode & 07777), file);
        goto out;
    }
    ssize_t n = read_all(fd, buf, len);
    if (n == -1) {
        rc = fail(buf, len, PB_ERR, err, errlen, "%s: cannot read: %s", what, strerror(errno));
        goto out;
    }
    if (n == -2) {
        rc = fail(buf, len, PB_ERR_INVALID, err, errlen, "%s is too long: at most %zu bytes fit",
                  what, len - 1);
        goto out;
    }
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    if (n == 0) {
        rc = fail(buf, len, PB_ERR_INVALID, err, errlen, "%s is empty", what);
        goto out;
    }
    if (memchr(buf, '\0', (size_t)n)) {
        rc = fail(buf, len, PB_ERR_INVALID, err, errlen, "%s holds a NUL byte", what);
        goto out;
    }
    if (err && errlen)
        err[0] = '\0';
out:
    close(fd);
    return rc;
}

int pb_secret_from_connector(const struct pb_cfg_connector *c, const char *key, char *buf,
                             size_t len, char *err, size_t errlen)
{
    char file_key[128], cred_key[128];
    snprintf(file_key, sizeof file_key, "%s_file", key);
    snprintf(cred_key, sizeof cred_key, "%s_credential", key);
    const char *file = pb_config_connector_string(c, file_key);
    const char *cred = pb_config_connector_string(c, cred_key);
    const char *name = c && c->name ? c->name : "?";
    if (!file && !cred)
        return fail(buf, len, PB_ERR_UNKNOWN, err, errlen,
                    "connector \"%s\": no secret \"%s\" configured: give %s or %s", name, key,
                    file_key, cred_key);
    if (file && cred)
        return fail(buf, len, PB_ERR_INVALID, err, errlen,
                    "connector \"%s\": secret \"%s\" is given twice: keep either %s or %s", name,
                    key, file_key, cred_key);
    char inner[PATH_MAX + 256];
    int rc = pb_secret_read(file, cred, buf, len, inner, sizeof inner);
    if (rc < 0 && err && errlen)
        snprintf(err, errlen, "connector \"%s\": %s: %s", name, key, inner);
    else if (err && errlen)
        err[0] = '\0';
    return rc;
}
