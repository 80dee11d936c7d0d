// Inboxes of an account and their members (docs/api.md, "Inboxes (per account)"). Everyone reads the
// inboxes they may see (agents: theirs only); admins create, change and delete them and choose members.
import { request } from './http';
import type { Inbox, InboxMember, InboxMembers, InboxPatch, InboxQueue, List, NewInbox, Page } from './types';

const base = (aid: number) => `/accounts/${aid}/inboxes`;

export function listInboxes(accountId: number, page: Page = { limit: 200 }): Promise<List<Inbox>> {
  return request<List<Inbox>>('GET', base(accountId), { query: { ...page } });
}

export function getInbox(aid: number, id: number): Promise<Inbox> {
  return request<Inbox>('GET', `${base(aid)}/${id}`);
}

export function createInbox(aid: number, body: NewInbox): Promise<Inbox> {
  return request<Inbox>('POST', base(aid), { body });
}

export function updateInbox(aid: number, id: number, patch: InboxPatch): Promise<Inbox> {
  return request<Inbox>('PATCH', `${base(aid)}/${id}`, { body: patch });
}

export function deleteInbox(aid: number, id: number): Promise<void> {
  return request<void>('DELETE', `${base(aid)}/${id}`);
}

export function getInboxMembers(aid: number, id: number): Promise<InboxMembers> {
  return request<InboxMembers>('GET', `${base(aid)}/${id}/members`);
}

export function setInboxMembers(aid: number, id: number, userIds: number[]): Promise<InboxMembers> {
  return request<InboxMembers>('PUT', `${base(aid)}/${id}/members`, { body: { user_ids: userIds } });
}

/** Sets (a number) or clears (null) a member's capacity override in this inbox (admins). */
export function setMemberCapacity(aid: number, id: number, userId: number, capacity: number | null): Promise<InboxMember> {
  return request<InboxMember>('PATCH', `${base(aid)}/${id}/members/${userId}`, { body: { capacity } });
}

/** The inbox's waiting conversations in queue order. */
export function getQueue(aid: number, id: number, signal?: AbortSignal): Promise<InboxQueue> {
  return request<InboxQueue>('GET', `${base(aid)}/${id}/queue`, { signal });
}
