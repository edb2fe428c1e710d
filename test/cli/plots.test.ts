/**
 * Every plot the CLI writes keeps its layout inside the canvas: each plot.svg is rendered with
 * rsvg-convert (Debian's librsvg2-bin) on a canvas widened by a transparent border, and no pixel may
 * be painted in that border — a title, legend entry or tick label running past the edge would be.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readPng } from '../helpers/png.js';
import { requireTool } from '../helpers/tools.js';
import { rng, runCli, tempDir, writeBlobs, writeLinear } from './cliHelpers.js';

const BORDER = 40;

/** Pixels painted outside the SVG's own canvas, found by rendering it with a transparent border around it. */
function paintedOutside(svg: string, dir: string, name: string): { outside: number; inside: number; width: number; height: number } {
  const root = /<svg[^>]*\swidth="(\d+)"[^>]*\sheight="(\d+)"[^>]*>/.exec(svg);
  if (root === null) throw new Error(`${name}: no <svg width height> root`);
  const [width, height] = [Number(root[1]), Number(root[2])];
  const widened = svg.replace(root[0], root[0]
    .replace(/\swidth="\d+"/, ` width="${width + 2 * BORDER}"`)
    .replace(/\sheight="\d+"/, ` height="${height + 2 * BORDER}"`)
    .replace(/\sviewBox="[^"]*"/, ` viewBox="${-BORDER} ${-BORDER} ${width + 2 * BORDER} ${height + 2 * BORDER}"`));
  const svgPath = join(dir, `${name}.svg`);
  const pngPath = join(dir, `${name}.png`);
  writeFileSync(svgPath, widened);
  execFileSync('rsvg-convert', [svgPath, '-o', pngPath]);
  const image = readPng(readFileSync(pngPath));
  expect([image.width, image.height]).toEqual([width + 2 * BORDER, height + 2 * BORDER]);
  let outside = 0;
  let inside = 0;
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      const alpha = image.rgba[(y * image.width + x) * 4 + 3];
      if (alpha === 0) continue;
      const isInside = x >= BORDER && x < BORDER + width && y >= BORDER && y < BORDER + height;
      if (isInside) inside++;
      else outside++;
    }
  }
  return { outside, inside, width, height };
}

describe('the plots the CLI writes stay inside their canvas', () => {
  let cwd = '';
  beforeAll(() => {
    requireTool('rsvg-convert', 'librsvg2-bin');
    cwd = tempDir();
    mkdirSync(join(cwd, 'renders'));
    writeBlobs(join(cwd, 'iris.csv'), 150, 3);
    writeBlobs(join(cwd, 'iris-test.csv'), 60, 4);
    writeLinear(join(cwd, 'linear.csv'), 300, 5);
    // Targets in the millions: wide y tick labels.
    const u = rng(6);
    const lines = ['rooms,area,age,price'];
    for (let i = 0; i < 300; i++) {
      const [r, a, g] = [1 + Math.floor(5 * u()), 40 + 200 * u(), 100 * u()];
      lines.push(`${r},${a.toFixed(1)},${g.toFixed(1)},${Math.round(300_000 * r + 9_000 * a - 2_000 * g)}`);
    }
    writeFileSync(join(cwd, 'houses-with-a-long-descriptive-file-name-from-the-county-records-2026.csv'), `${lines.join('\n')}\n`);
  });

  const cases = [
    { name: 'classification, two panels', args: ['--data', 'iris.csv', '--test', 'iris-test.csv', '--label', 'species', '--epochs', '3'] },
    { name: 'regression, one panel', args: ['--data', 'linear.csv', '--task', 'regress', '--label', 'y', '--epochs', '3'] },
    {
      name: 'regression with a long title and targets in the millions',
      args: ['--data', 'houses-with-a-long-descriptive-file-name-from-the-county-records-2026.csv', '--task', 'regress', '--label', 'price', '--epochs', '2', '--lr-schedule', 'constant'],
    },
  ];
  for (const [i, c] of cases.entries()) {
    it(`train: ${c.name}`, async () => {
      const out = `run-${i}`;
      const r = await runCli(['train', ...c.args, '--out', out, '--quiet', '--workers', '1'], { cwd });
      expect(r.code, r.stderr).toBe(0);
      const svg = readFileSync(join(cwd, out, 'plot.svg'), 'utf8');
      const painted = paintedOutside(svg, join(cwd, 'renders'), out);
      expect(painted.inside).toBeGreaterThan(0);
      expect(painted.outside).toBe(0);
    });
  }

  it('online: several learners, detections and known drift points', async () => {
    const g = await runCli(['generate', 'stagger', '--rows', '3000', '--drift-at', '1500', '--seed', '2', '--out', 'stagger.csv'], { cwd });
    expect(g.code, g.stderr).toBe(0);
    const r = await runCli(['online', '--data', 'stagger.csv', '--classes', '2', '--window', '250', '--drift-at', '1500', '--out', 'online-run',
      '--learner', 'model=mlp,hidden=16,name=plain-learner-with-a-long-name', '--learner', 'model=mlp,hidden=16,detector=adwin,reaction=boost-lr,name=adwin-boost'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    const painted = paintedOutside(readFileSync(join(cwd, 'online-run', 'plot.svg'), 'utf8'), join(cwd, 'renders'), 'online');
    expect(painted.inside).toBeGreaterThan(0);
    expect(painted.outside).toBe(0);
  });

  it('the check finds a label drawn past the right edge (it has teeth)', () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100" viewBox="0 0 200 100"><rect width="200" height="100" fill="white"/>' +
      '<text x="170" y="50" font-size="14">clipped legend</text></svg>';
    expect(paintedOutside(svg, join(cwd, 'renders'), 'teeth').outside).toBeGreaterThan(0);
  });
});
