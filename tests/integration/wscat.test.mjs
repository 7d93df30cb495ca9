// wscat as a user would run it: type a line, see herald's answer.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { startHerald, registerChild, waitFor, REPO } from './harness.mjs';

const WSCAT = path.join(REPO, 'node_modules', '.bin', 'wscat');
const haveWscat = existsSync(WSCAT);
let h;

before(async () => {
  if (haveWscat) h = await startHerald();
});
after(async () => {
  if (h) await h.stop();
});

function runWscat(url) {
  const proc = registerChild(spawn(WSCAT, ['-c', url], { stdio: ['pipe', 'pipe', 'pipe'] }));
  let out = '';
  proc.stdout.on('data', (c) => { out += c.toString(); });
  proc.stderr.on('data', (c) => { out += c.toString(); });
  return { proc, output: () => out };
}

async function killWscat(w) {
  if (w.proc.exitCode === null && w.proc.signalCode === null) {
    const exited = new Promise((r) => w.proc.once('exit', r));
    process.kill(w.proc.pid, 'SIGTERM');
    await exited;
  }
}

// Lines wscat printed, without its "> " prompt and "< " incoming marker
// (which it only prints on a TTY) and colour codes.
function lines(w) {
  return w.output().split('\n').map((l) => l.replace(/\u001b\[[0-9;]*[A-Za-z]/g, '').replace(/^(?:> |< )+/, '').trim());
}

test('wscat: typing hello shows "Echo: hello"', { skip: haveWscat ? false : `wscat not installed at ${WSCAT} (npm ci)` }, async () => {
  const w = runWscat(`${h.url}/ws/alice`);
  try {
    const welcomeLine = await waitFor(() => lines(w).find((l) => l.startsWith('{"type":"welcome"')), 10000,
      { what: `the welcome in wscat output: ${JSON.stringify(w.output())}` });
    const welcome = JSON.parse(welcomeLine);
    assert.equal(welcome.client_id, 'alice');
    w.proc.stdin.write('hello\n');
    await waitFor(() => lines(w).includes('Echo: hello'), 5000, { what: `"Echo: hello" in wscat output: ${JSON.stringify(w.output())}` });
    w.proc.stdin.write('{"type":"ping"}\n');
    await waitFor(() => lines(w).includes('{"type":"pong"}'), 5000, { what: `pong in wscat output: ${JSON.stringify(w.output())}` });
    w.proc.stdin.write('{"type":"echo","data":{"a":1},"id":"w1"}\n');
    const echoLine = await waitFor(() => lines(w).find((l) => l.startsWith('{"type":"echo"')), 5000,
      { what: `echo reply in wscat output: ${JSON.stringify(w.output())}` });
    assert.deepEqual(JSON.parse(echoLine), { type: 'echo', data: { a: 1 }, id: 'w1' });
    // exactly one reply per line typed
    assert.equal(lines(w).filter((l) => l === 'Echo: hello').length, 1);
  } finally {
    await killWscat(w);
  }
});
