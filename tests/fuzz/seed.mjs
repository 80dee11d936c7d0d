#!/usr/bin/env node
// seed.mjs: builds the seed corpora in tests/fuzz/corpus/<harness>/ from what the integration
// tests really send. It runs them (all of tests/integ, or the files given) with seed-record.mjs
// preloaded, which keeps every byte each test writes to each TCP connection, then cuts that up:
//
//   fuzz_http         each connection's HTTP bytes (pipelined requests stay together), up to and
//                     including an upgrade request
//   fuzz_ws           the frames each WebSocket client sent after its upgrade, re-masked with a zero
//                     key so that the fuzzer sees the payloads (unmasked test frames stay unmasked)
//   fuzz_json_bodies  every JSON request body and WebSocket message, with the selector byte of the
//                     parser its route feeds (see fuzz_json_bodies.c)
//   fuzz_markdown     the help-center articles and FAQ answers the tests write
//
// With the harnesses built (make fuzz-build), each corpus is then merged (libFuzzer -merge=1): only
// the inputs that add coverage stay, so what is committed is small.
//
//   node tests/fuzz/seed.mjs [--keep-raw] [--from DIR] [test files...]
// --from DIR uses a recording made before (SEED_RECORD_DIR=DIR with seed-record.mjs) instead of
// running the tests again.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const args = process.argv.slice(2);
const keepRaw = args.includes('--keep-raw');
const fromAt = args.indexOf('--from');
const from = fromAt >= 0 ? args[fromAt + 1] : null;
const files = args.filter((a, i) => !a.startsWith('--') && (fromAt < 0 || i !== fromAt + 1));
const MAX = 4000; // bytes per input, under libFuzzer's default -max_len

// ---- 1. record ----
const rec = from || mkdtempSync(join(tmpdir(), 'parley-seed-rec-'));
if (!from) {
  console.log(`seed: running the integration tests with the recorder (${files.length ? files.join(' ') : 'tests/integ'})`);
  const run = spawnSync(process.execPath, ['--test', ...(files.length ? files : [join(root, 'tests', 'integ')])], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, SEED_RECORD_DIR: rec, NODE_OPTIONS: `--import ${join(here, 'seed-record.mjs')}` },
  });
  if (run.status !== 0) console.log(`seed: (the tests exited ${run.status}; what they sent is used anyway)`);
}

// ---- 2. cut up ----
const out = { fuzz_http: new Map(), fuzz_ws: new Map(), fuzz_json_bodies: new Map(), fuzz_markdown: new Map() };
const add = (h, buf) => { if (buf.length) out[h].set(createHash('sha1').update(buf).digest('hex'), buf); };
const cap = (buf) => (buf.length > MAX ? buf.subarray(0, MAX) : buf);
const head4 = (flags = 0) => Buffer.from([flags, 0, 0, 0]);

/** Splits a client stream into requests: [{method, path, headers, body, end}], and where an upgrade ends. */
function requests(buf) {
  const reqs = [];
  let pos = 0;
  while (pos < buf.length) {
    const he = buf.indexOf('\r\n\r\n', pos);
    if (he < 0) break;
    const lines = buf.subarray(pos, he).toString('latin1').split('\r\n');
    const m = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(lines[0]);
    if (!m) break;
    const headers = {};
    for (const l of lines.slice(1)) {
      const c = l.indexOf(':');
      if (c > 0) headers[l.slice(0, c).trim().toLowerCase()] = l.slice(c + 1).trim();
    }
    let end = he + 4;
    let body = Buffer.alloc(0);
    if (/chunked/i.test(headers['transfer-encoding'] || '')) {
      const parts = [];
      for (;;) {
        const eol = buf.indexOf('\r\n', end);
        if (eol < 0) { end = buf.length; break; }
        const size = parseInt(buf.subarray(end, eol).toString('latin1'), 16);
        if (!(size >= 0)) { end = buf.length; break; }
        parts.push(buf.subarray(eol + 2, eol + 2 + size));
        end = eol + 2 + size + 2;
        if (size === 0) break;
      }
      body = Buffer.concat(parts);
    } else if (headers['content-length']) {
      const n = Number(headers['content-length']);
      body = buf.subarray(end, end + n);
      end += n;
    }
    const upgrade = /websocket/i.test(headers.upgrade || '');
    reqs.push({ method: m[1], path: m[2].split('?')[0], headers, body, end, upgrade });
    pos = end;
    if (upgrade) break;
  }
  return reqs;
}

/** The client frames after an upgrade, re-masked with a zero key. */
function frames(buf) {
  const outb = [];
  let pos = 0;
  while (pos + 2 <= buf.length) {
    const b0 = buf[pos], b1 = buf[pos + 1];
    let len = b1 & 0x7f, hl = 2;
    if (len === 126) { if (pos + 4 > buf.length) break; len = buf.readUInt16BE(pos + 2); hl = 4; }
    else if (len === 127) { if (pos + 10 > buf.length) break; len = Number(buf.readBigUInt64BE(pos + 2)); hl = 10; }
    const masked = (b1 & 0x80) !== 0;
    const start = pos + hl + (masked ? 4 : 0);
    const payload = Buffer.from(buf.subarray(start, Math.min(start + len, buf.length)));
    if (masked) {
      const key = buf.subarray(pos + hl, pos + hl + 4);
      for (let i = 0; i < payload.length; i++) payload[i] ^= key[i & 3];
    }
    const head = Buffer.from(buf.subarray(pos, pos + hl));
    outb.push(head, masked ? Buffer.alloc(4) : Buffer.alloc(0), payload);
    if (outb.reduce((a, b) => a + b.length, 0) > MAX) break;
    pos = start + len;
  }
  return Buffer.concat(outb);
}

/** fuzz_json_bodies' selector byte for a body sent to this route (target | variant << 4). */
function selector(method, path, body) {
  const create = method === 'POST' ? 0x10 : 0;
  if (/\/(inboxes|teams)\/\d+\/members$/.test(path)) return 9;
  if (/\/inboxes(\/\d+)?$/.test(path)) return 'bot' in body ? 1 : 'routing' in body ? 2 : 3 | create;
  if (/\/(users(\/\d+)?|me)$/.test(path) || /\/auth\/login$/.test(path)) return 4;
  if (/\/contact$/.test(path) || /\/widget\/sessions$/.test(path)) return 5;
  if (/\/flows(\/\d+)?$/.test(path)) return 6;
  if (/\/routing_rules(\/\d+)?$/.test(path)) return 7 | create;
  if (/\/messages$/.test(path)) return 8 | 0x10; // an agent, conversation from the path
  if (/\/labels$/.test(path)) return 10;
  return 0;
}

const jsonBody = (h, b) => {
  if (!/json/i.test(h['content-type'] || '')) return undefined;
  try { const v = JSON.parse(b.toString('utf8')); return v && typeof v === 'object' && !Array.isArray(v) ? v : undefined; } catch { return undefined; }
};

for (const f of readdirSync(rec)) {
  const buf = readFileSync(join(rec, f));
  const reqs = requests(buf);
  const httpEnd = reqs.length && reqs[reqs.length - 1].upgrade ? reqs[reqs.length - 1].end : buf.length;
  add('fuzz_http', Buffer.concat([head4(), cap(buf.subarray(0, httpEnd))]));
  for (const r of reqs) {
    const v = jsonBody(r.headers, r.body);
    if (v) {
      add('fuzz_json_bodies', Buffer.concat([Buffer.from([selector(r.method, r.path, v)]), cap(r.body)]));
      if (/\/kb\/articles/.test(r.path) && typeof v.body === 'string') add('fuzz_markdown', cap(Buffer.from(v.body)));
      if (/\/kb\/faq/.test(r.path) && typeof v.answer === 'string') add('fuzz_markdown', cap(Buffer.from(v.answer)));
    }
  }
  const up = reqs.find((r) => r.upgrade);
  if (up && up.end < buf.length) {
    const ws = frames(buf.subarray(up.end));
    add('fuzz_ws', Buffer.concat([head4(), cap(ws)]));
    // and the messages in it, for the JSON parsers (message.send as an agent and as a visitor)
    let pos = 0;
    while (pos + 6 <= ws.length) {
      let len = ws[pos + 1] & 0x7f, hl = 2;
      if (len === 126) { len = ws.readUInt16BE(pos + 2); hl = 4; } else if (len === 127) break;
      const mk = ws[pos + 1] & 0x80 ? 4 : 0;
      const payload = ws.subarray(pos + hl + mk, pos + hl + mk + len);
      if ((ws[pos] & 0x0f) === 1) {
        try {
          const v = JSON.parse(payload.toString('utf8'));
          if (v && typeof v === 'object' && !Array.isArray(v)) {
            if (v.type === 'message.send') {
              add('fuzz_json_bodies', Buffer.concat([Buffer.from([8 | 0x30]), payload]));
              add('fuzz_json_bodies', Buffer.concat([Buffer.from([8]), payload]));
            } else add('fuzz_json_bodies', Buffer.concat([Buffer.from([0]), payload]));
          }
        } catch { /* not JSON: the harness for frames has it */ }
      }
      pos += hl + mk + len;
    }
  }
}

// A few shapes the integration tests do not send, by hand.
const extra = {
  fuzz_http: [
    'POST /api/v1/accounts/1/conversations/2/messages HTTP/1.1\r\nAuthorization: Bearer t\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n{"conten\r\n10\r\nt":"hi","x":1}  \r\n0\r\n\r\n',
    'POST /api/v1/accounts/1/attachments HTTP/1.1\r\nAuthorization: Bearer t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello',
    'GET /sub HTTP/1.1\r\nAccept-Encoding: gzip\r\nIf-None-Match: W/"x", *\r\n\r\nGET /app.js HTTP/1.1\r\nAccept-Encoding: gzip\r\n\r\nHEAD /assets/app.js HTTP/1.1\r\n\r\n',
    'GET /api/v1/accounts/1/conversations?limit=5&offset=x&q=%E4%BD%A0+x HTTP/1.1\r\nCookie: a=b; parley_session=t\r\nX-Forwarded-For: 1.2.3.4, 10.0.0.1\r\n\r\n',
  ].map((s) => Buffer.concat([head4(), Buffer.from(s, 'latin1')])),
  fuzz_markdown: [
    '# Title\n\nSome **bold**, *em*, _em_ and `code` with [a link](https://example.com/a?b=1&c=2) and [local](/help/x).\n\n- one\n- two\n\n1. first\n2) second\n\n> quoted\n> text\n\n```\n<code> & "quotes"\n```\n\n---\n### Done ###\n',
  ].map((s) => Buffer.from(s)),
};
for (const [h, list] of Object.entries(extra)) for (const b of list) add(h, b);

// ---- 3. write, merged where the harness is built ----
for (const [h, inputs] of Object.entries(out)) {
  const dir = join(here, 'corpus', h);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const raw = mkdtempSync(join(tmpdir(), `parley-seed-${h}-`));
  for (const [name, buf] of inputs) writeFileSync(join(raw, name), buf);
  const bin = join(root, 'build-fuzz', h);
  if (existsSync(bin)) {
    const m = spawnSync(bin, ['-merge=1', `-max_len=${MAX + 64}`, dir, raw], { stdio: ['ignore', 'ignore', 'pipe'] });
    if (m.status !== 0) throw new Error(`${h} -merge=1 failed:\n${m.stderr.toString().slice(-2000)}`);
  } else {
    console.log(`seed: ${bin} is not built (make fuzz-build): ${h} keeps every input, unmerged`);
    for (const [name, buf] of inputs) writeFileSync(join(dir, name), buf);
  }
  const kept = readdirSync(dir).length;
  console.log(`seed: ${h}: ${inputs.size} inputs recorded, ${kept} kept in tests/fuzz/corpus/${h}/`);
  if (keepRaw) console.log(`seed:   raw inputs in ${raw}`);
  else rmSync(raw, { recursive: true, force: true });
}
if (!from) rmSync(rec, { recursive: true, force: true });
