/**
 * Writing a file so that a crash leaves either the old file or the new one, never half of one: a
 * temporary file beside `path`, fsync, rename over `path`, fsync of the directory. Model files, ONNX
 * and TF.js exports are written this way.
 */
import { open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Write `data` to `path` atomically. @example await writeFileAtomic('model.onnx', bytes); */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  // NOTE: fsync of a directory makes the rename durable on Linux; some platforms cannot open a directory, and the file is already complete there.
  const dir = await open(dirname(path), 'r').catch(() => undefined);
  if (dir !== undefined) {
    await dir.sync().catch(() => undefined);
    await dir.close();
  }
}
