// The JSON shapes of docs/api.md that the widget reads (only the fields it uses).
export interface Sender {
  type: 'contact' | 'user' | 'bot' | 'system';
  id: number | null;
  name: string;
}

export interface Attachment {
  id: number;
  filename: string;
  content_type: string;
  size: number;
  url: string;
  image: boolean;
}

/** A button under a bot message: its label is sent as the visitor's message; payload "handoff" asks for a person. */
export interface Button {
  label: string;
  payload?: string;
}

export interface Message {
  id: number;
  conversation_id: number;
  sender: Sender;
  content: string;
  private?: boolean;
  client_id: string | null;
  attachments: Attachment[];
  created_at: string;
  attributes?: { kind?: string; buttons?: Button[] } | null;
}

export interface PrechatField {
  name: string;
  label: string;
  type: 'text' | 'email' | 'phone' | 'number';
  required: boolean;
}

export interface Inbox {
  id: number;
  name: string;
  greeting: string;
  offline_message: string;
  widget_color: string;
  widget_title: string;
  prechat_fields: PrechatField[];
}

export interface Contact {
  id: number;
  name: string;
  email: string;
  phone: string;
}

export interface Conversation {
  id: number;
  agent_last_read_id?: number | null;
  contact_last_read_id?: number | null;
  /** null: no bot; "active" / "collecting": the bot is talking to the visitor; "handed_off": people are. */
  bot_state?: string | null;
}

/** The inbox's bot as the visitor meets it: on or not, its greeting, up to 3 popular questions. */
export interface Bot {
  active: boolean;
  greeting: string;
  suggestions: string[];
}

export interface Session {
  visitor_token: string;
  visitor_id: string;
  expires_at: string;
  contact: Contact;
  conversation: Conversation | null;
  messages: Message[];
  has_more?: boolean; // older messages exist (GET /api/v1/widget/messages?before=)
  inbox: Inbox;
  online: boolean;
  seq: number;
  queue?: Queue | null;
  bot?: Bot | null;
}

/** The visitor's place in the queue (docs/api.md, "Queue"); position null once an agent has it. */
export interface Queue {
  conversation_id?: number;
  position: number | null;
  estimated_wait_seconds: number | null;
}

/** A server → widget WebSocket frame (one object; which fields are set depends on `type`). */
export interface Frame {
  type: string;
  seq?: number;
  event?: string;
  data?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  client_id?: string;
  code?: string;
  message?: string;
  on?: boolean;
  online?: boolean;
  sender?: Sender;
  queue?: Queue | null;
  bot?: Bot | null;
  conversation?: Conversation | null;
  conversation_id?: number;
  position?: number | null;
  estimated_wait_seconds?: number | null;
}
