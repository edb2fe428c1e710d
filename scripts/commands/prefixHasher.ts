/**
 * The SHA-256 of a growing file's prefix [0, offset), for the fingerprint of a followed input
 * (`--follow`): a checkpoint at byte offset N stores the hash of bytes [0, N), and a resume accepts
 * the file when that prefix is unchanged (it only grew; inputFingerprint.ts, policy allow-append).
 * The hash advances with the offset — each byte is read and hashed once over the run (a resumed run
 * hashes its prefix once) — and `hash.copy()` gives each checkpoint's digest without ending it.
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { CliError } from './args.js';

/** SHA-256 of a growing file's prefix [0, offset), hashed incrementally as `offset` advances. */
export function prefixHasher(path: string): (offset: number) => string {
  let hash: Hash = createHash('sha256');
  let at = 0;
  const buf = Buffer.allocUnsafe(1 << 16);
  return (offset) => {
    if (offset < at) {
      hash = createHash('sha256');
      at = 0;
    }
    if (offset > at) {
      const fd = openSync(path, 'r');
      try {
        while (at < offset) {
          const n = readSync(fd, buf, 0, Math.min(buf.length, offset - at), at);
          if (n === 0) throw new CliError(`${path}: the file is shorter than the position ${offset} it was read to (truncated?)`);
          hash.update(buf.subarray(0, n));
          at += n;
        }
      } finally {
        closeSync(fd);
      }
    }
    return hash.copy().digest('hex');
  };
}

