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
 * quote or a line break. A row met again in a later epoch is written once. A run resumed from a checkpoint
 * keeps the rows the checkpoint covers and appends (resumeRejects), so the file equals an uninterrupted run's.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { SkipReport } from '../../src/streams/sources/csvErrors.js';
import type { CsvSourceOptions } from '../../src/streams/sources/fromCsv.js';
import { CliError } from './args.js';
import { writeFileAtomic } from './summary.js';

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
  const fd = openSync(path, 'w');
  writeSync(fd, `${REJECTED_COLUMNS.join(',')}\n`);
  return rejectsWriter(path, fd, [], 0);
}

const rejectKey = (source: string, line: string): string => `${source}\u0000${line}`;

/** Appends to an open rejects file; `seen` are the rows it holds already (by source and line), `n` their count. */
function rejectsWriter(path: string, opened: number, seen: readonly string[], n: number): RejectsFile {
  let fd: number | null = opened;
  const keys = new Set(seen);
  return {
    path,
    get count() {
      return n;
    },
    onSkip(r) {
      const key = rejectKey(r.source, String(r.line));
      if (fd === null || keys.has(key)) return;
      keys.add(key);
      writeSync(fd, `${[r.source, String(r.line), r.code, r.message, r.raw].map(csvCell).join(',')}\n`);
      n++;
    },
    close() {
      if (fd !== null) closeSync(fd);
      fd = null;
    },
  };
}

/**
 * The complete records of a rejects file (header first): each record's text without its line ending,
 * and its fields unquoted. A torn last record (no line ending: the write was cut) is left out.
 */
export function rejectsRecords(text: string): { text: string; fields: string[] }[] {
  const out: { text: string; fields: string[] }[] = [];
  let start = 0;
  let isQuoted = false;
  let fields: string[] = [];
  let field = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (isQuoted) {
      if (ch !== '"') field += ch;
      else if (text[i + 1] === '"') {
        field += '"';
        i++;
      } else isQuoted = false;
    } else if (ch === '"') isQuoted = true;
    else if (ch === ',') {
      fields.push(field);
      field = '';
    } else if (ch === '\n') {
      fields.push(field);
      out.push({ text: text.slice(start, i), fields });
      fields = [];
      field = '';
      start = i + 1;
    } else field += ch;
  }
  return out;
}

/**
 * `rejected.csv` of a run resumed from a checkpoint: truncated to the rows the checkpoint covers, then
 * opened for appending — the same way metrics.csv is truncated. A killed run may have written rows
 * past its last checkpoint (they are read, and written, again by the resume). `keep` is how many rows
 * the checkpoint covers: the skips counted up to its position in the first epoch (rows are written in
 * input order, each once), or `'all'` from the second epoch on (the first pass wrote every row, and
 * later passes write none). The rows kept are not written again when the resumed run meets them.
 * Returns the file and a warning when rows the checkpoint covers are missing.
 */
export async function resumeRejects(dir: string, keep: number | 'all'): Promise<{ file: RejectsFile; warning: string | null }> {
  const path = join(dir, REJECTED_FILE);
  const header = REJECTED_COLUMNS.join(',');
  let text = '';
  let isMissing = false;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    isMissing = true;
  }
  const records = rejectsRecords(text);
  if (text !== '' && records[0]?.text !== header) {
    throw new CliError(`${path}: not a deltaflow rejects file (its first line is not "${header}"); cannot resume into this run folder`);
  }
  const rows = records.slice(1);
  const kept = keep === 'all' ? rows : rows.slice(0, keep);
  await writeFileAtomic(path, [header, ...kept.map((r) => r.text)].map((l) => `${l}\n`).join(''));
  const warning = isMissing
    ? `${path} was missing: the rows rejected before the checkpoint are not in it`
    : keep !== 'all' && kept.length < keep
      ? `${path} holds ${kept.length} of the ${keep} rejected rows the checkpoint covers (the others were lost with the interrupted run)`
      : null;
  const seen = kept.map((r) => rejectKey(r.fields[0] ?? '', r.fields[1] ?? ''));
  return { file: rejectsWriter(path, openSync(path, 'a'), seen, kept.length), warning };
}
