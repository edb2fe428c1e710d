/**
 * An output folder is checked BEFORE any work is done: created, and a probe file written, fsynced and
 * removed in it. A path under a regular file, a read-only or unwritable folder, or a full disk is then a
 * one-line error naming the option and the path, instead of a failure after hours of training.
 */
import { mkdir, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { CliError } from './args.js';

const PROBE_BYTES = 4096;

/** Why `path` cannot be written, in words, from a Node error code. */
export function describeWriteError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  const words: Record<string, string> = {
    ENOTDIR: 'a part of the path is a regular file, not a folder',
    EEXIST: 'it exists and is not a folder',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'read-only file system',
    ENOSPC: 'no space left on the device',
    EDQUOT: 'disk quota exceeded',
    ENAMETOOLONG: 'the name is too long',
    EISDIR: 'it is a folder',
  };
  return (code !== undefined ? words[code] : undefined) ?? (e instanceof Error ? e.message : String(e));
}

/**
 * Creates `dir` (and its parents) and proves a file can be written in it; throws a CliError naming `option` otherwise.
 *
 * @example await probeOutputDir(runDir, '--out');
 */
export async function probeOutputDir(dir: string, option = '--out'): Promise<void> {
  const fail = (e: unknown): never => {
    throw new CliError(`${option} ${dir}: cannot write the output folder (${describeWriteError(e)})`);
  };
  await mkdir(dir, { recursive: true }).catch(fail);
  const probe = join(dir, `.deltaflow-probe-${process.pid}`);
  try {
    const fh = await open(probe, 'w');
    try {
      await fh.writeFile(Buffer.alloc(PROBE_BYTES));
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch (e) {
    await unlink(probe).catch(() => undefined);
    fail(e);
  }
  await unlink(probe).catch(fail);
}

/** Checks that `file` can be created (its folder exists and is writable) before the work that ends by writing it. */
export async function probeOutputFile(file: string, option: string): Promise<void> {
  const probe = `${file}.probe-${process.pid}`;
  try {
    const fh = await open(probe, 'w');
    await fh.close();
    await unlink(probe);
  } catch (e) {
    await unlink(probe).catch(() => undefined);
    throw new CliError(`${option} ${file}: cannot write the file (${describeWriteError(e)})`);
  }
}
