// Unit tests of web/herald.js: a fake WebSocket, fake timers and a fake
// random source drive the client deterministically; no server is needed.
// Run: node --test tests/unit-js/

import { test } from 'node:test';
import net from 'node:net';
import assert from 'node:assert/strict';
import { HeraldClient, HeraldError, backoffDelay, defaultBase } from '../../web/herald.js';

// ------------------------------------------------------------------ fakes

// A manual clock: timers fire only when the test advances time.
function fakeClock() {
  let now = 0;
  let nextId = 1;
  const timers = new Map();
  return {
    setTimeout(fn, ms) {
      const id = nextId++;
      timers.set(id, { fn, at: now + Math.max(0, ms | 0) });
      return id;
    },
    clearTimeout(id) { timers.delete(id); },
    advance(ms) {
      const end = now + ms;
      for (;;) {
        let best = null;
        for (const [id, t] of timers) if (t.at <= end && (!best || t.at < best[1].at)) best = [id, t];
        if (!best) break;
        timers.delete(best[0]);
        now = best[1].at;
        best[1].fn();
      }
      now = end;
    },
    get now() { return now; },
    get count() { return timers.size; },
  };
}

// A WebSocket class whose "server side" the test plays by hand.
function fakeSocketClass() {
  const sockets = [];
  class FakeWebSocket {
    constructor(url) {
      this.url = url;
      this.sent = [];
      this.readyState = 0;
      this.closedWith = null;
      sockets.push(this);
    }
    send(data) {
      if (this.readyState !== 1) throw new Error('send on a socket that is not open');
      this.sent.push(data);
    }
    close(code, reason) { this.closedWith = { code, reason }; this.readyState = 2; }
    // --- the server's side
    accept(welcome = {}) {
      this.readyState = 1;
      this.onopen && this.onopen({});
      this.push({ type: 'welcome', client_id: 'alice', session: 's' + sockets.length, node: 'n1', heartbeat: 25, ...welcome });
    }
    push(frame) { this.onmessage && this.onmessage({ data: typeof frame === 'string' ? frame : JSON.stringify(frame) }); }
    drop(code = 1006) { this.readyState = 3; this.onclose && this.onclose({ code, reason: '', wasClean: false }); }
    frames() { return this.sent.map((s) => JSON.parse(s)); }
    last() { return JSON.parse(this.sent[this.sent.length - 1]); }
  }
  return { FakeWebSocket, sockets };
}

// Random numbers from a list, cycling.
function seq(...values) {
  let i = 0;
  const fn = () => { fn.calls++; return values[i++ % values.length]; };
  fn.calls = 0;
  return fn;
}

const tick = () => new Promise((r) => setImmediate(r));

function make(opts = {}) {
  const clock = fakeClock();
  const { FakeWebSocket, sockets } = fakeSocketClass();
  const states = [];
  const client = new HeraldClient({
    base: 'ws://herald.test:8080',
    clientId: 'alice',
    WebSocket: FakeWebSocket,
    random: opts.random || seq(0.999999),
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
    on: { state: (s) => states.push(s) },
    ...opts,
  });
  return { client, clock, sockets, states, ws: () => sockets[sockets.length - 1] };
}

// ----------------------------------------------------------------- backoff

test('backoffDelay: doubles from 500 ms, capped at 30 s, full jitter', () => {
  const top = () => 0.999999;
  const ceilings = [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000];
  ceilings.forEach((c, attempt) => {
    assert.equal(backoffDelay(attempt, { random: top }), Math.floor(0.999999 * c));
    assert.equal(backoffDelay(attempt, { random: () => 0 }), 0);
    assert.equal(backoffDelay(attempt, { random: () => 0.5 }), c / 2);
  });
  assert.equal(backoffDelay(50, { random: top }), Math.floor(0.999999 * 30000), 'no overflow past the cap');
  assert.equal(backoffDelay(3, { initial: 100, max: 1000, factor: 3, random: top }), Math.floor(0.999999 * 1000));
});

test('connects at once to <base>/ws/<client_id> and goes connecting -> open on welcome', () => {
  const { client, sockets, states, ws } = make();
  assert.equal(sockets.length, 1);
  assert.equal(ws().url, 'ws://herald.test:8080/ws/alice');
  assert.equal(client.state, 'connecting');
  let welcome = null;
  client.on('welcome', (w) => { welcome = w; });
  ws().readyState = 1;
  ws().onopen({});
  assert.equal(client.state, 'connecting', 'open only once the welcome arrives');
  ws().push({ type: 'welcome', client_id: 'alice', session: 'abc', node: 'n1', heartbeat: 25 });
  assert.equal(client.state, 'open');
  assert.equal(welcome.session, 'abc');
  assert.equal(client.welcome.node, 'n1');
  assert.deepEqual(states, ['connecting', 'open']);
  client.close();
});

test('reconnect delays grow exponentially and are capped at 30 s', () => {
  const { client, clock, sockets } = make({ random: seq(0.999999) });
  const delays = [];
  client.on('reconnect', ({ delay }) => delays.push(delay));
  for (let i = 0; i < 9; i++) {
    const before = sockets.length;
    sockets[before - 1].drop();
    const d = delays[delays.length - 1];
    clock.advance(d - 1);
    assert.equal(sockets.length, before, `attempt ${i}: no new socket before the delay`);
    clock.advance(1);
    assert.equal(sockets.length, before + 1, `attempt ${i}: a new socket after the delay`);
  }
  const f = (c) => Math.floor(0.999999 * c);
  assert.deepEqual(delays, [f(500), f(1000), f(2000), f(4000), f(8000), f(16000), f(30000), f(30000), f(30000)]);
  client.close();
});

test('jitter: each delay is random() times the ceiling', () => {
  const random = seq(0.1, 0.5, 0.9, 0);
  const { client, clock, sockets } = make({ random });
  const delays = [];
  client.on('reconnect', ({ delay }) => delays.push(delay));
  for (let i = 0; i < 4; i++) {
    sockets[sockets.length - 1].drop();
    clock.advance(delays[delays.length - 1]);
  }
  assert.deepEqual(delays, [50, 500, 1800, 0]);
  assert.equal(random.calls, 4);
  client.close();
});

test('backoff resets after a welcome, not after a bare socket open', () => {
  const { client, clock, sockets } = make({ random: seq(0.999999) });
  const delays = [];
  client.on('reconnect', ({ delay }) => delays.push(delay));
  const fail = () => { sockets[sockets.length - 1].drop(); clock.advance(delays[delays.length - 1]); };
  fail(); fail(); fail();
  assert.equal(client.attempt, 3);
  // The socket opens but closes before any welcome: still counts as a failure.
  const s = sockets[sockets.length - 1];
  s.readyState = 1; s.onopen({});
  fail();
  assert.equal(delays[3], Math.floor(0.999999 * 4000));
  // A welcome resets the backoff.
  sockets[sockets.length - 1].accept();
  assert.equal(client.attempt, 0);
  sockets[sockets.length - 1].drop();
  assert.equal(delays[4], Math.floor(0.999999 * 500));
  client.close();
});

test('state events: connecting, open, closed, connecting, open; close() stops for good', () => {
  const { client, clock, sockets, states } = make({ random: seq(0.5) });
  sockets[0].accept();
  sockets[0].drop();
  assert.equal(client.state, 'closed');
  clock.advance(250);
  sockets[1].accept();
  assert.deepEqual(states, ['connecting', 'open', 'closed', 'connecting', 'open']);
  let closeInfo = null;
  client.on('close', (info) => { closeInfo = info; });
  client.close();
  assert.equal(client.state, 'closed');
  assert.deepEqual(sockets[1].closedWith, { code: 1000, reason: 'client closed' });
  assert.equal(closeInfo.code, 1000);
  clock.advance(120000);
  assert.equal(sockets.length, 2, 'no reconnect after close()');
  assert.equal(clock.count, 0, 'no timer left behind');
});

test('connect timeout: a socket with no welcome is dropped and retried', () => {
  const { client, clock, sockets } = make({ connectTimeout: 5000, random: seq(0) });
  sockets[0].readyState = 1; sockets[0].onopen({});
  clock.advance(4999);
  assert.equal(sockets.length, 1);
  clock.advance(1);
  assert.ok(sockets[0].closedWith, 'stalled socket closed');
  assert.equal(client.state, 'connecting', 'retried at once with a 0 delay');
  assert.equal(sockets.length, 2);
  client.close();
});

test('shouldReconnect=false stops after the first close', () => {
  const { client, clock, sockets } = make({ shouldReconnect: (info) => info.code !== 4403 });
  sockets[0].accept();
  sockets[0].drop(4403);
  clock.advance(60000);
  assert.equal(sockets.length, 1);
  assert.equal(client.state, 'closed');
});

// ----------------------------------------------------------- subscriptions

test('subscribe before connecting: subscribe frame goes out after the welcome; promise resolves on subscribed', async () => {
  const { client, ws } = make();
  const got = [];
  const p = client.subscribe('users', (m) => got.push(m));
  assert.equal(ws().sent.length, 0);
  ws().accept();
  const sub = ws().last();
  assert.equal(sub.type, 'subscribe');
  assert.equal(sub.channel, 'users');
  assert.equal(sub.since, undefined, 'no since before any message');
  ws().push({ type: 'subscribed', channel: 'users', id: sub.id });
  const reply = await p;
  assert.equal(reply.type, 'subscribed');
  ws().push({ type: 'notification', channel: 'users', data: { event: 'user.created' }, seq: '100-0' });
  ws().push({ type: 'message', channel: 'users', from: 'bob', data: 'hi', seq: '100-1' });
  ws().push({ type: 'notification', channel: 'other', data: 1, seq: '7-0' });
  assert.equal(got.length, 2);
  assert.equal(got[0].data.event, 'user.created');
  assert.equal(got[1].from, 'bob');
  assert.equal(client.lastSeq('users'), '100-1');
  // Already confirmed: a second subscribe resolves at once without a frame.
  const n = ws().sent.length;
  await client.subscribe('users', () => {});
  assert.equal(ws().sent.length, n);
  client.close();
});

test('after a reconnect every channel is resubscribed with since = last seq', async () => {
  const { client, clock, sockets } = make({ random: seq(0) });
  const got = [];
  client.subscribe('users', (m) => got.push(m.seq));
  client.subscribe('room', () => {});
  sockets[0].accept();
  for (const f of sockets[0].frames()) sockets[0].push({ type: 'subscribed', channel: f.channel, id: f.id });
  sockets[0].push({ type: 'notification', channel: 'users', data: {}, seq: '5-1' });
  sockets[0].push({ type: 'notification', channel: 'users', data: {}, seq: '5-2' });
  sockets[0].drop();
  clock.advance(0);
  assert.equal(sockets.length, 2);
  sockets[1].accept();
  const subs = sockets[1].frames().filter((f) => f.type === 'subscribe');
  assert.deepEqual(subs.map((f) => [f.channel, f.since]), [['users', '5-2'], ['room', undefined]]);
  // Missed messages replayed by herald reach the handler, then live ones.
  for (const f of subs) sockets[1].push({ type: 'subscribed', channel: f.channel, id: f.id });
  sockets[1].push({ type: 'notification', channel: 'users', data: {}, seq: '5-3' });
  assert.deepEqual(got, ['5-1', '5-2', '5-3']);
  // And again after a second drop: since moves on.
  sockets[1].drop();
  clock.advance(0);
  sockets[2].accept();
  assert.equal(sockets[2].frames().find((f) => f.channel === 'users').since, '5-3');
  client.close();
});

test('resume:false channels never send since', () => {
  const { client, clock, sockets } = make({ random: seq(0) });
  client.subscribe('$sys', () => {}, { resume: false });
  sockets[0].accept();
  sockets[0].push({ type: 'notification', channel: '$sys', data: {}, seq: '9-9' });
  sockets[0].drop();
  clock.advance(0);
  sockets[1].accept();
  assert.equal(sockets[1].last().channel, '$sys');
  assert.equal(sockets[1].last().since, undefined);
  client.close();
});

test('subscribe with an explicit since sends it on the first subscribe', () => {
  const { client, ws } = make();
  ws().accept();
  client.subscribe('users', () => {}, { since: '42-0' }).catch(() => {});
  assert.deepEqual([ws().last().channel, ws().last().since], ['users', '42-0']);
  client.close();
});

test('resync calls the channel hook, the client hook and the resync event', () => {
  const hookCalls = [];
  const { client, ws } = make({ onResync: (c) => hookCalls.push(['client', c]) });
  const events = [];
  client.on('resync', (c) => events.push(c));
  client.subscribe('users', () => {}, { onResync: (c, f) => hookCalls.push(['users', c, f.type]) });
  client.subscribe('room', () => {});
  ws().accept();
  ws().push({ type: 'resync', channel: 'users' });
  ws().push({ type: 'resync', channel: 'room' });
  assert.deepEqual(events, ['users', 'room']);
  assert.deepEqual(hookCalls, [['users', 'users', 'resync'], ['client', 'room']]);
  client.close();
});

test('resume: the first reply\'s seq is the channel\'s position; a resync moves the position to its seq', async () => {
  const { client, clock, sockets } = make({ random: seq(0) });
  const resyncs = [];
  const got = [];
  client.subscribe('quiet', (m) => got.push(m.seq), { onResync: (c, f) => resyncs.push([c, f.reason]) });
  sockets[0].accept();
  const first = sockets[0].last();
  assert.equal(first.since, undefined);
  sockets[0].push({ type: 'subscribed', channel: 'quiet', seq: '40-0', id: first.id });
  await Promise.resolve();
  assert.equal(client.lastSeq('quiet'), '40-0', 'a quiet channel still has a position to resume from');
  sockets[0].drop();
  clock.advance(0);
  sockets[1].accept();
  const again = sockets[1].last();
  assert.equal(again.since, '40-0', 'resumes from the position, though nothing arrived');
  // herald could not prove continuity: resync, with where the channel stands
  sockets[1].push({ type: 'subscribed', channel: 'quiet', seq: '90-3', recovered: false, id: again.id });
  sockets[1].push({ type: 'resync', channel: 'quiet', reason: 'trimmed', seq: '90-3' });
  assert.deepEqual(resyncs, [['quiet', 'trimmed']]);
  assert.equal(client.lastSeq('quiet'), '90-3');
  sockets[1].push({ type: 'notification', channel: 'quiet', data: 1, seq: '91-0' });
  assert.deepEqual(got, ['91-0']);
  sockets[1].drop();
  clock.advance(0);
  sockets[2].accept();
  assert.equal(sockets[2].last().since, '91-0');
  client.close();
});

test('a resync without seq keeps the old position (the next resume resyncs again)', () => {
  const { client, ws } = make();
  client.subscribe('users', () => {}, { since: '5-0' }).catch(() => {});
  ws().accept();
  ws().push({ type: 'resync', channel: 'users' });
  assert.equal(client.lastSeq('users'), '5-0');
  client.close();
});

test('unsubscribe leaves the channel: frame sent, handler silent, not resubscribed', async () => {
  const { client, clock, sockets } = make({ random: seq(0) });
  const got = [];
  client.subscribe('users', (m) => got.push(m));
  sockets[0].accept();
  const p = client.unsubscribe('users');
  const f = sockets[0].last();
  assert.deepEqual([f.type, f.channel], ['unsubscribe', 'users']);
  sockets[0].push({ type: 'unsubscribed', channel: 'users', id: f.id });
  assert.equal((await p).type, 'unsubscribed');
  sockets[0].push({ type: 'notification', channel: 'users', data: {}, seq: '1-1' });
  assert.equal(got.length, 0);
  sockets[0].drop();
  clock.advance(0);
  sockets[1].accept();
  assert.equal(sockets[1].frames().filter((x) => x.type === 'subscribe').length, 0);
  assert.deepEqual(client.channels(), []);
  client.close();
});

test('a refused subscribe rejects with the server error and is not retried', async () => {
  const { client, clock, sockets } = make({ random: seq(0) });
  const errors = [];
  client.on('error', (e) => errors.push(e.code));
  sockets[0].accept();
  const p = client.subscribe('$nope', () => {});
  const f = sockets[0].last();
  sockets[0].push({ type: 'error', code: 'bad_channel', message: 'bad channel', id: f.id });
  await assert.rejects(p, (e) => e instanceof HeraldError && e.code === 'bad_channel');
  assert.deepEqual(errors, ['bad_channel']);
  sockets[0].drop();
  clock.advance(0);
  sockets[1].accept();
  assert.equal(sockets[1].sent.length, 0);
  client.close();
});

// Issue 11: after a reconnect herald.js re-sent every subscription at once
// and dropped each channel herald refused as rate_limited.
test('a subscribe refused as rate_limited after a reconnect is retried, never dropped', async () => {
  const { client, clock, sockets } = make({ random: seq(0.5) });
  const errors = [];
  client.on('error', (e) => errors.push(e.code));
  for (const c of ['a', 'b', 'c']) client.subscribe(c, () => {});
  sockets[0].accept();
  for (const f of sockets[0].frames()) sockets[0].push({ type: 'subscribed', channel: f.channel, id: f.id });
  sockets[0].drop();
  clock.advance(250); // reconnect backoff: 500 ms x 0.5
  sockets[1].accept();
  const first = sockets[1].frames();
  assert.deepEqual(first.map((f) => f.channel), ['a', 'b', 'c']);
  const waitB = client.subscribe('b', () => {});
  sockets[1].push({ type: 'subscribed', channel: 'a', id: first[0].id });
  sockets[1].push({ type: 'error', code: 'rate_limited', message: 'over the message rate limit', id: first[1].id });
  sockets[1].push({ type: 'subscribed', channel: 'c', id: first[2].id });
  await tick();
  assert.deepEqual(client.channels(), ['a', 'b', 'c'], 'b is kept');
  assert.deepEqual(errors, [], 'no error for a rate_limited subscribe');
  // sent again after the backoff (initial 200 ms, full jitter 0.5 -> 101 ms)
  clock.advance(100);
  assert.equal(sockets[1].sent.length, 3);
  clock.advance(1);
  const again = sockets[1].last();
  assert.deepEqual([again.type, again.channel, again.id], ['subscribe', 'b', first[1].id]);
  sockets[1].push({ type: 'subscribed', channel: 'b', id: again.id });
  assert.equal((await waitB).type, 'subscribed');
  client.close();
});

test('a subscribe still refused at its timeout is queued again while connected', async () => {
  const { client, clock, ws } = make({ random: seq(0), requestTimeout: 1000 });
  ws().accept();
  client.subscribe('busy', () => {}).catch(() => {});
  // refused every time: resent after each backoff (random 0 -> 1 ms)
  for (let i = 0; i < 5; i++) {
    ws().push({ type: 'error', code: 'rate_limited', message: 'x', id: ws().last().id });
    clock.advance(1);
  }
  const n = ws().sent.length;
  assert.equal(n, 6);
  clock.advance(1000); // the request times out; the channel is queued again
  await tick();
  assert.deepEqual(client.channels(), ['busy']);
  clock.advance(250);
  assert.equal(ws().sent.length, n + 1);
  assert.equal(ws().last().channel, 'busy');
  ws().push({ type: 'subscribed', channel: 'busy', id: ws().last().id });
  await tick();
  assert.equal(client._channels.get('busy').confirmed, true);
  client.close();
});

test('resubscribing 300 channels after a reconnect is paced: 20 at once, then 20 every 250 ms', () => {
  const { client, clock, sockets } = make({ random: seq(0) });
  const names = Array.from({ length: 300 }, (_, i) => `ch${i}`);
  for (const c of names) client.subscribe(c, () => {}).catch(() => {});
  sockets[0].accept();
  assert.equal(sockets[0].sent.length, 20);
  clock.advance(249);
  assert.equal(sockets[0].sent.length, 20);
  clock.advance(1);
  assert.equal(sockets[0].sent.length, 40);
  clock.advance(250 * 13);
  assert.deepEqual(sockets[0].frames().map((f) => f.channel), names);
  assert.equal(clock.count > 0, true);
  client.close();
});

test('a request refused as rate_limited is sent again and resolves with the later reply', async () => {
  const { client, clock, ws } = make({ random: seq(0.5) });
  const limited = [];
  client.on('rate-limited', (frame, delay) => limited.push([frame.type, delay]));
  ws().accept();
  const p = client.publish('room', 'x');
  const f = ws().last();
  ws().push({ type: 'error', code: 'rate_limited', message: 'over the message rate limit', id: f.id });
  clock.advance(101);
  assert.deepEqual(ws().last(), f, 'the same frame, same id');
  ws().push({ type: 'error', code: 'rate_limited', message: 'over the message rate limit', id: f.id });
  clock.advance(200); // 400 ms ceiling x 0.5 + 1
  assert.equal(ws().sent.length, 2);
  clock.advance(1);
  assert.equal(ws().sent.length, 3);
  ws().push({ type: 'ack', id: f.id });
  assert.equal((await p).type, 'ack');
  assert.deepEqual(limited, [['publish', 101], ['publish', 201]]);
  // retry: false gives the refusal to the caller
  const q = client.request({ type: 'publish', channel: 'room', data: 1 }, { retry: false });
  ws().push({ type: 'error', code: 'rate_limited', message: 'over the message rate limit', id: ws().last().id });
  await assert.rejects(q, (e) => e.code === 'rate_limited');
  client.close();
});

// ---------------------------------------------------------- request/reply

test('request/reply by id: echo, ping, publish, broadcast, send', async () => {
  const { client, ws } = make();
  ws().accept();
  const e = client.echo({ a: 1 });
  const pg = client.ping();
  const pb = client.publish('room', 'x');
  const bc = client.broadcast([1, 2]);
  const sd = client.send('bob', 'hi');
  const [fe, fp, fpb, fbc, fsd] = ws().frames();
  assert.deepEqual(fe, { type: 'echo', data: { a: 1 }, id: fe.id });
  assert.deepEqual(fp, { type: 'ping', id: fp.id });
  assert.deepEqual(fpb, { type: 'publish', channel: 'room', data: 'x', id: fpb.id });
  assert.deepEqual(fbc, { type: 'broadcast', data: [1, 2], id: fbc.id });
  assert.deepEqual(fsd, { type: 'send', to: 'bob', data: 'hi', id: fsd.id });
  assert.equal(new Set([fe.id, fp.id, fpb.id, fbc.id, fsd.id]).size, 5, 'ids are unique');
  // Replies out of order, plus noise without ids.
  ws().push({ type: 'broadcast', from: 'alice', data: [1, 2] });
  ws().push({ type: 'ack', id: fsd.id });
  ws().push({ type: 'pong', id: fp.id });
  ws().push({ type: 'echo', data: { a: 1 }, id: fe.id });
  ws().push({ type: 'ack', id: fbc.id });
  ws().push({ type: 'ack', id: fpb.id });
  assert.deepEqual(await e, { type: 'echo', data: { a: 1 }, id: fe.id });
  assert.equal((await pg).type, 'pong');
  assert.equal((await pb).type, 'ack');
  assert.equal((await bc).type, 'ack');
  assert.equal((await sd).type, 'ack');
  client.close();
});

test('an error reply with the id rejects with code and message', async () => {
  const { client, ws } = make();
  ws().accept();
  const p = client.publish('$sys', 1);
  ws().push({ type: 'error', code: 'forbidden', message: 'reserved channel', id: ws().last().id });
  await assert.rejects(p, (err) => err instanceof HeraldError && err.code === 'forbidden' &&
    err.message === 'reserved channel' && err.reply.type === 'error');
  client.close();
});

test('a request without a reply times out', async () => {
  const { client, clock, ws } = make({ requestTimeout: 3000 });
  ws().accept();
  const p = client.echo('x');
  clock.advance(2999);
  let settled = false;
  p.then(() => { settled = true; }, () => { settled = true; });
  await tick();
  assert.equal(settled, false);
  clock.advance(1);
  await assert.rejects(p, (err) => err.code === 'timeout');
  // A late reply is ignored.
  ws().push({ type: 'echo', data: 'x', id: 1 });
  client.close();
});

test('requests made while disconnected are sent after the welcome; in-flight ones fail on disconnect', async () => {
  const { client, clock, sockets } = make({ random: seq(0) });
  const early = client.echo('early');
  assert.equal(sockets[0].sent.length, 0);
  sockets[0].accept();
  const f = sockets[0].last();
  assert.equal(f.data, 'early');
  sockets[0].push({ type: 'echo', data: 'early', id: f.id });
  assert.equal((await early).data, 'early');

  const inflight = client.echo('lost');
  sockets[0].drop();
  await assert.rejects(inflight, (err) => err.code === 'disconnected');

  const queued = client.publish('room', 'later');
  clock.advance(0);
  sockets[1].accept();
  const q = sockets[1].last();
  assert.deepEqual([q.type, q.data], ['publish', 'later']);
  sockets[1].push({ type: 'ack', id: q.id });
  assert.equal((await queued).type, 'ack');
  client.close();
});

test('close() rejects pending and queued requests; requests after close reject', async () => {
  const { client, ws } = make();
  const queued = client.echo('q');
  ws().accept();
  const inflight = client.echo('i');
  client.close();
  await assert.rejects(queued, (e) => e.code === 'closed' || e.code === 'disconnected');
  await assert.rejects(inflight, (e) => e.code === 'closed');
  await assert.rejects(client.ping(), (e) => e.code === 'closed');
});

// ------------------------------------------------------------------ events

test('redis, broadcast, direct message, text and binary events', () => {
  const { client, ws } = make();
  const seen = [];
  client.on('redis', (state) => seen.push(['redis', state]));
  client.on('broadcast', (m) => seen.push(['broadcast', m.from, m.data]));
  client.on('message', (m) => seen.push(['message', m.from, m.data]));
  client.on('notification', (m) => seen.push(['notification', m.channel]));
  client.on('text', (t) => seen.push(['text', t]));
  client.on('binary', (b) => seen.push(['binary', b.byteLength]));
  ws().accept();
  ws().push({ type: 'redis', state: 'disconnected' });
  assert.equal(client.redisState, 'disconnected');
  ws().push({ type: 'redis', state: 'connected' });
  ws().push({ type: 'broadcast', from: 'bob', data: 1 });
  ws().push({ type: 'message', from: 'bob', data: 'psst' });
  ws().push({ type: 'notification', channel: 'client:alice', data: {} });
  ws().push('Echo: hello');
  ws().onmessage({ data: new ArrayBuffer(3) });
  assert.deepEqual(seen, [
    ['redis', 'disconnected'], ['redis', 'connected'], ['broadcast', 'bob', 1], ['message', 'bob', 'psst'],
    ['notification', 'client:alice'], ['text', 'Echo: hello'], ['binary', 3],
  ]);
  client.close();
});

test('a listener that throws does not break the client', () => {
  const { client, ws } = make();
  const saved = console.error;
  console.error = () => {};
  try {
    client.on('welcome', () => { throw new Error('boom'); });
    let ok = false;
    client.on('welcome', () => { ok = true; });
    ws().accept();
    assert.ok(ok);
    assert.equal(client.state, 'open');
  } finally {
    console.error = saved;
    client.close();
  }
});

test('keepalive: idle link gets a ping; no answer drops it and reconnects', () => {
  const { client, clock, sockets } = make({ pongTimeout: 5000, random: seq(0) });
  sockets[0].accept({ heartbeat: 10 });
  clock.advance(9999);
  assert.equal(sockets[0].sent.length, 0);
  clock.advance(1);
  assert.equal(sockets[0].last().type, 'ping');
  // Any frame counts as life.
  sockets[0].push({ type: 'pong' });
  clock.advance(9999);
  assert.equal(sockets.length, 1);
  clock.advance(1);                // second ping
  clock.advance(5000);             // unanswered
  assert.ok(sockets[0].closedWith, 'dead socket closed');
  assert.equal(sockets.length, 2, 'reconnected');
  client.close();
});

test('off() and the function returned by on() remove listeners; once() runs once', () => {
  const { client, ws } = make();
  const calls = [];
  const off = client.on('broadcast', () => calls.push('on'));
  client.once('broadcast', () => calls.push('once'));
  ws().accept();
  ws().push({ type: 'broadcast', from: 'x', data: 1 });
  off();
  ws().push({ type: 'broadcast', from: 'x', data: 2 });
  assert.deepEqual(calls, ['on', 'once']);
  client.close();
});

// ----------------------------------------------------------- URLs, options

test('URL: default base follows the page scheme; token and explicit url', () => {
  assert.equal(defaultBase({ protocol: 'http:', host: 'example.com:8080' }), 'ws://example.com:8080');
  assert.equal(defaultBase({ protocol: 'https:', host: 'example.com' }), 'wss://example.com');
  const { client, sockets } = make({ base: 'wss://h.example/', clientId: 'a.b@c', token: () => 'T k' });
  assert.equal(sockets[0].url, 'wss://h.example/ws/a.b%40c?token=T%20k');
  client.close();
  const m = make({ url: 'ws://x/ws/bob?channels=a' });
  assert.equal(m.sockets[0].url, 'ws://x/ws/bob?channels=a');
  m.client.close();
});

test('invalid client ids are refused up front', () => {
  const { FakeWebSocket } = fakeSocketClass();
  for (const bad of ['', 'a/b', 'x'.repeat(65), 'sp ace', undefined]) {
    assert.throws(() => new HeraldClient({ base: 'ws://x', clientId: bad, WebSocket: FakeWebSocket }), TypeError);
  }
});

test('autoConnect:false waits for connect()', () => {
  const { client, sockets } = make({ autoConnect: false });
  assert.equal(sockets.length, 0);
  assert.equal(client.state, 'closed');
  client.connect();
  assert.equal(sockets.length, 1);
  client.close();
});

// ---------------------------------------------- with a real WebSocket (ws)

test('works with the ws package against an in-process fake herald', async (t) => {
  let ws;
  try { ws = await import('ws'); } catch { t.skip('ws package not installed (npm ci)'); return; }
  const { WebSocketServer, WebSocket } = ws;
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.on('listening', r));
  const paths = [];
  wss.on('connection', (sock, req) => {
    paths.push(req.url);
    sock.send(JSON.stringify({ type: 'welcome', client_id: 'alice', session: '1', node: 'n', heartbeat: 25 }));
    sock.on('message', (raw) => {
      const m = JSON.parse(raw.toString());
      if (m.type === 'echo') sock.send(JSON.stringify({ type: 'echo', data: m.data, id: m.id }));
      if (m.type === 'subscribe') {
        sock.send(JSON.stringify({ type: 'subscribed', channel: m.channel, id: m.id }));
        sock.send(JSON.stringify({ type: 'notification', channel: m.channel, data: { n: 1 }, seq: '1-1' }));
      }
    });
  });
  const client = new HeraldClient({ base: `ws://127.0.0.1:${wss.address().port}`, clientId: 'alice', WebSocket });
  try {
    const note = new Promise((resolve) => client.subscribe('users', resolve));
    await new Promise((r) => client.once('welcome', r));
    assert.equal((await client.echo({ hello: 'world' })).data.hello, 'world');
    assert.deepEqual((await note).data, { n: 1 });
    assert.deepEqual(paths, ['/ws/alice']);
  } finally {
    client.close();
    await new Promise((r) => wss.close(r));
  }
});

test('with ws: a handshake that never completes is abandoned without crashing, then retried', async (t) => {
  let ws;
  try { ws = await import('ws'); } catch { t.skip('ws package not installed (npm ci)'); return; }
  // A TCP server that accepts and never answers the upgrade request.
  const sockets = [];
  const srv = net.createServer((s) => { sockets.push(s); s.on('error', () => {}); });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const client = new HeraldClient({
    base: `ws://127.0.0.1:${srv.address().port}`, clientId: 'alice', WebSocket: ws.WebSocket,
    connectTimeout: 100, backoffInitial: 20, keepalive: false,
  });
  try {
    const closes = [];
    client.on('close', (info) => closes.push(info.code));
    const deadline = Date.now() + 3000;
    while (sockets.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(sockets.length >= 2, 'retried after the connect timeout');
    assert.equal(closes[0], 4000);
    await new Promise((r) => setTimeout(r, 50));   // let ws emit its deferred events
  } finally {
    client.close();
    for (const s of sockets) s.destroy();
    await new Promise((r) => srv.close(r));
  }
});

test('history(channel, limit) sends a history request and resolves with its reply; errors reject', async () => {
  const { client, ws } = make();
  const early = client.history('users');          // before the welcome: waits in the outbox
  assert.equal(ws().sent.length, 0);
  ws().accept();
  const first = ws().last();
  assert.deepEqual(first, { type: 'history', channel: 'users', id: first.id }, 'no limit: all herald keeps');
  const p = client.history('users', 2);
  const f = ws().last();
  assert.deepEqual(f, { type: 'history', channel: 'users', limit: 2, id: f.id });
  const reply = { type: 'history', channel: 'users', messages: [{ seq: '1-0', data: { a: 1 } }, { seq: '2-0', data: 'x', from: 'bob' }],
    seq: '2-0', complete: true, id: f.id };
  ws().push(reply);
  assert.deepEqual(await p, reply);
  ws().push({ type: 'error', code: 'bad_request', message: '"limit" must be 1..100', id: first.id });
  await assert.rejects(early, (err) => err instanceof HeraldError && err.code === 'bad_request');
  // the history's seq is where a subscribe resumes
  client.subscribe('users', () => {}, { since: reply.seq });
  assert.deepEqual(ws().last(), { type: 'subscribe', channel: 'users', since: '2-0', id: ws().last().id });
  client.close();
});
