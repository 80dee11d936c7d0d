// Operations endpoints: /healthz, /readyz, /metrics (docs/api.md "Operations").
import { it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { RawConn, buildRequest } from './lib/raw.mjs';
import { T, stopServer, parseMetrics, sumSamples, eventually } from './lib/util.mjs';

let srv;
before(async () => { srv = await startServer(); });
after(async () => { await stopServer(srv); });

async function scrape() {
  const r = await srv.request('GET', '/metrics');
  assert.equal(r.status, 200, r.text);
  return parseMetrics(r.text);
}

it('GET /healthz answers 200 {"status":"ok"} as JSON', T, async () => {
  const r = await srv.request('GET', '/healthz');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') || '', /^application\/json\b/);
  assert.deepEqual(r.body, { status: 'ok' });
});

it('GET /readyz answers 200 {"status":"ready"} while the store is reachable', T, async () => {
  const r = await srv.request('GET', '/readyz');
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type') || '', /^application\/json\b/);
  assert.deepEqual(r.body, { status: 'ready' });
});

it('GET /metrics is Prometheus text format 0.0.4 and has every documented family', T, async () => {
  // make sure the request counter has at least one sample
  await srv.request('GET', '/healthz');
  const r = await srv.request('GET', '/metrics');
  assert.equal(r.status, 200);
  const ct = r.headers.get('content-type') || '';
  assert.match(ct, /^text\/plain\b/);
  assert.match(ct, /version=0\.0\.4/);
  const m = parseMetrics(r.text); // throws on any malformed line
  const names = new Set(m.samples.map((s) => s.name));
  for (const n of ['parley_connections_open', 'parley_ws_connections_open', 'parley_http_requests_total',
    'parley_store_queue_depth', 'parley_store_jobs_total']) {
    assert.ok([...names].some((x) => x === n), `no sample named ${n} in:\n${r.text}`);
  }
  for (const h of ['parley_store_commit_seconds', 'parley_store_group_size']) {
    assert.equal(m.types[h], 'histogram', `# TYPE ${h} histogram missing`);
    assert.ok(names.has(`${h}_bucket`) && names.has(`${h}_sum`) && names.has(`${h}_count`), `${h} lacks _bucket/_sum/_count`);
  }
  assert.equal(m.types.parley_http_requests_total, 'counter');
  const req = m.samples.filter((s) => s.name === 'parley_http_requests_total');
  for (const s of req) {
    assert.deepEqual(Object.keys(s.labels).sort(), ['method', 'route', 'status'], `labels of ${JSON.stringify(s)}`);
  }
});

it('histogram buckets are cumulative and end with le="+Inf" equal to _count', T, async () => {
  await srv.login(); // a login writes to the store
  const m = await scrape();
  for (const h of ['parley_store_commit_seconds', 'parley_store_group_size']) {
    const buckets = m.samples.filter((s) => s.name === `${h}_bucket`);
    assert.ok(buckets.length >= 2, `${h} has ${buckets.length} buckets`);
    const les = buckets.map((b) => (b.labels.le === '+Inf' ? Infinity : Number(b.labels.le)));
    assert.ok(les.every((x) => !Number.isNaN(x)), `${h}: every bucket needs a numeric le label`);
    for (let i = 1; i < buckets.length; i++) {
      assert.ok(les[i] > les[i - 1], `${h}: le bounds must increase`);
      assert.ok(buckets[i].value >= buckets[i - 1].value, `${h}: bucket counts must be cumulative`);
    }
    assert.equal(les[les.length - 1], Infinity, `${h}: last bucket must be le="+Inf"`);
    const count = sumSamples(m, `${h}_count`);
    assert.equal(buckets[buckets.length - 1].value, count, `${h}: +Inf bucket must equal _count`);
  }
});

it('a login is a store commit: parley_store_jobs_total and commit_seconds_count go up', T, async () => {
  const before = await scrape();
  await srv.login();
  const afterM = await eventually(async () => {
    const m = await scrape();
    return sumSamples(m, 'parley_store_jobs_total') > sumSamples(before, 'parley_store_jobs_total') ? m : null;
  });
  assert.ok(afterM, 'parley_store_jobs_total did not increase after a login');
  assert.ok(sumSamples(afterM, 'parley_store_commit_seconds_count') > sumSamples(before, 'parley_store_commit_seconds_count'),
    'parley_store_commit_seconds_count did not increase after a login');
});

it('parley_http_requests_total counts each request by route, method and status', T, async () => {
  const isHealthOk = (l) => l.method === 'GET' && l.status === '200' && /healthz/.test(l.route);
  const isGet404 = (l) => l.method === 'GET' && l.status === '404';
  const m0 = await scrape();
  for (let i = 0; i < 3; i++) assert.equal((await srv.request('GET', '/healthz')).status, 200);
  for (let i = 0; i < 2; i++) assert.equal((await srv.request('GET', '/no/such/route')).status, 404);
  const m1 = await scrape();
  assert.equal(sumSamples(m1, 'parley_http_requests_total', isHealthOk) - sumSamples(m0, 'parley_http_requests_total', isHealthOk), 3,
    'GET /healthz 200 should have gone up by exactly 3');
  assert.equal(sumSamples(m1, 'parley_http_requests_total', isGet404) - sumSamples(m0, 'parley_http_requests_total', isGet404), 2,
    'GET 404 should have gone up by exactly 2');
  const route404 = m1.samples.filter((s) => s.name === 'parley_http_requests_total' && isGet404(s.labels));
  assert.ok(route404.every((s) => !s.labels.route.includes('no/such/route')),
    'unknown paths must not become route label values (unbounded cardinality)');
});

it('parley_connections_open follows open connections', T, async () => {
  const conns = [];
  try {
    const base = sumSamples(await scrape(), 'parley_connections_open');
    assert.ok(base >= 1, `the scrape's own connection is open, got ${base}`);
    for (let i = 0; i < 3; i++) {
      const c = await RawConn.connect(srv.port);
      await c.write(buildRequest('GET', '/healthz'));
      assert.equal((await c.readResponse()).status, 200);
      conns.push(c);
    }
    const withThree = sumSamples(await scrape(), 'parley_connections_open');
    assert.ok(withThree >= base + 3, `expected >= ${base + 3} with three extra keep-alive connections, got ${withThree}`);
    for (const c of conns) c.destroy();
    const back = await eventually(async () => {
      const v = sumSamples(await scrape(), 'parley_connections_open');
      return v <= withThree - 3 ? v : null;
    });
    assert.ok(back !== null, 'parley_connections_open did not go down after three connections closed');
  } finally {
    for (const c of conns) c.destroy();
  }
});

it('GET /api/v1/openapi.yaml serves the machine-readable contract', T, async () => {
  const r = await srv.request('GET', '/api/v1/openapi.yaml');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') || '', /yaml|text\/plain/);
  assert.match(r.text, /^openapi: ?["']?3\./m);
  for (const p of ['/api/v1/auth/login', '/api/v1/me', '/api/v1/accounts/{account_id}/users']) {
    assert.ok(r.text.includes(p) || r.text.includes(p.replace('{account_id}', '{aid}')), `openapi.yaml does not describe ${p}`);
  }
});

it('/metrics answers only on this host by default: a request through a proxy is refused', T, async () => {
  const viaProxy = await srv.request('GET', '/metrics', { headers: { 'x-forwarded-for': '203.0.113.9' } });
  assert.equal(viaProxy.status, 403, viaProxy.text);
  assert.match(viaProxy.body.error.message, /--metrics-token/);
  const fwd = await srv.request('GET', '/metrics', { headers: { forwarded: 'for=203.0.113.9' } });
  assert.equal(fwd.status, 403);
});

it('/metrics behind a trusted proxy: the client address decides', T, async () => {
  const p = await startServer({ args: ['--trust-proxy', 'true'] });
  try {
    assert.equal((await p.request('GET', '/metrics', { headers: { 'x-forwarded-for': '203.0.113.9' } })).status, 403);
    assert.equal((await p.request('GET', '/metrics', { headers: { 'x-forwarded-for': '127.0.0.1' } })).status, 200);
  } finally { await stopServer(p); }
});

it('/metrics with --metrics-token needs that Bearer token, from anywhere', T, async () => {
  const p = await startServer({ args: ['--metrics-token', 'scrape-secret-123'] });
  try {
    const none = await p.request('GET', '/metrics');
    assert.equal(none.status, 401, none.text);
    assert.match(none.headers.get('www-authenticate') || '', /^Bearer/);
    assert.equal((await p.request('GET', '/metrics', { token: 'scrape-secret-12' })).status, 401);
    assert.equal((await p.request('GET', '/metrics', { token: 'scrape-secret-1234' })).status, 401);
    const ok = await p.request('GET', '/metrics', { token: 'scrape-secret-123', headers: { 'x-forwarded-for': '203.0.113.9' } });
    assert.equal(ok.status, 200);
    assert.match(ok.text, /parley_connections_open/);
  } finally { await stopServer(p); }
});
