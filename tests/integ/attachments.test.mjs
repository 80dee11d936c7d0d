// Attachments end to end: download URLs carry an unguessable per-upload token (never the content's
// hash), downloads stream from disk (Range, slow readers, memory that does not grow with the file),
// and upload routes authenticate on the request head, before the body is read.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, ADMIN_PASSWORD } from '../lib/server.mjs';
import { openWs } from './lib/ws.mjs';
import { RawConn, buildRequest, streamResponse } from './lib/raw.mjs';
import { T, sleep, eventually, stopServer, rssBytes, openFds } from './lib/util.mjs';

const sha256 = (b) => crypto.createHash('sha256').update(b).digest('hex');
const sql = (srv, text) => execFileSync('sqlite3', [join(srv.dataDir, 'parley.db'), text]).toString().trim();

async function upload(srv, path, body, type, token) {
  return srv.request('POST', path, { raw: body, headers: { 'content-type': type, authorization: `Bearer ${token}` } });
}

/** A second account with its own admin (made in the database: the product has no sign-up yet). */
function addAccount2(srv) {
  const now = Date.now();
  sql(srv, `
    INSERT INTO accounts (id, name, slug, created_at) VALUES (2, 'Other', 'other', ${now});
    INSERT INTO users (id, email, name, password_hash, created_at)
      SELECT 100, 'other@example.com', 'Other Admin', password_hash, ${now} FROM users WHERE id = 1;
    INSERT INTO account_users (account_id, user_id, role, created_at) VALUES (2, 100, 'admin', ${now});
    INSERT INTO account_seq (account_id, seq) VALUES (2, 0);`);
}

describe('download tokens', () => {
  let srv;
  let admin1, admin2;
  before(async () => {
    const first = await startServer();
    await first.stop();
    addAccount2(first);
    srv = await startServer({ dataDir: first.dataDir });
    srv.ownsDir = true;
    admin1 = (await srv.login()).token;
    admin2 = (await srv.login('other@example.com', ADMIN_PASSWORD)).token;
  });
  after(async () => { await stopServer(srv); });

  const bytes = Buffer.from('the same quarterly report, byte for byte\n'.repeat(50));

  it('the same file in two accounts gets two unrelated URLs; neither is derived from the content', T, async () => {
    const a = await upload(srv, '/api/v1/accounts/1/attachments?filename=r.txt', bytes, 'text/plain', admin1);
    const b = await upload(srv, '/api/v1/accounts/2/attachments?filename=r.txt', bytes, 'text/plain', admin2);
    const a2 = await upload(srv, '/api/v1/accounts/1/attachments?filename=r.txt', bytes, 'text/plain', admin1);
    for (const x of [a, b, a2]) {
      assert.equal(x.status, 201, x.text);
      assert.equal(x.body.sha256, undefined, 'the content hash is not part of the attachment any more');
      assert.match(x.body.url, /^\/api\/v1\/attachments\/\d+\?t=[0-9a-f]{64}$/);
      assert.ok(!x.body.url.includes(sha256(bytes)), 'the URL must not contain the content hash');
    }
    const tok = (x) => new URL(x.body.url, srv.url).searchParams.get('t');
    assert.equal(new Set([tok(a), tok(b), tok(a2)]).size, 3, 'every upload has its own token');
    // storage stays content-addressed: one file for the three uploads
    const dir = join(srv.dataDir, 'attachments', sha256(bytes).slice(0, 2));
    assert.deepEqual(readdirSync(dir).filter((f) => !f.includes('.tmp')), [sha256(bytes)]);
    for (const x of [a, b, a2]) {
      const r = await fetch(srv.url + x.body.url);
      assert.equal(r.status, 200);
      assert.deepEqual(Buffer.from(await r.arrayBuffer()), bytes);
    }
  });

  it('the content hash, a wrong token or another attachment\'s token get 404', T, async () => {
    const a = (await upload(srv, '/api/v1/accounts/1/attachments?filename=s.txt', bytes, 'text/plain', admin1)).body;
    const b = (await upload(srv, '/api/v1/accounts/2/attachments?filename=s.txt', bytes, 'text/plain', admin2)).body;
    const tokB = new URL(b.url, srv.url).searchParams.get('t');
    const cases = [
      `/api/v1/attachments/${a.id}?k=${sha256(bytes)}`, // the old capability
      `/api/v1/attachments/${a.id}?t=${sha256(bytes)}`,
      `/api/v1/attachments/${a.id}?t=${crypto.randomBytes(32).toString('hex')}`,
      `/api/v1/attachments/${a.id}?t=${tokB}`, // account 2's token on account 1's attachment
      `/api/v1/attachments/${a.id}`,
      `/api/v1/attachments/${a.id}?t=${new URL(a.url, srv.url).searchParams.get('t').toUpperCase()}`,
      `/api/v1/attachments/${a.id}?t=${new URL(a.url, srv.url).searchParams.get('t').slice(0, 63)}`,
    ];
    for (const path of cases) {
      const r = await srv.request('GET', path);
      assert.equal(r.status, 404, `${path}: ${r.status} ${r.text}`);
      assert.equal(r.body?.error?.code, 'not_found');
    }
    assert.equal((await fetch(srv.url + a.url)).status, 200);
  });

  it('a message carries the URL the server made, and it downloads', T, async () => {
    const inbox = (await srv.request('GET', '/api/v1/accounts/1/inboxes', { token: admin1 })).body.data[0];
    const s = (await srv.request('POST', '/api/v1/widget/sessions', { body: { widget_token: inbox.widget_token } })).body;
    const v = await openWs(srv.port, `/ws?token=${s.visitor_token}`);
    try {
      await v.ws.waitFor((e) => e.json?.type === 'hello');
      const va = (await upload(srv, '/api/v1/widget/attachments?filename=v.txt', bytes, 'text/plain', s.visitor_token)).body;
      assert.match(va.url, /\?t=[0-9a-f]{64}$/);
      v.ws.sendJson({ type: 'message.send', client_id: 'tok-1', content: 'see file', attachment_ids: [va.id] });
      const ack = (await v.ws.waitFor((e) => e.json?.type === 'ack')).json.data;
      assert.equal(ack.attachments[0].url, va.url);
      assert.equal(ack.attachments[0].sha256, undefined);
      const msgs = await srv.request('GET', `/api/v1/accounts/1/conversations/${ack.conversation_id}/messages`, { token: admin1 });
      const m = msgs.body.data.find((x) => x.id === ack.id);
      assert.equal(m.attachments[0].url, va.url);
      assert.equal((await fetch(srv.url + m.attachments[0].url)).status, 200);
    } finally { v.ws.destroy(); }
  });
});

describe('download tokens: upgrading a database from before them', () => {
  it('old messages get working URLs; their ?k=<sha256> URLs stop working', T, async () => {
    let srv = await startServer();
    try {
      const admin = (await srv.login()).token;
      const inbox = (await srv.request('GET', '/api/v1/accounts/1/inboxes', { token: admin })).body.data[0];
      const s = (await srv.request('POST', '/api/v1/widget/sessions', { body: { widget_token: inbox.widget_token } })).body;
      const v = await openWs(srv.port, `/ws?token=${s.visitor_token}`);
      await v.ws.waitFor((e) => e.json?.type === 'hello');
      const bytes = Buffer.from('an old upload\n');
      const va = (await upload(srv, '/api/v1/widget/attachments?filename=old.txt', bytes, 'text/plain', s.visitor_token)).body;
      v.ws.sendJson({ type: 'message.send', client_id: 'old-1', content: 'old', attachment_ids: [va.id] });
      const ack = (await v.ws.waitFor((e) => e.json?.type === 'ack')).json.data;
      v.ws.destroy();
      await srv.stop();
      // Back to the schema before migration 011, with the URLs and fields the server wrote then.
      const h = sha256(bytes);
      const old = JSON.stringify([{ id: va.id, filename: 'old.txt', content_type: 'text/plain', size: bytes.length,
        sha256: h, url: `/api/v1/attachments/${va.id}?k=${h}`, image: false }]);
      sql(srv, `
        DELETE FROM schema_migrations WHERE name LIKE '011_%';
        ALTER TABLE attachments DROP COLUMN token;
        UPDATE messages SET attachments = '${old}' WHERE id = ${ack.id};
        UPDATE events SET data = json_set(data, '$.message.attachments', json('${old}'))
          WHERE type = 'message.created' AND json_extract(data, '$.message.id') = ${ack.id};`);
      const dir = srv.dataDir;
      srv = await startServer({ dataDir: dir });
      srv.ownsDir = true;
      const admin2 = (await srv.login()).token;
      const msgs = await srv.request('GET', `/api/v1/accounts/1/conversations/${ack.conversation_id}/messages`, { token: admin2 });
      const att = msgs.body.data.find((x) => x.id === ack.id).attachments[0];
      assert.match(att.url, new RegExp(`^/api/v1/attachments/${va.id}\\?t=[0-9a-f]{64}$`));
      assert.equal(att.sha256, undefined);
      assert.equal(att.filename, 'old.txt');
      const got = await fetch(srv.url + att.url);
      assert.equal(got.status, 200);
      assert.deepEqual(Buffer.from(await got.arrayBuffer()), bytes);
      assert.equal((await fetch(`${srv.url}/api/v1/attachments/${va.id}?k=${h}`)).status, 404);
      // the event log (replayed to reconnecting clients) carries the new URL too
      const ev = sql(srv, `SELECT json_extract(data, '$.message.attachments[0].url') FROM events
        WHERE type = 'message.created' AND json_extract(data, '$.message.id') = ${ack.id}`);
      assert.equal(ev, att.url);
    } finally {
      await stopServer(srv);
    }
  });
});

describe('downloads stream from disk', () => {
  let srv, admin, att, url, path;
  const SIZE = 9 * 1024 * 1024;
  const file = crypto.randomBytes(SIZE);
  const get = (extra = {}) => buildRequest('GET', path, { headers: { connection: 'close', ...extra } });
  before(async () => {
    srv = await startServer({ args: ['--send-timeout', '5000'] });
    admin = (await srv.login()).token;
    const r = await upload(srv, '/api/v1/accounts/1/attachments?filename=big.zip', file, 'application/zip', admin);
    assert.equal(r.status, 201, r.text);
    att = r.body;
    url = srv.url + att.url;
    path = att.url;
  });
  after(async () => { await stopServer(srv); });

  it('a 9 MiB attachment downloads whole, also to a reader that stops reading for a while', { timeout: 60000 }, async () => {
    const fast = await streamResponse(srv.port, get());
    assert.equal(fast.status, 200);
    assert.equal(fast.length, SIZE, `got ${fast.length} of ${SIZE} bytes${fast.closed ? ' (cut off)' : ''}`);
    assert.equal(fast.sha256, sha256(file));
    assert.equal(fast.headers['accept-ranges'], 'bytes');
    const slow = await streamResponse(srv.port, get(), { pauseAfter: 256 * 1024, pauseMs: 2500 });
    assert.equal(slow.length, SIZE, `got ${slow.length} of ${SIZE} bytes${slow.closed ? ' (cut off)' : ''}`);
    assert.equal(slow.sha256, sha256(file));
  });

  it('Range: one range gets 206 with Content-Range; past the end 416; several ranges the whole file', T, async () => {
    const cases = [
      ['bytes=0-99', 206, 0, 99],
      ['bytes=100-', 206, 100, SIZE - 1],
      ['bytes=-500', 206, SIZE - 500, SIZE - 1],
      [`bytes=${SIZE - 10}-${SIZE + 1000}`, 206, SIZE - 10, SIZE - 1],
      [`bytes=-${SIZE + 5}`, 206, 0, SIZE - 1],
      ['bytes=5-5', 206, 5, 5],
    ];
    for (const [range, status, a, b] of cases) {
      const r = await fetch(url, { headers: { range } });
      assert.equal(r.status, status, range);
      assert.equal(r.headers.get('content-range'), `bytes ${a}-${b}/${SIZE}`, range);
      assert.equal(Number(r.headers.get('content-length')), b - a + 1, range);
      assert.deepEqual(Buffer.from(await r.arrayBuffer()), file.subarray(a, b + 1), range);
    }
    for (const range of [`bytes=${SIZE}-`, `bytes=${SIZE + 7}-${SIZE + 9}`, 'bytes=-0']) {
      const r = await fetch(url, { headers: { range } });
      assert.equal(r.status, 416, range);
      assert.equal(r.headers.get('content-range'), `bytes */${SIZE}`, range);
      const body = await r.json();
      assert.equal(body.error.code, 'range_not_satisfiable', range);
    }
    // several ranges, a malformed one, another unit: the whole file
    for (const range of ['bytes=0-1,5-9', 'bytes=9-2', 'bytes=abc', 'items=0-1', 'bytes=0-1x']) {
      const r = await fetch(url, { headers: { range } });
      assert.equal(r.status, 200, range);
      assert.equal(Number(r.headers.get('content-length')), SIZE, range);
      await r.arrayBuffer();
    }
  });

  it('If-Range with the current ETag honours the range; with another one sends the whole file', T, async () => {
    const h = await fetch(url, { method: 'HEAD' });
    assert.equal(h.status, 200);
    assert.equal(Number(h.headers.get('content-length')), SIZE);
    assert.equal(h.headers.get('accept-ranges'), 'bytes');
    const etag = h.headers.get('etag');
    assert.match(etag || '', /^"[^"]+"$/);
    assert.ok(!etag.includes(sha256(file)), 'the ETag must not reveal the content hash');
    const ok = await fetch(url, { headers: { range: 'bytes=0-9', 'if-range': etag } });
    assert.equal(ok.status, 206);
    assert.deepEqual(Buffer.from(await ok.arrayBuffer()), file.subarray(0, 10));
    const stale = await fetch(url, { headers: { range: 'bytes=0-9', 'if-range': '"something-else"' } });
    assert.equal(stale.status, 200);
    assert.equal((await stale.arrayBuffer()).byteLength, SIZE);
    const head = await fetch(url, { method: 'HEAD', headers: { range: 'bytes=0-9' } });
    assert.equal(head.status, 200, 'HEAD ignores Range');
  });

  it('keep-alive: a request pipelined behind a download is answered after it', T, async () => {
    const c = await RawConn.connect(srv.port);
    try {
      await c.write(Buffer.concat([
        buildRequest('GET', path, { headers: { range: 'bytes=10-19' } }),
        buildRequest('GET', '/healthz'),
        buildRequest('GET', path, { headers: { range: 'bytes=-3' } }),
        buildRequest('HEAD', path),
        buildRequest('GET', '/healthz'),
      ]));
      const r1 = await c.readResponse();
      assert.equal(r1.status, 206);
      assert.deepEqual(r1.bodyBytes, file.subarray(10, 20));
      assert.equal((await c.readResponse()).status, 200);
      const r3 = await c.readResponse();
      assert.deepEqual(r3.bodyBytes, file.subarray(SIZE - 3));
      const r4 = await c.readResponse({ head: true });
      assert.equal(r4.status, 200);
      assert.equal(Number(r4.headers['content-length']), SIZE);
      assert.deepEqual((await c.readResponse()).body, { status: 'ok' });
    } finally { c.destroy(); }
    // and behind the whole file
    const whole = await streamResponse(srv.port, Buffer.concat([buildRequest('GET', path), buildRequest('GET', '/healthz')]), { keepOpen: true });
    try {
      assert.equal(whole.length, SIZE);
      assert.equal(whole.sha256, sha256(file));
      const c2 = new RawConn(whole.sock);
      c2.buf = Buffer.from(whole.rest);
      assert.deepEqual((await c2.readResponse()).body, { status: 'ok' });
    } finally { whole.sock?.destroy(); }
  });

  it('clients that leave mid-download or stop reading leave no descriptor and no memory behind', { timeout: 60000 }, async () => {
    const pid = srv.proc.pid;
    const fds = openFds(pid);
    // leave after the first bytes
    for (let i = 0; i < 5; i++) {
      const c = await RawConn.connect(srv.port);
      await c.write(get());
      await eventually(() => c.buf.length > 100 * 1024, { timeout: 5000 });
      c.sock.resetAndDestroy();
    }
    // never read at all (so the kernel's buffers stay small): the send timeout (5 s here) resets them
    const stuck = [];
    for (let i = 0; i < 3; i++) {
      const c = await RawConn.connect(srv.port);
      c.sock.pause();
      await c.write(get());
      stuck.push(c);
    }
    await sleep(1000);
    assert.ok(openFds(pid) > fds, 'the stuck downloads should still hold their sockets and files now');
    // (a paused socket does not notice a reset: watch the server's descriptors, then read)
    assert.ok(await eventually(() => openFds(pid) <= fds, { timeout: 15000 }),
      `descriptors: ${openFds(pid)} now, ${fds} before: a reader that stopped was not cut off after the send timeout`);
    for (const c of stuck) c.sock.resume();
    assert.ok(await eventually(() => stuck.every((c) => c.ended), { timeout: 5000 }));
    for (const c of stuck) {
      assert.ok(c.buf.length < SIZE, 'a reader that stopped for longer than the send timeout got the whole file');
      c.destroy();
    }
    assert.equal((await fetch(`${srv.url}/healthz`)).status, 200);
  });

  it('memory does not grow with the file: 5 slow readers of 9 MiB', { timeout: 90000 }, async () => {
    const pid = srv.proc.pid;
    // a first round warms up what is paid once (the thread pool's threads, the sanitizer's caches)
    await Promise.all(Array.from({ length: 5 }, () => streamResponse(srv.port, get())));
    const before0 = rssBytes(pid);
    let peak = before0;
    const sampler = setInterval(() => { peak = Math.max(peak, rssBytes(pid)); }, 50);
    try {
      const res = await Promise.all(Array.from({ length: 5 }, (_, i) =>
        streamResponse(srv.port, get(), { pauseAfter: (i + 1) * 512 * 1024, pauseMs: 2000 })));
      for (const r of res) {
        assert.equal(r.length, SIZE);
        assert.equal(r.sha256, sha256(file));
      }
    } finally { clearInterval(sampler); }
    const growth = peak - before0;
    assert.ok(growth < SIZE, `resident memory grew by ${(growth / 1048576).toFixed(1)} MiB while 5 clients read a ${SIZE / 1048576} MiB file`);
  });
});

describe('uploads are authenticated on the request head', () => {
  let srv, admin, visitorToken;
  const MB = 1024 * 1024;
  const head = (path, token, length, extra = '') =>
    `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: ${length}\r\n` +
    `${token ? `Authorization: Bearer ${token}\r\n` : ''}${extra}\r\n`;
  before(async () => {
    srv = await startServer();
    admin = (await srv.login()).token;
    const inbox = (await srv.request('GET', '/api/v1/accounts/1/inboxes', { token: admin })).body.data[0];
    visitorToken = (await srv.request('POST', '/api/v1/widget/sessions', { body: { widget_token: inbox.widget_token } })).body.visitor_token;
  });
  after(async () => { await stopServer(srv); });

  it('40 uploads without a valid token each get 401 at once, and the server does not buffer their bodies', { timeout: 60000 }, async () => {
    const pid = srv.proc.pid;
    const rss0 = rssBytes(pid);
    let peak = rss0;
    const sampler = setInterval(() => { peak = Math.max(peak, rssBytes(pid)); }, 50);
    const conns = [];
    const trickles = [];
    try {
      const t0 = Date.now();
      for (let i = 0; i < 40; i++) {
        const c = await RawConn.connect(srv.port);
        conns.push(c);
        const token = i % 4 === 0 ? null : i % 4 === 1 ? 'not-a-token' : i % 4 === 2 ? crypto.randomBytes(32).toString('hex') : 'v1.1.1.1.9999999999.' + '0'.repeat(32);
        const path = i % 8 < 4 ? '/api/v1/accounts/1/attachments?filename=x.txt' : '/api/v1/widget/attachments?filename=x.txt';
        c.sock.write(head(path, token, 9 * MB));
        c.sock.write(Buffer.alloc(MB, 0x61)); // the first MiB at once, then a trickle
        trickles.push(setInterval(() => { if (!c.ended) c.sock.write(Buffer.alloc(1024, 0x62)); }, 100));
      }
      const answers = await Promise.all(conns.map((c) => c.responseOrClose({ timeout: 5000 })));
      const elapsed = Date.now() - t0;
      answers.forEach((a, i) => {
        assert.ok(a.res, `upload ${i}: no answer (${a.timedOut ? 'timed out' : 'closed'})`);
        assert.equal(a.res.status, 401, `upload ${i}: ${a.res.status} ${a.res.text}`);
        assert.equal(a.res.body?.error?.code, 'unauthorized');
      });
      assert.ok(elapsed < 5000, `the 401s took ${elapsed} ms`);
      await sleep(500);
    } finally {
      clearInterval(sampler);
      for (const t of trickles) clearInterval(t);
      for (const c of conns) c.destroy();
    }
    const growth = peak - rss0;
    assert.ok(growth < 24 * MB, `resident memory grew by ${(growth / MB).toFixed(1)} MiB for 40 unauthenticated uploads`);
    // and a real upload still works
    const ok = await upload(srv, '/api/v1/accounts/1/attachments?filename=ok.txt', Buffer.alloc(9 * MB, 0x63), 'text/plain', admin);
    assert.equal(ok.status, 201, ok.text);
    assert.equal(ok.body.size, 9 * MB);
  });

  it('a visitor upload with a forged token gets 401 before any of the body is sent', T, async () => {
    const forged = visitorToken.replace(/.$/, (ch) => (ch === '0' ? '1' : '0'));
    for (const token of [forged, visitorToken.replace(/^v1\.\d+/, 'v1.2'), admin]) {
      const c = await RawConn.connect(srv.port);
      try {
        await c.write(head('/api/v1/widget/attachments?filename=v.txt', token, 5 * MB));
        const r = await c.responseOrClose({ timeout: 1000 });
        assert.ok(r.res, `no answer to the head alone (${r.timedOut ? 'timed out: the server waits for the body' : 'closed'})`);
        assert.equal(r.res.status, 401, r.res.text);
        assert.equal(r.res.headers['access-control-allow-origin'], '*', 'the widget must be able to read the 401');
      } finally { c.destroy(); }
    }
    const ok = await upload(srv, '/api/v1/widget/attachments?filename=v.txt', Buffer.from('visitor file'), 'text/plain', visitorToken);
    assert.equal(ok.status, 201, ok.text);
  });

  it('an agent\'s upload to an account they are not in gets 404 on the head; a bad one 401', T, async () => {
    for (const [path, token, status] of [
      ['/api/v1/accounts/2/attachments', admin, 404],
      ['/api/v1/accounts/1/attachments', 'x'.repeat(64), 401],
      ['/api/v1/accounts/1/attachments', null, 401],
    ]) {
      const c = await RawConn.connect(srv.port);
      try {
        await c.write(head(path, token, 5 * MB));
        const r = await c.responseOrClose({ timeout: 2000 });
        assert.ok(r.res, `${path}: no answer to the head alone (${r.timedOut ? 'timed out' : 'closed'})`);
        assert.equal(r.res.status, status, `${path}: ${r.res.text}`);
      } finally { c.destroy(); }
    }
  });

  it('Expect: 100-continue is answered only once the token is good', T, async () => {
    const bad = await RawConn.connect(srv.port);
    try {
      await bad.write(head('/api/v1/accounts/1/attachments', 'nope', 1000, 'Expect: 100-continue\r\n'));
      const r = await bad.readResponse({ timeout: 2000 });
      assert.equal(r.status, 401, 'a bad token must get its 401, not 100 Continue');
    } finally { bad.destroy(); }
    const good = await RawConn.connect(srv.port);
    try {
      const body = Buffer.alloc(2 * MB, 0x64);
      await good.write(head('/api/v1/accounts/1/attachments?filename=e.txt', admin, body.length, 'Expect: 100-continue\r\n'));
      const first = await good.readResponse({ timeout: 2000 });
      assert.equal(first.status, 100);
      await good.write(body);
      const r = await good.readResponse({ timeout: 10000 });
      assert.equal(r.status, 201, r.text);
      assert.equal(r.body.size, body.length);
      // keep-alive goes on after an upload that passed its check
      await good.write(buildRequest('GET', '/healthz'));
      assert.equal((await good.readResponse()).status, 200);
    } finally { good.destroy(); }
  });

  it('the upload body arrives in any split (head alone, then body; head and part of the body together)', T, async () => {
    const body = Buffer.alloc(300 * 1024, 0x65);
    const h = Buffer.from(head('/api/v1/accounts/1/attachments?filename=s.txt', admin, body.length));
    for (const parts of [[h, body], [Buffer.concat([h, body.subarray(0, 1000)]), body.subarray(1000)], [Buffer.concat([h, body])]]) {
      const c = await RawConn.connect(srv.port);
      try {
        for (const p of parts) { await c.write(p); await sleep(30); }
        const r = await c.readResponse({ timeout: 10000 });
        assert.equal(r.status, 201, r.text);
        assert.equal(r.body.size, body.length);
      } finally { c.destroy(); }
    }
  });
});

describe('a server-wide budget for bodies not yet authenticated', () => {
  let srv;
  before(async () => { srv = await startServer({ args: ['--max-unauth-body-total', '1048576'] }); });
  after(async () => { await stopServer(srv); });

  it('bodies of requests nobody authenticated yet share --max-unauth-body-total; past it 503 with Retry-After', T, async () => {
    const held = [];
    try {
      // two bodies of 400 KiB announced and trickling: 800 KiB of the 1 MiB budget
      for (let i = 0; i < 2; i++) {
        const c = await RawConn.connect(srv.port);
        await c.write(`POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${400 * 1024}\r\n\r\n{"email":`);
        held.push(c);
      }
      await sleep(100);
      const c = await RawConn.connect(srv.port);
      held.push(c);
      await c.write(`POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${400 * 1024}\r\n\r\n{"email":`);
      const r = await c.responseOrClose({ timeout: 2000 });
      assert.ok(r.res, `no answer (${r.timedOut ? 'timed out' : 'closed'})`);
      assert.equal(r.res.status, 503, r.res.text);
      assert.equal(r.res.body?.error?.code, 'busy');
      assert.equal(r.res.headers['retry-after'], '1');
      // small requests still pass, and the budget comes back when the held ones go
      assert.equal((await srv.request('POST', '/api/v1/auth/login', { body: { email: 'a@b.c', password: 'x' } })).status, 401);
      for (const h of held) h.destroy();
      await sleep(200);
      const again = await RawConn.connect(srv.port);
      held.push(again);
      const big = JSON.stringify({ email: 'a@b.c', password: 'x', pad: ' '.repeat(400 * 1024) });
      await again.write(buildRequest('POST', '/api/v1/auth/login', { body: big, headers: { 'content-type': 'application/json' } }));
      const r2 = await again.readResponse();
      assert.ok([401, 422].includes(r2.status), `${r2.status} ${r2.text}`);
    } finally {
      for (const h of held) h.destroy();
    }
  });

  it('visitors\' uploads count against it too: anyone can get a visitor token', T, async () => {
    const admin = (await srv.login()).token;
    const inbox = (await srv.request('GET', '/api/v1/accounts/1/inboxes', { token: admin })).body.data[0];
    const held = [];
    try {
      for (let i = 0; i < 3; i++) {
        const s = (await srv.request('POST', '/api/v1/widget/sessions', { body: { widget_token: inbox.widget_token } })).body;
        const c = await RawConn.connect(srv.port);
        held.push(c);
        await c.write(`POST /api/v1/widget/attachments?filename=a.txt HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${s.visitor_token}\r\n` +
          `Content-Type: text/plain\r\nContent-Length: ${400 * 1024}\r\n\r\nhello`);
        if (i < 2) { await sleep(150); continue; }
        const r = await c.responseOrClose({ timeout: 2000 });
        assert.ok(r.res, `no answer for the third visitor upload (${r.timedOut ? 'timed out' : 'closed'})`);
        assert.equal(r.res.status, 503, r.res.text);
        assert.equal(r.res.headers['retry-after'], '1');
      }
    } finally {
      for (const h of held) h.destroy();
    }
  });
});
