// Raw HTTP/1.1 over node:net, for what fetch() cannot do: keep-alive on one known socket, pipelining,
// malformed and slow requests, un-normalised paths, and watching the server close a connection.
import net from 'node:net';
import crypto from 'node:crypto';

/** Parses one HTTP response at the start of buf. Returns {res, consumed} or undefined if incomplete. */
export function parseResponse(buf, { ended = false, head = false } = {}) {
  const idx = buf.indexOf('\r\n\r\n');
  if (idx < 0) return undefined;
  const lines = buf.subarray(0, idx).toString('latin1').split('\r\n');
  const m = /^HTTP\/(\d\.\d) (\d{3})(?: (.*))?$/.exec(lines[0]);
  if (!m) throw new Error(`not an HTTP status line: ${JSON.stringify(lines[0])}`);
  const headers = {};
  const rawHeaders = [];
  for (const l of lines.slice(1)) {
    const c = l.indexOf(':');
    if (c < 0) throw new Error(`malformed response header line: ${JSON.stringify(l)}`);
    const k = l.slice(0, c).trim().toLowerCase();
    const v = l.slice(c + 1).trim();
    rawHeaders.push([k, v]);
    headers[k] = k in headers ? `${headers[k]}, ${v}` : v;
  }
  const status = Number(m[2]);
  const start = idx + 4;
  const make = (body, consumed) => {
    const text = body.toString('utf8');
    let json;
    try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
    return { res: { version: m[1], status, reason: m[3] || '', headers, rawHeaders, bodyBytes: body, text, body: json }, consumed };
  };
  if (head || status === 204 || status === 304 || (status >= 100 && status < 200)) return make(Buffer.alloc(0), start);
  if (/\bchunked\b/i.test(headers['transfer-encoding'] || '')) {
    const parts = [];
    let pos = start;
    for (;;) {
      const eol = buf.indexOf('\r\n', pos);
      if (eol < 0) return undefined;
      const size = parseInt(buf.subarray(pos, eol).toString('latin1').split(';')[0].trim(), 16);
      if (Number.isNaN(size)) throw new Error('bad chunk size line');
      pos = eol + 2;
      if (size === 0) {
        // optional trailers, then an empty line
        for (;;) {
          const e = buf.indexOf('\r\n', pos);
          if (e < 0) return undefined;
          const empty = e === pos;
          pos = e + 2;
          if (empty) return make(Buffer.concat(parts), pos);
        }
      }
      if (buf.length < pos + size + 2) return undefined;
      parts.push(buf.subarray(pos, pos + size));
      pos += size + 2;
    }
  }
  if ('content-length' in headers) {
    const n = Number(headers['content-length']);
    if (buf.length < start + n) return undefined;
    return make(buf.subarray(start, start + n), start + n);
  }
  if (!ended) return undefined;
  return make(buf.subarray(start), buf.length);
}

export class RawConn {
  constructor(sock) {
    this.sock = sock;
    this.buf = Buffer.alloc(0);
    this.ended = false;
    this.error = null;
    this.closedAt = null;
    this.waiters = [];
    sock.on('data', (d) => { this.buf = Buffer.concat([this.buf, d]); this._wake(); });
    sock.on('end', () => { this.ended = true; this.closedAt ??= Date.now(); this._wake(); });
    sock.on('close', () => { this.ended = true; this.closedAt ??= Date.now(); this._wake(); });
    sock.on('error', (e) => { this.error = e; this.ended = true; this.closedAt ??= Date.now(); this._wake(); });
  }

  static connect(port, host = '127.0.0.1') {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, host);
      s.once('error', reject);
      s.once('connect', () => { s.removeListener('error', reject); s.setNoDelay(true); resolve(new RawConn(s)); });
    });
  }

  _wake() { const w = this.waiters; this.waiters = []; for (const f of w) f(); }

  async _until(fn, timeoutMs, what) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = fn();
      if (r !== undefined) return r;
      if (this.ended) {
        const got = this.buf.toString('latin1').slice(0, 300);
        throw new Error(`connection closed${this.error ? ` (${this.error.code})` : ''} while waiting for ${what}; unread: ${JSON.stringify(got)}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; unread: ${JSON.stringify(this.buf.toString('latin1').slice(0, 300))}`);
      await new Promise((res) => {
        const t = setTimeout(res, left);
        this.waiters.push(() => { clearTimeout(t); res(); });
      });
    }
  }

  write(data) {
    return new Promise((resolve, reject) => {
      this.sock.write(data, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Reads the next complete response; head=true for a response to HEAD. */
  async readResponse({ timeout = 5000, head = false } = {}) {
    const r = await this._until(() => {
      const p = parseResponse(this.buf, { ended: this.ended, head });
      return p;
    }, timeout, 'an HTTP response');
    this.buf = this.buf.subarray(r.consumed);
    return r.res;
  }

  /**
   * Waits until the server either sends a complete response or closes the connection.
   * Returns {res} or {closed: true, error}.
   */
  async responseOrClose({ timeout = 5000 } = {}) {
    const deadline = Date.now() + timeout;
    for (;;) {
      const p = parseResponse(this.buf, { ended: this.ended });
      if (p) { this.buf = this.buf.subarray(p.consumed); return { res: p.res }; }
      if (this.ended) return { closed: true, error: this.error, partial: this.buf.toString('latin1') };
      const left = deadline - Date.now();
      if (left <= 0) return { timedOut: true, partial: this.buf.toString('latin1') };
      await new Promise((res) => {
        const t = setTimeout(res, left);
        this.waiters.push(() => { clearTimeout(t); res(); });
      });
    }
  }

  /** Resolves to true once the peer has closed (FIN or RST), false if still open after timeout ms. */
  async waitClose(timeout = 5000) {
    if (this.ended) return true;
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), timeout);
      const check = () => {
        if (this.ended) { clearTimeout(t); resolve(true); } else this.waiters.push(check);
      };
      this.waiters.push(check);
    });
  }

  /** Everything received until the peer closes (or timeout). */
  async readUntilClose(timeout = 5000) {
    await this.waitClose(timeout);
    const b = this.buf;
    this.buf = Buffer.alloc(0);
    return b;
  }

  destroy() { this.sock.destroy(); }
}

/** Builds a request; body (string/Buffer/object) gets a Content-Length, objects become JSON. */
export function buildRequest(method, path, { body, headers = {}, host = 'localhost', version = '1.1', token } = {}) {
  const h = { host, ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  let payload = Buffer.alloc(0);
  if (body !== undefined) {
    if (typeof body === 'object' && !Buffer.isBuffer(body)) {
      payload = Buffer.from(JSON.stringify(body));
      if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['content-type'] = 'application/json';
    } else payload = Buffer.from(body);
    if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-length' || k.toLowerCase() === 'transfer-encoding')) {
      h['content-length'] = String(payload.length);
    }
  }
  let head = `${method} ${path} HTTP/${version}\r\n`;
  for (const [k, v] of Object.entries(h)) if (v !== undefined) head += `${k}: ${v}\r\n`;
  head += '\r\n';
  return Buffer.concat([Buffer.from(head, 'latin1'), payload]);
}

/** One request on a fresh connection (Connection: close); returns the parsed response. */
export async function rawRequest(port, method, path, opts = {}) {
  const c = await RawConn.connect(port);
  try {
    await c.write(buildRequest(method, path, { ...opts, headers: { connection: 'close', ...(opts.headers || {}) } }));
    return await c.readResponse({ timeout: opts.timeout ?? 5000, head: method === 'HEAD' });
  } finally {
    c.destroy();
  }
}

/** Sends raw bytes on a fresh connection and returns the first response (or {closed}). */
export async function rawExchange(port, bytes, { timeout = 5000 } = {}) {
  const c = await RawConn.connect(port);
  try {
    await c.write(bytes).catch(() => {}); // the server may close before reading everything
    return await c.responseOrClose({ timeout });
  } finally {
    c.destroy();
  }
}

/**
 * Sends `request` (bytes) on a fresh connection and reads one response whose body is hashed as it
 * arrives instead of kept (for files of many MB). A slow reader: once `pauseAfter` body bytes are in,
 * reading stops for `pauseMs` (the kernel buffers fill and the server must wait). With `keepOpen` the
 * socket and any bytes after the body come back too (for what is pipelined behind). Resolves
 * {status, headers, length, sha256, sock?, rest?}, or {closed, length, headers} if the server closed
 * the connection before the body was complete.
 */
export function streamResponse(port, request, { pauseAfter = -1, pauseMs = 0, timeout = 60000, keepOpen = false } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const hash = crypto.createHash('sha256');
    let head = null;
    let headBuf = Buffer.alloc(0);
    let need = 0;
    let got = 0;
    let paused = false;
    let done = false;
    const timer = setTimeout(() => finish(new Error(`no complete response within ${timeout} ms (${got} body bytes)`)), timeout);
    function finish(err, extra = {}) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) { sock.destroy(); reject(err); return; }
      const res = { status: head?.status, headers: head?.headers || {}, length: got, sha256: hash.digest('hex'), ...extra };
      if (keepOpen && !extra.closed) { sock.removeAllListeners('data'); res.sock = sock; } else sock.destroy();
      resolve(res);
    }
    function body(chunk) {
      const take = Math.min(chunk.length, need - got);
      hash.update(chunk.subarray(0, take));
      got += take;
      if (got >= need) { finish(null, { rest: chunk.subarray(take) }); return; }
      if (!paused && pauseAfter >= 0 && got >= pauseAfter) {
        paused = true;
        sock.pause();
        setTimeout(() => sock.resume(), pauseMs);
      }
    }
    sock.on('data', (d) => {
      if (head) { body(d); return; }
      headBuf = Buffer.concat([headBuf, d]);
      const idx = headBuf.indexOf('\r\n\r\n');
      if (idx < 0) return;
      const lines = headBuf.subarray(0, idx).toString('latin1').split('\r\n');
      const headers = {};
      for (const l of lines.slice(1)) { const c = l.indexOf(':'); headers[l.slice(0, c).trim().toLowerCase()] = l.slice(c + 1).trim(); }
      head = { status: Number(lines[0].split(' ')[1]), headers };
      need = Number(headers['content-length'] ?? 0);
      const restBytes = headBuf.subarray(idx + 4);
      if (need === 0) finish(null, { rest: restBytes });
      else if (restBytes.length) body(restBytes);
    });
    sock.on('error', () => finish(null, { closed: true }));
    sock.on('close', () => finish(null, { closed: true }));
    sock.on('connect', () => sock.write(request));
  });
}
