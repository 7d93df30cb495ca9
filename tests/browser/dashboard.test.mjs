// Browser test of the dashboard (web/) against a real herald and a real
// redis-server, in Debian's Chromium driven by playwright-core.
//
//   node --test tests/browser/            (make test-browser)
//
// Needs build/asan/herald (or HERALD_BIN), redis-server and redis-cli, and
// /usr/bin/chromium (or CHROMIUM_PATH); skips with a reason when Chromium is
// missing. herald runs under ASan/UBSan; stopping it fails the test when its
// output holds a sanitizer report or it exits non-zero.
//
// What it checks: the page loads, connects and shows the welcome; the console
// echo round-trips; Redis state is shown; `PUBLISH herald:users` of
// user.created / user.updated / user.deleted adds, changes and removes a row
// within 2 s; after herald restarts on the same port the page reconnects by
// itself and shows the next notification; after a page reload the users
// table is rebuilt from the channel's history (FCALL herald_publish) and
// what was published while the page was offline follows. A screenshot of the final page is
// saved to tests/browser/artifacts/dashboard.png.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  startHerald, freePort, waitFor, httpGet, registerChild, requireHeraldBinary, sleep,
} from '../integration/harness.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = path.join(HERE, 'artifacts');
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const CLIENT_ID = 'dash-browser-test';
const SEEN_WITHIN_MS = 2000;          // the contract: a notification shows within 2 s

const skipReason = existsSync(CHROMIUM)
  ? null
  : `Chromium not found at ${CHROMIUM}: install it with ` +
    '`DEBIAN_FRONTEND=noninteractive apt-get install -y chromium` (or set CHROMIUM_PATH)';
// Options for every test: skipped (with the reason) when Chromium is missing.
const OPTS = skipReason ? { skip: skipReason } : {};

// ------------------------------------------------------------------ Redis

function which(cmd) {
  return process.env.PATH.split(':').some((d) => existsSync(path.join(d, cmd)));
}

function redisCli(port, ...args) {
  return new Promise((resolve, reject) => {
    execFile('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 5000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`redis-cli ${args.join(' ')} failed: ${err.message} ${stderr}`));
      else resolve(stdout.trim());
    });
  });
}

async function startRedis() {
  for (const tool of ['redis-server', 'redis-cli']) {
    if (!which(tool)) throw new Error(`${tool} not found: install it with \`apt-get install -y redis-server\``);
  }
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'herald-browser-redis-'));
  const proc = registerChild(spawn('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir,
  ], { stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  proc.stdout.on('data', (c) => { out += c; });
  proc.stderr.on('data', (c) => { out += c; });
  const exited = new Promise((r) => proc.once('exit', r));
  await waitFor(async () => {
    if (proc.exitCode !== null) throw new Error(`redis-server exited: ${out}`);
    return (await redisCli(port, 'PING')) === 'PONG';
  }, 5000, { what: `redis-server on port ${port}` });
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ------------------------------------------------------------------ state

let redis = null;
let herald = null;
let heraldPort = null;
let browser = null;
let page = null;
const pageErrors = [];
const failedRequests = [];

async function launchHerald() {
  herald = await startHerald({
    args: ['--port', String(heraldPort), '--redis-url', redis.url, '--node-id', `browser-${Date.now()}`],
  });
  return herald;
}

async function redisConnected() {
  const res = await httpGet(`${herald.http}/health`, { timeoutMs: 1000 });
  return res.status === 200 && res.json.redis === 'connected';
}

function userEvent(event, user) {
  return JSON.stringify({ event, user });
}

async function publishUsers(payload) {
  const receivers = Number(await redisCli(redis.port, 'PUBLISH', 'herald:users', payload));
  assert.ok(receivers >= 1, `PUBLISH herald:users reached ${receivers} subscribers: herald is not subscribed to Redis`);
}

const row = (id) => `tr[data-user-id="${id}"]`;
const cellText = (id, field) => page.textContent(`${row(id)} td[data-field="${field}"]`);

// ------------------------------------------------------------------ setup

before(async () => {
  if (skipReason) return;
  requireHeraldBinary();
  const { chromium } = await import('playwright-core');
  redis = await startRedis();
  heraldPort = await freePort();
  await launchHerald();
  const userDataDir = mkdtempSync(path.join(os.tmpdir(), 'herald-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1400, height: 1000 },
  });
  browser = { context, userDataDir };
  page = context.pages()[0] || await context.newPage();
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('requestfailed', (req) => failedRequests.push(`${req.url()}: ${req.failure()?.errorText}`));
});

after(async () => {
  const problems = [];
  if (page) {
    try {
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    } catch (err) {
      problems.push(`screenshot: ${err.message}`);
    }
  }
  if (browser) {
    await browser.context.close().catch(() => {});
    rmSync(browser.userDataDir, { recursive: true, force: true });
  }
  // herald.stop() throws on a sanitizer report or a non-zero exit.
  if (herald) await herald.stop().catch((err) => problems.push(err.message));
  if (redis) await redis.stop();
  if (problems.length) throw new Error(problems.join('\n'));
});

// ------------------------------------------------------------------ tests

test('the dashboard loads from herald, connects and shows the welcome', OPTS, async () => {
  const res = await page.goto(`${herald.http}/?client_id=${CLIENT_ID}`);
  assert.equal(res.status(), 200);
  // The module scripts (dashboard.js, herald.js) loaded and started.
  await page.waitForFunction(() => window.herald && window.herald.client, null, { timeout: 5000 }).catch(() => {
    throw new Error('the dashboard script did not start; failed requests: ' +
      `${failedRequests.join(', ') || 'none'}; page errors: ${pageErrors.join(' | ') || 'none'}`);
  });
  assert.deepEqual(failedRequests, [], 'every file of the dashboard loads');
  await page.waitForSelector('#conn-state[data-state="open"]', { timeout: 5000 });
  assert.equal(await page.textContent('#conn-state'), 'open');
  assert.equal(await page.textContent('#client-id'), CLIENT_ID);
  const welcome = await page.evaluate(() => window.herald.client.welcome);
  assert.equal(welcome.type, 'welcome');
  assert.equal(welcome.client_id, CLIENT_ID);
  await waitFor(async () => (await page.textContent('#node-id')) === welcome.node, 2000, { what: 'node id shown' });
  // The users feed is subscribed on this connection.
  await page.waitForSelector('#users-panel[data-subscribed="true"]', { timeout: 5000 });
  assert.deepEqual(pageErrors, []);
});

test('the console sends an echo and shows the reply', OPTS, async () => {
  await page.selectOption('#console-type', 'echo');
  await page.fill('#console-data', '{"from":"browser","n":42}');
  await page.click('#console-send');
  const reply = await page.waitForSelector('#console-log li[data-kind="reply"][data-type="echo"]', { timeout: 3000 });
  const text = await reply.textContent();
  assert.match(text, /"data":\{"from":"browser","n":42\}/);
  // Plain text gets herald's "Echo: " answer.
  await page.selectOption('#console-type', 'raw');
  await page.fill('#console-data', 'hello herald');
  await page.click('#console-send');
  await waitFor(async () => (await page.$$eval('#console-log li[data-type="text"] .body',
    (els) => els.map((e) => e.textContent))).includes('Echo: hello herald'), 3000, { what: 'Echo: reply in the console' });
});

test('Redis state is shown as connected', OPTS, async () => {
  await waitFor(redisConnected, 10000, { what: 'herald /health redis connected' });
  await page.waitForSelector('#redis-state[data-state="connected"]', { timeout: 5000 });
  assert.equal(await page.textContent('#redis-state'), 'connected');
});

test('live server figures arrive from $sys once a second', OPTS, async () => {
  // herald publishes per-node figures on $sys; the page subscribes to it
  await page.waitForFunction(
    () => /^\d+$/.test(document.querySelector('#stat-connections')?.textContent ?? ''),
    null, { timeout: 5000 });
  const connections = Number(await page.textContent('#stat-connections'));
  assert.ok(connections >= 1, `connections figure ${connections} counts the page itself`);
  assert.notEqual(await page.textContent('#stats-updated'), 'waiting for $sys…');
  const stats = (await (await fetch(`http://127.0.0.1:${herald.port}/api/stats`)).json());
  assert.equal(connections, stats.connections, 'the page shows what /api/stats says');
  assert.equal(Number(await page.textContent('#stat-workers')), stats.workers, 'the node\'s workers');
  // a second artifact with the live figures (the final one follows a restart)
  await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-live.png'), fullPage: true });
});

test('users table follows user.created, user.updated and user.deleted from Redis', OPTS, async () => {
  await waitFor(redisConnected, 10000, { what: 'herald /health redis connected' });
  await page.waitForSelector('#users-panel[data-subscribed="true"]', { timeout: 5000 });

  const created = { id: 42, email: 'ada@example.com', name: 'Ada Lovelace', created_at: '2024-05-01T09:30:00Z', is_active: true };
  await publishUsers(userEvent('user.created', created));
  await page.waitForSelector(row(42), { timeout: SEEN_WITHIN_MS });
  assert.equal(await cellText(42, 'name'), 'Ada Lovelace');
  assert.equal(await cellText(42, 'email'), 'ada@example.com');
  assert.equal(await cellText(42, 'is_active'), 'yes');
  assert.equal(await page.getAttribute(row(42), 'data-flash'), 'created', 'a new row is highlighted');

  await publishUsers(userEvent('user.updated', { ...created, name: 'Ada King', is_active: false }));
  await page.waitForFunction(
    (sel) => document.querySelector(sel)?.textContent === 'Ada King',
    `${row(42)} td[data-field="name"]`, { timeout: SEEN_WITHIN_MS });
  assert.equal(await cellText(42, 'is_active'), 'no');
  assert.equal(await page.getAttribute(row(42), 'data-flash'), 'updated', 'a changed row is highlighted');
  assert.equal(await page.$$eval('#users-body tr', (rows) => rows.length), 1, 'updated in place, not added');

  await publishUsers(userEvent('user.deleted', { id: 42 }));
  await page.waitForSelector(row(42), { state: 'detached', timeout: SEEN_WITHIN_MS });
  assert.equal(await page.textContent('#users-count'), '0');
});

test('after herald restarts on the same port the page reconnects and shows the next notification', OPTS, async () => {
  const before = await page.evaluate(() => window.herald.client.welcome);
  await herald.stop();                     // fails on a sanitizer report or an unclean exit
  herald = null;
  await page.waitForSelector('#conn-state:not([data-state="open"])', { timeout: 5000 });
  await launchHerald();
  // The client backs off at most 30 s (with jitter) between attempts.
  await page.waitForFunction(
    (old) => {
      const c = window.herald.client;
      return c.state === 'open' && (c.welcome.node !== old.node || c.welcome.session !== old.session);
    },
    before, { timeout: 35000 });
  await page.waitForSelector('#conn-state[data-state="open"]', { timeout: 1000 });
  await page.waitForSelector('#users-panel[data-subscribed="true"]', { timeout: 5000 });
  await waitFor(redisConnected, 10000, { what: 'herald /health redis connected after restart' });

  const user = { id: 43, email: 'grace@example.com', name: 'Grace Hopper', created_at: '2024-05-02T10:00:00Z', is_active: true };
  await publishUsers(userEvent('user.created', user));
  await page.waitForSelector(row(43), { timeout: SEEN_WITHIN_MS });
  assert.equal(await cellText(43, 'name'), 'Grace Hopper');
  assert.deepEqual(pageErrors, [], 'no uncaught script errors on the page');
});

async function storeUsers(payload) {
  // herald_publish: stored in the users stream (history) and published live
  const seq = await redisCli(redis.port, 'FCALL', 'herald_publish', '1', 'herald:stream:users', payload);
  assert.match(seq, /^\d+-\d+$/, `FCALL herald_publish answered ${seq}`);
  return seq;
}

test('after a page reload the users table is rebuilt from history; what was published while offline follows', OPTS, async () => {
  await waitFor(redisConnected, 10000, { what: 'herald /health redis connected' });
  await page.waitForSelector('#users-panel[data-subscribed="true"]', { timeout: 5000 });
  const u = (id, name) => ({ id, name, email: `${name.toLowerCase()}@example.com`, created_at: '2024-06-01T08:00:00Z', is_active: true });
  await storeUsers(userEvent('user.created', u(101, 'Alan')));
  await storeUsers(userEvent('user.created', u(102, 'Barbara')));
  await storeUsers(userEvent('user.updated', { ...u(101, 'Alan Turing'), is_active: false }));
  await storeUsers(userEvent('user.created', u(103, 'Claude')));
  await storeUsers(userEvent('user.deleted', { id: 103 }));
  await page.waitForSelector(row(103), { state: 'detached', timeout: SEEN_WITHIN_MS });

  // the page is closed; a user is created meanwhile
  await page.goto('about:blank');
  await storeUsers(userEvent('user.created', u(104, 'Dorothy')));

  await page.goto(`${herald.http}/?client_id=${CLIENT_ID}`);
  await page.waitForSelector('#users-panel[data-subscribed="true"]', { timeout: 5000 });
  assert.equal(await page.getAttribute('#users-panel', 'data-history'), '6', 'six user events in the history');
  assert.deepEqual(await page.$$eval('#users-body tr', (rows) => rows.map((r) => r.dataset.userId)), ['101', '102', '104'],
    'rebuilt in order: 101 updated, 103 created then deleted, 104 created while the page was closed');
  assert.equal(await cellText(101, 'name'), 'Alan Turing');
  assert.equal(await cellText(101, 'is_active'), 'no');
  assert.equal(await cellText(104, 'name'), 'Dorothy');
  assert.equal(await page.textContent('#users-count'), '3');
  assert.equal(await page.$$eval('#users-body tr[data-flash]', (rows) => rows.length), 0, 'from history, not live');
  const since = await page.evaluate(() => window.herald.client.lastSeq('users'));
  assert.match(since, /^\d+-\d+$/, 'the subscribe resumed from the history\'s seq');

  // the page goes offline; a user is created and another deleted meanwhile
  await page.evaluate(() => window.herald.client.close());
  await page.waitForSelector('#conn-state:not([data-state="open"])', { timeout: 5000 });
  await storeUsers(userEvent('user.created', u(105, 'Edsger')));
  await storeUsers(userEvent('user.deleted', { id: 102 }));
  await page.evaluate(() => window.herald.client.connect());
  await page.waitForSelector(row(105), { timeout: 5000 });
  await page.waitForSelector(row(102), { state: 'detached', timeout: 5000 });
  assert.equal(await cellText(105, 'name'), 'Edsger');
  assert.deepEqual(await page.$$eval('#users-body tr', (rows) => rows.map((r) => r.dataset.userId)), ['101', '104', '105']);
  assert.equal(await page.textContent('#users-count'), '3');

  // and live again
  await storeUsers(userEvent('user.updated', { id: 104, name: 'Dorothy Vaughan' }));
  await page.waitForFunction((sel) => document.querySelector(sel)?.textContent === 'Dorothy Vaughan',
    `${row(104)} td[data-field="name"]`, { timeout: SEEN_WITHIN_MS });
  assert.deepEqual(pageErrors, [], 'no uncaught script errors on the page');
});
