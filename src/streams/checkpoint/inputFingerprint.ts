/**
 * Input fingerprints: what identifies the input file a checkpoint was taken from, and how the input
 * found on resume is compared with it (docs/checkpoints.md, "Input fingerprints").
 *
 * A fingerprint is the file's size, mtime and the SHA-256 of its first and last 64 KiB — cheap at
 * any size — plus, when asked, the SHA-256 of a whole prefix [0, offset), which lets a file that only
 * grew (append-only) be resumed. A run stores one in each checkpoint (`input`); on resume the store
 * (checkpoint.ts) compares it with the file found and refuses one that differs under the chosen
 * InputChangePolicy.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { CheckpointError, ioError, type Difference } from './checkpointError.js';
import type { Checkpoint, InputFingerprint } from './checkpointFormat.js';

const EDGE_BYTES = 64 << 10;

async function readRange(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const out = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(out, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return out.subarray(0, done);
}

/**
 * SHA-256 (hex) of bytes [0, offset) of a file, streamed. Throws INPUT_TOO_SHORT when the file is
 * shorter than `offset`.
 *
 * @example const h = await prefixHash('data.csv', ckpt.position.offset);
 */
export async function prefixHash(path: string, offset: number): Promise<string> {
  const hash = createHash('sha256');
  let n = 0;
  if (offset > 0) {
    try {
      for await (const chunk of createReadStream(path, { start: 0, end: offset - 1 })) {
        hash.update(chunk as Buffer);
        n += (chunk as Buffer).length;
      }
    } catch (err) {
      throw ioError(err, path, 'read the input', 'its fingerprint cannot be checked');
    }
  }
  if (n < offset) throw new CheckpointError('INPUT_TOO_SHORT', path, `${path} has ${n} bytes, fewer than the ${offset} the prefix hash covers`);
  return hash.digest('hex');
}

/**
 * What identifies an input file: size, mtime, SHA-256 of its first and last 64 KiB, and, with
 * `prefixOffset`, of the whole prefix [0, prefixOffset) (needed to resume an append-only file).
 *
 * @example const fp = await inputFingerprint('data.csv');
 */
export async function inputFingerprint(path: string, options: { readonly prefixOffset?: number } = {}): Promise<InputFingerprint> {
  const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
  let head: Buffer;
  let tail: Buffer;
  let size: number;
  let mtimeMs: number;
  try {
    const handle = await open(path, 'r');
    try {
      const st = await handle.stat();
      size = st.size;
      mtimeMs = st.mtimeMs;
      head = await readRange(handle, 0, Math.min(EDGE_BYTES, size));
      tail = await readRange(handle, Math.max(0, size - EDGE_BYTES), Math.min(EDGE_BYTES, size));
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw ioError(err, path, 'read the input', 'its fingerprint cannot be taken');
  }
  const fingerprint = { path, size, mtimeMs, head: sha(head), tail: sha(tail) };
  if (options.prefixOffset === undefined) return fingerprint;
  return { ...fingerprint, prefix: { offset: options.prefixOffset, sha256: await prefixHash(path, options.prefixOffset) } };
}

/**
 * How a changed input is treated on resume: `refuse` any change (size, mtime, first/last 64 KiB);
 * `allow-append` a file that only grew (the checkpoint's prefix hash must still match); `allow` anything.
 */
export type InputChangePolicy = 'refuse' | 'allow-append' | 'allow';

const short = (hash: string): string => `${hash.slice(0, 12)}…`;

/** The ways the input at `path` differs from a checkpoint's fingerprint under `policy` (empty: resume is allowed). */
export async function compareInput(ckpt: Checkpoint, path: string, policy: InputChangePolicy): Promise<Difference[]> {
  if (policy === 'allow') return [];
  const saved = ckpt.input;
  if (saved === null) return [{ path: 'input', checkpoint: '(a stream, no fingerprint)', now: path }];
  if (policy === 'allow-append') {
    const prefix = saved.prefix;
    if (prefix === undefined) return [{ path: 'input.prefix', checkpoint: '(none: written without a prefix hash)', now: 'needed by allow-append' }];
    if (prefix.offset < ckpt.position.offset) {
      return [{ path: 'input.prefix.offset', checkpoint: String(prefix.offset), now: `at least the position ${ckpt.position.offset}` }];
    }
    let now: string;
    try {
      now = await prefixHash(path, prefix.offset);
    } catch (err) {
      if (err instanceof CheckpointError && err.code === 'INPUT_TOO_SHORT') return [{ path: 'input.size', checkpoint: `≥ ${prefix.offset}`, now: err.message }];
      throw err;
    }
    return now === prefix.sha256 ? [] : [{ path: `input.prefix (bytes 0..${prefix.offset})`, checkpoint: short(prefix.sha256), now: short(now) }];
  }
  const now = await inputFingerprint(path);
  const out: Difference[] = [];
  if (saved.size !== now.size) out.push({ path: 'input.size', checkpoint: String(saved.size), now: String(now.size) });
  if (saved.mtimeMs !== now.mtimeMs) out.push({ path: 'input.mtime', checkpoint: new Date(saved.mtimeMs).toISOString(), now: new Date(now.mtimeMs).toISOString() });
  if (saved.head !== now.head) out.push({ path: 'input.head (first 64 KiB)', checkpoint: short(saved.head), now: short(now.head) });
  if (saved.tail !== now.tail) out.push({ path: 'input.tail (last 64 KiB)', checkpoint: short(saved.tail), now: short(now.tail) });
  return out;
}
