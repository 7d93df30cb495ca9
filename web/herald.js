// herald.js — a small, dependency-free client for the herald WebSocket server.
//
// Runs in browsers as an ES module and in Node 20+ when given a WebSocket
// implementation (for example the `ws` package) through the `WebSocket`
// option. Everything time- or chance-dependent (timers, Math.random) can be
// injected, so tests can drive it deterministically.
//
// What it does for you:
//   - connects to <base>/ws/<client_id>, reconnects with capped exponential
//     backoff and full jitter, and resets the backoff after each welcome;
//   - remembers its channel subscriptions and the last `seq` seen on each, and
//     resubscribes with `since` after every reconnect so that nothing published
//     meanwhile is lost (herald replays it, or answers `resync`); the
//     resubscriptions go out in paced batches, and one that herald refuses
//     as `rate_limited` is tried again, never dropped;
//   - matches replies to requests by `id` and returns Promises; a request
//     refused as `rate_limited` (herald did not carry it out) is sent again
//     after a short backoff until its timeout;
//   - reports connection state, Redis link state, broadcasts and direct
//     messages as events.
//
// API reference: docs/client.md.

/** Connection states, in the order a connection goes through them. */
export const STATES = Object.freeze(['connecting', 'open', 'closed']);

const DEFAULTS = Object.freeze({
  backoffInitial: 500,      // ms: the first retry waits up to this long
  backoffMax: 30000,        // ms: cap of the (pre-jitter) delay
  backoffFactor: 2,
  requestTimeout: 10000,    // ms: a request without a reply by then is rejected
  connectTimeout: 10000,    // ms: from opening the socket to the welcome
  keepalive: true,          // send {"type":"ping"} when the link is idle
  pongTimeout: 10000,       // ms to wait for that pong before dropping the link
  resubscribeBatch: 20,     // subscribe frames sent at once after a welcome...
  resubscribeInterval: 250, // ...then this many ms between batches (80/s, under
                            // herald's default --rate-limit of 100/s)
  retryInitial: 200,        // ms: first wait before resending a rate_limited request
  retryMax: 2000,           // ms: cap of that wait (doubling, full jitter)
});

const CLIENT_ID_RE = /^[A-Za-z0-9_.:@-]{1,64}$/;

/** Error for a request that failed: a server `error` reply, a timeout, a lost connection. */
export class HeraldError extends Error {
  /**
   * @param {string} code    herald's error code (`bad_channel`, ...) or one of
   *                         the client's own: `timeout`, `disconnected`, `closed`
   * @param {string} message human-readable text
   * @param {object} [reply] the server's error frame, when there is one
   */
  constructor(code, message, reply) {
    super(message || code);
    this.name = 'HeraldError';
    this.code = code;
    this.reply = reply;
  }
}

/**
 * The delay before reconnect attempt number `attempt` (0 for the first retry):
 * "full jitter" — uniform in [0, min(max, initial * factor^attempt)).
 */
export function backoffDelay(attempt, { initial = DEFAULTS.backoffInitial, max = DEFAULTS.backoffMax,
  factor = DEFAULTS.backoffFactor, random = Math.random } = {}) {
  const ceiling = Math.min(max, initial * Math.pow(factor, Math.max(0, attempt)));
  return Math.floor(random() * ceiling);
}

/** The default WebSocket base URL for a page location: ws:// or wss:// to the same host. */
export function defaultBase(loc = globalThis.location) {
  if (!loc || !loc.host) throw new Error('herald: no location to derive the server URL from; pass `url` or `base`');
  return (loc.protocol === 'https:' ? 'wss:' : 'ws:') + '//' + loc.host;
}

export class HeraldClient {
  /**
   * @param {object} opts
   * @param {string} opts.clientId           1-64 chars of [A-Za-z0-9_.:@-]
   * @param {string} [opts.url]              full WebSocket URL (overrides base + clientId path)
   * @param {string} [opts.base]             e.g. "wss://example.com"; default from `location`
   * @param {string|function} [opts.token]   JWT sent as ?token=, or a function returning one (called per connect)
   * @param {function} [opts.WebSocket]      WebSocket constructor (default globalThis.WebSocket)
   * @param {function} [opts.random]         () => [0,1) (default Math.random)
   * @param {function} [opts.setTimeout]     timer functions (default the global ones)
   * @param {function} [opts.clearTimeout]
   * @param {function} [opts.onResync]       (channel, frame) => void, when herald cannot replay a gap
   * @param {function} [opts.shouldReconnect] (closeInfo) => boolean; default: always reconnect
   * @param {object}   [opts.on]             { event: listener, ... } attached before connecting
   * @param {boolean}  [opts.autoConnect=true]
   * @param {number}   [opts.backoffInitial=500] [opts.backoffMax=30000] [opts.backoffFactor=2]
   * @param {number}   [opts.requestTimeout=10000] [opts.connectTimeout=10000]
   * @param {boolean}  [opts.keepalive=true] [opts.pongTimeout=10000]
   * @param {number}   [opts.resubscribeBatch=20] [opts.resubscribeInterval=250]
   * @param {number}   [opts.retryInitial=200] [opts.retryMax=2000]
   */
  constructor(opts = {}) {
    const o = { ...DEFAULTS, ...opts };
    if (!o.url) {
      if (typeof o.clientId !== 'string' || !CLIENT_ID_RE.test(o.clientId)) {
        throw new TypeError('herald: clientId must be 1-64 characters of [A-Za-z0-9_.:@-]');
      }
    }
    this.clientId = o.clientId ?? null;
    this._opts = o;
    this._WebSocket = o.WebSocket || globalThis.WebSocket;
    if (typeof this._WebSocket !== 'function') {
      throw new TypeError('herald: no WebSocket implementation; pass one as the `WebSocket` option');
    }
    this._random = o.random || Math.random;
    // Bind to globalThis: browsers throw "Illegal invocation" otherwise.
    this._setTimeout = o.setTimeout || ((fn, ms) => globalThis.setTimeout(fn, ms));
    this._clearTimeout = o.clearTimeout || ((t) => globalThis.clearTimeout(t));

    this.state = 'closed';
    this.welcome = null;          // the last welcome frame
    this.redisState = null;       // 'connected' | 'disconnected' | 'disabled' | null (unknown)
    this.attempt = 0;             // failed attempts since the last welcome
    this._ws = null;
    this._stopped = true;         // true after close(), until connect()
    this._listeners = new Map();  // event -> Set(fn)
    this._channels = new Map();   // channel -> { handlers:Set, seq, onResync, confirmed, waiters:[] }
    this._pending = new Map();    // id -> { resolve, reject, timer, sent, frame, internal }
    this._outbox = [];            // ids of requests waiting for the connection
    this._nextId = 1;
    this._retryTimer = null;
    this._connectTimer = null;
    this._idleTimer = null;
    this._pongTimer = null;
    this._resubQueue = [];        // channels waiting for their (re)subscribe frame
    this._resubTimer = null;

    // Listeners given here see the very first 'connecting' state; listeners
    // added after construction should read `client.state` first.
    for (const [event, fn] of Object.entries(o.on || {})) this.on(event, fn);
    if (o.autoConnect !== false) this.connect();
  }

  // ---------------------------------------------------------------- events

  /** Adds a listener; returns a function that removes it. */
  on(event, fn) {
    if (typeof fn !== 'function') throw new TypeError('herald: listener must be a function');
    let set = this._listeners.get(event);
    if (!set) this._listeners.set(event, (set = new Set()));
    set.add(fn);
    return () => this.off(event, fn);
  }

  /** Adds a listener that runs once. */
  once(event, fn) {
    const off = this.on(event, (...args) => { off(); fn(...args); });
    return off;
  }

  off(event, fn) {
    const set = this._listeners.get(event);
    if (set) set.delete(fn);
  }

  _emit(event, ...args) {
    const set = this._listeners.get(event);
    if (!set) return;
    for (const fn of [...set]) this._call(fn, args);
  }

  // A listener or handler that throws must not break the client.
  _call(fn, args) {
    try {
      fn(...args);
    } catch (err) {
      if (typeof globalThis.reportError === 'function') globalThis.reportError(err);
      else if (globalThis.console) globalThis.console.error('herald: listener threw', err);
    }
  }

  _setState(state, info) {
    if (this.state === state) return;
    const prev = this.state;
    this.state = state;
    this._emit('state', state, prev, info);
  }

  // ------------------------------------------------------------ connection

  /** The URL the next connection attempt will use. */
  url() {
    const o = this._opts;
    let url = o.url || ((o.base || defaultBase()).replace(/\/+$/, '') + '/ws/' + encodeURIComponent(this.clientId));
    const token = typeof o.token === 'function' ? o.token() : o.token;
    if (token) url += (url.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(token);
    return url;
  }

  /**
   * Starts connecting (the constructor does so unless autoConnect is false).
   * While waiting to retry, connects at once. No-op when connecting or open.
   */
  connect() {
    this._stopped = false;
    if (this._ws) return;
    this._clearTimer('_retryTimer');
    this._open();
  }

  _open() {
    this._setState('connecting');
    let ws;
    try {
      ws = new this._WebSocket(this.url());
    } catch (err) {
      // A malformed URL throws synchronously; treat it as a failed attempt.
      this._emit('error', err);
      this._scheduleReconnect({ code: 1006, reason: String(err && err.message || err), wasClean: false });
      return;
    }
    this._ws = ws;
    try { ws.binaryType = 'arraybuffer'; } catch { /* not settable on every implementation */ }
    ws.onopen = () => { if (this._ws === ws) this._emit('socket-open'); };
    ws.onmessage = (ev) => { if (this._ws === ws) this._onFrame(ev.data); };
    ws.onerror = () => { /* a close event follows; nothing useful to read here */ };
    ws.onclose = (ev) => {
      if (this._ws !== ws) return;
      this._onSocketGone({ code: ev && ev.code, reason: ev && ev.reason, wasClean: !!(ev && ev.wasClean) });
    };
    this._connectTimer = this._setTimeout(() => {
      this._connectTimer = null;
      this._drop(4000, 'connect timeout');
    }, this._opts.connectTimeout);
  }

  // Abandons the current socket at once (the browser may take a long time to
  // report the close of a dead link) and goes on as if it had closed.
  _drop(code, reason) {
    const ws = this._ws;
    if (!ws) return;
    this._detach(ws);
    try { ws.close(); } catch { /* already closing */ }
    this._onSocketGone({ code, reason, wasClean: false });
  }

  // Keeps no-op handlers rather than none: some implementations (the ws
  // package) throw when an 'error' event finds no listener.
  _detach(ws) {
    const noop = () => {};
    ws.onopen = ws.onmessage = ws.onerror = ws.onclose = noop;
  }

  _onSocketGone(info) {
    if (this._ws) this._detach(this._ws);
    this._ws = null;
    this._clearTimer('_connectTimer');
    this._clearTimer('_idleTimer');
    this._clearTimer('_pongTimer');
    this._clearTimer('_resubTimer');
    this._resubQueue = [];
    const wasOpen = this.state === 'open';
    // Requests already written may or may not have been processed: fail them.
    // Requests still in the outbox wait for the next connection.
    for (const [id, p] of this._pending) {
      if (p.sent || p.retryTimer != null) {
        this._settle(id, new HeraldError('disconnected', 'connection lost before the reply'));
      }
    }
    for (const ch of this._channels.values()) ch.confirmed = false;
    this._emit('close', info, wasOpen);
    if (this._stopped) {
      this._setState('closed', info);
      return;
    }
    let again = true;
    if (this._opts.shouldReconnect) {
      this._call(() => { again = this._opts.shouldReconnect(info) !== false; }, []);
    }
    if (!again) {
      this._stopped = true;
      this._failAll(new HeraldError('closed', 'connection closed'));
      this._setState('closed', info);
      return;
    }
    this._scheduleReconnect(info);
  }

  _scheduleReconnect(info) {
    const delay = backoffDelay(this.attempt, {
      initial: this._opts.backoffInitial, max: this._opts.backoffMax,
      factor: this._opts.backoffFactor, random: this._random,
    });
    this.attempt += 1;
    this._setState('closed', info);
    this._emit('reconnect', { attempt: this.attempt, delay });
    this._retryTimer = this._setTimeout(() => {
      this._retryTimer = null;
      if (!this._stopped && !this._ws) this._open();
    }, delay);
  }

  /** Closes the connection for good (until connect() is called again); fails pending requests. */
  close(code = 1000, reason = 'client closed') {
    this._stopped = true;
    this.attempt = 0;
    this._clearTimer('_retryTimer');
    this._failAll(new HeraldError('closed', 'client closed'));
    const ws = this._ws;
    if (ws) {
      this._detach(ws);
      try { ws.close(code, reason); } catch { /* ignore */ }
      this._onSocketGone({ code, reason, wasClean: true });
    } else {
      this._setState('closed', { code, reason, wasClean: true });
    }
  }

  _failAll(err) {
    for (const id of [...this._pending.keys()]) this._settle(id, err);
    this._outbox = [];
    for (const ch of this._channels.values()) {
      for (const w of ch.waiters.splice(0)) { this._clearTimeout(w.timer); w.reject(err); }
    }
  }

  _clearTimer(name) {
    if (this[name] != null) {
      this._clearTimeout(this[name]);
      this[name] = null;
    }
  }

  // --------------------------------------------------------------- frames

  _write(frame) {
    const text = JSON.stringify(frame);
    this._ws.send(text);
    this._emit('outgoing', frame);
  }

  /** Sends raw text (or binary) as is when connected; returns whether it was sent. */
  sendRaw(data) {
    if (!this._ws || this.state !== 'open') return false;
    this._ws.send(data);
    this._emit('outgoing', data);
    return true;
  }

  _onFrame(data) {
    this._armIdle();
    if (typeof data !== 'string') {
      this._emit('binary', data);
      return;
    }
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      msg = undefined;
    }
    if (!msg || typeof msg !== 'object' || Array.isArray(msg) || typeof msg.type !== 'string') {
      this._emit('text', data);       // e.g. "Echo: hello"
      return;
    }
    this._emit('frame', msg);
    this._dispatch(msg);
  }

  _dispatch(msg) {
    switch (msg.type) {
      case 'welcome': return this._onWelcome(msg);
      case 'redis':
        this.redisState = msg.state;
        this._emit('redis', msg.state, msg);
        return;
      case 'resync': return this._onResync(msg);
      case 'notification':
      case 'message':
        if (typeof msg.channel === 'string') return this._onChannelFrame(msg);
        if (msg.type === 'message') return this._emit('message', msg);   // direct message
        return this._emit('notification', msg);                           // e.g. herald:client:<id>
      case 'broadcast': return this._emit('broadcast', msg);
      default: break;
    }
    if (msg.id !== undefined && msg.id !== null && this._pending.has(keyOf(msg.id))) {
      const id = keyOf(msg.id);
      if (msg.type === 'error' && msg.code === 'rate_limited' && this._retryLater(id)) return;
      if (msg.type === 'error') {
        this._settle(id, new HeraldError(msg.code || 'error', msg.message || msg.code, msg));
      } else {
        this._settle(id, null, msg);
      }
      return;
    }
    if (msg.type === 'error') this._emit('error', new HeraldError(msg.code || 'error', msg.message, msg));
  }

  _onWelcome(msg) {
    this._clearTimer('_connectTimer');
    this.welcome = msg;
    this.attempt = 0;
    this._setState('open');
    this._emit('welcome', msg);
    // Resubscribe every channel (with `since` where a seq is known) in paced
    // batches, then flush requests made while disconnected, in the order
    // they were made.
    this._resubQueue = [...this._channels.keys()];
    this._pumpResubscribe();
    const outbox = this._outbox;
    this._outbox = [];
    for (const id of outbox) {
      const p = this._pending.get(id);
      if (p && !p.sent) { p.sent = true; this._write(p.frame); }
    }
    this._armIdle();
  }

  // Sends up to resubscribeBatch queued subscribe frames now and the rest
  // resubscribeInterval ms later, batch by batch: a client with hundreds of
  // channels must not spend its whole rate limit (and more) in one go.
  _pumpResubscribe() {
    this._resubTimer = null;
    if (!this._ws || this.state !== 'open') return;
    const batch = Math.max(1, this._opts.resubscribeBatch | 0);
    for (let n = 0; n < batch && this._resubQueue.length; n++) {
      const name = this._resubQueue.shift();
      if (this._channels.has(name) && !this._channels.get(name).confirmed) this._subscribeOnWire(name);
      else n--;
    }
    if (this._resubQueue.length && this._resubTimer == null) {
      this._resubTimer = this._setTimeout(() => this._pumpResubscribe(), this._opts.resubscribeInterval);
    }
  }

  // A channel whose subscribe was not confirmed (rate_limited, timed out)
  // goes back in the queue; it is never dropped for that.
  _queueResubscribe(channel) {
    if (!this._resubQueue.includes(channel)) this._resubQueue.push(channel);
    if (this._resubTimer == null && this._ws && this.state === 'open') {
      this._resubTimer = this._setTimeout(() => this._pumpResubscribe(), this._opts.resubscribeInterval);
    }
  }

  // herald refused request `id` as rate_limited: it did not carry it out,
  // so it is sent again after a jittered, doubling wait, until the
  // request's own timeout. Returns false when the request is not retried.
  _retryLater(id) {
    const p = this._pending.get(id);
    if (!p || p.noRetry) return false;
    const delay = backoffDelay(p.retries || 0, {
      initial: this._opts.retryInitial, max: this._opts.retryMax, random: this._random,
    }) + 1;
    p.retries = (p.retries || 0) + 1;
    p.sent = false;
    p.retryTimer = this._setTimeout(() => {
      p.retryTimer = null;
      if (this._pending.get(id) !== p) return;
      if (this._ws && this.state === 'open') {
        p.sent = true;
        this._write(p.frame);
      } else {
        this._outbox.push(id);
      }
    }, delay);
    this._emit('rate-limited', p.frame, delay);
    return true;
  }

  _onChannelFrame(msg) {
    const ch = this._channels.get(msg.channel);
    if (msg.type === 'notification') this._emit('notification', msg);
    if (!ch) return;
    if (msg.seq !== undefined && msg.seq !== null) ch.seq = msg.seq;
    for (const fn of [...ch.handlers]) this._call(fn, [msg, msg.channel]);
  }

  _onResync(msg) {
    const ch = this._channels.get(msg.channel);
    this._emit('resync', msg.channel, msg);
    if (ch && ch.onResync) this._call(ch.onResync, [msg.channel, msg]);
    else if (this._opts.onResync) this._call(this._opts.onResync, [msg.channel, msg]);
    // herald says where the channel stands now (`seq`): the application has
    // just been told to reload, so what follows that point is what a later
    // resume must bring. Without a seq the old one is kept, and a resume
    // answers resync again rather than skip anything.
    if (ch && typeof msg.seq === 'string') ch.seq = msg.seq;
  }

  // -------------------------------------------------------------- keepalive

  // herald pings idle sessions with WebSocket pings, which scripts cannot see.
  // To notice a dead link on its own side, the client sends {"type":"ping"}
  // after `heartbeat` seconds without any frame and drops the socket when no
  // frame at all arrives within pongTimeout.
  _armIdle() {
    if (!this._opts.keepalive || this.state !== 'open') return;
    this._clearTimer('_pongTimer');
    this._clearTimer('_idleTimer');
    const hb = (this.welcome && Number(this.welcome.heartbeat) > 0 ? Number(this.welcome.heartbeat) : 25) * 1000;
    this._idleTimer = this._setTimeout(() => {
      this._idleTimer = null;
      if (!this._ws || this.state !== 'open') return;
      this._write({ type: 'ping' });
      this._pongTimer = this._setTimeout(() => {
        this._pongTimer = null;
        this._drop(4001, 'no answer to ping');
      }, this._opts.pongTimeout);
    }, hb);
  }

  // ------------------------------------------------------------- requests

  /**
   * Sends a frame with a fresh `id` and resolves with the reply carrying that
   * id (rejects on an `error` reply, a timeout, or a lost connection). Made
   * while not connected, it waits in an outbox and is sent after the next
   * welcome; the timeout counts from the call.
   */
  request(frame, { timeout = this._opts.requestTimeout, retry = true } = {}) {
    return new Promise((resolve, reject) => {
      if (this._stopped) {
        reject(new HeraldError('closed', 'client is closed'));
        return;
      }
      const id = this._nextId++;
      const full = { ...frame, id };
      const p = { resolve, reject, timer: null, sent: false, frame: full, noRetry: !retry, retries: 0, retryTimer: null };
      p.timer = this._setTimeout(() => {
        this._settle(id, new HeraldError('timeout', `no reply to ${frame.type} within ${timeout} ms`));
      }, timeout);
      this._pending.set(id, p);
      if (this._ws && this.state === 'open') {
        p.sent = true;
        this._write(full);
      } else {
        this._outbox.push(id);
      }
    });
  }

  _settle(id, err, reply) {
    const p = this._pending.get(id);
    if (!p) return;
    this._pending.delete(id);
    this._clearTimeout(p.timer);
    if (p.retryTimer != null) this._clearTimeout(p.retryTimer);
    if (!p.sent) this._outbox = this._outbox.filter((x) => x !== id);
    if (err) p.reject(err); else p.resolve(reply);
  }

  /** {"type":"echo","data":X} -> resolves with the echo frame. */
  echo(data) { return this.request({ type: 'echo', data }); }

  /** {"type":"ping"} -> resolves with the pong frame. */
  ping() { return this.request({ type: 'ping' }); }

  /** Broadcast to every session (this one included); resolves with the ack. */
  broadcast(data) { return this.request({ type: 'broadcast', data }); }

  /** Direct message to every session of client `to`; resolves with the ack. */
  send(to, data) { return this.request({ type: 'send', to, data }); }

  /** Publish to channel subscribers; resolves with the ack. */
  publish(channel, data) { return this.request({ type: 'publish', channel, data }); }

  /**
   * The last `limit` messages of `channel` (1..herald's --history-size;
   * omitted: all it keeps). Resolves with the reply
   * {type:'history', channel, messages:[{seq, data, from?}, ...] (oldest
   * first), seq, complete}; `seq` is where a subscribe with `since` goes on
   * without a gap or a repeat: subscribe(channel, handler, { since: reply.seq }).
   */
  history(channel, limit) {
    const frame = { type: 'history', channel };
    if (limit !== undefined && limit !== null) frame.limit = limit;
    return this.request(frame);
  }

  // -------------------------------------------------------- subscriptions

  /**
   * Subscribes to `channel`; `handler(frame, channel)` receives its
   * notification and message frames. The subscription survives reconnects.
   * Resolves with the first `subscribed` reply; rejects on an `error` reply
   * (the subscription is then dropped) or when no confirmation came within
   * requestTimeout (the subscription stays and is retried on reconnect).
   *
   * @param {object} [opts] { since: seq to resume from, onResync(channel, frame),
   *                          resume: false for live-only channels (never sends since) }
   */
  subscribe(channel, handler, opts = {}) {
    if (handler && typeof handler === 'object') { opts = handler; handler = null; }   // subscribe(channel, opts)
    let ch = this._channels.get(channel);
    const fresh = !ch;
    if (fresh) {
      ch = { handlers: new Set(), seq: opts.since ?? null, onResync: null, confirmed: false, waiters: [],
        resume: opts.resume !== false };
      this._channels.set(channel, ch);
    }
    if (handler) ch.handlers.add(handler);
    if (opts.onResync) ch.onResync = opts.onResync;
    if (ch.confirmed) return Promise.resolve({ type: 'subscribed', channel });
    const p = new Promise((resolve, reject) => {
      const w = { resolve, reject, timer: null };
      w.timer = this._setTimeout(() => {
        ch.waiters = ch.waiters.filter((x) => x !== w);
        reject(new HeraldError('timeout', `no confirmation of subscribe to ${channel}`));
      }, this._opts.requestTimeout);
      ch.waiters.push(w);
    });
    if (fresh && this._ws && this.state === 'open') this._subscribeOnWire(channel);
    // subscribe() is often called without awaiting: a rejection it did not
    // look at must not be reported as unhandled (errors also go to 'error').
    p.catch(() => {});
    return p;
  }

  _subscribeOnWire(channel) {
    const ch = this._channels.get(channel);
    const frame = { type: 'subscribe', channel };
    if (ch.resume && ch.seq !== null && ch.seq !== undefined) frame.since = String(ch.seq);
    this.request(frame).then((reply) => {
      if (this._channels.get(channel) !== ch) return;      // unsubscribed meanwhile
      ch.confirmed = true;
      // A first subscribe learns the channel's position (its `seq`), so that
      // a resume after a drop brings what was published meanwhile even when
      // no message had arrived yet. (A resume's reply repeats `since`.)
      if (reply && reply.seq != null && ch.seq == null) ch.seq = reply.seq;
      for (const w of ch.waiters.splice(0)) { this._clearTimeout(w.timer); w.resolve(reply); }
    }, (err) => {
      if (this._channels.get(channel) !== ch) return;
      if (err.reply && err.code !== 'rate_limited') {
        // herald refused it (bad_channel, forbidden, limit): retrying is pointless.
        this._channels.delete(channel);
        for (const w of ch.waiters.splice(0)) { this._clearTimeout(w.timer); w.reject(err); }
        this._emit('error', err);
        return;
      }
      // rate_limited past the request's timeout, or no reply: try again
      // while connected; disconnected: the next welcome subscribes again.
      if (err.code !== 'disconnected' && err.code !== 'closed') this._queueResubscribe(channel);
    });
  }

  /**
   * Removes `handler` from `channel`, or every handler when none is given.
   * When no handler is left, leaves the channel and resolves with the
   * `unsubscribed` reply (or at once when not connected).
   */
  unsubscribe(channel, handler) {
    const ch = this._channels.get(channel);
    if (!ch) return Promise.resolve({ type: 'unsubscribed', channel });
    if (handler) {
      ch.handlers.delete(handler);
      if (ch.handlers.size > 0) return Promise.resolve({ type: 'unsubscribed', channel, partial: true });
    }
    this._channels.delete(channel);
    for (const w of ch.waiters.splice(0)) {
      this._clearTimeout(w.timer);
      w.reject(new HeraldError('unsubscribed', `unsubscribed from ${channel}`));
    }
    if (this._ws && this.state === 'open') {
      const p = this.request({ type: 'unsubscribe', channel });
      p.catch(() => {});   // see subscribe()
      return p;
    }
    return Promise.resolve({ type: 'unsubscribed', channel });
  }

  /** Names of the channels this client keeps subscribed. */
  channels() { return [...this._channels.keys()]; }

  /** The last `seq` seen on `channel` (null when none). */
  lastSeq(channel) {
    const ch = this._channels.get(channel);
    return ch ? ch.seq : null;
  }
}

function keyOf(id) {
  return typeof id === 'number' ? id : Number.isFinite(Number(id)) ? Number(id) : id;
}

export default HeraldClient;
