// The bot (docs/api.md, "Bot"): FAQ entries and intents it learns from, its trained model (training starts
// by itself a moment after a change; POST /bot/train starts it now), a test box, and the agent-assist
// suggestions for a conversation, and the guided flows (buttons and questions) it walks visitors through. Admins
// and supervisors change FAQ entries, intents and flows.
import { request } from './http';
import type { AssistSuggestions, BotFlow, BotModel, BotTestResult, Faq, Intent, List, NewBotFlow, NewFaq, NewIntent, Page } from './types';

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

export function listFlows(aid: number, page: Page = { limit: 200 }): Promise<List<BotFlow>> {
  return request<List<BotFlow>>('GET', `${acct(aid)}/bot/flows`, { query: { ...page } });
}

export function getFlow(aid: number, id: number): Promise<BotFlow> {
  return request<BotFlow>('GET', `${acct(aid)}/bot/flows/${id}`);
}

/** A 422 names the field at fault, e.g. "steps[2].buttons[0].target"; 409 on the name. */
export function createFlow(aid: number, body: NewBotFlow): Promise<BotFlow> {
  return request<BotFlow>('POST', `${acct(aid)}/bot/flows`, { body });
}

export function updateFlow(aid: number, id: number, body: Partial<NewBotFlow>): Promise<BotFlow> {
  return request<BotFlow>('PATCH', `${acct(aid)}/bot/flows/${id}`, { body });
}

/** 409 while an intent or an inbox's greeting starts it (the message says which). */
export function deleteFlow(aid: number, id: number): Promise<void> {
  return request<void>('DELETE', `${acct(aid)}/bot/flows/${id}`);
}
