// Starts and stops what the signed-in workspace runs in the background for the current account: the
// WebSocket, the directory (users, inboxes, labels), and the alert rules (sound + desktop notification on a
// new conversation, and on a customer message in a conversation that is not the one open in front).
import type { Router } from 'vue-router';
import { i18n } from '@/i18n';
import type { AvailabilityChangedData, ConversationEventData, MessageCreatedData } from '@/stores/realtime';
import { onRealtime, startRealtime, stopRealtime } from '@/stores/realtime';
import { loadDirectory, loadTeams, noteLabels, rememberAvailability, useDirectory } from '@/stores/agents';
import { alertUser } from '@/stores/notifications';
import { getCached, resetConversations, useConversations } from '@/stores/conversations';
import { useSession } from '@/stores/session';

let unsubscribe: (() => void) | null = null;
let current: number | null = null;

function preview(text: string, max = 120): string {
  const s = text.replace(/\s+/g, ' ').trim();
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}

/** Only conversations that are the agent's business ring: unassigned, or assigned to them. */
function concernsMe(assigneeId: number | null | undefined): boolean {
  const me = useSession().state.me?.id;
  return assigneeId === null || assigneeId === undefined || assigneeId === me;
}

export function startWorkspace(accountId: number, router: Router): void {
  if (current === accountId && unsubscribe) return;
  stopWorkspace();
  current = accountId;
  startRealtime(accountId);
  void loadDirectory(accountId);
  const { open } = useConversations();
  const { t } = i18n.global;

  const openConversation = (id: number) => {
    void router.push({ name: 'conversations', params: { aid: accountId, id } });
  };

  unsubscribe = onRealtime((s) => {
    if (s.kind === 'connected') {
      // The hello says whether the server counts us as available ("online", else "away"; it does not tell
      // "away" from "offline", so a non-online answer keeps a local "offline").
      const a = s.hello.availability;
      const local = useDirectory().state.availability;
      if (a === 'online') rememberAvailability('online');
      else if (typeof a === 'string' && local === 'online') rememberAvailability(a === 'offline' ? 'offline' : 'away');
      return;
    }
    if (s.kind !== 'event') return;
    const { event, data } = s.frame;
    if (event.startsWith('team.')) {
      void loadTeams(accountId);
      return;
    }
    if (event === 'user.availability_changed') {
      const d = data as unknown as AvailabilityChangedData;
      if (d.user_id === useSession().state.me?.id) rememberAvailability(d.status);
      return;
    }
    if (event.startsWith('conversation.')) {
      const c = (data as unknown as ConversationEventData).conversation;
      if (c?.labels) noteLabels(c.labels);
    }
    if (!s.live) return; // no alerts for what is replayed after a reconnect
    if (event === 'conversation.created') {
      const c = (data as unknown as ConversationEventData).conversation;
      if (!c || !concernsMe(c.assignee?.id)) return;
      alertUser({
        title: t('notify.newConversation', { name: c.contact.name }),
        body: c.last_message ? preview(c.last_message.content) : '',
        tag: `conversation-${c.id}`,
        onClick: () => openConversation(c.id),
      });
    } else if (event === 'message.created') {
      const d = data as unknown as MessageCreatedData;
      const m = d.message;
      if (!m || m.sender.type !== 'contact') return;
      const isOpen = open.id === m.conversation_id && document.visibilityState === 'visible';
      if (isOpen) return;
      const c = d.conversation ?? getCached(m.conversation_id);
      if (c && !concernsMe(c.assignee?.id)) return;
      alertUser({
        title: t('notify.newMessage', { name: m.sender.name || c?.contact.name || '' }),
        body: preview(m.content) || (m.attachments.length ? t('thread.attachment') : ''),
        tag: `conversation-${m.conversation_id}`,
        onClick: () => openConversation(m.conversation_id),
      });
    }
  });
}

export function stopWorkspace(): void {
  unsubscribe?.();
  unsubscribe = null;
  current = null;
  stopRealtime();
  resetConversations();
}
