// README.md "Flags": --help, bad values (exit 2, one line naming the
// flag), HERALD_* environment variables, flags winning over them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startHerald, runHerald, freePort, connectReady, httpGet, WEB_ROOT } from './harness.mjs';

// Every flag herald implements.
const FLAGS = [
  '--host', '--port', '--web-root', '--redis-url', '--redis-prefix', '--node-id',
  '--tls-cert', '--tls-key', '--token-secret', '--api-key', '--allowed-origins', '--max-message-size',
  '--max-queue', '--max-connections', '--read-buffer', '--rate-limit', '--heartbeat',
  '--log-level', '--log-format', '--workers',
];

// Harmless base so that a wrongly accepted value cannot bind a real port.
const SAFE = ['--host', '127.0.0.1', '--redis-url', 'none', '--web-root', 'none'];

test('--help exits 0 and lists every flag with its defaults', async () => {
  const r = await runHerald(['--help']);
  assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
  const missing = FLAGS.filter((f) => !new RegExp(`(^|\\s)${f}(\\s|=|$)`, 'm').test(r.stdout));
  assert.deepEqual(missing, [], `--help does not list ${missing.join(' ')}`);
  for (const d of ['8080', '65536', '1048576', '100000', 'herald:', 'redis://127.0.0.1:6379', '0.0.0.0']) {
    assert.ok(r.stdout.includes(d), `--help does not show the default ${d}`);
  }
  assert.ok(/HERALD_/.test(r.stdout), '--help does not mention the HERALD_* environment variables');
});

const badValues = [
  [['--port', '70000'], '--port'],
  [['--port', 'abc'], '--port'],
  [['--port', '-1'], '--port'],
  [['--port', '80x'], '--port'],
  [['--port'], '--port'],
  [['--max-message-size', '0'], '--max-message-size'],
  [['--max-message-size', 'big'], '--max-message-size'],
  [['--max-queue', '-5'], '--max-queue'],
  [['--read-buffer', '127'], '--read-buffer'],
  [['--heartbeat', 'x'], '--heartbeat'],
  [['--rate-limit', '1e9x'], '--rate-limit'],
  [['--log-level', 'loud'], '--log-level'],
  [['--log-format', 'xml'], '--log-format'],
  [['--token-secret', 'short'], '--token-secret'],
  [['--nope'], '--nope'],
  [['--workers', '0'], '--workers'],
  [['--workers', 'two'], '--workers'],
  [['--workers', '65'], '--workers'],
  [['--workers', '-1'], '--workers'],
];

for (const [args, flag] of badValues) {
  test(`bad value ${args.join(' ')} exits 2 with one line naming ${flag}`, async () => {
    const r = await runHerald([...SAFE, ...args]);
    assert.equal(r.code, 2, `exit ${r.code}, stderr: ${r.stderr}`);
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
    assert.equal(lines.length, 1, `expected one line on stderr, got:\n${r.stderr}`);
    assert.ok(lines[0].includes(flag), `stderr does not name ${flag}: ${lines[0]}`);
  });
}

test('a bad value in the environment exits 2 naming the variable or flag', async () => {
  const r = await runHerald(SAFE, { env: { HERALD_PORT: 'abc' } });
  assert.equal(r.code, 2, `exit ${r.code}, stderr: ${r.stderr}`);
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /HERALD_PORT|--port/);
});

test('HERALD_* environment variables configure herald', async (t) => {
  const port = await freePort();
  const h = await startHerald({
    omit: ['--port'],
    port,
    env: { HERALD_PORT: String(port), HERALD_HEARTBEAT: '7', HERALD_NODE_ID: 'env-node' },
  });
  t.after(() => h.stop());
  const c = await connectReady(h.url, '/ws/alice');
  assert.equal(c.welcome.heartbeat, 7);
  assert.equal(c.welcome.node, 'env-node');
  await c.close();
  await h.stop();
});

test('flags win over the environment', async (t) => {
  const envPort = await freePort();
  const flagPort = await freePort();
  const h = await startHerald({
    args: ['--port', String(flagPort), '--node-id', 'flag-node'],
    env: { HERALD_PORT: String(envPort), HERALD_NODE_ID: 'env-node', HERALD_WEB_ROOT: '/nonexistent' },
  });
  t.after(() => h.stop());
  assert.equal(h.port, flagPort);
  const c = await connectReady(h.url, '/ws/alice');
  assert.equal(c.welcome.node, 'flag-node');
  await c.close();
  const onEnvPort = await httpGet(`http://127.0.0.1:${envPort}/health`).then(
    (r) => `answered ${r.status}`,
    (e) => e.code,
  );
  assert.equal(onEnvPort, 'ECONNREFUSED', 'herald also listens on the HERALD_PORT port');
  // --web-root given by the harness beat HERALD_WEB_ROOT
  assert.ok(h.argv.includes(WEB_ROOT));
  assert.equal((await httpGet(`${h.http}/`)).status, 200);
  await h.stop();
});

test('--web-root none disables the dashboard', async (t) => {
  const h = await startHerald({ args: ['--web-root', 'none'] });
  t.after(() => h.stop());
  assert.equal((await httpGet(`${h.http}/`)).status, 404);
  assert.equal((await httpGet(`${h.http}/health`)).status, 200);
  await h.stop();
});

