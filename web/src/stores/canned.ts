// Canned responses for the composer's "/" menu: loaded once per account and kept; the canned responses
// page calls invalidateCanned() after a change.
import { ref } from 'vue';
import { canned as cannedApi, type CannedResponse } from '@/api';

const items = ref<CannedResponse[]>([]);
let loadedFor: number | null = null;
let loading: Promise<void> | null = null;

export function loadCanned(accountId: number): Promise<void> {
  if (loadedFor === accountId && loading) return loading;
  loadedFor = accountId;
  loading = cannedApi
    .listCanned(accountId)
    .then((r) => {
      if (loadedFor === accountId) items.value = r.data;
    })
    .catch(() => {
      // Try again next time the menu opens.
      if (loadedFor === accountId) loading = null;
    });
  return loading;
}

export function invalidateCanned(): void {
  loading = null;
}

/** Short codes starting with q first, then those whose text contains it. */
export function filterCanned(q: string): CannedResponse[] {
  const s = q.toLowerCase();
  if (!s) return items.value.slice(0, 50);
  const starts = items.value.filter((c) => c.short_code.toLowerCase().startsWith(s));
  const inside = items.value.filter((c) => !starts.includes(c) && (c.short_code.toLowerCase().includes(s) || c.content.toLowerCase().includes(s)));
  return [...starts, ...inside].slice(0, 50);
}
