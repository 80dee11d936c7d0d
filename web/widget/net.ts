// REST calls to parleyd: JSON in and out, errors as HttpError with the server's code/field.

export class HttpError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
    public field?: string,
  ) {
    super(message);
  }
}

/** Calls `origin + path`. A non-JSON body (a File) is sent as is with its own type. Status 0 = network. */
export async function call<T>(
  origin: string,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<T> {
  const headers: Record<string, string> = {};
  if (token) headers.Authorization = 'Bearer ' + token;
  let payload: BodyInit | undefined;
  if (body instanceof Blob) {
    headers['Content-Type'] = body.type || 'application/octet-stream';
    payload = body;
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  let res: Response;
  try {
    res = await fetch(origin + path, { method, headers, body: payload, credentials: 'omit', mode: 'cors' });
  } catch {
    throw new HttpError(0, 'network', 'network error');
  }
  const json = await res.json().catch(() => null);
  if (!res.ok) {
    const e = (json && json.error) || {};
    throw new HttpError(res.status, e.code || 'http_' + res.status, e.message || res.statusText, e.field);
  }
  return json as T;
}
