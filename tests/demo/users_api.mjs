#!/usr/bin/env node
// Demo publisher that plays a "Users API": about once a second it creates,
// updates or deletes a user and publishes the change to Redis exactly as a
// backend service would:
//
//   redis-cli -h H -p P PUBLISH herald:users '{"event":"user.created","user":{...}}'
//
// herald fans it out to every session subscribed to channel `users`, so the
// dashboard (web/) shows the table changing live. Runs until killed.
//
//   make demo
//   REDIS_URL=redis://127.0.0.1:6380 HERALD_REDIS_PREFIX=herald: node tests/demo/users_api.mjs
//
// Environment: REDIS_URL (redis://[:password@]host:port[/db] or unix:///path;
// default redis://127.0.0.1:6379), HERALD_REDIS_PREFIX (default "herald:"),
// DEMO_INTERVAL_MS (default 1000; each wait is jittered by ±20 %).

import { execFile } from 'node:child_process';

const FIRST = ['Ada', 'Alan', 'Grace', 'Linus', 'Margaret', 'Dennis', 'Barbara', 'Ken', 'Radia', 'Donald',
  'Frances', 'Edsger', 'Katherine', 'John', 'Hedy', 'Tim', 'Shafi', 'Leslie', 'Sophie', 'Niklaus',
  'Annie', 'Vint', 'Karen', 'Guido', 'Lynn', 'Bjarne', 'Mary', 'James', 'Anita', 'Yukihiro'];
const LAST = ['Lovelace', 'Turing', 'Hopper', 'Torvalds', 'Hamilton', 'Ritchie', 'Liskov', 'Thompson',
  'Perlman', 'Knuth', 'Allen', 'Dijkstra', 'Johnson', 'McCarthy', 'Lamarr', 'Berners-Lee', 'Goldwasser',
  'Lamport', 'Wilson', 'Wirth', 'Easley', 'Cerf', 'Sparck Jones', 'van Rossum', 'Conway', 'Stroustrup',
  'Keller', 'Gosling', 'Borg', 'Matsumoto'];
const DOMAINS = ['example.com', 'example.org', 'mail.example.net', 'corp.example.com'];

// ------------------------------------------------------------------ config

function parseRedisUrl(text) {
  const u = new URL(text);
  if (u.protocol === 'unix:') return { args: ['-s', decodeURIComponent(u.pathname)], label: text };
  if (u.protocol !== 'redis:') throw new Error(`REDIS_URL must be redis://... or unix:///path, not ${text}`);
  const host = u.hostname || '127.0.0.1';
  const port = u.port || '6379';
  const args = ['-h', host, '-p', port];
  // The db number does not matter for PUBLISH (pub/sub ignores it).
  const label = `redis://${host}:${port}`;
  if (u.password) args.push('--no-auth-warning', '-a', decodeURIComponent(u.password));
  if (u.username && u.password) args.push('--user', decodeURIComponent(u.username));
  return { args, label };
}

const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
let redis;
try {
  redis = parseRedisUrl(redisUrl);
} catch (err) {
  console.error(`users_api: ${err.message}`);
  process.exit(2);
}
const prefix = process.env.HERALD_REDIS_PREFIX ?? 'herald:';
const channel = `${prefix}users`;
const intervalMs = Math.max(50, Number(process.env.DEMO_INTERVAL_MS) || 1000);

// ------------------------------------------------------------------- users

const users = new Map();          // id -> user
let nextId = 1;

const pick = (list) => list[Math.floor(Math.random() * list.length)];
const slug = (s) => s.toLowerCase().normalize('NFKD').replace(/[^a-z0-9]+/g, '');

function emailFor(first, last) {
  const sep = pick(['.', '', '_']);
  return `${slug(first)}${sep}${slug(last)}${Math.random() < 0.3 ? Math.floor(Math.random() * 90 + 10) : ''}@${pick(DOMAINS)}`;
}

function createUser() {
  const first = pick(FIRST), last = pick(LAST);
  const user = {
    id: nextId++,
    email: emailFor(first, last),
    name: `${first} ${last}`,
    created_at: new Date().toISOString(),
    is_active: Math.random() < 0.85,
  };
  users.set(user.id, user);
  return { event: 'user.created', user: { ...user } };
}

function updateUser() {
  const user = pick([...users.values()]);
  const change = Math.random();
  if (change < 0.4) {
    user.is_active = !user.is_active;
  } else if (change < 0.7) {
    const [first] = user.name.split(' ');
    const last = pick(LAST);
    user.name = `${first} ${last}`;
    user.email = emailFor(first, last);
  } else {
    const [, ...rest] = user.name.split(' ');
    const first = pick(FIRST);
    user.name = [first, ...rest].join(' ');
    user.email = emailFor(first, rest.join(' '));
  }
  return { event: 'user.updated', user: { ...user } };
}

function deleteUser() {
  const user = pick([...users.values()]);
  users.delete(user.id);
  return { event: 'user.deleted', user: { id: user.id } };
}

// Keep the table lively but bounded: grow towards ~12 users, then mostly update.
function nextEvent() {
  const n = users.size;
  const r = Math.random();
  if (n < 3 || (n < 12 && r < 0.45)) return createUser();
  if (n > 18 || r < 0.2) return deleteUser();
  if (r < 0.3) return createUser();
  return updateUser();
}

// ----------------------------------------------------------------- publish

function publish(payload) {
  return new Promise((resolve, reject) => {
    execFile('redis-cli', [...redis.args, 'PUBLISH', channel, payload], { timeout: 5000 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(err.code === 'ENOENT'
          ? 'redis-cli not found: install it with `apt-get install -y redis-tools`'
          : (stderr || err.message).trim()));
        return;
      }
      const out = stdout.trim();
      if (!/^\d+$/.test(out)) reject(new Error(out || 'unexpected reply from redis-cli'));
      else resolve(Number(out));
    });
  });
}

function describe(ev) {
  const u = ev.user;
  if (ev.event === 'user.deleted') return `id=${u.id}`;
  return `id=${u.id} name=${JSON.stringify(u.name)} email=${u.email} active=${u.is_active}`;
}

let stopping = false;
let timer = null;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    stopping = true;
    clearTimeout(timer);
    console.log(`users_api: ${sig}, stopping`);
    process.exit(0);
  });
}

async function tick() {
  if (stopping) return;
  const ev = nextEvent();
  const payload = JSON.stringify(ev);
  try {
    const receivers = await publish(payload);
    console.log(`${new Date().toISOString()} ${ev.event.padEnd(12)} ${describe(ev)} -> ${channel} (${receivers} receiver${receivers === 1 ? '' : 's'})`);
  } catch (err) {
    console.log(`${new Date().toISOString()} ${ev.event.padEnd(12)} ${describe(ev)} -> FAILED: ${err.message}`);
  }
  const wait = intervalMs * (0.8 + Math.random() * 0.4);
  timer = setTimeout(tick, wait);
}

console.log(`users_api: publishing user events to ${channel} on ${redis.label} every ~${intervalMs} ms (Ctrl-C stops)`);
tick();
