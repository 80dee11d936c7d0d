// Network-level fuzzing of the real parleyd (the sanitizer build under make test): for NETFUZZ_TIME
// seconds (default 20), rounds of connections that send random mutations of real requests (login,
// widget session, messages, an upload, static files, WebSocket upgrades followed by random frames),
// in random splits, with random resets, half-closes and slowloris pauses. After every round the
// server must answer /healthz within a second; at the end it must stop cleanly with no sanitizer
// report (tests/lib/server.mjs fails the test on one). NETFUZZ_SEED replays a run; the seed in use
// is printed. Node's built-in modules only.
//
// Its first run found a remote use-after-free in the first round (a closing connection put back in
// a timeout list; docs/security.md, "Fuzzing"); the second test replays that finding's input.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer } from '../lib/server.mjs';
import { buildRequest } from './lib/raw.mjs';
import { encodeFrame, closePayload, connectWs, OP } from './lib/ws.mjs';
import { sleep, stopServer } from './lib/util.mjs';

const DURATION_MS = Number(process.env.NETFUZZ_TIME ?? 20) * 1000;
const SEED = Number(process.env.NETFUZZ_SEED ?? (Date.now() % 2147483647));
const PER_ROUND = 12; // connections at once

/** mulberry32: a small seeded generator, so a run can be replayed. */
function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n) => Math.floor(next() * n);
  return { next, int, pick: (xs) => xs[int(xs.length)], chance: (p) => next() < p };
}

const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000' +
  '1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082', 'hex');

const INTERESTING = ['0', '-1', '4294967296', '18446744073709551616', '99999999999999999999', '%00', '%', '%zz',
  '\r\n', '\n', '\r', '\0', ':', ';', ',', '"', '\\', '/..', '//', '\u00ff', '\ud7ff', 'chunked', 'close',
  'keep-alive', 'Upgrade', 'websocket', '100-continue', 'gzip', '*', 'W/"x"', '{', '}', '[', ']', 'null'];

/** One random mutation of a request (a Buffer), in the spirit of libFuzzer's mutators. */
function mutate(r, buf, others) {
  let b = Buffer.from(buf);
  const n = 1 + r.int(4);
  for (let k = 0; k < n; k++) {
    const at = b.length ? r.int(b.length) : 0;
    switch (r.int(10)) {
      case 0: if (b.length) b[at] ^= 1 << r.int(8); break; // flip a bit
      case 1: if (b.length) b[at] = r.int(256); break; // any byte
      case 2: b = Buffer.concat([b.subarray(0, at), Buffer.from(r.pick(INTERESTING), 'latin1'), b.subarray(at)]); break;
      case 3: b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + r.int(16)))]); break; // delete
      case 4: { const l = r.int(64); b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + l), b.subarray(at)]); break; } // duplicate
      case 5: b = b.subarray(0, at); break; // truncate
      case 6: b = Buffer.concat([b, r.pick(others)]); break; // pipeline another request
      case 7: { // a number changed (Content-Length, chunk sizes, ids)
        const s = b.toString('latin1').replace(/\d+/, () => r.pick(['0', '1', '65535', '65536', '2147483648', '-5', '007']));
        b = Buffer.from(s, 'latin1');
        break;
      }
      case 8: b = Buffer.concat([b.subarray(0, at), Buffer.alloc(r.int(3) ? r.int(300) : 70000, r.pick([0x41, 0x20, 0x0a, 0xff])), b.subarray(at)]); break;
      default: { const s = b.toString('latin1'); b = Buffer.from(r.chance(0.5) ? s.toUpperCase() : s.toLowerCase(), 'latin1'); }
    }
  }
  return b;
}

/** Random client frames: text (sometimes invalid UTF-8 or fragmented), pings, closes, junk. */
function randomFrames(r) {
  const out = [];
  const n = 1 + r.int(6);
  for (let i = 0; i < n; i++) {
    const kind = r.int(9);
    if (kind === 0) out.push(encodeFrame({ opcode: OP.TEXT, payload: JSON.stringify({ type: 'ping' }) }));
    else if (kind === 1) out.push(encodeFrame({ opcode: OP.TEXT, payload: JSON.stringify({ type: 'message.send', content: 'fuzz', client_id: `nf-${r.int(1e9)}`, conversation_id: r.int(5) }) }));
    else if (kind === 2) out.push(encodeFrame({ opcode: OP.TEXT, fin: false, payload: '{"type":' }), encodeFrame({ opcode: OP.PING, payload: 'p' }), encodeFrame({ opcode: OP.CONT, payload: '"typing","conversation_id":1}' }));
    else if (kind === 3) out.push(encodeFrame({ opcode: OP.TEXT, payload: Buffer.from([0xc0, 0x80, 0xed, 0xa0, 0x80]) }));
    else if (kind === 4) out.push(encodeFrame({ opcode: OP.PING, payload: Buffer.alloc(r.int(140), 0x61) }));
    else if (kind === 5) out.push(encodeFrame({ opcode: OP.CLOSE, payload: r.chance(0.5) ? closePayload(r.pick([1000, 1001, 1005, 999, 4000, 1015])) : Buffer.from([3]) }));
    else if (kind === 6) out.push(encodeFrame({ opcode: r.int(16), rsv: r.int(8), mask: r.chance(0.8), payload: Buffer.alloc(r.int(200), 0x62) }));
    else if (kind === 7) out.push(encodeFrame({ opcode: OP.TEXT, payload: Buffer.alloc(r.chance(0.5) ? 70000 : 2000, 0x63) }));
    else { const f = Buffer.alloc(2 + r.int(20)); for (let k = 0; k < f.length; k++) f[k] = r.int(256); out.push(f); }
  }
  return Buffer.concat(out);
}

/** One connection: writes bytes in random splits, maybe slowly, maybe resets; reads and discards. */
function exchange(port, r, bytes) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let done = false;
    const finish = () => { if (!done) { done = true; clearTimeout(timer); s.destroy(); resolve(); } };
    const timer = setTimeout(finish, 3000);
    s.on('error', finish);
    s.on('close', finish);
    s.on('data', () => {});
    s.on('connect', async () => {
      s.setNoDelay(true);
      let pos = 0;
      const resetAt = r.chance(0.25) ? r.int(bytes.length + 1) : -1;
      while (pos < bytes.length && !done) {
        const k = r.pick([1, 2, 7, 64, 1024, 65536]);
        const end = Math.min(bytes.length, pos + 1 + r.int(k));
        if (resetAt >= pos && resetAt < end) { s.resetAndDestroy(); return finish(); }
        s.write(bytes.subarray(pos, end));
        pos = end;
        if (r.chance(0.3)) await sleep(r.chance(0.9) ? r.int(5) : 50 + r.int(400)); // slowloris now and then
      }
      if (done) return;
      const how = r.int(4);
      if (how === 0) { s.resetAndDestroy(); return finish(); }
      if (how === 1) s.end(); // half-close: the server may still answer
      await sleep(r.int(200));
      finish();
    });
  });
}

async function healthz(url) {
  const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
  return res.status;
}

describe('network fuzzing', () => {
  let srv, templates;

  before(async () => {
    srv = await startServer();
    const admin = (await srv.login()).token;
    const A = '/api/v1/accounts/1';
    const inboxes = await srv.request('GET', `${A}/inboxes`, { token: admin });
    const widgetToken = inboxes.body.data.find((i) => i.channel === 'web').widget_token;
    const visitor = (await srv.request('POST', '/api/v1/widget/sessions', { body: { widget_token: widgetToken } })).body;
    // a conversation for the message routes
    const vws = await connectWs(srv.port, visitor.visitor_token);
    await vws.sendJson({ type: 'message.send', client_id: 'nf-setup', content: 'hello from the fuzzer' });
    const ack = await vws.waitFor((e) => e.kind === 'text' && e.json?.type === 'ack', 5000, 'ack');
    const cid = ack.json.data.conversation_id;
    vws.destroy();
    const json = (method, path, body, token) => buildRequest(method, path, { body, token });
    const upgrade = (token) => Buffer.from(`GET /ws?token=${encodeURIComponent(token)} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n` +
      'Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n', 'latin1');
    templates = {
      http: [
        json('POST', '/api/v1/auth/login', { email: 'admin@example.com', password: 'admin-password-123' }),
        json('POST', '/api/v1/auth/login', { email: 'nobody@example.com', password: 'wrong-password-1' }),
        buildRequest('GET', '/api/v1/me', { token: admin }),
        buildRequest('GET', `${A}/conversations?limit=5&status=open`, { token: admin }),
        json('POST', '/api/v1/widget/sessions', { widget_token: widgetToken, contact: { name: 'Fuzz', email: 'f@example.com' } }),
        json('POST', `${A}/conversations/${cid}/messages`, { content: 'reply', client_id: 'nf-a', private: false }, admin),
        json('PATCH', `${A}/conversations/${cid}`, { status: 'pending', priority: 'high' }, admin),
        buildRequest('POST', `${A}/attachments?filename=x.png`, { body: PNG, headers: { 'content-type': 'image/png' }, token: admin }),
        buildRequest('GET', '/api/v1/widget/messages', { headers: { authorization: `Bearer ${visitor.visitor_token}` } }),
        buildRequest('GET', '/healthz'), buildRequest('GET', '/readyz'), buildRequest('GET', '/metrics'),
        buildRequest('GET', '/'), buildRequest('HEAD', '/index.html'), buildRequest('GET', '/assets/../../etc/passwd'),
        Buffer.from(`POST ${A}/conversations/${cid}/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${admin}\r\n` +
          'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n' +
          '9\r\n{"content\r\nd\r\n":"chunked"}\r\n0\r\n\r\n', 'latin1'),
      ],
      ws: [upgrade(admin), upgrade(visitor.visitor_token), upgrade('v1.1.1.1.9999999999.00000000000000000000000000000000')],
    };
  });

  after(() => stopServer(srv));

  it(`stays up under ${DURATION_MS / 1000} s of mutated traffic (NETFUZZ_SEED=${SEED})`, { timeout: DURATION_MS + 60000 }, async () => {
    const r = rng(SEED);
    const deadline = Date.now() + DURATION_MS;
    let rounds = 0, connections = 0;
    while (Date.now() < deadline) {
      const jobs = [];
      for (let i = 0; i < PER_ROUND; i++) {
        let bytes;
        if (r.chance(0.3)) {
          const up = r.pick(templates.ws);
          bytes = Buffer.concat([r.chance(0.8) ? up : mutate(r, up, templates.http), randomFrames(r)]);
        } else {
          const base = r.pick(templates.http);
          bytes = r.chance(0.15) ? base : mutate(r, base, templates.http);
        }
        jobs.push(exchange(srv.port, r, bytes));
      }
      await Promise.all(jobs);
      connections += jobs.length;
      rounds++;
      assert.equal(srv.proc.exitCode, null, `parleyd exited during round ${rounds} (seed ${SEED}):\n${srv.stderr.slice(-3000)}`);
      let status;
      try { status = await healthz(srv.url); } catch (e) { status = e.name; }
      assert.equal(status, 200, `/healthz after round ${rounds} (seed ${SEED}): ${status}`);
      srv.checkSanitizers();
    }
    console.log(`netfuzz: ${rounds} rounds, ${connections} connections, seed ${SEED}`);
  });
});

// The use-after-free the fuzzers found, as a client can cause it: a request with another one
// pipelined behind it (so the server stops reading), a reset while the first is being answered (a
// password hash takes ~60 ms on the thread pool), and then any keep-alive request: the answer's
// write fails, the closing connection goes back into a timeout list and is freed there.
describe('a client that resets while its pipelined request is answered', () => {
  let srv;
  before(async () => { srv = await startServer(); });
  after(() => stopServer(srv));

  it('leaves no freed connection behind (closing-conn-relinked)', { timeout: 20000 }, async () => {
    const body = JSON.stringify({ email: 'nobody@example.com', password: 'wrong-password-1' });
    const a = net.connect(srv.port, '127.0.0.1');
    await new Promise((res) => a.on('connect', res));
    a.write(`POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${body.length}\r\n\r\n${body}GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n`);
    await sleep(10);
    a.resetAndDestroy();
    await sleep(500);
    for (let i = 0; i < 3; i++) {
      const b = net.connect(srv.port, '127.0.0.1');
      await new Promise((res) => b.on('connect', res));
      b.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      await sleep(200);
      b.destroy();
    }
    await sleep(300);
    assert.equal(srv.proc.exitCode, null, `parleyd exited:\n${srv.stderr.slice(-3000)}`);
    assert.equal(await healthz(srv.url), 200);
    srv.checkSanitizers();
  });
});
