// docs/design.md "Logging": herald's log does not flood.
// A line repeated within a second is written once and then "… repeated N
// times"; refused upgrades, whose lines differ by client_id, are logged one
// by one only up to 20 a second, then counted (docs/design.md, "Logging").

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startHerald, upgradeRaw, connectReady, sleep, waitFor } from './harness.mjs';

let h;

before(async () => {
  h = await startHerald({ args: ['--allowed-origins', 'http://ok.example'] });
});
after(async () => {
  if (h) await h.stop();
});

const count = (re) => (h.log().match(re) || []).length;

function h2c() {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port: h.port }, () => {
      s.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n' +
        'Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n');
    });
    s.on('error', () => {});
    s.on('close', resolve);
    s.resume();
    s.setTimeout(3000, () => s.destroy());
  });
}

test('300 refused upgrades with distinct client ids log at most a few dozen lines, then a count', async () => {
  const N = 300;
  const before0 = count(/refused upgrade status=403/g);
  for (let i = 0; i < N; i += 30) {
    await Promise.all(Array.from({ length: 30 }, (_, k) => upgradeRaw(h.port, `/ws/id${i + k}`, { Origin: 'http://evil.example' })));
  }
  const logged = count(/refused upgrade status=403/g) - before0;
  // 20 a second; the burst may straddle a few seconds under load
  assert.ok(logged >= 20 && logged <= 100, `${logged} of ${N} refusals logged one by one`);
  await sleep(1100);
  await upgradeRaw(h.port, '/ws/last', { Origin: 'http://evil.example' });
  await waitFor(() => /\d+ more refused upgrades in the last second were not logged one by one/.test(h.log()),
    2000, { what: 'the count of refusals not logged' });
});

test('an identical line repeated within a second is written once, then with its count', async () => {
  const before0 = count(/refused upgrade to 'h2c'\n/g);
  for (let i = 0; i < 50; i += 10) await Promise.all(Array.from({ length: 10 }, h2c));
  const lines = count(/refused upgrade to 'h2c'\n/g) - before0;
  assert.ok(lines >= 1 && lines <= 5, `${lines} identical lines written for 50 refusals`);
  // the count comes with the next line written after the second is over
  await sleep(1100);
  const c = await connectReady(h.url, '/ws/next', { origin: 'http://ok.example' });
  await c.close();
  await waitFor(() => /refused upgrade to 'h2c' … repeated [\d,]+ times/.test(h.log()), 2000,
    { what: 'the repeat count' });
});
