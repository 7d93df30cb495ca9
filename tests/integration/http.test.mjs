// docs/protocol.md "HTTP": /health, /metrics, /api/stats, the dashboard, unknown paths, and
// POST /api/publish, on a herald without Redis.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { startHerald, connectReady, httpGet, httpPost, waitFor, parseMetrics, closeAll, WEB_ROOT } from './harness.mjs';

let h;
let hKey;
const API_KEY = 'test-api-key-123';

before(async () => {
  [h, hKey] = await Promise.all([
    startHerald(),
    startHerald({ args: ['--api-key', API_KEY] }),
  ]);
});
after(async () => {
  const errs = [];
  for (const x of [h, hKey]) if (x) await x.stop().catch((e) => errs.push(e));
  if (errs.length) throw errs[0];
});

const health = async () => {
  const res = await httpGet(`${h.http}/health`);
  assert.equal(res.status, 200);
  return res.json;
};

test('GET /health reports healthy, redis disabled and the live session count', async () => {
  const res = await httpGet(`${h.http}/health`);
  assert.equal(res.status, 200);
  assert.match(res.headers['content-type'] || '', /^application\/json\b/);
  assert.deepEqual(res.json, { status: 'healthy', redis: 'disabled', connections: 0 });

  const a = await connectReady(h.url, '/ws/alice');
  const b = await connectReady(h.url, '/ws/alice');
  const c = await connectReady(h.url, '/ws/bob');
  assert.deepEqual(await health(), { status: 'healthy', redis: 'disabled', connections: 3 });
  await a.close();
  await waitFor(async () => (await health()).connections === 2, 3000, { what: 'connections 2 after a close' });
  c.terminate();
  await waitFor(async () => (await health()).connections === 1, 3000, { what: 'connections 1 after an abrupt close' });
  await b.close();
  await waitFor(async () => (await health()).connections === 0, 3000, { what: 'connections 0' });
  assert.deepEqual(await health(), { status: 'healthy', redis: 'disabled', connections: 0 });
});

test('GET /metrics is Prometheus text with herald_ metrics that move', async () => {
  const get = async () => {
    const res = await httpGet(`${h.http}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'] || '', /^text\/plain\b/);
    return res.body;
  };
  const before = await get();
  const m0 = parseMetrics(before);
  for (const name of ['herald_connections', 'herald_messages_in_total']) {
    assert.ok(name in m0.values, `metric ${name} missing from:\n${before}`);
  }
  assert.equal(m0.types.herald_messages_in_total, 'counter');
  assert.equal(m0.types.herald_connections, 'gauge');
  const names = Object.keys(m0.values).map((k) => k.replace(/\{.*$/, '')).filter((n) => n.startsWith('herald_'));
  // the figures docs/protocol.md lists
  for (const re of [/messages_out/, /bytes_in/, /bytes_out/, /broadcast/, /notification/, /drop/, /slow/, /redis/]) {
    assert.ok(names.some((n) => re.test(n)), `no metric matching ${re} in:\n${before}`);
  }

  const a = await connectReady(h.url, '/ws/alice');
  const b = await connectReady(h.url, '/ws/bob');
  for (let i = 0; i < 3; i++) {
    await a.send(`m${i}`);
    assert.equal(await a.next(), `Echo: m${i}`);
  }
  await a.sendJson({ type: 'broadcast', data: 1 });
  await a.nextJson();
  await b.nextJson();
  const after = parseMetrics(await get());
  assert.equal(after.values.herald_connections, 2);
  assert.ok(after.values.herald_messages_in_total >= m0.values.herald_messages_in_total + 4,
    `messages_in ${m0.values.herald_messages_in_total} → ${after.values.herald_messages_in_total}`);
  const grew = (re) => Object.keys(after.values).filter((k) => re.test(k)).some((k) => after.values[k] > (m0.values[k] ?? 0));
  assert.ok(grew(/^herald_messages_out/), 'messages out did not grow');
  assert.ok(grew(/^herald_bytes_in/), 'bytes in did not grow');
  assert.ok(grew(/^herald_bytes_out/), 'bytes out did not grow');
  assert.ok(grew(/^herald_broadcast/), 'broadcasts did not grow');
  await closeAll(a, b);
  await waitFor(async () => parseMetrics(await get()).values.herald_connections === 0, 3000, { what: 'herald_connections 0' });
});

test('GET /api/stats is JSON with the same figures', async () => {
  const a = await connectReady(h.url, '/ws/alice');
  const res = await httpGet(`${h.http}/api/stats`);
  assert.equal(res.status, 200);
  assert.match(res.headers['content-type'] || '', /^application\/json\b/);
  const stats = res.json;
  assert.equal(typeof stats, 'object');
  assert.ok(stats && !Array.isArray(stats));
  const flat = {};
  (function walk(o, p) {
    for (const [k, v] of Object.entries(o)) {
      if (v && typeof v === 'object' && !Array.isArray(v)) walk(v, `${p}${k}.`);
      else flat[`${p}${k}`] = v;
    }
  })(stats, '');
  const conn = Object.entries(flat).filter(([k]) => /(^|\.)connections$/.test(k));
  assert.ok(conn.length >= 1, `no connections figure in ${res.body}`);
  assert.ok(conn.every(([, v]) => v === 1), `connections in ${res.body}`);
  for (const re of [/messages_in/, /messages_out/, /slow/]) {
    assert.ok(Object.keys(flat).some((k) => re.test(k)), `no ${re} in ${res.body}`);
  }
  await a.close();
});

test('GET / serves web/index.html', async () => {
  const res = await httpGet(`${h.http}/`);
  assert.equal(res.status, 200);
  assert.match(res.headers['content-type'] || '', /^text\/html\b/);
  assert.equal(res.body, readFileSync(path.join(WEB_ROOT, 'index.html'), 'utf8'));
  const res2 = await httpGet(`${h.http}/index.html`);
  assert.equal(res2.status, 200);
  assert.equal(res2.body, res.body);
});

test('unknown paths answer 404', async () => {
  const paths = ['/nope', '/api/nope', '/health/x', '/no/such/file.js', '/../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd'];
  const results = await Promise.all(paths.map((p) => httpGet(`${h.http}${p}`, { timeoutMs: 3000 }).then(
    (res) => ({ p, status: res.status, body: res.body, leaked: res.body.includes('root:x:0:0') }),
    (err) => ({ p, status: `no answer (${err.message})` }),
  )));
  const wrong = results.filter((r) => r.status !== 404 || r.leaked || r.body !== '{"error":"not found"}');
  assert.deepEqual(wrong, [], `paths not answered 404: ${JSON.stringify(wrong)}`);
});

test('POST /api/publish delivers a notification to subscribers and answers 202', async () => {
  const sub = await connectReady(h.url, '/ws/alice?channels=users');
  const other = await connectReady(h.url, '/ws/bob');
  const data = { event: 'user.updated', user: { id: 42, name: 'Ada' } };
  const res = await httpPost(`${h.http}/api/publish`, { channel: 'users', data });
  assert.equal(res.status, 202, res.body);
  // a channel publish answers with the seq the message got
  assert.deepEqual(res.json, { published: true, seq: res.json.seq });
  const n = await sub.nextJson();
  assert.equal(typeof n.seq, 'string', JSON.stringify(n));
  assert.deepEqual(n, { type: 'notification', channel: 'users', data, seq: res.json.seq });
  // a client publish on the same channel continues the same sequence
  await other.sendJson({ type: 'publish', channel: 'users', data: 'next' });
  const m = await sub.nextJson();
  assert.deepEqual(m, { type: 'message', channel: 'users', from: 'bob', data: 'next', seq: m.seq });
  const [e1, n1] = n.seq.split('-').map(Number);
  const [e2, n2] = m.seq.split('-').map(Number);
  assert.ok(e2 === e1 && n2 > n1, `seq ${n.seq} then ${m.seq}`);
  await other.expectNone(150);
  await closeAll(sub, other);
});

test('POST /api/publish with bad JSON, no data or a bad channel answers 400 JSON', async () => {
  const bodies = ['{', 'not json', '[]', '""', '{"data":1}', '{"channel":"users"}', '{"channel":5,"data":1}',
    '{"channel":"bad name","data":1}', '{"channel":"client:bad id","data":1}'];
  for (const body of bodies) {
    const res = await httpPost(`${h.http}/api/publish`, body);
    assert.equal(res.status, 400, `${body} → ${res.status} ${res.body}`);
    assert.equal(typeof res.json.error, 'string', `${body} → ${res.body}`);
  }
});

test('POST /api/publish to broadcast and client:<id> reaches every session / the client\'s sessions', async () => {
  const alice = await connectReady(h.url, '/ws/alice');
  const bob1 = await connectReady(h.url, '/ws/bob');
  const bob2 = await connectReady(h.url, '/ws/bob');
  let res = await httpPost(`${h.http}/api/publish`, { channel: 'broadcast', data: { all: true } });
  assert.equal(res.status, 202, res.body);
  assert.deepEqual(res.json, { published: true });
  for (const c of [alice, bob1, bob2]) {
    assert.deepEqual(await c.nextJson(), { type: 'notification', channel: 'broadcast', data: { all: true } });
  }
  res = await httpPost(`${h.http}/api/publish`, { channel: 'client:bob', data: 'hi bob' });
  assert.equal(res.status, 202, res.body);
  for (const c of [bob1, bob2]) {
    assert.deepEqual(await c.nextJson(), { type: 'notification', channel: 'client:bob', data: 'hi bob' });
  }
  await alice.expectNone(200);
  await bob1.expectNone(0);
  await closeAll(alice, bob1, bob2);
});

test('POST /api/publish with a body over max-message-size + 1 KiB answers 413', async () => {
  const res = await httpPost(`${h.http}/api/publish`, { channel: 'users', data: 'a'.repeat(65536 + 1024) });
  assert.equal(res.status, 413, res.body);
  assert.equal(typeof res.json.error, 'string');
  // herald is unharmed
  assert.equal((await httpGet(`${h.http}/health`)).status, 200);
});

test('POST /api/publish needs the API key when one is configured', async () => {
  const body = { channel: 'users', data: 1 };
  const noKey = await httpPost(`${hKey.http}/api/publish`, body);
  assert.equal(noKey.status, 401, noKey.body);
  const badKey = await httpPost(`${hKey.http}/api/publish`, body, { headers: { Authorization: 'Bearer wrong' } });
  assert.equal(badKey.status, 401, badKey.body);
  const sub = await connectReady(hKey.url, '/ws/alice?channels=users');
  const ok = await httpPost(`${hKey.http}/api/publish`, body, { headers: { Authorization: `Bearer ${API_KEY}` } });
  assert.equal(ok.status, 202, ok.body);
  const n = await sub.nextJson();
  assert.deepEqual(ok.json, { published: true, seq: n.seq });
  assert.deepEqual(n, { type: 'notification', channel: 'users', data: 1, seq: n.seq });
  await sub.close();
});
