/**
 * `readOnlineRunState(value)`: an OnlineRunState (onlineRun.ts) read back from data — a checkpoint's
 * `extra` field, decoded — with the type of every field checked by a StateReader (stateReader.ts).
 * A value of another layout is one OnlineStateError naming the field. The values themselves (sizes of
 * weights, detector parameters, metric keys) are checked by the restore that takes them.
 */
import type { DetectorSnapshot } from './detectors/detector.js';
import { readHeldRows } from './heldRows.js';
import type { LearnerRunState } from './learnerRun.js';
import type { LearnerState } from './onlineLearner.js';
import type { OnlineRunState } from './onlineRun.js';
import { jsonObject, OnlineStateError, StateReader } from './stateReader.js';
import type { StateValue } from '../types.js';

function readLearnerState(r: StateReader): LearnerState {
  const o = r.obj('optimizer');
  return {
    weights: r.f32s('weights'),
    optimizer: { kind: o.optimizerKind('kind'), t: o.count('t'), slots: o.f32Lists('slots') },
    samples: r.count('samples'),
    lrFactor: r.num('lrFactor'),
  };
}

function readDetector(r: StateReader, key: string): DetectorSnapshot {
  const v = jsonObject(r.json(key), `${r.path}.${key}`);
  const { detector, params, state } = v;
  if (typeof detector !== 'string') throw new OnlineStateError(`${r.path}.${key}.detector`, 'must be a string');
  return { ...v, detector, params: jsonObject(params, `${r.path}.${key}.params`), state: jsonObject(state, `${r.path}.${key}.state`) };
}

function readLearnerRunState(r: StateReader): LearnerRunState {
  const direction = (text: string): 'up' | 'down' => {
    if (text === 'up' || text === 'down') return text;
    throw new OnlineStateError(`${r.path}.lastDrift.direction`, 'must be up or down');
  };
  const bg = r.has('background') ? r.obj('background') : null;
  const drift = r.has('lastDrift') ? r.obj('lastDrift') : null;
  return {
    name: r.str('name'),
    learner: readLearnerState(r.obj('learner')),
    background: bg === null ? null : { learner: readLearnerState(bg.obj('learner')), startedAt: bg.count('startedAt'), learned: bg.count('learned'), own: bg.f64('own'), fore: bg.f64('fore') },
    isWarning: r.bool('isWarning'),
    boostLeft: r.count('boostLeft'),
    scored: r.count('scored'),
    lossSum: r.num('lossSum'),
    recent: r.f64('recent'),
    windowLoss: r.num('windowLoss'),
    lastErrors: r.f64('lastErrors'),
    lastErrorsSum: r.num('lastErrorsSum'),
    sinceDriftSum: r.num('sinceDriftSum'),
    sinceDriftCount: r.count('sinceDriftCount'),
    lastDrift: drift === null ? null : { row: drift.count('row'), direction: direction(drift.str('direction')) },
    metrics: r.metric('metrics'),
    detector: r.has('detector') ? readDetector(r, 'detector') : null,
  };
}

/**
 * The online run state in `value` (see the file comment).
 *
 * @example evaluateOnline(specs, { ...options, resume: readOnlineRunState(checkpoint.extra.online) })
 */
export function readOnlineRunState(value: StateValue | undefined): OnlineRunState {
  const r = new StateReader('', value);
  const join = r.has('join') ? r.obj('join') : null;
  const early = r.has('early') ? r.obj('early') : null;
  const counters = join?.obj('counters');
  return {
    version: r.count('version'),
    row: r.count('row'),
    learners: r.objs('learners').map(readLearnerRunState),
    delayed: readHeldRows(r.obj('delayed')),
    join:
      join === null || counters === undefined
        ? null
        : {
            now: join.count('now'),
            counters: {
              predicted: counters.count('predicted'),
              labelled: counters.count('labelled'),
              duplicateIds: counters.count('duplicateIds'),
              unknownIds: counters.count('unknownIds'),
              duplicateLabels: counters.count('duplicateLabels'),
              expired: counters.count('expired'),
              neverLabelled: counters.count('neverLabelled'),
            },
            ids: join.strs('ids'),
            times: join.nums('times'),
            isCurrent: join.bools('isCurrent'),
            isPending: join.bools('isPending'),
            items: readHeldRows(join.obj('items')),
          },
    early: early === null ? null : { ids: early.strs('ids'), times: early.nums('times'), labels: early.i32('labels'), targets: { data: early.obj('targets').f32('data'), lengths: early.obj('targets').i32('lengths') }, order: early.strs('order') },
    labelsWithoutRow: r.count('labelsWithoutRow'),
  };
}
