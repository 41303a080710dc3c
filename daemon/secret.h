/*
 * Reading secrets (API tokens, signing secrets) from a file or from a systemd credential
 * ($CREDENTIALS_DIRECTORY/<name>, from LoadCredential=). Secrets never sit in the config file
 * itself, and no error text from here ever contains one.
 */
#ifndef PB_SECRET_H
#define PB_SECRET_H

#include <stddef.h>

#include "config.h"

/* Reads the secret from `file` (a path) or from the credential `credential`: give exactly one.
 * Trailing newlines are removed. Fails when the source is missing, empty, holds a NUL byte, does
 * not fit in `buf` with its terminator, or (for a file) can be read or written by group or
 * others. On failure `buf` is wiped and `err` says why and how to fix it. */
int pb_secret_read(const char *file, const char *credential, char *buf, size_t len, char *err,
                   size_t errlen);

/* Reads the secret option `key` of a connector block: `<key>_file` or `<key>_credential`. Call
 * after pb_config_check_connector, which resolves a relative `<key>_file`. */
int pb_secret_from_connector(const struct pb_cfg_connector *c, const char *key, char *buf,
                             size_t len, char *err, size_t errlen);

#endif
