// The console's pages carry a Content-Security-Policy (own scripts only, no framing by other sites),
// X-Frame-Options and a Referrer-Policy; the help center keeps its own strict policy.
import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { T, stopServer } from './lib/util.mjs';

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await stopServer(srv); });

it('the console page may not be framed and runs only its own scripts', T, async () => {
  for (const path of ['/', '/index.html', '/settings/inboxes']) {
    const r = await srv.request('GET', path);
    assert.equal(r.status, path === '/settings/inboxes' ? r.status : 200);
    if (r.status !== 200) continue;
    const csp = r.headers.get('content-security-policy') || '';
    assert.match(csp, /frame-ancestors 'none'/, `${path}: ${csp}`);
    assert.match(csp, /script-src 'self'(;|$)/, `${path}: no inline or foreign scripts`);
    assert.match(csp, /object-src 'none'/);
    assert.equal(r.headers.get('x-frame-options'), 'DENY');
    assert.equal(r.headers.get('referrer-policy'), 'strict-origin-when-cross-origin');
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  }
});

it('the help center keeps its own policy (no scripts at all)', T, async () => {
  const r = await srv.request('GET', '/help/default');
  assert.equal(r.status, 200, r.text.slice(0, 200));
  assert.match(r.headers.get('content-security-policy') || '', /default-src 'none'/);
});
