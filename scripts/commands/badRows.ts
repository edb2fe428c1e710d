/**
 * The bad-row policy on the command line, and `rejected.csv`.
 *
 *   --on-bad-row error|skip    error (default): the first bad row ends the run with `file:line:column (column "name")`;
 *                              skip: row-level problems (field count, empty line, bad value, bad label) are skipped,
 *                              counted by code and written raw to rejected.csv. Structural problems (quotes, header,
 *                              invalid UTF-8, record size, no data) are always fatal.
 *   --max-bad-rows N           with skip: fail once more than N rows were skipped
 *   --max-bad-fraction F       with skip: fail at the end of a pass if more than F (0–1) of its rows were skipped
 *   --max-record-size BYTES    largest record (a line, or a quoted multi-line record) before the run fails with
 *                              CSV_MAX_RECORD_SIZE — a wrong delimiter never reads a 10 GB "line" (default 1 MiB; 64K, 4M, 1G allowed)
 *
 * rejected.csv: `file,line,code,message,raw` — one row per skipped input row, in input order, `raw` the row's
 * text exactly as in the input without its line ending; fields are quoted (RFC 4180) when they hold a comma, a
 * quote or a line break. A row met again in a later epoch is written once.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { SkipReport } from '../../src/streams/csvErrors.js';
import type { CsvSourceOptions } from '../../src/streams/fromCsv.js';
import { CliError } from './args.js';

export const REJECTED_FILE = 'rejected.csv';
export const REJECTED_COLUMNS = ['file', 'line', 'code', 'message', 'raw'] as const;
export const DEFAULT_MAX_RECORD_SIZE = 1024 * 1024;

export interface BadRowOptions {
  readonly onBadRow?: 'error' | 'skip';
  readonly maxBadRows?: number;
  readonly maxBadFraction?: number;
  readonly maxRecordSize?: number;
}

const SUFFIX: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** `--max-record-size 65536`, `64K`, `4M`, `1G` (binary units). */
export function byteSize(text: string): number {
  const m = /^\s*(\d+)\s*([kKmMgG]?)i?[bB]?\s*$/.exec(text);
  const v = m === null ? NaN : Number(m[1]) * SUFFIX[m[2].toLowerCase()];
  if (!Number.isSafeInteger(v) || v < 1) throw new InvalidArgumentError('expected a positive byte count, like 1048576, 64K or 4M.');
  return v;
}

function fraction(text: string): number {
  const s = text.trim();
  const v = /^(\d+\.?\d*|\.\d+)$/.test(s) ? Number(s) : NaN;
  if (!(v >= 0 && v <= 1)) throw new InvalidArgumentError('expected a fraction in [0, 1], like 0.01.');
  return v;
}

function count(text: string): number {
  const s = text.trim();
  const v = /^\d+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(v)) throw new InvalidArgumentError('expected a non-negative integer.');
  return v;
}

/** `--max-record-size`, for every command that reads CSV. */
export function addRecordSizeOption(command: Command): Command {
  return command.option('--max-record-size <bytes>', 'largest CSV record before the run fails (a wrong delimiter never reads a huge line); e.g. 4M', byteSize, DEFAULT_MAX_RECORD_SIZE);
}

/** `--on-bad-row`, `--max-bad-rows`, `--max-bad-fraction` and `--max-record-size`. */
export function addBadRowOptions(command: Command, rejectsWhere = 'written to rejected.csv in the run folder'): Command {
  return addRecordSizeOption(
    command
      .addOption(
        new Option('--on-bad-row <policy>', `error: the first bad row fails the run, naming file:line:column; skip: bad rows are skipped, counted and ${rejectsWhere} (structural errors always fail)`)
          .choices(['error', 'skip'])
          .default('error'),
      )
      .option('--max-bad-rows <n>', 'with --on-bad-row skip: fail once more than n rows were skipped', count)
      .option('--max-bad-fraction <f>', 'with --on-bad-row skip: fail if more than this fraction (0-1) of a pass\'s rows were skipped', fraction),
  );
}

/** Refuses budget options without the skip policy (they would silently do nothing). */
export function checkBadRowOptions(o: BadRowOptions): void {
  if (o.onBadRow !== 'skip') {
    if (o.maxBadRows !== undefined) throw new CliError('--max-bad-rows applies to --on-bad-row skip');
    if (o.maxBadFraction !== undefined) throw new CliError('--max-bad-fraction applies to --on-bad-row skip');
  }
}

/** The fromCsv options of the policy (and the skip reports' destination). */
export function badRowCsvOptions(o: BadRowOptions, onSkip?: (report: SkipReport) => void): Partial<CsvSourceOptions> {
  return {
    maxRecordSize: o.maxRecordSize ?? DEFAULT_MAX_RECORD_SIZE,
    ...(o.onBadRow === 'skip'
      ? {
          onBadRow: 'skip' as const,
          ...(o.maxBadRows === undefined ? {} : { maxBadRows: o.maxBadRows }),
          ...(o.maxBadFraction === undefined ? {} : { maxBadFraction: o.maxBadFraction }),
          ...(onSkip === undefined ? {} : { onSkip }),
        }
      : {}),
  };
}

/** A CSV field, quoted when it holds a comma, a quote, or a line break (RFC 4180). */
export function csvCell(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The rejects file: one row per skipped input row, written as it is met (a failing write fails the run there). */
export interface RejectsFile {
  readonly path: string;
  /** Rows written so far. */
  readonly count: number;
  /** The `onSkip` callback for fromCsv. */
  readonly onSkip: (report: SkipReport) => void;
  close(): void;
}

/** Creates `rejected.csv` (with its header) in `dir`. */
export function openRejects(dir: string): RejectsFile {
  const path = join(dir, REJECTED_FILE);
  let fd: number | null = openSync(path, 'w');
  writeSync(fd, `${REJECTED_COLUMNS.join(',')}\n`);
  const seen = new Set<string>();
  let n = 0;
  return {
    path,
    get count() {
      return n;
    },
    onSkip(r) {
      const key = `${r.source}\u0000${r.line}`;
      if (fd === null || seen.has(key)) return;
      seen.add(key);
      writeSync(fd, `${[r.source, String(r.line), r.code, r.message, r.raw].map(csvCell).join(',')}\n`);
      n++;
    },
    close() {
      if (fd !== null) closeSync(fd);
      fd = null;
    },
  };
}
