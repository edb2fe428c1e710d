/**
 * A run folder's `stats.jsonl`: the dashboard's events of a run (protocol.ts), one JSON object a
 * line, in the order they happened — a `run` line first, then `steps` batches, `epoch`, `layers`,
 * `window`, `drift` lines, and a `done` line at the end (format: docs/dashboard.md). The replay
 * (`deltaflow dashboard RUN`) reads it back into a RunStore.
 *
 * Compact: steps come in batches of columns (one line per flush, not per step), and non-integer
 * numbers are written with 7 significant digits (float32 has about 7); non-finite numbers are null.
 * A resumed run appends (the store replaces steps that go back, runStore.ts). A torn last line (a run
 * killed mid-write) is ignored; any other bad line is an error naming `file:line`.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { RunEvent } from './protocol.js';

const EVENT_TYPES = new Set(['run', 'steps', 'epoch', 'layers', 'window', 'drift', 'done']);

/** JSON with 7 significant digits for non-integers and null for non-finite numbers. */
export function compactJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v !== 'number') return v;
    if (!Number.isFinite(v)) return null;
    return Number.isInteger(v) ? v : Number(v.toPrecision(7));
  });
}

export interface StatsWriter {
  readonly path: string;
  write(event: RunEvent): void;
  close(): Promise<void>;
}

/**
 * Open `path` for appending (a fresh run's folder has none; a resumed one keeps its lines).
 *
 * @example const stats = openStatsFile(join(runDir, 'stats.jsonl')); stats.write(runMessage);
 */
export function openStatsFile(path: string): StatsWriter {
  const stream: WriteStream = createWriteStream(path, { flags: 'a' });
  let failure: Error | null = null;
  stream.on('error', (e) => {
    failure = e;
  });
  return {
    path,
    write(event) {
      if (failure !== null) throw failure;
      stream.write(`${compactJson(event)}\n`);
    },
    async close() {
      await new Promise<void>((resolve, reject) => stream.end((e?: Error | null) => (e ? reject(e) : resolve())));
      if (failure !== null) throw failure;
    },
  };
}

export class StatsFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StatsFileError';
  }
}

/** The events of a stats.jsonl text; `name` names it in errors. */
export function parseStatsFile(text: string, name: string): RunEvent[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const events: RunEvent[] = [];
  lines.forEach((line, i) => {
    const isLast = i === lines.length - 1;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      if (isLast && !text.endsWith('\n')) return; // torn by a kill mid-write
      throw new StatsFileError(`${name}:${i + 1}: not a JSON line`);
    }
    if (typeof value !== 'object' || value === null || !('type' in value) || typeof value.type !== 'string' || !EVENT_TYPES.has(value.type)) {
      throw new StatsFileError(`${name}:${i + 1}: not a dashboard event (expected an object whose "type" is one of ${[...EVENT_TYPES].join(', ')})`);
    }
    if (i === 0 && value.type !== 'run') throw new StatsFileError(`${name}:1: the first line must be the "run" event, got "${value.type}"`);
    // The shape of each event type is what this program wrote (protocol.ts); the page ignores fields it lacks.
    events.push(value as RunEvent);
  });
  if (events.length === 0) throw new StatsFileError(`${name}: empty (no "run" line)`);
  return events;
}

/** Read a stats.jsonl file. */
export async function readStatsFile(path: string): Promise<RunEvent[]> {
  return parseStatsFile(await readFile(path, 'utf8'), path);
}
