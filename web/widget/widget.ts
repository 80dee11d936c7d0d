// The chat widget: launcher, panel, session, WebSocket, messages, pre-chat and offline forms, and the bot
// (its greeting with guided flows and popular questions, buttons under its messages, "Talk to a person").
// A guided flow's button is sent as the visitor's message (its label) with the button's payload; the buttons
// of the bot's earlier steps stay in the history, inactive, the chosen one marked; while the bot asks for an
// e-mail, a phone or a number the composer says so and brings up the matching keyboard.
// Everything lives in a shadow root; user text only ever reaches the DOM as text nodes (see dom.ts).
import css from './style.css?inline';
import { h, icon, linkify, safeUrl, when } from './dom';
import { call, HttpError } from './net';
import type { Strings } from './i18n';
import type { Attachment, Bot, Button, Contact, Conversation, Frame, Inbox, Message, PrechatField, Queue, Session } from './types';

export interface Config {
  token: string; // the inbox's widget_token
  origin: string; // where parleyd is, from the script's src
  locale: 'zh-CN' | 'en';
  left: boolean;
  t: Strings;
}

interface Pending {
  cid: string;
  content: string;
  att: Attachment[];
  payload?: string; // a click on a guided flow's button
  up?: string; // file name while uploading
  failed?: boolean;
  el?: HTMLElement;
}

/** What survives a page load, in localStorage under parley:<widget token>. */
interface Saved {
  v?: string; // visitor_id
  s?: number; // highest agent message id seen (for the unread badge)
  p?: 1; // pre-chat form submitted
  o?: 1; // panel open
  q?: Pick<Pending, 'cid' | 'content' | 'att' | 'payload'>[]; // unacknowledged messages
}

interface Field {
  name: string;
  input: HTMLInputElement;
  err: HTMLElement;
  row: HTMLElement;
}

const isAgent = (m: Message) => m.sender.type === 'user' || m.sender.type === 'bot';
const isFlow = (payload?: string) => !!payload && payload.startsWith('flow:');
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function uuid(): string {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => (x + 256).toString(16).slice(1)).join('');
}

export class Widget {
  private t: Strings;
  private key: string;
  private saved: Saved;
  private wsBase: string;

  // state from the session
  private token = '';
  private exp = 0;
  private seq = 0;
  private inbox?: Inbox;
  private contact?: Contact;
  private conv = 0;
  private online = false;
  private msgs = new Map<number, Message>();
  private pending: Pending[] = [];
  private bot?: Bot | null;
  private botState?: string | null; // of the visitor's conversation
  private agentRead = 0; // the agent has read up to this message
  private readSent = 0;
  private starting?: Promise<void>;

  // connection
  private ws: WebSocket | null = null;
  private ready = false;
  private attempt = 0;
  private retry = 0;

  private isOpen = false;
  private typingAt = 0;
  private typingIdle = 0;
  private typingHide = 0;

  // elements
  private root: HTMLElement;
  private launcher: HTMLButtonElement;
  private badge: HTMLElement;
  private preview: HTMLElement;
  private panel: HTMLElement;
  private title: HTMLElement;
  private status: HTMLElement;
  private banner: HTMLElement;
  private qEl: HTMLElement; // "You are number 2 in line · about 3 min"
  private body: HTMLElement;
  private greet: HTMLElement;
  private earlier: HTMLButtonElement;
  private list: HTMLElement;
  private pend: HTMLElement;
  private extra: HTMLElement; // pre-chat form or a note (loading, error)
  private typingEl: HTMLElement;
  private foot: HTMLElement;
  private errEl: HTMLElement;
  private ta: HTMLTextAreaElement;
  private file: HTMLInputElement;
  private readEl: HTMLElement;
  private human: HTMLButtonElement; // "Talk to a person" while the bot has the conversation

  constructor(private cfg: Config) {
    const t = (this.t = cfg.t);
    this.key = 'parley:' + cfg.token;
    this.wsBase = cfg.origin.replace(/^http/, 'ws');
    this.saved = this.load();

    const host = h('parley-widget' as 'div');
    const shadow = host.attachShadow({ mode: 'open' });
    shadow.append(h('style', { text: css }));

    this.badge = h('span', { class: 'badge', hidden: true });
    this.launcher = h(
      'button',
      { class: 'launcher', type: 'button', 'aria-label': t.open, onclick: () => this.toggle() },
      icon('chat'),
      icon('close'),
      this.badge,
    );
    this.preview = h('button', { class: 'preview', type: 'button', hidden: true, onclick: () => this.open() });
    this.title = h('div', { class: 'title', text: t.title });
    this.status = h('div', { class: 'status', text: t.connecting });
    this.banner = h('div', { class: 'banner', hidden: true });
    this.qEl = h('div', { class: 'queue', hidden: true, role: 'status' });
    this.greet = h('div', { class: 'msg them', hidden: true });
    this.earlier = h('button', { class: 'earlier', type: 'button', hidden: true, text: t.earlier, onclick: () => this.older() });
    this.list = h('div', { class: 'list' });
    this.pend = h('div');
    this.extra = h('div');
    this.body = h('div', { class: 'body' }, this.earlier, this.greet, this.list, this.pend, this.extra);
    this.typingEl = h('div', { class: 'typing', hidden: true });
    this.errEl = h('div', { class: 'err', hidden: true, role: 'alert' });
    this.human = h('button', { type: 'button', class: 'link human', hidden: true, text: t.human, onclick: () => this.handoff() });
    this.ta = h('textarea', {
      rows: 1,
      maxlength: 10000,
      placeholder: t.placeholder,
      'aria-label': t.placeholder,
      oninput: () => this.typed(),
      onkeydown: (e: KeyboardEvent) => {
        if (e.key === 'Enter' && !e.shiftKey && !e.isComposing && e.keyCode !== 229) {
          e.preventDefault();
          this.submit();
        }
      },
    });
    this.file = h('input', {
      type: 'file',
      hidden: true,
      multiple: true,
      onchange: () => {
        for (const f of Array.from(this.file.files || [])) this.upload(f);
        this.file.value = '';
      },
    });
    this.foot = h(
      'div',
      { class: 'foot', hidden: true },
      this.human,
      this.errEl,
      h(
        'form',
        { class: 'composer', onsubmit: (e: Event) => (e.preventDefault(), this.submit()) },
        h('button', { type: 'button', class: 'icon', title: t.attach, 'aria-label': t.attach, onclick: () => this.file.click() }, icon('clip')),
        this.ta,
        h('button', { type: 'submit', class: 'icon send', title: t.send, 'aria-label': t.send }, icon('send')),
        this.file,
      ),
    );
    this.panel = h(
      'div',
      { class: 'panel', role: 'dialog', 'aria-label': t.title, hidden: true },
      h(
        'header',
        null,
        h('div', { class: 'hd' }, this.title, this.status),
        h('button', { type: 'button', class: 'icon x', title: t.close, 'aria-label': t.close, onclick: () => this.close() }, icon('close')),
      ),
      this.banner,
      this.qEl,
      this.body,
      this.typingEl,
      this.foot,
    );
    this.readEl = h('div', { class: 'read', text: t.read });
    this.root = h('div', { class: 'root' + (cfg.left ? ' left' : ''), onkeydown: (e: KeyboardEvent) => e.key === 'Escape' && this.close() }, this.panel, this.preview, this.launcher);
    shadow.append(this.root);
    document.body.append(host);

    for (const q of this.saved.q || []) this.showPending({ ...q });

    // Another tab of the same site saw agent messages: the badge here follows.
    addEventListener('storage', (e) => {
      if (e.key !== this.key) return;
      const s = this.load().s || 0;
      if (s > (this.saved.s || 0)) {
        this.saved.s = s;
        this.badgeUpdate();
      }
    });
    document.addEventListener('visibilitychange', () => this.wake());
    addEventListener('online', () => this.wake());
    document.addEventListener('click', (e) => {
      const el = (e.target as Element | null)?.closest?.('[data-parley-open]');
      if (!el) return;
      e.preventDefault();
      this.open();
      const text = el.getAttribute('data-parley-open');
      if (text && !this.ta.value) {
        this.ta.value = text;
        this.grow();
      }
    });

    // A returning visitor connects at once (replies and the badge arrive while the panel is closed); a new
    // one only when they open the panel, so page views alone do not create contacts.
    if (this.saved.o && innerWidth >= 480) this.open();
    else if (this.saved.v) this.start();
  }

  // ---- public API

  open(): void {
    if (this.isOpen) return;
    this.isOpen = true;
    this.preview.hidden = true;
    this.panel.hidden = false;
    this.root.classList.add('open');
    this.launcher.setAttribute('aria-label', this.t.close);
    this.saved.o = 1;
    this.save();
    this.start();
    this.bottom();
    if (!this.foot.hidden && innerWidth >= 480) this.ta.focus();
    this.markRead();
  }

  close(): void {
    if (!this.isOpen) return;
    this.isOpen = false;
    this.panel.hidden = true;
    this.root.classList.remove('open');
    this.launcher.setAttribute('aria-label', this.t.open);
    delete this.saved.o;
    this.save();
    this.badgeUpdate();
  }

  toggle(): void {
    this.isOpen ? this.close() : this.open();
  }

  // ---- storage

  private load(): Saved {
    try {
      return JSON.parse(localStorage.getItem(this.key) || '{}') || {};
    } catch {
      return {};
    }
  }

  private save(): void {
    this.saved.q = this.pending.filter((p) => !p.up).map(({ cid, content, att, payload }) => ({ cid, content, att, payload }));
    if (!this.saved.q.length) delete this.saved.q;
    try {
      localStorage.setItem(this.key, JSON.stringify(this.saved));
    } catch {
      /* private mode, storage full: the widget still works for this page */
    }
  }

  // ---- session

  private start(): Promise<void> {
    if (!this.starting) {
      this.note(this.t.connecting);
      this.starting = this.session().catch((e) => {
        this.starting = undefined;
        this.note(this.t.unavailable, true);
        throw e;
      });
      this.starting.catch(() => {});
    }
    return this.starting;
  }

  private async session(extra?: object): Promise<void> {
    const s = await call<Session>(this.cfg.origin, 'POST', '/api/v1/widget/sessions', {
      widget_token: this.cfg.token,
      visitor_id: this.saved.v,
      page_url: location.href.slice(0, 2000), // the server's limit
      locale: this.cfg.locale,
      ...extra,
    });
    this.apply(s);
  }

  private apply(s: Session): void {
    if (this.saved.v && this.saved.v !== s.visitor_id) {
      // The stored visitor was unknown to the server: start over as the new one.
      this.msgs.clear();
      this.list.textContent = '';
      this.drop();
      delete this.saved.s;
      delete this.saved.p;
    }
    this.saved.v = s.visitor_id;
    this.token = s.visitor_token;
    this.exp = Date.parse(s.expires_at) || 0;
    this.seq = s.seq;
    this.inbox = s.inbox;
    this.contact = s.contact;
    this.conv = s.conversation ? s.conversation.id : 0;
    this.bot = s.bot;
    this.botState = s.conversation && s.conversation.bot_state;
    if (s.conversation) {
      this.agentRead = Math.max(this.agentRead, s.conversation.agent_last_read_id || 0);
      this.readSent = Math.max(this.readSent, s.conversation.contact_last_read_id || 0);
    }

    const ib = s.inbox;
    const title = ib.widget_title || ib.name || this.t.title;
    this.title.textContent = title;
    this.panel.setAttribute('aria-label', title);
    const c = ib.widget_color;
    if (/^#[0-9a-f]{6}$/i.test(c)) {
      const n = parseInt(c.slice(1), 16);
      const lum = (0.299 * (n >> 16) + 0.587 * ((n >> 8) & 255) + 0.114 * (n & 255)) / 255;
      this.root.style.setProperty('--c', c);
      this.root.style.setProperty('--ct', lum > 0.65 ? '#1f2328' : '#fff');
    }
    for (const m of s.messages) this.add(m, false);
    if (this.saved.s == null) this.saved.s = this.readSent;
    this.earlier.hidden = !(s.has_more ?? s.messages.length >= 100);
    if (s.contact.email || s.contact.phone) this.banner.hidden = true; // rebuilt without the contact form
    this.setOnline(s.online);
    this.place(s.conversation ? s.queue : null);

    const fields = ib.prechat_fields || [];
    const prechat = fields.length > 0 && !this.conv && !this.msgs.size && !this.saved.p;
    if (!prechat) this.extra.textContent = '';
    else if (!this.extra.querySelector('.pre')) this.prechat(fields);
    this.foot.hidden = prechat;
    this.greeting();
    this.save();
    this.readMark();
    this.badgeUpdate();
    this.bottom();
    this.markRead();
    this.connect();
  }

  /** The panel's body note: "Connecting…", or an error with a retry button. */
  private note(text: string, retry = false): void {
    this.extra.replaceChildren(
      h(
        'div',
        { class: 'note' },
        text,
        retry && h('button', { type: 'button', class: 'link', text: this.t.retry, onclick: () => this.start() }),
      ),
    );
  }

  /** A REST call with the visitor token; a 401 (token expired) renews the session once. */
  private async authed<T>(method: string, path: string, body?: unknown): Promise<T> {
    try {
      return await call<T>(this.cfg.origin, method, path, body, this.token);
    } catch (e) {
      if (!(e instanceof HttpError) || e.status !== 401) throw e;
      await this.session();
      return call<T>(this.cfg.origin, method, path, body, this.token);
    }
  }

  private async older(): Promise<void> {
    let first = Infinity;
    for (const id of this.msgs.keys()) first = Math.min(first, id);
    if (first === Infinity) return;
    try {
      const r = await this.authed<{ data: Message[]; meta: { has_more: boolean } }>(
        'GET',
        `/api/v1/widget/messages?before=${first}&limit=50`,
      );
      const b = this.body;
      const from = b.scrollHeight - b.scrollTop;
      for (const m of r.data) this.add(m, false);
      b.scrollTop = b.scrollHeight - from;
      this.earlier.hidden = !r.meta || !r.meta.has_more;
    } catch {
      /* the button stays; try again later */
    }
  }

  // ---- WebSocket

  private connect(): void {
    if (this.ws || !this.token) return;
    clearTimeout(this.retry);
    const ws = new WebSocket(`${this.wsBase}/ws?token=${encodeURIComponent(this.token)}&since=${this.seq}`);
    let hello = false;
    this.ws = ws;
    ws.onmessage = (e) => {
      let f: Frame;
      try {
        f = JSON.parse(e.data);
      } catch {
        return;
      }
      if (f.type === 'hello') hello = true;
      if (this.ws === ws) this.frame(f);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      this.ready = false;
      this.later(!hello);
      this.setOnline(this.online);
    };
  }

  /** Forgets the socket without scheduling a reconnect. */
  private drop(): void {
    const ws = this.ws;
    this.ws = null;
    this.ready = false;
    if (ws) ws.close();
  }

  /** Reconnects after a backoff (0.5 s doubling to 30 s, with jitter). A socket that closed before its hello
   * (token expired or refused) or a token past its expiry renews the session first. */
  private later(stale: boolean): void {
    clearTimeout(this.retry);
    const base = Math.min(30000, 500 * 2 ** this.attempt++);
    this.retry = setTimeout(() => {
      if (!stale && Date.now() < this.exp) return this.connect();
      this.session().catch((e) => {
        if (e instanceof HttpError && e.status === 404) this.note(this.t.unavailable, true);
        else this.later(true);
      });
    }, base / 2 + (Math.random() * base) / 2);
  }

  /** Page became visible or the network came back: reconnect now instead of waiting. */
  private wake(): void {
    if (document.hidden) return;
    this.markRead();
    if (this.token && !this.ws) {
      this.attempt = 0;
      this.later(false);
    }
  }

  private send(obj: object): void {
    if (this.ready && this.ws) this.ws.send(JSON.stringify(obj));
  }

  private frame(f: Frame): void {
    switch (f.type) {
      case 'hello':
        this.ready = true;
        this.attempt = 0;
        this.setOnline(f.online ?? this.online);
        if (f.queue !== undefined) this.place(f.queue);
        if (f.bot !== undefined) this.bot = f.bot;
        this.follow(f.conversation);
        this.greeting();
        for (const p of this.pending) if (!p.failed) this.transmit(p);
        this.markRead();
        break;
      case 'event':
        if (f.seq != null) {
          if (f.seq <= this.seq) return;
          this.seq = f.seq;
        }
        this.follow(f.data?.conversation);
        if (f.event === 'message.created' && f.data?.message) {
          if (f.data.message.conversation_id) this.conv = f.data.message.conversation_id;
          this.add(f.data.message, true);
          if (!f.data.conversation || f.data.conversation.bot_state === undefined) this.guess(f.data.message);
        } else if (f.event === 'conversation.read' && f.data?.reader === 'agent') {
          this.agentRead = Math.max(this.agentRead, f.data.message_id || 0);
          this.readMark();
        }
        break;
      case 'ack': {
        const m = f.data as Message | undefined;
        if (m) {
          if (m.conversation_id) this.conv = m.conversation_id;
          this.add(m, true);
        }
        const p = this.pending.find((x) => x.cid === f.client_id);
        if (p) this.unpend(p);
        break;
      }
      case 'error': {
        const p = this.pending.find((x) => x.cid === f.client_id);
        if (p && p.payload && f.field === 'payload') {
          // A button of a step that is past: nothing was sent; sending it again would not help.
          this.unpend(p);
          this.error(f.message || this.t.unavailable);
        } else if (p) {
          p.failed = true;
          this.showPending(p);
        }
        break;
      }
      case 'typing':
        this.typing(!!f.on, f.sender?.name);
        break;
      case 'presence':
        this.setOnline(!!f.online);
        break;
      case 'queue':
        if (!this.conv || !f.conversation_id || f.conversation_id === this.conv) this.place(f as Queue);
        break;
      case 'resync':
        this.drop();
        this.session().catch(() => this.later(true));
        break;
    }
  }

  // ---- queue

  /** Shows the visitor's place in the queue; hidden without one (position null: an agent has it). */
  private place(q?: Queue | null): void {
    const p = q ? q.position : null;
    const t = this.t;
    this.qEl.hidden = !p;
    if (!p) return;
    const s = q!.estimated_wait_seconds;
    this.qEl.textContent =
      (p < 2 ? t.next : t.place.replace('{p}', '' + p).replace('{a}', '' + (p - 1))) +
      (s != null ? ' \u00b7 ' + t.wait.replace('{m}', '' + Math.max(1, Math.round(s / 60))) : '');
  }

  // ---- presence and the offline form

  private setOnline(on: boolean): void {
    this.online = on;
    const t = this.t;
    this.status.textContent = !this.token ? t.connecting : !this.ready && this.ws === null && this.attempt ? t.reconnecting : on ? t.online : t.offline;
    this.status.className = 'status' + (on ? ' on' : '');
    const show = !on && !!this.inbox;
    if (show && this.banner.hidden) {
      const c = this.contact;
      this.banner.replaceChildren(h('p', { text: this.inbox!.offline_message || t.away }));
      if (c && !c.email && !c.phone) this.banner.append(this.leaveForm());
    }
    this.banner.hidden = !show;
  }

  private leaveForm(): HTMLElement {
    const t = this.t;
    const fields = [this.field('name', t.name, 'text'), this.field('email', t.email, 'email'), this.field('phone', t.phone, 'tel')];
    const general = h('div', { class: 'ferr' });
    const form = h(
      'form',
      {
        class: 'form',
        novalidate: true,
        hidden: true,
        onsubmit: async (e: Event) => {
          e.preventDefault();
          const body = this.collect(fields, []);
          if (!body || !Object.keys(body).length) return;
          try {
            this.contact = await this.authed<Contact>('PATCH', '/api/v1/widget/contact', body);
            form.replaceWith(h('p', { class: 'ok', text: t.saved }));
          } catch (err) {
            this.showError(err, fields, general);
          }
        },
      },
      ...fields.map((f) => f.row),
      general,
      h('button', { type: 'submit', class: 'btn', text: t.save }),
    );
    const link = h('button', {
      type: 'button',
      class: 'link',
      text: t.leave,
      onclick: () => {
        link.remove();
        form.hidden = false;
        fields[0].input.focus();
      },
    });
    return h('div', null, link, form);
  }

  // ---- forms

  private field(name: string, label: string, type: string, required = false): Field {
    const id = 'f-' + name + Math.random().toString(36).slice(2, 7);
    const input = h('input', {
      id,
      name,
      type: type === 'phone' ? 'tel' : type,
      inputmode: type === 'number' ? 'decimal' : null,
      required,
      maxlength: 200,
      autocomplete: name === 'name' ? 'name' : name === 'email' ? 'email' : name === 'phone' ? 'tel' : null,
    });
    const err = h('div', { class: 'ferr' });
    const row = h('div', { class: 'row' }, h('label', { for: id, text: label + (required ? ' *' : '') }), input, err);
    return { name, input, err, row };
  }

  /** The non-empty values of the fields, checked (required, e-mail shape); null with errors shown if not OK. */
  private collect(fields: Field[], required: string[]): Record<string, string> | null {
    const out: Record<string, string> = {};
    let ok = true;
    for (const f of fields) {
      const v = f.input.value.trim();
      let err = '';
      if (!v) err = required.includes(f.name) ? this.t.required : '';
      else if (f.input.type === 'email' && !EMAIL.test(v)) err = this.t.badEmail;
      else if (f.input.type === 'tel' && !/^[0-9 +()-]{3,}$/.test(v)) err = this.t.badPhone;
      else out[f.name] = v;
      f.err.textContent = err;
      if (err && ok) f.input.focus();
      ok &&= !err;
    }
    return ok ? out : null;
  }

  /** A server error under the field it names (prechat.x, contact.x or x), else under the form. */
  private showError(e: unknown, fields: Field[], general: HTMLElement): void {
    const msg = e instanceof HttpError && e.status ? e.message : this.t.unavailable;
    const name = e instanceof HttpError && e.field ? e.field.replace(/^(prechat|contact)\./, '') : '';
    const f = fields.find((x) => x.name === name);
    (f ? f.err : general).textContent = msg;
  }

  private prechat(defs: PrechatField[]): void {
    const t = this.t;
    const fields = defs.map((d) => this.field(d.name, d.label, d.type, d.required));
    const general = h('div', { class: 'ferr' });
    const button = h('button', { type: 'submit', class: 'btn', text: t.start });
    const form = h(
      'form',
      {
        class: 'form pre',
        novalidate: true,
        onsubmit: async (e: Event) => {
          e.preventDefault();
          general.textContent = '';
          const vals = this.collect(fields, defs.filter((d) => d.required).map((d) => d.name));
          if (!vals) return;
          const prechat: Record<string, string> = {};
          const contact: Record<string, string> = {};
          for (const d of defs) {
            const v = vals[d.name];
            if (v == null) continue;
            prechat[d.name] = v;
            if (d.name === 'name' || d.name === 'email' || d.name === 'phone') contact[d.name] = v;
          }
          button.disabled = true;
          this.saved.p = 1;
          try {
            await this.session(Object.keys(contact).length ? { prechat, contact } : { prechat });
            if (!this.foot.hidden && innerWidth >= 480) this.ta.focus();
          } catch (err) {
            delete this.saved.p;
            this.showError(err, fields, general);
          }
          button.disabled = false;
        },
      },
      h('p', { text: t.prechat }),
      ...fields.map((f) => f.row),
      general,
      button,
    );
    this.extra.replaceChildren(form);
  }

  // ---- messages

  private nearBottom(): boolean {
    const b = this.body;
    return b.scrollHeight - b.scrollTop - b.clientHeight < 80;
  }

  private bottom(): void {
    this.body.scrollTop = this.body.scrollHeight;
  }

  /** Adds a message once (by id), in id order; a live agent message counts as unread while closed. */
  private add(m: Message, live: boolean): void {
    if (m.private || this.msgs.has(m.id)) return;
    const p = m.client_id ? this.pending.find((x) => x.cid === m.client_id) : undefined;
    if (p) this.unpend(p);
    const stick = this.nearBottom() || m.sender.type === 'contact';
    this.msgs.set(m.id, m);
    const el = this.bubble(m.sender.type, m.sender.name, m.content, m.attachments, m.attributes ? m.attributes.buttons : undefined);
    el.dataset.id = String(m.id);
    el.dataset.who = m.sender.type + (m.sender.id ?? '');
    const next = Array.from(this.list.children).find((x) => Number((x as HTMLElement).dataset.id) > m.id) || null;
    this.list.insertBefore(el, next);
    el.append(h('div', { class: 'meta', text: when(m.created_at, this.cfg.locale) }));
    const prev = el.previousElementSibling as HTMLElement | null;
    if (prev && prev.dataset.who === el.dataset.who) el.classList.add('cont');
    if (next && (next as HTMLElement).dataset.who === el.dataset.who) next.classList.add('cont');
    if (m.sender.type === 'contact' || (m.attributes && m.attributes.kind === 'greeting')) this.greeting();
    this.chipsState();
    this.inputHint();
    if (!live) return;
    if (isAgent(m)) {
      this.typing(false);
      this.place(null); // an agent has it
      if (!this.isOpen || document.hidden) {
        this.preview.replaceChildren(
          h('b', { text: m.sender.name || this.t.agent }),
          m.content || (m.attachments[0] && m.attachments[0].filename) || '',
        );
        this.preview.hidden = this.isOpen;
      }
    }
    this.readMark();
    this.badgeUpdate();
    this.markRead();
    if (stick) this.bottom();
  }

  private bubble(type: string, name: string, content: string, att: Attachment[], buttons?: Button[]): HTMLElement {
    const bot = type === 'bot';
    const cls = type === 'contact' ? 'me' : type === 'system' ? 'sys' : bot ? 'them bot' : 'them';
    const bub = h('div', { class: 'bub' }, content && linkify(content));
    for (const a of att) {
      const href = safeUrl(a.url, this.cfg.origin);
      if (!href) continue;
      const link = { href, target: '_blank', rel: 'noopener noreferrer' };
      bub.append(
        a.image
          ? h('a', { ...link, class: 'img' }, h('img', { src: href, alt: a.filename, loading: 'lazy', onload: () => this.nearBottom() || this.bottom() }))
          : h('a', { ...link, class: 'file', download: a.filename }, icon('clip'), a.filename),
      );
    }
    return h(
      'div',
      { class: 'msg ' + cls },
      cls !== 'me' && cls !== 'sys' && h('div', { class: 'name', text: name || (bot ? this.t.bot : this.t.agent) }),
      bub,
      buttons && buttons.length > 0 && this.chips(buttons),
    );
  }

  // ---- the bot

  /** Buttons as chips: a click sends the label as the visitor's message (with a flow button's payload), or asks
   * for a person. */
  private chips(buttons: Button[]): HTMLElement {
    const flow = buttons.some((b) => isFlow(b.payload));
    return h(
      'div',
      { class: flow ? 'chips flow' : 'chips' },
      ...buttons.map((b) =>
        h('button', {
          type: 'button',
          class: 'chip',
          text: b.label,
          'data-payload': b.payload || null,
          onclick: (e: Event) => {
            const el = e.currentTarget as HTMLButtonElement;
            if (el.disabled) return;
            if (b.payload === 'handoff') return this.handoff();
            if (isFlow(b.payload)) {
              el.classList.add('picked');
              this.queue({ cid: uuid(), content: b.label, att: [], payload: b.payload });
            } else this.queue({ cid: uuid(), content: b.label, att: [] });
          },
        }),
      ),
    );
  }

  /** A flow's buttons work only under the bot's latest message, and not while a message of the visitor is on
   * its way; earlier ones stay visible, inactive, with the one the visitor chose marked. */
  private chipsState(): void {
    const items = Array.from(this.list.children) as HTMLElement[];
    const last = items[items.length - 1];
    const busy = this.pending.length > 0;
    items.forEach((el, i) => {
      const group = el.querySelector('.chips.flow');
      if (!group) return;
      const live = el === last && el.classList.contains('bot') && !busy;
      // the visitor's next message says which button they chose
      const next = items.slice(i + 1).find((x) => x.dataset.who?.startsWith('contact'));
      const chosen = next ? this.msgs.get(Number(next.dataset.id))?.attributes?.payload : undefined;
      for (const b of Array.from(group.querySelectorAll<HTMLButtonElement>('.chip'))) {
        b.disabled = !live;
        if (!live && !busy) b.classList.toggle('picked', !!chosen && b.dataset.payload === chosen);
      }
    });
  }

  /** While the bot's latest message asks for a field, the composer says what to type and brings up the keyboard
   * for it (e-mail, phone, numbers). */
  private inputHint(): void {
    const items = Array.from(this.list.children) as HTMLElement[];
    const last = items[items.length - 1];
    const m = last && last.classList.contains('bot') ? this.msgs.get(Number(last.dataset.id)) : undefined;
    const a = m && m.attributes && m.attributes.kind === 'collect' ? m.attributes : null;
    const input = a ? a.input || (a.field === 'email' ? 'email' : a.field === 'phone' ? 'phone' : 'text') : '';
    const t = this.t;
    const hint: Record<string, [string, string, string]> = {
      email: [t.hintEmail, 'email', 'email'],
      phone: [t.hintPhone, 'tel', 'tel'],
      number: [t.hintNumber, 'decimal', ''],
      choice: [t.hintChoice, 'text', ''],
    };
    const [placeholder, mode, auto] = hint[input] || [t.placeholder, '', ''];
    this.ta.placeholder = placeholder;
    this.ta.dataset.input = input;
    if (mode) this.ta.setAttribute('inputmode', mode);
    else this.ta.removeAttribute('inputmode');
    if (auto) this.ta.setAttribute('autocomplete', auto);
    else this.ta.removeAttribute('autocomplete');
  }

  /** The greeting above the history: the bot's (with popular questions to click until the visitor writes)
   * when the bot is on, else the inbox's. */
  private greeting(): void {
    const ib = this.inbox;
    if (!ib) return;
    const b = this.bot && this.bot.active ? this.bot : null;
    const text = (b && b.greeting) || ib.greeting;
    const msgs = Array.from(this.msgs.values());
    const wrote = this.pending.length > 0 || msgs.some((m) => m.sender.type === 'contact');
    // The server may also have put its greeting in the conversation: then it is not shown twice.
    this.greet.hidden = !text || msgs.some((m) => !!m.attributes && m.attributes.kind === 'greeting');
    this.greet.className = 'msg them' + (b ? ' bot' : '');
    const sugg = b && !wrote && !this.foot.hidden ? (b.suggestions || []).slice(0, 3) : [];
    const flows = b && !wrote && !this.foot.hidden ? b.flows || [] : [];
    this.greet.replaceChildren(
      h('div', { class: 'name', text: b ? this.t.bot : this.title.textContent || '' }),
      h('div', { class: 'bub' }, linkify(text || '')),
    );
    // The guided flows first (a click starts one), then the popular questions.
    if (flows.length) this.greet.append(this.chips(flows.map((f) => ({ label: f.label, payload: f.payload }))));
    if (sugg.length) this.greet.append(this.chips(sugg.map((label) => ({ label }))));
    this.humanLink();
  }

  /** Takes the bot state from a conversation the server sent, when it is the visitor's. */
  private follow(c?: Conversation | null): void {
    if (c && c.bot_state !== undefined && (!this.conv || c.id === this.conv)) {
      this.botState = c.bot_state;
      this.humanLink();
    }
  }

  /** When the event carries no conversation, a live message tells who has the conversation now. */
  private guess(m: Message): void {
    const k = m.attributes && m.attributes.kind;
    const s = this.botState;
    if (m.sender.type === 'bot')
      this.botState =
        k === 'handoff' ? 'handed_off' : k === 'collect' || k === 'flow' ? 'collecting' : k === 'flow_end' ? 'active' : s === 'handed_off' ? s : s || 'active';
    else if (m.sender.type === 'user' && (s === 'active' || s === 'collecting')) this.botState = 'handed_off';
    this.humanLink();
  }

  private humanLink(): void {
    this.human.hidden = this.botState !== 'active' && this.botState !== 'collecting';
  }

  /** "Talk to a person": POST /api/v1/widget/handoff; the conversation then waits for agents. */
  private async handoff(): Promise<void> {
    this.human.disabled = true;
    try {
      const lang = this.cfg.locale === 'en' ? 'en' : 'zh'; // the language of the bot's hand-off message
      const r = await this.authed<{ conversation?: Conversation }>('POST', '/api/v1/widget/handoff?lang=' + lang, {});
      this.botState = (r && r.conversation && r.conversation.bot_state) || 'handed_off';
      if (r && r.conversation && r.conversation.id) this.conv = r.conversation.id;
    } catch (e) {
      this.error(e instanceof HttpError && e.status ? e.message : this.t.unavailable);
    }
    this.human.disabled = false;
    this.humanLink();
  }

  /** "Read" under the visitor's last message once the agent has read it. */
  private readMark(): void {
    const mine = Array.from(this.list.querySelectorAll<HTMLElement>('.me'));
    const last = mine[mine.length - 1];
    if (last && Number(last.dataset.id) <= this.agentRead) last.append(this.readEl);
    else this.readEl.remove();
  }

  private latestAgent(): number {
    let id = 0;
    for (const m of this.msgs.values()) if (isAgent(m) && m.id > id) id = m.id;
    return id;
  }

  private badgeUpdate(): void {
    let n = 0;
    if (!this.isOpen) for (const m of this.msgs.values()) if (isAgent(m) && m.id > (this.saved.s || 0)) n++;
    this.badge.hidden = !n;
    this.badge.textContent = n > 9 ? '9+' : String(n);
    if (!n) this.preview.hidden = true;
  }

  /** While the panel is open and the page visible: agent messages are seen (badge) and read (server). */
  private markRead(): void {
    if (!this.isOpen || document.hidden) return;
    const last = this.latestAgent();
    if (last > (this.saved.s || 0)) {
      this.saved.s = last;
      this.save();
    }
    if (last > this.readSent && this.ready) {
      this.send({ type: 'read', message_id: last });
      this.readSent = last;
    }
    this.badgeUpdate();
  }

  // ---- sending

  private submit(): void {
    const content = this.ta.value.trim();
    if (!content) return;
    this.ta.value = '';
    this.typed();
    this.stopTyping();
    this.queue({ cid: uuid(), content, att: [] });
  }

  private queue(p: Pending): void {
    this.pending.push(p);
    this.greeting();
    this.chipsState();
    this.showPending(p);
    this.save();
    this.transmit(p);
    this.bottom();
  }

  private transmit(p: Pending): void {
    if (p.up) return;
    const cmd: Record<string, unknown> = { type: 'message.send', client_id: p.cid, content: p.content };
    if (p.att.length) cmd.attachment_ids = p.att.map((a) => a.id);
    if (p.payload) cmd.payload = p.payload;
    this.send(cmd);
  }

  private showPending(p: Pending): void {
    if (!this.pending.includes(p)) this.pending.push(p);
    const el = this.bubble('contact', '', p.up || p.content, p.att);
    el.classList.add('pending');
    const meta = h('div', { class: 'meta' }, p.up ? this.t.uploading : p.failed ? this.t.failed : this.t.sending);
    if (p.failed) {
      el.classList.add('failed');
      meta.append(
        ' ',
        h('button', {
          type: 'button',
          class: 'link',
          text: this.t.retry,
          onclick: () => {
            p.failed = false;
            this.showPending(p);
            this.transmit(p);
          },
        }),
      );
    }
    el.append(meta);
    if (p.el) p.el.replaceWith(el);
    else this.pend.append(el);
    p.el = el;
  }

  private unpend(p: Pending): void {
    this.pending = this.pending.filter((x) => x !== p);
    if (p.el) p.el.remove();
    this.save();
    this.chipsState();
  }

  private async upload(file: File): Promise<void> {
    const p: Pending = { cid: uuid(), content: '', att: [], up: file.name };
    this.queue(p);
    try {
      const a = await this.authed<Attachment>('POST', '/api/v1/widget/attachments?filename=' + encodeURIComponent(file.name), file);
      p.att = [a];
      delete p.up;
      this.showPending(p);
      this.save();
      this.transmit(p);
    } catch (e) {
      this.unpend(p);
      const s = e instanceof HttpError ? e.status : 0;
      const t = this.t;
      this.error(file.name + ': ' + (s === 413 ? t.tooLarge : s === 415 ? t.badType : s === 422 ? (e as Error).message : t.uploadFailed));
    }
  }

  private error(text: string): void {
    this.errEl.textContent = text;
    this.errEl.hidden = false;
    setTimeout(() => (this.errEl.hidden = true), 8000);
  }

  // ---- typing

  /** Composer input: grow the textarea; tell the agent we type (at most every 3 s), stop after 4 s idle. */
  private typed(): void {
    this.grow();
    if (!this.ta.value.trim() || !this.conv) return;
    const now = Date.now();
    if (now - this.typingAt > 3000) {
      this.typingAt = now;
      this.send({ type: 'typing', on: true });
    }
    clearTimeout(this.typingIdle);
    this.typingIdle = setTimeout(() => this.stopTyping(), 4000);
  }

  private grow(): void {
    const ta = this.ta;
    ta.style.height = 'auto';
    ta.style.height = Math.min(ta.scrollHeight, 120) + 'px';
  }

  private stopTyping(): void {
    clearTimeout(this.typingIdle);
    if (!this.typingAt) return;
    this.typingAt = 0;
    this.send({ type: 'typing', on: false });
  }

  private typing(on: boolean, name?: string): void {
    clearTimeout(this.typingHide);
    this.typingEl.hidden = !on;
    if (!on) return;
    this.typingEl.textContent = this.t.typing.replace('{name}', name || this.t.agent);
    this.typingHide = setTimeout(() => (this.typingEl.hidden = true), 6000);
  }
}
