// Canned responses: saved replies agents insert with "/short_code".
import { request } from './http';
import type { CannedResponse, List, Page } from './types';

const base = (aid: number) => `/accounts/${aid}/canned_responses`;

export function listCanned(aid: number, q = '', page: Page = { limit: 200 }): Promise<List<CannedResponse>> {
  return request<List<CannedResponse>>('GET', base(aid), { query: { ...page, q: q || undefined } });
}

export function createCanned(aid: number, body: { short_code: string; content: string }): Promise<CannedResponse> {
  return request<CannedResponse>('POST', base(aid), { body });
}

export function updateCanned(aid: number, id: number, body: { short_code?: string; content?: string }): Promise<CannedResponse> {
  return request<CannedResponse>('PATCH', `${base(aid)}/${id}`, { body });
}

export function deleteCanned(aid: number, id: number): Promise<void> {
  return request<void>('DELETE', `${base(aid)}/${id}`);
}
