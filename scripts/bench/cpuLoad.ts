/**
 * How busy the whole machine is, from /proc/stat (Linux): the CPU-seconds all processes spent
 * outside idle. Around a pass, (machine busy seconds − the pass's own CPU seconds) / wall seconds is
 * the number of cores other processes took meanwhile — on a shared 2-vCPU machine a 2-thread figure
 * means little when that is near 1. Elsewhere the functions return null.
 */
import { readFileSync } from 'node:fs';

/** Kernel clock ticks per second for /proc/stat (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** Busy CPU-seconds of all cores since boot (user, nice, system, irq, softirq), or null without /proc. */
export function machineBusySeconds(): number | null {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq] = f;
    return (user + nice + system + irq + softirq) / USER_HZ;
  } catch {
    return null;
  }
}
