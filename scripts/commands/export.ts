/**
 * `deltaflow export --model FILE --format onnx|tfjs --out PATH`: a model file as an ONNX graph (one
 * `.onnx` file) or a TensorFlow.js layers model (a folder with `model.json` and `weights.bin`).
 *
 * ONNX carries the model file's preprocessing (`--scale`, `--normalize`), the regression targets'
 * inverse transform, and a Softmax for classifiers trained with cross-entropy (`--softmax` /
 * `--no-softmax` override), so ONNX Runtime given raw feature values outputs what `deltaflow predict`
 * prints. TF.js gets the network and the optional softmax; it expects preprocessed NHWC input
 * (docs/interchange.md).
 */
import { Command } from 'commander';
import { sizeOf } from '../../src/ops/tensor.js';
import { dataTransforms, type DataTransforms } from '../../src/layers/interchangeMeta.js';
import { ModelFileError } from '../../src/layers/modelFile.js';
import { saveOnnx } from '../../src/layers/onnx/toOnnx.js';
import { paramCount } from '../../src/layers/sequential.js';
import { saveTfjs } from '../../src/layers/tfjs/toTfjs.js';
import { choice } from './args.js';
import { loadModelFile } from './models.js';

type Format = 'onnx' | 'tfjs';

interface ExportOptions {
  readonly model: string;
  readonly format: Format;
  readonly out: string;
  readonly softmax?: boolean;
}

const thousands = (n: number): string => n.toLocaleString('en-US');

async function runExport(options: ExportOptions): Promise<void> {
  const { model, meta } = await loadModelFile(options.model, 0);
  let t: DataTransforms;
  try {
    t = dataTransforms(model, meta);
  } catch (e) {
    if (e instanceof ModelFileError) throw new ModelFileError(e.path, e.detail, options.model);
    throw e;
  }
  const hasSoftmax = options.softmax ?? (t.hasLogits && model.outShape.length === 1);
  const softmax = options.softmax === undefined ? {} : { softmax: options.softmax };
  const outputs = hasSoftmax ? 'softmax probabilities' : t.targetNormalize !== null ? 'values in target units' : 'model outputs';
  const n = `${thousands(paramCount(model))} parameters`;
  if (options.format === 'onnx') {
    await saveOnnx(options.out, model, meta, softmax);
    const embedded = [t.scale !== 1 ? `scale ${Number(t.scale.toPrecision(6))}` : '', t.normalize !== null ? `${t.normalize.kind} normalization` : ''].filter((s) => s !== '');
    const input = `input "input" [batch, ${model.input.join(', ')}] (${embedded.length === 0 ? 'model inputs' : `raw features; ${embedded.join(', ')} embedded`})`;
    const output = `output "output" [batch, ${model.outShape.join(', ')}] (${t.targetNormalize !== null ? 'values in target units' : outputs})`;
    process.stdout.write(`wrote ${options.out}: ONNX opset 13, ${n}; ${input}; ${output}\n`);
    return;
  }
  await saveTfjs(options.out, model, meta, softmax);
  const input = model.input.length === 3 ? `[batch, ${model.input[1]}, ${model.input[2]}, ${model.input[0]}] NHWC` : `[batch, ${sizeOf(model.input)}]`;
  const preprocessed = t.scale !== 1 || t.normalize !== null ? ', preprocessed as the model file\'s meta says' : '';
  process.stdout.write(`wrote ${options.out}/model.json and ${options.out}/weights.bin: TF.js layers model, ${n}; input ${input}${preprocessed}; ${hasSoftmax ? 'softmax probabilities' : t.targetNormalize !== null ? 'normalized targets' : 'model outputs'}\n`);
}

export function exportCommand(): Command {
  return new Command('export')
    .description('export a model file to ONNX (one .onnx file) or TensorFlow.js (a folder: model.json and weights.bin)')
    .requiredOption('--model <file>', 'a model file (deltaflow train writes one in its run folder)')
    .requiredOption('--format <onnx|tfjs>', 'onnx or tfjs', choice<Format>(['onnx', 'tfjs']))
    .requiredOption('--out <path>', 'the .onnx file, or the folder of the TF.js model')
    .option('--softmax', 'end with a softmax, so the outputs are probabilities (default for classifiers trained with cross-entropy)')
    .option('--no-softmax', 'output the logits')
    .action(runExport);
}
