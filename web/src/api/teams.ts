// Teams of an account (docs/api.md, "Teams"): every member reads them; admins change them.
import { request } from './http';
import type { Team } from './types';

const base = (aid: number) => `/accounts/${aid}/teams`;

/** All teams of the account, by name (the API does not page them). */
export function listTeams(aid: number): Promise<{ data: Team[] }> {
  return request<{ data: Team[] }>('GET', base(aid));
}

export function getTeam(aid: number, id: number): Promise<Team> {
  return request<Team>('GET', `${base(aid)}/${id}`);
}

export function createTeam(aid: number, name: string): Promise<Team> {
  return request<Team>('POST', base(aid), { body: { name } });
}

export function renameTeam(aid: number, id: number, name: string): Promise<Team> {
  return request<Team>('PATCH', `${base(aid)}/${id}`, { body: { name } });
}

export function deleteTeam(aid: number, id: number): Promise<void> {
  return request<void>('DELETE', `${base(aid)}/${id}`);
}

export function setTeamMembers(aid: number, id: number, userIds: number[]): Promise<Team> {
  return request<Team>('PUT', `${base(aid)}/${id}/members`, { body: { user_ids: userIds } });
}
