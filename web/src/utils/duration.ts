// Durations for the routing screens: a ticking "3:07" / "1:02:07" for waiting times, and a rounded
// "about 3 min" for estimates and settings.
import { i18n } from '@/i18n';

/** "0:07", "3:07", "1:02:07" */
export function clock(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** "under a minute", "about 3 min", "about 1 h 20 min" */
export function approx(seconds: number | null | undefined): string {
  const { t } = i18n.global;
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  if (seconds < 60) return t('duration.underMinute');
  const min = Math.round(seconds / 60);
  if (min < 60) return t('duration.minutes', { n: min });
  return t('duration.hours', { h: Math.floor(min / 60), m: min % 60 });
}
