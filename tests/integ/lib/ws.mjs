// A small RFC 6455 client over node:net. It can send anything (unmasked, oversized, invalid UTF-8,
// fragmented, reserved opcodes) and records everything the server sends, frame by frame.
import net from 'node:net';
import crypto from 'node:crypto';
import { parseResponse } from './raw.mjs';

export const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
export const OP = { CONT: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa };

export function acceptFor(key) {
  return crypto.createHash('sha1').update(key + GUID).digest('base64');
}

export function encodeFrame({ fin = true, opcode, payload = Buffer.alloc(0), mask = true, rsv = 0 }) {
  payload = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const len = payload.length;
  let header;
  if (len < 126) { header = Buffer.alloc(2); header[1] = len; }
  else if (len < 65536) { header = Buffer.alloc(4); header[1] = 126; header.writeUInt16BE(len, 2); }
  else { header = Buffer.alloc(10); header[1] = 127; header.writeBigUInt64BE(BigInt(len), 2); }
  header[0] = (fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0xf);
  if (!mask) return Buffer.concat([header, payload]);
  header[1] |= 0x80;
  const key = crypto.randomBytes(4);
  const body = Buffer.alloc(len);
  for (let i = 0; i < len; i++) body[i] = payload[i] ^ key[i & 3];
  return Buffer.concat([header, key, body]);
}

export function closePayload(code, reason = '') {
  const b = Buffer.alloc(2 + Buffer.byteLength(reason));
  b.writeUInt16BE(code, 0);
  b.write(reason, 2);
  return b;
}

export class WsClient {
  constructor(sock, leftover, { autoPong = true } = {}) {
    this.sock = sock;
    this.buf = leftover;
    this.autoPong = autoPong;
    this.events = []; // {kind: 'text'|'binary'|'close'|'ping'|'pong', data: Buffer, text?, json?, code?, reason?}
    this.frames = []; // every frame header seen: {fin, rsv, opcode, masked, length}
    this.violations = []; // protocol violations by the server
    this.frag = null;
    this.tcpClosed = false;
    this.closeSent = false;
    this.error = null;
    this.waiters = [];
    sock.on('data', (d) => { this.buf = Buffer.concat([this.buf, d]); this._parse(); });
    sock.on('end', () => { this.tcpClosed = true; this._wake(); });
    sock.on('close', () => { this.tcpClosed = true; this._wake(); });
    sock.on('error', (e) => { this.error = e; this.tcpClosed = true; this._wake(); });
    this._parse();
  }

  _wake() { const w = this.waiters; this.waiters = []; for (const f of w) f(); }

  _parse() {
    for (;;) {
      const b = this.buf;
      if (b.length < 2) break;
      const fin = (b[0] & 0x80) !== 0;
      const rsv = (b[0] >> 4) & 7;
      const opcode = b[0] & 0xf;
      const masked = (b[1] & 0x80) !== 0;
      let len = b[1] & 0x7f;
      let pos = 2;
      if (len === 126) { if (b.length < 4) break; len = b.readUInt16BE(2); pos = 4; }
      else if (len === 127) { if (b.length < 10) break; len = Number(b.readBigUInt64BE(2)); pos = 10; }
      let key = null;
      if (masked) { if (b.length < pos + 4) break; key = b.subarray(pos, pos + 4); pos += 4; }
      if (b.length < pos + len) break;
      let payload = Buffer.from(b.subarray(pos, pos + len));
      if (key) for (let i = 0; i < payload.length; i++) payload[i] ^= key[i & 3];
      this.buf = b.subarray(pos + len);
      this.frames.push({ fin, rsv, opcode, masked, length: len });
      if (masked) this.violations.push('server frame was masked');
      if (rsv) this.violations.push('server frame had RSV bits set');
      this._frame(fin, opcode, payload);
    }
    this._wake();
  }

  _frame(fin, opcode, payload) {
    if (opcode === OP.PING) {
      this.events.push({ kind: 'ping', data: payload });
      if (this.autoPong && !this.closeSent) this.sendFrame({ opcode: OP.PONG, payload });
      return;
    }
    if (opcode === OP.PONG) { this.events.push({ kind: 'pong', data: payload }); return; }
    if (opcode === OP.CLOSE) {
      const code = payload.length >= 2 ? payload.readUInt16BE(0) : null;
      const reason = payload.length > 2 ? payload.subarray(2).toString('utf8') : '';
      this.events.push({ kind: 'close', data: payload, code, reason });
      return;
    }
    if (opcode === OP.TEXT || opcode === OP.BINARY) {
      if (this.frag) this.violations.push('new data frame during a fragmented message');
      if (!fin) { this.frag = { opcode, parts: [payload] }; return; }
      this._message(opcode, payload);
      return;
    }
    if (opcode === OP.CONT) {
      if (!this.frag) { this.violations.push('continuation without a start'); return; }
      this.frag.parts.push(payload);
      if (fin) { const f = this.frag; this.frag = null; this._message(f.opcode, Buffer.concat(f.parts)); }
      return;
    }
    this.violations.push(`reserved opcode ${opcode}`);
  }

  _message(opcode, data) {
    const ev = { kind: opcode === OP.TEXT ? 'text' : 'binary', data };
    if (opcode === OP.TEXT) {
      ev.text = data.toString('utf8');
      try { ev.json = JSON.parse(ev.text); } catch { ev.json = undefined; }
    }
    this.events.push(ev);
  }

  sendFrame(opts) {
    if (opts.opcode === OP.CLOSE) this.closeSent = true;
    return new Promise((resolve) => {
      if (this.sock.destroyed) return resolve(false);
      this.sock.write(encodeFrame(opts), (err) => resolve(!err));
    });
  }

  writeRaw(bytes) {
    return new Promise((resolve) => {
      if (this.sock.destroyed) return resolve(false);
      this.sock.write(bytes, (err) => resolve(!err));
    });
  }

  sendText(s) { return this.sendFrame({ opcode: OP.TEXT, payload: Buffer.from(s) }); }
  sendJson(o) { return this.sendText(JSON.stringify(o)); }

  /** Waits for (and removes) the first event matching pred. Throws on timeout or if the socket dies first. */
  async waitFor(pred, timeout = 5000, what = 'a WebSocket event') {
    const deadline = Date.now() + timeout;
    for (;;) {
      const i = this.events.findIndex(pred);
      if (i >= 0) return this.events.splice(i, 1)[0];
      if (this.tcpClosed) {
        throw new Error(`connection closed while waiting for ${what}; events: ${this.describe()}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeout} ms waiting for ${what}; events: ${this.describe()}`);
      await new Promise((res) => {
        const t = setTimeout(res, left);
        this.waiters.push(() => { clearTimeout(t); res(); });
      });
    }
  }

  describe() {
    return JSON.stringify(this.events.map((e) => ({ kind: e.kind, code: e.code, text: e.text?.slice(0, 200) })));
  }

  /** Next text message parsed as JSON (skips control frames). */
  async nextJson(timeout = 5000) {
    const ev = await this.waitFor((e) => e.kind === 'text' || e.kind === 'binary' || e.kind === 'close', timeout, 'a text message');
    if (ev.kind !== 'text') throw new Error(`expected a text message, got ${ev.kind}${ev.code ? ` ${ev.code}` : ''}`);
    if (ev.json === undefined) throw new Error(`server sent a text message that is not JSON: ${ev.text}`);
    return ev.json;
  }

  /**
   * Waits for the server's close frame. Returns {code, reason, atMs}. Data frames before it are kept in
   * `skipped`. If the TCP connection ends without a close frame, code is null and `noCloseFrame` is true.
   */
  async waitClose(timeout = 5000, { echo = true } = {}) {
    const start = Date.now();
    const deadline = start + timeout;
    for (;;) {
      const i = this.events.findIndex((e) => e.kind === 'close');
      if (i >= 0) {
        const ev = this.events.splice(i, 1)[0];
        if (echo && !this.closeSent) await this.sendFrame({ opcode: OP.CLOSE, payload: ev.data.subarray(0, 2) });
        return { code: ev.code, reason: ev.reason, atMs: Date.now() - start };
      }
      if (this.tcpClosed) return { code: null, noCloseFrame: true, atMs: Date.now() - start, error: this.error?.code };
      const left = deadline - Date.now();
      if (left <= 0) return { timedOut: true, code: null, atMs: Date.now() - start };
      await new Promise((res) => {
        const t = setTimeout(res, left);
        this.waiters.push(() => { clearTimeout(t); res(); });
      });
    }
  }

  /** Resolves true once the TCP connection is closed, false after timeout. */
  async waitTcpClose(timeout = 5000) {
    const deadline = Date.now() + timeout;
    while (!this.tcpClosed) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise((res) => {
        const t = setTimeout(res, left);
        this.waiters.push(() => { clearTimeout(t); res(); });
      });
    }
    return true;
  }

  destroy() { this.sock.destroy(); }
}

/**
 * Opens a WebSocket: connects, sends the upgrade request and reads the response.
 * Returns {status, headers, body, key, ws} where ws is a WsClient only when the server answered 101.
 */
export async function openWs(port, path, { headers = {}, key = crypto.randomBytes(16).toString('base64'), version = '13', timeout = 5000, autoPong = true } = {}) {
  const sock = net.connect(port, '127.0.0.1');
  await new Promise((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject); });
  sock.setNoDelay(true);
  const h = {
    host: `127.0.0.1:${port}`,
    upgrade: 'websocket',
    connection: 'Upgrade',
    'sec-websocket-key': key,
    'sec-websocket-version': version,
    ...headers,
  };
  let req = `GET ${path} HTTP/1.1\r\n`;
  for (const [k, v] of Object.entries(h)) if (v !== undefined) req += `${k}: ${v}\r\n`;
  sock.write(req + '\r\n');

  let buf = Buffer.alloc(0);
  let ended = false;
  const onData = (d) => { buf = Buffer.concat([buf, d]); wake(); };
  const onEnd = () => { ended = true; wake(); };
  let wake = () => {};
  sock.on('data', onData);
  sock.on('end', onEnd);
  sock.on('error', onEnd);
  const deadline = Date.now() + timeout;
  let parsed;
  try {
    for (;;) {
      // A 101 has no body; anything after its blank line belongs to the WebSocket.
      const idx = buf.indexOf('\r\n\r\n');
      if (idx >= 0) {
        const is101 = /^HTTP\/1\.1 101/.test(buf.subarray(0, 12).toString('latin1'));
        parsed = parseResponse(buf, { ended, head: is101 });
        if (parsed) break;
      }
      if (ended) throw new Error(`server closed during the WebSocket handshake; got ${JSON.stringify(buf.toString('latin1').slice(0, 300))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no handshake response within ${timeout} ms; got ${JSON.stringify(buf.toString('latin1').slice(0, 300))}`);
      await new Promise((res) => { const t = setTimeout(res, left); wake = () => { clearTimeout(t); res(); }; });
    }
  } catch (e) {
    sock.destroy();
    throw e;
  }
  sock.removeListener('data', onData);
  sock.removeListener('end', onEnd);
  sock.removeListener('error', onEnd);
  const { res, consumed } = parsed;
  const out = { status: res.status, headers: res.headers, body: res.body, text: res.text, key };
  if (res.status === 101) out.ws = new WsClient(sock, buf.subarray(consumed), { autoPong });
  else sock.destroy();
  return out;
}

/** Opens an authenticated socket and consumes the hello. */
export async function connectWs(port, token, opts = {}) {
  const r = await openWs(port, `/ws?token=${encodeURIComponent(token)}`, opts);
  if (r.status !== 101) throw new Error(`WebSocket upgrade refused: ${r.status} ${r.text}`);
  const hello = await r.ws.nextJson(5000);
  if (hello.type !== 'hello') throw new Error(`first message was not hello: ${JSON.stringify(hello)}`);
  r.ws.hello = hello;
  return r.ws;
}
