/**
 * The bytes under the CSV readers (fromCsv.ts): the input's chunks as Buffers with bytes given back
 * when one reader hands over to another (`ByteSource`), the window of not yet taken bytes the
 * csv-parse reader places records in (`ByteWindow`), the UTF-8 BOM, and the line at a resume offset.
 *
 * Offsets are absolute byte offsets in the input; lines are 1-based and count `\r\n`, `\n` and a
 * lone `\r` as one line break each (countLineBreaks, csvErrors.ts).
 */
import { createReadStream } from 'node:fs';
import { countLineBreaks, readError } from './csvErrors.js';
import type { Cursor } from './fastCsv.js';

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError(`expected bytes or strings from the input stream, got ${typeof chunk}`);
}

/** The input's chunks as Buffers, with bytes given back (`unshift`) when a reader hands over. */
export class ByteSource {
  private readonly it: AsyncIterator<unknown>;
  private readonly pushed: Buffer[] = [];

  constructor(
    stream: AsyncIterable<unknown>,
    private readonly name: string,
    /** Absolute offset of the next byte from the stream. */
    private offset: number,
    /** The run's counters (CsvCounters): `bytesRead` grows by every chunk read from the stream. */
    private readonly counters: { bytesRead: number },
  ) {
    this.it = stream[Symbol.asyncIterator]();
  }

  /** The next chunk, or null at the end. Stream failures become `CSV_READ_ERROR` at the offset reached. */
  async next(): Promise<Buffer | null> {
    const back = this.pushed.pop();
    if (back !== undefined) return back;
    let step: IteratorResult<unknown>;
    try {
      step = await this.it.next();
      if (step.done === true) return null;
      const buf = toBuffer(step.value);
      this.offset += buf.length;
      this.counters.bytesRead += buf.length;
      return buf;
    } catch (err) {
      throw readError(this.name, this.offset, err);
    }
  }

  unshift(bytes: Buffer): void {
    if (bytes.length > 0) this.pushed.push(bytes);
  }

  async close(): Promise<void> {
    await this.it.return?.();
  }
}

/** The bytes of the records not yet taken, kept so lines, offsets and raw text come from the bytes. */
export class ByteWindow {
  private chunks: Buffer[] = [];
  private start: number;
  end: number;

  constructor(offset: number) {
    this.start = offset;
    this.end = offset;
  }

  append(b: Buffer): void {
    this.chunks.push(b);
    this.end += b.length;
  }

  /** Bytes `[from, to)` in absolute offsets (`from ≥` the first byte kept). */
  slice(from: number, to: number): Buffer {
    const parts: Buffer[] = [];
    let at = this.start;
    for (const c of this.chunks) {
      const lo = Math.max(from, at);
      const hi = Math.min(to, at + c.length);
      if (lo < hi) parts.push(c.subarray(lo - at, hi - at));
      at += c.length;
      if (at >= to) break;
    }
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }

  discardBefore(offset: number): void {
    while (this.chunks.length > 0 && this.start + this.chunks[0].length <= offset) {
      this.start += this.chunks[0].length;
      this.chunks.shift();
    }
  }
}

/** Drops one leading UTF-8 BOM (even split across chunks); returns the first record's offset. */
export async function skipBom(src: ByteSource, at: Cursor): Promise<Cursor> {
  let head: Buffer = Buffer.alloc(0);
  while (head.length < 3) {
    const chunk = await src.next();
    if (chunk === null) break;
    head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
  }
  const hasBom = head.length >= 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf;
  src.unshift(hasBom ? head.subarray(3) : head);
  return hasBom ? { ...at, offset: at.offset + 3 } : at;
}

/** 1-based line at `end` in a file: 1 + line breaks before it. */
export async function lineAt(path: string, end: number, name: string): Promise<number> {
  if (end === 0) return 1;
  // Counted apart from the run: these bytes were read before, by the run being resumed.
  const src = new ByteSource(createReadStream(path, { end: end - 1 }), name, 0, { bytesRead: 0 });
  let line = 1;
  let lastWasCr = false;
  for (let chunk = await src.next(); chunk !== null; chunk = await src.next()) {
    line += countLineBreaks(chunk);
    if (lastWasCr && chunk[0] === 0x0a) line--;
    lastWasCr = chunk[chunk.length - 1] === 0x0d;
  }
  return line;
}
