/* event.h: the event spine. Every committed change becomes an event with a per-account, gap-free
 * seq, stored in the events table in the same transaction as the change (so an event exists if and
 * only if its change committed). After the commit the loop hands each event to the listeners
 * (on_push.c pushes to WebSocket subscribers; later: webhooks, automation, reporting).
 *
 * In a write job:   event_batch_reset(&j->events);   (first thing: a job may be re-run alone)
 *                   event_emit(tx, &j->events, aid, "inbox.created", inbox_id, 0, 0, true, data);
 * In its completion (loop thread), only when rc >= 0:  event_publish(&j->events);
 * and event_batch_reset() otherwise. */
#ifndef PARLEY_EVENT_H
#define PARLEY_EVENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct store_tx;

struct event {
    struct event *next;
    int64_t account_id, seq, inbox_id, conversation_id, contact_id, created_at;
    bool private; /* never shown to visitors */
    char *type;
    json_t *data;
    char *frame; /* the wire frame, built once on the loop and shared by every subscriber */
    size_t frame_len;
    char *vframe; /* the visitors' frame, without data.conversation (NULL: same as frame) */
    size_t vframe_len;
};

struct event_batch {
    struct event *head, *tail;
};

typedef void (*event_listener_fn)(const struct event *ev);

void event_batch_reset(struct event_batch *b);
/* event_emit: appends to the events table (bumping account_seq) and to the batch; takes `data`. */
int event_emit(struct store_tx *tx, struct event_batch *b, int64_t account_id, const char *type,
               int64_t inbox_id, int64_t conversation_id, int64_t contact_id, bool private,
               json_t *data);
/* event_batch_splice: moves from's events to the end of to (from is left empty). */
void event_batch_splice(struct event_batch *to, struct event_batch *from);
/* event_publish: builds each frame and calls every listener in order; empties the batch. */
void event_publish(struct event_batch *b);
void event_listen(event_listener_fn fn);
/* event_build_frame: {"type":"event","seq":N,"event":"...","data":{...}} into ev->frame, and the
 * visitors' frame when the event is theirs and its data carries what only agents see (the
 * "conversation", a message's sentiment). */
void event_build_frame(struct event *ev);
/* event_strip_visitor_message: removes from a message object what visitors are not shown (its
 * sentiment and an agent's correction of it). */
void event_strip_visitor_message(json_t *m);
void event_free(struct event *ev);
/* event_load: reads one account's events with seq > since, oldest first, at most `limit`, appending
 * them to b (reader or writer thread). */
int event_load(struct store_tx *tx, struct event_batch *b, int64_t account_id, int64_t since,
               int64_t limit);
/* event_load_visitor: the same for one contact's public events (what a visitor may see). */
int event_load_visitor(struct store_tx *tx, struct event_batch *b, int64_t account_id,
                       int64_t contact_id, int64_t since, int64_t limit);
/* event_last_seq: the account's latest seq (0 if none). */
int event_last_seq(struct store_tx *tx, int64_t account_id, int64_t *out);

#endif
