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
import { T, stopServer } from './lib/util.mjs';

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
