/* attachment.h: an attachment as clients see it. */
#ifndef PARLEY_ATTACHMENT_H
#define PARLEY_ATTACHMENT_H

#include <jansson.h>
#include <stdint.h>

/* attachment_json: {"id","filename","content_type","size","url","image"}; the download URL carries
 * the attachment's own token (api/api_attachments.c). New reference. */
json_t *attachment_json(int64_t id, const char *filename, const char *type, int64_t size,
                        const char *token);

#endif
