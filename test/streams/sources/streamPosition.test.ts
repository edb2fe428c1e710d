/**
 * Entry-id arithmetic of the Redis position (redis/streamPosition.ts): idsHash is 64-bit FNV-1a
 * (checked against a BigInt oracle and the published vector for "a"), compareIds orders ids as
 * (ms, seq) on its fast path and its BigInt path alike, and checkPosition refuses malformed positions.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkPosition, compareIds, foldIdsHash, initialPosition } from '../../../src/streams/sources/redis/streamPosition.js';

/** FNV-1a 64 over the bytes, the obvious way. */
function fnv1a64(bytes: readonly number[]): string {
  let h = 0xcbf29ce484222325n;
  for (const b of bytes) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return h.toString(16).padStart(16, '0');
}

const bytesOf = (ids: readonly string[]): number[] => ids.flatMap((id) => [...Buffer.from(`${id}\n`, 'latin1')]);

describe('idsHash', () => {
  it('is FNV-1a 64 of the ids each followed by a line feed', () => {
    expect(fnv1a64([0x61])).toBe('af63dc4c8601ec8c'); // the published test vector for "a"
    expect(initialPosition('s', 'g').idsHash).toBe(fnv1a64([]));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.nat()).map(([ms, seq]) => `${ms}-${seq}`), { maxLength: 30 }), (ids) => {
        expect(ids.reduce(foldIdsHash, initialPosition('s', 'g').idsHash)).toBe(fnv1a64(bytesOf(ids)));
      }),
    );
  });

  it('changes when an id is lost, doubled or reordered', () => {
    const h = (ids: string[]): string => ids.reduce(foldIdsHash, initialPosition('s', 'g').idsHash);
    const base = h(['1-0', '1-1', '2-0']);
    expect(h(['1-0', '2-0'])).not.toBe(base);
    expect(h(['1-0', '1-1', '1-1', '2-0'])).not.toBe(base);
    expect(h(['1-1', '1-0', '2-0'])).not.toBe(base);
  });
});

describe('compareIds', () => {
  it('orders by (ms, seq) as numbers, for short and for 20-digit parts', () => {
    expect(compareIds('9-0', '10-0')).toBe(-1);
    expect(compareIds('10-2', '10-10')).toBe(-1);
    expect(compareIds('1733-0', '1733-0')).toBe(0);
    expect(compareIds('18446744073709551615-0', '18446744073709551614-5')).toBe(1);
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.nat(), fc.nat(), (a, b, s, t) => {
        const want = a !== b ? (a < b ? -1 : 1) : s === t ? 0 : s < t ? -1 : 1;
        expect(compareIds(`${a}-${s}`, `${b}-${t}`)).toBe(want);
      }),
    );
    expect(() => compareIds('1-x', '1-0')).toThrow('not an entry id: "1-x"');
    expect(() => compareIds('0x1-0', '1-0')).toThrow('not an entry id: "0x1-0"');
  });
});

describe('checkPosition', () => {
  it('takes a stored position back and refuses malformed ones, naming the field', () => {
    const p = { stream: 's', group: 'g', lastId: '5-1', count: 3, idsHash: '0123456789abcdef', header: 'label,x' };
    expect(checkPosition(JSON.parse(JSON.stringify(p)), 's', 'g')).toEqual(p);
    expect(() => checkPosition({ ...p, lastId: '5' }, 's', 'g')).toThrow('start position for stream "s", group "g": lastId "5" is not an entry id');
    expect(() => checkPosition({ ...p, count: -1 }, 's', 'g')).toThrow('count -1 is not a count');
    expect(() => checkPosition({ ...p, idsHash: 'xyz' }, 's', 'g')).toThrow('idsHash "xyz" is not 16 hex digits');
    expect(() => checkPosition({ ...p, group: 'h' }, 's', 'g')).toThrow('it belongs to group "h"');
  });
});
