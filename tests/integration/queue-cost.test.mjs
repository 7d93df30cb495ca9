// docs/design.md "Slow consumers" and docs/protocol.md "Close codes": the
// queue limit counts what a queued frame costs, not only its payload. A
// client that never reads and sends empty binary frames (each echoed as an
// empty frame) is closed as a slow consumer long before herald's memory
// grows: before, empty frames never counted against --max-queue, and 8
// million of them grew herald's RSS by 355 MB. Loopback socket buffers
// take a few million 2-byte frames before herald has to queue any; the
// 16 MB allowed is that churn under ASan (its quarantine, its caches).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startHerald, rawConnect, encodeFrame, httpGet, parseMetrics, rssKb, sleep, heraldHasFlag, ASAN_OPTIONS,
} from './harness.mjs';

const MAX_QUEUE = 65536;
const BATCH = 20000;           // empty binary frames per write (120 KB)
const MAX_FRAMES = 8_000_000;  // 48 MB of client input at most
let h;

before(async () => {
  // the message budgets would refuse the flood before it queues anything
  const bytes = (await heraldHasFlag('--rate-limit-bytes')) ? ['--rate-limit-bytes', '0'] : [];
  h = await startHerald({
    args: ['--max-queue', String(MAX_QUEUE), '--rate-limit', '0', ...bytes, '--log-level', 'warn'],
    env: { ASAN_OPTIONS: `${ASAN_OPTIONS}:quarantine_size_mb=4` },
  });
});
after(async () => {
  if (h) await h.stop();
});

const metric = async (name) => parseMetrics((await httpGet(`${h.http}/metrics`)).body).values[name];

test('a client that never reads and sends empty binary frames is closed (1013) before RSS grows by 16 MB', { timeout: 120000 }, async () => {
  const c = await rawConnect(h.port, '/ws/empty');
  const welcome = await c.nextDataFrame();
  assert.equal(JSON.parse(welcome.payload.toString()).type, 'welcome');
  c.pause(); // never reads again
  const rss0 = rssKb(h.pid);
  const batch = Buffer.concat(Array.from({ length: BATCH }, () => encodeFrame(0x2, Buffer.alloc(0))));

  let sent = 0;
  let maxGrowthKb = 0;
  let closedAt = null;
  while (sent < MAX_FRAMES) {
    // let herald read each batch before the next (bounded by the socket)
    await new Promise((resolve) => (c.socket.write(batch) ? resolve() : c.socket.once('drain', resolve)));
    sent += BATCH;
    if (sent % (5 * BATCH) === 0) {
      maxGrowthKb = Math.max(maxGrowthKb, rssKb(h.pid) - rss0);
      if (await metric('herald_slow_consumer_disconnects_total') >= 1) { closedAt = sent; break; }
    }
    if (c.socketClosed) break;
  }
  await sleep(200);
  maxGrowthKb = Math.max(maxGrowthKb, rssKb(h.pid) - rss0);
  const slow = await metric('herald_slow_consumer_disconnects_total');
  console.log(`# empty frames: ${sent} sent, slow consumer after ${closedAt}; RSS grew by at most ${(maxGrowthKb / 1024).toFixed(1)} MB`);
  assert.equal(slow, 1, `not closed as a slow consumer after ${sent} empty frames (RSS +${(maxGrowthKb / 1024).toFixed(1)} MB)`);
  assert.ok(maxGrowthKb < 16 * 1024, `RSS grew by ${(maxGrowthKb / 1024).toFixed(1)} MB`);

  // the close frame reaches the client once it reads again, or the
  // close deadline drops it
  c.resume();
  await c.closed(10000);
  if (c.closeFrame) assert.equal(c.closeFrame.code, 1013);
  const health = (await httpGet(`${h.http}/health`)).json;
  assert.equal(health.connections, 0);
});
