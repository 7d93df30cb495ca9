// Reconnect storm with resume (docs/benchmarks.md, "History"): N clients
// subscribed to one channel drop at once, M messages are published while
// they are away, then all reconnect at once with ?since=. Reports the time
// until every client has caught up, herald's peak RSS (VmHWM), and checks
// that every client got exactly the messages it missed, in order.
//
//   node tests/bench/resume_storm.mjs <herald-url> <herald-pid> [N] [M]
//
// herald must run with Redis (or without: its ring) and --rate-limit 0.
import WebSocket from 'ws';
import fs from 'node:fs';

const [url, pidArg, nArg, mArg] = process.argv.slice(2);
const N = Number(nArg || 5000);
const M = Number(mArg || 100);
const http = url.replace(/^ws/, 'http');
const hwm = () => Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pidArg}/status`, 'utf8'))[1]);
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pidArg}/status`, 'utf8'))[1]);

function open(i, query) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}/ws/r${i}?channels=storm${query}`);
    const c = { ws, msgs: [], seq: null };
    ws.on('message', (raw) => {
      const m = JSON.parse(raw);
      if (m.type === 'subscribed' && m.seq) c.seq = m.seq;
      if (m.type === 'notification' || m.type === 'message') {
        c.msgs.push(m);
        if (m.seq) c.seq = m.seq;
      }
      if (m.type === 'resync') c.resync = true;
      if (m.type === 'welcome') resolve(c);
    });
    ws.on('error', reject);
  });
}

async function inBatches(n, size, fn) {
  const out = [];
  for (let i = 0; i < n; i += size) {
    out.push(...await Promise.all(Array.from({ length: Math.min(size, n - i) }, (_, k) => fn(i + k))));
  }
  return out;
}

const publish = (k) => fetch(`${http}/api/publish`, {
  method: 'POST', body: JSON.stringify({ channel: 'storm', data: { k } }),
}).then((r) => r.json());

const clients = await inBatches(N, 500, (i) => open(i, ''));
const first = await publish(-1); // everyone is at this seq now
const t1 = Date.now();
while (clients.some((c) => c.seq !== first.seq) && Date.now() - t1 < 30000)
  await new Promise((r) => setTimeout(r, 20));
const since = clients.map((c) => c.seq);
for (const c of clients) c.ws.terminate();
await new Promise((r) => setTimeout(r, 500));
const published = [];
for (let k = 0; k < M; k++) published.push((await publish(k)).seq);
const rssBefore = rss();
const t0 = Date.now();
const back = await inBatches(N, N, (i) => open(i, `&since=storm:${since[i]}`));
const done = () => back.every((c) => c.msgs.length >= M || c.resync);
const missedFirst = clients.filter((c) => c.seq !== first.seq).length;
while (!done() && Date.now() - t0 < 60000) await new Promise((r) => setTimeout(r, 20));
const caughtUpMs = Date.now() - t0;
let exact = 0, resyncs = 0;
for (const c of back) {
  if (c.resync) resyncs++;
  const got = c.msgs.slice(0, M).map((m) => m.seq);
  if (got.length === M && got.every((s, j) => s === published[j]) && c.msgs.length === M) exact++;
}
console.log(JSON.stringify({ clients: N, missed_each: M, first_seq: first.seq, caught_up_ms: caughtUpMs,
  exact_clients: exact, resyncs, not_at_start: missedFirst, rss_before_kb: rssBefore, peak_rss_kb: hwm() }));
for (const c of back) c.ws.terminate();
process.exit(exact === N ? 0 : 1);
