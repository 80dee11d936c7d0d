// Configuration: --help, invalid values (exit 2 naming the option), and the precedence
// defaults < config file < environment < flags, observed through behaviour (max-body, listen).
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../lib/server.mjs';
import { RawConn } from './lib/raw.mjs';
import { T, sleep, eventually, stopServer, runParleyd, freePort } from './lib/util.mjs';

const OPTIONS = ['listen', 'data-dir', 'log-level', 'db', 'config', 'max-body', 'max-header', 'header-timeout',
  'body-timeout', 'idle-timeout', 'max-connections', 'ws-max-message', 'ws-idle-timeout', 'session-ttl', 'web-dir',
  'send-timeout', 'max-unauth-body-total'];

const confDir = mkdtempSync(join(tmpdir(), 'parley-conf-'));
let confN = 0;
function configFile(text) {
  const p = join(confDir, `parley-${++confN}.conf`);
  writeFileSync(p, text);
  return p;
}
after(() => rmSync(confDir, { recursive: true, force: true }));

/** Status of a login POST whose body is exactly `size` bytes: 413 if over max-body, else 422. */
async function bodyStatus(srv, size) {
  const json = '{"email":1}';
  const body = json + ' '.repeat(size - json.length);
  try {
    const r = await srv.request('POST', '/api/v1/auth/login', { raw: body, headers: { 'content-type': 'application/json' } });
    return r.status;
  } catch (e) {
    return `no response (${e.cause?.code || e.message})`;
  }
}

async function withServer(opts, fn) {
  const srv = await startServer(opts);
  try { await fn(srv); } finally { await stopServer(srv); }
}

async function expectExit2(args, env, optionRe) {
  const r = await runParleyd(args, { env });
  if (r.url) { await r.stop(); assert.fail(`parleyd started (${r.url}) with ${JSON.stringify(args)} ${JSON.stringify(env || {})}`); }
  assert.ok(r.exited, `parleyd neither exited nor listened: ${r.stderr}`);
  assert.equal(r.exited.code, 2, `exit status for ${JSON.stringify(args)} ${JSON.stringify(env || {})}; stderr: ${r.stderr}`);
  assert.match(r.stderr, optionRe, `stderr should name the option: ${JSON.stringify(r.stderr)}`);
  assert.doesNotMatch(r.stdout, /listening on/);
}

describe('command line', () => {
  it('--help lists every option and exits 0', T, async () => {
    const r = await runParleyd(['--help']);
    if (r.url) { await r.stop(); assert.fail('--help started the server'); }
    assert.equal(r.exited?.code, 0, r.stderr);
    for (const o of OPTIONS) assert.match(r.stdout, new RegExp(`--${o}\\b`), `--help does not mention --${o}`);
  });

  it('an invalid flag value exits 2 and names the option', T, async () => {
    const cases = [
      [['--max-body', 'abc'], /max-body/],
      [['--max-header', '12kb'], /max-header/],
      [['--max-connections', 'lots'], /max-connections/],
      [['--header-timeout', '-5'], /header-timeout/],
      [['--idle-timeout', '1.5.2'], /idle-timeout/],
      [['--session-ttl', 'forever'], /session-ttl/],
      [['--ws-max-message', ''], /ws-max-message/],
      [['--log-level', 'loud'], /log-level/],
      [['--db', 'oracle'], /\bdb\b/],
      [['--max-body', '99999999999999999999999'], /max-body/],
      [['--max-body', '10'], /max-body/],
      [['--max-connections', '0'], /max-connections/],
    ];
    for (const [args, re] of cases) await expectExit2(args, undefined, re);
  });

  it('a flag missing its value exits 2 and names it', T, async () => {
    await expectExit2(['--max-body'], undefined, /max-body/);
  });

  it('an unknown option exits 2 and names it', T, async () => {
    await expectExit2(['--frobnicate', '1'], undefined, /frobnicate/);
  });

  it('an invalid environment value exits 2 and names the option', T, async () => {
    await expectExit2([], { PARLEY_MAX_BODY: 'abc' }, /max[-_]body/i);
    await expectExit2([], { PARLEY_HEADER_TIMEOUT: 'soon' }, /header[-_]timeout/i);
  });

  it('an invalid config file value exits 2 and names the option', T, async () => {
    await expectExit2(['--config', configFile('max-body = abc\n')], undefined, /max[-_]body/i);
  });

  it('an unknown name in the config file exits 2 and names it (typos are not ignored)', T, async () => {
    await expectExit2(['--config', configFile('max-bodyy = 200\n')], undefined, /max-bodyy/);
  });

  it('a missing config file is an error, not silently ignored', T, async () => {
    const r = await runParleyd(['--config', join(confDir, 'does-not-exist.conf')]);
    if (r.url) { await r.stop(); assert.fail('started without its config file'); }
    assert.notEqual(r.exited.code, 0);
    assert.match(r.stderr, /does-not-exist\.conf/);
  });
});

describe('precedence: defaults < config file < env < flags (observed through max-body)', () => {
  it('a config file sets max-body', T, async () => {
    await withServer({ args: ['--config', configFile('max-body = 200\n')] }, async (srv) => {
      assert.equal(await bodyStatus(srv, 150), 422);
      assert.equal(await bodyStatus(srv, 300), 413);
    });
  });

  it('a config file may have comments and blank lines', T, async () => {
    const text = '# Parley test configuration\n\n   # indented comment\nmax-body = 200\n\n';
    await withServer({ args: ['--config', configFile(text)] }, async (srv) => {
      assert.equal(await bodyStatus(srv, 300), 413);
    });
  });

  it('PARLEY_CONFIG names the config file', T, async () => {
    await withServer({ env: { PARLEY_CONFIG: configFile('max-body = 200\n') } }, async (srv) => {
      assert.equal(await bodyStatus(srv, 300), 413);
    });
  });

  it('the environment overrides the config file', T, async () => {
    await withServer({ args: ['--config', configFile('max-body = 200\n')], env: { PARLEY_MAX_BODY: '5000' } }, async (srv) => {
      assert.equal(await bodyStatus(srv, 300), 422);
    });
    await withServer({ args: ['--config', configFile('max-body = 5000\n')], env: { PARLEY_MAX_BODY: '200' } }, async (srv) => {
      assert.equal(await bodyStatus(srv, 300), 413);
    });
  });

  it('a flag overrides the environment and the config file', T, async () => {
    await withServer({ args: ['--max-body', '5000'], env: { PARLEY_MAX_BODY: '200' } }, async (srv) => {
      assert.equal(await bodyStatus(srv, 300), 422);
    });
    await withServer({ args: ['--config', configFile('max-body = 5000\n'), '--max-body', '200'], env: { PARLEY_MAX_BODY: '5000' } }, async (srv) => {
      assert.equal(await bodyStatus(srv, 300), 413);
    });
  });

  it('the default max-body is 1 MiB', T, async () => {
    await withServer({}, async (srv) => {
      assert.equal(await bodyStatus(srv, 1024 * 1024 - 100), 422);
      // over the limit: declare the length and send only the start, so the early 413 cannot race a reset
      const c = await RawConn.connect(srv.port);
      try {
        await c.write(`POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${1024 * 1024 + 100}\r\n\r\n{"email":1}`);
        const r = await c.responseOrClose({ timeout: 3000 });
        assert.ok(r.res, `no response (${r.closed ? 'closed' : 'timed out'})`);
        assert.equal(r.res.status, 413);
      } finally { c.destroy(); }
    });
  });
});

describe('precedence observed through the listen address', () => {
  async function listensOn(args, env, port) {
    const r = await runParleyd(args, { env });
    try {
      assert.ok(r.url, `did not start: ${r.stderr}`);
      assert.equal(r.url, `http://127.0.0.1:${port}`);
      const h = await fetch(`http://127.0.0.1:${port}/healthz`);
      assert.equal(h.status, 200);
      assert.equal(r.stdout.split('\n').filter((l) => l.startsWith('listening on')).length, 1);
    } finally {
      if (r.url) {
        const e = await r.stop();
        assert.equal(e.code, 0, `exit after SIGTERM: ${JSON.stringify(e)} ${r.stderr}`);
      }
    }
  }

  it('config file < env < flag for listen', T, async () => {
    const [p1, p2, p3] = [await freePort(), await freePort(), await freePort()];
    const conf = configFile(`listen = 127.0.0.1:${p1}\n`);
    await listensOn(['--config', conf], {}, p1);
    await listensOn(['--config', conf], { PARLEY_LISTEN: `127.0.0.1:${p2}` }, p2);
    await listensOn(['--config', conf, '--listen', `127.0.0.1:${p3}`], { PARLEY_LISTEN: `127.0.0.1:${p2}` }, p3);
  });

  it('a listen address already in use is reported, not a silent hang', T, async () => {
    const srv = await startServer();
    try {
      const r = await runParleyd(['--listen', `127.0.0.1:${srv.port}`]);
      if (r.url) { await r.stop(); assert.fail('a second server listened on a port in use'); }
      assert.ok(r.exited, 'did not exit');
      assert.notEqual(r.exited.code, 0);
      assert.ok(r.stderr.length > 0, 'no error message on stderr');
    } finally { await stopServer(srv); }
  });
});

describe('max-connections and the open-file limit', () => {
  const NOFILE = 256;
  const wrap = ['prlimit', `--nofile=${NOFILE}:${NOFILE}`];

  // the start-up log line comes on stderr just after "listening on" on stdout
  const logged = (srv, re) => eventually(() => re.exec(srv.stderr), { timeout: 5000 });

  async function holdUntilRefused(srv, max) {
    const held = [];
    let served = 0;
    let refused = null;
    for (let i = 0; i < max && refused === null; i++) {
      const c = await RawConn.connect(srv.port);
      held.push(c);
      await c.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n').catch(() => {});
      const r = await c.responseOrClose({ timeout: 3000 });
      if (r.res?.status === 200) served++;
      else refused = r;
    }
    return { held, served, refused };
  }

  it('the default follows the descriptor limit: the connection over it gets 503, not a failing accept loop', { timeout: 60000 }, async () => {
    const srv = await startServer({ wrap, env: { PARLEY_LOG_LEVEL: 'info' } });
    let held = [];
    try {
      const m = await logged(srv, /max_connections=(\d+)/);
      assert.ok(m, `no max_connections in the start-up log: ${srv.stderr}`);
      const max = Number(m[1]);
      assert.ok(max > 100 && max < NOFILE, `max_connections=${max} with ${NOFILE} descriptors`);
      const res = await holdUntilRefused(srv, NOFILE + 10);
      held = res.held;
      assert.ok(res.refused, `all ${res.served} connections were served`);
      assert.ok(res.refused.res, `connection ${res.served + 1} got no answer: ${JSON.stringify(res.refused)}`);
      assert.equal(res.refused.res.status, 503, res.refused.res.text);
      assert.equal(res.refused.res.body?.error?.code, 'too_many_connections');
      assert.equal(res.served, max, 'every connection up to the limit is served');
      for (const c of held) c.destroy();
      held = [];
      await sleep(300);
      const r = await fetch(`${srv.url}/healthz`);
      assert.equal(r.status, 200);
    } finally {
      for (const c of held) c.destroy();
      await stopServer(srv);
    }
  });

  it('an explicit value above the descriptor limit is lowered, with a warning', T, async () => {
    const srv = await startServer({ wrap, args: ['--max-connections', '100000'] });
    try {
      assert.ok(await logged(srv, /max-connections=100000.*(open files|descriptor)/i), srv.stderr);
      const m = /max_connections=(\d+)/.exec(srv.stderr);
      assert.ok(m && Number(m[1]) < NOFILE, srv.stderr);
    } finally { await stopServer(srv); }
  });

  it('an explicit value under the limit is kept', T, async () => {
    const srv = await startServer({ wrap, args: ['--max-connections', '50'], env: { PARLEY_LOG_LEVEL: 'info' } });
    try {
      assert.ok(await logged(srv, /max_connections=50\b/), srv.stderr);
      assert.doesNotMatch(srv.stderr, /max-connections=50\b.*lower/i);
    } finally { await stopServer(srv); }
  });
});
