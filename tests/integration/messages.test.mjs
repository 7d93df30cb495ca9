// docs/protocol.md "Connecting" (welcome), "Messages" / "Errors":
// every row with exact frames, on one herald without Redis.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startHerald, connectReady, closeAll, heraldHasFlag } from './harness.mjs';

// Channel replies carry the channel's seq (docs/protocol.md, "History and
// resume"): checked for its form, then left out of exact comparisons.
function noSeq(frame) {
  if (frame && typeof frame === 'object' && 'seq' in frame && (frame.type === 'subscribed' || frame.type === 'ack')) {
    assert.match(frame.seq, /^\d+-\d+$/, `seq of ${JSON.stringify(frame)}`);
    const { seq, ...rest } = frame;
    return rest;
  }
  return frame;
}


let h;
const NODE_ID = 'test-node-1';
const startedAt = Date.now();

before(async () => {
  // Some tests send a few hundred messages at once: lift the per-session rate
  // limit when herald has one (config.test.mjs checks the flag exists).
  const rate = (await heraldHasFlag('--rate-limit')) ? ['--rate-limit', '100000'] : [];
  h = await startHerald({ args: ['--node-id', NODE_ID, ...rate] });
});
after(async () => {
  if (h) await h.stop();
});

const open = (p) => connectReady(h.url, p);

// -- welcome -----------------------------------------------------------------

test('welcome frame has exactly type, client_id, session, node, heartbeat', async () => {
  const a1 = await open('/ws/alice');
  const a2 = await open('/ws/alice');
  for (const c of [a1, a2]) {
    assert.deepEqual(Object.keys(c.welcome).sort(), ['client_id', 'heartbeat', 'node', 'session', 'type']);
    assert.equal(c.welcome.type, 'welcome');
    assert.equal(c.welcome.client_id, 'alice');
    assert.equal(c.welcome.node, NODE_ID);
    assert.equal(c.welcome.heartbeat, 25);
    assert.equal(typeof c.welcome.session, 'string');
    assert.ok(c.welcome.session.length > 0);
  }
  assert.notEqual(a1.welcome.session, a2.welcome.session, 'two sessions share a session id');
  // exactly one welcome, nothing else
  await a1.expectNone(200);
  await closeAll(a1, a2);
});

test('every valid client_id character and the 64-char maximum are accepted', async () => {
  for (const id of ['a', 'A-Z_a.z:0@9', 'x'.repeat(64), 'user@example.com', 'svc:orders-1']) {
    const c = await open(`/ws/${id}`);
    assert.equal(c.welcome.client_id, id);
    await c.close();
  }
});

// -- echo of anything that is not an object with a string "type" --------------

test('plain text is answered with "Echo: <text>"', async () => {
  const c = await open('/ws/alice');
  await c.send('hello');
  assert.equal(await c.next(), 'Echo: hello');
  await c.send('héllo ✓ 日本');
  assert.equal(await c.next(), 'Echo: héllo ✓ 日本');
  await c.expectNone(100);
  await c.close();
});

test('text that is not a JSON object with a string type is echoed as text', async () => {
  const c = await open('/ws/alice');
  const cases = [
    '[1]', '"x"', '42', 'null', 'true', '{}', '{"a":1}', '{"type":5}', '{"type":null}',
    '{"type":["echo"]}', '{"type":{"x":1}}', '{"type":"echo"', '{type:"echo"}', '[{"type":"echo"}]',
  ];
  for (const text of cases) {
    await c.send(text);
    assert.equal(await c.next(), `Echo: ${text}`, `reply to ${text}`);
  }
  await c.expectNone(100);
  // still works afterwards
  await c.sendJson({ type: 'ping' });
  assert.deepEqual(await c.nextJson(), { type: 'pong' });
  await c.close();
});

// -- echo -------------------------------------------------------------------

test('echo without id returns data and no id', async () => {
  const c = await open('/ws/alice');
  const data = { a: [1, 2, { b: null }], s: 'x', n: -1.5, t: true };
  await c.sendJson({ type: 'echo', data });
  assert.deepEqual(await c.nextJson(), { type: 'echo', data });
  await c.sendJson({ type: 'echo', data: 'str' });
  assert.deepEqual(await c.nextJson(), { type: 'echo', data: 'str' });
  await c.close();
});

test('echo copies an id of any JSON type', async () => {
  const c = await open('/ws/alice');
  const ids = [1, 0, 'abc', '', 2.5, true, false, null, [1, 'two'], { k: { v: 1 } }];
  for (const id of ids) {
    await c.sendJson({ type: 'echo', data: { n: 1 }, id });
    assert.deepEqual(await c.nextJson(), { type: 'echo', data: { n: 1 }, id }, `id ${JSON.stringify(id)}`);
  }
  await c.close();
});

test('echo without data replies data null', async () => {
  const c = await open('/ws/alice');
  await c.sendJson({ type: 'echo' });
  assert.deepEqual(await c.nextJson(), { type: 'echo', data: null });
  await c.sendJson({ type: 'echo', id: 9 });
  assert.deepEqual(await c.nextJson(), { type: 'echo', data: null, id: 9 });
  await c.close();
});

// -- ping ---------------------------------------------------------------------

test('ping gets pong, with the id copied', async () => {
  const c = await open('/ws/alice');
  await c.sendJson({ type: 'ping' });
  assert.deepEqual(await c.nextJson(), { type: 'pong' });
  await c.sendJson({ type: 'ping', id: 'p1' });
  assert.deepEqual(await c.nextJson(), { type: 'pong', id: 'p1' });
  await c.close();
});

// -- broadcast ------------------------------------------------------------------

test('broadcast reaches every session, the sender included, exactly once', async () => {
  const alice = await open('/ws/alice');
  const bob1 = await open('/ws/bob');
  const bob2 = await open('/ws/bob');
  const carol = await open('/ws/carol');
  const data = { msg: 'hi all', n: [1, 2] };
  await alice.sendJson({ type: 'broadcast', data });
  const expected = { type: 'broadcast', from: 'alice', data };
  for (const c of [alice, bob1, bob2, carol]) assert.deepEqual(await c.nextJson(), expected);
  for (const c of [alice, bob1, bob2, carol]) await c.expectNone(150);
  await closeAll(alice, bob1, bob2, carol);
});

test('broadcast with id: sender gets one ack and the broadcast without id', async () => {
  const alice = await open('/ws/alice');
  const bob = await open('/ws/bob');
  await alice.sendJson({ type: 'broadcast', data: 'x', id: 7 });
  const got = await alice.nextJsonN(2);
  const ack = got.find((m) => m.type === 'ack');
  const bc = got.find((m) => m.type === 'broadcast');
  assert.deepEqual(noSeq(ack), { type: 'ack', id: 7 }, `sender got ${JSON.stringify(got)}`);
  assert.deepEqual(bc, { type: 'broadcast', from: 'alice', data: 'x' }, `sender got ${JSON.stringify(got)}`);
  assert.deepEqual(await bob.nextJson(), { type: 'broadcast', from: 'alice', data: 'x' });
  await alice.expectNone(150);
  await bob.expectNone(0);
  await closeAll(alice, bob);
});

test('broadcast without data delivers data null', async () => {
  const alice = await open('/ws/alice');
  await alice.sendJson({ type: 'broadcast' });
  assert.deepEqual(await alice.nextJson(), { type: 'broadcast', from: 'alice', data: null });
  await alice.close();
});

test('broadcasts from one sender arrive in order', async () => {
  const alice = await open('/ws/alice');
  const bob = await open('/ws/bob');
  for (let i = 0; i < 50; i++) await alice.sendJson({ type: 'broadcast', data: i });
  for (let i = 0; i < 50; i++) assert.deepEqual(await bob.nextJson(), { type: 'broadcast', from: 'alice', data: i });
  for (let i = 0; i < 50; i++) assert.deepEqual(await alice.nextJson(), { type: 'broadcast', from: 'alice', data: i });
  await closeAll(alice, bob);
});

// -- send -------------------------------------------------------------------

test('send reaches every session of the target and nobody else', async () => {
  const alice = await open('/ws/alice');
  const bob1 = await open('/ws/bob');
  const bob2 = await open('/ws/bob');
  const carol = await open('/ws/carol');
  const bobby = await open('/ws/bobby');
  const data = { text: 'hi bob' };
  await alice.sendJson({ type: 'send', to: 'bob', data });
  assert.deepEqual(await bob1.nextJson(), { type: 'message', from: 'alice', data });
  assert.deepEqual(await bob2.nextJson(), { type: 'message', from: 'alice', data });
  await alice.expectNone(200);
  for (const c of [bob1, bob2, carol, bobby]) await c.expectNone(0);
  await closeAll(alice, bob1, bob2, carol, bobby);
});

test('send with id acks the sender only', async () => {
  const alice = await open('/ws/alice');
  const bob = await open('/ws/bob');
  await alice.sendJson({ type: 'send', to: 'bob', data: 1, id: 'm1' });
  assert.deepEqual(noSeq(await alice.nextJson()), { type: 'ack', id: 'm1' });
  assert.deepEqual(await bob.nextJson(), { type: 'message', from: 'alice', data: 1 });
  await alice.expectNone(150);
  await bob.expectNone(0);
  await closeAll(alice, bob);
});

test('send to a client that is not connected is no error (ack when id given)', async () => {
  const alice = await open('/ws/alice');
  await alice.sendJson({ type: 'send', to: 'nobody-here', data: 1 });
  await alice.expectNone(200);
  await alice.sendJson({ type: 'send', to: 'nobody-here', data: 1, id: 3 });
  assert.deepEqual(noSeq(await alice.nextJson()), { type: 'ack', id: 3 });
  await alice.close();
});

test('send to oneself reaches all of one\'s own sessions', async () => {
  const a1 = await open('/ws/alice');
  const a2 = await open('/ws/alice');
  await a1.sendJson({ type: 'send', to: 'alice', data: 'me' });
  assert.deepEqual(await a1.nextJson(), { type: 'message', from: 'alice', data: 'me' });
  assert.deepEqual(await a2.nextJson(), { type: 'message', from: 'alice', data: 'me' });
  await closeAll(a1, a2);
});

test('a session that closed no longer receives; the other sessions still do', async () => {
  const alice = await open('/ws/alice');
  const bob1 = await open('/ws/bob');
  const bob2 = await open('/ws/bob');
  await bob1.close();
  await alice.sendJson({ type: 'send', to: 'bob', data: 'after' });
  assert.deepEqual(await bob2.nextJson(), { type: 'message', from: 'alice', data: 'after' });
  await bob2.expectNone(150);
  await closeAll(alice, bob2);
});

// -- subscribe / unsubscribe / publish ------------------------------------------

const SEQ_RE = /^(\d+)-(\d+)$/;
function parseSeq(s) {
  const m = typeof s === 'string' && s.match(SEQ_RE);
  assert.ok(m, `seq ${JSON.stringify(s)} is not "<epoch>-<n>"`);
  return { epoch: Number(m[1]), n: Number(m[2]) };
}

test('subscribe and unsubscribe reply, with and without id', async () => {
  const c = await open('/ws/alice');
  await c.sendJson({ type: 'subscribe', channel: 'users' });
  assert.deepEqual(noSeq(await c.nextJson()), { type: 'subscribed', channel: 'users' });
  await c.sendJson({ type: 'subscribe', channel: 'users', id: 's2' });
  assert.deepEqual(noSeq(await c.nextJson()), { type: 'subscribed', channel: 'users', id: 's2' });
  await c.sendJson({ type: 'unsubscribe', channel: 'users', id: 4 });
  assert.deepEqual(await c.nextJson(), { type: 'unsubscribed', channel: 'users', id: 4 });
  await c.sendJson({ type: 'unsubscribe', channel: 'users' });
  assert.deepEqual(await c.nextJson(), { type: 'unsubscribed', channel: 'users' });
  const long = 'c'.repeat(128);
  await c.sendJson({ type: 'subscribe', channel: long });
  assert.deepEqual(noSeq(await c.nextJson()), { type: 'subscribed', channel: long });
  await c.sendJson({ type: 'subscribe', channel: 'A-z_0.9:x@y' });
  assert.deepEqual(noSeq(await c.nextJson()), { type: 'subscribed', channel: 'A-z_0.9:x@y' });
  await c.sendJson({ type: 'subscribe', channel: '$sys' });
  assert.deepEqual(noSeq(await c.nextJson()), { type: 'subscribed', channel: '$sys' });
  await c.close();
});

test('a session may hold 256 subscriptions; the 257th gets the limit error', async () => {
  const c = await open('/ws/alice');
  for (let i = 0; i < 256; i++) c.sendJson({ type: 'subscribe', channel: `lim${i}` });
  for (let i = 0; i < 256; i++) assert.deepEqual(noSeq(await c.nextJson()), { type: 'subscribed', channel: `lim${i}` });
  await c.sendJson({ type: 'subscribe', channel: 'lim256', id: 'over' });
  assert.deepEqual(await c.nextJson(), { type: 'error', code: 'limit', message: 'too many subscriptions', id: 'over' });
  // re-subscribing to one it holds is fine; after leaving one, another fits
  await c.sendJson({ type: 'subscribe', channel: 'lim0' });
  assert.deepEqual(noSeq(await c.nextJson()), { type: 'subscribed', channel: 'lim0' });
  await c.sendJson({ type: 'unsubscribe', channel: 'lim0' });
  assert.deepEqual(await c.nextJson(), { type: 'unsubscribed', channel: 'lim0' });
  await c.sendJson({ type: 'subscribe', channel: 'lim256' });
  assert.deepEqual(noSeq(await c.nextJson()), { type: 'subscribed', channel: 'lim256' });
  await c.close();
});

test('publish reaches subscribers only, with seq increasing within the channel', async () => {
  const alice = await open('/ws/alice');
  const bob = await open('/ws/bob');
  const carol = await open('/ws/carol');
  const dave = await open('/ws/dave');
  for (const c of [alice, bob]) {
    await c.sendJson({ type: 'subscribe', channel: 'room1' });
    assert.deepEqual(noSeq(await c.nextJson()), { type: 'subscribed', channel: 'room1' });
  }
  await carol.sendJson({ type: 'subscribe', channel: 'room2' });
  assert.deepEqual(noSeq(await carol.nextJson()), { type: 'subscribed', channel: 'room2' });

  const seqs = [];
  for (let i = 0; i < 5; i++) {
    await dave.sendJson({ type: 'publish', channel: 'room1', data: { i } });
    const ma = await alice.nextJson();
    const mb = await bob.nextJson();
    assert.equal(typeof ma.seq, 'string', `seq in ${JSON.stringify(ma)}`);
    assert.deepEqual(ma, { type: 'message', channel: 'room1', from: 'dave', data: { i }, seq: ma.seq });
    assert.deepEqual(mb, ma, 'both subscribers get the same frame');
    seqs.push(ma.seq);
  }
  // <epoch>-<n>: same epoch (node start, ms); n strictly increasing within
  // the channel (docs/protocol.md: not necessarily contiguous)
  const parsed = seqs.map(parseSeq);
  assert.ok(parsed.every((p) => p.epoch === parsed[0].epoch), `epochs differ: ${seqs}`);
  assert.ok(parsed[0].epoch >= startedAt - 60000 && parsed[0].epoch <= Date.now(), `epoch ${parsed[0].epoch} is not the node start time in ms`);
  for (let i = 1; i < parsed.length; i++) assert.ok(parsed[i].n > parsed[i - 1].n, `seq not increasing: ${seqs}`);

  // another channel: same shape and epoch
  await dave.sendJson({ type: 'publish', channel: 'room2', data: 'r2' });
  const mc = await carol.nextJson();
  assert.deepEqual(mc, { type: 'message', channel: 'room2', from: 'dave', data: 'r2', seq: mc.seq });
  assert.equal(parseSeq(mc.seq).epoch, parsed[0].epoch);

  // the channel's seq keeps increasing after it had no subscriber for a while
  for (const c of [alice, bob]) {
    await c.sendJson({ type: 'unsubscribe', channel: 'room1' });
    assert.deepEqual(await c.nextJson(), { type: 'unsubscribed', channel: 'room1' });
  }
  await dave.sendJson({ type: 'publish', channel: 'room1', data: 'nobody', id: 'n' });
  assert.deepEqual(noSeq(await dave.nextJson()), { type: 'ack', id: 'n' }); // processed before alice resubscribes
  await alice.sendJson({ type: 'subscribe', channel: 'room1' });
  assert.deepEqual(noSeq(await alice.nextJson()), { type: 'subscribed', channel: 'room1' });
  await dave.sendJson({ type: 'publish', channel: 'room1', data: 'again' });
  const again = await alice.nextJson();
  assert.deepEqual(again, { type: 'message', channel: 'room1', from: 'dave', data: 'again', seq: again.seq });
  assert.equal(parseSeq(again.seq).epoch, parsed[0].epoch);
  assert.ok(parseSeq(again.seq).n > parsed[parsed.length - 1].n, `seq restarted: ${seqs} then ${again.seq}`);

  for (const c of [alice, bob, carol, dave]) await c.expectNone(150);
  await closeAll(alice, bob, carol, dave);
});

test('publisher subscribed to the channel receives its own message; ack with id', async () => {
  const alice = await open('/ws/alice');
  await alice.sendJson({ type: 'subscribe', channel: 'self-room' });
  assert.deepEqual(noSeq(await alice.nextJson()), { type: 'subscribed', channel: 'self-room' });
  await alice.sendJson({ type: 'publish', channel: 'self-room', data: 'x', id: 11 });
  const got = await alice.nextJsonN(2);
  const ack = got.find((m) => m.type === 'ack');
  const msg = got.find((m) => m.type === 'message');
  assert.deepEqual(noSeq(ack), { type: 'ack', id: 11 }, JSON.stringify(got));
  assert.ok(msg, JSON.stringify(got));
  assert.deepEqual(msg, { type: 'message', channel: 'self-room', from: 'alice', data: 'x', seq: msg.seq });
  await alice.expectNone(150);
  await alice.close();
});

test('publish with id to a channel with no subscribers: ack only', async () => {
  const alice = await open('/ws/alice');
  await alice.sendJson({ type: 'publish', channel: 'empty-room', data: 1, id: [1] });
  assert.deepEqual(noSeq(await alice.nextJson()), { type: 'ack', id: [1] });
  await alice.sendJson({ type: 'publish', channel: 'empty-room', data: 1 });
  await alice.expectNone(200);
  await alice.close();
});

test('double subscribe delivers once; after unsubscribe nothing arrives', async () => {
  const alice = await open('/ws/alice');
  const bob = await open('/ws/bob');
  for (let i = 0; i < 2; i++) {
    await alice.sendJson({ type: 'subscribe', channel: 'dup' });
    assert.deepEqual(noSeq(await alice.nextJson()), { type: 'subscribed', channel: 'dup' });
  }
  await bob.sendJson({ type: 'publish', channel: 'dup', data: 1 });
  const m = await alice.nextJson();
  assert.deepEqual(m, { type: 'message', channel: 'dup', from: 'bob', data: 1, seq: m.seq });
  await alice.expectNone(200);
  await alice.sendJson({ type: 'unsubscribe', channel: 'dup' });
  assert.deepEqual(await alice.nextJson(), { type: 'unsubscribed', channel: 'dup' });
  await bob.sendJson({ type: 'publish', channel: 'dup', data: 2 });
  await alice.expectNone(250);
  await closeAll(alice, bob);
});

test('?channels=a,b subscribes at connect without extra frames', async () => {
  const sub = await open('/ws/alice?channels=chan-a,chan-b');
  const pub = await open('/ws/bob');
  await pub.sendJson({ type: 'publish', channel: 'chan-a', data: 'A' });
  const ma = await sub.nextJson();
  assert.deepEqual(ma, { type: 'message', channel: 'chan-a', from: 'bob', data: 'A', seq: ma.seq });
  await pub.sendJson({ type: 'publish', channel: 'chan-b', data: 'B' });
  const mb = await sub.nextJson();
  assert.deepEqual(mb, { type: 'message', channel: 'chan-b', from: 'bob', data: 'B', seq: mb.seq });
  await pub.sendJson({ type: 'publish', channel: 'chan-c', data: 'C' });
  await sub.expectNone(200);
  await closeAll(sub, pub);
});

test('?channels= with $sys and unknown query parameters is accepted', async () => {
  const c = await open('/ws/alice?foo=bar&channels=$sys,x&other=1');
  assert.equal(c.welcome.client_id, 'alice');
  await c.close();
});

// -- multiple sessions per client_id ------------------------------------------

test('many sessions of one client_id all receive messages addressed to it', async () => {
  const sessions = [];
  for (let i = 0; i < 5; i++) sessions.push(await open('/ws/multi'));
  assert.equal(new Set(sessions.map((s) => s.welcome.session)).size, 5);
  const sender = await open('/ws/sender');
  await sender.sendJson({ type: 'send', to: 'multi', data: 'all' });
  for (const s of sessions) assert.deepEqual(await s.nextJson(), { type: 'message', from: 'sender', data: 'all' });
  for (const s of sessions) await s.expectNone(0);
  await closeAll(sessions, sender);
});

// -- errors -----------------------------------------------------------------------

async function expectError(c, req, code) {
  await c.sendJson(req);
  const e = await c.nextJson();
  const want = { type: 'error', code, message: e.message };
  if ('id' in req) want.id = req.id;
  assert.deepEqual(e, want, `reply to ${JSON.stringify(req)}`);
  assert.equal(typeof e.message, 'string', `message of ${JSON.stringify(e)}`);
  assert.ok(e.message.length > 0);
}

test('unknown type gets unknown_type, with id, and the connection stays open', async () => {
  const c = await open('/ws/alice');
  await expectError(c, { type: 'nope' }, 'unknown_type');
  await expectError(c, { type: 'nope', id: 5 }, 'unknown_type');
  await expectError(c, { type: '' }, 'unknown_type');
  await expectError(c, { type: 'ECHO' }, 'unknown_type');
  await c.sendJson({ type: 'echo', data: 'still here' });
  assert.deepEqual(await c.nextJson(), { type: 'echo', data: 'still here' });
  await c.close();
});

test('missing or wrongly typed fields get bad_request', async () => {
  const c = await open('/ws/alice');
  const cases = [
    { type: 'send', data: 1 },
    { type: 'send', to: 5, data: 1 },
    { type: 'send', to: null, data: 1, id: 'x' },
    { type: 'send', to: ['bob'], data: 1 },
    { type: 'subscribe' },
    { type: 'subscribe', channel: 5 },
    { type: 'subscribe', channel: null, id: 1 },
    { type: 'unsubscribe' },
    { type: 'unsubscribe', channel: { c: 1 } },
    { type: 'publish', data: 1 },
    { type: 'publish', channel: ['a'], data: 1, id: 2 },
  ];
  for (const req of cases) await expectError(c, req, 'bad_request');
  await c.sendJson({ type: 'echo', data: 'ok' });
  assert.deepEqual(await c.nextJson(), { type: 'echo', data: 'ok' });
  await c.close();
});

test('bad channel names get bad_channel', async () => {
  const c = await open('/ws/alice');
  const bad = ['', 'bad name', 'c'.repeat(129), 'a/b', 'é', 'a,b', '$foo'];
  for (const channel of bad) await expectError(c, { type: 'subscribe', channel }, 'bad_channel');
  await expectError(c, { type: 'subscribe', channel: 'x y', id: 'q' }, 'bad_channel');
  await expectError(c, { type: 'unsubscribe', channel: 'bad name' }, 'bad_channel');
  await expectError(c, { type: 'publish', channel: 'bad name', data: 1 }, 'bad_channel');
  await expectError(c, { type: 'publish', channel: '', data: 1, id: 0 }, 'bad_channel');
  await c.sendJson({ type: 'echo', data: 'ok' });
  assert.deepEqual(await c.nextJson(), { type: 'echo', data: 'ok' });
  await c.close();
});

test('send to an invalid client_id gets bad_client_id', async () => {
  const c = await open('/ws/alice');
  for (const to of ['', 'bad id', 'a/b', 'x'.repeat(65), 'é']) {
    await expectError(c, { type: 'send', to, data: 1 }, 'bad_client_id');
  }
  await expectError(c, { type: 'send', to: 'bad id', data: 1, id: 8 }, 'bad_client_id');
  await c.sendJson({ type: 'echo', data: 'ok' });
  assert.deepEqual(await c.nextJson(), { type: 'echo', data: 'ok' });
  await c.close();
});

test('publish to a $ channel is forbidden', async () => {
  const c = await open('/ws/alice');
  await expectError(c, { type: 'publish', channel: '$x', data: 1 }, 'forbidden');
  await expectError(c, { type: 'publish', channel: '$sys', data: 1, id: 'f' }, 'forbidden');
  await c.sendJson({ type: 'echo', data: 'ok' });
  assert.deepEqual(await c.nextJson(), { type: 'echo', data: 'ok' });
  await c.close();
});

// -- binary ---------------------------------------------------------------------

test('binary frames are echoed byte for byte', async () => {
  const c = await open('/ws/alice');
  const payloads = [
    Buffer.from([0, 1, 2, 0, 255, 0, 0]),
    Buffer.from([0]),
    Buffer.from('{"type":"ping"}'),
    randomBytes(10 * 1024),
    randomBytes(60000),
  ];
  for (const p of payloads) {
    await c.send(p, { binary: true });
    const got = await c.next();
    assert.ok(Buffer.isBuffer(got), `binary reply expected, got text ${String(got).slice(0, 80)}`);
    assert.equal(got.length, p.length);
    assert.ok(got.equals(p), 'binary echo differs');
  }
  await c.expectNone(100);
  // text still works after binary
  await c.send('after');
  assert.equal(await c.next(), 'Echo: after');
  await c.close();
});

test('a normal client close leaves herald serving', async () => {
  const c = await open('/ws/alice');
  const info = await c.close(1000, 'bye');
  assert.equal(info.code, 1000);
  const d = await open('/ws/alice');
  await d.send('x');
  assert.equal(await d.next(), 'Echo: x');
  d.terminate(); // abrupt TCP close
  const e = await open('/ws/alice');
  await e.sendJson({ type: 'ping' });
  assert.deepEqual(await e.nextJson(), { type: 'pong' });
  await e.close();
});

test('a client offering permessage-deflate (as browsers and wscat do) is served the same frames', async () => {
  const c = await connectReady(h.url, '/ws/deflate', { perMessageDeflate: true });
  assert.equal(c.welcome.client_id, 'deflate');
  await c.send('hello '.repeat(200));
  assert.equal(await c.next(), `Echo: ${'hello '.repeat(200)}`);
  await c.sendJson({ type: 'echo', data: 'z'.repeat(5000), id: 1 });
  assert.deepEqual(await c.nextJson(), { type: 'echo', data: 'z'.repeat(5000), id: 1 });
  const bin = Buffer.concat([Buffer.alloc(5000), randomBytes(5000)]);
  await c.send(bin, { binary: true });
  assert.ok((await c.next()).equals(bin));
  await c.close();
});
