// docs/protocol.md "HTTP": POST /api/publish, with Redis (it travels through Redis, so every
// node delivers it, once) and without (delivered within the node): 202
// {"published":true} and the notification, 400s, the API key, and 413
// (docs/protocol.md "HTTP").

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHerald, connectReady, closeAll, httpPost } from './harness.mjs';
import {
  startRedis, waitRedisState, health, stopAll, subscribe, expectFrame,
  expectNoneAll, ANY_SEQ,
} from './redis-harness.mjs';

const API_KEY = 'k';
let redis;
let hR;   // with Redis
let hR2;  // a second node on the same Redis
let hN;   // without Redis
let hK;   // with Redis and --api-key k

before(async () => {
  redis = await startRedis();
  [hR, hR2, hN, hK] = await Promise.all([
    startHerald({ args: ['--redis-url', redis.url, '--node-id', 'api-r1'] }),
    startHerald({ args: ['--redis-url', redis.url, '--node-id', 'api-r2'] }),
    startHerald({ args: ['--node-id', 'api-none'] }),
    startHerald({ args: ['--redis-url', redis.url, '--node-id', 'api-key', '--api-key', API_KEY] }),
  ]);
  await Promise.all([hR, hR2, hK].map((h) => waitRedisState(h, 'connected')));
  assert.equal((await health(hN)).redis, 'disabled');
});

after(async () => {
  try {
    await stopAll(hR, hR2, hN, hK);
  } finally {
    if (redis) await redis.kill();
  }
});

const publish = (h, body, headers) => httpPost(`${h.http}/api/publish`, body, { headers });

function assertAccepted(res, what) {
  assert.equal(res.status, 202, `${what}: status ${res.status}, body ${res.body}`);
  assert.match(res.headers['content-type'] || '', /^application\/json\b/, `${what}: content-type`);
  // a channel publish goes through herald_publish and answers its seq
  if (res.json && res.json.seq !== undefined) assert.match(res.json.seq, /^\d+-\d+$/, `${what}: seq`);
  const { seq, ...rest } = res.json || {};
  assert.deepEqual(rest, { published: true }, `${what}: body`);
  return seq;
}

function assertError(res, status, what) {
  assert.equal(res.status, status, `${what}: status ${res.status}, body ${res.body}`);
  const j = res.json;
  assert.equal(typeof j.error, 'string', `${what}: error body ${res.body}`);
  assert.ok(j.error.length > 0, `${what}: empty error`);
}

for (const mode of ['with Redis', 'without Redis']) {
  test(`POST /api/publish ${mode}: 202 and the notification, once`, async () => {
    const h = mode === 'with Redis' ? hR : hN;
    const sub = await connectReady(h.url, '/ws/alice');
    const bob1 = await connectReady(h.url, '/ws/bob');
    const bob2 = await connectReady(h.url, '/ws/bob');
    await subscribe(sub, 'users');
    const everyone = [sub, bob1, bob2];
    // with Redis, a node that did not receive the request delivers too
    const far = mode === 'with Redis' ? await connectReady(hR2.url, '/ws/far?channels=users') : null;
    const all = far ? [...everyone, far] : everyone;

    const data = { event: 'user.updated', user: { id: 42, name: 'Ada' } };
    const seq = assertAccepted(await publish(h, { channel: 'users', data }), 'users');
    assert.ok(seq, 'a channel publish answers with its seq');
    const got = await expectFrame(sub, { type: 'notification', channel: 'users', data, seq: ANY_SEQ }, 'subscriber of users');
    assert.equal(got.seq, seq, 'the seq in the answer is the message\'s');
    if (far) {
      const gotFar = await expectFrame(far, { type: 'notification', channel: 'users', data, seq: ANY_SEQ }, 'subscriber on the other node');
      assert.equal(gotFar.seq, seq, 'the same seq on every node');
    }
    await expectNoneAll(all);

    assertAccepted(await publish(h, { channel: 'broadcast', data: 'all' }), 'broadcast');
    for (const [n, c] of [['alice', sub], ['bob#1', bob1], ['bob#2', bob2], ...(far ? [['far', far]] : [])]) {
      await expectFrame(c, { type: 'notification', channel: 'broadcast', data: 'all' }, `broadcast to ${n}`);
    }
    await expectNoneAll(all);

    assertAccepted(await publish(h, { channel: 'client:bob', data: [1, 2, 3] }), 'client:bob');
    await expectFrame(bob1, { type: 'notification', channel: 'client:bob', data: [1, 2, 3] }, 'bob#1');
    await expectFrame(bob2, { type: 'notification', channel: 'client:bob', data: [1, 2, 3] }, 'bob#2');
    await expectNoneAll(all);

    // data may be any JSON value, null included (present is what counts)
    for (const v of [null, 0, false, 'text', { nested: { deep: [true] } }]) {
      assertAccepted(await publish(h, { channel: 'users', data: v }), `data ${JSON.stringify(v)}`);
      await expectFrame(sub, { type: 'notification', channel: 'users', data: v, seq: ANY_SEQ }, `data ${JSON.stringify(v)}`);
    }
    if (far) for (let i = 0; i < 5; i++) await far.nextJson();
    await expectNoneAll(all);
    await closeAll(all);
  });

  test(`POST /api/publish ${mode}: 400 on bad requests, nothing delivered`, async () => {
    const h = mode === 'with Redis' ? hR : hN;
    const sub = await connectReady(h.url, '/ws/alice?channels=users');
    const bad = [
      ['not JSON', 'not json'],
      ['truncated JSON', '{"channel":"users","data":'],
      ['a JSON array', '[{"channel":"users","data":1}]'],
      ['a JSON string', '"users"'],
      ['duplicate keys', '{"channel":"users","channel":"users","data":1}'],
      ['missing channel', '{"data":1}'],
      ['channel not a string', '{"channel":5,"data":1}'],
      ['channel null', '{"channel":null,"data":1}'],
      ['empty channel', '{"channel":"","data":1}'],
      ['channel with a space', '{"channel":"bad channel","data":1}'],
      ['channel too long', JSON.stringify({ channel: 'c'.repeat(129), data: 1 })],
      ['reserved $ channel', '{"channel":"$sys","data":1}'],
      ['client: without an id', '{"channel":"client:","data":1}'],
      ['client: with a bad id', '{"channel":"client:bad id","data":1}'],
      ['channel with a NUL', '{"channel":"users\\u0000x","data":1}'],
      ['missing data', '{"channel":"users"}'],
    ];
    for (const [what, body] of bad) assertError(await publish(h, body), 400, what);
    await sub.expectNone();
    // a good request after the bad ones
    assertAccepted(await publish(h, { channel: 'users', data: 'ok' }), 'good after bad');
    await expectFrame(sub, { type: 'notification', channel: 'users', data: 'ok', seq: ANY_SEQ }, 'good after bad');
    await sub.expectNone();
    await sub.close();
  });

  test(`POST /api/publish ${mode}: 413 for a body over max-message-size + 1 KiB`, async () => {
    const h = mode === 'with Redis' ? hR : hN;
    const sub = await connectReady(h.url, '/ws/alice?channels=users');
    const limit = 65536 + 1024;
    const bodyOf = (size) => {
      const b = `{"channel":"users","data":"${'x'.repeat(size - 30)}"}`;
      return b + ' '.repeat(size - b.length);
    };
    const over = bodyOf(limit + 1);
    assert.equal(over.length, limit + 1);
    assertError(await publish(h, over), 413, 'body one byte over the limit');
    assertError(await publish(h, bodyOf(4 * limit)), 413, 'body four times the limit');
    await sub.expectNone();
    // the server is fine afterwards
    assertAccepted(await publish(h, { channel: 'users', data: 'small' }), 'small after 413');
    await expectFrame(sub, { type: 'notification', channel: 'users', data: 'small', seq: ANY_SEQ }, 'small after 413');
    await sub.expectNone();
    await sub.close();
  });

  test(`POST /api/publish ${mode}: a body at the limit, data at max-message-size, is delivered`, async () => {
    const h = mode === 'with Redis' ? hR : hN;
    const sub = await connectReady(h.url, '/ws/alice?channels=users');
    const limit = 65536 + 1024;
    // data's JSON ("..." with the quotes) is exactly max-message-size bytes
    const filler = 'y'.repeat(65536 - 2);
    const body = `{"channel":"users","data":"${filler}"}`;
    const padded = body + ' '.repeat(limit - body.length);
    assert.equal(padded.length, limit);
    assertAccepted(await publish(h, padded), 'body of exactly max-message-size + 1 KiB');
    // 202 says it was published: the subscriber must get it, with or without Redis
    const f = await sub.nextJson(3000).catch((e) => {
      throw new Error(`POST /api/publish of a ${limit}-byte body (data: a ${filler.length}-char string) ` +
        `answered 202 {"published":true} ${mode}, but the subscriber got no notification: ${e.message}`);
    });
    assert.equal(f.type, 'notification');
    assert.equal(f.channel, 'users');
    assert.equal(f.data, filler);
    await sub.expectNone();
    // one byte more of data is refused up front rather than lost on the way
    const over = `{"channel":"users","data":"${filler}y"}`;
    assertError(await publish(h, over), 413, 'data one byte over max-message-size');
    await sub.expectNone();
    await sub.close();
  });
}

test('POST /api/publish with --api-key: 401 without or with a wrong key, 202 with Bearer <key>', async () => {
  const sub = await connectReady(hK.url, '/ws/alice?channels=users');
  const body = { channel: 'users', data: 'secret' };
  assertError(await publish(hK, body), 401, 'no Authorization');
  assertError(await publish(hK, body, { Authorization: 'Bearer x' }), 401, 'Bearer x');
  assertError(await publish(hK, body, { Authorization: 'Bearer kk' }), 401, 'Bearer kk');
  assertError(await publish(hK, body, { Authorization: 'Bearer ' }), 401, 'Bearer (empty)');
  assertError(await publish(hK, body, { Authorization: 'Basic k' }), 401, 'Basic k');
  assertError(await publish(hK, body, { Authorization: 'k' }), 401, 'bare key');
  // a bad body without the key is still 401 (no information before auth)
  assertError(await publish(hK, 'not json'), 401, 'bad body without a key');
  await sub.expectNone();

  assertAccepted(await publish(hK, body, { Authorization: `Bearer ${API_KEY}` }), 'Bearer k');
  await expectFrame(sub, { type: 'notification', channel: 'users', data: 'secret', seq: ANY_SEQ }, 'with the key');
  await sub.expectNone();
  // with the key, validation still applies
  assertError(await publish(hK, 'not json', { Authorization: `Bearer ${API_KEY}` }), 400, 'bad body with the key');
  await sub.expectNone(100);
  await sub.close();
});

test('POST /api/publish with an empty body (Content-Length: 0): 400, herald unharmed', async () => {
  // its own herald, so that a crash here does not take the other tests down
  const h = await startHerald({ args: ['--node-id', 'api-empty'] });
  try {
    const res = await publish(h, '').catch((e) => {
      throw new Error(`POST /api/publish with an empty body: no answer (${e.message}); herald log:\n${h.log().slice(-3000)}`);
    });
    assertError(res, 400, 'empty body');
    assert.equal((await health(h)).status, 'healthy');
  } finally {
    await h.stop();
  }
});
