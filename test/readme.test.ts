/**
 * The README's code, run as a user would run it.
 *
 * - Every ```ts block is a complete program: it is type-checked (strict) and run as an ES module in a
 *   fresh folder whose node_modules holds `deltaflow` (this package) and `rxjs`, with the default
 *   MNIST data written by `deltaflow prepare-data`. When a ```text block follows it, the program must
 *   print those lines: text equal, integers equal, decimals within 10 % (or 0.02), `…` anything. A
 *   block that uses Redis reads `REDIS_URL`, set to the test run's redis-server.
 * - Every `deltaflow …` command line in a ```sh block names a command that exists, and only options
 *   that command's --help lists.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli, tempDir } from './cli/cliHelpers.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

interface Block {
  readonly lang: string;
  readonly code: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
}

function blocks(markdown: string): Block[] {
  const out: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]);
    if (open === null) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i]);
    out.push({ lang: open[1], code: body.join('\n'), line: start + 1 });
  }
  return out;
}

const NUMBER = /-?\d+(?:\.\d+)?(?:e[-+]?\d+)?/g;

/** Whether an output line matches a README line (see the file comment); null when it does, else why not. */
function mismatch(expected: string, actual: string): string | null {
  const parts = expected.split('…').map((piece) => {
    const numbers = [...piece.matchAll(NUMBER)].map((m) => m[0]);
    const texts = piece.split(NUMBER);
    const source = texts.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('(-?\\d+(?:\\.\\d+)?(?:e[-+]?\\d+)?)');
    return { numbers, source };
  });
  const match = new RegExp(`^${parts.map((p) => p.source).join('.*?')}$`).exec(actual);
  if (match === null) return `expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
  const wanted = parts.flatMap((p) => p.numbers);
  const got = match.slice(1);
  for (let i = 0; i < wanted.length; i++) {
    const [e, a] = [Number(wanted[i]), Number(got[i])];
    const isInteger = !/[.e]/.test(wanted[i]);
    const isClose = isInteger ? e === a : Math.abs(a - e) <= Math.max(0.1 * Math.abs(e), 0.02);
    if (!isClose) return `${JSON.stringify(actual)}: ${got[i]} where the README says ${wanted[i]}`;
  }
  return null;
}

describe('the README', () => {
  const all = blocks(README);
  const programs = all.flatMap((b, i) => (b.lang === 'ts' ? [{ ...b, prints: all[i + 1]?.lang === 'text' ? all[i + 1].code : null }] : []));
  let cwd = '';

  beforeAll(async () => {
    cwd = tempDir();
    mkdirSync(join(cwd, 'node_modules'));
    symlinkSync(ROOT, join(cwd, 'node_modules', 'deltaflow'), 'dir');
    symlinkSync(join(ROOT, 'node_modules', 'rxjs'), join(cwd, 'node_modules', 'rxjs'), 'dir');
    writeFileSync(join(cwd, 'package.json'), '{ "type": "module" }\n');
    const r = await runCli(['prepare-data'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    programs.forEach((p, i) => writeFileSync(join(cwd, `block${i}.ts`), `${p.code}\n`));
    writeFileSync(
      join(cwd, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: ['node'], typeRoots: [join(ROOT, 'node_modules', '@types')] },
        include: ['block*.ts'],
      }),
    );
  }, 60_000);

  it('has library programs to run, each followed by what it prints', () => {
    expect(programs.length).toBeGreaterThanOrEqual(4);
    expect(programs.every((p) => p.prints !== null)).toBe(true);
  });

  it('every ts block type-checks as a strict TypeScript program importing deltaflow', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(cwd, 'tsconfig.json')], { encoding: 'utf8' });
    expect(r.stdout + r.stderr, 'tsc').toBe('');
    expect(r.status).toBe(0);
  }, 60_000);

  for (const [i, program] of blocks(README).filter((b) => b.lang === 'ts').entries()) {
    it(`the ts block at README.md:${program.line} runs and prints what the README shows`, () => {
      const js = ts.transpileModule(readFileSync(join(cwd, `block${i}.ts`), 'utf8'), { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext } }).outputText;
      writeFileSync(join(cwd, `block${i}.mjs`), js);
      // A block that talks to Redis reads REDIS_URL: the tests' own server.
      const env = { ...process.env, REDIS_URL: process.env.DELTAFLOW_TEST_REDIS_URL ?? '' };
      const out = execFileSync(process.execPath, [join(cwd, `block${i}.mjs`)], { cwd, encoding: 'utf8', timeout: 120_000, env });
      const expected = (programs[i].prints ?? '').split('\n');
      const actual = out.trimEnd().split('\n');
      expect(actual.length, out).toBe(expected.length);
      const problems = expected.map((e, k) => mismatch(e, actual[k] ?? '')).filter((p) => p !== null);
      expect(problems).toEqual([]);
    }, 120_000);
  }

  it('the output comparison has teeth: other text, another integer or a decimal 20 % off fail', () => {
    expect(mismatch('steps 1–50: mean loss 1.342, accuracy 60.9%; … samples/s', 'steps 1–50: mean loss 1.35, accuracy 61.5%; 15075 samples/s')).toBeNull();
    expect(mismatch('steps 1–50: mean loss 1.342', 'steps 1–51: mean loss 1.342')).not.toBeNull();
    expect(mismatch('mean loss 1.342', 'mean loss 1.61')).not.toBeNull();
    expect(mismatch('saved lenet.json', 'saved model.json')).not.toBeNull();
  });

  it('every deltaflow command line in a sh block uses a command and options that exist', () => {
    const lines = all.filter((b) => b.lang === 'sh').flatMap((b) => b.code.split('\n'));
    const commands = lines.map((l) => l.replace(/#.*$/, '').trim()).filter((l) => /(^|\|\s*)deltaflow\s/.test(l));
    expect(commands.length).toBeGreaterThan(5);
    const helps = new Map<string, string>();
    const problems: string[] = [];
    for (const line of commands) {
      const words = line.slice(line.indexOf('deltaflow')).split(/\s+/);
      const command = words[1];
      if (!helps.has(command)) {
        const help = spawnSync(process.execPath, [CLI, command, '--help'], { encoding: 'utf8' });
        helps.set(command, help.status === 0 ? help.stdout : '');
      }
      const help = helps.get(command) ?? '';
      if (help === '') problems.push(`${line}: no command "${command}"`);
      for (const option of words.filter((w) => /^--[a-z]/.test(w))) {
        if (!new RegExp(`(^|[\\s,])${option}(\\s|,|$)`, 'm').test(help)) problems.push(`${line}: "${command}" has no option ${option}`);
      }
    }
    expect(problems).toEqual([]);
  });
});
