/*
 * Configuration keys of reports: the anonymity thresholds that every report and export on an
 * anonymous survey applies (docs/reports.md). How the tables work is said in config_keys.c.
 */
#include "config_internal.h"

/* Below three, a group's figure and one member's own answer give away the other's. */
#define MIN_GROUP_FLOOR 3

static void reports_finish(struct pb_cfg_ctx *ctx, config_setting_t *s, void *obj,
                           const char *label)
{
    struct pb_cfg_reports *r = obj;
    /* Comments are sentences people wrote: a group small enough to show its scores may still
     * be too small to hide whose words they are, never the other way round. */
    if (!pb_cfg_has(s, "min_comments")) {
        r->min_comments = r->min_group;
        return;
    }
    if (r->min_comments < r->min_group)
        pb_cfg_error(ctx, pb_cfg_at(s, "min_comments"),
                     "%s: min_comments (%d) must not be less than min_group (%d)", label,
                     r->min_comments, r->min_group);
}

static const struct pb_cfg_key reports_keys[] = {
    {.name = "min_group",
     .type = PB_CFG_INT,
     .def = "5",
     .min = MIN_GROUP_FLOOR,
     .max = 1000,
     .off = OFF(pb_cfg_reports, min_group),
     .help = "On an anonymous survey, a team (or the whole survey) with fewer respondents than "
             "this shows \"fewer than N\" instead of its figures, and so does any other group "
             "whose figures would let it be worked out by subtraction."},
    {.name = "min_comments",
     .type = PB_CFG_INT,
     .def_doc = "`min_group`",
     .min = MIN_GROUP_FLOOR,
     .max = 1000,
     .off = OFF(pb_cfg_reports, min_comments),
     .help = "On an anonymous survey, comments (free-text answers) are listed only for groups "
             "with at least this many of them, never with a name; not less than `min_group`."},
    {NULL},
};

const struct pb_cfg_block pb_cfg_reports_block = {
    .path = "reports",
    .intro = "Reports and exports (`pulsebotctl report`). The thresholds apply to anonymous "
             "surveys; a survey that is not anonymous shows every figure and names who wrote "
             "each comment.",
    .keys = reports_keys,
    .finish = reports_finish,
};
