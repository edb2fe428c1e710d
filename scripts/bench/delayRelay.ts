/**
 * A TCP relay that delays every chunk by a fixed time in each direction: the bench's stand-in for
 * netem on kernels without it (`--only hosts`). Chunks keep their order (equal delays fire in order);
 * bandwidth is not limited.
 *
 *   node dist/scripts/bench/delayRelay.js --listen HOST:PORT --to HOST:PORT --delay MS
 *
 * It runs until killed (the bench stops it by PID).
 */
import { createConnection, createServer, type Socket } from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { listen: { type: 'string' }, to: { type: 'string' }, delay: { type: 'string' } } });
const split = (text: string | undefined, what: string): { host: string; port: number } => {
  const m = /^(.+):(\d+)$/.exec(text ?? '');
  if (m === null) throw new Error(`delayRelay: --${what} HOST:PORT`);
  return { host: m[1], port: Number(m[2]) };
};
const listen = split(values.listen, 'listen');
const to = split(values.to, 'to');
const delay = Number(values.delay ?? 0);

function pipeDelayed(from: Socket, into: Socket): void {
  from.on('data', (chunk) => {
    setTimeout(() => {
      if (!into.destroyed) into.write(chunk);
    }, delay);
  });
  from.on('close', () => setTimeout(() => into.destroy(), delay));
  from.on('error', () => into.destroy());
}

createServer((client) => {
  client.setNoDelay(true);
  const server = createConnection(to);
  server.setNoDelay(true);
  pipeDelayed(client, server);
  pipeDelayed(server, client);
}).listen(listen.port, listen.host);
