// RFC 6455 conformance around closing, close codes and empty fragments
// (docs/protocol.md "Close codes"):
//  - after the client's close frame herald acts on nothing more from it;
//  - a close with an invalid code or a 1-byte payload is answered with 1002,
//    a valid one is echoed;
//  - a close herald starts while the last frame went out only in part still
//    ends with its close frame (not 1006);
//  - empty fragments (first, middle, last; text and binary) are reassembled
//    (the sanitizer build aborted on memcpy(dst, NULL, 0) before);
//  - ten pings back to back: each gets its pong, in order.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHerald, connectReady, rawConnect, encodeFrame, waitFor, sleep } from './harness.mjs';

const BIG = 4 * 1024 * 1024;
let h;
let witness;

before(async () => {
  h = await startHerald({
    // 4 MB echoes back to back: no byte budget (docs/security.md)
    args: ['--max-message-size', String(2 * BIG), '--max-queue', String(64 * BIG), '--rate-limit-bytes', '0'],
  });
  witness = await connectReady(h.url, '/ws/witness');
  await witness.sendJson({ type: 'subscribe', channel: 'after' });
  const subscribed = await witness.nextJson();
  assert.deepEqual({ ...subscribed, seq: undefined }, { type: 'subscribed', channel: 'after', seq: undefined });
});
after(async () => {
  if (witness) await witness.close();
  if (h) await h.stop();
});

async function open(id) {
  const raw = await rawConnect(h.port, `/ws/${id}`);
  assert.equal(JSON.parse((await raw.nextDataFrame()).payload.toString()).type, 'welcome');
  return raw;
}

const closePayload = (code, reason = '') =>
  Buffer.concat([Buffer.from([code >> 8, code & 0xff]), Buffer.from(reason)]);

test('after its close frame, nothing the client sends is acted on', async () => {
  const raw = await open('late');
  // the close and what follows it arrive in one read, as a pipelining
  // client sends them; lws passes the data frames up to herald
  raw.sendRaw(Buffer.concat([
    encodeFrame(0x8, closePayload(1000, 'bye')),
    encodeFrame(0x1, Buffer.from('after close')),
    encodeFrame(0x2, Buffer.from([1, 2, 3])),
    encodeFrame(0x1, Buffer.from(JSON.stringify({ type: 'broadcast', data: 'after close' }))),
    encodeFrame(0x1, Buffer.from(JSON.stringify({ type: 'publish', channel: 'after', data: 'after close' }))),
    encodeFrame(0x1, Buffer.from(JSON.stringify({ type: 'subscribe', channel: 'late-sub', id: 1 }))),
  ]));
  await raw.closed(5000);
  const data = raw.frames.filter((f) => f.opcode !== 0x8);
  assert.deepEqual(data.map((f) => f.payload.toString()), [], 'herald answered frames sent after the close');
  assert.equal(raw.closeFrame && raw.closeFrame.code, 1000);
  await witness.expectNone(300);
});

// RFC 6455 §7.4: 1000-1003, 1007-1011 and 3000-4999 may be sent by a client
const VALID = [1000, 1001, 1003, 1007, 1008, 1011, 3000, 4000, 4999];
const INVALID = [0, 999, 1004, 1005, 1006, 1012, 1014, 1015, 1016, 2999, 5000, 65535];

test('a close with a valid code is echoed with that code', async () => {
  for (const code of VALID) {
    const raw = await open(`valid${code}`);
    raw.sendFrame(0x8, closePayload(code, 'ok'));
    await raw.closed(5000);
    assert.equal(raw.closeFrame && raw.closeFrame.code, code, `close ${code}`);
  }
});

test('a close with an invalid code is answered with 1002', async () => {
  for (const code of INVALID) {
    const raw = await open(`invalid${code}`);
    raw.sendFrame(0x8, closePayload(code, 'bad'));
    await raw.closed(5000);
    assert.equal(raw.closeFrame && raw.closeFrame.code, 1002, `close ${code}: ${JSON.stringify(raw.closeFrame)}`);
  }
});

test('a close with a 1-byte payload is answered with 1002', async () => {
  const raw = await open('onebyte');
  raw.sendFrame(0x8, Buffer.from([0x03]));
  await raw.closed(5000);
  assert.equal(raw.closeFrame && raw.closeFrame.code, 1002, JSON.stringify(raw.closeFrame));
});

test('an empty close is echoed empty', async () => {
  const raw = await open('empty');
  raw.sendFrame(0x8, Buffer.alloc(0));
  await raw.closed(5000);
  assert.deepEqual(raw.closeFrame, { code: null, reason: '' });
});

test('a close herald starts behind a partly written frame still sends its close frame', async () => {
  // The client stops reading and has 4 MB messages echoed until neither
  // kernel buffer takes a whole frame: each write is partial and lws keeps
  // the rest. An oversized message then makes herald close with 1009 while
  // the last frame is still going out.
  const raw = await open('drain');
  raw.pause();
  const N = 4;
  for (let i = 0; i < N; i++) raw.sendFrame(0x2, Buffer.alloc(BIG, i + 1));
  await sleep(500);
  // a frame header announcing 16 MB, more than --max-message-size
  raw.sendRaw(Buffer.from([0x82, 0xff, 0, 0, 0, 0, 0x01, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]));
  await sleep(300);
  raw.resume();
  await raw.closed(10000);
  const echoes = raw.frames.filter((f) => f.opcode === 0x2);
  assert.equal(echoes.length, N, `${echoes.length} of ${N} echoes arrived`);
  echoes.forEach((f, i) => assert.ok(f.payload.length === BIG && f.payload[0] === i + 1 && f.payload[BIG - 1] === i + 1, `echo ${i}`));
  assert.deepEqual(raw.closeFrame, { code: 1009, reason: 'message too big' },
    `no 1009 close frame after the data (${raw.bytesReceived} bytes received)`);
});

// [name, opcode, fragments]: each fragment is sent as its own frame
const EMPTY_FRAGMENTS = [
  ['text, first fragment empty', 0x1, ['', 'ab', 'cd']],
  ['text, middle fragment empty', 0x1, ['ab', '', 'cd']],
  ['text, last fragment empty', 0x1, ['ab', 'cd', '']],
  ['text, every fragment empty', 0x1, ['', '', '']],
  ['binary, first fragment empty', 0x2, [[], [1, 2], [3]]],
  ['binary, middle fragment empty', 0x2, [[1], [], [2, 3]]],
  ['binary, last fragment empty', 0x2, [[1, 2], [3], []]],
  ['binary, every fragment empty', 0x2, [[], []]],
];

for (const [name, opcode, parts] of EMPTY_FRAGMENTS) {
  test(`empty fragments are reassembled: ${name}`, async () => {
    const raw = await open('frag');
    raw.sendRaw(Buffer.concat(parts.map((p, i) => encodeFrame(i === 0 ? opcode : 0x0, Buffer.from(p),
      { fin: i === parts.length - 1 }))));
    const f = await raw.nextDataFrame();
    assert.equal(f.opcode, opcode);
    if (opcode === 0x1) assert.equal(f.payload.toString(), `Echo: ${parts.join('')}`);
    else assert.deepEqual([...f.payload], parts.flat());
    // and the session goes on
    raw.sendText('next');
    assert.equal((await raw.nextDataFrame()).payload.toString(), 'Echo: next');
    raw.destroy();
  });
}

// Every ping gets its pong, in order, even ten in one write (docs/protocol.md,
// "Pings from the client"; lws 4.1.6, which still serves TLS, dropped a ping
// that came while a pong was pending).
test('ten pings back to back: each gets its pong, in order', async () => {
  for (let run = 0; run < 5; run++) {
    const raw = await open(`pinger${run}`);
    const pongs = [];
    raw.onFrame = (f) => { if (f.opcode === 0xa) pongs.push(f.payload.toString()); };
    // one write, as a client that pings on several timers at once sends them
    raw.sendRaw(Buffer.concat(Array.from({ length: 10 }, (_, i) => encodeFrame(0x9, Buffer.from(`p${i}`)))));
    await waitFor(() => pongs.includes('p9'), 2000, { what: 'the pong for p9' })
      .finally(() => raw.destroy());
    assert.deepEqual(pongs, Array.from({ length: 10 }, (_, i) => `p${i}`));
  }
});

test('pings spaced a little apart each get their pong', async () => {
  const raw = await open('spaced');
  const pongs = [];
  raw.onFrame = (f) => { if (f.opcode === 0xa) pongs.push(f.payload.toString()); };
  for (let i = 0; i < 10; i++) {
    raw.sendFrame(0x9, Buffer.from(`s${i}`));
    await waitFor(() => pongs.includes(`s${i}`), 3000, { what: `the pong for s${i}` });
  }
  assert.deepEqual(pongs, Array.from({ length: 10 }, (_, i) => `s${i}`));
  raw.destroy();
});
