// A WebSocket lives no longer than the credential it opened with: signing out, an expired session,
// a revoked API token close it with 4401 (the workspace then asks the person to sign in), and a
// role change reconnects the user's sockets (4003) so that what they are sent follows the new role.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { openWs, connectWs } from './lib/ws.mjs';
import { T, sleep, stopServer } from './lib/util.mjs';

async function expectClose(ws, code, reason, timeout = 5000) {
  const c = await ws.waitClose(timeout);
  assert.ok(!c.timedOut, `no close within ${timeout} ms (expected ${code}); events: ${ws.describe()}`);
  assert.ok(!c.noCloseFrame, `TCP closed without a close frame (expected ${code})`);
  assert.equal(c.code, code, `close code (reason: ${c.reason})`);
  if (reason) assert.match(c.reason, reason);
  return c;
}

async function stillOpen(ws) {
  ws.sendJson({ type: 'ping' });
  const m = await ws.waitFor((e) => e.kind === 'close' || (e.kind === 'text' && e.json?.type === 'pong'), 3000, 'a pong');
  assert.equal(m.kind, 'text', `expected the socket to stay open, got a close ${m.code} ${m.reason}`);
}

describe('sockets end with their session', () => {
  let srv;
  before(async () => { srv = await startServer(); });
  after(async () => { await stopServer(srv); });

  it('logout closes every socket of that session with 4401, and only those', T, async () => {
    const a = await srv.login();
    const b = await srv.login(); // the same user, another session (another browser)
    const a1 = await connectWs(srv.port, a.token);
    const a2 = await connectWs(srv.port, a.token);
    const b1 = await connectWs(srv.port, b.token);
    try {
      assert.equal((await srv.request('POST', '/api/v1/auth/logout', { token: a.token })).status, 204);
      await expectClose(a1, 4401, /signed out/);
      await expectClose(a2, 4401, /signed out/);
      await stillOpen(b1);
    } finally { a1.destroy(); a2.destroy(); b1.destroy(); }
  });

  it('logout with the cookie closes the socket opened with the cookie', T, async () => {
    const a = await srv.login();
    const cookie = `parley_session=${a.token}`;
    const r = await openWs(srv.port, '/ws', { headers: { cookie, origin: `http://127.0.0.1:${srv.port}` } });
    assert.equal(r.status, 101, r.text);
    try {
      assert.equal((await r.ws.nextJson()).type, 'hello');
      const out = await srv.request('POST', '/api/v1/auth/logout', { headers: { cookie, origin: `http://127.0.0.1:${srv.port}` } });
      assert.equal(out.status, 204, out.text);
      await expectClose(r.ws, 4401);
    } finally { r.ws.destroy(); }
  });

  it('revoking an API token closes the sockets opened with it', T, async () => {
    const admin = await srv.login();
    const aid = admin.user.accounts[0].id;
    const c = await srv.request('POST', `/api/v1/accounts/${aid}/api_tokens`, { token: admin.token, body: { name: 'CRM' } });
    assert.equal(c.status, 201, c.text);
    const ws = await connectWs(srv.port, c.body.token);
    const mine = await connectWs(srv.port, admin.token);
    try {
      const del = await srv.request('DELETE', `/api/v1/accounts/${aid}/api_tokens/${c.body.id}`, { token: admin.token });
      assert.equal(del.status, 204, del.text);
      await expectClose(ws, 4401, /revoked/);
      await stillOpen(mine);
    } finally { ws.destroy(); mine.destroy(); }
  });

  it('a role change reconnects that user\'s sockets (4003), not other users\'', T, async () => {
    const admin = await srv.login();
    const aid = admin.user.accounts[0].id;
    const cr = await srv.request('POST', `/api/v1/accounts/${aid}/users`, { token: admin.token,
      body: { email: 'role-change@example.com', name: 'Sup', password: 'sup-secret-4821', role: 'supervisor' } });
    assert.equal(cr.status, 201, cr.text);
    const sup = await srv.login('role-change@example.com', 'sup-secret-4821');
    const ws = await connectWs(srv.port, sup.token);
    const mine = await connectWs(srv.port, admin.token);
    try {
      const up = await srv.request('PATCH', `/api/v1/accounts/${aid}/users/${cr.body.id}`, { token: admin.token, body: { role: 'agent' } });
      assert.equal(up.status, 200, up.text);
      await expectClose(ws, 4003, /role/);
      await stillOpen(mine);
      // reconnecting works, as the agent it now is
      const again = await connectWs(srv.port, sup.token);
      again.destroy();
    } finally { ws.destroy(); mine.destroy(); }
  });
});

describe('sockets end when their token expires', () => {
  let srv;
  before(async () => { srv = await startServer({ args: ['--session-ttl', '2'] }); });
  after(async () => { await stopServer(srv); });

  it('a session that expires closes its socket with 4401 (checked on the loop, no request needed)', T, async () => {
    const a = await srv.login();
    const t0 = Date.now();
    const ws = await connectWs(srv.port, a.token);
    try {
      const c = await expectClose(ws, 4401, /expired/, 5000);
      const waited = Date.now() - t0;
      assert.ok(waited >= 1000 && waited < 4500, `closed after ${waited} ms, expected about 2 s`);
      assert.ok(c);
      const r = await openWs(srv.port, `/ws?token=${encodeURIComponent(a.token)}`);
      assert.equal(r.status, 401, 'an expired token must not open a socket again');
    } finally { ws.destroy(); }
  });

  it('sockets of later sessions expire on their own schedule', T, async () => {
    const a = await srv.login();
    const w1 = await connectWs(srv.port, a.token);
    await sleep(1000);
    const b = await srv.login();
    const w2 = await connectWs(srv.port, b.token);
    try {
      await expectClose(w1, 4401, /expired/, 4000);
      await stillOpen(w2); // b has about a second left
      await expectClose(w2, 4401, /expired/, 4000);
    } finally { w1.destroy(); w2.destroy(); }
  });
});
