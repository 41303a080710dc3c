/*
 * Logging to stderr, one line per event, with a journald priority prefix ("<3>") when stderr is
 * the journal. The level is checked before anything is formatted, so a debug line costs a
 * comparison when debug is off. Never pass a secret to these functions.
 */
#ifndef PB_LOG_H
#define PB_LOG_H

#include <stdarg.h>

#include "pulsebot/plugin.h"

void pb_log_init(void); /* decides on journald prefixes from $JOURNAL_STREAM */
void pb_log_set_level(int level);
int pb_log_get_level(void);
int pb_log_level_parse(const char *name); /* "err", "warning", "notice", "info", "debug"; -1 */
int pb_log_enabled(int level);

/* `module` names the part of the daemon or the connector: "[store] ..." */
void pb_log(int level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void pb_logv(int level, const char *module, const char *fmt, va_list ap);

#define pb_err(mod, ...) pb_log(PB_LOG_ERR, mod, __VA_ARGS__)
#define pb_warn(mod, ...) pb_log(PB_LOG_WARNING, mod, __VA_ARGS__)
#define pb_notice(mod, ...) pb_log(PB_LOG_NOTICE, mod, __VA_ARGS__)
#define pb_info(mod, ...) pb_log(PB_LOG_INFO, mod, __VA_ARGS__)
#define pb_debug(mod, ...)                                                                         \
    do {                                                                                           \
        if (pb_log_enabled(PB_LOG_DEBUG))                                                          \
            pb_log(PB_LOG_DEBUG, mod, __VA_ARGS__);                                                \
    } while (0)

#endif
