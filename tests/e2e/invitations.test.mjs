// End-to-end test of invitations between accounts and of one's own name, in Debian's Chromium
// (playwright-core) against the real parleyd. Account 1's admin adds Xavier in the console; two other
// accounts (made in the database while the server is stopped) add Xavier's e-mail, which invites him.
// Xavier signs in, sees both invitations in the header, declines one (after confirming), accepts the other
// and switches to that account, then changes his own name on the profile page (the page's checks, the
// server's refusal under the field, the save) and sees that an account whose admin named him keeps its name.
// Zoe, whose only link to Parley is an invitation, answers hers on the "no account" page, including one
// that was answered elsewhere meanwhile (the server's message). Screenshots at 1280x800 and 390x844, in
// English and Chinese, go to out/.
//
// Needs: `npm ci` here, web/dist built (`cd web && npm ci && npm run build`), parleyd built, sqlite3.
// Run: cd tests/e2e && node --test invitations.test.mjs
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
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

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

const X = { name: 'Xavier', email: 'xavier@example.com', password: 'xavier-own-secret-1' };
// Zoe has a login (made in the database) and no account: only invitations.
const ZOE = { email: 'zoe@example.com', password: ADMIN_PASSWORD };
const OTHER = { id: 2, name: 'Other shop', admin: 'other@example.com' };
const THIRD = { id: 3, name: 'Third shop', admin: 'third@example.com' };

describe('invitations and one\'s own name', () => {
  let first;
  let server;
  let browser;
  let context;
  let page;
  const tokens = {};
  let xId;
  const pageErrors = [];

  before(async () => {
    assert.ok(existsSync(join(webDist, 'index.html')), `${webDist}/index.html missing: build web/ first`);
    mkdirSync(outDir, { recursive: true });
    // The first start makes the database; two more accounts and Zoe go in while the server is stopped.
    first = await startServer({ env: { PARLEY_WEB_DIR: webDist } });
    await first.stop();
    const now = Date.now();
    execFileSync('sqlite3', [join(first.dataDir, 'parley.db'), `
      INSERT INTO accounts (id, name, slug, created_at) VALUES (${OTHER.id}, '${OTHER.name}', 'other', ${now});
      INSERT INTO accounts (id, name, slug, created_at) VALUES (${THIRD.id}, '${THIRD.name}', 'third', ${now});
      INSERT INTO users (id, email, name, password_hash, created_at)
        SELECT 100, '${OTHER.admin}', 'Other Admin', password_hash, ${now} FROM users WHERE id = 1;
      INSERT INTO users (id, email, name, password_hash, created_at)
        SELECT 101, '${THIRD.admin}', 'Third Admin', password_hash, ${now} FROM users WHERE id = 1;
      INSERT INTO users (id, email, name, password_hash, created_at)
        SELECT 102, '${ZOE.email}', 'Zoe', password_hash, ${now} FROM users WHERE id = 1;
      INSERT INTO account_users (account_id, user_id, role, created_at) VALUES (${OTHER.id}, 100, 'admin', ${now});
      INSERT INTO account_users (account_id, user_id, role, created_at) VALUES (${THIRD.id}, 101, 'admin', ${now});
      INSERT INTO account_seq (account_id, seq) VALUES (${OTHER.id}, 0), (${THIRD.id}, 0);`]);
    server = await startServer({ dataDir: first.dataDir, env: { PARLEY_WEB_DIR: webDist } });
    tokens.admin1 = (await server.login()).token;
    tokens.admin2 = (await server.login(OTHER.admin, ADMIN_PASSWORD)).token;
    tokens.admin3 = (await server.login(THIRD.admin, ADMIN_PASSWORD)).token;

    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    // en-US so the console starts in English whatever the machine's locale.
    context = await browser.newContext({ locale: 'en-US', viewport: DESKTOP });
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
      first?.cleanup(); // the data directory is the first server's
    }
  });

  // ---- helpers ----

  async function login(email, password) {
    await page.waitForURL(/#\/login/);
    await page.getByLabel('E-mail').fill(email);
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByLabel('Password', { exact: true }).press('Enter');
  }

  async function logout() {
    await page.getByTestId('user-menu').click();
    await page.getByRole('menuitem', { name: /^(Log out|退出登录)$/ }).click();
    await page.waitForURL(/#\/login/);
  }

  async function setLang(label) {
    await page.getByTestId('lang-switch').click();
    await page.getByRole('menuitem', { name: label }).click();
    await page.waitForFunction((l) => document.documentElement.lang === l, label === '中文' ? 'zh-CN' : 'en');
  }

  /** The page now at 1280x800 (name.png) and at 390x844 (name-phone.png); clean: once no toast is left. */
  async function shoot(name, { clean = false } = {}) {
    if (clean) await page.waitForFunction(() => !document.querySelector('.el-message'), null, { timeout: 10000 });
    await page.waitForTimeout(350); // transitions
    await page.screenshot({ path: join(outDir, `${name}.png`) });
    await page.setViewportSize(PHONE);
    await page.waitForTimeout(350);
    await page.screenshot({ path: join(outDir, `${name}-phone.png`) });
    await page.setViewportSize(DESKTOP);
    await page.waitForTimeout(200);
  }

  const toast = (text) => page.locator('.el-message').filter({ hasText: text });
  const invitation = (aid) => page.getByTestId(`invitation-${aid}`);
  const badge = () => page.getByTestId('invitations-button').locator('.el-badge__content');
  const messageBox = (title) => page.getByRole('dialog', { name: title });

  async function openInvitations() {
    const button = page.getByTestId('invitations-button');
    if ((await button.getAttribute('data-open')) !== 'true') await button.click();
    const panel = page.getByTestId('invitations-panel');
    await panel.waitFor();
    return panel;
  }

  async function usersOf(aid, token) {
    const r = await server.request('GET', `/api/v1/accounts/${aid}/users`, { token });
    assert.equal(r.status, 200, r.text);
    return r.body.data;
  }

  // ---- the flow ----

  it('account 1\'s admin adds Xavier in the console', async () => {
    await page.goto(server.url + '/');
    await login(ADMIN_EMAIL, ADMIN_PASSWORD);
    await page.waitForURL(/#\/accounts\/1\/conversations$/);
    await page.getByRole('menuitem', { name: 'Users' }).click();
    await page.getByRole('button', { name: 'Add user' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add user' });
    await dialog.getByLabel('Name').fill(X.name);
    await dialog.getByLabel('E-mail').fill(X.email);
    await dialog.getByLabel('Password', { exact: true }).fill(X.password);
    await dialog.getByRole('button', { name: 'Add user' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.getByTestId('users-table').locator('tr.el-table__row', { hasText: X.email }).waitFor();
    xId = (await usersOf(1, tokens.admin1)).find((u) => u.email === X.email).id;
    await logout();
  });

  it('two other accounts add Xavier\'s e-mail, and both add Zoe\'s', async () => {
    for (const [aid, token, body] of [
      [OTHER.id, tokens.admin2, { email: X.email, name: 'Xavier (Other shop)', password: 'chosen-by-admin-2', role: 'supervisor' }],
      [THIRD.id, tokens.admin3, { email: X.email, name: 'Xavier', password: 'chosen-by-admin-3', role: 'agent' }],
      [OTHER.id, tokens.admin2, { email: ZOE.email, name: 'Zoe', password: 'chosen-by-admin-2', role: 'agent' }],
      [THIRD.id, tokens.admin3, { email: ZOE.email, name: 'Zoe', password: 'chosen-by-admin-3', role: 'agent' }],
    ]) {
      const r = await server.request('POST', `/api/v1/accounts/${aid}/users`, { token, body });
      assert.equal(r.status, 201, r.text);
    }
  });

  it('Xavier signs in and sees both invitations in the header', async () => {
    await login(X.email, X.password);
    await page.waitForURL(/#\/accounts\/1\/conversations$/);
    await badge().filter({ hasText: '2' }).waitFor();
    const panel = await openInvitations();
    assert.equal((await invitation(OTHER.id).locator('.line').innerText()).trim(), 'Other shop invited you as a supervisor.');
    assert.equal((await invitation(THIRD.id).locator('.line').innerText()).trim(), 'Third shop invited you as an agent.');
    await panel.getByText('These accounts added your e-mail address.', { exact: false }).waitFor();
    await shoot('invites-header', { clean: true });

    await setLang('中文');
    await openInvitations();
    assert.equal((await invitation(OTHER.id).locator('.line').innerText()).trim(), 'Other shop 邀请您以主管身份加入。');
    await invitation(OTHER.id).getByRole('button', { name: '接受' }).waitFor();
    await shoot('invites-header-zh');
    await setLang('English');
  });

  it('Xavier declines Third shop\'s invitation after confirming', async () => {
    await openInvitations();
    await invitation(THIRD.id).getByRole('button', { name: 'Decline' }).click();
    let box = messageBox('Decline the invitation');
    await box.getByText('Decline the invitation from Third shop?', { exact: false }).waitFor();
    await shoot('invites-decline-confirm');
    // Cancel changes nothing, and the panel is still there.
    await box.getByRole('button', { name: 'Cancel' }).click();
    await box.waitFor({ state: 'hidden' });
    await page.getByTestId('invitations-panel').waitFor();
    assert.equal(await page.getByTestId('invitations-button').getAttribute('data-open'), 'true');
    assert.deepEqual((await server.request('GET', '/api/v1/me', { token: (await server.login(X.email, X.password)).token }))
      .body.invitations.map((i) => i.account_id), [OTHER.id, THIRD.id]);

    await openInvitations();
    await invitation(THIRD.id).getByRole('button', { name: 'Decline' }).click();
    box = messageBox('Decline the invitation');
    await box.getByRole('button', { name: 'Decline' }).click();
    await toast('You declined the invitation from Third shop.').waitFor();
    await invitation(THIRD.id).waitFor({ state: 'detached' });
    await badge().filter({ hasText: '1' }).waitFor();
    // A press elsewhere closes the panel.
    await page.getByTestId('invitations-panel').waitFor();
    await page.locator('.main').click({ position: { x: 600, y: 500 } });
    await page.getByTestId('invitations-panel').waitFor({ state: 'hidden' });
    assert.ok(!(await usersOf(THIRD.id, tokens.admin3)).some((u) => u.email === X.email), 'Third shop forgot Xavier');
  });

  it('Xavier accepts Other shop\'s invitation and switches to it', async () => {
    await openInvitations();
    await invitation(OTHER.id).getByRole('button', { name: 'Accept' }).click();
    const box = messageBox('Invitation accepted');
    await box.getByText('You joined Other shop. Switch to it now?').waitFor();
    // The switcher has the new account already, behind the offer.
    await page.getByTestId('account').locator('.el-select').waitFor();
    await shoot('invites-accepted');
    await box.getByRole('button', { name: 'Switch now' }).click();
    await page.waitForURL(/#\/accounts\/2\/conversations$/);
    const account = page.getByTestId('account');
    await account.locator('.el-select__selected-item', { hasText: 'Other shop' }).first().waitFor();
    assert.equal(await account.locator('.el-tag').innerText(), 'Supervisor');
    await page.getByTestId('invitations-button').waitFor({ state: 'detached' });
    // A supervisor's menu: the live queue.
    await page.getByRole('menuitem', { name: 'Live queue' }).waitFor();
    // Both accounts in the switcher.
    await account.locator('.el-select').click();
    await page.getByRole('option', { name: /^Other shop/ }).waitFor();
    assert.equal(await page.getByRole('option').count(), 2);
    await page.keyboard.press('Escape');
    await shoot('invites-switched', { clean: true });
  });

  it('Xavier changes his own name on the profile page', async () => {
    await page.getByTestId('user-menu').click();
    await page.locator('.el-dropdown-menu__item', { hasText: 'Profile' }).click();
    await page.waitForURL(/#\/profile$/);
    const card = page.getByTestId('profile-name');
    const input = card.getByLabel('Name');
    const error = card.locator('[data-field="name"] .el-form-item__error');
    const save = card.getByTestId('profile-save');
    assert.equal(await input.inputValue(), X.name);
    assert.ok(await save.isDisabled(), 'nothing to save yet');
    await card.getByTestId('profile-name-note').filter({ hasText: 'Each account may show its own name for you' }).waitFor();
    // Both accounts, with his role in each.
    await page.getByTestId('profile-accounts').locator('tr.el-table__row', { hasText: 'Other shop' }).getByText('Supervisor').waitFor();

    // The page's own check.
    await input.fill('');
    await input.blur();
    await error.filter({ hasText: 'Enter your name.' }).waitFor();

    // The server's refusal goes under the field. The page sends only names it finds valid, so the test
    // rewrites the request into one the server refuses ("\t" is empty once trimmed).
    await input.fill('Xavier Zed');
    let rewritten = 0;
    await page.route('**/api/v1/me', (route) => {
      if (route.request().method() !== 'PATCH') return route.continue();
      rewritten++;
      return route.continue({ postData: JSON.stringify({ name: '\t' }) });
    });
    await save.click();
    await error.filter({ hasText: /^name must not be blank/ }).waitFor();
    assert.equal(rewritten, 1);
    await page.unroute('**/api/v1/me');
    await shoot('profile-server-error', { clean: true });
    // Editing clears it.
    await input.fill('Xavier Zed ');
    await error.waitFor({ state: 'detached' });

    await save.click();
    await toast('Your name is saved.').waitFor();
    await page.getByTestId('user-menu').getByText('Xavier Zed').waitFor();
    assert.equal(await input.inputValue(), 'Xavier Zed');
    assert.ok(await save.isDisabled());
    await shoot('profile');

    // Saved: a reload shows it, account 1 (no admin renamed him) follows, Other shop keeps its name.
    await page.reload();
    await page.getByTestId('profile-name').getByLabel('Name').waitFor();
    assert.equal(await page.getByTestId('profile-name').getByLabel('Name').inputValue(), 'Xavier Zed');
    assert.equal((await usersOf(1, tokens.admin1)).find((u) => u.id === xId).name, 'Xavier Zed');
    assert.equal((await usersOf(OTHER.id, tokens.admin2)).find((u) => u.id === xId).name, 'Xavier (Other shop)');

    await setLang('中文');
    await page.getByRole('heading', { name: '个人资料' }).waitFor();
    await page.getByTestId('profile-name-note').filter({ hasText: '每个账户可以为您显示各自的姓名' }).waitFor();
    await page.getByTestId('profile-name').getByLabel('姓名').fill('');
    await page.getByTestId('profile-name').getByLabel('姓名').blur();
    await page.getByTestId('profile-name').locator('.el-form-item__error').filter({ hasText: '请输入姓名。' }).waitFor();
    await shoot('profile-zh');
    await page.getByTestId('profile-name').getByRole('button', { name: '取消' }).click();
    await setLang('English');
    await logout();
  });

  it('Zoe, invited but in no account, answers on the "no account" page', async () => {
    await login(ZOE.email, ZOE.password);
    await page.waitForURL(/#\/$/);
    await page.getByText('You have been invited').waitFor();
    const list = page.getByTestId('no-account-invitations');
    await list.getByTestId(`invitation-${OTHER.id}`).waitFor();
    await list.getByTestId(`invitation-${THIRD.id}`).waitFor();
    // The page lists them; the header does not repeat them.
    assert.equal(await page.getByTestId('invitations-button').count(), 0);
    await shoot('invites-no-account');
    await setLang('中文');
    await page.getByText('您收到了邀请').waitFor();
    await shoot('invites-no-account-zh');
    await setLang('English');

    // Answered elsewhere meanwhile (another session of hers): accepting it shows the server's message,
    // and the list follows.
    const zs = await server.login(ZOE.email, ZOE.password);
    assert.equal((await server.request('DELETE', `/api/v1/me/invitations/${THIRD.id}`, { token: zs.token })).status, 200);
    await list.getByTestId(`invitation-${THIRD.id}`).getByRole('button', { name: 'Accept' }).click();
    await toast('Could not accept the invitation: There is no invitation from this account.').waitFor();
    await list.getByTestId(`invitation-${THIRD.id}`).waitFor({ state: 'detached' });

    // Her first account: no offer, she is taken there.
    await list.getByTestId(`invitation-${OTHER.id}`).getByRole('button', { name: 'Accept' }).click();
    await toast('You joined Other shop.').waitFor();
    await page.waitForURL(/#\/accounts\/2\/conversations$/);
    await page.getByTestId('account').getByText('Other shop').waitFor();
    assert.equal(await page.getByTestId('account').locator('.el-tag').innerText(), 'Agent');
  });

  it('threw no page errors', () => {
    assert.deepEqual(pageErrors.map((e) => e.message), []);
  });
});
