/**
 * Versioned model files (`--snapshot-every N --snapshots DIR`): every N-th published version v is
 * written as `DIR/model-v<v, 8 digits>.json`, atomically (saveModel: temporary file, fsync, rename,
 * fsync of the folder), so a reader never sees half a file and a crash leaves whole files only. The
 * bytes are those `GET /model.json` serves for that version. The folder is the command line's; no
 * request chooses a path.
 *
 * Writes run one after another in version order; `flush()` waits for all written so far, so a
 * `/learn` answer comes only once the snapshots of the versions it published are on disk.
 */
import { join } from 'node:path';
import type { Model } from '../../src/layers/sequential.js';
import { saveModel, type JsonObject } from '../../src/layers/modelFile.js';

export function snapshotName(version: number): string {
  return `model-v${String(version).padStart(8, '0')}.json`;
}

export class SnapshotWriter {
  private chain: Promise<void> = Promise.resolve();
  written = 0;
  failed = 0;
  lastError: string | null = null;

  constructor(
    readonly dir: string,
    readonly every: number,
  ) {}

  /** Whether version `v` gets a file. */
  wants(version: number): boolean {
    return version % this.every === 0;
  }

  /** Queues the file of version `v` (written after the ones queued before). */
  write(version: number, model: Model, meta: JsonObject | undefined): void {
    const path = join(this.dir, snapshotName(version));
    this.chain = this.chain.then(async () => {
      try {
        await saveModel(path, model, meta);
        this.written++;
      } catch (e) {
        this.failed++;
        this.lastError = `${path}: ${e instanceof Error ? e.message : String(e)}`;
        process.stderr.write(`deltaflow serve: cannot write the snapshot ${this.lastError}\n`);
      }
    });
  }

  /** Resolves once every queued file is written (or has failed, counted). */
  flush(): Promise<void> {
    return this.chain;
  }
}
