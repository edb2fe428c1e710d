/**
 * The CSV parser thread (worker_threads entry; csvThread.ts starts it): serves one read at a time.
 * For each read it runs the reading half of fromCsv (csvRowReader.ts — the same readers, errors and
 * line numbers as on the subscriber's thread) and writes every record's outcome, in input order,
 * into the ring of slots (sampleRing.ts), waiting while the ring is full. The subscriber's thread
 * applies the policy (csvRowPolicy.ts) to what it takes out of the ring.
 *
 * A slot is published when it is full, when a followed file is at its end for now (so a live row
 * waits for no other), and at the end of the read, whose last message says how it ended. With
 * `onBadRow: 'error'`, or once the skip budget `maxBadRows` is spent, the first row that fails the
 * read is the last one written: the read stops there (`stopped`), and the subscriber raises its error.
 * The thread is told nothing else: a subscriber that stops early terminates it.
 */
import { type MessagePort, workerData } from 'node:worker_threads';
import { CsvError } from './csvErrors.js';
import { CsvRowReader, type ReadOptions } from './csvRowReader.js';
import type { RowPlacer } from './rowPlacer.js';
import {
  Control,
  type ReadEnd,
  type SentRowError,
  type SlotLayout,
  type SlotMessage,
  type SlotViews,
  MAX_SLOT_ROWS,
  layoutFor,
  sendError,
  slotBytesOf,
  slotViews,
} from './sampleRing.js';
import type { Sample } from '../types.js';

/** What the thread is started with. */
export interface CsvWorkerData {
  readonly control: SharedArrayBuffer;
  readonly nSlots: number;
  readonly slotBytes: number;
  /** Read requests arrive here. */
  readonly requests: MessagePort;
  /** Slot messages go out here (the subscriber takes them with receiveMessageOnPort). */
  readonly slots: MessagePort;
}

/** One read to serve. */
export interface ReadRequest {
  readonly input: string;
  readonly options: ReadOptions;
  /** Whether skipped rows need their raw text (a skip policy with an onSkip callback). */
  readonly needsRaw: boolean;
  readonly onBadRow: 'error' | 'skip';
  /** The skip budget, and the rows already skipped in the counters the read continues (a resume). */
  readonly maxBadRows?: number;
  readonly skippedBefore: number;
}

/** Thrown out of the readers after the row that fails the read has been written. */
const STOP = Symbol('stop');

/** The slot being filled. */
interface OpenSlot {
  readonly ring: number;
  count: number;
  /** Entries it takes: its buffer's rows (or, for errors only, the rows of the read's layout). */
  readonly capacity: number;
  readonly views: SlotViews | null;
  readonly errors: SentRowError[];
  /** Characters of raw text it carries (a slot of long bad rows is published early, bounding memory). */
  rawChars: number;
  readonly ids: (string | null)[];
  readonly kept: (readonly string[] | null)[];
  /** The slot's own buffer (transferred with its message), or none for a slot of errors only. */
  readonly buffer?: SlotMessage['buffer'];
}

const NO_ROWS = new Float32Array(0);

/**
 * The parser thread's side of the ring for one read. It is also the fast scanner's RowPlacer
 * (fastCsv.ts): good rows are scanned straight into the open slot, with no Sample in between.
 */
class RingWriter implements RowPlacer {
  private slot: OpenSlot | null = null;
  private layout: SlotLayout | null = null;
  private skipped = 0;
  bytes = { bytesRead: 0 };
  // The place of the next row (RowPlacer): the open slot's arrays at its next entry.
  x: Float32Array = NO_ROWS;
  xAt = 0;
  target: Float32Array = NO_ROWS;
  targetAt = 0;

  constructor(
    private readonly control: Int32Array,
    private readonly port: MessagePort,
    private readonly nSlots: number,
    private readonly slotBytes: number,
    private readonly request: ReadRequest,
  ) {}

  /**
   * The reader's sink: writes one outcome, or waits for a free slot first (returns that wait). A
   * Sample (from csv-parse, which the scanner hands over to) is copied into the place of the next row.
   */
  put(result: Sample | CsvError, record: number, raw: () => string): void | Promise<void> {
    if (result instanceof CsvError) return this.writeError(result, record, this.request.needsRaw ? raw() : undefined);
    if (!this.isReady(result.x.length, result.target.length)) return this.whenReady().then(() => this.put(result, record, raw));
    this.x.set(result.x, this.xAt);
    this.target.set(result.target, this.targetAt);
    const o = result.origin;
    return this.placed(o.line, o.record, o.endOffset, result.label, o.id ?? null, result.kept ?? null);
  }

  isReady(nX: number, nTarget: number): boolean {
    this.fixLayout(nX, nTarget);
    // A slot of errors only has no buffer: the next row goes into a slot that has one.
    if (this.slot !== null && this.slot.views === null) this.publish();
    if (this.slot === null && !this.open(true)) return false;
    const slot = this.slot;
    const v = slot?.views;
    if (slot === null || v === null || v === undefined) throw new Error('internal: no slot with a buffer open');
    this.x = v.x;
    this.xAt = slot.count * v.layout.nX;
    this.target = v.target;
    this.targetAt = slot.count * v.layout.nTarget;
    return true;
  }

  whenReady(): Promise<void> {
    return this.whenFree();
  }

  /** A good row the scanner wrote at the place: its facts complete the entry. */
  placed(line: number, record: number, endOffset: number, label: number, id: string | null, kept: readonly string[] | null): void {
    const slot = this.slot;
    const v = slot?.views;
    if (slot === null || v === null || v === undefined) throw new Error('internal: a placed row without an open slot');
    const i = slot.count++;
    Atomics.add(this.control, Control.rowsPut, 1);
    v.meta[3 * i] = line;
    v.meta[3 * i + 1] = record;
    v.meta[3 * i + 2] = endOffset;
    v.label[i] = label;
    slot.ids.push(id);
    slot.kept.push(kept);
    if (slot.count === slot.capacity || slot.rawChars >= this.slotBytes) this.publish();
  }

  /** Every row of a read has the sizes of its column plan: the first one fixes the layout. */
  private fixLayout(nX: number, nTarget: number): void {
    if (this.layout !== null) return;
    this.layout = layoutFor(nX, nTarget, this.slotBytes, this.request.options.alignRows);
    Atomics.store(this.control, Control.slotRows, this.layout.rows);
  }

  /** A row-level error's entry (a slot of errors only has no buffer: it needs none). */
  private writeError(result: CsvError, record: number, raw: string | undefined): void | Promise<void> {
    if (this.slot === null && !this.open(false)) return this.whenFree().then(() => this.writeError(result, record, raw));
    const slot = this.slot;
    if (slot === null) throw new Error('internal: no slot open');
    const i = slot.count++;
    Atomics.add(this.control, Control.rowsPut, 1);
    this.skipped++;
    const r = this.request;
    // The policy's own test (csvRowPolicy.ts): this row fails the read, or is skipped within the budget.
    const isLast = r.onBadRow !== 'skip' || !result.isRowLevel || (r.maxBadRows !== undefined && r.skippedBefore + this.skipped > r.maxBadRows);
    // A skipped row's error travels without its stack (only the one that fails the read is thrown).
    const sent = sendError(result);
    slot.errors.push({ at: i, record, error: isLast ? sent : { ...sent, stack: '' }, ...(raw === undefined ? {} : { raw }) });
    slot.rawChars += (raw?.length ?? 0) + result.message.length;
    slot.ids.push(null);
    slot.kept.push(null);
    if (isLast) {
      this.end({ kind: 'stopped' });
      throw STOP;
    }
    if (slot.count === slot.capacity || slot.rawChars >= this.slotBytes) this.publish();
  }

  /** Opens the slot at the next ring index when one is free; false when the ring is full. */
  private open(hasRows: boolean): boolean {
    const c = this.control;
    const published = Atomics.load(c, Control.published);
    if (((published - Atomics.load(c, Control.released)) | 0) >= this.nSlots) return false;
    const ring = ((published % this.nSlots) + this.nSlots) % this.nSlots;
    let views: SlotViews | null = null;
    let buffer: SlotMessage['buffer'];
    if (hasRows && this.layout !== null) {
      // Every slot gets a buffer of its own, transferred with its message: the subscriber's Samples
      // are views of it, so nothing is copied out, and it is never written again.
      buffer = { buffer: new ArrayBuffer(slotBytesOf(this.layout)), layout: this.layout };
      views = slotViews(buffer.buffer, buffer.layout);
    }
    const capacity = views?.layout.rows ?? this.layout?.rows ?? MAX_SLOT_ROWS;
    this.slot = { ring, count: 0, capacity, views, errors: [], rawChars: 0, ids: [], kept: [], ...(buffer === undefined ? {} : { buffer }) };
    return true;
  }

  /** Resolves when a slot is free (the subscriber notifies only while PARSER_WAITING is 1). */
  private async whenFree(): Promise<void> {
    const c = this.control;
    for (;;) {
      Atomics.store(c, Control.parserWaiting, 1);
      const released = Atomics.load(c, Control.released);
      if (((Atomics.load(c, Control.published) - released) | 0) < this.nSlots) break;
      const w = Atomics.waitAsync(c, Control.released, released);
      if (w.async) await w.value;
    }
    Atomics.store(c, Control.parserWaiting, 0);
  }

  /** Posts the open slot (if it holds entries), with `end` when the read is over. */
  publish(end?: ReadEnd): void {
    const slot = this.slot;
    const c = this.control;
    if (slot === null || slot.count === 0) {
      if (end !== undefined) this.post({ ring: -1, count: 0, bytesRead: this.bytes.bytesRead, errors: [], end });
      return;
    }
    this.slot = null;
    const hasIds = slot.ids.some((id) => id !== null);
    const hasKept = slot.kept.some((k) => k !== null);
    this.post({
      ring: slot.ring,
      count: slot.count,
      bytesRead: this.bytes.bytesRead,
      ...(slot.buffer === undefined ? {} : { buffer: slot.buffer }),
      errors: slot.errors,
      ...(hasIds ? { ids: slot.ids } : {}),
      ...(hasKept ? { kept: slot.kept } : {}),
      ...(end === undefined ? {} : { end }),
    });
    Atomics.add(c, Control.published, 1);
  }

  end(end: ReadEnd): void {
    this.publish(end);
  }

  private post(msg: SlotMessage): void {
    this.port.postMessage(msg, msg.buffer === undefined ? [] : [msg.buffer.buffer]);
    Atomics.add(this.control, Control.messages, 1);
    if (Atomics.load(this.control, Control.subscriberWaiting) === 1) Atomics.notify(this.control, Control.messages);
  }
}

function serve(data: CsvWorkerData): void {
  const control = new Int32Array(data.control);
  // Reads come one at a time (the subscriber's side starts one only after the last one's end).
  data.requests.on('message', (request: ReadRequest) => {
    const abort = new AbortController();
    const writer = new RingWriter(control, data.slots, data.nSlots, data.slotBytes, request);
    const reader = new CsvRowReader(request.input, request.options, (result, record, raw) => writer.put(result, record, raw), abort.signal, writer.bytes, () => writer.publish(), writer);
    reader.readAll().then(
      () => writer.end({ kind: 'done' }),
      (err: unknown) => {
        if (err !== STOP) writer.end({ kind: 'failed', error: sendError(err) });
      },
    );
  });
}

serve(workerData as CsvWorkerData);
