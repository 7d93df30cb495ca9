// docs/design.md "Workers": --workers N event loops in one node act as one
// server. Sessions are spread over the workers (the welcome's session is
// "<worker>-<n>"), and broadcast, send, channel publish and HTTP publish
// reach every session on every worker exactly once, in each publisher's
// order, without Redis (the node's bus) and with it (every worker has its
// own links); a slow consumer on one worker does not hold up another;
// --max-connections, /api/stats and SIGTERM are the node's. make test-tsan
// runs this file against the ThreadSanitizer build too.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startHerald, connectReady, rawConnect, httpGet, httpPost, waitFor, closeAll, sleep,
} from './harness.mjs';
import { startRedis, waitRedisState, stopAll, noRateLimitArgs } from './redis-harness.mjs';

const WORKERS = 2;
const workerOf = (c) => Number(c.welcome.session.split('-')[0]);

/** Sessions of client ids ids[i], opened until every worker has at least
 * `each` of them; returns the clients (opened in ids order, cycling). */
async function spread(h, prefix, each = 2, max = 64) {
  const clients = [];
  const per = new Array(WORKERS).fill(0);
  for (let i = 0; i < max && per.some((n) => n < each); i++) {
    const c = await connectReady(h.url, `/ws/${prefix}${i}`);
    per[workerOf(c)]++;
    clients.push(c);
  }
  assert.ok(per.every((n) => n >= each), `sessions per worker: ${per}`);
  return clients;
}

/** Everything c receives until it has n frames matching pick (3 s). */
async function collect(c, n, pick = () => true, timeoutMs = 5000) {
  const got = [];
  const deadline = Date.now() + timeoutMs;
  while (got.length < n) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    let m;
    try { m = JSON.parse(await c.next(left)); } catch { break; }
    if (pick(m)) got.push(m);
  }
  return got;
}

const heralds = [];
after(async () => { await stopAll(...heralds); });

async function node(args = []) {
  const h = await startHerald({ args: ['--workers', String(WORKERS), ...(await noRateLimitArgs()), ...args] });
  heralds.push(h);
  return h;
}

test('without Redis: broadcasts from two senders on different workers reach every session once, in one order', async () => {
  const h = await node();
  const all = await spread(h, 'b');
  const [s0, s1] = [all.find((c) => workerOf(c) === 0), all.find((c) => workerOf(c) === 1)];
  const N = 200;
  for (let i = 0; i < N; i++) {
    s0.sendJson({ type: 'broadcast', data: { s: 0, i } });
    s1.sendJson({ type: 'broadcast', data: { s: 1, i } });
  }
  const orders = [];
  for (const c of all) {
    const got = await collect(c, 2 * N, (m) => m.type === 'broadcast');
    assert.equal(got.length, 2 * N, `${c.welcome.session} got ${got.length} of ${2 * N}`);
    for (const s of [0, 1]) {
      assert.deepEqual(got.filter((m) => m.data.s === s).map((m) => m.data.i),
        Array.from({ length: N }, (_, i) => i), `sender ${s}'s order at ${c.welcome.session}`);
    }
    orders.push(got.map((m) => `${m.data.s}.${m.data.i}`).join(','));
  }
  // the node's bus orders every post: every session, on either worker,
  // sees the two senders interleaved the same way
  assert.ok(orders.every((o) => o === orders[0]), 'sessions saw different interleavings');
  await Promise.all(all.map((c) => c.expectNone(200)));
  await closeAll(...all);
});

test('without Redis: send reaches every session of the target on every worker, and no one else', async () => {
  const h = await node();
  const targets = [];
  while (new Set(targets.map(workerOf)).size < WORKERS) targets.push(await connectReady(h.url, '/ws/target'));
  const other = await connectReady(h.url, '/ws/other');
  const sender = await connectReady(h.url, '/ws/sender');
  // one client with sessions on both workers counts once
  const st = (await httpGet(`${h.http}/api/stats`)).json;
  assert.equal(st.clients, 3);
  assert.equal(st.connections, targets.length + 2);
  assert.equal(st.worker_connections.reduce((a, b) => a + b, 0), st.connections);
  await sender.sendJson({ type: 'send', to: 'target', data: 'hi', id: 1 });
  assert.deepEqual(await sender.nextJson(), { type: 'ack', id: 1 });
  for (const t of targets) assert.deepEqual(await t.nextJson(), { type: 'message', from: 'sender', data: 'hi' });
  await Promise.all([other, sender, ...targets].map((c) => c.expectNone(200)));
  await closeAll(other, sender, ...targets);
});

test('without Redis: a channel publish and an HTTP publish reach every subscriber once, with one seq everywhere', async () => {
  const h = await node();
  const subs = await spread(h, 'sub');
  for (const c of subs) {
    await c.sendJson({ type: 'subscribe', channel: 'room' });
    assert.equal((await c.nextJson()).type, 'subscribed');
  }
  const pub = subs[0];
  const N = 100;
  for (let i = 0; i < N; i++) pub.sendJson({ type: 'publish', channel: 'room', data: i });
  const res = await httpPost(`${h.http}/api/publish`, { channel: 'room', data: 'from http' });
  assert.equal(res.status, 202);
  let seqs = null;
  for (const c of subs) {
    const got = await collect(c, N + 1, (m) => m.type === 'message' || m.type === 'notification');
    const msgs = got.filter((m) => m.type === 'message');
    assert.deepEqual(msgs.map((m) => m.data), Array.from({ length: N }, (_, i) => i), `at ${c.welcome.session}`);
    assert.equal(got.filter((m) => m.type === 'notification' && m.data === 'from http').length, 1);
    const these = got.map((m) => m.seq);
    if (seqs) assert.deepEqual(these, seqs, 'the same seqs, in the same order, on every worker');
    seqs = these;
    // the HTTP publish may land between the client's (another worker
    // may take it): its reply has the seq its subscribers got
    assert.equal(got.find((m) => m.type === 'notification').seq, res.json.seq);
  }
  const n = seqs.map((s) => Number(s.split('-')[1]));
  assert.ok(n.every((v, i) => i === 0 || v > n[i - 1]), `seqs increase: ${seqs.slice(0, 5)}`);
  await closeAll(...subs);
});

test('a slow consumer on one worker neither slows nor drops the sessions of another', async () => {
  const h = await node(['--max-queue', String(256 * 1024)]);
  const readers = await spread(h, 'r');
  // a raw session that never reads, on some worker
  const slow = await rawConnect(h.port, '/ws/slow');
  await slow.nextDataFrame();
  slow.pause();
  const sender = readers[0];
  const N = 600; // 9.6 MB: past what the loopback socket buffers hold
  const big = 'x'.repeat(16000);
  for (let i = 0; i < N; i++) sender.sendJson({ type: 'broadcast', data: { i, big } });
  for (const c of readers) {
    const got = await collect(c, N, (m) => m.type === 'broadcast', 10000);
    assert.deepEqual(got.map((m) => m.data.i), Array.from({ length: N }, (_, i) => i), `reader ${c.welcome.session}`);
    assert.equal(c.closeInfo, null);
  }
  // the slow one passed --max-queue and was closed as a slow consumer
  await waitFor(async () => (await httpGet(`${h.http}/api/stats`)).json.slow_consumers === 1, 3000,
    { what: 'the slow consumer counted' });
  slow.destroy();
  await closeAll(...readers);
});

test('--max-connections holds for the node, across its workers', async () => {
  // 16 sessions: the kernel's choice of worker puts them all on one with
  // a chance of 2 in 65,536
  const LIMIT = 16;
  const h = await node(['--max-connections', String(LIMIT)]);
  const open = [];
  for (let i = 0; i < LIMIT; i++) open.push(await connectReady(h.url, `/ws/m${i}`));
  assert.equal(new Set(open.map(workerOf)).size, WORKERS, 'sessions on every worker');
  for (let i = 0; i < 4; i++) {
    const r = await httpGet(`${h.http}/ws/extra${i}`, {
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' },
    });
    assert.equal(r.status, 503, `upgrade ${i} past the limit`);
  }
  await open[0].close();
  await waitFor(async () => (await httpGet(`${h.http}/api/stats`)).json.connections === LIMIT - 1, 3000,
    { what: 'the close counted' });
  const again = await connectReady(h.url, '/ws/again');
  await closeAll(again, ...open.slice(1));
});

test('SIGTERM drains every worker: each session gets 1001 and herald exits 0', async () => {
  const h = await node();
  const all = await spread(h, 'd');
  const t0 = Date.now();
  const closes = Promise.all(all.map((c) => c.closed(8000)));
  await h.stop();
  const infos = await closes;
  assert.ok(infos.every((i) => i.code === 1001), `close codes: ${infos.map((i) => i.code)}`);
  assert.ok(Date.now() - t0 < 6000, `drained in ${Date.now() - t0} ms`);
});

test('with Redis, two nodes of two workers: broadcast, send and publish reach every session once, in order', async () => {
  const redis = await startRedis();
  try {
    const [a, b] = await Promise.all([
      node(['--redis-url', redis.url, '--node-id', 'wa']),
      node(['--redis-url', redis.url, '--node-id', 'wb']),
    ]);
    await Promise.all([waitRedisState(a, 'connected'), waitRedisState(b, 'connected')]);
    const onA = await spread(a, 'ra');
    const onB = await spread(b, 'rb');
    const all = [...onA, ...onB];
    for (const c of all) {
      await c.sendJson({ type: 'subscribe', channel: 'news' });
      assert.equal((await c.nextJson()).type, 'subscribed');
    }
    const N = 50;
    for (let i = 0; i < N; i++) {
      onA[0].sendJson({ type: 'broadcast', data: i });
      onB[0].sendJson({ type: 'publish', channel: 'news', data: i });
    }
    onB[1].sendJson({ type: 'send', to: onA[1].welcome.client_id, data: 'direct' });
    for (const c of all) {
      const got = await collect(c, 2 * N + (c === onA[1] ? 1 : 0),
        (m) => m.type === 'broadcast' || m.type === 'message', 8000);
      assert.deepEqual(got.filter((m) => m.type === 'broadcast').map((m) => m.data),
        Array.from({ length: N }, (_, i) => i), `broadcasts at ${c.welcome.node} ${c.welcome.session}`);
      assert.deepEqual(got.filter((m) => m.type === 'message' && m.channel === 'news').map((m) => m.data),
        Array.from({ length: N }, (_, i) => i), `publishes at ${c.welcome.node} ${c.welcome.session}`);
      assert.equal(got.filter((m) => m.data === 'direct').length, c === onA[1] ? 1 : 0);
    }
    await Promise.all(all.map((c) => c.expectNone(300)));
    await closeAll(...all);
  } finally {
    await stopAll(...heralds.splice(0));
    await redis.kill();
  }
});
