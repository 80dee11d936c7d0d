/* markdown.h: help-center articles from Markdown to HTML, safely: every character of the source is
 * escaped, and only the HTML this renderer writes itself reaches the page. Supported: ATX headings
 * (# .. ######), paragraphs, blank-line breaks, unordered (-, *, +) and ordered (1.) lists, fenced
 * code blocks (```), block quotes (>), horizontal rules (---), and inline **bold**, *italic*,
 * `code` and [links](http(s)://..., mailto:... or /path on this site) (other links are shown as
 * text). No I/O. */
#ifndef PARLEY_MODEL_MARKDOWN_H
#define PARLEY_MODEL_MARKDOWN_H
#include <stddef.h>

#include "base/buf.h"

/* markdown_html: appends the HTML of src to out; ERR_TOOBIG if out's cap is reached. */
int markdown_html(const char *src, size_t len, struct buf *out);
/* html_escape: appends s with & < > " ' escaped. */
int html_escape(struct buf *out, const char *s, size_t len);
/* markdown_text: appends the plain text of src (markup dropped), for snippets and meta tags. */
int markdown_text(const char *src, size_t len, struct buf *out);
#endif
