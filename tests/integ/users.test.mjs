// Users per account: create, list, roles, validation, account isolation, audit log.
import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, ADMIN_EMAIL, ADMIN_PASSWORD } from '../lib/server.mjs';
import { T, ISO_MS, stopServer } from './lib/util.mjs';

let srv;
let admin; // login response
let aid;
let agent; // created user
let agentSession;
const AGENT = { email: 'Agent.One@Example.COM', name: 'Agent One', password: 'agent-password-1', role: 'agent' };

function assertError(r, status, code, field) {
  assert.equal(r.status, status, `expected ${status} ${code}, got ${r.status} ${r.text}`);
  assert.equal(r.body?.error?.code, code, r.text);
  if (field !== undefined) assert.equal(r.body.error.field, field, `field in ${r.text}`);
}

const users = (token, q = '') => srv.request('GET', `/api/v1/accounts/${aid}/users${q}`, { token });
const create = (token, body) => srv.request('POST', `/api/v1/accounts/${aid}/users`, { token, body });

async function total() {
  const r = await users(admin.token, '?limit=200');
  assert.equal(r.status, 200, r.text);
  return r.body.meta.total;
}

before(async () => {
  srv = await startServer();
  admin = await srv.login();
  aid = admin.user.accounts[0].id;
});
after(async () => { await stopServer(srv); });

it('an admin creates an agent: 201 with id, lower-cased email, name, role, created_at', T, async () => {
  const t0 = Date.now();
  const r = await create(admin.token, AGENT);
  assert.equal(r.status, 201, r.text);
  agent = r.body;
  assert.ok(Number.isInteger(agent.id) && agent.id > 0);
  assert.notEqual(agent.id, admin.user.id);
  assert.equal(agent.email, 'agent.one@example.com');
  assert.equal(agent.name, 'Agent One');
  assert.equal(agent.role, 'agent');
  assert.match(agent.created_at, ISO_MS);
  assert.ok(Math.abs(Date.parse(agent.created_at) - t0) < 60000, `created_at ${agent.created_at} is not now`);
  assert.ok(!/password|argon2|hash/i.test(r.text), `response leaks the password: ${r.text}`);
});

it('the list includes the agent, ordered by id, with meta', T, async () => {
  const r = await users(admin.token);
  assert.equal(r.status, 200, r.text);
  const { data, meta } = r.body;
  assert.equal(meta.total, 2);
  assert.equal(meta.limit, 50);
  assert.equal(meta.offset, 0);
  assert.equal(data.length, 2);
  assert.deepEqual(data.map((u) => u.id), [...data.map((u) => u.id)].sort((a, b) => a - b));
  const a = data.find((u) => u.id === agent.id);
  assert.deepEqual(a, agent, 'the listed agent must match what POST returned');
  const ad = data.find((u) => u.email === ADMIN_EMAIL);
  assert.equal(ad.role, 'admin');
  assert.ok(!/password|argon2/i.test(r.text));
});

it('the agent logs in and sees its account with role agent', T, async () => {
  agentSession = await srv.login('agent.one@example.com', AGENT.password);
  assert.equal(agentSession.user.id, agent.id);
  assert.deepEqual(agentSession.user.accounts.map((x) => [x.id, x.role]), [[aid, 'agent']]);
});

it('an agent cannot create users → 403 forbidden, and nothing is created', T, async () => {
  const n = await total();
  const r = await create(agentSession.token, { email: 'by-agent@example.com', name: 'X', password: 'agent-secret-72', role: 'agent' });
  assertError(r, 403, 'forbidden');
  assert.equal(await total(), n);
});

it('an agent can list the users of its account', T, async () => {
  const r = await users(agentSession.token);
  assert.equal(r.status, 200, r.text);
  assert.ok(r.body.data.some((u) => u.id === agent.id));
  assert.ok(r.body.data.some((u) => u.email === ADMIN_EMAIL));
});

it('a supervisor cannot create users or read the audit log (admin only)', T, async () => {
  const r = await create(admin.token, { email: 'sup@example.com', name: 'Sup', password: 'sup-password-1', role: 'supervisor' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.role, 'supervisor');
  const sup = await srv.login('sup@example.com', 'sup-password-1');
  assert.equal(sup.user.accounts[0].role, 'supervisor');
  assertError(await create(sup.token, { email: 'by-sup@example.com', name: 'X', password: 'agent-secret-72', role: 'agent' }), 403, 'forbidden');
  assertError(await srv.request('GET', `/api/v1/accounts/${aid}/audit_log`, { token: sup.token }), 403, 'forbidden');
  assert.equal((await users(sup.token)).status, 200);
});

it('an existing e-mail, in any case → 409 email_taken', T, async () => {
  const n = await total();
  for (const email of ['agent.one@example.com', 'AGENT.ONE@EXAMPLE.COM', ADMIN_EMAIL]) {
    const r = await create(admin.token, { email, name: 'Dup', password: 'agent-secret-72', role: 'agent' });
    assertError(r, 409, 'email_taken');
  }
  assert.equal(await total(), n);
});

it('invalid fields → 422 validation_failed naming the field, and nothing is created', T, async () => {
  const good = { email: 'valid@example.com', name: 'Valid', password: 'agent-secret-72', role: 'agent' };
  const cases = [
    [{ ...good, email: 'not-an-email' }, 'email'],
    [{ ...good, email: 'a@b' }, 'email'],
    [{ ...good, email: '@example.com' }, 'email'],
    [{ ...good, email: 'a b@example.com' }, 'email'],
    [{ ...good, email: '' }, 'email'],
    [{ ...good, email: 7 }, 'email'],
    [{ ...good, email: undefined }, 'email'],
    [{ ...good, password: 'short12' }, 'password'],
    // the outside review's weak passwords, and common ones dressed up
    [{ ...good, password: 'password' }, 'password'],
    [{ ...good, password: '12345678' }, 'password'],
    [{ ...good, password: '        ' }, 'password'],
    [{ ...good, password: '1234567890' }, 'password'],
    [{ ...good, password: 'Password2024!' }, 'password'],
    [{ ...good, password: 'woaini1314520' }, 'password'],
    [{ ...good, password: 'qwertyuiop' }, 'password'],
    [{ ...good, password: 'valid@example.com' }, 'password'],
    [{ ...good, password: 'x'.repeat(201) }, 'password'],
    [{ ...good, password: 12345678 }, 'password'],
    [{ ...good, password: undefined }, 'password'],
    [{ ...good, role: 'owner' }, 'role'],
    [{ ...good, role: 'Admin' }, 'role'],
    [{ ...good, role: undefined }, 'role'],
    [{ ...good, name: '' }, 'name'],
    [{ ...good, name: 'n'.repeat(101) }, 'name'],
    [{ ...good, name: 42 }, 'name'],
    [{ ...good, name: undefined }, 'name'],
  ];
  const n = await total();
  for (const [body, field] of cases) {
    const r = await create(admin.token, body);
    assertError(r, 422, 'validation_failed', field);
    assert.equal(typeof r.body.error.message, 'string');
  }
  assert.equal(await total(), n, 'an invalid request created a user');
});

it('a weak password is refused with a reason a person can act on', T, async () => {
  const r = await create(admin.token, { email: 'weak@example.com', name: 'Weak', password: 'P@ssw0rd123', role: 'agent' });
  assertError(r, 422, 'validation_failed', 'password');
  assert.match(r.body.error.message, /common password/);
  const short = await create(admin.token, { email: 'weak@example.com', name: 'Weak', password: 'tq8#mzr2v', role: 'agent' });
  assert.match(short.body.error.message, /at least 10 characters/);
});

it('boundary values are accepted: 10-char password, 100-character (multi-byte) name', T, async () => {
  const r1 = await create(admin.token, { email: 'eight@example.com', name: 'n'.repeat(100), password: 'tq8#mzr2vk', role: 'agent' });
  assert.equal(r1.status, 201, r1.text);
  assert.equal(r1.body.name, 'n'.repeat(100));
  const r2 = await create(admin.token, { email: 'accent@example.com', name: 'é'.repeat(100), password: 'pq7'.repeat(66) + 'xy', role: 'agent' });
  assert.equal(r2.status, 201, `a 100-character name of 2-byte characters: ${r2.text}`);
  assert.equal(r2.body.name, 'é'.repeat(100));
  const r3 = await create(admin.token, { email: 'jose@example.com', name: 'José 😀 Núñez', password: 'agent-secret-72', role: 'agent' });
  assert.equal(r3.status, 201, r3.text);
  assert.equal(r3.body.name, 'José 😀 Núñez');
  await srv.login('eight@example.com', 'tq8#mzr2vk');
});

it('pagination: limit and offset', T, async () => {
  const all = (await users(admin.token, '?limit=200')).body;
  assert.ok(all.meta.total >= 4);
  assert.equal(all.data.length, all.meta.total);
  const p1 = await users(admin.token, '?limit=1');
  assert.equal(p1.status, 200);
  assert.equal(p1.body.data.length, 1);
  assert.equal(p1.body.meta.limit, 1);
  assert.equal(p1.body.meta.total, all.meta.total);
  assert.deepEqual(p1.body.data[0], all.data[0]);
  const p2 = await users(admin.token, '?limit=2&offset=1');
  assert.equal(p2.body.meta.offset, 1);
  assert.deepEqual(p2.body.data, all.data.slice(1, 3));
  const past = await users(admin.token, `?offset=${all.meta.total + 5}`);
  assert.equal(past.status, 200);
  assert.deepEqual(past.body.data, []);
});

it('limit outside 1..200 or a bad offset is refused, not silently clamped', T, async () => {
  for (const q of ['limit=0', 'limit=201', 'limit=abc', 'limit=5x', 'offset=-1', 'offset=abc']) {
    const r = await users(admin.token, `?${q}`);
    assert.ok(r.status === 400 || r.status === 422, `?${q} → ${r.status} ${r.text}`);
    if (r.status === 422) assert.equal(r.body.error.field, q.split('=')[0], `?${q}: ${r.text}`);
    else assert.equal(r.body.error.code, 'bad_request');
  }
  const max = await users(admin.token, '?limit=200');
  assert.equal(max.status, 200);
  assert.equal(max.body.meta.limit, 200);
});

it('an account the caller does not belong to, or that does not exist → 404 not_found', T, async () => {
  const ids = [aid + 1, 999999, 0, -1, 'abc', '1abc', '99999999999999999999999', `${aid}.0`, '%20' + aid];
  for (const id of ids) {
    for (const token of [admin.token, agentSession.token]) {
      assertError(await srv.request('GET', `/api/v1/accounts/${id}/users`, { token }), 404, 'not_found');
    }
    assertError(await srv.request('POST', `/api/v1/accounts/${id}/users`, { token: admin.token, body: { email: `x${Date.now()}@example.com`, name: 'X', password: 'agent-secret-72', role: 'agent' } }), 404, 'not_found');
    assertError(await srv.request('GET', `/api/v1/accounts/${id}/audit_log`, { token: admin.token }), 404, 'not_found');
  }
});

it('with cookie auth, a cross-site style form post (non-JSON Content-Type) creates nothing → 415', T, async () => {
  const login = await srv.request('POST', '/api/v1/auth/login', { body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } });
  const cookie = login.headers.getSetCookie().find((c) => c.startsWith('parley_session=')).split(';')[0];
  const n = await total();
  for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=zz']) {
    const r = await srv.request('POST', `/api/v1/accounts/${aid}/users`, {
      raw: JSON.stringify({ email: 'csrf@example.com', name: 'Csrf', password: 'agent-secret-72', role: 'admin' }),
      headers: { cookie, 'content-type': ct },
    });
    assertError(r, 415, 'unsupported_media_type');
  }
  assert.equal(await total(), n, 'a form post created a user');
  const ok = await srv.request('POST', `/api/v1/accounts/${aid}/users`, {
    body: { email: 'cookie-made@example.com', name: 'Cookie', password: 'agent-secret-72', role: 'agent' }, headers: { cookie },
  });
  assert.equal(ok.status, 201, `a JSON request with the cookie should work: ${ok.text}`);
});

it('without a token the users list → 401', T, async () => {
  assertError(await srv.request('GET', `/api/v1/accounts/${aid}/users`), 401, 'unauthorized');
  assertError(await srv.request('POST', `/api/v1/accounts/${aid}/users`, { body: AGENT }), 401, 'unauthorized');
});

it('the audit log shows user.created with the actor and target, newest first', T, async () => {
  const r = await srv.request('GET', `/api/v1/accounts/${aid}/audit_log?limit=200`, { token: admin.token });
  assert.equal(r.status, 200, r.text);
  const { data, meta } = r.body;
  assert.equal(meta.total, data.length);
  const entry = data.find((e) => e.action === 'user.created' && e.target_id === agent.id);
  assert.ok(entry, `no user.created entry for the agent in ${r.text.slice(0, 500)}`);
  assert.equal(entry.actor_id, admin.user.id);
  assert.equal(typeof entry.target_type, 'string');
  assert.match(entry.created_at, ISO_MS);
  assert.match(String(entry.ip), /127\.0\.0\.1/);
  for (const k of ['id', 'action', 'actor_id', 'target_type', 'target_id', 'ip', 'data', 'created_at']) {
    assert.ok(k in entry, `audit entry lacks ${k}`);
  }
  assert.ok(!/agent-password-1/.test(r.text), 'the audit log contains a password');
  // newest first
  for (let i = 1; i < data.length; i++) {
    assert.ok(data[i - 1].id > data[i].id, 'audit log must be newest first (ids descending)');
    assert.ok(data[i - 1].created_at >= data[i].created_at, 'audit log must be newest first (created_at)');
  }
  const created = data.filter((e) => e.action === 'user.created').length;
  assert.equal(created, (await total()) - 1, 'one user.created per created user');
});

it('an agent cannot read the audit log → 403 forbidden', T, async () => {
  assertError(await srv.request('GET', `/api/v1/accounts/${aid}/audit_log`, { token: agentSession.token }), 403, 'forbidden');
});

it('concurrent creates: distinct e-mails all succeed, the same e-mail succeeds exactly once', T, async () => {
  const n0 = await total();
  const distinct = await Promise.all(Array.from({ length: 20 }, (_, i) =>
    create(admin.token, { email: `par${i}@example.com`, name: `Par ${i}`, password: 'agent-secret-72', role: 'agent' })));
  assert.deepEqual(distinct.map((r) => r.status), Array(20).fill(201));
  assert.equal(new Set(distinct.map((r) => r.body.id)).size, 20, 'ids must be unique');
  const same = await Promise.all(Array.from({ length: 10 }, () =>
    create(admin.token, { email: 'race@example.com', name: 'Race', password: 'agent-secret-72', role: 'agent' })));
  const statuses = same.map((r) => r.status).sort();
  assert.deepEqual(statuses, [201, ...Array(9).fill(409)], `statuses ${statuses}`);
  assert.equal(await total(), n0 + 21);
});

it('with a full store queue: every create is 201 or 503 busy with Retry-After: 1, and exactly the 201s exist', { timeout: 60000 }, async () => {
  const s2 = await startServer({ args: ['--store-queue', '16', '--store-batch', '1'] });
  try {
    const a = await s2.login();
    const id = a.user.accounts[0].id;
    const rs = await Promise.all(Array.from({ length: 40 }, (_, i) => s2.request('POST', `/api/v1/accounts/${id}/users`,
      { token: a.token, body: { email: `busy${i}@example.com`, name: `Busy ${i}`, password: 'agent-secret-72', role: 'agent' } })));
    const created = new Set();
    for (const [i, r] of rs.entries()) {
      if (r.status === 201) { created.add(`busy${i}@example.com`); continue; }
      assertError(r, 503, 'busy');
      assert.equal(r.headers.get('retry-after'), '1');
    }
    const list = await s2.request('GET', `/api/v1/accounts/${id}/users?limit=200`, { token: a.token });
    const stored = new Set(list.body.data.map((u) => u.email).filter((e) => e.startsWith('busy')));
    assert.deepEqual([...stored].sort(), [...created].sort(), 'the stored users must be exactly those answered 201');
  } finally { await stopServer(s2); }
});

it('with a full password-hashing queue: every create is 201 or 503 busy, exactly the 201s exist, and nothing is freed twice', { timeout: 60000 }, async () => {
  const s2 = await startServer({ args: ['--hash-threads', '1', '--hash-queue', '1'] });
  try {
    const a = await s2.login();
    const id = a.user.accounts[0].id;
    const rs = await Promise.all(Array.from({ length: 12 }, (_, i) => s2.request('POST', `/api/v1/accounts/${id}/users`,
      { token: a.token, body: { email: `hashq${i}@example.com`, name: `Hash ${i}`, password: 'agent-secret-72', role: 'agent' } })));
    const created = new Set();
    let busy = 0;
    for (const [i, r] of rs.entries()) {
      if (r.status === 201) { created.add(`hashq${i}@example.com`); continue; }
      assertError(r, 503, 'busy');
      assert.equal(r.headers.get('retry-after'), '1');
      busy++;
    }
    assert.ok(busy > 0, 'twelve at once must find a queue of one full');
    const list = await s2.request('GET', `/api/v1/accounts/${id}/users?limit=200`, { token: a.token });
    const stored = new Set(list.body.data.map((u) => u.email).filter((e) => e.startsWith('hashq')));
    assert.deepEqual([...stored].sort(), [...created].sort());
  } finally { await stopServer(s2); }
});
