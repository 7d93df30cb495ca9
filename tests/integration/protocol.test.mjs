// docs/protocol.md "Close codes": protocol errors get lws's answer, and no
// input from a client can crash herald: WebSocket protocol violations close the offending
// connection (whatever the code) and herald keeps serving everyone else.
// stop() in `after` then checks that no sanitizer report was printed.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startHerald, connectReady, rawConnect, httpGet, encodeFrame } from './harness.mjs';

let h;
let witness;

before(async () => {
  h = await startHerald();
  witness = await connectReady(h.url, '/ws/witness');
});
after(async () => {
  if (witness) await witness.close();
  if (h) await h.stop();
});

async function assertHealthy() {
  assert.equal((await httpGet(`${h.http}/health`)).status, 200);
  await witness.sendJson({ type: 'ping' });
  assert.deepEqual(await witness.nextJson(), { type: 'pong' });
}

// Each case: bytes written after the handshake and welcome; the connection
// must be closed by herald.
const violations = {
  'reserved opcode 0x3': () => encodeFrame(0x3, Buffer.from('x')),
  'reserved opcode 0xB (control)': () => encodeFrame(0xb, Buffer.from('x')),
  'RSV1 set without an extension': () => encodeFrame(0x1, Buffer.from('hello'), { rsv: 4 }),
  'continuation without a start': () => encodeFrame(0x0, Buffer.from('orphan')),
  'new text frame inside a fragmented message': () => Buffer.concat([
    encodeFrame(0x1, Buffer.from('part'), { fin: false }),
    encodeFrame(0x1, Buffer.from('again')),
  ]),
  'ping with a 126-byte payload': () => encodeFrame(0x9, Buffer.alloc(126, 0x61)),
  'fragmented ping': () => encodeFrame(0x9, Buffer.from('x'), { fin: false }),
  'close with a 1-byte payload': () => encodeFrame(0x8, Buffer.from([0x03])),
  'close with invalid code 999': () => encodeFrame(0x8, Buffer.from([0x03, 0xe7])),
  'close with invalid UTF-8 reason': () => encodeFrame(0x8, Buffer.from([0x03, 0xe8, 0xc3, 0x28])),
  '64-bit length with the top bit set': () => Buffer.from([0x81, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4]),
};

for (const [name, bytes] of Object.entries(violations)) {
  test(`protocol violation closes the connection: ${name}`, async () => {
    const raw = await rawConnect(h.port, '/ws/bad');
    assert.equal(JSON.parse((await raw.nextDataFrame()).payload.toString()).type, 'welcome');
    raw.sendRaw(bytes());
    await raw.closed(5000);
    const data = raw.frames.filter((f) => f.opcode === 0x1 || f.opcode === 0x2);
    assert.deepEqual(data.map((f) => f.payload.toString()), [], 'herald answered the invalid frame');
    if (raw.closeFrame) assert.notEqual(raw.closeFrame.code, 1000, 'a protocol error closed with 1000 (normal)');
    await assertHealthy();
  });
}

test('unmasked client frames, truncated frames and garbage do not harm herald', async () => {
  // unmasked text frame (RFC 6455 requires masking from clients)
  const a = await rawConnect(h.port, '/ws/unmasked');
  await a.nextDataFrame();
  a.socket.write(encodeFrame(0x1, Buffer.from('hello'), { mask: false }));
  // truncated frame, then the TCP connection goes away
  const b = await rawConnect(h.port, '/ws/truncated');
  await b.nextDataFrame();
  b.socket.write(encodeFrame(0x1, Buffer.alloc(1000, 0x61)).subarray(0, 300));
  b.destroy();
  // garbage instead of an HTTP request
  await new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port: h.port }, () => {
      s.end(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0, 1, 2, 3, 0xff, 0xfe, 0x0d, 0x0a, 0x0d, 0x0a]));
    });
    s.on('close', resolve);
    s.on('error', () => {}); // a reset from herald is a fine answer to garbage
    s.resume();
    s.setTimeout(6000, () => s.destroy());
  });
  // half a handshake, then the peer vanishes
  await new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port: h.port }, () => {
      s.write('GET /ws/half HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n');
      setImmediate(() => { s.destroy(); resolve(); });
    });
  });
  a.destroy();
  await assertHealthy();
});

// A session on path closes with 1000 and reason: its close comes back, 1000.
async function closeIsEchoed(path, reason) {
  const raw = await rawConnect(h.port, path);
  await raw.nextDataFrame();
  raw.sendFrame(0x8, Buffer.concat([Buffer.from([0x03, 0xe8]), reason]));
  const f = await raw.nextDataFrame();
  assert.equal(f.opcode, 0x8);
  assert.equal(f.payload.readUInt16BE(0), 1000);
  await raw.closed(5000);
}

// A session on path pings with payload: the pong carries the same bytes.
async function pingIsAnswered(path, payload) {
  const raw = await rawConnect(h.port, path);
  await raw.nextDataFrame();
  raw.sendFrame(0x9, payload);
  const f = await raw.nextFrame();
  assert.equal(f.opcode, 0xa);
  assert.deepEqual(f.payload, payload);
  raw.destroy();
}

test('a client that closes normally gets its close echoed with 1000', async () => {
  await closeIsEchoed('/ws/polite', Buffer.from('bye'));
});

test('a ping from the client gets a pong with the same payload', async () => {
  await pingIsAnswered('/ws/pinger', Buffer.from('are you there'));
});

// herald reads with a 128-byte lws buffer (memory per idle session): the
// largest control frames and messages of a few buffers must come out whole.
test('a 125-byte ping gets all 125 bytes back in its pong', async () => {
  await pingIsAnswered('/ws/bigpinger', Buffer.from('p'.repeat(124) + 'q'));
});

test('a close with a 123-byte reason is answered with one close frame', async () => {
  await closeIsEchoed('/ws/longbye', Buffer.alloc(123, 0x62));
});

test('messages of 127 to 1,000 bytes are echoed whole, one after another', async () => {
  const raw = await rawConnect(h.port, '/ws/sizes');
  await raw.nextDataFrame();
  const sizes = [127, 128, 129, 255, 256, 257, 1000];
  const texts = sizes.map((n, i) => String(i).padEnd(n, 'abcdefghij'));
  for (const t of texts) raw.sendFrame(0x1, Buffer.from(t));
  for (const t of texts) {
    const f = await raw.nextDataFrame();
    assert.equal(f.payload.toString(), `Echo: ${t}`);
  }
  raw.destroy();
});
