// Opening hours of the bot settings: the defaults, the choices of the editor, and the checks the page makes
// before saving (the server checks the same and names "bot.hours...").
import type { BotHours, Weekday } from '@/api';
import { WEEKDAYS } from '@/api';

export const TIME_RE = /^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$/;

export function defaultHours(): BotHours {
  const work = (): [string, string][] => [['09:00', '18:00']];
  return {
    utc_offset_minutes: -new Date().getTimezoneOffset(),
    days: { mon: work(), tue: work(), wed: work(), thu: work(), fri: work(), sat: [], sun: [] },
  };
}

/** A full copy with every weekday present (a server may leave out closed days). */
export function normalizeHours(h: Partial<BotHours> | undefined | null): BotHours {
  const d = defaultHours();
  if (!h) return d;
  const days = {} as Record<Weekday, [string, string][]>;
  for (const w of WEEKDAYS) days[w] = (h.days?.[w] ?? []).map((r) => [r[0] ?? '', r[1] ?? ''] as [string, string]);
  return { utc_offset_minutes: typeof h.utc_offset_minutes === 'number' ? h.utc_offset_minutes : d.utc_offset_minutes, days };
}

/** Every quarter hour, "00:00" .. "24:00". */
export const TIME_OPTIONS: string[] = Array.from({ length: 97 }, (_, i) => `${String(Math.floor(i / 4)).padStart(2, '0')}:${String((i % 4) * 15).padStart(2, '0')}`);

/** UTC−12:00 .. UTC+14:00 by quarter hours. */
export const OFFSET_OPTIONS: number[] = Array.from({ length: (840 + 720) / 15 + 1 }, (_, i) => -720 + i * 15);

export function offsetLabel(minutes: number): string {
  const sign = minutes < 0 ? '−' : '+';
  const a = Math.abs(minutes);
  return `UTC${sign}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
}

const mins = (s: string) => Number(s.slice(0, 2)) * 60 + Number(s.slice(3, 5));

export type DayProblem = 'format' | 'order' | 'overlap';

/** What is wrong with a day's ranges, if anything. */
export function dayProblem(ranges: [string, string][]): DayProblem | null {
  for (const [a, b] of ranges) if (!TIME_RE.test(a) || !TIME_RE.test(b) || a === '24:00') return 'format';
  for (const [a, b] of ranges) if (mins(a) >= mins(b)) return 'order';
  const sorted = [...ranges].sort((x, y) => mins(x[0]) - mins(y[0]));
  for (let i = 1; i < sorted.length; i++) if (mins(sorted[i][0]) < mins(sorted[i - 1][1])) return 'overlap';
  return null;
}
