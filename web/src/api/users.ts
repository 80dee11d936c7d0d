// Users of an account.
import { request } from './http';
import type { List, NewUser, Page, User } from './types';

export function listUsers(accountId: number, page: Page = {}): Promise<List<User>> {
  return request<List<User>>('GET', `/accounts/${accountId}/users`, { query: { ...page } });
}

export function createUser(accountId: number, user: NewUser): Promise<User> {
  return request<User>('POST', `/accounts/${accountId}/users`, { body: user });
}
