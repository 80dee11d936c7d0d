// The routing engine (docs/api.md, "Routing"): skills, the live panel, routing rules, transfers, the
// assignment history and the router's explanations. The inbox's settings, queue and per-member capacity
// are in inboxes.ts; an agent's capacity, skills, languages and region in users.ts.
import { request } from './http';
import type {
  Assignment,
  Conversation,
  NewRoutingRule,
  RoutingAgents,
  RoutingExplanation,
  RoutingRule,
  RoutingRulePatch,
  Skill,
  TransferBody,
} from './types';

const acct = (aid: number) => `/accounts/${aid}`;

export function listSkills(aid: number): Promise<{ data: Skill[] }> {
  return request<{ data: Skill[] }>('GET', `${acct(aid)}/skills`);
}

export function deleteSkill(aid: number, id: number): Promise<void> {
  return request<void>('DELETE', `${acct(aid)}/skills/${id}`);
}

/** Agents with their availability and load, and every inbox's queue size (supervisors, admins). */
export function routingAgents(aid: number, signal?: AbortSignal): Promise<RoutingAgents> {
  return request<RoutingAgents>('GET', `${acct(aid)}/routing/agents`, { signal });
}

export function listRules(aid: number): Promise<{ data: RoutingRule[] }> {
  return request<{ data: RoutingRule[] }>('GET', `${acct(aid)}/routing_rules`);
}

export function createRule(aid: number, rule: NewRoutingRule): Promise<RoutingRule> {
  return request<RoutingRule>('POST', `${acct(aid)}/routing_rules`, { body: rule });
}

export function updateRule(aid: number, id: number, patch: RoutingRulePatch): Promise<RoutingRule> {
  return request<RoutingRule>('PATCH', `${acct(aid)}/routing_rules/${id}`, { body: patch });
}

export function deleteRule(aid: number, id: number): Promise<void> {
  return request<void>('DELETE', `${acct(aid)}/routing_rules/${id}`);
}

/** Hands a conversation to an agent and/or a team, with a note kept in the history. */
export function transfer(aid: number, conversationId: number, body: TransferBody): Promise<Conversation> {
  return request<Conversation>('POST', `${acct(aid)}/conversations/${conversationId}/transfer`, { body });
}

export function listAssignments(aid: number, conversationId: number): Promise<{ data: Assignment[] }> {
  return request<{ data: Assignment[] }>('GET', `${acct(aid)}/conversations/${conversationId}/assignments`);
}

/** Why the router chose whom it chose (supervisors, admins). */
export function explain(aid: number, conversationId: number): Promise<RoutingExplanation> {
  return request<RoutingExplanation>('GET', `${acct(aid)}/conversations/${conversationId}/routing`);
}
