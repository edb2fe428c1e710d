/**
 * The learners of `deltaflow online`: one from the plain options (`--model`, `--optimizer`, `--lr`,
 * `--hidden`, `--seed`, `--detector`, `--reaction`), or one per `--learner SPEC`, where a spec is
 * comma-separated `KEY=VALUE` pairs:
 *
 *   model=mlp|lenet|FILE   the preset, or a model file (its weights and architecture)   required
 *   hidden=64/32           hidden widths of the mlp preset ('/'-separated)
 *   optimizer=sgd|momentum|adam, lr=X, momentum=MU, seed=N
 *   detector=NAME[:KEY=VALUE]…   a drift detector (adwin, page-hinkley, ddm, eddm, hddm-a, kswin)
 *   reaction=R[+R…]        what to do on a drift (reset-optimizer, boost-lr, reinit, background)
 *   name=TEXT              its name in the output (default: learner 1, 2, … or the model's name)
 *
 *   --learner model=mlp,hidden=32,optimizer=sgd,lr=0.1,detector=adwin,reaction=boost-lr:factor=5,name=adwin-boost
 *
 * Every learner reads the same rows, so their models must take the data's features and outputs.
 * An unknown key, a repeated key or a bad value is one line naming the learner, the key and what is
 * allowed.
 */
import type { Model } from '../../src/layers/sequential.js';
import type { OptimizerConfig } from '../../src/ops/optimizers.js';
import { parseDetector } from '../../src/streams/online/detectors/registry.js';
import type { DriftDetector } from '../../src/streams/online/detectors/detector.js';
import { parseReactions, type Reaction } from '../../src/streams/online/reactions.js';
import { DEFAULT_HIDDEN, isPresetName } from '../presets.js';
import { CliError } from './args.js';
import type { DataMeta } from './meta.js';
import { buildPreset, checkModelFits, loadModelFile, type ModelChoice } from './models.js';
import { onlineOptimizer, type OnlineOptimizerName } from './onlineOptimizer.js';
import { metaHints } from './meta.js';
import { outputCount } from './meta.js';
import { defaultPresetInput } from '../presets.js';

/** One learner as the command line describes it, before its model is built. */
export interface LearnerRequest {
  readonly name?: string;
  readonly model: string;
  readonly hidden?: readonly number[];
  readonly optimizer: OnlineOptimizerName;
  readonly lr?: number;
  readonly momentum?: number;
  readonly seed: number;
  readonly detector?: string;
  readonly reaction?: string;
}

/** A learner ready to run: its model (loaded or built), optimizer, detector factory and reactions. */
export interface BuiltLearner {
  readonly name: string;
  readonly choice: ModelChoice;
  readonly model: Model;
  readonly optimizer: OptimizerConfig;
  readonly seed: number;
  readonly detector?: () => DriftDetector;
  readonly reactions: readonly Reaction[];
  readonly isContinuing: boolean;
}

const KEYS = ['model', 'hidden', 'optimizer', 'lr', 'momentum', 'seed', 'detector', 'reaction', 'name'] as const;
type Key = (typeof KEYS)[number];

const DECIMAL = /^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** `--learner model=mlp,lr=0.1,…`: the request, every key checked (see the file comment). */
export function parseLearnerSpec(spec: string, index: number): LearnerRequest {
  const who = `--learner ${index + 1} (${spec})`;
  const bad = (detail: string): never => {
    throw new CliError(`${who}: ${detail}`);
  };
  const values = new Map<Key, string>();
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) bad(`"${part}" is not KEY=VALUE (keys: ${KEYS.join(', ')})`);
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (!(KEYS as readonly string[]).includes(key)) bad(`unknown key "${key}" (keys: ${KEYS.join(', ')})`);
    if (values.has(key as Key)) bad(`"${key}" is given twice`);
    values.set(key as Key, value);
  }
  const model = values.get('model') ?? bad('model=mlp|lenet|FILE is required');
  const optimizerText = values.get('optimizer') ?? 'sgd';
  const optimizer: OnlineOptimizerName = optimizerText === 'sgd' || optimizerText === 'momentum' || optimizerText === 'adam' ? optimizerText : bad(`optimizer must be sgd, momentum or adam, got "${optimizerText}"`);
  const positive = (key: Key): number | undefined => {
    const text = values.get(key);
    if (text === undefined) return undefined;
    const v = DECIMAL.test(text) ? Number(text) : NaN;
    if (!(v > 0 && Number.isFinite(v))) bad(`${key} must be a positive number, got "${text}"`);
    return v;
  };
  const lr = positive('lr');
  const mu = values.get('momentum');
  if (mu !== undefined && optimizer !== 'momentum') bad(`momentum applies to optimizer=momentum, not ${optimizer}`);
  const momentum = mu === undefined ? undefined : Number(mu);
  if (momentum !== undefined && !(DECIMAL.test(mu ?? '') && momentum > 0 && momentum < 1)) bad(`momentum must be in (0, 1), got "${mu}"`);
  const seedText = values.get('seed') ?? '1';
  if (!/^-?\d+$/.test(seedText) || !Number.isSafeInteger(Number(seedText))) bad(`seed must be an integer, got "${seedText}"`);
  const hiddenText = values.get('hidden');
  const hidden = hiddenText === undefined ? undefined : hiddenText.split('/').map((w) => (/^\d+$/.test(w) && Number(w) >= 1 ? Number(w) : bad(`hidden must be widths like 64/32, got "${hiddenText}"`)));
  if (hidden !== undefined && model !== 'mlp') bad('hidden applies to model=mlp');
  const detector = values.get('detector');
  const reaction = values.get('reaction');
  const name = values.get('name');
  if (name !== undefined && !/^[\w.-]{1,40}$/.test(name)) bad(`name must be 1–40 letters, digits, '.', '_' or '-', got "${name}"`);
  return {
    model,
    optimizer,
    seed: Number(seedText),
    ...(name === undefined ? {} : { name }),
    ...(hidden === undefined ? {} : { hidden }),
    ...(lr === undefined ? {} : { lr }),
    ...(momentum === undefined ? {} : { momentum }),
    ...(detector === undefined ? {} : { detector }),
    ...(reaction === undefined ? {} : { reaction }),
  };
}

/** A detector or reaction spec checked now, its OptionError worded for the command line. */
function checked<T>(who: string, option: string, spec: string, parse: (s: string) => T): T {
  try {
    return parse(spec);
  } catch (e) {
    if (e instanceof Error && e.name === 'OptionError') throw new CliError(`${who}: ${option} ${spec}: ${e.message}`);
    throw e;
  }
}

/** Build every learner's model for the data, checking it fits (features in, outputs out). */
export async function buildLearners(requests: readonly LearnerRequest[], meta: DataMeta, dataName: string): Promise<BuiltLearner[]> {
  const built: BuiltLearner[] = [];
  for (const [i, r] of requests.entries()) {
    const who = requests.length === 1 ? 'online' : `learner ${r.name ?? i + 1}`;
    let choice: ModelChoice;
    if (isPresetName(r.model)) {
      const input = r.model === 'lenet' && meta.shape.length === 1 && meta.shape[0] === 784 ? defaultPresetInput('lenet') : [...meta.shape];
      if (r.model === 'lenet' && input.length !== 3) throw new CliError(`${who}: model lenet needs image input: pass --shape C,H,W (the data has ${meta.features.length} features)`);
      choice = buildPreset(r.model, { input, outputs: outputCount(meta), hidden: r.hidden ?? DEFAULT_HIDDEN, hasSigmoidOutput: meta.task === 'classify' && meta.loss === 'mse', seed: r.seed });
    } else {
      choice = await loadModelFile(r.model, r.seed);
      const hints = metaHints(choice.meta, choice.name);
      const classes = hints?.classes;
      if (meta.task === 'classify' && classes !== undefined && classes !== null && meta.classes !== null && classes.join('\u0000') !== meta.classes.join('\u0000')) {
        throw new CliError(`${choice.name}: the model's classes ${classes.join(', ')} are not the stream's classes ${meta.classes.join(', ')} (pass the model's --classes, or train a model for these)`);
      }
    }
    checkModelFits(choice, meta.features.length, outputCount(meta), dataName);
    const isContinuing = !isPresetName(r.model);
    const optimizer = onlineOptimizer(r, { isContinuing });
    const detector = r.detector === undefined ? undefined : checked(who, 'detector', r.detector, parseDetector);
    const reactions = r.reaction === undefined ? [] : checked(who, 'reaction', r.reaction, parseReactions);
    if (reactions.length > 0 && detector === undefined) throw new CliError(`${who}: a reaction needs a detector (detector=adwin, say) to react to`);
    const name = r.name ?? (requests.length === 1 ? (isPresetName(r.model) ? r.model : choice.name) : `learner${i + 1}`);
    built.push({ name, choice, model: choice.model, optimizer, seed: r.seed, reactions, isContinuing, ...(detector === undefined ? {} : { detector }) });
  }
  const names = built.map((b) => b.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) throw new CliError(`--learner: two learners are named "${twice}"; give each a name=`);
  return built;
}
