// End-to-end test of the routing screens against the real parleyd, in Debian's Chromium (playwright-core).
// The admin gives an agent a capacity, a skill and a language in the users page (and sees a 422 under the
// field it names), sets an inbox to "least busy" in its Routing tab, creates a routing rule, and watches
// the live queue while three capacity-2 agents come online (their WebSockets, opened from node) and seven
// visitors write: six are assigned 2/2/2 and the seventh, a real widget on /demo, waits and is told it is
// next. An agent resolves one and the panel shows the queue empty again; in the workspace the admin
// transfers the conversation with a note, the assignment history shows it, and "Why this agent?" lists
// the three candidates. Chinese labels on the queue page.
//
// Needs: `npm ci` here, web/dist built (`cd web && npm ci && npm run build`), and parleyd built.
// Run: cd tests/e2e && node --test routing.test.mjs
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer, ADMIN_EMAIL, ADMIN_PASSWORD } from '../lib/server.mjs';
import { openWs } from '../integ/lib/ws.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, 'out');
const webDist = process.env.PARLEY_WEB_DIR || join(here, '..', '..', 'web', 'dist');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const AGENTS = [
  { name: 'Ann Archer', email: 'ann@example.com', password: 'agent-password-1', role: 'agent', capacity: 2 },
  { name: 'Ben Brooks', email: 'ben@example.com', password: 'agent-password-2', role: 'agent', capacity: 2 },
  // Cat gets her capacity, skill and language through the console.
  { name: 'Cat Chen', email: 'cat@example.com', password: 'agent-password-3', role: 'agent' },
];
const RULE = 'Refunds first';
const SEVENTH = 'I need a refund for order 1042, please';
const NOTE = 'Refund over 500: Cat handles these';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('routing', () => {
  let server;
  let browser;
  let adminCtx;
  let visitorCtx;
  let page;
  let visitor;
  let token;
  let aid;
  let inbox;
  const agents = []; // {id, token, ws, ...AGENTS[i]}
  const visitorSockets = [];
  let seventhId;
  const pageErrors = [];

  before(async () => {
    assert.ok(existsSync(join(webDist, 'index.html')), `${webDist}/index.html missing: build web/ first`);
    mkdirSync(outDir, { recursive: true });
    server = await startServer({ env: { PARLEY_WEB_DIR: webDist } });
    ({ token } = await server.login());
    const me = await server.request('GET', '/api/v1/me', { token });
    aid = me.body.accounts[0].id;
    for (const a of AGENTS) {
      const r = await server.request('POST', `/api/v1/accounts/${aid}/users`, { token, body: a });
      assert.equal(r.status, 201, r.text);
      const login = await server.login(a.email, a.password);
      agents.push({ ...a, id: r.body.id, token: login.token });
    }
    // An inbox of its own whose only members are the three agents (the admin, a member of "Website", would
    // otherwise be a candidate too).
    const ib = await server.request('POST', `/api/v1/accounts/${aid}/inboxes`, { token, body: { name: 'Support', channel: 'web' } });
    assert.equal(ib.status, 201, ib.text);
    inbox = ib.body;
    const m = await server.request('PUT', `/api/v1/accounts/${aid}/inboxes/${inbox.id}/members`, {
      token, body: { user_ids: agents.map((a) => a.id) },
    });
    assert.equal(m.status, 200, m.text);

    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    adminCtx = await browser.newContext({ locale: 'en-US', viewport: { width: 1440, height: 900 } });
    visitorCtx = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 800 } });
    page = await adminCtx.newPage();
    visitor = await visitorCtx.newPage();
    for (const p of [page, visitor]) {
      p.setDefaultTimeout(15000);
      p.on('pageerror', (e) => pageErrors.push(e));
    }
  });

  after(async () => {
    for (const s of [...agents.map((a) => a.ws), ...visitorSockets]) s?.destroy();
    try {
      await browser?.close();
      await server?.stop(); // throws on sanitizer reports
    } finally {
      server?.cleanup();
    }
  });

  // ---- helpers ----

  const api = (method, path, body, tok = token) => server.request(method, `/api/v1/accounts/${aid}${path}`, { token: tok, body });
  const toast = (text) => page.locator('.el-message').filter({ hasText: text });
  const fieldError = (scope, field) => scope.locator(`[data-field="${field}"] .el-form-item__error`);
  const widget = () => visitor.locator('parley-widget');
  const agentRow = (a) => page.getByTestId(`queue-agent-${a.id}`);
  const queueCard = () => page.getByTestId(`queue-inbox-${inbox.id}`);

  async function waitLoads(expected, timeout = 10000) {
    for (const [i, a] of agents.entries()) {
      await agentRow(a).locator(`[data-testid="load"][data-load="${expected[i]}"]`).waitFor({ timeout });
    }
  }

  /** A visitor over the widget API from node: a session, a WebSocket, one message; resolves with the conversation id. */
  async function nodeVisitor(text) {
    const s = await server.request('POST', '/api/v1/widget/sessions', { body: { widget_token: inbox.widget_token } });
    assert.equal(s.status, 200, s.text);
    const r = await openWs(server.port, `/ws?token=${s.body.visitor_token}`);
    assert.equal(r.status, 101, r.text);
    visitorSockets.push(r.ws);
    await r.ws.waitFor((e) => e.json?.type === 'hello', 5000, 'visitor hello');
    await r.ws.sendJson({ type: 'message.send', client_id: `v-${visitorSockets.length}`, content: text });
    const ack = await r.ws.waitFor((e) => e.json?.type === 'ack', 5000, 'visitor ack');
    return ack.json.data.conversation_id;
  }

  // ---- the flow ----

  it('signs the admin in; the users page shows availability, load and skills', async () => {
    await page.goto(server.url + '/');
    await page.waitForURL(/#\/login/);
    await page.getByLabel('E-mail').fill(ADMIN_EMAIL);
    await page.getByLabel('Password', { exact: true }).fill(ADMIN_PASSWORD);
    await page.getByLabel('Password', { exact: true }).press('Enter');
    await page.waitForURL(/#\/accounts\/\d+\/conversations$/);
    await page.getByRole('menuitem', { name: 'Users' }).click();
    await page.getByRole('heading', { name: 'Users' }).waitFor();
    const table = page.getByTestId('users-table');
    for (const h of ['Availability', 'Online now', 'Load', 'Skills', 'Languages', 'Region']) {
      await table.getByRole('columnheader', { name: h, exact: true }).waitFor();
    }
    const ann = table.locator('tr.el-table__row', { hasText: 'ann@example.com' });
    await ann.locator('[data-testid="load"][data-load="0"][data-capacity="2"]').waitFor();
    assert.match(await ann.innerText(), /0 \/ 2/);
  });

  it('gives an agent a capacity, a skill and a language; a 422 shows under its field', async () => {
    const cat = agents[2];
    await page.getByTestId(`edit-user-${cat.id}`).click();
    const dialog = page.getByRole('dialog', { name: `Edit ${cat.name}` });
    await dialog.waitFor();
    // Capacity: from "no limit" to 2.
    await dialog.getByText('No limit', { exact: true }).click();
    const cap = dialog.locator('[data-field="capacity"] .el-input-number input');
    await cap.fill('2');
    await cap.press('Tab');
    // A skill with level 4 (the fourth star).
    await dialog.getByTestId('add-skill').click();
    await dialog.getByTestId('skill-row-0').getByTestId('skill-select').click();
    await page.keyboard.type('billing');
    await page.keyboard.press('Enter');
    await dialog.getByTestId('skill-row-0').locator('.el-rate__item').nth(3).click();
    await dialog.getByTestId('skill-row-0').getByText('level 4').waitFor();
    // Languages: Chinese from the list.
    await dialog.getByTestId('languages-select').click();
    await page.getByRole('option', { name: 'Chinese (zh)' }).click();
    await dialog.getByLabel('Region').click(); // closes the dropdown
    await dialog.getByLabel('Region').fill('CN');

    // The server's 422 goes under the field it names: send a bad language past the page's own check.
    await page.route('**/api/v1/accounts/*/users/*', async (route) => {
      if (route.request().method() !== 'PATCH') return route.continue();
      const body = JSON.parse(route.request().postData());
      body.languages = ['english!'];
      await route.continue({ postData: JSON.stringify(body) });
    });
    await dialog.getByTestId('edit-user-save').click();
    const langErr = fieldError(dialog, 'languages');
    await langErr.waitFor();
    assert.ok((await langErr.innerText()).trim().length > 0);
    assert.ok(await dialog.isVisible(), 'the dialog stays open');
    await page.unroute('**/api/v1/accounts/*/users/*');

    await dialog.getByTestId('edit-user-save').click();
    await dialog.waitFor({ state: 'hidden' });
    await toast(`${cat.name} was saved.`).first().waitFor();
    const users = (await api('GET', '/users?limit=200')).body.data;
    const saved = users.find((u) => u.id === cat.id);
    assert.equal(saved.capacity, 2);
    assert.deepEqual(saved.skills, [{ name: 'billing', level: 4 }]);
    assert.deepEqual(saved.languages, ['zh']);
    assert.equal(saved.region, 'CN');
    const row = page.getByTestId('users-table').locator('tr.el-table__row', { hasText: cat.email });
    await row.locator('[data-skill="billing"][data-level="4"]').waitFor();
    assert.match(await row.innerText(), /billing ·4/);
    await page.screenshot({ path: join(outDir, 'routing-users.png') });
  });

  it('adds a user with a capacity and a region', async () => {
    await page.getByRole('button', { name: 'Add user' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add user' });
    await dialog.waitFor();
    await dialog.getByLabel('Name').fill('Dee Dawson');
    await dialog.getByLabel('E-mail').fill('dee@example.com');
    await dialog.getByLabel('Password', { exact: true }).fill('agent-password-4');
    await dialog.getByText('No limit', { exact: true }).click();
    const cap = dialog.locator('[data-field="capacity"] .el-input-number input');
    await cap.fill('3');
    await cap.press('Tab');
    await dialog.getByLabel('Region').fill('Europe');
    await dialog.getByRole('button', { name: 'Add user' }).click();
    await dialog.waitFor({ state: 'hidden' });
    const row = page.getByTestId('users-table').locator('tr.el-table__row', { hasText: 'dee@example.com' });
    await row.locator('[data-testid="load"][data-capacity="3"]').waitFor();
    assert.match(await row.innerText(), /Europe/);
    const dee = (await api('GET', '/users?limit=200')).body.data.find((u) => u.email === 'dee@example.com');
    assert.equal(dee.capacity, 3);
    assert.equal(dee.region, 'Europe');
  });

  it('sets the inbox to "least busy" in its Routing tab', async () => {
    await page.goto(`${server.url}/#/accounts/${aid}/settings/inboxes/${inbox.id}?tab=routing`);
    const tab = page.getByTestId('inbox-routing');
    await tab.waitFor();
    await tab.getByText('Each conversation goes to the eligible agent with the fewest open conversations.').waitFor();
    await tab.locator('[data-strategy="least_busy"]').click();
    // Weights are only for "weighted".
    assert.equal(await tab.getByTestId('routing-weights').count(), 0);
    await tab.locator('[data-strategy="weighted"]').click();
    await tab.getByTestId('routing-weights').waitFor();
    await tab.locator('[data-strategy="least_busy"]').click();
    await page.getByTestId('routing-save').click();
    await toast('Saved.').first().waitFor();
    // The toast can be the previous step's, still on screen: wait for the saved state itself (5 s at most).
    let ib;
    for (let i = 0; i < 50; i++) {
      ib = (await api('GET', `/inboxes/${inbox.id}`)).body;
      if (ib.routing.strategy === 'least_busy') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(ib.routing.strategy, 'least_busy');
    await page.screenshot({ path: join(outDir, 'routing-inbox.png') });
  });

  it('holds a member to a capacity in this inbox', async () => {
    const ann = agents[0];
    await page.getByRole('tab', { name: 'Members' }).click();
    const row = page.getByTestId(`member-capacity-${ann.id}`);
    await row.waitFor();
    await row.getByText('own capacity 2').waitFor();
    const input = row.locator('.el-input-number input');
    await input.fill('2');
    await input.press('Tab');
    await row.getByRole('button', { name: 'Save' }).click();
    await toast(`Capacity of ${ann.name} saved.`).first().waitFor();
    const m = (await api('GET', `/inboxes/${inbox.id}/members`)).body.data;
    assert.equal(m.find((x) => x.id === ann.id).capacity, 2);
    // Back to her own capacity.
    await row.getByRole('button', { name: 'Use own' }).click();
    await row.getByRole('button', { name: 'Save' }).click();
    await page.waitForFunction(async ({ url }) => {
      const r = await fetch(url);
      const body = await r.json();
      return body.data.every((x) => x.capacity === null);
    }, { url: `${server.url}/api/v1/accounts/${aid}/inboxes/${inbox.id}/members` });
  });

  it('creates a routing rule', async () => {
    await page.getByRole('menuitem', { name: 'Routing rules' }).click();
    await page.waitForURL(/#\/accounts\/\d+\/settings\/routing_rules$/);
    await page.getByRole('heading', { name: 'Routing rules' }).waitFor();
    await page.getByTestId('add-rule').click();
    const dialog = page.getByRole('dialog', { name: 'New routing rule' });
    await dialog.waitFor();
    // Nothing to do yet: the page says so before anything is sent.
    await dialog.getByTestId('rule-save').click();
    await fieldError(dialog, 'name').filter({ hasText: 'Enter a name.' }).waitFor();
    await dialog.getByLabel('Rule', { exact: true }).fill(RULE);
    await dialog.getByLabel('Value of condition 1').fill('refund');
    await dialog.getByTestId('rule-save').click();
    await fieldError(dialog, 'actions').filter({ hasText: 'Choose at least one thing the rule does' }).waitFor();
    await dialog.getByTestId('action-priority').click();
    await page.getByRole('option', { name: 'High', exact: true }).click();
    await dialog.getByTestId('rule-save').click();
    await dialog.waitFor({ state: 'hidden' });
    await toast(`Rule ${RULE} was created.`).first().waitFor();

    const row = page.getByTestId('rules-table').locator('tr.el-table__row', { hasText: RULE });
    await row.waitFor();
    assert.match(await row.innerText(), /First message contains “refund”/);
    assert.match(await row.innerText(), /Priority: High/);
    const rules = (await api('GET', '/routing_rules')).body.data;
    assert.equal(rules.length, 1);
    assert.equal(rules[0].name, RULE);
    assert.equal(rules[0].inbox_id, null);
    assert.equal(rules[0].enabled, true);
    assert.deepEqual(rules[0].conditions, [{ field: 'message', operator: 'contains', value: 'refund' }]);
    assert.equal(rules[0].actions.priority, 'high');
    await page.screenshot({ path: join(outDir, 'routing-rules.png') });
  });

  it('opens the live queue; the agents come online', async () => {
    await page.getByRole('menuitem', { name: 'Live queue' }).click();
    await page.waitForURL(/#\/accounts\/\d+\/queue/);
    await page.getByRole('heading', { name: 'Live queue' }).waitFor();
    await queueCard().click();
    await queueCard().locator('[data-testid="queue-size"]').filter({ hasText: /^0$/ }).waitFor();
    for (const a of agents) await agentRow(a).waitFor();
    assert.equal(await agentRow(agents[0]).getAttribute('data-online'), 'false');

    for (const a of agents) {
      const r = await server.request('PUT', '/api/v1/me/availability', { token: a.token, body: { status: 'online' } });
      assert.equal(r.status, 200, r.text);
      const ws = await openWs(server.port, `/ws?token=${a.token}&account_id=${aid}`);
      assert.equal(ws.status, 101, ws.text);
      a.ws = ws.ws;
      await a.ws.waitFor((e) => e.json?.type === 'hello', 5000, 'agent hello');
    }
    // Presence frames reach the panel, which re-fetches.
    for (const a of agents) await page.locator(`[data-testid="queue-agent-${a.id}"][data-online="true"]`).waitFor();
    await waitLoads([0, 0, 0]);
  });

  it('six visitors are shared 2/2/2', async () => {
    for (let i = 0; i < 6; i++) await nodeVisitor(`Question number ${i + 1}`);
    await waitLoads([2, 2, 2]);
    for (const a of agents) {
      const mine = (await api('GET', `/conversations?assignee=me&inbox_id=${inbox.id}`, undefined, a.token)).body.data;
      assert.equal(mine.length, 2, `${a.name} has two`);
    }
    await queueCard().locator('[data-testid="queue-size"]').filter({ hasText: /^0$/ }).waitFor();
  });

  it('the seventh, a real widget, waits first in line and is told so', async () => {
    await visitor.goto(`${server.url}/demo?widget_token=${inbox.widget_token}`);
    await widget().locator('button.launcher').click();
    const ta = widget().locator('.panel textarea');
    await ta.waitFor();
    await ta.fill(SEVENTH);
    await ta.press('Enter');
    await widget().locator('.msg.me[data-id]', { hasText: SEVENTH }).waitFor();

    // The widget's banner: position 1 is "next".
    const banner = widget().locator('.queue');
    await banner.filter({ hasText: 'You are next in line' }).waitFor();
    assert.match(await banner.innerText(), /You are next in line( · about \d+ min| · under a minute)?/);
    await visitor.screenshot({ path: join(outDir, 'routing-widget.png') });

    // The panel: one waiting, at position 1, high priority by the rule, loads still 2/2/2.
    await queueCard().locator('[data-testid="queue-size"]').filter({ hasText: /^1$/ }).waitFor();
    const table = page.getByTestId('queue-table');
    const row = table.locator('tr.el-table__row');
    await row.first().waitFor();
    assert.equal(await row.count(), 1);
    assert.equal((await row.getByTestId('queue-position').innerText()).trim(), '1');
    const q = (await api('GET', `/inboxes/${inbox.id}/queue`)).body;
    assert.equal(q.data.length, 1);
    seventhId = q.data[0].conversation_id;
    const conv = (await api('GET', `/conversations/${seventhId}`)).body;
    assert.equal(q.data[0].priority, 'high', `the rule sets a high priority: ${JSON.stringify({ queue: q.data[0], priority: conv.priority })}`);
    await row.locator('[data-priority="high"]').waitFor();
    await waitLoads([2, 2, 2]);
    // The waiting time ticks by itself.
    const before = await row.getByTestId('queue-waiting').innerText();
    await sleep(2200);
    const later = await row.getByTestId('queue-waiting').innerText();
    assert.notEqual(later, before, `waiting time ticks (${before} → ${later})`);
    // The contact links to the conversation.
    assert.match(await row.getByTestId('queue-contact').getAttribute('href'), new RegExp(`#/accounts/${aid}/conversations/${seventhId}$`));
    await page.screenshot({ path: join(outDir, 'routing-queue.png') });
  });

  it('an agent resolves one: the waiting conversation is assigned and the queue is empty', async () => {
    const ann = agents[0];
    const mine = (await api('GET', `/conversations?assignee=me&inbox_id=${inbox.id}`, undefined, ann.token)).body.data;
    const r = await api('PATCH', `/conversations/${mine[0].id}`, { status: 'resolved' }, ann.token);
    assert.equal(r.status, 200, r.text);
    await queueCard().locator('[data-testid="queue-size"]').filter({ hasText: /^0$/ }).waitFor();
    await page.getByTestId('queue-table').getByText('Nobody is waiting.').waitFor();
    await waitLoads([2, 2, 2]);
    const c = (await api('GET', `/conversations/${seventhId}`)).body;
    assert.equal(c.assignee_id, ann.id);
    // The visitor's banner goes away.
    await widget().locator('.queue').waitFor({ state: 'hidden' });
  });

  it('transfers the conversation with a note; the history shows it', async () => {
    await page.goto(`${server.url}/#/accounts/${aid}/conversations/${seventhId}`);
    await page.getByTestId('conversation-pane').waitFor();
    const history = page.getByTestId('assignment-history');
    await history.getByTestId('assignment-entry').filter({ hasText: 'Automatic' }).filter({ hasText: 'Ann Archer' }).waitFor();

    await page.getByTestId('transfer-button').click();
    const dialog = page.getByRole('dialog', { name: 'Transfer the conversation' });
    await dialog.waitFor();
    await dialog.getByTestId('transfer-submit').click();
    await dialog.getByText('Choose an agent, a team or both.').waitFor();
    await dialog.getByTestId('transfer-agent').click();
    const option = page.getByRole('option', { name: /Cat Chen/ });
    await option.waitFor();
    // Each agent shows their load against their capacity.
    await option.locator('[data-testid="load"][data-load="2"][data-capacity="2"]').waitFor();
    await option.click();
    await dialog.locator('[data-field="note"] textarea').fill(NOTE);
    await dialog.getByTestId('transfer-submit').click();
    await dialog.waitFor({ state: 'hidden' });
    await toast('Transferred to Cat Chen.').first().waitFor();

    const entry = history.getByTestId('assignment-entry').filter({ hasText: 'Transfer' });
    await entry.waitFor();
    assert.match(await entry.innerText(), /Cat Chen/);
    assert.equal((await entry.getByTestId('assignment-note').innerText()).trim(), NOTE);
    const c = (await api('GET', `/conversations/${seventhId}`)).body;
    assert.equal(c.assignee_id, agents[2].id);
    const h = (await api('GET', `/conversations/${seventhId}/assignments`)).body.data;
    assert.deepEqual(h.map((x) => x.reason), ['auto', 'transfer']);
    assert.equal(h[1].note, NOTE);
    await page.screenshot({ path: join(outDir, 'routing-transfer.png') });
  });

  it('"Why this agent?" lists the three candidates', async () => {
    await page.getByTestId('why-agent').click();
    const drawer = page.getByRole('dialog', { name: 'Why this agent?' });
    await drawer.waitFor();
    await drawer.getByTestId('explain-strategy').filter({ hasText: 'Least busy' }).waitFor();
    await drawer.getByTestId('explain-chosen').filter({ hasText: 'Ann Archer' }).waitFor();
    const names = drawer.getByTestId('candidate-name');
    await names.nth(2).waitFor();
    assert.equal(await names.count(), 3);
    const all = (await names.allInnerTexts()).map((s) => s.trim()).sort();
    assert.deepEqual(all, ['Ann Archer', 'Ben Brooks', 'Cat Chen']);
    // Ann was eligible; the other two were full.
    assert.equal(await drawer.getByTestId('candidate-eligible').count(), 1);
    assert.equal(await drawer.getByTestId('candidate-excluded').filter({ hasText: 'At capacity' }).count(), 2);
    await page.screenshot({ path: join(outDir, 'routing-explain.png') });
    await page.keyboard.press('Escape');
    await drawer.waitFor({ state: 'hidden' });
  });

  it('shows the queue page in Chinese', async () => {
    await page.getByRole('menuitem', { name: 'Live queue' }).click();
    await page.getByRole('heading', { name: 'Live queue' }).waitFor();
    await page.getByTestId('lang-switch').click();
    await page.getByRole('menuitem', { name: '中文' }).click();
    await page.getByRole('heading', { name: '排队监控' }).waitFor();
    await page.getByRole('menuitem', { name: '分配规则' }).waitFor();
    await page.getByTestId('queue-table').getByRole('columnheader', { name: '预计等待' }).waitFor();
    await page.getByTestId('queue-table').getByText('没有人在排队。').waitFor();
    await page.screenshot({ path: join(outDir, 'routing-queue-zh.png') });
    await page.getByTestId('lang-switch').click();
    await page.getByRole('menuitem', { name: 'English' }).click();
    await page.getByRole('heading', { name: 'Live queue' }).waitFor();
  });

  it('an agent reads the rules, has no queue page and no "Why this agent?"', async () => {
    const ctx = await browser.newContext({ locale: 'en-US', viewport: { width: 1440, height: 900 } });
    const p = await ctx.newPage();
    p.setDefaultTimeout(15000);
    p.on('pageerror', (e) => pageErrors.push(e));
    const ben = agents[1];
    await p.goto(server.url + '/');
    await p.getByLabel('E-mail').fill(ben.email);
    await p.getByLabel('Password', { exact: true }).fill(ben.password);
    await p.getByLabel('Password', { exact: true }).press('Enter');
    await p.waitForURL(/#\/accounts\/\d+\/conversations$/);
    assert.equal(await p.getByRole('menuitem', { name: 'Live queue' }).count(), 0);
    await p.getByRole('menuitem', { name: 'Routing rules' }).click();
    await p.getByText('Only admins can change routing rules.').waitFor();
    await p.getByTestId('rules-table').locator('tr.el-table__row', { hasText: RULE }).waitFor();
    assert.equal(await p.getByTestId('add-rule').count(), 0);
    // Typing the queue's address does not open it.
    await p.goto(`${server.url}/#/accounts/${aid}/queue`);
    await p.waitForURL(new RegExp(`#/accounts/${aid}/conversations$`));
    const mine = (await api('GET', `/conversations?assignee=me&inbox_id=${inbox.id}`, undefined, ben.token)).body.data;
    await p.goto(`${server.url}/#/accounts/${aid}/conversations/${mine[0].id}`);
    await p.getByTestId('assignment-history').getByTestId('assignment-entry').first().waitFor();
    await p.getByTestId('transfer-button').waitFor();
    assert.equal(await p.getByTestId('why-agent').count(), 0);
    await ctx.close();
  });

  it('raised no uncaught errors in either page', () => {
    assert.deepEqual(pageErrors.map((e) => e.message), []);
  });
});
