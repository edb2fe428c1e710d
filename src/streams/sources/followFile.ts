/**
 * `followFile`: the bytes of a file that another program keeps appending to, the way `tail -f` reads
 * it — the input of fromCsv's `follow` option.
 *
 * It reads from an offset to the end, then waits and reads what was appended, forever, until it is
 * destroyed (fromCsv's unsubscribe). It never reads a byte twice; a row whose line ending has not
 * arrived yet stays in the readers' carry (fastCsv.ts and csv-parse emit a record only at its line
 * ending, and fromCsv emits nothing once unsubscribed), so stopping leaves the position at the last
 * complete row: a checkpoint taken there resumes exactly (startOffset = its endOffset).
 *
 * Polling, not fs.watch: at the end of the file it `fstat`s the open file and `stat`s the path every
 * `pollMs` (default 100 ms). fs.watch is unreliable on network and container file systems, may drop
 * or merge events and never says "truncated"; a stat every 100 ms costs nothing and bounds the latency.
 *
 * Each time it reaches the end after new bytes it yields one EMPTY chunk, meaning "at the end for
 * now": csv-parse holds a record back until it sees bytes after it, and the csv-parse reader
 * (csvParseReader.ts) then hands over the complete lines it holds.
 *
 * What it states (as the read error `FILE: cannot read at byte offset N: …`, readError in csvErrors.ts):
 * - truncation: the open file's size is below the read offset (copytruncate log rotation, or a
 *   writer that started over) — rows may have been lost, so reading stops;
 * - rotation: the path now names another file (a new inode; rename-and-create rotation). The old file
 *   is read to its end first, so no row appended to it before the rotation is lost; then reading stops
 *   (the new file has its own header: start a new read of it).
 * A path that disappears (the file deleted) is not an error: like `tail -f`, it goes on reading the
 * open file, which a writer may still append to. NOTE: a truncation followed, before the next poll, by
 * writes past the old offset cannot be seen (no reader of a plain file can see it).
 */
import { type FileHandle, open, stat } from 'node:fs/promises';

export interface FollowOptions {
  /** How often to look for appended bytes at the end of the file, in ms (default 100). */
  readonly pollMs?: number;
  /** Read size in bytes (default 64 KiB). */
  readonly highWaterMark?: number;
  /** Testing only: awaited after a read found the end and before the path is looked at — where a writer's last rows and a rotation can slip in. */
  readonly testHooks?: { readonly beforePathCheck?: () => void | Promise<void> };
}

/** The chunks of a followed file; `destroy()` ends the iteration at its next wait or read. */
export interface FollowedFile extends AsyncIterable<Buffer> {
  destroy(): void;
}

const DEFAULT_POLL_MS = 100;
const DEFAULT_HIGH_WATER_MARK = 64 * 1024;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Follows `path` from byte `offset` (see the file comment). */
export function followFile(path: string, offset: number, options: FollowOptions = {}): FollowedFile {
  const abort = new AbortController();
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const size = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
  async function* chunks(): AsyncGenerator<Buffer> {
    const signal = abort.signal;
    const file: FileHandle = await open(path, 'r');
    try {
      const { ino } = await file.stat();
      let at = offset;
      let isIdle = false;
      /** The inode the path names since a rotation was seen; the old file is then read to its end. */
      let rotatedTo: number | null = null;
      while (!signal.aborted) {
        const buf = Buffer.allocUnsafe(size);
        const { bytesRead } = await file.read(buf, 0, size, at);
        if (bytesRead > 0) {
          at += bytesRead;
          isIdle = false;
          yield buf.subarray(0, bytesRead);
          continue;
        }
        if (!isIdle) {
          // An empty chunk says "at the end for now": the csv-parse reader hands over its last rows.
          isIdle = true;
          yield Buffer.alloc(0);
          continue;
        }
        if (rotatedTo !== null) {
          throw new Error(`the file was rotated (the path now names another file, inode ${rotatedTo} instead of ${ino}); every row of the old file was read — read the new file from its start`);
        }
        await options.testHooks?.beforePathCheck?.();
        const now = await file.stat();
        if (now.size < at) throw new Error(`the file was truncated (its size is now ${now.size} bytes); rows written since may be lost, so reading stops`);
        const atPath = await stat(path).catch(() => null);
        if (atPath !== null && atPath.ino !== ino) {
          // Rows appended after the last read and before the rotation are in the old file still: the
          // loop reads on to its end first, then states the rotation.
          rotatedTo = atPath.ino;
          continue;
        }
        await sleep(pollMs, signal);
      }
    } finally {
      await file.close();
    }
  }
  const iterable = chunks();
  return {
    [Symbol.asyncIterator]: () => iterable,
    destroy: () => abort.abort(),
  };
}
