// A slow consumer: an agent whose WebSocket stops reading while messages pour in. Its queue is
// capped; it is closed with a reason (1008) that it reads if it ever reads again; a healthy agent
// connected at the same time gets every event; the server stays up.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { openWs } from './lib/ws.mjs';
import { sleep } from './lib/util.mjs';
import { execFileSync } from 'node:child_process';

const COUNT = 1500;

describe('slow WebSocket consumers', () => {
  let srv;
  after(async () => { await srv?.stop(); srv?.cleanup(); });

  it('caps the queue, closes with a reason, and keeps serving everyone else', async () => {
    srv = await startServer({ env: { PARLEY_WS_MAX_QUEUE: '65536' } });
    const admin = (await srv.login()).token;
    const inbox = (await srv.request('GET', '/api/v1/accounts/1/inboxes', { token: admin })).body.data[0];
    const hello = (x) => x.ws.waitFor((e) => e.json?.type === 'hello', 5000, 'hello');
    const slow = await openWs(srv.port, `/ws?token=${admin}`);
    await hello(slow);
    const good = await openWs(srv.port, `/ws?token=${admin}`);
    await hello(good);
    slow.ws.sock.pause(); // stops reading: the kernel buffers fill, then the server's queue

    const s = (await srv.request('POST', '/api/v1/widget/sessions', { body: { widget_token: inbox.widget_token } })).body;
    const v = await openWs(srv.port, `/ws?token=${s.visitor_token}`);
    await hello(v);
    const text = 'x'.repeat(9000);
    for (let i = 0; i < COUNT; i++) v.ws.sendJson({ type: 'message.send', client_id: `s-${i}`, content: `${i} ${text}` });
    // The moment the server gives up on the slow one, it reads again (within the linger period) and
    // finds the close frame with the reason at the end of its stream.
    const deadline = Date.now() + 60000;
    const cut = async () => /parley_slow_clients_closed_total 1\b/.test((await srv.request('GET', '/metrics')).text);
    while (!(await cut()) && Date.now() < deadline) await sleep(20);
    assert.ok(await cut(), 'the slow client was cut off');
    slow.ws.sock.resume();
    const close = await slow.ws.waitFor((e) => e.kind === 'close', 20000, 'close frame');
    assert.equal(close.code, 1008);
    assert.match(close.reason, /too slow/);
    const got = slow.ws.events.filter((e) => e.json?.event === 'message.created').length;
    assert.ok(got < COUNT, `the slow client got ${got} of ${COUNT} before its queue was cut`);
    const created = () => good.ws.events.filter((e) => e.json?.event === 'message.created').length;
    while (created() < COUNT && Date.now() < deadline) await sleep(50);
    assert.equal(created(), COUNT, 'the healthy agent got every message');
    assert.equal((await srv.request('GET', '/healthz')).status, 200);
    for (const x of [slow, good, v]) x.ws.destroy();
  });

  // One that never reads again: after 10 s without progress the server resets the connection,
  // so the kernel drops what it still held for it (a plain close leaves an orphaned socket holding
  // its unsent data for minutes, against a zero window).
  it('resets a slow client that never drains, and the kernel lets go of its socket', async () => {
    const srv2 = await startServer({ env: { PARLEY_WS_MAX_QUEUE: '65536' } });
    try {
      const admin = (await srv2.login()).token;
      const inbox = (await srv2.request('GET', '/api/v1/accounts/1/inboxes', { token: admin })).body.data[0];
      const stuck = await openWs(srv2.port, `/ws?token=${admin}`);
      await stuck.ws.waitFor((e) => e.json?.type === 'hello', 5000, 'hello');
      stuck.ws.sock.pause();
      const s = (await srv2.request('POST', '/api/v1/widget/sessions', { body: { widget_token: inbox.widget_token } })).body;
      const v = await openWs(srv2.port, `/ws?token=${s.visitor_token}`);
      await v.ws.waitFor((e) => e.json?.type === 'hello', 5000, 'hello');
      const text = 'y'.repeat(9000);
      for (let i = 0; i < 1500; i++) v.ws.sendJson({ type: 'message.send', client_id: `r-${i}`, content: `${i} ${text}` });
      const cut = async () => /parley_slow_clients_closed_total 1\b/.test((await srv2.request('GET', '/metrics')).text);
      for (let i = 0; i < 3000 && !(await cut()); i++) await sleep(20);
      assert.ok(await cut(), 'the stuck client was cut off');
      // The server's end of the stuck client's connection, as the kernel sees it.
      const filter = `( sport = :${srv2.port} and dport = :${stuck.ws.sock.localPort} )`;
      const serverSide = () => execFileSync('ss', ['-tnH', 'state', 'all', filter]).toString().trim();
      let left = serverSide();
      for (let i = 0; i < 200 && left !== ''; i++) { await sleep(100); left = serverSide(); }
      assert.equal(left, '', `the server's socket is still there 20 s after the cut: ${left}`);
      assert.equal((await srv2.request('GET', '/healthz')).status, 200);
      stuck.ws.destroy();
      v.ws.destroy();
    } finally {
      await srv2.stop();
      srv2.cleanup();
    }
  });
});
