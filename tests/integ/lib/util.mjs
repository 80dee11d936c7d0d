// Shared helpers for the integration tests.
import net from 'node:net';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { binaryPath, ADMIN_EMAIL, ADMIN_PASSWORD } from '../../lib/server.mjs';

/** Per-test options: nothing in this suite should take longer; a hung server must fail, not stall. */
export const T = { timeout: 20000 };

export const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Stops a server started by startServer (SIGTERM), removes its temp dir; rethrows sanitizer reports. */
export async function stopServer(srv) {
  if (!srv) return;
  try {
    await srv.stop();
  } finally {
    srv.cleanup();
  }
}

/** Polls fn until it returns a truthy value or timeout; returns the last value. */
export async function eventually(fn, { timeout = 3000, interval = 50 } = {}) {
  const deadline = Date.now() + timeout;
  let v;
  for (;;) {
    v = await fn();
    if (v || Date.now() >= deadline) return v;
    await sleep(interval);
  }
}

/** Retries fn until it stops throwing (assertions inside it); after timeout, throws its last error. */
export async function passes(fn, { timeout = 3000, interval = 25 } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() >= deadline) throw e;
    }
    await sleep(interval);
  }
}

/** A TCP port that was free a moment ago. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * Runs parleyd with exactly these args (no --listen added) and this env on top of the admin variables.
 * Resolves when it prints "listening on" ({url, proc, stdout, stderr, stop()}) or exits ({exited: {code, signal}}).
 */
export function runParleyd(args, { env = {}, timeout = 10000 } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-integ-'));
  const fullEnv = {
    ...process.env,
    PARLEY_ADMIN_EMAIL: ADMIN_EMAIL,
    PARLEY_ADMIN_PASSWORD: ADMIN_PASSWORD,
    PARLEY_LOG_LEVEL: 'warn',
    PARLEY_DATA_DIR: dataDir,
    ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0:exitcode=66',
    ...env,
  };
  for (const k of Object.keys(fullEnv)) if (fullEnv[k] === undefined) delete fullEnv[k];
  const proc = spawn(binaryPath(), args, { env: fullEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { proc, stdout: '', stderr: '', dataDir };
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  out.exitedPromise = exited;
  proc.stderr.on('data', (d) => { out.stderr += d; });
  const rl = createInterface({ input: proc.stdout });
  out.cleanup = () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  };
  out.stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    const r = await exited;
    rmSync(dataDir, { recursive: true, force: true });
    return r;
  };
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      resolve({ ...out, timedOut: true });
    }, timeout);
    rl.on('line', (line) => {
      out.stdout += line + '\n';
      const m = /^listening on (http:\/\/\S+)$/.exec(line);
      if (m) { clearTimeout(timer); out.url = m[1]; resolve(out); }
    });
    exited.then((e) => {
      clearTimeout(timer);
      // let the pipes drain
      setTimeout(() => { rmSync(dataDir, { recursive: true, force: true }); resolve({ ...out, exited: e }); }, 50);
    });
  });
}

/**
 * Parses Prometheus text format 0.0.4 strictly enough to catch malformed output.
 * Returns {samples: [{name, labels, value}], types: {family: type}, help: {family: text}}.
 */
export function parseMetrics(text) {
  const samples = [];
  const types = {};
  const help = {};
  const lines = text.split('\n');
  if (lines[lines.length - 1] !== '') throw new Error('metrics text must end with a newline');
  for (const line of lines.slice(0, -1)) {
    if (line === '') continue;
    let m;
    if ((m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line))) {
      if (types[m[1]]) throw new Error(`duplicate TYPE for ${m[1]}`);
      types[m[1]] = m[2];
      continue;
    }
    if ((m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line))) { help[m[1]] = m[2]; continue; }
    if (line.startsWith('#')) continue;
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? ([^ ]+)( -?\d+)?$/.exec(line);
    if (!m) throw new Error(`malformed metrics line: ${JSON.stringify(line)}`);
    const labels = {};
    if (m[3]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y;
      let pos = 0;
      const s = m[3];
      while (pos < s.length) {
        re.lastIndex = pos;
        const l = re.exec(s);
        if (!l) throw new Error(`malformed labels in metrics line: ${JSON.stringify(line)}`);
        labels[l[1]] = l[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
        pos = re.lastIndex;
      }
    }
    const v = m[4];
    const value = v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : v === 'NaN' ? NaN : Number(v);
    if (Number.isNaN(value) && v !== 'NaN') throw new Error(`bad sample value in ${JSON.stringify(line)}`);
    samples.push({ name: m[1], labels, value });
  }
  return { samples, types, help };
}

/** Sum of samples named `name` whose labels satisfy pred. */
export function sumSamples(metrics, name, pred = () => true) {
  return metrics.samples.filter((s) => s.name === name && pred(s.labels)).reduce((a, s) => a + s.value, 0);
}

export { ADMIN_EMAIL, ADMIN_PASSWORD };

/** Resident memory of a process in bytes (Linux), from /proc/<pid>/status. */
export function rssBytes(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** How many descriptors a process has open (Linux). */
export function openFds(pid) {
  return readdirSync(`/proc/${pid}/fd`).length;
}
