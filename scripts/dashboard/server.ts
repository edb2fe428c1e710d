/**
 * The dashboard's HTTP server (node:http): the page, its scripts, uPlot from node_modules, the runs'
 * events as server-sent events, and one setting a live page may change.
 *
 *   GET  /                  the page (scripts/dashboard/page/index.html), /page.js, /page.css
 *   GET  /vendor/uplot.js   uPlot's ES module and /vendor/uplot.css, from node_modules
 *   GET  /events            text/event-stream: every run's events so far (RunStore.snapshot), a
 *                           `control` message, then each new event as it is sent (protocol.ts)
 *   GET  /api/state         the same as one JSON document: { control, runs: [[events…]…] }
 *   POST /api/control       {"statsEvery": K} (application/json; live runs only): layer statistics every K steps
 *
 * Every request passes requestGuard.ts first (Host, Origin, Sec-Fetch-Site, token); anything else is
 * 404 / 405. A failing request is answered 500 and never ends the server; a page that stops reading
 * is dropped once 8 MB wait for it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dashboardAssets, type Asset } from './assets.js';
import type { ControlMessage, RunEvent, WireMessage } from './protocol.js';
import { allowedHosts, checkRequest, SECURITY_HEADERS, type Refusal } from './requestGuard.js';
import type { RunStore } from './runStore.js';

export interface DashboardServerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly token: string | null;
  readonly stores: readonly RunStore[];
  /** The live setting, for a live run; absent for a replay. */
  readonly control?: { statsEvery: number };
  /** Called after the page changed a setting. */
  readonly onControl?: (control: ControlMessage) => void;
}

export interface DashboardServer {
  /** `http://127.0.0.1:PORT/` (with `?token=…` when there is one). */
  readonly url: string;
  readonly port: number;
  /** Send run `run`'s event to every open page (the caller stores it first). */
  send(run: number, event: RunEvent): void;
  /** Pages connected now. */
  readonly clients: number;
  close(): Promise<void>;
}

const MAX_PENDING_BYTES = 8 << 20;
const MAX_BODY_BYTES = 4096;

function answer(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

const refuse = (res: ServerResponse, r: Refusal): void => answer(res, r.status, 'text/plain; charset=utf-8', `${r.message}\n`);

const sse = (m: WireMessage): string => `event: ${m.type}\ndata: ${JSON.stringify(m)}\n\n`;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      body += chunk;
      if (body.length > MAX_BODY_BYTES) reject(new RangeError('request body too large'));
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

/** The statsEvery of a control request's body, or the reason it is refused. */
export function parseControl(body: string): { statsEvery: number } | string {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return 'the body must be JSON: {"statsEvery": K}';
  }
  if (typeof value !== 'object' || value === null || !('statsEvery' in value)) return 'expected {"statsEvery": K}';
  const k = value.statsEvery;
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > 1_000_000) return `statsEvery must be an integer in [1, 1000000], got ${JSON.stringify(k)}`;
  return { statsEvery: k };
}

/**
 * Start serving `stores` on `host:port`.
 *
 * @example const server = await startDashboardServer({ host: '127.0.0.1', port: 0, token: null, stores: [store] });
 */
export async function startDashboardServer(options: DashboardServerOptions): Promise<DashboardServer> {
  const assets: Map<string, Asset> = dashboardAssets();
  const clients = new Set<ServerResponse>();
  let allowed = new Set<string>();
  const control = (): ControlMessage => ({ type: 'control', isLive: options.control !== undefined, statsEvery: options.control?.statsEvery ?? 0 });

  const write = (res: ServerResponse, text: string): void => {
    if (res.writableLength > MAX_PENDING_BYTES) {
      clients.delete(res);
      res.destroy();
      return;
    }
    res.write(text);
  };

  const openEvents = (req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(200, { ...SECURITY_HEADERS, 'Content-Type': 'text/event-stream; charset=utf-8', Connection: 'keep-alive' });
    res.write('retry: 2000\n\n');
    options.stores.forEach((store, run) => {
      for (const event of store.snapshot()) res.write(sse({ ...event, run }));
    });
    res.write(sse(control()));
    clients.add(res);
    req.on('close', () => clients.delete(res));
  };

  const handleControl = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (options.control === undefined) return answer(res, 409, 'text/plain; charset=utf-8', 'a replay has no live settings\n');
    if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return answer(res, 415, 'text/plain; charset=utf-8', 'send application/json\n');
    const body = await readBody(req).catch((e: unknown) => (e instanceof RangeError ? null : Promise.reject(e)));
    if (body === null) return answer(res, 413, 'text/plain; charset=utf-8', `at most ${MAX_BODY_BYTES} bytes\n`);
    const parsed = parseControl(body);
    if (typeof parsed === 'string') return answer(res, 400, 'text/plain; charset=utf-8', `${parsed}\n`);
    options.control.statsEvery = parsed.statsEvery;
    const message = control();
    options.onControl?.(message);
    for (const c of clients) write(c, sse(message));
    answer(res, 200, 'application/json', JSON.stringify(message));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const refusal = checkRequest(req, url, allowed, options.token);
    if (refusal !== null) return refuse(res, refusal);
    if (url.pathname === '/api/control') {
      if (req.method !== 'POST') return answer(res, 405, 'text/plain; charset=utf-8', 'POST only\n');
      return handleControl(req, res);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return answer(res, 405, 'text/plain; charset=utf-8', 'GET only\n');
    if (url.pathname === '/events') return openEvents(req, res);
    if (url.pathname === '/api/state') {
      return answer(res, 200, 'application/json', JSON.stringify({ control: control(), runs: options.stores.map((s) => s.snapshot()) }));
    }
    const asset = assets.get(url.pathname);
    if (asset === undefined) return answer(res, 404, 'text/plain; charset=utf-8', 'not found\n');
    answer(res, 200, asset.type, asset.body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) answer(res, 500, 'text/plain; charset=utf-8', `${e instanceof Error ? e.message : String(e)}\n`);
      else res.destroy();
    });
  });
  server.on('clientError', (_e, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  allowed = allowedHosts(options.host, port);
  const shown = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  const base = `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}/`;
  const heartbeat = setInterval(() => {
    for (const c of clients) write(c, ': keep-alive\n\n');
  }, 15_000);
  heartbeat.unref();

  return {
    url: options.token === null ? base : `${base}?token=${encodeURIComponent(options.token)}`,
    port,
    send(run, event) {
      const text = sse({ ...event, run });
      for (const c of clients) write(c, text);
    },
    get clients() {
      return clients.size;
    },
    async close() {
      clearInterval(heartbeat);
      for (const c of clients) c.end();
      clients.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
