// WebSocket (RFC 6455) at /ws: handshake and auth, JSON protocol (hello, ping/pong, errors),
// protocol violations and limits (1002, 1007, 1009), idle timeout (1001), close handshake.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { openWs, connectWs, acceptFor, closePayload, encodeFrame, OP } from './lib/ws.mjs';
import { T, sleep, stopServer, parseMetrics, sumSamples, eventually, passes } from './lib/util.mjs';

async function expectClose(ws, code, timeout = 5000) {
  const c = await ws.waitClose(timeout);
  assert.ok(!c.timedOut, `no close within ${timeout} ms (expected ${code}); events: ${ws.describe()}`);
  assert.ok(!c.noCloseFrame, `TCP closed without a close frame (expected ${code})${c.error ? ` (${c.error})` : ''}`);
  assert.equal(c.code, code, `close code (reason: ${c.reason})`);
  assert.equal(await ws.waitTcpClose(3000), true, 'the server did not close the TCP connection after the close handshake');
  return c;
}

describe('default settings', () => {
  let srv;
  let session;
  const open = [];
  const connect = async (opts) => { const ws = await connectWs(srv.port, session.token, opts); open.push(ws); return ws; };
  before(async () => {
    srv = await startServer();
    session = await srv.login();
  });
  after(async () => {
    for (const ws of open) ws.destroy();
    await stopServer(srv);
  });

  it('upgrades with a correct Sec-WebSocket-Accept and greets with hello', T, async () => {
    const r = await openWs(srv.port, `/ws?token=${encodeURIComponent(session.token)}`);
    assert.equal(r.status, 101, r.text);
    open.push(r.ws);
    assert.equal((r.headers.upgrade || '').toLowerCase(), 'websocket');
    assert.ok((r.headers.connection || '').toLowerCase().split(/\s*,\s*/).includes('upgrade'), `Connection: ${r.headers.connection}`);
    assert.equal(r.headers['sec-websocket-accept'], acceptFor(r.key));
    const hello = await r.ws.nextJson();
    assert.equal(hello.type, 'hello');
    assert.equal(hello.user_id, session.user.id);
    assert.deepEqual(r.ws.violations, []);
  });

  it('without a token → 401 before upgrading', T, async () => {
    const r = await openWs(srv.port, '/ws');
    assert.equal(r.status, 401);
    assert.equal(r.ws, undefined);
    assert.equal(r.body?.error?.code, 'unauthorized', r.text);
  });

  it('with an unknown or revoked token → 401', T, async () => {
    assert.equal((await openWs(srv.port, '/ws?token=not-a-token-1234567890')).status, 401);
    const other = await srv.login();
    assert.equal((await srv.request('POST', '/api/v1/auth/logout', { token: other.token })).status, 204);
    const r = await openWs(srv.port, `/ws?token=${encodeURIComponent(other.token)}`);
    assert.equal(r.status, 401, 'a logged-out token must not open a socket');
  });

  it('a handshake without a key or with an unsupported version is not upgraded', T, async () => {
    const q = `/ws?token=${encodeURIComponent(session.token)}`;
    const noKey = await openWs(srv.port, q, { headers: { 'sec-websocket-key': undefined } });
    assert.ok(noKey.status >= 400 && noKey.status < 500, `no key → ${noKey.status}`);
    const v8 = await openWs(srv.port, q, { version: '8' });
    assert.ok(v8.status === 426 || v8.status === 400, `version 8 → ${v8.status}`);
  });

  it('{"type":"ping"} → {"type":"pong"}', T, async () => {
    const ws = await connect();
    await ws.sendJson({ type: 'ping' });
    assert.deepEqual(await ws.nextJson(), { type: 'pong' });
    await ws.sendJson({ type: 'ping' });
    assert.deepEqual(await ws.nextJson(), { type: 'pong' });
  });

  it('invalid JSON → error invalid_json, and the socket stays usable', T, async () => {
    const ws = await connect();
    await ws.sendText('{"type": "ping"');
    const e = await ws.nextJson();
    assert.equal(e.type, 'error');
    assert.equal(e.code, 'invalid_json');
    await ws.sendJson({ type: 'ping' });
    assert.deepEqual(await ws.nextJson(), { type: 'pong' });
  });

  it('an unknown type → error unknown_type, and the socket stays usable', T, async () => {
    const ws = await connect();
    await ws.sendJson({ type: 'no.such.command' });
    const e = await ws.nextJson();
    assert.equal(e.type, 'error');
    assert.equal(e.code, 'unknown_type');
    await ws.sendJson({ type: 'ping' });
    assert.deepEqual(await ws.nextJson(), { type: 'pong' });
  });

  it('a JSON value that is not an object → error', T, async () => {
    const ws = await connect();
    await ws.sendText('[1,2,3]');
    const e = await ws.nextJson();
    assert.equal(e.type, 'error');
    await ws.sendJson({ type: 'ping' });
    assert.deepEqual(await ws.nextJson(), { type: 'pong' });
  });

  it('a message split over continuation frames is reassembled', T, async () => {
    const ws = await connect();
    await ws.sendFrame({ opcode: OP.TEXT, fin: false, payload: '{"ty' });
    await ws.sendFrame({ opcode: OP.PING, payload: 'mid' }); // control frames may interleave
    await ws.sendFrame({ opcode: OP.CONT, fin: false, payload: 'pe":"pi' });
    await ws.sendFrame({ opcode: OP.CONT, fin: true, payload: 'ng"}' });
    const pong = await ws.waitFor((e) => e.kind === 'pong');
    assert.equal(pong.data.toString(), 'mid');
    assert.deepEqual(await ws.nextJson(), { type: 'pong' });
  });

  // The server keeps a frame parser only while a frame or message is incomplete (net/ws.c): what
  // arrives in pieces, with pauses between the reads, must come out whole all the same.
  it('frames that arrive a few bytes at a time, with pauses, are parsed whole', T, async () => {
    const ws = await connect();
    const bytes = Buffer.concat([
      encodeFrame({ opcode: OP.TEXT, payload: Buffer.from('{"type":"ping"}') }),
      encodeFrame({ opcode: OP.TEXT, payload: Buffer.from(JSON.stringify({ type: 'ping', pad: 'x'.repeat(300) })) }),
    ]);
    let at = 0; // cuts inside the first header, its mask and payload, the second's 16-bit length
    for (const cut of [1, 2, 5, 11, 17, 18, 40, 200, bytes.length]) {
      await ws.writeRaw(bytes.subarray(at, cut));
      at = cut;
      await sleep(15);
    }
    assert.deepEqual(await ws.nextJson(), { type: 'pong' });
    assert.deepEqual(await ws.nextJson(), { type: 'pong' });
    // A fragmented message whose fragments come in separate reads, a ping between them.
    await ws.sendFrame({ opcode: OP.TEXT, fin: false, payload: '{"ty' });
    await sleep(30);
    await ws.sendFrame({ opcode: OP.PING, payload: 'between' });
    await sleep(30);
    await ws.sendFrame({ opcode: OP.CONT, fin: true, payload: 'pe":"ping"}' });
    assert.equal((await ws.waitFor((e) => e.kind === 'pong')).data.toString(), 'between');
    assert.deepEqual(await ws.nextJson(), { type: 'pong' });
    // And the connection goes on as usual afterwards.
    await sleep(30);
    await ws.sendJson({ type: 'ping' });
    assert.deepEqual(await ws.nextJson(), { type: 'pong' });
  });

  it('a protocol ping frame is answered with a pong frame carrying the same payload', T, async () => {
    const ws = await connect();
    await ws.sendFrame({ opcode: OP.PING, payload: 'are-you-there' });
    const p = await ws.waitFor((e) => e.kind === 'pong', 3000, 'a pong frame');
    assert.equal(p.data.toString(), 'are-you-there');
  });

  it('a text frame over 64 KiB → close 1009', T, async () => {
    const ws = await connect();
    const big = JSON.stringify({ type: 'ping', pad: 'x'.repeat(70 * 1024) });
    await ws.sendText(big);
    await expectClose(ws, 1009);
  });

  it('a text message just under 64 KiB is accepted', T, async () => {
    const ws = await connect();
    await ws.sendText(JSON.stringify({ type: 'ping', pad: 'x'.repeat(60 * 1024) }));
    const ev = await ws.waitFor((e) => e.kind === 'text' || e.kind === 'close', 5000, 'a reply');
    assert.equal(ev.kind, 'text', `closed with ${ev.code}`);
  });

  it('invalid UTF-8 in a text frame → close 1007', T, async () => {
    const ws = await connect();
    await ws.sendFrame({ opcode: OP.TEXT, payload: Buffer.concat([Buffer.from('{"type":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]) });
    await expectClose(ws, 1007);
  });

  it('overlong and surrogate UTF-8 sequences → close 1007', T, async () => {
    for (const bad of [[0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80]]) {
      const ws = await connect();
      await ws.sendFrame({ opcode: OP.TEXT, payload: Buffer.concat([Buffer.from('{"type":"'), Buffer.from(bad), Buffer.from('"}')]) });
      await expectClose(ws, 1007);
    }
  });

  it('invalid UTF-8 split across fragments → close 1007', T, async () => {
    const ws = await connect();
    await ws.sendFrame({ opcode: OP.TEXT, fin: false, payload: Buffer.from([0x7b, 0x22, 0xe2, 0x82]) });
    await ws.sendFrame({ opcode: OP.CONT, fin: true, payload: Buffer.from([0x28, 0x22, 0x7d]) });
    await expectClose(ws, 1007);
  });

  it('an unmasked client frame → close 1002', T, async () => {
    const ws = await connect();
    await ws.sendFrame({ opcode: OP.TEXT, payload: '{"type":"ping"}', mask: false });
    await expectClose(ws, 1002);
  });

  it('a reserved opcode or RSV bit → close 1002', T, async () => {
    const ws1 = await connect();
    await ws1.sendFrame({ opcode: 0x3, payload: 'x' });
    await expectClose(ws1, 1002);
    const ws2 = await connect();
    await ws2.sendFrame({ opcode: OP.TEXT, rsv: 4, payload: '{"type":"ping"}' });
    await expectClose(ws2, 1002);
  });

  it('control-frame violations → close 1002 (ping over 125 bytes, fragmented ping, bad close payload)', T, async () => {
    const cases = {
      'ping with 126-byte payload': { opcode: OP.PING, payload: Buffer.alloc(126, 0x61) },
      'ping with FIN=0': { opcode: OP.PING, fin: false, payload: Buffer.from('x') },
      '1-byte close payload': { opcode: OP.CLOSE, payload: Buffer.from([0x03]) },
      'close code 1005': { opcode: OP.CLOSE, payload: closePayload(1005) }, // reserved: never sent on the wire
      'close code 999': { opcode: OP.CLOSE, payload: closePayload(999) },
    };
    const got = {};
    for (const [name, frame] of Object.entries(cases)) {
      const ws = await connect();
      await ws.sendFrame(frame);
      const c = await ws.waitClose(3000);
      got[name] = c.timedOut ? 'still open' : c.noCloseFrame ? 'TCP closed without a close frame' : c.code;
    }
    // A ping over 125 bytes and a fragmented ping are rejected inside wslay's frame parser, which sends a
    // close frame without a status code (RFC 6455 7.1.7: the code is a SHOULD). Either way the connection
    // is failed with a close frame, never left open.
    const frameLevel = new Set(['ping with 126-byte payload', 'ping with FIN=0']);
    for (const k of frameLevel) if (got[k] === null) got[k] = 1002;
    assert.deepEqual(got, Object.fromEntries(Object.keys(cases).map((k) => [k, 1002])));
  });

  it('fragmentation violations → close 1002 (continuation without start, new message inside a fragmented one)', T, async () => {
    const ws1 = await connect();
    await ws1.sendFrame({ opcode: OP.CONT, payload: '{"type":"ping"}' });
    await expectClose(ws1, 1002);
    const ws2 = await connect();
    await ws2.sendFrame({ opcode: OP.TEXT, fin: false, payload: '{"type":' });
    await ws2.sendFrame({ opcode: OP.TEXT, fin: true, payload: '{"type":"ping"}' });
    await expectClose(ws2, 1002);
  });

  it('100 messages in one write are all answered, in order', T, async () => {
    const ws = await connect();
    const frames = [];
    for (let i = 0; i < 100; i++) {
      frames.push(encodeFrame({ opcode: OP.TEXT, payload: i % 2 ? '{"type":"ping"}' : `{"type":"nope-${i}"}` }));
    }
    await ws.writeRaw(Buffer.concat(frames));
    for (let i = 0; i < 100; i++) {
      const m = await ws.nextJson(5000);
      if (i % 2) assert.deepEqual(m, { type: 'pong' }, `reply ${i}`);
      else assert.equal(m.code, 'unknown_type', `reply ${i}`);
    }
  });

  it('a binary frame is refused with close 1003 (text JSON only)', T, async () => {
    const ws = await connect();
    await ws.sendFrame({ opcode: OP.BINARY, payload: Buffer.from('{"type":"ping"}') });
    await expectClose(ws, 1003);
  });

  it('the client close handshake is echoed with the same code, then the server closes TCP', T, async () => {
    const ws = await connect();
    await ws.sendFrame({ opcode: OP.CLOSE, payload: closePayload(1000, 'bye') });
    const c = await ws.waitClose(3000, { echo: false });
    assert.ok(!c.timedOut && !c.noCloseFrame, 'server did not answer the close frame');
    assert.equal(c.code, 1000);
    assert.equal(await ws.waitTcpClose(3000), true, 'server kept the TCP connection open');
  });

  it('parley_ws_connections_open counts open sockets', T, async () => {
    const gauge = async () => sumSamples(parseMetrics((await srv.request('GET', '/metrics')).text), 'parley_ws_connections_open');
    // let closes from earlier tests settle
    for (const ws of open) ws.destroy();
    const base = await eventually(async () => { const v = await gauge(); return v === 0 ? 0 : null; }) ?? await gauge();
    const a = await connect();
    const b = await connect();
    assert.equal(await gauge(), base + 2);
    await a.sendFrame({ opcode: OP.CLOSE, payload: closePayload(1000) });
    await a.waitTcpClose(3000);
    b.destroy();
    assert.ok(await eventually(async () => (await gauge()) === base), 'gauge did not come back down after two sockets closed');
  });
});

describe('small --ws-max-message and --ws-idle-timeout', () => {
  let srv;
  let session;
  const open = [];
  const connect = async (opts) => { const ws = await connectWs(srv.port, session.token, opts); open.push(ws); return ws; };
  before(async () => {
    srv = await startServer({ args: ['--ws-max-message', '1024', '--ws-idle-timeout', '1000'] });
    session = await srv.login();
  });
  after(async () => {
    for (const ws of open) ws.destroy();
    await stopServer(srv);
  });

  it('a message under --ws-max-message is answered', T, async () => {
    const ws = await connect();
    await ws.sendText(JSON.stringify({ type: 'ping', pad: 'x'.repeat(900) }));
    const ev = await ws.waitFor((e) => e.kind === 'text' || e.kind === 'close', 3000, 'a reply');
    assert.equal(ev.kind, 'text', `closed with ${ev.code}`);
  });

  it('a frame over --ws-max-message → close 1009', T, async () => {
    const ws = await connect();
    await ws.sendText(JSON.stringify({ type: 'ping', pad: 'x'.repeat(2000) }));
    await expectClose(ws, 1009);
  });

  it('fragments that add up to more than --ws-max-message → close 1009', T, async () => {
    const ws = await connect();
    await ws.sendFrame({ opcode: OP.TEXT, fin: false, payload: '{"type":"ping","pad":"' + 'x'.repeat(600) });
    await ws.sendFrame({ opcode: OP.CONT, fin: false, payload: 'x'.repeat(600) });
    await ws.sendFrame({ opcode: OP.CONT, fin: true, payload: 'x'.repeat(600) + '"}' });
    await expectClose(ws, 1009);
  });

  it('a silent client is closed with 1001 after --ws-idle-timeout', T, async () => {
    const ws = await connect({ autoPong: false });
    const c = await ws.waitClose(6000);
    assert.ok(!c.timedOut, 'still open 6 s later with a 1000 ms idle timeout');
    assert.ok(!c.noCloseFrame, 'closed without a close frame');
    assert.equal(c.code, 1001);
    assert.ok(c.atMs >= 700, `closed after ${c.atMs} ms, before the idle timeout`);
  });

  it('a client that keeps talking is not closed by the idle timeout', T, async () => {
    const ws = await connect();
    const t0 = Date.now();
    while (Date.now() - t0 < 2600) {
      await ws.sendJson({ type: 'ping' });
      assert.deepEqual(await ws.nextJson(2000), { type: 'pong' });
      await sleep(300);
    }
    assert.equal(ws.tcpClosed, false);
    assert.ok(!ws.events.some((e) => e.kind === 'close'), 'server sent a close frame');
  });

  it('protocol pong frames count as activity', T, async () => {
    const ws = await connect({ autoPong: false });
    const t0 = Date.now();
    while (Date.now() - t0 < 2600) {
      await ws.sendFrame({ opcode: OP.PONG, payload: 'keepalive' }); // unsolicited pong: a heartbeat (RFC 6455 5.5.3)
      await sleep(300);
    }
    assert.equal(ws.tcpClosed, false, 'closed although the client sent a pong every 300 ms');
    assert.ok(!ws.events.some((e) => e.kind === 'close'), 'server sent a close frame');
  });
});


describe('server-initiated pings (--ws-ping-interval 200, --ws-idle-timeout 1000)', () => {
  let srv;
  let session;
  const open = [];
  const connect = async (opts) => { const ws = await connectWs(srv.port, session.token, opts); open.push(ws); return ws; };
  before(async () => {
    srv = await startServer({ args: ['--ws-ping-interval', '200', '--ws-idle-timeout', '1000'] });
    session = await srv.login();
  });
  after(async () => {
    for (const ws of open) ws.destroy();
    await stopServer(srv);
  });

  it('the server pings, and a client that only answers pings stays connected', T, async () => {
    const ws = await connect({ autoPong: true });
    const ping = await ws.waitFor((e) => e.kind === 'ping', 2000, 'a server ping');
    assert.ok(ping);
    await sleep(2500);
    assert.equal(ws.tcpClosed, false, 'closed although every server ping was answered');
    assert.ok(!ws.events.some((e) => e.kind === 'close'), 'server sent a close frame');
    assert.ok(ws.events.filter((e) => e.kind === 'ping').length >= 3, 'expected more pings at a 200 ms interval');
    assert.deepEqual(ws.violations, []);
  });

  it('a client that never answers pings is closed with 1001', T, async () => {
    const ws = await connect({ autoPong: false });
    const c = await ws.waitClose(6000);
    assert.ok(!c.timedOut && !c.noCloseFrame, 'no close frame within 6 s');
    assert.equal(c.code, 1001);
    assert.ok(c.atMs >= 700, `closed after ${c.atMs} ms, before the 1000 ms idle timeout`);
  });
});

describe('--ws-max-per-user', () => {
  let srv;
  const open = [];
  before(async () => {
    srv = await startServer({ args: ['--ws-max-per-user', '2'] });
  });
  after(async () => {
    for (const ws of open) ws.destroy();
    await stopServer(srv);
  });

  const refused = (r, who) => {
    assert.equal(r.status, 429, r.text);
    assert.equal(r.body.error.code, 'rate_limited');
    assert.match(r.body.error.message, new RegExp(`Too many open connections for this ${who} \\(2\\); close other tabs`));
  };

  it('one user holds at most N sockets (429 above); another user is not affected; closing one frees a slot', T, async () => {
    const admin = (await srv.login()).token;
    const a1 = await connectWs(srv.port, admin);
    const a2 = await connectWs(srv.port, admin);
    open.push(a1, a2);
    refused(await openWs(srv.port, `/ws?token=${admin}`), 'user');
    // a second login of the same user is the same person
    const again = (await srv.login()).token;
    refused(await openWs(srv.port, `/ws?token=${again}`), 'user');
    // another user
    const users = await srv.request('POST', '/api/v1/accounts/1/users', { token: admin, body: { email: 'cap-agent@example.com', name: 'Cap', password: 'agent-pass-1', role: 'agent' } });
    assert.equal(users.status, 201, users.text);
    const agent = (await srv.login('cap-agent@example.com', 'agent-pass-1')).token;
    open.push(await connectWs(srv.port, agent));
    // the socket still in use works, and closing the other frees its slot
    await a2.sendJson({ type: 'ping' });
    await a2.waitFor((e) => e.kind === 'text' && e.json?.type === 'pong', 3000, 'pong');
    a1.destroy();
    const a3 = await passes(async () => connectWs(srv.port, admin), { timeout: 5000 });
    open.push(a3);
    refused(await openWs(srv.port, `/ws?token=${admin}`), 'user');
  });

  it('one visitor holds at most N sockets; another visitor is not affected', T, async () => {
    const admin = (await srv.login()).token;
    const web = (await srv.request('GET', '/api/v1/accounts/1/inboxes', { token: admin })).body.data.find((i) => i.channel === 'web');
    const visitor = async () => (await srv.request('POST', '/api/v1/widget/sessions', { body: { widget_token: web.widget_token } })).body.visitor_token;
    const v = await visitor();
    for (let i = 0; i < 2; i++) {
      const r = await openWs(srv.port, `/ws?token=${v}`);
      assert.equal(r.status, 101, r.text);
      open.push(r.ws);
    }
    refused(await openWs(srv.port, `/ws?token=${v}`), 'visitor');
    const other = await openWs(srv.port, `/ws?token=${await visitor()}`);
    assert.equal(other.status, 101, other.text);
    open.push(other.ws);
  });
});
