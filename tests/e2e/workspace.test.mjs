// End-to-end test of the agent workspace against the real parleyd (Debian's Chromium via playwright-core).
// Two browser contexts: a visitor on the demo shop (/demo, the chat widget in a shadow root; playwright's
// CSS locators pierce open shadow roots) and an agent in the workspace. The acceptance flow: the visitor
// writes, the conversation appears for the agent live (no reload), the agent replies, the visitor sees the
// reply and, after reloading the page, the history. A private note never reaches the visitor; resolving
// works; canned responses are inserted with "/"; the visitor's typing and reading show for the agent.
//
// Needs: `npm ci` here, web/dist built (`cd web && npm ci && npm run build`), and parleyd built.
// Run: cd tests/e2e && node --test workspace.test.mjs
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer, ADMIN_EMAIL, ADMIN_PASSWORD } from '../lib/server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, 'out');
const webDist = process.env.PARLEY_WEB_DIR || join(here, '..', '..', 'web', 'dist');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--autoplay-policy=no-user-gesture-required'];

const FIRST = 'Hello, my order #1042 has not arrived yet';
const REPLY = 'Sorry to hear that! Let me check your order right away.';
const NOTE = 'Internal: customer is a VIP, offer free shipping';
const AFTER_NOTE = 'I found it: the parcel ships today.';
const CANNED = { code: 'thanks', content: 'Thank you for contacting us. Have a nice day!' };

describe('workspace', () => {
  let server;
  let browser;
  let agentCtx;
  let visitorCtx;
  let agent;
  let visitor;
  let aid;
  const pageErrors = [];

  before(async () => {
    assert.ok(existsSync(join(webDist, 'index.html')), `${webDist}/index.html missing: build web/ first`);
    mkdirSync(outDir, { recursive: true });
    server = await startServer({ env: { PARLEY_WEB_DIR: webDist } });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    agentCtx = await browser.newContext({ locale: 'en-US', viewport: { width: 1440, height: 900 } });
    visitorCtx = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 800 } });
    agent = await agentCtx.newPage();
    visitor = await visitorCtx.newPage();
    for (const p of [agent, visitor]) {
      p.setDefaultTimeout(15000);
      p.on('pageerror', (e) => pageErrors.push(e));
    }
  });

  after(async () => {
    try {
      await browser?.close();
      await server?.stop(); // throws on sanitizer reports
    } finally {
      server?.cleanup();
    }
  });

  // ---- helpers ----

  const item = (text) => agent.getByTestId('conversation-item').filter({ hasText: text });
  const agentMessage = (text) => agent.getByTestId('message').filter({ hasText: text });
  const composer = () => agent.getByTestId('composer-input');
  // The widget lives in <parley-widget>'s open shadow root.
  const widget = () => visitor.locator('parley-widget');
  const visitorBubbles = () => widget().locator('.msg');

  async function openWidget() {
    const panel = widget().locator('.panel');
    if (!(await panel.isVisible())) await widget().locator('button.launcher').click();
    await widget().locator('.panel textarea').waitFor();
  }

  async function visitorSay(text) {
    const ta = widget().locator('.panel textarea');
    await ta.fill(text);
    await ta.press('Enter');
    // Acknowledged messages carry their id.
    await widget().locator('.msg.me[data-id]', { hasText: text }).waitFor();
  }

  async function agentSend(text) {
    await composer().fill(text);
    await composer().press('Enter');
    await agentMessage(text).and(agent.locator('[data-state="sent"]')).waitFor();
  }

  // ---- the flow ----

  it('signs the agent in to the conversations page, connected live', async () => {
    await agent.goto(server.url + '/');
    await agent.waitForURL(/#\/login/);
    await agent.getByLabel('E-mail').fill(ADMIN_EMAIL);
    await agent.getByLabel('Password', { exact: true }).fill(ADMIN_PASSWORD);
    await agent.getByLabel('Password', { exact: true }).press('Enter');
    await agent.waitForURL(/#\/accounts\/\d+\/conversations$/);
    aid = Number(/#\/accounts\/(\d+)\//.exec(agent.url())[1]);
    await agent.getByTestId('conversation-list').waitFor();
    await agent.locator('[data-testid="connection-status"][data-state="connected"]').waitFor();
    await agent.getByTestId('tab-all').click();
  });

  it('shows a visitor\'s first message to the agent without a reload', async () => {
    await visitor.goto(server.url + '/demo');
    await widget().locator('button.launcher').waitFor();
    await openWidget();
    await visitorSay(FIRST);

    // The agent did not reload: the row arrives over the WebSocket.
    await item(FIRST).waitFor();
    assert.equal(await item(FIRST).count(), 1);
    await agent.screenshot({ path: join(outDir, 'workspace-new-conversation.png') });
  });

  it('opens the conversation and replies; the visitor sees the reply', async () => {
    await item(FIRST).click();
    await agent.waitForURL(/#\/accounts\/\d+\/conversations\/\d+$/);
    await agentMessage(FIRST).waitFor();
    assert.equal(await agentMessage(FIRST).getAttribute('data-sender'), 'contact');
    await agent.getByTestId('contact-panel').waitFor();

    await agentSend(REPLY);
    await widget().locator('.msg.them', { hasText: REPLY }).waitFor();
  });

  it('shows the visitor typing and reading to the agent', async () => {
    const ta = widget().locator('.panel textarea');
    await ta.focus();
    await ta.pressSequentially('Let me', { delay: 30 });
    await agent.getByTestId('typing-indicator').waitFor();
    // The widget is open and visible, so it read the reply: the agent sees "Seen".
    await agent.getByTestId('message-status').filter({ hasText: 'Seen' }).waitFor();
    await ta.fill('');
  });

  it('keeps a private note from the visitor', async () => {
    await agent.getByTestId('mode-note').click();
    await agentSend(NOTE);
    assert.equal(await agentMessage(NOTE).getAttribute('data-private'), 'true');
    await agent.getByTestId('mode-reply').click();
    await agentSend(AFTER_NOTE);

    // The later public reply has arrived, so the note (sent before it) would have too if it were leaking.
    await widget().locator('.msg.them', { hasText: AFTER_NOTE }).waitFor();
    const texts = await visitorBubbles().allInnerTexts();
    assert.ok(!texts.some((t) => t.includes('VIP')), `the note leaked to the visitor: ${JSON.stringify(texts)}`);
    // The list row shows the last message.
    await item(AFTER_NOTE).waitFor();
  });

  it('keeps the history for the visitor after a reload', async () => {
    await visitor.reload();
    await openWidget();
    await widget().locator('.msg.me', { hasText: FIRST }).waitFor();
    await widget().locator('.msg.them', { hasText: REPLY }).waitFor();
    await widget().locator('.msg.them', { hasText: AFTER_NOTE }).waitFor();
    const texts = await visitorBubbles().allInnerTexts();
    assert.ok(!texts.some((t) => t.includes('VIP')), 'no note after the reload either');
    await visitor.screenshot({ path: join(outDir, 'workspace-visitor.png') });
  });

  it('shows a new customer message in the open conversation live', async () => {
    await visitorSay('Thanks! Which carrier?');
    await agentMessage('Which carrier?').waitFor();
  });

  it('inserts a canned response with "/"', async () => {
    const r = await agent.evaluate(async ({ aid, c }) => {
      const res = await fetch(`api/v1/accounts/${aid}/canned_responses`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ short_code: c.code, content: c.content }),
      });
      return res.status;
    }, { aid, c: CANNED });
    assert.equal(r, 201);

    await composer().fill('');
    await composer().pressSequentially('/than');
    const menu = agent.getByTestId('canned-menu');
    await menu.waitFor();
    await menu.getByTestId('canned-item').filter({ hasText: '/thanks' }).waitFor();
    await composer().press('Enter');
    assert.equal(await composer().inputValue(), CANNED.content);
    await composer().press('Enter');
    await widget().locator('.msg.them', { hasText: CANNED.content }).waitFor();
  });

  it('resolves the conversation', async () => {
    await agent.getByTestId('resolve-button').click();
    await agent.locator('[data-testid="conversation-status"][data-status="resolved"]').waitFor();
    // The list shows open conversations: the resolved one leaves it.
    await item(CANNED.content).waitFor({ state: 'detached' });
    await agent.getByTestId('reopen-button').waitFor();

    const id = Number(/conversations\/(\d+)$/.exec(agent.url())[1]);
    const { token } = await server.login();
    const conv = await server.request('GET', `/api/v1/accounts/${aid}/conversations/${id}`, { token });
    assert.equal(conv.status, 200, conv.text);
    assert.equal(conv.body.status, 'resolved');
    await agent.screenshot({ path: join(outDir, 'workspace-resolved.png') });
  });

  it('escapes what visitors write', async () => {
    const evil = '<img src=x onerror="window.__pwned=1">Eve';
    await visitorSay(evil);
    // A message to a resolved conversation starts a new one, which appears in the list.
    await item('Eve').waitFor();
    await item('Eve').click();
    await agentMessage('Eve').waitFor();
    assert.match(await agentMessage('Eve').innerText(), /<img src=x onerror="window.__pwned=1">Eve/);
    assert.equal(await agent.getByTestId('message-thread').locator('img[src="x"]').count(), 0);
    assert.equal(await agent.evaluate(() => window.__pwned), undefined);
  });

  it('raised no uncaught errors in either page', () => {
    assert.deepEqual(pageErrors.map((e) => e.message), []);
  });
});
