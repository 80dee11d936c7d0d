// End-to-end test of the console: Debian's Chromium (playwright-core) against the real parleyd, which
// serves the built web/dist. Walks what an administrator and an agent do on day one: sign in, see the
// users, add an agent (and be told when the e-mail is taken), switch to Chinese, sign out, sign in as the
// agent (no admin controls), and get a clear message for a wrong password.
//
// Needs: `npm ci` here, web/dist built (`cd web && npm ci && npm run build`), and parleyd built.
// Run: cd tests/e2e && node --test
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

const AGENT = { name: 'Alice Agent', email: 'alice.agent@example.com', password: 'agent-password-1' };

describe('console', () => {
  let server;
  let browser;
  let context;
  let page;
  const pageErrors = [];

  before(async () => {
    assert.ok(existsSync(join(webDist, 'index.html')), `${webDist}/index.html missing: build web/ first`);
    mkdirSync(outDir, { recursive: true });
    server = await startServer({ env: { PARLEY_WEB_DIR: webDist } });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    // en-US so the console starts in English whatever the machine's locale.
    context = await browser.newContext({ locale: 'en-US', viewport: { width: 1280, height: 800 } });
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

  async function login(email, password) {
    await page.waitForURL(/#\/login/);
    await page.getByLabel('E-mail').fill(email);
    await page.getByLabel('Password', { exact: true }).fill(password);
    await page.getByLabel('Password', { exact: true }).press('Enter');
  }

  async function logout(itemName = 'Log out') {
    await page.getByTestId('user-menu').click();
    await page.getByRole('menuitem', { name: itemName }).click();
    await page.waitForURL(/#\/login/);
  }

  const usersTable = () => page.getByTestId('users-table');
  const row = (text) => usersTable().locator('tr.el-table__row', { hasText: text });

  it('sends a visitor without a session to the login page', async () => {
    await page.goto(server.url + '/');
    await page.waitForURL(/#\/login/);
    await page.getByRole('heading', { name: 'Sign in to Parley' }).waitFor();
  });

  it('signs the admin in through the form and lists the admin on the users page', async () => {
    await login(ADMIN_EMAIL, ADMIN_PASSWORD);
    // The start page is the conversations workspace; the users page is one click away.
    await page.waitForURL(/#\/accounts\/\d+\/conversations$/);
    await page.getByRole('menuitem', { name: 'Users' }).click();
    await page.waitForURL(/#\/accounts\/\d+\/users$/);
    await page.getByRole('heading', { name: 'Users' }).waitFor();
    const admin = row(ADMIN_EMAIL);
    await admin.waitFor();
    assert.equal(await admin.locator('.el-tag').innerText(), 'Admin');
    // The admin's menu offers the audit log.
    await page.getByRole('menuitem', { name: 'Audit log' }).waitFor();
  });

  it('adds an agent through the dialog', async () => {
    await page.getByRole('button', { name: 'Add user' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add user' });
    await dialog.waitFor();
    await dialog.getByLabel('Name').fill(AGENT.name);
    await dialog.getByLabel('E-mail').fill(AGENT.email);
    await dialog.getByLabel('Password', { exact: true }).fill(AGENT.password);
    await dialog.getByTestId('role-select').click();
    await page.getByRole('option', { name: /^Agent/ }).click();
    await dialog.getByRole('button', { name: 'Add user' }).click();
    await dialog.waitFor({ state: 'hidden' });

    const agent = row(AGENT.email);
    await agent.waitFor();
    assert.match(await agent.innerText(), new RegExp(AGENT.name));
    assert.equal(await agent.locator('.el-tag').innerText(), 'Agent');
    await page.screenshot({ path: join(outDir, 'users.png') });
  });

  it('shows "email taken" under the e-mail field when the e-mail is used already', async () => {
    await page.getByRole('button', { name: 'Add user' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add user' });
    await dialog.waitFor();
    await dialog.getByLabel('Name').fill('Alice Again');
    await dialog.getByLabel('E-mail').fill(AGENT.email);
    await dialog.getByLabel('Password', { exact: true }).fill('another-password-2');
    await dialog.getByRole('button', { name: 'Add user' }).click();

    const emailError = dialog.locator('[data-field="email"] .el-form-item__error');
    await emailError.waitFor();
    const text = (await emailError.innerText()).trim();
    assert.ok(text.length > 0, 'the e-mail field shows an error');
    // The other fields are fine, and the dialog stays open so the admin can correct the e-mail.
    assert.equal(await dialog.locator('[data-field="name"] .el-form-item__error').count(), 0);
    assert.ok(await dialog.isVisible());
    await page.screenshot({ path: join(outDir, 'email-taken.png') });

    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'hidden' });
    assert.equal(await row(AGENT.email).count(), 1, 'no duplicate row');
  });

  it('escapes HTML in names from the server', async () => {
    const { token } = await server.login();
    const me = await server.request('GET', '/api/v1/me', { token });
    const aid = me.body.accounts[0].id;
    const name = '<img src=x onerror="window.__pwned=1">Mallory';
    const r = await server.request('POST', `/api/v1/accounts/${aid}/users`, {
      token, body: { name, email: 'mallory@example.com', password: 'mallory-password', role: 'agent' },
    });
    assert.equal(r.status, 201, r.text);
    await page.getByRole('button', { name: 'Refresh' }).click();
    await row('mallory@example.com').waitFor();
    assert.match(await row('mallory@example.com').innerText(), /<img src=x onerror="window.__pwned=1">Mallory/);
    assert.equal(await usersTable().locator('img').count(), 0);
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
  });

  it('switches the language to 中文 and keeps the choice', async () => {
    await page.getByTestId('lang-switch').click();
    await page.getByRole('menuitem', { name: '中文' }).click();
    await page.getByRole('heading', { name: '成员' }).waitFor();
    await page.getByRole('button', { name: '添加成员' }).waitFor();
    await page.getByRole('menuitem', { name: '审计日志' }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'zh-CN');

    await page.reload();
    await page.getByRole('heading', { name: '成员' }).waitFor();
    await page.screenshot({ path: join(outDir, 'users-zh.png') });

    await page.getByTestId('lang-switch').click();
    await page.getByRole('menuitem', { name: 'English' }).click();
    await page.getByRole('heading', { name: 'Users' }).waitFor();
  });

  it('logs out', async () => {
    await logout();
    // The session is gone on the server too: the app start-up check sends us back to login.
    await page.goto(server.url + '/#/profile');
    await page.reload();
    await page.waitForURL(/#\/login\?redirect=/);
    await page.getByRole('heading', { name: 'Sign in to Parley' }).waitFor();
    await page.goto(server.url + '/#/login');
  });

  it('signs the agent in without admin controls', async () => {
    await login(AGENT.email, AGENT.password);
    await page.waitForURL(/#\/accounts\/\d+\/conversations$/);
    await page.getByRole('menuitem', { name: 'Users' }).click();
    await page.waitForURL(/#\/accounts\/\d+\/users$/);
    await row(AGENT.email).waitFor();
    await row(ADMIN_EMAIL).waitFor();
    await page.getByRole('menuitem', { name: 'Users' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Add user' }).count(), 0, 'no "Add user" button');
    assert.equal(await page.getByRole('menuitem', { name: 'Audit log' }).count(), 0, 'no audit log menu');
    await page.screenshot({ path: join(outDir, 'users-agent.png') });

    // Typing the audit address does not open it either.
    const aid = /#\/accounts\/(\d+)\//.exec(page.url())[1];
    await page.goto(`${server.url}/#/accounts/${aid}/audit`);
    await page.waitForURL(new RegExp(`#/accounts/${aid}/users$`));
    await logout();
  });

  it('shows the server\'s message for a wrong password', async () => {
    const expected = await server.request('POST', '/api/v1/auth/login', {
      body: { email: AGENT.email, password: 'not-the-password' },
    });
    assert.equal(expected.status, 401, expected.text);
    assert.equal(expected.body.error.code, 'invalid_credentials');

    await login(AGENT.email, 'still-not-the-password');
    const alert = page.getByTestId('login-error');
    await alert.waitFor();
    assert.equal((await alert.innerText()).trim(), expected.body.error.message);
    assert.match(page.url(), /#\/login/);
    await page.screenshot({ path: join(outDir, 'login-error.png') });
  });

  it('tells a rate-limited user how long to wait and disables the button', async () => {
    // 5 failures for one e-mail lock it (api.md). This file's failures from 127.0.0.1 stay under the
    // per-address limit of 10.
    const email = 'mallory@example.com';
    let last;
    for (let i = 0; i < 6; i++) {
      last = await server.request('POST', '/api/v1/auth/login', { body: { email, password: `wrong-${i}-password` } });
      if (last.status === 429) break;
    }
    assert.equal(last.status, 429, last.text);
    assert.ok(last.headers.get('retry-after'), 'a 429 carries Retry-After');

    await page.getByLabel('E-mail').fill(email);
    await page.getByLabel('Password', { exact: true }).fill('mallory-password');
    await page.getByLabel('Password', { exact: true }).press('Enter');
    const alert = page.getByTestId('login-error');
    await alert.filter({ hasText: /Too many attempts, try again in \d+ (seconds|minutes)\./ }).waitFor();
    assert.ok(await page.getByRole('button', { name: 'Sign in' }).isDisabled(), 'the button waits out the limit');
    assert.match(page.url(), /#\/login/);
  });

  it('raised no uncaught errors in the page', () => {
    assert.deepEqual(pageErrors.map((e) => e.message), []);
  });
});
