/**
 * A lossless compact form of a float32 array with few distinct values — rows of images scaled from
 * bytes (x = pixel · s) hold at most 256 — for the rows a task carries to a worker:
 *
 *   [k: uint32 LE] [table: k float32 bit patterns, LE] [index: n uint8]     value i = table[index[i]]
 *
 * 4 + 4k + n bytes instead of 4n. Values are compared and copied as their 32-bit patterns (never as
 * numbers), so -0, subnormals and NaN payloads come back with the same bits. An array with more than
 * 256 distinct values has no such form (null): it travels as raw float32.
 */

const SLOTS = 1024;

/**
 * The packed form of `a`, or null when it holds more than 256 distinct bit patterns.
 *
 * @example packValues(new Float32Array([0, 0.5, 0, 0.5])) // 4 + 8 + 4 bytes
 */
export function packValues(a: Float32Array): Buffer | null {
  const n = a.length;
  const bits = new Uint32Array(a.buffer, a.byteOffset, n);
  // Open addressing on the bit pattern: slot → table position (−1 empty); ≤ 256 of 1024 slots are used.
  const slot = new Int16Array(SLOTS).fill(-1);
  const table = new Uint32Array(256);
  const index = new Uint8Array(n);
  let k = 0;
  // Images hold long runs of one value (the background): a run takes no hashing.
  let last = 0;
  let lastSlot = -1;
  for (let i = 0; i < n; i++) {
    const v = bits[i];
    if (v === last && lastSlot >= 0) {
      index[i] = lastSlot;
      continue;
    }
    last = v;
    let h = Math.imul(v, 0x9e3779b1) >>> 22;
    for (;;) {
      const s = slot[h];
      if (s === -1) {
        if (k === 256) return null;
        table[k] = v;
        slot[h] = k;
        index[i] = k;
        lastSlot = k;
        k++;
        break;
      }
      if (table[s] === v) {
        index[i] = s;
        lastSlot = s;
        break;
      }
      h = (h + 1) & (SLOTS - 1);
    }
  }
  const out = Buffer.allocUnsafe(4 + 4 * k + n);
  out.writeUInt32LE(k, 0);
  for (let j = 0; j < k; j++) out.writeUInt32LE(table[j], 4 + 4 * j);
  out.set(index, 4 + 4 * k);
  return out;
}

/**
 * The n values of a packed array; throws naming `what` when the bytes are not n packed values.
 *
 * @example unpackValues(packValues(x) ?? Buffer.alloc(0), x.length, 'task 1-0 x')
 */
export function unpackValues(b: Uint8Array, n: number, what: string): Float32Array<ArrayBuffer> {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const k = buf.length >= 4 ? buf.readUInt32LE(0) : -1;
  if (k < 0 || k > 256 || buf.length !== 4 + 4 * k + n) throw new RangeError(`${what}: ${buf.length} bytes are not ${n} packed float32 values (table of ${k < 0 ? '?' : k})`);
  const table = new Uint32Array(k);
  for (let j = 0; j < k; j++) table[j] = buf.readUInt32LE(4 + 4 * j);
  const out = new Float32Array(n);
  const bits = new Uint32Array(out.buffer);
  const base = 4 + 4 * k;
  for (let i = 0; i < n; i++) {
    const s = buf[base + i];
    if (s >= k) throw new RangeError(`${what}: value ${i} names table entry ${s} of ${k}`);
    bits[i] = table[s];
  }
  return out;
}
