/**
 * The HTTP server of `deltaflow serve`, on Node's http module: the routing (404 for an unknown path,
 * 405 with `Allow` for a wrong method, HEAD as GET without a body), the token check, the answer of
 * every error as `{"error": "…"}`, and the limits that protect it from slow or hostile clients:
 *
 *   headersTimeout     a client must send its headers within this time (slowloris), else 408
 *   requestTimeout     … and its whole request, body included, else 408
 *   keepAliveTimeout   an idle kept-alive connection is closed after this
 *   maxHeaderSize      16 KiB of headers at most (431 beyond)
 *   maxConnections     connections beyond are refused
 *
 * Node checks the two request timeouts every `connectionsCheckingInterval`, set here to a fraction of
 * them (its default, 30 s, would let a slow client hold a connection far longer than asked).
 * Whatever a request contains, a handler's failure is an answer (500 for a bug, with one line on
 * stderr), never a crash.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { bearerCheck } from './auth.js';
import { HttpError } from './httpError.js';
import { jsonReply, ROUTES, type AppContext, type Method, type Reply } from './routes.js';

export interface ServerLimits {
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly maxConnections: number;
}

export interface ServeOptions extends ServerLimits {
  /** Null: no token (a loopback address only; commands/serve.ts checks). */
  readonly token: string | null;
}

const COMMON_HEADERS = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' };

function send(res: ServerResponse, reply: Reply): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(reply.status, { ...COMMON_HEADERS, 'Content-Type': reply.type, 'Content-Length': Buffer.byteLength(reply.body), ...reply.headers });
  res.end(reply.body);
}

/** The http.Server answering `ctx`'s routes (not yet listening). */
export function createServeServer(ctx: AppContext, options: ServeOptions): Server {
  const isAuthorized = options.token === null ? () => true : bearerCheck(options.token);
  const { metrics } = ctx;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const start = performance.now();
    const path = (req.url ?? '/').split('?')[0];
    const methods = ROUTES.get(path);
    const route = methods === undefined ? 'other' : path;
    let status = 500;
    try {
      if (!isAuthorized(req.headers.authorization)) throw new HttpError(401, 'unauthorized', 'missing or wrong bearer token (Authorization: Bearer <token>)', { 'WWW-Authenticate': 'Bearer' });
      if (methods === undefined) throw new HttpError(404, 'not_found', `no such endpoint: ${JSON.stringify(path.slice(0, 100))} (see GET /model, POST /predict, POST /learn)`);
      const method = req.method === 'HEAD' ? 'GET' : req.method;
      const handler = method === 'GET' || method === 'POST' ? methods[method satisfies Method] : undefined;
      if (handler === undefined) {
        const allow = Object.keys(methods).flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m])).join(', ');
        throw new HttpError(405, 'method_not_allowed', `${path} takes ${allow}, not ${String(req.method).slice(0, 20)}`, { Allow: allow });
      }
      const reply = await handler(req, res, ctx);
      status = reply === null ? 200 : reply.status;
      if (reply !== null) send(res, reply);
    } catch (e) {
      const error =
        e instanceof HttpError
          ? e
          : (process.stderr.write(`deltaflow serve: ${req.method} ${route} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`),
            new HttpError(500, 'internal', 'internal error (the server log has the details)'));
      status = error.status;
      metrics.errors.inc({ kind: error.kind });
      send(res, jsonReply(error.status, { error: error.message }, error.headers));
    } finally {
      metrics.requests.inc({ route, code: String(status) });
      metrics.latency.observe({ route }, (performance.now() - start) / 1000);
    }
  };

  const server = createServer(
    {
      headersTimeout: options.headersTimeoutMs,
      requestTimeout: options.requestTimeoutMs,
      keepAliveTimeout: options.keepAliveTimeoutMs,
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(options.headersTimeoutMs / 4))),
      maxHeaderSize: 16 * 1024,
    },
    (req, res) => void handle(req, res),
  );
  server.maxConnections = options.maxConnections;
  // A request Node could not parse, or that timed out: answered here, counted, and the socket closed.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    const isTimeout = err.code === 'ERR_HTTP_REQUEST_TIMEOUT';
    metrics.errors.inc({ kind: isTimeout ? 'timeout' : 'client_error' });
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const line = isTimeout ? '408 Request Timeout' : err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    metrics.requests.inc({ route: 'other', code: line.slice(0, 3) });
    socket.end(`HTTP/1.1 ${line}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });
  return server;
}
