/**
 * The files the local servers send: the dashboard page and the browser demo (HTML and CSS from the
 * source tree, scripts built by esbuild into dist/ — scripts/build/bundle.ts) and uPlot from
 * node_modules. Each server reads its fixed list once at start-up; nothing else on disk is served.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder of deltaflow's package.json, found upwards from this file (src or dist). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name === 'deltaflow') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error("dashboard: cannot find deltaflow's package.json above this file");
    dir = up;
  }
}

/** A file to serve: its bytes and content type. */
export interface Asset {
  readonly body: Buffer;
  readonly type: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/** Read `path` as an asset; a missing built file says how to build it. */
export function readAsset(path: string): Asset {
  if (!existsSync(path)) throw new Error(`cannot serve ${path}: no such file${path.includes('/dist/') ? ' (run `npm run build`)' : ''}`);
  const ext = path.slice(path.lastIndexOf('.'));
  return { body: readFileSync(path), type: TYPES[ext] ?? 'application/octet-stream' };
}

/** uPlot's ES module and stylesheet, from node_modules. */
export function uplotAssets(): { readonly js: Asset; readonly css: Asset } {
  const require = createRequire(import.meta.url);
  const dir = dirname(require.resolve('uplot/package.json'));
  return { js: readAsset(join(dir, 'dist', 'uPlot.esm.js')), css: readAsset(join(dir, 'dist', 'uPlot.min.css')) };
}

/** The dashboard page's files, by URL path. */
export function dashboardAssets(): Map<string, Asset> {
  const root = packageRoot();
  const uplot = uplotAssets();
  return new Map([
    ['/', readAsset(join(root, 'scripts', 'dashboard', 'page', 'index.html'))],
    ['/page.css', readAsset(join(root, 'scripts', 'dashboard', 'page', 'page.css'))],
    ['/page.js', readAsset(join(root, 'dist', 'dashboard', 'page.js'))],
    ['/vendor/uplot.js', uplot.js],
    ['/vendor/uplot.css', uplot.css],
  ]);
}
