/* A connector module built for a connector ABI this daemon does not speak; the daemon must
 * refuse it with a clear message (tests/integration/test_lifecycle.py). */
#include <stddef.h>
#include <stdint.h>

#include "pulsebot/plugin.h"

__attribute__((visibility("default"))) int pb_plugin_abi(const uint32_t *offered, size_t n)
{
    (void)offered;
    (void)n;
    return 99;
}

__attribute__((visibility("default"))) const struct pb_plugin_info *pb_plugin_get(uint32_t v)
{
    (void)v;
    return NULL;
}
