// Helpers for herald's Redis integration tests (redis*.test.mjs).
//
// startRedis() runs a real redis-server on a free loopback port (no
// persistence), waits for it by polling `redis-cli -p P ping`, and can kill
// it with SIGKILL, restart it on the same port, or freeze it (SIGSTOP /
// SIGCONT). Every redis-server is registered with the harness, which kills
// it by PID when the test process exits. RespClient is a minimal,
// binary-safe RESP client used to PUBLISH exact payloads.

import { execFile, spawn } from 'node:child_process';
import net from 'node:net';
import os from 'node:os';
import assert from 'node:assert/strict';
import { before, after } from 'node:test';
import { freePort, registerChild, runHerald, httpGet, waitFor, sleep, startHerald } from './harness.mjs';

export const REDIS_SERVER = process.env.REDIS_SERVER || 'redis-server';
export const REDIS_CLI = process.env.REDIS_CLI || 'redis-cli';
const INSTALL_HINT = 'install it with `apt-get install redis-server` (Debian package, provides redis-server and redis-cli)';

function run(cmd, args, timeoutMs = 2000) {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs }, (error, stdout, stderr) => {
      resolve({ error, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** `redis-cli -p port args...` → trimmed stdout (throws on failure). */
export async function redisCli(port, ...args) {
  const r = await run(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(port), ...args.map(String)]);
  if (r.error) {
    if (r.error.code === 'ENOENT') throw new Error(`${REDIS_CLI} not found: ${INSTALL_HINT}`);
    throw new Error(`redis-cli -p ${port} ${args.join(' ')} failed: ${r.error.message} ${r.stderr}`);
  }
  return r.stdout.trim();
}

class RedisServer {
  constructor(port) {
    this.port = port;
    this.url = `redis://127.0.0.1:${port}`;
    this.proc = null;
    this.output = [];
    this.exited = null;
  }

  get pid() { return this.proc && this.proc.pid; }

  get running() { return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null; }

  log() { return Buffer.concat(this.output).toString('utf8'); }

  /** Spawns redis-server on this.port and waits until it answers PING. */
  async start(timeoutMs = 5000) {
    if (this.running) throw new Error(`redis-server on ${this.port} is already running`);
    const proc = spawn(REDIS_SERVER, [
      '--port', String(this.port), '--bind', '127.0.0.1',
      '--save', '', '--appendonly', 'no', '--daemonize', 'no',
      '--logfile', '', '--dir', os.tmpdir(),
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    registerChild(proc);
    this.proc = proc;
    proc.stdout.on('data', (c) => this.output.push(c));
    proc.stderr.on('data', (c) => this.output.push(c));
    let spawnError = null;
    proc.once('error', (e) => { spawnError = e; });
    this.exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));

    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (spawnError) {
        if (spawnError.code === 'ENOENT') throw new Error(`${REDIS_SERVER} not found: ${INSTALL_HINT}`);
        throw spawnError;
      }
      if (proc.exitCode !== null || proc.signalCode !== null) {
        throw new Error(`redis-server on port ${this.port} exited at start (${proc.exitCode ?? proc.signalCode}):\n${this.log().slice(-2000)}`);
      }
      const r = await run(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(this.port), 'ping'], 1000);
      if (r.error && r.error.code === 'ENOENT') throw new Error(`${REDIS_CLI} not found: ${INSTALL_HINT}`);
      if (!r.error && r.stdout.trim() === 'PONG') return this;
      if (Date.now() >= deadline) {
        this.kill();
        throw new Error(`redis-server on port ${this.port} did not answer PING within ${timeoutMs} ms:\n${this.log().slice(-2000)}`);
      }
      await sleep(50);
    }
  }

  /** SIGKILL by PID and wait for the exit. */
  async kill() {
    if (!this.proc) return;
    if (this.running) {
      try { process.kill(this.proc.pid, 'SIGKILL'); } catch { /* gone */ }
    }
    await this.exited;
  }

  /** Kill (if running) and start again on the same port. */
  async restart() {
    await this.kill();
    return this.start();
  }

  /** Freeze (SIGSTOP) / thaw (SIGCONT) the server: it keeps its sockets but answers nothing. */
  pause() { process.kill(this.proc.pid, 'SIGSTOP'); }
  resume() { process.kill(this.proc.pid, 'SIGCONT'); }

  cli(...args) { return redisCli(this.port, ...args); }
}

/** A running redis-server on a free (or the given) loopback port. */
export async function startRedis({ port } = {}) {
  const server = new RedisServer(port ?? await freePort());
  return server.start();
}

// ---------------------------------------------------------------------------
// Minimal RESP client (binary-safe arguments, pipelined replies in order)

function parseReply(buf, off) {
  const eol = buf.indexOf('\r\n', off);
  if (eol < 0) return null;
  const type = String.fromCharCode(buf[off]);
  const line = buf.toString('utf8', off + 1, eol);
  const next = eol + 2;
  switch (type) {
    case '+': return [line, next];
    case '-': { const e = new Error(line); e.redisError = true; return [e, next]; }
    case ':': return [Number(line), next];
    case '$': {
      const n = Number(line);
      if (n < 0) return [null, next];
      if (buf.length < next + n + 2) return null;
      return [buf.subarray(next, next + n), next + n + 2];
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return [null, next];
      const arr = [];
      let o = next;
      for (let i = 0; i < n; i++) {
        const r = parseReply(buf, o);
        if (!r) return null;
        arr.push(r[0]);
        o = r[1];
      }
      return [arr, o];
    }
    default:
      throw new Error(`bad RESP type byte ${JSON.stringify(type)}`);
  }
}

export class RespClient {
  static connect(port) {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.once('connect', () => { s.off('error', reject); resolve(new RespClient(s)); });
      s.once('error', reject);
    });
  }

  constructor(socket) {
    this.socket = socket;
    this.buf = Buffer.alloc(0);
    this.pending = [];
    socket.on('data', (c) => {
      this.buf = Buffer.concat([this.buf, c]);
      for (;;) {
        const r = parseReply(this.buf, 0);
        if (!r) break;
        this.buf = this.buf.subarray(r[1]);
        const p = this.pending.shift();
        if (p) p(r[0]);
      }
    });
    const fail = () => { for (const p of this.pending.splice(0)) p(new Error('redis connection closed')); };
    socket.on('close', fail);
    socket.on('error', () => {});
  }

  /** Sends one command; resolves with the reply (bulk strings as Buffers), rejects on a Redis error. */
  command(...args) {
    const parts = [Buffer.from(`*${args.length}\r\n`)];
    for (const a of args) {
      const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a), 'utf8');
      parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
    }
    return new Promise((resolve, reject) => {
      this.pending.push((v) => (v instanceof Error ? reject(v) : resolve(v)));
      this.socket.write(Buffer.concat(parts));
    });
  }

  /** PUBLISH channel payload → number of receivers Redis reports. */
  publish(channel, payload) { return this.command('PUBLISH', channel, payload); }

  /**
   * The next reply no command asked for: after SUBSCRIBE or PSUBSCRIBE,
   * the next message Redis pushes (an Error if the connection closes).
   */
  nextPush() { return new Promise((resolve) => this.pending.push(resolve)); }

  close() { this.socket.destroy(); }
}

// ---------------------------------------------------------------------------
// herald-side helpers

let helpText = null;
/** Whether this herald binary knows the flag (from `herald --help`). */
export async function heraldHasFlag(flag) {
  if (helpText === null) {
    const r = await runHerald(['--help']);
    helpText = r.stdout + r.stderr;
  }
  return helpText.includes(flag);
}

/**
 * Flags that lift herald's per-session rate limit, when this binary has one
 * (--rate-limit), so that bursts of client messages are not refused.
 */
export async function noRateLimitArgs() {
  const args = (await heraldHasFlag('--rate-limit')) ? ['--rate-limit', '1000000'] : [];
  // the byte and fan-out budgets (docs/security.md) refuse bursts of
  // large messages too
  for (const flag of ['--rate-limit-bytes', '--fanout-limit']) {
    if (await heraldHasFlag(flag)) args.push(flag, '0');
  }
  return args;
}

export async function health(h) {
  const res = await httpGet(`${h.http}/health`, { timeoutMs: 2000 });
  assert.equal(res.status, 200, `/health answered ${res.status}: ${res.body}`);
  return res.json;
}

export async function stats(h) {
  const res = await httpGet(`${h.http}/api/stats`, { timeoutMs: 2000 });
  assert.equal(res.status, 200, `/api/stats answered ${res.status}: ${res.body}`);
  return res.json;
}

/** Bounded poll of /health until its "redis" field is state. */
export function waitRedisState(h, state, timeoutMs = 5000) {
  return waitFor(async () => (await health(h)).redis === state, timeoutMs,
    { what: `herald on ${h.port}: /health redis "${state}"` });
}

// ---------------------------------------------------------------------------
// Frame assertions

const SEQ_RE = /^(\d+)-(\d+)$/;

/** Asserts that seq is a well-formed "<ms>-<n>" string and returns it as [ms, n] BigInts. */
export function seqParts(seq) {
  assert.equal(typeof seq, 'string', `seq is not a string: ${JSON.stringify(seq)}`);
  const m = seq.match(SEQ_RE);
  assert.ok(m, `seq ${JSON.stringify(seq)} is not "<ms>-<n>"`);
  return [BigInt(m[1]), BigInt(m[2])];
}

/** Whether seq a sorts strictly before seq b. */
export function seqBefore(a, b) {
  const [am, an] = seqParts(a);
  const [bm, bn] = seqParts(b);
  return am < bm || (am === bm && an < bn);
}

/**
 * Asserts a frame equals expected exactly: same keys in the same order and
 * same values. A "seq" key in expected with the value ANY_SEQ matches any
 * well-formed seq string.
 */
export const ANY_SEQ = Symbol('any seq');
export function assertFrame(got, expected, what = 'frame') {
  const exp = { ...expected };
  if (exp.seq === ANY_SEQ) {
    seqParts(got.seq);
    exp.seq = got.seq;
  }
  assert.deepEqual(got, exp, `${what}: got ${JSON.stringify(got)}, expected ${JSON.stringify(exp)}`);
  assert.deepEqual(Object.keys(got), Object.keys(exp), `${what}: key order of ${JSON.stringify(got)}`);
  return got;
}

/** Next JSON frame of client, asserted equal to expected (see assertFrame); returns it. */
export async function expectFrame(client, expected, what, timeoutMs = 3000) {
  const got = await client.nextJson(timeoutMs);
  return assertFrame(got, expected, what);
}

/** Subscribe client to channel and consume the exact reply (with the channel's seq); returns the reply. */
export async function subscribe(client, channel) {
  await client.sendJson({ type: 'subscribe', channel });
  return expectFrame(client, { type: 'subscribed', channel, seq: ANY_SEQ }, `subscribe ${channel}`);
}

/** expectNone on every client at once (one window). */
export async function expectNoneAll(clients, ms = 300) {
  await Promise.all(clients.map((c) => c.expectNone(ms)));
}

/** Stop every herald given; throws the first failure after trying them all. */
export async function stopAll(...hs) {
  const errs = [];
  for (const h of hs.flat()) if (h) await h.stop().catch((e) => errs.push(e));
  if (errs.length) throw errs[0];
}

/**
 * The world of the history tests: one redis-server and a RESP client on it
 * for the whole file (before/after hooks registered here), node(args, id)
 * starting a herald on it that is connected, and fcall(channel, payload)
 * publishing through herald_publish as a backend would (returns the seq).
 */
export function historyWorld(defaultId) {
  const world = { redis: null, pub: null, extra: [] };
  before(async () => {
    world.redis = await startRedis();
    world.pub = await RespClient.connect(world.redis.port);
    world.extra = await noRateLimitArgs();
  });
  after(async () => {
    if (world.pub) world.pub.close();
    if (world.redis) await world.redis.kill();
  });
  world.node = async (args = [], id = defaultId) => {
    const h = await startHerald({
      args: ['--redis-url', world.redis.url, '--node-id', id, ...world.extra, ...args],
    });
    await waitRedisState(h, 'connected');
    return h;
  };
  world.fcall = async (channel, payload) =>
    String(await world.pub.command('FCALL', 'herald_publish', '1', `herald:stream:${channel}`, payload));
  return world;
}
