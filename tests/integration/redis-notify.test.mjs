// docs/protocol.md "Redis notifications", on one real redis-server: every row of
// the table with exact frames, payloads that are not JSON, invalid channel
// names after the prefix, --redis-prefix, seq order, and malformed messages
// on herald's internal "$" channels (docs/protocol.md "Redis notifications").

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHerald, connectReady, closeAll, waitFor } from './harness.mjs';
import {
  startRedis, RespClient, waitRedisState, stats, stopAll, subscribe,
  expectFrame, expectNoneAll, seqBefore, ANY_SEQ, noRateLimitArgs,
} from './redis-harness.mjs';

let redis;
let h;        // default prefix herald:
let hApp;     // --redis-prefix app:
let pub;      // RESP connection for PUBLISH

before(async () => {
  redis = await startRedis();
  const extra = await noRateLimitArgs();
  [h, hApp] = await Promise.all([
    startHerald({ args: ['--redis-url', redis.url, '--node-id', 'notify-1', ...extra] }),
    startHerald({ args: ['--redis-url', redis.url, '--node-id', 'notify-app', '--redis-prefix', 'app:', ...extra] }),
  ]);
  await Promise.all([waitRedisState(h, 'connected'), waitRedisState(hApp, 'connected')]);
  pub = await RespClient.connect(redis.port);
});

after(async () => {
  if (pub) pub.close();
  try {
    await stopAll(h, hApp);
  } finally {
    if (redis) await redis.kill();
  }
});

const open = (p, node = h) => connectReady(node.url, p);

/** PUBLISH and check that exactly `receivers` subscribers (every worker of
 * the herald nodes it is for) got it from Redis. */
async function publish(channel, payload, receivers = h.workers) {
  const n = await pub.publish(channel, payload);
  assert.equal(n, receivers, `PUBLISH ${channel}: Redis delivered it to ${n} subscriber(s), expected ${receivers}`);
}

const USER_EVENT = { event: 'user.updated', user: { id: 42, name: 'Ada' } };

test('PUBLISH herald:<channel> reaches the subscribers of that channel only', async () => {
  const alice = await open('/ws/alice');
  const alice2 = await open('/ws/alice'); // same client, not subscribed
  const carol = await open('/ws/carol?channels=users');
  const dave = await open('/ws/dave');
  await subscribe(alice, 'users');
  await subscribe(dave, 'orders');

  await publish('herald:users', JSON.stringify(USER_EVENT));
  const expected = { type: 'notification', channel: 'users', data: USER_EVENT };
  const fa = await expectFrame(alice, expected, 'alice (subscribed)');
  const fc = await expectFrame(carol, expected, 'carol (?channels=users)');
  assert.equal(fa.seq, fc.seq, 'two subscribers on one node saw different seq for one message');
  await expectNoneAll([alice, alice2, carol, dave]);

  await publish('herald:orders', '{"order":7}');
  await expectFrame(dave, { type: 'notification', channel: 'orders', data: { order: 7 } }, 'dave');
  await expectNoneAll([alice, alice2, carol, dave]);

  // a channel nobody subscribed to: delivered to nobody
  await publish('herald:nobody-listens', '1');
  await expectNoneAll([alice, alice2, carol, dave]);

  // after unsubscribe, nothing more
  await alice.sendJson({ type: 'unsubscribe', channel: 'users' });
  await expectFrame(alice, { type: 'unsubscribed', channel: 'users' }, 'unsubscribe');
  await publish('herald:users', '"x"');
  await expectFrame(carol, { type: 'notification', channel: 'users', data: 'x' }, 'carol still subscribed');
  await expectNoneAll([alice, alice2, carol, dave]);
  await closeAll(alice, alice2, carol, dave);
});

test('PUBLISH herald:broadcast reaches every session', async () => {
  const a = await open('/ws/alice');
  const b1 = await open('/ws/bob');
  const b2 = await open('/ws/bob');
  const c = await open('/ws/carol?channels=users');
  await publish('herald:broadcast', '{"maintenance":"in 5 minutes"}');
  for (const [name, cl] of [['alice', a], ['bob#1', b1], ['bob#2', b2], ['carol', c]]) {
    await expectFrame(cl, { type: 'notification', channel: 'broadcast', data: { maintenance: 'in 5 minutes' } }, name);
  }
  await expectNoneAll([a, b1, b2, c]);
  await closeAll(a, b1, b2, c);
});

test('PUBLISH herald:client:<id> reaches every session of that client and no one else', async () => {
  const a = await open('/ws/alice');
  const b1 = await open('/ws/bob');
  const b2 = await open('/ws/bob');
  const bobby = await open('/ws/bobby'); // prefix of nothing, but close to "bob"
  await publish('herald:client:bob', '{"you":"have mail"}');
  for (const [name, cl] of [['bob#1', b1], ['bob#2', b2]]) {
    await expectFrame(cl, { type: 'notification', channel: 'client:bob', data: { you: 'have mail' } }, name);
  }
  await expectNoneAll([a, b1, b2, bobby]);

  // a client that is not connected: nobody gets it
  await publish('herald:client:zoe', '1');
  await expectNoneAll([a, b1, b2, bobby]);
  await closeAll(a, b1, b2, bobby);
});

test('a payload that is not JSON arrives as a string; JSON scalars arrive parsed', async () => {
  const c = await open('/ws/carol?channels=users');
  const cases = [
    ['hello world', 'hello world'],
    ['{not json', '{not json'],
    ['', ''],
    ['héllo ✓ 日本', 'héllo ✓ 日本'],
    ['42', 42],
    ['"quoted"', 'quoted'],
    ['[1,2,{"a":null}]', [1, 2, { a: null }]],
    ['true', true],
    ['null', null],
  ];
  for (const [payload, data] of cases) {
    await publish('herald:users', payload);
    await expectFrame(c, { type: 'notification', channel: 'users', data }, `payload ${JSON.stringify(payload)}`);
  }
  await c.expectNone();
  await c.close();
});

test('FCALL herald_publish: the seq it returns, distinct and increasing; a plain PUBLISH has none', async () => {
  const c = await open('/ws/carol?channels=users');
  const seqs = [];
  const returned = [];
  for (let i = 0; i < 20; i++) {
    returned.push(String(await pub.command('FCALL', 'herald_publish', '1', 'herald:stream:users', String(i))));
  }
  for (let i = 0; i < 20; i++) {
    const f = await expectFrame(c, { type: 'notification', channel: 'users', data: i, seq: ANY_SEQ }, `message ${i}`);
    seqs.push(f.seq);
  }
  assert.deepEqual(seqs, returned, 'each message carries the seq FCALL returned');
  await publish('herald:users', '"plain"');
  await expectFrame(c, { type: 'notification', channel: 'users', data: 'plain' }, 'plain PUBLISH: no seq');
  for (let i = 1; i < seqs.length; i++) {
    assert.ok(seqBefore(seqs[i - 1], seqs[i]), `seq not increasing: ${seqs[i - 1]} then ${seqs[i]}`);
  }
  assert.equal(new Set(seqs).size, seqs.length, 'seq repeated');
  await c.expectNone();
  await c.close();
});

test('invalid channel names after the prefix are dropped and counted', async () => {
  // "client:" is a valid channel *name*, so a session can subscribe to it;
  // but herald:client: has an empty client id and must reach no one.
  const all = await open('/ws/alice?channels=users,client:,x');
  const bob = await open('/ws/bob');
  const before = (await stats(h)).drops;
  const bad = [
    'herald:bad channel',
    'herald:',
    'herald:client:',
    'herald:client:bad id',
    'herald:client:' + 'b'.repeat(65),
    'herald:' + 'c'.repeat(129),
    'herald:users\n',
    'herald:caf\u00e9',
  ];
  for (const ch of bad) await publish(ch, '{"should":"drop"}');
  await expectNoneAll([all, bob]);
  // docs/protocol.md: dropped, logged and counted in herald_dropped_frames_total
  let delta = 0;
  const unlogged = () => bad.filter((ch) => !h.log().includes(`dropped message on invalid channel '${ch.slice(7, 7 + 64)}'`));
  await waitFor(async () => (delta = (await stats(h)).drops - before) >= bad.length && unlogged().length === 0, 2000,
    { what: 'drops counter and log' }).catch(() => {});
  const notLogged = unlogged();
  assert.deepEqual(notLogged, [], `PUBLISH on these channels was not logged as dropped (drops grew by ${delta}, expected ${bad.length})`);
  assert.equal(delta, bad.length, 'drops counter growth');

  // a following good message still flows
  await publish('herald:users', '"ok"');
  await expectFrame(all, { type: 'notification', channel: 'users', data: 'ok' }, 'good message after bad ones');
  await expectNoneAll([all, bob]);
  await closeAll(all, bob);
});

test('a payload over --max-message-size or not UTF-8 is dropped', async () => {
  const c = await open('/ws/carol?channels=users');
  await publish('herald:users', 'x'.repeat(65537));
  await publish('herald:users', Buffer.from([0x22, 0xff, 0xfe, 0x22]));
  await publish('herald:users', Buffer.from([0x61, 0xc3]));
  await c.expectNone();
  await publish('herald:users', 'y'.repeat(1000));
  await expectFrame(c, { type: 'notification', channel: 'users', data: 'y'.repeat(1000) }, 'good message after bad ones');
  await c.expectNone();
  await c.close();
});

test('--redis-prefix app: listens on app:* and ignores herald:*', async () => {
  const onApp = await open('/ws/alice?channels=users', hApp);
  const onDefault = await open('/ws/alice?channels=users', h);

  await publish('app:users', '{"via":"app"}');
  await expectFrame(onApp, { type: 'notification', channel: 'users', data: { via: 'app' } }, 'app: node');
  await expectNoneAll([onApp, onDefault]);

  await publish('herald:users', '{"via":"herald"}');
  await expectFrame(onDefault, { type: 'notification', channel: 'users', data: { via: 'herald' } }, 'herald: node');
  await expectNoneAll([onApp, onDefault]);

  await publish('app:broadcast', '1');
  await expectFrame(onApp, { type: 'notification', channel: 'broadcast', data: 1 }, 'app:broadcast');
  await publish('app:client:alice', '2');
  await expectFrame(onApp, { type: 'notification', channel: 'client:alice', data: 2 }, 'app:client:alice');
  await expectNoneAll([onApp, onDefault]);

  // a client broadcast on the app: node stays among app: nodes
  await onApp.sendJson({ type: 'broadcast', data: 'app-only' });
  await expectFrame(onApp, { type: 'broadcast', from: 'alice', data: 'app-only' }, 'sender on app: node');
  await expectNoneAll([onApp, onDefault]);
  await closeAll(onApp, onDefault);
});

test('malformed messages on internal $ channels are dropped without affecting other traffic', async () => {
  const a = await open('/ws/alice?channels=room');
  const b = await open('/ws/bob');
  const before = (await stats(h)).drops;
  const bad = [
    ['herald:$broadcast', 'not json'],
    ['herald:$broadcast', '{"from":"bad id!","data":1}'],
    ['herald:$broadcast', '{"data":1}'],
    ['herald:$broadcast', '{"from":"svc"}'],
    ['herald:$broadcast', '{"from":42,"data":1}'],
    ['herald:$broadcast', '[1,2,3]'],
    ['herald:$broadcast', '{"from":"svc","from":"x","data":1}'],
    ['herald:$client:bob', '{"from":"","data":1}'],
    ['herald:$client:', '{"from":"svc","data":1}'],
    ['herald:$client:bad id', '{"from":"svc","data":1}'],
    ['herald:$channel:room', 'garbage'],
    ['herald:$channel:', '{"from":"svc","data":1}'],
    ['herald:$channel:bad room', '{"from":"svc","data":1}'],
    ['herald:$unknown', '{"from":"svc","data":1}'],
    ['herald:$', '{"from":"svc","data":1}'],
    ['herald:$sys', '{"redis":"fake"}'],
  ];
  for (const [ch, payload] of bad) await publish(ch, payload);
  await expectNoneAll([a, b]);
  await waitFor(async () => (await stats(h)).drops - before === bad.length, 3000,
    { what: `drops to grow by ${bad.length}` });
  await waitFor(() => /dropped malformed message on \$broadcast/.test(h.log()), 2000, { what: 'the drop to be logged' });

  // well-formed envelopes on the same channels still flow
  await publish('herald:$broadcast', '{"from":"svc","data":"ok"}');
  await expectFrame(a, { type: 'broadcast', from: 'svc', data: 'ok' }, 'alice: broadcast after bad ones');
  await expectFrame(b, { type: 'broadcast', from: 'svc', data: 'ok' }, 'bob: broadcast after bad ones');
  await publish('herald:$client:bob', '{"from":"svc","data":{"k":1}}');
  await expectFrame(b, { type: 'message', from: 'svc', data: { k: 1 } }, 'bob: direct after bad ones');
  await publish('herald:$channel:room', '{"from":"svc","data":[1]}');
  await expectFrame(a, { type: 'message', channel: 'room', from: 'svc', data: [1], seq: ANY_SEQ }, 'alice: channel message after bad ones');
  await expectNoneAll([a, b]);

  // and so does client traffic
  await a.sendJson({ type: 'echo', data: 1, id: 'e' });
  await expectFrame(a, { type: 'echo', data: 1, id: 'e' }, 'echo');
  assert.deepEqual(await stats(h).then((s) => s.redis), 'connected');
  await closeAll(a, b);
});
