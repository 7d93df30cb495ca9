// Shared helpers for herald's integration tests (node --test + ws).
//
// Every test file starts its own herald(s) on free loopback ports with
// startHerald() and stops them in `after` with stop(), which fails the file
// when herald exits non-zero or printed a sanitizer report. Waits are bounded
// polling (waitFor); the only fixed wait is expectNone(), which asserts that
// nothing arrives during a window. Every child process is registered and is
// killed by PID when the test process exits, even after a failure.

import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import WebSocket from 'ws';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const HERALD_BIN = process.env.HERALD_BIN || path.join(REPO, 'build', 'asan', 'herald');
export const WEB_ROOT = path.join(REPO, 'web');

export const ASAN_OPTIONS = 'detect_leaks=1:abort_on_error=0:exitcode=66';
export const UBSAN_OPTIONS = 'print_stacktrace=1:halt_on_error=1:exitcode=67';
export const TSAN_OPTIONS = 'halt_on_error=0:exitcode=68';
const SANITIZER_MARKERS = ['AddressSanitizer', 'LeakSanitizer', 'runtime error:', 'UndefinedBehaviorSanitizer', 'ThreadSanitizer'];

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * promise, or onTimeout() (its value, or what it throws) after ms; the timer
 * is cleared either way so that no pending timer keeps the test process alive.
 */
export function withTimeout(promise, ms, onTimeout) {
  let timer;
  const t = new Promise((resolve, reject) => {
    timer = setTimeout(() => {
      try { resolve(onTimeout()); } catch (e) { reject(e); }
    }, ms);
  });
  return Promise.race([promise, t]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------
// Child process registry: anything we spawn is killed by PID on exit.

const children = new Set();

function killChildren() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try { process.kill(child.pid, 'SIGKILL'); } catch { /* already gone */ }
    }
  }
}
process.on('exit', killChildren);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => { killChildren(); process.exit(130); });
}

export function registerChild(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Environment for herald: ours without any HERALD_* variable, plus sanitizers. */
export function heraldEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('HERALD_')) env[k] = v;
  }
  env.ASAN_OPTIONS = ASAN_OPTIONS;
  env.UBSAN_OPTIONS = UBSAN_OPTIONS;
  env.TSAN_OPTIONS = TSAN_OPTIONS; // the make tsan build (test-tsan)
  return Object.assign(env, extra);
}

export function requireHeraldBinary() {
  if (!existsSync(HERALD_BIN)) {
    throw new Error(`herald binary not found at ${HERALD_BIN}: build it with ` +
      '`make build/asan/herald` (or set HERALD_BIN)');
  }
}

export function sanitizerReport(output) {
  return SANITIZER_MARKERS.find((m) => output.includes(m)) || null;
}

function tail(text, n = 4000) {
  return text.length > n ? '…' + text.slice(-n) : text;
}

// ---------------------------------------------------------------------------
// Ports

/** A free TCP port on 127.0.0.1 (bind :0, read it, close). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// ---------------------------------------------------------------------------
// Bounded polling

/**
 * Call fn every intervalMs until it returns a truthy value (returned) or
 * timeoutMs passes (throws, with the last error fn threw, if any).
 */
export async function waitFor(fn, timeoutMs = 5000, { intervalMs = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastErr = null;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      lastErr = null;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() >= deadline) {
      const e = new Error(`timed out after ${timeoutMs} ms waiting for ${what}` +
        (lastErr ? `; last error: ${lastErr.message}` : ''));
      if (lastErr) e.cause = lastErr;
      throw e;
    }
    await sleep(intervalMs);
  }
}

// ---------------------------------------------------------------------------
// HTTP

function httpRequest(method, url, { headers = {}, body, timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve(withJson({ status: res.statusCode, headers: res.headers, body: text }));
      });
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${url} timed out`)));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

function withJson(res) {
  Object.defineProperty(res, 'json', {
    enumerable: true,
    get() {
      try {
        return JSON.parse(res.body);
      } catch (err) {
        throw new Error(`body is not JSON (status ${res.status}): ${JSON.stringify(res.body.slice(0, 500))}`);
      }
    },
  });
  return res;
}

/** GET url → {status, headers, body, json} (json parses lazily, throws if not JSON). */
export function httpGet(url, opts = {}) {
  return httpRequest('GET', url, opts);
}

/** POST url with body (object → JSON, string/Buffer as is) → {status, headers, body, json}. */
export function httpPost(url, body, { headers = {}, ...opts } = {}) {
  let payload = body;
  const h = { ...headers };
  if (body !== undefined && typeof body !== 'string' && !Buffer.isBuffer(body)) {
    payload = JSON.stringify(body);
  }
  if (payload !== undefined) {
    if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['Content-Type'] = 'application/json';
    h['Content-Length'] = Buffer.byteLength(payload);
  }
  return httpRequest('POST', url, { ...opts, headers: h, body: payload });
}

// ---------------------------------------------------------------------------
// herald process

/**
 * Start herald on a free port and wait (bounded polling) for GET /health 200.
 *   args: extra flags; a flag given here replaces the default one.
 *   env: extra environment (HERALD_* from our own environment is never passed).
 *   omit: default flags to leave out entirely (e.g. ['--port'] to test HERALD_PORT).
 *   port: the port to poll when --port is omitted or given in args.
 *   tls: herald serves TLS (args carry --tls-cert/--tls-key): url is wss://,
 *        and healthGet (an https getter, like httpGet) polls https://…/health.
 *   softFileLimit: the soft open-files limit herald starts with.
 *   hardFileLimit: the hard (and soft) open-files limit herald starts with.
 */
export async function startHerald({ args = [], env = {}, omit = [], port: pollPort, startTimeoutMs = 10000,
  tls = false, healthGet = httpGet, softFileLimit, hardFileLimit } = {}) {
  requireHeraldBinary();
  const has = (flag) => args.some((a) => a === flag || a.startsWith(flag + '='));
  const flagValue = (flag) => {
    for (let i = 0; i < args.length; i++) {
      if (args[i] === flag) return args[i + 1];
      if (args[i].startsWith(flag + '=')) return args[i].slice(flag.length + 1);
    }
    return undefined;
  };

  let port = pollPort;
  const defaults = [];
  if (!omit.includes('--host') && !has('--host')) defaults.push('--host', '127.0.0.1');
  if (!omit.includes('--port') && !has('--port')) {
    port = port ?? await freePort();
    defaults.push('--port', String(port));
  } else if (has('--port')) {
    port = Number(flagValue('--port'));
  }
  if (!omit.includes('--redis-url') && !has('--redis-url')) defaults.push('--redis-url', 'none');
  if (!omit.includes('--web-root') && !has('--web-root')) defaults.push('--web-root', WEB_ROOT);
  // make test runs the suite with HERALD_TEST_WORKERS=1 and =2
  if (process.env.HERALD_TEST_WORKERS && !has('--workers') && !omit.includes('--workers')) {
    defaults.push('--workers', process.env.HERALD_TEST_WORKERS);
  }
  if (port === undefined) throw new Error('startHerald: no port to poll (pass {port})');

  const argv = [...defaults, ...args];
  // softFileLimit: herald starts under that soft open-files limit (the
  // shell execs herald, so the pid is herald's)
  // (hardFileLimit: `ulimit -n` sets both limits)
  const [file, fileArgs] = hardFileLimit !== undefined
    ? ['/bin/sh', ['-c', 'ulimit -n "$0" && exec "$@"', String(hardFileLimit), HERALD_BIN, ...argv]]
    : softFileLimit === undefined ? [HERALD_BIN, argv]
      : ['/bin/sh', ['-c', 'ulimit -Sn "$0" && exec "$@"', String(softFileLimit), HERALD_BIN, ...argv]];
  // TLS with several workers: OpenSSL's fixed exit-time leak, and only it
  // (lsan-tls-workers.supp says why)
  const workers = Number(argv[argv.lastIndexOf('--workers') + 1]) ||
    Math.min(os.availableParallelism(), 64);
  const lsan = has('--tls-cert') && workers > 1
    ? { LSAN_OPTIONS: `suppressions=${path.join(REPO, 'tests', 'integration', 'lsan-tls-workers.supp')}` } : {};
  const proc = registerChild(spawn(file, fileArgs, {
    env: heraldEnv({ ...lsan, ...env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  }));
  const chunks = [];
  proc.stdout.on('data', (c) => chunks.push(c));
  proc.stderr.on('data', (c) => chunks.push(c));
  const log = () => Buffer.concat(chunks).toString('utf8');

  let exitInfo = null;
  const exited = new Promise((resolve) => {
    // 'close' (not 'exit'): stdout and stderr are drained, so a sanitizer
    // report printed just before exiting is in log().
    proc.once('close', (code, signal) => { exitInfo = { code, signal }; resolve(exitInfo); });
  });
  const spawnError = new Promise((resolve) => proc.once('error', resolve));

  const base = {
    port,
    url: `${tls ? 'wss' : 'ws'}://127.0.0.1:${port}`,
    http: `http://127.0.0.1:${port}`,
    https: `https://127.0.0.1:${port}`,
    proc,
    pid: proc.pid,
    argv,
    log,
    exited,
    // its event loops: each has its own Redis links (a PUBLISH reaches
    // every worker), and the default is the number of cores
    workers,
  };

  // Wait for /health 200.
  const deadline = Date.now() + startTimeoutMs;
  let lastErr = null;
  for (;;) {
    if (exitInfo) {
      throw new Error(`herald exited during startup (code ${exitInfo.code}, signal ${exitInfo.signal}); ` +
        `argv: ${argv.join(' ')}\n${tail(log())}`);
    }
    const err = await Promise.race([spawnError, sleep(0).then(() => null)]);
    if (err) throw new Error(`cannot spawn ${HERALD_BIN}: ${err.message}`);
    try {
      const res = await healthGet(`${tls ? base.https : base.http}/health`, { timeoutMs: 1000 });
      if (res.status === 200) break;
      lastErr = new Error(`/health answered ${res.status}`);
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() >= deadline) {
      process.kill(proc.pid, 'SIGKILL');
      await exited;
      throw new Error(`herald did not answer /health 200 within ${startTimeoutMs} ms ` +
        `(${lastErr && lastErr.message}); argv: ${argv.join(' ')}\n${tail(log())}`);
    }
    await sleep(50);
  }

  let stopped = null;
  base.stop = ({ signal = 'SIGTERM', timeoutMs = 10000 } = {}) => {
    if (!stopped) stopped = stopHerald(base, () => exitInfo, signal, timeoutMs);
    return stopped;
  };
  /** Checks that herald is still running (not crashed). */
  base.alive = () => exitInfo === null;
  return base;
}

async function stopHerald(h, getExit, signal, timeoutMs) {
  if (getExit() === null) process.kill(h.pid, signal);
  const t0 = Date.now();
  const res = await withTimeout(h.exited, timeoutMs, () => null);
  if (res === null) {
    process.kill(h.pid, 'SIGKILL');
    await h.exited;
    throw new Error(`herald (pid ${h.pid}) did not exit within ${timeoutMs} ms of ${signal}\n${tail(h.log())}`);
  }
  const elapsedMs = Date.now() - t0;
  const out = h.log();
  const report = sanitizerReport(out);
  if (report) throw new Error(`herald output contains "${report}":\n${tail(out, 12000)}`);
  if (res.code !== 0) {
    throw new Error(`herald exited with code ${res.code} signal ${res.signal} after ${signal}\n${tail(out)}`);
  }
  return { ...res, elapsedMs };
}

/** Run herald to completion with the given argv (no defaults) → {code, signal, stdout, stderr}. */
export function runHerald(argv, { env = {}, timeoutMs = 5000 } = {}) {
  requireHeraldBinary();
  return new Promise((resolve, reject) => {
    const proc = registerChild(spawn(HERALD_BIN, argv, { env: heraldEnv(env), stdio: ['ignore', 'pipe', 'pipe'] }));
    const out = [];
    const err = [];
    proc.stdout.on('data', (c) => out.push(c));
    proc.stderr.on('data', (c) => err.push(c));
    const timer = setTimeout(() => {
      process.kill(proc.pid, 'SIGKILL');
      reject(new Error(`herald ${argv.join(' ')} still running after ${timeoutMs} ms\n` +
        Buffer.concat(err).toString()));
    }, timeoutMs);
    proc.on('error', (e) => { clearTimeout(timer); reject(e); });
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
}

let helpText = null;
/** True when `herald --help` lists flag (to pass optional tuning flags only when herald has them). */
export async function heraldHasFlag(flag) {
  if (helpText === null) helpText = (await runHerald(['--help'])).stdout;
  return new RegExp(`(^|\\s)${flag}(\\s|=|$)`, 'm').test(helpText);
}

/** Resident set size of a process in kB (VmRSS from /proc/<pid>/status). */
export function rssKb(pid, field = 'VmRSS') {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]);
}

// ---------------------------------------------------------------------------
// WebSocket client (ws) with a message queue

class Client {
  constructor(ws) {
    this.ws = ws;
    this.queue = [];
    this.waiters = [];
    this.pings = 0;
    this.handler = null;
    this.closeInfo = null;
    this._closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString('utf8') };
        resolve(this.closeInfo);
        for (const w of this.waiters.splice(0)) w.reject(this._closedError());
      });
    });
    ws.on('message', (data, isBinary) => {
      const msg = isBinary ? Buffer.from(data) : data.toString('utf8');
      if (this.handler) { this.handler(msg); return; }
      const w = this.waiters.shift();
      if (w) w.resolve(msg);
      else this.queue.push(msg);
    });
    ws.on('ping', () => { this.pings++; });
    ws.on('error', (err) => { this.error = err; });
  }

  _closedError() {
    return new Error(`connection closed (code ${this.closeInfo.code}, reason ${JSON.stringify(this.closeInfo.reason)})` +
      (this.error ? ` after error: ${this.error.message}` : ''));
  }

  /** Route incoming messages to fn instead of the queue (null restores queueing). */
  tap(fn) { this.handler = fn; }

  get isOpen() { return this.ws.readyState === WebSocket.OPEN; }

  /** Next message (string for text, Buffer for binary); rejects after timeoutMs or on close. */
  next(timeoutMs = 3000) {
    if (this.queue.length) return Promise.resolve(this.queue.shift());
    if (this.closeInfo) return Promise.reject(this._closedError());
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (m) => { clearTimeout(timer); resolve(m); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      };
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Error(`no message within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Next message, or null when none arrives within timeoutMs or the connection is closed. */
  nextOrNull(timeoutMs = 3000) {
    if (this.queue.length) return Promise.resolve(this.queue.shift());
    if (this.closeInfo) return Promise.resolve(null);
    return this.next(timeoutMs).then((m) => m, () => null);
  }

  /** Next message, which must be a text frame holding JSON; returns the parsed value. */
  async nextJson(timeoutMs = 3000) {
    const m = await this.next(timeoutMs);
    assert.equal(typeof m, 'string', `expected a text frame, got binary ${Buffer.isBuffer(m) ? m.toString('hex').slice(0, 80) : m}`);
    try {
      return JSON.parse(m);
    } catch {
      throw new Error(`expected JSON, got ${JSON.stringify(m.slice(0, 300))}`);
    }
  }

  /** Next n JSON messages (in arrival order). */
  async nextJsonN(n, timeoutMs = 3000) {
    const out = [];
    for (let i = 0; i < n; i++) out.push(await this.nextJson(timeoutMs));
    return out;
  }

  /** Asserts that no message arrives (and the connection stays open) for ms. */
  async expectNone(ms = 300) {
    await sleep(ms);
    assert.deepEqual(this.queue, [], `unexpected message(s) received: ${this.queue.map(String).join(' | ').slice(0, 500)}`);
    assert.equal(this.closeInfo, null, `connection unexpectedly closed: ${JSON.stringify(this.closeInfo)}`);
  }

  /** Promise of {code, reason} once the connection is closed. */
  closed(timeoutMs = 5000) {
    if (this.closeInfo) return Promise.resolve(this.closeInfo);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`connection not closed within ${timeoutMs} ms`)), timeoutMs);
      this._closed.then((info) => { clearTimeout(timer); resolve(info); });
    });
  }

  send(data, opts = {}) {
    return new Promise((resolve, reject) => {
      this.ws.send(data, opts, (err) => (err ? reject(err) : resolve()));
    });
  }

  sendJson(obj) {
    return this.send(JSON.stringify(obj));
  }

  close(code, reason) {
    if (this.ws.readyState === WebSocket.CLOSED) return Promise.resolve(this.closeInfo);
    if (this.ws.readyState !== WebSocket.CLOSING) this.ws.close(code, reason);
    return this.closed();
  }

  terminate() {
    this.ws.terminate();
  }
}

/**
 * Open a WebSocket to url + path. Resolves on open with a Client; rejects when
 * the upgrade is refused (err.status set) or fails. perMessageDeflate is off
 * unless opts asks for it, so that frames on the wire are what we send.
 * opts.protocols: Sec-WebSocket-Protocol values; other opts go to ws.
 */
export function connect(url, path = '/ws/alice', opts = {}) {
  const { protocols, ...wsOpts } = opts;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url + path, protocols, { perMessageDeflate: false, handshakeTimeout: 5000, ...wsOpts });
    const client = new Client(ws);
    const onError = (err) => reject(err);
    ws.once('error', onError);
    ws.once('unexpected-response', (req, res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const err = new Error(`upgrade refused: ${res.statusCode} ${Buffer.concat(chunks).toString()}`);
        err.status = res.statusCode;
        err.body = Buffer.concat(chunks).toString();
        req.destroy();
        reject(err);
      });
    });
    ws.once('open', () => {
      ws.off('error', onError);
      resolve(client);
    });
  });
}

/** connect() and consume the welcome frame; the client gets .welcome. */
export async function connectReady(url, path = '/ws/alice', opts = {}) {
  const c = await connect(url, path, opts);
  const welcome = await c.nextJson();
  assert.equal(welcome.type, 'welcome', `first frame is not a welcome: ${JSON.stringify(welcome)}`);
  c.welcome = welcome;
  return c;
}

/** Close every client given (ignores ones already closed). */
export async function closeAll(...clients) {
  await Promise.all(clients.flat().filter(Boolean).map((c) => c.close()));
}

// ---------------------------------------------------------------------------
// Raw HTTP upgrade and a minimal raw WebSocket client (no auto-pong)

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/**
 * Read one HTTP response from socket. Resolves {status, headers, body, rest}
 * where rest holds the bytes after the headers of a 101. status is null when
 * the server closed without a response.
 */
function readHttpResponse(socket, timeoutMs) {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    let head = null;
    const timer = setTimeout(() => { cleanup(); reject(new Error(`no complete HTTP response within ${timeoutMs} ms; got ${JSON.stringify(buf.toString('latin1').slice(0, 500))}`)); }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onErr);
    };
    const finish = (r) => { cleanup(); resolve(r); };
    const parseHead = () => {
      const i = buf.indexOf('\r\n\r\n');
      if (i < 0) return false;
      const lines = buf.subarray(0, i).toString('latin1').split('\r\n');
      const m = lines[0].match(/^HTTP\/1\.[01] (\d{3})/);
      if (!m) throw new Error(`bad status line ${JSON.stringify(lines[0])}`);
      const headers = {};
      for (const l of lines.slice(1)) {
        const j = l.indexOf(':');
        if (j > 0) headers[l.slice(0, j).trim().toLowerCase()] = l.slice(j + 1).trim();
      }
      head = { status: Number(m[1]), headers, statusLine: lines[0] };
      buf = buf.subarray(i + 4);
      return true;
    };
    const tryBody = (ended) => {
      if (head.status === 101) return { body: '', rest: buf };
      const cl = head.headers['content-length'];
      if (cl !== undefined) {
        if (buf.length >= Number(cl)) return { body: buf.subarray(0, Number(cl)).toString('utf8'), rest: buf.subarray(Number(cl)) };
        return ended ? { body: buf.toString('utf8'), rest: Buffer.alloc(0), truncated: true } : null;
      }
      if (/chunked/i.test(head.headers['transfer-encoding'] || '')) {
        const parts = [];
        let off = 0;
        for (;;) {
          const e = buf.indexOf('\r\n', off);
          if (e < 0) return ended ? { body: Buffer.concat(parts).toString('utf8'), rest: Buffer.alloc(0), truncated: true } : null;
          const size = parseInt(buf.subarray(off, e).toString('latin1'), 16);
          if (size === 0) return { body: Buffer.concat(parts).toString('utf8'), rest: Buffer.alloc(0) };
          if (buf.length < e + 2 + size + 2) return ended ? { body: Buffer.concat(parts).toString('utf8'), rest: Buffer.alloc(0), truncated: true } : null;
          parts.push(buf.subarray(e + 2, e + 2 + size));
          off = e + 2 + size + 2;
        }
      }
      return ended ? { body: buf.toString('utf8'), rest: Buffer.alloc(0) } : null;
    };
    const step = (ended) => {
      try {
        if (!head && !parseHead()) {
          if (ended) finish({ status: null, headers: {}, body: buf.toString('latin1'), rest: Buffer.alloc(0) });
          return;
        }
        const b = tryBody(ended);
        if (b) finish({ ...head, ...b });
      } catch (e) { cleanup(); reject(e); }
    };
    const onData = (c) => { buf = Buffer.concat([buf, c]); step(false); };
    const onEnd = () => step(true);
    const onErr = (e) => {
      if (head || buf.length) step(true);
      else { cleanup(); resolve({ status: null, headers: {}, body: '', rest: Buffer.alloc(0), error: e }); }
    };
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    socket.on('error', onErr);
  });
}

function openSocket(port, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`connect to ${port} timed out`)); }, timeoutMs);
    s.once('connect', () => { clearTimeout(timer); s.off('error', reject); resolve(s); });
    s.once('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

function upgradeRequest(port, reqPath, headers, key) {
  const h = {
    Host: `127.0.0.1:${port}`,
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': key,
    'Sec-WebSocket-Version': '13',
    ...headers,
  };
  let req = `GET ${reqPath} HTTP/1.1\r\n`;
  for (const [k, v] of Object.entries(h)) if (v !== null && v !== undefined) req += `${k}: ${v}\r\n`;
  return req + '\r\n';
}

/**
 * Send a raw HTTP upgrade request for reqPath (sent verbatim) and read the
 * answer: {status, headers, body, json}. For a 101 the socket is destroyed.
 * status is null (and .error may be set) when the server closed or refused
 * the TCP connection without answering.
 */
export async function upgradeRaw(port, reqPath, headers = {}, { timeoutMs = 5000 } = {}) {
  let socket;
  try {
    socket = await openSocket(port, timeoutMs);
  } catch (error) {
    return withJson({ status: null, headers: {}, body: '', error });
  }
  const key = randomBytes(16).toString('base64');
  const resP = readHttpResponse(socket, timeoutMs);
  socket.write(upgradeRequest(port, reqPath, headers, key));
  const res = await resP;
  socket.destroy();
  delete res.rest;
  return withJson(res);
}

/** Encode one client→server frame (masked unless mask:false). */
export function encodeFrame(opcode, payload = Buffer.alloc(0), { fin = true, mask = true, rsv = 0 } = {}) {
  const data = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
  const len = data.length;
  let header;
  if (len < 126) {
    header = Buffer.alloc(2);
    header[1] = len;
  } else if (len < 65536) {
    header = Buffer.alloc(4);
    header[1] = 126;
    header.writeUInt16BE(len, 2);
  } else {
    header = Buffer.alloc(10);
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(len), 2);
  }
  header[0] = (fin ? 0x80 : 0) | (rsv << 4) | opcode;
  if (!mask) return Buffer.concat([header, data]);
  header[1] |= 0x80;
  const key = randomBytes(4);
  const masked = Buffer.alloc(len);
  for (let i = 0; i < len; i++) masked[i] = data[i] ^ key[i & 3];
  return Buffer.concat([header, key, masked]);
}

/**
 * A raw WebSocket client on a plain TCP socket: completes the handshake
 * (checks 101 and Sec-WebSocket-Accept) and then parses frames from the
 * server. It never answers pings by itself. Frames: {fin, opcode, payload}.
 */
export async function rawConnect(port, reqPath = '/ws/alice', headers = {}, { timeoutMs = 5000 } = {}) {
  const socket = await openSocket(port, timeoutMs);
  const key = randomBytes(16).toString('base64');
  const resP = readHttpResponse(socket, timeoutMs);
  socket.write(upgradeRequest(port, reqPath, headers, key));
  const res = await resP;
  if (res.status !== 101) {
    socket.destroy();
    throw new Error(`raw upgrade of ${reqPath} answered ${res.status}: ${res.body}`);
  }
  const expectAccept = createHash('sha1').update(key + WS_GUID).digest('base64');
  assert.equal(res.headers['sec-websocket-accept'], expectAccept, 'bad Sec-WebSocket-Accept');
  return new RawClient(socket, res.rest);
}

class RawClient {
  constructor(socket, initial) {
    this.socket = socket;
    this.buf = Buffer.alloc(0);
    this.frames = [];
    this.waiters = [];
    this.pings = 0;
    this.bytesReceived = 0;
    this.closeFrame = null;
    this.socketClosed = false;
    this.closedAt = null;
    this.onFrame = null;
    this._closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.socketClosed = true;
        this.closedAt = Date.now();
        resolve();
        for (const w of this.waiters.splice(0)) w.reject(this._closedError());
      });
    });
    socket.on('error', (e) => { this.error = e; });
    socket.on('data', (c) => this._feed(c));
    if (initial && initial.length) this._feed(initial);
  }

  _feed(chunk) {
    this.bytesReceived += chunk.length;
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    for (;;) {
      const b = this.buf;
      if (b.length < 2) return;
      let len = b[1] & 0x7f;
      let off = 2;
      if (len === 126) { if (b.length < 4) return; len = b.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (b.length < 10) return; len = Number(b.readBigUInt64BE(2)); off = 10; }
      const masked = (b[1] & 0x80) !== 0;
      if (masked) off += 4; // servers must not mask; parse anyway
      if (b.length < off + len) return;
      const frame = { fin: (b[0] & 0x80) !== 0, rsv: (b[0] >> 4) & 7, opcode: b[0] & 0x0f, masked, payload: Buffer.from(b.subarray(off, off + len)) };
      this.buf = b.subarray(off + len);
      if (frame.opcode === 0x9) this.pings++;
      if (frame.opcode === 0x8) {
        this.closeFrame = {
          code: frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : null,
          reason: frame.payload.subarray(2).toString('utf8'),
        };
        // Answer the close like any client (RFC 6455 §5.5.1) so the server
        // can finish the closing handshake instead of waiting for a timeout.
        // Once close frames went both ways, hang up our side as the ws
        // package and browsers do: after a protocol error lws cannot parse
        // the answer (its frame parser stopped mid-frame) and would
        // otherwise wait 5 s for the TCP connection to go.
        if (!this.socket.destroyed) {
          if (!this.closeSent) {
            this.closeSent = true;
            this.socket.write(encodeFrame(0x8, frame.payload.subarray(0, 2)));
          }
          this.socket.end();
        }
      }
      if (this.onFrame) this.onFrame(frame);
      const w = this.waiters.shift();
      if (w) w.resolve(frame);
      else this.frames.push(frame);
    }
  }

  _closedError() {
    return new Error('socket closed by the server ' +
      (this.closeFrame ? `after a close frame ${JSON.stringify(this.closeFrame)}` : 'without a close frame'));
  }

  /** Next frame from the server, or reject after timeoutMs / on close. */
  nextFrame(timeoutMs = 3000) {
    if (this.frames.length) return Promise.resolve(this.frames.shift());
    if (this.socketClosed) return Promise.reject(this._closedError());
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (f) => { clearTimeout(timer); resolve(f); },
        reject: (e) => { clearTimeout(timer); reject(e); },
      };
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Error(`no frame within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Next data frame (skipping pings/pongs). */
  async nextDataFrame(timeoutMs = 3000) {
    for (;;) {
      const f = await this.nextFrame(timeoutMs);
      if (f.opcode !== 0x9 && f.opcode !== 0xa) return f;
    }
  }

  sendFrame(opcode, payload, opts) {
    this.sendRaw(encodeFrame(opcode, payload, opts));
  }

  /** Writes bytes as they are; a close frame at their start counts as ours. */
  sendRaw(bytes) {
    if (bytes.length && (bytes[0] & 0x0f) === 0x8) this.closeSent = true;
    this.socket.write(bytes);
  }

  sendText(text, opts) { this.sendFrame(0x1, Buffer.from(text, 'utf8'), opts); }

  /** Promise resolved when the TCP connection is closed (bounded). */
  closed(timeoutMs = 5000) {
    return withTimeout(this._closed, timeoutMs, () => {
      throw new Error(`raw socket not closed within ${timeoutMs} ms`);
    });
  }

  pause() { this.socket.pause(); }
  resume() { this.socket.resume(); }
  destroy() { this.socket.destroy(); }
}

// ---------------------------------------------------------------------------
// Prometheus text

/** Parse Prometheus text into {name: value} (labels kept in the key) and {name: type}. */
export function parseMetrics(text) {
  const values = {};
  const types = {};
  for (const line of text.split('\n')) {
    const t = line.match(/^# TYPE (\S+) (\S+)/);
    if (t) { types[t[1]] = t[2]; continue; }
    if (!line || line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?)\s+(\S+)/);
    if (m) values[m[1]] = Number(m[2]);
  }
  return { values, types };
}
