/**
 * A job's config, as the coordinator writes it to df:{J}:config and every worker reads it: what to
 * build (input shape, layer specs, seed, loss), how to take part (slices per step, heartbeat TTL),
 * who is running it (uid, run epoch) and what a worker must match (fingerprint). `done` is set when the
 * coordinator finishes, so workers of a finished job exit.
 */
import type { LayerSpec } from '../../layers/layer.js';
import type { Loss } from '../training/lossHead.js';
import type { Fingerprint } from './fingerprint.js';

export interface JobConfig {
  readonly protocol: string;
  readonly job: string;
  readonly uid: string;
  /** The run epoch of the coordinator that wrote it. */
  readonly epoch: number;
  readonly input: readonly number[];
  readonly specs: readonly LayerSpec[];
  readonly seed: number;
  readonly loss: Loss['name'];
  /** N: slices per global batch (the single-process `--workers N`). */
  readonly slices: number;
  /** A worker refreshes its heartbeat key with this TTL (ms), three times per TTL. */
  readonly heartbeatMs: number;
  /** SHA-256 (hex) of the training config (checkpointConfig's JSON). */
  readonly configHash: string;
  readonly fingerprint: Fingerprint;
  /** Set by a coordinator that finished (or failed): its workers exit. */
  readonly done?: boolean;
}

/** Parses a config read from Redis; null when it is not one (another program's key). */
export function parseJobConfig(text: string): JobConfig | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null) return null;
  const c = v as Partial<JobConfig>;
  if (typeof c.uid !== 'string' || typeof c.epoch !== 'number' || !Array.isArray(c.specs) || !Array.isArray(c.input) || typeof c.slices !== 'number') return null;
  return c as JobConfig;
}
