/**
 * `npm run build`'s second half (after tsc): the browser bundles, with esbuild.
 *
 *   dist/browser/deltaflow.js        the library for web pages and Web Workers (src/browser.ts), ESM
 *   dist/dashboard/page.js           the dashboard page (scripts/dashboard/page/main.ts)
 *   dist/examples/browser/*.js       the demo page and its training worker (examples/browser/)
 *
 * The library bundle: Node's built-in modules become stubs that throw a clear error if used
 * (nodeStubs.ts), `Buffer` is the `buffer` package (bufferShim.ts), csv-parse is its own browser
 * build, and wabt is bundled whole — its WebAssembly is inlined in its JavaScript, so the kernels are
 * assembled in the worker from the same WAT as in Node, with nothing to fetch.
 * The pages import uPlot as `./vendor/uplot.js`, which the local servers send from node_modules;
 * the demo worker imports the library bundle as `./deltaflow.js`.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { packageRoot } from '../dashboard/assets.js';
import { NODE_MODULES, stubModule } from './nodeStubs.js';

const root = packageRoot();
const require = createRequire(join(root, 'package.json'));

const nodeStubs: Plugin = {
  name: 'node-stubs',
  setup(b) {
    const names = Object.keys(NODE_MODULES).map((n) => n.replace('/', '\\/'));
    const filter = new RegExp(`^(node:)?(${names.join('|')})$`);
    b.onResolve({ filter }, (args) => ({ path: args.path.replace(/^node:/, ''), namespace: 'node-stub' }));
    b.onLoad({ filter: /.*/, namespace: 'node-stub' }, (args) => ({ contents: stubModule(args.path), loader: 'js' }));
    b.onResolve({ filter: /^csv-parse$/ }, () => ({ path: require.resolve('csv-parse/browser/esm') }));
  },
};

/** Bare imports the pages leave to the server (uplot) or to the bundle next to them (deltaflow/browser). */
const pageImports: Plugin = {
  name: 'page-imports',
  setup(b) {
    b.onResolve({ filter: /^uplot$/ }, () => ({ path: './vendor/uplot.js', external: true }));
    b.onResolve({ filter: /^deltaflow\/browser$/ }, () => ({ path: './deltaflow.js', external: true }));
  },
};

const common = { bundle: true, format: 'esm', platform: 'browser', target: 'es2022', sourcemap: true, logLevel: 'warning', absWorkingDir: root } as const;

async function main(): Promise<void> {
  await Promise.all([
    build({
      ...common,
      entryPoints: ['src/browser.ts'],
      outfile: 'dist/browser/deltaflow.js',
      plugins: [nodeStubs],
      inject: ['scripts/build/bufferShim.ts'],
    }),
    build({ ...common, entryPoints: ['scripts/dashboard/page/main.ts'], outfile: 'dist/dashboard/page.js', plugins: [pageImports] }),
    build({
      ...common,
      entryPoints: ['examples/browser/main.ts', 'examples/browser/worker.ts'],
      outdir: 'dist/examples/browser',
      plugins: [pageImports],
    }),
  ]);
}

main().catch((e: unknown) => {
  process.stderr.write(`bundle: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
