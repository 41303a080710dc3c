/* Core messages to and from JSON (see message.h). */
#include "message.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static void add_string(cJSON *obj, const char *name, const char *value)
{
    if (value)
        cJSON_AddStringToObject(obj, name, value);
}

char *pb_message_to_json(const struct pb_message *m)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    cJSON_AddNumberToObject(root, "kind", m->kind);
    add_string(root, "title", m->title);
    add_string(root, "text", m->text);
    add_string(root, "low_label", m->low_label);
    add_string(root, "high_label", m->high_label);
    add_string(root, "note", m->note);
    add_string(root, "mention_user", m->mention_user);
    cJSON_AddNumberToObject(root, "flags", m->flags);
    cJSON *fields = cJSON_AddArrayToObject(root, "fields");
    for (size_t i = 0; fields && i < m->n_fields; i++) {
        cJSON *f = cJSON_CreateObject();
        add_string(f, "label", m->fields[i].label);
        add_string(f, "value", m->fields[i].value);
        cJSON_AddItemToArray(fields, f);
    }
    cJSON *buttons = cJSON_AddArrayToObject(root, "buttons");
    for (size_t i = 0; buttons && i < m->n_buttons; i++) {
        cJSON *b = cJSON_CreateObject();
        add_string(b, "label", m->buttons[i].label);
        add_string(b, "token", m->buttons[i].token);
        cJSON_AddNumberToObject(b, "style", m->buttons[i].style);
        cJSON_AddItemToArray(buttons, b);
    }
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return text;
}

static const char *get_string(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int get_int(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsNumber(v) ? v->valueint : 0;
}

int pb_message_from_json(const char *json, struct pb_message_view *view)
{
    memset(view, 0, sizeof *view);
    cJSON *root = cJSON_Parse(json);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return PB_ERR_INVALID;
    }
    view->json = root;
    struct pb_message *m = &view->message;
    m->size = sizeof *m;
    m->kind = (enum pb_message_kind)get_int(root, "kind");
    m->title = get_string(root, "title");
    m->text = get_string(root, "text");
    m->low_label = get_string(root, "low_label");
    m->high_label = get_string(root, "high_label");
    m->note = get_string(root, "note");
    m->mention_user = get_string(root, "mention_user");
    m->flags = (uint32_t)get_int(root, "flags");
    const cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(root, "fields"))
    {
        if (m->n_fields == PB_MESSAGE_MAX_FIELDS)
            break;
        view->fields[m->n_fields++] =
            (struct pb_field){get_string(item, "label"), get_string(item, "value")};
    }
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(root, "buttons"))
    {
        if (m->n_buttons == PB_MESSAGE_MAX_BUTTONS)
            break;
        view->buttons[m->n_buttons++] =
            (struct pb_button){get_string(item, "label"), get_string(item, "token"),
                               (enum pb_button_style)get_int(item, "style")};
    }
    m->fields = view->fields;
    m->buttons = view->buttons;
    return PB_OK;
}

void pb_message_view_free(struct pb_message_view *view)
{
    cJSON_Delete(view->json);
    view->json = NULL;
}
