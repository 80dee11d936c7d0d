// The event spine and inboxes: every committed change is an event with a per-account gap-free seq,
// pushed live to subscribers who may see it and replayed exactly once after a reconnect with `since`.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { openWs } from './lib/ws.mjs';
import { sleep } from './lib/util.mjs';

async function until(pred, what, timeout = 5000) {
  const end = Date.now() + timeout;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const evs = (ws) => ws.events.filter((e) => e.kind === 'text' && e.json?.type === 'event').map((e) => e.json);

async function connect(srv, token, q = '') {
  const r = await openWs(srv.port, `/ws?token=${token}${q}`);
  assert.equal(r.status, 101, `upgrade: ${r.status} ${r.body}`);
  await r.ws.waitFor((e) => e.kind === 'text' && e.json?.type === 'hello', 5000, 'hello');
  return r.ws;
}

describe('inboxes and the event spine', () => {
  let srv, admin, agent, agentId;
  before(async () => {
    srv = await startServer();
    admin = (await srv.login()).token;
    const u = await srv.request('POST', '/api/v1/accounts/1/users', {
      token: admin, body: { email: 'ev-agent@example.com', name: 'Agent', password: 'agent-pass-1', role: 'agent' } });
    agentId = u.body.id;
    agent = (await srv.login('ev-agent@example.com', 'agent-pass-1')).token;
  });
  after(async () => { await srv.stop(); srv.cleanup(); });

  it('creates, reads, updates and deletes an inbox; bad input changes nothing', async () => {
    const c = await srv.request('POST', '/api/v1/accounts/1/inboxes', { token: admin, body: {
      name: 'Website', channel: 'web', greeting: '你好，有什么可以帮您？', widget_color: '#00AA55',
      prechat_fields: [{ name: 'email', label: 'E-mail', type: 'email', required: true }, { name: 'phone', label: '电话' }] } });
    assert.equal(c.status, 201, c.text);
    assert.match(c.body.widget_token, /^[0-9a-f]{40}$/);
    assert.equal(c.body.widget_title, 'Website');
    assert.deepEqual(c.body.prechat_fields[1], { name: 'phone', label: '电话', type: 'text', required: false });
    const id = c.body.id;
    for (const [body, field] of [[{ channel: 'web' }, 'name'], [{ name: 'x' }, 'channel'], [{ name: 'x', channel: 'fax' }, 'channel'],
      [{ name: 'x', channel: 'web', widget_color: 'red' }, 'widget_color'], [{ name: 'x', channel: 'web', prechat_fields: {} }, 'prechat_fields'],
      [{ name: 'x', channel: 'web', prechat_fields: [{ name: 'a', label: 'A' }, { name: 'a', label: 'B' }] }, 'prechat_fields'],
      [{ name: '   ', channel: 'web' }, 'name'], [{ name: 'x'.repeat(101), channel: 'web' }, 'name']]) {
      const r = await srv.request('POST', '/api/v1/accounts/1/inboxes', { token: admin, body });
      assert.equal(r.status, 422, JSON.stringify(body));
      assert.equal(r.body.error.field, field, JSON.stringify(body));
    }
    const p = await srv.request('PATCH', `/api/v1/accounts/1/inboxes/${id}`, { token: admin, body: { offline_message: 'Leave a message' } });
    assert.equal(p.status, 200);
    assert.equal(p.body.offline_message, 'Leave a message');
    assert.equal(p.body.greeting, '你好，有什么可以帮您？', 'fields not given are kept');
    assert.equal((await srv.request('PATCH', `/api/v1/accounts/1/inboxes/${id}`, { token: admin, body: { channel: 'api' } })).status, 422);
    assert.equal((await srv.request('PATCH', `/api/v1/accounts/1/inboxes/${id}`, { token: agent, body: { name: 'x' } })).status, 403);
    assert.equal((await srv.request('POST', '/api/v1/accounts/1/inboxes', { token: agent, body: { name: 'x', channel: 'web' } })).status, 403);
    assert.equal((await srv.request('GET', `/api/v1/accounts/2/inboxes/${id}`, { token: admin })).status, 404);
    assert.equal((await srv.request('GET', '/api/v1/accounts/1/inboxes/999', { token: admin })).status, 404);
    const list = await srv.request('GET', '/api/v1/accounts/1/inboxes', { token: admin });
    assert.equal(list.body.meta.total, 2, "the default Website inbox and this one");
    const d = await srv.request('DELETE', `/api/v1/accounts/1/inboxes/${id}`, { token: admin });
    assert.equal(d.status, 204);
    assert.equal((await srv.request('GET', `/api/v1/accounts/1/inboxes/${id}`, { token: admin })).status, 404);
    assert.equal((await srv.request('DELETE', `/api/v1/accounts/1/inboxes/${id}`, { token: admin })).status, 404);
  });

  it('pushes events live, and replays exactly the missed ones after a reconnect', async () => {
    const ws = await connect(srv, admin);
    const c = await srv.request('POST', '/api/v1/accounts/1/inboxes', { token: admin, body: { name: 'Live', channel: 'web' } });
    const live = await ws.waitFor((e) => e.json?.event === 'inbox.created' && e.json.data.id === c.body.id);
    const seen = live.json.seq;
    ws.destroy();

    // While disconnected: three changes.
    await srv.request('PATCH', `/api/v1/accounts/1/inboxes/${c.body.id}`, { token: admin, body: { name: 'Live 2' } });
    await srv.request('PATCH', `/api/v1/accounts/1/inboxes/${c.body.id}`, { token: admin, body: { name: 'Live 3' } });
    const c2 = await srv.request('POST', '/api/v1/accounts/1/inboxes', { token: admin, body: { name: 'Later', channel: 'api' } });

    const ws2 = await connect(srv, admin, `&since=${seen}`);
    await until(() => evs(ws2).some((e) => e.event === 'inbox.created' && e.data.id === c2.body.id), 'the replay');
    // And one more, live, after the replay.
    await srv.request('PATCH', `/api/v1/accounts/1/inboxes/${c2.body.id}`, { token: admin, body: { name: 'Later 2' } });
    await until(() => evs(ws2).some((e) => e.data.name === 'Later 2'), 'the live event');
    const got = evs(ws2);
    assert.deepEqual(got.map((e) => e.seq), [seen + 1, seen + 2, seen + 3, seen + 4], 'every missed event once, in order, no gaps');
    assert.deepEqual(got.map((e) => e.event), ['inbox.updated', 'inbox.updated', 'inbox.created', 'inbox.updated']);
    assert.equal(got[1].data.name, 'Live 3');
    ws2.destroy();
  });

  it('agents see only the inboxes they are members of, and membership changes apply live', async () => {
    const mine = (await srv.request('POST', '/api/v1/accounts/1/inboxes', { token: admin, body: { name: 'Mine', channel: 'web' } })).body;
    const other = (await srv.request('POST', '/api/v1/accounts/1/inboxes', { token: admin, body: { name: 'Not mine', channel: 'web' } })).body;
    const ws = await connect(srv, agent);
    const m = await srv.request('PUT', `/api/v1/accounts/1/inboxes/${mine.id}/members`, { token: admin, body: { user_ids: [agentId, agentId] } });
    assert.equal(m.status, 200);
    assert.deepEqual(m.body.user_ids, [agentId]);
    await until(() => evs(ws).some((e) => e.event === 'inbox.members_changed'), 'members_changed');
    await srv.request('PATCH', `/api/v1/accounts/1/inboxes/${other.id}`, { token: admin, body: { name: 'Not mine 2' } });
    await srv.request('PATCH', `/api/v1/accounts/1/inboxes/${mine.id}`, { token: admin, body: { name: 'Mine 2' } });
    await until(() => evs(ws).some((e) => e.event === 'inbox.updated' && e.data.id === mine.id), 'the update');
    await sleep(100);
    assert.ok(!evs(ws).some((e) => e.data.id === other.id || e.data.inbox_id === other.id), 'nothing from an inbox the agent is not in');
    const seqs = evs(ws).map((e) => e.seq);
    assert.deepEqual([...seqs].sort((a, b) => a - b), seqs, 'in seq order');

    const list = await srv.request('GET', '/api/v1/accounts/1/inboxes', { token: agent });
    assert.deepEqual(list.body.data.map((i) => i.id), [mine.id]);
    assert.equal((await srv.request('GET', `/api/v1/accounts/1/inboxes/${other.id}`, { token: agent })).status, 404);
    assert.equal((await srv.request('GET', `/api/v1/accounts/1/inboxes/${mine.id}/members`, { token: agent })).status, 200);

    for (const body of [{ user_ids: [999] }, { user_ids: 'x' }, { user_ids: [0] }, {}]) {
      const r = await srv.request('PUT', `/api/v1/accounts/1/inboxes/${mine.id}/members`, { token: admin, body });
      assert.equal(r.status, 422, JSON.stringify(body));
      assert.equal(r.body.error.field, 'user_ids');
    }
    const still = await srv.request('GET', `/api/v1/accounts/1/inboxes/${mine.id}/members`, { token: admin });
    assert.deepEqual(still.body.user_ids, [agentId], 'a refused change changed nothing');
    ws.destroy();
  });

  it('refuses bad subscriptions before the upgrade', async () => {
    assert.equal((await openWs(srv.port, `/ws?token=${admin}&since=abc`)).status, 422);
    assert.equal((await openWs(srv.port, `/ws?token=${admin}&since=-1`)).status, 422);
    assert.equal((await openWs(srv.port, `/ws?token=${admin}&account_id=2`)).status, 404);
    assert.equal((await openWs(srv.port, '/ws?token=nope')).status, 401);
  });

  it('events survive a restart: a client resumes from the log', async () => {
    const ws = await connect(srv, admin);
    const c = await srv.request('POST', '/api/v1/accounts/1/inboxes', { token: admin, body: { name: 'Before restart', channel: 'web' } });
    const seen = (await ws.waitFor((e) => e.json?.event === 'inbox.created' && e.json.data.id === c.body.id)).json.seq;
    await srv.request('PATCH', `/api/v1/accounts/1/inboxes/${c.body.id}`, { token: admin, body: { name: 'Renamed' } });
    ws.destroy();
    const dataDir = srv.dataDir;
    assert.deepEqual(await srv.stop(), { code: 0, signal: null });
    const srv2 = await startServer({ dataDir });
    try {
      const ws2 = await connect(srv2, admin, `&since=${seen}`);
      const e = await ws2.waitFor((x) => x.json?.type === 'event');
      assert.equal(e.json.seq, seen + 1);
      assert.equal(e.json.data.name, 'Renamed');
      ws2.destroy();
    } finally {
      await srv2.stop();
      srv = await startServer({ dataDir }); // keep `after` happy
    }
  });
});
