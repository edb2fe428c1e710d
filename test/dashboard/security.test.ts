/**
 * Who may use the dashboard server (scripts/dashboard/server.ts, requestGuard.ts), on a real server
 * on loopback and in a real Chromium: a page of another origin can neither read the run nor change
 * its settings; a name re-pointed at 127.0.0.1 (DNS rebinding) is refused by its Host header; no
 * response carries a CORS header; a token, when set, is required; binding beyond loopback without a
 * token is refused by the commands; a malformed request does not end the server.
 */
import { createServer, request, type Server } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunStore } from '../../scripts/dashboard/runStore.js';
import { startDashboardServer, type DashboardServer } from '../../scripts/dashboard/server.js';
import { runCli, tempDir } from '../cli/cliHelpers.js';
import { launchChromium, type Chromium } from '../helpers/chromium.js';

const REBOUND = 'rebind.test';

function store(): RunStore {
  return new RunStore({ type: 'run', version: 1, name: 'runs/secret', title: 'secret run', kind: 'train', summary: '', layers: [], percentiles: [], statsEvery: 10 });
}

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** One request to 127.0.0.1:port with exactly these headers. */
function ask(port: number, path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: { Host: `127.0.0.1:${port}`, ...options.headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (s: string) => {
        body += s;
        if (path.startsWith('/events') && body.includes('event: control')) res.destroy();
      });
      res.on('close', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const hasNoCors = (a: Answer): boolean => Object.keys(a.headers).every((h) => !h.startsWith('access-control-'));

describe('dashboard server: who may use it', () => {
  const control = { statsEvery: 10 };
  let server: DashboardServer;
  let withToken: DashboardServer;
  let other: Server;
  let otherPort = 0;
  let browser: Chromium;

  beforeAll(async () => {
    server = await startDashboardServer({ host: '127.0.0.1', port: 0, token: null, stores: [store()], control });
    withToken = await startDashboardServer({ host: '127.0.0.1', port: 0, token: 'a-secret-of-some-length', stores: [store()] });
    // Another origin on this machine: a blank page the browser test runs its requests from.
    other = createServer((_req, res) => res.end('<!doctype html><title>another site</title>'));
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', () => r()));
    otherPort = (other.address() as AddressInfo).port;
    browser = await launchChromium([`--host-resolver-rules=MAP ${REBOUND} 127.0.0.1`]);
  });
  afterAll(async () => {
    await browser.close();
    await server.close();
    await withToken.close();
    other.close();
  });

  it('serves its own origin: the page, the events, the state, and a JSON control request', async () => {
    const page = await ask(server.port, '/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>deltaflow dashboard</title>');
    expect((await ask(server.port, '/events')).body).toContain('event: run\ndata: {"type":"run"');
    expect(JSON.parse((await ask(server.port, '/api/state')).body)).toMatchObject({ control: { isLive: true, statsEvery: 10 } });
    const same = await ask(server.port, '/api/control', { method: 'POST', headers: { 'Content-Type': 'application/json', Origin: `http://127.0.0.1:${server.port}` }, body: '{"statsEvery":7}' });
    expect(same.status).toBe(200);
    expect(control.statsEvery).toBe(7);
    for (const a of [page, same]) expect(hasNoCors(a)).toBe(true);
  });

  it('refuses other origins, other sites, and Host names that are not its own (DNS rebinding), with no CORS header', async () => {
    control.statsEvery = 10;
    const refused: [string, Answer][] = [];
    for (const path of ['/', '/events', '/api/state', '/page.js']) {
      refused.push([`${path} Origin`, await ask(server.port, path, { headers: { Origin: 'http://evil.example' } })]);
      refused.push([`${path} Host`, await ask(server.port, path, { headers: { Host: `${REBOUND}:${server.port}` } })]);
      refused.push([`${path} Sec-Fetch-Site`, await ask(server.port, path, { headers: { 'Sec-Fetch-Site': 'cross-site' } })]);
    }
    refused.push(['control from elsewhere', await ask(server.port, '/api/control', { method: 'POST', headers: { 'Content-Type': 'application/json', Origin: 'http://evil.example' }, body: '{"statsEvery":1}' })]);
    for (const [what, a] of refused) {
      expect(a.status, what).toBe(403);
      expect(hasNoCors(a), what).toBe(true);
      expect(a.body, what).not.toContain('secret run');
    }
    expect(refused[1][1].body).toBe(`host "${REBOUND}:${server.port}" is not this server (expected one of 127.0.0.1:${server.port}, localhost:${server.port}, [::1]:${server.port})\n`);
    const preflight = await ask(server.port, '/api/control', { method: 'OPTIONS', headers: { Origin: `http://127.0.0.1:${server.port}`, 'Access-Control-Request-Method': 'POST' } });
    expect(preflight.status).toBe(405);
    expect(hasNoCors(preflight)).toBe(true);
    expect(control.statsEvery).toBe(10);
  });

  it('in Chromium, a page of another origin can neither read the run nor change its settings', async () => {
    control.statsEvery = 10;
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${otherPort}/`);
    const result = await page.evaluate(async (base) => {
      const out: Record<string, string> = {};
      for (const path of ['api/state', 'events', '']) {
        try {
          const r = await fetch(base + path);
          out[path] = `read ${r.status}: ${(await r.text()).slice(0, 40)}`;
        } catch {
          out[path] = 'blocked';
        }
      }
      // A "simple" request needs no preflight, so the browser sends it; the server must refuse it.
      await fetch(`${base}api/control`, { method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' }, body: '{"statsEvery":1}' });
      try {
        await fetch(`${base}api/control`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"statsEvery":2}' });
        out.json = 'sent';
      } catch {
        out.json = 'blocked';
      }
      out.events = await new Promise<string>((resolve) => {
        const es = new EventSource(`${base}events`);
        es.addEventListener('run', () => resolve('got the run'));
        es.onerror = () => {
          es.close();
          resolve('error');
        };
      });
      return out;
    }, `http://127.0.0.1:${server.port}/`);
    expect(result).toEqual({ 'api/state': 'blocked', events: 'error', '': 'blocked', json: 'blocked' });
    expect(control.statsEvery).toBe(10);
    await page.close();
  });

  it('in Chromium, a name re-pointed at 127.0.0.1 gets 403 (its Host is not this server)', async () => {
    const page = await browser.newPage();
    const response = await page.goto(`http://${REBOUND}:${server.port}/`);
    expect(response?.status()).toBe(403);
    expect(await page.textContent('body')).toContain(`host "${REBOUND}:${server.port}" is not this server`);
    const own = await page.goto(`http://127.0.0.1:${server.port}/`);
    expect(own?.status()).toBe(200);
    await page.close();
  });

  it('with a token, requests without it (or with another) get 401, with it 200', async () => {
    expect((await ask(withToken.port, '/')).status).toBe(401);
    expect((await ask(withToken.port, '/events?token=wrong-secret-of-some')).status).toBe(401);
    expect((await ask(withToken.port, '/?token=a-secret-of-some-length')).status).toBe(200);
    expect((await ask(withToken.port, '/api/state', { headers: { Authorization: 'Bearer a-secret-of-some-length' } })).status).toBe(200);
    expect(withToken.url).toBe(`http://127.0.0.1:${withToken.port}/?token=a-secret-of-some-length`);
  });

  it('a replay has no settings to change; bad control bodies are refused', async () => {
    const origin = { 'Content-Type': 'application/json' };
    expect((await ask(withToken.port, '/api/control?token=a-secret-of-some-length', { method: 'POST', headers: origin, body: '{"statsEvery":3}' })).status).toBe(409);
    expect((await ask(server.port, '/api/control', { method: 'POST', headers: { 'Content-Type': 'text/plain' }, body: '{"statsEvery":3}' })).status).toBe(415);
    const bad = await ask(server.port, '/api/control', { method: 'POST', headers: origin, body: '{"statsEvery":0}' });
    expect([bad.status, bad.body]).toEqual([400, 'statsEvery must be an integer in [1, 1000000], got 0\n']);
    expect((await ask(server.port, '/api/control', { method: 'POST', headers: origin, body: 'x'.repeat(10_000) })).status).toBe(413);
    expect((await ask(server.port, '/api/control')).status).toBe(405);
    expect((await ask(server.port, '/nothing-here')).status).toBe(404);
  });

  it('a malformed request does not end the server', async () => {
    await new Promise<void>((resolve) => {
      const socket = connect(server.port, '127.0.0.1', () => socket.end('NOT HTTP AT ALL\r\n\r\n\u0000\u0001'));
      socket.on('close', () => resolve());
      socket.on('error', () => resolve());
    });
    expect((await ask(server.port, '/api/state')).status).toBe(200);
  });

  it('the commands refuse a non-loopback --host without --token, and serving options without --dashboard', async () => {
    const dir = tempDir();
    const cases: [string[], string][] = [
      [['train', '--dashboard', '--host', '0.0.0.0'], '--host 0.0.0.0: serving beyond this machine needs --token SECRET (anyone who reaches the port could read the run otherwise)'],
      [['online', '--model', 'mlp', '--data', 'x.csv', '--dashboard', '--host', '192.0.2.1'], '--host 192.0.2.1: serving beyond this machine needs --token SECRET (anyone who reaches the port could read the run otherwise)'],
      [['dashboard', dir, '--host', '0.0.0.0'], '--host 0.0.0.0: serving beyond this machine needs --token SECRET (anyone who reaches the port could read the run otherwise)'],
      [['train', '--dashboard', '--host', '0.0.0.0', '--token', 'short'], '--token: use at least 12 characters'],
      [['train', '--port', '7000'], '--port applies to --dashboard'],
      [['train', '--stats-every', '3'], '--stats-every applies to --dashboard'],
    ];
    for (const [args, message] of cases) {
      const r = await runCli(args, { cwd: dir });
      expect([r.code, r.stderr], args.join(' ')).toEqual([1, `deltaflow: ${message}\n`]);
    }
  });
});
