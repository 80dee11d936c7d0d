// Lifecycle: graceful stop (SIGTERM/SIGINT exit 0, in-flight requests finish), data survives a restart
// and a kill -9, and the first-start generated admin password.
import { it } from 'node:test';
import { existsSync, statSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { startServer, ADMIN_EMAIL, ADMIN_PASSWORD } from '../lib/server.mjs';
import { RawConn, buildRequest } from './lib/raw.mjs';
import { connectWs } from './lib/ws.mjs';
import { T, sleep, stopServer } from './lib/util.mjs';

const AGENT = { email: 'restart-agent@example.com', name: 'Restart Agent', password: 'restart-pass-1', role: 'agent' };
const NO_ADMIN_ENV = { PARLEY_ADMIN_EMAIL: undefined, PARLEY_ADMIN_PASSWORD: undefined };
const GENERATED_EMAIL = 'admin@parley.local';

async function createAgent(srv, body = AGENT) {
  const s = await srv.login();
  const aid = s.user.accounts[0].id;
  const r = await srv.request('POST', `/api/v1/accounts/${aid}/users`, { token: s.token, body });
  assert.equal(r.status, 201, r.text);
  return r.body;
}

it('SIGTERM exits 0; after a restart on the same data dir the admin and the agent still log in', T, async () => {
  const a = await startServer();
  let b;
  try {
    const agent = await createAgent(a);
    const e = await a.stop();
    assert.deepEqual(e, { code: 0, signal: null }, `stderr: ${a.stderr}`);

    b = await startServer({ dataDir: a.dataDir });
    const admin = await b.login();
    assert.equal(admin.user.accounts[0].slug, 'default');
    assert.equal(admin.user.accounts[0].role, 'admin');
    const ag = await b.login(AGENT.email, AGENT.password);
    assert.equal(ag.user.id, agent.id);
    assert.equal(ag.user.accounts[0].role, 'agent');
    const list = await b.request('GET', `/api/v1/accounts/${admin.user.accounts[0].id}/users`, { token: admin.token });
    assert.equal(list.body.meta.total, 2, 'a restart must not duplicate or lose users');
    assert.doesNotMatch(b.stdout, /password/i, `second start printed a password: ${b.stdout}`);
    assert.ok(!b.stdout.includes(ADMIN_PASSWORD));
    const e2 = await b.stop();
    assert.equal(e2.code, 0);
  } finally {
    if (b) b.cleanup(); // does not own the directory
    a.cleanup();
  }
});

it('SIGINT also exits 0', T, async () => {
  const s = await startServer();
  try {
    const e = await s.stop('SIGINT');
    assert.deepEqual(e, { code: 0, signal: null }, s.stderr);
  } finally { s.cleanup(); }
});

it('a request in flight when SIGTERM arrives still gets its answer, then the server exits 0', T, async () => {
  const s = await startServer();
  try {
    const c = await RawConn.connect(s.port);
    try {
      // login costs an argon2id hash (~60 ms), so it is still running when the signal lands
      await c.write(buildRequest('POST', '/api/v1/auth/login', { body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } }));
      await sleep(15);
      s.proc.kill('SIGTERM');
      const r = await c.readResponse({ timeout: 5000 });
      assert.equal(r.status, 200, r.text);
      assert.equal(typeof r.body.token, 'string');
    } finally { c.destroy(); }
    const e = await s.stop();
    assert.deepEqual(e, { code: 0, signal: null }, s.stderr);
  } finally { s.cleanup(); }
});

it('a user acknowledged with 201 survives kill -9', T, async () => {
  const a = await startServer();
  let b;
  try {
    const agent = await createAgent(a, { ...AGENT, email: 'durable@example.com' });
    await a.kill9();
    b = await startServer({ dataDir: a.dataDir });
    const s = await b.login('durable@example.com', AGENT.password);
    assert.equal(s.user.id, agent.id);
    const e = await b.stop();
    assert.equal(e.code, 0);
  } finally {
    if (b) b.cleanup();
    a.cleanup();
  }
});

/** Pulls the generated password out of the first-start output. */
function generatedPassword(stdout) {
  const lines = stdout.split('\n').filter((l) => !l.startsWith('listening on') && (/password/i.test(l) || l.includes(GENERATED_EMAIL)));
  for (const l of lines) {
    const m = /password\s*(?:is)?\s*[:=]?\s*["'`]?([^\s"'`,;]{8,})/i.exec(l);
    if (m && m[1] !== GENERATED_EMAIL) return m[1];
  }
  // fall back: the longest token on those lines that is not the e-mail
  const tokens = lines.join(' ').split(/[\s"'`,;()]+/).filter((t) => t.length >= 8 && !t.includes('@') && !/^password[:=]?$/i.test(t));
  tokens.sort((x, y) => y.length - x.length);
  return tokens[0];
}

it('first start without PARLEY_ADMIN_* prints a generated password that works; the second start prints none', T, async () => {
  const a = await startServer({ env: NO_ADMIN_ENV });
  let b;
  try {
    // the password line may come just before or after "listening on"
    for (let i = 0; i < 20 && !/password/i.test(a.stdout); i++) await sleep(50);
    assert.ok(a.stdout.includes(GENERATED_EMAIL), `first start should print the login e-mail ${GENERATED_EMAIL}:\n${a.stdout}`);
    const pw = generatedPassword(a.stdout);
    assert.ok(pw, `no password found in:\n${a.stdout}`);
    assert.ok(pw.length >= 12, `generated password "${pw}" is short`);
    const kept = join(a.dataDir, 'initial-admin.txt'); // docs/architecture.md: kept there, mode 0600
    if (existsSync(kept)) {
      assert.equal(statSync(kept).mode & 0o077, 0, `${kept} is readable by group/others`);
      assert.ok(readFileSync(kept, 'utf8').includes(pw), 'initial-admin.txt does not hold the printed password');
    }
    const s = await a.login(GENERATED_EMAIL, pw);
    assert.equal(s.user.accounts[0].role, 'admin');
    assert.equal(s.user.accounts[0].slug, 'default');
    const e = await a.stop();
    assert.equal(e.code, 0);

    b = await startServer({ dataDir: a.dataDir, env: NO_ADMIN_ENV });
    await sleep(300);
    assert.ok(!b.stdout.includes(pw), `second start printed the password again:\n${b.stdout}`);
    assert.doesNotMatch(b.stdout, /password/i, `second start printed a password line:\n${b.stdout}`);
    await b.login(GENERATED_EMAIL, pw);
    assert.equal((await b.stop()).code, 0);
  } finally {
    if (b) b.cleanup();
    a.cleanup();
  }
});

it('two fresh data dirs get different generated passwords', T, async () => {
  const a = await startServer({ env: NO_ADMIN_ENV });
  const b = await startServer({ env: NO_ADMIN_ENV });
  try {
    for (let i = 0; i < 20 && !(/password/i.test(a.stdout) && /password/i.test(b.stdout)); i++) await sleep(50);
    const pa = generatedPassword(a.stdout);
    const pb = generatedPassword(b.stdout);
    assert.ok(pa && pb);
    assert.notEqual(pa, pb, 'generated passwords must be random');
  } finally {
    await stopServer(a);
    await stopServer(b);
  }
});

it('sessions survive a graceful restart, and a logged-out token stays revoked', T, async () => {
  const a = await startServer();
  let b;
  try {
    const kept = await a.login();
    const gone = await a.login();
    assert.equal((await a.request('POST', '/api/v1/auth/logout', { token: gone.token })).status, 204);
    assert.equal((await a.stop()).code, 0);
    b = await startServer({ dataDir: a.dataDir });
    const me = await b.request('GET', '/api/v1/me', { token: kept.token });
    assert.equal(me.status, 200, `a 7-day token died with the restart: ${me.text}`);
    const revoked = await b.request('GET', '/api/v1/me', { token: gone.token });
    assert.equal(revoked.status, 401, 'a logged-out token came back after the restart');
    assert.equal((await b.stop()).code, 0);
  } finally {
    if (b) b.cleanup();
    a.cleanup();
  }
});

it('SIGTERM with an open WebSocket and an idle keep-alive connection: close 1001, exit 0 promptly', T, async () => {
  const s = await startServer();
  let c;
  let ws;
  try {
    const { token } = await s.login();
    ws = await connectWs(s.port, token);
    c = await RawConn.connect(s.port);
    await c.write(buildRequest('GET', '/healthz'));
    assert.equal((await c.readResponse()).status, 200);
    const t0 = Date.now();
    s.proc.kill('SIGTERM');
    const close = await ws.waitClose(5000);
    assert.ok(!close.timedOut, 'the WebSocket was not closed within 5 s of SIGTERM');
    assert.equal(close.code, 1001, `close code on shutdown${close.noCloseFrame ? ' (TCP closed without a close frame)' : ''}`);
    assert.equal(await c.waitClose(5000), true, 'the idle keep-alive connection was not closed on shutdown');
    const e = await s.stop();
    assert.deepEqual(e, { code: 0, signal: null }, s.stderr);
    assert.ok(Date.now() - t0 < 3000, `shutdown took ${Date.now() - t0} ms with only idle connections`);
  } finally {
    ws?.destroy();
    c?.destroy();
    s.cleanup();
  }
});
