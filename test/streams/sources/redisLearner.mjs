// A tiny learner for the kill tests of fromRedisStream (run by redisExactlyOnce.test.ts with node,
// against the built dist/): it consumes a stream through a consumer group, "learns" from each row —
// a counter, a SHA-256 chain over the entry ids, and an order-sensitive float64 state
// w ← 0.9·w + x₀ — checkpoints {state, position} atomically every CHECKPOINT_EVERY rows (temp file,
// fsync, rename, fsync of the folder) and only then commits (XACK) the position. It can be SIGKILLed
// anywhere and restarted with the same command: it resumes from its checkpoint file.
//
// usage: node redisLearner.mjs URL GROUP CONSUMER STATE_FILE CLAIM_IDLE_MS [BUSY_US]
// prints `progress N` after each checkpoint and `done N` at the end marker.
//
// Negative control (LEARNER_ACK_FIRST=1): acknowledge BEFORE the checkpoint is written, and crash
// (SIGKILL itself) in that window at the first checkpoint — the rows acknowledged but not
// checkpointed are then lost, which the test must notice. LEARNER_COLUMNS=label,x declares the
// columns (a learner that lost its checkpoint cannot know the header entry it acknowledged).
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fromRedisStream } from '../../../dist/src/streams/sources/fromRedisStream.js';

const [url, group, consumer, stateFile, claimIdle, busy = '0'] = process.argv.slice(2);
const CHECKPOINT_EVERY = 7;
const busyUs = Number(busy);

const saved = existsSync(stateFile) ? JSON.parse(readFileSync(stateFile, 'utf8')) : null;
let state = saved?.state ?? { counter: 0, hash: '', w: 0 };

function writeDurably(path, text) {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  writeFileSync(fd, text);
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, path);
  const dir = openSync(dirname(path), 'r');
  fsyncSync(dir);
  closeSync(dir);
}

const source = fromRedisStream(url, {
  group,
  consumer,
  classes: 2,
  ...(process.env.LEARNER_COLUMNS === undefined ? {} : { columns: process.env.LEARNER_COLUMNS.split(',') }),
  start: saved?.position,
  claimIdleMs: Number(claimIdle),
  count: 16,
  blockMs: 100,
});

const isAckFirst = process.env.LEARNER_ACK_FIRST === '1';

function checkpoint() {
  const position = source.position;
  if (isAckFirst) {
    return source.commit(position).then(() => process.kill(process.pid, 'SIGKILL'));
  }
  writeDurably(stateFile, JSON.stringify({ state, position }));
  // Acknowledge only what the durable checkpoint covers.
  return source.commit(position);
}

const commits = [];
source.subscribe({
  next: (sample) => {
    const until = process.hrtime.bigint() + BigInt(busyUs * 1000);
    while (process.hrtime.bigint() < until);
    state = {
      counter: state.counter + 1,
      hash: createHash('sha256').update(state.hash).update(sample.origin.id).digest('hex'),
      w: 0.9 * state.w + sample.x[0],
    };
    if (state.counter % CHECKPOINT_EVERY === 0) {
      commits.push(
        checkpoint().catch((e) => {
          process.stderr.write(`learner: commit failed: ${e.message}\n`);
          process.exit(3);
        }),
      );
      process.stdout.write(`progress ${state.counter}\n`);
    }
  },
  error: (e) => {
    process.stderr.write(`learner: ${e.message}\n`);
    process.exit(2);
  },
  complete: async () => {
    await Promise.all(commits);
    await checkpoint();
    process.stdout.write(`done ${state.counter}\n`);
    process.exit(0);
  },
});
