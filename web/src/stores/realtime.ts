// The workspace's one WebSocket per tab (docs/api.md, "WebSocket"). It authenticates with the session
// cookie (sent with the same-origin handshake; the console keeps no token), follows the event stream by
// `seq`, reconnects with backoff and jitter (0.5 s up to 30 s) passing `since` so nothing is missed or seen
// twice, and carries commands (message.send, typing, read) whose answers come back by `client_id`.
//
// Views subscribe with onRealtime(); they receive every event once, in order, plus the ephemeral frames
// (typing, presence) and two control signals: `connected` (resumed=false means the stream could not be
// continued, so anything loaded earlier may be stale: reload) and `resync` (the server says we are too far
// behind: reload over REST).
import { reactive, readonly } from 'vue';
import { ApiError } from '@/api';
import { request } from '@/api/http';
import { refreshSession } from '@/stores/session';
import type { Availability, Contact, Conversation, Message, SenderType } from '@/api';

export type ConnectionStatus = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'offline';

/** A stored event: conversation and message changes, inbox changes, and so on. */
export interface EventFrame {
  type: 'event';
  seq: number;
  event: string;
  data: Record<string, unknown>;
  at: string;
}

export interface TypingFrame {
  type: 'typing';
  conversation_id: number;
  on: boolean;
  sender: { type: SenderType; id: number | null; name: string };
}

export interface PresenceFrame {
  type: 'presence';
  user_id: number;
  online: boolean;
}

/** An inbox's queue changed (ephemeral; docs/api.md, "Routing" / "Queue"). */
export interface QueueFrame {
  type: 'queue';
  inbox_id: number;
  size: number;
}

export type RealtimeSignal =
  | { kind: 'event'; frame: EventFrame; /** false while replaying what happened during a disconnection */ live: boolean }
  | { kind: 'typing'; frame: TypingFrame }
  | { kind: 'presence'; frame: PresenceFrame }
  | { kind: 'queue'; frame: QueueFrame }
  | { kind: 'connected'; resumed: boolean; hello: Record<string, unknown> }
  | { kind: 'resync' };

// Typed views of the event payloads the workspace uses.
export interface MessageCreatedData {
  message: Message;
  conversation?: Conversation;
}
/** message.updated: a message changed after it was sent (reason "sentiment": an agent corrected it). */
export interface MessageUpdatedData extends MessageCreatedData {
  reason?: string;
}
export interface ConversationEventData {
  conversation: Conversation;
  previous_status?: string;
  previous_assignee_id?: number | null;
}
export interface ConversationReadData {
  conversation_id: number;
  reader: 'agent' | 'contact';
  user_id?: number;
  message_id: number;
}
export interface ContactUpdatedData {
  contact: Contact;
}
export interface AvailabilityChangedData {
  user_id: number;
  status: Availability;
}

interface State {
  status: ConnectionStatus;
  accountId: number | null;
  /** The highest event seq processed. */
  seq: number;
  /** Failed attempts in a row. */
  attempts: number;
  /** When the next attempt happens (ms since epoch), while reconnecting. */
  retryAt: number;
  /** Who is online, from presence frames (absent: not known). */
  online: Record<number, boolean>;
  /** Waiting conversations per inbox id, from queue frames (absent: not known). */
  queues: Record<number, number>;
}

const state = reactive<State>({ status: 'idle', accountId: null, seq: 0, attempts: 0, retryAt: 0, online: {}, queues: {} });

type Listener = (s: RealtimeSignal) => void;
const listeners = new Set<Listener>();

interface Pending {
  frame: Record<string, unknown>;
  resolve: (data: unknown) => void;
  reject: (e: unknown) => void;
}
/** Commands waiting for their answer, by client_id; sent again after a reconnect. */
const pending = new Map<string, Pending>();

let ws: WebSocket | null = null;
let retryTimer: ReturnType<typeof setTimeout> | undefined;
let heartbeat: ReturnType<typeof setInterval> | undefined;
let lastReceived = 0;
/** The seq the server had when we connected: events up to it are a replay. */
let helloSeq = 0;
/** True once a hello was received for the current account (so `since` can be passed). */
let haveSeq = false;
let onlineHandlersInstalled = false;

const MIN_DELAY = 500;
const MAX_DELAY = 30_000;
const PING_EVERY = 25_000;
const SILENCE_LIMIT = 70_000;

function emit(s: RealtimeSignal): void {
  for (const l of [...listeners]) {
    try {
      l(s);
    } catch (e) {
      console.error('realtime listener failed', e);
    }
  }
}

/** Subscribes to the stream; returns the function that unsubscribes. */
export function onRealtime(fn: Listener): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function socketUrl(accountId: number): string {
  // Relative to the page, like the REST base, so the console also works under a path prefix.
  const url = new URL('ws', window.location.href);
  url.hash = '';
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.searchParams.set('account_id', String(accountId));
  if (haveSeq) url.searchParams.set('since', String(state.seq));
  return url.toString();
}

function installOnlineHandlers(): void {
  if (onlineHandlersInstalled) return;
  onlineHandlersInstalled = true;
  window.addEventListener('online', () => {
    if (state.accountId !== null && state.status !== 'connected') reconnectNow();
  });
  window.addEventListener('offline', () => {
    if (state.accountId === null) return;
    state.status = 'offline';
    ws?.close();
  });
}

/** Connects for an account (a no-op when already connected to it). */
export function startRealtime(accountId: number): void {
  installOnlineHandlers();
  if (state.accountId === accountId && state.status !== 'idle') return;
  stopRealtime();
  state.accountId = accountId;
  state.seq = 0;
  state.online = {};
  state.queues = {};
  haveSeq = false;
  connect();
}

/** Closes the socket and forgets the stream (sign-out, account switch). */
export function stopRealtime(): void {
  clearTimeout(retryTimer);
  clearInterval(heartbeat);
  retryTimer = undefined;
  heartbeat = undefined;
  if (ws) {
    const old = ws;
    ws = null;
    old.onopen = old.onmessage = old.onclose = old.onerror = null;
    old.close(1000);
  }
  for (const p of pending.values()) p.reject(new ApiError(0, { code: 'closed', message: 'The connection was closed.' }));
  pending.clear();
  state.status = 'idle';
  state.accountId = null;
  state.attempts = 0;
}

function connect(): void {
  if (state.accountId === null) return;
  if (typeof navigator !== 'undefined' && navigator.onLine === false) {
    // The 'online' event reconnects at once; until then, retry slowly.
    state.attempts++;
    scheduleReconnect();
    return;
  }
  state.status = state.attempts === 0 && !haveSeq ? 'connecting' : 'reconnecting';
  let opened = false;
  const sock = new WebSocket(socketUrl(state.accountId));
  ws = sock;

  sock.onopen = () => {
    opened = true;
    lastReceived = Date.now();
  };
  sock.onmessage = (ev) => {
    if (ws !== sock) return;
    lastReceived = Date.now();
    let frame: Record<string, unknown>;
    try {
      frame = JSON.parse(String(ev.data));
    } catch {
      return;
    }
    if (frame && typeof frame === 'object') handleFrame(frame);
  };
  sock.onerror = () => {
    /* onclose follows */
  };
  sock.onclose = (ev) => {
    if (ws !== sock) return;
    ws = null;
    clearInterval(heartbeat);
    heartbeat = undefined;
    if (state.accountId === null) return;
    state.attempts++;
    // 4401: the session this socket opened with ended (signed out elsewhere, expired, revoked):
    // GET /me answers 401 and the unauthorized handler takes the user to the sign-in page.
    if (ev.code === 4401 || (!opened && state.attempts >= 2)) checkSession();
    // 4003: the user's role in this account changed; the menu and permissions follow /me.
    if (ev.code === 4003) void refreshSession();
    scheduleReconnect();
  };
}

/** A handshake that keeps failing may be a session that ended: GET /me calls the 401 handler if so. */
function checkSession(): void {
  request('GET', '/me').catch(() => {
    /* the unauthorized handler has run, or the server is down: keep retrying */
  });
}

function scheduleReconnect(): void {
  clearTimeout(retryTimer);
  const base = Math.min(MAX_DELAY, MIN_DELAY * 2 ** Math.max(0, state.attempts - 1));
  const delay = Math.round(base / 2 + Math.random() * (base / 2));
  state.retryAt = Date.now() + delay;
  if (navigator.onLine === false || state.attempts >= 4) state.status = 'offline';
  else state.status = 'reconnecting';
  retryTimer = setTimeout(connect, delay);
}

/** Tries again at once (the browser came back online, or the user asked). */
export function reconnectNow(): void {
  if (state.accountId === null) return;
  clearTimeout(retryTimer);
  if (ws) {
    const old = ws;
    ws = null;
    old.onopen = old.onmessage = old.onclose = old.onerror = null;
    old.close();
  }
  connect();
}

function startHeartbeat(): void {
  clearInterval(heartbeat);
  heartbeat = setInterval(() => {
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    if (Date.now() - lastReceived > SILENCE_LIMIT) {
      // A half-open connection: nothing came back for too long. Start over.
      ws.close(4000, 'silent');
      return;
    }
    ws.send(JSON.stringify({ type: 'ping' }));
  }, PING_EVERY);
}

function codeStatus(code: string): number {
  switch (code) {
    case 'not_found':
      return 404;
    case 'forbidden':
      return 403;
    case 'validation_failed':
      return 422;
    case 'busy':
      return 503;
    default:
      return 400;
  }
}

function handleFrame(f: Record<string, unknown>): void {
  switch (f.type) {
    case 'hello': {
      const seq = Number(f.seq) || 0;
      let resumed = haveSeq;
      if (haveSeq && seq < state.seq) resumed = false; // the server's history is shorter than ours
      if (!resumed) state.seq = seq;
      helloSeq = seq;
      haveSeq = true;
      state.attempts = 0;
      state.status = 'connected';
      state.online = resumed ? state.online : {};
      // The agents' hello lists who is online now: take it as the starting point.
      if (Array.isArray(f.online_user_ids)) {
        const online: Record<number, boolean> = {};
        for (const id of f.online_user_ids) if (typeof id === 'number') online[id] = true;
        state.online = online;
      }
      startHeartbeat();
      emit({ kind: 'connected', resumed, hello: f });
      // Commands still waiting for an answer go out again with the same client_id; the server answers a
      // repeated client_id with the first result, so nothing is sent twice.
      for (const p of pending.values()) rawSend(p.frame);
      return;
    }
    case 'event': {
      const frame = f as unknown as EventFrame;
      if (typeof frame.seq !== 'number' || frame.seq <= state.seq) return; // seen already
      state.seq = frame.seq;
      emit({ kind: 'event', frame, live: frame.seq > helloSeq });
      return;
    }
    case 'resync': {
      state.seq = Number(f.seq) || state.seq;
      helloSeq = state.seq;
      emit({ kind: 'resync' });
      return;
    }
    case 'typing':
      emit({ kind: 'typing', frame: f as unknown as TypingFrame });
      return;
    case 'presence': {
      const p = f as unknown as PresenceFrame;
      if (typeof p.user_id === 'number') state.online[p.user_id] = !!p.online;
      emit({ kind: 'presence', frame: p });
      return;
    }
    case 'queue': {
      const q = f as unknown as QueueFrame;
      if (typeof q.inbox_id === 'number' && typeof q.size === 'number') state.queues[q.inbox_id] = q.size;
      emit({ kind: 'queue', frame: q });
      return;
    }
    case 'ack': {
      const id = String(f.client_id ?? '');
      const p = pending.get(id);
      if (p) {
        pending.delete(id);
        p.resolve(f.data);
      }
      return;
    }
    case 'error': {
      const id = f.client_id !== undefined && f.client_id !== null ? String(f.client_id) : '';
      const p = id ? pending.get(id) : undefined;
      if (p) {
        pending.delete(id);
        const code = String(f.code ?? 'error');
        p.reject(new ApiError(codeStatus(code), { code, message: String(f.message ?? code), field: f.field as string | undefined }));
      } else if (import.meta.env.DEV) {
        console.warn('realtime error frame', f);
      }
      return;
    }
    default:
      return; // pong and anything newer
  }
}

function rawSend(frame: Record<string, unknown>): boolean {
  if (!ws || ws.readyState !== WebSocket.OPEN || state.status !== 'connected') return false;
  ws.send(JSON.stringify(frame));
  return true;
}

/** Sends a frame that needs no answer (typing, read). False when not connected. */
export function sendFrame(frame: Record<string, unknown>): boolean {
  return rawSend(frame);
}

/**
 * Sends a command and resolves with the `data` of its ack. While disconnected it waits, and it is sent
 * again (same client_id) after every reconnect until answered. Rejects with an ApiError on an error frame.
 */
export function sendCommand<T>(frame: Record<string, unknown> & { client_id: string }): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    pending.set(frame.client_id, { frame, resolve: resolve as (d: unknown) => void, reject });
    rawSend(frame);
  });
}

/** Forgets a command (the user discarded a message that never got its answer). */
export function dropCommand(clientId: string): void {
  pending.delete(clientId);
}

export function useRealtime() {
  return { state: readonly(state) };
}
