// docs/protocol.md "Errors": nothing herald acks is then dropped.
// - A client's broadcast travels through Redis in an envelope
//   {"from":…,"data":…} that every node checks against --max-message-size
//   when it comes back. With a 64-character client id, a broadcast near
//   the limit used to be acked and then dropped on every node; now the
//   envelope is checked before the ack and refused with "too_big" (with
//   or without Redis).
// - PUBLISHes queued in hiredis when the command link dies used to vanish;
//   now each is counted (herald_redis_publishes_unconfirmed_total), logged,
//   and its sender gets {"type":"error","code":"unconfirmed","id":I}.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHerald, connectReady, closeAll, httpGet, parseMetrics, waitFor } from './harness.mjs';
import { startRedis, waitRedisState, stopAll, noRateLimitArgs } from './redis-harness.mjs';

const MAX = 1024;
const LONG_ID = 'L'.repeat(64);
let redis;
let h;       // with Redis
let hLocal;  // without

before(async () => {
  redis = await startRedis();
  const extra = await noRateLimitArgs();
  [h, hLocal] = await Promise.all([
    startHerald({ args: ['--redis-url', redis.url, '--max-message-size', String(MAX), ...extra] }),
    startHerald({ args: ['--max-message-size', String(MAX), ...extra] }),
  ]);
  await waitRedisState(h, 'connected');
});
after(async () => {
  try {
    await stopAll(h, hLocal);
  } finally {
    if (redis) await redis.kill();
  }
});

/** The largest broadcast of a string that fits max in the client's own framing. */
function nearLimit(id) {
  const msg = (data) => JSON.stringify({ type: 'broadcast', data, id });
  let data = 'd'.repeat(MAX);
  while (Buffer.byteLength(msg(data)) > MAX) data = data.slice(1);
  return { text: msg(data), data };
}

for (const [name, node] of [['through Redis', () => h], ['without Redis', () => hLocal]]) {
  test(`${name}: a broadcast whose envelope is over --max-message-size is refused before its ack (too_big), nothing is delivered`, async () => {
    const sender = await connectReady(node().url, `/ws/${LONG_ID}`);
    const other = await connectReady(node().url, '/ws/other');
    const { text } = nearLimit('big');
    assert.ok(Buffer.byteLength(text) <= MAX);
    await sender.send(text);
    const reply = await sender.nextJson();
    assert.equal(reply.type, 'error', `expected a refusal, got ${JSON.stringify(reply).slice(0, 200)}`);
    assert.equal(reply.code, 'too_big');
    assert.equal(reply.id, 'big');
    await other.expectNone(500);
    await sender.expectNone(100);
    // one that fits is acked and delivered to both
    await sender.sendJson({ type: 'broadcast', data: 'small', id: 's' });
    assert.deepEqual(await sender.nextJson(), { type: 'ack', id: 's' });
    assert.deepEqual(await other.nextJson(), { type: 'broadcast', from: LONG_ID, data: 'small' });
    await closeAll(sender, other);
  });
}

test('PUBLISHes lost with the command link are counted, logged and their senders told (unconfirmed, with the id)', { timeout: 30000 }, async () => {
  const sender = await connectReady(h.url, '/ws/sender');
  const m0 = parseMetrics((await httpGet(`${h.http}/metrics`)).body).values;
  redis.pause(); // SIGSTOP: the links stay open, nothing is answered
  try {
    for (let i = 0; i < 5; i++) await sender.sendJson({ type: 'broadcast', data: i, id: `b${i}` });
    const acks = await sender.nextJsonN(5);
    assert.deepEqual(acks.map((m) => m.id), ['b0', 'b1', 'b2', 'b3', 'b4']);
    // the keepalive deadline resets both links; hiredis runs the PUBLISHes'
    // callbacks without a reply
    const got = [];
    await waitFor(async () => {
      while (sender.queue.length) got.push(JSON.parse(sender.queue.shift()));
      return got.filter((m) => m.type === 'error').length >= 5;
    }, 10000, { what: `five unconfirmed errors (${JSON.stringify(got)})` });
    const errors = got.filter((m) => m.type === 'error');
    assert.deepEqual(errors.map((m) => [m.code, m.id]), [0, 1, 2, 3, 4].map((i) => ['unconfirmed', `b${i}`]));
    assert.ok(got.some((m) => m.type === 'redis' && m.state === 'disconnected'));
    const m1 = parseMetrics((await httpGet(`${h.http}/metrics`)).body).values;
    assert.equal(m1.herald_redis_publishes_unconfirmed_total - (m0.herald_redis_publishes_unconfirmed_total || 0), 5);
    await waitFor(() => /5 PUBLISHes lost with the command link/.test(h.log()), 3000, { what: 'the log line' });
  } finally {
    redis.resume();
  }
  await waitRedisState(h, 'connected', 10000);
  await closeAll(sender);
});
