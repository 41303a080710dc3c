/*
 * Core messages as stored in the outbox: a struct pb_message (plugin.h) turned into JSON when
 * it is queued and back into a pb_message when it is handed to a connector, so that a message
 * outlives a restart exactly as it was decided.
 */
#ifndef PB_MESSAGE_H
#define PB_MESSAGE_H

#include "pulsebot/plugin.h"

#define PB_MESSAGE_MAX_BUTTONS 32
#define PB_MESSAGE_MAX_FIELDS  16

/* malloc'd JSON text, or NULL when out of memory. */
char *pb_message_to_json(const struct pb_message *m);

/* A message parsed back from JSON; its strings live as long as the view. */
struct pb_message_view {
    struct pb_message message;
    struct pb_field fields[PB_MESSAGE_MAX_FIELDS];
    struct pb_button buttons[PB_MESSAGE_MAX_BUTTONS];
    void *json;
};

int pb_message_from_json(const char *json, struct pb_message_view *view);
void pb_message_view_free(struct pb_message_view *view);

#endif
