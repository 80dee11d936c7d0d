// Types of the JSON the server sends, as documented in docs/api.md. IDs are 64-bit integers on the server;
// JSON numbers are exact up to 2^53, which is enough for ids allocated by a database sequence.

export type Role = 'admin' | 'supervisor' | 'agent';
export const ROLES: readonly Role[] = ['admin', 'supervisor', 'agent'];

/** An account the user belongs to, with the user's role in it. */
export interface AccountMembership {
  id: number;
  name: string;
  slug: string;
  role: Role;
}

/** GET /api/v1/me */
export interface Me {
  id: number;
  email: string;
  name: string;
  accounts: AccountMembership[];
}

/** POST /api/v1/auth/login */
export interface LoginResponse {
  token: string;
  expires_at: string;
  user: Me;
}

export interface ListMeta {
  total: number;
  limit: number;
  offset: number;
}

export interface List<T> {
  data: T[];
  meta: ListMeta;
}

export interface Page {
  limit?: number;
  offset?: number;
}

/** A user as listed in an account. */
export interface User {
  id: number;
  email: string;
  name: string;
  role: Role;
  created_at: string;
}

export interface NewUser {
  email: string;
  name: string;
  password: string;
  role: Role;
}

export interface AuditEntry {
  id: number;
  action: string;
  actor_id: number | null;
  target_type: string | null;
  target_id: number | null;
  ip: string | null;
  data: unknown;
  created_at: string;
}

/** The body of every error response: {"error": {...}}. */
export interface ErrorBody {
  code: string;
  message: string;
  field?: string;
}
