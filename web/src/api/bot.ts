// The bot (docs/api.md, "Bot"): FAQ entries and intents it learns from, its trained model (training starts
// by itself a moment after a change; POST /bot/train starts it now), a test box, and the agent-assist
// suggestions for a conversation. Admins and supervisors change FAQ entries and intents.
import { request } from './http';
import type { AssistSuggestions, BotModel, BotTestResult, Faq, Intent, List, NewFaq, NewIntent, Page } from './types';

const acct = (aid: number) => `/accounts/${aid}`;

export function listFaqs(aid: number, page: Page = { limit: 200 }): Promise<List<Faq>> {
  return request<List<Faq>>('GET', `${acct(aid)}/faqs`, { query: { ...page } });
}

export function getFaq(aid: number, id: number): Promise<Faq> {
  return request<Faq>('GET', `${acct(aid)}/faqs/${id}`);
}

export function createFaq(aid: number, body: NewFaq): Promise<Faq> {
  return request<Faq>('POST', `${acct(aid)}/faqs`, { body });
}

export function updateFaq(aid: number, id: number, body: Partial<NewFaq>): Promise<Faq> {
  return request<Faq>('PATCH', `${acct(aid)}/faqs/${id}`, { body });
}

export function deleteFaq(aid: number, id: number): Promise<void> {
  return request<void>('DELETE', `${acct(aid)}/faqs/${id}`);
}

export function listIntents(aid: number, page: Page = { limit: 200 }): Promise<List<Intent>> {
  return request<List<Intent>>('GET', `${acct(aid)}/intents`, { query: { ...page } });
}

export function createIntent(aid: number, body: NewIntent): Promise<Intent> {
  return request<Intent>('POST', `${acct(aid)}/intents`, { body });
}

export function updateIntent(aid: number, id: number, body: Partial<NewIntent>): Promise<Intent> {
  return request<Intent>('PATCH', `${acct(aid)}/intents/${id}`, { body });
}

export function deleteIntent(aid: number, id: number): Promise<void> {
  return request<void>('DELETE', `${acct(aid)}/intents/${id}`);
}

export function getModel(aid: number, signal?: AbortSignal): Promise<BotModel> {
  return request<BotModel>('GET', `${acct(aid)}/bot`, { signal });
}

/** Starts training now (202, the model's state). */
export function train(aid: number): Promise<BotModel> {
  return request<BotModel>('POST', `${acct(aid)}/bot/train`);
}

export function test(aid: number, text: string): Promise<BotTestResult> {
  return request<BotTestResult>('POST', `${acct(aid)}/bot/test`, { body: { text } });
}

/** FAQ answers, articles and canned responses for the conversation's last customer message. */
export function suggestions(aid: number, conversationId: number, signal?: AbortSignal): Promise<AssistSuggestions> {
  return request<AssistSuggestions>('GET', `${acct(aid)}/conversations/${conversationId}/suggestions`, { signal });
}
