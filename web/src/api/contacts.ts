// Contacts (the people who write in) and their conversations.
import { request } from './http';
import type { Contact, ContactPatch, Conversation } from './types';

export function getContact(aid: number, id: number): Promise<Contact> {
  return request<Contact>('GET', `/accounts/${aid}/contacts/${id}`);
}

export function updateContact(aid: number, id: number, patch: ContactPatch): Promise<Contact> {
  return request<Contact>('PATCH', `/accounts/${aid}/contacts/${id}`, { body: patch });
}

export function contactConversations(aid: number, id: number): Promise<{ data: Conversation[] }> {
  return request<{ data: Conversation[] }>('GET', `/accounts/${aid}/contacts/${id}/conversations`);
}
