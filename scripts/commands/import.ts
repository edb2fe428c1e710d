/**
 * `deltaflow import FILE.onnx --out model.json`: an ONNX graph (PyTorch's `torch.onnx.export` of an
 * `nn.Sequential`, or deltaflow's own export) as a deltaflow model file, which then trains, evaluates
 * and predicts like any other. Operators outside deltaflow's layers are refused with one line listing
 * each with its node (docs/interchange.md).
 */
import { Command } from 'commander';
import { loadOnnx } from '../../src/layers/onnx/fromOnnx.js';
import { saveModel } from '../../src/layers/modelFile.js';
import { paramCount } from '../../src/layers/sequential.js';
import { describeSpec } from './models.js';

interface ImportOptions {
  readonly out: string;
}

async function runImport(file: string, options: ImportOptions): Promise<void> {
  const { model, meta } = await loadOnnx(file);
  await saveModel(options.out, model, meta);
  const layers = model.layers.map((l) => describeSpec(l.spec)).join(', ');
  const trained = meta?.task === undefined ? '' : ` (trained for ${String(meta.task)})`;
  process.stdout.write(`wrote ${options.out}: input [${model.input.join(', ')}], ${model.layers.length} layers (${layers}), ${paramCount(model).toLocaleString('en-US')} parameters${trained}\n`);
}

export function importCommand(): Command {
  return new Command('import')
    .description('import an ONNX model (a sequential graph of dense, conv, pooling, flatten and activation operators) as a deltaflow model file')
    .argument('<file>', 'the .onnx file')
    .requiredOption('--out <file>', 'the model file to write')
    .action(runImport);
}
