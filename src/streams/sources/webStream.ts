/**
 * A web `ReadableStream<Uint8Array>` — a browser `File.stream()`, a `fetch` Response's `body`, Node's
 * `stream/web` — as the async iterable of chunks the CSV readers take (byteSource.ts), with a
 * `destroy()` that cancels the stream even while a read is pending (fromCsv's unsubscribe).
 *
 * It reads through `getReader()`, not the stream's own async iterator, so it also works where
 * ReadableStream is not async-iterable, and so a pending read can be cancelled: an async iterator's
 * `return()` would wait for it.
 */

/** A web byte stream: DOM's and Node's global `ReadableStream<Uint8Array>`. */
export type WebByteStream = ReadableStream<Uint8Array>;

/** True for a web ReadableStream (has `getReader`), false for a Node stream or anything else. */
export function isWebStream(input: unknown): input is WebByteStream {
  return typeof input === 'object' && input !== null && 'getReader' in input && typeof input.getReader === 'function' && !('pipe' in input);
}

/** The chunks of a web stream, and `destroy()` to cancel it. Throws when another reader holds its lock. */
export function webStreamChunks(stream: WebByteStream, name: string): AsyncIterable<Uint8Array> & { destroy(): void } {
  if (stream.locked) throw new TypeError(`fromCsv: the stream ${name} is locked (another reader is reading it); pass a stream nobody reads yet`);
  const reader = stream.getReader();
  let isDone = false;
  const finish = (): void => {
    if (isDone) return;
    isDone = true;
    reader.cancel().catch(() => undefined);
  };
  return {
    destroy: finish,
    [Symbol.asyncIterator]: () => ({
      async next(): Promise<IteratorResult<Uint8Array>> {
        if (isDone) return { done: true, value: undefined };
        const step = await reader.read();
        if (step.done) {
          isDone = true;
          reader.releaseLock();
          return { done: true, value: undefined };
        }
        if (!(step.value instanceof Uint8Array)) throw new TypeError(`expected Uint8Array chunks, got ${typeof step.value}`);
        return { done: false, value: step.value };
      },
      async return(): Promise<IteratorResult<Uint8Array>> {
        finish();
        return { done: true, value: undefined };
      },
    }),
  };
}
