// docs/protocol.md "Close codes" and docs/design.md, slow consumer: a session that stops reading is closed once its
// unsent queue passes --max-queue, counted, and nobody else is affected;
// herald's memory stays bounded while ~50 MB are broadcast.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startHerald, connectReady, rawConnect, httpGet, waitFor, parseMetrics, rssKb, closeAll, heraldHasFlag, ASAN_OPTIONS,
} from './harness.mjs';

const MAX_QUEUE = 65536;
const N = 50000; // broadcasts of ~1 KB: ~50 MB in, ~100 MB out to the two readers
const WINDOW = 16; // broadcasts in flight ahead of the slowest reader (16 KB << MAX_QUEUE)
let h;

before(async () => {
  // One sender pushes N messages as fast as the readers keep up: lift the
  // per-session rate limits and the fan-out budget (config.test.mjs checks
  // that the flags exist).
  const rate = (await heraldHasFlag('--rate-limit')) ? ['--rate-limit', '1000000'] : [];
  for (const flag of ['--rate-limit-bytes', '--fanout-limit']) {
    if (await heraldHasFlag(flag)) rate.push(flag, '0');
  }
  h = await startHerald({
    args: ['--max-queue', String(MAX_QUEUE), '--log-level', 'warn', ...rate],
    // a small ASan quarantine so that RSS reflects live memory, not freed blocks
    env: { ASAN_OPTIONS: `${ASAN_OPTIONS}:quarantine_size_mb=4` },
  });
});
after(async () => {
  if (h) await h.stop();
});

const slowFigures = (values) => Object.entries(values).filter(([k]) => /^herald_\w*slow/.test(k));

test('a stalled reader is closed as a slow consumer; others get every message in order; memory stays bounded', { timeout: 90000 }, async () => {
  const m0 = parseMetrics((await httpGet(`${h.http}/metrics`)).body).values;
  const slow0 = slowFigures(m0);
  assert.ok(slow0.length >= 1, 'no slow-consumer metric in /metrics');
  assert.ok(slow0.every(([, v]) => v === 0), `slow-consumer metric not 0 at start: ${JSON.stringify(slow0)}`);

  // The stalled client: raw socket that reads its welcome and then never reads again.
  const stalled = await rawConnect(h.port, '/ws/stalled');
  const welcome = await stalled.nextDataFrame();
  assert.equal(JSON.parse(welcome.payload.toString()).type, 'welcome');
  stalled.pause();

  const receiver = await connectReady(h.url, '/ws/receiver');
  const sender = await connectReady(h.url, '/ws/sender');
  const rssBefore = rssKb(h.pid);

  const pad = 'p'.repeat(1000);
  let gotReceiver = 0;
  let gotSender = 0;
  let failure = null;
  let wake = null;
  const check = (who, expectedIndex) => (msg) => {
    if (failure) return;
    let m;
    try { m = JSON.parse(msg); } catch { failure = new Error(`${who}: non-JSON frame ${String(msg).slice(0, 100)}`); }
    if (!failure && !(m.type === 'broadcast' && m.from === 'sender' && m.data && m.data.i === expectedIndex() && m.data.pad === pad)) {
      failure = new Error(`${who}: expected broadcast #${expectedIndex()}, got ${String(msg).slice(0, 120)}`);
    }
    if (who === 'receiver') gotReceiver++; else gotSender++;
    if (wake) { const w = wake; wake = null; w(); }
  };
  receiver.tap(check('receiver', () => gotReceiver));
  sender.tap(check('sender', () => gotSender));

  let rssMid = 0;
  const t0 = Date.now();
  for (let i = 0; i < N; i++) {
    while (!failure && i - Math.min(gotReceiver, gotSender) >= WINDOW) {
      await new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`stuck at #${i}: receiver ${gotReceiver}, sender ${gotSender}; ` +
          `receiver closed: ${JSON.stringify(receiver.closeInfo)}, sender closed: ${JSON.stringify(sender.closeInfo)}`)), 10000);
        wake = () => { clearTimeout(t); resolve(); };
      });
    }
    if (failure) throw failure;
    if (i === N / 5) rssMid = rssKb(h.pid);
    sender.ws.send(JSON.stringify({ type: 'broadcast', data: { i, pad } }));
  }
  await waitFor(() => failure || (gotReceiver === N && gotSender === N), 20000,
    { what: `all ${N} broadcasts (receiver ${gotReceiver}, sender ${gotSender})` });
  if (failure) throw failure;
  const elapsed = Date.now() - t0;
  const rssAfter = rssKb(h.pid);

  // The stalled one was closed and counted exactly once.
  await waitFor(async () => {
    const v = parseMetrics((await httpGet(`${h.http}/metrics`)).body).values;
    return slowFigures(v).some(([, x]) => x === 1);
  }, 5000, { what: 'slow-consumer counter at 1' });
  const m1 = parseMetrics((await httpGet(`${h.http}/metrics`)).body).values;
  assert.ok(slowFigures(m1).every(([, v]) => v <= 1), `slow-consumer counter: ${JSON.stringify(slowFigures(m1))}`);
  const stats = (await httpGet(`${h.http}/api/stats`)).json;
  assert.ok(JSON.stringify(stats).match(/slow[a-z_]*":1\b/), `/api/stats has no slow-consumer figure of 1: ${JSON.stringify(stats)}`);
  await waitFor(async () => (await httpGet(`${h.http}/health`)).json.connections === 2, 5000,
    { what: '/health connections 2 (stalled session gone)' });

  // Memory stayed bounded: far less than the ~50 MB that went through.
  // A stalled session holding every frame would add ~50 MB; so would a
  // per-message leak over the last 40 000 messages (~40 MB).
  const growthMb = (rssAfter - rssBefore) / 1024;
  const lateGrowthMb = (rssAfter - rssMid) / 1024;
  assert.ok(growthMb < 32, `RSS grew by ${growthMb.toFixed(1)} MB (before ${rssBefore} kB, after ${rssAfter} kB)`);
  assert.ok(lateGrowthMb < 12, `RSS grew by ${lateGrowthMb.toFixed(1)} MB over the last ${N * 0.8} broadcasts ` +
    `(${rssMid} → ${rssAfter} kB)`);

  // The others are unaffected.
  receiver.tap(null);
  sender.tap(null);
  await receiver.sendJson({ type: 'ping', id: 'after' });
  assert.deepEqual(await receiver.nextJson(), { type: 'pong', id: 'after' });
  assert.equal(receiver.closeInfo, null);
  assert.equal(sender.closeInfo, null);

  // The stalled socket, once read, holds an in-order prefix of the broadcasts
  // and then the end of the connection (a 1013 close frame if any was sent).
  let expect = 0;
  let gap = null;
  stalled.onFrame = (f) => {
    if (f.opcode !== 0x1 || gap) return;
    const m = JSON.parse(f.payload.toString());
    if (m.type !== 'broadcast' || m.data.i !== expect) gap = `expected #${expect}, got ${f.payload.toString().slice(0, 80)}`;
    expect++;
  };
  stalled.frames.length = 0;
  stalled.resume();
  await stalled.closed(15000);
  assert.equal(gap, null, `stalled session's frames are not an in-order prefix: ${gap}`);
  assert.ok(expect < N, `the stalled session got all ${N} broadcasts: it was not cut off`);
  if (stalled.closeFrame) {
    assert.equal(stalled.closeFrame.code, 1013, `close frame ${JSON.stringify(stalled.closeFrame)}`);
    assert.equal(stalled.closeFrame.reason, 'slow consumer');
  }
  console.log(`# slow consumer: ${N} broadcasts in ${elapsed} ms; RSS ${rssBefore} → ${rssMid} → ${rssAfter} kB; ` +
    `stalled got ${expect} before close; close frame ${JSON.stringify(stalled.closeFrame)}`);
  await closeAll(receiver, sender);
});
