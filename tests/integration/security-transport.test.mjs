// docs/security.md "TLS" (wss://, --tls-cert/--tls-key, only http/1.1 in
// ALPN, no h2 of lws 4.1.6 reachable, plaintext h2c refused, CONNECT
// refused): TLS with a self-signed certificate made by the openssl CLI,
// TLS versions, ALPN, HTTP/2 in every form, and bad TLS configuration.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import tls from 'node:tls';
import {
  startHerald, connect, connectReady, httpGet, runHerald, upgradeRaw,
} from './harness.mjs';
import {
  makeCertDir, startTlsHerald, httpsGet, rawExchange, statusLine, writeFileIn,
} from './security-harness.mjs';

let certs;
let h; // TLS herald

before(async () => {
  certs = makeCertDir();
  h = await startTlsHerald({ args: ['--tls-cert', certs.cert, '--tls-key', certs.key] });
});
after(async () => {
  try {
    if (h) await h.stop();
  } finally {
    if (certs) certs.cleanup();
  }
});

/** A TLS handshake with opts → {ok, protocol, alpn, code}. */
function tlsHandshake(port, opts) {
  return new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...opts });
    const timer = setTimeout(() => { s.destroy(); resolve({ ok: false, code: 'TIMEOUT' }); }, 5000);
    s.once('secureConnect', () => {
      clearTimeout(timer);
      resolve({ ok: true, protocol: s.getProtocol(), alpn: s.alpnProtocol });
      s.destroy();
    });
    s.once('error', (e) => { clearTimeout(timer); resolve({ ok: false, code: e.code, message: e.message }); });
  });
}

// A client that can speak TLS 1.0/1.1 (OpenSSL 3 needs security level 0).
const TLS11 = { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT:@SECLEVEL=0' };

describe('TLS (--tls-cert/--tls-key, self-signed)', () => {
  test('wss:// upgrade, welcome and echo', async () => {
    const c = await connectReady(h.url, '/ws/alice', { rejectUnauthorized: false });
    assert.equal(c.welcome.client_id, 'alice');
    await c.sendJson({ type: 'echo', data: { tls: true }, id: 1 });
    assert.deepEqual(await c.nextJson(), { type: 'echo', data: { tls: true }, id: 1 });
    await c.send('plain text');
    assert.equal(await c.next(), 'Echo: plain text');
    await c.close();
  });

  test('wss:// verifies against the self-signed certificate as CA', async () => {
    const c = await connectReady(h.url, '/ws/alice', { ca: readFileSync(certs.cert), servername: 'localhost' });
    await c.close();
  });

  test('https://…/health answers 200', async () => {
    const res = await httpsGet(`${h.https}/health`);
    assert.equal(res.status, 200);
    assert.equal(JSON.parse(res.body).status, 'healthy');
  });

  test('plain ws:// and http:// to the TLS port fail (no upgrade, no answer)', async () => {
    await assert.rejects(connect(`ws://127.0.0.1:${h.port}`, '/ws/alice'), (e) => e.status === undefined,
      'a plain WebSocket to the TLS port must not get an HTTP answer');
    const res = await upgradeRaw(h.port, '/ws/alice');
    assert.equal(res.status, null, `plain upgrade to the TLS port answered ${res.status}`);
    const raw = await rawExchange(h.port, 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.ok(!raw.data.toString('latin1').startsWith('HTTP/'), `plain GET answered ${statusLine(raw.data)}`);
    assert.ok(raw.closedByServer, 'plain GET to the TLS port left open');
  });

  test('TLS 1.2 and 1.3 are accepted; TLS 1.1 and 1.0 are refused', async () => {
    assert.equal((await tlsHandshake(h.port, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' })).protocol, 'TLSv1.2');
    assert.equal((await tlsHandshake(h.port, { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' })).protocol, 'TLSv1.3');
    const t11 = await tlsHandshake(h.port, TLS11);
    assert.equal(t11.ok, false, `TLS 1.1 handshake succeeded (${t11.protocol})`);
    const t10 = await tlsHandshake(h.port, { ...TLS11, maxVersion: 'TLSv1' });
    assert.equal(t10.ok, false, `TLS 1.0 handshake succeeded (${t10.protocol})`);
  });

  test('control: the TLS 1.1 client above does complete TLS 1.1 with a server that allows it', async () => {
    // Without this, the refusal above could be the client's own doing.
    const srv = tls.createServer({
      cert: readFileSync(certs.cert), key: readFileSync(certs.key), minVersion: 'TLSv1', ciphers: 'DEFAULT:@SECLEVEL=0',
    }, (s) => s.end());
    await new Promise((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const r = await tlsHandshake(srv.address().port, TLS11);
      assert.equal(r.protocol, 'TLSv1.1', `control handshake: ${JSON.stringify(r)}`);
    } finally {
      srv.close();
    }
  });

  test('ALPN offering h2 and http/1.1 negotiates http/1.1 (never h2)', async () => {
    const both = await tlsHandshake(h.port, { ALPNProtocols: ['h2', 'http/1.1'] });
    assert.equal(both.ok, true, `handshake failed: ${both.message}`);
    assert.equal(both.alpn, 'http/1.1');
    const h2only = await tlsHandshake(h.port, { ALPNProtocols: ['h2'] });
    assert.notEqual(h2only.alpn, 'h2', 'h2 negotiated');
    assert.ok(h2only.ok === false || h2only.alpn === false, `ALPN h2 only → ${JSON.stringify(h2only)}`);
  });

  test('http2.connect to https:// gets no HTTP/2 session', async () => {
    const result = await new Promise((resolve) => {
      const events = [];
      const s = http2.connect(h.https, { rejectUnauthorized: false });
      const timer = setTimeout(() => { s.destroy(); resolve({ events, timeout: true }); }, 5000);
      s.on('remoteSettings', () => events.push('remoteSettings'));
      s.on('error', (e) => events.push(`error:${e.code}`));
      const req = s.request({ ':path': '/health' });
      req.on('response', (hd) => events.push(`response:${hd[':status']}`));
      req.on('error', (e) => events.push(`request-error:${e.code}`));
      req.end();
      s.on('close', () => { clearTimeout(timer); resolve({ events, timeout: false }); });
    });
    assert.ok(!result.events.includes('remoteSettings'), `herald sent HTTP/2 SETTINGS: ${result.events}`);
    assert.ok(!result.events.some((e) => e.startsWith('response:')), `HTTP/2 response: ${result.events}`);
    assert.ok(result.events.some((e) => e.startsWith('error:') || e.startsWith('request-error:')),
      `no error from the HTTP/2 client: ${JSON.stringify(result)}`);
  });

  test('the HTTP/2 preface over TLS (ALPN http/1.1) gets no SETTINGS frame', async () => {
    const r = await rawExchange(h.port, PREFACE, { tlsOpts: { ALPNProtocols: ['http/1.1'] }, timeoutMs: 3000 });
    assert.ok(!looksLikeH2Settings(r.data), `h2 frame back: ${r.data.subarray(0, 32).toString('hex')}`);
  });
});

describe('bad TLS configuration → exit 2 naming the flag', () => {
  const run = (args) => runHerald(['--redis-url', 'none', '--port', '1', '--host', '127.0.0.1', ...args]);
  const expectExit2 = async (args, flag) => {
    const r = await run(args);
    assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code} ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`--${flag}\\b`), `${args.join(' ')}: stderr ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line expected: ${r.stderr}`);
  };

  test('a certificate file that is not PEM', async () => {
    const bad = writeFileIn(certs.dir, 'bad-cert.pem', 'not a certificate\n');
    await expectExit2(['--tls-cert', bad, '--tls-key', certs.key], 'tls-cert');
  });
  test('a key file that is not PEM', async () => {
    const bad = writeFileIn(certs.dir, 'bad-key.pem', '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n');
    await expectExit2(['--tls-cert', certs.cert, '--tls-key', bad], 'tls-key');
  });
  test('a key that does not match the certificate', async () => {
    await expectExit2(['--tls-cert', certs.cert, '--tls-key', certs.otherKey], 'tls-key');
  });
  test('certificate and key swapped', async () => {
    await expectExit2(['--tls-cert', certs.key, '--tls-key', certs.cert], 'tls-cert');
  });
  test('a file that does not exist', async () => {
    await expectExit2(['--tls-cert', `${certs.dir}/missing.pem`, '--tls-key', certs.key], 'tls-cert');
    await expectExit2(['--tls-cert', certs.cert, '--tls-key', `${certs.dir}/missing.pem`], 'tls-key');
  });
  test('only one of --tls-cert and --tls-key', async () => {
    const a = await run(['--tls-cert', certs.cert]);
    assert.equal(a.code, 2, `--tls-cert alone: exit ${a.code} ${a.stderr}`);
    assert.match(a.stderr, /--tls-key/);
    const b = await run(['--tls-key', certs.key]);
    assert.equal(b.code, 2, `--tls-key alone: exit ${b.code} ${b.stderr}`);
    assert.match(b.stderr, /--tls-cert/);
  });
});

// ---------------------------------------------------------------------------
// HTTP/2 over plaintext

const PREFACE = Buffer.concat([
  Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'),
  Buffer.from([0, 0, 0, 0x04, 0, 0, 0, 0, 0]), // empty SETTINGS
]);

/** An HTTP/2 frame header of type SETTINGS (0x4) on stream 0 at the start. */
function looksLikeH2Settings(buf) {
  return buf.length >= 9 && buf[3] === 0x04 && (buf.readUInt32BE(5) & 0x7fffffff) === 0;
}

describe('HTTP/2 and CONNECT over plaintext', () => {
  let p;
  before(async () => {
    p = await startHerald();
  });
  after(async () => {
    if (p) await p.stop();
  });

  const h2cRequest = (path, extra = '') =>
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings\r\n` +
    `Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n${extra}\r\n`;

  for (const path of ['/', '/health', '/ws/alice']) {
    test(`Upgrade: h2c on ${path} never gets 101: the connection is hung up`, async () => {
      const r = await rawExchange(p.port, h2cRequest(path));
      assert.ok(r.closedByServer, 'h2c upgrade left open');
      assert.equal(r.data.length, 0, `h2c upgrade answered ${JSON.stringify(statusLine(r.data))}`);
    });
  }

  test('Upgrade: h2c with WebSocket headers on /ws/alice never gets 101', async () => {
    const r = await rawExchange(p.port, h2cRequest('/ws/alice',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n'));
    assert.ok(r.closedByServer, 'left open');
    assert.ok(!/^HTTP\/1\.[01] 101/.test(statusLine(r.data)), `answered ${statusLine(r.data)}`);
  });

  test('unknown upgrades (Upgrade: foo, Upgrade: h2c, websocket) never get 101', async () => {
    for (const req of [
      'GET /health HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n',
      'GET /ws/alice HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c, websocket\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    ]) {
      const r = await rawExchange(p.port, req);
      assert.ok(r.closedByServer, `left open: ${req.split('\r\n')[3]}`);
      const line = statusLine(r.data);
      assert.ok(r.data.length === 0 || /^HTTP\/1\.[01] 4\d\d /.test(line), `${req.split('\r\n')[3]} → ${line}`);
    }
  });

  test('the HTTP/2 prior-knowledge preface gets no SETTINGS frame', async () => {
    const r = await rawExchange(p.port, PREFACE);
    assert.ok(r.closedByServer, 'preface left open');
    assert.ok(!looksLikeH2Settings(r.data), `h2 SETTINGS back: ${r.data.subarray(0, 32).toString('hex')}`);
    assert.ok(r.data.length === 0 || /^HTTP\/1\.[01] 4\d\d /.test(statusLine(r.data)),
      `preface answered ${JSON.stringify(statusLine(r.data))}`);
  });

  test('http2.connect with prior knowledge (h2c) gets no HTTP/2 session', async () => {
    const events = await new Promise((resolve) => {
      const ev = [];
      const s = http2.connect(p.http);
      const timer = setTimeout(() => { s.destroy(); resolve(ev); }, 5000);
      s.on('remoteSettings', () => ev.push('remoteSettings'));
      s.on('error', (e) => ev.push(`error:${e.code}`));
      const req = s.request({ ':path': '/health' });
      req.on('response', (hd) => ev.push(`response:${hd[':status']}`));
      req.on('error', (e) => ev.push(`request-error:${e.code}`));
      req.end();
      s.on('close', () => { clearTimeout(timer); resolve(ev); });
    });
    assert.ok(!events.includes('remoteSettings'), `herald sent HTTP/2 SETTINGS: ${events}`);
    assert.ok(!events.some((e) => e.startsWith('response:')), `HTTP/2 response: ${events}`);
  });

  for (const target of ['example.com:443', '127.0.0.1:PORT']) {
    test(`CONNECT ${target} is hung up`, async () => {
      const t = target.replace('PORT', String(p.port));
      const r = await rawExchange(p.port, `CONNECT ${t} HTTP/1.1\r\nHost: ${t}\r\n\r\n`);
      assert.ok(r.closedByServer, 'CONNECT left open');
      assert.equal(r.data.length, 0, `CONNECT answered ${JSON.stringify(statusLine(r.data))}`);
    });
  }

  test('herald still serves /health and WebSockets afterwards', async () => {
    const res = await httpGet(`${p.http}/health`);
    assert.equal(res.status, 200);
    assert.deepEqual(res.json, { status: 'healthy', redis: 'disabled', connections: 0 });
    const c = await connectReady(p.url, '/ws/alice');
    await c.sendJson({ type: 'ping' });
    assert.deepEqual(await c.nextJson(), { type: 'pong' });
    await c.close();
    assert.ok(p.alive());
  });
});
