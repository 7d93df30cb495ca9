// docs/protocol.md "Redis notifications": two herald nodes on one Redis act as one server. Client
// broadcast, send and publish from node A reach the right sessions on A and
// on B exactly once (they travel through Redis and are delivered on
// receipt), and one publisher's messages arrive in order.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHerald, connectReady, closeAll } from './harness.mjs';
import {
  startRedis, waitRedisState, stopAll, subscribe, expectFrame, expectNoneAll,
  seqBefore, ANY_SEQ, noRateLimitArgs,
} from './redis-harness.mjs';

let redis;
let A;
let B;

before(async () => {
  redis = await startRedis();
  const extra = await noRateLimitArgs();
  [A, B] = await Promise.all([
    startHerald({ args: ['--redis-url', redis.url, '--node-id', 'node-a', ...extra] }),
    startHerald({ args: ['--redis-url', redis.url, '--node-id', 'node-b', ...extra] }),
  ]);
  await Promise.all([waitRedisState(A, 'connected'), waitRedisState(B, 'connected')]);
  // every worker of both nodes holds its PSUBSCRIBE herald:* (a channel
  // no session subscribed to)
  const workers = A.workers + B.workers;
  assert.equal(await redis.cli('PUBLISH', 'herald:probe', 'x'), String(workers));
});

after(async () => {
  try {
    await stopAll(A, B);
  } finally {
    if (redis) await redis.kill();
  }
});

/** alice on A sends; bob has one session on each node; subscribers of room on both. */
async function cluster() {
  const c = {
    alice: await connectReady(A.url, '/ws/alice'),
    bobA: await connectReady(A.url, '/ws/bob'),
    roomA: await connectReady(A.url, '/ws/carol'),
    bobB: await connectReady(B.url, '/ws/bob'),
    roomB: await connectReady(B.url, '/ws/dave'),
    eveB: await connectReady(B.url, '/ws/eve'),
  };
  assert.equal(c.alice.welcome.node, 'node-a');
  assert.equal(c.bobB.welcome.node, 'node-b');
  await subscribe(c.roomA, 'room');
  await subscribe(c.roomB, 'room');
  c.all = [c.alice, c.bobA, c.roomA, c.bobB, c.roomB, c.eveB];
  return c;
}

test('broadcast from a client on A reaches every session on A and B exactly once', async () => {
  const c = await cluster();
  await c.alice.sendJson({ type: 'broadcast', data: { hello: 'everyone' } });
  const names = ['alice', 'bobA', 'roomA', 'bobB', 'roomB', 'eveB'];
  for (const n of names) {
    await expectFrame(c[n], { type: 'broadcast', from: 'alice', data: { hello: 'everyone' } }, n);
  }
  await expectNoneAll(c.all, 400);

  // with an id: the sender gets one ack and one broadcast, in either order
  await c.alice.sendJson({ type: 'broadcast', data: 2, id: 7 });
  const two = [await c.alice.nextJson(), await c.alice.nextJson()];
  const ack = two.find((f) => f.type === 'ack');
  const bc = two.find((f) => f.type === 'broadcast');
  assert.ok(ack && bc, `sender got ${JSON.stringify(two)}`);
  assert.deepEqual(ack, { type: 'ack', id: 7 });
  assert.deepEqual(bc, { type: 'broadcast', from: 'alice', data: 2 });
  for (const n of names.slice(1)) await expectFrame(c[n], { type: 'broadcast', from: 'alice', data: 2 }, n);
  await expectNoneAll(c.all, 400);
  await closeAll(c.all);
});

test('send from A reaches every session of the target on A and B exactly once', async () => {
  const c = await cluster();
  await c.alice.sendJson({ type: 'send', to: 'bob', data: 'hi bob' });
  await expectFrame(c.bobA, { type: 'message', from: 'alice', data: 'hi bob' }, 'bob on A');
  await expectFrame(c.bobB, { type: 'message', from: 'alice', data: 'hi bob' }, 'bob on B');
  await expectNoneAll(c.all, 400);

  // to a client only on B
  await c.alice.sendJson({ type: 'send', to: 'eve', data: [1, 2] });
  await expectFrame(c.eveB, { type: 'message', from: 'alice', data: [1, 2] }, 'eve on B');
  await expectNoneAll(c.all, 400);

  // from B back to alice on A
  await c.eveB.sendJson({ type: 'send', to: 'alice', data: null });
  await expectFrame(c.alice, { type: 'message', from: 'eve', data: null }, 'alice on A');
  await expectNoneAll(c.all, 400);
  await closeAll(c.all);
});

test('publish from A reaches the channel subscribers on A and B exactly once', async () => {
  const c = await cluster();
  await c.alice.sendJson({ type: 'publish', channel: 'room', data: { n: 1 } });
  const fa = await expectFrame(c.roomA, { type: 'message', channel: 'room', from: 'alice', data: { n: 1 }, seq: ANY_SEQ }, 'subscriber on A');
  const fb = await expectFrame(c.roomB, { type: 'message', channel: 'room', from: 'alice', data: { n: 1 }, seq: ANY_SEQ }, 'subscriber on B');
  assert.ok(fa.seq && fb.seq);
  assert.equal(fa.seq, fb.seq, 'one message, one seq on every node (its stream entry id)');
  await expectNoneAll(c.all, 400);

  // a channel with no subscriber anywhere: nobody
  await c.alice.sendJson({ type: 'publish', channel: 'empty', data: 1 });
  await expectNoneAll(c.all, 300);
  await closeAll(c.all);
});

test('1,000 publishes from one client on A arrive in order, exactly once, on A and on B', async () => {
  const N = 1000;
  const sender = await connectReady(A.url, '/ws/pub');
  const subA = await connectReady(A.url, '/ws/sub-a');
  const subB = await connectReady(B.url, '/ws/sub-b');
  await subscribe(subA, 'firehose');
  await subscribe(subB, 'firehose');

  const sends = [];
  for (let i = 0; i < N; i++) sends.push(sender.sendJson({ type: 'publish', channel: 'firehose', data: i }));
  await Promise.all(sends);

  for (const [name, sub] of [['subscriber on B', subB], ['subscriber on A', subA]]) {
    let prev = null;
    for (let i = 0; i < N; i++) {
      const f = await sub.nextJson(5000).catch((e) => {
        throw new Error(`${name}: message ${i} of ${N} missing: ${e.message}`);
      });
      assertInOrder(f, i, name);
      if (prev !== null) assert.ok(seqBefore(prev, f.seq), `${name}: seq ${f.seq} after ${prev}`);
      prev = f.seq;
    }
  }
  await expectNoneAll([sender, subA, subB], 400);
  await closeAll(sender, subA, subB);
});

function assertInOrder(f, i, name) {
  if (f.type !== 'message' || f.channel !== 'firehose' || f.from !== 'pub' || f.data !== i) {
    assert.fail(`${name}: message ${i}: got ${JSON.stringify(f)}, expected ` +
      `{"type":"message","channel":"firehose","from":"pub","data":${i},"seq":...}`);
  }
  assert.deepEqual(Object.keys(f), ['type', 'channel', 'from', 'data', 'seq'], `${name}: keys of ${JSON.stringify(f)}`);
}

test('1,000 broadcasts from one client on B arrive in order, exactly once, everywhere', async () => {
  const N = 1000;
  const sender = await connectReady(B.url, '/ws/shout');
  const onA = await connectReady(A.url, '/ws/listen-a');
  const onB = await connectReady(B.url, '/ws/listen-b');
  const sends = [];
  for (let i = 0; i < N; i++) sends.push(sender.sendJson({ type: 'broadcast', data: i }));
  await Promise.all(sends);
  for (const [name, cl] of [['listener on A', onA], ['listener on B', onB], ['sender on B', sender]]) {
    for (let i = 0; i < N; i++) {
      const f = await cl.nextJson(5000).catch((e) => {
        throw new Error(`${name}: broadcast ${i} of ${N} missing: ${e.message}`);
      });
      if (f.type !== 'broadcast' || f.from !== 'shout' || f.data !== i || Object.keys(f).length !== 3) {
        assert.fail(`${name}: broadcast ${i}: got ${JSON.stringify(f)}, expected {"type":"broadcast","from":"shout","data":${i}}`);
      }
    }
  }
  await expectNoneAll([sender, onA, onB], 400);
  await closeAll(sender, onA, onB);
});
