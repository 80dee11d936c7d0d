// The audit log of an account (admins only), newest first.
import { request } from './http';
import type { AuditEntry, List, Page } from './types';

export function listAuditLog(accountId: number, page: Page = {}): Promise<List<AuditEntry>> {
  return request<List<AuditEntry>>('GET', `/accounts/${accountId}/audit_log`, { query: { ...page } });
}
