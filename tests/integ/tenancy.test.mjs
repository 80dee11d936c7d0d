// Tenant isolation: a second account (made directly in the database, as the product has no sign-up
// yet) must not reach the first account's conversations, contacts, messages, labels, canned
// responses, attachments or events by any id, and the other way round.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { startServer } from '../lib/server.mjs';
import { openWs } from './lib/ws.mjs';
import { sleep } from './lib/util.mjs';

describe('tenant isolation', () => {
  let a, b;
  after(async () => {
    if (b) await b.stop();
    a?.cleanup();
  });

  it('another account cannot see or touch this one by id', async () => {
    a = await startServer();
    const admin1 = (await a.login()).token;
    const inbox1 = (await a.request('GET', '/api/v1/accounts/1/inboxes', { token: admin1 })).body.data[0];
    const s = (await a.request('POST', '/api/v1/widget/sessions', { body: { widget_token: inbox1.widget_token } })).body;
    const r = await openWs(a.port, `/ws?token=${s.visitor_token}`);
    await r.ws.waitFor((e) => e.json?.type === 'hello');
    r.ws.sendJson({ type: 'message.send', client_id: 't-1', content: 'account one secret order' });
    const cid = (await r.ws.waitFor((e) => e.json?.type === 'ack')).json.data.conversation_id;
    r.ws.destroy();
    await a.request('POST', `/api/v1/accounts/1/conversations/${cid}/labels`, { token: admin1, body: { labels: ['one-only'] } });
    const canned = (await a.request('POST', '/api/v1/accounts/1/canned_responses', { token: admin1, body: { short_code: 'one', content: 'one' } })).body;
    const rule = (await a.request('POST', '/api/v1/accounts/1/routing_rules', { token: admin1,
      body: { name: 'one', conditions: [{ field: 'label', operator: 'equals', value: 'x' }], actions: { skill: 'one' } } })).body;
    const skill = (await a.request('GET', '/api/v1/accounts/1/skills', { token: admin1 })).body.data[0];
    const kb = async (path, body) => (await a.request('POST', `/api/v1/accounts/1/${path}`, { token: admin1, body })).body;
    const faq = await kb('faqs', { question: 'account one faq secret', answer: 'one' });
    const intent = await kb('intents', { name: 'one_intent', examples: ['one'], answer: 'one' });
    const cat = await kb('kb/categories', { name: 'one' });
    const art = await kb('kb/articles', { title: 'account one article secret', status: 'published', category_id: cat.id });
    const att = (await a.request('POST', '/api/v1/accounts/1/attachments?filename=a.txt', { raw: 'hello', headers: { 'content-type': 'text/plain', authorization: `Bearer ${admin1}` } })).body;
    await a.stop();

    // Account 2 with its own admin (same password hash as the first admin), inbox and member.
    const now = Date.now();
    execFileSync('sqlite3', [join(a.dataDir, 'parley.db'), `
      INSERT INTO accounts (id, name, slug, created_at) VALUES (2, 'Other', 'other', ${now});
      INSERT INTO users (id, email, name, password_hash, created_at)
        SELECT 100, 'other@example.com', 'Other Admin', password_hash, ${now} FROM users WHERE id = 1;
      INSERT INTO account_users (account_id, user_id, role, created_at) VALUES (2, 100, 'admin', ${now});
      INSERT INTO account_seq (account_id, seq) VALUES (2, 0);
      INSERT INTO inboxes (id, account_id, name, channel, widget_token, created_at, updated_at)
        VALUES (100, 2, 'Other site', 'web', 'other-token', ${now}, ${now});
      INSERT INTO inbox_members (account_id, inbox_id, user_id, created_at) VALUES (2, 100, 100, ${now});`]);
    b = await startServer({ dataDir: a.dataDir });
    const admin2 = (await b.login('other@example.com', (await import('../lib/server.mjs')).ADMIN_PASSWORD)).token;
    const A2 = '/api/v1/accounts/2';

    const { ws: aws } = await (async () => {
      const x = await openWs(b.port, `/ws?token=${admin2}`);
      await x.ws.waitFor((e) => e.json?.type === 'hello');
      return x;
    })();
    const checks = [
      ['GET', `${A2}/conversations/${cid}`], ['PATCH', `${A2}/conversations/${cid}`, { status: 'resolved' }],
      ['GET', `${A2}/conversations/${cid}/messages`], ['POST', `${A2}/conversations/${cid}/messages`, { content: 'x' }],
      ['POST', `${A2}/conversations/${cid}/labels`, { labels: ['x'] }], ['DELETE', `${A2}/conversations/${cid}/labels/one-only`],
      ['POST', `${A2}/conversations/${cid}/read`, { message_id: 1 }],
      ['GET', `${A2}/contacts/${s.contact.id}`], ['PATCH', `${A2}/contacts/${s.contact.id}`, { name: 'x' }],
      ['GET', `${A2}/contacts/${s.contact.id}/conversations`],
      ['GET', `${A2}/canned_responses/${canned.id}`], ['PATCH', `${A2}/canned_responses/${canned.id}`, { content: 'x' }],
      ['DELETE', `${A2}/canned_responses/${canned.id}`],
      ['GET', `/api/v1/accounts/1/conversations/${cid}`], ['GET', '/api/v1/accounts/1/conversations'],
      ['GET', `${A2}/inboxes/${inbox1.id}`],
      ['GET', `${A2}/inboxes/${inbox1.id}/queue`], ['PATCH', `${A2}/inboxes/${inbox1.id}/members/1`, { capacity: 1 }],
      ['GET', `${A2}/conversations/${cid}/routing`], ['GET', `${A2}/conversations/${cid}/assignments`],
      ['POST', `${A2}/conversations/${cid}/transfer`, { assignee_id: 100 }],
      ['PATCH', `${A2}/users/1`, { capacity: 1 }],
      ['GET', `${A2}/routing_rules/${rule.id}`], ['PATCH', `${A2}/routing_rules/${rule.id}`, { enabled: false }],
      ['DELETE', `${A2}/routing_rules/${rule.id}`], ['DELETE', `${A2}/skills/${skill.id}`],
      ['GET', `${A2}/faqs/${faq.id}`], ['PATCH', `${A2}/faqs/${faq.id}`, { answer: 'x' }], ['DELETE', `${A2}/faqs/${faq.id}`],
      ['GET', `${A2}/intents/${intent.id}`], ['PATCH', `${A2}/intents/${intent.id}`, { answer: 'x' }],
      ['DELETE', `${A2}/intents/${intent.id}`],
      ['GET', `${A2}/kb/categories/${cat.id}`], ['PATCH', `${A2}/kb/categories/${cat.id}`, { name: 'x' }],
      ['DELETE', `${A2}/kb/categories/${cat.id}`],
      ['GET', `${A2}/kb/articles/${art.id}`], ['PATCH', `${A2}/kb/articles/${art.id}`, { title: 'x' }],
      ['DELETE', `${A2}/kb/articles/${art.id}`],
      ['GET', `${A2}/conversations/${cid}/suggestions`],
    ];
    for (const [m, path, body] of checks) {
      const res = await b.request(m, path, { token: admin2, body });
      assert.equal(res.status, 404, `${m} ${path}: ${res.status} ${res.text}`);
    }
    const list = await b.request('GET', `${A2}/conversations?status=all`, { token: admin2 });
    assert.equal(list.body.meta.counts.all, 0);
    assert.equal((await b.request('GET', `${A2}/search/messages?q=secret`, { token: admin2 })).body.data.length, 0);
    assert.equal((await b.request('GET', `${A2}/labels`, { token: admin2 })).body.data.length, 0);
    assert.equal((await b.request('GET', `${A2}/canned_responses`, { token: admin2 })).body.meta.total, 0);
    assert.equal((await b.request('GET', `${A2}/routing_rules`, { token: admin2 })).body.data.length, 0);
    assert.equal((await b.request('GET', `${A2}/skills`, { token: admin2 })).body.data.length, 0);
    for (const path of ['faqs', 'intents', 'kb/categories', 'kb/articles'])
      assert.equal((await b.request('GET', `${A2}/${path}`, { token: admin2 })).body.meta.total, 0, path);
    assert.equal((await b.request('GET', `${A2}/kb/search?q=secret`, { token: admin2 })).body.data.length, 0);
    const other = await b.request('PATCH', `${A2}/kb/articles/0`, { token: admin2, body: { category_id: cat.id } });
    assert.equal(other.status, 404);
    const mine = await b.request('POST', `${A2}/kb/articles`, { token: admin2, body: { title: 't', category_id: cat.id } });
    assert.equal(mine.status, 422, 'another account\'s category is unknown here');
    const help = await b.request('GET', '/help/other');
    assert.ok(!help.text.includes('account one article'), 'the help center shows only its own account');
    const panel = (await b.request('GET', `${A2}/routing/agents`, { token: admin2 })).body;
    assert.deepEqual(panel.data.map((x) => x.user_id), [100], 'only account 2 agents in its panel');
    const send = await b.request('POST', `${A2}/conversations/${cid}/messages`, { token: admin2, body: { content: 'x', attachment_ids: [att.id] } });
    assert.equal(send.status, 404);

    // Account 2's visitor: its own conversation; its agent gets its events and nothing of account 1.
    const s2 = (await b.request('POST', '/api/v1/widget/sessions', { body: { widget_token: 'other-token' } })).body;
    assert.notEqual(s2.contact.id, s.contact.id);
    const same = (await b.request('POST', '/api/v1/widget/sessions', { body: { widget_token: 'other-token', visitor_id: s.visitor_id } })).body;
    assert.notEqual(same.contact.id, s.contact.id, "account 1's visitor_id is a stranger in account 2");
    const v2 = await openWs(b.port, `/ws?token=${s2.visitor_token}`);
    await v2.ws.waitFor((e) => e.json?.type === 'hello');
    v2.ws.sendJson({ type: 'message.send', client_id: 'o-1', content: 'account two', attachment_ids: [att.id] });
    assert.equal((await v2.ws.waitFor((e) => e.json?.type === 'error')).json.field, 'attachment_ids');
    const admin1b = (await b.login()).token;
    const a1 = await openWs(b.port, `/ws?token=${admin1b}`);
    await a1.ws.waitFor((e) => e.json?.type === 'hello');
    v2.ws.sendJson({ type: 'message.send', client_id: 'o-2', content: 'account two' });
    await v2.ws.waitFor((e) => e.json?.type === 'ack');
    await aws.waitFor((e) => e.json?.event === 'message.created', 5000, 'account 2 agent event');
    await sleep(200);
    assert.ok(!a1.ws.events.some((e) => e.json?.type === 'event'), 'account 1 hears nothing of account 2');
    // A forged visitor token for account 1's contact, signed for account 2, does not verify.
    const parts = s2.visitor_token.split('.');
    const forged = ['v1', '1', String(inbox1.id), String(s.contact.id), parts[4], parts[5]].join('.');
    assert.equal((await openWs(b.port, `/ws?token=${forged}`)).status, 401);
    v2.ws.destroy();
    a1.ws.destroy();
    aws.destroy();
  });
});
