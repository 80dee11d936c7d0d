// API tokens: admins create them for integrations; the token works as a Bearer for its account only,
// is never listed again, and stops working the moment it is revoked.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';

describe('api tokens', () => {
  let srv, admin, agentToken;
  before(async () => {
    srv = await startServer();
    admin = (await srv.login()).token;
    const r = await srv.request('POST', '/api/v1/accounts/1/users', {
      token: admin, body: { email: 'tok-agent@example.com', name: 'Agent', password: 'agent-pass-1', role: 'agent' } });
    assert.equal(r.status, 201);
    agentToken = (await srv.login('tok-agent@example.com', 'agent-pass-1')).token;
  });
  after(async () => { await srv.stop(); srv.cleanup(); });

  it('create → use → list without the secret → revoke → refused', async () => {
    const c = await srv.request('POST', '/api/v1/accounts/1/api_tokens', { token: admin, body: { name: 'CRM', expires_in_days: 30 } });
    assert.equal(c.status, 201, c.text);
    assert.match(c.body.token, /^[0-9a-f]{64}$/);
    assert.equal(c.body.name, 'CRM');
    assert.ok(Date.parse(c.body.expires_at) > Date.now() + 29 * 86400e3);

    const me = await srv.request('GET', '/api/v1/me', { token: c.body.token });
    assert.equal(me.status, 200);
    assert.deepEqual(me.body.accounts.map((a) => [a.id, a.role]), [[1, 'admin']]);
    const users = await srv.request('GET', '/api/v1/accounts/1/users', { token: c.body.token });
    assert.equal(users.status, 200);

    // Using the token records when it was last used (written off the request's path, so poll).
    let list;
    for (let i = 0; i < 50; i++) {
      list = await srv.request('GET', '/api/v1/accounts/1/api_tokens', { token: admin });
      if (list.body.data[0]?.last_used_at) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(list.status, 200);
    assert.ok(Date.parse(list.body.data[0].last_used_at) >= Date.parse(c.body.created_at), 'last_used_at set');
    assert.equal(list.body.data.length, 1);
    assert.equal(list.body.data[0].token, undefined, 'the secret is never listed');
    assert.ok(!list.text.includes(c.body.token));

    const del = await srv.request('DELETE', `/api/v1/accounts/1/api_tokens/${c.body.id}`, { token: admin });
    assert.equal(del.status, 204);
    const after = await srv.request('GET', '/api/v1/me', { token: c.body.token });
    assert.equal(after.status, 401);
    assert.equal(after.body.error.code, 'unauthorized');

    const audit = await srv.request('GET', '/api/v1/accounts/1/audit_log', { token: admin });
    const actions = audit.body.data.map((e) => e.action);
    assert.ok(actions.includes('api_token.created') && actions.includes('api_token.revoked'), actions.join());
  });

  it('bad input and wrong roles change nothing', async () => {
    for (const [body, field] of [[{}, 'name'], [{ name: '' }, 'name'], [{ name: 5 }, 'name'],
      [{ name: 'x', expires_in_days: 0 }, 'expires_in_days'], [{ name: 'x', expires_in_days: 'soon' }, 'expires_in_days']]) {
      const r = await srv.request('POST', '/api/v1/accounts/1/api_tokens', { token: admin, body });
      assert.equal(r.status, 422, JSON.stringify(body));
      assert.equal(r.body.error.field, field);
    }
    const forbidden = await srv.request('POST', '/api/v1/accounts/1/api_tokens', { token: agentToken, body: { name: 'x' } });
    assert.equal(forbidden.status, 403);
    const list = await srv.request('GET', '/api/v1/accounts/1/api_tokens', { token: agentToken });
    assert.equal(list.status, 403);
    const other = await srv.request('POST', '/api/v1/accounts/2/api_tokens', { token: admin, body: { name: 'x' } });
    assert.equal(other.status, 404);
    const unknown = await srv.request('DELETE', '/api/v1/accounts/1/api_tokens/999', { token: admin });
    assert.equal(unknown.status, 404);
    const all = await srv.request('GET', '/api/v1/accounts/1/api_tokens', { token: admin });
    assert.equal(all.body.meta.total, 1, 'only the token from the first test exists');
  });
});
