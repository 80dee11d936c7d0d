// Conversations end to end over the real binary: a visitor's widget session and WebSocket, an agent's
// WebSocket and REST API, exactly-once delivery with resume, idempotent sends, private notes, filters,
// labels, search, read receipts, typing, presence, canned responses and attachments. Bad input included.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { startServer } from '../lib/server.mjs';
import { openWs } from './lib/ws.mjs';
import { sleep } from './lib/util.mjs';

const isText = (t) => (e) => e.kind === 'text' && e.json?.type === t;
const isEvent = (name, pred = () => true) => (e) =>
  e.kind === 'text' && e.json?.type === 'event' && e.json.event === name && pred(e.json);

async function connect(srv, path) {
  const r = await openWs(srv.port, path);
  assert.equal(r.status, 101, `upgrade ${path}: ${r.status} ${r.body}`);
  const hello = await r.ws.waitFor(isText('hello'), 5000, 'hello');
  return { ws: r.ws, hello: hello.json };
}

describe('conversations', () => {
  let srv, admin, widgetToken, agent, agentId, outsider;
  const A = '/api/v1/accounts/1';

  before(async () => {
    srv = await startServer();
    admin = (await srv.login()).token;
    const inboxes = await srv.request('GET', `${A}/inboxes`, { token: admin });
    assert.equal(inboxes.status, 200);
    const web = inboxes.body.data.find((i) => i.channel === 'web');
    assert.ok(web, 'the first start makes a web inbox');
    widgetToken = web.widget_token;
    // An agent in the inbox and an agent outside it.
    const u = await srv.request('POST', `${A}/users`, { token: admin,
      body: { email: 'conv-agent@example.com', name: 'Carol Agent', password: 'agent-pass-1', role: 'agent' } });
    agentId = u.body.id;
    await srv.request('POST', `${A}/users`, { token: admin,
      body: { email: 'conv-out@example.com', name: 'Olaf Outside', password: 'agent-pass-1', role: 'agent' } });
    const members = await srv.request('GET', `${A}/inboxes/${web.id}/members`, { token: admin });
    const put = await srv.request('PUT', `${A}/inboxes/${web.id}/members`, { token: admin,
      body: { user_ids: [...members.body.user_ids, agentId] } });
    assert.equal(put.status, 200, put.text);
    assert.equal((await srv.request('GET', `${A}/inboxes`, { token: admin })).body.data[0].members_count, 2);
    const ctl = await srv.request('PATCH', `${A}/inboxes/${web.id}`, { token: admin, body: { name: 'Web\tsite' } });
    assert.equal(ctl.status, 422, 'control characters in an inbox name');
    agent = (await srv.login('conv-agent@example.com', 'agent-pass-1')).token;
    outsider = (await srv.login('conv-out@example.com', 'agent-pass-1')).token;
  });
  after(async () => { await srv.stop(); srv.cleanup(); });

  const session = (body) => srv.request('POST', '/api/v1/widget/sessions', { body });

  it('widget sessions: unknown token refused, new and returning visitors, bad input', async () => {
    assert.equal((await session({ widget_token: 'nope' })).status, 404);
    const missing = await session({});
    assert.equal(missing.status, 422);
    assert.equal(missing.body.error.field, 'widget_token');
    assert.equal((await session({ widget_token: widgetToken, contact: { email: 'bad' } })).body.error.field, 'contact.email');
    assert.equal((await session({ widget_token: widgetToken, page_url: 'javascript:alert(1)' })).body.error.field, 'page_url');
    assert.equal((await srv.request('POST', '/api/v1/widget/sessions', { raw: '{', headers: { 'content-type': 'application/json' } })).status, 400);

    // The widget runs on the customer's site: CORS preflight and headers for any origin.
    const pre = await fetch(`${srv.url}/api/v1/widget/sessions`, { method: 'OPTIONS',
      headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), '*');
    assert.match(pre.headers.get('access-control-allow-headers'), /Authorization/);
    const s1 = await session({ widget_token: widgetToken, page_url: 'https://shop.example/p/1' });
    assert.equal(s1.headers.get('access-control-allow-origin'), '*');
    assert.equal(s1.status, 200, s1.text);
    assert.match(s1.body.visitor_id, /^[0-9A-Za-z]{32}$/);
    assert.match(s1.body.visitor_token, /^v1\./);
    assert.equal(s1.body.conversation, null);
    assert.deepEqual(s1.body.messages, []);
    assert.equal(s1.body.inbox.name, 'Website');
    assert.equal(typeof s1.body.online, 'boolean');
    assert.equal(typeof s1.body.seq, 'number');
    assert.ok(s1.body.contact.name.startsWith('Visitor '));

    const s2 = await session({ widget_token: widgetToken, visitor_id: s1.body.visitor_id });
    assert.equal(s2.body.contact.id, s1.body.contact.id, 'a returning visitor is the same contact');
    const s3 = await session({ widget_token: widgetToken, visitor_id: 'unknown-visitor-id' });
    assert.notEqual(s3.body.contact.id, s1.body.contact.id, 'an unknown visitor_id is a new visitor');
  });

  it('visitor ↔ agent live, exactly once, idempotent sends, private notes hidden from the visitor', async () => {
    const s = (await session({ widget_token: widgetToken, contact: { name: '王小明' } })).body;
    assert.equal(s.contact.name, '王小明');
    const bad = await openWs(srv.port, '/ws?token=v1.1.1.1.9999999999.00000000000000000000000000000000');
    assert.equal(bad.status, 401);

    const { ws: aws } = await connect(srv, `/ws?token=${admin}`);
    const { ws: vws, hello } = await connect(srv, `/ws?token=${s.visitor_token}`);
    assert.equal(hello.contact_id, s.contact.id);
    assert.equal(hello.online, true, 'the admin is connected and online');

    // A send without client_id is refused with a reason; nothing is stored.
    await vws.sendJson({ type: 'message.send', content: 'hi' });
    const e1 = await vws.waitFor(isText('error'), 5000, 'error');
    assert.equal(e1.json.code, 'validation_failed');
    assert.equal(e1.json.field, 'client_id');

    await vws.sendJson({ type: 'message.send', client_id: 'c-1', content: '你好，我的订单还没到' });
    const ack = await vws.waitFor(isText('ack'), 5000, 'ack');
    assert.equal(ack.json.client_id, 'c-1');
    const msg = ack.json.data;
    assert.ok(msg.id > 0 && msg.conversation_id > 0);
    assert.equal(msg.sender.type, 'contact');
    const cid = msg.conversation_id;

    // The agent side sees the new conversation, then the message, live.
    const created = await aws.waitFor(isEvent('conversation.created'), 5000, 'conversation.created');
    assert.equal(created.json.data.conversation.id, cid);
    assert.equal(created.json.data.conversation.contact.name, '王小明');
    const mc = await aws.waitFor(isEvent('message.created'), 5000, 'message.created');
    assert.equal(mc.json.data.message.content, '你好，我的订单还没到');
    assert.equal(mc.json.data.conversation.unread_count, 1);
    // The visitor gets its own message as an event, without the agents' conversation object.
    const vmc = await vws.waitFor(isEvent('message.created'), 5000, 'visitor message.created');
    assert.equal(vmc.json.data.message.id, msg.id);
    assert.equal(vmc.json.data.conversation, undefined);

    // The same client_id again: the first message, not a second one.
    await vws.sendJson({ type: 'message.send', client_id: 'c-1', content: '你好，我的订单还没到' });
    const ack2 = await vws.waitFor(isText('ack'), 5000, 'ack 2');
    assert.equal(ack2.json.data.id, msg.id);
    assert.equal(ack2.json.duplicate, true);

    // The agent replies over the WebSocket; the visitor sees it; the conversation is now theirs.
    await aws.sendJson({ type: 'message.send', conversation_id: cid, client_id: 'a-1', content: 'Let me check.' });
    const aack = await aws.waitFor(isText('ack'), 5000, 'agent ack');
    assert.equal(aack.json.data.sender.type, 'user');
    const reply = await vws.waitFor(isEvent('message.created', (j) => j.data.message.sender.type === 'user'), 5000, 'reply');
    assert.equal(reply.json.data.message.content, 'Let me check.');
    const own = await aws.waitFor(isEvent('message.created', (j) => j.data.message.content === 'Let me check.'), 5000, 'own reply');
    assert.equal(own.json.data.conversation.unread_count, 0, 'replying reads what came before');
    const assigned = await aws.waitFor(isEvent('conversation.assigned'), 5000, 'assigned');
    assert.equal(assigned.json.data.conversation.assignee.name, 'Admin');

    // A private note over REST: agents get it, the visitor never does.
    const note = await srv.request('POST', `${A}/conversations/${cid}/messages`, { token: admin,
      body: { content: 'VIP customer, be nice', private: true } });
    assert.equal(note.status, 201, note.text);
    assert.equal(note.body.private, true);
    await aws.waitFor(isEvent('message.created', (j) => j.data.message.private), 5000, 'note event');
    // REST reply with client_id twice: 201 then 200 with the same message.
    const r1 = await srv.request('POST', `${A}/conversations/${cid}/messages`, { token: admin, body: { content: 'Shipped today.', client_id: 'rest-1' } });
    const r2 = await srv.request('POST', `${A}/conversations/${cid}/messages`, { token: admin, body: { content: 'Shipped today.', client_id: 'rest-1' } });
    assert.equal(r1.status, 201);
    assert.equal(r2.status, 200);
    assert.equal(r2.body.id, r1.body.id);
    await vws.waitFor(isEvent('message.created', (j) => j.data.message.content === 'Shipped today.'), 5000, 'shipped');
    await sleep(200);
    assert.ok(!vws.events.some((e) => e.text?.includes('VIP customer')), 'the note never reached the visitor');

    const all = await srv.request('GET', `${A}/conversations/${cid}/messages`, { token: admin });
    assert.deepEqual(all.body.data.map((m) => m.content),
      ['你好，我的订单还没到', 'Let me check.', 'VIP customer, be nice', 'Shipped today.']);
    const again = await session({ widget_token: widgetToken, visitor_id: s.visitor_id });
    assert.deepEqual(again.body.messages.map((m) => m.content),
      ['你好，我的订单还没到', 'Let me check.', 'Shipped today.'], 'history without the note');
    assert.equal(again.body.conversation.id, cid);
    assert.equal(again.body.conversation.labels, undefined, 'visitors do not see agent-side fields');

    // Bad commands.
    await aws.sendJson({ type: 'message.send', conversation_id: 999999, client_id: 'x', content: 'x' });
    assert.equal((await aws.waitFor(isText('error'), 5000, 'err')).json.code, 'not_found');
    await vws.sendJson({ type: 'message.send', client_id: 'p', content: 'x', private: true });
    assert.equal((await vws.waitFor(isText('error'), 5000, 'err')).json.field, 'private');
    aws.destroy();
    vws.destroy();
  });

  it('resume: a visitor and an agent who reconnect get every missed event once, in order', async () => {
    const s = (await session({ widget_token: widgetToken })).body;
    const { ws: v1 } = await connect(srv, `/ws?token=${s.visitor_token}`);
    await v1.sendJson({ type: 'message.send', client_id: 'r-0', content: 'first' });
    const ack = await v1.waitFor(isText('ack'), 5000, 'ack');
    const cid = ack.json.data.conversation_id;
    const seen = (await v1.waitFor(isEvent('message.created'), 5000, 'own event')).json.seq;
    v1.destroy();
    const { ws: a1, hello: ah } = await connect(srv, `/ws?token=${agent}`);
    a1.destroy();
    // While both are away: three agent replies, a note, and another conversation's message.
    for (const t of ['one', 'two', 'three'])
      assert.equal((await srv.request('POST', `${A}/conversations/${cid}/messages`, { token: admin, body: { content: t } })).status, 201);
    await srv.request('POST', `${A}/conversations/${cid}/messages`, { token: admin, body: { content: 'secret', private: true } });
    const other = (await session({ widget_token: widgetToken })).body;
    const { ws: o } = await connect(srv, `/ws?token=${other.visitor_token}`);
    await o.sendJson({ type: 'message.send', client_id: 'o-1', content: 'someone else' });
    await o.waitFor(isText('ack'), 5000, 'other ack');
    o.destroy();

    const { ws: v2 } = await connect(srv, `/ws?token=${s.visitor_token}&since=${seen}`);
    await sleep(300);
    const got = v2.events.filter(isEvent('message.created')).map((e) => e.json.data.message.content);
    assert.deepEqual(got, ['one', 'two', 'three'], 'the visitor gets only their public messages, once');
    v2.destroy();

    const { ws: a2 } = await connect(srv, `/ws?token=${agent}&since=${ah.seq}`);
    await sleep(300);
    const agentGot = a2.events.filter(isEvent('message.created')).map((e) => e.json.data.message.content);
    assert.deepEqual(agentGot, ['one', 'two', 'three', 'secret', 'someone else']);
    const seqs = a2.events.filter((e) => e.json?.type === 'event').map((e) => e.json.seq);
    assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y));
    assert.equal(new Set(seqs).size, seqs.length, 'no event twice');
    a2.destroy();
  });

  it('list filters, counts, PATCH status/assignee/priority/snooze, labels, and who may see what', async () => {
    const s = (await session({ widget_token: widgetToken, contact: { name: 'Filter Fiona', email: 'fiona@example.com' } })).body;
    const { ws: v } = await connect(srv, `/ws?token=${s.visitor_token}`);
    await v.sendJson({ type: 'message.send', client_id: 'f-1', content: 'refund for order 1234 please' });
    const cid = (await v.waitFor(isText('ack'), 5000, 'ack')).json.data.conversation_id;
    v.destroy();

    const list = (q) => srv.request('GET', `${A}/conversations${q}`, { token: agent });
    let l = await list('?assignee=unassigned');
    assert.equal(l.status, 200);
    assert.ok(l.body.data.some((c) => c.id === cid));
    assert.equal(l.body.meta.total, l.body.meta.counts.unassigned);
    assert.ok(l.body.meta.counts.all >= l.body.meta.counts.unassigned);
    assert.equal((await list('?status=bogus')).status, 422);
    assert.equal((await list('?assignee=them')).status, 422);
    assert.equal((await list('?inbox_id=x')).status, 422);

    // Assign to the agent, set priority; events and filters follow.
    const p = await srv.request('PATCH', `${A}/conversations/${cid}`, { token: agent, body: { assignee_id: agentId, priority: 'high' } });
    assert.equal(p.status, 200, p.text);
    assert.equal(p.body.assignee.id, agentId);
    assert.equal(p.body.priority, 'high');
    l = await list('?assignee=me');
    assert.deepEqual(l.body.data.map((c) => c.id).includes(cid), true);
    assert.equal(l.body.meta.counts.mine, l.body.meta.total);

    // Bad PATCHes change nothing.
    for (const [body, field] of [[{ status: 'closed' }, 'status'], [{ priority: 1 }, 'priority'],
      [{ status: 'snoozed', snoozed_until: '2001-01-01T00:00:00Z' }, 'snoozed_until'],
      [{ snoozed_until: '2030-01-01T00:00:00Z' }, 'snoozed_until'], [{ assignee_id: 'me' }, 'assignee_id'],
      [{ team_id: 999 }, 'team_id'], [{ colour: 'red' }, 'body']]) {
      const r = await srv.request('PATCH', `${A}/conversations/${cid}`, { token: agent, body });
      assert.equal(r.status, 422, JSON.stringify(body));
      assert.equal(r.body.error.field, field, JSON.stringify(body));
    }
    const outsiderId = (await srv.request('GET', `${A}/users`, { token: admin })).body.data.find((u) => u.email === 'conv-out@example.com').id;
    const na = await srv.request('PATCH', `${A}/conversations/${cid}`, { token: agent, body: { assignee_id: outsiderId } });
    assert.equal(na.status, 422, 'an agent outside the inbox cannot be assigned');
    const still = await srv.request('GET', `${A}/conversations/${cid}`, { token: agent });
    assert.equal(still.body.assignee.id, agentId);
    assert.equal(still.body.priority, 'high');

    // The outsider (not in the inbox) cannot see it at all.
    assert.equal((await srv.request('GET', `${A}/conversations/${cid}`, { token: outsider })).status, 404);
    assert.equal((await srv.request('GET', `${A}/conversations/${cid}/messages`, { token: outsider })).status, 404);
    assert.equal((await srv.request('POST', `${A}/conversations/${cid}/messages`, { token: outsider, body: { content: 'hi' } })).status, 404);
    assert.ok(!(await srv.request('GET', `${A}/conversations?status=all`, { token: outsider })).body.data.some((c) => c.id === cid));
    assert.equal((await srv.request('GET', `/api/v1/accounts/2/conversations`, { token: agent })).status, 404);

    // Labels: add (any script), filter, list, remove; bad labels refused.
    const lab = await srv.request('POST', `${A}/conversations/${cid}/labels`, { token: agent, body: { labels: ['refund', '退款'] } });
    assert.equal(lab.status, 200, lab.text);
    assert.deepEqual(lab.body.labels.sort(), ['refund', '退款'].sort());
    assert.equal((await srv.request('POST', `${A}/conversations/${cid}/labels`, { token: agent, body: { labels: ['no spaces'] } })).status, 422);
    assert.equal((await srv.request('POST', `${A}/conversations/${cid}/labels`, { token: agent, body: { labels: [] } })).status, 422);
    l = await list(`?label=${encodeURIComponent('退款')}`);
    assert.deepEqual(l.body.data.map((c) => c.id), [cid]);
    const labels = await srv.request('GET', `${A}/labels`, { token: agent });
    assert.ok(labels.body.data.some((x) => x.name === 'refund' && x.count === 1));
    const del = await srv.request('DELETE', `${A}/conversations/${cid}/labels/refund`, { token: agent });
    assert.deepEqual(del.body.labels, ['退款']);

    // q: message text (FTS, 3+ characters), short text, and the contact's e-mail.
    assert.ok((await list('?q=order%201234')).body.data.some((c) => c.id === cid));
    assert.ok((await list('?q=fiona%40example')).body.data.some((c) => c.id === cid));
    assert.ok(!(await list('?q=zzzqqq')).body.data.some((c) => c.id === cid));

    // Status: resolve, then a visitor message opens a new conversation; snooze and pending.
    const { ws: aws } = await connect(srv, `/ws?token=${agent}`);
    const res = await srv.request('PATCH', `${A}/conversations/${cid}`, { token: agent, body: { status: 'resolved' } });
    assert.equal(res.body.status, 'resolved');
    const sc = await aws.waitFor(isEvent('conversation.status_changed'), 5000, 'status_changed');
    assert.equal(sc.json.data.previous_status, 'open');
    assert.ok((await list('?status=resolved')).body.data.some((c) => c.id === cid));
    assert.ok(!(await list('?status=open')).body.data.some((c) => c.id === cid));
    const { ws: v2 } = await connect(srv, `/ws?token=${s.visitor_token}`);
    await v2.sendJson({ type: 'message.send', client_id: 'f-2', content: 'one more thing' });
    const cid2 = (await v2.waitFor(isText('ack'), 5000, 'ack')).json.data.conversation_id;
    assert.notEqual(cid2, cid, 'a resolved conversation stays closed; a new one starts');
    const until = new Date(Date.now() + 3600e3).toISOString();
    const sn = await srv.request('PATCH', `${A}/conversations/${cid2}`, { token: agent, body: { status: 'snoozed', snoozed_until: until } });
    assert.equal(sn.body.status, 'snoozed');
    assert.equal(sn.body.snoozed_until, until);
    await v2.sendJson({ type: 'message.send', client_id: 'f-3', content: 'hello?' });
    await v2.waitFor(isText('ack'), 5000, 'ack');
    const reopened = await srv.request('GET', `${A}/conversations/${cid2}`, { token: agent });
    assert.equal(reopened.body.status, 'open', 'a customer message wakes a snoozed conversation');
    assert.equal(reopened.body.snoozed_until, null);

    // The contact panel: details, edit, past conversations.
    const contact = await srv.request('GET', `${A}/contacts/${s.contact.id}`, { token: agent });
    assert.equal(contact.body.email, 'fiona@example.com');
    const pc = await srv.request('PATCH', `${A}/contacts/${s.contact.id}`, { token: agent, body: { phone: '+86 138 0000 0000', attributes: { plan: 'gold' } } });
    assert.equal(pc.status, 200, pc.text);
    assert.equal(pc.body.attributes.plan, 'gold');
    assert.equal((await srv.request('PATCH', `${A}/contacts/${s.contact.id}`, { token: agent, body: { phone: 'call me' } })).status, 422);
    const past = await srv.request('GET', `${A}/contacts/${s.contact.id}/conversations`, { token: agent });
    assert.deepEqual(past.body.data.map((c) => c.id), [cid2, cid]);
    assert.equal((await srv.request('GET', `${A}/contacts/999999`, { token: agent })).status, 404);
    aws.destroy();
    v2.destroy();
  });

  it('messages paging, read receipts, typing and presence', async () => {
    const s = (await session({ widget_token: widgetToken })).body;
    const { ws: v } = await connect(srv, `/ws?token=${s.visitor_token}`);
    const ids = [];
    let cid;
    for (let i = 0; i < 7; i++) {
      await v.sendJson({ type: 'message.send', client_id: `p-${i}`, content: `m${i}` });
      const ack = (await v.waitFor(isText('ack'), 5000, 'ack')).json.data;
      ids.push(ack.id);
      cid = ack.conversation_id;
    }
    const page = (q) => srv.request('GET', `${A}/conversations/${cid}/messages${q}`, { token: admin });
    let p = await page('?limit=3');
    assert.deepEqual(p.body.data.map((m) => m.content), ['m4', 'm5', 'm6']);
    assert.equal(p.body.meta.has_more, true);
    p = await page(`?limit=3&before=${ids[4]}`);
    assert.deepEqual(p.body.data.map((m) => m.content), ['m1', 'm2', 'm3']);
    p = await page(`?limit=3&after=${ids[4]}`);
    assert.deepEqual(p.body.data.map((m) => m.content), ['m5', 'm6']);
    assert.equal(p.body.meta.has_more, false);
    assert.equal((await page('?limit=0')).status, 422);
    assert.equal((await page(`?after=1&before=2`)).status, 422);
    const wm = await srv.request('GET', `/api/v1/widget/messages?before=${ids[2]}&limit=5`, { headers: { authorization: `Bearer ${s.visitor_token}` } });
    assert.deepEqual(wm.body.data.map((m) => m.content), ['m0', 'm1']);
    assert.equal((await srv.request('GET', '/api/v1/widget/messages')).status, 401);

    // Read: the agent reads up to the last message; unread drops to 0 and the visitor hears of it.
    let conv = (await srv.request('GET', `${A}/conversations/${cid}`, { token: admin })).body;
    assert.equal(conv.unread_count, 7);
    const part = await srv.request('POST', `${A}/conversations/${cid}/read`, { token: admin, body: { message_id: ids[3] } });
    assert.equal(part.status, 204);
    conv = (await srv.request('GET', `${A}/conversations/${cid}`, { token: admin })).body;
    assert.equal(conv.unread_count, 3, 'read up to the 4th of 7: three left');
    const older = await srv.request('POST', `${A}/conversations/${cid}/read`, { token: admin, body: { message_id: ids[1] } });
    assert.equal(older.status, 204);
    assert.equal((await srv.request('GET', `${A}/conversations/${cid}`, { token: admin })).body.unread_count, 3,
      'reading an older message changes nothing');
    const { ws: aws } = await connect(srv, `/ws?token=${admin}`);
    const on = await v.waitFor(isText('presence'), 5000, 'presence online');
    assert.equal(on.json.online, true, 'an agent came online: the visitor is told');
    await aws.sendJson({ type: 'read', conversation_id: cid, message_id: ids[6], client_id: 'rd' });
    await aws.waitFor(isText('ack'), 5000, 'read ack');
    const early = await v.waitFor(isEvent('conversation.read'), 5000, 'first read event');
    assert.equal(early.json.data.message_id, ids[3], 'the partial read reached the visitor; the older one did not');
    const rd = await v.waitFor(isEvent('conversation.read'), 5000, 'read event');
    assert.equal(rd.json.data.reader, 'agent');
    assert.equal(rd.json.data.message_id, ids[6]);
    conv = (await srv.request('GET', `${A}/conversations/${cid}`, { token: admin })).body;
    assert.equal(conv.unread_count, 0);
    assert.equal(conv.agent_last_read_id, ids[6]);
    const bad = await srv.request('POST', `${A}/conversations/${cid}/read`, { token: admin, body: { message_id: 99999999 } });
    assert.equal(bad.status, 404);

    // Typing both ways; a private-note typing frame stays with the agents.
    await v.sendJson({ type: 'typing', on: true });
    const t1 = await aws.waitFor(isText('typing'), 5000, 'visitor typing');
    assert.equal(t1.json.conversation_id, cid);
    assert.equal(t1.json.sender.type, 'contact');
    assert.match(t1.json.sender.name, /^Visitor \d+$/);
    await aws.sendJson({ type: 'typing', conversation_id: cid, on: true });
    const t2 = await v.waitFor(isText('typing'), 5000, 'agent typing');
    assert.equal(t2.json.sender.name, 'Admin');
    await aws.sendJson({ type: 'typing', conversation_id: cid, on: true, private: true });
    await sleep(200);
    assert.ok(!v.events.some(isText('typing')), 'a note being written is not shown to the visitor');

    // Presence: the admin goes away, the visitor is told the inbox is offline (the agent is not
    // connected); back online, and it is online again.
    const away = await srv.request('PUT', '/api/v1/me/availability', { token: admin, body: { status: 'away' } });
    assert.equal(away.status, 200, away.text);
    const off = await v.waitFor(isText('presence'), 5000, 'presence offline');
    assert.equal(off.json.online, false);
    assert.equal((await session({ widget_token: widgetToken })).body.online, false);
    assert.equal((await srv.request('PUT', '/api/v1/me/availability', { token: admin, body: { status: 'busy' } })).status, 422);
    assert.equal((await srv.request('GET', '/api/v1/me', { token: admin })).body.availability, 'away');
    const { ws: a2, hello: h2 } = await connect(srv, `/ws?token=${admin}`);
    assert.equal(h2.availability, 'away');
    assert.deepEqual(h2.online_user_ids, [], 'nobody is online while the only agent is away');
    a2.destroy();
    await srv.request('PUT', '/api/v1/me/availability', { token: admin, body: { status: 'online' } });
    assert.equal((await v.waitFor(isText('presence'), 5000, 'presence online')).json.online, true);
    const { ws: a3, hello: h3 } = await connect(srv, `/ws?token=${admin}`);
    assert.deepEqual(h3.online_user_ids, [1]);
    a3.destroy();
    aws.destroy();
    const gone = await v.waitFor(isText('presence'), 5000, 'presence after disconnect');
    assert.equal(gone.json.online, false, 'the last agent connection closed');
    v.destroy();
  });

  it('message search: FTS for 3+ characters (Chinese too), substring for shorter', async () => {
    const s = (await session({ widget_token: widgetToken })).body;
    const { ws: v } = await connect(srv, `/ws?token=${s.visitor_token}`);
    await v.sendJson({ type: 'message.send', client_id: 's-1', content: '我想申请退货退款，商品有质量问题' });
    await v.waitFor(isText('ack'), 5000, 'ack');
    v.destroy();
    const search = (q, token = admin) => srv.request('GET', `${A}/search/messages?q=${encodeURIComponent(q)}`, { token });
    const long = await search('质量问题');
    assert.equal(long.status, 200);
    assert.equal(long.body.data.length, 1);
    assert.ok(long.body.data[0].contact.name.startsWith('Visitor'));
    assert.equal((await search('退货')).body.data.length, 1, 'two characters: substring fallback');
    assert.equal((await search('"quoted" AND')).status, 200, 'FTS syntax in q is taken literally');
    assert.equal((await search('')).status, 422);
    assert.equal((await search('质量问题', outsider)).body.data.length, 0, 'not in the inbox: nothing');
    // The index is built after the commit, by the writer while it is idle: the message is found
    // before (the scan of what is not indexed yet) and after (the index), once either way.
    const db = (sql) => execFileSync('sqlite3', ['-readonly', join(srv.dataDir, 'parley.db'), sql]).toString().trim();
    let indexed = '';
    for (let i = 0; i < 100 && indexed !== '1'; i++) {
      indexed = db('SELECT indexed_to >= (SELECT MAX(id) FROM messages) FROM fts_state');
      if (indexed !== '1') await sleep(50);
    }
    assert.equal(indexed, '1', 'the search index caught up with the messages');
    assert.equal(db("SELECT COUNT(*) FROM messages_fts WHERE messages_fts MATCH '\"质量问题\"'"), '1');
    assert.equal((await search('质量问题')).body.data.length, 1, 'found once through the index');
  });

  it('canned responses: any member reads, supervisors and admins write, short codes unique', async () => {
    const C = `${A}/canned_responses`;
    const c = await srv.request('POST', C, { token: admin, body: { short_code: 'refund', content: 'Refunds take 3-5 days.' } });
    assert.equal(c.status, 201, c.text);
    assert.equal((await srv.request('POST', C, { token: admin, body: { short_code: 'refund', content: 'again' } })).status, 409);
    assert.equal((await srv.request('POST', C, { token: admin, body: { short_code: 'has space', content: 'x' } })).body.error.field, 'short_code');
    assert.equal((await srv.request('POST', C, { token: admin, body: { short_code: 'x' } })).body.error.field, 'content');
    assert.equal((await srv.request('POST', C, { token: agent, body: { short_code: 'mine', content: 'x' } })).status, 403);
    await srv.request('POST', C, { token: admin, body: { short_code: '问候', content: '您好，很高兴为您服务！' } });
    const l = await srv.request('GET', `${C}?q=ref`, { token: agent });
    assert.deepEqual(l.body.data.map((x) => x.short_code), ['refund']);
    assert.equal((await srv.request('GET', `${C}?q=${encodeURIComponent('服务')}`, { token: agent })).body.data[0].short_code, '问候');
    const u = await srv.request('PATCH', `${C}/${c.body.id}`, { token: admin, body: { content: 'Refunds take 3 days.' } });
    assert.equal(u.body.content, 'Refunds take 3 days.');
    assert.equal((await srv.request('DELETE', `${C}/${c.body.id}`, { token: admin })).status, 204);
    assert.equal((await srv.request('GET', `${C}/${c.body.id}`, { token: admin })).status, 404);
  });

  it('attachments: typed, size-limited, stored once per content, sent with a message, fetched by capability URL', async () => {
    const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
      '1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082', 'hex');
    const up = (path, body, type, token) => srv.request('POST', path, { raw: body, headers: { 'content-type': type, authorization: `Bearer ${token}` } });
    const a1 = await up(`${A}/attachments?filename=${encodeURIComponent('截图.png')}`, png, 'image/png', admin);
    assert.equal(a1.status, 201, a1.text);
    assert.equal(a1.body.image, true);
    assert.equal(a1.body.filename, '截图.png');
    assert.equal(a1.body.sha256, undefined, 'the content hash is not shown (it used to be the download key)');
    assert.match(a1.body.url, /^\/api\/v1\/attachments\/\d+\?t=[0-9a-f]{64}$/);
    const a2 = await up(`${A}/attachments?filename=again.png`, png, 'image/png', admin);
    assert.notEqual(a2.body.url, a1.body.url, 'same content, same file on disk, but its own download token');
    assert.equal((await up(`${A}/attachments`, Buffer.from('not a png'), 'image/png', admin)).status, 422);
    assert.equal((await up(`${A}/attachments`, Buffer.from('MZ...'), 'application/x-msdownload', admin)).status, 415);
    assert.equal((await up(`${A}/attachments`, Buffer.alloc(11 * 1024 * 1024, 1), 'text/plain', admin)).status, 413);
    const big = await up(`${A}/attachments?filename=big.txt`, Buffer.alloc(2 * 1024 * 1024, 65), 'text/plain', admin);
    assert.equal(big.status, 201, 'uploads may exceed max-body (1 MiB), up to max-upload');

    const get = await fetch(srv.url + a1.body.url);
    assert.equal(get.status, 200);
    assert.equal(get.headers.get('content-type'), 'image/png');
    assert.equal(get.headers.get('x-content-type-options'), 'nosniff');
    assert.deepEqual(Buffer.from(await get.arrayBuffer()), png);
    assert.equal((await fetch(`${srv.url}/api/v1/attachments/${a1.body.id}?k=${'0'.repeat(64)}`)).status, 404);
    assert.equal((await fetch(`${srv.url}/api/v1/attachments/${a1.body.id}?t=${'0'.repeat(64)}`)).status, 404);

    // A visitor uploads and sends it; the agent cannot send the visitor's upload as their own.
    const s = (await session({ widget_token: widgetToken })).body;
    const va = await up('/api/v1/widget/attachments?filename=photo.png', png, 'image/png', s.visitor_token);
    assert.equal(va.status, 201, va.text);
    assert.equal((await up('/api/v1/widget/attachments', png, 'image/png', 'v1.bad')).status, 401);
    const { ws: v } = await connect(srv, `/ws?token=${s.visitor_token}`);
    await v.sendJson({ type: 'message.send', client_id: 'att-1', content: '', attachment_ids: [va.body.id] });
    const ack = await v.waitFor(isText('ack'), 5000, 'ack');
    assert.equal(ack.json.data.attachments[0].url, va.body.url);
    await v.sendJson({ type: 'message.send', client_id: 'att-2', content: 'x', attachment_ids: [a1.body.id] });
    assert.equal((await v.waitFor(isText('error'), 5000, 'err')).json.field, 'attachment_ids');
    v.destroy();
  });

  it('contact details from the offline form and the pre-chat form', async () => {
    const inbox = (await srv.request('GET', `${A}/inboxes`, { token: admin })).body.data.find((i) => i.channel === 'web');
    const pf = await srv.request('PATCH', `${A}/inboxes/${inbox.id}`, { token: admin, body: { prechat_fields: [
      { name: 'name', label: 'Name', type: 'text', required: true },
      { name: 'email', label: 'E-mail', type: 'email', required: true },
      { name: 'order_no', label: 'Order number', type: 'number', required: false }] } });
    assert.equal(pf.status, 200, pf.text);
    const s0 = (await session({ widget_token: widgetToken })).body;
    assert.equal(s0.inbox.prechat_fields.length, 3);
    const bad = await session({ widget_token: widgetToken, visitor_id: s0.visitor_id, prechat: { name: 'Ann' } });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.error.field, 'email');
    assert.equal((await session({ widget_token: widgetToken, prechat: { name: 'A', email: 'a@b.co', shoe: 42 } })).status, 422);
    const ok = await session({ widget_token: widgetToken, visitor_id: s0.visitor_id, prechat: { name: 'Ann', email: 'Ann@Example.com', order_no: '42' } });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.contact.name, 'Ann');
    assert.equal(ok.body.contact.email, 'ann@example.com');
    assert.equal(ok.body.contact.prechat.order_no, '42');
    const { ws: v } = await connect(srv, `/ws?token=${ok.body.visitor_token}`);
    await v.sendJson({ type: 'message.send', client_id: 'pc-1', content: 'where is my order' });
    const cid = (await v.waitFor(isText('ack'), 5000, 'ack')).json.data.conversation_id;
    v.destroy();
    const conv = (await srv.request('GET', `${A}/conversations/${cid}`, { token: admin })).body;
    assert.equal(conv.prechat.order_no, '42');
    // The offline form: the visitor leaves a phone number.
    const wc = await srv.request('PATCH', '/api/v1/widget/contact', { body: { phone: '+1 555 0100' }, headers: { authorization: `Bearer ${ok.body.visitor_token}` } });
    assert.equal(wc.status, 200, wc.text);
    assert.equal(wc.body.phone, '+1 555 0100');
    assert.equal((await srv.request('PATCH', '/api/v1/widget/contact', { body: { email: 'nope' }, headers: { authorization: `Bearer ${ok.body.visitor_token}` } })).status, 422);
    await srv.request('PATCH', `${A}/inboxes/${inbox.id}`, { token: admin, body: { prechat_fields: [] } });
  });
});

describe('the /demo page', () => {
  it('serves the shop page with the first web inbox token filled in; another inbox by its widget token, or by id for its members', async () => {
    const web = mkdtempSync(join(tmpdir(), 'parley-web-'));
    writeFileSync(join(web, 'demo.html'), '<html><script src="/widget.js" data-widget-token="{{WIDGET_TOKEN}}"></script></html>');
    const srv = await startServer({ env: { PARLEY_WEB_DIR: web } });
    try {
      const admin = (await srv.login()).token;
      const inbox = (await srv.request('GET', '/api/v1/accounts/1/inboxes', { token: admin })).body.data[0];
      const r = await srv.request('GET', '/demo');
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type'), /text\/html/);
      assert.ok(r.text.includes(`data-widget-token="${inbox.widget_token}"`), r.text);
      assert.equal((await srv.request('GET', '/demo?inbox_id=999')).status, 401, 'an inbox by id needs a signed-in member');
      assert.equal((await srv.request('GET', '/demo?inbox_id=999', { token: admin })).status, 404);
      const byId = await srv.request('GET', `/demo?inbox_id=${inbox.id}`, { token: admin });
      assert.equal(byId.status, 200);
      assert.ok(byId.text.includes(`data-widget-token="${inbox.widget_token}"`));
      const byToken = await srv.request('GET', `/demo?widget_token=${inbox.widget_token}`);
      assert.equal(byToken.status, 200, 'by its (public) widget token, no sign-in is needed');
      assert.ok(byToken.text.includes(`data-widget-token="${inbox.widget_token}"`));
      assert.equal((await srv.request('GET', '/demo?widget_token=nope')).status, 404);
      // the page may not be framed by another site and runs only our scripts
      assert.match(r.headers.get('content-security-policy') || '', /frame-ancestors 'none'/);
      assert.match(r.headers.get('content-security-policy') || '', /script-src 'self'/);
      assert.equal(r.headers.get('x-frame-options'), 'DENY');
    } finally {
      await srv.stop();
      srv.cleanup();
      rmSync(web, { recursive: true, force: true });
    }
  });
});
