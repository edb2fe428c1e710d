/**
 * The partitioned layout of a stream: N stream keys whose rows, read round-robin, give back the
 * original order — row i of the input is in partition `i mod N`, and partition p holds rows
 * p, p + N, p + 2N, … in order (after its header entry, before its end marker).
 *
 * Partition p of N is the key `STREAM:{TAG}`. The `{…}` is a Redis Cluster hash tag: only TAG decides
 * the key's slot (CRC16-XMODEM of TAG mod 16384, https://redis.io/docs/reference/cluster-spec/). With
 * tags 0, 1, 2 a 3-master cluster would put partitions 1 and 2 on the same master (slots 9842 and 5649
 * both in 5461–10922), so TAG is chosen to land in the middle half of the p-th of N equal slot ranges:
 * TAG = `p` when that slot already does, else the first `p.k` (k = 1, 2, …) that does. A cluster made
 * by `redis-cli --cluster create` with N masters (equal contiguous ranges) then holds one partition per
 * master, and any other number of masters gets the partitions spread over its ranges.
 * `partitionKey` is the one place the names are made: producers and readers both call it.
 */

const SLOTS = 16384;

/** CRC16-XMODEM (poly 0x1021, init 0), as Redis Cluster computes it. */
export function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The cluster slot of a key: of its hash tag (first `{…}` with something inside) if any, else of the whole key. */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) return crc16(Buffer.from(key.slice(open + 1, close), 'utf8')) % SLOTS;
  }
  return crc16(Buffer.from(key, 'utf8')) % SLOTS;
}

/** The hash tag of partition p of n (see the file comment). */
export function partitionTag(p: number, n: number): string {
  if (!Number.isSafeInteger(n) || n < 1 || !Number.isSafeInteger(p) || p < 0 || p >= n) {
    throw new RangeError(`partition ${p} of ${n}: expected 0 ≤ p < n`);
  }
  const lo = Math.floor((p * SLOTS) / n);
  const hi = Math.floor(((p + 1) * SLOTS) / n);
  const quarter = Math.floor((hi - lo) / 4);
  const isInside = (tag: string): boolean => {
    const s = keySlot(`{${tag}}`);
    return s >= lo + quarter && s < hi - quarter;
  };
  if (isInside(String(p))) return String(p);
  for (let k = 1; ; k++) if (isInside(`${p}.${k}`)) return `${p}.${k}`;
}

/** The stream key of partition p of n: `STREAM:{TAG}`. */
export function partitionKey(stream: string, p: number, n: number): string {
  return `${stream}:{${partitionTag(p, n)}}`;
}
