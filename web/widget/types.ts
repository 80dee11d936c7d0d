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

/** A button under a bot message: its label is sent as the visitor's message; payload "handoff" asks for a person;
 * a guided flow's button ("flow:…") is sent with its payload, which the server checks against the flow's step. */
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
  /** kind "collect" asks for a field: input is its type (text, email, phone, number, choice). A visitor's click on
   * a flow button carries its payload. */
  attributes?: { kind?: string; buttons?: Button[]; field?: string; input?: string; payload?: string } | null;
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

/** The inbox's bot as the visitor meets it: on or not, its greeting, up to 3 popular questions, and the guided
 * flows offered as buttons under the greeting. */
export interface Bot {
  active: boolean;
  greeting: string;
  suggestions: string[];
  flows?: { id: number; label: string; payload: string }[];
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
  field?: string;
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
