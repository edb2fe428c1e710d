/**
 * `DistributedError`: what stops a distributed job, as one line for the user — a job in use, a
 * refused worker (naming the field that differs), a wait that timed out (naming what it waited for),
 * a Redis node down for longer than the wait timeout (naming the node), a coordinator fenced off by a
 * newer one.
 */
export class DistributedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DistributedError';
  }
}
