// Turns any thrown value into a sentence a person can act on, in the current language.
import { ApiError, NETWORK_ERROR } from '@/api';
import { i18n } from '@/i18n';

/** "Too many attempts, try again in N seconds" (or minutes, from two minutes up). */
export function rateLimitText(seconds: number | undefined): string {
  const { t } = i18n.global;
  if (seconds === undefined) return t('errors.rate_limited_later');
  if (seconds >= 120) return t('errors.rate_limited_minutes', { minutes: Math.ceil(seconds / 60) });
  return t('errors.rate_limited', { seconds });
}

export function describeError(e: unknown): string {
  const { t, te } = i18n.global;
  if (!(e instanceof ApiError)) return e instanceof Error ? e.message : String(e);
  if (e.code === NETWORK_ERROR) return t('errors.network');
  if (e.status === 429) return rateLimitText(e.retryAfter);
  if (e.status >= 500 && e.code !== 'busy') return t('errors.internal');
  if (e.code === 'busy') return t('errors.busy');
  const key = `errors.byCode.${e.code}`;
  if (te(key)) return t(key);
  if (e.message) return e.message;
  return t('errors.http', { status: e.status });
}
