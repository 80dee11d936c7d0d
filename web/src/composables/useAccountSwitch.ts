// Moving to another account the user belongs to: the header's account switcher, and the offer made after
// accepting an invitation.
import { useRoute, useRouter } from 'vue-router';
import { selectAccount } from '@/stores/session';

export function useAccountSwitch() {
  const route = useRoute();
  const router = useRouter();

  /** Makes the account current and opens the same page in it (its conversations from an account-less page). */
  return function switchAccount(id: number): void {
    if (!selectAccount(id)) return;
    // A detail page (an inbox) names an object of the old account: go to its list instead.
    const name = route.params.aid !== undefined ? String(route.meta.menu ?? route.name) : 'conversations';
    // The target page may be for admins only; the router guard sends others to a page they may see.
    void router.push({ name, params: { aid: id } });
  };
}
