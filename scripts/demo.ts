/**
 * `npm run demo` — serves the browser demo (examples/browser/) on http://127.0.0.1:8080/: the page,
 * its scripts and the training worker (built into dist/examples/browser/), the library bundle
 * (dist/browser/deltaflow.js), uPlot from node_modules, and the MNIST CSVs of data/ (written on first
 * use, as `deltaflow train` does).
 *
 *   node dist/scripts/demo.js [--port N]      (0 picks a free port)
 *
 * Every answer is cross-origin isolated (COOP same-origin, COEP require-corp), which browsers require
 * for the shared WebAssembly memory of the kernels. Requests pass the dashboard's guard
 * (scripts/dashboard/requestGuard.ts); it binds 127.0.0.1, this machine only.
 */
import { createReadStream, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { packageRoot, readAsset, uplotAssets, type Asset } from './dashboard/assets.js';
import { allowedHosts, checkRequest, SECURITY_HEADERS } from './dashboard/requestGuard.js';
import { ensureMnistCsv } from './prepareData.js';

const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp', 'Cross-Origin-Resource-Policy': 'same-origin' };

function demoAssets(): Map<string, Asset> {
  const root = packageRoot();
  const built = join(root, 'dist', 'examples', 'browser');
  const source = join(root, 'examples', 'browser');
  const uplot = uplotAssets();
  return new Map([
    ['/', readAsset(join(source, 'index.html'))],
    ['/style.css', readAsset(join(source, 'style.css'))],
    ['/main.js', readAsset(join(built, 'main.js'))],
    ['/worker.js', readAsset(join(built, 'worker.js'))],
    ['/deltaflow.js', readAsset(join(root, 'dist', 'browser', 'deltaflow.js'))],
    ['/vendor/uplot.js', uplot.js],
    ['/vendor/uplot.css', uplot.css],
  ]);
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, { ...SECURITY_HEADERS, ...ISOLATION, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { port: { type: 'string', default: '8080' } } });
  const port = Number(values.port);
  if (!(Number.isInteger(port) && port >= 0 && port < 65536)) throw new Error(`--port must be an integer in [0, 65535], got ${values.port}`);
  const host = '127.0.0.1';
  const files = await ensureMnistCsv();
  const data = new Map([
    ['/data/mnist-train.csv', files.train],
    ['/data/mnist-test.csv', files.test],
  ]);
  const assets = demoAssets();
  let allowed = new Set<string>();

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const refusal = checkRequest(req, url, allowed, null);
    if (refusal !== null) return send(res, refusal.status, 'text/plain; charset=utf-8', `${refusal.message}\n`);
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain; charset=utf-8', 'GET only\n');
    const csv = data.get(url.pathname);
    if (csv !== undefined) {
      res.writeHead(200, { ...SECURITY_HEADERS, ...ISOLATION, 'Content-Type': 'text/csv; charset=utf-8', 'Content-Length': statSync(csv).size });
      createReadStream(csv).on('error', () => res.destroy()).pipe(res);
      return;
    }
    const asset = assets.get(url.pathname);
    if (asset === undefined) return send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
    send(res, 200, asset.type, asset.body);
  };

  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (e) {
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', `${e instanceof Error ? e.message : String(e)}\n`);
    }
  });
  server.on('clientError', (_e, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  allowed = allowedHosts(host, bound);
  process.stdout.write(`deltaflow demo: http://${host}:${bound}/ (Ctrl-C stops)\n`);
  const stop = (): void => {
    server.close();
    server.closeAllConnections();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`demo: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
