/* attachment.c: the JSON of an attachment. */
#include "base/sys.h"
#include "model/attachment.h"

json_t *attachment_json(int64_t id, const char *filename, const char *type, int64_t size,
                        const char *token)
{
    char url[160];
    snprintf(url, sizeof(url), "/api/v1/attachments/%" PRId64 "?t=%s", id, token);
    return json_pack("{s:I, s:s, s:s, s:I, s:s, s:b}", "id", (json_int_t)id, "filename", filename,
                     "content_type", type, "size", (json_int_t)size, "url", url, "image",
                     strncmp(type, "image/", 6) == 0);
}
