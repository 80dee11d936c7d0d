// Conversations, their messages and labels.
import { request } from './http';
import type {
  Conversation,
  ConversationList,
  ConversationPatch,
  ConversationQuery,
  Label,
  Message,
  MessagePage,
  NewMessage,
  SentimentLabel,
} from './types';

const base = (aid: number) => `/accounts/${aid}/conversations`;

export function listConversations(aid: number, query: ConversationQuery = {}, signal?: AbortSignal): Promise<ConversationList> {
  return request<ConversationList>('GET', base(aid), { query: { ...query }, signal });
}

export function getConversation(aid: number, id: number): Promise<Conversation> {
  return request<Conversation>('GET', `${base(aid)}/${id}`);
}

export function updateConversation(aid: number, id: number, patch: ConversationPatch): Promise<Conversation> {
  return request<Conversation>('PATCH', `${base(aid)}/${id}`, { body: patch });
}

export function addLabels(aid: number, id: number, labels: string[]): Promise<Conversation> {
  return request<Conversation>('POST', `${base(aid)}/${id}/labels`, { body: { labels } });
}

export function removeLabel(aid: number, id: number, label: string): Promise<Conversation> {
  return request<Conversation>('DELETE', `${base(aid)}/${id}/labels/${encodeURIComponent(label)}`);
}

export function listLabels(aid: number): Promise<{ data: Label[] }> {
  return request<{ data: Label[] }>('GET', `/accounts/${aid}/labels`);
}

export interface MessageCursor {
  limit?: number;
  before?: number;
  after?: number;
}

export function listMessages(aid: number, id: number, cursor: MessageCursor = {}): Promise<MessagePage> {
  return request<MessagePage>('GET', `${base(aid)}/${id}/messages`, { query: { ...cursor } });
}

export function sendMessage(aid: number, id: number, msg: NewMessage): Promise<Message> {
  return request<Message>('POST', `${base(aid)}/${id}/messages`, { body: msg });
}

export function markRead(aid: number, id: number, messageId: number): Promise<void> {
  return request<void>('POST', `${base(aid)}/${id}/read`, { body: { message_id: messageId } });
}

/** An agent's correction of a customer message's sentiment; the account's sentiment model learns from it. */
export function setSentiment(aid: number, id: number, messageId: number, label: SentimentLabel): Promise<Message> {
  return request<Message>('PUT', `${base(aid)}/${id}/messages/${messageId}/sentiment`, { body: { label } });
}

/** Takes the correction back: the message gets the model's score again. */
export function clearSentiment(aid: number, id: number, messageId: number): Promise<Message> {
  return request<Message>('DELETE', `${base(aid)}/${id}/messages/${messageId}/sentiment`);
}
