// Session endpoints: login, logout, me.
import { request } from './http';
import type { LoginResponse, Me } from './types';

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
