// docs/protocol.md "Redis link state": without Redis herald keeps running on its own:
// Redis killed and restarted under connected clients, a "Redis" that accepts
// TCP connections but never answers (handshake deadline), and a Redis that
// goes silent after connecting (keepalive deadline). Every wait is a bounded
// poll; the timing bounds come from docs/protocol.md "Redis link state"
// (backoff capped at 1 s, 3 s handshake and keepalive deadlines checked
// once a second).

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startHerald, connectReady, closeAll, freePort, httpGet, waitFor, parseMetrics } from './harness.mjs';
import {
  startRedis, RespClient, waitRedisState, health, stats, stopAll, subscribe,
  expectFrame, expectNoneAll, ANY_SEQ,
} from './redis-harness.mjs';

const DISCONNECTED = { type: 'redis', state: 'disconnected' };
const CONNECTED = { type: 'redis', state: 'connected' };

const cleanups = [];
after(async () => {
  const errs = [];
  for (const fn of cleanups.reverse()) await fn().catch((e) => errs.push(e));
  if (errs.length) throw errs[0];
});

async function metrics(h) {
  const res = await httpGet(`${h.http}/metrics`);
  assert.equal(res.status, 200);
  return parseMetrics(res.body).values;
}

function assertRedisStateMetric(m, state) {
  for (const s of ['connected', 'disconnected', 'disabled']) {
    assert.equal(m[`herald_redis_state{state="${s}"}`], s === state ? 1 : 0, `herald_redis_state{state="${s}"}`);
  }
}

test('Redis killed and restarted: clients are told, the node keeps working, links come back by themselves', async () => {
  const redis = await startRedis();
  cleanups.push(() => redis.kill());
  const h = await startHerald({ args: ['--redis-url', redis.url, '--node-id', 'outage-1'] });
  cleanups.push(() => stopAll(h));
  await waitRedisState(h, 'connected');

  const alice = await connectReady(h.url, '/ws/alice');
  const bob = await connectReady(h.url, '/ws/bob');
  await subscribe(bob, 'room');
  // the state is also reported in $sys (once a second, per node)
  const ops = await connectReady(h.url, '/ws/ops?channels=$sys');
  const sysFrames = [];
  ops.tap((m) => sysFrames.push(JSON.parse(m)));
  const lastSys = () => [...sysFrames].reverse().find((f) => f.type === 'notification' && f.channel === '$sys');
  const waitSysRedis = (state) => waitFor(() => lastSys() && lastSys().data.redis === state, 3000,
    { what: `a $sys frame with "redis":"${state}" (last: ${JSON.stringify(lastSys())})` });
  await waitSysRedis('connected');
  const s0 = await stats(h);
  assert.equal(s0.redis, 'connected');
  assertRedisStateMetric(await metrics(h), 'connected');
  // a notification flows before the outage
  await redis.cli('PUBLISH', 'herald:room', '"before"');
  await expectFrame(bob, { type: 'notification', channel: 'room', data: 'before' }, 'before the outage');

  // -- Redis dies --------------------------------------------------------------
  await redis.kill();
  await expectFrame(alice, DISCONNECTED, 'alice after SIGKILL of redis', 3000);
  await expectFrame(bob, DISCONNECTED, 'bob after SIGKILL of redis', 3000);
  await waitRedisState(h, 'disconnected', 2000);
  const sDown = await stats(h);
  assert.equal(sDown.redis, 'disconnected');
  assertRedisStateMetric(await metrics(h), 'disconnected');
  await waitSysRedis('disconnected');
  assert.ok(sysFrames.some((f) => f.type === 'redis' && f.state === 'disconnected'), '$sys subscriber told of the loss');

  // echo, broadcast, send and publish keep working within the node, once each
  await alice.send('still here?');
  assert.equal(await alice.next(), 'Echo: still here?');
  await alice.sendJson({ type: 'echo', data: { x: 1 }, id: 1 });
  await expectFrame(alice, { type: 'echo', data: { x: 1 }, id: 1 }, 'JSON echo while down');
  await alice.sendJson({ type: 'broadcast', data: 'local' });
  await expectFrame(alice, { type: 'broadcast', from: 'alice', data: 'local' }, 'alice: broadcast while down');
  await expectFrame(bob, { type: 'broadcast', from: 'alice', data: 'local' }, 'bob: broadcast while down');
  await alice.sendJson({ type: 'send', to: 'bob', data: 'dm' });
  await expectFrame(bob, { type: 'message', from: 'alice', data: 'dm' }, 'bob: send while down');
  await alice.sendJson({ type: 'publish', channel: 'room', data: 'pub' });
  await expectFrame(bob, { type: 'message', channel: 'room', from: 'alice', data: 'pub', seq: ANY_SEQ }, 'bob: publish while down');
  await expectNoneAll([alice, bob]);
  assert.ok(h.alive(), 'herald died while Redis was down');

  // -- Redis returns on the same port ------------------------------------------
  await redis.start();
  const back = Date.now();
  await expectFrame(alice, CONNECTED, 'alice after redis returned', 2000);
  await expectFrame(bob, CONNECTED, 'bob after redis returned', 500);
  const took = Date.now() - back;
  assert.ok(took <= 2000, `clients told "connected" ${took} ms after Redis answered PING (expected <= 2000)`);
  await waitRedisState(h, 'connected', 1000);

  // same sessions (no client reconnected), notifications flow again
  assert.equal(alice.closeInfo, null);
  assert.equal(bob.closeInfo, null);
  assert.equal(ops.closeInfo, null);
  assert.equal((await health(h)).connections, 3);
  const pub = await RespClient.connect(redis.port);
  cleanups.push(async () => pub.close());
  assert.equal(await pub.publish('herald:room', '{"after":true}'), h.workers, 'every worker resubscribed to herald:*');
  await expectFrame(bob, { type: 'notification', channel: 'room', data: { after: true } }, 'after the outage');
  await pub.publish('herald:broadcast', '"all"');
  await expectFrame(alice, { type: 'notification', channel: 'broadcast', data: 'all' }, 'alice: broadcast notification');
  await expectFrame(bob, { type: 'notification', channel: 'broadcast', data: 'all' }, 'bob: broadcast notification');
  // client broadcast goes through Redis again: still exactly once
  await alice.sendJson({ type: 'broadcast', data: 'via redis' });
  await expectFrame(alice, { type: 'broadcast', from: 'alice', data: 'via redis' }, 'alice: broadcast after');
  await expectFrame(bob, { type: 'broadcast', from: 'alice', data: 'via redis' }, 'bob: broadcast after');
  await expectNoneAll([alice, bob]);

  const s1 = await stats(h);
  assert.equal(s1.redis, 'connected');
  assert.equal(s1.redis_reconnects, s0.redis_reconnects + h.workers, 'redis_reconnects in /api/stats (one per worker)');
  const m1 = await metrics(h);
  assert.equal(m1.herald_redis_reconnects_total, s1.redis_reconnects, '/metrics and /api/stats agree');
  assertRedisStateMetric(m1, 'connected');
  assert.match(h.log(), /redis\] link lost/);
  await waitSysRedis('connected');
  assert.equal(sysFrames.filter((f) => f.type === 'redis').length, 2, `redis state frames seen by the $sys subscriber: ${JSON.stringify(sysFrames.filter((f) => f.type === 'redis'))}`);
  await closeAll(alice, bob, ops);
});

test('a Redis that accepts but never answers: herald serves, reports disconnected, and resets the links', async () => {
  const port = await freePort();
  const sockets = new Set();
  let received = '';
  const fake = net.createServer((s) => {
    sockets.add(s);
    s.on('data', (d) => { received += d.toString('latin1'); }); // read and ignore
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
  });
  let accepted = 0;
  fake.on('connection', () => { accepted++; });
  await new Promise((r) => fake.listen(port, '127.0.0.1', r));
  const closeFake = () => new Promise((r) => {
    for (const s of sockets) s.destroy();
    fake.close(() => r());
  });
  cleanups.push(() => (fake.listening ? closeFake() : Promise.resolve()));

  const t0 = Date.now();
  const h = await startHerald({ args: ['--redis-url', `redis://127.0.0.1:${port}`, '--node-id', 'mute-1'] });
  cleanups.push(() => stopAll(h));

  // the loop is not blocked: /health answers promptly, with redis disconnected
  const ht = Date.now();
  const hs = await health(h);
  assert.ok(Date.now() - ht < 1000, `/health took ${Date.now() - ht} ms`);
  assert.deepEqual(hs, { status: 'healthy', redis: 'disconnected', connections: 0 });
  const c = await connectReady(h.url, '/ws/alice');
  await c.send('hi');
  assert.equal(await c.next(), 'Echo: hi');
  await c.sendJson({ type: 'broadcast', data: 1 });
  await expectFrame(c, { type: 'broadcast', from: 'alice', data: 1 }, 'local broadcast');
  await waitFor(() => /PSUBSCRIBE/i.test(received), 2000, { what: 'herald to send its handshake to the fake Redis' });

  // both links are reset by the 3 s handshake deadline, checked every second
  await waitFor(() => /subscriber link reset: no answer to the handshake/.test(h.log()) &&
    /command link reset: no answer to the handshake/.test(h.log()), 5500 - (Date.now() - t0),
  { what: 'herald to log "link reset: no answer to the handshake" for both links', intervalMs: 100 })
    .catch((e) => { throw new Error(`${e.message}\nherald log:\n${h.log()}`); });
  const resetAfter = Date.now() - t0;
  assert.ok(resetAfter <= 5500, `links reset ${resetAfter} ms after start`);
  // and it tries again: new connections reach the fake
  await waitFor(() => accepted >= 4, 2500, { what: `herald to reconnect (fake saw ${accepted} connections)` });
  assert.equal((await health(h)).redis, 'disconnected');
  await c.sendJson({ type: 'ping', id: 'p' });
  await expectFrame(c, { type: 'pong', id: 'p' }, 'ping while Redis is mute');
  await c.expectNone(200);

  // swap the fake for a real Redis on the same port: herald connects by itself
  await closeFake();
  const redis = await startRedis({ port });
  cleanups.push(() => redis.kill());
  await expectFrame(c, CONNECTED, 'redis state after a real Redis appeared', 5000);
  await waitRedisState(h, 'connected', 1000);
  assert.equal(await redis.cli('PUBLISH', 'herald:client:alice', '"hello"'), String(h.workers));
  await expectFrame(c, { type: 'notification', channel: 'client:alice', data: 'hello' }, 'notification from the real Redis');
  await c.expectNone();
  await c.close();
});

test('keepalive: a Redis that goes silent after connecting is detected, and the link returns when it resumes', async () => {
  const redis = await startRedis();
  cleanups.push(async () => { try { redis.resume(); } catch { /* gone */ } await redis.kill(); });
  const h = await startHerald({ args: ['--redis-url', redis.url, '--node-id', 'silent-1'] });
  cleanups.push(() => stopAll(h));
  await waitRedisState(h, 'connected');
  const c = await connectReady(h.url, '/ws/alice?channels=room');
  const s0 = await stats(h);

  // SIGSTOP: the TCP connections stay open, nothing is answered
  redis.pause();
  const stopped = Date.now();
  await expectFrame(c, DISCONNECTED, 'state after Redis froze', 6000);
  const detected = Date.now() - stopped;
  assert.ok(detected <= 5000, `silent Redis detected after ${detected} ms (keepalive deadline 3 s, checked every 1 s)`);
  await waitFor(() => /link reset: keepalive deadline passed/.test(h.log()), 1000, { what: 'the keepalive reset to be logged' });

  // the loop keeps serving while Redis is frozen
  const ht = Date.now();
  assert.equal((await health(h)).redis, 'disconnected');
  assert.ok(Date.now() - ht < 1000, `/health took ${Date.now() - ht} ms while Redis is frozen`);
  await c.sendJson({ type: 'publish', channel: 'room', data: 'local' });
  await expectFrame(c, { type: 'message', channel: 'room', from: 'alice', data: 'local', seq: ANY_SEQ }, 'local publish');

  redis.resume();
  const resumed = Date.now();
  await expectFrame(c, CONNECTED, 'state after Redis resumed', 5000);
  const back = Date.now() - resumed;
  assert.ok(back <= 4000, `link back ${back} ms after SIGCONT`);
  await waitRedisState(h, 'connected', 1000);
  assert.equal(await redis.cli('PUBLISH', 'herald:room', '"again"'), String(h.workers), 'exactly one subscriber link per worker after the reset');
  await expectFrame(c, { type: 'notification', channel: 'room', data: 'again' }, 'notification after resume');
  await c.expectNone();
  // each worker's links watch Redis on their own keepalive schedule: one
  // that had not yet seen the silence when Redis resumed did not reconnect
  const reconnects = (await stats(h)).redis_reconnects - s0.redis_reconnects;
  assert.ok(reconnects >= 1 && reconnects <= h.workers, `${reconnects} reconnects`);
  await c.close();
});
