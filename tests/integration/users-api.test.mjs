// The Users API examples end to end, each against a real redis-server and a
// real herald: examples/users-api (FastAPI under uvicorn, Debian's python3
// with python3-fastapi, python3-uvicorn, python3-redis) and
// examples/users-api-go (Gin, built with Debian's Go packages). Each suite
// is skipped with the reason when its toolchain is missing.
//
// POST, PUT and DELETE a user over HTTP: a WebSocket client subscribed to
// `users` receives exactly one notification per change, in order, with the
// envelope the dashboard renders (web/dashboard.js) and the user's fields as
// the API answered them. Refused requests (4xx) publish nothing. make demo's
// script drives the FastAPI app to its six events.

import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  REPO, startHerald, connectReady, closeAll, freePort, registerChild, waitFor, withTimeout,
} from './harness.mjs';
import {
  startRedis, waitRedisState, subscribe, expectFrame, stopAll, seqBefore, ANY_SEQ,
} from './redis-harness.mjs';

// Debian's interpreter: python3-fastapi lives in its dist-packages, which
// another python3 earlier in PATH (pyenv, a venv) does not see.
const PYTHON = process.env.USERS_API_PYTHON || '/usr/bin/python3';
const APP_DIR = path.join(REPO, 'examples', 'users-api');
const GO_DIR = path.join(REPO, 'examples', 'users-api-go');
// Go in GOPATH mode against Debian's Go packages (no module download), its
// build cache in build/ (make test-examples uses the same)
const GO_ENV = {
  GO111MODULE: 'off', GOPATH: '/usr/share/gocode', GOFLAGS: '', GOCACHE: path.join(REPO, 'build', 'go-cache'),
};

function missingPython() {
  const r = spawnSync(PYTHON, ['-c', 'import fastapi, uvicorn, redis'], { encoding: 'utf8' });
  if (r.error) return `${PYTHON} not found (apt-get install python3-fastapi python3-uvicorn python3-redis)`;
  if (r.status !== 0) {
    return `${PYTHON} cannot import fastapi, uvicorn and redis (apt-get install python3-fastapi ` +
      `python3-uvicorn python3-redis): ${r.stderr.trim().split('\n').pop()}`;
  }
  return null;
}

function missingGo() {
  const hint = '(apt-get install golang-go golang-github-gin-gonic-gin-dev golang-github-gomodule-redigo-dev)';
  const r = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (r.error) return `go not found ${hint}`;
  for (const pkg of ['github.com/gin-gonic/gin', 'github.com/gomodule/redigo/redis']) {
    if (!existsSync(path.join(GO_ENV.GOPATH, 'src', pkg))) return `${pkg} is not in ${GO_ENV.GOPATH} ${hint}`;
  }
  return null;
}

/** Spawns an API server, waits for GET /users 200 → {url, proc, log(), exited}. */
async function spawnApi(file, args, env, port, startTimeoutMs = 20000) {
  const proc = registerChild(spawn(file, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
  const chunks = [];
  proc.stdout.on('data', (c) => chunks.push(c));
  proc.stderr.on('data', (c) => chunks.push(c));
  const log = () => Buffer.concat(chunks).toString('utf8');
  const exited = new Promise((resolve) => proc.once('close', (code, signal) => resolve({ code, signal })));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => {
    if (proc.exitCode !== null) throw new Error(`${file} exited (${proc.exitCode}):\n${log()}`);
    return (await fetch(`${url}/users`)).status === 200;
  }, startTimeoutMs, { what: `the Users API on ${url}`, intervalMs: 100 });
  return { url, proc, log, exited };
}

async function stopApi(api) {
  if (!api || api.proc.exitCode !== null) return;
  process.kill(api.proc.pid, 'SIGTERM');
  await withTimeout(api.exited, 5000, () => process.kill(api.proc.pid, 'SIGKILL'));
}

const IMPLEMENTATIONS = [
  {
    name: 'FastAPI (examples/users-api)',
    skip: missingPython(),
    hasDemo: true,
    async start(redisUrl, tmp) {
      const port = await freePort();
      return spawnApi(PYTHON, ['-m', 'uvicorn', 'app:app', '--app-dir', APP_DIR,
        '--host', '127.0.0.1', '--port', String(port), '--log-level', 'warning'],
      { USERS_DB: path.join(tmp, 'users.db'), REDIS_URL: redisUrl, HERALD_REDIS_PREFIX: 'herald:' }, port);
    },
  },
  {
    name: 'Gin (examples/users-api-go)',
    skip: missingGo(),
    async start(redisUrl, tmp) {
      const bin = path.join(tmp, 'users-api-go');
      const b = spawnSync('go', ['build', '-o', bin, '.'], {
        cwd: GO_DIR, env: { ...process.env, ...GO_ENV }, encoding: 'utf8', timeout: 300000,
      });
      assert.equal(b.status, 0, `go build failed: ${b.error || ''}${b.stderr}`);
      const port = await freePort();
      return spawnApi(bin, ['-addr', `127.0.0.1:${port}`],
        { REDIS_URL: redisUrl, HERALD_REDIS_PREFIX: 'herald:' }, port);
    },
  },
];

let redis;
let h;

before(async () => {
  if (IMPLEMENTATIONS.every((impl) => impl.skip)) return;
  redis = await startRedis();
  h = await startHerald({ args: ['--redis-url', redis.url, '--node-id', 'users-api-1'] });
  await waitRedisState(h, 'connected');
});

after(async () => {
  try {
    if (h) await stopAll(h);
  } finally {
    if (redis) await redis.kill();
  }
});

const notification = (data) => ({ type: 'notification', channel: 'users', data, seq: ANY_SEQ });

for (const impl of IMPLEMENTATIONS) {
  describe(impl.name, { skip: impl.skip || false }, () => {
    let api;
    let watcher;      // WebSocket client subscribed to `users`
    let tmp;

    /** method path [body] → {status, body (parsed JSON or null)} */
    async function call(method, p, body) {
      const res = await fetch(`${api.url}${p}`, {
        method,
        headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    }

    before(async () => {
      tmp = mkdtempSync(path.join(os.tmpdir(), 'herald-users-api-'));
      api = await impl.start(redis.url, tmp);
      watcher = await connectReady(h.url, '/ws/watcher');
      await subscribe(watcher, 'users');
    });

    after(async () => {
      await closeAll(watcher);
      await stopApi(api);
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    });

    test('POST, PUT, DELETE /users: exactly one notification each, in order, in the dashboard envelope',
      async () => {
        const created = await call('POST', '/users', { email: 'ada@example.com', name: 'Ada Lovelace' });
        assert.equal(created.status, 201, JSON.stringify(created.body));
        const user = created.body;
        assert.deepEqual(Object.keys(user), ['id', 'email', 'name', 'created_at', 'is_active']);
        assert.equal(user.name, 'Ada Lovelace');
        assert.equal(user.email, 'ada@example.com');
        assert.equal(user.is_active, true);
        assert.ok(!Number.isNaN(Date.parse(user.created_at)), `created_at ${user.created_at}`);

        const updated = await call('PUT', `/users/${user.id}`, { name: 'Ada King', is_active: false });
        assert.equal(updated.status, 200, JSON.stringify(updated.body));
        assert.deepEqual(updated.body, { ...user, name: 'Ada King', is_active: false });

        const deleted = await call('DELETE', `/users/${user.id}`);
        assert.equal(deleted.status, 204);
        assert.equal((await call('GET', `/users/${user.id}`)).status, 404);

        // What the API answered is what the subscribers get, one event per change.
        const f1 = await expectFrame(watcher, notification({ event: 'user.created', user }), 'user.created');
        const f2 = await expectFrame(watcher, notification({ event: 'user.updated', user: updated.body }), 'user.updated');
        const f3 = await expectFrame(watcher, notification({ event: 'user.deleted', user: { id: user.id } }), 'user.deleted');
        assert.ok(seqBefore(f1.seq, f2.seq) && seqBefore(f2.seq, f3.seq), `seq order ${f1.seq} ${f2.seq} ${f3.seq}`);
        await watcher.expectNone(500);
      });

    test('refused requests (4xx) change nothing and publish nothing', async () => {
      const base = await call('POST', '/users', { email: 'grace@example.com', name: 'Grace Hopper' });
      assert.equal(base.status, 201);
      await expectFrame(watcher, notification({ event: 'user.created', user: base.body }), 'the user the refusals are about');

      const refusals = [
        ['POST', '/users', { email: 'not-an-email', name: 'X' }, 422],
        ['POST', '/users', { name: 'no email' }, 422],
        ['POST', '/users', '{"email": "broken json', 422],
        ['POST', '/users', { email: 'grace@example.com', name: 'Grace again' }, 409],
        ['PUT', `/users/${base.body.id}`, {}, 422],
        ['PUT', `/users/${base.body.id}`, { name: '' }, 422],
        ['PUT', '/users/999999', { name: 'Nobody' }, 404],
        ['DELETE', '/users/999999', undefined, 404],
        ['GET', '/users/999999', undefined, 404],
        ['GET', '/users/not-a-number', undefined, 422],
      ];
      for (const [method, p, body, status] of refusals) {
        const r = await call(method, p, body);
        assert.equal(r.status, status, `${method} ${p} ${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
      }
      await watcher.expectNone(500);

      const list = await call('GET', '/users');
      assert.equal(list.status, 200);
      assert.deepEqual(list.body, [base.body], 'the refusals changed the users');
    });

    // demo.sh runs the FastAPI app
    if (impl.hasDemo) test('make demo (examples/users-api/demo.sh) drives its own API: six events reach the subscribers',
      async () => {
        const demo = registerChild(spawn(path.join(APP_DIR, 'demo.sh'), [], {
          env: {
            ...process.env,
            USERS_API_PYTHON: PYTHON,
            REDIS_URL: redis.url,
            HERALD_REDIS_PREFIX: 'herald:',
            HERALD_HTTP: h.http,
            DEMO_PAUSE: '0',
            DEMO_EXIT: '1',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        }));
        const chunks = [];
        demo.stdout.on('data', (c) => chunks.push(c));
        demo.stderr.on('data', (c) => chunks.push(c));
        const exit = await withTimeout(new Promise((resolve) => demo.once('close', (code) => resolve(code))), 30000,
          () => { process.kill(demo.pid, 'SIGKILL'); return 'timeout'; });
        const out = Buffer.concat(chunks).toString('utf8');
        assert.equal(exit, 0, `demo.sh exited ${exit}:\n${out}`);
        assert.match(out, /\$ curl -X POST http:\/\/127\.0\.0\.1:\d+\/users /);
        assert.doesNotMatch(out, /no herald answers/);

        const got = [];
        for (let i = 0; i < 6; i++) {
          const f = await watcher.nextJson(5000);
          assert.equal(f.type, 'notification', JSON.stringify(f));
          got.push(`${f.data.event} ${f.data.user.id}`);
        }
        assert.deepEqual(got, ['user.created 1', 'user.created 2', 'user.created 3',
          'user.updated 2', 'user.updated 1', 'user.deleted 3']);
        await watcher.expectNone(300);
      });
  });
}
