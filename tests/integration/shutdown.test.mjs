// docs/protocol.md "Close codes", SIGTERM/SIGINT: stop accepting, close every session with 1001,
// exit 0 within a bounded time.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startHerald, connectReady, upgradeRaw, rawConnect, httpGet } from './harness.mjs';

async function drainTest(t, signal) {
  const h = await startHerald();
  t.after(() => h.stop());
  const a = await connectReady(h.url, '/ws/alice');
  const b = await connectReady(h.url, '/ws/bob');
  const b2 = await connectReady(h.url, '/ws/bob');
  const closes = Promise.all([a.closed(8000), b.closed(8000), b2.closed(8000)]);
  const t0 = Date.now();
  const stopped = h.stop({ signal, timeoutMs: 10000 }); // throws on exit code != 0 or sanitizer output

  const infos = await closes;
  for (const info of infos) {
    assert.equal(info.code, 1001, `close ${JSON.stringify(info)}`);
    assert.equal(info.reason, 'server shutting down');
  }
  // New upgrades after the signal are refused (503 while draining) or fail.
  const late = await upgradeRaw(h.port, '/ws/late');
  assert.notEqual(late.status, 101, 'an upgrade after SIGTERM was accepted');
  if (late.status !== null) {
    assert.equal(late.status, 503, `late upgrade: ${late.status} ${late.body}`);
    assert.deepEqual(late.json, { error: 'server is shutting down' });
  }
  const res = await stopped;
  const elapsed = Date.now() - t0;
  assert.equal(res.code, 0);
  assert.ok(elapsed < 5000, `herald took ${elapsed} ms to exit after ${signal}`);
}

test('SIGTERM closes every session with 1001 and exits 0 promptly', async (t) => {
  await drainTest(t, 'SIGTERM');
});

test('SIGINT does the same', async (t) => {
  await drainTest(t, 'SIGINT');
});

test('SIGTERM with no session exits 0 quickly', async (t) => {
  const h = await startHerald();
  t.after(() => h.stop());
  const t0 = Date.now();
  const res = await h.stop();
  assert.equal(res.code, 0);
  assert.ok(Date.now() - t0 < 3000, `exit took ${Date.now() - t0} ms`);
});

test('a session that never reads does not hold up the shutdown', async (t) => {
  const h = await startHerald();
  t.after(() => h.stop());
  const raw = await rawConnect(h.port, '/ws/stuck');
  await raw.nextDataFrame();
  raw.pause();
  const good = await connectReady(h.url, '/ws/good');
  const t0 = Date.now();
  const stopped = h.stop({ signal: 'SIGTERM', timeoutMs: 10000 });
  assert.equal((await good.closed(8000)).code, 1001);
  await stopped;
  assert.ok(Date.now() - t0 < 6000, `exit took ${Date.now() - t0} ms`);
  raw.destroy();
});

test('during the drain, /health answers 503 or the port is closed', async (t) => {
  const h = await startHerald();
  t.after(() => h.stop());
  const c = await connectReady(h.url, '/ws/alice');
  const closed = c.closed(8000);
  const stopped = h.stop();
  await closed;
  const res = await httpGet(`${h.http}/health`).then((r) => r, (e) => ({ status: null, error: e }));
  assert.notEqual(res.status, 200, '/health answered 200 while draining');
  if (res.status !== null) {
    assert.equal(res.status, 503);
    assert.equal(res.json.status, 'draining', res.body);
  }
  await stopped;
});
