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

// ---- Workspace: inboxes, contacts, conversations, messages (docs/api.md) ----

export interface PrechatField {
  name: string;
  label: string;
  type: 'text' | 'email' | 'phone' | 'number';
  required: boolean;
}

export interface Inbox {
  id: number;
  name: string;
  channel: 'web' | 'api';
  widget_token: string;
  greeting: string;
  offline_message: string;
  widget_color: string;
  widget_title: string;
  prechat_fields: PrechatField[];
  created_at: string;
  updated_at: string;
}

/** POST /accounts/{aid}/inboxes. */
export interface NewInbox {
  name: string;
  channel: 'web' | 'api';
  greeting?: string;
  offline_message?: string;
  widget_color?: string;
  widget_title?: string;
  prechat_fields?: PrechatField[];
}

/** PATCH /accounts/{aid}/inboxes/{id}: any field of NewInbox but the channel. */
export type InboxPatch = Partial<Omit<NewInbox, 'channel'>>;

export interface InboxMember {
  id: number;
  email: string;
  name: string;
  role: Role;
}

/** GET|PUT /accounts/{aid}/inboxes/{id}/members */
export interface InboxMembers {
  data: InboxMember[];
  user_ids: number[];
}

/** A team: agents a conversation can be assigned or transferred to. */
export interface Team {
  id: number;
  name: string;
  member_ids: number[];
  created_at: string;
  updated_at: string;
}

export interface Contact {
  id: number;
  name: string;
  email: string;
  phone: string;
  attributes: Record<string, unknown>;
  visitor_id?: string;
  last_seen_at: string | null;
  created_at: string;
}

export interface ContactPatch {
  name?: string;
  email?: string;
  phone?: string;
  attributes?: Record<string, unknown>;
}

export interface Attachment {
  id: number;
  filename: string;
  content_type: string;
  size: number;
  sha256: string;
  url: string;
  image: boolean;
}

export type SenderType = 'contact' | 'user' | 'bot' | 'system';

export interface Message {
  id: number;
  conversation_id: number;
  inbox_id: number;
  sender: { type: SenderType; id: number | null; name: string };
  content: string;
  private: boolean;
  client_id: string | null;
  attachments: Attachment[];
  created_at: string;
}

export type ConversationStatus = 'open' | 'pending' | 'snoozed' | 'resolved';
export const CONVERSATION_STATUSES: readonly ConversationStatus[] = ['open', 'pending', 'snoozed', 'resolved'];
export type Priority = 'none' | 'low' | 'medium' | 'high' | 'urgent';
export const PRIORITIES: readonly Priority[] = ['none', 'low', 'medium', 'high', 'urgent'];

export interface LastMessage {
  id: number;
  content: string;
  sender_type: SenderType;
  private: boolean;
  created_at: string;
}

export interface Conversation {
  id: number;
  inbox_id: number;
  contact: { id: number; name: string; email: string; phone: string };
  status: ConversationStatus;
  snoozed_until: string | null;
  assignee: { id: number; name: string } | null;
  team_id: number | null;
  priority: Priority;
  labels: string[];
  unread_count: number;
  last_message: LastMessage | null;
  last_activity_at: string;
  waiting_since: string | null;
  first_reply_at: string | null;
  agent_last_read_id: number;
  contact_last_read_id: number;
  page_url: string;
  prechat: Record<string, unknown>;
  created_at: string;
  updated_at: string;
}

export type StatusFilter = ConversationStatus | 'all';
export type AssigneeFilter = 'all' | 'me' | 'unassigned';

export interface ConversationQuery extends Page {
  status?: StatusFilter;
  assignee?: AssigneeFilter;
  inbox_id?: number;
  label?: string;
  q?: string;
}

export interface ConversationCounts {
  mine: number;
  unassigned: number;
  all: number;
}

export interface ConversationList {
  data: Conversation[];
  meta: ListMeta & { counts?: ConversationCounts };
}

export interface ConversationPatch {
  status?: ConversationStatus;
  snoozed_until?: string;
  assignee_id?: number | null;
  team_id?: number | null;
  priority?: Priority;
}

export interface MessagePage {
  data: Message[];
  meta: { has_more: boolean };
}

export interface NewMessage {
  content: string;
  private?: boolean;
  client_id?: string;
  attachment_ids?: number[];
}

export interface Label {
  name: string;
  count: number;
}

export interface CannedResponse {
  id: number;
  short_code: string;
  content: string;
  created_at: string;
  updated_at: string;
}

export type Availability = 'online' | 'away' | 'offline';
export const AVAILABILITIES: readonly Availability[] = ['online', 'away', 'offline'];
