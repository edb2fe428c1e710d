/**
 * The drift detectors by name, and the spec grammar the command line uses:
 *
 *   SPEC  = NAME [":" KEY "=" VALUE]…
 *   NAME  = adwin | ph | page-hinkley | ddm | eddm | hddm-a | kswin     (case-insensitive)
 *   VALUE = a decimal number (0.002, 1e-3, 50) or true / false
 *
 * e.g. `adwin`, `adwin:delta=0.01`, `ph:lambda=50:delta=0.005`, `hddm-a:twoSided=true`. The keys are
 * the detectors' option names (their files list them with defaults and sources). Every value is
 * checked by the detector's own constructor, so a bad spec fails at parse time with the same one-line
 * OptionError code gets, e.g. `detector adwin: delta must be in (0, 1), got 2`.
 */
import { OptionError, showValue } from '../../../layers/options.js';
import { Adwin } from './adwin.js';
import { Ddm } from './ddm.js';
import type { DetectorSnapshot, DriftDetector } from './detector.js';
import { Eddm } from './eddm.js';
import { HddmA } from './hddmA.js';
import { Kswin } from './kswin.js';
import { PageHinkley } from './pageHinkley.js';

type DetectorFactory = (options: Record<string, unknown>) => DriftDetector;

const FACTORIES: ReadonlyMap<string, DetectorFactory> = new Map<string, DetectorFactory>([
  ['adwin', (o) => new Adwin(o)],
  ['page-hinkley', (o) => new PageHinkley(o)],
  ['ddm', (o) => new Ddm(o)],
  ['eddm', (o) => new Eddm(o)],
  ['hddm-a', (o) => new HddmA(o)],
  ['kswin', (o) => new Kswin(o)],
]);

const ALIASES: ReadonlyMap<string, string> = new Map([['ph', 'page-hinkley']]);

/** The names a spec may start with: the canonical ones, then the aliases. */
export const detectorNames: readonly string[] = [...FACTORIES.keys(), ...ALIASES.keys()];

function canonicalName(name: string): string {
  return ALIASES.get(name) ?? name;
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function specError(where: string, option: string, rule: string, value: unknown, detail: string): OptionError {
  return new OptionError(where, option, rule, value, detail, `${where}: ${detail}`);
}

/** A spec's value: a decimal number, a boolean, or (left for the detector to reject) the text itself. */
function parseValue(text: string): number | boolean | string {
  if (text === 'true') return true;
  if (text === 'false') return false;
  return DECIMAL.test(text) ? Number(text) : text;
}

function factoryFor(name: string): DetectorFactory {
  const factory = FACTORIES.get(canonicalName(name));
  if (factory === undefined) {
    throw specError('detector', 'name', 'a known detector', name, `unknown detector "${name}" (known: ${detectorNames.join(', ')})`);
  }
  return factory;
}

/**
 * Parse a detector spec into a factory of fresh detectors. The spec is checked now: a bad name, key
 * or value throws an OptionError whose message is one line naming the option and its allowed range.
 *
 * @example const make = parseDetector('ph:lambda=50:delta=0.005'); const ph = make(); ph.update(0.3);
 */
export function parseDetector(spec: string): () => DriftDetector {
  const [head, ...pairs] = spec.trim().split(':');
  const name = head.trim().toLowerCase();
  if (name === '') throw specError('detector', 'name', 'a known detector', spec, `empty spec (expected NAME[:KEY=VALUE]…, NAME one of ${detectorNames.join(', ')})`);
  const factory = factoryFor(name);
  const where = `detector ${canonicalName(name)}`;
  const given = new Map<string, number | boolean | string>();
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair.trim() : pair.slice(0, eq).trim();
    if (eq < 0 || key === '') {
      throw specError(where, key, 'KEY=VALUE', pair, `expected KEY=VALUE after ":", got ${showValue(pair)}`);
    }
    if (given.has(key)) throw specError(where, key, 'given once', pair, `${key} is given twice`);
    given.set(key, parseValue(pair.slice(eq + 1).trim()));
  }
  // Object.fromEntries makes every key an own property, even "__proto__", so the detector rejects it.
  const options: Record<string, unknown> = Object.fromEntries(given);
  factory(options);
  return () => factory(options);
}

/**
 * A detector rebuilt from its snapshot: the detector named there, with the parameters recorded there,
 * continuing from the state recorded there.
 *
 * @example const copy = restoreDetector(JSON.parse(JSON.stringify(adwin.snapshot())));
 */
export function restoreDetector(snapshot: DetectorSnapshot): DriftDetector {
  const detector = factoryFor(snapshot.detector)({ ...snapshot.params });
  detector.restore(snapshot);
  return detector;
}
