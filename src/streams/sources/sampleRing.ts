/**
 * What crosses between the parser thread (csvWorker.ts) and the thread that subscribed to fromCsv
 * (csvThread.ts): a ring of at most `nSlots` slots in flight, each holding finished rows in a buffer
 * of its own that travels with the slot's message (transferred: moved, not copied), a control word
 * array for the flow of slots (Atomics, in a SharedArrayBuffer), and one message per published slot.
 *
 * A slot holds up to `rows` entries of one read, in input order; entry i is a Sample or a row-level
 * CsvError. Layout of a slot's buffer (row-major, entry i at index i of every array):
 *
 *   Float64 meta[rows × 3]        line, record, endOffset of entry i      bytes [0, 24·rows)
 *   Int32   label[rows]           class index, or −1                     then 4·rows bytes
 *   Float32 x[rows × nX]          the features, as the reader computed them
 *   Float32 target[rows × nTarget]
 *
 * An error entry leaves its numeric row unused; its facts, message and raw text travel in the slot's
 * message, with the row ids and kept texts. A slot that holds errors only (before the first Sample of
 * a read) has no buffer. The subscriber's Samples are views of the slot's buffer, which no thread
 * writes again: it lives as long as they do (a holder of rows for long copies them,
 * training/ownedSample.ts).
 *
 * Control words (Int32; the counters are monotonic over the thread's life, compared modulo 2^32):
 *   MESSAGES   messages posted by the parser thread (it adds 1 after each postMessage)
 *   PUBLISHED  slots published by the parser thread       RELEASED  slots taken by the subscriber
 *   ROWS_PUT   entries written into slots
 *   SLOT_ROWS  the entries per slot of the current read (its layout), for the read-ahead bound
 *   PARSER_WAITING, SUBSCRIBER_WAITING  1 while that side waits (the other side notifies only then)
 *
 * Flow (pull-driven): the parser thread fills a slot and waits (Atomics.waitAsync on RELEASED) while
 * PUBLISHED − RELEASED = nSlots; a full slot is published by posting its message, then adding to
 * PUBLISHED and MESSAGES. The subscriber takes the next message (receiveMessageOnPort; waitAsync on
 * MESSAGES when there is none), releases it at once, and hands its rows to the policy one by one. So
 * at most nSlots + 1 slots of rows are read ahead of the subscriber: those in flight, and the one it
 * is emitting. A waiting parser thread is woken once half the ring is free (or all of it), not at
 * every slot: each wake-up costs both threads a context switch, and on a busy machine the woken
 * thread may take the waker's core. NOTE: a message is posted before the counters move, so a
 * subscriber that sees MESSAGES move always finds the message.
 */
import { CsvError, type CsvErrorFacts } from './csvErrors.js';
import { sealBuffer } from '../../ops/sealedBuffers.js';
import { alignedRows } from './sampleBlocks.js';
import type { RowOrigin, Sample } from '../types.js';

export const Control = {
  messages: 0,
  published: 1,
  released: 2,
  rowsPut: 3,
  slotRows: 4,
  parserWaiting: 5,
  subscriberWaiting: 6,
} as const;
export const CONTROL_LENGTH = 7;

/** Default ring: 4 slots of about 512 KiB. */
export const DEFAULT_SLOTS = 4;
export const DEFAULT_SLOT_BYTES = 512 * 1024;

/** Free slots at which a waiting parser thread is woken: half the ring, rounded up. */
export function wakeAt(nSlots: number): number {
  return Math.ceil(nSlots / 2);
}
/** Entries per slot at most (a slot of narrow rows, or of errors only). */
export const MAX_SLOT_ROWS = 4096;

/** The shape of a slot's buffer. */
export interface SlotLayout {
  readonly rows: number;
  readonly nX: number;
  readonly nTarget: number;
}

/** Typed views of one slot's buffer (see the file comment). */
export interface SlotViews {
  readonly layout: SlotLayout;
  readonly meta: Float64Array;
  readonly label: Int32Array;
  readonly x: Float32Array;
  readonly target: Float32Array;
}

/** Entries per slot for rows of `nX` features and `nTarget` targets in about `slotBytes` (a multiple of `alignRows` when one fits: sampleBlocks.ts). */
export function layoutFor(nX: number, nTarget: number, slotBytes: number, alignRows = 1): SlotLayout {
  const rowBytes = 24 + 4 + 4 * (nX + nTarget);
  return { rows: alignedRows(rowBytes, slotBytes, MAX_SLOT_ROWS, 1, alignRows), nX, nTarget };
}

export function slotBytesOf(layout: SlotLayout): number {
  return layout.rows * (24 + 4 + 4 * (layout.nX + layout.nTarget));
}

export function slotViews(buffer: ArrayBuffer, layout: SlotLayout): SlotViews {
  const { rows, nX, nTarget } = layout;
  const labelAt = 24 * rows;
  const xAt = labelAt + 4 * rows;
  const targetAt = xAt + 4 * rows * nX;
  return {
    layout,
    meta: new Float64Array(buffer, 0, 3 * rows),
    label: new Int32Array(buffer, labelAt, rows),
    x: new Float32Array(buffer, xAt, rows * nX),
    target: new Float32Array(buffer, targetAt, rows * nTarget),
  };
}

// ───────────────────────────── messages ─────────────────────────────

/** An error as it crosses threads: a CsvError's facts, or any other error's name. */
export interface SentError {
  readonly name: string;
  readonly message: string;
  readonly stack: string;
  readonly facts?: CsvErrorFacts;
  readonly cause?: { readonly name: string; readonly message: string; readonly code?: string };
}

/** A row-level error entry of a slot. */
export interface SentRowError {
  /** Its index among the slot's entries. */
  readonly at: number;
  readonly record: number;
  readonly error: SentError;
  /** The row's raw text, when a skip report needs it. */
  readonly raw?: string;
}

/** How a read ended: read to the end, failed, or stopped by the parser thread after a row that fails the read. */
export type ReadEnd = { readonly kind: 'done' } | { readonly kind: 'failed'; readonly error: SentError } | { readonly kind: 'stopped' };

/** The message of one published slot (ring −1: no rows, only the end). */
export interface SlotMessage {
  readonly ring: number;
  readonly count: number;
  /** The read's counted bytes so far (CsvCounters.bytesRead of this read). */
  readonly bytesRead: number;
  /** The slot's buffer, with its layout (transferred with the message); absent for a slot of errors only. */
  readonly buffer?: { readonly buffer: ArrayBuffer; readonly layout: SlotLayout };
  readonly errors: readonly SentRowError[];
  /** `origin.id` per entry, when the source has an id column. */
  readonly ids?: readonly (string | null)[];
  /** `kept` per entry, when the source keeps columns. */
  readonly kept?: readonly (readonly string[] | null)[];
  readonly end?: ReadEnd;
}

export function sendError(err: unknown): SentError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err), stack: '' };
  const cause = err.cause instanceof Error ? { name: err.cause.name, message: err.cause.message, ...codeOf(err.cause) } : undefined;
  const base = { name: err.name, message: err.message, stack: err.stack ?? '', ...(cause === undefined ? {} : { cause }) };
  if (!(err instanceof CsvError)) return base;
  const { source, line, column, columnName, code, value } = err;
  return { ...base, facts: { source, line, column, code, ...(columnName === undefined ? {} : { columnName }), ...(value === undefined ? {} : { value }) } };
}

function codeOf(e: Error): { code?: string } {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' ? { code } : {};
}

/** The error again, on the receiving thread: a CsvError with the same facts and message, or an Error. */
export function receiveError(sent: SentError): Error {
  const err = sent.facts === undefined ? new Error(sent.message) : new CsvError(sent.facts, sent.message);
  if (sent.facts === undefined) err.name = sent.name;
  if (sent.cause !== undefined) {
    const cause = new Error(sent.cause.message);
    cause.name = sent.cause.name;
    if (sent.cause.code !== undefined) Object.assign(cause, { code: sent.cause.code });
    err.cause = cause;
  }
  if (sent.stack !== '') err.stack = `${err.stack ?? ''}\n    --- on the CSV parser thread ---\n${sent.stack.split('\n').slice(1).join('\n')}`;
  return err;
}

// ───────────────────────────── the subscriber's side ─────────────────────────────

const NO_RAW = (): string => '';

/**
 * The entries of a published slot, in input order: each Sample's `x` and `target` are views of the
 * slot's buffer (its own, never written again). `source` is the read's source name (every origin's
 * `source`).
 */
export class SlotEntries {
  /** The error entries by index; null when the slot holds Samples only (the common case: no lookups). */
  private readonly errorAt: Map<number, SentRowError> | null;
  private readonly rows: SlotViews | null;

  constructor(
    private readonly msg: SlotMessage,
    private readonly source: string,
  ) {
    this.errorAt = msg.errors.length === 0 ? null : new Map(msg.errors.map((e) => [e.at, e]));
    this.rows = msg.buffer === undefined ? null : slotViews(msg.buffer.buffer, msg.buffer.layout);
    // Moved here with the message: the parser thread no longer has it, and nothing here writes it.
    if (msg.buffer !== undefined) sealBuffer(msg.buffer.buffer);
  }

  get count(): number {
    return this.msg.count;
  }

  /** Entry i: a Sample, or a row-level CsvError. */
  result(i: number): Sample | CsvError {
    const e = this.errorAt?.get(i);
    if (e !== undefined) {
      const err = receiveError(e.error);
      if (!(err instanceof CsvError)) throw err;
      return err;
    }
    const { rows, msg } = this;
    if (rows === null) throw new Error(`fromCsv: the parser thread sent a row without its slot buffer (slot ${msg.ring}, entry ${i})`);
    const { nX, nTarget } = rows.layout;
    const x = rows.x.subarray(i * nX, (i + 1) * nX);
    const target = rows.target.subarray(i * nTarget, (i + 1) * nTarget);
    const place = { source: this.source, line: rows.meta[3 * i], record: rows.meta[3 * i + 1], endOffset: rows.meta[3 * i + 2] };
    const id = msg.ids?.[i];
    const origin: RowOrigin = id === undefined || id === null ? place : { ...place, id };
    const kept = msg.kept?.[i];
    return kept === undefined || kept === null ? { x, target, label: rows.label[i], origin } : { x, target, label: rows.label[i], origin, kept };
  }

  /** The record index of entry i. */
  record(i: number): number {
    const e = this.errorAt?.get(i);
    if (e !== undefined) return e.record;
    return this.rows?.meta[3 * i + 1] ?? -1;
  }

  /** The raw text of entry i, for a skip report. */
  raw(i: number): () => string {
    const text = this.errorAt?.get(i)?.raw;
    return text === undefined ? NO_RAW : () => text;
  }
}
