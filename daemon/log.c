/*
 * Logging: see log.h. Lines are written with one write(2) each so that lines from a crash
 * are never interleaved half-way.
 */
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static int current_level = PB_LOG_INFO;
static int journal_prefix;

static const char *const level_names[] = {
    [PB_LOG_ERR] = "err",   [PB_LOG_WARNING] = "warning", [PB_LOG_NOTICE] = "notice",
    [PB_LOG_INFO] = "info", [PB_LOG_DEBUG] = "debug",
};

void pb_log_init(void)
{
    /* systemd sets JOURNAL_STREAM when stderr is connected to the journal (systemd.exec(5)). */
    journal_prefix = getenv("JOURNAL_STREAM") != NULL || getenv("PULSEBOT_LOG_PRIORITY") != NULL;
}

void pb_log_set_level(int level)
{
    current_level = level;
}

int pb_log_get_level(void)
{
    return current_level;
}

int pb_log_level_parse(const char *name)
{
    for (int i = PB_LOG_ERR; i <= PB_LOG_DEBUG; i++)
        if (name && strcasecmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

int pb_log_enabled(int level)
{
    return level <= current_level;
}

void pb_logv(int level, const char *module, const char *fmt, va_list ap)
{
    if (!pb_log_enabled(level))
        return;
    char line[2048];
    size_t n = 0;
    if (level < PB_LOG_ERR)
        level = PB_LOG_ERR;
    if (level > PB_LOG_DEBUG)
        level = PB_LOG_DEBUG;
    if (journal_prefix)
        n += (size_t)snprintf(line, sizeof line, "<%d>", level);
    else
        n += (size_t)snprintf(line, sizeof line, "%s: ", level_names[level]);
    if (module)
        n += (size_t)snprintf(line + n, sizeof line - n, "[%s] ", module);
    int w = vsnprintf(line + n, sizeof line - n, fmt, ap);
    if (w < 0)
        w = 0;
    n += (size_t)w;
    if (n > sizeof line - 2)
        n = sizeof line - 2;
    /* One line per event: a newline inside a message would forge a second log line. */
    for (size_t i = 0; i < n; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[n++] = '\n';
    ssize_t ignored = write(STDERR_FILENO, line, n);
    (void)ignored;
}

void pb_log(int level, const char *module, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pb_logv(level, module, fmt, ap);
    va_end(ap);
}
