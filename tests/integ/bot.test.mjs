// The knowledge base and the bot over the real binary: FAQ entries, intents, articles and categories
// (CRUD and bad inputs); training with its status and cross-validated accuracy; "try it"; a visitor
// who gets an FAQ answer, "did you mean" suggestions, a form from an intent, and a handoff (keyword,
// button, intent) that lands in routing with the intent; an agent who answers takes over; sentiment
// and the negative-priority rule; agent assist; the public help center (published only, escaped,
// searchable).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../lib/server.mjs';
import { openWs } from './lib/ws.mjs';
import { sleep, passes } from './lib/util.mjs';


const A = '/api/v1/accounts/1';
const soon = (fn, o = {}) => passes(fn, { timeout: 8000, interval: 50, ...o });
const isText = (t) => (e) => e.kind === 'text' && e.json?.type === t;

describe('bot', () => {
  let srv, admin, inbox;
  let n = 0;
  const req = (method, path, body, token = admin) => srv.request(method, path, { token, body });

  before(async () => {
    srv = await startServer();
    admin = (await srv.login()).token;
    const r = await req('POST', `${A}/inboxes`, { name: 'Bot inbox', channel: 'web', bot: { mode: 'always', greeting: '您好，我是小帕', negative_priority: true } });
    assert.equal(r.status, 201, r.text);
    inbox = r.body;
    assert.equal(inbox.bot.mode, 'always');
    assert.equal(inbox.bot.threshold, 0.5);
  });
  after(async () => { await srv.stop(); srv.cleanup(); });

  async function trained(minVersion = 1) {
    return soon(async () => {
      const s = await req('GET', `${A}/bot`);
      assert.equal(s.status, 200, s.text);
      assert.equal(s.body.status, 'ready', JSON.stringify(s.body));
      assert.ok(s.body.version >= minVersion, JSON.stringify(s.body));
      return s.body;
    }, { timeout: 15000 });
  }

  async function visitor(text) {
    const s = await srv.request('POST', '/api/v1/widget/sessions', { body: { widget_token: inbox.widget_token } });
    assert.equal(s.status, 200, s.text);
    const r = await openWs(srv.port, `/ws?token=${s.body.visitor_token}`);
    assert.equal(r.status, 101);
    const hello = await r.ws.waitFor(isText('hello'), 5000, 'hello');
    const v = { ws: r.ws, session: s.body, hello: hello.json };
    if (text) v.cid = await say(v, text);
    return v;
  }

  async function say(v, text) {
    await v.ws.sendJson({ type: 'message.send', client_id: `b-${++n}`, content: text });
    const ack = await v.ws.waitFor(isText('ack'), 5000, 'ack');
    return ack.json.data.conversation_id;
  }

  const botReply = async (v, pred = () => true) => (await v.ws.waitFor((e) => e.kind === 'text' && e.json?.type === 'event' &&
    e.json.event === 'message.created' && e.json.data.message.sender.type === 'bot' && !e.json.data.message.private &&
    pred(e.json.data.message), 8000, 'bot reply')).json.data.message;

  it('FAQ, intent, category and article CRUD with bad inputs; agents read but cannot write', async () => {
    const bad = [
      [{ question: '', answer: 'x' }, 'question'],
      [{ question: 'q?', answer: '   ' }, 'answer'],
      [{ question: 'q?', answer: 'a', phrasings: 'no' }, 'phrasings'],
      [{ question: 'q?', answer: 'a', phrasings: [''] }, 'phrasings'],
      [{ question: 'q?', answer: 'a', locale: 'fr' }, 'locale'],
      [{ question: 'q?', answer: 'a', colour: 'red' }, 'colour'],
    ];
    for (const [body, field] of bad) {
      const r = await req('POST', `${A}/faqs`, body);
      assert.equal(r.status, 422, r.text);
      assert.equal(r.body.error.field, field, r.text);
    }
    assert.equal((await srv.request('POST', `${A}/faqs`, { token: admin, raw: '{"question":', headers: { 'content-type': 'application/json' } })).status, 400);
    const f = await req('POST', `${A}/faqs`, { question: '怎么修改密码？', phrasings: ['忘记密码了怎么办', '密码怎么重置'], answer: '在「设置 → 安全」里点击「修改密码」。', locale: 'zh' });
    assert.equal(f.status, 201, f.text);
    assert.deepEqual(f.body.phrasings, ['忘记密码了怎么办', '密码怎么重置']);
    const p = await req('PATCH', `${A}/faqs/${f.body.id}`, { enabled: false });
    assert.equal(p.body.enabled, false);
    assert.equal((await req('PATCH', `${A}/faqs/${f.body.id}`, { enabled: true })).body.enabled, true);
    assert.equal((await req('GET', `${A}/faqs/999999`)).status, 404);

    // intents: the action needs what it names
    let r = await req('POST', `${A}/intents`, { name: 'refund', examples: ['我要退款'], action: 'route' });
    assert.equal(r.status, 422);
    assert.equal(r.body.error.field, 'team_id');
    r = await req('POST', `${A}/intents`, { name: 'bad name!', examples: ['x'] });
    assert.equal(r.body.error.field, 'name');
    r = await req('POST', `${A}/intents`, { name: 'x', examples: [] });
    assert.equal(r.body.error.field, 'examples');
    r = await req('POST', `${A}/intents`, { name: 'x', examples: ['a'], team_id: 424242, action: 'route' });
    assert.equal(r.body.error.field, 'team_id');
    r = await req('POST', `${A}/intents`, { name: 'greet', examples: ['hi'], action: 'answer' });
    assert.equal(r.body.error.field, 'answer', r.text);
    assert.equal((await req('GET', `${A}/intents?q=greet`)).body.meta.total, 0, 'a failed create stores nothing');

    // categories and articles
    const c = await req('POST', `${A}/kb/categories`, { name: 'Account', locale: 'en' });
    assert.equal(c.status, 201, c.text);
    r = await req('POST', `${A}/kb/articles`, { title: 'x', category_id: 999999 });
    assert.equal(r.status, 422);
    assert.equal(r.body.error.field, 'category_id');
    const a = await req('POST', `${A}/kb/articles`, { title: 'Two-factor login', body: '# Turn it on\nGo to **Settings**.', category_id: c.body.id, locale: 'en' });
    assert.equal(a.status, 201, a.text);
    assert.equal(a.body.status, 'draft');
    assert.equal(a.body.published_at, null);
    const pub = await req('PATCH', `${A}/kb/articles/${a.body.id}`, { status: 'published' });
    assert.equal(pub.body.status, 'published');
    assert.ok(pub.body.published_at);
    assert.match(pub.body.url, /^\/help\/[^/]+\/articles\/\d+$/);
    const del = await req('DELETE', `${A}/kb/categories/${c.body.id}`);
    assert.equal(del.status, 409, 'a category with articles is kept');
    assert.equal((await req('GET', `${A}/kb/articles?status=published`)).body.meta.total, 1);
    assert.equal((await req('GET', `${A}/kb/articles?status=nope`)).status, 422);

    // an agent reads, but may not write
    const email = `kb-agent-${++n}@example.com`;
    await req('POST', `${A}/users`, { email, name: 'KB Agent', password: 'agent-pass-1', role: 'agent' });
    const agent = (await srv.login(email, 'agent-pass-1')).token;
    assert.equal((await req('GET', `${A}/faqs`, undefined, agent)).status, 200);
    assert.equal((await req('POST', `${A}/faqs`, { question: 'q', answer: 'a' }, agent)).status, 403);
    assert.equal((await req('GET', `${A}/bot`, undefined, agent)).status, 403);
  });

  it('trains by itself after changes, shows progress and cross-validated accuracy, and answers "try it"', async () => {
    const faqs = [
      ['How do I reset my password?', ['I forgot my password', 'reset password please', 'cannot log in, lost my password', 'change my password'], 'Go to Settings → Security and click "Reset password".'],
      ['Where is my order?', ['track my order', 'my parcel has not arrived', 'when will my package arrive', 'order status'], 'Open Orders and click Track.'],
      ['How do I get a refund?', ['I want my money back', 'refund my order', 'return and refund', 'can I get a refund'], 'Refunds take 3-5 working days after we receive the item.'],
      ['发票怎么开？', ['我要开发票', '怎么申请发票', '发票在哪里下载', '能开增值税发票吗'], '在「订单详情」里点击「申请发票」。'],
    ];
    for (const [question, phrasings, answer] of faqs) {
      const r = await req('POST', `${A}/faqs`, { question, phrasings, answer, locale: /[a-z]/i.test(question) ? 'en' : 'zh' });
      assert.equal(r.status, 201, r.text);
    }
    const s = await trained(1);
    assert.ok(s.examples >= 20, JSON.stringify(s));
    assert.ok(s.classes >= 5, JSON.stringify(s));
    assert.ok(s.cv_accuracy > 0.4 && s.cv_accuracy <= 1, JSON.stringify(s));
    const t = await req('POST', `${A}/bot/test`, { text: 'i forgot my password, how to reset it' });
    assert.equal(t.status, 200, t.text);
    assert.equal(t.body.match.type, 'faq');
    assert.equal(t.body.match.name, 'How do I reset my password?');
    assert.equal(t.body.confident, true, t.text);
    assert.match(t.body.answer, /Settings/);
    const zh = await req('POST', `${A}/bot/test`, { text: '请问怎么申请发票' });
    assert.equal(zh.body.match.name, '发票怎么开？', zh.text);
    assert.equal((await req('POST', `${A}/bot/test`, { text: '' })).status, 422);
    assert.equal((await req('POST', `${A}/bot/test`, { text: 'x', threshold: 2 })).body.error.field, 'threshold');
    const tr = await req('POST', `${A}/bot/train`);
    assert.equal(tr.status, 202);
    await trained(s.version + 1);
  });

  it('a visitor gets the FAQ answer, suggestions when unsure, and a handoff that routing takes with the transcript', async () => {
    await trained(1);
    const v = await visitor();
    assert.equal(v.hello.bot.active, true);
    assert.equal(v.hello.bot.greeting, '您好，我是小帕');
    assert.ok(v.hello.bot.suggestions.length >= 1);
    const cid = await say(v, 'how can i reset my password');
    const ans = await botReply(v);
    assert.match(ans.content, /Settings → Security/);
    assert.equal(ans.attributes.kind, 'answer');
    assert.deepEqual(ans.attributes.buttons.map((b) => b.payload), ['handoff']);
    let conv = (await req('GET', `${A}/conversations/${cid}`)).body;
    assert.equal(conv.status, 'pending', 'the bot holds it: not in the queue');
    assert.equal(conv.bot_state, 'active');

    await say(v, 'blue elephants dance on tuesdays');
    const unsure = await botReply(v, (m) => m.attributes.kind === 'suggestions');
    assert.ok(unsure.attributes.buttons.some((b) => b.payload === 'handoff'));

    // the "Talk to a person" button
    const h = await srv.request('POST', '/api/v1/widget/handoff?lang=en', { token: v.session.visitor_token });
    assert.equal(h.status, 200, h.text);
    assert.equal(h.body.handed_off, true);
    assert.equal(h.body.conversation.bot_state, 'handed_off');
    assert.equal(h.body.conversation.intent, undefined, 'the visitor sees only their part of the conversation');
    assert.equal(h.body.conversation.priority, undefined);
    await botReply(v, (m) => m.attributes.kind === 'handoff');
    conv = (await req('GET', `${A}/conversations/${cid}`)).body;
    assert.equal(conv.status, 'open');
    assert.equal(conv.bot_state, 'handed_off');
    assert.ok(conv.waiting_since);
    const msgs = (await req('GET', `${A}/conversations/${cid}/messages`)).body.data;
    const text = msgs.map((m) => `${m.sender.type}:${m.private ? 'note:' : ''}${m.content}`);
    assert.ok(text.includes('contact:how can i reset my password'), text.join('\n'));
    assert.ok(text.some((t) => t.startsWith('bot:Go to Settings')), text.join('\n'));
    assert.ok(text.some((t) => t.startsWith('bot:note:') && t.includes('visitor')), 'a private note tells agents why');
    const again = await srv.request('POST', '/api/v1/widget/handoff', { token: v.session.visitor_token });
    assert.equal(again.body.handed_off, false, 'twice is a no-op');
    // after the handoff the bot is quiet
    await say(v, 'hello?');
    await sleep(300);
    const after = (await req('GET', `${A}/conversations/${cid}/messages`)).body.data;
    assert.equal(after.at(-1).sender.type, 'contact');
    v.ws.destroy();
  });

  it('unsure, the bot offers its best guess first among the suggestions', async () => {
    await trained(1);
    // a threshold nothing reaches: every answer becomes a "did you mean"
    const ib = await req('POST', `${A}/inboxes`, { name: 'Strict bot', channel: 'web', bot: { mode: 'always', threshold: 0.99 } });
    assert.equal(ib.status, 201, ib.text);
    const s = await srv.request('POST', '/api/v1/widget/sessions', { body: { widget_token: ib.body.widget_token } });
    const r = await openWs(srv.port, `/ws?token=${s.body.visitor_token}`);
    await r.ws.waitFor(isText('hello'), 5000, 'hello');
    const v = { ws: r.ws };
    // a text whose best match is the password entry, but not surely (so: suggestions)
    let text;
    for (const t of ['password', 'my password', 'password help please', 'login password issue', 'reset']) {
      const x = (await req('POST', `${A}/bot/test`, { text: t, threshold: 0.99 })).body;
      if (x.match?.name === 'How do I reset my password?' && !x.confident) { text = t; break; }
    }
    assert.ok(text, 'one of the texts is a best guess that is not sure');
    await say(v, text);
    const m = await botReply(v, (x) => x.attributes.kind === 'suggestions');
    assert.equal(m.attributes.buttons[0].label, 'How do I reset my password?', JSON.stringify(m.attributes.buttons));
    assert.equal(new Set(m.attributes.buttons.map((b) => b.label)).size, m.attributes.buttons.length, 'no button twice');
    assert.equal(m.attributes.buttons.at(-1).payload, 'handoff');
    r.ws.destroy();
  });

  it('a form field written as a whole question is asked as it is, not wrapped in the template', async () => {
    const s0 = (await req('GET', `${A}/bot`)).body;
    const it = await req('POST', `${A}/intents`, { name: '查询物流', examples: ['我的快递到哪了', '物流信息查一下', '包裹什么时候到', '查一下快递单号', '快递怎么还没到'],
      action: 'collect', fields: [{ name: 'order_number', label: '请提供您的订单号' }] });
    assert.equal(it.status, 201, it.text);
    await trained(s0.version + 1);
    const v = await visitor('我的快递到哪了');
    const ask = await botReply(v, (m) => m.attributes.kind === 'collect');
    assert.equal(ask.content, '请提供您的订单号');
    await say(v, 'SO-20261208-77');
    await botReply(v, (m) => m.attributes.kind === 'handoff');
    const conv = (await req('GET', `${A}/conversations/${v.cid}`)).body;
    assert.equal(conv.intent, '查询物流', 'an intent may have a Chinese name');
    v.ws.destroy();
  });

  it('handoff keywords, intents that route with the intent and team, and forms that collect details', async () => {
    const team = await req('POST', `${A}/teams`, { name: 'Billing team' });
    assert.equal(team.status, 201, team.text);
    const before = await trained(1);
    const it1 = await req('POST', `${A}/intents`, { name: 'invoice_dispute', examples: ['my invoice is wrong', 'I was charged twice', 'wrong amount on my bill', 'dispute a charge', 'billing error on invoice'], action: 'route', team_id: team.body.id });
    assert.equal(it1.status, 201, it1.text);
    const it2 = await req('POST', `${A}/intents`, { name: 'callback', examples: ['please call me back', 'can someone phone me', 'I want a call back', 'call me', 'ring me please'], action: 'collect', fields: [{ name: 'phone', label: 'phone number' }, { name: 'best_time', label: 'best time to call' }] });
    assert.equal(it2.status, 201, it2.text);
    const s0 = (await req('GET', `${A}/bot`)).body;
    await trained(s0.version + (s0.status === 'training' ? 1 : 0));
    await soon(async () => {
      const t = await req('POST', `${A}/bot/test`, { text: 'I was charged twice on my invoice' });
      assert.equal(t.body.match?.name, 'invoice_dispute', t.text);
      // each intent trains on its examples and its name ("invoice dispute", "callback"): 5 + 5 + 2
      const now = (await req('GET', `${A}/bot`)).body;
      assert.equal(now.examples, before.examples + 12, JSON.stringify(now));
    });

    // keyword
    const k = await visitor('转人工');
    await botReply(k, (m) => m.attributes.kind === 'handoff');
    const kc = (await req('GET', `${A}/conversations/${k.cid}`)).body;
    assert.equal(kc.status, 'open');
    k.ws.destroy();

    // intent → route to the team, intent recorded
    const r = await visitor('I was charged twice, my invoice is wrong');
    await botReply(r, (m) => m.attributes.kind === 'handoff');
    const rc = await soon(async () => {
      const c = (await req('GET', `${A}/conversations/${r.cid}`)).body;
      assert.equal(c.status, 'open');
      return c;
    });
    assert.equal(rc.intent, 'invoice_dispute');
    assert.equal(rc.team_id, team.body.id);
    r.ws.destroy();

    // intent → a form: bad phone asked again, then the handoff with the values in the note
    const f = await visitor('please call me back');
    const q1 = await botReply(f, (m) => m.attributes.kind === 'collect');
    assert.match(q1.content, /phone number/);
    await say(f, 'not a phone');
    const q1b = await botReply(f, (m) => m.attributes.kind === 'collect' && m.id !== q1.id);
    assert.match(q1b.content, /again/);
    await say(f, '+86 138 0000 0000');
    const q2 = await botReply(f, (m) => m.attributes.kind === 'collect' && m.attributes.field === 'best_time');
    assert.match(q2.content, /best time/);
    await say(f, 'after 6pm');
    await botReply(f, (m) => m.attributes.kind === 'handoff');
    const fc = (await req('GET', `${A}/conversations/${f.cid}`)).body;
    assert.equal(fc.status, 'open');
    assert.equal(fc.intent, 'callback');
    assert.equal(fc.contact.phone, '+86 138 0000 0000');
    const note = (await req('GET', `${A}/conversations/${f.cid}/messages`)).body.data.find((m) => m.private);
    assert.match(note.content, /best_time: after 6pm/);
    f.ws.destroy();
  });

  it('an agent who replies takes over; sentiment is scored and a negative turn raises the priority', async () => {
    const v = await visitor('这个破产品太差了，非常失望，我要投诉！');
    const conv = await soon(async () => {
      const c = (await req('GET', `${A}/conversations/${v.cid}`)).body;
      assert.ok(c.sentiment < -0.25, JSON.stringify(c.sentiment));
      return c;
    });
    assert.equal(conv.priority, 'high');
    const msgs = (await req('GET', `${A}/conversations/${v.cid}/messages`)).body.data;
    assert.ok(msgs[0].sentiment < 0);
    await botReply(v);
    const reply = await req('POST', `${A}/conversations/${v.cid}/messages`, { content: '非常抱歉，我来帮您处理。' });
    assert.equal(reply.status, 201, reply.text);
    const c2 = (await req('GET', `${A}/conversations/${v.cid}`)).body;
    assert.equal(c2.bot_state, 'handed_off');
    await say(v, '好的谢谢，很满意');
    await sleep(300);
    const last = (await req('GET', `${A}/conversations/${v.cid}/messages`)).body.data.at(-1);
    assert.equal(last.sender.type, 'contact', 'the bot stays quiet once an agent answered');
    assert.ok(last.sentiment > 0.25, JSON.stringify(last.sentiment));
    v.ws.destroy();
  });

  it('agent assist suggests the FAQ answer, articles and canned responses for the last customer message', async () => {
    await req('POST', `${A}/canned_responses`, { short_code: 'refund_policy', content: 'Our refund policy: full refund within 30 days.' });
    const art = await req('POST', `${A}/kb/articles`, { title: 'Refunds and returns', body: 'How a refund works, step by step.', status: 'published', locale: 'en' });
    assert.equal(art.status, 201, art.text);
    await trained(1);
    await soon(async () => {
      const s = await req('POST', `${A}/bot/test`, { text: 'refund' });
      assert.ok(s.body.suggestions.some((x) => x.type === 'article'), s.text);
    });
    // a conversation outside the bot (an inbox with the bot off)
    const ib = await req('POST', `${A}/inboxes`, { name: 'No bot', channel: 'web' });
    const saved = inbox;
    inbox = ib.body;
    const nb = await visitor('I want a refund for my order');
    inbox = saved;
    const cid = nb.cid;
    nb.ws.destroy();
    const s = await req('GET', `${A}/conversations/${cid}/suggestions`);
    assert.equal(s.status, 200, s.text);
    assert.equal(s.body.faqs[0].question, 'How do I get a refund?', s.text);
    assert.ok(s.body.articles.some((a) => a.title === 'Refunds and returns'), s.text);
    assert.equal(s.body.canned[0].short_code, 'refund_policy', s.text);
    assert.equal((await req('GET', `${A}/conversations/999999/suggestions`)).status, 404);
    const conv = (await req('GET', `${A}/conversations/${cid}`)).body;
    assert.equal(conv.status, 'open');
    assert.equal(conv.bot_state, null);
  });

  it('bot settings are validated and the widget says whether the bot is on', async () => {
    const bad = [
      [{ mode: 'sometimes' }, 'bot.mode'],
      [{ threshold: 1.5 }, 'bot.threshold'],
      [{ hours: { days: { mon: [['18:00', '09:00']] } } }, 'bot.hours.days.mon'],
      [{ mode: null }, 'bot.mode'],
      [{ greeting: null }, 'bot.greeting'],
      [{ hours: { utc_offset_minutes: 9999 } }, 'bot.hours.utc_offset_minutes'],
      [{ collect_fields: ['shoe_size'] }, 'bot.collect_fields'],
      [{ wat: 1 }, 'bot.wat'],
    ];
    for (const [bot, field] of bad) {
      const r = await req('PATCH', `${A}/inboxes/${inbox.id}`, { bot });
      assert.equal(r.status, 422, r.text);
      assert.equal(r.body.error.field, field, r.text);
    }
    // outside hours only, with hours that never open: active now
    const r = await req('PATCH', `${A}/inboxes/${inbox.id}`, { bot: { mode: 'outside_hours', hours: { utc_offset_minutes: 480, days: { mon: [], tue: [], wed: [], thu: [], fri: [], sat: [], sun: [] } } } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.bot.mode, 'outside_hours');
    assert.equal(r.body.bot.greeting, '您好，我是小帕', 'a patch keeps the other settings');
    const s = await srv.request('POST', '/api/v1/widget/sessions', { body: { widget_token: inbox.widget_token } });
    assert.equal(s.body.bot.active, true);
    // after hours, a handoff first asks for the e-mail (collect_fields defaults to email)
    const v = await visitor('human please');
    const ask = await botReply(v, (m) => m.attributes.kind === 'collect');
    assert.equal(ask.attributes.field, 'email');
    await say(v, 'someone@example.com');
    const done = await botReply(v, (m) => m.attributes.kind === 'handoff');
    assert.match(done.content, /as soon as we are open/);
    v.ws.destroy();
    await req('PATCH', `${A}/inboxes/${inbox.id}`, { bot: { mode: 'off' } });
    const off = await srv.request('POST', '/api/v1/widget/sessions', { body: { widget_token: inbox.widget_token } });
    assert.equal(off.body.bot.active, false);
    await req('PATCH', `${A}/inboxes/${inbox.id}`, { bot: { mode: 'always' } });
  });

  it('the help center lists published articles only, escapes them, searches, and 404s the unknown', async () => {
    const slug = (await req('GET', '/api/v1/me')).body.accounts[0].slug;
    await req('POST', `${A}/kb/articles`, { title: 'Secret draft', body: 'not yet', locale: 'en' });
    const x = await req('POST', `${A}/kb/articles`, { title: '<script>alert(1)</script> Shipping', body: '## Times\n- Mainland: **2 days**\n- [Track](javascript:alert(1)) and [help](https://example.com/h)\n\n<img src=x onerror=alert(1)>', status: 'published', locale: 'en' });
    assert.equal(x.status, 201, x.text);
    const home = await srv.request('GET', `/help/${slug}?lang=en`);
    assert.equal(home.status, 200);
    assert.match(home.headers.get('content-type'), /text\/html/);
    assert.ok(home.text.includes('Two-factor login'), home.text.slice(0, 400));
    assert.ok(!home.text.includes('Secret draft'));
    assert.ok(!home.text.includes('<script>alert'), 'escaped');
    assert.ok(home.text.includes('&lt;script&gt;'));
    const page = await srv.request('GET', `/help/${slug}/articles/${x.body.id}`);
    assert.equal(page.status, 200);
    assert.ok(page.text.includes('<h2>Times</h2>'));
    assert.ok(page.text.includes('<strong>2 days</strong>'));
    assert.ok(page.text.includes('<a href="https://example.com/h"'));
    assert.ok(!page.text.includes('href="javascript'));
    assert.ok(!page.text.includes('<img'));
    const found = await srv.request('GET', `/help/${slug}/search?q=shipping+times&lang=en`);
    assert.ok(found.text.includes(`/articles/${x.body.id}`), found.text.slice(0, 2000));
    assert.equal((await srv.request('GET', '/help/no-such-account')).status, 404);
    assert.equal((await srv.request('GET', `/help/${slug}/articles/999999`)).status, 404);
    const draft = (await req('GET', `${A}/kb/articles?status=draft`)).body.data[0];
    assert.equal((await srv.request('GET', `/help/${slug}/articles/${draft.id}`)).status, 404);
    const views = (await req('GET', `${A}/kb/articles/${x.body.id}`)).body.views;
    assert.ok(views >= 1);
    const api = await req('GET', `${A}/kb/search?q=shipping`);
    assert.equal(api.body.data[0].id, x.body.id);
    assert.equal((await req('GET', `${A}/kb/search?q=`)).status, 422);
  });
});
