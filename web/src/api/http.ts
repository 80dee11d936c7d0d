// The one place that talks HTTP to parleyd. Every call goes through request(): JSON in, JSON out, cookies
// for authentication (the server sets the HttpOnly parley_session cookie at login, so the console never
// sees or stores a token), and every failure becomes an ApiError carrying the server's code, message and
// field, so views can show the message a person can act on.

import type { ErrorBody } from './types';

export const API_BASE = 'api/v1';

/** A failed request. status 0 means the server could not be reached at all. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field?: string;
  /** Seconds from the Retry-After header (429, 503), if any. */
  readonly retryAfter?: number;

  constructor(status: number, body: ErrorBody, retryAfter?: number) {
    super(body.message);
    this.name = 'ApiError';
    this.status = status;
    this.code = body.code;
    this.field = body.field;
    this.retryAfter = retryAfter;
  }
}

export const NETWORK_ERROR = 'network_error';

type UnauthorizedHandler = (err: ApiError) => void;
let onUnauthorized: UnauthorizedHandler | null = null;

/** Called when an authenticated request comes back 401 (expired or revoked session). */
export function setUnauthorizedHandler(fn: UnauthorizedHandler | null): void {
  onUnauthorized = fn;
}

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | undefined>;
  /** Do not call the unauthorized handler on 401 (login, the start-up session check). */
  allow401?: boolean;
  signal?: AbortSignal;
  /** A raw body (a file upload) sent as is, with contentType as its Content-Type; instead of body. */
  rawBody?: Blob;
  contentType?: string;
}

function parseRetryAfter(value: string | null): number | undefined {
  if (!value) return undefined;
  const secs = Number(value);
  if (Number.isFinite(secs) && secs >= 0) return Math.ceil(secs);
  const date = Date.parse(value);
  if (!Number.isNaN(date)) return Math.max(0, Math.ceil((date - Date.now()) / 1000));
  return undefined;
}

function isErrorBody(v: unknown): v is { error: ErrorBody } {
  if (typeof v !== 'object' || v === null || !('error' in v)) return false;
  const e = (v as { error: unknown }).error;
  return typeof e === 'object' && e !== null && typeof (e as ErrorBody).code === 'string';
}

export async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  let url = `${API_BASE}${path}`;
  if (opts.query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query)) if (v !== undefined) q.set(k, String(v));
    const s = q.toString();
    if (s) url += `?${s}`;
  }
  const headers: Record<string, string> = { Accept: 'application/json' };
  let body: string | Blob | undefined;
  if (opts.rawBody !== undefined) {
    headers['Content-Type'] = opts.contentType || opts.rawBody.type || 'application/octet-stream';
    body = opts.rawBody;
  } else if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.body);
  }

  let res: Response;
  try {
    res = await fetch(url, { method, headers, body, credentials: 'same-origin', signal: opts.signal });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(0, { code: NETWORK_ERROR, message: 'The server could not be reached.' });
  }

  const text = res.status === 204 ? '' : await res.text();
  let json: unknown;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }

  if (!res.ok) {
    const retryAfter = parseRetryAfter(res.headers.get('Retry-After'));
    const err = isErrorBody(json)
      ? new ApiError(res.status, json.error, retryAfter)
      : new ApiError(res.status, { code: `http_${res.status}`, message: res.statusText || `HTTP ${res.status}` }, retryAfter);
    if (res.status === 401 && !opts.allow401 && onUnauthorized) onUnauthorized(err);
    throw err;
  }
  if (text && json === undefined) {
    throw new ApiError(res.status, { code: 'invalid_response', message: 'The server sent a response that is not JSON.' });
  }
  return json as T;
}
