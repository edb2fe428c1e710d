/**
 * What the browser bundle puts in place of Node's built-in modules (bundle.ts). The library imports
 * them only in code a browser never needs to run (files, checkpoints, worker threads); each name is
 * a function that, if called anyway, throws an error saying what to use in a page instead.
 */

/** The names the library (and wabt's Node branch) imports from each built-in module. */
export const NODE_MODULES: Readonly<Record<string, readonly string[]>> = {
  fs: ['createReadStream', 'createWriteStream', 'existsSync', 'readFileSync'],
  'fs/promises': ['mkdir', 'open', 'readdir', 'readFile', 'rename', 'stat', 'unlink', 'writeFile'],
  path: ['basename', 'dirname', 'join', 'resolve'],
  url: ['fileURLToPath', 'pathToFileURL'],
  os: ['availableParallelism', 'endianness', 'tmpdir'],
  crypto: ['createHash', 'timingSafeEqual'],
  worker_threads: ['MessageChannel', 'receiveMessageOnPort', 'Worker'],
  stream: ['Readable'],
  'timers/promises': ['setTimeout'],
};

const FILES = 'files are not available in a page: give fromCsv a File, Blob or ReadableStream, and use modelToJson / modelFromJson instead of saveModel / loadModel';
const THREADS = 'workers > 1 needs Node\'s worker_threads: use workers: 1 in the browser (run the training itself in a Web Worker)';
const CHECKPOINTS = 'checkpoints are written to files, which a page does not have';

const HINTS: Readonly<Record<string, string>> = {
  fs: FILES,
  'fs/promises': FILES,
  path: FILES,
  stream: FILES,
  url: THREADS,
  worker_threads: THREADS,
  os: CHECKPOINTS,
  crypto: CHECKPOINTS,
  'timers/promises': CHECKPOINTS,
};

/** The ES module text standing in for `node:<name>`. */
export function stubModule(name: string): string {
  const names = NODE_MODULES[name] ?? [];
  const hint = HINTS[name] ?? 'it needs Node';
  const lines = [
    `const unavailable = (what) => function () { throw new Error(${JSON.stringify(`deltaflow in the browser: node:${name}`)} + "." + what + " is not available (" + ${JSON.stringify(hint)} + ")"); };`,
    ...names.map((n) => `export const ${n} = unavailable(${JSON.stringify(n)});`),
    'export const isMainThread = true;',
    'export const workerData = null;',
    `export default { ${names.join(', ')} };`,
  ];
  return lines.join('\n');
}
