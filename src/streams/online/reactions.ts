/**
 * What a learner does when its drift detector fires — composable reactions, given on a command line
 * as `NAME[:KEY=VALUE]…` joined by `+` (e.g. `reset-optimizer+boost-lr:factor=5:rows=300`):
 *
 *   reset-optimizer              on drift: forget the optimizer's slots and step count (momentum's
 *                                velocity, Adam's moments), so old directions stop steering the steps
 *   boost-lr:factor=F:rows=N     on drift: multiply the learning rate by F (default 5) for the next N
 *                                learned rows (default 500), then back to 1 — a second drift restarts it
 *   reinit                       on drift: new weights (sequential's initialization, seed = the
 *                                learner's seed + the row number) and a reset optimizer
 *   background:window=W:init=I   at a warning (or a drift, for detectors without a warning zone):
 *                                start a second learner beside the first — `fresh` weights (default) or
 *                                a `copy` of the current ones, with a fresh optimizer — that learns
 *                                every row; once it has learned W rows (default 500) and its accuracy
 *                                (classification; mean loss for regression) over the last W rows beats
 *                                the foreground's over the same rows, it replaces the foreground; if it
 *                                has not after 4·W rows it is dropped. This is how Adaptive Random
 *                                Forests replace their trees (Gomes et al., "Adaptive random forests
 *                                for evolving data stream classification", Machine Learning 2017).
 *
 * Each reaction is a small value; the learner run (learnerRun.ts) applies them and reports every one
 * as an event.
 */
import { OptionError } from '../../layers/options.js';

export type Reaction =
  | { readonly kind: 'reset-optimizer' }
  | { readonly kind: 'boost-lr'; readonly factor: number; readonly rows: number }
  | { readonly kind: 'reinit' }
  | { readonly kind: 'background'; readonly window: number; readonly init: 'fresh' | 'copy' };

export type ReactionKind = Reaction['kind'];

export const reactionNames: readonly ReactionKind[] = ['reset-optimizer', 'boost-lr', 'reinit', 'background'];

/** `reaction boost-lr: factor must be in (1, 1000], got "0.5"`: one line naming the reaction, the rule and the value. */
const fail = (what: string, detail: string, value: unknown): never => {
  const where = `reaction ${what}`;
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
  throw new OptionError(where, what, detail, value, `${detail}, got ${shown}`, `${where}: ${detail}, got ${shown}`);
};

function numberParam(reaction: string, key: string, text: string, rule: (v: number) => boolean, range: string): number {
  const v = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) ? Number(text) : NaN;
  if (!rule(v)) fail(reaction, `${key} must be ${range}`, text);
  return v;
}

/** The parameters of one reaction spec, checked: unknown keys and values out of range are one-line errors. */
function parseOne(spec: string): Reaction {
  const [name, ...pairs] = spec.split(':');
  const params = new Map<string, string>();
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) fail(name, 'parameters must be KEY=VALUE', pair);
    params.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  const allow = (keys: readonly string[]): void => {
    for (const key of params.keys()) if (!keys.includes(key)) fail(name, `has no parameter "${key}" (it takes ${keys.length === 0 ? 'none' : keys.join(', ')})`, key);
  };
  const isCount = (v: number): boolean => Number.isSafeInteger(v) && v >= 1;
  switch (name) {
    case 'reset-optimizer':
    case 'reinit':
      allow([]);
      return { kind: name };
    case 'boost-lr': {
      allow(['factor', 'rows']);
      const factor = numberParam(name, 'factor', params.get('factor') ?? '5', (v) => Number.isFinite(v) && v > 1 && v <= 1000, 'in (1, 1000]');
      const rows = numberParam(name, 'rows', params.get('rows') ?? '500', isCount, 'an integer ≥ 1');
      return { kind: name, factor, rows };
    }
    case 'background': {
      allow(['window', 'init']);
      const window = numberParam(name, 'window', params.get('window') ?? '500', isCount, 'an integer ≥ 1');
      const init = params.get('init') ?? 'fresh';
      if (init !== 'fresh' && init !== 'copy') fail(name, 'init must be fresh or copy', init);
      return { kind: name, window, init: init === 'copy' ? 'copy' : 'fresh' };
    }
    default:
      return fail(name, `is not a reaction (known: ${reactionNames.join(', ')})`, name);
  }
}

/**
 * Reactions from `reset-optimizer+boost-lr:factor=5`; each name at most once.
 *
 * @example parseReactions('reset-optimizer+background:window=300'); // [{ kind: 'reset-optimizer' }, { kind: 'background', window: 300, init: 'fresh' }]
 */
export function parseReactions(spec: string): Reaction[] {
  const reactions = spec.split('+').map((s) => parseOne(s.trim()));
  const kinds = reactions.map((r) => r.kind);
  const twice = kinds.find((k, i) => kinds.indexOf(k) !== i);
  if (twice !== undefined) fail(twice, 'is given twice', spec);
  return reactions;
}

/** `boost-lr:factor=5:rows=500`: a reaction written back as its spec. */
export function describeReaction(r: Reaction): string {
  switch (r.kind) {
    case 'boost-lr':
      return `boost-lr:factor=${r.factor}:rows=${r.rows}`;
    case 'background':
      return `background:window=${r.window}:init=${r.init}`;
    default:
      return r.kind;
  }
}
