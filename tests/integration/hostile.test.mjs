// docs/security.md: no input from a client can crash herald or leak memory:
// hostile traffic against one ASan herald — garbage bytes, oversized and
// trickled handshakes, connection churn, a frame flood, pathological JSON,
// broken UTF-8, impossible frame lengths, protocol violations — after which
// herald still answers, and at stop() exits 0 with no sanitizer or leak
// report (LeakSanitizer runs at exit in the ASan build).
//
// --rate-limit 0 so that the flood is answered rather than cut off;
// --max-message-size 1 MiB so that 100k-deep JSON reaches the parser.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import {
  startHerald, connectReady, rawConnect, encodeFrame, httpGet, waitFor, sleep, upgradeRaw,
} from './harness.mjs';
import { rawExchange, statusLine } from './security-harness.mjs';

const MAX = 1 << 20;
let h;

before(async () => {
  h = await startHerald({ args: ['--rate-limit', '0', '--max-message-size', String(MAX)] });
});
after(async () => {
  if (h) await h.stop({ timeoutMs: 15000 });
});

/** herald is running and answers /health and an echo. */
async function assertServing(what) {
  assert.ok(h.alive(), `herald died (${what})\n${h.log().slice(-4000)}`);
  const res = await httpGet(`${h.http}/health`, { timeoutMs: 3000 });
  assert.equal(res.status, 200, `/health after ${what}`);
  const c = await connectReady(h.url, '/ws/checker');
  await c.sendJson({ type: 'echo', data: what, id: 'alive' });
  assert.deepEqual(await c.nextJson(), { type: 'echo', data: what, id: 'alive' });
  await c.close();
}

/** A raw WebSocket session past its welcome frame. */
async function rawSession(id = 'hostile') {
  const c = await rawConnect(h.port, `/ws/${id}`);
  const w = await c.nextDataFrame();
  assert.equal(JSON.parse(w.payload.toString()).type, 'welcome');
  return c;
}

/**
 * Send bytes on a fresh raw session and wait (bounded) for the server to
 * close it: a close frame, or the TCP connection dropped. (After a close
 * frame, lws may wait seconds for our answer, which it can take for payload
 * of a frame that claimed a huge length, so we do not wait for the drop.)
 * → {closeFrame, dataFrames, closed}
 */
async function sendAndExpectClose(bytes, timeoutMs = 5000) {
  const c = await rawSession();
  const data = [];
  let gotClose;
  const closeFrame = new Promise((resolve) => { gotClose = resolve; });
  c.onFrame = (f) => {
    if (f.opcode === 0x1 || f.opcode === 0x2) data.push(f);
    if (f.opcode === 0x8) gotClose();
  };
  c.socket.write(bytes);
  await Promise.race([closeFrame, c.closed(timeoutMs).catch(() => {})]);
  await sleep(20); // a data frame sent before the close would be here by now
  const r = { closeFrame: c.closeFrame, dataFrames: data, closed: c.closeFrame !== null || c.socketClosed };
  c.destroy();
  return r;
}

/** One message on a fresh session → its reply as a string. */
async function roundTrip(text, timeoutMs = 10000) {
  const c = await connectReady(h.url, '/ws/deep');
  await c.send(text);
  const reply = await c.next(timeoutMs);
  await c.close();
  return reply;
}

/** A masked frame header for opcode with a 64-bit length, a mask key and some payload. */
function frameWith64BitLength(opcode, length) {
  const b = Buffer.alloc(10);
  b[0] = 0x80 | opcode;
  b[1] = 0x80 | 127;
  b.writeBigUInt64BE(length, 2);
  // 8 KB of payload: more than lws's 4 KB receive buffer, so it must hand
  // herald a piece (or fail the frame) instead of waiting for more
  return Buffer.concat([b, randomBytes(4), randomBytes(8192)]);
}

describe('garbage before the handshake', () => {
  test('random bytes on raw TCP (8 connections x 8 KB) are refused and hung up', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => {
      const junk = randomBytes(8192);
      // half start like a request line, so the garbage lands in the headers
      const data = i % 2 ? Buffer.concat([Buffer.from('GET / HTTP/1.1\r\n'), junk]) : junk;
      return rawExchange(h.port, data, { timeoutMs: 5000 });
    }));
    for (const [i, r] of results.entries()) {
      assert.ok(r.closedByServer, `connection ${i} not closed by herald`);
      const line = statusLine(r.data);
      if (i % 2) {
        // junk starting with a bare LF ends the headers of "GET /" (lws
        // accepts LF line ends), which may then be served: only no upgrade
        assert.ok(!/^HTTP\/1\.[01] 101/.test(line), `connection ${i} answered ${JSON.stringify(line)}`);
      } else {
        assert.ok(r.data.length === 0 || /^HTTP\/1\.[01] 4\d\d /.test(line), `connection ${i} answered ${JSON.stringify(line)}`);
      }
    }
    await assertServing('random bytes');
  });

  test('a 100 KB request header, a 100 KB URL and 5,000 headers get no 2xx/101 and are hung up', async () => {
    const big = 'a'.repeat(100 * 1024);
    const reqs = {
      'header on GET /health': `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${big}\r\n\r\n`,
      'header on an upgrade': 'GET /ws/alice HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nX-Big: ${big}\r\n\r\n`,
      'URL': `GET /${big} HTTP/1.1\r\nHost: x\r\n\r\n`,
      'query on /ws/alice': 'GET /ws/alice?channels=' + 'a,'.repeat(50 * 1024) + ' HTTP/1.1\r\nHost: x\r\n' +
        'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      '5000 headers': 'GET /health HTTP/1.1\r\nHost: x\r\n' + 'X-A: b\r\n'.repeat(5000) + '\r\n',
    };
    for (const [name, req] of Object.entries(reqs)) {
      const r = await rawExchange(h.port, req, { timeoutMs: 5000 });
      const line = statusLine(r.data);
      assert.ok(!/^HTTP\/1\.[01] (2\d\d|101)/.test(line), `${name}: answered ${line}`);
      assert.ok(r.closedByServer, `${name}: left open`);
    }
    await assertServing('huge headers');
  });

  test('unknown Upgrade values (the CVE-2025-11677 path), alone and pipelined, never upgrade', async () => {
    // lws answers some of these itself and then hands herald's
    // CONFIRM_UPGRADE handler a header it may have released: ASan would
    // report a use-after-free at stop().
    const wsHeaders = 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n';
    const values = ['foo', 'h2c', 'websocket2', 'foo, websocket', 'h2c, websocket', 'TLS/1.2', 'x'.repeat(3000)];
    const next = 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n';
    const jobs = [];
    for (let round = 0; round < 5; round++) {
      for (const v of values) {
        for (const path of ['/health', '/ws/alice', '/']) {
          const req = `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: ${v}\r\n${wsHeaders}\r\n`;
          jobs.push(rawExchange(h.port, round % 2 ? req + next + next : req, { timeoutMs: 5000 })
            .then((r) => ({ v, path, r })));
        }
      }
    }
    for (const { v, path, r } of await Promise.all(jobs)) {
      const text = r.data.toString('latin1');
      assert.ok(!/^HTTP\/1\.[01] 101/m.test(text), `Upgrade: ${v.slice(0, 20)} on ${path} answered 101`);
      assert.ok(r.closedByServer, `Upgrade: ${v.slice(0, 20)} on ${path} left open`);
    }
    await assertServing('unknown upgrades');
  });

  // Known lws 4.1.6 gap (docs/security.md): a request pipelined behind a
  // static file gets lws's 403. Kept visible as a todo, not hidden.
  test('pipelined requests are answered in order, or the connection is closed, never wrongly',
    { todo: 'lws 4.1.6 answers a request pipelined behind a static file with 403' }, async () => {
    const get = (p) => `GET ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\n\r\n`;
    for (const seq of [['/health', '/health', '/metrics'], ['/api/stats', '/health'], ['/', '/health'], ['/index.html', '/']]) {
      const count = (buf) => (buf.toString('latin1').match(/HTTP\/1\.[01] \d{3}/g) || []).length;
      const r = await rawExchange(h.port, seq.map(get).join(''), { timeoutMs: 3000, until: (buf) => count(buf) === seq.length });
      const statuses = (r.data.toString('latin1').match(/HTTP\/1\.[01] \d{3}/g) || []).map((x) => Number(x.slice(-3)));
      assert.ok(statuses.length >= 1, `${seq.join(' + ')}: no answer`);
      assert.deepEqual(statuses, statuses.map(() => 200), `${seq.join(' + ')} answered ${statuses.join(', ')}`);
      assert.ok(statuses.length === seq.length || r.closedByServer,
        `${seq.join(' + ')}: ${statuses.length} of ${seq.length} answered and the connection left open`);
    }
  });

  test('a slowloris handshake does not stop herald serving others', async () => {
    const slow = await Promise.all(Array.from({ length: 20 }, () => new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port: h.port }, () => {
        s.write('GET /ws/alice HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
        resolve(s);
      });
      s.on('error', reject);
    })));
    const answered = [];
    for (const s of slow) s.on('data', (d) => answered.push(d.toString('latin1')));
    const trickle = setInterval(() => { for (const s of slow) if (!s.destroyed) s.write('a'); }, 100);
    try {
      const t0 = Date.now();
      let rounds = 0;
      while (Date.now() - t0 < 3000) {
        const t = Date.now();
        await assertServing(`slowloris round ${rounds}`);
        assert.ok(Date.now() - t < 2000, `serving took ${Date.now() - t} ms with slowloris clients`);
        rounds++;
        await sleep(200);
      }
      assert.ok(rounds >= 3, `only ${rounds} rounds`);
      assert.deepEqual(answered, [], 'a half-sent handshake got an answer');
      assert.ok(slow.every((s) => !s.destroyed), 'herald dropped a trickling handshake within 3 s');
    } finally {
      clearInterval(trickle);
      for (const s of slow) s.destroy();
    }
  });
});

describe('connection churn', () => {
  test('2,000 connections opened and dropped (batches of 200) leave no session behind', async () => {
    const kinds = [
      // TCP connect, then drop
      () => new Promise((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port: h.port }, () => { s.destroy(); resolve(); });
        s.on('error', resolve);
      }),
      // half a handshake, then drop
      () => new Promise((resolve) => {
        const s = net.connect({ host: '127.0.0.1', port: h.port }, () => {
          s.write('GET /ws/churn HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n');
          setTimeout(() => { s.destroy(); resolve(); }, 5);
        });
        s.on('error', resolve);
      }),
      // full upgrade, then drop without a close frame (sometimes mid-message)
      async () => {
        const c = await rawConnect(h.port, '/ws/churn');
        if (Math.random() < 0.5) c.socket.write(encodeFrame(0x1, Buffer.from('{"type":"echo","data":"'), { fin: false }));
        c.destroy();
      },
      // full upgrade, one message, then a clean-ish close frame and drop
      async () => {
        const c = await rawConnect(h.port, '/ws/churn');
        c.sendText('{"type":"subscribe","channel":"churn"}');
        c.sendFrame(0x8, Buffer.from([0x03, 0xe8]));
        c.destroy();
      },
    ];
    let n = 0;
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(Array.from({ length: 200 }, () => kinds[n++ % kinds.length]()));
    }
    assert.equal(n, 2000);
    await waitFor(async () => (await httpGet(`${h.http}/health`)).json.connections === 0, 10000,
      { what: '/health connections back to 0 after the churn' });
    await assertServing('2,000 connections');
  });
});

describe('floods and pathological messages', () => {
  test('10,000 tiny frames in one write are each answered, in order', async () => {
    const c = await rawSession('flood');
    const N = 10000;
    let count = 0;
    let bad = null;
    const done = new Promise((resolve) => {
      c.onFrame = (f) => {
        if (f.opcode !== 0x1) return;
        if (f.payload.toString() !== `Echo: ${count % 10}` && !bad) bad = `reply ${count}: ${f.payload}`;
        if (++count === N) resolve();
      };
    });
    const frames = [];
    for (let i = 0; i < N; i++) frames.push(encodeFrame(0x1, Buffer.from(String(i % 10))));
    c.socket.write(Buffer.concat(frames));
    await Promise.race([done, c.closed(30000).then(() => { throw new Error(`closed after ${count} replies`); })]);
    assert.equal(bad, null, bad);
    assert.equal(count, N);
    assert.ok(!c.socketClosed);
    c.destroy();
    await assertServing('frame flood');
  });

  test('100k-deep [[[…]]] is echoed as text', async () => {
    const text = '['.repeat(100000) + ']'.repeat(100000);
    assert.equal(await roundTrip(text), `Echo: ${text}`);
  });

  test('100k-deep {"a":{"a":…}} is over the parser depth: echoed as text', async () => {
    const text = '{"a":'.repeat(100000) + '1' + '}'.repeat(100000);
    assert.equal(await roundTrip(text), `Echo: ${text}`);
  });

  test('{"type":"echo","data":[[…]]} 5000 deep is over the parser depth: echoed as text', async () => {
    const text = `{"type":"echo","data":${'['.repeat(5000)}${']'.repeat(5000)}}`;
    assert.equal(await roundTrip(text), `Echo: ${text}`);
  });

  test('{"type":"echo","data":[[…]]} 2000 deep (within the parser depth) is echoed as JSON', async () => {
    const data = '['.repeat(2000) + ']'.repeat(2000);
    const reply = await roundTrip(`{"type":"echo","data":${data},"id":1}`);
    assert.equal(reply, `{"type":"echo","data":${data},"id":1}`);
  });

  test('numbers out of range are echoed as text; in-range ones as JSON', async () => {
    const digits400 = '9'.repeat(400);
    for (const n of ['1e999999', '-1e999999', digits400, `-${digits400}`, '1e309']) {
      const text = `{"type":"echo","data":${n}}`;
      assert.equal(await roundTrip(text), `Echo: ${text}`, `data ${n.slice(0, 20)}`);
      const idText = `{"type":"ping","id":${n}}`;
      assert.equal(await roundTrip(idText), `Echo: ${idText}`, `id ${n.slice(0, 20)}`);
    }
    // 300 digits with a fraction is a finite double
    const digits300 = '9'.repeat(300);
    const big = JSON.parse(await roundTrip(`{"type":"echo","data":${digits300}.5}`));
    assert.equal(big.type, 'echo');
    assert.equal(big.data, Number(`${digits300}.5`));
    // underflow is zero
    const tiny = JSON.parse(await roundTrip('{"type":"echo","data":1e-999999}'));
    assert.deepEqual(tiny, { type: 'echo', data: 0 });
  });

  test('60 KB strings (ASCII, multi-byte, escapes, NULs) are echoed exactly', async () => {
    for (const s of ['x'.repeat(60000), 'é✓'.repeat(12000), '😀'.repeat(15000), '\u0000'.repeat(10000), '"\\\n'.repeat(15000)]) {
      const reply = JSON.parse(await roundTrip(JSON.stringify({ type: 'echo', data: s, id: 's' })));
      assert.deepEqual(reply, { type: 'echo', data: s, id: 's' }, `string of ${s.slice(0, 2)}`);
    }
    // escaped surrogate pairs decode to the character
    const esc = '\\ud83d\\ude00'.repeat(5000);
    const r = JSON.parse(await roundTrip(`{"type":"echo","data":"${esc}"}`));
    assert.equal(r.data, '😀'.repeat(5000));
    // a lone escaped surrogate is not valid JSON text: echoed as text
    const lone = '{"type":"echo","data":"\\ud800"}';
    assert.equal(await roundTrip(lone), `Echo: ${lone}`);
    // a 60 KB string as the type
    const ty = JSON.stringify({ type: 'x'.repeat(60000), id: 1 });
    assert.deepEqual(JSON.parse(await roundTrip(ty)), { type: 'error', code: 'unknown_type', message: 'unknown message type', id: 1 });
  });

  test('wide objects: 10,000 keys, a 60 KB key, duplicate keys', async () => {
    const wide = {};
    for (let i = 0; i < 10000; i++) wide[`k${i}`] = i;
    assert.deepEqual(JSON.parse(await roundTrip(JSON.stringify({ type: 'echo', data: wide }))), { type: 'echo', data: wide });
    const longKey = { ['k'.repeat(60000)]: true };
    assert.deepEqual(JSON.parse(await roundTrip(JSON.stringify({ type: 'echo', data: longKey }))), { type: 'echo', data: longKey });
    const dup = JSON.parse(await roundTrip('{"type":"echo","data":1,"data":2,"id":3}'));
    assert.equal(dup.type, 'error');
    assert.equal(dup.code, 'bad_request');
    await assertServing('pathological JSON');
  });
});

describe('broken frames (raw WebSocket)', () => {
  const utf8Cases = {
    'bytes ff fe': [Buffer.from([0xff, 0xfe])],
    'overlong "/" (c0 af)': [Buffer.from([0x61, 0xc0, 0xaf])],
    'UTF-16 surrogate (ed a0 80)': [Buffer.from([0xed, 0xa0, 0x80])],
    'above U+10FFFF (f4 90 80 80)': [Buffer.from([0xf4, 0x90, 0x80, 0x80])],
    'truncated sequence at the end (e2 82)': [Buffer.from([0x61, 0xe2, 0x82])],
    'invalid byte inside a JSON string': [Buffer.concat([Buffer.from('{"type":"echo","data":"'), Buffer.from([0xfe]), Buffer.from('"}')])],
    'invalid continuation in a later fragment': [Buffer.from('é'), Buffer.from([0x80, 0x80])],
  };
  for (const [name, parts] of Object.entries(utf8Cases)) {
    test(`invalid UTF-8 in a text message (${name}) → close 1007, nothing echoed`, async () => {
      const frames = parts.map((p, i) => encodeFrame(i === 0 ? 0x1 : 0x0, p, { fin: i === parts.length - 1 }));
      const r = await sendAndExpectClose(Buffer.concat(frames));
      assert.ok(r.closed, 'not closed');
      assert.equal(r.closeFrame && r.closeFrame.code, 1007, `close frame ${JSON.stringify(r.closeFrame)}`);
      assert.deepEqual(r.dataFrames.map((f) => f.payload.toString()), []);
    });
  }

  for (const [name, len] of [['2^63-1', (1n << 63n) - 1n], ['2^32', 1n << 32n], [`${MAX} + 1`, BigInt(MAX + 1)]]) {
    test(`a binary frame claiming ${name} bytes → close 1009 (over --max-message-size)`, async () => {
      const r = await sendAndExpectClose(frameWith64BitLength(0x2, len));
      assert.ok(r.closed, 'not closed');
      assert.deepEqual(r.closeFrame, { code: 1009, reason: 'message too big' });
      assert.deepEqual(r.dataFrames, []);
    });
  }

  for (const [name, op, len] of [
    ['text 2^63', 0x1, 1n << 63n], ['binary 2^63', 0x2, 1n << 63n], ['binary 2^64-1', 0x2, (1n << 64n) - 1n],
    ['text 2^63-1', 0x1, (1n << 63n) - 1n],
  ]) {
    test(`a frame with a 64-bit length of ${name} is closed without echo`, async () => {
      const r = await sendAndExpectClose(frameWith64BitLength(op, len));
      assert.ok(r.closed, 'not closed');
      assert.deepEqual(r.dataFrames, []);
      if (r.closeFrame) assert.ok([1002, 1007, 1009].includes(r.closeFrame.code), `close ${JSON.stringify(r.closeFrame)}`);
    });
  }

  // herald's own connection enforces masking (over TLS, lws 4.1.6 does
  // not: docs/security.md)
  test('an unmasked client frame is a protocol error: closed with 1002, not echoed (RFC 6455 §5.1)', async () => {
    const r = await sendAndExpectClose(encodeFrame(0x1, Buffer.from('unmasked'), { mask: false }), 2000);
    assert.deepEqual(r.dataFrames.map((f) => f.payload.toString()), [], 'herald processed an unmasked frame');
    assert.ok(r.closed, 'herald kept the connection open after an unmasked frame');
    assert.equal(r.closeFrame && r.closeFrame.code, 1002, `close ${JSON.stringify(r.closeFrame)}`);
  });

  for (const op of [0x3, 0x4, 0x5, 0x6, 0x7, 0xb, 0xc, 0xd, 0xe, 0xf]) {
    test(`reserved opcode 0x${op.toString(16)} → close 1002`, async () => {
      const r = await sendAndExpectClose(encodeFrame(op, Buffer.from('x')));
      assert.ok(r.closed);
      assert.equal(r.closeFrame && r.closeFrame.code, 1002, `close ${JSON.stringify(r.closeFrame)}`);
      assert.deepEqual(r.dataFrames, []);
    });
  }

  test('RSV bits without an extension → close 1002', async () => {
    for (const rsv of [1, 2, 4]) {
      const r = await sendAndExpectClose(encodeFrame(0x1, Buffer.from('x'), { rsv }));
      assert.equal(r.closeFrame && r.closeFrame.code, 1002, `rsv ${rsv}: close ${JSON.stringify(r.closeFrame)}`);
      assert.deepEqual(r.dataFrames, []);
    }
  });

  test('a fragmented control frame (ping with FIN clear) → close 1002', async () => {
    const r = await sendAndExpectClose(Buffer.concat([
      encodeFrame(0x9, Buffer.from('pi'), { fin: false }), encodeFrame(0x0, Buffer.from('ng')),
    ]));
    assert.equal(r.closeFrame && r.closeFrame.code, 1002, `close ${JSON.stringify(r.closeFrame)}`);
  });

  test('a control frame over 125 bytes is closed', async () => {
    const r = await sendAndExpectClose(encodeFrame(0x9, Buffer.alloc(200, 0x61)));
    assert.ok(r.closed);
    if (r.closeFrame) assert.equal(r.closeFrame.code, 1002);
  });

  test('continuation without a start, and a new message inside a fragmented one → close 1002', async () => {
    const a = await sendAndExpectClose(encodeFrame(0x0, Buffer.from('orphan')));
    assert.equal(a.closeFrame && a.closeFrame.code, 1002, `orphan continuation: ${JSON.stringify(a.closeFrame)}`);
    assert.deepEqual(a.dataFrames, []);
    const b = await sendAndExpectClose(Buffer.concat([
      encodeFrame(0x1, Buffer.from('he'), { fin: false }), encodeFrame(0x1, Buffer.from('llo')),
    ]));
    assert.equal(b.closeFrame && b.closeFrame.code, 1002, `text inside text: ${JSON.stringify(b.closeFrame)}`);
    assert.deepEqual(b.dataFrames, []);
  });

  test('close frames with a bad code, 1 byte of payload, or a non-UTF-8 reason are closed', async () => {
    for (const [name, payload] of [
      ['code 999', Buffer.from([0x03, 0xe7])], ['code 1005', Buffer.from([0x03, 0xed])],
      ['one byte', Buffer.from([0x03])], ['bad reason', Buffer.from([0x03, 0xe8, 0xff, 0xfe])],
    ]) {
      const r = await sendAndExpectClose(encodeFrame(0x8, payload));
      assert.ok(r.closed, `${name}: not closed`);
    }
  });

  test('a ping between fragments of a message is answered and the message completes', async () => {
    const c = await rawSession('interleave');
    c.socket.write(Buffer.concat([
      encodeFrame(0x1, Buffer.from('hel'), { fin: false }),
      encodeFrame(0x9, Buffer.from('p')),
      encodeFrame(0x0, Buffer.from('lo')),
    ]));
    // RFC 6455 §5.5.2 asks for the pong "as soon as is practical", not
    // before other frames: herald writes the echo at once and lws sends the
    // pong on the next writable event, so either may come first.
    const frames = [await c.nextFrame(), await c.nextFrame()];
    const pong = frames.find((f) => f.opcode === 0xa);
    const echo = frames.find((f) => f.opcode === 0x1);
    assert.ok(pong && echo, `got opcodes ${frames.map((f) => f.opcode)}`);
    assert.equal(pong.payload.toString(), 'p');
    assert.equal(echo.payload.toString(), 'Echo: hello');
    c.destroy();
  });

  test('random bytes after the handshake (8 sessions x 8 KB) do not hurt herald', async () => {
    await Promise.all(Array.from({ length: 8 }, async () => {
      const c = await rawSession('junk');
      c.socket.write(randomBytes(8192));
      await Promise.race([c.closed(500).catch(() => {}), sleep(500)]);
      c.destroy();
    }));
    await assertServing('random frames');
  });
});

test('afterwards herald answers echo and /health, with no session left', async () => {
  await assertServing('all hostile input');
  await waitFor(async () => (await httpGet(`${h.http}/health`)).json.connections === 0, 10000,
    { what: 'connections back to 0' });
  const res = await upgradeRaw(h.port, '/ws/final');
  assert.equal(res.status, 101);
});
