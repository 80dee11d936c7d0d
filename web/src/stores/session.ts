// Who is signed in and which account they are working in. A small reactive singleton; views read it with
// useSession(). The session itself is the HttpOnly cookie the server set at login, so nothing secret is
// kept here: only GET /me's answer and the chosen account id (remembered in localStorage).
import { computed, reactive, readonly } from 'vue';
import { ApiError, auth, type AccountMembership, type Me, type MePatch, type Role } from '@/api';

const ACCOUNT_KEY = 'parley.account';

interface State {
  me: Me | null;
  /** True once GET /me has answered (signed in or not). */
  checked: boolean;
  accountId: number | null;
}

const state = reactive<State>({ me: null, checked: false, accountId: null });

function rememberedAccount(): number | null {
  try {
    const v = Number(localStorage.getItem(ACCOUNT_KEY));
    return Number.isSafeInteger(v) && v > 0 ? v : null;
  } catch {
    return null;
  }
}

function pickAccount(me: Me): number | null {
  const wanted = state.accountId ?? rememberedAccount();
  if (wanted !== null && me.accounts.some((a) => a.id === wanted)) return wanted;
  return me.accounts[0]?.id ?? null;
}

export function setMe(me: Me): void {
  state.me = me;
  state.checked = true;
  state.accountId = pickAccount(me);
}

export function clearSession(): void {
  state.me = null;
  state.checked = true;
  state.accountId = null;
}

/** Asks the server who we are. Resolves to null when not signed in; throws on other failures. */
export async function loadSession(): Promise<Me | null> {
  try {
    const me = await auth.me();
    setMe(me);
    return me;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      clearSession();
      return null;
    }
    throw e;
  }
}

/** GET /me again without a fuss (a failure keeps what we had; a 401 signs out as usual). */
export async function refreshSession(): Promise<void> {
  if (!state.me) return;
  try {
    setMe(await auth.me());
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) clearSession();
  }
}

/** Accepts an account's invitation; resolves to the new membership (the account list has it already). */
export async function acceptInvitation(accountId: number): Promise<AccountMembership | undefined> {
  setMe(await auth.acceptInvitation(accountId));
  return membership(accountId);
}

/** Declines an account's invitation. */
export async function declineInvitation(accountId: number): Promise<void> {
  setMe(await auth.declineInvitation(accountId));
}

/** Changes one's own name (every account that did not give them another name follows). */
export async function updateMe(patch: MePatch): Promise<Me> {
  const me = await auth.updateMe(patch);
  setMe(me);
  return me;
}

/** Makes an account current; ignored when the user is not a member. */
export function selectAccount(id: number): boolean {
  if (!state.me?.accounts.some((a) => a.id === id)) return false;
  state.accountId = id;
  try {
    localStorage.setItem(ACCOUNT_KEY, String(id));
  } catch {
    /* storage disabled */
  }
  return true;
}

export function membership(accountId: number | null): AccountMembership | undefined {
  if (accountId === null) return undefined;
  return state.me?.accounts.find((a) => a.id === accountId);
}

export function roleIn(accountId: number | null): Role | undefined {
  return membership(accountId)?.role;
}

const currentAccount = computed(() => membership(state.accountId));
const isAdmin = computed(() => currentAccount.value?.role === 'admin');
const invitations = computed(() => state.me?.invitations ?? []);

export function useSession() {
  return {
    state: readonly(state),
    currentAccount,
    isAdmin,
    invitations,
  };
}
