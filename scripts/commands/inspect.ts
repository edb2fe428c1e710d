/**
 * `deltaflow inspect --model FILE|PRESET`: a Keras-like summary — each layer, its output shape and its
 * parameter count, then the totals — and, for a model file written by `train`, what it was trained on;
 * last, the kernel set this runtime would train it with (src/ops/kernels.ts).
 */
import { Command } from 'commander';
import type { JsonObject } from '../../src/layers/modelFile.js';
import { describeKernelSet, kernelSet } from '../../src/ops/kernels.js';
import { formatShape, sizeOf } from '../../src/ops/tensor.js';
import { isPresetName, defaultPresetInput, DEFAULT_HIDDEN } from '../presets.js';
import { shape, widths, positiveInt } from './args.js';
import { buildPreset, describeSpec, loadModelFile, type ModelChoice } from './models.js';

interface InspectOptions {
  readonly model: string;
  readonly shape?: number[];
  readonly outputs: number;
  readonly hidden?: number[];
  readonly json: boolean;
}

interface Row {
  readonly index: number;
  readonly layer: string;
  readonly kind: string;
  readonly outShape: readonly number[];
  readonly params: number;
}

function rowsOf(choice: ModelChoice): Row[] {
  return choice.model.layers.map((layer, index) => ({
    index,
    layer: describeSpec(layer.spec),
    kind: layer.kind,
    outShape: layer.outShape,
    params: layer.params.reduce((n, p) => n + p.value.length, 0),
  }));
}

const thousands = (n: number): string => n.toLocaleString('en-US');

/** Columns padded to their widest cell; numbers right-aligned. */
export function table(header: readonly string[], rows: readonly (readonly string[])[], rightAligned: readonly boolean[]): string {
  const all = [header, ...rows];
  const widthsOf = header.map((_, c) => Math.max(...all.map((r) => r[c].length)));
  const line = (r: readonly string[]): string =>
    r
      .map((cell, c) => (rightAligned[c] ? cell.padStart(widthsOf[c]) : cell.padEnd(widthsOf[c])))
      .join('  ')
      .trimEnd();
  const rule = '─'.repeat(widthsOf.reduce((a, b) => a + b, 0) + 2 * (header.length - 1));
  return [line(header), rule, ...rows.map(line), rule].join('\n');
}

/** The summary `deltaflow inspect` prints, with the kernel set when given (the dashboard shows it too). @example process.stdout.write(summary(choice)) */
export function summary(choice: ModelChoice, kernels?: string): string {
  const rows = rowsOf(choice);
  const total = rows.reduce((n, r) => n + r.params, 0);
  const lines = [
    `Model: ${choice.name}`,
    `Input: ${formatShape(choice.model.input)}`,
    '',
    table(
      ['#', 'Layer', 'Output shape', 'Params'],
      rows.map((r) => [String(r.index), r.layer, formatShape(r.outShape), thousands(r.params)]),
      [true, false, false, true],
    ),
    `Total params: ${thousands(total)}`,
    `Trainable params: ${thousands(total)}`,
    `Weights: ${thousands(total * 4)} bytes as float32`,
  ];
  const meta = choice.meta;
  if (meta !== undefined) {
    const show = (key: string): string | null => {
      const v = meta[key];
      if (v === undefined) return null;
      if (Array.isArray(v) && v.length > 12) return `${JSON.stringify(v.slice(0, 12)).slice(0, -1)}, … (${v.length})]`;
      return JSON.stringify(v);
    };
    const known = ['task', 'loss', 'label', 'classes', 'shape', 'scale'];
    const metaLines = known.flatMap((k) => {
      const v = show(k);
      return v === null ? [] : [`  ${k}: ${v}`];
    });
    const normalize = meta.normalize;
    if (typeof normalize === 'object' && normalize !== null && !Array.isArray(normalize) && 'kind' in normalize) {
      metaLines.push(`  normalize: ${JSON.stringify(normalize.kind)}`);
    }
    const targetNormalize = meta.targetNormalize;
    if (typeof targetNormalize === 'object' && targetNormalize !== null && !Array.isArray(targetNormalize)) {
      const { kind, a, b } = targetNormalize as JsonObject;
      const label = Array.isArray(meta.label) ? meta.label : [];
      const [aName, bName] = kind === 'minmax' ? ['min', 'range'] : ['mean', 'std'];
      const fmt = (v: unknown): string => (typeof v === 'number' ? String(Number(v.toPrecision(6))) : '?');
      const each = Array.isArray(a) && Array.isArray(b) ? a.map((av, j) => `${String(label[j] ?? j)}: ${aName} ${fmt(av)}, ${bName} ${fmt(b[j])}`) : [];
      metaLines.push(`  targetNormalize: ${JSON.stringify(kind)}${each.length === 0 ? '' : ` (${each.join('; ')})`} — outputs are mapped back to target units`);
    }
    if (metaLines.length > 0) lines.push('', 'Trained for:', ...metaLines);
  }
  if (kernels !== undefined) lines.push('', `Kernels: ${kernels}`);
  return `${lines.join('\n')}\n`;
}

async function runInspect(options: InspectOptions): Promise<void> {
  let choice: ModelChoice;
  if (isPresetName(options.model)) {
    const input = options.shape ?? defaultPresetInput(options.model);
    choice = buildPreset(options.model, { input, outputs: options.outputs, hidden: options.hidden ?? DEFAULT_HIDDEN, seed: 0 });
  } else {
    choice = await loadModelFile(options.model, 0);
  }
  const kernels = describeKernelSet(await kernelSet());
  if (options.json) {
    const rows = rowsOf(choice);
    const doc = {
      model: choice.name,
      input: choice.model.input,
      layers: rows.map((r) => ({ index: r.index, kind: r.kind, layer: r.layer, outShape: r.outShape, params: r.params })),
      totalParams: rows.reduce((n, r) => n + r.params, 0),
      outputs: sizeOf(choice.model.outShape),
      meta: choice.meta ?? null,
      kernels,
    };
    process.stdout.write(`${JSON.stringify(doc)}\n`);
    return;
  }
  process.stdout.write(summary(choice, kernels));
}

export function inspectCommand(): Command {
  return new Command('inspect')
    .description('print a summary of a model: each layer, its output shape and parameter count, and the totals')
    .requiredOption('--model <file|preset>', 'a model file, or a preset: mlp, lenet')
    .option('--shape <C,H,W>', 'input shape for a preset (default: 1,28,28 for lenet, 784 for mlp)', shape)
    .option('--outputs <n>', 'outputs (classes) of a preset', positiveInt, 10)
    .option('--hidden <widths>', 'hidden layer widths of the mlp preset', widths)
    .option('--json', 'print the summary as one JSON object', false)
    .action(runInspect);
}
