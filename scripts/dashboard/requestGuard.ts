/**
 * Who may talk to a local server (the dashboard, the browser demo): a request is served only when
 *
 * 1. its `Host` header names this server — a loopback name (127.0.0.1, localhost, [::1]) or the
 *    `--host` address, with the port. A page on another site that re-points its own name at
 *    127.0.0.1 (DNS rebinding) sends its own name as Host and is refused;
 * 2. its `Origin` header, when present, is this server's own origin, and `Sec-Fetch-Site` (sent by
 *    browsers) is not `cross-site` or `same-site`: a page of another origin can neither read nor
 *    drive the server. No CORS header is ever sent, so browsers also hide every answer from other origins;
 * 3. with a token, it carries it (`?token=…` or `Authorization: Bearer …`, compared in constant time).
 *
 * Bound to a wildcard address (0.0.0.0, ::), the Host may also be any address or the name of this
 * machine (the token is then what keeps others out).
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { hostname, networkInterfaces } from 'node:os';

export interface Refusal {
  readonly status: number;
  readonly message: string;
}

const LOOPBACK = ['127.0.0.1', 'localhost', '::1'];
const WILDCARD = ['0.0.0.0', '::', ''];

const withPort = (host: string, port: number): string => `${host.includes(':') ? `[${host}]` : host}:${port}`.toLowerCase();

/** The `host:port` values a request's Host header may have for a server bound to `host`. */
export function allowedHosts(host: string, port: number): Set<string> {
  const names = [...LOOPBACK, host];
  if (WILDCARD.includes(host)) {
    names.push(hostname());
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) names.push(a.address);
  }
  return new Set(names.filter((n) => !WILDCARD.includes(n)).map((n) => withPort(n, port)));
}

/** True when the loopback interface is all `host` reaches. */
export function isLoopback(host: string): boolean {
  return LOOPBACK.includes(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function sameSecret(given: string, token: string): boolean {
  const a = Buffer.from(given, 'utf8');
  const b = Buffer.from(token, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The token a request carries, from `?token=` or `Authorization: Bearer`. */
function tokenOf(req: IncomingMessage, url: URL): string | null {
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && auth.startsWith('Bearer ')) return auth.slice(7);
  return url.searchParams.get('token');
}

/**
 * Null when `req` may be served; else the status and a one-line reason.
 *
 * @example const refusal = checkRequest(req, url, allowed, token); if (refusal) return refuse(res, refusal);
 */
export function checkRequest(req: IncomingMessage, url: URL, allowed: ReadonlySet<string>, token: string | null): Refusal | null {
  const host = (req.headers.host ?? '').toLowerCase();
  if (!allowed.has(host)) return { status: 403, message: `host "${req.headers.host ?? ''}" is not this server (expected one of ${[...allowed].join(', ')})` };
  const origin = req.headers.origin;
  if (origin !== undefined && origin.toLowerCase() !== `http://${host}`) return { status: 403, message: `requests from ${origin} are not served (other origins cannot use this server)` };
  const site = req.headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') return { status: 403, message: `requests from another site are not served (Sec-Fetch-Site: ${site})` };
  if (token !== null) {
    const given = tokenOf(req, url);
    if (given === null || !sameSecret(given, token)) return { status: 401, message: 'a valid token is needed: open the URL printed by the program (it ends in ?token=…)' };
  }
  return null;
}

/** Headers on every answer: no sniffing, no framing, no caching, nothing loaded from elsewhere. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-store',
  'Referrer-Policy': 'no-referrer',
  'Content-Security-Policy': "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; worker-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
};
