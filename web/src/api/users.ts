// Users of an account.
import { request } from './http';
import type { List, NewUser, Page, User, UserPatch } from './types';

export function listUsers(accountId: number, page: Page = {}): Promise<List<User>> {
  return request<List<User>>('GET', `/accounts/${accountId}/users`, { query: { ...page } });
}

export function createUser(accountId: number, user: NewUser): Promise<User> {
  return request<User>('POST', `/accounts/${accountId}/users`, { body: user });
}

/** Every user of the account, page by page (200 at a time), for pickers. */
export async function listAllUsers(accountId: number): Promise<User[]> {
  const out: User[] = [];
  // At most 50 pages (10,000 users): a picker with more is of no use anyway.
  for (let offset = 0, pages = 0; pages < 50; pages++) {
    const res = await listUsers(accountId, { limit: 200, offset });
    out.push(...res.data);
    offset += res.data.length;
    if (res.data.length === 0 || offset >= res.meta.total) break;
  }
  return out;
}

/** Changes a user's name, role or routing profile (admins). */
export function updateUser(accountId: number, id: number, patch: UserPatch): Promise<User> {
  return request<User>('PATCH', `/accounts/${accountId}/users/${id}`, { body: patch });
}
