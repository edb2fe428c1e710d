/**
 * Buffers of rows that are written once, before their rows are handed on, and never again: fromCsv's
 * blocks (streams/sources/sampleBlocks.ts on the subscriber's thread; the slot buffers a parser thread
 * hands over, sampleRing.ts). batch() takes a batch whose rows lie one after another in such a buffer
 * as a view of it instead of a copy: a view is as safe to hold as a copy exactly when nobody writes
 * the buffer again, and only the source that filled it can promise that.
 *
 * NOTE: module state by design: a WeakSet keyed by the buffers themselves, so a buffer leaves it with
 * its last view. Each thread has its own (a buffer moved to a thread is sealed there).
 */
const sealed = new WeakSet<ArrayBufferLike>();

/** Marks `buffer` as written for good: its rows may be handed on as views. */
export function sealBuffer(buffer: ArrayBufferLike): void {
  sealed.add(buffer);
}

/** Whether the source that filled `buffer` has sealed it. */
export function isSealedBuffer(buffer: ArrayBufferLike): boolean {
  return sealed.has(buffer);
}
