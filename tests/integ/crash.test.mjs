// Nothing acknowledged is lost: visitors fire a burst of messages without waiting, the server is
// killed with SIGKILL in the middle of it, and after a restart on the same data every acknowledged
// message is there exactly once. Resending what was not acknowledged (same client_id) stores each
// message at most once: the ones that committed before the kill come back as duplicates.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { openWs } from './lib/ws.mjs';
import { sleep } from './lib/util.mjs';

const VISITORS = 5;
const PER_VISITOR = 400;

describe('kill -9 during a burst of sends', () => {
  let a, b;
  after(async () => {
    for (const s of [b, a]) if (s) { try { await s.stop(); } catch { /* killed */ } }
    a?.cleanup();
  });

  it('keeps every acknowledged message, once', async () => {
    a = await startServer();
    const admin = (await a.login()).token;
    const inbox = (await a.request('GET', '/api/v1/accounts/1/inboxes', { token: admin })).body.data[0];
    const visitors = [];
    for (let i = 0; i < VISITORS; i++) {
      const s = (await a.request('POST', '/api/v1/widget/sessions', { body: { widget_token: inbox.widget_token } })).body;
      const r = await openWs(a.port, `/ws?token=${s.visitor_token}`);
      assert.equal(r.status, 101);
      await r.ws.waitFor((e) => e.json?.type === 'hello', 5000, 'hello');
      visitors.push({ ...s, ws: r.ws, acked: new Map() });
    }
    // Everyone sends everything at once, without waiting for acks.
    for (let k = 0; k < PER_VISITOR; k++)
      for (const [i, v] of visitors.entries())
        v.ws.sendJson({ type: 'message.send', client_id: `v${i}-${k}`, content: `burst ${i}/${k}` });
    // Kill once some acks arrived, but (very likely) before all did.
    const start = Date.now();
    const acks = () => visitors.reduce((n, v) => n + v.ws.events.filter((e) => e.json?.type === 'ack').length, 0);
    while (acks() < 50 && Date.now() - start < 10000) await sleep(2);
    await a.kill9();
    let total = 0;
    for (const v of visitors) {
      for (const e of v.ws.events)
        if (e.json?.type === 'ack') v.acked.set(e.json.client_id, e.json.data.id);
      total += v.acked.size;
      v.ws.destroy();
    }
    assert.ok(total >= 50, `acks before the kill: ${total}`);
    console.log(`# acked before kill: ${total} of ${VISITORS * PER_VISITOR}`);

    b = await startServer({ dataDir: a.dataDir });
    const admin2 = (await b.login()).token;
    let stored = 0;
    for (const v of visitors) {
      // Every acknowledged message is stored, with the id the ack gave.
      const s = (await b.request('POST', '/api/v1/widget/sessions', { body: { widget_token: inbox.widget_token, visitor_id: v.visitor_id } })).body;
      assert.equal(s.contact.id, v.contact.id);
      const conv = s.conversation;
      const ids = new Map();
      if (conv) {
        for (let before = 0; ;) {
          const page = await b.request('GET', `/api/v1/accounts/1/conversations/${conv.id}/messages?limit=200${before ? `&before=${before}` : ''}`, { token: admin2 });
          for (const m of page.body.data) {
            assert.ok(!ids.has(m.client_id), `stored once: ${m.client_id}`);
            ids.set(m.client_id, m.id);
          }
          if (!page.body.meta.has_more) break;
          before = page.body.data[0].id;
        }
      }
      for (const [cid, id] of v.acked) assert.equal(ids.get(cid), id, `acknowledged ${cid} survived`);
      stored += ids.size;

      // Resend everything that was not acknowledged: committed ones come back as duplicates, the rest
      // are stored now; either way each client_id ends up stored exactly once.
      const r = await openWs(b.port, `/ws?token=${s.visitor_token}`);
      await r.ws.waitFor((e) => e.json?.type === 'hello', 5000, 'hello');
      const i = visitors.indexOf(v);
      let dups = 0, fresh = 0;
      for (let k = 0; k < PER_VISITOR; k++) {
        const cid = `v${i}-${k}`;
        if (v.acked.has(cid)) continue;
        r.ws.sendJson({ type: 'message.send', client_id: cid, content: `burst ${i}/${k}` });
        const ack = await r.ws.waitFor((e) => e.json?.type === 'ack' && e.json.client_id === cid, 5000, `ack ${cid}`);
        if (ids.has(cid)) {
          assert.equal(ack.json.duplicate, true);
          assert.equal(ack.json.data.id, ids.get(cid));
          dups++;
        } else {
          fresh++;
        }
      }
      assert.equal(dups, ids.size - v.acked.size, 'committed but unacknowledged ones are found again');
      assert.equal(dups + fresh + v.acked.size, PER_VISITOR);
      r.ws.destroy();
    }
    assert.ok(stored >= total);
    const conv = await b.request('GET', '/api/v1/accounts/1/conversations?status=all', { token: admin2 });
    assert.equal(conv.body.meta.counts.all, VISITORS, 'one conversation per visitor, no duplicates');
  });
});
