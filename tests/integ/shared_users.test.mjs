// One login can belong to several accounts. Each account names its people for itself (an admin's
// rename changes nothing elsewhere), and an admin who adds an e-mail that already has a login
// elsewhere invites that person instead of learning that the e-mail is in use: the answer looks
// like any new user's, the person accepts or declines from GET /me, and the account sees nothing of
// theirs from elsewhere (their name, availability, password).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { startServer, ADMIN_PASSWORD } from '../lib/server.mjs';
import { openWs } from './lib/ws.mjs';
import { T } from './lib/util.mjs';

describe('people shared between accounts', () => {
  let srv, admin1, admin2, x;
  const A1 = '/api/v1/accounts/1', A2 = '/api/v1/accounts/2';
  const X = { email: 'xavier@example.com', password: 'xavier-own-secret-1' };

  before(async () => {
    const first = await startServer();
    admin1 = (await first.login()).token;
    const cr = await first.request('POST', `${A1}/users`, { token: admin1, body: { ...X, name: 'Xavier', role: 'agent' } });
    assert.equal(cr.status, 201, cr.text);
    x = cr.body;
    await first.request('PUT', '/api/v1/me/availability', { token: (await first.login(X.email, X.password)).token, body: { status: 'away' } });
    await first.stop();
    const now = Date.now();
    execFileSync('sqlite3', [join(first.dataDir, 'parley.db'), `
      INSERT INTO accounts (id, name, slug, created_at) VALUES (2, 'Other shop', 'other', ${now});
      INSERT INTO users (id, email, name, password_hash, created_at)
        SELECT 100, 'other@example.com', 'Other Admin', password_hash, ${now} FROM users WHERE id = 1;
      INSERT INTO account_users (account_id, user_id, role, created_at) VALUES (2, 100, 'admin', ${now});
      INSERT INTO account_seq (account_id, seq) VALUES (2, 0);`]);
    srv = await startServer({ dataDir: first.dataDir });
    admin1 = (await srv.login()).token;
    admin2 = (await srv.login('other@example.com', ADMIN_PASSWORD)).token;
  });
  after(async () => { await srv.stop(); srv.cleanup(); });

  it('another account\'s admin cannot rename someone who is not theirs', T, async () => {
    const r = await srv.request('PATCH', `${A2}/users/${x.id}`, { token: admin2, body: { name: 'Hijacked' } });
    assert.equal(r.status, 404, r.text);
    const u = (await srv.request('GET', `${A1}/users`, { token: admin1 })).body.data.find((v) => v.id === x.id);
    assert.equal(u.name, 'Xavier');
  });

  it('adding an e-mail in use elsewhere answers like a new user and reveals nothing of theirs', T, async () => {
    const fresh = await srv.request('POST', `${A2}/users`, { token: admin2,
      body: { email: 'brand-new@example.com', name: 'Newcomer', password: 'newcomer-secret-77', role: 'agent' } });
    const taken = await srv.request('POST', `${A2}/users`, { token: admin2,
      body: { email: X.email, name: 'Guest', password: 'admin-chosen-secret-9', role: 'agent' } });
    assert.equal(fresh.status, 201, fresh.text);
    assert.equal(taken.status, 201, `an e-mail in use elsewhere must not be told apart: ${taken.text}`);
    assert.deepEqual(Object.keys(taken.body).sort(), Object.keys(fresh.body).sort());
    assert.equal(taken.body.name, 'Guest');
    assert.equal(taken.body.availability, fresh.body.availability, 'their availability elsewhere does not show');
    const list = JSON.stringify((await srv.request('GET', `${A2}/users`, { token: admin2 })).body);
    assert.ok(!list.includes('Xavier'), `account 2 sees the other account's name: ${list}`);
    // the admin's password is not theirs: it does not sign them in
    assert.equal((await srv.request('POST', '/api/v1/auth/login', { body: { email: X.email, password: 'admin-chosen-secret-9' } })).status, 401);
    // in this account, the same e-mail twice is this account's business
    const again = await srv.request('POST', `${A2}/users`, { token: admin2,
      body: { email: X.email, name: 'Guest', password: 'admin-chosen-secret-9', role: 'agent' } });
    assert.equal(again.status, 409);
  });

  it('the invited person sees the invitation, is not a member until they accept, and keeps their own name elsewhere', T, async () => {
    const xs = await srv.login(X.email, X.password);
    assert.deepEqual(xs.user.accounts.map((a) => a.id), [1]);
    assert.deepEqual(xs.user.invitations, [{ account_id: 2, account_name: 'Other shop', role: 'agent' }]);
    assert.equal((await srv.request('GET', `${A2}/conversations`, { token: xs.token })).status, 404);
    const early = await openWs(srv.port, `/ws?token=${xs.token}&account_id=2`);
    assert.equal(early.status, 404, 'no socket into an account before accepting');
    // account 2 renames them: account 1 still says Xavier
    assert.equal((await srv.request('PATCH', `${A2}/users/${x.id}`, { token: admin2, body: { name: 'Guest Two' } })).status, 200);
    const acc = await srv.request('POST', '/api/v1/me/invitations/2/accept', { token: xs.token });
    assert.equal(acc.status, 200, acc.text);
    assert.deepEqual(acc.body.accounts.map((a) => a.id), [1, 2]);
    assert.deepEqual(acc.body.invitations, []);
    assert.equal((await srv.request('GET', `${A2}/conversations`, { token: xs.token })).status, 200);
    const in1 = (await srv.request('GET', `${A1}/users`, { token: admin1 })).body.data.find((v) => v.id === x.id);
    const in2 = (await srv.request('GET', `${A2}/users`, { token: admin2 })).body.data.find((v) => v.id === x.id);
    assert.equal(in1.name, 'Xavier');
    assert.equal(in2.name, 'Guest Two');
    assert.equal((await srv.request('POST', '/api/v1/me/invitations/2/accept', { token: xs.token })).status, 404, 'accepted once');
  });

  it('renaming oneself changes the name where no admin renamed them', T, async () => {
    const xs = await srv.login(X.email, X.password);
    const r = await srv.request('PATCH', '/api/v1/me', { token: xs.token, body: { name: 'Xavier Z' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.name, 'Xavier Z');
    const in1 = (await srv.request('GET', `${A1}/users`, { token: admin1 })).body.data.find((v) => v.id === x.id);
    const in2 = (await srv.request('GET', `${A2}/users`, { token: admin2 })).body.data.find((v) => v.id === x.id);
    assert.equal(in1.name, 'Xavier Z');
    assert.equal(in2.name, 'Guest Two');
    for (const [body, field] of [[{ name: '' }, 'name'], [{ name: null }, 'name'], [{ email: 'x@y.z' }, 'email'], [{}, 'name']]) {
      const bad = await srv.request('PATCH', '/api/v1/me', { token: xs.token, body });
      assert.equal(bad.status, 422, JSON.stringify(body));
      assert.equal(bad.body.error.field, field);
    }
  });

  it('a declined invitation leaves no member behind', T, async () => {
    const y = await srv.request('POST', `${A1}/users`, { token: admin1,
      body: { email: 'yara@example.com', name: 'Yara', password: 'yara-own-secret-3', role: 'agent' } });
    assert.equal(y.status, 201);
    assert.equal((await srv.request('POST', `${A2}/users`, { token: admin2,
      body: { email: 'yara@example.com', name: 'Y', password: 'whatever-secret-8', role: 'agent' } })).status, 201);
    const ys = await srv.login('yara@example.com', 'yara-own-secret-3');
    assert.equal(ys.user.invitations.length, 1);
    assert.equal((await srv.request('DELETE', '/api/v1/me/invitations/2', { token: ys.token })).status, 200);
    const list = (await srv.request('GET', `${A2}/users`, { token: admin2 })).body.data;
    assert.ok(!list.some((v) => v.id === y.body.id));
    assert.equal((await srv.request('DELETE', '/api/v1/me/invitations/2', { token: ys.token })).status, 404);
  });
});
