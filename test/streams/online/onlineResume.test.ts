/**
 * evaluateOnline's checkpoints: a run stopped after item k, its `afterItem` snapshot stored in a real
 * checkpoint file's bytes (encodeCheckpoint → decodeCheckpoint → readOnlineRunState) and resumed on
 * the items after k with freshly built learners, emits exactly the events of an uninterrupted run from
 * there on and ends with the same weights, bit for bit — with a detector and reactions (boost-lr,
 * reset-optimizer, a background learner that starts and replaces the foreground), several learners,
 * a label delay, and labels joined by id (early, late, missing and duplicate ones).
 */
import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { dense, relu, sequential } from '../../../src/index.js';
import { adam, sgd } from '../../../src/ops/optimizers.js';
import { createCheckpoint, decodeCheckpoint, encodeCheckpoint } from '../../../src/streams/checkpoint/checkpoint.js';
import { parseDetector } from '../../../src/streams/online/detectors/registry.js';
import { evaluateOnline, type EvaluateOnlineOptions, type LabelArrival, type OnlineEvent, type OnlineInput, type OnlineRunState } from '../../../src/streams/online/evaluateOnline.js';
import type { LearnerSpec } from '../../../src/streams/online/learnerRun.js';
import { kappaMetric } from '../../../src/streams/online/metrics/kappaMetric.js';
import { macroF1Metric } from '../../../src/streams/online/metrics/macroF1Metric.js';
import { accuracyMetric } from '../../../src/streams/online/metrics/accuracyMetric.js';
import { parseReactions } from '../../../src/streams/online/reactions.js';
import { readOnlineRunState } from '../../../src/streams/online/readOnlineRunState.js';
import { softmaxCrossEntropy } from '../../../src/streams/training/lossHead.js';
import type { Sample } from '../../../src/streams/types.js';
import { bits, points } from '../samples.js';

const mlp = (seed: number) => sequential({ input: [2], seed }, dense({ units: 12 }), relu(), dense({ units: 2 }));

/** Two learners: one reacting to DDM with a background learner, one to ADWIN with boost-lr and reset-optimizer. */
const learners = (): LearnerSpec[] => [
  { name: 'bg', model: mlp(1), loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.1 }), task: 'classify', detector: parseDetector('ddm'), reactions: parseReactions('background:window=150') },
  { name: 'boost', model: mlp(2), loss: softmaxCrossEntropy(), optimizer: adam({ lr: 0.01 }), task: 'classify', detector: parseDetector('adwin'), reactions: parseReactions('reset-optimizer+boost-lr:factor=4:rows=120') },
];

/** The rule flips at row 900: both detectors fire, the background learner starts and takes over. */
const rows: Sample[] = [...points(900, 21), ...points(900, 22, (x, y) => x <= y, 902)];

const base = { reportEvery: 97, window: 60, fading: 0.99, classificationMetrics: [accuracyMetric, kappaMetric, macroF1Metric] };

/** The snapshot after `k` items, through the bytes of a checkpoint file. */
function throughCheckpoint(state: OnlineRunState): OnlineRunState {
  const ckpt = createCheckpoint({
    weights: [],
    optimizer: null,
    rng: {},
    window: [],
    position: { source: 'test', offset: 0, nextRecord: 0 },
    counters: { steps: 0, epoch: 1, samples: 0, rowsTrained: 0, rowsSkipped: 0, skippedByCode: {} },
    input: null,
    config: { test: true },
    extra: { online: state },
  });
  return readOnlineRunState(decodeCheckpoint(encodeCheckpoint(ckpt), 'test.bin').extra.online);
}

interface Outcome {
  readonly events: OnlineEvent[];
  readonly weights: number[][][];
}

async function runAll(items: readonly OnlineInput[], options: EvaluateOnlineOptions): Promise<Outcome> {
  const specs = learners();
  const events = await lastValueFrom(from(items).pipe(evaluateOnline(specs, options), toArray()));
  const done = events.at(-1);
  if (done?.type !== 'done') throw new Error('no done event');
  // The models are compared by their weights' bits (a Model object also holds the seed it was built with).
  return { events: events.map((e) => (e.type === 'done' ? { ...e, models: [] } : e)), weights: done.models.map((m) => bits(m.params.map((p) => p.value))) };
}

/** Stop after item k with a snapshot, resume from it on the rest; the resumed run's events and weights. */
async function stopAndResume(items: readonly OnlineInput[], options: EvaluateOnlineOptions, k: number): Promise<{ before: OnlineEvent[]; after: Outcome }> {
  let taken = 0;
  let state: OnlineRunState | null = null;
  const stop = new AbortController();
  const before = await lastValueFrom(
    from(items).pipe(
      evaluateOnline(learners(), {
        ...options,
        afterItem: (_item, run) => {
          taken++;
          if (taken !== k) return;
          state = run.snapshot();
          stop.abort();
        },
        stop: stop.signal,
      }),
      toArray(),
    ),
  );
  const saved = state as OnlineRunState | null;
  if (saved === null) throw new Error(`no snapshot after item ${k}`);
  expect(before.at(-1)).toMatchObject({ type: 'stopped' });
  return { before: before.slice(0, -1), after: await runAll(items.slice(k), { ...options, resume: throughCheckpoint(saved) }) };
}

describe('evaluateOnline resumed from a checkpoint', () => {
  const cases: [string, readonly OnlineInput[], EvaluateOnlineOptions, readonly number[]][] = [
    ['labels with the rows', rows, base, [1, 450, 901, 1000, 1333, 1799]],
    ['a delay of 25 rows', rows, { ...base, labels: { delay: 25 } }, [10, 913, 1111, 1790]],
  ];
  // Labels by id, in blocks of 4 reversed and 2 rows late; one duplicate, one for no row, the last 3 never come.
  const unlabelled: Sample[] = rows.slice(0, 600).map((s, i) => ({ ...s, label: -1, origin: { ...s.origin, id: `r${i}` } }));
  const label = (i: number): LabelArrival => ({ kind: 'label', id: `r${i}`, label: rows[i].label, target: rows[i].target });
  const byId: OnlineInput[] = [];
  for (let i = 0; i < 600; i += 4) {
    byId.push(...unlabelled.slice(i, i + 4));
    if (i >= 8 && i < 592) byId.push(...[i - 5, i - 6, i - 7, i - 8].map(label));
    if (i === 100) byId.push(label(50), { ...label(1), id: 'nobody' });
  }
  cases.push(['labels joined by id', byId, { ...base, labels: { byId: { maxWait: 12 } } }, [3, 77, 400, byId.length - 2]]);

  for (const [what, items, options, cuts] of cases) {
    it(`${what}: stopped after items ${cuts.join(', ')} and resumed, the same events and weights as one uninterrupted run`, async () => {
      const full = await runAll(items, options);
      // The run has what the resume must carry: drifts, reactions, a background learner that took over.
      const details = full.events.flatMap((e) => (e.type === 'reaction' ? [e.detail] : []));
      if (what !== 'labels joined by id') {
        expect(details.some((d) => d.startsWith('background learner replaced the foreground'))).toBe(true);
        expect(details.some((d) => d.startsWith('learning rate ×4'))).toBe(true);
      }
      for (const k of cuts) {
        const { before, after } = await stopAndResume(items, options, k);
        expect([...before, ...after.events]).toEqual(full.events);
        expect(after.weights).toEqual(full.weights);
      }
    });
  }

  it('a state for other learners is refused, naming what differs', async () => {
    let state: OnlineRunState | null = null;
    await lastValueFrom(from(rows.slice(0, 10)).pipe(evaluateOnline(learners(), { ...base, afterItem: (_i, run) => (state = run.snapshot()) }), toArray()));
    const saved = state as OnlineRunState | null;
    if (saved === null) throw new Error('no snapshot');
    const one = [learners()[0]];
    await expect(lastValueFrom(from(rows).pipe(evaluateOnline(one, { ...base, resume: saved }), toArray()))).rejects.toThrow('evaluateOnline: cannot resume: the state holds 2 learners, the run has 1');
    await expect(lastValueFrom(from(rows).pipe(evaluateOnline(learners(), { ...base, labels: { byId: { maxWait: 3 } }, resume: saved }), toArray()))).rejects.toThrow(
      'evaluateOnline: cannot resume: the state has no label join, the run joins labels by id',
    );
    expect(() => readOnlineRunState({ ...saved, row: 'x' })).toThrow('online state: row must be a number');
  });
});
