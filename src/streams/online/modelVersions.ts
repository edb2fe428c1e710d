/**
 * Versions of a model that keeps learning while it answers: the learner updates a PRIVATE copy of the
 * weights, and every `publishEvery` updates a copy of it (cloneModel) becomes the next published
 * version. A published version is immutable — nothing writes its weights after it is published — so a
 * reader that takes `current` once and predicts with it always sees one consistent set of weights,
 * however learning goes on meanwhile (never a half-updated model), and the answer is reproducible
 * from that version (a server writes it to a versioned file).
 *
 *   learner (private) ──learn──▶ learn ──▶ … publishEvery updates … ──clone──▶ version v+1 (current)
 *
 * Versions are numbered 1, 2, …: version 1 is the model given at construction. `replace(model)` swaps
 * in another model (a new file): it is published at once as the next version, and learning restarts
 * from its weights with a fresh optimizer state (the old state belongs to the old weights and may not
 * even fit the new architecture). Learning is `onlineLearner` (batch 1 → train), so the learner's
 * weights after n samples are exactly `prequential`'s (or `deltaflow online`'s) on the same samples.
 *
 * Plain class, no I/O, no timers: the caller decides when to learn and when to publish.
 */
import { cloneModel, type Model } from '../../layers/sequential.js';
import type { StepMetrics } from '../training/applyOptimizer.js';
import type { Sample } from '../types.js';
import { onlineLearner, type OnlineLearner, type OnlineLearnerOptions } from './onlineLearner.js';

/** One published version: its weights are never written again. */
export interface ModelVersion {
  /** 1, 2, … in publishing order. */
  readonly version: number;
  readonly model: Model;
  /** Learner updates applied to this model since it was loaded (or since the last `replace`). */
  readonly updates: number;
  /** 1 for the model given at construction, +1 for each `replace`: versions of one generation share the architecture. */
  readonly generation: number;
}

export interface ModelVersionsOptions extends Omit<OnlineLearnerOptions, 'state'> {
  /** Publish a new version after every this many updates (≥ 1). */
  readonly publishEvery: number;
}

/** What one `learn` did: the step's metrics (scored before the update), and the version it published, if any. */
export interface LearnResult {
  readonly metrics: StepMetrics;
  readonly published: ModelVersion | null;
}

/**
 * A learner's private weights and the immutable versions published from it.
 *
 * @example
 * const versions = new ModelVersions(model, { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.01 }), publishEvery: 100 });
 * const v = versions.current;             // predict with v.model: it never changes
 * const { published } = versions.learn(sample);
 */
export class ModelVersions {
  private readonly options: ModelVersionsOptions;
  private latest: ModelVersion;
  private learnerModel: Model;
  private learner: OnlineLearner;
  private updates = 0;
  private unpublished = 0;

  constructor(model: Model, options: ModelVersionsOptions) {
    const { publishEvery } = options;
    if (!(Number.isSafeInteger(publishEvery) && publishEvery >= 1)) throw new RangeError(`ModelVersions: publishEvery must be a positive integer, got ${publishEvery}`);
    this.options = options;
    this.latest = { version: 1, model: cloneModel(model), updates: 0, generation: 1 };
    this.learnerModel = cloneModel(model);
    this.learner = onlineLearner(this.learnerModel, options);
  }

  /** The newest published version. */
  get current(): ModelVersion {
    return this.latest;
  }

  /** Updates applied to the learner since its model was loaded or replaced. */
  get updateCount(): number {
    return this.updates;
  }

  /** Updates not yet in a published version. */
  get pendingUpdates(): number {
    return this.unpublished;
  }

  /**
   * Predict, score and learn one sample on the private weights; publishes when `publishEvery` updates
   * are pending. A failed step (NonFiniteError) is thrown, the weights as they were.
   */
  learn(sample: Sample): LearnResult {
    const metrics = this.learner.learn(sample).step;
    this.updates++;
    this.unpublished++;
    return { metrics, published: this.unpublished >= this.options.publishEvery ? this.publish() : null };
  }

  /** Publishes the learner's weights as a new version now; null when no update is pending. */
  publish(): ModelVersion | null {
    if (this.unpublished === 0) return null;
    this.unpublished = 0;
    this.latest = { version: this.latest.version + 1, model: cloneModel(this.learnerModel), updates: this.updates, generation: this.latest.generation };
    return this.latest;
  }

  /** Swaps in `model` as the next version; learning continues from it with a fresh optimizer state. */
  replace(model: Model): ModelVersion {
    this.learner.close();
    this.learnerModel = cloneModel(model);
    this.learner = onlineLearner(this.learnerModel, this.options);
    this.updates = 0;
    this.unpublished = 0;
    this.latest = { version: this.latest.version + 1, model: cloneModel(model), updates: 0, generation: this.latest.generation + 1 };
    return this.latest;
  }

  /** Ends the learner's subscription. */
  close(): void {
    this.learner.close();
  }
}
