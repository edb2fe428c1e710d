/**
 * How wide a line of text will be drawn, estimated without a font engine, so a chart's layout (title
 * lines, legend rows) can keep every box inside the canvas.
 *
 * The estimate is deliberately on the wide side of the sans-serif faces a viewer is likely to use
 * (the SVGs ask for Helvetica or Arial; on a Linux desktop without them, DejaVu Sans, which is wider):
 * advance widths in em by character class, at least as wide as DejaVu Sans' for ASCII. A test renders
 * every plot (test/cli/plots.test.ts) and checks that nothing is drawn past the canvas.
 */

/** Narrow glyphs (DejaVu Sans ≤ 0.40 em). */
const NARROW = new Set(" !'(),-./:;I[\\]`fijlrt|".split(''));
/** Widest glyphs (DejaVu Sans up to 1.0 em). */
const WIDE = new Set('MWmw@%'.split(''));

/** Advance width in em of one character. */
function em(ch: string): number {
  if (NARROW.has(ch)) return 0.4;
  if (WIDE.has(ch)) return 1.0;
  if (ch >= 'A' && ch <= 'Z') return 0.78;
  if (ch.charCodeAt(0) > 0x7f) return 0.8;
  return 0.64;
}

/** Estimated width in px of `text` at `fontSize` px (×1.1 when bold). */
export function textWidth(text: string, fontSize: number, isBold = false): number {
  let w = 0;
  for (const ch of text) w += em(ch);
  return w * fontSize * (isBold ? 1.1 : 1);
}

/** Break `text` at spaces into lines no wider than `maxWidth` (a word longer than that gets its own line, cut with an ellipsis). */
export function wrapText(text: string, fontSize: number, maxWidth: number, isBold = false): string[] {
  const lines: string[] = [];
  let current = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    const candidate = current === '' ? word : `${current} ${word}`;
    if (textWidth(candidate, fontSize, isBold) <= maxWidth) {
      current = candidate;
      continue;
    }
    if (current !== '') lines.push(current);
    current = fitWithEllipsis(word, fontSize, maxWidth, isBold);
  }
  if (current !== '') lines.push(current);
  return lines;
}

/** `text`, cut and ended with "…" when it is wider than `maxWidth`. */
export function fitWithEllipsis(text: string, fontSize: number, maxWidth: number, isBold = false): string {
  if (textWidth(text, fontSize, isBold) <= maxWidth) return text;
  let cut = text;
  while (cut.length > 1 && textWidth(`${cut}…`, fontSize, isBold) > maxWidth) cut = cut.slice(0, -1);
  return `${cut}…`;
}
