/**
 * Timing statistics and number formatting for the bench: median / min / max of the timed passes
 * (the peers' rule, /work/shared/bench/peers/common.js), and a compact number format for tables.
 */

/** Median, min and max of a non-empty list of rates. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly n: number;
}

/** Median (mean of the two middle values for an even count), min and max; NaNs for an empty list. */
export function spread(xs: readonly number[]): Spread {
  if (xs.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s[s.length - 1], n: s.length };
}

/** 123456 → "123,456"; 12.345 → "12.3"; 0.01234 → "0.0123". Three significant digits below 100. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 100) return Math.round(x).toLocaleString('en-US');
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toPrecision(3);
}

/** "1,234 (1,100 – 1,300)" */
export function fmtSpread(s: Spread): string {
  if (s.n === 0) return '—';
  return s.n === 1 ? fmt(s.median) : `${fmt(s.median)} (${fmt(s.min)} – ${fmt(s.max)})`;
}

/** Bytes → MB with one decimal (1 MB = 1e6 bytes, as the peers' MB/s). */
export function mb(bytes: number): number {
  return Math.round(bytes / 1e5) / 10;
}
