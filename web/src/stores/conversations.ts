// Conversations of the current account: one cache of conversation objects by id (the list, the open
// conversation and the contact panel all read it), the list shown on the left with its filters, and the
// live updates from the WebSocket that keep both current without reloading.
//
// The list is "newest activity first", paged by offset. A conversation that changes is put in its place
// (or taken out when it no longer matches the filters); the tab counts come from the server, fetched again
// (debounced) after changes.
import { computed, reactive, readonly } from 'vue';
import { conversations as convApi } from '@/api';
import type { AssigneeFilter, Conversation, ConversationCounts, ConversationQuery, Message, StatusFilter } from '@/api';
import { describeError } from '@/utils/errors';
import { useSession } from '@/stores/session';
import {
  onRealtime,
  type ContactUpdatedData,
  type ConversationEventData,
  type ConversationReadData,
  type MessageCreatedData,
  type MessageUpdatedData,
  type RealtimeSignal,
} from '@/stores/realtime';

export const PAGE_SIZE = 30;
const FILTER_KEY = 'parley.conversations.filters';

export interface Filters {
  status: StatusFilter;
  assignee: AssigneeFilter;
  inboxId: number | null;
  label: string | null;
  q: string;
}

interface ListState {
  accountId: number | null;
  ids: number[];
  total: number;
  counts: ConversationCounts;
  loading: boolean;
  loadingMore: boolean;
  error: string;
  /** Set once the first page of the current filters arrived. */
  loaded: boolean;
}

function storedFilters(): Pick<Filters, 'status' | 'assignee'> {
  try {
    const v = JSON.parse(localStorage.getItem(FILTER_KEY) || '{}');
    const status = ['open', 'pending', 'snoozed', 'resolved', 'all'].includes(v.status) ? v.status : 'open';
    const assignee = ['all', 'me', 'unassigned'].includes(v.assignee) ? v.assignee : 'all';
    return { status, assignee };
  } catch {
    return { status: 'open', assignee: 'all' };
  }
}

export const filters = reactive<Filters>({ ...storedFilters(), inboxId: null, label: null, q: '' });

/** Every conversation seen, by id. */
const cache = reactive(new Map<number, Conversation>());

const list = reactive<ListState>({
  accountId: null,
  ids: [],
  total: 0,
  counts: { mine: 0, unassigned: 0, all: 0 },
  loading: false,
  loadingMore: false,
  error: '',
  loaded: false,
});

/** Conversations a visitor is typing in: id → {name, until (ms)}. */
const typing = reactive(new Map<number, { name: string; until: number }>());

/** The conversation open in the middle column (no alerts for it while the tab is visible). */
const openState = reactive<{ id: number | null }>({ id: null });

const items = computed(() => list.ids.map((id) => cache.get(id)).filter((c): c is Conversation => !!c));

function myId(): number | null {
  return useSession().state.me?.id ?? null;
}

function rememberFilters(): void {
  try {
    localStorage.setItem(FILTER_KEY, JSON.stringify({ status: filters.status, assignee: filters.assignee }));
  } catch {
    /* storage disabled */
  }
}

function query(extra: ConversationQuery = {}): ConversationQuery {
  return {
    status: filters.status,
    assignee: filters.assignee,
    inbox_id: filters.inboxId ?? undefined,
    label: filters.label ?? undefined,
    q: filters.q.trim() || undefined,
    ...extra,
  };
}

function newer(a: Conversation, b: Conversation): boolean {
  // True when a is not older than b.
  return a.updated_at >= b.updated_at || a.last_activity_at > b.last_activity_at;
}

/** Puts a conversation in the cache (unless what we have is newer). Returns what the cache now holds. */
export function cacheConversation(c: Conversation, force = false): Conversation {
  const old = cache.get(c.id);
  if (old && !force && !newer(c, old)) return old;
  cache.set(c.id, c);
  return cache.get(c.id)!;
}

export function getCached(id: number): Conversation | undefined {
  return cache.get(id);
}

/** Whether a conversation belongs in the list under the current filters; null: cannot tell (search). */
function matches(c: Conversation): boolean | null {
  if (filters.status !== 'all' && c.status !== filters.status) return false;
  if (filters.inboxId !== null && c.inbox_id !== filters.inboxId) return false;
  if (filters.label !== null && !c.labels.includes(filters.label)) return false;
  if (filters.assignee === 'me' && c.assignee?.id !== myId()) return false;
  if (filters.assignee === 'unassigned' && c.assignee) return false;
  if (filters.q.trim()) return null;
  return true;
}

function byActivity(a: number, b: number): number {
  const ca = cache.get(a);
  const cb = cache.get(b);
  if (!ca || !cb) return 0;
  if (ca.last_activity_at !== cb.last_activity_at) return ca.last_activity_at < cb.last_activity_at ? 1 : -1;
  return cb.id - ca.id;
}

/** A changed conversation: cache it, and put it in, move it within, or take it out of the list. */
export function putConversation(c: Conversation): Conversation {
  const stored = cacheConversation(c);
  if (list.accountId === null) return stored;
  const at = list.ids.indexOf(c.id);
  const m = matches(stored);
  if (m === false) {
    if (at >= 0) {
      list.ids.splice(at, 1);
      list.total = Math.max(0, list.total - 1);
    }
  } else if (at < 0 && m === true && list.loaded) {
    list.ids.push(c.id);
    list.total++;
  }
  list.ids.sort(byActivity);
  scheduleCounts();
  return stored;
}

let loadSeq = 0;
let abort: AbortController | null = null;

/** Loads the first page for the current filters. quiet: keep showing the old list while loading. */
export async function loadList(accountId: number, quiet = false): Promise<void> {
  const mine = ++loadSeq;
  abort?.abort();
  abort = new AbortController();
  if (list.accountId !== accountId) {
    list.accountId = accountId;
    list.ids = [];
    list.loaded = false;
    cache.clear();
  }
  rememberFilters();
  if (!quiet) list.loading = true;
  list.error = '';
  try {
    const res = await convApi.listConversations(accountId, query({ limit: PAGE_SIZE, offset: 0 }), abort.signal);
    if (mine !== loadSeq) return;
    for (const c of res.data) cacheConversation(c, true);
    list.ids = res.data.map((c) => c.id);
    list.total = res.meta.total;
    if (res.meta.counts) list.counts = res.meta.counts;
    list.loaded = true;
  } catch (e) {
    if (mine !== loadSeq || (e instanceof DOMException && e.name === 'AbortError')) return;
    list.error = describeError(e);
  } finally {
    if (mine === loadSeq) list.loading = false;
  }
}

export const hasMore = computed(() => list.loaded && list.ids.length < list.total);

export async function loadMore(): Promise<void> {
  const aid = list.accountId;
  if (aid === null || list.loadingMore || list.loading || !hasMore.value) return;
  const mine = loadSeq;
  list.loadingMore = true;
  try {
    const res = await convApi.listConversations(aid, query({ limit: PAGE_SIZE, offset: list.ids.length }));
    if (mine !== loadSeq) return;
    for (const c of res.data) {
      cacheConversation(c);
      if (!list.ids.includes(c.id)) list.ids.push(c.id);
    }
    list.total = Math.max(res.meta.total, list.ids.length);
    if (res.meta.counts) list.counts = res.meta.counts;
  } catch (e) {
    if (mine === loadSeq) list.error = describeError(e);
  } finally {
    list.loadingMore = false;
  }
}

// The tab counts: asked again (one small request) a moment after things change.
let countsTimer: ReturnType<typeof setTimeout> | undefined;
function scheduleCounts(): void {
  clearTimeout(countsTimer);
  countsTimer = setTimeout(refreshCounts, 600);
}

async function refreshCounts(): Promise<void> {
  const aid = list.accountId;
  if (aid === null) return;
  const mine = loadSeq;
  try {
    const res = await convApi.listConversations(aid, query({ limit: 1, offset: 0 }));
    if (mine !== loadSeq) return;
    if (res.meta.counts) list.counts = res.meta.counts;
    list.total = Math.max(res.meta.total, 0);
  } catch {
    /* counts stay as they were */
  }
}

/** Marks a conversation read locally (the server confirms with a conversation.read event). */
export function markReadLocally(id: number, messageId: number): void {
  const c = cache.get(id);
  if (!c) return;
  if (messageId > c.agent_last_read_id) c.agent_last_read_id = messageId;
  if (!c.last_message || messageId >= c.last_message.id) c.unread_count = 0;
}

function applyMessage(m: Message, conv: Conversation | undefined): void {
  if (conv) {
    putConversation(conv);
    return;
  }
  const c = cache.get(m.conversation_id);
  if (!c) return;
  c.last_message = { id: m.id, content: m.content, sender_type: m.sender.type, private: m.private, created_at: m.created_at };
  c.last_activity_at = m.created_at;
  if (m.sender.type === 'contact') c.unread_count++;
  putConversation(c);
}

function clearTyping(id: number): void {
  typing.delete(id);
}

const typingTimers = new Map<number, ReturnType<typeof setTimeout>>();

function onSignal(s: RealtimeSignal): void {
  switch (s.kind) {
    case 'event': {
      const { event, data } = s.frame;
      switch (event) {
        case 'conversation.created':
        case 'conversation.updated':
        case 'conversation.status_changed':
        case 'conversation.assigned': {
          const d = data as unknown as ConversationEventData;
          if (d.conversation) putConversation(d.conversation);
          break;
        }
        case 'message.updated': {
          // an agent corrected a message's sentiment: the conversation's may follow
          const d = data as unknown as MessageUpdatedData;
          if (d.conversation) putConversation(d.conversation);
          break;
        }
        case 'message.created': {
          const d = data as unknown as MessageCreatedData;
          if (d.message) {
            applyMessage(d.message, d.conversation);
            if (d.message.sender.type === 'contact') clearTyping(d.message.conversation_id);
          }
          break;
        }
        case 'conversation.read': {
          const d = data as unknown as ConversationReadData;
          const c = cache.get(d.conversation_id);
          if (!c) break;
          if (d.reader === 'contact') {
            if (d.message_id > c.contact_last_read_id) c.contact_last_read_id = d.message_id;
          } else {
            markReadLocally(d.conversation_id, d.message_id);
          }
          break;
        }
        case 'contact.updated': {
          const d = data as unknown as ContactUpdatedData;
          if (!d.contact) break;
          for (const c of cache.values()) {
            if (c.contact.id === d.contact.id) {
              c.contact = { id: d.contact.id, name: d.contact.name, email: d.contact.email, phone: d.contact.phone };
            }
          }
          break;
        }
      }
      return;
    }
    case 'typing': {
      const f = s.frame;
      if (f.sender?.type !== 'contact') return;
      clearTimeout(typingTimers.get(f.conversation_id));
      if (f.on) {
        // Visitors' typing frames carry no name: use the contact's.
        const name = f.sender.name || cache.get(f.conversation_id)?.contact.name || '';
        typing.set(f.conversation_id, { name, until: Date.now() + 8000 });
        // A visitor whose "stopped typing" never arrives (closed tab) stops showing after a while.
        typingTimers.set(f.conversation_id, setTimeout(() => clearTyping(f.conversation_id), 8000));
      } else {
        clearTyping(f.conversation_id);
      }
      return;
    }
    case 'connected':
      if (!s.resumed && list.accountId !== null && list.loaded) void loadList(list.accountId, true);
      return;
    case 'resync':
      if (list.accountId !== null) void loadList(list.accountId, true);
      return;
    default:
      return;
  }
}

onRealtime(onSignal);

export function setOpenConversation(id: number | null): void {
  openState.id = id;
}

export function typingIn(id: number): { name: string } | undefined {
  return typing.get(id);
}

/** Forgets everything (sign-out, account switch). */
export function resetConversations(): void {
  loadSeq++;
  abort?.abort();
  cache.clear();
  typing.clear();
  list.accountId = null;
  list.ids = [];
  list.total = 0;
  list.loaded = false;
  list.error = '';
}

export function useConversations() {
  return { list: readonly(list), items, hasMore, filters, open: readonly(openState) };
}
