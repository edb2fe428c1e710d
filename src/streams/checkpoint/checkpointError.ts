/**
 * How a checkpoint fails: `CheckpointError`, its codes, the differences it lists (a checkpoint's
 * value against the current run's, e.g. config fields, weight shapes, input fingerprint), and a failed
 * file operation turned into one carrying the errno (docs/checkpoints.md, "Errors").
 *
 * Shared by the format (checkpointFormat.ts), the config check (checkpointConfig.ts), the input
 * fingerprints (inputFingerprint.ts) and the store (checkpoint.ts), which re-exports the public part.
 */

/**
 * What went wrong, as a code: our own codes, or the errno of a failed file operation (`ENOSPC`, `EACCES`, …).
 * `CORRUPT` files are skipped in favour of an older checkpoint; every other code stops the resume.
 */
export type CheckpointErrorCode =
  | 'CORRUPT'
  | 'INVALID'
  | 'NON_FINITE'
  | 'VERSION_MISMATCH'
  | 'CONFIG_MISMATCH'
  | 'FINGERPRINT_MISMATCH'
  | 'INPUT_TOO_SHORT'
  | 'NO_VALID_CHECKPOINT'
  | `E${string}`;

/** One field that differs between a checkpoint and now, values printed as in messages. */
export interface Difference {
  readonly path: string;
  readonly checkpoint: string;
  readonly now: string;
}

/** A checkpoint that cannot be written or used; the facts are fields, the message says them in words. */
export class CheckpointError extends Error {
  constructor(
    readonly code: CheckpointErrorCode,
    /** The checkpoint file, temp file, directory or input file concerned. */
    readonly path: string,
    message: string,
    readonly differences: readonly Difference[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CheckpointError';
  }
}

/** `lr: 0.05 (checkpoint) vs 0.1 (now); layers[0].units: 64 (checkpoint) vs 128 (now)`. */
export function formatDifferences(differences: readonly Difference[]): string {
  return differences.map((d) => `${d.path}: ${d.checkpoint} (checkpoint) vs ${d.now} (now)`).join('; ');
}

const ERRNO_WORDS: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOTDIR: 'a component of the path is not a directory',
  ENOENT: 'no such file or directory',
  EIO: 'input/output error',
};

/** The errno code (`ENOSPC`, …) of a failed file operation, or null. */
export function errnoOf(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : null;
}

/** A failed file operation as a CheckpointError carrying the errno; anything else is passed through unchanged. */
export function ioError(err: unknown, path: string, action: string, consequence: string): unknown {
  if (err instanceof CheckpointError) return err;
  const code = errnoOf(err);
  if (code === null) return err;
  const words = ERRNO_WORDS[code] ?? (err instanceof Error ? err.message : code);
  return new CheckpointError(code as `E${string}`, path, `cannot ${action} ${path}: ${words} (${code}); ${consequence}`, [], { cause: err });
}
