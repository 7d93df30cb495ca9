// docs/protocol.md (fragmented messages, limits): --max-message-size → 1009,
// invalid UTF-8 → 1007, with exact close codes.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startHerald, connectReady, rawConnect, closeAll } from './harness.mjs';

const LIMIT = 1024;
let h;

before(async () => {
  h = await startHerald({ args: ['--max-message-size', String(LIMIT)] });
});
after(async () => {
  if (h) await h.stop();
});

const open = (p = '/ws/alice') => connectReady(h.url, p);

test('a fragmented text message is reassembled and answered exactly once', async () => {
  const c = await open();
  const msg = JSON.stringify({ type: 'echo', data: 'x'.repeat(300), id: 'frag' });
  const parts = [msg.slice(0, 100), msg.slice(100, 200), msg.slice(200)];
  await c.send(parts[0], { fin: false });
  await c.send(parts[1], { fin: false });
  await c.send(parts[2], { fin: true });
  assert.deepEqual(await c.nextJson(), { type: 'echo', data: 'x'.repeat(300), id: 'frag' });
  await c.expectNone(250);
  // plain text split in two fragments → one Echo
  await c.send('hel', { fin: false });
  await c.send('lo', { fin: true });
  assert.equal(await c.next(), 'Echo: hello');
  await c.expectNone(200);
  await c.close();
});

test('fragments split inside a multi-byte UTF-8 character are reassembled', async () => {
  const raw = await rawConnect(h.port, '/ws/alice');
  const welcome = await raw.nextDataFrame();
  assert.equal(JSON.parse(welcome.payload.toString()).type, 'welcome');
  const bytes = Buffer.from('é✓', 'utf8'); // c3 a9 e2 9c 93
  raw.sendFrame(0x1, bytes.subarray(0, 1), { fin: false });
  raw.sendFrame(0x0, bytes.subarray(1, 3), { fin: false });
  raw.sendFrame(0x0, bytes.subarray(3), { fin: true });
  const f = await raw.nextDataFrame();
  assert.equal(f.opcode, 0x1);
  assert.equal(f.payload.toString('utf8'), 'Echo: é✓');
  raw.destroy();
});

test('a fragmented binary message is echoed once, whole', async () => {
  const c = await open();
  const a = randomBytes(300);
  const b = randomBytes(200);
  await c.send(a, { binary: true, fin: false });
  await c.send(b, { binary: true, fin: true });
  const got = await c.next();
  assert.ok(Buffer.isBuffer(got));
  assert.ok(got.equals(Buffer.concat([a, b])));
  await c.expectNone(200);
  await c.close();
});

test('a control frame between fragments does not break reassembly', async () => {
  const c = await open();
  await c.send('{"type":"echo",', { fin: false });
  c.ws.ping('between');
  await c.send('"data":1}', { fin: true });
  assert.deepEqual(await c.nextJson(), { type: 'echo', data: 1 });
  await c.expectNone(150);
  await c.close();
});

test('a text message of exactly max-message-size is accepted', async () => {
  const c = await open();
  const text = 'a'.repeat(LIMIT);
  await c.send(text);
  assert.equal(await c.next(), `Echo: ${text}`);
  // JSON echo of exactly the limit
  const base = JSON.stringify({ type: 'echo', data: '' });
  const json = JSON.stringify({ type: 'echo', data: 'b'.repeat(LIMIT - base.length) });
  assert.equal(Buffer.byteLength(json), LIMIT);
  await c.send(json);
  assert.deepEqual(await c.nextJson(), JSON.parse(json));
  // binary of exactly the limit
  const bin = randomBytes(LIMIT);
  await c.send(bin, { binary: true });
  assert.ok((await c.next()).equals(bin));
  await c.close();
});

test('a fragmented message of exactly max-message-size is accepted', async () => {
  const c = await open();
  await c.send('a'.repeat(600), { fin: false });
  await c.send('a'.repeat(LIMIT - 600), { fin: true });
  assert.equal(await c.next(), `Echo: ${'a'.repeat(LIMIT)}`);
  await c.close();
});

test('a single text message over max-message-size is closed with 1009', async () => {
  const c = await open();
  await c.send('a'.repeat(LIMIT + 1));
  const info = await c.closed();
  assert.equal(info.code, 1009);
  assert.equal(info.reason, 'message too big');
  assert.deepEqual(c.queue, [], 'no reply to the oversized message');
});

test('a single binary message over max-message-size is closed with 1009', async () => {
  const c = await open();
  await c.send(randomBytes(LIMIT * 4), { binary: true });
  const info = await c.closed();
  assert.equal(info.code, 1009);
  assert.deepEqual(c.queue, []);
});

test('a fragmented message over max-message-size (small fragments) is closed with 1009', async () => {
  const c = await open();
  const chunk = 'z'.repeat(300);
  for (let i = 0; i < 3; i++) await c.send(chunk, { fin: false });
  await c.send(chunk, { fin: true }); // 1200 bytes in all
  const info = await c.closed();
  assert.equal(info.code, 1009);
  assert.equal(info.reason, 'message too big');
  assert.deepEqual(c.queue, [], 'nothing echoed for the oversized message');
});

test('a huge fragmented message that never ends is cut at the limit with 1009', async () => {
  const raw = await rawConnect(h.port, '/ws/alice');
  await raw.nextDataFrame(); // welcome
  raw.sendFrame(0x1, Buffer.alloc(512, 0x61), { fin: false });
  raw.sendFrame(0x0, Buffer.alloc(512, 0x61), { fin: false });
  raw.sendFrame(0x0, Buffer.alloc(512, 0x61), { fin: false }); // now 1536 > 1024, no final fragment
  const f = await raw.nextDataFrame();
  assert.equal(f.opcode, 0x8, `expected a close frame, got opcode ${f.opcode}`);
  assert.equal(f.payload.readUInt16BE(0), 1009);
  await raw.closed();
});

test('invalid UTF-8 in a text frame is closed with 1007', async () => {
  const c = await open();
  await c.send(Buffer.from([0x68, 0x69, 0xc3, 0x28]), { binary: false });
  const info = await c.closed();
  assert.equal(info.code, 1007);
  assert.deepEqual(c.queue, []);
});

test('invalid UTF-8 split across fragments is closed with 1007', async () => {
  const raw = await rawConnect(h.port, '/ws/alice');
  await raw.nextDataFrame(); // welcome
  raw.sendFrame(0x1, Buffer.from([0x61, 0xe2]), { fin: false });
  raw.sendFrame(0x0, Buffer.from([0x28, 0xa1]), { fin: true });
  const f = await raw.nextDataFrame();
  assert.equal(f.opcode, 0x8, `expected a close frame, got opcode ${f.opcode}: ${f.payload}`);
  assert.equal(f.payload.readUInt16BE(0), 1007);
  await raw.closed();
});

test('overlong UTF-8 and surrogates are invalid (1007)', async () => {
  for (const bytes of [[0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xff]]) {
    const c = await open();
    await c.send(Buffer.from(bytes), { binary: false });
    const info = await c.closed();
    assert.equal(info.code, 1007, `bytes ${Buffer.from(bytes).toString('hex')}`);
  }
});

test('herald keeps serving others after limit closes', async () => {
  const a = await open('/ws/a');
  const b = await open('/ws/b');
  await a.send('x'.repeat(LIMIT + 10));
  assert.equal((await a.closed()).code, 1009);
  await b.send('still');
  assert.equal(await b.next(), 'Echo: still');
  await closeAll(b);
});

test('the limit applies after inflation: a compressible message over it is closed with 1009', async () => {
  const c = await connectReady(h.url, '/ws/alice', { perMessageDeflate: { threshold: 0 } });
  const negotiated = c.ws.extensions.includes('permessage-deflate');
  await c.send('a'.repeat(LIMIT));
  assert.equal(await c.next(), `Echo: ${'a'.repeat(LIMIT)}`, `at the limit (deflate negotiated: ${negotiated})`);
  await c.send('a'.repeat(LIMIT * 8)); // deflates to a few dozen bytes
  const info = await c.closed();
  assert.equal(info.code, 1009, `deflate negotiated: ${negotiated}`);
});

test('rate limit (default 100/s, burst 2x): excess gets rate_limited errors, persistent abuse is closed with 1008', async () => {
  const c = await open('/ws/flood');
  // 1. 250 messages at once: the burst (200) is served, the rest refused, and
  //    the session stays open (50 refusals are far from the debt limit).
  const N1 = 250;
  for (let i = 0; i < N1; i++) c.ws.send(JSON.stringify({ type: 'ping', id: i }));
  const pongs = [];
  const limited = [];
  const other = [];
  while (pongs.length + limited.length + other.length < N1) {
    const text = await c.nextOrNull(3000);
    assert.notEqual(text, null, `after ${pongs.length} pongs and ${limited.length} rate_limited errors: ` +
      `${c.closeInfo ? `closed ${JSON.stringify(c.closeInfo)}` : 'no more replies'}`);
    const m = JSON.parse(text);
    if (m.type === 'pong') pongs.push(m.id);
    else if (m.type === 'error' && m.code === 'rate_limited') limited.push(m.id);
    else other.push(m);
  }
  assert.deepEqual(other, [], 'replies other than pong or rate_limited');
  assert.ok(pongs.length >= 200 && pongs.length < N1, `${pongs.length} of ${N1} pings answered (burst is 200)`);
  assert.deepEqual(pongs, [...pongs].sort((x, y) => x - y), 'replies out of order');
  assert.deepEqual(pongs.slice(0, 200), Array.from({ length: 200 }, (_, i) => i), 'the burst serves the first 200 messages');
  assert.equal(c.closeInfo, null, 'closed after a short burst');

  // 2. Keep sending (300 more, all refused: the refusal debt, draining at
  //    100/s, passes 3 x 100): closed with 1008. (A client that floods
  //    without pause may see the TCP reset, 1006, instead of the close
  //    frame; 300 small frames are read in one go.)
  for (let i = 0; i < 300; i++) c.ws.send(JSON.stringify({ type: 'ping' }));
  const info = await c.closed(5000);
  assert.deepEqual(info, { code: 1008, reason: 'rate limit exceeded' });

  // herald is fine and other sessions are not limited by this one
  const d = await open('/ws/calm');
  await d.sendJson({ type: 'ping' });
  assert.deepEqual(await d.nextJson(), { type: 'pong' });
  await d.close();
});

test('a rate_limited error carries the id of the refused request', async () => {
  const c = await open('/ws/flood-id');
  for (let i = 0; i < 210; i++) c.ws.send(JSON.stringify({ type: 'ping', id: `r${i}` }));
  const replies = [];
  for (let i = 0; i < 210; i++) replies.push(await c.nextJson());
  const errors = replies.filter((m) => m.type === 'error');
  assert.ok(errors.length >= 1, 'no rate_limited error');
  for (const e of errors) {
    assert.equal(e.code, 'rate_limited');
    assert.match(String(e.id), /^r\d+$/, `rate_limited error without the request's id: ${JSON.stringify(e)}`);
  }
  await c.close();
});

// --read-buffer: how much lws reads at a time and keeps per session. Any
// size from the least (128) up gives the same messages, only the cost of a
// large one changes (docs/benchmarks.md).
for (const size of [128, 65536]) {
  test(`--read-buffer ${size}: 100 KB messages, fragments and a 125-byte ping come through whole`, async (t) => {
    const big = await startHerald({ args: ['--read-buffer', String(size), '--max-message-size', '200000'] });
    t.after(() => big.stop());
    const raw = await rawConnect(big.port, '/ws/reader');
    await raw.nextDataFrame();
    const text = 'r'.repeat(100000);
    const binary = randomBytes(100000);
    raw.sendFrame(0x1, Buffer.from(text));
    raw.sendFrame(0x2, binary);
    raw.sendFrame(0x1, Buffer.from('frag'), { fin: false });
    raw.sendFrame(0x0, Buffer.from('ment'));
    const ping = randomBytes(125);
    raw.sendFrame(0x9, ping);
    const frames = [];
    while (frames.filter((f) => f.opcode !== 0xa).length < 3 || !frames.some((f) => f.opcode === 0xa)) {
      frames.push(await raw.nextFrame(5000));
    }
    const data = frames.filter((f) => f.opcode !== 0xa);
    assert.equal(data[0].payload.toString(), `Echo: ${text}`);
    assert.deepEqual(data[1].payload, binary);
    assert.equal(data[2].payload.toString(), 'Echo: fragment');
    assert.deepEqual(frames.find((f) => f.opcode === 0xa).payload, ping);
    raw.destroy();
  });
}
