// End-to-end test of guided flows against the real parleyd, in Debian's Chromium (playwright-core). The admin
// opens Flows under the bot's menu group and builds a small flow in the editor: a message whose button leads to
// a question (an e-mail, with its own retry text), which leads to a handoff to the Shipping team with a note.
// The editor checks before sending (a missing name, a button without a step), a server 422 shows next to the
// field it names, and the live preview walks the flow (a wrong e-mail is asked again). In the inbox's Bot tab
// the admin offers the flow under the greeting. A visitor on /demo clicks the greeting's button and the
// step's button (which then stays in the history, inactive, marked), gets the e-mail keyboard hint, gives a
// wrong e-mail and then a right one, and is handed over. The admin, as the agent, finds the conversation in the
// workspace: the visitor's clicks, the bot's questions, the private note with the flow and the e-mail, the
// contact's e-mail and the team. The Flows page in Chinese; an agent has no Flows page.
//
// Needs: `npm ci` here, web/dist built (`cd web && npm ci && npm run build`), and parleyd built.
// Run: cd tests/e2e && node --test flows.test.mjs
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
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const FLOW = 'Parcel help';
const LABEL = 'Track a parcel';
const MENU_TEXT = 'What do you need help with?';
const BUTTON = 'Where is my parcel?';
const ASK = 'Which e-mail address did you order with?';
const RETRY = 'Hmm, that is not an e-mail address. Once more?';
const EMAIL = 'visitor@example.com';

describe('guided flows', () => {
  let server;
  let browser;
  let adminCtx;
  let visitorCtx;
  let page;
  let visitor;
  let token;
  let aid;
  let inbox;
  let team;
  let flowId;
  let convId;
  const pageErrors = [];

  before(async () => {
    assert.ok(existsSync(join(webDist, 'index.html')), `${webDist}/index.html missing: build web/ first`);
    mkdirSync(outDir, { recursive: true });
    server = await startServer({ env: { PARLEY_WEB_DIR: webDist } });
    ({ token } = await server.login());
    const me = await server.request('GET', '/api/v1/me', { token });
    aid = me.body.accounts[0].id;
    const ibs = await server.request('GET', `/api/v1/accounts/${aid}/inboxes`, { token });
    inbox = ibs.body.data.filter((i) => i.channel === 'web').sort((a, b) => a.id - b.id)[0];
    assert.ok(inbox, 'a web inbox exists');
    const tm = await server.request('POST', `/api/v1/accounts/${aid}/teams`, { token, body: { name: 'Shipping' } });
    assert.equal(tm.status, 201, tm.text);
    team = tm.body;
    // The bot answers in this inbox (its tab is tested in bot.test.mjs); the flows under its greeting come later.
    const b = await server.request('PATCH', `/api/v1/accounts/${aid}/inboxes/${inbox.id}`, { token, body: { bot: { mode: 'always', greeting: 'Hello from the shop bot!' } } });
    assert.equal(b.status, 200, b.text);

    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    adminCtx = await browser.newContext({ locale: 'en-US', viewport: { width: 1440, height: 1000 } });
    visitorCtx = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 800 } });
    page = await adminCtx.newPage();
    visitor = await visitorCtx.newPage();
    for (const p of [page, visitor]) {
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

  const api = (method, path, body, tok = token) => server.request(method, `/api/v1/accounts/${aid}${path}`, { token: tok, body });
  const toast = (text) => page.locator('.el-message').filter({ hasText: text });
  const fieldError = (scope, field) => scope.locator(`[data-field="${field}"]`).locator('.el-form-item__error');
  const widget = () => visitor.locator('parley-widget');
  const step = (i) => page.getByTestId('flow-step').nth(i);
  /** Picks an option of an Element Plus select. */
  async function choose(select, option) {
    await select.click();
    await page.getByRole('option', { name: option, exact: true }).last().click();
  }

  it('signs the admin in; Flows is in the bot menu group', async () => {
    await page.goto(server.url + '/');
    await page.getByLabel('E-mail').fill(ADMIN_EMAIL);
    await page.getByLabel('Password', { exact: true }).fill(ADMIN_PASSWORD);
    await page.getByLabel('Password', { exact: true }).press('Enter');
    await page.waitForURL(/#\/accounts\/\d+\/conversations$/);
    const group = page.getByTestId('menu-group-nav.automation');
    await group.waitFor();
    await group.getByRole('menuitem', { name: 'Flows', exact: true }).click();
    await page.waitForURL(/#\/accounts\/\d+\/bot\/flows$/);
    await page.getByRole('heading', { name: 'Flows', exact: true }).waitFor();
    await page.getByTestId('flows-table').getByText('No flows yet.').waitFor();
  });

  it('builds a flow in the editor, checked before and by the server, with a live preview', async () => {
    await page.getByTestId('add-flow').click();
    await page.waitForURL(/#\/accounts\/\d+\/bot\/flows\/new$/);
    await page.getByTestId('flow-heading').filter({ hasText: 'New flow' }).waitFor();
    assert.equal(await page.getByTestId('flow-step').count(), 1, 'a new flow starts with a message step');

    // Checked here first: no name, no text.
    await page.getByTestId('flow-save').click();
    await fieldError(page, 'name').filter({ hasText: 'Enter a name.' }).waitFor();
    await fieldError(page, 'steps[0].text').filter({ hasText: 'Enter what the bot says.' }).waitFor();

    await page.getByTestId('flow-name').fill(FLOW);
    await page.getByTestId('flow-button-label').fill(LABEL);
    await step(0).getByTestId('step-text').fill(MENU_TEXT);

    // Step 2: the question; step 3: the handoff.
    await page.getByTestId('add-step-collect').click();
    await page.getByTestId('add-step-handoff').click();
    assert.equal(await page.getByTestId('flow-step').count(), 3);
    await step(1).getByTestId('step-text').fill(ASK);
    await step(1).getByTestId('step-field').fill('email');
    await choose(step(1).getByTestId('step-field-type'), 'E-mail');
    await step(1).getByTestId('step-retry').fill(RETRY);
    await choose(step(1).getByTestId('target-type'), 'Go to step');
    await choose(step(1).getByTestId('target-step'), '3 · Hand over');
    await choose(step(2).getByTestId('step-team'), 'Shipping');
    await step(2).getByTestId('step-note').fill('Parcel question');

    // The first step's button: until it leads somewhere, the editor says so.
    await step(0).getByTestId('step-add-button').click();
    await step(0).getByTestId('button-label').fill(BUTTON);
    await page.getByTestId('flow-save').click();
    await step(0).locator('[data-field="steps[0].buttons[0].target"]').filter({ hasText: 'Choose the step it leads to.' }).waitFor();
    await choose(step(0).getByTestId('target-step'), `2 · ${ASK}`);

    // The preview walks it: the button, a wrong e-mail asked again, a right one, the handoff.
    const preview = page.getByTestId('flow-preview');
    await page.waitForTimeout(500); // the preview starts over 300 ms after the last edit
    await preview.getByTestId('preview-restart').click();
    await preview.locator('[data-who="bot"]', { hasText: MENU_TEXT }).waitFor();
    await preview.getByTestId('preview-chip').filter({ hasText: BUTTON }).click();
    await preview.locator('[data-who="bot"]', { hasText: ASK }).waitFor();
    const input = preview.getByTestId('preview-input');
    await input.fill('nope');
    await input.press('Enter');
    await preview.locator('[data-who="bot"]', { hasText: RETRY }).waitFor();
    await input.fill('someone@example.com');
    await input.press('Enter');
    await preview.locator('[data-who="sys"]', { hasText: 'Handed over to team Shipping' }).waitFor();
    assert.match(await preview.locator('[data-who="sys"]').last().innerText(), /email: someone@example\.com/);
    await page.screenshot({ path: join(outDir, 'flows-editor.png'), fullPage: true });

    // The server's 422 shows next to the field it names.
    await page.route('**/api/v1/accounts/*/bot/flows', async (route) => {
      if (route.request().method() !== 'POST') return route.continue();
      const body = JSON.parse(route.request().postData());
      body.steps[0].buttons[0].target = { type: 'faq', faq_id: 999999 };
      await route.continue({ postData: JSON.stringify(body) });
    });
    await page.getByTestId('flow-save').click();
    await step(0).locator('[data-field="steps[0].buttons[0].target"]').filter({ hasText: 'FAQ entry 999999 does not exist.' }).waitFor();
    await page.unroute('**/api/v1/accounts/*/bot/flows');

    await page.getByTestId('flow-save').click();
    await toast(`Flow ${FLOW} saved.`).first().waitFor();
    await page.waitForURL(/#\/accounts\/\d+\/bot\/flows\/\d+$/);
    flowId = Number(/flows\/(\d+)$/.exec(page.url())[1]);
    const saved = (await api('GET', `/bot/flows/${flowId}`)).body;
    assert.equal(saved.name, FLOW);
    assert.equal(saved.button_label, LABEL);
    assert.deepEqual(saved.steps.map((s) => s.kind), ['message', 'collect', 'handoff']);
    const [s1, s2, s3] = saved.steps;
    assert.deepEqual(s1.buttons, [{ label: BUTTON, target: { type: 'step', step: s2.id } }]);
    assert.equal(s2.field, 'email');
    assert.equal(s2.field_type, 'email');
    assert.equal(s2.retry_text, RETRY);
    assert.deepEqual(s2.next, { type: 'step', step: s3.id });
    assert.equal(s3.team_id, team.id);
    assert.equal(s3.note, 'Parcel question');

    // The list shows it.
    await page.getByRole('link', { name: 'Flows' }).first().click();
    const row = page.getByTestId('flows-table').locator('tr.el-table__row', { hasText: FLOW });
    await row.waitFor();
    assert.match(await row.innerText(), /3 steps/);
    assert.match(await row.innerText(), /Nothing starts it yet/);
  });

  it('offers the flow under the inbox\'s greeting', async () => {
    await page.goto(`${server.url}/#/accounts/${aid}/settings/inboxes/${inbox.id}?tab=bot`);
    const tab = page.getByTestId('inbox-bot');
    await tab.waitFor();
    await choose(tab.getByTestId('bot-greeting-flows'), LABEL);
    await page.keyboard.press('Escape');
    await page.getByTestId('bot-save').click();
    await toast('Saved.').first().waitFor();
    const ib = (await api('GET', `/inboxes/${inbox.id}`)).body;
    assert.deepEqual(ib.bot.greeting_flows, [flowId]);
    await page.goto(`${server.url}/#/accounts/${aid}/bot/flows`);
    await page.getByTestId('flows-table').locator('tr.el-table__row', { hasText: FLOW }).getByText(`greeting of ${inbox.name}`).waitFor();
  });

  it('a visitor clicks through the flow in the widget and is handed over', async () => {
    await visitor.goto(`${server.url}/demo?widget_token=${inbox.widget_token}`);
    await widget().locator('button.launcher').click();
    await widget().locator('.panel textarea').waitFor();
    const greeting = widget().locator('.body > .msg.bot', { hasText: 'Hello from the shop bot!' });
    await greeting.waitFor();
    await greeting.locator('.chip', { hasText: LABEL }).click();

    // The greeting's button is the visitor's message; the bot's first step has its button.
    await widget().locator('.list .msg.me[data-id]', { hasText: LABEL }).waitFor();
    const menu = widget().locator('.list .msg.bot', { hasText: MENU_TEXT });
    await menu.waitFor();
    const chip = menu.locator('.chip', { hasText: BUTTON });
    assert.equal(await chip.isDisabled(), false);
    await chip.click();
    await widget().locator('.list .msg.me[data-id]', { hasText: BUTTON }).waitFor();
    await widget().locator('.list .msg.bot', { hasText: ASK }).waitFor();
    // The step is past: its button stays, inactive, the chosen one marked.
    assert.equal(await chip.isDisabled(), true);
    assert.match(await chip.getAttribute('class'), /picked/);
    // The composer asks for an e-mail and brings up the e-mail keyboard.
    const ta = widget().locator('.panel textarea');
    assert.equal(await ta.getAttribute('inputmode'), 'email');
    assert.equal(await ta.getAttribute('placeholder'), 'Your e-mail address…');
    await visitor.screenshot({ path: join(outDir, 'flows-widget.png') });

    await ta.fill('not an e-mail');
    await ta.press('Enter');
    await widget().locator('.list .msg.bot', { hasText: RETRY }).waitFor();
    await ta.fill(EMAIL);
    await ta.press('Enter');
    await widget().locator('.list .msg.bot', { hasText: 'connecting you with a person' }).waitFor();
    assert.equal(await ta.getAttribute('inputmode'), null, 'no e-mail keyboard once the question is answered');
    assert.equal(await ta.getAttribute('placeholder'), 'Type a message…');

    const list = (await api('GET', `/conversations?status=all&inbox_id=${inbox.id}`)).body.data;
    assert.equal(list.length, 1);
    convId = list[0].id;
    const c = (await api('GET', `/conversations/${convId}`)).body;
    assert.equal(c.status, 'open');
    assert.equal(c.bot_state, 'handed_off');
    assert.equal(c.team_id, team.id);
  });

  it('the agent sees the clicks, the questions and the collected values', async () => {
    await page.goto(`${server.url}/#/accounts/${aid}/conversations`);
    await page.getByTestId('conversation-list').waitFor();
    await page.getByTestId('tab-all').click();
    const item = page.locator(`[data-testid="conversation-item"][data-id="${convId}"]`);
    await item.waitFor();
    await item.click();
    await page.locator(`[data-testid="conversation-pane"][data-id="${convId}"]`).waitFor();
    const msgs = page.getByTestId('message');
    const click = msgs.and(page.locator('[data-sender="contact"]')).filter({ hasText: BUTTON });
    await click.waitFor();
    await click.getByTestId('clicked-button').waitFor();
    const question = msgs.and(page.locator('[data-sender="bot"]')).filter({ hasText: ASK });
    await question.waitFor();
    const note = msgs.and(page.locator('[data-private="true"]')).filter({ hasText: 'flow: Parcel help' });
    await note.waitFor();
    assert.match(await note.innerText(), new RegExp(`email: ${EMAIL}`));
    assert.match(await note.innerText(), /note: Parcel question/);
    await page.getByTestId('contact-panel').getByTestId('contact-email').filter({ hasText: EMAIL }).waitFor();
    await page.screenshot({ path: join(outDir, 'flows-workspace.png') });
  });

  it('shows the Flows page in Chinese', async () => {
    await page.goto(`${server.url}/#/accounts/${aid}/bot/flows`);
    await page.getByRole('heading', { name: 'Flows', exact: true }).waitFor();
    await page.getByTestId('lang-switch').click();
    await page.getByRole('menuitem', { name: '中文' }).click();
    await page.getByRole('heading', { name: '流程', exact: true }).waitFor();
    await page.getByRole('menuitem', { name: '流程', exact: true }).waitFor();
    await page.getByTestId('flows-table').getByText('3 个步骤').waitFor();
    await page.getByTestId('flows-table').locator('tr.el-table__row', { hasText: FLOW }).click();
    await page.getByRole('link', { name: FLOW }).click();
    await page.getByTestId('flow-heading').filter({ hasText: '编辑流程' }).waitFor();
    await page.getByTestId('flow-preview').getByText('预览').first().waitFor();
    await page.screenshot({ path: join(outDir, 'flows-editor-zh.png'), fullPage: true });
    await page.getByTestId('lang-switch').click();
    await page.getByRole('menuitem', { name: 'English' }).click();
    await page.getByTestId('flow-heading').filter({ hasText: 'Edit flow' }).waitFor();
  });

  it('an agent has no Flows page', async () => {
    const r = await api('POST', '/users', { name: 'Fay Agent', email: 'fay@example.com', password: 'agent-password-1', role: 'agent' });
    assert.equal(r.status, 201, r.text);
    const ctx = await browser.newContext({ locale: 'en-US', viewport: { width: 1440, height: 900 } });
    const p = await ctx.newPage();
    p.setDefaultTimeout(15000);
    p.on('pageerror', (e) => pageErrors.push(e));
    await p.goto(server.url + '/');
    await p.getByLabel('E-mail').fill('fay@example.com');
    await p.getByLabel('Password', { exact: true }).fill('agent-password-1');
    await p.getByLabel('Password', { exact: true }).press('Enter');
    await p.waitForURL(/#\/accounts\/\d+\/conversations$/);
    await p.getByRole('menuitem', { name: 'Conversations', exact: true }).waitFor();
    assert.equal(await p.getByRole('menuitem', { name: 'Flows', exact: true }).count(), 0);
    await p.goto(`${server.url}/#/accounts/${aid}/bot/flows/${flowId}`);
    await p.waitForURL(new RegExp(`#/accounts/${aid}/conversations$`));
    await ctx.close();
  });

  it('raised no uncaught errors in any page', () => {
    assert.deepEqual(pageErrors.map((e) => e.message), []);
  });
});
