/**
 * The endpoints (docs/serve.md has each one's request and answer):
 *
 *   POST /predict     rows (JSON or CSV) → classes and probabilities, or values, and the version that answered
 *   POST /learn       labelled rows, or late labels by id → learned, test then train
 *   GET  /model       version, content hash, counters, prequential scores
 *   POST /model       a model file to swap in (needs --token); 400 and the old model stays if it is bad
 *   GET  /model.json  the current version's model file
 *   GET  /metrics     Prometheus text
 *   GET  /events      server-sent events: each new version, the scores after each learning job
 *
 * A handler returns the reply (status, body, type) or null when it took the response over (events).
 * It throws HttpError for anything the request got wrong; server.ts turns that into `{"error": …}`.
 * Nothing here opens a path: bodies are data, and the only files written are the command line's.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describeModel, paramCount } from '../../src/layers/sequential.js';
import { bodyText, mediaType, readBody } from './body.js';
import { predictions } from './answers.js';
import { HttpError } from './httpError.js';
import type { LiveModel, ServedVersion } from './liveModel.js';
import type { ServerMetrics } from './metrics.js';
import { parseModelText, servableModel } from './modelCheck.js';
import { learnItems, predictRows, type RowSchema } from './rows.js';
import type { EventHub } from './sse.js';

export interface Limits {
  /** Bytes of a /predict or /learn body. */
  readonly maxBody: number;
  /** Bytes of a POST /model body. */
  readonly maxModelBytes: number;
}

export interface AppContext {
  readonly live: LiveModel;
  readonly schema: RowSchema;
  readonly limits: Limits;
  readonly hub: EventHub;
  readonly metrics: ServerMetrics;
  /** POST /model is open only on a server started with --token. */
  readonly hasToken: boolean;
}

export interface Reply {
  readonly status: number;
  readonly body: string;
  readonly type: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, ctx: AppContext) => Promise<Reply | null>;
export type Method = 'GET' | 'POST';

const JSON_TYPE = 'application/json; charset=utf-8';

export function jsonReply(status: number, value: unknown, headers?: Readonly<Record<string, string>>): Reply {
  return { status, body: JSON.stringify(value), type: JSON_TYPE, ...(headers === undefined ? {} : { headers }) };
}

/** The `version` event and the version part of GET /model. */
export function versionFacts(v: ServedVersion): { version: number; updates: number; generation: number } {
  return { version: v.version, updates: v.published.updates, generation: v.published.generation };
}

async function rowsBody(req: IncomingMessage, ctx: AppContext): Promise<{ text: string; type: 'application/json' | 'text/csv' }> {
  const type = mediaType(req, ['application/json', 'text/csv']);
  const text = bodyText(await readBody(req, ctx.limits.maxBody));
  return { text, type };
}

const predict: Handler = async (req, _res, ctx) => {
  const { text, type } = await rowsBody(req, ctx);
  const rows = predictRows(ctx.schema, text, type, { maxRecordSize: ctx.limits.maxBody });
  const { served, out, k } = ctx.live.predict(rows);
  const ids = rows.map((r) => r.id);
  return jsonReply(200, { version: served.version, predictions: predictions(ctx.live.dataMeta, out, rows.length, k, ids) });
};

const learn: Handler = async (req, _res, ctx) => {
  if (!ctx.live.isLearning) throw new HttpError(403, 'not_learning', 'this server does not learn (start it with --learn)');
  const { text, type } = await rowsBody(req, ctx);
  const items = learnItems(ctx.schema, text, type, { maxRecordSize: ctx.limits.maxBody });
  const report = await ctx.live.learn(items);
  for (const r of report.results) {
    if (r.status !== 'learned') ctx.metrics.lateLabels.inc({ outcome: r.status === 'unknown-id' ? 'unknown_id' : 'duplicate_label' });
    else if (r.predictedBy !== undefined) ctx.metrics.lateLabels.inc({ outcome: 'learned' });
  }
  const body = { version: report.version, learned: report.learned, results: report.results };
  if (report.failure !== null) {
    ctx.metrics.errors.inc({ kind: 'non_finite' });
    return jsonReply(422, { error: report.failure.message, ...body });
  }
  return jsonReply(200, body);
};

const getModel: Handler = async (_req, _res, ctx) => {
  const { live } = ctx;
  const v = live.current;
  const meta = live.dataMeta;
  const { model } = v.published;
  return jsonReply(200, {
    ...versionFacts(v),
    hash: v.hash,
    learning: live.isLearning,
    updatesPending: live.updates.pending,
    counters: { ...live.counters },
    labels: live.join === null ? null : { ...live.join.counters, pending: live.join.pending },
    metrics: live.scores,
    model: { layers: describeModel(model), parameters: paramCount(model) },
    data: { task: meta.task, loss: meta.loss, label: meta.label, features: meta.features, classes: meta.classes },
  });
};

const postModel: Handler = async (req, _res, ctx) => {
  if (!ctx.hasToken) throw new HttpError(403, 'forbidden', 'POST /model is open only on a server started with --token (use SIGHUP to re-read --model)');
  mediaType(req, ['application/json']);
  const text = bodyText(await readBody(req, ctx.limits.maxModelBytes));
  let candidate;
  try {
    candidate = servableModel(parseModelText(text, 'POST /model'), 'POST /model', ctx.live.dataMeta);
  } catch (e) {
    throw new HttpError(400, 'bad_model', `${e instanceof Error ? e.message : String(e)}; the model served is unchanged`);
  }
  const v = await ctx.live.swap(candidate);
  return jsonReply(200, { ...versionFacts(v), hash: v.hash });
};

const getModelFile: Handler = async (_req, _res, ctx) => {
  const v = ctx.live.current;
  return { status: 200, body: v.text, type: JSON_TYPE, headers: { ETag: `"${v.hash}"`, 'X-Model-Version': String(v.version) } };
};

const getMetrics: Handler = async (_req, _res, ctx) => ({ status: 200, body: ctx.metrics.registry.text(), type: 'text/plain; version=0.0.4; charset=utf-8' });

const getEvents: Handler = async (req, res, ctx) => {
  // HEAD: the headers of a stream, and no stream (Node sends no body to HEAD, so it would never flush).
  if (req.method === 'HEAD') return { status: 200, body: '', type: 'text/event-stream; charset=utf-8' };
  if (ctx.hub.isFull) throw new HttpError(503, 'too_many_clients', 'too many open event streams (--max-event-clients)', { 'Retry-After': '10' });
  const v = ctx.live.current;
  ctx.hub.add(res, [
    ['version', versionFacts(v)],
    ['metrics', { version: v.version, ...ctx.live.scores }],
  ]);
  return null;
};

export const ROUTES: ReadonlyMap<string, Readonly<Partial<Record<Method, Handler>>>> = new Map([
  ['/predict', { POST: predict }],
  ['/learn', { POST: learn }],
  ['/model', { GET: getModel, POST: postModel }],
  ['/model.json', { GET: getModelFile }],
  ['/metrics', { GET: getMetrics }],
  ['/events', { GET: getEvents }],
]);
