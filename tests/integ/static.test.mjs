// Static files from --web-dir: types, ETag/304, HEAD, 404, and no way out of the web directory.
import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { startServer } from '../lib/server.mjs';
import { RawConn, buildRequest, rawRequest, rawExchange, streamResponse } from './lib/raw.mjs';
import { T, stopServer, rssBytes, openFds, eventually } from './lib/util.mjs';

const SECRET = 'TOP-SECRET-' + randomBytes(8).toString('hex');
const INDEX = '<!doctype html><title>Parley</title><p>console index</p>\n';
const PNG = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), randomBytes(2000), Buffer.from([0, 0, 0, 0, 0x0d, 0x0a, 0x1a])]);
const BIG = randomBytes(600 * 1024);
const HUGE = randomBytes(20 * 1000 * 1000); // 20 MB: far over any write queue, streamed from disk
const MANUAL = Buffer.from('Parley operations manual, chapter and verse.\n'.repeat(40000)); // 1.8 MB of text
const MANUAL_GZ = gzipSync(MANUAL);
const sha = (b) => createHash('sha256').update(b).digest('hex');
let base;
let web;
let srv;

before(async () => {
  base = mkdtempSync(join(tmpdir(), 'parley-static-'));
  web = join(base, 'web');
  mkdirSync(join(web, 'sub'), { recursive: true });
  mkdirSync(join(web, 'assets'));
  writeFileSync(join(base, 'secret.txt'), SECRET);
  writeFileSync(join(web, 'index.html'), INDEX);
  writeFileSync(join(web, 'app.js'), 'console.log("v1");\n');
  writeFileSync(join(web, 'style.css'), 'body { color: #123; }\n');
  writeFileSync(join(web, 'data.json'), '{"a":1}\n');
  writeFileSync(join(web, 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>\n');
  writeFileSync(join(web, 'image.png'), PNG);
  writeFileSync(join(web, 'assets', 'big.bin'), BIG);
  writeFileSync(join(web, 'assets', 'huge.bin'), HUGE);
  writeFileSync(join(web, 'manual.txt'), MANUAL);
  writeFileSync(join(web, 'manual.txt.gz'), MANUAL_GZ);
  writeFileSync(join(web, 'sub', 'page.html'), '<p>sub page</p>\n');
  writeFileSync(join(web, 'my file.txt'), 'spaced\n');
  srv = await startServer({ args: ['--web-dir', web] });
});

after(async () => {
  try { await stopServer(srv); } finally { if (base) rmSync(base, { recursive: true, force: true }); }
});

it('GET / serves index.html as text/html', T, async () => {
  const r = await srv.request('GET', '/');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') || '', /^text\/html\b/);
  assert.equal(r.text, INDEX);
});

it('serves files with the right Content-Type', T, async () => {
  const cases = [
    ['/index.html', /^text\/html\b/],
    ['/app.js', /^(text|application)\/javascript\b/],
    ['/style.css', /^text\/css\b/],
    ['/data.json', /^application\/json\b/],
    ['/logo.svg', /^image\/svg\+xml\b/],
    ['/image.png', /^image\/png$/],
    ['/sub/page.html', /^text\/html\b/],
  ];
  for (const [path, re] of cases) {
    const r = await srv.request('GET', path);
    assert.equal(r.status, 200, path);
    assert.match(r.headers.get('content-type') || '', re, `${path}: ${r.headers.get('content-type')}`);
  }
});

it('binary and large files arrive byte for byte', T, async () => {
  for (const [path, want] of [['/image.png', PNG], ['/assets/big.bin', BIG]]) {
    const res = await fetch(srv.url + path);
    assert.equal(res.status, 200, path);
    const got = Buffer.from(await res.arrayBuffer());
    assert.equal(got.length, want.length, `${path} length`);
    assert.ok(got.equals(want), `${path} content differs`);
    assert.equal(res.headers.get('content-length'), String(want.length));
  }
});

it('sends an ETag and answers If-None-Match with 304 and no body', T, async () => {
  const r1 = await srv.request('GET', '/style.css');
  assert.equal(r1.status, 200);
  const etag = r1.headers.get('etag');
  assert.ok(etag, 'no ETag header');
  assert.match(etag, /^(W\/)?"[^"]*"$/, `ETag must be a quoted string: ${etag}`);
  const c = await RawConn.connect(srv.port);
  try {
    await c.write(buildRequest('GET', '/style.css', { headers: { 'if-none-match': etag } }));
    const r2 = await c.readResponse();
    assert.equal(r2.status, 304);
    assert.equal(r2.headers.etag, etag);
    // the connection must carry on cleanly: a 304 has no body
    await c.write(buildRequest('GET', '/healthz'));
    const r3 = await c.readResponse();
    assert.equal(r3.status, 200);
    assert.deepEqual(r3.body, { status: 'ok' });
  } finally { c.destroy(); }
  const r4 = await srv.request('GET', '/style.css', { headers: { 'if-none-match': '"something-else"' } });
  assert.equal(r4.status, 200);
  assert.equal(r4.text, 'body { color: #123; }\n');
});

it('If-None-Match follows RFC 9110: a list, a weak W/ form (as nginx gzip sends back) and * all give 304', T, async () => {
  const etag = (await srv.request('GET', '/style.css')).headers.get('etag');
  assert.ok(etag);
  const strong = etag.replace(/^W\//, '');
  for (const inm of [`"x", ${etag}`, `W/${strong}`, '*']) {
    const r = await srv.request('GET', '/style.css', { headers: { 'if-none-match': inm } });
    assert.equal(r.status, 304, `If-None-Match: ${inm} → ${r.status}`);
  }
});

it('a changed file gets a new ETag and the old one no longer gives 304', T, async () => {
  const r1 = await srv.request('GET', '/app.js');
  const old = r1.headers.get('etag');
  assert.ok(old);
  writeFileSync(join(web, 'app.js'), 'console.log("version two, longer");\n');
  const future = new Date(Date.now() + 5000);
  // make sure mtime differs even on coarse clocks
  (await import('node:fs')).utimesSync(join(web, 'app.js'), future, future);
  const r2 = await srv.request('GET', '/app.js', { headers: { 'if-none-match': old } });
  assert.equal(r2.status, 200, 'stale ETag still gave 304');
  assert.equal(r2.text, 'console.log("version two, longer");\n');
  assert.notEqual(r2.headers.get('etag'), old);
});

it('HEAD gives the headers of GET and no body', T, async () => {
  const size = statSync(join(web, 'index.html')).size;
  const c = await RawConn.connect(srv.port);
  try {
    await c.write(Buffer.concat([buildRequest('HEAD', '/index.html'), buildRequest('GET', '/healthz')]));
    const h = await c.readResponse({ head: true });
    assert.equal(h.status, 200);
    assert.match(h.headers['content-type'] || '', /^text\/html\b/);
    assert.equal(h.headers['content-length'], String(size));
    assert.ok(h.headers.etag, 'HEAD should carry the ETag');
    // if the server had sent a body, the next bytes would not be a status line
    const next = await c.readResponse();
    assert.equal(next.status, 200);
    assert.deepEqual(next.body, { status: 'ok' });
  } finally { c.destroy(); }
});

it('a missing file → 404', T, async () => {
  for (const path of ['/nope.html', '/sub/nope.js', '/assets/big.bin/x']) {
    const r = await srv.request('GET', path);
    assert.equal(r.status, 404, `${path} → ${r.status}`);
    assert.ok(!r.text.includes(SECRET));
  }
});

it('the API still answers beside the static files', T, async () => {
  const r = await srv.request('GET', '/healthz');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, { status: 'ok' });
  const r2 = await srv.request('GET', '/api/v1/me');
  assert.equal(r2.status, 401, 'API paths must not fall through to static files');
});

it('path traversal never serves a file outside --web-dir', T, async () => {
  const abs = join(base, 'secret.txt'); // e.g. /tmp/parley-static-XXXX/secret.txt
  const targets = [
    '/../secret.txt',
    '/../../../../../../etc/passwd',
    '/sub/../../secret.txt',
    '/%2e%2e/secret.txt',
    '/%2E%2E/secret.txt',
    '/.%2e/secret.txt',
    '/%2e./secret.txt',
    '/..%2fsecret.txt',
    '/..%2Fsecret.txt',
    '/%2e%2e%2fsecret.txt',
    '/sub/%2e%2e/%2e%2e/secret.txt',
    '/sub/..%2f..%2fsecret.txt',
    '/..\\secret.txt',
    '/..%5csecret.txt',
    '/%252e%252e/secret.txt',
    '/%c0%ae%c0%ae/secret.txt',
    `/${abs}`,
    `/%2f${abs.slice(1).replaceAll('/', '%2f')}`,
    `/..${abs}`,
    '//etc/passwd',
    '/index.html%00.png',
    '/%00',
  ];
  for (const t of targets) {
    const r = await rawExchange(srv.port, buildRequest('GET', t));
    if (!r.res) continue; // closing the connection is also a refusal
    assert.ok([400, 404].includes(r.res.status), `GET ${t} → ${r.res.status}`);
    assert.ok(!r.res.text.includes(SECRET), `GET ${t} leaked the secret file`);
    assert.ok(!/root:.*:0:0:/.test(r.res.text), `GET ${t} leaked /etc/passwd`);
  }
  // absolute-form request target
  for (const t of [`http://127.0.0.1:${srv.port}/../secret.txt`, `http://127.0.0.1:${srv.port}/%2e%2e/secret.txt`]) {
    const r = await rawExchange(srv.port, buildRequest('GET', t));
    if (!r.res) continue;
    assert.ok(!r.res.text.includes(SECRET), `GET ${t} leaked the secret file`);
    assert.notEqual(r.res.status, 200, `GET ${t} → 200`);
  }
});

it('a directory is not listed', T, async () => {
  const r = await rawRequest(srv.port, 'GET', '/assets/');
  assert.ok([301, 302, 308, 403, 404].includes(r.status), `GET /assets/ → ${r.status}`);
  assert.ok(!r.text.includes('big.bin'), 'directory listing exposed file names');
});

it('a query string does not stop a file from being served (cache busting)', T, async () => {
  const r = await srv.request('GET', '/style.css?v=123');
  assert.equal(r.status, 200);
  assert.equal(r.text, 'body { color: #123; }\n');
});

it('a percent-encoded file name is decoded', T, async () => {
  const r = await srv.request('GET', '/my%20file.txt');
  assert.equal(r.status, 200);
  assert.equal(r.text, 'spaced\n');
});

it('HEAD of a missing file → 404 without a body', T, async () => {
  const c = await RawConn.connect(srv.port);
  try {
    await c.write(Buffer.concat([buildRequest('HEAD', '/nope.css'), buildRequest('GET', '/healthz')]));
    const h = await c.readResponse({ head: true });
    assert.equal(h.status, 404);
    const next = await c.readResponse();
    assert.equal(next.status, 200, 'HEAD 404 carried a body');
  } finally { c.destroy(); }
});

it('a 20 MB file streams whole, to a fast reader and to one that pauses', { timeout: 60000 }, async () => {
  const req = buildRequest('GET', '/assets/huge.bin', { headers: { connection: 'close' } });
  for (const opts of [{}, { pauseAfter: 1 << 20, pauseMs: 2500 }]) {
    const r = await streamResponse(srv.port, req, opts);
    assert.equal(r.status, 200);
    assert.equal(r.length, HUGE.length, `got ${r.length} of ${HUGE.length} bytes${r.closed ? ' (cut off)' : ''}`);
    assert.equal(r.sha256, sha(HUGE));
    assert.equal(r.headers['accept-ranges'], 'bytes');
    assert.match(r.headers['cache-control'] || '', /immutable/);
  }
});

it('Range on a static file: 206 with Content-Range, 416 past the end; its ETag still gives 304', T, async () => {
  const url = srv.url + '/assets/huge.bin';
  const r = await fetch(url, { headers: { range: 'bytes=19999990-' } });
  assert.equal(r.status, 206);
  assert.equal(r.headers.get('content-range'), `bytes 19999990-19999999/${HUGE.length}`);
  assert.deepEqual(Buffer.from(await r.arrayBuffer()), HUGE.subarray(19999990));
  const mid = await fetch(url, { headers: { range: 'bytes=1000-1999' } });
  assert.deepEqual(Buffer.from(await mid.arrayBuffer()), HUGE.subarray(1000, 2000));
  const bad = await fetch(url, { headers: { range: 'bytes=20000000-' } });
  assert.equal(bad.status, 416);
  assert.equal(bad.headers.get('content-range'), `bytes */${HUGE.length}`);
  assert.equal((await bad.json()).error.code, 'range_not_satisfiable');
  const etag = r.headers.get('etag');
  assert.ok(etag);
  const nm = await fetch(url, { headers: { 'if-none-match': etag, range: 'bytes=0-1' } });
  assert.equal(nm.status, 304);
  const small = await fetch(srv.url + '/style.css', { headers: { range: 'bytes=0-3' } });
  assert.equal(small.status, 206);
  assert.equal(await small.text(), 'body');
});

it('a precompressed .gz sibling is sent to clients that accept gzip, whole or by range', T, async () => {
  const plain = await rawRequest(srv.port, 'GET', '/manual.txt');
  assert.equal(plain.status, 200);
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.equal(plain.bodyBytes.length, MANUAL.length);
  const gz = await streamResponse(srv.port, buildRequest('GET', '/manual.txt', { headers: { connection: 'close', 'accept-encoding': 'gzip, br' } }));
  assert.equal(gz.status, 200);
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.match(gz.headers['content-type'], /^text\/plain\b/);
  assert.equal(gz.length, MANUAL_GZ.length);
  assert.equal(gz.sha256, sha(MANUAL_GZ));
  assert.match(gz.headers.vary || '', /Accept-Encoding/i);
  const part = await rawRequest(srv.port, 'GET', '/manual.txt', { headers: { 'accept-encoding': 'gzip', range: 'bytes=0-9' } });
  assert.equal(part.status, 206);
  assert.equal(part.headers['content-encoding'], 'gzip');
  assert.deepEqual(part.bodyBytes, MANUAL_GZ.subarray(0, 10));
});

it('five slow readers of the 20 MB file: memory stays well under the file size, nothing leaks', { timeout: 90000 }, async () => {
  const pid = srv.proc.pid;
  const fds = openFds(pid);
  const req = buildRequest('GET', '/assets/huge.bin', { headers: { connection: 'close' } });
  // a first round warms up what is paid once (the thread pool's threads, the sanitizer's caches)
  await Promise.all(Array.from({ length: 5 }, () => streamResponse(srv.port, req)));
  const before0 = rssBytes(pid);
  let peak = before0;
  const sampler = setInterval(() => { peak = Math.max(peak, rssBytes(pid)); }, 50);
  try {
    const res = await Promise.all(Array.from({ length: 5 }, (_, i) =>
      streamResponse(srv.port, req, { pauseAfter: (i + 1) << 20, pauseMs: 1500 })));
    for (const r of res) assert.equal(r.sha256, sha(HUGE));
  } finally { clearInterval(sampler); }
  const growth = peak - before0;
  assert.ok(growth < HUGE.length / 2, `resident memory grew by ${(growth / 1048576).toFixed(1)} MiB for five readers of a 19 MiB file`);
  assert.ok(await eventually(() => openFds(pid) <= fds, { timeout: 5000 }), `descriptors: ${openFds(pid)} now, ${fds} before`);
});
