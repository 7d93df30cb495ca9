// SPEC §1 and §6: HS256 tokens (when --token-secret is set) and the Origin
// allowlist (when --allowed-origins is set), refused before the upgrade with
// 401 / 403 and a JSON body; tokens never appear in the log.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { startHerald, connectReady, upgradeRaw } from './harness.mjs';

const SECRET = 'integration-test-secret';
const GOOD_ORIGIN = 'https://good.example';
let h;

before(async () => {
  h = await startHerald({ args: ['--token-secret', SECRET, '--allowed-origins', `${GOOD_ORIGIN},https://other.example`] });
});
after(async () => {
  if (h) await h.stop();
});

const b64url = (x) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url');

function jwt(payload, { secret = SECRET, header = { alg: 'HS256', typ: 'JWT' } } = {}) {
  const head = `${b64url(header)}.${b64url(payload)}`;
  const sig = createHmac('sha256', secret).update(head).digest('base64url');
  return `${head}.${sig}`;
}
const now = () => Math.floor(Date.now() / 1000);
const tokenFor = (sub, extra = {}) => jwt({ sub, exp: now() + 300, ...extra });

function assertRefused(res, status, what) {
  assert.equal(res.status, status, `${what}: ${res.status} ${res.body}`);
  assert.match(res.headers['content-type'] || '', /^application\/json\b/, `${what}: content-type`);
  assert.equal(typeof res.json.error, 'string', `${what}: body ${res.body}`);
}

test('without a token the upgrade is refused with 401 JSON', async () => {
  assertRefused(await upgradeRaw(h.port, '/ws/alice'), 401, 'no token');
});

test('invalid tokens are refused with 401', async () => {
  const cases = {
    'bad signature': jwt({ sub: 'alice', exp: now() + 300 }, { secret: 'wrong' }),
    'expired (beyond the 30 s leeway)': jwt({ sub: 'alice', exp: now() - 120 }),
    'no exp': jwt({ sub: 'alice' }),
    'nbf in the future': jwt({ sub: 'alice', exp: now() + 600, nbf: now() + 300 }),
    'exp not a number': jwt({ sub: 'alice', exp: 'tomorrow' }),
    'sub is another client': tokenFor('bob'),
    'no sub': jwt({ exp: now() + 300 }),
    'alg none': `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url({ sub: 'alice', exp: now() + 300 })}.`,
    'alg HS512 header': jwt({ sub: 'alice', exp: now() + 300 }, { header: { alg: 'HS512', typ: 'JWT' } }),
    garbage: 'not.a.token',
    empty: '',
    'truncated signature': tokenFor('alice').slice(0, -5),
  };
  for (const [what, token] of Object.entries(cases)) {
    assertRefused(await upgradeRaw(h.port, `/ws/alice?token=${encodeURIComponent(token)}`), 401, what);
  }
  assertRefused(await upgradeRaw(h.port, '/ws/alice', { Authorization: `Bearer ${tokenFor('bob')}` }), 401, 'Bearer for bob');
});

test('a valid token in ?token= or in Authorization: Bearer is accepted', async () => {
  const a = await connectReady(h.url, `/ws/alice?token=${tokenFor('alice')}`);
  assert.equal(a.welcome.client_id, 'alice');
  const b = await connectReady(h.url, '/ws/alice', { headers: { Authorization: `Bearer ${tokenFor('alice')}` } });
  assert.equal(b.welcome.client_id, 'alice');
  await b.send('hi');
  assert.equal(await b.next(), 'Echo: hi');
  await a.close();
  await b.close();
});

test('the channels claim limits ?channels= (403), subscribe and publish (forbidden)', async () => {
  const token = tokenFor('alice', { channels: ['users', 'news', 'room:*'] });
  assertRefused(await upgradeRaw(h.port, `/ws/alice?token=${token}&channels=users,admin`), 403, 'channels=admin');
  assertRefused(await upgradeRaw(h.port, `/ws/alice?token=${token}&channels=$sys`), 403, 'channels=$sys not in claim');

  const c = await connectReady(h.url, `/ws/alice?token=${token}&channels=users,room:1`);
  await c.sendJson({ type: 'subscribe', channel: 'news' });
  assert.deepEqual(await c.nextJson(), { type: 'subscribed', channel: 'news' });
  await c.sendJson({ type: 'subscribe', channel: 'room:42' });
  assert.deepEqual(await c.nextJson(), { type: 'subscribed', channel: 'room:42' });
  for (const channel of ['admin', 'room', 'usersx', '$sys']) {
    await c.sendJson({ type: 'subscribe', channel, id: channel });
    const e = await c.nextJson();
    assert.deepEqual(e, { type: 'error', code: 'forbidden', message: e.message, id: channel }, `subscribe ${channel}`);
  }
  await c.sendJson({ type: 'publish', channel: 'admin', data: 1, id: 'p' });
  const e = await c.nextJson();
  assert.deepEqual(e, { type: 'error', code: 'forbidden', message: e.message, id: 'p' }, 'publish admin');
  // allowed publish is delivered (c is subscribed to users)
  await c.sendJson({ type: 'publish', channel: 'users', data: 'ok' });
  const m = await c.nextJson();
  assert.deepEqual(m, { type: 'message', channel: 'users', from: 'alice', data: 'ok', seq: m.seq });
  await c.close();
});

test('a token as a "bearer.<jwt>" subprotocol next to "herald" is accepted; herald answers "herald"', async () => {
  const token = jwt({ sub: 'alice', exp: now() + 300 }, { header: { alg: 'HS256' } });
  const c = await connectReady(h.url, '/ws/alice', { protocols: ['herald', `bearer.${token}`] });
  assert.equal(c.ws.protocol, 'herald');
  assert.equal(c.welcome.client_id, 'alice');
  await c.close();
  const bad = await upgradeRaw(h.port, '/ws/alice', { 'Sec-WebSocket-Protocol': `herald, bearer.${token}x` });
  assertRefused(bad, 401, 'bad subprotocol token');
});

test('Origin allowlist: a listed Origin or none is accepted, another gets 403 JSON', async () => {
  const token = tokenFor('alice');
  assertRefused(await upgradeRaw(h.port, `/ws/alice?token=${token}`, { Origin: 'https://evil.example' }), 403, 'evil origin');
  assertRefused(await upgradeRaw(h.port, `/ws/alice?token=${token}`, { Origin: 'https://good.example.evil' }), 403, 'suffix origin');
  assertRefused(await upgradeRaw(h.port, `/ws/alice?token=${token}`, { Origin: 'http://good.example' }), 403, 'other scheme');
  assert.equal((await upgradeRaw(h.port, `/ws/alice?token=${token}`, { Origin: GOOD_ORIGIN })).status, 101);
  assert.equal((await upgradeRaw(h.port, `/ws/alice?token=${token}`, { Origin: 'https://other.example' })).status, 101);
  assert.equal((await upgradeRaw(h.port, `/ws/alice?token=${token}`)).status, 101, 'no Origin header');
});

test('tokens never appear in the log', async () => {
  const token = tokenFor('logcheck');
  const c = await connectReady(h.url, `/ws/logcheck?token=${token}`);
  await c.close();
  await upgradeRaw(h.port, `/ws/logcheck?token=${token}x`);
  await upgradeRaw(h.port, `/ws/other?token=${token}`);
  const sig = token.split('.')[2];
  assert.ok(!h.log().includes(sig), 'a token signature appears in the log');
  assert.ok(!h.log().includes(token.split('.')[1]), 'a token payload appears in the log');
});
