// docs/protocol.md "Redis link state": a Redis that refuses herald's AUTH
// (a wrong password) is reported once per outage, not on every retry, and
// herald keeps running on its own; once the password matches, it connects.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHerald, sleep } from './harness.mjs';
import { startRedis, redisCli, waitRedisState, health } from './redis-harness.mjs';

let redis;
let h;

before(async () => {
  redis = await startRedis();
  await redisCli(redis.port, 'CONFIG', 'SET', 'requirepass', 'right-password');
  h = await startHerald({ args: ['--redis-url', `redis://:wrong-password@127.0.0.1:${redis.port}`] });
});
after(async () => {
  if (h) await h.stop();
  if (redis) await redis.kill();
});

test('a refused AUTH is logged once, not on every retry; herald connects once it is accepted', async () => {
  await sleep(4000); // about eight retries at the capped backoff
  const refusals = h.log().match(/link refused by Redis/g) || [];
  // one line per link (subscriber, command), once each
  assert.ok(refusals.length <= 2, `logged ${refusals.length} times in 4 s:\n${h.log()}`);
  assert.ok(refusals.length >= 1, 'the refusal was not logged at all');
  assert.equal((await health(h)).redis, 'disconnected');
  // the operator fixes Redis's side: herald gets in by itself
  await redisCli(redis.port, '-a', 'right-password', '--no-auth-warning', 'CONFIG', 'SET', 'requirepass', 'wrong-password');
  await waitRedisState(h, 'connected', 5000);
});
