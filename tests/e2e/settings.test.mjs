// End-to-end test of the settings pages (inboxes and teams) against the real parleyd, in Debian's
// Chromium (playwright-core). The admin creates an inbox, gives it a greeting, a title and a colour, builds
// a pre-chat form (and is told when a field name is bad, by the page and by the server), chooses members,
// copies the install snippet with the inbox's token, opens /demo?widget_token=... and sees that inbox's widget
// (in <parley-widget>'s open shadow root; playwright's CSS locators pierce it), creates a team with a
// member, looks at the pages in Chinese, and deletes an inbox. A supervisor reads without edit controls.
//
// Needs: `npm ci` here, web/dist built (`cd web && npm ci && npm run build`), and parleyd built.
// Run: cd tests/e2e && node --test settings.test.mjs
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

const AGENT = { name: 'Alice Agent', email: 'alice.agent@example.com', password: 'agent-password-1', role: 'agent' };
const SUPERVISOR = { name: 'Sam Supervisor', email: 'sam.super@example.com', password: 'super-password-1', role: 'supervisor' };
const INBOX = {
  name: 'Tea Shop',
  title: 'Tea Shop Help',
  greeting: 'Welcome to the tea shop! Ask us anything about <b>tea</b>.',
  color: '#b4441c',
};

describe('settings', () => {
  let server;
  let browser;
  let context;
  let page;
  let token;
  let aid;
  let inboxId;
  let agentId;
  const pageErrors = [];

  before(async () => {
    assert.ok(existsSync(join(webDist, 'index.html')), `${webDist}/index.html missing: build web/ first`);
    mkdirSync(outDir, { recursive: true });
    server = await startServer({ env: { PARLEY_WEB_DIR: webDist } });
    ({ token } = await server.login());
    const me = await server.request('GET', '/api/v1/me', { token });
    aid = me.body.accounts[0].id;
    for (const u of [AGENT, SUPERVISOR]) {
      const r = await server.request('POST', `/api/v1/accounts/${aid}/users`, { token, body: u });
      assert.equal(r.status, 201, r.text);
      if (u === AGENT) agentId = r.body.id;
    }

    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    // en-US so the console starts in English whatever the machine's locale.
    context = await browser.newContext({ locale: 'en-US', viewport: { width: 1366, height: 900 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    page = await context.newPage();
    page.setDefaultTimeout(15000);
    page.on('pageerror', (e) => pageErrors.push(e));
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

  async function login(email, password) {
    await page.waitForURL(/#\/login/);
    await page.getByLabel('E-mail').fill(email);
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByLabel('Password', { exact: true }).press('Enter');
    await page.waitForURL(/#\/accounts\/\d+\/conversations$/);
  }

  async function logout() {
    await page.getByTestId('user-menu').click();
    await page.getByRole('menuitem', { name: /^(Log out|退出登录)$/ }).click();
    await page.waitForURL(/#\/login/);
  }

  const toast = (text) => page.locator('.el-message').filter({ hasText: text });
  // A row by the inbox's exact name (every web inbox's row also says "Website chat").
  const inboxRow = (name) => page.getByTestId('inboxes-table').locator('tr.el-table__row', {
    has: page.locator('a.name', { hasText: new RegExp(`^${name}$`) }),
  });
  const teamRow = (text) => page.getByTestId('teams-table').locator('tr.el-table__row', { hasText: text });
  const tab = (name) => page.getByRole('tab', { name });
  const prechatRow = (i) => page.getByTestId(`prechat-row-${i}`);
  const fieldError = (scope, field) => scope.locator(`[data-field="${field}"] .el-form-item__error`);

  async function getInbox(id) {
    const r = await server.request('GET', `/api/v1/accounts/${aid}/inboxes/${id}`, { token });
    assert.equal(r.status, 200, r.text);
    return r.body;
  }

  // ---- the flow ----

  it('lists the first inbox with its member count', async () => {
    await page.goto(server.url + '/');
    await login(ADMIN_EMAIL, ADMIN_PASSWORD);
    await page.getByRole('menuitem', { name: 'Inboxes' }).click();
    await page.waitForURL(/#\/accounts\/\d+\/settings\/inboxes$/);
    await page.getByRole('heading', { name: 'Inboxes' }).waitFor();
    const website = inboxRow('Website');
    await website.waitFor();
    assert.match(await website.innerText(), /Website chat/);
    // The first start makes the admin a member of "Website".
    await website.getByTestId('members-count').filter({ hasText: '1' }).waitFor();
  });

  it('creates an inbox and opens it', async () => {
    await page.getByRole('button', { name: 'New inbox' }).click();
    const dialog = page.getByRole('dialog', { name: 'New inbox' });
    await dialog.waitFor();
    // An empty name is caught before anything is sent.
    await dialog.getByRole('button', { name: 'Create inbox' }).click();
    await fieldError(dialog, 'name').filter({ hasText: 'Enter a name.' }).waitFor();
    await dialog.getByLabel('Name').fill(INBOX.name);
    await dialog.getByRole('button', { name: 'Create inbox' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.waitForURL(/#\/accounts\/\d+\/settings\/inboxes\/\d+/);
    inboxId = Number(/settings\/inboxes\/(\d+)/.exec(page.url())[1]);
    await page.getByTestId('inbox-title').filter({ hasText: INBOX.name }).waitFor();
    assert.equal((await getInbox(inboxId)).channel, 'web');
    // The menu keeps "Inboxes" highlighted on the inbox's page.
    assert.match(await page.getByRole('menuitem', { name: 'Inboxes' }).getAttribute('class'), /is-active/);
  });

  it('sets the greeting, title and colour with a live preview', async () => {
    const form = page.getByTestId('inbox-settings');
    await form.getByLabel('Greeting').fill(INBOX.greeting);
    await form.getByLabel('Widget title').fill(INBOX.title);

    // The colour picker: a preset swatch, then OK; the hex box follows.
    await form.locator('[data-field="widget_color"] .el-color-picker__trigger').click();
    const dropdown = page.locator('.el-color-picker__panel:visible, .el-color-dropdown:visible').first();
    await dropdown.waitFor();
    await dropdown.locator('.el-color-predefine__color-selector').nth(2).click();
    await dropdown.getByRole('button', { name: 'OK' }).click();
    const hex = form.locator('[data-field="widget_color"] input[name="widget_color"]');
    await page.waitForFunction((el) => el.value === '#1a7f37', await hex.elementHandle());

    // A bad hex is caught; a good one is taken.
    await hex.fill('#12345');
    await hex.blur();
    await fieldError(form, 'widget_color').filter({ hasText: 'Enter a colour like #1f6feb.' }).waitFor();
    await hex.fill(INBOX.color);
    await hex.blur();
    await fieldError(form, 'widget_color').waitFor({ state: 'detached' });

    const preview = page.getByTestId('widget-preview');
    await preview.getByTestId('preview-title').filter({ hasText: INBOX.title }).waitFor();
    // Text, not markup: the <b> in the greeting shows as typed.
    assert.equal(await preview.getByTestId('preview-greeting').innerText(), INBOX.greeting);
    assert.equal(await preview.locator('b').count(), 0);
    const bg = await preview.locator('.launcher').evaluate((el) => getComputedStyle(el).backgroundColor);
    assert.equal(bg, 'rgb(180, 68, 28)');

    await page.getByTestId('settings-save').click();
    await toast('Saved.').first().waitFor();
    const ib = await getInbox(inboxId);
    assert.equal(ib.greeting, INBOX.greeting);
    assert.equal(ib.widget_title, INBOX.title);
    assert.equal(ib.widget_color, INBOX.color);
    await page.screenshot({ path: join(outDir, 'settings-inbox.png') });
  });

  it('shows the server\'s 422 under the field it names', async () => {
    // The page checks lengths itself; send a 61-character title past it to hear the server.
    const form = page.getByTestId('inbox-settings');
    const title = form.getByLabel('Widget title');
    await title.evaluate((el) => el.removeAttribute('maxlength'));
    await page.route('**/api/v1/accounts/*/inboxes/*', async (route) => {
      if (route.request().method() !== 'PATCH') return route.continue();
      const body = JSON.parse(route.request().postData());
      body.widget_title = 'x'.repeat(61);
      await route.continue({ postData: JSON.stringify(body) });
    });
    await title.fill('Tea Shop Help!');
    await page.getByTestId('settings-save').click();
    const err = fieldError(form, 'widget_title');
    await err.waitFor();
    assert.match(await err.innerText(), /widget_title must be at most 60 characters/);
    await page.unroute('**/api/v1/accounts/*/inboxes/*');
    // Typing again clears it; discarding puts the saved value back.
    await title.fill(INBOX.title + ' ');
    await err.waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Discard changes' }).first().click();
    assert.equal(await title.inputValue(), INBOX.title);
  });

  it('builds a pre-chat form and rejects a bad field name', async () => {
    await tab('Pre-chat form').click();
    await page.waitForURL(/tab=prechat/);
    const builder = page.getByTestId('prechat-builder');
    await builder.getByText('No fields: visitors start chatting right away.').waitFor();
    await page.getByTestId('prechat-add').click();
    const row = prechatRow(0);
    await row.waitFor();

    // A bad name: the page says so before sending anything.
    await row.getByLabel('Name').fill('Order Number');
    await row.getByLabel('Label').fill('Order number');
    await page.getByTestId('prechat-save').click();
    await fieldError(row, 'name').filter({ hasText: 'Use lower-case letters, digits and _' }).waitFor();
    assert.deepEqual((await getInbox(inboxId)).prechat_fields, [], 'nothing was saved');
    await page.screenshot({ path: join(outDir, 'settings-prechat-error.png') });

    // The server's own check, reached past the page's (the request is changed on the way): its message
    // goes under the row the server names in "prechat_fields[0]: ...".
    await row.getByLabel('Name').fill('order_number');
    await fieldError(row, 'name').waitFor({ state: 'detached' });
    await page.route('**/api/v1/accounts/*/inboxes/*', async (route) => {
      if (route.request().method() !== 'PATCH') return route.continue();
      const body = JSON.parse(route.request().postData());
      body.prechat_fields[0].name = 'Order Number';
      await route.continue({ postData: JSON.stringify(body) });
    });
    await page.getByTestId('prechat-save').click();
    await fieldError(row, 'name').filter({ hasText: 'lower-case letters, digits and _' }).waitFor();
    await page.unroute('**/api/v1/accounts/*/inboxes/*');
    assert.deepEqual((await getInbox(inboxId)).prechat_fields, []);

    // Fixed: a required number field, then a second field moved to the top.
    await row.getByLabel('Name').fill('order_no');
    await fieldError(row, 'name').waitFor({ state: 'detached' });
    await row.locator('[data-field="type"] .el-select__wrapper').click();
    await page.getByRole('option', { name: 'Number' }).click();
    await row.locator('.el-checkbox').click();
    await page.getByTestId('prechat-add').click();
    await prechatRow(1).getByLabel('Name').fill('city');
    await prechatRow(1).getByLabel('Label').fill('Your city');
    await page.getByRole('button', { name: 'Move field 2 up' }).click();
    assert.equal(await prechatRow(0).getByLabel('Name').inputValue(), 'city');
    await page.getByTestId('prechat-save').click();
    await toast('Saved.').first().waitFor();
    assert.deepEqual((await getInbox(inboxId)).prechat_fields, [
      { name: 'city', label: 'Your city', type: 'text', required: false },
      { name: 'order_no', label: 'Order number', type: 'number', required: true },
    ]);
    await page.screenshot({ path: join(outDir, 'settings-prechat.png') });
  });

  it('chooses the members', async () => {
    await tab('Members').click();
    const members = page.getByTestId('inbox-members');
    await members.getByTestId('inbox-members-select').click();
    await page.getByRole('option', { name: new RegExp(AGENT.name) }).click();
    await members.locator('.intro').click(); // close the dropdown
    await page.getByTestId('members-save').click();
    await toast('Members saved.').first().waitFor();
    const r = await server.request('GET', `/api/v1/accounts/${aid}/inboxes/${inboxId}/members`, { token });
    assert.ok(r.body.user_ids.includes(agentId), JSON.stringify(r.body));
  });

  it('gives the install snippet with the token and copies it', async () => {
    const { widget_token: widgetToken } = await getInbox(inboxId);
    assert.match(widgetToken, /^[0-9a-f]{16,}$/);
    await tab('Install').click();
    const snippet = page.getByTestId('install-snippet');
    const expected = `<script src="${server.url}/widget.js" data-widget-token="${widgetToken}" defer></script>`;
    assert.equal((await snippet.innerText()).trim(), expected);
    await page.getByTestId('install-copy').click();
    await toast('Copied to the clipboard.').first().waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), expected);
    const install = page.getByTestId('inbox-install');
    assert.match(await install.innerText(), /data-locale="zh-CN"/);
    assert.match(await install.innerText(), /data-position="left"/);
    await page.screenshot({ path: join(outDir, 'settings-install.png') });
  });

  it('opens the demo page with this inbox\'s widget', async () => {
    const link = page.getByRole('link', { name: 'Open the demo page' });
    const { widget_token: widgetToken } = await getInbox(inboxId);
    assert.equal(await link.getAttribute('href'), `${server.url}/demo?widget_token=${widgetToken}`);
    assert.equal(await link.getAttribute('target'), '_blank');
    const [demo] = await Promise.all([context.waitForEvent('page'), link.click()]);
    demo.setDefaultTimeout(15000);
    demo.on('pageerror', (e) => pageErrors.push(e));
    await demo.waitForLoadState();
    assert.match(demo.url(), new RegExp(`/demo\\?widget_token=${widgetToken}$`));
    const widget = demo.locator('parley-widget');
    const launcher = widget.locator('button.launcher');
    await launcher.waitFor();
    // The widget starts its session when opened; then the title and colour are the inbox's.
    await launcher.click();
    await widget.locator('.panel .title').filter({ hasText: INBOX.title }).waitFor();
    assert.equal(await launcher.evaluate((el) => getComputedStyle(el).backgroundColor), 'rgb(180, 68, 28)');
    const greeting = widget.locator('.msg.them .bub').filter({ hasText: 'Welcome to the tea shop!' });
    await greeting.waitFor();
    assert.equal(await greeting.innerText(), INBOX.greeting);
    // The pre-chat form asks the two questions.
    await widget.getByLabel('Your city').waitFor();
    await widget.getByLabel(/Order number/).waitFor();
    await demo.screenshot({ path: join(outDir, 'settings-demo.png') });
    await demo.close();
  });

  it('creates a team with a member', async () => {
    await page.getByRole('menuitem', { name: 'Teams' }).click();
    await page.waitForURL(/#\/accounts\/\d+\/settings\/teams$/);
    await page.getByRole('heading', { name: 'Teams' }).waitFor();
    await page.getByRole('button', { name: 'New team' }).click();
    const dialog = page.getByRole('dialog', { name: 'New team' });
    await dialog.waitFor();
    await dialog.getByLabel('Name').fill('Tea experts');
    await dialog.getByTestId('team-members-select').click();
    await page.getByRole('option', { name: new RegExp(AGENT.name) }).click();
    await dialog.locator('.el-dialog__title').click(); // close the dropdown
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await toast('Team Tea experts was created.').first().waitFor();
    const row = teamRow('Tea experts');
    await row.waitFor();
    assert.match(await row.innerText(), new RegExp(AGENT.name));
    const r = await server.request('GET', `/api/v1/accounts/${aid}/teams`, { token });
    assert.deepEqual(r.body.data.map((t) => [t.name, t.member_ids]), [['Tea experts', [agentId]]]);

    // Rename it.
    await page.getByRole('button', { name: 'Edit Tea experts' }).click();
    const edit = page.getByRole('dialog', { name: 'Edit team' });
    await edit.getByLabel('Name').fill('Tea masters');
    await edit.getByRole('button', { name: 'Save' }).click();
    await edit.waitFor({ state: 'hidden' });
    await teamRow('Tea masters').waitFor();
    await page.screenshot({ path: join(outDir, 'settings-teams.png') });
  });

  it('shows the pages in Chinese', async () => {
    await page.getByTestId('lang-switch').click();
    await page.getByRole('menuitem', { name: '中文' }).click();
    await page.getByRole('heading', { name: '团队' }).waitFor();
    await page.getByRole('button', { name: '新建团队' }).waitFor();
    await teamRow('Tea masters').waitFor();
    await page.getByRole('button', { name: '编辑 Tea masters' }).click();
    const edit = page.getByRole('dialog', { name: '编辑团队' });
    await edit.getByText('Alice Agent').waitFor();
    await page.screenshot({ path: join(outDir, 'settings-teams-zh.png') });
    await edit.getByRole('button', { name: '取消' }).click();
    await edit.waitFor({ state: 'hidden' });
    await page.getByRole('menuitem', { name: '接入渠道' }).click();
    await page.getByRole('heading', { name: '接入渠道' }).waitFor();
    await inboxRow(INBOX.name).getByText('网站聊天').waitFor();
    await page.getByRole('button', { name: '新建接入渠道' }).click();
    const create = page.getByRole('dialog', { name: '新建接入渠道' });
    await create.getByRole('button', { name: '创建' }).click();
    await fieldError(create, 'name').filter({ hasText: '请输入名称。' }).waitFor();
    await page.screenshot({ path: join(outDir, 'settings-inboxes-zh.png') });
    await create.getByRole('button', { name: '取消' }).click();
    await create.waitFor({ state: 'hidden' });
    await inboxRow(INBOX.name).getByRole('link').click();
    for (const name of ['设置', '咨询前表单', '成员', '安装']) await tab(name).waitFor();
    await page.getByTestId('inbox-settings').getByText('欢迎语').waitFor();
    await page.getByTestId('widget-preview').getByText('在线').waitFor();
    await page.screenshot({ path: join(outDir, 'settings-inbox-zh.png') });
    await tab('成员').click();
    await page.getByTestId('inbox-members').getByText('负责此接入渠道的客服').waitFor();
    await page.screenshot({ path: join(outDir, 'settings-members-zh.png') });
    await tab('安装').click();
    await page.getByRole('link', { name: '打开演示页面' }).waitFor();
    await page.screenshot({ path: join(outDir, 'settings-install-zh.png') });
    await tab('咨询前表单').click();
    await page.getByRole('button', { name: '添加字段' }).waitFor();
    await page.screenshot({ path: join(outDir, 'settings-prechat-zh.png') });
    await page.getByTestId('lang-switch').click();
    await page.getByRole('menuitem', { name: 'English' }).click();
    await tab('Pre-chat form').waitFor();
  });

  it('creates an API inbox and deletes it after confirming', async () => {
    await page.getByRole('menuitem', { name: 'Inboxes' }).click();
    await page.getByRole('button', { name: 'New inbox' }).click();
    const dialog = page.getByRole('dialog', { name: 'New inbox' });
    await dialog.getByLabel('Name').fill('Mobile app');
    await dialog.getByText('API', { exact: true }).click();
    await dialog.getByRole('button', { name: 'Create inbox' }).click();
    await page.getByTestId('inbox-title').filter({ hasText: 'Mobile app' }).waitFor();
    await tab('Install').click();
    await page.getByText('API inboxes have no widget').waitFor();

    await page.getByTestId('delete-inbox').click();
    const confirm = page.getByRole('dialog', { name: 'Delete inbox' });
    await confirm.getByText('Delete the inbox Mobile app?').waitFor();
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await page.getByTestId('inbox-title').filter({ hasText: 'Mobile app' }).waitFor();
    await page.getByTestId('delete-inbox').click();
    await confirm.getByRole('button', { name: 'Delete' }).click();
    await page.waitForURL(/#\/accounts\/\d+\/settings\/inboxes$/);
    await toast('Inbox Mobile app was deleted.').first().waitFor();
    await inboxRow(INBOX.name).waitFor();
    assert.equal(await inboxRow('Mobile app').count(), 0);
  });

  it('asks before leaving unsaved changes', async () => {
    await inboxRow(INBOX.name).getByRole('link').click();
    await page.getByTestId('inbox-settings').getByLabel('Greeting').fill('Changed but not saved');
    await page.getByRole('menuitem', { name: 'Teams' }).click();
    const confirm = page.getByRole('dialog', { name: 'Unsaved changes' });
    await confirm.getByRole('button', { name: 'Stay' }).click();
    assert.match(page.url(), /settings\/inboxes\/\d+/);
    await page.getByRole('menuitem', { name: 'Teams' }).click();
    await confirm.getByRole('button', { name: 'Leave' }).click();
    await page.waitForURL(/settings\/teams$/);
    assert.equal((await getInbox(inboxId)).greeting, INBOX.greeting);
  });

  it('lets a supervisor read without edit controls', async () => {
    await logout();
    await login(SUPERVISOR.email, SUPERVISOR.password);
    await page.getByRole('menuitem', { name: 'Inboxes' }).click();
    await inboxRow(INBOX.name).waitFor();
    assert.equal(await page.getByRole('button', { name: 'New inbox' }).count(), 0);
    await inboxRow(INBOX.name).getByRole('link').click();
    await page.getByText('Only admins can change inboxes.').waitFor();
    assert.equal(await page.getByTestId('delete-inbox').count(), 0);
    assert.ok(await page.getByTestId('inbox-settings').getByLabel('Greeting').isDisabled());
    await tab('Members').click();
    await page.getByTestId('inbox-members').getByText(AGENT.email).waitFor();
    await page.getByRole('menuitem', { name: 'Teams' }).click();
    await teamRow('Tea masters').waitFor();
    assert.equal(await page.getByRole('button', { name: 'New team' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: 'Edit Tea masters' }).count(), 0);
    await logout();
  });

  it('shows an agent only the inboxes they are in, and no Inboxes menu', async () => {
    await login(AGENT.email, AGENT.password);
    assert.equal(await page.getByRole('menuitem', { name: 'Inboxes' }).count(), 0);
    await page.getByRole('menuitem', { name: 'Teams' }).waitFor();
    await page.goto(`${server.url}/#/accounts/${aid}/settings/inboxes`);
    await inboxRow(INBOX.name).waitFor();
    assert.equal(await inboxRow('Website').count(), 0);
    const website = (await server.request('GET', `/api/v1/accounts/${aid}/inboxes`, { token })).body.data
      .find((i) => i.name === 'Website');
    await page.goto(`${server.url}/#/accounts/${aid}/settings/inboxes/${website.id}`);
    await page.getByText('Inbox not found').waitFor();
    await logout();
  });

  it('raised no uncaught errors in the page', () => {
    assert.deepEqual(pageErrors.map((e) => e.message), []);
  });
});
