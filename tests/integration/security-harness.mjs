// Helpers shared by the security*.test.mjs and hostile*.test.mjs files:
// HS256 JWTs built by hand (so that broken ones can be built too), a
// self-signed certificate made with the openssl CLI, a TLS herald (the
// harness's startHerald polls plain http://, which a TLS port does not
// answer), raw TCP/TLS exchanges, and /metrics counters.

import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { httpGet, parseMetrics, startHerald } from './harness.mjs';

// ---------------------------------------------------------------------------
// JWT

/** base64url without padding of a string (utf8) or Buffer. */
export function b64url(data) {
  return Buffer.from(data).toString('base64url');
}

export const nowSec = () => Math.floor(Date.now() / 1000);

/** HMAC of signingInput with secret, base64url (algo: sha256 | sha512). */
export function hmacB64(signingInput, secret, algo = 'sha256') {
  return createHmac(algo, secret).update(signingInput).digest('base64url');
}

/**
 * A JWT from raw part texts: header and payload are JSON texts (strings, so
 * that duplicate keys or non-JSON can be sent), signed with HS256 over the
 * two encoded parts exactly as they are joined, unless sig is given.
 */
export function jwtFromParts(headerText, payloadText, secret, { sig, encode = b64url } = {}) {
  const signingInput = `${encode(headerText)}.${encode(payloadText)}`;
  return `${signingInput}.${sig !== undefined ? sig : hmacB64(signingInput, secret)}`;
}

/** A well-formed HS256 JWT for payload (an object). */
export function signJwt(payload, secret, header = { alg: 'HS256', typ: 'JWT' }) {
  return jwtFromParts(JSON.stringify(header), JSON.stringify(payload), secret);
}

// ---------------------------------------------------------------------------
// Certificates

/**
 * A temporary directory with a self-signed EC certificate for 127.0.0.1 and
 * localhost: {dir, cert, key, otherKey, cleanup()}. otherKey is a second key
 * that does not match cert.
 */
export function makeCertDir() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'herald-tls-'));
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  const otherKey = path.join(dir, 'other-key.pem');
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
      '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    execFileSync('openssl', [
      'genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', otherKey,
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`cannot make a self-signed certificate with the openssl CLI ` +
      `(install it: apt-get install openssl): ${e.stderr ? e.stderr.toString() : e.message}`);
  }
  return { dir, cert, key, otherKey, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes text to a file in dir and returns its path. */
export function writeFileIn(dir, name, text) {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

// ---------------------------------------------------------------------------
// HTTPS

/** GET over TLS (certificate not verified) → {status, headers, body}. */
export function httpsGet(url, { timeoutMs = 5000, ...opts } = {}) {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { rejectUnauthorized: false, agent: false, ...opts }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
  });
}

/**
 * Start herald with --tls-cert/--tls-key (in args) and wait for
 * https://…/health 200: the harness's startHerald in its TLS mode.
 */
export function startTlsHerald({ args = [], env = {}, startTimeoutMs = 10000 } = {}) {
  return startHerald({ args, env, startTimeoutMs, tls: true, healthGet: httpsGet });
}

// ---------------------------------------------------------------------------
// Raw exchanges

/**
 * Connect (TCP, or TLS when tlsOpts is given), write data (a Buffer/string,
 * or an array of them written one after the other), and collect what the
 * server sends until it closes the connection, until(dataSoFar) is true, or
 * timeoutMs passes. → {data: Buffer, closedByServer: bool, error}
 */
export function rawExchange(port, data, { timeoutMs = 5000, tlsOpts = null, until = null } = {}) {
  return new Promise((resolve) => {
    const s = tlsOpts
      ? tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...tlsOpts })
      : net.connect({ host: '127.0.0.1', port });
    const got = [];
    let done = false;
    const finish = (closedByServer, error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ data: Buffer.concat(got), closedByServer, error });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    s.once(tlsOpts ? 'secureConnect' : 'connect', () => {
      for (const d of [].concat(data)) s.write(d);
    });
    s.on('data', (c) => {
      got.push(c);
      if (until && until(Buffer.concat(got))) finish(false);
    });
    s.on('end', () => finish(true));
    s.on('close', () => finish(true));
    s.on('error', (e) => finish(true, e));
  });
}

/** The first line of a raw HTTP response (latin1), or '' when there is none. */
export function statusLine(buf) {
  const s = buf.toString('latin1');
  const i = s.indexOf('\r\n');
  return i < 0 ? s : s.slice(0, i);
}

// ---------------------------------------------------------------------------
// Metrics

/** The values of GET /metrics ({name: number}). */
export async function metricValues(httpBase, get = httpGet) {
  const res = await get(`${httpBase}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return parseMetrics(res.body).values;
}
