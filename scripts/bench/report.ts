/**
 * The human-readable report: Markdown tables of the training, CSV and memory results (the JSON of
 * `--json` carries the same figures and every pass).
 */
import type { CsvResult } from './csvIngest.js';
import type { ProcessMemory, StepAllocation } from './memory.js';
import { fmt, fmtSpread, mb, spread } from './stats.js';
import type { SystemResult, WorkloadResult } from './training.js';

export function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

function ratioCell(s: SystemResult): string {
  if (s.ratios === undefined) return s.isSubject ? '(subject)' : '';
  return Object.entries(s.ratios)
    .map(([subject, r]) => `${subject === 'deltaflow-1w' ? '' : `${subject.replace('deltaflow-', '')}: `}${fmtSpread(r)}`)
    .join('; ');
}

function systemRow(s: SystemResult): string[] {
  if (s.status !== 'ok' && s.rates.length === 0) {
    const what = s.status === 'unsupported' ? 'not supported' : s.status;
    return [s.label, s.info ? String(s.info.threads) : '', `**${what}**: ${s.reason ?? ''}`, '', '', '', '', '', ''];
  }
  const sps = s.samplesPerSecond;
  return [
    s.label + (s.status === 'ok' ? '' : ` (${s.status} after ${s.rates.length} passes: ${s.reason ?? ''})`),
    s.info ? String(s.info.threads) : '',
    sps ? fmtSpread(sps) : '',
    s.gflops !== undefined ? fmt(s.gflops) : '',
    ratioCell(s),
    s.probe ? `${fmt(s.probe.min)}–${fmt(s.probe.max)}` : '',
    s.cpuUtil.length > 0 ? fmt(spread(s.cpuUtil).median) : '',
    s.otherLoad.length > 0 ? `${fmt(spread(s.otherLoad).median)} (max ${fmt(spread(s.otherLoad).max)})` : '',
    `${s.rates.length} × ${(s.batchesPerPass ?? 0) * 64}`,
  ];
}

export function trainingReport(w: WorkloadResult): string {
  const head = ['system', 'threads', 'samples/s median (min – max)', 'GFLOP/s', 'deltaflow ÷ system, same groups (min – max)', 'probe GFLOP/s', 'CPU util', 'other procs, cores', 'passes × samples'];
  const notes = w.systems
    .filter((s) => s.info !== undefined)
    .map((s) => `${s.id}: ${s.info?.version ?? ''} ${s.info?.note ?? ''}; last loss ${s.lastLoss !== undefined ? s.lastLoss.toFixed(3) : '—'}`);
  return [`### ${w.title} (${w.flopsPerSample.toLocaleString('en-US')} FLOPs/sample)`, '', table(head, w.systems.map(systemRow)), '', ...notes.map((n) => `- ${n}`)].join('\n');
}

export function csvReport(c: CsvResult): string {
  const base = c.readers.find((r) => r.id === 'csv-parse')?.rows?.median;
  const rows = c.readers.map((r) => {
    if (r.rows === undefined) return [r.label, `**${r.status}**: ${r.reason ?? ''}`, '', ''];
    return [r.label, fmtSpread(r.rows), r.mbPerSecond !== undefined ? fmt(r.mbPerSecond) : '', base !== undefined ? fmt(r.rows.median / base) : ''];
  });
  return [
    `### CSV ingest (${c.rows.toLocaleString('en-US')} rows × ${c.columns} integer columns, ${fmt(mb(c.bytes))} MB)`,
    '',
    table(['reader', 'rows/s median (min – max)', 'MB/s', '÷ csv-parse'], rows),
  ].join('\n');
}

export function memoryReport(m: ProcessMemory, steps: Readonly<Record<string, StepAllocation>>): string {
  const procRows = [
    ['peak RSS (maxRSS)', fmt(mb(m.peakRssBytes))],
    ['RSS now', fmt(mb(m.rssBytes))],
    ['heap used / total', `${fmt(mb(m.heapUsedBytes))} / ${fmt(mb(m.heapTotalBytes))}`],
    ['ArrayBuffers', fmt(mb(m.arrayBuffersBytes))],
  ];
  const stepRows = Object.entries(steps).map(([w, s]) => [
    w,
    String(s.steps),
    fmt(s.heapBytesPerStep),
    fmt(s.arrayBufferBytesPerStep),
    fmt(s.retainedBytesPerStep),
    String(s.gcsDuringSteps),
  ]);
  const stepHead = ['steady-state train() step', 'steps', 'JS heap bytes/step', 'ArrayBuffer bytes/step', 'retained bytes/step', 'GCs during steps'];
  const sites = Object.entries(steps).flatMap(([w, s]) =>
    s.sites.filter((x) => x.bytesPerStep >= 1024).map((x) => `- ${w}: ${fmt(x.bytesPerStep)} B/step at ${x.site}`),
  );
  return [
    '### Memory (this process: deltaflow, the bench and its data; peers run in child processes)',
    '',
    table(['figure', 'MB'], procRows),
    ...(stepRows.length > 0 ? ['', table(stepHead, stepRows)] : []),
    ...(sites.length > 0 ? ['', 'Largest allocation sites per step (V8 sampling heap profiler, ≥ 1 KB):', ...sites] : []),
  ].join('\n');
}
