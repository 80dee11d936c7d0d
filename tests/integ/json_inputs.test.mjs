// Every JSON input the server takes, fed the values a client can get wrong: each field as null, as
// each JSON type it is not, and left out where it is required; bodies that are not JSON or not sent
// as JSON; integers past 64 bits, deep nesting, long strings and arrays. Each answer must be the
// error docs/api.md promises (422 validation_failed naming the field, 400 invalid_json, 415), and
// nothing may change: the resource reads back the same. The endpoints, their valid bodies and their
// fields are one table (the REST routes of src/api/*.c, the WebSocket commands of ws_proto.c); the
// cases are generated from it. The fields the API documents as nullable are checked to take null.
// Identifiers (labels, short codes, team, skill, intent and flow names, attribute keys) refuse
// invisible and direction-control characters, display names control and override characters, and
// free text keeps them.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, ADMIN_EMAIL, ADMIN_PASSWORD } from '../lib/server.mjs';
import { openWs } from './lib/ws.mjs';

const A = '/api/v1/accounts/1';
const isText = (t) => (e) => e.kind === 'text' && e.json?.type === t;

// What each field type is not: every other JSON type (and, for ids, numbers that are no id).
const WRONG = {
  string: [1, 1.5, true, [], {}],
  enum: [1, true, [], {}, 'no-such-value'],
  int: ['1', 1.5, true, [], {}],
  id: ['1', 1.5, true, [], {}, 0, -1],
  bool: [1, 'true', [], {}],
  number: ['0.5', true, [], {}],
  array: ['x', 1, true, {}],
  object: ['x', 1, true, []],
};

const clone = (v) => JSON.parse(JSON.stringify(v));

// "bot.mode", "steps[0].text": the path to a field, as the server names it.
function tokens(path) {
  const out = [];
  for (const part of path.split('.')) {
    const m = /^([^[]+)((?:\[\d+\])*)$/.exec(part);
    out.push(m[1]);
    for (const i of m[2].matchAll(/\[(\d+)\]/g)) out.push(Number(i[1]));
  }
  return out;
}

function setPath(obj, path, value) {
  const t = tokens(path);
  let o = obj;
  for (let i = 0; i < t.length - 1; i++) {
    if (o[t[i]] === undefined || o[t[i]] === null || typeof o[t[i]] !== 'object') o[t[i]] = typeof t[i + 1] === 'number' ? [] : {};
    o = o[t[i]];
  }
  if (value === undefined) {
    if (Array.isArray(o)) o.splice(t[t.length - 1], 1);
    else delete o[t[t.length - 1]];
  } else o[t[t.length - 1]] = value;
  return obj;
}

const show = (v) => (v === undefined ? 'absent' : JSON.stringify(v));

// The cases of one field: null (unless the API documents it), each wrong type, absent if required.
function fieldCases(f) {
  const values = [];
  if (!f.nullable) values.push(null);
  values.push(...WRONG[f.type], ...(f.extra ?? []));
  if (f.required) values.push(undefined);
  return values.map((v) => ({ value: v, field: f.field ?? f.path }));
}

describe('JSON inputs', () => {
  let srv, admin, ctx;
  const req = (method, path, body, token = admin) => srv.request(method, path, { token, body });
  const ok = async (method, path, body, token) => {
    const r = await req(method, path, body, token);
    assert.ok(r.status >= 200 && r.status < 300, `${method} ${path}: ${r.status} ${r.text}`);
    return r.body;
  };

  before(async () => {
    srv = await startServer();
    admin = (await srv.login()).token;
    ctx = {};
    const me = await ok('GET', '/api/v1/me');
    ctx.adminId = me.id;
    ctx.agent = await ok('POST', `${A}/users`, { email: 'json-agent@example.com', name: 'Jay Agent', password: 'agent-pass-1', role: 'agent' });
    ctx.team = await ok('POST', `${A}/teams`, { name: 'JSON team' });
    ctx.inbox = await ok('POST', `${A}/inboxes`, { name: 'JSON inbox', channel: 'web' });
    await ok('PUT', `${A}/inboxes/${ctx.inbox.id}/members`, { user_ids: [ctx.agent.id] });
    // a visitor writes: a conversation, a contact and a customer message
    const s = await ok('POST', '/api/v1/widget/sessions', { widget_token: ctx.inbox.widget_token });
    ctx.visitorToken = s.visitor_token;
    ctx.contactId = s.contact.id;
    const v = await openWs(srv.port, `/ws?token=${s.visitor_token}`);
    assert.equal(v.status, 101);
    await v.ws.waitFor(isText('hello'), 5000, 'hello');
    await v.ws.sendJson({ type: 'message.send', client_id: 'json-v-1', content: 'I would like a refund' });
    const ack = (await v.ws.waitFor(isText('ack'), 5000, 'ack')).json;
    ctx.convId = ack.data.conversation_id;
    ctx.messageId = ack.data.id;
    v.ws.destroy();
    ctx.canned = await ok('POST', `${A}/canned_responses`, { short_code: 'json-hi', content: 'Hello!' });
    ctx.category = await ok('POST', `${A}/kb/categories`, { name: 'JSON category' });
    ctx.article = await ok('POST', `${A}/kb/articles`, { title: 'JSON article', body: 'Text', category_id: ctx.category.id });
    ctx.faq = await ok('POST', `${A}/faqs`, { question: 'How do JSON inputs work?', answer: 'Strictly.' });
    ctx.intent = await ok('POST', `${A}/intents`, { name: 'json_refund', examples: ['I want my money back'], action: 'answer', answer: 'Sure.' });
    ctx.flow = await ok('POST', `${A}/bot/flows`, { name: 'JSON flow', steps: [{ id: 's1', kind: 'message', text: 'Hi' }] });
    ctx.rule = await ok('POST', `${A}/routing_rules`, { name: 'JSON rule', conditions: [{ field: 'label', operator: 'equals', value: 'vip' }], actions: { priority: 'high' } });
  });

  after(async () => {
    // a crash anywhere shows here too: the server must still be up and clean
    assert.equal(srv.proc.exitCode, null, `parleyd exited: ${srv.stderr.slice(-2000)}`);
    await srv.stop();
    srv.cleanup();
  });

  // ---- the table: every endpoint that takes a JSON body ----
  // path(ctx), body(ctx): a valid body (sent last, to show the table is right); snap(ctx): what
  // must not change (undefined: nothing to read back); fields: [{path, type, required, nullable,
  // field (the name the error gives when it is not the path)}].
  const users = () => req('GET', `${A}/users?limit=200`).then((r) => r.body.data);
  const count = (path) => () => req('GET', path).then((r) => r.body.meta?.total ?? r.body.data.length);
  const one = (path) => (c) => req('GET', path(c)).then((r) => r.body);
  const conv = one((c) => `${A}/conversations/${c.convId}`);
  const ROUTING = [
    { path: 'routing', type: 'object' },
    { path: 'routing.strategy', type: 'enum' },
    { path: 'routing.weights', type: 'object' },
    { path: 'routing.weights.skill', type: 'number' },
    { path: 'routing.overflow_team_id', type: 'id', nullable: true },
    { path: 'routing.overflow_after_seconds', type: 'int', extra: [-1, 86401] },
    { path: 'routing.reroute_after_seconds', type: 'int' },
    { path: 'routing.vip_attribute', type: 'string', extra: ['a b'] },
  ];
  const BOT = [
    { path: 'bot', type: 'object' },
    { path: 'bot.mode', type: 'enum' },
    { path: 'bot.greeting', type: 'string' },
    { path: 'bot.threshold', type: 'number', extra: [0, 1, 0.049] },
    { path: 'bot.handoff_keywords', type: 'array', extra: [[null], [1], ['']] },
    { path: 'bot.collect_fields', type: 'array', extra: [[null], ['age']] },
    { path: 'bot.hours', type: 'object' },
    { path: 'bot.hours.utc_offset_minutes', type: 'int', extra: [841, -721] },
    { path: 'bot.hours.days', type: 'object' },
    { path: 'bot.hours.days.mon', type: 'array', extra: [[['18:00', '09:00']], [[null, '10:00']], [{}]] },
    { path: 'bot.negative_priority', type: 'bool' },
    { path: 'bot.greeting_flows', type: 'array', extra: [[null], ['1'], [0]] },
  ];
  // manual, no timers: nothing moves the test's conversation while it is being read back
  const routingBody = (c) => ({ strategy: 'manual', weights: { skill: 2 }, overflow_team_id: c.team.id, overflow_after_seconds: 0, reroute_after_seconds: 0, vip_attribute: 'vip' });
  const botBody = (c) => ({ mode: 'always', greeting: 'Hi', threshold: 0.6, handoff_keywords: ['agent'], collect_fields: ['email'], hours: { utc_offset_minutes: 60, days: { mon: [['09:00', '17:00']] } }, negative_priority: true, greeting_flows: [c.flow.id] });
  const INBOX = [
    { path: 'greeting', type: 'string' },
    { path: 'offline_message', type: 'string' },
    { path: 'widget_color', type: 'string', extra: ['red'] },
    { path: 'widget_title', type: 'string' },
    { path: 'prechat_fields', type: 'array', extra: [[null], [{ name: 'x' }]] },
    ...ROUTING,
    ...BOT,
  ];
  const PROFILE = [
    { path: 'capacity', type: 'int', nullable: true, extra: [101, -1] },
    { path: 'skills', type: 'array', extra: [[null], [{ name: 'x' }], [{ name: 'x', level: 6 }]] },
    { path: 'languages', type: 'array', extra: [[null], ['english!']] },
    { path: 'region', type: 'string', nullable: true },
  ];
  const KB_LOCALE = { path: 'locale', type: 'enum' };
  const STEPS = [
    { path: 'steps', type: 'array', extra: [[]] },
    { path: 'steps[0].id', type: 'string', required: true },
    { path: 'steps[0].kind', type: 'enum', required: true },
    { path: 'steps[0].text', type: 'string', required: true },
    { path: 'steps[0].buttons', type: 'array' },
    { path: 'steps[0].next', type: 'object', nullable: true },
  ];
  const stepsBody = () => [{ id: 's1', kind: 'message', text: 'Hello', buttons: [], next: null }];

  const ENDPOINTS = [
    { name: 'POST /auth/login', method: 'POST', path: () => '/api/v1/auth/login', token: 'none',
      body: () => ({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD }),
      fields: [{ path: 'email', type: 'string', required: true }, { path: 'password', type: 'string', required: true }] },
    { name: 'PUT /me/availability', method: 'PUT', path: () => '/api/v1/me/availability',
      body: () => ({ status: 'away' }), snap: () => req('GET', '/api/v1/me').then((r) => r.body.availability),
      fields: [{ path: 'status', type: 'enum', required: true }] },
    { name: 'POST users', method: 'POST', path: () => `${A}/users`, snap: count(`${A}/users`),
      body: () => ({ email: 'json-new@example.com', name: 'New One', password: 'json-secret-4821', role: 'agent', capacity: 2, skills: [{ name: 'billing', level: 2 }], languages: ['en'], region: 'EU' }),
      fields: [{ path: 'email', type: 'string', required: true }, { path: 'name', type: 'string', required: true },
        { path: 'password', type: 'string', required: true }, { path: 'role', type: 'enum', required: true }, ...PROFILE] },
    { name: 'PATCH users/{id}', method: 'PATCH', path: (c) => `${A}/users/${c.agent.id}`,
      snap: (c) => users().then((l) => l.find((u) => u.id === c.agent.id)),
      body: () => ({ name: 'Jay Renamed', role: 'agent', capacity: 4, skills: [{ name: 'refunds', level: 3 }], languages: ['zh'], region: 'CN' }),
      fields: [{ path: 'name', type: 'string' }, { path: 'role', type: 'enum' }, ...PROFILE] },
    { name: 'POST api_tokens', method: 'POST', path: () => `${A}/api_tokens`, snap: count(`${A}/api_tokens`),
      body: () => ({ name: 'JSON token', expires_in_days: 30 }),
      fields: [{ path: 'name', type: 'string', required: true }, { path: 'expires_in_days', type: 'int', extra: [0, 3651] }] },
    { name: 'POST inboxes', method: 'POST', path: () => `${A}/inboxes`, snap: count(`${A}/inboxes`),
      body: (c) => ({ name: 'New inbox', channel: 'api', greeting: 'Hello', offline_message: 'Later', widget_color: '#112233', widget_title: 'Chat', prechat_fields: [{ name: 'order', label: 'Order', type: 'text', required: false }], routing: routingBody(c), bot: botBody(c) }),
      fields: [{ path: 'name', type: 'string', required: true }, { path: 'channel', type: 'enum', required: true }, ...INBOX] },
    { name: 'PATCH inboxes/{id}', method: 'PATCH', path: (c) => `${A}/inboxes/${c.inbox.id}`, snap: one((c) => `${A}/inboxes/${c.inbox.id}`),
      body: (c) => ({ name: 'JSON inbox renamed', greeting: 'Hello', offline_message: 'Later', widget_color: '#112233', widget_title: 'Chat', prechat_fields: [], routing: routingBody(c), bot: botBody(c) }),
      fields: [{ path: 'name', type: 'string' }, { path: 'channel', type: 'enum', extra: ['web'] }, ...INBOX] },
    { name: 'PUT inboxes/{id}/members', method: 'PUT', path: (c) => `${A}/inboxes/${c.inbox.id}/members`, snap: one((c) => `${A}/inboxes/${c.inbox.id}/members`),
      body: (c) => ({ user_ids: [c.agent.id, c.adminId] }),
      fields: [{ path: 'user_ids', type: 'array', required: true, extra: [[null], ['1'], [0], [1.5]] }] },
    { name: 'PATCH inboxes/{id}/members/{uid}', method: 'PATCH', path: (c) => `${A}/inboxes/${c.inbox.id}/members/${c.agent.id}`, snap: one((c) => `${A}/inboxes/${c.inbox.id}/members`),
      body: () => ({ capacity: 3 }),
      fields: [{ path: 'capacity', type: 'int', required: true, nullable: true, extra: [101, -1] }] },
    { name: 'PATCH conversations/{id}', method: 'PATCH', path: (c) => `${A}/conversations/${c.convId}`, snap: conv,
      body: (c) => ({ status: 'pending', priority: 'high', assignee_id: c.adminId, team_id: c.team.id }),
      fields: [{ path: 'status', type: 'enum' }, { path: 'priority', type: 'enum' },
        { path: 'assignee_id', type: 'id', nullable: true }, { path: 'team_id', type: 'id', nullable: true },
        { path: 'snoozed_until', type: 'string', nullable: true, extra: ['tomorrow'] }, { path: 'colour', type: 'string', field: 'body' }] },
    { name: 'POST conversations/{id}/labels', method: 'POST', path: (c) => `${A}/conversations/${c.convId}/labels`, snap: conv,
      body: () => ({ labels: ['vip'] }),
      fields: [{ path: 'labels', type: 'array', required: true, extra: [[], [null], [1], ['a b']] }] },
    { name: 'POST conversations/{id}/messages', method: 'POST', path: (c) => `${A}/conversations/${c.convId}/messages`,
      snap: (c) => req('GET', `${A}/conversations/${c.convId}/messages`).then((r) => r.body.data.length),
      body: () => ({ content: 'A note', private: true, client_id: 'json-note-1', attachment_ids: [] }),
      fields: [{ path: 'content', type: 'string', required: true, extra: ['   '] }, { path: 'private', type: 'bool' },
        { path: 'client_id', type: 'string', extra: ['', 'has space'] }, { path: 'attachment_ids', type: 'array', extra: [[null], ['1'], [0]] }] },
    { name: 'POST conversations/{id}/read', method: 'POST', path: (c) => `${A}/conversations/${c.convId}/read`, snap: conv,
      body: (c) => ({ message_id: c.messageId }),
      fields: [{ path: 'message_id', type: 'id', required: true }] },
    { name: 'PATCH contacts/{id}', method: 'PATCH', path: (c) => `${A}/contacts/${c.contactId}`, snap: one((c) => `${A}/contacts/${c.contactId}`),
      body: () => ({ name: 'Vera Visitor', email: 'vera@example.com', phone: '+1 555 0100', attributes: { plan: 'gold' } }),
      fields: [{ path: 'name', type: 'string' }, { path: 'email', type: 'string', extra: ['nope'] }, { path: 'phone', type: 'string', extra: ['call me'] },
        { path: 'attributes', type: 'object', nullable: true }] },
    { name: 'PUT messages/{mid}/sentiment', method: 'PUT', path: (c) => `${A}/conversations/${c.convId}/messages/${c.messageId}/sentiment`,
      snap: (c) => req('GET', `${A}/conversations/${c.convId}/messages`).then((r) => r.body.data.find((m) => m.id === c.messageId)),
      body: () => ({ label: 'negative' }),
      fields: [{ path: 'label', type: 'enum', required: true }] },
    { name: 'POST conversations/{id}/transfer', method: 'POST', path: (c) => `${A}/conversations/${c.convId}/transfer`,
      snap: (c) => Promise.all([conv(c), req('GET', `${A}/conversations/${c.convId}/assignments`).then((r) => r.body.data.length)]),
      body: (c) => ({ team_id: c.team.id, note: 'Over to you' }),
      fields: [{ path: 'assignee_id', type: 'id' }, { path: 'team_id', type: 'id' }, { path: 'note', type: 'string' }] },
    { name: 'POST routing_rules', method: 'POST', path: () => `${A}/routing_rules`, snap: count(`${A}/routing_rules`),
      body: (c) => ({ name: 'New rule', inbox_id: c.inbox.id, position: 5, enabled: true, match: 'any', conditions: [{ field: 'message', operator: 'contains', value: 'refund' }], actions: { team_id: c.team.id, skill: 'billing', min_level: 2, priority: 'high' } }),
      fields: [{ path: 'name', type: 'string', required: true }, { path: 'inbox_id', type: 'id', nullable: true }, { path: 'position', type: 'int' },
        { path: 'enabled', type: 'bool' }, { path: 'match', type: 'enum' }, { path: 'conditions', type: 'array', required: true, extra: [[null], [{ field: 'label' }]] },
        { path: 'actions', type: 'object', required: true }, { path: 'actions.team_id', type: 'id', nullable: true }, { path: 'actions.skill', type: 'string', nullable: true },
        { path: 'actions.min_level', type: 'int', extra: [0, 6] }, { path: 'actions.priority', type: 'enum', nullable: true }, { path: 'actions.colour', type: 'string', field: 'actions' }] },
    { name: 'PATCH routing_rules/{id}', method: 'PATCH', path: (c) => `${A}/routing_rules/${c.rule.id}`, snap: one((c) => `${A}/routing_rules/${c.rule.id}`),
      body: (c) => ({ name: 'JSON rule 2', inbox_id: null, position: 3, enabled: false, match: 'all', conditions: [{ field: 'label', operator: 'equals', value: 'gold' }], actions: { team_id: c.team.id } }),
      fields: [{ path: 'name', type: 'string' }, { path: 'inbox_id', type: 'id', nullable: true }, { path: 'position', type: 'int' },
        { path: 'enabled', type: 'bool' }, { path: 'match', type: 'enum' }, { path: 'conditions', type: 'array' }, { path: 'actions', type: 'object' },
        { path: 'actions.team_id', type: 'id', nullable: true }, { path: 'actions.skill', type: 'string', nullable: true }] },
    { name: 'POST teams', method: 'POST', path: () => `${A}/teams`, snap: count(`${A}/teams`),
      body: () => ({ name: 'New team' }), fields: [{ path: 'name', type: 'string', required: true }] },
    { name: 'PATCH teams/{id}', method: 'PATCH', path: (c) => `${A}/teams/${c.team.id}`, snap: one((c) => `${A}/teams/${c.team.id}`),
      body: () => ({ name: 'JSON team 2' }), fields: [{ path: 'name', type: 'string', required: true }] },
    { name: 'PUT teams/{id}/members', method: 'PUT', path: (c) => `${A}/teams/${c.team.id}/members`, snap: one((c) => `${A}/teams/${c.team.id}`),
      body: (c) => ({ user_ids: [c.agent.id] }), fields: [{ path: 'user_ids', type: 'array', required: true, extra: [[null], [-3]] }] },
    { name: 'POST canned_responses', method: 'POST', path: () => `${A}/canned_responses`, snap: count(`${A}/canned_responses`),
      body: () => ({ short_code: 'json-new', content: 'Thanks!' }),
      fields: [{ path: 'short_code', type: 'string', required: true, extra: ['a b'] }, { path: 'content', type: 'string', required: true }] },
    { name: 'PATCH canned_responses/{id}', method: 'PATCH', path: (c) => `${A}/canned_responses/${c.canned.id}`, snap: one((c) => `${A}/canned_responses/${c.canned.id}`),
      body: () => ({ short_code: 'json-hello', content: 'Hello again' }),
      fields: [{ path: 'short_code', type: 'string' }, { path: 'content', type: 'string' }] },
    { name: 'POST kb/categories', method: 'POST', path: () => `${A}/kb/categories`, snap: count(`${A}/kb/categories`),
      body: () => ({ name: 'New category', description: 'd', locale: 'en', position: 2 }),
      fields: [{ path: 'name', type: 'string', required: true }, { path: 'description', type: 'string' }, KB_LOCALE, { path: 'position', type: 'int' }] },
    { name: 'PATCH kb/categories/{id}', method: 'PATCH', path: (c) => `${A}/kb/categories/${c.category.id}`, snap: one((c) => `${A}/kb/categories/${c.category.id}`),
      body: () => ({ name: 'Category 2', description: 'd2', locale: 'en', position: 4 }),
      fields: [{ path: 'name', type: 'string' }, { path: 'description', type: 'string' }, KB_LOCALE, { path: 'position', type: 'int' }] },
    { name: 'POST kb/articles', method: 'POST', path: () => `${A}/kb/articles`, snap: count(`${A}/kb/articles`),
      body: (c) => ({ title: 'New article', body: 'Body', locale: 'en', status: 'draft', category_id: c.category.id }),
      fields: [{ path: 'title', type: 'string', required: true }, { path: 'body', type: 'string' }, KB_LOCALE, { path: 'status', type: 'enum' },
        { path: 'category_id', type: 'id', nullable: true }] },
    { name: 'PATCH kb/articles/{id}', method: 'PATCH', path: (c) => `${A}/kb/articles/${c.article.id}`, snap: one((c) => `${A}/kb/articles/${c.article.id}`),
      body: () => ({ title: 'Article 2', body: 'Body 2', locale: 'en', status: 'published', category_id: null }),
      fields: [{ path: 'title', type: 'string' }, { path: 'body', type: 'string' }, KB_LOCALE, { path: 'status', type: 'enum' },
        { path: 'category_id', type: 'id', nullable: true }] },
    { name: 'POST faqs', method: 'POST', path: () => `${A}/faqs`, snap: count(`${A}/faqs`),
      body: () => ({ question: 'New question?', phrasings: ['Another way?'], answer: 'Yes.', locale: 'en', enabled: true }),
      fields: [{ path: 'question', type: 'string', required: true }, { path: 'phrasings', type: 'array', extra: [[null], [''], [1]] },
        { path: 'answer', type: 'string', required: true }, KB_LOCALE, { path: 'enabled', type: 'bool' }] },
    { name: 'PATCH faqs/{id}', method: 'PATCH', path: (c) => `${A}/faqs/${c.faq.id}`, snap: one((c) => `${A}/faqs/${c.faq.id}`),
      body: () => ({ question: 'Question 2?', phrasings: [], answer: 'No.', locale: 'zh', enabled: false }),
      fields: [{ path: 'question', type: 'string' }, { path: 'phrasings', type: 'array' }, { path: 'answer', type: 'string' }, KB_LOCALE,
        { path: 'enabled', type: 'bool' }] },
    { name: 'POST intents', method: 'POST', path: () => `${A}/intents`, snap: count(`${A}/intents`),
      body: (c) => ({ name: 'json_new', examples: ['where is my parcel'], action: 'route', answer: '', team_id: c.team.id, skill_id: null, fields: [], flow_id: null }),
      fields: [{ path: 'name', type: 'string', required: true, extra: ['bad name!'] }, { path: 'examples', type: 'array', required: true, extra: [[], [null]] },
        { path: 'action', type: 'enum' }, { path: 'answer', type: 'string' }, { path: 'team_id', type: 'id', nullable: true },
        { path: 'skill_id', type: 'id', nullable: true }, { path: 'fields', type: 'array', extra: [[null], [{ name: 'x' }]] },
        { path: 'flow_id', type: 'id', nullable: true }] },
    { name: 'PATCH intents/{id}', method: 'PATCH', path: (c) => `${A}/intents/${c.intent.id}`, snap: one((c) => `${A}/intents/${c.intent.id}`),
      body: () => ({ name: 'json_refund_2', examples: ['money back please'], answer: 'Of course.' }),
      fields: [{ path: 'name', type: 'string' }, { path: 'examples', type: 'array' }, { path: 'action', type: 'enum' }, { path: 'answer', type: 'string' },
        { path: 'team_id', type: 'id', nullable: true }, { path: 'fields', type: 'array' }] },
    { name: 'POST bot/test', method: 'POST', path: () => `${A}/bot/test`,
      body: () => ({ text: 'refund please', threshold: 0.5 }),
      fields: [{ path: 'text', type: 'string', required: true }, { path: 'threshold', type: 'number', extra: [0, 1] }] },
    { name: 'POST bot/flows', method: 'POST', path: () => `${A}/bot/flows`, snap: count(`${A}/bot/flows`),
      body: () => ({ name: 'New flow', button_label: 'Go', enabled: true, steps: stepsBody() }),
      fields: [{ path: 'name', type: 'string', required: true }, { path: 'button_label', type: 'string' }, { path: 'enabled', type: 'bool' },
        { ...STEPS[0], required: true }, ...STEPS.slice(1)] },
    { name: 'PATCH bot/flows/{id}', method: 'PATCH', path: (c) => `${A}/bot/flows/${c.flow.id}`, snap: one((c) => `${A}/bot/flows/${c.flow.id}`),
      body: () => ({ name: 'JSON flow 2', button_label: 'Start', enabled: false, steps: stepsBody() }),
      fields: [{ path: 'name', type: 'string' }, { path: 'button_label', type: 'string' }, { path: 'enabled', type: 'bool' }, ...STEPS] },
    { name: 'POST widget/sessions', method: 'POST', path: () => '/api/v1/widget/sessions', token: 'none',
      body: (c) => ({ widget_token: c.inbox.widget_token, visitor_id: 'json-unknown-visitor', page_url: 'https://shop.example/cart', locale: 'en', contact: { name: 'Val', email: 'val@example.com', phone: '+1 555 0102' }, prechat: {} }),
      fields: [{ path: 'widget_token', type: 'string', required: true }, { path: 'visitor_id', type: 'string', nullable: true },
        { path: 'page_url', type: 'string', extra: ['javascript:alert(1)'] }, { path: 'locale', type: 'string' },
        { path: 'contact', type: 'object', nullable: true }, { path: 'contact.name', type: 'string' }, { path: 'contact.email', type: 'string' },
        { path: 'contact.phone', type: 'string' }, { path: 'prechat', type: 'object', nullable: true }, { path: 'prechat.order', type: 'string', field: 'prechat' }] },
    { name: 'PATCH widget/contact', method: 'PATCH', path: () => '/api/v1/widget/contact', token: 'visitor', snap: one((c) => `${A}/contacts/${c.contactId}`),
      body: () => ({ name: 'Vee', email: 'vee@example.com', phone: '+1 555 0101' }),
      fields: [{ path: 'name', type: 'string' }, { path: 'email', type: 'string' }, { path: 'phone', type: 'string' }] },
  ];

  const tokenFor = (e) => (e.token === 'none' ? undefined : e.token === 'visitor' ? ctx.visitorToken : admin);

  it('the table covers every JSON route of the API', () => {
    // POST/PUT/PATCH routes that take a JSON body (src/api/*.c router_add); uploads, logout, bot/train
    // and widget/handoff take none
    const routes = new Set(ENDPOINTS.map((e) => e.name.split(' ')[0] + ' ' + e.name.split(' ')[1].replace(/\{[a-z]+\}/g, '{}')));
    for (const r of ['POST /auth/login', 'PUT /me/availability', 'POST users', 'PATCH users/{}', 'POST api_tokens', 'POST inboxes',
      'PATCH inboxes/{}', 'PUT inboxes/{}/members', 'PATCH inboxes/{}/members/{}', 'PATCH conversations/{}', 'POST conversations/{}/labels',
      'POST conversations/{}/messages', 'POST conversations/{}/read', 'PATCH contacts/{}', 'PUT messages/{}/sentiment',
      'POST conversations/{}/transfer', 'POST routing_rules', 'PATCH routing_rules/{}', 'POST teams', 'PATCH teams/{}', 'PUT teams/{}/members',
      'POST canned_responses', 'PATCH canned_responses/{}', 'POST kb/categories', 'PATCH kb/categories/{}', 'POST kb/articles',
      'PATCH kb/articles/{}', 'POST faqs', 'PATCH faqs/{}', 'POST intents', 'PATCH intents/{}', 'POST bot/test', 'POST bot/flows',
      'PATCH bot/flows/{}', 'POST widget/sessions', 'PATCH widget/contact'])
      assert.ok(routes.has(r), `no cases for ${r}`);
  });

  for (const e of ENDPOINTS) {
    it(`${e.name}: null, wrong types and missing fields are 422 naming the field; nothing changes`, async () => {
      const before = e.snap ? await e.snap(ctx) : undefined;
      for (const f of e.fields) {
        for (const c of fieldCases(f)) {
          const body = setPath(clone(e.body(ctx)), f.path, c.value);
          const r = await srv.request(e.method, e.path(ctx), { token: tokenFor(e), body });
          const what = `${e.name} with ${f.path} ${show(c.value)}: ${r.status} ${r.text}`;
          assert.equal(r.status, 422, what);
          assert.equal(r.body?.error?.code, 'validation_failed', what);
          assert.equal(r.body.error.field, c.field, what);
          assert.ok(typeof r.body.error.message === 'string' && r.body.error.message.length > 0, what);
        }
        if (e.snap) assert.deepEqual(await e.snap(ctx), before, `${e.name}: a refused ${f.path} changed something`);
      }
      // the table's body itself is right: it is taken
      const r = await srv.request(e.method, e.path(ctx), { token: tokenFor(e), body: e.body(ctx) });
      assert.ok(r.status >= 200 && r.status < 300, `${e.name} with the valid body: ${r.status} ${r.text}`);
    });
  }

  it('the PATCH inbox case of the review: {"bot":{"mode":null}} is a 422 on bot.mode, and the server lives', async () => {
    const before = (await req('GET', `${A}/inboxes/${ctx.inbox.id}`)).body;
    for (const body of [{ bot: { mode: null } }, { name: 'Renamed', bot: { mode: null } }, { bot: { mode: 'always', threshold: null } }]) {
      const r = await req('PATCH', `${A}/inboxes/${ctx.inbox.id}`, body);
      assert.equal(r.status, 422, r.text);
      assert.equal(r.body.error.code, 'validation_failed');
      assert.equal(r.body.error.field, body.bot.threshold === null ? 'bot.threshold' : 'bot.mode');
    }
    assert.match((await req('PATCH', `${A}/inboxes/${ctx.inbox.id}`, { bot: { mode: null } })).body.error.message,
      /^bot\.mode must be one of: off, always, outside_hours; null is not allowed\.$/);
    assert.deepEqual((await req('GET', `${A}/inboxes/${ctx.inbox.id}`)).body, before);
    assert.equal((await req('GET', '/healthz')).status, 200);
  });

  it('bodies that are not a JSON object are 400 invalid_json, and not sent as JSON 415, on every route', async () => {
    for (const e of ENDPOINTS) {
      for (const raw of ['', '{"a":', '[]', '"x"', 'null', '{"a":1,"a":2}', '{"a":"\\u0000"}', '{"n":9223372036854775808}', '{"n":1e400}']) {
        const r = await srv.request(e.method, e.path(ctx), { token: tokenFor(e), raw, headers: { 'content-type': 'application/json' } });
        assert.equal(r.status, 400, `${e.name} ${raw}: ${r.status} ${r.text}`);
        assert.equal(r.body.error.code, 'invalid_json', `${e.name} ${raw}`);
        assert.equal(r.body.error.field, undefined);
      }
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', undefined]) {
        const headers = type ? { 'content-type': type } : {};
        const r = await srv.request(e.method, e.path(ctx), { token: tokenFor(e), raw: JSON.stringify(e.body(ctx)), headers });
        assert.equal(r.status, 415, `${e.name} as ${type}: ${r.status} ${r.text}`);
        assert.equal(r.body.error.code, 'unsupported_media_type');
      }
    }
  });

  it('big inputs: integers at the 64-bit bounds, long strings, long arrays, deep nesting', async () => {
    const patch = (body) => req('PATCH', `${A}/conversations/${ctx.convId}`, body);
    for (const id of [9223372036854775807n, -9223372036854775808n]) {
      const r = await srv.request('PATCH', `${A}/conversations/${ctx.convId}`, { token: admin, raw: `{"team_id":${id}}`, headers: { 'content-type': 'application/json' } });
      assert.equal(r.status, 422, r.text);
      assert.equal(r.body.error.field, 'team_id');
    }
    assert.equal((await patch({ priority: 'x'.repeat(100000) })).body.error.field, 'priority');
    const long = await req('POST', `${A}/teams`, { name: '名'.repeat(61) });
    assert.equal(long.status, 422);
    assert.match(long.body.error.message, /at most 60 characters/);
    const ids = await req('PUT', `${A}/teams/${ctx.team.id}/members`, { user_ids: Array.from({ length: 20000 }, (_, i) => i + 1) });
    assert.equal(ids.status, 422, ids.text);
    assert.equal(ids.body.error.field, 'user_ids');
    const labels = await req('POST', `${A}/conversations/${ctx.convId}/labels`, { labels: Array.from({ length: 21 }, (_, i) => `l${i}`) });
    assert.equal(labels.body.error.field, 'labels');
    // 3000 levels: over the parser's limit; 1500: parsed, then too big for attributes
    const deep = (n) => '{"attributes":' + '{"a":'.repeat(n) + '1' + '}'.repeat(n) + '}';
    const d3 = await srv.request('PATCH', `${A}/contacts/${ctx.contactId}`, { token: admin, raw: deep(3000), headers: { 'content-type': 'application/json' } });
    assert.equal(d3.status, 400, d3.text);
    const d15 = await srv.request('PATCH', `${A}/contacts/${ctx.contactId}`, { token: admin, raw: deep(1500), headers: { 'content-type': 'application/json' } });
    assert.equal(d15.status, 422, d15.text);
    assert.equal(d15.body.error.field, 'attributes');
    const attrs = await req('PATCH', `${A}/contacts/${ctx.contactId}`, { attributes: { note: 'x'.repeat(9000) } });
    assert.equal(attrs.body.error.field, 'attributes');
    const huge = await req('POST', `${A}/bot/flows`, { name: 'Huge', steps: Array.from({ length: 51 }, (_, i) => ({ id: `s${i}`, kind: 'end' })) });
    assert.equal(huge.body.error.field, 'steps');
  });

  it('the fields documented as nullable take null, and it means what docs/api.md says', async () => {
    // PATCH members/{uid} capacity null: the agent's own
    await ok('PATCH', `${A}/inboxes/${ctx.inbox.id}/members/${ctx.agent.id}`, { capacity: 5 });
    const m = await ok('PATCH', `${A}/inboxes/${ctx.inbox.id}/members/${ctx.agent.id}`, { capacity: null });
    assert.equal(m.capacity, null);
    // users: capacity null (no limit), region null (cleared)
    const u = await ok('PATCH', `${A}/users/${ctx.agent.id}`, { capacity: null, region: null });
    assert.deepEqual([u.capacity, u.region], [null, '']);
    // conversations: assignee_id, team_id null; snoozed_until null (until the customer writes)
    await ok('PATCH', `${A}/conversations/${ctx.convId}`, { assignee_id: ctx.adminId, team_id: ctx.team.id });
    let c = await ok('PATCH', `${A}/conversations/${ctx.convId}`, { assignee_id: null, team_id: null });
    assert.deepEqual([c.assignee_id, c.team_id], [null, null]);
    c = await ok('PATCH', `${A}/conversations/${ctx.convId}`, { status: 'snoozed', snoozed_until: null });
    assert.deepEqual([c.status, c.snoozed_until], ['snoozed', null]);
    await ok('PATCH', `${A}/conversations/${ctx.convId}`, { status: 'open' });
    // contacts: attributes null clears them
    await ok('PATCH', `${A}/contacts/${ctx.contactId}`, { attributes: { plan: 'gold' } });
    const ct = await ok('PATCH', `${A}/contacts/${ctx.contactId}`, { attributes: null });
    assert.deepEqual(ct.attributes, {});
    // inbox routing: overflow_team_id null
    const ib = await ok('PATCH', `${A}/inboxes/${ctx.inbox.id}`, { routing: { overflow_team_id: null } });
    assert.equal(ib.routing.overflow_team_id, null);
    // rules: inbox_id null (every inbox), actions null (no such action)
    const rl = await ok('PATCH', `${A}/routing_rules/${ctx.rule.id}`, { inbox_id: null, actions: { team_id: null, skill: null, priority: 'low' } });
    assert.equal(rl.inbox_id, null);
    assert.deepEqual(rl.actions, { priority: 'low' });
    // articles: category_id null; intents: team_id, skill_id, flow_id null
    assert.equal((await ok('PATCH', `${A}/kb/articles/${ctx.article.id}`, { category_id: null })).category_id, null);
    const it2 = await ok('PATCH', `${A}/intents/${ctx.intent.id}`, { team_id: null, skill_id: null, flow_id: null });
    assert.deepEqual([it2.team_id, it2.skill_id, it2.flow_id], [null, null, null]);
    // flows: a message's next and a handoff's team and skill
    const fl = await ok('PATCH', `${A}/bot/flows/${ctx.flow.id}`, { steps: [{ id: 'a', kind: 'message', text: 'x', next: null }, { id: 'h', kind: 'handoff', team_id: null, skill_id: null }] });
    assert.equal(fl.steps[0].next, null);
    // widget sessions: visitor_id null is a new visitor; contact and prechat null are none
    const s = await ok('POST', '/api/v1/widget/sessions', { widget_token: ctx.inbox.widget_token, visitor_id: null, contact: null, prechat: null }, undefined);
    assert.ok(s.visitor_id && s.visitor_id !== null);
  });

  // ---- identifiers and names (defect 12) ----
  const HIDDEN = { '\u202E': 'U+202E', '\u200B': 'U+200B', '\u200F': 'U+200F', '\uFEFF': 'U+FEFF', '\u2066': 'U+2066', '\u00AD': 'U+00AD', '\u2060': 'U+2060', '\u0007': 'U+0007', '\u0085': 'U+0085' };
  const BIDI = { '\u202E': 'U+202E', '\u202A': 'U+202A', '\u2067': 'U+2067', '\u0001': 'U+0001', '\u009B': 'U+009B' };

  it('identifiers refuse invisible and direction-control characters, saying which', async () => {
    const cases = [
      ['POST', () => `${A}/conversations/${ctx.convId}/labels`, (x) => ({ labels: [`vip${x}`] }), 'labels', 'label must not contain'],
      ['POST', () => `${A}/canned_responses`, (x) => ({ short_code: `re${x}fund`, content: 'x' }), 'short_code', 'short_code must not contain'],
      ['PATCH', () => `${A}/canned_responses/${ctx.canned.id}`, (x) => ({ short_code: `${x}hi` }), 'short_code', 'short_code must not contain'],
      ['POST', () => `${A}/teams`, (x) => ({ name: `Billing${x}` }), 'name', 'name must not contain'],
      ['POST', () => `${A}/intents`, (x) => ({ name: `refund${x}`, examples: ['x'] }), 'name', 'name must not contain'],
      ['POST', () => `${A}/bot/flows`, (x) => ({ name: `Returns${x}`, steps: [{ id: 'a', kind: 'end' }] }), 'name', 'name must not contain'],
      ['PATCH', () => `${A}/users/${ctx.agent.id}`, (x) => ({ skills: [{ name: `billing${x}`, level: 2 }] }), 'skills', 'skill 1:'],
      ['POST', () => `${A}/routing_rules`, (x) => ({ name: 'r', conditions: [{ field: 'label', operator: 'equals', value: 'a' }], actions: { skill: `vip${x}` } }), 'actions.skill', 'must not contain'],
      ['PATCH', () => `${A}/contacts/${ctx.contactId}`, (x) => ({ attributes: { [`plan${x}`]: 'gold' } }), 'attributes', "attribute's name must not contain"],
    ];
    for (const [method, path, body, field, says] of cases) {
      for (const [ch, cp] of Object.entries(HIDDEN)) {
        const r = await req(method, path(), body(ch));
        const what = `${method} ${path()} with ${cp}: ${r.status} ${r.text}`;
        assert.equal(r.status, 422, what);
        assert.equal(r.body.error.field, field, what);
        assert.ok(r.body.error.message.includes(says) && r.body.error.message.includes(`(${cp})`), what);
      }
    }
    // the exact message for a label
    const r = await req('POST', `${A}/conversations/${ctx.convId}/labels`, { labels: ['vip\u202E'] });
    assert.equal(r.body.error.message, 'label must not contain invisible or direction-control characters (U+202E).');
    // visible letters of any script still are identifiers
    const good = await req('POST', `${A}/conversations/${ctx.convId}/labels`, { labels: ['退款', 'عربي', 'Señal'] });
    assert.equal(good.status, 200, good.text);
    assert.deepEqual(good.body.labels.filter((l) => l !== 'vip').sort(), ['Señal', 'عربي', '退款'].sort());
  });

  it('display names refuse control and direction-override characters; free text keeps them', async () => {
    const cases = [
      ['PATCH', () => `${A}/contacts/${ctx.contactId}`, (x) => ({ name: `Ann${x}Lee` }), 'name'],
      ['PATCH', () => '/api/v1/widget/contact', (x) => ({ name: `Ann${x}` }), 'name', 'visitor'],
      ['POST', () => '/api/v1/widget/sessions', (x) => ({ widget_token: ctx.inbox.widget_token, contact: { name: `A${x}` } }), 'contact.name', 'none'],
      ['PATCH', () => `${A}/inboxes/${ctx.inbox.id}`, (x) => ({ name: `Sales${x}` }), 'name'],
      ['POST', () => `${A}/users`, (x) => ({ email: 'bidi@example.com', name: `Eve${x}`, password: 'json-secret-4821', role: 'agent' }), 'name'],
      ['PATCH', () => `${A}/users/${ctx.agent.id}`, (x) => ({ region: `EU${x}` }), 'region'],
    ];
    for (const [method, path, body, field, who] of cases) {
      for (const [ch, cp] of Object.entries(BIDI)) {
        const token = who === 'visitor' ? ctx.visitorToken : who === 'none' ? undefined : admin;
        const r = await srv.request(method, path(), { token, body: body(ch) });
        const what = `${method} ${path()} with ${cp}: ${r.status} ${r.text}`;
        assert.equal(r.status, 422, what);
        assert.equal(r.body.error.field, field, what);
      }
    }
    const named = await req('PATCH', `${A}/contacts/${ctx.contactId}`, { name: 'Ann\u202ELee' });
    assert.equal(named.body.error.message, 'name must not contain control or direction-override characters (U+202E).');
    // a right-to-left name with its marks, and an emoji with a joiner, are names
    const rtl = await req('PATCH', `${A}/contacts/${ctx.contactId}`, { name: 'علي\u200F 👨\u200D💻' });
    assert.equal(rtl.status, 200, rtl.text);
    // message content and article bodies are free text: RTL writing needs the controls
    const note = await req('POST', `${A}/conversations/${ctx.convId}/messages`, { content: 'مرحبا \u202Bشكرا\u202C \u2067x\u2069', private: true });
    assert.equal(note.status, 201, note.text);
    assert.equal(note.body.content, 'مرحبا \u202Bشكرا\u202C \u2067x\u2069');
    const art = await req('PATCH', `${A}/kb/articles/${ctx.article.id}`, { body: 'Hello \u202Eworld\u200B' });
    assert.equal(art.status, 200, art.text);
    assert.equal(art.body.body, 'Hello \u202Eworld\u200B');
  });

  // ---- WebSocket commands ----
  it('WebSocket commands: null, wrong types and missing fields are an error frame naming the field; nothing is stored', async () => {
    const agentWs = await openWs(srv.port, `/ws?token=${admin}&account_id=1`);
    assert.equal(agentWs.status, 101);
    await agentWs.ws.waitFor(isText('hello'), 5000, 'hello');
    const visitorWs = await openWs(srv.port, `/ws?token=${ctx.visitorToken}`);
    assert.equal(visitorWs.status, 101);
    await visitorWs.ws.waitFor(isText('hello'), 5000, 'hello');
    const messages = async () => (await req('GET', `${A}/conversations/${ctx.convId}/messages?limit=200`)).body.data.length;
    const COMMANDS = [
      { name: 'message.send (agent)', ws: agentWs.ws, body: () => ({ type: 'message.send', conversation_id: ctx.convId, client_id: 'json-ws-1', content: 'note', private: true, attachment_ids: [] }),
        fields: [{ path: 'conversation_id', type: 'id', required: true }, { path: 'client_id', type: 'string', required: true }, { path: 'content', type: 'string' },
          { path: 'private', type: 'bool' }, { path: 'attachment_ids', type: 'array' }, { path: 'payload', type: 'string', extra: ['flow:1'] }] },
      { name: 'message.send (visitor)', ws: visitorWs.ws, body: () => ({ type: 'message.send', client_id: 'json-ws-2', content: 'hello again' }),
        fields: [{ path: 'client_id', type: 'string', required: true }, { path: 'content', type: 'string', required: true }, { path: 'attachment_ids', type: 'array' },
          { path: 'private', type: 'bool', extra: [false] }, { path: 'payload', type: 'string', extra: ['not-a-payload'] }] },
      { name: 'typing (agent)', ws: agentWs.ws, body: () => ({ type: 'typing', conversation_id: ctx.convId, on: true, private: true }),
        fields: [{ path: 'conversation_id', type: 'id', required: true }, { path: 'on', type: 'bool' }, { path: 'private', type: 'bool' }] },
      { name: 'typing (visitor)', ws: visitorWs.ws, body: () => ({ type: 'typing', on: true }), fields: [{ path: 'on', type: 'bool' }] },
      { name: 'read (agent)', ws: agentWs.ws, body: () => ({ type: 'read', conversation_id: ctx.convId, message_id: ctx.messageId }),
        fields: [{ path: 'conversation_id', type: 'id', required: true }, { path: 'message_id', type: 'id', required: true }] },
      { name: 'read (visitor)', ws: visitorWs.ws, body: () => ({ type: 'read', message_id: ctx.messageId }), fields: [{ path: 'message_id', type: 'id', required: true }] },
    ];
    const before = await messages();
    for (const cmd of COMMANDS) {
      for (const f of cmd.fields) {
        for (const c of fieldCases(f)) {
          const frame = setPath(cmd.body(), f.path, c.value);
          await cmd.ws.sendJson(frame);
          const what = `${cmd.name} with ${f.path} ${show(c.value)}`;
          const err = (await cmd.ws.waitFor(isText('error'), 5000, what)).json;
          assert.equal(err.code, 'validation_failed', `${what}: ${JSON.stringify(err)}`);
          assert.equal(err.field, c.field, `${what}: ${JSON.stringify(err)}`);
        }
      }
    }
    for (const raw of ['{"type":', '[]', '"x"']) {
      await agentWs.ws.sendText(raw);
      assert.equal((await agentWs.ws.waitFor(isText('error'), 5000, raw)).json.code, 'invalid_json');
    }
    await agentWs.ws.sendJson({ type: null });
    assert.equal((await agentWs.ws.waitFor(isText('error'), 5000, 'type null')).json.field, 'type');
    assert.equal(await messages(), before, 'a refused command stored a message');
    assert.equal(srv.proc.exitCode, null);
    agentWs.ws.destroy();
    visitorWs.ws.destroy();
  });
});
