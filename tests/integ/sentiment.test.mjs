// Sentiment over the real binary: the seed model trains at start-up off the loop (/healthz does not
// wait for it) and shows in GET /bot; clear Chinese and English messages get the right sign; agents
// correct a customer message's sentiment and take it back (validation, who may, tenancy, the live
// message.updated event agents see and visitors do not); and corrections retrain the account's model,
// which then scores a similar new message their way, in that account only; with --senti-models, the least
// recently used accounts' models leave memory and come back when needed.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { startServer, ADMIN_PASSWORD } from '../lib/server.mjs';
import { openWs } from './lib/ws.mjs';
import { passes, sleep } from './lib/util.mjs';

const A = '/api/v1/accounts/1';
const isText = (t) => (e) => e.kind === 'text' && e.json?.type === t;
const isEvent = (name, pred = () => true) => (e) =>
  e.kind === 'text' && e.json?.type === 'event' && e.json.event === name && pred(e.json);
const soon = (fn, timeout = 20000) => passes(fn, { timeout, interval: 100 });
const label = (s) => (s <= -0.25 ? 'negative' : s >= 0.25 ? 'positive' : 'neutral');

let n = 0;
/** A visitor of the inbox with this widget token: {ws, say(text) -> message}. The visitor's ack carries no
 * sentiment (that is for agents); say() returns the message as the account's agents see it (`token`, `aid`). */
async function visitor(srv, widgetToken, token, aid = 1) {
  const s = await srv.request('POST', '/api/v1/widget/sessions', { body: { widget_token: widgetToken } });
  assert.equal(s.status, 200, s.text);
  const r = await openWs(srv.port, `/ws?token=${s.body.visitor_token}`);
  assert.equal(r.status, 101);
  await r.ws.waitFor(isText('hello'), 5000, 'hello');
  const say = async (content) => {
    const client_id = `s-${++n}`;
    await r.ws.sendJson({ type: 'message.send', client_id, content });
    const ack = await r.ws.waitFor((e) => isText('ack')(e) && e.json.client_id === client_id, 5000, 'ack');
    const mine = ack.json.data;
    assert.ok(!('sentiment' in mine) && !('sentiment_correction' in mine), `the visitor's ack: ${JSON.stringify(mine)}`);
    const ev = r.ws.events.find((e) => e.json?.event === 'message.created' && e.json.data.message?.id === mine.id);
    assert.ok(!ev || !('sentiment' in ev.json.data.message), `the visitor's event: ${JSON.stringify(ev?.json)}`);
    const list = await srv.request('GET', `/api/v1/accounts/${aid}/conversations/${mine.conversation_id}/messages`, { token });
    assert.equal(list.status, 200, list.text);
    const seen = list.body.data.find((x) => x.id === mine.id);
    assert.ok(seen && 'sentiment' in seen, list.text);
    return seen;
  };
  return { ws: r.ws, say, token: s.body.visitor_token };
}

async function seedReady(srv, token, aid = 1) {
  return soon(async () => {
    const s = await srv.request('GET', `/api/v1/accounts/${aid}/bot`, { token });
    assert.equal(s.status, 200, s.text);
    assert.equal(s.body.sentiment.status, 'ready', JSON.stringify(s.body.sentiment));
    return s.body.sentiment;
  });
}

describe('sentiment', () => {
  let srv, admin, web, agent, outsider;
  const req = (method, path, body, token = admin) => srv.request(method, path, { token, body });
  const put = (cid, mid, body, token) => req('PUT', `${A}/conversations/${cid}/messages/${mid}/sentiment`, body, token);
  const del = (cid, mid, token) => req('DELETE', `${A}/conversations/${cid}/messages/${mid}/sentiment`, undefined, token);
  const messages = async (cid) => (await req('GET', `${A}/conversations/${cid}/messages`)).body.data;

  before(async () => {
    srv = await startServer();
    const t0 = Date.now();
    const h = await srv.request('GET', '/healthz');
    assert.equal(h.status, 200);
    assert.ok(Date.now() - t0 < 1000, 'healthz does not wait for the sentiment model');
    admin = (await srv.login()).token;
    web = (await req('GET', `${A}/inboxes`)).body.data.find((i) => i.channel === 'web');
    const mk = async (email) => (await req('POST', `${A}/users`, { email, name: email.split('@')[0], password: 'agent-pass-1', role: 'agent' })).body.id;
    const agentId = await mk('senti-agent@example.com');
    await mk('senti-out@example.com');
    const members = (await req('GET', `${A}/inboxes/${web.id}/members`)).body.user_ids;
    assert.equal((await req('PUT', `${A}/inboxes/${web.id}/members`, { user_ids: [...members, agentId] })).status, 200);
    agent = (await srv.login('senti-agent@example.com', 'agent-pass-1')).token;
    outsider = (await srv.login('senti-out@example.com', 'agent-pass-1')).token;
  });
  after(async () => { await srv.stop(); srv.cleanup(); });

  it('the seed model is trained after start-up and reported in GET /bot', async () => {
    const s = await seedReady(srv, admin);
    assert.ok(s.examples >= 1000, JSON.stringify(s));
    assert.equal(s.tenant_examples, 0);
    assert.equal(s.cv_accuracy, null);
    assert.equal(s.error, null);
    assert.match(s.trained_at, /^\d{4}-/);
    // agents do not see the bot page
    assert.equal((await req('GET', `${A}/bot`, undefined, agent)).status, 403);
  });

  it('scores clear Chinese and English messages with the right sign', async () => {
    await seedReady(srv, admin);
    const v = await visitor(srv, web.widget_token, admin);
    const cases = [
      ['太差了，再也不买了', 'negative'],
      ['等了三天还没发货，这已经是我第三次问了', 'negative'],
      ['谢谢你们，问题解决了', 'positive'],
      ['请问怎么退货', 'neutral'],
      ["This is the third time I'm asking, still no refund", 'negative'],
      ['Thanks, that fixed it. Great support!', 'positive'],
      ['How do I reset my password?', 'neutral'],
    ];
    for (const [text, want] of cases) {
      const m = await v.say(text);
      assert.equal(label(m.sentiment), want, `${text}: ${m.sentiment}`);
      assert.equal(m.sentiment_correction, null);
    }
    v.ws.destroy();
  });

  it('validates corrections: labels, fields, whose messages, who may, which account', async () => {
    const v = await visitor(srv, web.widget_token, admin);
    const m = await v.say('我想查一下订单');
    const cid = m.conversation_id;
    const reply = await req('POST', `${A}/conversations/${cid}/messages`, { content: '好的，请稍等' });
    assert.equal(reply.status, 201, reply.text);
    const note = await req('POST', `${A}/conversations/${cid}/messages`, { content: 'internal', private: true });
    const bad = [
      [{ label: 'angry' }, 'label'],
      [{ label: 1 }, 'label'],
      [{}, 'label'],
      [{ label: 'negative', score: -1 }, 'body'],
    ];
    for (const [body, field] of bad) {
      const r = await put(cid, m.id, body);
      assert.equal(r.status, 422, r.text);
      assert.equal(r.body.error.code, 'validation_failed');
      assert.equal(r.body.error.field, field, r.text);
    }
    const raw = await srv.request('PUT', `${A}/conversations/${cid}/messages/${m.id}/sentiment`, { token: admin, raw: '{"label":', headers: { 'content-type': 'application/json' } });
    assert.equal(raw.status, 400);
    assert.equal(raw.body.error.code, 'invalid_json');
    for (const mid of [reply.body.id, note.body.id]) { // an agent's reply and a private note
      const r = await put(cid, mid, { label: 'negative' });
      assert.equal(r.status, 422, r.text);
      assert.equal(r.body.error.field, 'message_id');
      assert.match(r.body.error.message, /customer/);
    }
    // unknown ids, a message of another conversation, an agent outside the inbox, no token
    assert.equal((await put(cid, 99999999, { label: 'negative' })).status, 404);
    assert.equal((await put(99999999, m.id, { label: 'negative' })).status, 404);
    assert.equal((await put(cid, 'x', { label: 'negative' })).status, 404);
    const other = await (await visitor(srv, web.widget_token, admin)).say('another conversation');
    assert.equal((await put(other.conversation_id, m.id, { label: 'negative' })).status, 404);
    const out = await put(cid, m.id, { label: 'negative' }, outsider);
    assert.equal(out.status, 404, out.text);
    assert.equal(out.body.error.code, 'not_found');
    assert.equal((await del(cid, m.id, outsider)).status, 404);
    assert.equal((await srv.request('PUT', `${A}/conversations/${cid}/messages/${m.id}/sentiment`, { body: { label: 'negative' } })).status, 401);
    // nothing changed
    assert.equal((await messages(cid)).find((x) => x.id === m.id).sentiment_correction, null);
    // an agent of the inbox may
    const ok = await put(cid, m.id, { label: 'neutral' }, agent);
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.body.sentiment_correction, 'neutral');
    v.ws.destroy();
  });

  it('a correction sets the score, the conversation follows, agents see it live; DELETE takes it back', async () => {
    const v = await visitor(srv, web.widget_token, admin);
    const first = await v.say('订单什么时候发货');
    const m = await v.say('好的，我知道了');
    const cid = m.conversation_id;
    const before = m.sentiment;
    const agentWs = await openWs(srv.port, `/ws?token=${agent}`);
    await agentWs.ws.waitFor(isText('hello'), 5000, 'hello');

    const r = await put(cid, m.id, { label: 'negative' }, agent);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.id, m.id);
    assert.equal(r.body.sentiment, -1);
    assert.equal(r.body.sentiment_correction, 'negative');
    const ev = await agentWs.ws.waitFor(isEvent('message.updated', (f) => f.data.message.id === m.id), 5000, 'message.updated');
    assert.equal(ev.json.data.reason, 'sentiment');
    assert.equal(ev.json.data.message.sentiment_correction, 'negative');
    assert.equal(ev.json.data.conversation.sentiment, -1, 'the newest customer message sets the conversation');
    assert.equal((await req('GET', `${A}/conversations/${cid}`)).body.sentiment, -1);
    const got = (await messages(cid)).find((x) => x.id === m.id);
    assert.equal(got.sentiment, -1);
    assert.equal(got.sentiment_correction, 'negative');

    // the same label again changes nothing and says nothing
    const seq = ev.json.seq;
    assert.equal((await put(cid, m.id, { label: 'negative' })).status, 200);
    // an older message: its score changes, the conversation's stays the newest one's
    const r2 = await put(cid, first.id, { label: 'positive' });
    assert.equal(r2.body.sentiment, 1);
    const ev2 = await agentWs.ws.waitFor(isEvent('message.updated', (f) => f.data.message.id === first.id), 5000, 'message.updated');
    assert.equal(ev2.json.seq, seq + 1, 'no event for the repeated label');
    assert.equal(ev2.json.data.conversation.sentiment, -1);

    // the visitor never hears of it, and their history does not say how agents read them
    await sleep(200);
    assert.ok(!v.ws.events.some((e) => e.json?.event === 'message.updated'), 'visitors get no message.updated');
    const hist = await srv.request('GET', '/api/v1/widget/messages', { headers: { authorization: `Bearer ${v.token}` } });
    assert.equal(hist.status, 200, hist.text);
    const mine = hist.body.data.find((x) => x.id === m.id);
    assert.ok(mine, hist.text);
    assert.ok(!('sentiment' in mine) && !('sentiment_correction' in mine), JSON.stringify(mine));

    // take it back: the model's score returns
    const d = await del(cid, m.id, agent);
    assert.equal(d.status, 200, d.text);
    assert.equal(d.body.sentiment_correction, null);
    assert.ok(Math.abs(d.body.sentiment - before) < 1e-9, `${d.body.sentiment} vs ${before}`);
    await agentWs.ws.waitFor(isEvent('message.updated', (f) => f.data.message.id === m.id && f.data.message.sentiment_correction === null), 5000, 'message.updated');
    assert.ok(Math.abs((await req('GET', `${A}/conversations/${cid}`)).body.sentiment - before) < 1e-9);
    assert.equal((await del(cid, m.id)).status, 200, 'taking back twice is fine');
    agentWs.ws.destroy();
    v.ws.destroy();
  });
});

describe('sentiment: corrections retrain the account model', () => {
  let srv, first, admin1, admin2;
  after(async () => {
    if (srv) await srv.stop();
    first?.cleanup();
  });

  it('a similar new message is scored the corrected way in that account only', async () => {
    // a second account (the product has no sign-up yet): made in the database between two starts
    first = await startServer();
    await first.stop();
    const now = Date.now();
    execFileSync('sqlite3', [join(first.dataDir, 'parley.db'), `
      INSERT INTO accounts (id, name, slug, created_at) VALUES (2, 'Other', 'other', ${now});
      INSERT INTO users (id, email, name, password_hash, created_at)
        SELECT 100, 'other@example.com', 'Other Admin', password_hash, ${now} FROM users WHERE id = 1;
      INSERT INTO account_users (account_id, user_id, role, created_at) VALUES (2, 100, 'admin', ${now});
      INSERT INTO account_seq (account_id, seq) VALUES (2, 0);
      INSERT INTO inboxes (id, account_id, name, channel, widget_token, created_at, updated_at)
        VALUES (100, 2, 'Other site', 'web', 'other-token', ${now}, ${now});
      INSERT INTO inbox_members (account_id, inbox_id, user_id, created_at) VALUES (2, 100, 100, ${now});`]);
    srv = await startServer({ dataDir: first.dataDir });
    admin1 = (await srv.login()).token;
    admin2 = (await srv.login('other@example.com', ADMIN_PASSWORD)).token;
    await seedReady(srv, admin1);
    const web1 = (await srv.request('GET', `${A}/inboxes`, { token: admin1 })).body.data.find((i) => i.channel === 'web');

    // A game's players: an "orange card" is the best draw. The seed model has never seen one.
    const probe = '我抽到橙卡了';
    const v1 = await visitor(srv, web1.widget_token, admin1);
    const v2 = await visitor(srv, 'other-token', admin2, 2);
    const before1 = (await v1.say(probe)).sentiment;
    const before2 = (await v2.say(probe)).sentiment;
    assert.equal(label(before1), label(before2));
    assert.notEqual(label(before1), 'positive', `before: ${before1}`);
    const o = await v2.say('这个页面打不开');
    const praise = ['又抽到橙卡了', '十连抽出了两张橙卡', '终于出橙卡了', '今天第一抽就是橙卡', '橙卡到手'];
    const plain = ['我的账号是12345', '请问活动什么时候开始', '怎么绑定手机号', '客服在吗', '充值入口在哪里'];
    const corr = async (text, lab) => {
      const m = await v1.say(text);
      const r = await srv.request('PUT', `${A}/conversations/${m.conversation_id}/messages/${m.id}/sentiment`, { token: admin1, body: { label: lab } });
      assert.equal(r.status, 200, r.text);
      // account 1's corrections cannot touch account 2's messages, by either path
      assert.equal((await srv.request('PUT', `${A}/conversations/${o.conversation_id}/messages/${o.id}/sentiment`, { token: admin1, body: { label: lab } })).status, 404);
      assert.equal((await srv.request('PUT', `/api/v1/accounts/2/conversations/${m.conversation_id}/messages/${m.id}/sentiment`, { token: admin1, body: { label: lab } })).status, 404);
    };
    for (const t of praise) await corr(t, 'positive');
    for (const t of plain) await corr(t, 'neutral');

    const s1 = await soon(async () => {
      const s = (await srv.request('GET', `${A}/bot`, { token: admin1 })).body.sentiment;
      assert.equal(s.status, 'ready', JSON.stringify(s));
      assert.equal(s.tenant_examples, 10, JSON.stringify(s));
      return s;
    }, 30000);
    assert.ok(s1.examples >= 1010, JSON.stringify(s1));
    assert.ok(s1.cv_accuracy >= 0 && s1.cv_accuracy <= 1, 'cross-validated on 10 labels');
    assert.ok(s1.base_accuracy >= 0 && s1.base_accuracy <= 1);
    const after1 = (await v1.say(probe)).sentiment;
    const after2 = (await v2.say(probe)).sentiment;
    assert.equal(label(after1), 'positive', `account 1 after its corrections: ${before1} -> ${after1}`);
    assert.ok(Math.abs(after2 - before2) < 1e-9, `account 2 unchanged: ${before2} -> ${after2}`);
    // what the corrections did not touch stays as it was
    assert.equal(label((await v1.say('太差了，再也不买了')).sentiment), 'negative');
    // account 2's own correction trains its own model, which knows nothing of account 1's
    assert.equal((await srv.request('PUT', `/api/v1/accounts/2/conversations/${o.conversation_id}/messages/${o.id}/sentiment`, { token: admin2, body: { label: 'negative' } })).status, 200);
    const s2 = await soon(async () => {
      const s = (await srv.request('GET', '/api/v1/accounts/2/bot', { token: admin2 })).body.sentiment;
      assert.equal(s.tenant_examples, 1, JSON.stringify(s));
      assert.equal(s.status, 'ready');
      return s;
    }, 30000);
    assert.equal(s2.cv_accuracy, null, 'fewer than 10 labels');
    assert.notEqual(label((await v2.say(probe)).sentiment), 'positive');

    // the corrections survive a restart: the account's model is trained again from them
    v1.ws.destroy();
    v2.ws.destroy();
    await srv.stop();
    srv = await startServer({ dataDir: first.dataDir });
    admin1 = (await srv.login()).token;
    await soon(async () => {
      const s = (await srv.request('GET', `${A}/bot`, { token: admin1 })).body.sentiment;
      assert.equal(s.status, 'ready', JSON.stringify(s));
      assert.equal(s.tenant_examples, 10, JSON.stringify(s));
    }, 30000);
    const v3 = await visitor(srv, web1.widget_token, admin1);
    assert.equal(label((await v3.say(probe)).sentiment), 'positive');
    v3.ws.destroy();

    // --senti-models 1: one account's model in memory. At start-up the newest corrections (account 2's)
    // train; account 1 starts evicted, its first message is scored by the seed model and brings its model
    // back, which then pushes account 2's out; asking for account 2's status brings that back in turn.
    await srv.stop();
    srv = await startServer({ dataDir: first.dataDir, args: ['--senti-models', '1'] });
    admin1 = (await srv.login()).token;
    admin2 = (await srv.login('other@example.com', ADMIN_PASSWORD)).token;
    const status = async (aid, token) => (await srv.request('GET', `/api/v1/accounts/${aid}/bot`, { token })).body.sentiment;
    await soon(async () => {
      const s = await status(2, admin2);
      assert.equal(s.status, 'ready', JSON.stringify(s));
      assert.equal(s.tenant_examples, 1, JSON.stringify(s));
    }, 30000);
    const v4 = await visitor(srv, web1.widget_token, admin1);
    assert.notEqual(label((await v4.say(probe)).sentiment), 'positive', 'evicted: the seed model scores meanwhile');
    await soon(async () => {
      const s = await status(1, admin1);
      assert.equal(s.status, 'ready', JSON.stringify(s));
      assert.equal(s.tenant_examples, 10, JSON.stringify(s));
    }, 30000);
    assert.equal(label((await v4.say(probe)).sentiment), 'positive');
    const back = await status(2, admin2);
    assert.equal(back.status, 'training', `account 2's model was dropped: ${JSON.stringify(back)}`);
    await soon(async () => {
      const s = await status(2, admin2);
      assert.equal(s.status, 'ready', JSON.stringify(s));
      assert.equal(s.tenant_examples, 1, JSON.stringify(s));
    }, 30000);
    v4.ws.destroy();
  });
});
