// docs/protocol.md "HTTP": POST /api/publish is
// decided from its headers when its body cannot change the answer: a body
// without a length (Transfer-Encoding: chunked) gets 411, a Content-Length
// over the bound 413, an unauthorized caller 401, each at once, before any
// of the body is sent, and herald closes the connection. Raw sockets, so
// that nothing but the headers is on the wire.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startHerald, httpPost, connectReady } from './harness.mjs';

const KEY = 'k'.repeat(32);
const MAX = 4096;
let open; // herald without --api-key: loopback callers may publish
let keyed; // herald with --api-key

before(async () => {
  open = await startHerald({ args: ['--max-message-size', String(MAX)] });
  keyed = await startHerald({ args: ['--api-key', KEY] });
});
after(async () => {
  if (open) await open.stop();
  if (keyed) await keyed.stop();
});

/**
 * Writes head (and then body, if any) on a raw socket and reads until herald
 * answers and closes: {status, body, ms, closed}. Never sends more than given.
 */
function rawPost(port, head, body = '', timeoutMs = 3000) {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.write(head);
      if (body) s.write(body);
    });
    let buf = '';
    let status = null;
    let answeredMs = null;
    const timer = setTimeout(() => {
      s.destroy();
      if (status === null) reject(new Error(`no answer within ${timeoutMs} ms: ${JSON.stringify(buf)}`));
      else resolve({ status, body: buf.split('\r\n\r\n')[1], ms: answeredMs, closed: false });
    }, timeoutMs);
    s.setEncoding('latin1');
    s.on('data', (c) => {
      buf += c;
      const m = buf.match(/^HTTP\/1\.1 (\d{3})/);
      if (m && status === null) { status = Number(m[1]); answeredMs = Date.now() - t0; }
    });
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      if (status === null) reject(new Error(`closed without an answer: ${JSON.stringify(buf)}`));
      else resolve({ status, body: buf.split('\r\n\r\n')[1], ms: answeredMs, closed: true });
    });
  });
}

const head = (port, headers) => `POST /api/publish HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
  `Content-Type: application/json\r\n${headers.map((h) => h + '\r\n').join('')}\r\n`;

test('a chunked body is answered 411 at once, before it ends', async () => {
  const r = await rawPost(open.port, head(open.port, ['Transfer-Encoding: chunked']), '5\r\n{"cha\r\n');
  assert.equal(r.status, 411);
  assert.match(r.body, /Content-Length is required/);
  assert.ok(r.ms < 1500, `answered after ${r.ms} ms`);
  assert.ok(r.closed, 'the connection stays open after a 411');
});

test('Content-Length: 100000000 with no body yet is answered 413 at once', async () => {
  const r = await rawPost(open.port, head(open.port, ['Content-Length: 100000000']));
  assert.equal(r.status, 413);
  assert.deepEqual(JSON.parse(r.body), { error: 'body too large' });
  assert.ok(r.ms < 1500, `answered after ${r.ms} ms`);
  assert.ok(r.closed);
});

test('a Content-Length one byte over the bound is 413; at the bound the body is read', async () => {
  const over = await rawPost(open.port, head(open.port, [`Content-Length: ${MAX + 1024 + 1}`]));
  assert.equal(over.status, 413);
  // exactly at the bound: herald waits for the body and then judges it
  const body = JSON.stringify({ channel: 'c', data: 'x'.repeat(100) }).padEnd(MAX + 1024, ' ');
  const ok = await rawPost(open.port, head(open.port, [`Content-Length: ${body.length}`]), body);
  assert.equal(ok.status, 202);
});

test('an unauthorized caller is refused 401 before its body is sent', async () => {
  for (const auth of [[], ['Authorization: Bearer wrong']]) {
    const r = await rawPost(keyed.port, head(keyed.port, ['Content-Length: 50000', ...auth]));
    assert.equal(r.status, 401, auth.join());
    assert.deepEqual(JSON.parse(r.body), { error: 'missing or wrong API key' });
    assert.ok(r.ms < 1500, `answered after ${r.ms} ms`);
    assert.ok(r.closed);
  }
  // and with a body already on its way, the same answer
  const r = await rawPost(keyed.port, head(keyed.port, ['Content-Length: 30']), '{"channel":"c","data":1}');
  assert.equal(r.status, 401);
});

test('the right key still publishes, and keep-alive requests after it work', async () => {
  const c = await connectReady(keyed.url, '/ws/reader');
  await c.sendJson({ type: 'subscribe', channel: 'news' });
  await c.nextJson();
  const res = await httpPost(`${keyed.http}/api/publish`, { channel: 'news', data: 1 },
    { headers: { Authorization: `Bearer ${KEY}` } });
  assert.equal(res.status, 202);
  const m = await c.nextJson();
  assert.equal(m.data, 1);
  await c.close();
  // herald is fine after the refusals
  assert.equal((await httpPost(`${open.http}/api/publish`, { channel: 'c', data: 2 })).status, 202);
});

test('publishes on one keep-alive connection (as curl sends them) are answered one after another', async () => {
  // lws rebinds the protocol after a keep-alive transaction, freeing the
  // request's data: herald read it afterwards (a use-after-free in ASan)
  const s = net.connect({ host: '127.0.0.1', port: open.port });
  await new Promise((r) => s.once('connect', r));
  let buf = '';
  s.setEncoding('latin1');
  s.on('data', (c) => { buf += c; });
  for (let i = 1; i <= 3; i++) {
    const body = JSON.stringify({ channel: 'ka', data: i });
    s.write(head(open.port, [`Content-Length: ${body.length}`]) + body);
    const deadline = Date.now() + 3000;
    while ((buf.match(/HTTP\/1\.1 202/g) || []).length < i && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal((buf.match(/HTTP\/1\.1 202/g) || []).length, i, `answer ${i}: ${JSON.stringify(buf)}`);
  }
  s.destroy();
});
