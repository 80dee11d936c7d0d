// Formatting helpers. Times arrive as ISO-8601 UTC and are shown in the browser's time zone.
import { currentLocale } from '@/i18n';

const cache = new Map<string, Intl.DateTimeFormat>();

export function formatDateTime(iso: string | null | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const locale = currentLocale();
  let f = cache.get(locale);
  if (!f) {
    f = new Intl.DateTimeFormat(locale, {
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hour12: false,
    });
    cache.set(locale, f);
  }
  return f.format(d);
}

/** Number of Unicode code points, which is how the server counts characters. */
export function charCount(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}
