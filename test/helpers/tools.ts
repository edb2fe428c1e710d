/**
 * Programs the tests need from Debian (rsvg-convert to render SVG, and the like): found on the PATH, or
 * installed with `apt-get install -y` when the tests run as root; otherwise the test stops with one
 * line saying what to install. Nothing is skipped.
 */
import { execFileSync, spawnSync } from 'node:child_process';

const isOnPath = (program: string): boolean => spawnSync('sh', ['-c', `command -v ${program}`], { stdio: 'ignore' }).status === 0;

/** Make sure `program` (from the Debian package `pkg`) can run; returns its name. */
export function requireTool(program: string, pkg: string): string {
  if (isOnPath(program)) return program;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot) {
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', pkg], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (isOnPath(program)) return program;
  }
  throw new Error(`${program} is needed by this test: install it with \`apt-get install ${pkg}\``);
}
