// docs/security.md (refusals: 401, 403; --token-secret, --allowed-origins),
// §6 (auth, origin allowlist): HS256 tokens in each of the three places a
// client may put one, every way a token is refused (exact status and body),
// the `channels` claim, the origin allowlist, and no token in the log.

import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import {
  startHerald, connect, connectReady, upgradeRaw, runHerald, closeAll, waitFor, sleep,
} from './harness.mjs';
import { b64url, hmacB64, jwtFromParts, signJwt, nowSec } from './security-harness.mjs';

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


const SECRET = 'integration-secret-0123456789abcdef';
const OTHER_SECRET = 'not-the-secret-0123456789abcdef!';

// Every token string handed to herald, to check that none reaches the log.
const issued = new Set();
const remember = (t) => { if (t && t.length >= 16) issued.add(t); return t; };
const token = (payload, secret = SECRET, header) => remember(signJwt(payload, secret, header));
const valid = (sub = 'alice', extra = {}) => token({ sub, exp: nowSec() + 300, ...extra });

let h;

before(async () => {
  // debug: lws's own warnings are logged too, so the no-token-in-the-log
  // check covers everything herald can print.
  h = await startHerald({ args: ['--token-secret', SECRET, '--log-level', 'debug'] });
});
after(async () => {
  if (h) await h.stop();
});

/** Upgrade /ws/<id> with token in the query (URL-encoded). */
const viaQuery = (id, t, extraQuery = '') =>
  upgradeRaw(h.port, `/ws/${id}?token=${encodeURIComponent(t)}${extraQuery}`);
const viaHeader = (id, t) => upgradeRaw(h.port, `/ws/${id}`, { Authorization: `Bearer ${t}` });

async function expectRefused(res, status, error, what) {
  assert.equal(res.status, status, `${what}: expected ${status}, got ${res.status} ${res.body}`);
  assert.equal(res.headers['content-type'], 'application/json', `${what}: content-type`);
  assert.deepEqual(res.json, { error }, `${what}: body`);
}

describe('tokens: every refusal is 401 with the reason', () => {
  test('no token at all, or an empty one', async () => {
    await expectRefused(await upgradeRaw(h.port, '/ws/alice'), 401, 'token required', 'no token');
    await expectRefused(await upgradeRaw(h.port, '/ws/alice?token='), 401, 'token required', 'empty ?token=');
    await expectRefused(await upgradeRaw(h.port, '/ws/alice', { Authorization: 'Bearer ' }), 401,
      'token required', 'empty Bearer');
    // another auth scheme is not a token
    await expectRefused(await upgradeRaw(h.port, '/ws/alice', { Authorization: `Basic ${b64url('alice:pw')}` }), 401,
      'token required', 'Basic auth');
  });

  // [name, token (built lazily so that exp/nbf are fresh), reason]
  const cases = [
    ['signed with another secret', () => token({ sub: 'alice', exp: nowSec() + 300 }, OTHER_SECRET), 'bad token signature'],
    ['payload swapped after signing', () => {
      const good = valid('alice').split('.');
      const forged = b64url(JSON.stringify({ sub: 'alice', exp: nowSec() + 999999, channels: ['*'] }));
      return remember(`${good[0]}.${forged}.${good[2]}`);
    }, 'bad token signature'],
    // the shape (three canonical base64url parts) is checked before the
    // signature, so these are malformed rather than badly signed
    ['signature truncated', () => { const t = valid('alice'); return remember(t.slice(0, -2)); }, 'malformed token'],
    ['signature empty', () => remember(valid('alice').replace(/\.[^.]*$/, '.')), 'malformed token'],
    ['signature padded with =', () => remember(`${valid('alice')}=`), 'malformed token'],
    ['four parts', () => remember(`${valid('alice')}.${b64url('x')}`), 'malformed token'],
    ['signature truncated to 40 characters (well formed)', () => { const t = valid('alice'); return remember(t.slice(0, -3)); }, 'bad token signature'],
    ['sub of another client', () => valid('bob'), 'token subject is not the client_id'],
    ['sub a prefix of the client_id', () => valid('alic'), 'token subject is not the client_id'],
    ['sub a number', () => token({ sub: 1, exp: nowSec() + 300 }), 'token subject is not the client_id'],
    ['sub missing', () => token({ exp: nowSec() + 300 }), 'token subject is not the client_id'],
    ['expired beyond the 30 s leeway', () => token({ sub: 'alice', exp: nowSec() - 60 }), 'token expired'],
    ['expired long ago', () => token({ sub: 'alice', exp: 1000 }), 'token expired'],
    ['exp missing', () => token({ sub: 'alice' }), 'token expired'],
    ['exp a string', () => token({ sub: 'alice', exp: String(nowSec() + 300) }), 'bad token claims'],
    ['exp null', () => token({ sub: 'alice', exp: null }), 'bad token claims'],
    ['nbf beyond the 30 s leeway', () => token({ sub: 'alice', exp: nowSec() + 300, nbf: nowSec() + 120 }), 'token not yet valid'],
    ['nbf a string', () => token({ sub: 'alice', exp: nowSec() + 300, nbf: String(nowSec()) }), 'bad token claims'],
    ['channels not a list', () => token({ sub: 'alice', exp: nowSec() + 300, channels: 'news' }), 'bad token claims'],
    ['channels with a non-string', () => token({ sub: 'alice', exp: nowSec() + 300, channels: ['news', 7] }), 'bad token claims'],
    ['alg none, no signature', () => remember(jwtFromParts('{"alg":"none","typ":"JWT"}',
      JSON.stringify({ sub: 'alice', exp: nowSec() + 300 }), SECRET, { sig: '' })), 'malformed token'],
    ['alg none with a valid HS256 signature', () => token({ sub: 'alice', exp: nowSec() + 300 }, SECRET, { alg: 'none' }),
      'token algorithm must be HS256'],
    ['alg HS512 (signed with HMAC-SHA512)', () => {
      const input = `${b64url('{"alg":"HS512","typ":"JWT"}')}.${b64url(JSON.stringify({ sub: 'alice', exp: nowSec() + 300 }))}`;
      return remember(`${input}.${hmacB64(input, SECRET, 'sha512')}`);
    }, 'token algorithm must be HS256'],
    ['alg RS256', () => token({ sub: 'alice', exp: nowSec() + 300 }, SECRET, { alg: 'RS256', typ: 'JWT' }),
      'token algorithm must be HS256'],
    ['alg hs256 (lower case)', () => token({ sub: 'alice', exp: nowSec() + 300 }, SECRET, { alg: 'hs256' }),
      'token algorithm must be HS256'],
    ['alg missing', () => token({ sub: 'alice', exp: nowSec() + 300 }, SECRET, { typ: 'JWT' }),
      'token algorithm must be HS256'],
    // JSON with an escaped NUL is not accepted in a token at all
    ['alg "HS256\\u0000x"', () => remember(jwtFromParts('{"alg":"HS256\\u0000x"}',
      JSON.stringify({ sub: 'alice', exp: nowSec() + 300 }), SECRET)), 'malformed token'],
    ['two parts', () => { const [a, b] = valid('alice').split('.'); return remember(`${a}.${b}`); }, 'malformed token'],
    ['one part', () => remember(valid('alice').split('.')[0] + 'xxxxxxxxxx'), 'malformed token'],
    ['non-base64url character in the header', () => {
      // signed over the header exactly as sent, so only the decoding refuses it
      const input = `${b64url('{"alg":"HS256"}')}!.${b64url(JSON.stringify({ sub: 'alice', exp: nowSec() + 300 }))}`;
      return remember(`${input}.${hmacB64(input, SECRET)}`);
    }, 'malformed token'],
    ['standard base64 (+ and /) in the header', () => {
      // '{"alg":"HS256","k":"?>?"}': its standard base64 holds '+' and '/'
      const header = '{"alg":"HS256","k":"\u00fb\u00ff\u00bf"}';
      const std = Buffer.from(header, 'latin1').toString('base64').replace(/=+$/, '');
      assert.match(std, /[+/]/);
      const input = `${std}.${b64url(JSON.stringify({ sub: 'alice', exp: nowSec() + 300 }))}`;
      return remember(`${input}.${hmacB64(input, SECRET)}`);
    }, 'malformed token'],
    ['non-base64url character in the payload (signature valid)', () => {
      const input = `${b64url('{"alg":"HS256"}')}.${b64url(JSON.stringify({ sub: 'alice', exp: nowSec() + 300 }))}*`;
      return remember(`${input}.${hmacB64(input, SECRET)}`);
    }, 'malformed token'],
    ['header padded with = (signature valid)', () => {
      const header = '{"alg":"HS256","x":12}'; // 22 bytes: base64 ends in ==
      const padded = Buffer.from(header).toString('base64url') + '==';
      const input = `${padded}.${b64url(JSON.stringify({ sub: 'alice', exp: nowSec() + 300 }))}`;
      return remember(`${input}.${hmacB64(input, SECRET)}`);
    }, 'malformed token'],
    ['payload padded with = (signature valid)', () => {
      const payload = JSON.stringify({ sub: 'alice', exp: nowSec() + 300, p: 'x' });
      const enc = (s) => Buffer.from(s).toString('base64');
      const p64 = enc(payload).replace(/\+/g, '-').replace(/\//g, '_');
      assert.match(p64, /=$/, 'test payload must need padding');
      const input = `${b64url('{"alg":"HS256"}')}.${p64}`;
      return remember(`${input}.${hmacB64(input, SECRET)}`);
    }, 'malformed token'],
    ['header not JSON', () => remember(jwtFromParts('alg=HS256', JSON.stringify({ sub: 'alice', exp: nowSec() + 300 }), SECRET)),
      'malformed token'],
    ['header a JSON array', () => remember(jwtFromParts('["HS256"]', JSON.stringify({ sub: 'alice', exp: nowSec() + 300 }), SECRET)),
      'malformed token'],
    ['payload not JSON (signature valid)', () => remember(jwtFromParts('{"alg":"HS256"}', 'sub=alice', SECRET)), 'malformed token'],
    ['payload with a duplicate sub (signature valid)', () => remember(jwtFromParts('{"alg":"HS256"}',
      `{"sub":"bob","sub":"alice","exp":${nowSec() + 300}}`, SECRET)), 'malformed token'],
    ['empty parts', () => remember('..' + 'x'.repeat(20)), 'malformed token'],
  ];

  for (const [name, make, reason] of cases) {
    test(`${name} → 401 {"error":"${reason}"} (query and Authorization header)`, async () => {
      const t = make();
      await expectRefused(await viaQuery('alice', t), 401, reason, `${name} in ?token=`);
      await expectRefused(await viaHeader('alice', t), 401, reason, `${name} in Authorization`);
    });
  }

  test('a refused token in Sec-WebSocket-Protocol is refused the same way', async () => {
    const t = remember(signJwt({ sub: 'a', exp: nowSec() + 300 }, OTHER_SECRET, { alg: 'HS256' }));
    await expectRefused(await upgradeRaw(h.port, '/ws/a', { 'Sec-WebSocket-Protocol': `herald, bearer.${t}` }),
      401, 'bad token signature', 'bad signature in Sec-WebSocket-Protocol');
    const expired = remember(signJwt({ sub: 'a', exp: nowSec() - 100 }, SECRET, { alg: 'HS256' }));
    await expectRefused(await upgradeRaw(h.port, '/ws/a', { 'Sec-WebSocket-Protocol': `herald, bearer.${expired}` }),
      401, 'token expired', 'expired in Sec-WebSocket-Protocol');
  });

  test('a token over the 4096-byte limit never upgrades (validly signed, ~5.5 KB)', async () => {
    const big = token({ sub: 'alice', exp: nowSec() + 300, pad: 'x'.repeat(4000) });
    assert.ok(big.length > 4096);
    for (const res of [await viaQuery('alice', big), await viaHeader('alice', big)]) {
      assert.notEqual(res.status, 101, 'an oversized token was accepted');
      assert.ok(res.status === null || res.status === 400 || res.status === 401 || res.status === 431,
        `oversized token answered ${res.status} ${res.body}`);
    }
    // one under the limit is fine
    const mid = token({ sub: 'alice', exp: nowSec() + 300, pad: 'x'.repeat(2000) });
    assert.equal((await viaHeader('alice', mid)).status, 101);
  });

  test('a valid token for the right client is refused on another client_id', async () => {
    const t = valid('alice');
    await expectRefused(await viaQuery('alice2', t), 401, 'token subject is not the client_id', 'alice token on alice2');
  });
});

describe('tokens: accepted', () => {
  test('valid token in ?token= → welcome', async () => {
    const c = await connectReady(h.url, `/ws/alice?token=${valid('alice')}`);
    assert.equal(c.welcome.client_id, 'alice');
    await c.sendJson({ type: 'echo', data: 'q', id: 1 });
    assert.deepEqual(await c.nextJson(), { type: 'echo', data: 'q', id: 1 });
    await c.close();
  });

  test('valid token in Authorization: Bearer → welcome (scheme case-insensitive)', async () => {
    const c = await connectReady(h.url, '/ws/alice', { headers: { Authorization: `Bearer ${valid('alice')}` } });
    assert.equal(c.welcome.client_id, 'alice');
    const d = await connectReady(h.url, '/ws/alice', { headers: { Authorization: `bearer ${valid('alice')}` } });
    assert.equal(d.welcome.client_id, 'alice');
    await closeAll(c, d);
  });

  test('valid short token in Sec-WebSocket-Protocol next to herald → 101 with Sec-WebSocket-Protocol: herald', async () => {
    const t = remember(signJwt({ sub: 'a', exp: nowSec() + 300 }, SECRET, { alg: 'HS256' }));
    const header = `herald, bearer.${t}`;
    assert.ok(header.length <= 127, `test token too long for lws (${header.length} bytes)`);
    const res = await upgradeRaw(h.port, '/ws/a', { 'Sec-WebSocket-Protocol': header });
    assert.equal(res.status, 101, `got ${res.status} ${res.body}`);
    assert.equal(res.headers['sec-websocket-protocol'], 'herald');

    // and a real client (the way a browser passes it) gets its welcome
    const ws = new WebSocket(`${h.url}/ws/a`, ['herald', `bearer.${t}`], { perMessageDeflate: false, handshakeTimeout: 5000 });
    const first = await new Promise((resolve, reject) => {
      ws.once('message', (d) => resolve(JSON.parse(d.toString())));
      ws.once('error', reject);
      ws.once('unexpected-response', (_q, r) => reject(new Error(`refused ${r.statusCode}`)));
    });
    assert.equal(ws.protocol, 'herald');
    assert.equal(first.type, 'welcome');
    assert.equal(first.client_id, 'a');
    ws.close();
    await new Promise((r) => ws.once('close', r));
  });

  test('exp and nbf within the 30 s leeway are accepted', async () => {
    const c = await connectReady(h.url, `/ws/alice?token=${token({ sub: 'alice', exp: nowSec() - 10 })}`);
    const d = await connectReady(h.url, `/ws/alice?token=${token({ sub: 'alice', exp: nowSec() + 300, nbf: nowSec() + 10 })}`);
    await closeAll(c, d);
  });

  test('extra claims and header fields are ignored', async () => {
    const t = token({ sub: 'alice', exp: nowSec() + 300, iat: nowSec(), iss: 'x', aud: ['y'] }, SECRET,
      { alg: 'HS256', typ: 'JWT', kid: 'k1' });
    const c = await connectReady(h.url, `/ws/alice?token=${t}`);
    await c.close();
  });
});

describe('tokens: the channels claim', () => {
  const claim = ['news', 'room.*'];
  const forbidden = (id) => ({ type: 'error', code: 'forbidden', message: 'the token does not allow this channel', ...(id !== undefined ? { id } : {}) });

  test('allowed exact names and room.* prefixes can be subscribed and published; others are forbidden', async () => {
    const c = await connectReady(h.url, `/ws/carol?token=${valid('carol', { channels: claim })}`);
    for (const ch of ['news', 'room.1', 'room.a.b', 'room.']) {
      await c.sendJson({ type: 'subscribe', channel: ch });
      assert.deepEqual(noSeq(await c.nextJson()), { type: 'subscribed', channel: ch }, `subscribe ${ch}`);
    }
    for (const ch of ['secret', 'new', 'newsx', 'room', 'roomx', 'Room.1', 'xroom.1', '$sys']) {
      await c.sendJson({ type: 'subscribe', channel: ch, id: ch });
      assert.deepEqual(await c.nextJson(), forbidden(ch), `subscribe ${ch}`);
    }
    await c.sendJson({ type: 'publish', channel: 'room.1', data: { n: 1 } });
    const m = await c.nextJson();
    assert.equal(typeof m.seq, 'string');
    delete m.seq;
    assert.deepEqual(m, { type: 'message', channel: 'room.1', from: 'carol', data: { n: 1 } });
    await c.sendJson({ type: 'publish', channel: 'news', data: 2, id: 9 });
    assert.deepEqual(noSeq(await c.nextJson()), { type: 'ack', id: 9 });
    const n = await c.nextJson();
    delete n.seq;
    assert.deepEqual(n, { type: 'message', channel: 'news', from: 'carol', data: 2 });
    for (const ch of ['secret', 'room', 'newsx']) {
      await c.sendJson({ type: 'publish', channel: ch, data: 'x', id: 3 });
      assert.deepEqual(await c.nextJson(), forbidden(3), `publish ${ch}`);
    }
    await c.expectNone(200);
    assert.ok(c.isOpen, 'forbidden must not close the connection');
    await c.close();
  });

  test('a forbidden publish reaches no subscriber', async () => {
    const other = await connectReady(h.url, `/ws/dave?token=${valid('dave')}`); // no claim: all channels
    await other.sendJson({ type: 'subscribe', channel: 'secret' });
    assert.deepEqual(noSeq(await other.nextJson()), { type: 'subscribed', channel: 'secret' });
    const c = await connectReady(h.url, `/ws/carol?token=${valid('carol', { channels: claim })}`);
    await c.sendJson({ type: 'publish', channel: 'secret', data: 'leak' });
    assert.deepEqual(await c.nextJson(), forbidden());
    await other.expectNone(300);
    await closeAll(c, other);
  });

  test('?channels= allowed by the claim → subscribed at once; a disallowed one → 403', async () => {
    const t = valid('carol', { channels: claim });
    const c = await connectReady(h.url, `/ws/carol?token=${t}&channels=news,room.2`);
    const pub = await connectReady(h.url, `/ws/carol?token=${t}`);
    await pub.sendJson({ type: 'publish', channel: 'room.2', data: 'hi' });
    const got = await c.nextJson();
    delete got.seq;
    assert.deepEqual(got, { type: 'message', channel: 'room.2', from: 'carol', data: 'hi' });
    await closeAll(c, pub);

    for (const q of ['secret', 'news,secret', 'roomy', 'room', 'room.2,news,newsx']) {
      await expectRefused(await viaQuery('carol', t, `&channels=${q}`), 403,
        'the token does not allow a requested channel', `?channels=${q}`);
    }
    // the same through the Authorization header
    await expectRefused(await upgradeRaw(h.port, '/ws/carol?channels=secret', { Authorization: `Bearer ${t}` }), 403,
      'the token does not allow a requested channel', '?channels=secret with Bearer');
  });

  test('without a channels claim every channel is allowed', async () => {
    const c = await connectReady(h.url, `/ws/alice?token=${valid('alice')}&channels=secret`);
    await c.sendJson({ type: 'subscribe', channel: 'anything.else' });
    assert.deepEqual(noSeq(await c.nextJson()), { type: 'subscribed', channel: 'anything.else' });
    await c.close();
  });

  test('an empty channels claim allows no channel', async () => {
    const c = await connectReady(h.url, `/ws/alice?token=${valid('alice', { channels: [] })}`);
    await c.sendJson({ type: 'subscribe', channel: 'news' });
    assert.deepEqual(await c.nextJson(), forbidden());
    await c.close();
  });
});

test('--token-secret shorter than 16 characters → exit 2 naming the flag, not echoing the secret', async () => {
  const secret = 'tooShortSecret1'; // 15
  const r = await runHerald(['--token-secret', secret, '--redis-url', 'none', '--port', '1']);
  assert.equal(r.code, 2, `exit ${r.code}: ${r.stderr}`);
  assert.match(r.stderr, /--token-secret/);
  assert.equal(r.stderr.trim().split('\n').length, 1, `one line expected: ${r.stderr}`);
  assert.ok(!r.stderr.includes(secret) && !r.stdout.includes(secret), 'the secret is echoed');
  const e = await runHerald(['--redis-url', 'none', '--port', '1'], { env: { HERALD_TOKEN_SECRET: 'short' } });
  assert.equal(e.code, 2, `HERALD_TOKEN_SECRET=short: exit ${e.code}: ${e.stderr}`);
  assert.match(e.stderr, /--token-secret/);
});

test('herald logged refusals but never a token', async () => {
  // give the last log lines time to be written
  await waitFor(() => /refused upgrade status=401/.test(h.log()), 3000, { what: 'a logged refusal' });
  await sleep(100);
  const log = h.log();
  assert.ok(issued.size > 30, `only ${issued.size} tokens issued`);
  for (const t of issued) {
    assert.ok(!log.includes(t), `token in the log: ${t}`);
    const sig = t.split('.')[2];
    if (sig && sig.length >= 20) assert.ok(!log.includes(sig), `token signature in the log: ${sig}`);
    assert.ok(!log.includes(encodeURIComponent(t)), `URL-encoded token in the log: ${t}`);
  }
  assert.ok(!log.includes(SECRET), 'the secret is in the log');
});

describe('origins (--allowed-origins https://a.example,https://b.example)', () => {
  let o;
  before(async () => {
    o = await startHerald({ args: ['--allowed-origins', 'https://a.example,https://b.example'] });
  });
  after(async () => {
    if (o) await o.stop();
  });

  test('an exact listed origin passes', async () => {
    const a = await connectReady(o.url, '/ws/alice', { origin: 'https://a.example' });
    const b = await connectReady(o.url, '/ws/bob', { origin: 'https://b.example' });
    await closeAll(a, b);
  });

  test('no Origin header passes (not a browser)', async () => {
    const res = await upgradeRaw(o.port, '/ws/alice');
    assert.equal(res.status, 101);
    const c = await connectReady(o.url, '/ws/alice');
    await c.close();
  });

  for (const origin of [
    'https://a.example.evil', 'http://a.example', 'https://a.example:443', 'https://a.example/',
    'https://a.exampl', 'https://evil.example', 'null', 'https://A.example',
    'https://a.example,https://b.example', 'https://xa.example',
  ]) {
    test(`Origin ${origin} → 403 {"error":"origin not allowed"}`, async () => {
      const res = await upgradeRaw(o.port, '/ws/alice', { Origin: origin });
      assert.equal(res.status, 403, `got ${res.status} ${res.body}`);
      assert.deepEqual(res.json, { error: 'origin not allowed' });
    });
  }

  test('a refused origin is refused for a real client too', async () => {
    await assert.rejects(connect(o.url, '/ws/alice', { origin: 'https://a.example.evil' }),
      (e) => e.status === 403 && JSON.parse(e.body).error === 'origin not allowed');
  });
});
