/* inbox.h: rules for inboxes and their widget settings, with no I/O. */
#ifndef PARLEY_INBOX_H
#define PARLEY_INBOX_H

#include <jansson.h>
#include <stdbool.h>

#include "base/json.h"

enum { INBOX_NAME_MAX = 100, INBOX_TEXT_MAX = 500, INBOX_TITLE_MAX = 60, INBOX_PRECHAT_MAX = 10 };

/* The fields of a create or update; NULL means "not given" (an update keeps the old value). */
struct inbox_input {
    const char *name, *channel, *greeting, *offline_message, *widget_color, *widget_title;
    json_t *prechat_fields; /* owned: a normalized array, or NULL */
};

/* inbox_parse: validates a POST (create: name and channel required) or PATCH body. On error returns
 * ERR_VALIDATION with f naming the field. Strings point into body. */
int inbox_parse(json_t *body, bool create, struct inbox_input *in, struct jfail *f);
void inbox_input_release(struct inbox_input *in);
/* inbox_color_valid: "#rrggbb". */
bool inbox_color_valid(const char *s);

#endif
