/**
 * The layout of the house (DESIGN.md, "Layers of the house"): imports point downwards —
 * scripts → streams → layers → ops — and `src/streams`' sub-folders import each other only along the
 * edges listed here. No file imports itself through a chain (no import cycle, as `madge --circular`
 * would report it). Static imports, re-exports and dynamic `import()` all count.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (path.endsWith('.ts') && !path.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

/** Every relative import of every file under src/ and scripts/, as repository-relative paths. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of [...walk(join(ROOT, 'src')), ...walk(join(ROOT, 'scripts'))]) {
    const text = readFileSync(file, 'utf8');
    const targets: string[] = [];
    for (const match of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^import\s+)'(\.{1,2}\/[^']+)'/gm)) {
      const target = resolve(dirname(file), match[1].replace(/\.js$/, '.ts'));
      targets.push(relative(ROOT, target));
    }
    graph.set(relative(ROOT, file), targets);
  }
  return graph;
}

/** The cycles of the graph (Tarjan's strongly connected components of more than one file, or a self-import). */
function cycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const order = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    order.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!order.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) ?? 0, order.get(w) ?? 0));
      }
    }
    if (low.get(v) === order.get(v)) {
      const component: string[] = [];
      let w: string | undefined;
      do {
        w = stack.pop();
        if (w === undefined) break;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!order.has(v)) visit(v);
  return found;
}

/** The part of the house a file belongs to: scripts, ops, layers, streams (its root), or streams/<folder>. */
function partOf(path: string): string {
  const parts = path.split('/');
  if (parts[0] === 'scripts') return 'scripts';
  if (parts[1] === 'streams') return parts.length > 3 ? `streams/${parts[2]}` : 'streams';
  return parts.length > 2 ? parts[1] : 'index';
}

/**
 * What each part may import besides itself. The streams sub-folders build on `sources/` and
 * `training/`; `parallel/` is the multi-thread form of training's backprop, which `train` and `fit`
 * use for `workers` (so these two import each other, file by file without a cycle).
 */
const ALLOWED: Record<string, readonly string[]> = {
  ops: [],
  layers: ['ops'],
  streams: ['ops'],
  'streams/sources': ['streams', 'ops', 'layers'],
  'streams/training': ['streams', 'ops', 'layers', 'streams/parallel'],
  'streams/parallel': ['streams', 'ops', 'layers', 'streams/training'],
  'streams/checkpoint': ['streams', 'ops', 'layers'],
  'streams/online': ['streams', 'ops', 'layers', 'streams/sources', 'streams/training'],
  'streams/distributed': ['streams', 'ops', 'layers', 'streams/sources', 'streams/training', 'streams/parallel', 'streams/checkpoint'],
  index: ['ops', 'layers', 'streams', 'streams/sources', 'streams/training', 'streams/parallel', 'streams/checkpoint', 'streams/online', 'streams/distributed'],
  scripts: ['index', 'ops', 'layers', 'streams', 'streams/sources', 'streams/training', 'streams/parallel', 'streams/checkpoint', 'streams/online', 'streams/distributed'],
};

describe('the layout of the house', () => {
  const graph = importGraph();

  it('finds the files and their imports', () => {
    expect(graph.size).toBeGreaterThan(100);
    expect(graph.get('src/streams/training/train.ts')).toContain('src/streams/parallel/parallelBackprop.ts');
  });

  it('has no import cycle among the files of src/ and scripts/', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('finds a cycle when there is one (the check has teeth)', () => {
    const withCycle = new Map(graph);
    withCycle.set('src/streams/parallel/parallelBackprop.ts', [...(graph.get('src/streams/parallel/parallelBackprop.ts') ?? []), 'src/streams/training/train.ts']);
    expect(cycles(withCycle).some((c) => c.includes('src/streams/training/train.ts') && c.includes('src/streams/parallel/parallelBackprop.ts'))).toBe(true);
  });

  it('imports only point downwards: scripts → streams → layers → ops, and streams folders along the allowed edges', () => {
    const wrong: string[] = [];
    for (const [file, targets] of graph) {
      const from = partOf(file);
      for (const target of targets) {
        const to = partOf(target);
        if (to !== from && !(ALLOWED[from] ?? []).includes(to)) wrong.push(`${file} (${from}) imports ${target} (${to})`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('every file of src/streams lives in a sub-folder, except the shared types', () => {
    const loose = [...graph.keys()].filter((f) => partOf(f) === 'streams' && f !== 'src/streams/types.ts');
    expect(loose).toEqual([]);
  });
});
