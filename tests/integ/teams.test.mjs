// Teams: CRUD by admins, members from the account only, events, and conversations assigned to a team.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { openWs } from './lib/ws.mjs';

describe('teams', () => {
  let srv, admin, agent, agentId;
  const T = '/api/v1/accounts/1/teams';
  before(async () => {
    srv = await startServer();
    admin = (await srv.login()).token;
    agentId = (await srv.request('POST', '/api/v1/accounts/1/users', { token: admin,
      body: { email: 'team-agent@example.com', name: 'Tina', password: 'agent-pass-1', role: 'agent' } })).body.id;
    agent = (await srv.login('team-agent@example.com', 'agent-pass-1')).token;
  });
  after(async () => { await srv.stop(); srv.cleanup(); });

  it('creates, renames, staffs and deletes teams; bad input changes nothing', async () => {
    const ws = await openWs(srv.port, `/ws?token=${admin}`);
    await ws.ws.waitFor((e) => e.json?.type === 'hello');
    const c = await srv.request('POST', T, { token: admin, body: { name: '售后 After-sales' } });
    assert.equal(c.status, 201, c.text);
    assert.deepEqual(c.body.member_ids, []);
    await ws.ws.waitFor((e) => e.json?.event === 'team.created');
    assert.equal((await srv.request('POST', T, { token: admin, body: { name: '' } })).status, 422);
    const dup = await srv.request('POST', T, { token: admin, body: { name: '售后 After-sales' } });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.error.field, 'name');
    assert.equal((await srv.request('POST', T, { token: agent, body: { name: 'x' } })).status, 403);
    const m = await srv.request('PUT', `${T}/${c.body.id}/members`, { token: admin, body: { user_ids: [1, agentId] } });
    assert.equal(m.status, 200, m.text);
    assert.deepEqual(m.body.member_ids, [1, agentId]);
    const bad = await srv.request('PUT', `${T}/${c.body.id}/members`, { token: admin, body: { user_ids: [1, 9999] } });
    assert.equal(bad.status, 422);
    assert.equal(bad.body.error.field, 'user_ids');
    assert.deepEqual((await srv.request('GET', `${T}/${c.body.id}`, { token: agent })).body.member_ids, [1, agentId]);
    const u = await srv.request('PATCH', `${T}/${c.body.id}`, { token: admin, body: { name: 'After-sales' } });
    assert.equal(u.body.name, 'After-sales');
    const list = await srv.request('GET', T, { token: agent });
    assert.deepEqual(list.body.data.map((t) => t.name), ['After-sales']);

    // A conversation can be given to the team; deleting the team clears it.
    const inbox = (await srv.request('GET', '/api/v1/accounts/1/inboxes', { token: admin })).body.data[0];
    const s = (await srv.request('POST', '/api/v1/widget/sessions', { body: { widget_token: inbox.widget_token } })).body;
    const v = await openWs(srv.port, `/ws?token=${s.visitor_token}`);
    await v.ws.waitFor((e) => e.json?.type === 'hello');
    v.ws.sendJson({ type: 'message.send', client_id: 't1', content: 'hello' });
    const cid = (await v.ws.waitFor((e) => e.json?.type === 'ack')).json.data.conversation_id;
    const p = await srv.request('PATCH', `/api/v1/accounts/1/conversations/${cid}`, { token: admin, body: { team_id: c.body.id } });
    assert.equal(p.body.team_id, c.body.id);
    assert.equal((await srv.request('DELETE', `${T}/${c.body.id}`, { token: admin })).status, 204);
    assert.equal((await srv.request('GET', `${T}/${c.body.id}`, { token: admin })).status, 404);
    assert.equal((await srv.request('GET', `/api/v1/accounts/1/conversations/${cid}`, { token: admin })).body.team_id, null);
    assert.equal((await srv.request('PATCH', `/api/v1/accounts/1/conversations/${cid}`, { token: admin, body: { team_id: c.body.id } })).status, 422);
    v.ws.destroy();
    ws.ws.destroy();
  });
});
