/**
 * CPU time of this process in milliseconds (user + system), for the dashboard's account of its own
 * cost: unlike wall time, it does not grow while the thread waits for a core on a busy machine.
 *
 * @example const t0 = cpuMs(); work(); spent += cpuMs() - t0;
 */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
