// docs/security.md rate limit: --rate-limit R messages/s per session, burst 2R;
// excess gets {"type":"error","code":"rate_limited",...}; sustained abuse
// (refusal debt, one per refusal draining at R/s, past 3 x max(R, 10)) is
// closed with 1008, one burst never is; the herald_rate_limited_total and
// herald_rate_limit_closes_total counters.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHerald, connectReady, rawConnect, encodeFrame, sleep } from './harness.mjs';
import { metricValues } from './security-harness.mjs';

const RATE = 20;
// a refusal carries the id of the refused message when it had one
const LIMITED = { type: 'error', code: 'rate_limited', message: 'over the message rate limit' };
let h;
let before0;
let limitedSeen = 0; // rate_limited errors received by clients of this file
let closesSeen = 0;

before(async () => {
  h = await startHerald({ args: ['--rate-limit', String(RATE)] });
  before0 = await metricValues(h.http);
});
after(async () => {
  if (h) await h.stop();
});

const open = (id = 'alice') => connectReady(h.url, `/ws/${id}`);

test(`a burst of ${2 * RATE} is accepted, then rate_limited errors (connection stays open)`, async () => {
  const c = await open();
  const N = 3 * RATE; // 40 accepted + 20 over: at most 20 refusals, below the 1008 threshold
  for (let i = 0; i < N; i++) c.sendJson({ type: 'ping', id: i });
  const replies = await c.nextJsonN(N, 5000);
  for (let i = 0; i < 2 * RATE; i++) assert.deepEqual(replies[i], { type: 'pong', id: i }, `reply ${i}`);
  const rest = replies.slice(2 * RATE);
  // each later message is answered, in order, with a pong or a refusal carrying its id
  rest.forEach((m, k) => {
    const id = 2 * RATE + k;
    if (m.type === 'error') assert.deepEqual(m, { ...LIMITED, id }, `reply ${id}`);
    else assert.deepEqual(m, { type: 'pong', id }, `reply ${id}`);
  });
  const limited = rest.filter((m) => m.type === 'error');
  // sending 60 frames takes a few ms; a credit refills every 50 ms, so even a
  // scheduling stall of a few hundred ms leaves most of the last 20 refused
  assert.ok(limited.length >= RATE / 2, `only ${limited.length} of the last ${RATE} were refused: ${JSON.stringify(rest)}`);
  limitedSeen += limited.length;
  await c.expectNone(200);
  assert.ok(c.isOpen);
  await c.close();
});

test('a client sending 1000 messages as fast as it can is closed with 1008 "rate limit exceeded"', async () => {
  const c = await open('flooder');
  const got = [];
  c.tap((m) => got.push(JSON.parse(m)));
  for (let i = 0; i < 1000; i++) {
    if (!c.isOpen) break;
    c.ws.send(JSON.stringify({ type: 'ping', id: i }));
  }
  const info = await c.closed(5000);
  assert.equal(info.code, 1008, `close ${JSON.stringify(info)}`);
  assert.equal(info.reason, 'rate limit exceeded');
  closesSeen++;
  const pongs = got.filter((m) => m.type === 'pong');
  const errors = got.filter((m) => m.type === 'error');
  limitedSeen += errors.length;
  for (const e of errors) assert.deepEqual(e, { ...LIMITED, id: e.id }, 'refusal');
  for (const e of errors) assert.ok(Number.isInteger(e.id) && e.id >= 2 * RATE, `refusal for message ${e.id}`);
  // replies still queued at the close need not be flushed, so only an upper
  // bound holds: the burst, a few refills, and no more
  const ids = got.map((m) => m.id);
  assert.ok(ids.every((id, i) => i === 0 || id > ids[i - 1]), `replies out of order: ${ids.join(',')}`);
  assert.deepEqual(pongs.slice(0, 2 * RATE).map((m) => m.id), pongs.slice(0, 2 * RATE).map((_, i) => i), 'the burst');
  assert.ok(pongs.length <= 2 * RATE + 10, `${pongs.length} pongs: more than the burst was accepted`);
  assert.ok(got.length < 2 * RATE + 3 * RATE + 30, `${got.length} replies before the close: abuse not stopped early`);
  // other sessions are unaffected
  const d = await open('bystander');
  await d.sendJson({ type: 'ping', id: 'b' });
  assert.deepEqual(await d.nextJson(), { type: 'pong', id: 'b' });
  await d.close();
});

test('1000 messages in a single write: herald sends the 1008 close frame before hanging up', async () => {
  // The same abuse as above, but all frames are on the wire at once (what a
  // scripted flooder does), so herald still has unread input when it closes.
  const c = await rawConnect(h.port, '/ws/flooder2');
  await c.nextDataFrame(); // welcome
  const frames = [];
  for (let i = 0; i < 1000; i++) frames.push(encodeFrame(0x1, Buffer.from(JSON.stringify({ type: 'ping', id: i }))));
  c.socket.write(Buffer.concat(frames));
  await c.closed(7000).catch(() => {});
  c.destroy();
  closesSeen++;
  assert.deepEqual(c.closeFrame, { code: 1008, reason: 'rate limit exceeded' },
    `no 1008 close frame (socket closed: ${c.socketClosed}, error: ${c.error && c.error.code}, ` +
    `${c.bytesReceived} bytes received after the handshake)`);
});

test(`one burst of ${4 * RATE} then silence is refused in part, never closed`, async () => {
  // 2R accepted, 2R refused at once: more refusals in one second than R
  // (the old per-second count closed this), less debt than 3R
  const c = await open('burst');
  const N = 4 * RATE;
  for (let i = 0; i < N; i++) c.sendJson({ type: 'ping', id: i });
  const replies = await c.nextJsonN(N, 5000);
  const limited = replies.filter((m) => m.type === 'error');
  assert.ok(limited.length >= RATE, `only ${limited.length} refused`);
  limitedSeen += limited.length;
  await c.expectNone(500);
  // after the pause the session works as before
  await c.sendJson({ type: 'ping', id: 'again' });
  assert.deepEqual(await c.nextJson(), { type: 'pong', id: 'again' });
  await c.close();
});

test('sending at three times the limit for seconds is closed with 1008, not at once', async () => {
  const c = await open('sustained');
  let replies = 0;
  c.tap((m) => { replies++; if (JSON.parse(m).type === 'error') limitedSeen++; });
  const t0 = Date.now();
  const period = 1000 / (3 * RATE);
  for (let i = 0; c.isOpen && Date.now() - t0 < 10000; i++) {
    await sleep(Math.max(0, t0 + i * period - Date.now()));
    if (c.isOpen) c.ws.send(JSON.stringify({ type: 'ping', id: i }));
  }
  const info = await c.closed(5000);
  const ms = Date.now() - t0;
  assert.equal(info.code, 1008, `close ${JSON.stringify(info)}`);
  closesSeen++;
  // the burst lasts 1 s, then the debt grows by R a second up to 3R: ~4 s
  assert.ok(ms >= 2500 && ms <= 9000, `closed after ${ms} ms (${replies} replies)`);
});

test('after spending its burst, a client at 10 msgs/s for 2 s never sees rate_limited', async () => {
  const c = await open('steady');
  for (let i = 0; i < 2 * RATE; i++) c.sendJson({ type: 'ping', id: i });
  const burst = await c.nextJsonN(2 * RATE, 5000);
  assert.deepEqual(burst.map((m) => m.type), Array(2 * RATE).fill('pong'));
  // the bucket is now (nearly) empty; it refills at RATE/s, twice what we send
  const replies = [];
  c.tap((m) => replies.push(JSON.parse(m)));
  const t0 = Date.now();
  for (let i = 0; i < 20; i++) {
    await sleep(Math.max(0, t0 + (i + 1) * 100 - Date.now()));
    await c.sendJson({ type: 'ping', id: `s${i}` });
  }
  await sleep(300);
  c.tap(null);
  assert.deepEqual(replies, Array.from({ length: 20 }, (_, i) => ({ type: 'pong', id: `s${i}` })));
  await c.close();
});

test('binary frames and plain text count against the limit too', async () => {
  const c = await open('mixed');
  for (let i = 0; i < 2 * RATE; i++) c.send(Buffer.from([i]), { binary: true });
  for (let i = 0; i < 10; i++) c.send(`t${i}`);
  const replies = [];
  for (let i = 0; i < 2 * RATE + 10; i++) replies.push(await c.next(5000));
  for (let i = 0; i < 2 * RATE; i++) assert.ok(Buffer.isBuffer(replies[i]) && replies[i][0] === i, `binary echo ${i}`);
  const tail = replies.slice(2 * RATE).map((m) => (typeof m === 'string' && m.startsWith('{') ? JSON.parse(m) : m));
  const limited = tail.filter((m) => m.type === 'error');
  limited.forEach((m) => assert.deepEqual(m, LIMITED));
  assert.ok(limited.length >= 5, `text after a binary burst not limited: ${JSON.stringify(tail)}`);
  limitedSeen += limited.length;
  await c.close();
});

test('the counters in /metrics moved', async () => {
  const now = await metricValues(h.http);
  const dLimited = now.herald_rate_limited_total - before0.herald_rate_limited_total;
  const dCloses = now.herald_rate_limit_closes_total - before0.herald_rate_limit_closes_total;
  assert.equal(dCloses, closesSeen, `herald_rate_limit_closes_total moved by ${dCloses}`);
  // every refusal a client saw is counted, plus the one that closed the flooder
  assert.ok(dLimited >= limitedSeen + closesSeen, `herald_rate_limited_total moved by ${dLimited}, clients saw ${limitedSeen} + ${closesSeen} close`);
  assert.ok(dLimited <= limitedSeen + closesSeen + 100, `herald_rate_limited_total moved by ${dLimited}`);
});
