/**
 * vitest globalSetup: the browser tests need Debian's Chromium at /usr/bin/chromium. When it is
 * missing and we are root, install it (`apt-get install -y chromium`, after an `apt-get update` if
 * the first try fails); when it still cannot be had, stop the run with one line saying how.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CHROMIUM = '/usr/bin/chromium';

function tryApt(args: string[]): boolean {
  try {
    execFileSync('apt-get', args, { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    return true;
  } catch {
    return false;
  }
}

export default function setup(): void {
  if (existsSync(CHROMIUM)) return;
  if (process.getuid?.() === 0) {
    if (!tryApt(['install', '-y', 'chromium'])) {
      tryApt(['update']);
      tryApt(['install', '-y', 'chromium']);
    }
  }
  if (!existsSync(CHROMIUM)) {
    process.stderr.write(`the browser tests need Chromium at ${CHROMIUM}: install it with \`sudo apt-get install -y chromium\` and run the tests again\n`);
    process.exit(1);
  }
}
