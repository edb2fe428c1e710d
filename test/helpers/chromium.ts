/**
 * Debian's Chromium (/usr/bin/chromium), headless, driven by playwright-core — never a downloaded
 * browser. Each launch gets a fresh profile folder (removed on close) and the flags a machine
 * without network needs. test/setup/chromium.ts makes sure the binary is there.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export interface Chromium {
  readonly context: BrowserContext;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/**
 * Start Chromium; `extraFlags` are added to CHROMIUM_FLAGS (e.g. a host-resolver rule).
 *
 * @example const browser = await launchChromium(); const page = await browser.newPage(); … await browser.close();
 */
export async function launchChromium(extraFlags: readonly string[] = []): Promise<Chromium> {
  const profile = mkdtempSync(join(tmpdir(), 'deltaflow-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_FLAGS, ...extraFlags],
    viewport: { width: 1280, height: 900 },
  });
  return {
    context,
    newPage: () => context.newPage(),
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Where tests keep what a person would look at (screenshots); git-ignored. */
export const ARTIFACTS = 'test-artifacts';
