// End-to-end test of sentiment corrections in Debian's Chromium (playwright-core) against the real
// parleyd. A customer writes; an admin (English console) opens the conversation and, from the message's
// sentiment badge, marks it Negative: the badge turns negative and says "corrected". A second agent with
// the Chinese console has the same conversation open and sees the change without a reload; their menu
// offers 负面 / 中性 / 正面 and 撤销更正, which takes the correction back on both screens. The Bot page shows
// the sentiment model and, a moment after the correction, counts it.
//
// Needs: `npm ci` here, web/dist built (`cd web && npm ci && npm run build`), and parleyd built.
// Run: cd tests/e2e && node --test sentiment.test.mjs
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from '../lib/server.mjs';
import { openWs } from '../integ/lib/ws.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, 'out');
const webDist = process.env.PARLEY_WEB_DIR || join(here, '..', '..', 'web', 'dist');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const TEXT = '好的，我知道了 <b>ok</b>';

describe('sentiment corrections', () => {
  let server, browser, admin, agent, token, aid, cid, mid;
  const pageErrors = [];

  before(async () => {
    assert.ok(existsSync(join(webDist, 'index.html')), `${webDist}/index.html missing: build web/ first`);
    mkdirSync(outDir, { recursive: true });
    server = await startServer({ env: { PARLEY_WEB_DIR: webDist } });
    ({ token } = await server.login());
    aid = (await server.request('GET', '/api/v1/me', { token })).body.accounts[0].id;
    const A = `/api/v1/accounts/${aid}`;
    const web = (await server.request('GET', `${A}/inboxes`, { token })).body.data.find((i) => i.channel === 'web');
    const u = await server.request('POST', `${A}/users`, { token, body: { email: 'li@example.com', name: '李客服', password: 'agent-pass-1', role: 'agent' } });
    assert.equal(u.status, 201, u.text);
    const members = (await server.request('GET', `${A}/inboxes/${web.id}/members`, { token })).body.user_ids;
    await server.request('PUT', `${A}/inboxes/${web.id}/members`, { token, body: { user_ids: [...members, u.body.id] } });
    const agentToken = (await server.login('li@example.com', 'agent-pass-1')).token;

    // the customer (over the widget's WebSocket)
    const s = await server.request('POST', '/api/v1/widget/sessions', { body: { widget_token: web.widget_token } });
    const r = await openWs(server.port, `/ws?token=${s.body.visitor_token}`);
    await r.ws.waitFor((e) => e.json?.type === 'hello');
    await r.ws.sendJson({ type: 'message.send', client_id: 'e2e-1', content: TEXT });
    const ack = await r.ws.waitFor((e) => e.json?.type === 'ack');
    ({ conversation_id: cid, id: mid } = ack.json.data);
    r.ws.destroy();

    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    const open = async (locale, tok) => {
      const ctx = await browser.newContext({ locale, viewport: { width: 1440, height: 900 } });
      await ctx.addCookies([{ name: 'parley_session', value: tok, url: server.url }]);
      const p = await ctx.newPage();
      p.setDefaultTimeout(15000);
      p.on('pageerror', (e) => pageErrors.push(e));
      return p;
    };
    admin = await open('en-US', token);
    agent = await open('zh-CN', agentToken);
  });

  after(async () => {
    try {
      await browser?.close();
      await server?.stop(); // throws on sanitizer reports
    } finally {
      server?.cleanup();
    }
  });

  const bubble = (p) => p.locator(`[data-testid="message"][data-id="${mid}"]`);
  const menu = (p) => bubble(p).getByTestId('sentiment-menu');

  it('both agents see the customer message with its sentiment badge', async () => {
    for (const p of [admin, agent]) {
      await p.goto(`${server.url}/#/accounts/${aid}/conversations/${cid}`);
      await bubble(p).waitFor();
      await p.locator('[data-testid="connection-status"][data-state="connected"]').waitFor();
      assert.equal(await menu(p).getAttribute('data-corrected'), 'false');
      // the text is text
      assert.equal(await bubble(p).getByTestId('message-text').textContent(), TEXT);
    }
  });

  it('the admin marks it Negative from the badge; the other agent sees it live', async () => {
    await menu(admin).click();
    const item = admin.getByTestId('sentiment-set-negative');
    await item.waitFor();
    assert.match(await item.textContent(), /Negative/);
    await item.click();
    await admin.locator(`[data-testid="message"][data-id="${mid}"] [data-testid="sentiment-menu"][data-corrected="true"]`).waitFor();
    assert.equal(await bubble(admin).getByTestId('sentiment').getAttribute('data-sentiment'), 'negative');
    assert.equal((await bubble(admin).getByTestId('sentiment-corrected').textContent()).trim(), 'corrected');
    await admin.screenshot({ path: join(outDir, 'sentiment-corrected.png') });

    // no reload on the other screen
    await agent.locator(`[data-testid="message"][data-id="${mid}"] [data-testid="sentiment-menu"][data-corrected="true"]`).waitFor();
    assert.equal(await bubble(agent).getByTestId('sentiment').getAttribute('data-sentiment'), 'negative');
    assert.equal((await bubble(agent).getByTestId('sentiment-corrected').textContent()).trim(), '已更正');
  });

  it('the Bot page shows the sentiment model, with the correction counted', async () => {
    await admin.goto(`${server.url}/#/accounts/${aid}/bot`);
    const card = admin.getByTestId('sentiment-model');
    await card.waitFor();
    await admin.locator('[data-testid="sentiment-model"][data-status="ready"]').waitFor();
    await admin.waitForFunction(() => document.querySelector('[data-testid="sentiment-model-corrections"]')?.textContent.trim() === '1', null, { timeout: 20000 });
    assert.ok(Number(await admin.getByTestId('sentiment-model-examples').textContent()) > 1000);
    assert.match(await admin.getByTestId('sentiment-model-accuracy').textContent(), /10 corrections/);
    await admin.screenshot({ path: join(outDir, 'sentiment-bot-page.png') });
  });

  it('the Chinese menu offers 负面 / 中性 / 正面 and takes the correction back', async () => {
    await menu(agent).click();
    for (const [l, word] of [['negative', '负面'], ['neutral', '中性'], ['positive', '正面']])
      assert.match(await agent.getByTestId(`sentiment-set-${l}`).textContent(), new RegExp(word));
    const undo = agent.getByTestId('sentiment-undo');
    assert.match(await undo.textContent(), /撤销更正/);
    await undo.click();
    await agent.locator(`[data-testid="message"][data-id="${mid}"] [data-testid="sentiment-menu"][data-corrected="false"]`).waitFor();
    const r = await server.request('GET', `/api/v1/accounts/${aid}/conversations/${cid}/messages`, { token });
    assert.equal(r.body.data.find((m) => m.id === mid).sentiment_correction, null);
    assert.deepEqual(pageErrors, []);
  });
});
