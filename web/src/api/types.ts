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

/** An account that added the user's e-mail and waits for an answer (GET /me's invitations). */
export interface Invitation {
  account_id: number;
  account_name: string;
  /** The role the user will have there once they accept. */
  role: Role;
}

/** GET /api/v1/me; also the answer of PATCH /me and of accepting or declining an invitation. */
export interface Me {
  id: number;
  email: string;
  /** The user's own name; each account may show another one for them (an admin's rename there). */
  name: string;
  availability?: Availability;
  accounts: AccountMembership[];
  /** Pending invitations (servers before invitations do not send the list). */
  invitations?: Invitation[];
}

/** PATCH /api/v1/me: the user's own name, 1..100 characters. */
export interface MePatch {
  name: string;
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

/** A skill an agent has, with a level from 1 (some) to 5 (expert). */
export interface UserSkill {
  name: string;
  level: number;
}

/** A user as listed in an account. The routing fields come with the routing engine (docs/api.md, "Routing"). */
export interface User {
  id: number;
  email: string;
  name: string;
  role: Role;
  created_at: string;
  /** Most open conversations the router gives them; null: no limit. */
  capacity?: number | null;
  skills?: UserSkill[];
  languages?: string[];
  region?: string;
  availability?: Availability;
  /** Availability online and connected (or disconnected within the grace period). */
  online?: boolean;
  /** Their open conversations. */
  load?: number;
}

/** What an admin sets about how conversations reach an agent. */
export interface RoutingProfile {
  capacity?: number | null;
  skills?: UserSkill[];
  languages?: string[];
  region?: string;
}

export interface NewUser extends RoutingProfile {
  email: string;
  name: string;
  password: string;
  role: Role;
}

/** PATCH /accounts/{aid}/users/{id} */
export interface UserPatch extends RoutingProfile {
  name?: string;
  role?: Role;
}

/** GET /accounts/{aid}/skills */
export interface Skill {
  id: number;
  name: string;
  users: number;
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
  members_count?: number;
  /** How conversations are given to agents (absent from servers without the routing engine). */
  routing?: RoutingSettings;
  /** The bot of this inbox (absent from servers without the bot). */
  bot?: InboxBot;
  created_at: string;
  updated_at: string;
}

export type Strategy = 'manual' | 'round_robin' | 'least_busy' | 'weighted';
export const STRATEGIES: readonly Strategy[] = ['manual', 'round_robin', 'least_busy', 'weighted'];

export type WeightName = 'skill' | 'load' | 'priority' | 'wait' | 'language' | 'stickiness' | 'region';
export const WEIGHT_NAMES: readonly WeightName[] = ['skill', 'load', 'priority', 'wait', 'language', 'stickiness', 'region'];
export type RoutingWeights = Record<WeightName, number>;

/** An inbox's routing settings. */
export interface RoutingSettings {
  strategy: Strategy;
  weights: RoutingWeights;
  overflow_team_id: number | null;
  overflow_after_seconds: number;
  reroute_after_seconds: number;
  vip_attribute: string;
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
export type InboxPatch = Partial<Omit<NewInbox, 'channel'>> & {
  routing?: Partial<Omit<RoutingSettings, 'weights'>> & { weights?: Partial<RoutingWeights> };
  bot?: Partial<InboxBot>;
};

export interface InboxMember {
  id: number;
  email: string;
  name: string;
  role: Role;
  /** This inbox's capacity override for the member; null: their own capacity. */
  capacity?: number | null;
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
  url: string;
  image: boolean;
}

export type SenderType = 'contact' | 'user' | 'bot' | 'system';

/** A button the bot offered under its message (the visitor clicks it; agents see it). */
export interface BotButton {
  label: string;
  payload: string;
}

export type BotMessageKind = 'answer' | 'suggestions' | 'handoff' | 'collect' | 'greeting';

/** What a message carries besides its text; bot messages say what they are and which buttons they had. */
export interface MessageAttributes {
  kind?: BotMessageKind | string;
  buttons?: BotButton[];
  /** Bot answers: how sure it was, 0..1. */
  confidence?: number;
  [key: string]: unknown;
}

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
  /** Customer messages: -1 (negative) .. 1 (positive); null when not scored. */
  sentiment?: number | null;
  /** The label an agent corrected the sentiment to (the score is then -1, 0 or 1); null: the model's. */
  sentiment_correction?: SentimentLabel | null;
  attributes?: MessageAttributes;
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
  assignee_id?: number | null;
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
  /** Of the last customer message, -1..1; null before any was scored. */
  sentiment?: number | null;
  /** The intent the bot recognised, by name. */
  intent?: string | null;
  bot_state?: BotState | null;
}

/** null: the bot never took part; active: it answers; collecting: it asks for details; handed_off: to people. */
export type BotState = 'active' | 'collecting' | 'handed_off';

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

// ---- Routing: queue, live panel, rules, transfers, explanations (docs/api.md, "Routing") ----

/** One waiting conversation of an inbox's queue. */
export interface QueueEntry {
  conversation_id: number;
  position: number;
  waiting_seconds: number;
  priority: Priority;
  team_id: number | null;
  vip: boolean;
  estimated_wait_seconds: number | null;
  contact: { id: number; name: string };
}

export interface QueueAgent {
  user_id: number;
  name: string;
  availability: Availability;
  online: boolean;
  load: number;
  capacity: number | null;
}

/** GET /accounts/{aid}/inboxes/{id}/queue */
export interface InboxQueue {
  data: QueueEntry[];
  meta: { strategy: Strategy; size: number; mean_handle_seconds: number | null; agents: QueueAgent[] };
}

export interface RoutingAgent {
  user_id: number;
  name: string;
  role: Role;
  availability: Availability;
  online: boolean;
  connected: boolean;
  load: number;
  capacity: number | null;
  skills: UserSkill[];
  languages: string[];
}

export interface QueueSummary {
  inbox_id: number;
  name: string;
  strategy: Strategy;
  size: number;
  oldest_waiting_seconds: number | null;
}

/** GET /accounts/{aid}/routing/agents */
export interface RoutingAgents {
  data: RoutingAgent[];
  queues: QueueSummary[];
}

export type RuleOperator = 'equals' | 'not_equals' | 'contains' | 'starts_with';
export const RULE_OPERATORS: readonly RuleOperator[] = ['equals', 'not_equals', 'contains', 'starts_with'];

export interface RuleCondition {
  /** label, page_url, message, intent, prechat.<name> or contact.<attribute> */
  field: string;
  operator: RuleOperator;
  value: string;
}

export interface RuleActions {
  team_id?: number | null;
  skill?: string | null;
  min_level?: number | null;
  priority?: Priority | null;
}

export interface RoutingRule {
  id: number;
  name: string;
  inbox_id: number | null;
  position: number;
  enabled: boolean;
  match: 'all' | 'any';
  conditions: RuleCondition[];
  actions: RuleActions;
  created_at: string;
  updated_at: string;
}

export type NewRoutingRule = Omit<RoutingRule, 'id' | 'position' | 'created_at' | 'updated_at'> & { position?: number };
export type RoutingRulePatch = Partial<NewRoutingRule>;

export type AssignmentReason = 'auto' | 'manual' | 'self' | 'transfer' | 'overflow' | 'reroute' | 'unassign';

/** One change of a conversation's assignee or team. */
export interface Assignment {
  id: number;
  assignee_id: number | null;
  assignee_name: string | null;
  team_id: number | null;
  previous_assignee_id: number | null;
  actor_type: 'router' | 'user';
  actor_id: number | null;
  /** Sent by the server besides the documented fields; the directory gives the names otherwise. */
  actor_name?: string | null;
  team_name?: string | null;
  reason: AssignmentReason | string;
  note: string;
  created_at: string;
}

export interface TransferBody {
  assignee_id?: number;
  team_id?: number;
  note?: string;
}

export type ExcludedReason = 'away' | 'offline' | 'at_capacity' | 'not_in_team' | 'rerouted_from';

export interface RoutingCandidate {
  user_id: number;
  name: string;
  eligible: boolean;
  excluded?: ExcludedReason | string;
  load: number;
  capacity: number | null;
  score: number | null;
  terms: Partial<Record<WeightName, number>> & Record<string, number>;
}

export interface RoutingDecisionSummary {
  id: number;
  kind: string;
  chosen: number | null;
  reason: string;
  created_at: string;
}

/** GET /accounts/{aid}/conversations/{id}/routing */
export interface RoutingExplanation {
  strategy: Strategy;
  kind?: 'assign' | 'queue' | 'overflow' | 'reroute' | string;
  chosen: number | null;
  reason: string;
  created_at?: string | null;
  rule: { id: number; name: string } | null;
  candidates: RoutingCandidate[];
  decisions?: RoutingDecisionSummary[];
}

// ---- Knowledge base, FAQ, intents and the bot ----

export type KbLocale = 'zh' | 'en';
export const KB_LOCALES: readonly KbLocale[] = ['zh', 'en'];

export interface KbCategory {
  id: number;
  name: string;
  description: string;
  locale: KbLocale;
  position: number;
  article_count: number;
  created_at: string;
  updated_at: string;
}

export interface NewKbCategory {
  name: string;
  description?: string;
  locale: KbLocale;
  position?: number;
}

export type ArticleStatus = 'draft' | 'published';

export interface KbArticle {
  id: number;
  category_id: number | null;
  title: string;
  /** Markdown. */
  body: string;
  locale: KbLocale;
  status: ArticleStatus;
  author_id: number;
  views: number;
  /** The public help-center address, e.g. "/help/acme/articles/12". */
  url: string;
  created_at: string;
  updated_at: string;
  published_at: string | null;
}

export interface NewKbArticle {
  title: string;
  body: string;
  locale: KbLocale;
  category_id: number | null;
  status?: ArticleStatus;
}

export interface ArticleQuery extends Page {
  q?: string;
  category_id?: number;
  status?: ArticleStatus;
  locale?: KbLocale;
}

/** GET /accounts/{aid}/kb/search */
export interface KbSearchHit {
  type: 'article' | 'faq';
  id: number;
  title: string;
  snippet: string;
  score: number;
  url: string | null;
}

export interface Faq {
  id: number;
  question: string;
  /** Other ways customers ask the same thing. */
  phrasings: string[];
  answer: string;
  locale: KbLocale;
  enabled: boolean;
  hits: number;
  created_at: string;
  updated_at: string;
}

export type NewFaq = Pick<Faq, 'question' | 'phrasings' | 'answer' | 'locale' | 'enabled'>;

export type IntentAction = 'answer' | 'route' | 'collect' | 'flow';
export const INTENT_ACTIONS: readonly IntentAction[] = ['answer', 'route', 'collect', 'flow'];

export interface IntentField {
  /** Letters, digits, _ : the key the answer is kept under. */
  name: string;
  /** What the visitor is asked. */
  label: string;
}

export interface Intent {
  id: number;
  name: string;
  examples: string[];
  action: IntentAction;
  answer: string;
  team_id: number | null;
  skill_id: number | null;
  fields: IntentField[];
  /** action "flow": the guided flow the bot starts. */
  flow_id: number | null;
  created_at: string;
  updated_at: string;
}

export type NewIntent = Pick<Intent, 'name' | 'examples' | 'action' | 'answer' | 'team_id' | 'skill_id' | 'fields' | 'flow_id'>;

export type BotModelStatus = 'empty' | 'training' | 'ready' | 'failed';

/** GET /accounts/{aid}/bot: the account's trained model. */
export interface BotModel {
  status: BotModelStatus;
  /** 0..1 while training. */
  progress: number;
  version: number;
  trained_at: string | null;
  examples: number;
  classes: number;
  /** Cross-validated accuracy, 0..1; null when there were too few examples to measure it. */
  cv_accuracy: number | null;
  train_ms: number;
  error: string | null;
  /** The sentiment model that scores the account's customer messages. */
  sentiment?: SentimentModel;
}

export type SentimentLabel = 'negative' | 'neutral' | 'positive';
export const SENTIMENT_LABELS: readonly SentimentLabel[] = ['negative', 'neutral', 'positive'];

/** GET /accounts/{aid}/bot → sentiment: the seed model, or the account's own once agents corrected messages. */
export interface SentimentModel {
  status: 'training' | 'ready' | 'failed';
  /** Training rows: the built-in seed set plus the account's corrected messages. */
  examples: number;
  tenant_examples: number;
  /** Cross-validated accuracy on the account's corrections (0..1); null below 10 of them. */
  cv_accuracy: number | null;
  /** The built-in model's accuracy on the same corrections, for comparison. */
  base_accuracy: number | null;
  trained_at: string | null;
  train_ms: number;
  error: string | null;
}

/** POST /accounts/{aid}/bot/test */
export interface BotTestResult {
  match: { type: 'faq' | 'intent'; id: number; name: string; confidence: number; action?: IntentAction; flow_id?: number | null } | null;
  confident: boolean;
  answer: string | null;
  suggestions: { type: 'faq' | 'intent' | 'article'; id: number; title: string }[];
  sentiment: { score: number; label: SentimentLabel };
}

export type BotMode = 'off' | 'always' | 'outside_hours';
export const BOT_MODES: readonly BotMode[] = ['off', 'always', 'outside_hours'];

export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';
export const WEEKDAYS: readonly Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** Opening hours: per weekday a list of ["HH:MM", "HH:MM"] ranges, at a fixed offset from UTC. */
export interface BotHours {
  utc_offset_minutes: number;
  days: Record<Weekday, [string, string][]>;
}

export type CollectField = 'name' | 'email' | 'phone';
export const COLLECT_FIELDS: readonly CollectField[] = ['name', 'email', 'phone'];

/** An inbox's bot settings (PATCH .../inboxes/{id} {"bot": {...}}). */
export interface InboxBot {
  mode: BotMode;
  greeting: string;
  /** Least confidence for an answer, 0.05..0.99. */
  threshold: number;
  handoff_keywords: string[];
  collect_fields: CollectField[];
  hours: BotHours;
  negative_priority: boolean;
  /** Guided flows offered as buttons under the greeting (at most 5). */
  greeting_flows: number[];
}

// ---- guided flows (docs/api.md, "Guided flows")

/** Where a button (or a step's `next`) leads. */
export type FlowTarget =
  | { type: 'step'; step: string }
  | { type: 'faq'; faq_id: number }
  | { type: 'handoff'; team_id: number | null; skill_id: number | null }
  | { type: 'end' };
export type FlowTargetType = FlowTarget['type'];
export const FLOW_TARGET_TYPES: readonly FlowTargetType[] = ['step', 'faq', 'handoff', 'end'];

export type FlowStepKind = 'message' | 'collect' | 'handoff' | 'end';
export const FLOW_STEP_KINDS: readonly FlowStepKind[] = ['message', 'collect', 'handoff', 'end'];
export type FlowFieldType = 'text' | 'email' | 'phone' | 'number' | 'choice';
export const FLOW_FIELD_TYPES: readonly FlowFieldType[] = ['text', 'email', 'phone', 'number', 'choice'];

export interface FlowButton {
  label: string;
  target: FlowTarget;
}

/** One step; which fields it has depends on its kind (the server answers with all of its kind's). */
export interface FlowStep {
  id: string;
  kind: FlowStepKind;
  /** message, collect: what the bot says; end: the closing text ('' = a default one). */
  text?: string;
  /** message */
  buttons?: FlowButton[];
  /** message without buttons, collect: what comes after (null: the flow ends). */
  next?: FlowTarget | null;
  /** collect */
  field?: string;
  field_type?: FlowFieldType;
  options?: string[];
  retry_text?: string;
  /** handoff */
  team_id?: number | null;
  skill_id?: number | null;
  note?: string;
}

export interface BotFlow {
  id: number;
  name: string;
  /** Under the greeting ('' = the name). */
  button_label: string;
  enabled: boolean;
  steps: FlowStep[];
  /** What starts it: intents whose action is this flow, inboxes whose greeting offers it. */
  triggers: { intents: { id: number; name: string }[]; inboxes: { id: number; name: string }[] };
  created_at: string;
  updated_at: string;
}

export type NewBotFlow = Pick<BotFlow, 'name' | 'button_label' | 'enabled' | 'steps'>;

/** GET /accounts/{aid}/conversations/{id}/suggestions: help for answering the last customer message. */
export interface AssistSuggestions {
  message_id: number | null;
  faqs: { id: number; question: string; answer: string; score: number }[];
  articles: { id: number; title: string; snippet: string; url: string }[];
  canned: { id: number; short_code: string; content: string }[];
}
