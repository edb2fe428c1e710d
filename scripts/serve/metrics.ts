/**
 * The server's Prometheus metrics (`GET /metrics`; names and meanings in docs/serve.md):
 *
 *   deltaflow_http_requests_total{route,code}           counter    requests answered, by route and status
 *   deltaflow_http_request_duration_seconds{route}      histogram  time from request to answer
 *   deltaflow_errors_total{kind}                        counter    refused or failed requests, by kind
 *   deltaflow_rows_predicted_total                      counter    rows answered by POST /predict
 *   deltaflow_rows_learned_total                        counter    rows learned (labelled rows and late labels)
 *   deltaflow_late_labels_total{outcome}                counter    late labels: learned, unknown_id, duplicate_label
 *   deltaflow_label_join_pending                        gauge      predictions waiting for their label
 *   deltaflow_label_join_expired_total                  counter    predictions whose label did not come in time
 *   deltaflow_label_join_duplicate_ids_total            counter    predictions refused: their id was waiting
 *   deltaflow_model_version                             gauge      the version answering now
 *   deltaflow_model_versions_published_total            counter    versions published (learning and swaps)
 *   deltaflow_model_swaps_total                         counter    models swapped in (POST /model, SIGHUP)
 *   deltaflow_model_updates_pending                     gauge      learner updates not yet published
 *   deltaflow_prequential_accuracy{scope}               gauge      cumulative / window accuracy (classification)
 *   deltaflow_prequential_loss{scope}                   gauge      cumulative / window mean loss
 *   deltaflow_prequential_rows_total                    counter    rows scored
 *   deltaflow_snapshots_written_total / _failed_total   counter    versioned model files
 *   deltaflow_event_clients                             gauge      open GET /events streams
 *   deltaflow_learn_queue_jobs                          gauge      learning jobs waiting
 */
import type { LiveModel } from './liveModel.js';
import { Counter, Histogram, Registry, Sampled } from './prometheus.js';
import type { EventHub } from './sse.js';
import type { SnapshotWriter } from './snapshots.js';

/** Latency buckets in seconds: fine below 10 ms, where a prediction should be. */
export const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export interface ServerMetrics {
  readonly registry: Registry;
  readonly requests: Counter;
  readonly latency: Histogram;
  readonly errors: Counter;
  readonly lateLabels: Counter;
}

export function serverMetrics(live: LiveModel, hub: EventHub, snapshots: SnapshotWriter | null): ServerMetrics {
  const r = new Registry();
  const single = (v: number | null): readonly (readonly [Record<string, string>, number | null])[] => [[{}, v]];
  const requests = r.add(new Counter('deltaflow_http_requests_total', 'Requests answered, by route and status code.'));
  const latency = r.add(new Histogram('deltaflow_http_request_duration_seconds', 'Time from a request to its answer, by route.', LATENCY_BUCKETS));
  const errors = r.add(new Counter('deltaflow_errors_total', 'Requests refused or failed, by kind.'));
  r.add(new Sampled('counter', 'deltaflow_rows_predicted_total', 'Rows answered by POST /predict.', () => single(live.counters.rowsPredicted)));
  r.add(new Sampled('counter', 'deltaflow_rows_learned_total', 'Rows learned from (labelled rows and late labels).', () => single(live.counters.rowsLearned)));
  const lateLabels = r.add(new Counter('deltaflow_late_labels_total', 'Late labels (by id) received, by outcome.'));
  r.add(new Sampled('gauge', 'deltaflow_label_join_pending', 'Predictions waiting for their label.', () => single(live.join?.pending ?? null)));
  r.add(new Sampled('counter', 'deltaflow_label_join_expired_total', 'Predictions whose label did not come within --max-label-wait rows.', () => single(live.join?.counters.expired ?? null)));
  r.add(new Sampled('counter', 'deltaflow_label_join_duplicate_ids_total', 'Predictions refused because their id was already waiting.', () => single(live.join?.counters.duplicateIds ?? null)));
  r.add(new Sampled('gauge', 'deltaflow_model_version', 'The model version answering now.', () => single(live.current.version)));
  r.add(new Sampled('counter', 'deltaflow_model_versions_published_total', 'Versions published after the first (learning and swaps).', () => single(live.counters.versionsPublished)));
  r.add(new Sampled('counter', 'deltaflow_model_swaps_total', 'Models swapped in (POST /model, SIGHUP).', () => single(live.counters.swaps)));
  r.add(new Sampled('gauge', 'deltaflow_model_updates_pending', 'Learner updates not yet published.', () => single(live.updates.pending)));
  const scopes = (cumulative: number | null, window: number | null) => [
    [{ scope: 'cumulative' }, cumulative],
    [{ scope: 'window' }, window],
  ] as const;
  r.add(new Sampled('gauge', 'deltaflow_prequential_accuracy', 'Prequential accuracy (each row predicted before it was learned from).', () => scopes(live.scores.cumulativeAccuracy, live.scores.windowAccuracy)));
  r.add(new Sampled('gauge', 'deltaflow_prequential_loss', 'Prequential mean loss.', () => scopes(live.scores.cumulativeLoss, live.scores.windowLoss)));
  r.add(new Sampled('counter', 'deltaflow_prequential_rows_total', 'Rows scored prequentially.', () => single(live.scores.seen)));
  r.add(new Sampled('counter', 'deltaflow_snapshots_written_total', 'Versioned model files written.', () => single(snapshots?.written ?? null)));
  r.add(new Sampled('counter', 'deltaflow_snapshots_failed_total', 'Versioned model files that could not be written.', () => single(snapshots?.failed ?? null)));
  r.add(new Sampled('gauge', 'deltaflow_event_clients', 'Open GET /events streams.', () => single(hub.size)));
  r.add(new Sampled('gauge', 'deltaflow_learn_queue_jobs', 'Learning jobs waiting.', () => single(live.queued)));
  return { registry: r, requests, latency, errors, lateLabels };
}
