// The messages of one conversation as the middle column shows them: the latest page first, older pages on
// demand (before=), live messages from the WebSocket, and the agent's own messages shown at once
// ("optimistic") with their client_id until the server's ack replaces them. A message that failed stays,
// marked, with Retry (same client_id, so it is never sent twice) and Discard.
import { reactive } from 'vue';
import { conversations as convApi } from '@/api';
import type { Attachment, Message } from '@/api';
import { describeError } from '@/utils/errors';
import { newClientId } from '@/utils/id';
import { dropCommand, sendCommand, useRealtime } from '@/stores/realtime';
import { useSession } from '@/stores/session';

export const PAGE = 50;
const REST_FALLBACK_MS = 8000;

export interface ThreadMessage extends Message {
  /** Stable key for rendering: stays the same when the ack replaces the optimistic copy. */
  key: string;
  /** Only on the agent's own messages not yet confirmed. */
  localState?: 'pending' | 'failed';
  localError?: string;
}

interface ThreadState {
  messages: ThreadMessage[];
  hasMore: boolean;
  loading: boolean;
  loadingOlder: boolean;
  error: string;
  /** Incremented when messages are added at the end (the view scrolls on it). */
  appended: number;
}

export interface Outgoing {
  content: string;
  private: boolean;
  attachments: Attachment[];
}

export function useThread(accountId: number, conversationId: number) {
  const state = reactive<ThreadState>({ messages: [], hasMore: false, loading: true, loadingOlder: false, error: '', appended: 0 });

  const realIds = () => state.messages.filter((m) => !m.localState && m.id > 0).map((m) => m.id);

  function toThread(m: Message, key?: string): ThreadMessage {
    return { ...m, attachments: m.attachments ?? [], key: key ?? `m${m.id}` };
  }

  /** Puts a server message in its place: replaces the optimistic copy or a copy already shown. */
  function upsert(m: Message): 'added' | 'replaced' {
    if (m.conversation_id !== conversationId) return 'replaced';
    const byId = state.messages.findIndex((x) => x.id === m.id && !x.localState);
    if (byId >= 0) {
      state.messages[byId] = toThread(m, state.messages[byId].key);
      return 'replaced';
    }
    if (m.client_id) {
      const local = state.messages.findIndex((x) => x.localState && x.client_id === m.client_id);
      if (local >= 0) {
        const key = state.messages[local].key;
        state.messages.splice(local, 1);
        insertSorted(toThread(m, key));
        return 'replaced';
      }
    }
    insertSorted(toThread(m));
    state.appended++;
    return 'added';
  }

  /** A message that changed after it was sent (message.updated): replaced where shown, else ignored. */
  function replace(m: Message): boolean {
    const i = state.messages.findIndex((x) => x.id === m.id && !x.localState);
    if (m.conversation_id !== conversationId || i < 0) return false;
    state.messages[i] = toThread(m, state.messages[i].key);
    return true;
  }

  function insertSorted(m: ThreadMessage): void {
    // Confirmed messages in id order; unconfirmed ones stay at the end.
    let i = state.messages.length;
    while (i > 0) {
      const prev = state.messages[i - 1];
      if (!prev.localState && prev.id < m.id) break;
      i--;
    }
    state.messages.splice(i, 0, m);
  }

  async function loadLatest(): Promise<void> {
    state.loading = true;
    state.error = '';
    try {
      const res = await convApi.listMessages(accountId, conversationId, { limit: PAGE });
      const locals = state.messages.filter((m) => m.localState);
      state.messages = res.data.map((m) => toThread(m));
      for (const l of locals) {
        if (!state.messages.some((m) => m.client_id && m.client_id === l.client_id)) state.messages.push(l);
      }
      state.hasMore = res.meta.has_more;
      state.appended++;
    } catch (e) {
      state.error = describeError(e);
    } finally {
      state.loading = false;
    }
  }

  async function loadOlder(): Promise<void> {
    if (!state.hasMore || state.loadingOlder || state.loading) return;
    const ids = realIds();
    if (!ids.length) return;
    state.loadingOlder = true;
    try {
      const res = await convApi.listMessages(accountId, conversationId, { limit: PAGE, before: ids[0] });
      const known = new Set(ids);
      const older = res.data.filter((m) => !known.has(m.id)).map((m) => toThread(m));
      state.messages.unshift(...older);
      state.hasMore = res.meta.has_more;
    } catch (e) {
      state.error = describeError(e);
    } finally {
      state.loadingOlder = false;
    }
  }

  /** After a gap in the live stream: fetch whatever came after the newest message we have. */
  async function catchUp(): Promise<void> {
    const ids = realIds();
    if (!ids.length) return loadLatest();
    let after = ids[ids.length - 1];
    try {
      for (let i = 0; i < 20; i++) {
        const res = await convApi.listMessages(accountId, conversationId, { limit: 200, after });
        for (const m of res.data) upsert(m);
        if (!res.meta.has_more || !res.data.length) break;
        after = res.data[res.data.length - 1].id;
      }
    } catch {
      /* the next reconnect tries again */
    }
  }

  function dispatch(local: ThreadMessage): void {
    local.localState = 'pending';
    local.localError = undefined;
    const frame: Record<string, unknown> & { client_id: string } = {
      type: 'message.send',
      conversation_id: conversationId,
      client_id: local.client_id!,
      content: local.content,
    };
    if (local.private) frame.private = true;
    if (local.attachments.length) frame.attachment_ids = local.attachments.map((a) => a.id);
    const fail = (e: unknown) => {
      const cur = state.messages.find((x) => x.key === local.key && x.localState);
      if (!cur) return;
      cur.localState = 'failed';
      cur.localError = describeError(e);
    };
    sendCommand<Message>(frame).then((m) => {
      if (m && typeof m === 'object' && 'id' in m) upsert(m);
    }, fail);
    // Still no WebSocket after a while (a proxy that blocks it, a long outage): post it over REST with the
    // same client_id. The server answers a client_id it has seen with the first message, so whichever
    // path arrives second changes nothing.
    const clientId = local.client_id!;
    setTimeout(() => {
      const cur = state.messages.find((x) => x.key === local.key && x.localState === 'pending');
      if (!cur || useRealtime().state.status === 'connected') return;
      convApi
        .sendMessage(accountId, conversationId, {
          content: cur.content,
          private: cur.private || undefined,
          client_id: clientId,
          attachment_ids: cur.attachments.length ? cur.attachments.map((a) => a.id) : undefined,
        })
        .then((m) => {
          dropCommand(clientId);
          upsert(m);
        })
        .catch(() => {
          /* still unreachable: the WebSocket sends it when it is back */
        });
    }, REST_FALLBACK_MS);
  }

  /** Shows the message at once and sends it over the WebSocket (queued while disconnected). */
  function send(out: Outgoing): void {
    const me = useSession().state.me;
    const clientId = newClientId();
    const local: ThreadMessage = {
      id: 0,
      conversation_id: conversationId,
      inbox_id: 0,
      sender: { type: 'user', id: me?.id ?? null, name: me?.name ?? '' },
      content: out.content,
      private: out.private,
      client_id: clientId,
      attachments: out.attachments,
      created_at: new Date().toISOString(),
      key: `c${clientId}`,
      localState: 'pending',
    };
    state.messages.push(local);
    state.appended++;
    dispatch(state.messages[state.messages.length - 1]);
  }

  function retry(key: string): void {
    const m = state.messages.find((x) => x.key === key && x.localState === 'failed');
    if (m) dispatch(m);
  }

  function discard(key: string): void {
    const i = state.messages.findIndex((x) => x.key === key && x.localState);
    if (i < 0) return;
    if (state.messages[i].client_id) dropCommand(state.messages[i].client_id!);
    state.messages.splice(i, 1);
  }

  return { state, loadLatest, loadOlder, catchUp, upsert, replace, send, retry, discard };
}

export type Thread = ReturnType<typeof useThread>;
