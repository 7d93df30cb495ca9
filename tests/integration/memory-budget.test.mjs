// docs/security.md "Memory, rates and open files": one budget for every
// session's queue together (--memory-budget). Past 3/4 of it, new client messages get
// {"type":"error","code":"overloaded"} and POST /api/publish gets 503;
// past it, the sessions holding the most are closed as slow consumers
// (1013, counted) until the queues hold half of it, and the others keep
// theirs. Herald's RSS stays under the budget plus a fixed overhead while
// many slow consumers queue at once.
//
// Stalled clients here send themselves 60 KB binary echoes and never read
// them: the loopback socket buffers take ~4-5 MB of each before herald
// has to queue anything, so each stalled client first sends PRIME bytes.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startHerald, connectReady, rawConnect, httpGet, httpPost, parseMetrics, rssKb, waitFor, sleep, closeAll,
  encodeFrame, ASAN_OPTIONS,
} from './harness.mjs';

const MiB = 1024 * 1024;
const FRAME = 60000;
const NO_RATE = ['--rate-limit', '0', '--rate-limit-bytes', '0', '--fanout-limit', '0'];
let h;      // the shedding test
let hOver;  // the overloaded test

before(async () => {
  const env = { ASAN_OPTIONS: `${ASAN_OPTIONS}:quarantine_size_mb=4` };
  [h, hOver] = await Promise.all([
    startHerald({ args: ['--memory-budget', String(8 * MiB), '--max-queue', String(16 * MiB), ...NO_RATE, '--log-level', 'warn'], env }),
    startHerald({ args: ['--memory-budget', String(1 * MiB), ...NO_RATE, '--log-level', 'warn'], env }),
  ]);
});
after(async () => {
  await Promise.all([h && h.stop(), hOver && hOver.stop()]);
});

const metrics = async (node) => parseMetrics((await httpGet(`${node.http}/metrics`)).body).values;

async function stalled(node, id) {
  const c = await rawConnect(node.port, `/ws/${id}`);
  await c.nextDataFrame(); // welcome
  c.pause();               // never reads again
  c.id = id;
  return c;
}

/** Sends bytes of 60 KB binary frames from c, at the pace its socket takes them. */
async function push(c, bytes) {
  const frame = encodeFrame(0x2, Buffer.alloc(FRAME, 0x61));
  for (let sent = 0; sent < bytes && !c.socketClosed; sent += FRAME) {
    if (!c.socket.write(frame)) {
      await Promise.race([new Promise((r) => c.socket.once('drain', r)), c.closed(30000).catch(() => {})]);
    }
  }
}

test('many slow consumers at once: the ones holding the most are shed (1013), the others keep theirs, RSS stays near the budget', { timeout: 120000 }, async () => {
  const small = [];
  const big = [];
  for (let i = 0; i < 4; i++) small.push(await stalled(h, `small${i}`));
  for (let i = 0; i < 4; i++) big.push(await stalled(h, `big${i}`));
  const rss0 = rssKb(h.pid);
  let rssMax = rss0;
  const sample = setInterval(() => { try { rssMax = Math.max(rssMax, rssKb(h.pid)); } catch { /* gone */ } }, 20);

  const PRIME = 4.5 * MiB;
  await Promise.all([...small, ...big].map((c) => push(c, PRIME)));
  const m1 = await metrics(h);
  // then each big one sends 12 MB more: 48 MB that would all be queued
  // (--max-queue 16 MiB) without the budget
  await Promise.all(big.map((c) => push(c, 12 * MiB)));
  await waitFor(async () => (await metrics(h)).herald_memory_budget_sheds_total >= 1, 10000, { what: 'a shed' });
  await sleep(500);
  clearInterval(sample);
  const m2 = await metrics(h);
  const growthMb = (rssMax - rss0) / 1024;
  console.log(`# memory budget 8 MiB: queued ${m1.herald_queued_bytes} after priming, ${m2.herald_queued_bytes} at the end; ` +
    `shed ${m2.herald_memory_budget_sheds_total}; RSS ${rss0} kB, max +${growthMb.toFixed(1)} MB`);

  assert.ok(m2.herald_queued_bytes <= 8 * MiB, `queued ${m2.herald_queued_bytes}`);
  assert.ok(m2.herald_memory_budget_sheds_total >= 1 && m2.herald_memory_budget_sheds_total <= 4,
    `sheds: ${m2.herald_memory_budget_sheds_total}`);
  assert.equal(m2.herald_slow_consumer_disconnects_total, m2.herald_memory_budget_sheds_total);
  // the shed ones are big ones, closed with 1013 once they read
  const shed = [];
  for (const c of [...small, ...big]) {
    c.frames.length = 0;
    c.resume();
  }
  await sleep(1500);
  for (const c of [...small, ...big]) if (c.closeFrame || c.socketClosed) shed.push(c.id);
  assert.equal(shed.length, m2.herald_memory_budget_sheds_total, `closed: ${shed}`);
  assert.ok(shed.every((id) => id.startsWith('big')), `a small one was shed: ${shed}`);
  for (const c of big) if (c.closeFrame) assert.equal(c.closeFrame.code, 1013);
  // RSS: the budget plus a fixed overhead (lws's copy of a partly written
  // frame per session, read buffers, ASan's 4 MB quarantine)
  assert.ok(growthMb < 8 + 16, `RSS grew by ${growthMb.toFixed(1)} MB for an 8 MiB budget`);
  // the others are served
  const ok = await connectReady(h.url, '/ws/after');
  await ok.sendJson({ type: 'ping', id: 1 });
  assert.deepEqual(await ok.nextJson(), { type: 'pong', id: 1 });
  await closeAll(ok);
  for (const c of [...small, ...big]) c.destroy();
});

test('past 3/4 of the budget: overloaded errors for client messages, 503 for /api/publish; accepted again once shed', { timeout: 60000 }, async () => {
  const reader = await connectReady(hOver.url, '/ws/reader');
  const sender = await connectReady(hOver.url, '/ws/sender');
  const c = await stalled(hOver, 'hog');
  // kernel buffers first, then frame by frame until the queues hold 3/4
  await push(c, 4 * MiB);
  let queued = 0;
  await waitFor(async () => {
    queued = (await metrics(hOver)).herald_queued_bytes;
    if (queued >= 0.75 * MiB) return true;
    await push(c, FRAME);
    return false;
  }, 30000, { what: `3/4 of the budget queued (${queued})` });
  assert.ok(queued < MiB, `queued ${queued}`);

  await sender.sendJson({ type: 'broadcast', data: 'hello', id: 'b1' });
  assert.deepEqual(await sender.nextJson(), {
    type: 'error', code: 'overloaded', message: 'the server is over its memory budget; try again later', id: 'b1',
  });
  await sender.sendJson({ type: 'publish', channel: 'news', data: 1, id: 'p1' });
  assert.equal((await sender.nextJson()).code, 'overloaded');
  const res = await httpPost(`${hOver.http}/api/publish`, { channel: 'broadcast', data: 'x' });
  assert.equal(res.status, 503);
  assert.deepEqual(res.json, { error: 'overloaded' });
  assert.equal((await httpGet(`${hOver.http}/health`)).status, 200);
  await reader.expectNone(200);
  assert.ok((await metrics(hOver)).herald_overloaded_refusals_total >= 3);

  // the hog goes on: it passes the budget and is shed; then all is well
  await push(c, 0.5 * MiB);
  await waitFor(async () => (await metrics(hOver)).herald_memory_budget_sheds_total === 1, 10000, { what: 'the hog shed' });
  await sender.sendJson({ type: 'broadcast', data: 'again', id: 'b2' });
  assert.deepEqual(await sender.nextJson(), { type: 'ack', id: 'b2' });
  assert.deepEqual(await reader.nextJson(), { type: 'broadcast', from: 'sender', data: 'again' });
  c.destroy();
  await closeAll(reader, sender);
});
