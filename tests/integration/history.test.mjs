// docs/protocol.md "History and resume" on a real redis-server and without
// one: resume under live publishing (nothing lost, nothing twice, in order),
// the same seq on two nodes, resync when the history no longer reaches
// (trimmed, expired, flushed, another epoch), no resync for a channel quiet
// past --history-ttl, a node healing its subscribers' gap after its own
// Redis link dropped, and a replay larger than the session's queue.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHerald, connectReady, closeAll, waitFor, sleep, httpPost } from './harness.mjs';
import {
  historyWorld, waitRedisState, stopAll, seqBefore,
} from './redis-harness.mjs';

const world = historyWorld('hist');
const { node, fcall } = world;

/** Reads frames until pred(frame) says stop; returns what it read (redis state frames left out). */
async function readUntil(c, pred, timeoutMs = 10000) {
  const got = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const f = await c.nextJson(Math.max(1, deadline - Date.now()));
    if (f.type === 'redis') continue;
    got.push(f);
    if (pred(f, got)) return got;
  }
}

async function subscribeSince(c, channel, since, id = 's') {
  const frame = { type: 'subscribe', channel, id };
  if (since !== undefined) frame.since = since;
  await c.sendJson(frame);
  const reply = await c.nextJson();
  assert.equal(reply.type, 'subscribed', JSON.stringify(reply));
  assert.equal(reply.channel, channel);
  assert.match(reply.seq, /^\d+-\d+$/);
  return reply;
}

test('resume while another client publishes on another node: every message once, in order', async () => {
  const [a, b] = await Promise.all([node(['--history-size', '5000'], 'hist-a'), node(['--history-size', '5000'], 'hist-b')]);
  try {
    const sub = await connectReady(a.url, '/ws/reader');
    const first = await subscribeSince(sub, 'live');
    assert.equal(first.recovered, undefined, 'no since: no recovered flag');
    const writer = await connectReady(b.url, '/ws/writer');
    const N = 5000;
    const sending = (async () => {
      for (let i = 0; i < N; i++) {
        await writer.sendJson({ type: 'publish', channel: 'live', data: i });
        if (i % 200 === 0) await sleep(5);
      }
    })();
    // read a part, then drop the connection mid-stream
    const seen = await readUntil(sub, (f, all) => all.length >= 300);
    sub.terminate();
    await sleep(150);
    const last = seen[seen.length - 1].seq;
    const again = await connectReady(a.url, '/ws/reader');
    const reply = await subscribeSince(again, 'live', last);
    assert.equal(reply.recovered, true, JSON.stringify(reply));
    assert.equal(reply.seq, last);
    await sending;
    const rest = await readUntil(again, (f) => f.data === N - 1, 30000);
    const all = [...seen, ...rest];
    assert.ok(all.every((f) => f.type === 'message' && f.channel === 'live'), JSON.stringify(all.find((f) => f.type !== 'message')));
    assert.deepEqual(all.map((f) => f.data), Array.from({ length: N }, (_, i) => i), 'every message once, in order');
    for (let i = 1; i < all.length; i++) assert.ok(seqBefore(all[i - 1].seq, all[i].seq), `seq order at ${i}`);
    await again.expectNone(200);
    // one stream entry per message, whatever the number of nodes (history-size 100, MAXLEN ~)
    assert.ok(Number(await world.pub.command('XLEN', 'herald:stream:live')) >= 100);
    await closeAll(again, writer);
  } finally {
    await stopAll(a, b);
  }
});

test('two nodes: one message has one seq everywhere, the one FCALL returned; a late subscriber resumes from before it', async () => {
  const [a, b] = await Promise.all([node([], 'two-a'), node([], 'two-b')]);
  try {
    const ca = await connectReady(a.url, '/ws/x?channels=both');
    const cb = await connectReady(b.url, '/ws/y?channels=both');
    const before = (await subscribeSince(await connectReady(a.url, '/ws/z'), 'both')).seq;
    const seq = await fcall('both', '{"n":1}');
    const fa = await ca.nextJson();
    const fb = await cb.nextJson();
    assert.deepEqual(fa, { type: 'notification', channel: 'both', data: { n: 1 }, seq });
    assert.deepEqual(fb, fa);
    const late = await connectReady(b.url, `/ws/late?channels=both&since=both:${before}`);
    assert.deepEqual(await late.nextJson(), fa, 'replayed from since');
    await late.expectNone(200);
    await closeAll(ca, cb, late);
  } finally {
    await stopAll(a, b);
  }
});

test('resync when the history no longer reaches back: trimmed, and a flushed Redis', async () => {
  const h = await node(['--history-size', '5'], 'trim');
  try {
    const first = await fcall('trim', '0');
    for (let i = 1; i < 400; i++) await fcall('trim', String(i));
    const c = await connectReady(h.url, '/ws/c');
    const reply = await subscribeSince(c, 'trim', first);
    assert.equal(reply.recovered, false);
    const r = await c.nextJson();
    assert.equal(r.type, 'resync', JSON.stringify(r));
    assert.equal(r.channel, 'trim');
    assert.equal(r.reason, 'trimmed');
    assert.equal(r.seq, reply.seq, 'resync tells where the client now stands');
    await c.expectNone(200);
    // the last one is still there: nothing missed, no resync
    const lastSeq = reply.seq;
    const d = await connectReady(h.url, '/ws/d');
    const ok = await subscribeSince(d, 'trim', lastSeq);
    assert.equal(ok.recovered, true);
    await d.expectNone(200);
    // Redis loses everything: never a silent gap
    await world.pub.command('FLUSHALL');
    await fcall('trim', '"after flush"');
    const e = await connectReady(h.url, '/ws/e');
    const gone = await subscribeSince(e, 'trim', lastSeq);
    assert.equal(gone.recovered, false);
    const r2 = await e.nextJson();
    assert.equal(r2.type, 'resync');
    await closeAll(c, d, e);
  } finally {
    await stopAll(h);
  }
});

test('quiet past --history-ttl: no resync for a client that missed nothing; expired with news: resync', async () => {
  const h = await node(['--history-ttl', '1'], 'ttl');
  try {
    const seq = await fcall('quiet', '"only"');
    await waitFor(async () => Number(await world.pub.command('EXISTS', 'herald:stream:quiet')) === 0, 5000,
      { what: 'the stream expires' });
    const c = await connectReady(h.url, '/ws/q');
    const reply = await subscribeSince(c, 'quiet', seq);
    assert.equal(reply.recovered, true, JSON.stringify(reply));
    assert.equal(reply.seq, seq);
    await c.expectNone(300);
    // a subscriber that never saw a message keeps the channel's position
    const fresh = await subscribeSince(await connectReady(h.url, '/ws/f'), 'quiet');
    assert.equal(fresh.seq, seq, 'the position outlives the stream');
    // missed messages that expired: resync
    await fcall('quiet', '"a"');
    await fcall('quiet', '"b"');
    await waitFor(async () => Number(await world.pub.command('EXISTS', 'herald:stream:quiet')) === 0, 5000,
      { what: 'the stream expires again' });
    const d = await connectReady(h.url, '/ws/d');
    const r = await subscribeSince(d, 'quiet', seq);
    assert.equal(r.recovered, false);
    const rs = await d.nextJson();
    assert.deepEqual([rs.type, rs.reason], ['resync', 'expired']);
    await closeAll(c, d);
  } finally {
    await stopAll(h);
  }
});

test('the node heals its subscribers\' gap when its own Redis link drops and returns', async () => {
  const [a, b] = await Promise.all([node(['--history-size', '1000', ...(process.env.DEBUG_HEAL ? ['--log-level', 'debug'] : [])], 'heal-a'), node(['--history-size', '1000'], 'heal-b')]);
  try {
    const sub = await connectReady(a.url, '/ws/s?channels=heal');
    const writer = await connectReady(b.url, '/ws/w');
    const N = 500;
    const sending = (async () => {
      for (let i = 0; i < N; i++) {
        await writer.sendJson({ type: 'publish', channel: 'heal', data: i });
        if (i % 25 === 0) await sleep(10);
      }
    })();
    await waitFor(() => sub.queue.length > 50, 5000, { what: 'some messages before the drop' });
    // only node A's links (herald names them herald:<node>:<worker>-sub/-cmd)
    const list = String(await world.pub.command('CLIENT', 'LIST'));
    let killed = 0;
    for (const line of list.split('\n')) {
      const m = line.match(/id=(\d+) .*name=herald:heal-a:/);
      if (m) killed += Number(await world.pub.command('CLIENT', 'KILL', 'ID', m[1]));
    }
    assert.equal(killed, 2 * a.workers, list); // two links per worker
    await sending;
    const got = await readUntil(sub, (f) => f.type === 'message' && f.data === N - 1, 20000);
    const data = got.filter((f) => f.type === 'message').map((f) => f.data);
    if (process.env.DEBUG_HEAL) console.error(a.log().split('\n').filter((l) => /redis|history|router/.test(l)).join('\n'));
    assert.deepEqual(data, Array.from({ length: N }, (_, i) => i), 'all 500, once, in order');
    assert.ok(!got.some((f) => f.type === 'resync'), 'no resync: the stream still held the gap');
    await sub.expectNone(300);
    await closeAll(sub, writer);
  } finally {
    await stopAll(a, b);
  }
});

test('a replay larger than the session\'s queue is paginated as the client reads, not a 1013', async () => {
  const h = await node(['--max-queue', '4096', '--history-size', '300'], 'page');
  try {
    const c = await connectReady(h.url, '/ws/p');
    const start = (await subscribeSince(c, 'big')).seq;
    await c.close();
    const blob = 'x'.repeat(400);
    for (let i = 0; i < 200; i++) await fcall('big', JSON.stringify({ i, blob }));
    const again = await connectReady(h.url, `/ws/p?channels=big&since=big:${start}`);
    const got = await readUntil(again, (f) => f.data && f.data.i === 199, 20000);
    assert.deepEqual(got.map((f) => f.data.i), Array.from({ length: 200 }, (_, i) => i));
    assert.ok(again.isOpen, 'not closed as a slow consumer');
    await again.expectNone(200);
    await again.close();
  } finally {
    await stopAll(h);
  }
});

test('without Redis: the ring resumes the same way; a restart is a new epoch (resync)', async () => {
  let h = await startHerald({ args: ['--redis-url', 'none', '--max-queue', '2048', ...world.extra] });
  try {
    const c = await connectReady(h.url, '/ws/r');
    const start = (await subscribeSince(c, 'ring')).seq;
    assert.match(start, /^\d+-0$/, 'an empty channel stands at <epoch>-0');
    await c.close();
    const w = await connectReady(h.url, '/ws/w');
    for (let i = 0; i < 50; i++) {
      await w.sendJson({ type: 'publish', channel: 'ring', data: { i, pad: 'y'.repeat(200) }, id: i });
      const ack = await w.nextJson();
      assert.equal(ack.type, 'ack');
      assert.match(ack.seq, /^\d+-\d+$/);
    }
    // POST /api/publish answers its seq too
    const res = await httpPost(`${h.http}/api/publish`, { channel: 'ring', data: { i: 50 } });
    assert.equal(res.status, 202);
    assert.match(res.json.seq, /^\d+-\d+$/);
    const again = await connectReady(h.url, '/ws/r');
    const reply = await subscribeSince(again, 'ring', start);
    assert.equal(reply.recovered, true);
    const got = await readUntil(again, (f) => f.data.i === 50);
    assert.deepEqual(got.map((f) => f.data.i), Array.from({ length: 51 }, (_, i) => i));
    assert.equal(got[50].seq, res.json.seq);
    const lastSeq = got[50].seq;
    await closeAll(again, w);
    await h.stop();
    h = await startHerald({ args: ['--redis-url', 'none', ...world.extra] });
    const after = await connectReady(h.url, `/ws/r?channels=ring&since=ring:${lastSeq}`);
    const rs = await after.nextJson();
    assert.deepEqual([rs.type, rs.channel, rs.reason], ['resync', 'ring', 'epoch']);
    await after.close();
  } finally {
    await stopAll(h);
  }
});

test('a malformed since is refused', async () => {
  const h = await startHerald({ args: ['--redis-url', 'none'] });
  try {
    const c = await connectReady(h.url, '/ws/m');
    await c.sendJson({ type: 'subscribe', channel: 'x', since: 'yesterday', id: 1 });
    const e = await c.nextJson();
    assert.deepEqual([e.type, e.code, e.id], ['error', 'bad_request', 1]);
    await c.close();
    const r = await httpPost(`${h.http}/api/publish`, { channel: 'x', data: 1 });
    assert.equal(r.status, 202);
  } finally {
    await stopAll(h);
  }
});
