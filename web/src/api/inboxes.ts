// Inboxes of an account (the workspace only reads them, to filter conversations by inbox).
import { request } from './http';
import type { Inbox, List, Page } from './types';

export function listInboxes(accountId: number, page: Page = { limit: 200 }): Promise<List<Inbox>> {
  return request<List<Inbox>>('GET', `/accounts/${accountId}/inboxes`, { query: { ...page } });
}
