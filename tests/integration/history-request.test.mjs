// docs/protocol.md "History on request": {"type":"history"} and
// GET /api/history on a real redis-server and without one: the last n
// messages with their seqs, oldest first, the channel's seq to resume
// from (a subscribe with since = that seq misses nothing and repeats
// nothing), the limits, the token's grant, and the API's auth.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHerald, connectReady, closeAll, httpGet, httpPost } from './harness.mjs';
import { historyWorld, waitRedisState, stopAll, seqBefore } from './redis-harness.mjs';
import { signJwt, nowSec } from './security-harness.mjs';

const world = historyWorld('hreq');
const { node, fcall } = world;

/** Sends a history request and returns its reply (redis state frames skipped). */
async function history(c, channel, limit, id = 'h') {
  const frame = { type: 'history', channel, id };
  if (limit !== undefined) frame.limit = limit;
  await c.sendJson(frame);
  for (;;) {
    const f = await c.nextJson(5000);
    if (f.type !== 'redis') return f;
  }
}

function assertOrdered(messages) {
  for (let i = 1; i < messages.length; i++) {
    assert.ok(seqBefore(messages[i - 1].seq, messages[i].seq), `seq order at ${i}: ${JSON.stringify(messages)}`);
  }
}

test('with Redis: the last n messages of the stream, from FCALL, HTTP and clients; then a gapless subscribe', async () => {
  const h = await node(['--history-size', '20']);
  try {
    const seqs = [];
    for (let i = 0; i < 5; i++) seqs.push(await fcall('feed', JSON.stringify({ n: i })));
    const c = await connectReady(h.url, '/ws/alice');
    await c.sendJson({ type: 'publish', channel: 'feed', data: 'hello', id: 'p' });
    const ack = await c.nextJson();
    assert.equal(ack.type, 'ack');
    seqs.push(ack.seq);
    const pubRes = await httpPost(`${h.http}/api/publish`, { channel: 'feed', data: { n: 6 } });
    assert.equal(pubRes.status, 202);
    seqs.push(pubRes.json.seq);

    const all = await history(c, 'feed', 20, 7);
    assert.equal(all.type, 'history');
    assert.equal(all.channel, 'feed');
    assert.equal(all.id, 7);
    assert.equal(all.complete, true, 'every message since the first');
    assert.deepEqual(all.messages.map((m) => m.seq), seqs);
    assert.deepEqual(all.messages[0], { seq: seqs[0], data: { n: 0 } });
    assert.deepEqual(all.messages[5], { seq: seqs[5], data: 'hello', from: 'alice' });
    assert.equal(all.seq, seqs[6], 'the channel\'s last seq');

    const last2 = await history(c, 'feed', 2);
    assert.deepEqual(last2.messages.map((m) => m.seq), seqs.slice(5));
    assert.equal(last2.complete, false);
    assert.equal(last2.seq, seqs[6]);
    assertOrdered(all.messages);

    // no limit: all that is kept
    assert.equal((await history(c, 'feed')).messages.length, 7);
    // a channel with nothing: empty, complete, the stream's origin
    assert.deepEqual(await history(c, 'empty', 5, 'e'),
      { type: 'history', channel: 'empty', messages: [], seq: '0-0', complete: true, id: 'e' });

    // HTTP: the same object, without id
    const res = await httpGet(`${h.http}/api/history?channel=feed&limit=2`);
    assert.equal(res.status, 200, res.body);
    const { id: _id, ...same } = last2;
    assert.deepEqual(res.json, same);

    // from the history's seq on: the next message, once, nothing before it
    const s = await connectReady(h.url, '/ws/bob');
    await s.sendJson({ type: 'subscribe', channel: 'feed', since: all.seq, id: 1 });
    const sub = await s.nextJson();
    assert.equal(sub.type, 'subscribed');
    assert.equal(sub.recovered, true);
    const next = await fcall('feed', '{"n":7}');
    assert.deepEqual(await s.nextJson(), { type: 'notification', channel: 'feed', data: { n: 7 }, seq: next });
    await s.expectNone(200);
    await closeAll(c, s);
  } finally {
    await stopAll(h);
  }
});

test('with Redis: a trimmed stream says complete:false; a large history goes out whole over HTTP', async () => {
  const h = await node(['--history-size', '50', '--max-message-size', '8192']);
  try {
    const big = 'x'.repeat(4000);
    for (let i = 0; i < 60; i++) await fcall('big', JSON.stringify({ i, big }));
    const c = await connectReady(h.url, '/ws/carol');
    const reply = await history(c, 'big', 50);
    assert.equal(reply.messages.length, 50);
    assert.equal(reply.complete, false, 'the first messages were trimmed or not asked for');
    assert.deepEqual(reply.messages.map((m) => m.data.i), Array.from({ length: 50 }, (_, k) => k + 10));
    const res = await httpGet(`${h.http}/api/history?channel=big&limit=50`);
    assert.equal(res.status, 200);
    assert.ok(res.body.length > 200000, `${res.body.length} bytes`);
    assert.deepEqual(res.json.messages, reply.messages);
    await closeAll(c);
  } finally {
    await stopAll(h);
  }
});

test('bad input: limit, channel, grant, history off; HTTP 400 and 401', async () => {
  const SECRET = 'history-request-secret-0123456789';
  const KEY = 'hist-api-key';
  const h = await node(['--history-size', '10', '--token-secret', SECRET, '--api-key', KEY]);
  const off = await node(['--history-size', '0'], 'hreq-off');
  try {
    const token = signJwt({ sub: 'dave', exp: nowSec() + 300, channels: ['news'] }, SECRET);
    const c = await connectReady(h.url, `/ws/dave?token=${token}`);
    const err = async (frame, code) => {
      await c.sendJson({ ...frame, id: 'x' });
      const f = await c.nextJson();
      assert.equal(f.type, 'error', JSON.stringify(f));
      assert.equal(f.code, code, JSON.stringify(f));
      assert.equal(f.id, 'x');
    };
    await err({ type: 'history', channel: 'news', limit: 11 }, 'bad_request');
    await err({ type: 'history', channel: 'news', limit: 0 }, 'bad_request');
    await err({ type: 'history', channel: 'news', limit: '5' }, 'bad_request');
    await err({ type: 'history', channel: 'news', limit: 1.5 }, 'bad_request');
    await err({ type: 'history', limit: 1 }, 'bad_request');
    await err({ type: 'history', channel: 'no spaces', limit: 1 }, 'bad_channel');
    await err({ type: 'history', channel: '$sys', limit: 1 }, 'bad_channel');
    await err({ type: 'history', channel: 'other', limit: 1 }, 'forbidden');
    assert.equal((await history(c, 'news', 10)).type, 'history');

    const auth = { headers: { Authorization: `Bearer ${KEY}` } };
    assert.equal((await httpGet(`${h.http}/api/history?channel=news`)).status, 401);
    assert.equal((await httpGet(`${h.http}/api/history?channel=news`, { headers: { Authorization: 'Bearer nope' } })).status, 401);
    assert.equal((await httpGet(`${h.http}/api/history?channel=news`, auth)).status, 200);
    for (const q of ['', '?limit=2', '?channel=', '?channel=a%20b', '?channel=%24sys', '?channel=news&limit=0',
      '?channel=news&limit=11', '?channel=news&limit=-1', '?channel=news&limit=x', '?channel=a&channel=b']) {
      const r = await httpGet(`${h.http}/api/history${q}`, auth);
      assert.equal(r.status, 400, `${q}: ${r.status} ${r.body}`);
      assert.ok(r.json.error);
    }

    const o = await connectReady(off.url, '/ws/erin');
    await o.sendJson({ type: 'history', channel: 'news', id: 1 });
    assert.equal((await o.nextJson()).code, 'unavailable');
    assert.equal((await httpGet(`${off.http}/api/history?channel=news`)).status, 503);
    await closeAll(c, o);
  } finally {
    await stopAll(h, off);
  }
});

test('without Redis: the node\'s ring, the same answer; then a gapless subscribe', async () => {
  const h = await startHerald({ args: ['--redis-url', 'none', '--history-size', '5', ...world.extra] });
  try {
    const c = await connectReady(h.url, '/ws/frank');
    const empty = await history(c, 'ring', 5);
    assert.deepEqual(empty.messages, []);
    assert.equal(empty.complete, true);
    assert.match(empty.seq, /^\d+-0$/);
    const seqs = [];
    for (let i = 0; i < 7; i++) {
      const r = await httpPost(`${h.http}/api/publish`, { channel: 'ring', data: { i } });
      assert.equal(r.status, 202);
      seqs.push(r.json.seq);
    }
    await c.sendJson({ type: 'publish', channel: 'ring', data: 'mine', id: 'p' });
    seqs.push((await c.nextJson()).seq);

    const all = await history(c, 'ring', 5);
    assert.deepEqual(all.messages.map((m) => m.seq), seqs.slice(3));
    assert.deepEqual(all.messages[4], { seq: seqs[7], data: 'mine', from: 'frank' });
    assert.deepEqual(all.messages[0], { seq: seqs[3], data: { i: 3 } });
    assert.equal(all.seq, seqs[7]);
    assert.equal(all.complete, false, 'the ring kept 5 of 8');
    const two = await history(c, 'ring', 2);
    assert.deepEqual(two.messages.map((m) => m.seq), seqs.slice(6));

    const res = await httpGet(`${h.http}/api/history?channel=ring&limit=2`);
    assert.equal(res.status, 200);
    const { id: _id, ...same } = two;
    assert.deepEqual(res.json, same);

    const s = await connectReady(h.url, '/ws/gina');
    await s.sendJson({ type: 'subscribe', channel: 'ring', since: all.seq, id: 1 });
    const sub = await s.nextJson();
    assert.equal(sub.type, 'subscribed');
    assert.equal(sub.recovered, true, JSON.stringify(sub));
    const r = await httpPost(`${h.http}/api/publish`, { channel: 'ring', data: 'after' });
    assert.deepEqual(await s.nextJson(), { type: 'notification', channel: 'ring', data: 'after', seq: r.json.seq });
    await s.expectNone(200);
    await closeAll(c, s);
  } finally {
    await stopAll(h);
  }
});
