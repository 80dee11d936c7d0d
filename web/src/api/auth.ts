// Session endpoints: login, logout, me; one's own name and the invitations of other accounts.
import { request } from './http';
import type { LoginResponse, Me, MePatch } from './types';

export function login(email: string, password: string): Promise<LoginResponse> {
  return request<LoginResponse>('POST', '/auth/login', { body: { email, password }, allow401: true });
}

export function logout(): Promise<void> {
  return request<void>('POST', '/auth/logout', { allow401: true });
}

/** The signed-in user; rejects with a 401 ApiError when there is no valid session. */
export function me(): Promise<Me> {
  return request<Me>('GET', '/me', { allow401: true });
}

/** Changes one's own name; 422 validation_failed with error.field when it is refused. */
export function updateMe(patch: MePatch): Promise<Me> {
  return request<Me>('PATCH', '/me', { body: patch });
}

/** Joins the account that invited the user; answers the new /me (the account is in accounts). */
export function acceptInvitation(accountId: number): Promise<Me> {
  return request<Me>('POST', `/me/invitations/${accountId}/accept`);
}

/** Declines an account's invitation; answers the new /me. 404 not_found when there is none. */
export function declineInvitation(accountId: number): Promise<Me> {
  return request<Me>('DELETE', `/me/invitations/${accountId}`);
}
