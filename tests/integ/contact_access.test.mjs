// An agent sees a contact only through a conversation they may see (one of their inboxes, or
// assigned to them): reading, editing and the contact's conversation list answer 404 otherwise,
// and contact.updated reaches them live and on replay only for contacts of their inboxes.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { openWs, connectWs } from './lib/ws.mjs';
import { T, sleep, stopServer } from './lib/util.mjs';

const A = '/api/v1/accounts/1';

describe('contacts through inboxes', () => {
  let srv, admin, agent, inboxA, inboxB, contactA, contactB;

  async function visitorSays(inbox, text) {
    const s = (await srv.request('POST', '/api/v1/widget/sessions', { body: { widget_token: inbox.widget_token } })).body;
    const r = await openWs(srv.port, `/ws?token=${s.visitor_token}`);
    await r.ws.waitFor((e) => e.json?.type === 'hello');
    r.ws.sendJson({ type: 'message.send', client_id: `c-${text.length}-${Date.now()}`, content: text });
    await r.ws.waitFor((e) => e.json?.type === 'ack');
    r.ws.destroy();
    return s.contact.id;
  }

  before(async () => {
    srv = await startServer();
    admin = (await srv.login()).token;
    inboxA = (await srv.request('GET', `${A}/inboxes`, { token: admin })).body.data[0];
    inboxB = (await srv.request('POST', `${A}/inboxes`, { token: admin, body: { name: 'Other shop', channel: 'web' } })).body;
    const u = await srv.request('POST', `${A}/users`, { token: admin,
      body: { email: 'inbox-a-agent@example.com', name: 'Agent A', password: 'agent-a-secret-5', role: 'agent' } });
    assert.equal(u.status, 201, u.text);
    const members = (await srv.request('GET', `${A}/inboxes/${inboxA.id}/members`, { token: admin })).body.user_ids;
    assert.equal((await srv.request('PUT', `${A}/inboxes/${inboxA.id}/members`, { token: admin,
      body: { user_ids: [...members, u.body.id] } })).status, 200);
    agent = (await srv.login('inbox-a-agent@example.com', 'agent-a-secret-5')).token;
    contactA = await visitorSays(inboxA, 'hello from shop A');
    contactB = await visitorSays(inboxB, 'hello from shop B, my address is 1 Secret Road');
  });
  after(async () => { await stopServer(srv); });

  it('an agent reads and edits the contacts of their inboxes', T, async () => {
    assert.equal((await srv.request('GET', `${A}/contacts/${contactA}`, { token: agent })).status, 200);
    const p = await srv.request('PATCH', `${A}/contacts/${contactA}`, { token: agent, body: { name: 'Ann' } });
    assert.equal(p.status, 200, p.text);
    assert.equal((await srv.request('GET', `${A}/contacts/${contactA}/conversations`, { token: agent })).status, 200);
  });

  it('another inbox\'s contact is not found for them, and editing it changes nothing', T, async () => {
    for (const [m, path, body] of [['GET', `${A}/contacts/${contactB}`], ['PATCH', `${A}/contacts/${contactB}`, { name: 'Mallory' }],
      ['GET', `${A}/contacts/${contactB}/conversations`]]) {
      const r = await srv.request(m, path, { token: agent, body });
      assert.equal(r.status, 404, `${m} ${path}: ${r.status} ${r.text}`);
      assert.equal(r.body.error.code, 'not_found');
    }
    const seen = await srv.request('GET', `${A}/contacts/${contactB}`, { token: admin });
    assert.equal(seen.status, 200);
    assert.notEqual(seen.body.name, 'Mallory');
  });

  it('contact.updated reaches the agent only for contacts of their inboxes, live and on replay', T, async () => {
    const ws = await connectWs(srv.port, agent);
    const since = ws.hello.seq;
    const adminWs = await connectWs(srv.port, admin);
    try {
      assert.equal((await srv.request('PATCH', `${A}/contacts/${contactB}`, { token: admin, body: { name: 'B secret name' } })).status, 200);
      assert.equal((await srv.request('PATCH', `${A}/contacts/${contactA}`, { token: admin, body: { name: 'A visible name' } })).status, 200);
      // the admin sees both; the agent only A's (which comes after B's, so B's would have come first)
      const seenByAdmin = [];
      while (seenByAdmin.length < 2) {
        const m = await adminWs.nextJson();
        if (m.event === 'contact.updated') seenByAdmin.push(m.data.contact.id);
      }
      assert.deepEqual(seenByAdmin, [contactB, contactA]);
      let m;
      do m = await ws.nextJson(); while (m.event !== 'contact.updated');
      assert.equal(m.data.contact.id, contactA, `the agent got ${JSON.stringify(m)}`);
      await sleep(200);
      assert.ok(!ws.events.some((e) => e.json?.event === 'contact.updated' && e.json.data.contact.id === contactB));
      ws.destroy();
      // replay from before both changes
      const again = await openWs(srv.port, `/ws?token=${agent}&since=${since}`);
      await again.ws.waitFor((e) => e.json?.type === 'hello');
      await again.ws.waitFor((e) => e.json?.event === 'contact.updated' && e.json.data.contact.id === contactA);
      await sleep(200);
      assert.ok(!again.ws.events.some((e) => e.json?.event === 'contact.updated' && e.json.data.contact.id === contactB),
        'contact B reached the agent on replay');
      again.ws.destroy();
    } finally { ws.destroy(); adminWs.destroy(); }
  });
});
