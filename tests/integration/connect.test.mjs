// docs/protocol.md "Connecting": refusals before the upgrade with
// their exact HTTP status and JSON body, and the connection limit.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startHerald, connect, connectReady, upgradeRaw, rawConnect, httpGet, waitFor, closeAll } from './harness.mjs';

let h;
let hLimited;

before(async () => {
  [h, hLimited] = await Promise.all([
    startHerald(),
    startHerald({ args: ['--max-connections', '2'] }),
  ]);
});
after(async () => {
  const errs = [];
  for (const x of [h, hLimited]) if (x) await x.stop().catch((e) => errs.push(e));
  if (errs.length) throw errs[0];
});

function assertJsonRefusal(res, status, error, what) {
  assert.equal(res.status, status, `${what}: status ${res.status} body ${JSON.stringify(res.body)}`);
  assert.match(res.headers['content-type'] || '', /^application\/json\b/, `${what}: content-type`);
  if (error === undefined) {
    assert.equal(typeof res.json.error, 'string', `${what}: body ${res.body}`);
    assert.deepEqual(Object.keys(res.json), ['error'], `${what}: body ${res.body}`);
  } else {
    assert.deepEqual(res.json, { error }, `${what}: body`);
  }
}

test('the upgrade answers 101 for a valid client_id', async () => {
  const res = await upgradeRaw(h.port, '/ws/alice');
  assert.equal(res.status, 101);
});

test('bad client_id is refused with 400 {"error":"invalid client_id"}', async () => {
  const paths = [
    '/ws/',
    '/ws/a/b',
    '/ws/alice/',
    `/ws/${'x'.repeat(65)}`,
    '/ws/al%20ice',
    '/ws/bad%20id', // what a client sends for "/ws/bad id"
    '/ws/a%2Fb',
    '/ws/al!ce',
    '/ws/%C3%A9',
    '/ws/a*b',
  ];
  for (const p of paths) {
    assertJsonRefusal(await upgradeRaw(h.port, p), 400, 'invalid client_id', p);
  }
  // the same seen through a real WebSocket client, which percent-encodes the space
  const err = await connect(h.url, '/ws/bad id').then(
    () => { throw new Error('upgrade of "/ws/bad id" succeeded'); },
    (e) => e,
  );
  assert.equal(err.status, 400);
  assert.deepEqual(JSON.parse(err.body), { error: 'invalid client_id' });
});

test('bad channels= value is refused with 400 {"error":"invalid channel in channels"}', async () => {
  const queries = [
    '?channels=bad%20name',
    '?channels=ok,bad%20name',
    `?channels=${'c'.repeat(129)}`,
    '?channels=$foo',
    '?channels=a,$other',
    '?channels=a/b',
  ];
  for (const q of queries) {
    assertJsonRefusal(await upgradeRaw(h.port, `/ws/alice${q}`), 400, 'invalid channel in channels', q);
  }
});

test('more than 64 channels in channels= is refused with 400 JSON; 64 are accepted', async () => {
  const many = Array.from({ length: 65 }, (_, i) => `c${i}`).join(',');
  assertJsonRefusal(await upgradeRaw(h.port, `/ws/alice?channels=${many}`), 400, undefined, '65 channels');
  const ok = Array.from({ length: 64 }, (_, i) => `c${i}`).join(',');
  assert.equal((await upgradeRaw(h.port, `/ws/alice?channels=${ok}`)).status, 101, '64 channels');
});

test('more than 32 query arguments are refused with 400 JSON', async () => {
  const args = Array.from({ length: 33 }, (_, i) => `a${i}=1`).join('&');
  assertJsonRefusal(await upgradeRaw(h.port, `/ws/alice?${args}`), 400, undefined, '33 arguments');
  const ok = Array.from({ length: 32 }, (_, i) => `a${i}=1`).join('&');
  assert.equal((await upgradeRaw(h.port, `/ws/alice?${ok}`)).status, 101, '32 arguments');
});

// "?pad=ppp…": the query (after "?") is exactly n bytes
const queryOf = (n) => `?pad=${'p'.repeat(n - 4)}`;

test('a query longer than 4096 bytes is refused with 400 JSON', async () => {
  assertJsonRefusal(await upgradeRaw(h.port, `/ws/alice${queryOf(4097)}`), 400, undefined, '4097-byte query');
  assertJsonRefusal(await upgradeRaw(h.port, `/ws/alice${queryOf(6000)}`), 400, undefined, '6000-byte query');
});

test('a query of exactly 4096 bytes is accepted', async () => {
  const res = await upgradeRaw(h.port, `/ws/alice${queryOf(4096)}`);
  assert.equal(res.status, 101, `4096-byte query: ${res.status} ${res.body}`);
});

test('an upgrade to any other path is refused with 404 {"error":"not found"}', async () => {
  for (const p of ['/foo', '/', '/wsx/alice', '/health', '/api/ws/alice', '/WS/alice']) {
    assertJsonRefusal(await upgradeRaw(h.port, p), 404, 'not found', p);
  }
});

test('a plain GET of /ws/alice answers 426 {"error":"websocket upgrade required"}', async () => {
  const res = await httpGet(`${h.http}/ws/alice`);
  assertJsonRefusal(res, 426, 'websocket upgrade required', 'GET /ws/alice');
});

test('refused upgrades do not count as connections', async () => {
  for (let i = 0; i < 5; i++) await upgradeRaw(h.port, '/ws/a/b');
  const c = await connectReady(h.url, '/ws/counted');
  await waitFor(async () => (await httpGet(`${h.http}/health`)).json.connections === 1, 3000,
    { what: '/health connections == 1' });
  await c.close();
});

test('--max-connections 2: the third upgrade gets 503; after one closes a new one succeeds', async () => {
  const a = await connectReady(hLimited.url, '/ws/a');
  const b = await connectReady(hLimited.url, '/ws/b');
  assertJsonRefusal(await upgradeRaw(hLimited.port, '/ws/c'), 503, 'connection limit reached', 'third');
  // a refused client through ws too
  const err = await connect(hLimited.url, '/ws/c').then(
    () => { throw new Error('third connection was accepted'); },
    (e) => e,
  );
  assert.equal(err.status, 503);
  // the existing sessions are unaffected
  await a.send('still');
  assert.equal(await a.next(), 'Echo: still');
  await a.close();
  const c = await waitFor(async () => connectReady(hLimited.url, '/ws/c'), 5000, { what: 'a free slot after a close' });
  assert.equal(c.welcome.client_id, 'c');
  assertJsonRefusal(await upgradeRaw(hLimited.port, '/ws/d'), 503, 'connection limit reached', 'third again');
  await closeAll(b, c);
});

// lws refuses any socket numbered past the soft open-files limit herald
// started with, so herald sets that limit from --max-connections.
function softFileLimitOf(pid) {
  const line = readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
  return Number(line.split(/\s{2,}/)[1]);
}

test('a soft open-files limit of 256 is raised: 1,500 sessions connect under --max-connections 1500', async (t) => {
  const small = await startHerald({ softFileLimit: 256, args: ['--max-connections', '1500'] });
  const clients = [];
  t.after(async () => {
    for (const c of clients) c.destroy();
    await small.stop();
  });
  assert.equal(softFileLimitOf(small.pid), 1500 + 1024);
  for (let batch = 0; batch < 15; batch++) {
    clients.push(...await Promise.all(Array.from({ length: 100 },
      (_, i) => rawConnect(small.port, `/ws/many-${batch}-${i}`))));
  }
  const health = await httpGet(`${small.http}/health`);
  assert.equal(health.json.connections, 1500);
  assertJsonRefusal(await upgradeRaw(small.port, '/ws/one-more'), 503, 'connection limit reached', '1,501st');
});

test('a large soft limit is lowered to what --max-connections needs (lws scans its fd table on every close)', () => {
  assert.equal(softFileLimitOf(hLimited.pid), 2 + 1024);
});
