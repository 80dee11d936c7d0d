// The router over the real binary: agents' capacity, skills and languages; an inbox's strategy; the
// queue with positions told live to visitors; hand-over the moment capacity frees; never to an agent
// who is away; explanations; rules; transfer with history; overflow; re-route; and a storm of
// arrivals, resolves, availability changes and disconnects that must keep the invariants.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { openWs } from './lib/ws.mjs';
import { sleep, passes } from './lib/util.mjs';


const A = '/api/v1/accounts/1';
const isText = (t) => (e) => e.kind === 'text' && e.json?.type === t;
const isEvent = (name, pred = () => true) => (e) =>
  e.kind === 'text' && e.json?.type === 'event' && e.json.event === name && pred(e.json);

describe('routing', () => {
  let srv, admin;
  let n = 0;

  before(async () => {
    // a short grace so a dropped connection goes offline within the test
    srv = await startServer({ args: ['--presence-grace', '400'] });
    admin = (await srv.login()).token;
  });
  after(async () => { await srv.stop(); srv.cleanup(); });

  const req = (method, path, body, token = admin) => srv.request(method, path, { token, body });

  async function agent(name, extra = {}) {
    const email = `r${++n}-${name.toLowerCase().replace(/\W/g, '')}@example.com`;
    const u = await req('POST', `${A}/users`, { email, name, password: 'agent-pass-1', role: 'agent', ...extra });
    assert.equal(u.status, 201, u.text);
    const token = (await srv.login(email, 'agent-pass-1')).token;
    return { id: u.body.id, name, token, user: u.body };
  }

  async function connect(token) {
    const r = await openWs(srv.port, `/ws?token=${token}`);
    assert.equal(r.status, 101, r.text);
    const hello = await r.ws.waitFor(isText('hello'), 5000, 'hello');
    return Object.assign(r.ws, { hello: hello.json });
  }

  async function inbox(name, routing, members) {
    const r = await req('POST', `${A}/inboxes`, { name, channel: 'web', routing });
    assert.equal(r.status, 201, r.text);
    const put = await req('PUT', `${A}/inboxes/${r.body.id}/members`, { user_ids: members.map((m) => m.id) });
    assert.equal(put.status, 200, put.text);
    return r.body;
  }

  // A visitor who writes once; returns the conversation id and the visitor's socket.
  async function visitor(widgetToken, text = 'hello', extra = {}) {
    const s = await srv.request('POST', '/api/v1/widget/sessions', { body: { widget_token: widgetToken, ...extra } });
    assert.equal(s.status, 200, s.text);
    const ws = await connect(s.body.visitor_token);
    await ws.sendJson({ type: 'message.send', client_id: `v-${++n}`, content: text });
    const ack = await ws.waitFor(isText('ack'), 5000, 'visitor ack');
    return { cid: ack.json.data.conversation_id, ws, session: s.body };
  }

  const conv = async (cid) => (await req('GET', `${A}/conversations/${cid}`)).body;
  const loads = async (agents) => {
    const users = (await req('GET', `${A}/users?limit=200`)).body.data;
    return agents.map((a) => users.find((u) => u.id === a.id).load);
  };

  it('least_busy: three capacity-2 agents take six 2/2/2, the seventh queues at 1 and goes to the first who resolves; never to an agent who is away', async () => {
    const a = [await agent('Ann', { capacity: 2 }), await agent('Ben', { capacity: 2 }), await agent('Cat', { capacity: 2 })];
    const away = await agent('Dan Away', { capacity: 5 });
    const ib = await inbox('Least busy', { strategy: 'least_busy' }, [...a, away]);
    assert.equal(ib.routing.strategy, 'least_busy');
    const sockets = [];
    for (const x of a) {
      assert.equal((await req('PUT', '/api/v1/me/availability', { status: 'online' }, x.token)).status, 200);
      sockets.push(await connect(x.token));
    }
    assert.equal((await req('PUT', '/api/v1/me/availability', { status: 'away' }, away.token)).status, 200);
    sockets.push(await connect(away.token));
    const sup = await connect(admin);

    const visitors = [];
    for (let i = 0; i < 6; i++) visitors.push(await visitor(ib.widget_token, `question ${i}`));
    await passes(async () => {
      for (const v of visitors) assert.ok((await conv(v.cid)).assignee_id, `conversation ${v.cid} assigned`);
    }, { timeout: 5000 });
    assert.deepEqual(await loads([...a, away]), [2, 2, 2, 0]);
    const owner = new Map();
    for (const v of visitors) owner.set(v.cid, (await conv(v.cid)).assignee_id);
    for (const x of a) assert.equal([...owner.values()].filter((id) => id === x.id).length, 2);

    // The seventh waits at position 1 and is told so, with an estimate.
    const seventh = await visitor(ib.widget_token, 'am I next?');
    const told = await seventh.ws.waitFor(isText('queue'), 5000, 'queue frame');
    assert.equal(told.json.conversation_id, seventh.cid);
    assert.equal(told.json.position, 1);
    assert.equal(typeof told.json.estimated_wait_seconds, 'number');
    const q = await req('GET', `${A}/inboxes/${ib.id}/queue`);
    assert.equal(q.status, 200, q.text);
    assert.equal(q.body.meta.strategy, 'least_busy');
    assert.deepEqual(q.body.data.map((x) => [x.conversation_id, x.position]), [[seventh.cid, 1]]);
    assert.ok(q.body.data[0].contact.name.startsWith('Visitor '));
    assert.equal(q.body.meta.agents.length, 4);
    const wq = await srv.request('GET', '/api/v1/widget/queue', { token: seventh.session.visitor_token });
    assert.equal(wq.body.position, 1);
    const again = await srv.request('POST', '/api/v1/widget/sessions', { body: { widget_token: ib.widget_token, visitor_id: seventh.session.visitor_id } });
    assert.equal(again.body.queue.position, 1, 'a returning visitor learns their place at once');
    await sup.waitFor((e) => e.json?.type === 'queue' && e.json.inbox_id === ib.id && e.json.size === 1, 5000, 'agents hear the queue size');
    assert.equal((await conv(seventh.cid)).assignee_id, null);

    // Ben resolves one: the seventh is his at once.
    const bens = [...owner].find(([, id]) => id === a[1].id)[0];
    assert.equal((await req('PATCH', `${A}/conversations/${bens}`, { status: 'resolved' }, a[1].token)).status, 200);
    const got = await sockets[1].waitFor(isEvent('conversation.assigned', (j) => j.data.conversation.id === seventh.cid), 5000, 'handed over');
    assert.equal(got.json.data.conversation.assignee_id, a[1].id);
    assert.equal(got.json.data.reason, 'auto');
    const left = await seventh.ws.waitFor((e) => e.json?.type === 'queue' && e.json.position === null, 5000, 'left the queue');
    assert.equal(left.json.conversation_id, seventh.cid);
    assert.deepEqual(await loads([...a, away]), [2, 2, 2, 0], 'Dan is away: nothing for him');

    // Why Ben? Every candidate with terms; Dan excluded as away, the others at capacity.
    const why = await req('GET', `${A}/conversations/${seventh.cid}/routing`);
    assert.equal(why.status, 200, why.text);
    assert.equal(why.body.strategy, 'least_busy');
    assert.equal(why.body.chosen, a[1].id);
    assert.match(why.body.reason, /Ben/);
    const byId = Object.fromEntries(why.body.candidates.map((c) => [c.user_id, c]));
    assert.equal(why.body.candidates.length, 4);
    assert.equal(byId[away.id].excluded, 'away');
    assert.equal(byId[a[0].id].excluded, 'at_capacity');
    assert.equal(byId[a[1].id].eligible, true);
    assert.equal(typeof byId[a[1].id].terms.load, 'number');
    assert.equal((await req('GET', `${A}/conversations/${seventh.cid}/routing`, undefined, a[0].token)).status, 403, 'agents cannot read explanations');
    const hist = await req('GET', `${A}/conversations/${seventh.cid}/assignments`);
    assert.deepEqual(hist.body.data.map((h) => [h.reason, h.assignee_id, h.actor_type]), [['auto', a[1].id, 'router']]);

    // Dan comes back online and connected: the next arrival is his (he has the most room).
    assert.equal((await req('PUT', '/api/v1/me/availability', { status: 'online' }, away.token)).status, 200);
    const eighth = await visitor(ib.widget_token, 'hi Dan');
    await passes(async () => assert.equal((await conv(eighth.cid)).assignee_id, away.id), { timeout: 5000 });

    // The agents panel shows every agent's load and capacity.
    const panel = await req('GET', `${A}/routing/agents`);
    assert.equal(panel.status, 200, panel.text);
    const ann = panel.body.data.find((x) => x.user_id === a[0].id);
    assert.deepEqual([ann.load, ann.capacity, ann.online, ann.availability], [2, 2, true, 'online']);
    assert.ok(panel.body.queues.some((x) => x.inbox_id === ib.id && x.size === 0));
    assert.equal((await req('GET', `${A}/routing/agents`, undefined, a[0].token)).status, 403);
    for (const s of [...sockets, sup, ...visitors.map((v) => v.ws), seventh.ws, eighth.ws]) s.destroy();
  });

  it('queue order: priority, then time waited; capacity freed one at a time goes to the head', async () => {
    const solo = await agent('Solo', { capacity: 1 });
    await req('PUT', '/api/v1/me/availability', { status: 'online' }, solo.token);
    const ws = await connect(solo.token);
    const ib = await inbox('Ordered', { strategy: 'round_robin' }, [solo]);
    const first = await visitor(ib.widget_token, 'first');
    await passes(async () => assert.equal((await conv(first.cid)).assignee_id, solo.id));
    const waiting = [];
    for (let i = 0; i < 4; i++) waiting.push(await visitor(ib.widget_token, `w${i}`));
    // w2 becomes urgent: it jumps ahead.
    assert.equal((await req('PATCH', `${A}/conversations/${waiting[2].cid}`, { priority: 'urgent' })).status, 200);
    await passes(async () => {
      const q = (await req('GET', `${A}/inboxes/${ib.id}/queue`)).body.data.map((x) => x.conversation_id);
      assert.deepEqual(q, [waiting[2].cid, waiting[0].cid, waiting[1].cid, waiting[3].cid]);
    });
    const order = [];
    let current = first.cid;
    for (let i = 0; i < 4; i++) {
      assert.equal((await req('PATCH', `${A}/conversations/${current}`, { status: 'resolved' }, solo.token)).status, 200);
      const e = await ws.waitFor(isEvent('conversation.assigned', (j) => j.data.conversation.assignee_id === solo.id && !order.includes(j.data.conversation.id) && j.data.conversation.id !== first.cid), 5000, `assignment ${i}`);
      current = e.json.data.conversation.id;
      order.push(current);
    }
    assert.deepEqual(order, [waiting[2].cid, waiting[0].cid, waiting[1].cid, waiting[3].cid]);
    ws.destroy();
    for (const v of [first, ...waiting]) v.ws.destroy();
  });

  it('rules pick a team and a skill; weighted routing prefers the skilled agent who speaks the language', async () => {
    const team = await req('POST', `${A}/teams`, { name: 'Billing desk' });
    assert.equal(team.status, 201, team.text);
    const gen = await agent('Gina General', { capacity: 3, languages: ['en'] });
    const bil = await agent('Bill Billing', { capacity: 3, skills: [{ name: 'billing', level: 5 }], languages: ['zh', 'en'] });
    assert.deepEqual(bil.user.skills, [{ name: 'billing', level: 5 }]);
    assert.deepEqual(bil.user.languages, ['zh', 'en']);
    assert.equal((await req('PUT', `${A}/teams/${team.body.id}/members`, { user_ids: [gen.id, bil.id] })).status, 200);
    const ib = await inbox('Weighted', { strategy: 'weighted', weights: { skill: 5, load: 1, language: 2 } }, [gen, bil]);
    for (const x of [gen, bil]) await req('PUT', '/api/v1/me/availability', { status: 'online' }, x.token);
    const ws = [await connect(gen.token), await connect(bil.token)];

    const bad = await req('POST', `${A}/routing_rules`, { name: 'x', conditions: [{ field: 'nope', operator: 'equals', value: 'a' }], actions: { team_id: team.body.id } });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.error.field, 'conditions');
    assert.equal((await req('POST', `${A}/routing_rules`, { name: 'x', conditions: [{ field: 'label', operator: 'equals', value: 'a' }], actions: {} })).body.error.field, 'actions');
    assert.equal((await req('POST', `${A}/routing_rules`, { name: 'x', conditions: [{ field: 'label', operator: 'equals', value: 'a' }], actions: { team_id: 99999 } })).body.error.field, 'actions.team_id');
    const rule = await req('POST', `${A}/routing_rules`, {
      name: 'Invoices to billing', inbox_id: ib.id, match: 'any',
      conditions: [{ field: 'page_url', operator: 'contains', value: '/billing' }, { field: 'message', operator: 'contains', value: '发票' }],
      actions: { team_id: team.body.id, skill: 'billing', min_level: 3, priority: 'high' },
    });
    assert.equal(rule.status, 201, rule.text);
    assert.deepEqual(rule.body.actions, { team_id: team.body.id, skill: 'billing', min_level: 3, priority: 'high' });
    const rules = await req('GET', `${A}/routing_rules`, undefined, gen.token);
    assert.equal(rules.status, 200);
    assert.ok(rules.body.data.some((r) => r.id === rule.body.id));
    assert.equal((await req('PATCH', `${A}/routing_rules/${rule.body.id}`, { enabled: true }, gen.token)).status, 403);

    const v = await visitor(ib.widget_token, '我要开发票');
    await passes(async () => assert.equal((await conv(v.cid)).assignee_id, bil.id), { timeout: 5000 });
    const c = await conv(v.cid);
    assert.equal(c.team_id, team.body.id);
    assert.equal(c.priority, 'high');
    const why = (await req('GET', `${A}/conversations/${v.cid}/routing`)).body;
    assert.equal(why.strategy, 'weighted');
    assert.deepEqual(why.rule, { id: rule.body.id, name: 'Invoices to billing' });
    const terms = Object.fromEntries(why.candidates.map((k) => [k.user_id, k.terms]));
    assert.equal(terms[bil.id].skill, 1);
    assert.equal(terms[gen.id].skill, 0);
    assert.equal(terms[bil.id].language, 1, 'the message is Chinese and Bill speaks zh');
    assert.equal(terms[gen.id].language, 0);
    assert.ok(why.candidates.find((k) => k.user_id === bil.id).score > why.candidates.find((k) => k.user_id === gen.id).score);

    // A conversation no rule matches goes by load (Gina has none).
    const plain = await visitor(ib.widget_token, 'where is my parcel?');
    await passes(async () => assert.equal((await conv(plain.cid)).assignee_id, gen.id), { timeout: 5000 });
    const skills = await req('GET', `${A}/skills`);
    assert.ok(skills.body.data.some((s) => s.name === 'billing' && s.users === 1));
    for (const s of [...ws, v.ws, plain.ws]) s.destroy();
  });

  it('transfer to an agent or a team with a note; history keeps who, why and the note', async () => {
    const x = await agent('Xena', { capacity: 5 });
    const y = await agent('Yuri', { capacity: 5 });
    const team = (await req('POST', `${A}/teams`, { name: 'Escalations' })).body;
    await req('PUT', `${A}/teams/${team.id}/members`, { user_ids: [y.id] });
    const ib = await inbox('Transfers', { strategy: 'manual' }, [x, y]);
    const v = await visitor(ib.widget_token, 'please help');
    assert.equal((await req('PATCH', `${A}/conversations/${v.cid}`, { assignee_id: x.id })).status, 200);
    const bad = await req('POST', `${A}/conversations/${v.cid}/transfer`, { note: 'x' }, x.token);
    assert.equal(bad.status, 422);
    assert.equal((await req('POST', `${A}/conversations/${v.cid}/transfer`, { team_id: 999999 }, x.token)).body.error.field, 'team_id');
    assert.equal((await req('POST', `${A}/conversations/999999/transfer`, { assignee_id: y.id }, x.token)).status, 404);
    const t = await req('POST', `${A}/conversations/${v.cid}/transfer`, { assignee_id: y.id, note: 'Refund over 500, needs Yuri' }, x.token);
    assert.equal(t.status, 200, t.text);
    assert.equal(t.body.assignee_id, y.id);
    const t2 = await req('POST', `${A}/conversations/${v.cid}/transfer`, { team_id: team.id }, y.token);
    assert.equal(t2.status, 200, t2.text);
    assert.equal(t2.body.assignee_id, null);
    assert.equal(t2.body.team_id, team.id);
    const h = (await req('GET', `${A}/conversations/${v.cid}/assignments`, undefined, y.token)).body.data;
    assert.deepEqual(h.map((r) => [r.reason, r.assignee_id, r.previous_assignee_id, r.actor_id, r.note]), [
      ['manual', x.id, null, 1, ''],
      ['transfer', y.id, x.id, x.id, 'Refund over 500, needs Yuri'],
      ['transfer', null, y.id, y.id, ''],
    ]);
    assert.equal(h[2].team_name, 'Escalations');
    const msgs = (await req('GET', `${A}/conversations/${v.cid}/messages`)).body.data;
    const note = msgs.find((m) => m.content === 'Refund over 500, needs Yuri');
    assert.ok(note && note.private, 'the note is a private note in the thread');
    v.ws.destroy();
  });

  it('overflow to another team after waiting; re-route when the agent does not reply', async () => {
    const busy = await agent('Busy Bea', { capacity: 0 });
    const over = await agent('Otto Overflow', { capacity: 3 });
    const team = (await req('POST', `${A}/teams`, { name: 'Overflow crew' })).body;
    await req('PUT', `${A}/teams/${team.id}/members`, { user_ids: [over.id] });
    const bad = await req('PATCH', `${A}/inboxes/1`, { routing: { overflow_team_id: 987654 } });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.error.field, 'routing.overflow_team_id');
    const ib = await inbox('Overflowing', { strategy: 'least_busy', overflow_team_id: team.id, overflow_after_seconds: 1 }, [busy]);
    for (const x of [busy, over]) await req('PUT', '/api/v1/me/availability', { status: 'online' }, x.token);
    const ws = [await connect(busy.token), await connect(over.token)];
    const v = await visitor(ib.widget_token, 'anyone?');
    await sleep(300);
    assert.equal((await conv(v.cid)).assignee_id, null, 'Bea has no room');
    await passes(async () => assert.equal((await conv(v.cid)).assignee_id, over.id), { timeout: 5000 });
    assert.equal((await conv(v.cid)).team_id, team.id);
    const kinds = (await req('GET', `${A}/conversations/${v.cid}/routing`)).body.decisions.map((d) => d.kind);
    assert.deepEqual(kinds, ['overflow', 'assign']);

    // Re-route: the router gives it to Pat, who stays silent; after a second it goes to Quinn.
    const p = await agent('Pat Silent', { capacity: 1 });
    const qn = await agent('Quinn', { capacity: 1 });
    const ib2 = await inbox('Rerouting', { strategy: 'round_robin', reroute_after_seconds: 1 }, [p]);
    await req('PUT', '/api/v1/me/availability', { status: 'online' }, p.token);
    const pws = await connect(p.token);
    const v2 = await visitor(ib2.widget_token, 'hello?');
    await passes(async () => assert.equal((await conv(v2.cid)).assignee_id, p.id));
    assert.equal((await req('PUT', `${A}/inboxes/${ib2.id}/members`, { user_ids: [p.id, qn.id] })).status, 200);
    await req('PUT', '/api/v1/me/availability', { status: 'online' }, qn.token);
    const qws = await connect(qn.token);
    await passes(async () => assert.equal((await conv(v2.cid)).assignee_id, qn.id), { timeout: 6000 });
    const h = (await req('GET', `${A}/conversations/${v2.cid}/assignments`)).body.data.map((r) => r.reason);
    assert.deepEqual(h, ['auto', 'reroute', 'reroute']);
    const why = (await req('GET', `${A}/conversations/${v2.cid}/routing`)).body;
    assert.equal(why.kind, 'reroute');
    assert.equal(why.candidates.find((k) => k.user_id === p.id).excluded, 'rerouted_from');

    // A reply in time keeps it: Quinn answers, nothing moves.
    await qws.sendJson({ type: 'message.send', conversation_id: v2.cid, client_id: 'q1', content: 'Hi, Quinn here' });
    await qws.waitFor(isText('ack'), 5000, 'ack');
    await sleep(1600);
    assert.equal((await conv(v2.cid)).assignee_id, qn.id);
    for (const s of [...ws, pws, qws, v.ws, v2.ws]) s.destroy();
  });

  it('an agent who replies in time is neither re-routed nor excluded (the router hears the reply)', async () => {
    const rae = await agent('Rae Replies', { capacity: 2 });
    const ib = await inbox('Replying', { strategy: 'round_robin', reroute_after_seconds: 1 }, [rae]);
    await req('PUT', '/api/v1/me/availability', { status: 'online' }, rae.token);
    const rws = await connect(rae.token);
    const v = await visitor(ib.widget_token, 'is anyone there?');
    await passes(async () => assert.equal((await conv(v.cid)).assignee_id, rae.id));
    await rws.sendJson({ type: 'message.send', conversation_id: v.cid, client_id: 'rae-1', content: 'Yes, Rae here' });
    await rws.waitFor(isText('ack'), 5000, 'ack');
    await sleep(2200); // two ticks past reroute_after_seconds
    assert.equal((await conv(v.cid)).assignee_id, rae.id);
    // Back in the queue with only Rae free, it goes to Rae again: she was not excluded as if she had
    // stayed silent.
    assert.equal((await req('PATCH', `${A}/conversations/${v.cid}`, { assignee_id: null })).status, 200);
    await passes(async () => assert.equal((await conv(v.cid)).assignee_id, rae.id), { timeout: 3000 });
    const h = (await req('GET', `${A}/conversations/${v.cid}/assignments`)).body.data.map((r) => r.reason);
    assert.deepEqual(h.slice(0, 3), ['auto', 'unassign', 'auto']);
    for (const s of [rws, v.ws]) s.destroy();
  });

  it('settings and profiles: bad input is refused and changes nothing', async () => {
    const u = await agent('Val Idate');
    for (const [body, field] of [
      [{ capacity: 101 }, 'capacity'], [{ capacity: 'two' }, 'capacity'],
      [{ skills: [{ name: 'x', level: 6 }] }, 'skills'], [{ skills: [{ name: 'x', level: 1 }, { name: 'x', level: 2 }] }, 'skills'],
      [{ languages: ['english!'] }, 'languages'], [{ region: 'a\u0001' }, 'region'], [{ color: 'red' }, 'color'],
    ]) {
      const r = await req('PATCH', `${A}/users/${u.id}`, body);
      assert.equal(r.status, 422, JSON.stringify(body));
      assert.equal(r.body.error.field, field, JSON.stringify(body));
    }
    assert.equal((await req('PATCH', `${A}/users/999999`, { capacity: 1 })).status, 404);
    assert.equal((await req('PATCH', `${A}/users/${u.id}`, { capacity: 1 }, u.token)).status, 403);
    const ok = await req('PATCH', `${A}/users/${u.id}`, { capacity: 4, languages: ['ZH', 'en-US'], region: 'CN', skills: [{ name: '退款', level: 2 }] });
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual([ok.body.capacity, ok.body.languages, ok.body.region, ok.body.skills], [4, ['zh', 'en-us'], 'CN', [{ name: '退款', level: 2 }]]);
    assert.equal((await req('PATCH', `${A}/users/${u.id}`, { capacity: null })).body.capacity, null);
    assert.equal((await req('PATCH', `${A}/users/1`, { role: 'agent' })).body.error.field, 'role', 'the only admin stays admin');

    for (const [routing, field] of [
      [{ strategy: 'random' }, 'routing.strategy'], [{ weights: { skill: -1 } }, 'routing.weights.skill'],
      [{ weights: { luck: 1 } }, 'routing.weights.luck'], [{ reroute_after_seconds: -5 }, 'routing.reroute_after_seconds'],
      [{ vip_attribute: 'a b' }, 'routing.vip_attribute'], [{ surprise: 1 }, 'routing.surprise'], ['fast', 'routing'],
    ]) {
      const r = await req('PATCH', `${A}/inboxes/1`, { routing });
      assert.equal(r.status, 422, JSON.stringify(routing));
      assert.equal(r.body.error.field, field, JSON.stringify(routing));
    }
    const before = (await req('GET', `${A}/inboxes/1`)).body.routing;
    assert.equal(before.strategy, 'manual', 'inboxes start manual');
    const w = await req('PATCH', `${A}/inboxes/1`, { routing: { weights: { region: 2 } } });
    assert.equal(w.body.routing.weights.region, 2);
    assert.equal(w.body.routing.weights.skill, 3, 'other weights keep their value');

    // per-inbox capacity override
    const m = await req('PATCH', `${A}/inboxes/1/members/1`, { capacity: 7 });
    assert.equal(m.status, 200, m.text);
    assert.equal(m.body.capacity, 7);
    assert.equal((await req('PATCH', `${A}/inboxes/1/members/1`, { capacity: 'x' })).status, 422);
    assert.equal((await req('PATCH', `${A}/inboxes/1/members/${u.id}`, { capacity: 1 })).status, 404, 'not a member');
    const members = (await req('GET', `${A}/inboxes/1/members`)).body;
    await req('PUT', `${A}/inboxes/1/members`, { user_ids: [...members.user_ids, u.id] });
    const after = (await req('GET', `${A}/inboxes/1/members`)).body.data;
    assert.equal(after.find((x) => x.id === 1).capacity, 7, 'members who stay keep their override');
    await req('PATCH', `${A}/inboxes/1/members/1`, { capacity: null });
  });

  it('a storm of arrivals, resolves, availability changes and disconnects keeps every invariant', async () => {
    const caps = [1, 2, 3, 2, 1];
    const ag = [];
    for (let i = 0; i < caps.length; i++) ag.push(await agent(`Storm ${i}`, { capacity: caps[i] }));
    const ib = await inbox('Storm', { strategy: 'least_busy' }, ag);
    const sockets = new Map();
    for (const x of ag) {
      await req('PUT', '/api/v1/me/availability', { status: 'online' }, x.token);
      sockets.set(x.id, await connect(x.token));
    }
    const sup = await connect(admin);
    const avail = new Map(ag.map((x) => [x.id, 'online']));
    const visitors = [];
    const arrivals = Array.from({ length: 40 }, (_, i) => visitor(ib.widget_token, `storm ${i}`));
    let rnd = 12345;
    const rand = (k) => { rnd = (rnd * 1103515245 + 12345) % 2147483648; return rnd % k; };
    const chaos = (async () => {
      for (let step = 0; step < 30; step++) {
        const x = ag[rand(ag.length)];
        const what = rand(4);
        if (what === 0) {
          const s = ['online', 'away', 'online', 'offline'][rand(4)];
          avail.set(x.id, s);
          await req('PUT', '/api/v1/me/availability', { status: s }, x.token);
        } else if (what === 1) {
          sockets.get(x.id)?.destroy();
          sockets.set(x.id, await connect(x.token));
        } else {
          const mine = (await req('GET', `${A}/conversations?assignee=me&status=open&inbox_id=${ib.id}`, undefined, x.token)).body.data;
          if (mine.length) await req('PATCH', `${A}/conversations/${mine[0].id}`, { status: 'resolved' }, x.token);
        }
        await sleep(rand(30));
      }
    })();
    visitors.push(...await Promise.all(arrivals));
    await chaos;
    for (const x of ag) await req('PUT', '/api/v1/me/availability', { status: 'online' }, x.token);
    await sleep(500);

    // Invariants, from what the server recorded.
    const assigned = sup.events.filter(isEvent('conversation.assigned', (j) => j.data.reason === 'auto' && j.data.conversation.inbox_id === ib.id));
    const perConv = new Map();
    for (const e of assigned) perConv.set(e.json.data.conversation.id, (perConv.get(e.json.data.conversation.id) || 0) + 1);
    for (const [cid, k] of perConv) assert.equal(k, 1, `conversation ${cid} assigned once by the router`);
    const decisions = await Promise.all([...perConv.keys()].map((cid) => req('GET', `${A}/conversations/${cid}/routing`)));
    for (const d of decisions) {
      const chosen = d.body.candidates.find((k) => k.user_id === d.body.chosen);
      assert.ok(chosen && chosen.eligible, 'the chosen agent was eligible (online, connected, under capacity)');
      assert.ok(chosen.capacity === null || chosen.load < chosen.capacity, 'under capacity when chosen');
    }
    const open = (await req('GET', `${A}/conversations?status=open&inbox_id=${ib.id}&limit=200`)).body.data;
    for (const [i, x] of ag.entries()) {
      const mine = open.filter((c) => c.assignee_id === x.id).length;
      assert.ok(mine <= caps[i], `${x.name} holds ${mine} of ${caps[i]}`);
    }
    // Everyone is back online with room or the queue is empty: nothing waits while someone is free.
    const q = (await req('GET', `${A}/inboxes/${ib.id}/queue`)).body;
    const free = q.meta.agents.some((a) => a.online && (a.capacity === null || a.load < a.capacity));
    assert.ok(q.meta.size === 0 || !free, `queue ${q.meta.size} while an agent has room`);
    assert.deepEqual(await loads(ag), ag.map((x) => open.filter((c) => c.assignee_id === x.id).length), 'loads match the database');
    for (const s of [...sockets.values(), sup, ...visitors.map((v) => v.ws)]) s.destroy();
  });

  it('a dropped connection counts as online for the grace period, then not', async () => {
    const g = await agent('Grace', { capacity: 3 });
    const ib = await inbox('Grace', { strategy: 'least_busy' }, [g]);
    await req('PUT', '/api/v1/me/availability', { status: 'online' }, g.token);
    const ws = await connect(g.token);
    ws.destroy();
    const v = await visitor(ib.widget_token, 'quick');
    await passes(async () => assert.equal((await conv(v.cid)).assignee_id, g.id), { timeout: 2000 });
    await sleep(700);
    const v2 = await visitor(ib.widget_token, 'later');
    await sleep(300);
    assert.equal((await conv(v2.cid)).assignee_id, null, 'offline after the grace period');
    const back = await connect(g.token);
    await passes(async () => assert.equal((await conv(v2.cid)).assignee_id, g.id), { timeout: 3000 });
    for (const s of [back, v.ws, v2.ws]) s.destroy();
  });
});
