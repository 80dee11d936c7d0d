// Requests made with the session cookie must come from Parley's own pages: another site can make a
// browser send the cookie (a form post, a text/plain fetch, a WebSocket), but not read our pages or
// set an Authorization header. So a change with the cookie, and a WebSocket opened with it, are
// refused (403) when the Origin is foreign, or when Fetch Metadata says the request is cross-site.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { openWs } from './lib/ws.mjs';
import { T, stopServer } from './lib/util.mjs';

const A = '/api/v1/accounts/1';
const EVIL = 'https://evil.example';

describe('Origin checks for the session cookie', () => {
  let srv, token, cookie, own;
  before(async () => {
    srv = await startServer({ args: ['--allowed-origins', 'https://shop.example, https://help.shop.example/'] });
    token = (await srv.login()).token;
    cookie = `parley_session=${token}`;
    own = `http://127.0.0.1:${srv.port}`;
  });
  after(async () => { await stopServer(srv); });

  const canned = async () => (await srv.request('GET', `${A}/canned_responses`, { token })).body.meta.total;

  it('a change with the cookie from a foreign origin is refused, and nothing changes', T, async () => {
    const n = await canned();
    const r = await srv.request('POST', `${A}/canned_responses`, { headers: { cookie, origin: EVIL },
      body: { short_code: 'evil', content: 'x' } });
    assert.equal(r.status, 403, r.text);
    assert.equal(r.body.error.code, 'forbidden');
    assert.match(r.body.error.message, /evil\.example/);
    assert.match(r.body.error.message, /allowed-origins/);
    assert.equal(await canned(), n);
    const nul = await srv.request('POST', `${A}/canned_responses`, { headers: { cookie, origin: 'null' },
      body: { short_code: 'evil2', content: 'x' } });
    assert.equal(nul.status, 403, 'Origin: null (a sandboxed frame) is foreign');
  });

  it('cross-site by Fetch Metadata, without Origin: refused', T, async () => {
    const r = await srv.request('DELETE', `${A}/canned_responses/1`, { headers: { cookie, 'sec-fetch-site': 'cross-site' } });
    assert.equal(r.status, 403, r.text);
  });

  it('a text/plain upload and a body-less POST with the cookie from a foreign origin are refused', T, async () => {
    const up = await srv.request('POST', `${A}/attachments?filename=x.txt`, { raw: 'hello',
      headers: { cookie, origin: EVIL, 'content-type': 'text/plain' } });
    assert.equal(up.status, 403, up.text);
    const train = await srv.request('POST', `${A}/bot/train`, { headers: { cookie, origin: EVIL } });
    assert.equal(train.status, 403, train.text);
  });

  it('the console\'s own origin, a configured origin, a plain client without Origin and a Bearer token pass', T, async () => {
    let r = await srv.request('POST', `${A}/canned_responses`, { headers: { cookie, origin: own }, body: { short_code: 'own', content: 'x' } });
    assert.equal(r.status, 201, r.text);
    r = await srv.request('POST', `${A}/canned_responses`, { headers: { cookie, origin: 'https://shop.example' }, body: { short_code: 'shop', content: 'x' } });
    assert.equal(r.status, 201, r.text);
    r = await srv.request('POST', `${A}/canned_responses`, { headers: { cookie, origin: 'https://help.shop.example' }, body: { short_code: 'help', content: 'x' } });
    assert.equal(r.status, 201, `a trailing slash in --allowed-origins still matches: ${r.text}`);
    r = await srv.request('POST', `${A}/canned_responses`, { headers: { cookie, 'sec-fetch-site': 'same-origin' }, body: { short_code: 'same', content: 'x' } });
    assert.equal(r.status, 201, r.text);
    r = await srv.request('POST', `${A}/canned_responses`, { headers: { cookie }, body: { short_code: 'curl', content: 'x' } });
    assert.equal(r.status, 201, r.text);
    r = await srv.request('POST', `${A}/canned_responses`, { token, headers: { origin: EVIL }, body: { short_code: 'bearer', content: 'x' } });
    assert.equal(r.status, 201, `a Bearer token is not sent by other sites: ${r.text}`);
    // reads with the cookie are not changes
    r = await srv.request('GET', `${A}/canned_responses`, { headers: { cookie, origin: EVIL } });
    assert.equal(r.status, 200);
  });

  it('a WebSocket opened with the cookie from a foreign origin is refused before the upgrade', T, async () => {
    const evil = await openWs(srv.port, '/ws', { headers: { cookie, origin: EVIL } });
    assert.equal(evil.status, 403, evil.text);
    assert.equal(evil.body.error.code, 'forbidden');
    for (const origin of [own, 'https://shop.example']) {
      const ok = await openWs(srv.port, '/ws', { headers: { cookie, origin } });
      assert.equal(ok.status, 101, `${origin}: ${ok.text}`);
      ok.ws.destroy();
    }
    // a token in the URL cannot be added by another site
    const q = await openWs(srv.port, `/ws?token=${token}`, { headers: { origin: EVIL } });
    assert.equal(q.status, 101, q.text);
    q.ws.destroy();
  });
});
