/*
 * The key reference in Markdown, printed from the same tables the parser runs on.
 * docs/configuration.md holds this output verbatim between two marker comments, and a unit test
 * compares them, so documentation and code cannot drift apart.
 */
#include "config_internal.h"

#include <stdio.h>

/* Table cells end at '|'; anything else in these texts is plain Markdown. */
static void cell(FILE *out, const char *text)
{
    for (; text && *text; text++) {
        if (*text == '|')
            fputc('\\', out);
        fputc(*text, out);
    }
}

static void type_cell(FILE *out, const struct pb_cfg_key *k)
{
    switch (k->type) {
    case PB_CFG_STRING:
        fputs(k->check ? k->check->type_doc : "string", out);
        return;
    case PB_CFG_PATH:
        fputs("path", out);
        return;
    case PB_CFG_INT:
    case PB_CFG_SIZE:
        fprintf(out, "integer, %lld to %lld", k->min, k->max);
        return;
    case PB_CFG_BOOL:
        fputs("boolean", out);
        return;
    case PB_CFG_DURATION:
        fputs(k->min > 0 ? "duration, above zero" : "duration", out);
        return;
    case PB_CFG_ENUM:
        fputs("one of", out);
        for (const struct pb_cfg_choice *c = k->choices; c->name; c++)
            fprintf(out, "%s `%s`", c == k->choices ? "" : ",", c->name);
        return;
    case PB_CFG_STRINGS:
        fputs("list of strings", out);
        return;
    case PB_CFG_GROUP:
        fputs("group", out);
        return;
    case PB_CFG_LIST:
        fputs("list of groups", out);
        return;
    case PB_CFG_HANDLES:
        fputs("group of strings", out);
        return;
    case PB_CFG_CHANNEL:
        fputs("channel", out);
        return;
    }
}

static void default_cell(FILE *out, const struct pb_cfg_key *k)
{
    if (k->required) {
        fputs("required", out);
    } else if (k->def_doc) {
        cell(out, k->def_doc);
    } else if (k->def) {
        /* Shown as it would be written in the file. */
        int quoted = k->type == PB_CFG_STRING || k->type == PB_CFG_PATH || k->type == PB_CFG_ENUM ||
                     k->type == PB_CFG_DURATION;
        fputc('`', out);
        if (quoted)
            fputc('"', out);
        cell(out, k->def);
        if (quoted)
            fputc('"', out);
        fputc('`', out);
    } else if (k->type == PB_CFG_GROUP) {
        fputs("each key's default", out);
    } else if (k->type == PB_CFG_LIST || k->type == PB_CFG_STRINGS) {
        fputs("empty", out);
    } else {
        fputs("none", out);
    }
}

static void print_block(FILE *out, const struct pb_cfg_block *b)
{
    if (*b->path)
        fprintf(out, "### `%s`\n\n", b->path);
    else
        fputs("### Top level\n\n", out);
    fprintf(out, "%s\n\n", b->intro);
    fputs("| Key | Type | Default | Description |\n", out);
    fputs("|-----|------|---------|-------------|\n", out);
    for (const struct pb_cfg_key *k = b->keys; k->name; k++) {
        fprintf(out, "| `%s` | ", k->name);
        type_cell(out, k);
        fputs(" | ", out);
        default_cell(out, k);
        fputs(" | ", out);
        cell(out, k->help);
        fputs(" |\n", out);
    }
    fputc('\n', out);
    for (const struct pb_cfg_key *k = b->keys; k->name; k++)
        if (k->sub)
            print_block(out, k->sub);
}

void pb_config_reference(FILE *out)
{
    print_block(out, &pb_cfg_root);
}
