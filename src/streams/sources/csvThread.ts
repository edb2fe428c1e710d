/**
 * fromCsv's `thread` option: the reading half of a read (csvRowReader.ts) runs on a CSV parser
 * thread (csvWorker.ts), which writes finished rows into a ring of slots whose buffers move to this
 * thread with them (sampleRing.ts); this thread takes them in input order and applies the policy half
 * (csvRowPolicy.ts) — so the Samples, errors, counters, skip reports and gate credits a subscriber
 * sees are exactly those of a read on its own thread, while the scanning and converting of the bytes
 * costs it nothing.
 *
 *   parser thread:  bytes → rows ─▶ slot ─▶ slot ─▶ … (at most `slots` ahead, waiting while full)
 *   this thread:                    take a slot (its buffer moves here), release it, emit its rows
 *
 * - Pull-driven: the parser thread is at most `slots` + 1 slots (of about `slotBytes` each: those in
 *   flight, and the one being emitted) ahead of the row being emitted; `stats()` reports the rows
 *   ahead and that bound.
 * - Between slots this thread yields to its event loop (setImmediate), so timers, signals and file
 *   writes (checkpoints) go on while the parser thread keeps the ring full.
 * - A `CsvThread` (createCsvThread) serves one read at a time and keeps its thread between reads, so
 *   the epochs of a run share one thread started once (about 50–100 ms). A read that ends — at the
 *   end of the input, or with an error met by the reader — leaves the thread idle for the next read;
 *   unsubscribing earlier terminates the thread, and the next read starts a new one. The thread is
 *   unref'd while idle (an idle CsvThread never keeps the process alive); `close()` ends it.
 * - `fromCsv(path, { thread: true })` starts a thread for its subscription and ends it with it.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { Observable } from 'rxjs';
import { type CsvCounters, CsvRowPolicy, createCounters, type PolicyOptions } from './csvRowPolicy.js';
import { type ReadOptions, sourceName } from './csvRowReader.js';
import type { CsvWorkerData, ReadRequest } from './csvWorker.js';
import {
  CONTROL_LENGTH,
  Control,
  DEFAULT_SLOT_BYTES,
  DEFAULT_SLOTS,
  type SlotMessage,
  receiveError,
  wakeAt,
  SlotEntries,
} from './sampleRing.js';
import type { Sample } from '../types.js';

/** Options of createCsvThread. */
export interface CsvThreadOptions {
  /** Slots in the ring (default 4). */
  readonly slots?: number;
  /** Bytes per slot, about (default 256 KiB): a slot holds as many rows as fit (1 to 4,096). */
  readonly slotBytes?: number;
}

/** A CsvThread's counters, for tests and logs. */
export interface CsvThreadStats {
  /** Parser threads started over its life (a read stopped early costs one). */
  readonly started: number;
  /** Parser threads that have exited (ended by a read stopped early, by close, or failed). */
  readonly exited: number;
  /** Reads started. */
  readonly reads: number;
  /** Rows (and skipped rows) the parser thread has written that were not yet handed on. */
  readonly rowsAhead: number;
  /** The bound on `rowsAhead`: (slots + 1) × rows per slot of the current read (the ring and the slot being handed on); 0 before its first row. */
  readonly rowsAheadLimit: number;
  readonly isClosed: boolean;
}

/** The options of one read, as this thread keeps them: the policy's (functions included) and the reader's (sent). */
export type ThreadReadOptions = ReadOptions & PolicyOptions & { readonly counters?: CsvCounters; readonly thread?: unknown };

/** This thread's side of one parser thread. */
interface ThreadHandle {
  readonly worker: Worker;
  readonly control: Int32Array;
  readonly requests: MessagePort;
  readonly slots: MessagePort;
  failure: Error | null;
  /** Entries handed to the policy (this thread only: ROWS_PUT − this is the read-ahead). */
  rowsTaken: number;
}

/** The built worker entry: next to this file in dist/, or dist/src/streams/sources/ when running from TypeScript sources (vitest). */
function workerUrl(): URL {
  const here = import.meta.url;
  const url = here.endsWith('.ts') ? new URL('../../../dist/src/streams/sources/csvWorker.js', here) : new URL('./csvWorker.js', here);
  if (!existsSync(fileURLToPath(url))) throw new Error(`fromCsv: parser thread entry ${fileURLToPath(url)} not found (run \`npm run build\`)`);
  return url;
}

/** Wakes this thread's wait for a message (a failure, or a stop). */
function wake(h: ThreadHandle): void {
  Atomics.add(h.control, Control.messages, 1);
  Atomics.notify(h.control, Control.messages);
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A CSV parser thread that serves fromCsv reads one at a time (see the file comment). */
export class CsvThread {
  private handle: ThreadHandle | null = null;
  private isBusy = false;
  private isClosed = false;
  private started = 0;
  private exited = 0;
  private reads = 0;
  private readonly nSlots: number;
  private readonly slotBytes: number;

  constructor(options: CsvThreadOptions = {}) {
    const { slots = DEFAULT_SLOTS, slotBytes = DEFAULT_SLOT_BYTES } = options;
    if (!(Number.isSafeInteger(slots) && slots >= 1)) throw new RangeError(`createCsvThread: slots must be a positive integer, got ${slots}`);
    if (!(Number.isSafeInteger(slotBytes) && slotBytes >= 1)) throw new RangeError(`createCsvThread: slotBytes must be a positive integer, got ${slotBytes}`);
    this.nSlots = slots;
    this.slotBytes = slotBytes;
  }

  /** Starts the parser thread now (else at the first read), so its start-up overlaps other work. */
  warm(): this {
    if (!this.isClosed) this.handle ??= this.start();
    return this;
  }

  stats(): CsvThreadStats {
    const h = this.handle;
    const c = h?.control;
    return {
      started: this.started,
      exited: this.exited,
      reads: this.reads,
      rowsAhead: h === null || c === undefined ? 0 : (Atomics.load(c, Control.rowsPut) - h.rowsTaken) | 0,
      rowsAheadLimit: c === undefined ? 0 : (this.nSlots + 1) * Atomics.load(c, Control.slotRows),
      isClosed: this.isClosed,
    };
  }

  /** Ends the thread; a read in progress errors. Idempotent. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    const h = this.handle;
    if (h !== null) this.discard(h, new Error('fromCsv: the CSV parser thread was closed during the read'));
  }

  /** fromCsv on this thread: `input` must be a file path; the options were checked by fromCsv. */
  read(input: string, options: ThreadReadOptions): Observable<Sample> {
    return new Observable<Sample>((subscriber) => {
      if (this.isClosed) {
        subscriber.error(new Error('fromCsv: the CSV parser thread is closed'));
        return;
      }
      if (this.isBusy) {
        subscriber.error(new Error('fromCsv: a CSV parser thread serves one read at a time, and another one is active'));
        return;
      }
      let h: ThreadHandle;
      try {
        h = this.handle ??= this.start();
      } catch (err) {
        subscriber.error(err);
        return;
      }
      this.isBusy = true;
      this.reads++;
      h.worker.ref();
      // The thread is idle: whatever an earlier read left untaken (rows after the one that failed it) is gone.
      h.rowsTaken = Atomics.load(h.control, Control.rowsPut);
      const abort = new AbortController();
      const name = sourceName(input, options);
      const counters = options.counters ?? createCounters();
      const policy = new CsvRowPolicy(name, options, counters, subscriber, abort.signal);
      /** The read's last message arrived: the parser thread is idle again. */
      let isEnded = false;
      let isDone = false;
      /** The read is over for this thread (complete, error or unsubscribe): keep an idle thread, end a busy one. */
      const endRead = (): void => {
        if (isDone) return;
        isDone = true;
        this.isBusy = false;
        if (isEnded) h.worker.unref();
        else this.discard(h, null);
      };
      const { onSkip, gate: _gate, counters: _counters, thread: _thread, ...sent } = options;
      const request: ReadRequest = {
        input,
        options: sent,
        needsRaw: options.onBadRow === 'skip' && onSkip !== undefined,
        onBadRow: options.onBadRow ?? 'error',
        ...(options.maxBadRows === undefined ? {} : { maxBadRows: options.maxBadRows }),
        skippedBefore: counters.rowsSkipped,
      };
      try {
        h.requests.postMessage(request);
      } catch (err) {
        isEnded = true;
        endRead();
        subscriber.error(err);
        return;
      }
      this.consume(h, policy, name, counters, abort.signal, options.startOffset ?? 0, () => (isEnded = true)).then(
        () => {
          // Ended first: completing may start the next read (the next epoch) at once.
          endRead();
          subscriber.complete();
        },
        (err: unknown) => {
          endRead();
          subscriber.error(err);
        },
      );
      return () => {
        abort.abort();
        endRead();
      };
    });
  }

  private start(): ThreadHandle {
    const url = workerUrl();
    const control = new Int32Array(new SharedArrayBuffer(4 * CONTROL_LENGTH));
    const requests = new MessageChannel();
    const slots = new MessageChannel();
    const data: CsvWorkerData = { control: control.buffer as SharedArrayBuffer, nSlots: this.nSlots, slotBytes: this.slotBytes, requests: requests.port2, slots: slots.port2 };
    const worker = new Worker(url, { workerData: data, transferList: [requests.port2, slots.port2] });
    this.started++;
    worker.unref();
    const h: ThreadHandle = { worker, control, requests: requests.port1, slots: slots.port1, failure: null, rowsTaken: 0 };
    worker.on('error', (err: Error) => {
      h.failure ??= new Error(`fromCsv: the CSV parser thread failed: ${err.message}`);
      wake(h);
    });
    worker.on('exit', (code: number) => {
      this.exited++;
      h.failure ??= new Error(`fromCsv: the CSV parser thread exited (code ${code}) during the read`);
      if (this.handle === h) this.handle = null;
      wake(h);
    });
    return h;
  }

  /** Ends a thread that is not idle (a read stopped early, or close): the next read starts a new one. */
  private discard(h: ThreadHandle, failure: Error | null): void {
    if (this.handle === h) this.handle = null;
    h.failure ??= failure ?? new Error('fromCsv: the read was stopped');
    h.requests.close();
    h.slots.close();
    h.worker.terminate().catch(() => undefined);
    wake(h);
  }

  /** Takes the read's slots in order and hands their rows to the policy; resolves at the end of the read. */
  private async consume(h: ThreadHandle, policy: CsvRowPolicy, name: string, counters: CsvCounters, signal: AbortSignal, startOffset: number, onEnd: () => void): Promise<void> {
    let bytesBefore = 0;
    for (;;) {
      const msg = await nextMessage(h, signal);
      if (msg === null) return;
      if (msg.end !== undefined) onEnd();
      counters.bytesRead += msg.bytesRead - bytesBefore;
      bytesBefore = msg.bytesRead;
      if (msg.count > 0) {
        // The slot's buffer is ours now: the slot goes back at once, and the parser thread fills the next.
        const slot = new SlotEntries(msg, name);
        releaseSlot(h, this.nSlots);
        for (let i = 0; i < slot.count; i++) {
          h.rowsTaken++;
          const wait = policy.accept(slot.result(i), slot.record(i), slot.raw(i));
          if (wait !== undefined) await wait;
          if (signal.aborted) return;
        }
      }
      const { end } = msg;
      if (end !== undefined) {
        if (end.kind === 'failed') throw receiveError(end.error);
        if (end.kind === 'stopped') throw new Error('fromCsv: internal: the parser thread stopped the read, but no row failed it');
        policy.checkEnd(startOffset);
        return;
      }
      await nextTurn();
      if (signal.aborted) return;
    }
  }
}

/** Gives a slot back; wakes a waiting parser thread once wakeAt(nSlots) slots are free. */
function releaseSlot(h: ThreadHandle, nSlots: number): void {
  const c = h.control;
  const released = Atomics.add(c, Control.released, 1) + 1;
  const free = nSlots - ((Atomics.load(c, Control.published) - released) | 0);
  if (free >= wakeAt(nSlots) && Atomics.load(c, Control.parserWaiting) === 1) Atomics.notify(c, Control.released);
}

/** The next slot message of the read, waiting for the parser thread; null once the read is aborted. */
async function nextMessage(h: ThreadHandle, signal: AbortSignal): Promise<SlotMessage | null> {
  const c = h.control;
  for (;;) {
    if (signal.aborted) return null;
    let got = receiveMessageOnPort(h.slots);
    if (got !== undefined) return got.message as SlotMessage;
    if (h.failure !== null) throw h.failure;
    Atomics.store(c, Control.subscriberWaiting, 1);
    const seen = Atomics.load(c, Control.messages);
    got = receiveMessageOnPort(h.slots);
    if (got === undefined && h.failure === null && !signal.aborted) {
      const w = Atomics.waitAsync(c, Control.messages, seen);
      if (w.async) await w.value;
    }
    Atomics.store(c, Control.subscriberWaiting, 0);
    if (got !== undefined) return got.message as SlotMessage;
  }
}

/**
 * A CSV parser thread for fromCsv's `thread` option, kept between reads (the epochs of a run); the
 * caller closes it.
 *
 * @example
 * const thread = createCsvThread();
 * fit(model, { trainSource: () => fromCsv('train.csv', { classes: 10, thread }), epochs: 5, … })
 *   .subscribe({ complete: () => thread.close() });
 */
export function createCsvThread(options: CsvThreadOptions = {}): CsvThread {
  return new CsvThread(options);
}

/** fromCsv with `thread`: on the given CsvThread, or (`true`) on a thread of the subscription's own. */
export function readOnThread(thread: true | CsvThread, input: string, options: ThreadReadOptions): Observable<Sample> {
  if (thread !== true) return thread.read(input, options);
  return new Observable<Sample>((subscriber) => {
    const own = new CsvThread();
    const sub = own.read(input, options).subscribe({
      next: (s) => subscriber.next(s),
      error: (err: unknown) => {
        own.close();
        subscriber.error(err);
      },
      complete: () => {
        own.close();
        subscriber.complete();
      },
    });
    return () => {
      sub.unsubscribe();
      own.close();
    };
  });
}
