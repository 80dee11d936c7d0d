// The people of the current account (for the assignee select and avatars), inboxes and labels (for the
// list filters), teams (their names in the assignment history), and the signed-in agent's own availability.
// Loaded once per account, refreshed on demand.
import { reactive, readonly } from 'vue';
import { conversations as convApi, inboxes as inboxApi, presence, teams as teamsApi, users as usersApi } from '@/api';
import type { Availability, Inbox, Label, Team, User } from '@/api';

const AVAIL_KEY = 'parley.availability';

interface State {
  accountId: number | null;
  users: User[];
  inboxes: Inbox[];
  labels: Label[];
  teams: Team[];
  availability: Availability;
}

function storedAvailability(): Availability {
  try {
    const v = localStorage.getItem(AVAIL_KEY);
    if (v === 'online' || v === 'away' || v === 'offline') return v;
  } catch {
    /* storage disabled */
  }
  return 'online';
}

const state = reactive<State>({ accountId: null, users: [], inboxes: [], labels: [], teams: [], availability: storedAvailability() });

let loading: Promise<void> | null = null;

/** Loads users and inboxes of the account (once; again with force). Failures leave the lists as they were. */
export function loadDirectory(accountId: number, force = false): Promise<void> {
  if (!force && state.accountId === accountId && loading) return loading;
  if (state.accountId !== accountId) {
    state.users = [];
    state.inboxes = [];
    state.labels = [];
    state.teams = [];
  }
  state.accountId = accountId;
  loading = Promise.allSettled([
    usersApi.listUsers(accountId, { limit: 200 }).then((r) => {
      if (state.accountId === accountId) state.users = r.data;
    }),
    inboxApi.listInboxes(accountId).then((r) => {
      if (state.accountId === accountId) state.inboxes = r.data;
    }),
    loadLabels(accountId),
    loadTeams(accountId),
  ]).then(() => undefined);
  return loading;
}

export async function loadLabels(accountId: number): Promise<void> {
  try {
    const r = await convApi.listLabels(accountId);
    if (state.accountId === accountId) state.labels = r.data;
  } catch {
    /* suggestions only */
  }
}

export async function loadTeams(accountId: number): Promise<void> {
  try {
    const r = await teamsApi.listTeams(accountId);
    if (state.accountId === accountId) state.teams = r.data;
  } catch {
    /* names only */
  }
}

export function teamName(id: number | null | undefined): string | undefined {
  if (id === null || id === undefined) return undefined;
  return state.teams.find((t) => t.id === id)?.name;
}

/** Adds labels seen on a conversation to the suggestions. */
export function noteLabels(names: readonly string[]): void {
  for (const name of names) if (!state.labels.some((l) => l.name === name)) state.labels.push({ name, count: 1 });
}

export function userName(id: number | null | undefined): string | undefined {
  if (id === null || id === undefined) return undefined;
  return state.users.find((u) => u.id === id)?.name;
}

export function inboxName(id: number): string | undefined {
  return state.inboxes.find((i) => i.id === id)?.name;
}

/** The signed-in agent's availability as the server last confirmed it (or as last set in this browser). */
export function initAvailability(fromServer: unknown): void {
  if (fromServer === 'online' || fromServer === 'away' || fromServer === 'offline') rememberAvailability(fromServer);
}

export function rememberAvailability(a: Availability): void {
  state.availability = a;
  try {
    localStorage.setItem(AVAIL_KEY, a);
  } catch {
    /* storage disabled */
  }
}

export async function changeAvailability(a: Availability): Promise<void> {
  const res = await presence.setAvailability(a);
  rememberAvailability(res.status ?? a);
}

export function useDirectory() {
  return { state: readonly(state) };
}
