// Guided flows over the real binary: CRUD at /bot/flows validated whole (bad targets, oversize, wrong types,
// unknown fields, rings of messages, references to FAQ entries, teams and skills that do not exist), agents
// read but cannot write, what starts a flow (an intent's action, an inbox's greeting) shown on it and
// blocking its deletion, events. Then flows run over the widget API: a greeting button → a message step →
// an e-mail asked for, refused once, then given → an order number → a handoff to a team (conversation open,
// team set, the values in the private note and on the contact); a button that is not the current step's is
// refused; typed labels, FAQ targets, a re-prompt when the text fits nothing, handoff keywords, a choice
// with its options as buttons, numbers, the end step; an intent that starts a flow. Last, a restart in the
// middle of a flow continues where it was, and another account cannot reach these flows by id.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { startServer, ADMIN_PASSWORD } from '../lib/server.mjs';
import { openWs, connectWs } from './lib/ws.mjs';
import { passes, sleep } from './lib/util.mjs';

const A = '/api/v1/accounts/1';
const soon = (fn, o = {}) => passes(fn, { timeout: 8000, interval: 50, ...o });
const isText = (t) => (e) => e.kind === 'text' && e.json?.type === t;

describe('bot flows', () => {
  let srv, admin, inbox, team, skill, faq;
  let n = 0;
  const req = (method, path, body, token = admin) => srv.request(method, path, { token, body });

  /** The delivery flow: a menu, an e-mail and an order number asked for, then the shipping team. */
  const delivery = () => ({
    name: 'Delivery help',
    button_label: 'Track a parcel',
    steps: [
      {
        id: 'start', kind: 'message', text: 'What can I help you with?',
        buttons: [
          { label: 'Track my parcel', target: { type: 'step', step: 'ask_email' } },
          { label: 'Shipping costs', target: { type: 'faq', faq_id: faq.id } },
          { label: 'Something else', target: { type: 'handoff', team_id: team.id } },
        ],
      },
      { id: 'ask_email', kind: 'collect', text: 'What is your e-mail address?', field: 'email', field_type: 'email',
        retry_text: 'Hmm, that e-mail does not look right. Try again?', next: { type: 'step', step: 'ask_order' } },
      { id: 'ask_order', kind: 'collect', text: 'And your order number?', field: 'order_no', next: { type: 'step', step: 'to_team' } },
      { id: 'to_team', kind: 'handoff', team_id: team.id, note: 'Parcel tracking' },
    ],
  });

  before(async () => {
    srv = await startServer();
    admin = (await srv.login()).token;
    let r = await req('POST', `${A}/inboxes`, { name: 'Flow inbox', channel: 'web', bot: { mode: 'always', greeting: 'Hi! I am the shop bot.' } });
    assert.equal(r.status, 201, r.text);
    inbox = r.body;
    r = await req('POST', `${A}/teams`, { name: 'Shipping' });
    assert.equal(r.status, 201, r.text);
    team = r.body;
    r = await req('POST', `${A}/users`, { email: 'returns-agent@example.com', name: 'Returns Agent', password: 'agent-pass-1', role: 'agent', skills: [{ name: 'returns', level: 3 }] });
    assert.equal(r.status, 201, r.text);
    skill = (await req('GET', `${A}/skills`)).body.data.find((x) => x.name === 'returns');
    r = await req('POST', `${A}/faqs`, { question: 'How much is shipping?', phrasings: ['shipping costs', 'delivery fee', 'how much does delivery cost'], answer: 'Shipping is free from 99 yuan; otherwise 8 yuan.', locale: 'en' });
    assert.equal(r.status, 201, r.text);
    faq = r.body;
  });
  after(async () => { await srv?.stop(); srv?.cleanup(); });

  async function visitor(session = {}) {
    const s = await srv.request('POST', '/api/v1/widget/sessions', { body: { widget_token: inbox.widget_token, ...session } });
    assert.equal(s.status, 200, s.text);
    const r = await openWs(srv.port, `/ws?token=${s.body.visitor_token}`);
    assert.equal(r.status, 101);
    const hello = await r.ws.waitFor(isText('hello'), 5000, 'hello');
    return { ws: r.ws, session: s.body, hello: hello.json };
  }

  /** Sends a message (a click when payload is given); resolves to the ack's message, or the error frame. */
  async function send(v, content, payload) {
    const client_id = `f-${++n}`;
    const cmd = { type: 'message.send', client_id, content };
    if (payload !== undefined) cmd.payload = payload;
    await v.ws.sendJson(cmd);
    const f = await v.ws.waitFor((e) => e.kind === 'text' && (e.json?.type === 'ack' || e.json?.type === 'error') && e.json.client_id === client_id, 5000, 'ack');
    return f.json;
  }
  async function say(v, content, payload) {
    const f = await send(v, content, payload);
    assert.equal(f.type, 'ack', JSON.stringify(f));
    return f.data;
  }
  const botReply = async (v, pred = () => true) => (await v.ws.waitFor((e) => e.kind === 'text' && e.json?.type === 'event' &&
    e.json.event === 'message.created' && e.json.data.message.sender.type === 'bot' && !e.json.data.message.private &&
    pred(e.json.data.message), 8000, 'bot reply')).json.data.message;
  const conv = async (id) => (await req('GET', `${A}/conversations/${id}`)).body;
  const messages = async (id) => (await req('GET', `${A}/conversations/${id}/messages?limit=200`)).body.data;

  it('CRUD validates a flow whole, names the field at fault, and agents only read', async () => {
    const ok = delivery();
    const one = (step) => ({ name: `f${++n}`, steps: [step] });
    const msg = (extra = {}) => ({ id: 'a', kind: 'message', text: 'Hi', ...extra });
    const bad = [
      [{ name: 'x' }, 'steps'],
      [{ name: 'x', steps: [] }, 'steps'],
      [{ name: 'x', steps: Array.from({ length: 51 }, (_, i) => ({ id: `s${i}`, kind: 'end' })) }, 'steps'],
      [{ name: 'x', steps: [{ id: 'a', kind: 'end' }], colour: 'red' }, 'colour'],
      [{ name: 123, steps: [{ id: 'a', kind: 'end' }] }, 'name'],
      [{ name: '   ', steps: [{ id: 'a', kind: 'end' }] }, 'name'],
      [{ name: 'x', enabled: 'yes', steps: [{ id: 'a', kind: 'end' }] }, 'enabled'],
      [{ name: 'x', button_label: 'x'.repeat(41), steps: [{ id: 'a', kind: 'end' }] }, 'button_label'],
      [{ name: 'x', steps: 'start' }, 'steps'],
      [{ name: 'x', steps: [42] }, 'steps[0]'],
      [one({ id: 'a', kind: 'dance' }), 'steps[0].kind'],
      [one({ id: 'a b', kind: 'end' }), 'steps[0].id'],
      [one({ id: 'a', kind: 'end', colour: 1 }), 'steps[0].colour'],
      [one({ id: 'a', kind: 'end', buttons: [] }), 'steps[0].buttons'],
      [{ name: 'x', steps: [{ id: 'a', kind: 'end' }, { id: 'a', kind: 'end' }] }, 'steps[1].id'],
      [one(msg({ text: '' })), 'steps[0].text'],
      [one(msg({ text: 7 })), 'steps[0].text'],
      [one(msg({ buttons: [{ label: 'Go', target: { type: 'step', step: 'nowhere' } }] })), 'steps[0].buttons[0].target'],
      [one(msg({ buttons: [{ label: 'Go', target: { type: 'teleport' } }] })), 'steps[0].buttons[0].target'],
      [one(msg({ buttons: [{ label: 'Go', target: 'a' }] })), 'steps[0].buttons[0].target'],
      [one(msg({ buttons: [{ label: 'Go', target: { type: 'end', extra: 1 } }] })), 'steps[0].buttons[0].target.extra'],
      [one(msg({ buttons: [{ label: 'x'.repeat(41), target: { type: 'end' } }] })), 'steps[0].buttons[0].label'],
      [one(msg({ buttons: [{ label: 'Go', target: { type: 'end' } }, { label: 'go ', target: { type: 'end' } }] })), 'steps[0].buttons[1].label'],
      [one(msg({ buttons: Array.from({ length: 11 }, (_, i) => ({ label: `b${i}`, target: { type: 'end' } })) })), 'steps[0].buttons'],
      [one(msg({ buttons: [{ label: 'Go', target: { type: 'end' } }], next: { type: 'end' } })), 'steps[0].next'],
      [{ name: 'x', steps: [msg({ next: { type: 'step', step: 'b' } }), { id: 'b', kind: 'message', text: 'B', next: { type: 'step', step: 'a' } }] }, 'steps[0].next'],
      [one({ id: 'a', kind: 'collect', text: 'Name?', field: 'bad-name!' }), 'steps[0].field'],
      [one({ id: 'a', kind: 'collect', text: 'When?', field: 'when', field_type: 'date' }), 'steps[0].field_type'],
      [one({ id: 'a', kind: 'collect', text: 'Size?', field: 'size', field_type: 'choice', options: ['M'] }), 'steps[0].options'],
      [one({ id: 'a', kind: 'collect', text: 'Size?', field: 'size', options: ['M', 'L'] }), 'steps[0].options'],
      [one({ id: 'a', kind: 'collect', text: 'Size?', field: 'size', field_type: 'choice', options: ['M', 'm'] }), 'steps[0].options'],
      [one({ id: 'a', kind: 'handoff', team_id: 'sales' }), 'steps[0].team_id'],
      [one({ id: 'a', kind: 'handoff', note: 'x'.repeat(501) }), 'steps[0].note'],
      // checked against the database
      [one(msg({ buttons: [{ label: 'Go', target: { type: 'faq', faq_id: 999999 } }] })), 'steps[0].buttons[0].target'],
      [one(msg({ buttons: [{ label: 'Go', target: { type: 'handoff', team_id: 424242 } }] })), 'steps[0].buttons[0].target'],
      [one({ id: 'a', kind: 'handoff', skill_id: 424242 }), 'steps[0].skill_id'],
      [one({ id: 'a', kind: 'handoff', team_id: 424242 }), 'steps[0].team_id'],
    ];
    for (const [body, field] of bad) {
      const r = await req('POST', `${A}/bot/flows`, body);
      assert.equal(r.status, 422, `${JSON.stringify(body).slice(0, 200)} → ${r.text}`);
      assert.equal(r.body.error.code, 'validation_failed');
      assert.equal(r.body.error.field, field, r.text);
      assert.ok(r.body.error.message.length > 10, r.text);
    }
    assert.equal((await req('GET', `${A}/bot/flows`)).body.meta.total, 0, 'nothing stored by a refused save');

    const c = await req('POST', `${A}/bot/flows`, ok);
    assert.equal(c.status, 201, c.text);
    const f = c.body;
    assert.equal(f.name, 'Delivery help');
    assert.equal(f.enabled, true);
    assert.equal(f.steps.length, 4);
    assert.deepEqual(f.steps[0].next, null);
    assert.deepEqual(f.steps[0].buttons[2].target, { type: 'handoff', team_id: team.id, skill_id: null });
    assert.equal(f.steps[2].field_type, 'text', 'the default type');
    assert.deepEqual(f.steps[3], { id: 'to_team', kind: 'handoff', team_id: team.id, skill_id: null, note: 'Parcel tracking' });
    assert.deepEqual(f.triggers, { intents: [], inboxes: [] });
    // a whole step list of 50 is fine
    const big = await req('POST', `${A}/bot/flows`, { name: 'Fifty', steps: Array.from({ length: 50 }, (_, i) => ({ id: `s${i}`, kind: 'message', text: `m${i}`, next: i < 49 ? { type: 'step', step: `s${i + 1}` } : null })) });
    assert.equal(big.status, 201, big.text);
    assert.equal((await req('POST', `${A}/bot/flows`, ok)).status, 409, 'names are unique');
    assert.equal((await req('POST', `${A}/bot/flows`, ok)).body.error.field, 'name');

    const p = await req('PATCH', `${A}/bot/flows/${big.body.id}`, { name: 'Fifty steps', enabled: false });
    assert.equal(p.status, 200, p.text);
    assert.equal(p.body.enabled, false);
    assert.equal(p.body.steps.length, 50, 'a patch without steps keeps them');
    const pb = await req('PATCH', `${A}/bot/flows/${big.body.id}`, { steps: [{ id: 'a', kind: 'message', text: 'x', buttons: [{ label: 'y', target: { type: 'step', step: 'zz' } }] }] });
    assert.equal(pb.status, 422);
    assert.equal(pb.body.error.field, 'steps[0].buttons[0].target');
    assert.equal((await req('PATCH', `${A}/bot/flows/${big.body.id}`, { name: 'Delivery help' })).status, 409);
    assert.equal((await req('PATCH', `${A}/bot/flows/${big.body.id}`, { wat: 1 })).body.error.field, 'wat');
    assert.equal((await req('GET', `${A}/bot/flows/999999`)).status, 404);
    assert.equal((await req('PATCH', `${A}/bot/flows/999999`, { name: 'z' })).status, 404);
    assert.equal((await req('DELETE', `${A}/bot/flows/999999`)).status, 404);
    const list = await req('GET', `${A}/bot/flows?q=fifty`);
    assert.equal(list.body.meta.total, 1);
    assert.equal(list.body.data[0].name, 'Fifty steps');

    // agents read, and may not write
    const email = `flow-agent-${++n}@example.com`;
    await req('POST', `${A}/users`, { email, name: 'Flow Agent', password: 'agent-pass-1', role: 'agent' });
    const agent = (await srv.login(email, 'agent-pass-1')).token;
    assert.equal((await req('GET', `${A}/bot/flows`, undefined, agent)).status, 200);
    assert.equal((await req('GET', `${A}/bot/flows/${f.id}`, undefined, agent)).status, 200);
    assert.equal((await req('POST', `${A}/bot/flows`, { ...ok, name: 'by agent' }, agent)).status, 403);
    assert.equal((await req('PATCH', `${A}/bot/flows/${f.id}`, { name: 'by agent' }, agent)).status, 403);
    assert.equal((await req('DELETE', `${A}/bot/flows/${f.id}`, undefined, agent)).status, 403);

    // what starts a flow: an intent (action flow) and an inbox's greeting; both block deleting it
    let r = await req('POST', `${A}/intents`, { name: 'parcel_where', examples: ['x'], action: 'flow' });
    assert.equal(r.body.error.field, 'flow_id', r.text);
    r = await req('POST', `${A}/intents`, { name: 'parcel_where', examples: ['x'], action: 'flow', flow_id: 999999 });
    assert.equal(r.body.error.field, 'flow_id', r.text);
    r = await req('POST', `${A}/intents`, { name: 'big_one', examples: ['fifty steps please'], action: 'flow', flow_id: big.body.id });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.body.action, 'flow');
    assert.equal(r.body.flow_id, big.body.id);
    const intentId = r.body.id;
    r = await req('PATCH', `${A}/inboxes/${inbox.id}`, { bot: { greeting_flows: [999999] } });
    assert.equal(r.status, 422);
    assert.equal(r.body.error.field, 'bot.greeting_flows');
    r = await req('PATCH', `${A}/inboxes/${inbox.id}`, { bot: { greeting_flows: [f.id, f.id] } });
    assert.equal(r.body.error.field, 'bot.greeting_flows');
    r = await req('PATCH', `${A}/inboxes/${inbox.id}`, { bot: { greeting_flows: [big.body.id] } });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.bot.greeting_flows, [big.body.id]);
    const trig = (await req('GET', `${A}/bot/flows/${big.body.id}`)).body.triggers;
    assert.deepEqual(trig.intents, [{ id: intentId, name: 'big_one' }]);
    assert.deepEqual(trig.inboxes, [{ id: inbox.id, name: 'Flow inbox' }]);
    r = await req('DELETE', `${A}/bot/flows/${big.body.id}`);
    assert.equal(r.status, 409, r.text);
    assert.match(r.body.error.message, /big_one/);
    // an intent that no longer starts the flow lets it go
    r = await req('PATCH', `${A}/intents/${intentId}`, { action: 'answer', answer: 'Fifty steps it is.' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.flow_id, null);
    r = await req('DELETE', `${A}/bot/flows/${big.body.id}`);
    assert.equal(r.status, 409, r.text);
    assert.match(r.body.error.message, /Flow inbox/);
    await req('PATCH', `${A}/inboxes/${inbox.id}`, { bot: { greeting_flows: [] } });

    // events, as for the other resources
    const ws = await connectWs(srv.port, admin);
    assert.equal((await req('PATCH', `${A}/bot/flows/${big.body.id}`, { button_label: 'Fifty!' })).status, 200);
    const up = await ws.waitFor((e) => e.json?.event === 'bot_flow.updated', 5000, 'bot_flow.updated');
    assert.equal(up.json.data.button_label, 'Fifty!');
    assert.equal((await req('DELETE', `${A}/bot/flows/${big.body.id}`)).status, 204);
    const del = await ws.waitFor((e) => e.json?.event === 'bot_flow.deleted', 5000, 'bot_flow.deleted');
    assert.equal(del.json.data.id, big.body.id);
    ws.destroy();
    assert.equal((await req('GET', `${A}/bot/flows/${big.body.id}`)).status, 404);
  });

  it('a visitor clicks through a flow from the greeting to a team, with the values for the agents', async () => {
    const f = (await req('GET', `${A}/bot/flows?q=Delivery`)).body.data[0];
    let r = await req('PATCH', `${A}/inboxes/${inbox.id}`, { bot: { greeting_flows: [f.id] } });
    assert.equal(r.status, 200, r.text);
    const v = await visitor();
    assert.deepEqual(v.session.bot.flows, [{ id: f.id, label: 'Track a parcel', payload: `flow:${f.id}` }]);
    assert.deepEqual(v.hello.bot.flows, v.session.bot.flows);

    // the greeting's button: the label is the visitor's message, the payload rides along
    const first = await say(v, 'Track a parcel', `flow:${f.id}`);
    assert.equal(first.content, 'Track a parcel');
    assert.deepEqual(first.attributes, { payload: `flow:${f.id}` });
    const cid = first.conversation_id;
    const menu = await botReply(v, (m) => m.attributes.kind === 'flow');
    assert.equal(menu.content, 'What can I help you with?');
    assert.deepEqual(menu.attributes.buttons.map((b) => b.label), ['Track my parcel', 'Shipping costs', 'Something else']);
    assert.deepEqual(menu.attributes.buttons.map((b) => b.payload), [0, 1, 2].map((i) => `flow:${f.id}:start:${i}`));
    let c = await conv(cid);
    assert.equal(c.status, 'pending', 'the bot holds it');
    assert.equal(c.bot_state, 'collecting');

    await say(v, 'Track my parcel', `flow:${f.id}:start:0`);
    const askEmail = await botReply(v, (m) => m.attributes.kind === 'collect');
    assert.equal(askEmail.content, 'What is your e-mail address?');
    assert.equal(askEmail.attributes.field, 'email');
    assert.equal(askEmail.attributes.input, 'email');

    // buttons that are not the current step's are refused, and nothing is stored
    const before = (await messages(cid)).length;
    for (const payload of [`flow:${f.id}:start:1`, `flow:${f.id}:ask_email:0`, `flow:${f.id}`, `flow:${f.id + 1000}:start:0`]) {
      const e = await send(v, 'Shipping costs', payload);
      assert.equal(e.type, 'error', payload);
      assert.equal(e.code, 'validation_failed');
      assert.equal(e.field, 'payload');
    }
    for (const payload of ['flow:abc', 'handoff', 42, 'flow:1:bad step:0']) {
      const e = await send(v, 'x', payload);
      assert.equal(e.type, 'error', String(payload));
      assert.equal(e.field, 'payload');
    }
    await sleep(200);
    assert.equal((await messages(cid)).length, before, 'a refused click stores nothing, and the bot says nothing');

    // one wrong e-mail, then a right one
    await say(v, 'not-an-email');
    const retry = await botReply(v, (m) => m.attributes.kind === 'collect' && m.id !== askEmail.id);
    assert.equal(retry.content, 'Hmm, that e-mail does not look right. Try again?');
    assert.equal(retry.attributes.field, 'email');
    await say(v, '  Parcel@Example.COM ');
    const askOrder = await botReply(v, (m) => m.attributes.kind === 'collect' && m.attributes.field === 'order_no');
    assert.equal(askOrder.content, 'And your order number?');
    assert.equal(askOrder.attributes.input, 'text');
    await say(v, 'A-1234');
    const bye = await botReply(v, (m) => m.attributes.kind === 'handoff');
    assert.match(bye.content, /connecting you/);

    c = await soon(async () => {
      const x = await conv(cid);
      assert.equal(x.status, 'open');
      return x;
    });
    assert.equal(c.bot_state, 'handed_off');
    assert.equal(c.team_id, team.id);
    assert.ok(c.waiting_since);
    assert.equal(c.contact.email, 'parcel@example.com', 'the e-mail fills the contact');
    const contact = (await req('GET', `${A}/contacts/${c.contact.id}`)).body;
    assert.equal(contact.attributes.order_no, 'A-1234', 'other values go to the contact attributes');
    const all = await messages(cid);
    const note = all.find((m) => m.private);
    assert.ok(note, 'a private note');
    assert.match(note.content, /flow: Delivery help/);
    assert.match(note.content, /note: Parcel tracking/);
    assert.match(note.content, /email: parcel@example\.com/);
    assert.match(note.content, /order_no: A-1234/);
    const transcript = all.filter((m) => !m.private).map((m) => `${m.sender.type}:${m.content}`);
    assert.deepEqual(transcript, [
      'contact:Track a parcel', 'bot:What can I help you with?', 'contact:Track my parcel', 'bot:What is your e-mail address?',
      'contact:not-an-email', 'bot:Hmm, that e-mail does not look right. Try again?', 'contact:  Parcel@Example.COM ',
      'bot:And your order number?', 'contact:A-1234', bye.content.replace(/^/, 'bot:'),
    ]);
    // once handed over, the bot is quiet and the old buttons are refused
    const late = await send(v, 'Track my parcel', `flow:${f.id}:start:0`);
    assert.equal(late.type, 'error');
    await say(v, 'hello?');
    await sleep(300);
    assert.equal((await messages(cid)).at(-1).sender.type, 'contact');
    v.ws.destroy();
  });

  it('typed labels, FAQ targets, a re-prompt, handoff keywords, choices, numbers and the end step', async () => {
    const menu = await req('POST', `${A}/bot/flows`, {
      name: 'Shop menu',
      steps: [
        { id: 'menu', kind: 'message', text: 'Pick a topic:', buttons: [
          { label: 'Shipping costs', target: { type: 'faq', faq_id: faq.id } },
          { label: 'Size advice', target: { type: 'step', step: 'intro' } },
          { label: 'Nothing', target: { type: 'end' } },
        ] },
        { id: 'intro', kind: 'message', text: 'Two quick questions.', next: { type: 'step', step: 'size' } },
        { id: 'size', kind: 'collect', text: 'Which size do you wear?', field: 'size', field_type: 'choice', options: ['S', 'M', 'L'], next: { type: 'step', step: 'height' } },
        { id: 'height', kind: 'collect', text: 'How tall are you, in cm?', field: 'height_cm', field_type: 'number', next: { type: 'step', step: 'done' } },
        { id: 'done', kind: 'end', text: 'Thanks! Size M fits most people of your height.' },
      ],
    });
    assert.equal(menu.status, 201, menu.text);
    const id = menu.body.id;
    await req('PATCH', `${A}/inboxes/${inbox.id}`, { bot: { greeting_flows: [id] } });

    // a label typed in another case is the button; an FAQ target answers and leaves the flow
    let v = await visitor();
    const cid = (await say(v, 'Shop menu', `flow:${id}`)).conversation_id;
    await botReply(v, (m) => m.content === 'Pick a topic:');
    await say(v, '  shipping COSTS ');
    const ans = await botReply(v, (m) => m.attributes.kind === 'answer');
    assert.equal(ans.content, faq.answer);
    assert.equal(ans.attributes.faq_id, faq.id);
    assert.equal((await conv(cid)).bot_state, 'active', 'out of the flow, the bot answers as usual');
    v.ws.destroy();

    // text that fits nothing shows the step's buttons again; a choice's options are buttons
    v = await visitor();
    const cid2 = (await say(v, 'Shop menu', `flow:${id}`)).conversation_id;
    await botReply(v, (m) => m.content === 'Pick a topic:');
    await say(v, 'purple elephants dance on tuesdays');
    const again = await botReply(v, (m) => m.attributes.kind === 'flow' && m.content !== 'Pick a topic:');
    assert.match(again.content, /pick one of the options/i);
    assert.deepEqual(again.attributes.buttons.map((b) => b.payload), [0, 1, 2].map((i) => `flow:${id}:menu:${i}`));
    await say(v, 'Size advice', `flow:${id}:menu:1`);
    await botReply(v, (m) => m.content === 'Two quick questions.');
    const size = await botReply(v, (m) => m.attributes.kind === 'collect' && m.attributes.field === 'size');
    assert.equal(size.attributes.input, 'choice');
    assert.deepEqual(size.attributes.buttons, ['S', 'M', 'L'].map((label, i) => ({ label, payload: `flow:${id}:size:${i}` })));
    await say(v, 'XXL');
    const pick = await botReply(v, (m) => m.attributes.kind === 'collect' && m.id !== size.id);
    assert.match(pick.content, /choose one of the options/i);
    await say(v, 'M', `flow:${id}:size:1`);
    const height = await botReply(v, (m) => m.attributes.field === 'height_cm');
    assert.equal(height.attributes.input, 'number');
    await say(v, 'tall');
    await botReply(v, (m) => m.attributes.field === 'height_cm' && m.content === 'Please enter a number:');
    await say(v, '178');
    const end = await botReply(v, (m) => m.attributes.kind === 'flow_end');
    assert.equal(end.content, 'Thanks! Size M fits most people of your height.');
    const c2 = await conv(cid2);
    assert.equal(c2.bot_state, 'active', 'the bot stays on after the end');
    assert.equal(c2.status, 'pending');
    const contact = (await req('GET', `${A}/contacts/${c2.contact.id}`)).body;
    assert.equal(contact.attributes.size, 'M');
    assert.equal(contact.attributes.height_cm, '178');
    v.ws.destroy();

    // a handoff keyword works in the middle of a flow; the note says which flow
    v = await visitor();
    const cid3 = (await say(v, 'Shop menu', `flow:${id}`)).conversation_id;
    await botReply(v, (m) => m.content === 'Pick a topic:');
    await say(v, 'I want a human');
    await botReply(v, (m) => m.attributes.kind === 'handoff');
    const c3 = await soon(async () => {
      const x = await conv(cid3);
      assert.equal(x.status, 'open');
      return x;
    });
    assert.equal(c3.bot_state, 'handed_off');
    const note = (await messages(cid3)).find((m) => m.private);
    assert.match(note.content, /keyword/);
    assert.match(note.content, /flow: Shop menu/);
    v.ws.destroy();

    // an agent's public reply ends the bot's part in the middle of a flow
    v = await visitor();
    const cid4 = (await say(v, 'Shop menu', `flow:${id}`)).conversation_id;
    await botReply(v, (m) => m.content === 'Pick a topic:');
    const reply = await req('POST', `${A}/conversations/${cid4}/messages`, { content: 'Hi, I am Ann from the shop. How can I help?' });
    assert.equal(reply.status, 201, reply.text);
    assert.equal((await conv(cid4)).bot_state, 'handed_off');
    const stale = await send(v, 'Size advice', `flow:${id}:menu:1`);
    assert.equal(stale.type, 'error', 'the flow is over once an agent answered');
    await say(v, 'Size advice');
    await sleep(300);
    assert.equal((await messages(cid4)).at(-1).sender.type, 'contact', 'and the bot stays quiet');
    v.ws.destroy();

    // "Nothing" ends it with the default closing text; a disabled flow is not offered
    v = await visitor();
    await say(v, 'Shop menu', `flow:${id}`);
    await botReply(v, (m) => m.content === 'Pick a topic:');
    await say(v, 'Nothing', `flow:${id}:menu:2`);
    const closing = await botReply(v, (m) => m.attributes.kind === 'flow_end');
    assert.match(closing.content, /anything else/);
    v.ws.destroy();
    await req('PATCH', `${A}/bot/flows/${id}`, { enabled: false });
    v = await visitor();
    assert.deepEqual(v.session.bot.flows, []);
    const off = await send(v, 'Shop menu', `flow:${id}`);
    assert.equal(off.type, 'error');
    assert.equal(off.field, 'payload');
    v.ws.destroy();
    await req('PATCH', `${A}/bot/flows/${id}`, { enabled: true });
  });

  it('an intent starts a flow in place of its plain action, with the intent recorded', async () => {
    const f = await req('POST', `${A}/bot/flows`, {
      name: 'Returns',
      steps: [
        { id: 'why', kind: 'collect', text: 'Why do you want to return it?', field: 'return_reason', field_type: 'choice', options: ['Too small', 'Too big', 'Damaged'], next: { type: 'step', step: 'team' } },
        { id: 'team', kind: 'handoff', team_id: team.id, skill_id: skill.id, note: 'Return request' },
      ],
    });
    assert.equal(f.status, 201, f.text);
    const it1 = await req('POST', `${A}/intents`, { name: 'return_item', examples: ['I want to return my order', 'how do I send it back', 'return an item', 'I need to return this', 'can I return the shoes'], action: 'flow', flow_id: f.body.id });
    assert.equal(it1.status, 201, it1.text);
    await req('POST', `${A}/intents`, { name: 'opening_hours', examples: ['when are you open', 'opening hours', 'what time do you close', 'are you open on sunday', 'business hours'], action: 'answer', answer: 'We are open 9 to 6.' });
    await soon(async () => {
      const t = await req('POST', `${A}/bot/test`, { text: 'I want to return my order' });
      assert.equal(t.body.match?.name, 'return_item', t.text);
      assert.equal(t.body.confident, true, t.text);
    }, { timeout: 20000 });
    const v = await visitor();
    const cid = (await say(v, 'I want to return my order')).conversation_id;
    const why = await botReply(v, (m) => m.attributes.kind === 'collect');
    assert.equal(why.content, 'Why do you want to return it?');
    await say(v, 'damaged');
    await botReply(v, (m) => m.attributes.kind === 'handoff');
    const c = await soon(async () => {
      const x = await conv(cid);
      assert.equal(x.status, 'open');
      return x;
    });
    assert.equal(c.intent, 'return_item');
    assert.equal(c.team_id, team.id);
    const note = (await messages(cid)).find((m) => m.private);
    assert.match(note.content, /intent: return_item/);
    assert.match(note.content, /return_reason: Damaged/);
    v.ws.destroy();
  });

  it('a restart in the middle of a flow continues where it was; another account cannot reach the flows', async () => {
    const f = (await req('GET', `${A}/bot/flows?q=Delivery`)).body.data[0];
    await req('PATCH', `${A}/inboxes/${inbox.id}`, { bot: { greeting_flows: [f.id] } });
    let v = await visitor();
    const visitorId = v.session.visitor_id;
    const cid = (await say(v, 'Track a parcel', `flow:${f.id}`)).conversation_id;
    await botReply(v, (m) => m.attributes.kind === 'flow');
    await say(v, 'Track my parcel', `flow:${f.id}:start:0`);
    await botReply(v, (m) => m.attributes.field === 'email');
    await say(v, 'again@example.com');
    await botReply(v, (m) => m.attributes.field === 'order_no');
    v.ws.destroy();
    const team2 = (await req('POST', `${A}/teams`, { name: 'Other shipping' })).body;
    await srv.stop();

    const now = Date.now();
    execFileSync('sqlite3', [join(srv.dataDir, 'parley.db'), `
      INSERT INTO accounts (id, name, slug, created_at) VALUES (2, 'Other', 'other', ${now});
      INSERT INTO users (id, email, name, password_hash, created_at)
        SELECT 100, 'other@example.com', 'Other Admin', password_hash, ${now} FROM users WHERE id = 1;
      INSERT INTO account_users (account_id, user_id, role, created_at) VALUES (2, 100, 'admin', ${now});
      INSERT INTO account_seq (account_id, seq) VALUES (2, 0);
      INSERT INTO inboxes (id, account_id, name, channel, widget_token, created_at, updated_at)
        VALUES (100, 2, 'Other site', 'web', 'other-token', ${now}, ${now});`]);
    const old = srv;
    srv = await startServer({ dataDir: old.dataDir });
    srv.ownsDir = true; // removed by after()
    old.ownsDir = false;
    admin = (await srv.login()).token;
    {
      // the same visitor, after the restart, answers the question that was asked before it
      v = await visitor({ visitor_id: visitorId });
      assert.equal(v.session.conversation.id, cid);
      await say(v, 'B-777');
      await botReply(v, (m) => m.attributes.kind === 'handoff');
      const c = await soon(async () => {
        const x = await conv(cid);
        assert.equal(x.status, 'open');
        return x;
      });
      assert.equal(c.team_id, team.id);
      const note = (await messages(cid)).find((m) => m.private);
      assert.match(note.content, /email: again@example\.com/);
      assert.match(note.content, /order_no: B-777/);
      v.ws.destroy();

      // another account: 404 on these ids, and its flows cannot name this account's things
      const other = (await srv.login('other@example.com', ADMIN_PASSWORD)).token;
      const A2 = '/api/v1/accounts/2';
      assert.equal((await req('GET', `${A2}/bot/flows/${f.id}`, undefined, other)).status, 404);
      assert.equal((await req('PATCH', `${A2}/bot/flows/${f.id}`, { name: 'mine' }, other)).status, 404);
      assert.equal((await req('DELETE', `${A2}/bot/flows/${f.id}`, undefined, other)).status, 404);
      assert.equal((await req('GET', `${A2}/bot/flows`, undefined, other)).body.meta.total, 0);
      assert.equal((await req('GET', `${A}/bot/flows`, undefined, other)).status, 404, 'not a member of account 1');
      const steal = [
        [{ id: 'a', kind: 'handoff', team_id: team2.id }, 'steps[0].team_id'],
        [{ id: 'a', kind: 'message', text: 'x', buttons: [{ label: 'y', target: { type: 'faq', faq_id: faq.id } }] }, 'steps[0].buttons[0].target'],
        [{ id: 'a', kind: 'handoff', skill_id: skill.id }, 'steps[0].skill_id'],
      ];
      for (const [step, field] of steal) {
        const r = await req('POST', `${A2}/bot/flows`, { name: 'Steal', steps: [step] }, other);
        assert.equal(r.status, 422, r.text);
        assert.equal(r.body.error.field, field);
      }
      let r = await req('PATCH', `${A2}/inboxes/100`, { bot: { greeting_flows: [f.id] } }, other);
      assert.equal(r.status, 422, r.text);
      assert.equal(r.body.error.field, 'bot.greeting_flows');
      r = await req('POST', `${A2}/intents`, { name: 'steal', examples: ['x'], action: 'flow', flow_id: f.id }, other);
      assert.equal(r.status, 422, r.text);
      assert.equal(r.body.error.field, 'flow_id');
      // a visitor of the other account cannot start this account's flow
      const s2 = await srv.request('POST', '/api/v1/widget/sessions', { body: { widget_token: 'other-token' } });
      const w2 = await openWs(srv.port, `/ws?token=${s2.body.visitor_token}`);
      await w2.ws.waitFor(isText('hello'));
      await w2.ws.sendJson({ type: 'message.send', client_id: 'x-1', content: 'Track a parcel', payload: `flow:${f.id}` });
      const e = await w2.ws.waitFor((x) => x.json?.type === 'error' || x.json?.type === 'ack');
      assert.equal(e.json.type, 'error');
      assert.equal(e.json.field, 'payload');
      w2.ws.destroy();
    }
  });
});
