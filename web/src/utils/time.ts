// Times in the workspace: short relative times for lists ("5m", "3h", "Yesterday"), clock times for
// messages, and day headings. A shared clock ticks every 30 s so relative times stay right.
import { ref } from 'vue';
import { currentLocale, i18n } from '@/i18n';

export const now = ref(Date.now());
let ticking = false;
export function startClock(): void {
  if (ticking) return;
  ticking = true;
  setInterval(() => (now.value = Date.now()), 30_000);
}

function fmt(opts: Intl.DateTimeFormatOptions, d: Date): string {
  return new Intl.DateTimeFormat(currentLocale(), opts).format(d);
}

function startOfDay(t: number): number {
  const d = new Date(t);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/** "just now", "5m", "3h", "Yesterday", "Mon", "03/14", "2024/03/14". */
export function shortAgo(iso: string | null | undefined, nowMs: number = now.value): string {
  if (!iso) return '';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  const { t: tr } = i18n.global;
  const diff = Math.max(0, nowMs - t);
  if (diff < 60_000) return tr('time.justNow');
  if (diff < 3_600_000) return tr('time.minutes', { n: Math.floor(diff / 60_000) });
  const today = startOfDay(nowMs);
  if (t >= today || diff < 6 * 3_600_000) return tr('time.hours', { n: Math.floor(diff / 3_600_000) });
  if (t >= today - 86_400_000) return tr('time.yesterday');
  const d = new Date(t);
  if (t >= today - 6 * 86_400_000) return fmt({ weekday: 'short' }, d);
  if (d.getFullYear() === new Date(nowMs).getFullYear()) return fmt({ month: '2-digit', day: '2-digit' }, d);
  return fmt({ year: 'numeric', month: '2-digit', day: '2-digit' }, d);
}

/** "14:05" */
export function clockTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return fmt({ hour: '2-digit', minute: '2-digit', hour12: false }, d);
}

/** "Today", "Yesterday", or the full date. */
export function dayLabel(iso: string, nowMs: number = now.value): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  const { t: tr } = i18n.global;
  const today = startOfDay(nowMs);
  if (t >= today) return tr('time.today');
  if (t >= today - 86_400_000) return tr('time.yesterday');
  return fmt({ year: 'numeric', month: 'long', day: 'numeric', weekday: 'short' }, new Date(t));
}

export function dayKey(iso: string): string {
  const d = new Date(iso);
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

/** Bytes as "12 KB", "3.4 MB". */
export function fileSize(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** The first letter of each of the first two words: "Ada Lovelace" → "AL", "访客 1234" → "访". */
export function initials(name: string | null | undefined): string {
  const words = (name ?? '').trim().split(/\s+/).filter(Boolean);
  if (!words.length) return '?';
  const first = [...words[0]][0] ?? '?';
  const second = words.length > 1 && /^[\p{L}]/u.test(words[1]) && /^[A-Za-z]/.test(first) ? [...words[1]][0] : '';
  return (first + second).toUpperCase();
}

/** A stable colour for an avatar, from a name or id. */
export function avatarColor(key: string | number): string {
  const s = String(key);
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) >>> 0;
  const palette = ['#409eff', '#67c23a', '#e6a23c', '#f56c6c', '#8e6dd8', '#2bb3a8', '#d9689b', '#5b7fd6'];
  return palette[h % palette.length];
}
