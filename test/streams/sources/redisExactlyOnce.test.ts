/**
 * At-least-once delivery becomes exactly-once in the committed state: a learner (redisLearner.mjs, a
 * child process on the built dist/) consumes a Redis stream, checkpoints {state, position} atomically
 * and acknowledges only after the checkpoint is durable. It is SIGKILLed (by PID) 12 times at random points
 * again and again and restarted with the same command — under changing consumer names, so a restart
 * both re-reads its own pending entries and claims (XAUTOCLAIM) a dead consumer's. The final
 * committed state must count every entry once, hash the ids in stream order, equal an uninterrupted
 * run's state bit for bit, and leave nothing pending in the group.
 *
 * Also: a consumer killed with pending entries, and a new consumer name that claims them only once
 * they have been idle for claimIdleMs.
 *
 * Runs the built dist/ (build first; `npm test` does).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromRedisStream } from '../../../src/streams/sources/fromRedisStream.js';
import { foldIdsHash, initialPosition } from '../../../src/streams/sources/redis/streamPosition.js';
import { rng } from '../../cli/cliHelpers.js';
import { type TestClient, connectTestClient, freshKey, sharedRedisUrl } from './redisTestKit.js';

const LEARNER = fileURLToPath(new URL('./redisLearner.mjs', import.meta.url));
const url = sharedRedisUrl();
const dir = mkdtempSync(join(tmpdir(), 'deltaflow-redis-kill-'));
let redis: TestClient;

beforeAll(async () => {
  redis = await connectTestClient();
});
afterAll(async () => {
  await redis.close();
});

interface Saved {
  readonly state: { counter: number; hash: string; w: number };
  readonly position: { lastId: string; count: number; idsHash: string };
}

interface Outcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** When to SIGKILL a learner: after its `afterProgress`-th progress line (one per checkpoint), plus `delayMs`. */
interface Kill {
  readonly afterProgress: number;
  readonly delayMs: number;
}

/** Runs the learner; with `kill`, SIGKILLs it (by PID) at that point. */
function runLearner(args: string[], kill?: Kill, env: Record<string, string> = {}): Promise<Outcome> {
  return new Promise((resolve) => {
    const child: ChildProcess = spawn(process.execPath, [LEARNER, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    let timer: NodeJS.Timeout | null = null;
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (kill !== undefined && timer === null && (stdout.match(/progress/g)?.length ?? 0) >= kill.afterProgress) {
        timer = setTimeout(() => {
          if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
        }, kill.delayMs);
      }
    });
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('exit', (code, signal) => {
      if (timer !== null) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** `n` rows in the row form after a header entry, then an end marker; returns the row ids. */
async function publishRows(key: string, n: number, withEnd = true): Promise<string[]> {
  const entries: string[][] = [['header', 'label,x']];
  for (let i = 0; i < n; i++) entries.push(['row', `${i % 2},${((i * 37) % 101) / 10}`]);
  if (withEnd) entries.push(['end', '1']);
  const ids = await redis.add(key, entries);
  return ids.slice(1, n + 1);
}

function expectedState(ids: readonly string[], xs: readonly number[]): Saved['state'] {
  let hash = '';
  let w = 0;
  ids.forEach((id, i) => {
    hash = createHash('sha256').update(hash).update(id).digest('hex');
    w = 0.9 * w + xs[i];
  });
  return { counter: ids.length, hash, w };
}

describe('fromRedisStream exactly-once under SIGKILL', () => {
  it('a learner killed at random points and restarted ends with every entry learned once, nothing pending, equal to an uninterrupted run', async () => {
    const N = 1500;
    const key = freshKey('kill');
    const ids = await publishRows(key, N);
    const xs = Array.from({ length: N }, (_, i) => Math.fround(((i * 37) % 101) / 10));
    const stream = `${url}/${key}`;

    const calm = join(dir, 'calm.json');
    const uninterrupted = await runLearner([stream, 'calm', 'c', calm, '0', '100']);
    expect(uninterrupted.stderr).toBe('');
    expect(uninterrupted.code).toBe(0);
    const reference = JSON.parse(readFileSync(calm, 'utf8')) as Saved;

    const random = rng(20261203);
    const stateFile = join(dir, 'killed.json');
    let kills = 0;
    let cycles = 0;
    for (;; cycles++) {
      const consumer = `learner-${cycles % 3}`;
      // 12 kills, each after 1–8 checkpoints (≤ 56 rows) and 0–8 ms: before, during or after a
      // checkpoint write or its commit, or mid-read. 12 × 56 < N, so every one lands before the end.
      const killAfter = kills < 12 ? { afterProgress: 1 + Math.floor(random() * 8), delayMs: Math.floor(random() * 9) } : undefined;
      const r = await runLearner([stream, 'killed', consumer, stateFile, '0', '100'], killAfter);
      if (r.signal === 'SIGKILL') {
        kills++;
        continue;
      }
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      break;
    }
    expect(kills).toBe(12);
    const final = JSON.parse(readFileSync(stateFile, 'utf8')) as Saved;
    expect(final.state).toEqual(expectedState(ids, xs));
    expect(final.state).toEqual(reference.state);
    expect(final.position.count).toBe(N);
    expect(final.position.idsHash).toBe(ids.reduce(foldIdsHash, initialPosition(key, 'killed').idsHash));
    expect(final.position.idsHash).toBe(reference.position.idsHash);
    expect(await redis.pending(key, 'killed')).toBe(0);
    expect(await redis.pending(key, 'calm')).toBe(0);
  });

  it('has teeth: acknowledging before the checkpoint is durable loses the rows of a crash in between, and the comparison sees it', async () => {
    const N = 100;
    const key = freshKey('teeth');
    const ids = await publishRows(key, N);
    const xs = Array.from({ length: N }, (_, i) => Math.fround(((i * 37) % 101) / 10));
    const stateFile = join(dir, 'teeth.json');
    const env = { LEARNER_COLUMNS: 'label,x' };
    const crashed = await runLearner([`${url}/${key}`, 'g', 'c', stateFile, '0', '0'], undefined, { ...env, LEARNER_ACK_FIRST: '1' });
    expect(crashed.signal).toBe('SIGKILL');
    const r = await runLearner([`${url}/${key}`, 'g', 'c', stateFile, '0', '0'], undefined, env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const final = JSON.parse(readFileSync(stateFile, 'utf8')) as Saved;
    expect(final.state.counter).toBeLessThan(N);
    expect(final.state).not.toEqual(expectedState(ids, xs));
    expect(await redis.send(['XPENDING', key, 'g', '-', '+', '10'])).toEqual([]);
  });

  it('a second consumer reading the same group at once is refused after 2 × claimIdleMs, in one line', async () => {
    const key = freshKey('two');
    // No end marker: reading to the end must not end the read before the refusal (on a busy machine it did).
    await publishRows(key, 50, false);
    const stream = `${url}/${key}`;
    await redis.send(['XGROUP', 'CREATE', key, 'g', '0']);
    // A live other consumer: it keeps taking fresh entries, so some are always pending for it.
    await redis.send(['XREADGROUP', 'GROUP', 'g', 'other', 'COUNT', '5', 'STREAMS', key, '>']);
    const keepBusy = setInterval(() => {
      void redis.send(['XADD', key, '*', 'row', '1,1']).then(() => redis.send(['XREADGROUP', 'GROUP', 'g', 'other', 'COUNT', '100', 'STREAMS', key, '>']));
    }, 20);
    try {
      const e = await lastValueFrom(fromRedisStream(stream, { group: 'g', consumer: 'second', classes: 2, claimIdleMs: 150, blockMs: 50 })).then(
        () => new Error('expected a failure'),
        (err: Error) => err,
      );
      expect(e.message).toMatch(new RegExp(`^${stream.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: other consumers of group "g" keep entries pending \\("other" holds \\d+\\) for longer than 2 × claimIdleMs: another consumer is reading this group; a learner needs a group of its own$`));
    } finally {
      clearInterval(keepBusy);
    }
  });

  it('a consumer killed with pending entries: a new consumer name claims them once idle for claimIdleMs, emitting only what its checkpoint does not cover', async () => {
    const N = 400;
    const key = freshKey('claim');
    const ids = await publishRows(key, N);
    const stream = `${url}/${key}`;
    const stateFile = join(dir, 'claim.json');
    const r = await runLearner([stream, 'g', 'crashed', stateFile, '60000', '200'], { afterProgress: 3, delayMs: 5 });
    expect(r.signal).toBe('SIGKILL');
    const saved = JSON.parse(readFileSync(stateFile, 'utf8')) as { position: Parameters<typeof fromRedisStream>[1]['start'] } & Saved;
    const covered = saved.position.count;
    expect(covered).toBeGreaterThan(0);
    expect(covered).toBeLessThan(N);
    const pendingOfCrashed = (await redis.send(['XPENDING', key, 'g', '-', '+', '10000', 'crashed'])) as unknown[];
    expect(pendingOfCrashed.length).toBeGreaterThan(0);

    // Not idle long enough yet: nothing of the crashed consumer is claimed, and the new consumer waits —
    // reading new entries first would put them before the crashed consumer's.
    const early = fromRedisStream(stream, { group: 'g', consumer: 'rescuer', classes: 2, start: saved.position, claimIdleMs: 60_000, blockMs: 50, maxRows: covered + 1 });
    const earlyRows: unknown[] = [];
    const sub = early.subscribe({ next: (s) => earlyRows.push(s), error: () => {} });
    await new Promise((res) => setTimeout(res, 300));
    sub.unsubscribe();
    expect(earlyRows).toEqual([]);
    expect(((await redis.send(['XPENDING', key, 'g', '-', '+', '10000', 'crashed'])) as unknown[]).length).toBe(pendingOfCrashed.length);

    await new Promise((res) => setTimeout(res, 250));
    const rescuer = fromRedisStream(stream, { group: 'g', consumer: 'rescuer', classes: 2, start: saved.position, claimIdleMs: 200, blockMs: 50 });
    const rows = await lastValueFrom(rescuer.pipe(toArray()));
    expect(rows.map((s) => s.origin.id)).toEqual(ids.slice(covered));
    expect(((await redis.send(['XPENDING', key, 'g', '-', '+', '10000', 'crashed'])) as unknown[]).length).toBe(0);
    await rescuer.commit();
    expect(await redis.pending(key, 'g')).toBe(0);
    expect(rescuer.position.idsHash).toBe(ids.reduce(foldIdsHash, initialPosition(key, 'g').idsHash));
  });
});
