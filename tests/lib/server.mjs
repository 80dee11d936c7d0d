// Starts the real parleyd on port 0 in a temporary data directory and tells the tests where it listens.
// Used by the integration tests (tests/integ) and the browser tests (tests/e2e).
//
// The binary is $PARLEY_BIN, else build-asan/parleyd (what `make test` builds, with sanitizers), else
// build/parleyd. Sanitizer reports on stderr fail the test that stops the server.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const ADMIN_EMAIL = 'admin@example.com';
export const ADMIN_PASSWORD = 'admin-password-123';

export function binaryPath() {
  if (process.env.PARLEY_BIN) return process.env.PARLEY_BIN;
  for (const p of ['build-asan/parleyd', 'build/parleyd']) {
    const abs = join(root, p);
    if (existsSync(abs)) return abs;
  }
  throw new Error('parleyd not built: run make first');
}

const SANITIZER = /ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: UndefinedBehaviorSanitizer/;

export class Server {
  constructor(opts = {}) {
    this.opts = opts;
    this.dataDir = opts.dataDir || mkdtempSync(join(tmpdir(), 'parley-test-'));
    this.ownsDir = !opts.dataDir;
    this.stdout = '';
    this.stderr = '';
  }

  async start() {
    const env = {
      ...process.env,
      PARLEY_ADMIN_EMAIL: ADMIN_EMAIL,
      PARLEY_ADMIN_PASSWORD: ADMIN_PASSWORD,
      PARLEY_LOG_LEVEL: 'warn',
      PARLEY_WEB_DIR: join(root, 'web', 'dist'),
      ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0:exitcode=66',
      UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=0',
      ...(this.opts.env || {}),
    };
    const args = ['--listen', this.opts.listen || '127.0.0.1:0', '--data-dir', this.dataDir,
      ...(this.opts.args || [])];
    // opts.wrap: a command that runs the binary, e.g. ['prlimit', '--nofile=256:256']
    const [cmd, ...cmdArgs] = [...(this.opts.wrap || []), binaryPath(), ...args];
    this.proc = spawn(cmd, cmdArgs, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, signal) => {
      // An exit nobody asked for is a crash (or something killed it): say so, with the server's last words.
      if (!this.stopping) {
        console.error(`parleyd exited unexpectedly (code ${code}, signal ${signal}); stderr tail:\n` +
          this.stderr.slice(-4000));
      }
      resolve({ code, signal });
    }));
    this.proc.stderr.on('data', (d) => { this.stderr += d; });
    const rl = createInterface({ input: this.proc.stdout });
    this.url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('parleyd did not print "listening on" within 20 s\n' + this.stderr)), 20000);
      rl.on('line', (line) => {
        this.stdout += line + '\n';
        const m = /^listening on (http:\/\/\S+)$/.exec(line);
        if (m) { clearTimeout(timer); resolve(m[1]); }
      });
      this.exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`parleyd exited (code ${code}, signal ${signal}) before listening\n${this.stderr}`));
      });
    });
    this.port = Number(new URL(this.url).port);
    return this;
  }

  /** SIGTERM and wait; resolves to {code, signal}. Throws on sanitizer reports. */
  async stop(signal = 'SIGTERM') {
    if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null) return this.exited;
    this.stopping = true;
    this.proc.kill(signal);
    const res = await this.exited;
    this.checkSanitizers();
    return res;
  }

  async kill9() {
    this.stopping = true;
    this.proc.kill('SIGKILL');
    return this.exited;
  }

  checkSanitizers() {
    if (SANITIZER.test(this.stderr)) throw new Error('sanitizer report from parleyd:\n' + this.stderr);
  }

  cleanup() {
    this.stopping = true;
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
    if (this.ownsDir) rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** fetch() relative to the server with JSON helpers. Returns {status, headers, body, text}. */
  async request(method, path, { body, token, headers = {}, raw } = {}) {
    const h = { ...headers };
    if (token) h.authorization = `Bearer ${token}`;
    let payload;
    if (raw !== undefined) payload = raw;
    else if (body !== undefined) { payload = JSON.stringify(body); h['content-type'] ??= 'application/json'; }
    const res = await fetch(this.url + path, { method, headers: h, body: payload });
    const text = await res.text();
    let json;
    try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
    return { status: res.status, headers: res.headers, body: json, text };
  }

  async login(email = ADMIN_EMAIL, password = ADMIN_PASSWORD) {
    const r = await this.request('POST', '/api/v1/auth/login', { body: { email, password } });
    if (r.status !== 200) throw new Error(`login ${email} failed: ${r.status} ${r.text}`);
    return r.body;
  }
}

export async function startServer(opts) {
  const s = new Server(opts);
  await s.start();
  return s;
}
