/* ws_proto.c: the /ws endpoint. The token comes as ?token= (browsers cannot set headers on a WebSocket)
 * or the session cookie; a bad one is refused with 401 before the upgrade. Commands are JSON text
 * frames with a "type"; later issues add message.send, typing and read, and event resume. */
#include "base/sys.h"
#include "base/log.h"
#include "api/app.h"
#include "net/ws.h"

struct ws_session {
    int64_t user_id;
};

static void send_json(struct server *srv, uint64_t id, json_t *v)
{
    size_t len;
    char *s = json_dump_compact(v, &len);
    json_decref(v);
    ws_send_text(srv, id, s, len);
    free(s);
}

static void send_error(struct server *srv, uint64_t id, const char *code, const char *msg)
{
    send_json(srv, id, json_pack("{s:s, s:s, s:s}", "type", "error", "code", code, "message", msg));
}

static void on_text(struct server *srv, uint64_t id, void *user, const char *p, size_t len)
{
    UNUSED(user);
    json_error_t je;
    json_t *v = json_loadb(p, len, JSON_REJECT_DUPLICATES, &je);
    if (!v || !json_is_object(v)) {
        json_decref(v);
        send_error(srv, id, "invalid_json", "Each message must be one JSON object.");
        return;
    }
    const char *type = json_string_value(json_object_get(v, "type"));
    if (!type)
        send_error(srv, id, "validation_failed", "type is required and must be a string.");
    else if (strcmp(type, "ping") == 0)
        send_json(srv, id, json_pack("{s:s}", "type", "pong"));
    else
        send_error(srv, id, "unknown_type", "Unknown message type.");
    json_decref(v);
}

static void on_close(struct server *srv, uint64_t id, void *user)
{
    UNUSED(srv);
    UNUSED(id);
    free(user);
}

static const struct ws_handler handler = {on_text, on_close};

static void ws_authed(struct http_req *r, struct principal *p, int rc)
{
    if (!p) {
        http_respond_error(r, rc < 0 && rc != ERR_UNAUTHORIZED ? rc : ERR_UNAUTHORIZED, NULL, NULL);
        return;
    }
    struct ws_session *s = xcalloc(1, sizeof(*s));
    s->user_id = p->user_id;
    uint64_t id;
    if (ws_accept(r, &handler, s, &id) < 0) {
        free(s);
        return;
    }
    send_json(&the_app->srv, id, json_pack("{s:s, s:I}", "type", "hello", "user_id", (json_int_t)s->user_id));
}

static void h_ws(struct http_req *r)
{
    const char *q = http_query(r, "token");
    struct span token = q ? span_of(q) : auth_request_token(r);
    if (!token.len) {
        http_respond_error(r, ERR_UNAUTHORIZED, NULL, NULL);
        return;
    }
    auth_lookup(r, token, ws_authed);
}

void ws_proto_routes(struct router *rt)
{
    router_add(rt, HTTP_GET, "/ws", h_ws, R_PUBLIC);
}
