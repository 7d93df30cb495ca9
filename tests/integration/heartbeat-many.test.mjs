// docs/design.md "Heartbeat" at scale: 10,000 sessions on one herald with
// --heartbeat 2. Every session is pinged within a period (plus a tick) of
// its last input, none that answers is dropped, and the ones that stop
// answering are dropped within twice the heartbeat (plus a tick), while
// the others stay. The wheel visits only the sessions due in each tick, so
// this is also what used to cost CPU with the square of the sessions.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHerald, rawConnect, encodeFrame, httpGet, parseMetrics, waitFor, sleep } from './harness.mjs';

const SESSIONS = 10000;
const HEARTBEAT_S = 2;
const TICK_MS = 1000;
// sanitizer build, 10,000 sockets in this process too: room for late timers
const SLACK_MS = 1500;

let h;
const clients = [];

before(async () => {
  h = await startHerald({ args: ['--heartbeat', String(HEARTBEAT_S), '--log-level', 'warn'] });
});
after(async () => {
  for (const c of clients) c.socket.destroy();
  if (h) await h.stop();
});

async function metrics() {
  return parseMetrics((await httpGet(`${h.http}/metrics`)).body).values;
}

/** Opens n sessions, at most `inflight` handshakes at a time; each answers
 * pings (unless told to stop) and records when each ping arrived. */
async function openMany(n, inflight = 200) {
  let next = 0;
  async function worker() {
    while (next < n) {
      const i = next++;
      const c = await rawConnect(h.port, `/ws/m${i}`);
      c.openedAt = Date.now();
      c.pingTimes = [];
      c.answering = true;
      c.onFrame = (f) => {
        if (f.opcode !== 0x9) return;
        c.pingTimes.push(Date.now());
        if (c.answering && !c.socket.destroyed) c.socket.write(encodeFrame(0xa, f.payload));
      };
      clients[i] = c;
    }
  }
  await Promise.all(Array.from({ length: inflight }, worker));
}

test('10,000 sessions: all pinged within a period, none that answers is dropped, silent ones are', { timeout: 120000 }, async () => {
  const m0 = await metrics();
  await openMany(SESSIONS);
  const allOpenAt = Date.now();
  assert.equal((await httpGet(`${h.http}/health`)).json.connections, SESSIONS);

  // every session is pinged within a period and a tick of opening (the
  // welcome is herald's, not input; the handshake is the last input)
  await waitFor(() => clients.every((c) => c.pingTimes.length >= 1),
    HEARTBEAT_S * 1000 + TICK_MS + SLACK_MS + 2000, { what: 'a ping on every session', intervalMs: 200 });
  let late = 0;
  for (const c of clients) {
    if (c.pingTimes[0] - c.openedAt > HEARTBEAT_S * 1000 + TICK_MS + SLACK_MS) late++;
  }
  assert.equal(late, 0, `${late} sessions were first pinged later than a period and a tick after opening`);

  // three more periods: pinged again and again, nobody dropped
  await sleep(3 * HEARTBEAT_S * 1000 - (Date.now() - allOpenAt) % 1000);
  const closed = clients.filter((c) => c.socketClosed).length;
  assert.equal(closed, 0, `${closed} answering sessions were dropped`);
  const fewPings = clients.filter((c) => c.pingTimes.length < 2).length;
  assert.equal(fewPings, 0, `${fewPings} sessions got fewer than 2 pings in 3 periods`);
  // ...and never pinged twice within much less than a period
  let tooOften = 0;
  for (const c of clients) {
    for (let k = 1; k < c.pingTimes.length; k++) {
      if (c.pingTimes[k] - c.pingTimes[k - 1] < HEARTBEAT_S * 1000 - TICK_MS / 2 - 300) tooOften++;
    }
  }
  assert.equal(tooOften, 0, `${tooOften} pings came well within a period of the previous one`);
  const m1 = await metrics();
  assert.equal(m1.herald_heartbeat_drops_total - m0.herald_heartbeat_drops_total, 0);
  assert.ok(m1.herald_heartbeat_pings_total - m0.herald_heartbeat_pings_total >= 2 * SESSIONS,
    `pings counted: ${m1.herald_heartbeat_pings_total - m0.herald_heartbeat_pings_total}`);

  // 100 sessions stop answering: they are dropped within twice the
  // heartbeat (plus a tick) of their last pong; the rest stay
  const silent = clients.slice(0, 100);
  for (const c of silent) c.answering = false;
  const silencedAt = Date.now();
  await waitFor(() => silent.every((c) => c.socketClosed),
    2 * HEARTBEAT_S * 1000 + TICK_MS + SLACK_MS + 2000, { what: 'the silent sessions dropped', intervalMs: 100 });
  for (const c of silent) {
    const lastPong = Math.max(c.pingTimes.filter((t) => t < silencedAt).at(-1) ?? c.openedAt, c.openedAt);
    assert.ok(c.closedAt - lastPong >= 2 * HEARTBEAT_S * 1000 - 300,
      `a silent session was dropped ${c.closedAt - lastPong} ms after its last pong`);
    assert.ok(c.closedAt - lastPong <= 2 * HEARTBEAT_S * 1000 + TICK_MS + SLACK_MS,
      `a silent session was dropped only ${c.closedAt - lastPong} ms after its last pong`);
  }
  await sleep(HEARTBEAT_S * 1000);
  const others = clients.slice(100).filter((c) => c.socketClosed).length;
  assert.equal(others, 0, `${others} answering sessions were dropped`);
  const m2 = await metrics();
  assert.equal(m2.herald_heartbeat_drops_total - m1.herald_heartbeat_drops_total, 100);
  await waitFor(async () => (await httpGet(`${h.http}/health`)).json.connections === SESSIONS - 100, 3000,
    { what: 'connections back to 9,900' });
});
