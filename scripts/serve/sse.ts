/**
 * Server-sent events (`GET /events`, the text/event-stream format of the HTML standard):
 *
 *   event: version
 *   data: {"version": 4, "updates": 300, "generation": 1}
 *
 *   event: metrics
 *   data: {"version": 4, "seen": 300, "cumulativeAccuracy": 0.91, …}
 *
 * A comment line (`: keep-alive`) every `heartbeatMs` keeps proxies from closing an idle stream. At
 * most `maxClients` streams are open at once (a 503 beyond); a client that does not read — its
 * socket buffer past `maxBuffered` bytes — is dropped rather than buffered for without bound.
 */
import type { ServerResponse } from 'node:http';

export interface EventHubOptions {
  readonly maxClients: number;
  readonly heartbeatMs: number;
  /** Bytes a client may leave unread before it is dropped. */
  readonly maxBuffered: number;
}

export class EventHub {
  private readonly clients = new Set<ServerResponse>();
  private readonly timer: NodeJS.Timeout;
  /** Clients dropped because they did not read. */
  dropped = 0;

  constructor(private readonly options: EventHubOptions) {
    this.timer = setInterval(() => this.write(': keep-alive\n\n'), options.heartbeatMs);
    this.timer.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  get isFull(): boolean {
    return this.clients.size >= this.options.maxClients;
  }

  /** Starts the stream on `res` with the given first events; it ends when the client goes. */
  add(res: ServerResponse, first: readonly (readonly [string, unknown])[]): void {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Content-Type-Options': 'nosniff',
    });
    res.write(`: deltaflow serve events\n\n${first.map(([event, data]) => frame(event, data)).join('')}`);
    this.clients.add(res);
    res.on('close', () => this.clients.delete(res));
  }

  /** One event to every client. */
  send(event: string, data: unknown): void {
    if (this.clients.size > 0) this.write(frame(event, data));
  }

  /** Ends every stream (the server is closing). */
  close(): void {
    clearInterval(this.timer);
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  private write(text: string): void {
    for (const res of this.clients) {
      if (res.writableLength > this.options.maxBuffered) {
        this.dropped++;
        this.clients.delete(res);
        res.destroy();
        continue;
      }
      res.write(text);
    }
  }
}

/** `event: name\ndata: json\n\n` (JSON has no raw line breaks, so one data line suffices). */
function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
