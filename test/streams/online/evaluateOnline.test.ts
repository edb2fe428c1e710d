/**
 * evaluateOnline: prequential evaluation of one or several learners, with delayed labels, drift
 * detection and reactions.
 *
 * - Labels with the row (and `delay: 0`) give `prequential`'s figures and weights bit for bit.
 * - A delay of N and labels joined by id follow the sequence written out by hand with the learner's
 *   own predict/learn calls: predicted at arrival, scored with that prediction, learned from when the
 *   label comes.
 * - Several learners see the same rows in the same order.
 * - Detections and reactions are events; on a SEA stream with abrupt changes a detector with a
 *   reaction recovers the windowed accuracy faster than the same learner without one.
 */
import { from, lastValueFrom, map, toArray, type Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { dense, relu, sequential } from '../../../src/index.js';
import { adam, sgd } from '../../../src/ops/optimizers.js';
import { generate } from '../../../src/streams/sources/generators/generate.js';
import { parseDetector } from '../../../src/streams/online/detectors/registry.js';
import { evaluateOnline, type LabelArrival, type OnlineEvent, type OnlineInput } from '../../../src/streams/online/evaluateOnline.js';
import type { LearnerSpec } from '../../../src/streams/online/learnerRun.js';
import { onlineLearner } from '../../../src/streams/online/onlineLearner.js';
import { prequential } from '../../../src/streams/online/prequential.js';
import { parseReactions } from '../../../src/streams/online/reactions.js';
import { softmaxCrossEntropy } from '../../../src/streams/training/lossHead.js';
import type { Sample } from '../../../src/streams/types.js';
import { points } from '../samples.js';

const mlp = (seed = 1, input = 2) => sequential({ input: [input], seed }, dense({ units: 16 }), relu(), dense({ units: 2 }));
const bits = (m: ReturnType<typeof mlp>): number[] => m.params.flatMap((p) => Array.from(new Uint32Array(p.value.buffer, p.value.byteOffset, p.value.length)));
const spec = (model: ReturnType<typeof mlp>, extra: Partial<LearnerSpec> = {}): LearnerSpec => ({ name: 'a', model, loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.1 }), task: 'classify', ...extra });
const run = (source: Observable<OnlineInput>, learners: LearnerSpec[], options: Parameters<typeof evaluateOnline>[1]): Promise<OnlineEvent[]> =>
  lastValueFrom(source.pipe(evaluateOnline(learners, options), toArray()));

describe('evaluateOnline', () => {
  const rows = points(400, 5);

  for (const labels of ['with-row', { delay: 0 }] as const) {
    it(`labels ${JSON.stringify(labels)}: prequential's cumulative and windowed figures and weights, bit for bit`, async () => {
      const a = mlp();
      const reference = await lastValueFrom(from(rows).pipe(prequential(a, { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.1 }), window: 50 }), toArray()));
      const b = mlp();
      const events = await run(from(rows), [spec(b)], { reportEvery: 25, window: 50, labels });
      const reports = events.filter((e) => e.type === 'report');
      expect(reports).toHaveLength(16);
      for (const r of reports) {
        if (r.type !== 'report') continue;
        const want = reference[r.row - 1];
        const got = r.learners[0];
        expect(got.loss).toBe(want.cumulativeLoss);
        expect(got.lossWindow).toBe(want.windowLoss);
        expect(got.values.accuracy).toBe(want.cumulativeAccuracy);
        expect(got.values.accuracy_window).toBe(want.windowAccuracy);
      }
      expect(bits(b)).toEqual(bits(a));
      expect(events.at(-1)?.type).toBe('done');
    });
  }

  it('delay 3 follows the hand-written sequence: predict at arrival, learn 3 rows later, the last 3 at the end', async () => {
    const tiny = rows.slice(0, 12);
    const events = await run(from(tiny), [spec(mlp())], { reportEvery: 100, window: 12, labels: { delay: 3 } });
    // By hand: the learner's own calls in the order the delay puts them.
    const model = mlp();
    const learner = onlineLearner(model, { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.1 }) });
    const predictions = [];
    let correct = 0;
    for (let t = 0; t < tiny.length; t++) {
      predictions.push(learner.predict(tiny[t].x));
      if (t >= 3) learner.learn(tiny[t - 3]);
    }
    for (let t = tiny.length - 3; t < tiny.length; t++) learner.learn(tiny[t]);
    predictions.forEach((p, t) => (correct += p.predicted === tiny[t].label ? 1 : 0));
    const done = events.at(-1);
    if (done?.type !== 'done') throw new Error('no done event');
    expect(done.learners[0].scored).toBe(12);
    expect(done.learners[0].values.accuracy).toBe(correct / 12);
    expect(bits(done.models[0] as ReturnType<typeof mlp>)).toEqual(bits(model));
  });

  it('labels by id: joined in label order; early, missing, duplicate and late labels counted by kind', async () => {
    const withIds: Sample[] = rows.slice(0, 10).map((s, i) => ({ ...s, label: -1, origin: { ...s.origin, id: `r${i}` } }));
    const label = (i: number): LabelArrival => ({ kind: 'label', id: `r${i}`, label: rows[i].label, target: rows[i].target });
    // r0 r1 L1 r2 L0 L0(duplicate) r3 r4 r5 r6 L9(3 rows early) r7 r8 Lx(no such row) r9 L8; rows wait 3 rows at most.
    const items: OnlineInput[] = [withIds[0], withIds[1], label(1), withIds[2], label(0), label(0), ...withIds.slice(3, 7), label(9), withIds[7], withIds[8], { ...label(0), id: 'x' }, withIds[9], label(8)];
    const events = await run(from(items), [spec(mlp())], { reportEvery: 100, window: 10, labels: { byId: { maxWait: 3 } } });
    const done = events.at(-1);
    if (done?.type !== 'done' || done.labels === null) throw new Error('no done event');
    // Learned, in label order: r1, r0, r9 (its label came early and waited), r8.
    expect(done.learners[0].scored).toBe(4);
    // r2..r6 waited more than 3 rows; r7 was still waiting at the end.
    expect(done.labels).toEqual({ predicted: 10, labelled: 4, duplicateIds: 0, unknownIds: 0, duplicateLabels: 1, expired: 5, neverLabelled: 1, labelsWithoutRow: 1 });
    // By hand: the same learning order.
    const model = mlp();
    const learner = onlineLearner(model, { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.1 }) });
    for (const i of [1, 0, 9, 8]) learner.learn(rows[i]);
    expect(bits(done.models[0] as ReturnType<typeof mlp>)).toEqual(bits(model));
  });

  it('several learners see the same rows in the same order: identical specs give identical reports', async () => {
    const events = await run(from(rows), [spec(mlp(3), { name: 'x' }), spec(mlp(3), { name: 'y' }), spec(mlp(4), { name: 'z', optimizer: adam({ lr: 0.01 }) })], { reportEvery: 100, window: 50, fading: 0.99 });
    for (const e of events) {
      if (e.type !== 'report') continue;
      const [x, y, z] = e.learners;
      expect({ ...y, name: 'x' }).toEqual(x);
      expect(z.scored).toBe(x.scored);
      expect(Object.keys(x.values)).toEqual(['accuracy', 'accuracy_window', 'accuracy_fading', 'kappa', 'kappa_window', 'kappa_fading', 'kappa_t', 'kappa_t_window', 'kappa_t_fading']);
    }
    expect(() => evaluateOnline([spec(mlp(), { name: 'x' }), spec(mlp(), { name: 'x' })], { reportEvery: 1, window: 1 })).toThrow('evaluateOnline: two learners are named "x"');
  });

  it('a drift is an event, and so is each reaction: reset-optimizer, boost-lr (and its end), reinit', async () => {
    // The rule flips at row 600: the error jumps, DDM fires.
    const flipped = [...points(600, 6), ...points(600, 7, (x, y) => x <= y, 602)];
    const events = await run(from(flipped), [spec(mlp(), { detector: parseDetector('ddm'), reactions: parseReactions('reset-optimizer+boost-lr:factor=3:rows=50+reinit') })], { reportEvery: 1000, window: 100 });
    const drifts = events.filter((e) => e.type === 'detection' && e.signal === 'drift');
    expect(drifts.length).toBeGreaterThanOrEqual(1);
    const first = drifts[0];
    expect(first.type === 'detection' && first.row).toBeGreaterThan(600);
    const reactions = events.filter((e) => e.type === 'reaction');
    const at = (row: number) => reactions.filter((e) => e.type === 'reaction' && e.row === row).map((e) => (e.type === 'reaction' ? e.detail : ''));
    expect(at(first.type === 'detection' ? first.row : 0)).toEqual(['optimizer state reset', 'learning rate ×3 for 50 rows', expect.stringMatching(/^weights re-initialized \(seed \d+\)$/)]);
    expect(reactions.some((e) => e.type === 'reaction' && e.detail === 'learning rate back to ×1')).toBe(true);
  });

  it('a background learner starts at a warning and replaces the foreground once better over its window', async () => {
    const flipped = [...points(1500, 8), ...points(1500, 9, (x, y) => x <= y, 1502)];
    const events = await run(from(flipped), [spec(mlp(), { detector: parseDetector('ddm'), reactions: parseReactions('background:window=200') })], { reportEvery: 3000, window: 200 });
    const details = events.flatMap((e) => (e.type === 'reaction' ? [e.detail] : []));
    expect(details.some((d) => d.startsWith('background learner started'))).toBe(true);
    expect(details.some((d) => d.startsWith('background learner replaced the foreground'))).toBe(true);
  });

  it('on SEA with abrupt drifts, a detector with a reaction recovers the windowed accuracy faster than none (several seeds)', async () => {
    // SEA's concepts 4 → 3 → 4 (θ 9.5, 7, 9.5) at rows 5,000 and 10,000, 5 % label noise; an MLP whose
    // rate (sgd 0.001) is set for a stable stream. Recovery: accuracy over the 1,000 rows after each change.
    const recovery = async (seed: number, extra: Partial<LearnerSpec>): Promise<{ after: number; reacted: number }> => {
      const source = generate('sea', { rows: 15000, driftAt: [5000, 10000], concepts: [4, 3, 4], noise: 0.05, seed }).pipe(map((s) => ({ ...s, x: s.x.map((v) => v / 10) })));
      const events = await run(source, [spec(mlp(seed, 3), { optimizer: sgd({ lr: 0.001 }), ...extra })], { reportEvery: 1000, window: 1000 });
      const after = events.filter((e) => e.type === 'report' && [6000, 11000].includes(e.row));
      const reacted = events.filter((e) => e.type === 'detection' && e.reacted === true).length;
      return { after: after.reduce((s, e) => s + (e.type === 'report' ? (e.learners[0].values.accuracy_window ?? 0) : 0), 0) / after.length, reacted };
    };
    const seeds = [1, 2, 3];
    const plain = await Promise.all(seeds.map((s) => recovery(s, {})));
    const reacting = await Promise.all(seeds.map((s) => recovery(s, { detector: parseDetector('adwin'), reactions: parseReactions('boost-lr:factor=10:rows=2000') })));
    process.stdout.write(
      `SEA recovery (accuracy over the 1,000 rows after each drift, seeds ${seeds.join(', ')}): without a detector ${plain.map((v) => v.after.toFixed(3)).join(' ')}; ` +
        `with adwin + boost-lr ×10 ${reacting.map((v) => v.after.toFixed(3)).join(' ')} (${reacting.map((v) => v.reacted).join('/')} reactions)\n`,
    );
    const mean = (a: { after: number }[]): number => a.reduce((s, v) => s + v.after, 0) / a.length;
    expect(reacting.every((r) => r.reacted >= 1)).toBe(true);
    expect(mean(reacting)).toBeGreaterThan(mean(plain) + 0.01);
    expect(reacting.filter((v, i) => v.after > plain[i].after).length).toBeGreaterThanOrEqual(2);
  }, 120_000);
});
