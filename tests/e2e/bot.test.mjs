// End-to-end test of the bot and knowledge-base screens against the real parleyd, in Debian's Chromium
// (playwright-core). The admin creates an intent and an FAQ entry (two more phrasings, the answer names
// "Settings → Security") through the console, writes a knowledge-base draft and a published article (the
// Markdown preview is built as elements: a <script> in the text stays text), and the public help center
// lists the published one and not the draft. On the Bot page the model trains until ready, shows its
// cross-validated accuracy, and "Try the bot" answers the FAQ. In the inbox's Bot tab the admin turns the
// bot on ("always"; a server 422 shows under the field it names). A visitor on /demo sees the bot's
// greeting, asks "how can i reset my password", gets the answer in a bot bubble, and clicks "Talk to a
// person"; the agent finds the conversation in the workspace with the transcript, and the suggestions
// strip above the reply box offers the FAQ answer, which a click puts in the reply. Chinese labels on
// the Bot page; an agent sees none of the four pages.
//
// Needs: `npm ci` here, web/dist built (`cd web && npm ci && npm run build`), and parleyd built.
// Run: cd tests/e2e && node --test bot.test.mjs
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

const FAQ = {
  question: 'How do I reset my password?',
  phrasings: ['I forgot my password', 'Cannot log in, I need a new password'],
  answer: 'Go to Settings → Security and click "Reset password". We e-mail you a link that works for one hour.',
};
const INTENT = { name: 'refund', examples: ['I want a refund', 'refund my order please', 'can I get my money back'] };
const PUBLISHED = 'Resetting your password';
const PUBLISHED_BODY = [
  '# Reset it yourself',
  '',
  'Open **Settings → Security** and click *Reset password*. More in [our guide](https://example.com/guide).',
  '',
  '- You get an e-mail',
  '- The link works for one hour',
  '',
  'Typed by mistake: <script>window.__xss = 1</script>',
].join('\n');
const DRAFT = 'Shipping times (draft)';
const GREETING = 'Hi! I am the Parley bot. Ask me anything, or type "agent" for a person.';
const QUESTION = 'how can i reset my password';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

describe('bot', () => {
  let server;
  let browser;
  let adminCtx;
  let visitorCtx;
  let page;
  let visitor;
  let token;
  let aid;
  let slug;
  let inbox;
  let team;
  let publishedId;
  let draftId;
  let convId;
  const pageErrors = [];

  before(async () => {
    assert.ok(existsSync(join(webDist, 'index.html')), `${webDist}/index.html missing: build web/ first`);
    mkdirSync(outDir, { recursive: true });
    server = await startServer({ env: { PARLEY_WEB_DIR: webDist } });
    ({ token } = await server.login());
    const me = await server.request('GET', '/api/v1/me', { token });
    aid = me.body.accounts[0].id;
    slug = me.body.accounts[0].slug;
    // The inbox /demo uses: the first web inbox.
    const ibs = await server.request('GET', `/api/v1/accounts/${aid}/inboxes`, { token });
    assert.equal(ibs.status, 200, ibs.text);
    inbox = ibs.body.data.filter((i) => i.channel === 'web').sort((a, b) => a.id - b.id)[0];
    assert.ok(inbox, 'a web inbox exists');
    const tm = await server.request('POST', `/api/v1/accounts/${aid}/teams`, { token, body: { name: 'Billing' } });
    assert.equal(tm.status, 201, tm.text);
    team = tm.body;

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
  const menu = (name) => page.getByRole('menuitem', { name, exact: true });

  /** Polls GET /bot until `pred` holds (the model trains in the background). */
  async function waitModel(pred, timeout = 60000) {
    const until = Date.now() + timeout;
    let last;
    while (Date.now() < until) {
      last = (await api('GET', '/bot')).body;
      if (last && pred(last)) return last;
      await sleep(250);
    }
    throw new Error(`the model did not get there in ${timeout} ms: ${JSON.stringify(last)}`);
  }

  // ---- the flow ----

  it('signs the admin in; the bot pages are in their own menu group', async () => {
    await page.goto(server.url + '/');
    await page.waitForURL(/#\/login/);
    await page.getByLabel('E-mail').fill(ADMIN_EMAIL);
    await page.getByLabel('Password', { exact: true }).fill(ADMIN_PASSWORD);
    await page.getByLabel('Password', { exact: true }).press('Enter');
    await page.waitForURL(/#\/accounts\/\d+\/conversations$/);
    const group = page.getByTestId('menu-group-nav.automation');
    await group.waitFor();
    for (const name of ['Knowledge base', 'FAQ', 'Intents', 'Bot']) {
      assert.equal(await group.getByRole('menuitem', { name, exact: true }).count(), 1, name);
    }
    // The workspace folds the menu to icons; elsewhere the group has its title.
    await page.getByRole('menuitem', { name: 'Users', exact: true }).click();
    await group.getByText('Bot & knowledge').waitFor();
  });

  it('creates an intent that routes to a team', async () => {
    await menu('Intents').click();
    await page.waitForURL(/#\/accounts\/\d+\/intents$/);
    await page.getByRole('heading', { name: 'Intents' }).waitFor();
    await page.getByTestId('add-intent').click();
    const dialog = page.getByRole('dialog', { name: 'New intent' });
    await dialog.waitFor();
    // Checked before anything is sent.
    await dialog.getByTestId('intent-save').click();
    await fieldError(dialog, 'name').filter({ hasText: 'Enter a name.' }).waitFor();
    await fieldError(dialog, 'examples').filter({ hasText: 'Add at least one example.' }).waitFor();

    await dialog.getByTestId('intent-name').fill(INTENT.name);
    const input = dialog.getByTestId('phrase-input');
    for (const e of INTENT.examples) {
      await input.fill(e);
      await input.press('Enter');
    }
    assert.equal(await dialog.getByTestId('phrase').count(), 3);
    await dialog.locator('[data-action="route"]').click();
    await dialog.getByTestId('intent-save').click();
    await fieldError(dialog, 'route').filter({ hasText: 'Choose a team or a skill.' }).waitFor();
    await dialog.getByTestId('intent-team').click();
    await page.getByRole('option', { name: 'Billing', exact: true }).click();
    await dialog.getByTestId('intent-save').click();
    await dialog.waitFor({ state: 'hidden' });
    await toast(`Intent ${INTENT.name} added.`).first().waitFor();

    const row = page.getByTestId('intents-table').locator('tr.el-table__row', { hasText: INTENT.name });
    await row.waitFor();
    assert.match(await row.innerText(), /3 examples/);
    assert.match(await row.innerText(), /to team Billing/);
    const intents = (await api('GET', '/intents')).body.data;
    assert.equal(intents.length, 1);
    assert.deepEqual(intents[0].examples, INTENT.examples);
    assert.equal(intents[0].action, 'route');
    assert.equal(intents[0].team_id, team.id);
  });

  it('creates an FAQ entry with two more phrasings', async () => {
    await menu('FAQ').click();
    await page.waitForURL(/#\/accounts\/\d+\/faqs$/);
    await page.getByRole('heading', { name: 'FAQ' }).waitFor();
    await page.getByTestId('add-faq').click();
    const dialog = page.getByRole('dialog', { name: 'New question' });
    await dialog.waitFor();
    await dialog.getByTestId('faq-save').click();
    await fieldError(dialog, 'question').filter({ hasText: 'Enter the question.' }).waitFor();

    await dialog.getByTestId('faq-question').fill(FAQ.question);
    const input = dialog.getByTestId('phrase-input');
    for (const p of FAQ.phrasings) {
      await input.fill(p);
      await input.press('Enter');
    }
    // A repeat is refused.
    await input.fill(FAQ.phrasings[0].toUpperCase());
    await input.press('Enter');
    await dialog.getByText('Already in the list.').waitFor();
    await input.fill('');
    assert.equal(await dialog.getByTestId('phrase').count(), 2);
    await dialog.getByTestId('faq-answer').fill(FAQ.answer);
    await dialog.locator('[data-field="locale"]').getByText('English', { exact: true }).click();
    await dialog.getByTestId('faq-save').click();
    await dialog.waitFor({ state: 'hidden' });
    await toast('Question added.').first().waitFor();

    const row = page.getByTestId('faq-table').locator('tr.el-table__row', { hasText: FAQ.question });
    await row.waitFor();
    assert.equal((await row.getByTestId('faq-phrasings').innerText()).trim(), '2');
    const faqs = (await api('GET', '/faqs')).body.data;
    assert.equal(faqs.length, 1);
    assert.equal(faqs[0].question, FAQ.question);
    assert.deepEqual(faqs[0].phrasings, FAQ.phrasings);
    assert.equal(faqs[0].answer, FAQ.answer);
    assert.equal(faqs[0].locale, 'en');
    assert.equal(faqs[0].enabled, true);
    await page.screenshot({ path: join(outDir, 'bot-faq.png') });
  });

  it('writes a draft and a published article; the preview is safe', async () => {
    await menu('Knowledge base').click();
    await page.waitForURL(/#\/accounts\/\d+\/kb$/);
    await page.getByRole('heading', { name: 'Knowledge base' }).waitFor();
    assert.equal(await page.getByTestId('view-help-center').getAttribute('href'), `/help/${encodeURIComponent(slug)}`);

    // A draft.
    await page.getByTestId('add-article').click();
    await page.waitForURL(/#\/accounts\/\d+\/kb\/articles\/new$/);
    await page.getByTestId('article-title-input').fill(DRAFT);
    await page.getByTestId('article-body').fill('Orders ship within **two** working days.');
    await page.getByTestId('article-save').click();
    await toast(`“${DRAFT}” saved.`).first().waitFor();
    await page.waitForURL(/#\/accounts\/\d+\/kb\/articles\/\d+$/);
    draftId = Number(/articles\/(\d+)$/.exec(page.url())[1]);
    await page.locator('[data-testid="article-status"][data-status="draft"]').waitFor();

    // A published one, in Markdown.
    await page.getByRole('link', { name: 'Knowledge base' }).first().click();
    await page.waitForURL(/#\/accounts\/\d+\/kb$/);
    await page.getByTestId('add-article').click();
    await page.getByTestId('article-title-input').fill(PUBLISHED);
    await page.getByTestId('article-body').fill(PUBLISHED_BODY);
    const preview = page.getByTestId('article-preview');
    await preview.locator('h1', { hasText: 'Reset it yourself' }).waitFor();
    await preview.locator('strong', { hasText: 'Settings → Security' }).waitFor();
    await preview.locator('em', { hasText: 'Reset password' }).waitFor();
    assert.equal(await preview.locator('li').count(), 2);
    assert.equal(await preview.locator('a', { hasText: 'our guide' }).getAttribute('href'), 'https://example.com/guide');
    assert.equal(await preview.locator('script').count(), 0, 'no script element from the text');
    await preview.getByText('<script>window.__xss = 1</script>', { exact: false }).waitFor();
    assert.equal(await page.evaluate(() => window.__xss), undefined);
    await page.getByTestId('article-publish').click();
    await toast(`“${PUBLISHED}” is published.`).first().waitFor();
    await page.waitForURL(/#\/accounts\/\d+\/kb\/articles\/\d+$/);
    publishedId = Number(/articles\/(\d+)$/.exec(page.url())[1]);
    await page.locator('[data-testid="article-status"][data-status="published"]').waitFor();
    const link = page.getByTestId('view-in-help-center');
    await link.waitFor();
    assert.match(await link.getAttribute('href'), new RegExp(`/help/.+/articles/${publishedId}`));
    await page.screenshot({ path: join(outDir, 'bot-article.png') });

    const published = (await api('GET', `/kb/articles/${publishedId}`)).body;
    assert.equal(published.status, 'published');
    assert.equal(published.body, PUBLISHED_BODY);
    assert.ok(published.published_at);
    assert.equal((await api('GET', `/kb/articles/${draftId}`)).body.status, 'draft');

    // The list shows both with their status.
    await page.getByRole('link', { name: 'Knowledge base' }).first().click();
    const table = page.getByTestId('articles-table');
    await table.locator('tr.el-table__row', { hasText: PUBLISHED }).locator('[data-status="published"]').waitFor();
    await table.locator('tr.el-table__row', { hasText: DRAFT }).locator('[data-status="draft"]').waitFor();
  });

  it('the public help center lists the published article and not the draft', async () => {
    const help = await adminCtx.newPage();
    help.on('pageerror', (e) => pageErrors.push(e));
    const res = await help.goto(`${server.url}/help/${encodeURIComponent(slug)}`);
    assert.equal(res.status(), 200);
    await help.getByText(PUBLISHED).first().waitFor();
    assert.equal(await help.getByText(DRAFT).count(), 0, 'the draft is not public');
    const art = await help.goto(`${server.url}/help/${encodeURIComponent(slug)}/articles/${publishedId}`);
    assert.equal(art.status(), 200);
    await help.getByText('Reset it yourself').first().waitFor();
    assert.equal(await help.evaluate(() => window.__xss), undefined, 'the article body is not run');
    const draft = await help.goto(`${server.url}/help/${encodeURIComponent(slug)}/articles/${draftId}`);
    assert.equal(draft.status(), 404, 'a draft has no public page');
    await help.close();
  });

  it('the Bot page trains the model until it is ready', async () => {
    await menu('Bot').click();
    await page.waitForURL(/#\/accounts\/\d+\/bot$/);
    await page.getByRole('heading', { name: 'Bot', exact: true }).waitFor();
    const card = page.getByTestId('bot-model');
    await card.locator('[data-testid="bot-status"]').waitFor();
    // Training may already be under way (it starts by itself after changes); else start it now.
    const train = page.getByTestId('bot-train');
    if (await train.isEnabled()) {
      await train.click();
      await toast('Training started.').first().waitFor();
    }
    const model = await waitModel((m) => m.status === 'ready' && m.classes >= 2);
    assert.ok(model.examples >= 3 + INTENT.examples.length - 1, `examples: ${model.examples}`);
    await page.locator('[data-testid="bot-model"][data-status="ready"]').waitFor({ timeout: 10000 });
    await card.getByTestId('bot-classes').filter({ hasText: String(model.classes) }).waitFor();
    assert.equal((await card.getByTestId('bot-examples').innerText()).trim(), String(model.examples));
    assert.notEqual((await card.getByTestId('bot-trained-at').innerText()).trim(), 'Never');
    if (model.cv_accuracy !== null) {
      const pct = `${(Math.round(model.cv_accuracy * 1000) / 10).toFixed(1)}%`;
      assert.equal((await card.getByTestId('bot-accuracy-line').innerText()).trim(), `Cross-validated accuracy ${pct}`);
    }
    assert.equal(await card.getByTestId('bot-progress').count(), 0, 'no progress bar once ready');
  });

  it('"Try the bot" answers the FAQ', async () => {
    const box = page.getByTestId('bot-try');
    await box.getByTestId('bot-try-input').fill(QUESTION);
    await box.getByTestId('bot-try-submit').click();
    const result = box.getByTestId('bot-try-result');
    await result.waitFor();
    assert.match(await result.getByTestId('bot-try-match').innerText(), /reset my password/i);
    assert.equal(await result.getAttribute('data-confident'), 'true');
    assert.match(await result.getByTestId('bot-try-answer').innerText(), /Settings → Security/);
    await result.getByTestId('bot-try-decision').filter({ hasText: 'Answer' }).waitFor();
    await result.getByTestId('sentiment').waitFor();
    await page.screenshot({ path: join(outDir, 'bot-page.png') });
  });

  it('turns the bot on in the inbox\'s Bot tab; a 422 shows under its field', async () => {
    const link = page.getByTestId(`bot-inbox-link-${inbox.id}`);
    await link.waitFor();
    await link.click();
    await page.waitForURL(new RegExp(`#/accounts/${aid}/settings/inboxes/${inbox.id}\\?tab=bot$`));
    const tab = page.getByTestId('inbox-bot');
    await tab.waitFor();
    assert.equal(await tab.getByTestId('hours-day').count(), 7);
    await tab.locator('[data-mode="always"]').click();
    await tab.getByTestId('bot-greeting').fill(GREETING);

    // The server's 422 goes under the field it names ("bot.threshold").
    await page.route('**/api/v1/accounts/*/inboxes/*', async (route) => {
      if (route.request().method() !== 'PATCH') return route.continue();
      const body = JSON.parse(route.request().postData());
      body.bot.threshold = 5;
      await route.continue({ postData: JSON.stringify(body) });
    });
    await page.getByTestId('bot-save').click();
    const err = fieldError(tab, 'threshold');
    await err.waitFor();
    assert.ok((await err.innerText()).trim().length > 0);
    await page.unroute('**/api/v1/accounts/*/inboxes/*');

    await page.getByTestId('bot-save').click();
    await toast('Saved.').first().waitFor();
    const ib = (await api('GET', `/inboxes/${inbox.id}`)).body;
    assert.equal(ib.bot.mode, 'always');
    assert.equal(ib.bot.greeting, GREETING);
    assert.equal(ib.bot.threshold, 0.5);
    assert.ok(ib.bot.handoff_keywords.includes('转人工'));
    await page.screenshot({ path: join(outDir, 'bot-inbox.png'), fullPage: true });
  });

  it('a visitor meets the bot, asks, and gets the FAQ answer', async () => {
    await visitor.goto(`${server.url}/demo?widget_token=${inbox.widget_token}`);
    await widget().locator('button.launcher').click();
    await widget().locator('.panel textarea').waitFor();
    // The bot's greeting, before the visitor writes (shown by the widget, or a message of the server's).
    await widget().locator('.msg.bot', { hasText: GREETING }).first().waitFor();
    const ta = widget().locator('.panel textarea');
    await ta.fill(QUESTION);
    await ta.press('Enter');
    await widget().locator('.msg.me[data-id]', { hasText: QUESTION }).waitFor();
    const answer = widget().locator('.list .msg.bot', { hasText: 'Settings → Security' });
    await answer.waitFor();
    assert.match(await answer.locator('.name').innerText(), /\S/);
    // No popular-question chips once the visitor has written.
    assert.equal(await widget().locator('.body > .msg.bot .chip').count(), 0);
    await visitor.screenshot({ path: join(outDir, 'bot-widget.png') });
  });

  it('"Talk to a person" hands the conversation to the agents', async () => {
    const human = widget().locator('button.human');
    await human.waitFor();
    assert.equal((await human.innerText()).trim(), 'Talk to a person');
    const list = (await api('GET', `/conversations?status=all&inbox_id=${inbox.id}`)).body.data;
    assert.equal(list.length, 1);
    convId = list[0].id;
    assert.ok(['active', 'collecting'].includes(list[0].bot_state), `bot_state before: ${list[0].bot_state}`);
    await human.click();
    await human.waitFor({ state: 'hidden' });
    const c = (await api('GET', `/conversations/${convId}`)).body;
    assert.equal(c.bot_state, 'handed_off');
  });

  it('the agent sees the transcript and the FAQ in the suggestions', async () => {
    await page.goto(`${server.url}/#/accounts/${aid}/conversations`);
    await page.getByTestId('conversation-list').waitFor();
    await page.getByTestId('tab-all').click();
    const item = page.locator(`[data-testid="conversation-item"][data-id="${convId}"]`);
    await item.waitFor();
    await item.click();
    await page.locator(`[data-testid="conversation-pane"][data-id="${convId}"]`).waitFor();
    const msgs = page.getByTestId('message');
    await msgs.and(page.locator('[data-sender="contact"]')).filter({ hasText: QUESTION }).waitFor();
    const bot = msgs.and(page.locator('[data-sender="bot"]')).filter({ hasText: 'Settings → Security' });
    await bot.waitFor();
    assert.match(await bot.innerText(), /Bot/);
    assert.equal(await page.getByTestId('conversation-bot').count(), 0, 'no "Bot" tag once handed off');

    const strip = page.getByTestId('assist-strip');
    await strip.waitFor();
    const faq = strip.locator('[data-testid="assist-item"][data-type="faq"]', { hasText: FAQ.question });
    await faq.waitFor();
    await faq.click();
    assert.equal(await page.getByTestId('composer-input').inputValue(), FAQ.answer);
    await page.screenshot({ path: join(outDir, 'bot-workspace.png') });
    await page.getByTestId('composer-input').fill('');
  });

  it('shows the Bot page in Chinese', async () => {
    await page.goto(`${server.url}/#/accounts/${aid}/bot`);
    await page.getByRole('heading', { name: 'Bot', exact: true }).waitFor();
    await page.getByTestId('lang-switch').click();
    await page.getByRole('menuitem', { name: '中文' }).click();
    await page.getByRole('heading', { name: '机器人', exact: true }).waitFor();
    for (const name of ['知识库', '常见问题', '意图', '机器人']) await page.getByRole('menuitem', { name, exact: true }).waitFor();
    await page.getByTestId('bot-model').getByText('交叉验证准确率').first().waitFor();
    await page.getByTestId('bot-status').filter({ hasText: '就绪' }).waitFor();
    await page.getByTestId('bot-try').getByText('试一试').waitFor();
    await page.screenshot({ path: join(outDir, 'bot-page-zh.png') });
    await page.getByTestId('lang-switch').click();
    await page.getByRole('menuitem', { name: 'English' }).click();
    await page.getByRole('heading', { name: 'Bot', exact: true }).waitFor();
  });

  it('an agent has none of the four pages', async () => {
    const r = await api('POST', '/users', { name: 'Ann Archer', email: 'ann@example.com', password: 'agent-password-1', role: 'agent' });
    assert.equal(r.status, 201, r.text);
    const ctx = await browser.newContext({ locale: 'en-US', viewport: { width: 1440, height: 900 } });
    const p = await ctx.newPage();
    p.setDefaultTimeout(15000);
    p.on('pageerror', (e) => pageErrors.push(e));
    await p.goto(server.url + '/');
    await p.getByLabel('E-mail').fill('ann@example.com');
    await p.getByLabel('Password', { exact: true }).fill('agent-password-1');
    await p.getByLabel('Password', { exact: true }).press('Enter');
    await p.waitForURL(/#\/accounts\/\d+\/conversations$/);
    await p.getByRole('menuitem', { name: 'Conversations', exact: true }).waitFor();
    for (const name of ['Knowledge base', 'FAQ', 'Intents', 'Bot']) {
      assert.equal(await p.getByRole('menuitem', { name, exact: true }).count(), 0, name);
    }
    // Typing the address does not open them.
    await p.goto(`${server.url}/#/accounts/${aid}/bot`);
    await p.waitForURL(new RegExp(`#/accounts/${aid}/conversations$`));
    await ctx.close();
  });

  it('raised no uncaught errors in any page', () => {
    assert.deepEqual(pageErrors.map((e) => e.message), []);
  });
});
