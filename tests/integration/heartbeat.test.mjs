// docs/protocol.md "Heartbeat": with --heartbeat 1,
// idle sessions are pinged every second; a session that answers stays, one
// from which nothing arrives for 2 s is dropped.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHerald, connectReady, rawConnect, httpGet, waitFor, sleep } from './harness.mjs';

let h;

before(async () => {
  h = await startHerald({ args: ['--heartbeat', '1'] });
});
after(async () => {
  if (h) await h.stop();
});

test('welcome announces the configured heartbeat', async () => {
  const c = await connectReady(h.url, '/ws/alice');
  assert.equal(c.welcome.heartbeat, 1);
  await c.close();
});

test('heartbeat: a client that answers pings stays connected; one that does not is dropped', async () => {
  // Both run at once so the whole test takes ~4 s.
  const good = await connectReady(h.url, '/ws/good'); // ws answers pings automatically
  const raw = await rawConnect(h.port, '/ws/silent');
  const t0 = Date.now();
  const welcome = await raw.nextDataFrame();
  assert.deepEqual(JSON.parse(welcome.payload.toString()).client_id, 'silent');

  // The silent client gets pinged and is dropped between 2 s (twice the
  // heartbeat without input) and ~4 s.
  const rawClosed = raw.closed(6000);
  await rawClosed;
  const dropMs = raw.closedAt - t0;
  assert.ok(raw.pings >= 1, `silent client received no ping before being dropped (after ${dropMs} ms)`);
  assert.ok(dropMs >= 1900, `silent client dropped too early: ${dropMs} ms`);
  assert.ok(dropMs <= 4500, `silent client dropped too late: ${dropMs} ms`);

  // The good client has been idle (apart from pongs) for as long, and stays.
  await good.expectNone(Math.max(0, 3500 - (Date.now() - t0)));
  assert.ok(good.pings >= 2, `good client received ${good.pings} pings in ${Date.now() - t0} ms`);
  assert.equal(good.closeInfo, null);
  await good.send('still here');
  assert.equal(await good.next(), 'Echo: still here');

  await waitFor(async () => (await httpGet(`${h.http}/health`)).json.connections === 1, 3000,
    { what: 'connections 1 after the silent client was dropped' });
  await good.close();
});

test('a client that keeps sending messages but never pongs is not dropped', async () => {
  const raw = await rawConnect(h.port, '/ws/chatty');
  await raw.nextDataFrame(); // welcome
  // send a message every 400 ms for 3.2 s; read the replies
  const t0 = Date.now();
  for (let i = 0; i < 8; i++) {
    assert.equal(raw.socketClosed, false, `dropped after ${raw.closedAt - t0} ms although it sent a message every 400 ms`);
    raw.sendText(`m${i}`);
    const f = await raw.nextDataFrame();
    assert.equal(f.payload.toString(), `Echo: m${i}`);
    await sleep(400); // pacing the sender, not waiting for a condition
  }
  assert.equal(raw.socketClosed, false, 'a session that sends messages was dropped');
  raw.destroy();
});
