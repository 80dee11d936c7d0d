// Authentication: login, cookie and Bearer sessions, logout, expiry, input validation, rate limiting.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, ADMIN_EMAIL, ADMIN_PASSWORD } from '../lib/server.mjs';
import { rawRequest } from './lib/raw.mjs';
import { T, ISO_MS, sleep, stopServer } from './lib/util.mjs';

const LOGIN = '/api/v1/auth/login';

function assertError(r, status, code, field) {
  assert.equal(r.status, status, `expected ${status} ${code}, got ${r.status} ${r.text}`);
  assert.equal(r.body?.error?.code, code, r.text);
  assert.equal(typeof r.body.error.message, 'string');
  assert.ok(r.body.error.message.length > 0, 'empty error message');
  if (field !== undefined) assert.equal(r.body.error.field, field, `field in ${r.text}`);
}

function sessionCookie(res) {
  const all = res.headers.getSetCookie();
  return all.find((c) => c.startsWith('parley_session='));
}

describe('sessions', () => {
  let srv;
  before(async () => { srv = await startServer(); });
  after(async () => { await stopServer(srv); });

  it('login returns a token, expiry, the user with its accounts, and an HttpOnly SameSite cookie', T, async () => {
    const t0 = Date.now();
    const r = await srv.request('POST', LOGIN, { body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } });
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type') || '', /^application\/json\b/);
    const { token, expires_at: exp, user } = r.body;
    assert.equal(typeof token, 'string');
    assert.ok(token.length >= 20, 'token too short to be unguessable');
    assert.match(exp, ISO_MS);
    const week = 7 * 24 * 3600 * 1000;
    const expMs = Date.parse(exp);
    assert.ok(Math.abs(expMs - (t0 + week)) < 120000, `expires_at ${exp} should be about 7 days from now (default session-ttl)`);
    assert.ok(Number.isInteger(user.id) && user.id > 0);
    assert.equal(user.email, ADMIN_EMAIL);
    assert.equal(typeof user.name, 'string');
    assert.equal(user.accounts.length, 1);
    const acc = user.accounts[0];
    assert.ok(Number.isInteger(acc.id));
    assert.equal(acc.name, 'Default');
    assert.equal(acc.slug, 'default');
    assert.equal(acc.role, 'admin');
    assert.ok(!/password|argon2|hash/i.test(JSON.stringify(user)), `user object leaks secrets: ${JSON.stringify(user)}`);
    const cookie = sessionCookie(r);
    assert.ok(cookie, `no parley_session cookie in ${JSON.stringify(r.headers.getSetCookie())}`);
    const attrs = cookie.split(';').map((s) => s.trim().toLowerCase());
    assert.ok(attrs.includes('httponly'), cookie);
    assert.ok(attrs.includes('samesite=lax'), cookie);
    assert.ok(attrs.includes('path=/'), cookie);
    assert.ok(cookie.split(';')[0].length > 'parley_session='.length, 'empty cookie value');
  });

  it('the cookie alone authenticates /api/v1/me', T, async () => {
    const r = await srv.request('POST', LOGIN, { body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } });
    const pair = sessionCookie(r).split(';')[0];
    const me = await srv.request('GET', '/api/v1/me', { headers: { cookie: `other=1; ${pair}; theme=dark` } });
    assert.equal(me.status, 200, me.text);
    assert.equal(me.body.email, ADMIN_EMAIL);
    assert.equal(me.body.accounts[0].role, 'admin');
    assert.equal(me.body.id, r.body.user.id);
  });

  it('a Bearer token authenticates /api/v1/me', T, async () => {
    const { token, user } = await srv.login();
    const me = await srv.request('GET', '/api/v1/me', { token });
    assert.equal(me.status, 200, me.text);
    assert.deepEqual(me.body, user, '/me should describe the same user as the login response');
  });

  it('no token, an unknown token or a malformed Authorization → 401 unauthorized', T, async () => {
    assertError(await srv.request('GET', '/api/v1/me'), 401, 'unauthorized');
    assertError(await srv.request('GET', '/api/v1/me', { token: 'not-a-real-token-0123456789abcdef' }), 401, 'unauthorized');
    assertError(await srv.request('GET', '/api/v1/me', { headers: { authorization: 'Basic YWRtaW46YWRtaW4=' } }), 401, 'unauthorized');
    assertError(await srv.request('GET', '/api/v1/me', { headers: { authorization: 'Bearer' } }), 401, 'unauthorized');
    assertError(await srv.request('GET', '/api/v1/me', { headers: { cookie: 'parley_session=forged' } }), 401, 'unauthorized');
  });

  it('a wrong password and an unknown e-mail give the identical 401 body', T, async () => {
    const a = await srv.request('POST', LOGIN, { body: { email: ADMIN_EMAIL, password: 'wrong-password-123' } });
    const b = await srv.request('POST', LOGIN, { body: { email: 'nobody@example.com', password: 'wrong-password-123' } });
    assertError(a, 401, 'invalid_credentials');
    assertError(b, 401, 'invalid_credentials');
    assert.equal(a.text, b.text, 'the two bodies must not tell which part was wrong');
    assert.equal(sessionCookie(a), undefined, 'failed login set a session cookie');
    assert.equal(a.body.token, undefined);
  });

  it('the e-mail is matched case-insensitively at login', T, async () => {
    const r = await srv.request('POST', LOGIN, { body: { email: ADMIN_EMAIL.toUpperCase(), password: ADMIN_PASSWORD } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.user.email, ADMIN_EMAIL);
  });

  it('logout → 204, clears the cookie and revokes only that token', T, async () => {
    const one = await srv.login();
    const two = await srv.login();
    assert.notEqual(one.token, two.token, 'each login must get its own token');
    const r = await srv.request('POST', '/api/v1/auth/logout', { token: one.token });
    assert.equal(r.status, 204, r.text);
    assert.equal(r.text, '');
    const cleared = sessionCookie(r);
    assert.ok(cleared, 'logout should send a Set-Cookie clearing parley_session');
    assert.ok(/max-age=0/i.test(cleared) || /expires=thu, 01 jan 1970/i.test(cleared) || /^parley_session=;/.test(cleared),
      `cookie not cleared: ${cleared}`);
    assertError(await srv.request('GET', '/api/v1/me', { token: one.token }), 401, 'unauthorized');
    const still = await srv.request('GET', '/api/v1/me', { token: two.token });
    assert.equal(still.status, 200, 'logging out one session must not end the others');
  });

  it('logout with the cookie revokes the cookie session', T, async () => {
    const r = await srv.request('POST', LOGIN, { body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } });
    const pair = sessionCookie(r).split(';')[0];
    const out = await srv.request('POST', '/api/v1/auth/logout', { headers: { cookie: pair } });
    assert.equal(out.status, 204, out.text);
    assertError(await srv.request('GET', '/api/v1/me', { headers: { cookie: pair } }), 401, 'unauthorized');
    assertError(await srv.request('GET', '/api/v1/me', { token: r.body.token }), 401, 'unauthorized');
  });

  it('logout without a session → 401', T, async () => {
    assertError(await srv.request('POST', '/api/v1/auth/logout'), 401, 'unauthorized');
  });

  it('logins and logouts are in the audit log with the actor', T, async () => {
    const s = await srv.login();
    await srv.request('POST', '/api/v1/auth/logout', { token: (await srv.login()).token });
    const aid = s.user.accounts[0].id;
    const r = await srv.request('GET', `/api/v1/accounts/${aid}/audit_log?limit=200`, { token: s.token });
    assert.equal(r.status, 200, r.text);
    const login = r.body.data.find((e) => e.action === 'auth.login');
    const logout = r.body.data.find((e) => e.action === 'auth.logout');
    assert.ok(login, 'no auth.login entry');
    assert.ok(logout, 'no auth.logout entry');
    assert.equal(login.actor_id, s.user.id);
    assert.equal(logout.actor_id, s.user.id);
  });
});

describe('request validation', () => {
  let srv;
  before(async () => { srv = await startServer(); });
  after(async () => { await stopServer(srv); });

  it('missing or mistyped fields → 422 validation_failed naming the field', T, async () => {
    const cases = [
      [{ password: ADMIN_PASSWORD }, 'email'],
      [{ email: ADMIN_EMAIL }, 'password'],
      [{ email: 42, password: ADMIN_PASSWORD }, 'email'],
      [{ email: ADMIN_EMAIL, password: 12345678 }, 'password'],
      [{ email: null, password: ADMIN_PASSWORD }, 'email'],
      [{ email: ADMIN_EMAIL, password: ['x'] }, 'password'],
      [{ email: { a: 1 }, password: ADMIN_PASSWORD }, 'email'],
    ];
    for (const [body, field] of cases) {
      const r = await srv.request('POST', LOGIN, { body });
      assertError(r, 422, 'validation_failed', field);
    }
  });

  it('malformed JSON → 400 invalid_json', T, async () => {
    const bodies = [
      '{"email": "a@b.c", "password": ',
      '{email: "a@b.c"}',
      "{'email': 'a@b.c'}",
      '',
      '[1, 2]',
      '"just a string"',
      'null',
      `{"email":"${ADMIN_EMAIL}","password":"${ADMIN_PASSWORD}"} trailing`,
      `{"email":"${ADMIN_EMAIL}","password":"${ADMIN_PASSWORD}",}`,
    ];
    for (const raw of bodies) {
      const r = await srv.request('POST', LOGIN, { raw, headers: { 'content-type': 'application/json' } });
      assertError(r, 400, 'invalid_json');
      assert.equal(r.body.token, undefined, `${JSON.stringify(raw)} logged in`);
    }
  });

  it('duplicate keys are rejected with 400 invalid_json', T, async () => {
    const raw = `{"email":"${ADMIN_EMAIL}","password":"nope-nope-nope","password":"${ADMIN_PASSWORD}"}`;
    const r = await srv.request('POST', LOGIN, { raw, headers: { 'content-type': 'application/json' } });
    assertError(r, 400, 'invalid_json');
  });

  it('invalid UTF-8 in the body is rejected with 400 invalid_json', T, async () => {
    const raw = Buffer.concat([Buffer.from('{"email":"a'), Buffer.from([0xff, 0xfe]), Buffer.from(`@b.c","password":"${ADMIN_PASSWORD}"}`)]);
    const r = await srv.request('POST', LOGIN, { raw, headers: { 'content-type': 'application/json' } });
    assertError(r, 400, 'invalid_json');
  });

  it('a body without Content-Type: application/json → 415 unsupported_media_type', T, async () => {
    const raw = JSON.stringify({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
    for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx']) {
      const r = await srv.request('POST', LOGIN, { raw, headers: { 'content-type': ct } });
      assertError(r, 415, 'unsupported_media_type');
      assert.equal(r.body.token, undefined);
    }
    // no Content-Type at all
    const r = await rawRequest(srv.port, 'POST', LOGIN, { body: raw });
    assertError(r, 415, 'unsupported_media_type');
  });

  it('application/json with a charset parameter is accepted', T, async () => {
    for (const ct of ['application/json; charset=utf-8', 'Application/JSON']) {
      const r = await srv.request('POST', LOGIN, { raw: '{"email":1}', headers: { 'content-type': ct } });
      assertError(r, 422, 'validation_failed', 'email');
    }
  });
});

describe('session expiry', () => {
  let srv;
  before(async () => { srv = await startServer({ args: ['--session-ttl', '1'] }); });
  after(async () => { await stopServer(srv); });

  it('a token is refused with 401 after --session-ttl seconds', T, async () => {
    const t0 = Date.now();
    const { token, expires_at: exp } = await srv.login();
    assert.ok(Math.abs(Date.parse(exp) - (t0 + 1000)) < 3000, `expires_at ${exp} should be ~1 s from now`);
    const fresh = await srv.request('GET', '/api/v1/me', { token });
    assert.equal(fresh.status, 200, 'a fresh token must work');
    await sleep(Math.max(0, Date.parse(exp) - Date.now()) + 1200);
    assertError(await srv.request('GET', '/api/v1/me', { token }), 401, 'unauthorized');
  });
});

describe('rate limiting', () => {
  it('5 failures for one e-mail → 429 rate_limited with Retry-After, even with the right password', T, async () => {
    const srv = await startServer();
    try {
      for (let i = 0; i < 5; i++) {
        const r = await srv.request('POST', LOGIN, { body: { email: ADMIN_EMAIL, password: `wrong-${i}-password` } });
        assertError(r, 401, 'invalid_credentials');
      }
      const r = await srv.request('POST', LOGIN, { body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } });
      assertError(r, 429, 'rate_limited');
      const ra = r.headers.get('retry-after');
      assert.match(ra || '', /^\d+$/, `Retry-After must be delta-seconds, got ${ra}`);
      assert.ok(Number(ra) >= 1 && Number(ra) <= 15 * 60, `Retry-After ${ra}`);
      assert.equal(r.body.token, undefined);
      // another e-mail from the same address is not locked (6 < 10 address failures)
      const other = await srv.request('POST', LOGIN, { body: { email: 'someone-else@example.com', password: 'whatever-123' } });
      assertError(other, 401, 'invalid_credentials');
    } finally { await stopServer(srv); }
  });

  it('one address past --login-max-per-ip → 429 for any e-mail (the ceiling per address)', T, async () => {
    const srv = await startServer({ args: ['--login-max-per-ip', '10'] });
    try {
      for (let i = 0; i < 10; i++) {
        const r = await srv.request('POST', LOGIN, { body: { email: `nobody${i}@example.com`, password: 'wrong-password' } });
        assertError(r, 401, 'invalid_credentials');
      }
      const r = await srv.request('POST', LOGIN, { body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } });
      assertError(r, 429, 'rate_limited');
      assert.match(r.headers.get('retry-after') || '', /^\d+$/);
    } finally { await stopServer(srv); }
  });

  it('X-Forwarded-For does not reset the per-address count (no proxy is trusted by default)', T, async () => {
    const srv = await startServer({ args: ['--login-max-per-ip', '10'] });
    try {
      for (let i = 0; i < 10; i++) {
        const r = await srv.request('POST', LOGIN, { body: { email: `spoof${i}@example.com`, password: 'wrong-password' },
          headers: { 'x-forwarded-for': `203.0.113.${i + 1}`, 'x-real-ip': `198.51.100.${i + 1}` } });
        assertError(r, 401, 'invalid_credentials');
      }
      const r = await srv.request('POST', LOGIN, { body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD },
        headers: { 'x-forwarded-for': '203.0.113.200' } });
      assertError(r, 429, 'rate_limited');
    } finally { await stopServer(srv); }
  });

  it('60 parallel wrong passwords: the attempt is counted before hashing, so only 5 are checked', T, async () => {
    const srv = await startServer();
    try {
      const all = await Promise.all(Array.from({ length: 60 }, (_, i) =>
        srv.request('POST', LOGIN, { body: { email: ADMIN_EMAIL, password: `wrong-${i}-password` } })));
      const by = {};
      for (const r of all) by[r.status] = (by[r.status] || 0) + 1;
      assert.equal(by[401], 5, `statuses ${JSON.stringify(by)}`);
      assert.equal(by[429], 55, `statuses ${JSON.stringify(by)}`);
      for (const r of all.filter((x) => x.status === 429)) assert.match(r.headers.get('retry-after') || '', /^\d+$/);
    } finally { await stopServer(srv); }
  });

  it('a locked-out e-mail does not lock out the other people behind the same address', T, async () => {
    const srv = await startServer();
    try {
      const admin = await srv.login();
      const other = { email: 'colleague@example.com', password: 'colleague-secret-9' };
      const cr = await srv.request('POST', `/api/v1/accounts/${admin.user.accounts[0].id}/users`, { token: admin.token,
        body: { ...other, name: 'Colleague', role: 'agent' } });
      assert.equal(cr.status, 201, cr.text);
      for (let i = 0; i < 8; i++)
        await srv.request('POST', LOGIN, { body: { email: ADMIN_EMAIL, password: `wrong-${i}-password` } });
      for (let i = 0; i < 8; i++) // someone else at the office mistypes their e-mail
        await srv.request('POST', LOGIN, { body: { email: `colleage${i}@example.com`, password: 'colleague-secret-9' } });
      assertError(await srv.request('POST', LOGIN, { body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } }), 429, 'rate_limited');
      // the same address, another person: their right password works, and so do their typos up to the limit
      const typo = await srv.request('POST', LOGIN, { body: { email: other.email, password: 'colleague-secret-8' } });
      assertError(typo, 401, 'invalid_credentials');
      const ok = await srv.request('POST', LOGIN, { body: other });
      assert.equal(ok.status, 200, ok.text);
    } finally { await stopServer(srv); }
  });

  it('one e-mail guessed from many addresses → 429 past --login-max-per-email (behind a trusted proxy)', T, async () => {
    const srv = await startServer({ args: ['--trust-proxy', 'true'] });
    try {
      for (let i = 0; i < 10; i++) {
        const r = await srv.request('POST', LOGIN, { body: { email: ADMIN_EMAIL, password: `wrong-${i}-password` },
          headers: { 'x-forwarded-for': `203.0.113.${i + 1}` } });
        assertError(r, 401, 'invalid_credentials');
      }
      const r = await srv.request('POST', LOGIN, { body: { email: ADMIN_EMAIL, password: 'wrong-x-password' },
        headers: { 'x-forwarded-for': '203.0.113.99' } });
      assertError(r, 429, 'rate_limited');
    } finally { await stopServer(srv); }
  });

  it('a full hashing queue answers 503 with Retry-After and gives the attempts back', T, async () => {
    const srv = await startServer({ args: ['--trust-proxy', 'true', '--hash-threads', '1', '--hash-queue', '2'] });
    try {
      const all = await Promise.all(Array.from({ length: 24 }, (_, i) =>
        srv.request('POST', LOGIN, { body: { email: `flood${i}@example.com`, password: 'wrong-password' },
          headers: { 'x-forwarded-for': `198.51.100.${i + 1}` } })));
      const busy = all.filter((r) => r.status === 503);
      assert.ok(busy.length >= 10, `expected most of 24 to find the queue full, got ${all.map((r) => r.status)}`);
      for (const r of busy) {
        assertError(r, 503, 'busy');
        assert.equal(r.headers.get('retry-after'), '1');
      }
      assert.ok(all.every((r) => r.status === 503 || r.status === 401), `${all.map((r) => r.status)}`);
      // the admin, from an address whose attempt was refused for the queue, is not penalised for it
      const ok = await srv.request('POST', LOGIN, { body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD },
        headers: { 'x-forwarded-for': '198.51.100.1' } });
      assert.equal(ok.status, 200, ok.text);
    } finally { await stopServer(srv); }
  });

  it('static files stay fast while a login flood keeps every hashing thread busy', T, async () => {
    const srv = await startServer({ args: ['--trust-proxy', 'true', '--login-max-per-ip', '1000000', '--hash-queue', '1000'] });
    try {
      let stop = false;
      let n = 0;
      const flood = Array.from({ length: 16 }, async (_, k) => {
        while (!stop) {
          await srv.request('POST', LOGIN, { body: { email: `f${k}-${n++}@example.com`, password: 'wrong-password' },
            headers: { 'x-forwarded-for': `10.${k}.${n % 250}.${(n >> 8) % 250}` } });
        }
      });
      await sleep(500);
      const times = [];
      for (let i = 0; i < 10; i++) {
        const t0 = Date.now();
        const r = await srv.request('GET', '/favicon.svg');
        assert.equal(r.status, 200);
        times.push(Date.now() - t0);
      }
      stop = true;
      await Promise.all(flood);
      times.sort((a, b) => a - b);
      assert.ok(n > 16, `the flood sent ${n} logins`);
      assert.ok(times[9] < 1000, `static files took ${times} ms during the flood`);
    } finally { await stopServer(srv); }
  });

  it('successful logins are not limited', T, async () => {
    const srv = await startServer();
    try {
      for (let i = 0; i < 12; i++) {
        const r = await srv.request('POST', LOGIN, { body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } });
        assert.equal(r.status, 200, `login ${i + 1}: ${r.status} ${r.text}`);
      }
    } finally { await stopServer(srv); }
  });
});

describe('no user enumeration by timing', () => {
  it('an unknown e-mail takes about as long as a wrong password (both pay for a hash)', T, async () => {
    const srv = await startServer();
    try {
      const time = async (email) => {
        const t0 = process.hrtime.bigint();
        const r = await srv.request('POST', LOGIN, { body: { email, password: 'wrong-password-x' } });
        assert.equal(r.status, 401);
        return Number(process.hrtime.bigint() - t0) / 1e6;
      };
      const wrong = [];
      const unknown = [];
      for (let i = 0; i < 3; i++) {
        wrong.push(await time(ADMIN_EMAIL));
        unknown.push(await time(`ghost${i}@example.com`));
      }
      const med = (a) => [...a].sort((x, y) => x - y)[1];
      assert.ok(med(unknown) >= 0.5 * med(wrong),
        `unknown e-mail answered in ${med(unknown).toFixed(1)} ms vs ${med(wrong).toFixed(1)} ms for a wrong password`);
    } finally { await stopServer(srv); }
  });
});
