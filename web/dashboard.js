// herald live dashboard: connection and Redis state, a live users table fed
// by channel `users`, server figures and a rate chart fed by `$sys`, and a
// console to try the protocol. Plain ES module, no build step; all data goes
// into the DOM through textContent, never as HTML.
//
// URL parameters: ?client_id=<id> (default: a random dash-xxxx),
//                 ?ws=<ws(s)://host:port> (default: this page's host).

import { HeraldClient } from './herald.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const CLIENT_ID_RE = /^[A-Za-z0-9_.:@-]{1,64}$/;

const HIGHLIGHT_MS = 1600;     // how long a changed row stays highlighted
const DELETE_FADE_MS = 600;    // how long a deleted row fades before it goes
const NODE_STALE_MS = 5000;    // a node whose $sys stopped is left out of totals
const CHART_SECONDS = 60;
const LOG_MAX = 200;

function pickClientId() {
  const asked = params.get('client_id');
  if (asked && CLIENT_ID_RE.test(asked)) return asked;
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = new Uint8Array(4);
  crypto.getRandomValues(bytes);
  return 'dash-' + Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}

const clientId = pickClientId();
$('client-id').textContent = clientId;

// --------------------------------------------------------------- formatting

const intFmt = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const rateFmt = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
const fmtInt = (n) => (Number.isFinite(n) ? intFmt.format(n) : '—');
const fmtRate = (n) => (Number.isFinite(n) ? (n < 10 ? rateFmt.format(n) : intFmt.format(n)) : '—');

function fmtUptime(s) {
  if (!Number.isFinite(s)) return '—';
  s = Math.floor(s);
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

function fmtDate(iso) {
  if (iso === undefined || iso === null || iso === '') return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'short' });
}

const clock = () => new Date().toLocaleTimeString(undefined, { hour12: false });

function preview(v) {
  try { return JSON.stringify(v) ?? String(v); } catch { return String(v); }
}

// ---------------------------------------------------------------- the client

const client = new HeraldClient({
  clientId,
  base: params.get('ws') || undefined,
  onResync: (channel) => logLine('info', 'resync', `herald could not replay missed messages on ${channel}`),
});
// For debugging from the devtools console and for tests.
window.herald = { client };
client.on('state', renderConnState);

let retryInfo = null;
let retryTicker = null;

function renderConnState(state) {
  const el = $('conn-state');
  el.textContent = state;
  el.dataset.state = state;
  document.body.dataset.conn = state;
  if (state !== 'open') {
    $('users-panel').dataset.subscribed = 'false';
    renderRedis('unknown');      // only herald can tell us, and it is not there
  }
  renderBanner();
}

function renderBanner() {
  const banner = $('conn-banner');
  if (client && client.state === 'open') {
    banner.hidden = true;
    banner.textContent = '';
    return;
  }
  if (client && client.state === 'closed' && retryInfo) {
    const left = Math.max(0, retryInfo.at - Date.now());
    banner.textContent = `Disconnected from herald — reconnecting in ${(left / 1000).toFixed(1)} s (attempt ${retryInfo.attempt}).`;
    banner.hidden = false;
  } else if (client && client.state === 'connecting' && client.attempt > 0) {
    banner.textContent = `Reconnecting to herald (attempt ${client.attempt})…`;
    banner.hidden = false;
  } else {
    banner.hidden = true;
  }
}

client.on('reconnect', ({ attempt, delay }) => {
  retryInfo = { attempt, at: Date.now() + delay };
  clearInterval(retryTicker);
  retryTicker = setInterval(() => {
    renderBanner();
    if (client.state !== 'closed') { clearInterval(retryTicker); retryTicker = null; }
  }, 200);
  renderBanner();
});

client.on('close', (info, wasOpen) => {
  if (wasOpen) logLine('info', 'closed', `connection closed${info && info.code ? ` (${info.code}${info.reason ? ' ' + info.reason : ''})` : ''}`);
});

client.on('welcome', (w) => {
  retryInfo = null;
  // Figures from before this connection (maybe another node) are history;
  // $sys refills the table within a second.
  nodes.clear();
  renderStats();
  $('node-id').textContent = w.node || '—';
  logLine('info', 'welcome', `session ${w.session} on node ${w.node}`);
  renderBanner();
});

// Browsers come back online before the backoff timer fires: try at once.
window.addEventListener('online', () => client.connect());
// Leave cleanly when the page goes away; come back from the back/forward cache.
window.addEventListener('pagehide', (e) => { if (e.persisted) client.close(1001, 'page hidden'); });
window.addEventListener('pageshow', (e) => { if (e.persisted) client.connect(); });

// ------------------------------------------------------------------ Redis

function renderRedis(state) {
  const el = $('redis-state');
  const s = state || 'unknown';
  if (el.dataset.state === s) return;
  el.textContent = s;
  el.dataset.state = s;
}

// Until $sys or a redis frame says otherwise, ask /health once per welcome
// (only when this page comes from the herald it talks to).
async function fetchHealthRedis() {
  if (params.get('ws')) return;
  try {
    const res = await fetch('/health', { cache: 'no-store' });
    const body = await res.json();
    if (client.state === 'open' && typeof body.redis === 'string' && $('redis-state').dataset.state === 'unknown') {
      renderRedis(body.redis);
    }
  } catch { /* $sys will tell */ }
}
client.on('welcome', fetchHealthRedis);

client.on('redis', (state) => {
  renderRedis(state);
  logLine('event', 'redis', `Redis link ${state}`);
});

// ------------------------------------------------------------------ users

const users = new Map();          // id (string) -> user fields
const rowTimers = new Map();      // id -> { flash, remove }
window.herald.users = users;

function userKey(id) { return String(id); }

function compareIds(a, b) {
  const na = Number(a), nb = Number(b);
  if (Number.isFinite(na) && Number.isFinite(nb)) return na - nb;
  return String(a).localeCompare(String(b));
}

function clearRowTimers(key) {
  const t = rowTimers.get(key);
  if (!t) return;
  clearTimeout(t.flash);
  clearTimeout(t.remove);
  rowTimers.delete(key);
}

function findRow(key) {
  return $('users-body').querySelector(`tr[data-user-id="${CSS.escape(key)}"]`);
}

function makeRow(key) {
  const tr = document.createElement('tr');
  tr.dataset.userId = key;
  tr.dataset.testid = 'user-row';
  for (const field of ['id', 'name', 'email', 'is_active', 'created_at', 'event']) {
    const td = document.createElement('td');
    td.dataset.field = field;
    tr.append(td);
  }
  // Keep rows ordered by id.
  const body = $('users-body');
  const next = Array.from(body.rows).find((r) => compareIds(r.dataset.userId, key) > 0);
  body.insertBefore(tr, next || null);
  return tr;
}

function fillRow(tr, user, event) {
  const cell = (f) => tr.querySelector(`td[data-field="${f}"]`);
  cell('id').textContent = String(user.id);
  cell('name').textContent = user.name ?? '';
  cell('email').textContent = user.email ?? '';
  const active = cell('is_active');
  if (typeof user.is_active === 'boolean') {
    active.textContent = user.is_active ? 'yes' : 'no';
    active.className = user.is_active ? 'active-yes' : 'active-no';
  } else {
    active.textContent = '';
    active.className = '';
  }
  const created = cell('created_at');
  created.textContent = fmtDate(user.created_at);
  created.title = user.created_at ?? '';
  cell('event').textContent = `${event.replace(/^user\./, '')} · ${clock()}`;
}

function flash(tr, kind) {
  tr.classList.remove('flash-created', 'flash-updated', 'flash-deleted');
  void tr.offsetWidth;             // restart the highlight when it is already on
  tr.classList.add(`flash-${kind}`);
  tr.dataset.flash = kind;
}

function renderUserCount() {
  $('users-count').textContent = String(users.size);
  $('users-empty').hidden = users.size > 0 || $('users-body').rows.length > 0;
}

// quiet: replayed from the channel's history (no highlight, no fade).
function onUserEvent(frame, quiet = false) {
  let data = frame.data;
  if (typeof data === 'string') {
    try { data = JSON.parse(data); } catch { /* left as a string */ }
  }
  const event = data && typeof data.event === 'string' ? data.event : null;
  let user = data && data.user;
  if ((user === undefined || user === null) && data && data.id !== undefined) user = { id: data.id };
  if (typeof user !== 'object' || user === null) user = user !== undefined && user !== null ? { id: user } : null;
  if (!event || !user || user.id === undefined || user.id === null) {
    logLine('error', 'users', `ignored a notification that is not a user event: ${preview(frame.data)}`);
    return;
  }
  const key = userKey(user.id);
  clearRowTimers(key);
  const timers = {};
  rowTimers.set(key, timers);

  if (event === 'user.deleted') {
    users.delete(key);
    const tr = findRow(key);
    if (tr && quiet) {
      tr.remove();
      rowTimers.delete(key);
    } else if (tr) {
      flash(tr, 'deleted');
      tr.dataset.deleting = 'true';
      tr.querySelector('td[data-field="event"]').textContent = `deleted · ${clock()}`;
      timers.remove = setTimeout(() => { tr.remove(); rowTimers.delete(key); renderUserCount(); }, DELETE_FADE_MS);
    }
    renderUserCount();
    return;
  }

  const kind = event === 'user.created' ? 'created' : 'updated';
  const merged = { ...(users.get(key) || {}), ...user };
  users.set(key, merged);
  const tr = findRow(key) || makeRow(key);
  delete tr.dataset.deleting;
  fillRow(tr, merged, event);
  if (quiet) {
    rowTimers.delete(key);
    renderUserCount();
    return;
  }
  flash(tr, kind);
  timers.flash = setTimeout(() => {
    tr.classList.remove(`flash-${kind}`);
    delete tr.dataset.flash;
    rowTimers.delete(key);
  }, HIGHLIGHT_MS);
  renderUserCount();
}

// The table is rebuilt from the channel's history (every user event herald
// keeps, applied in order), then follows live from the history's seq: the
// subscribe resumes there, so nothing published in between is missed or
// applied twice. Without history (--history-size 0) it is live only.
async function loadUsers() {
  let since;
  try {
    const h = await client.history('users');
    for (const m of h.messages) onUserEvent({ type: 'notification', channel: 'users', data: m.data, seq: m.seq }, true);
    since = h.seq;
    $('users-panel').dataset.history = String(h.messages.length);
    logLine('info', 'history', `users table rebuilt from ${h.messages.length} event(s) up to ${h.seq}`);
    if (!h.complete) {
      logLine('info', 'history', 'the history does not reach back to the first user event; older users may be missing');
    }
  } catch (err) {
    if (err.code === 'timeout' || err.code === 'disconnected') {
      // not connected in time: ask again once herald is there
      if (client.state === 'open') setTimeout(loadUsers, 1000);
      else client.once('welcome', loadUsers);
      return;
    }
    logLine('info', 'history', `no history of users (${err.code || 'error'}): live updates only`);
  }
  subscribeUsers(since);
}

function subscribeUsers(since) {
  client.subscribe('users', (f) => onUserEvent(f), {
    ...(since ? { since } : {}),
    onResync: () => {
      $('users-resync').hidden = false;
      logLine('info', 'resync', 'missed user updates could not be replayed; the table may be incomplete');
    },
  });
}
$('users-resync-dismiss').addEventListener('click', () => { $('users-resync').hidden = true; });

// data-subscribed tells tests (and the curious) that the users feed is live
// on the current connection.
client.on('frame', (f) => {
  if (f.type === 'subscribed' && f.channel === 'users') $('users-panel').dataset.subscribed = 'true';
});

// ------------------------------------------------------------ $sys figures

const nodes = new Map();   // node -> { sample, prev, rates:{in,out}, seenAt }

function onSys(frame) {
  const s = frame.data;
  if (!s || typeof s !== 'object') return;
  const node = String(s.node ?? '?');
  const now = Date.now();
  const entry = nodes.get(node) || { sample: null, rates: { in: NaN, out: NaN } };
  const prev = entry.sample;
  if (prev && Number(s.uptime) >= Number(prev.uptime) && Number(s.time) > Number(prev.time)) {
    const dt = (Number(s.time) - Number(prev.time)) / 1000;
    const rate = (a, b) => Math.max(0, (Number(a) - Number(b)) / dt);
    entry.rates = { in: rate(s.messages_in, prev.messages_in), out: rate(s.messages_out, prev.messages_out) };
  } else if (prev) {
    entry.rates = { in: NaN, out: NaN };   // the node restarted: counters began again
  }
  entry.sample = s;
  entry.seenAt = now;
  nodes.set(node, entry);

  const ours = client.welcome && client.welcome.node;
  if (s.redis && (node === ours || !ours || !nodes.has(ours))) renderRedis(s.redis);
  renderStats();
}

function liveNodes() {
  const now = Date.now();
  return [...nodes.values()].filter((n) => now - n.seenAt <= NODE_STALE_MS);
}

function totals() {
  const live = liveNodes();
  if (!live.length) return null;
  const sum = (f) => live.reduce((a, n) => a + (Number(n.sample[f]) || 0), 0);
  const sumRate = (f) => {
    const known = live.filter((n) => Number.isFinite(n.rates[f]));
    return known.length ? known.reduce((a, n) => a + n.rates[f], 0) : NaN;
  };
  const ours = client.welcome && nodes.get(client.welcome.node);
  return {
    nodes: live.length,
    workers: sum('workers'), // event loops over every node (--workers)
    connections: sum('connections'),
    clients: sum('clients'),
    channels: sum('channels'),
    slow: sum('slow_consumers'),
    drops: sum('drops'),
    redisReconnects: sum('redis_reconnects'),
    uptime: Number((ours || live[0]).sample.uptime),
    inRate: sumRate('in'),
    outRate: sumRate('out'),
  };
}

function renderStats() {
  const t = totals();
  const set = (id, text) => { const el = $(id); if (el.textContent !== text) el.textContent = text; };
  if (!t) {
    for (const id of ['stat-connections', 'stat-clients', 'stat-channels', 'stat-in-rate', 'stat-out-rate',
      'stat-slow', 'stat-drops', 'stat-redis-reconnects', 'stat-uptime', 'stat-nodes', 'stat-workers']) set(id, '—');
    set('stats-updated', nodes.size ? 'no recent $sys sample' : 'waiting for $sys…');
    return;
  }
  set('stat-connections', fmtInt(t.connections));
  set('stat-clients', fmtInt(t.clients));
  set('stat-channels', fmtInt(t.channels));
  set('stat-in-rate', fmtRate(t.inRate));
  set('stat-out-rate', fmtRate(t.outRate));
  set('stat-slow', fmtInt(t.slow));
  set('stat-drops', fmtInt(t.drops));
  set('stat-redis-reconnects', fmtInt(t.redisReconnects));
  set('stat-uptime', fmtUptime(t.uptime));
  set('stat-nodes', fmtInt(t.nodes));
  set('stat-workers', fmtInt(t.workers));
  set('stats-updated', `updated ${clock()}`);
}

// ------------------------------------------------------------------- chart

// One point per second (null where no figures came in), the last 60 s.
const history = [];

function chartTick() {
  const t = totals();
  history.push({ at: Date.now(), in: t ? t.inRate : NaN, out: t ? t.outRate : NaN });
  while (history.length > CHART_SECONDS + 1) history.shift();
  if (!t) renderStats();
  drawChart();
}
setInterval(chartTick, 1000);

// A grid step of 1, 2 or 5 times a power of ten giving at most 4 lines, and
// the top of the scale as a whole number of steps.
function niceScale(max) {
  const v = Math.max(max, 1);
  const raw = v / 4;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw);
  return { step, top: step * Math.ceil(v / step) };
}

function drawChart() {
  const canvas = $('rate-chart');
  const cssW = canvas.clientWidth, cssH = canvas.clientHeight;
  if (!cssW || !cssH) return;
  const dpr = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(cssW * dpr) || canvas.height !== Math.round(cssH * dpr)) {
    canvas.width = Math.round(cssW * dpr);
    canvas.height = Math.round(cssH * dpr);
  }
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, cssW, cssH);

  const css = getComputedStyle(document.documentElement);
  const color = (name) => css.getPropertyValue(name).trim();
  const pad = { left: 44, right: 8, top: 8, bottom: 18 };
  const w = cssW - pad.left - pad.right, h = cssH - pad.top - pad.bottom;
  const { step, top: max } = niceScale(Math.max(0, ...history.flatMap((p) => [p.in, p.out]).filter(Number.isFinite)));
  const now = Date.now();
  const x = (at) => pad.left + w - ((now - at) / (CHART_SECONDS * 1000)) * w;
  const y = (v) => pad.top + h - (v / max) * h;

  // Grid and labels.
  ctx.font = '11px system-ui, sans-serif';
  ctx.fillStyle = color('--muted');
  ctx.strokeStyle = color('--border');
  ctx.lineWidth = 1;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'middle';
  for (let i = 0; i * step <= max + 1e-9; i++) {
    const v = i * step;
    const yy = Math.round(y(v)) + 0.5;
    ctx.beginPath(); ctx.moveTo(pad.left, yy); ctx.lineTo(pad.left + w, yy); ctx.stroke();
    ctx.fillText(fmtRate(v), pad.left - 6, yy);
  }
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  for (const s of [60, 45, 30, 15, 0]) {
    ctx.fillText(s ? `-${s}s` : 'now', Math.min(pad.left + w - 12, Math.max(pad.left + 12, x(now - s * 1000))), pad.top + h + 4);
  }

  // The two series; a missing sample breaks the line.
  const series = (key, stroke) => {
    ctx.strokeStyle = color(stroke);
    ctx.lineWidth = 2;
    ctx.lineJoin = 'round';
    ctx.beginPath();
    let pen = false;
    for (const p of history) {
      if (!Number.isFinite(p[key])) { pen = false; continue; }
      const px = x(p.at), py = y(p[key]);
      if (px < pad.left) continue;
      if (pen) ctx.lineTo(px, py); else ctx.moveTo(px, py);
      pen = true;
    }
    ctx.stroke();
  };
  series('in', '--in');
  series('out', '--out');
}

if (typeof ResizeObserver === 'function') new ResizeObserver(() => drawChart()).observe($('rate-chart'));

// ----------------------------------------------------------------- console

function logLine(kind, type, text) {
  const li = document.createElement('li');
  li.dataset.kind = kind;
  li.dataset.type = type;
  const time = document.createElement('span');
  time.className = 'time';
  time.textContent = clock();
  const dir = document.createElement('span');
  dir.className = 'dir';
  dir.textContent = { out: '→ sent', reply: '← reply', error: '✕ error', event: '← event', info: '· info' }[kind] || kind;
  const body = document.createElement('span');
  body.className = 'body';
  body.textContent = text;
  li.append(time, dir, body);
  const log = $('console-log');
  log.prepend(li);
  while (log.children.length > LOG_MAX) log.lastElementChild.remove();
}

const consoleHandlers = new Map();   // channel -> handler added from the console

function updateConsoleFields() {
  const type = $('console-type').value;
  const show = (cls, on) => { document.querySelector(cls).hidden = !on; };
  show('.field-channel', ['publish', 'subscribe', 'unsubscribe'].includes(type));
  show('.field-to', type === 'send');
  show('.field-data', ['echo', 'broadcast', 'publish', 'send', 'raw'].includes(type));
}
$('console-type').addEventListener('change', updateConsoleFields);
updateConsoleFields();

function parseData(text) {
  const trimmed = text.trim();
  if (trimmed === '') return null;
  try { return JSON.parse(trimmed); } catch { return text; }
}

async function consoleSend(ev) {
  ev.preventDefault();
  const type = $('console-type').value;
  const channel = $('console-channel').value.trim();
  const to = $('console-to').value.trim();
  const text = $('console-data').value;
  const data = parseData(text);
  let request;
  switch (type) {
    case 'echo': request = () => client.echo(data); break;
    case 'broadcast': request = () => client.broadcast(data); break;
    case 'publish': request = () => client.publish(channel, data); break;
    case 'send': request = () => client.send(to, data); break;
    case 'ping': request = () => client.ping(); break;
    case 'subscribe': {
      let handler = consoleHandlers.get(channel);
      if (!handler) {
        handler = (f) => logLine('event', f.type, `${f.channel}: ${preview(f)}`);
        consoleHandlers.set(channel, handler);
      }
      request = () => client.subscribe(channel, handler);
      break;
    }
    case 'unsubscribe': {
      const handler = consoleHandlers.get(channel);
      consoleHandlers.delete(channel);
      // The dashboard's own feeds (users, $sys) keep their subscription.
      request = () => (handler ? client.unsubscribe(channel, handler) : client.unsubscribe(channel));
      break;
    }
    case 'raw':
      if (client.sendRaw(text)) logLine('out', 'raw', text);
      else logLine('error', 'raw', 'not connected');
      return;
    default: return;
  }
  logLine('out', type, describeRequest(type, { channel, to, data }));
  try {
    const reply = await request();
    logLine('reply', reply && reply.type ? reply.type : type, preview(reply));
  } catch (err) {
    logLine('error', err.code || 'error', `${err.code || 'error'}: ${err.message}`);
  }
}

function describeRequest(type, { channel, to, data }) {
  switch (type) {
    case 'publish': return `publish to ${channel}: ${preview(data)}`;
    case 'send': return `send to ${to}: ${preview(data)}`;
    case 'subscribe': case 'unsubscribe': return `${type} ${channel}`;
    case 'ping': return 'ping';
    default: return `${type}: ${preview(data)}`;
  }
}

$('console-form').addEventListener('submit', consoleSend);
$('console-clear').addEventListener('click', () => { $('console-log').replaceChildren(); });

// Everything else that arrives unasked shows up in the console too.
client.on('broadcast', (f) => logLine('event', 'broadcast', `from ${f.from}: ${preview(f.data)}`));
client.on('message', (f) => logLine('event', 'message', `from ${f.from}: ${preview(f.data)}`));
client.on('notification', (f) => {
  if (f.channel === 'users' || f.channel === '$sys') return;   // shown in their panels
  if (f.channel && consoleHandlers.has(f.channel)) return;      // logged by its handler
  logLine('event', 'notification', `${f.channel ?? '(no channel)'}: ${preview(f.data)}`);
});
client.on('text', (t) => logLine('reply', 'text', t));
client.on('binary', (b) => logLine('reply', 'binary', `${b.byteLength ?? b.size ?? '?'} bytes`));
client.on('error', (e) => logLine('error', e.code || 'error', `${e.code || 'error'}: ${e.message}`));

// --------------------------------------------------------------- start feeds

loadUsers();
// Statistics are only worth having live: no replay of missed samples.
client.subscribe('$sys', onSys, { resume: false });
renderConnState(client.state);
renderUserCount();
renderStats();
drawChart();
