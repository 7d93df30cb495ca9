// herald's own WebSocket connection on plain TCP (docs/design.md, "Herald's
// own WebSocket"): the forms of upgrade it answers itself, and that what it
// hands to lws (the HTTP API) is served as before.
//  - the 101 and the welcome arrive together, with the subprotocol echoed;
//  - frames a client writes right behind its request are its first frames;
//  - a request head that comes in pieces is served;
//  - an HTTP request with a body, in the same write as its head, reaches
//    the HTTP API whole;
//  - a request that is not a plain upgrade (an escape in the path) is still
//    answered, by lws.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { startHerald, encodeFrame, sleep } from './harness.mjs';

let h;

before(async () => {
  h = await startHerald();
});
after(async () => {
  if (h) await h.stop();
});

function upgradeHead(path, extra = '') {
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n` +
    `Connection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n` +
    `Sec-WebSocket-Version: 13\r\n${extra}\r\n`;
}

// Reads the HTTP response head, then unmasked server frames as they come.
function reader(socket) {
  let buf = Buffer.alloc(0);
  let head = null;
  const frames = [];
  const waiters = [];
  const wake = () => { for (const w of waiters.splice(0)) w(); };
  socket.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    if (!head) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      head = buf.subarray(0, end).toString();
      buf = buf.subarray(end + 4);
    }
    for (;;) {
      if (buf.length < 2) break;
      let len = buf[1] & 0x7f, off = 2;
      if (len === 126) { if (buf.length < 4) break; len = buf.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (buf.length < 10) break; len = Number(buf.readBigUInt64BE(2)); off = 10; }
      if (buf.length < off + len) break;
      frames.push({ opcode: buf[0] & 0x0f, payload: buf.subarray(off, off + len) });
      buf = buf.subarray(off + len);
    }
    wake();
  });
  socket.on('close', wake);
  return {
    get head() { return head; },
    frames,
    async frame(i, ms = 3000) {
      const until = Date.now() + ms;
      while (frames.length <= i) {
        if (Date.now() > until || socket.destroyed) throw new Error(`no frame ${i} (head: ${head})`);
        await new Promise((r) => { waiters.push(r); setTimeout(r, 50); });
      }
      return frames[i];
    },
  };
}

function dial() {
  return new Promise((resolve, reject) => {
    const s = net.connect(h.port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
}

test('the 101 and the welcome arrive together; the subprotocol herald is echoed', async () => {
  const s = await dial();
  const r = reader(s);
  const first = new Promise((resolve) => s.once('data', resolve));
  s.write(upgradeHead('/ws/together', 'Sec-WebSocket-Protocol: herald\r\n'));
  const chunk = (await first).toString();
  assert.match(chunk, /^HTTP\/1\.1 101 /);
  assert.match(chunk, /\r\nSec-WebSocket-Protocol: herald\r\n/i);
  assert.match(chunk, /"type":"welcome"/, 'the welcome came in the same read as the 101');
  assert.equal(JSON.parse((await r.frame(0)).payload).type, 'welcome');
  s.destroy();
});

test('frames written right behind the request are its first frames', async () => {
  const s = await dial();
  const r = reader(s);
  s.write(Buffer.concat([
    Buffer.from(upgradeHead('/ws/eager')),
    encodeFrame(0x1, Buffer.from(JSON.stringify({ type: 'ping', id: 1 }))),
    encodeFrame(0x1, Buffer.from(JSON.stringify({ type: 'ping', id: 2 }))),
  ]));
  assert.equal(JSON.parse((await r.frame(0)).payload).type, 'welcome');
  assert.deepEqual(JSON.parse((await r.frame(1)).payload), { type: 'pong', id: 1 });
  assert.deepEqual(JSON.parse((await r.frame(2)).payload), { type: 'pong', id: 2 });
  s.destroy();
});

test('a request head that comes in pieces is served', async () => {
  const s = await dial();
  const r = reader(s);
  const head = upgradeHead('/ws/pieces');
  for (const piece of [head.slice(0, 3), head.slice(3, 30), head.slice(30, -2), head.slice(-2)]) {
    s.write(piece);
    await sleep(60);
  }
  assert.equal(JSON.parse((await r.frame(0)).payload).type, 'welcome');
  s.write(encodeFrame(0x1, Buffer.from(JSON.stringify({ type: 'ping', id: 'p' }))));
  assert.deepEqual(JSON.parse((await r.frame(1)).payload), { type: 'pong', id: 'p' });
  s.destroy();
});

test('an HTTP request with its body in the same write reaches the HTTP API whole', async () => {
  const s = await dial();
  const body = JSON.stringify({ channel: 'news', data: { n: 1 } });
  const res = new Promise((resolve) => {
    let text = '';
    s.on('data', (d) => { text += d; if (/\r\n\r\n[\s\S]*\}/.test(text)) resolve(text); });
  });
  s.write(`POST /api/publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${body.length}\r\n\r\n${body}`);
  const text = await res;
  assert.match(text, /^HTTP\/1\.1 202/, text);
  assert.match(text, /"published":true/);
  s.destroy();
});

test('an upgrade herald leaves to lws (an escape in the path) is still answered', async () => {
  const s = await dial();
  const r = reader(s);
  s.write(upgradeHead('/ws/esc%41ped'));
  assert.equal(JSON.parse((await r.frame(0)).payload).client_id, 'escAped');
  assert.match(r.head, /^HTTP\/1\.1 101 /);
  s.destroy();
});

function cpuTicks(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]); // utime + stime
}

test('a head in pieces that lws answers, with bytes behind it, is answered and costs no CPU after', async () => {
  // lws 4.1.6 given bytes herald had read spun its loop on the ones left
  // over: herald only peeks until it knows, so lws reads everything itself
  const socks = [];
  for (const tail of ['GET /health HTTP/1.1\r\nHost: x\r\n\r\n', '']) {
    const s = await dial();
    socks.push(s);
    const first = new Promise((resolve) => s.once('data', resolve));
    s.write('GET /ws/esc%41 HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    await sleep(100);
    s.write(upgradeHead('/ws/x').split('\r\n').slice(2).join('\r\n') + tail);
    assert.match((await first).toString(), /^HTTP\/1\.1 101 /);
  }
  const s = await dial();
  socks.push(s);
  const first = new Promise((resolve) => s.once('data', resolve));
  s.write('GET /ws/b HTTP/1.1\r\nHost: 127.0.0.1\r\n');
  await sleep(100);
  s.write('Content-Length: 5\r\n\r\nhello');
  assert.match((await first).toString(), /^HTTP\/1\.1 4\d\d /);
  await sleep(300);
  const t0 = cpuTicks(h.pid);
  await sleep(1000);
  const used = cpuTicks(h.pid) - t0; // clock ticks (100 a second)
  assert.ok(used < 30, `herald used ${used} ticks of CPU in 1 s with nothing to do`);
  for (const x of socks) x.destroy();
});
