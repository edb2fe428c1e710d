/**
 * `deltaflow serve` meets hostile input: start-up refusals, the bearer token, POST /model and SIGHUP
 * swaps (a bad file leaves the served model), body and row limits, slow clients (headers and body),
 * strict row validation naming the row and the column, and fast-check fuzzing of every endpoint —
 * bodies, headers and raw bytes — against a real server that must answer with a valid status and
 * stay up.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir, writeBlobs } from './cliHelpers.js';
import { call, postJson, rawExchange, recompute, ServerPool, waitFor, type Served } from './serveHelpers.js';

const TOKEN = 'a-test-token-0123456789abcdef';
const sha = (text: string): string => `sha256:${createHash('sha256').update(text).digest('hex')}`;

let dir: string;
let model: string;
let other: string;
let regModel: string;
const pool = new ServerPool(() => dir);
const serve = (args: string[]): Promise<Served> => pool.start(args);

beforeAll(async () => {
  dir = tempDir();
  writeBlobs(join(dir, 'blobs.csv'), 150, 1);
  writeFileSync(join(dir, 'linear.csv'), `a,b,y\n${Array.from({ length: 50 }, (_, i) => `${i % 7},${i % 3},${i % 5}`).join('\n')}\n`);
  for (const [out, extra] of [
    ['m1', ['--hidden', '8']],
    ['m2', ['--hidden', '4', '--seed', '9']],
  ] as const) {
    const r = await runCli(['train', '--data', 'blobs.csv', '--label', 'species', '--epochs', '1', '--out', out, '--quiet', ...extra], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
  }
  const r = await runCli(['train', '--data', 'linear.csv', '--task', 'regress', '--label', 'y', '--epochs', '1', '--hidden', '4', '--out', 'reg', '--quiet'], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  model = join(dir, 'm1', 'model.json');
  other = join(dir, 'm2', 'model.json');
  regModel = join(dir, 'reg', 'model.json');
});

afterAll(() => pool.stopAll());

describe('deltaflow serve: start-up refusals', () => {
  const cases: [string, string[], string][] = [
    ['another address without a token', ['--host', '0.0.0.0'], 'deltaflow: --host 0.0.0.0: serving on an address other than the loopback (127.0.0.1, ::1, localhost) needs --token (or DELTAFLOW_TOKEN), so that requests must carry it\n'],
    ['a short token', ['--token', 'short'], 'deltaflow: --token: at least 16 characters, got 5\n'],
    ['headers allowed longer than the request', ['--headers-timeout', '5000', '--request-timeout', '1000'], 'deltaflow: --headers-timeout 5000 is longer than --request-timeout 1000; the headers are part of the request\n'],
    ['snapshots without learning', ['--snapshots', 'snaps'], 'deltaflow: --snapshots applies to --learn (a server that does not learn has one version)\n'],
  ];
  for (const [what, args, message] of cases) {
    it(`refuses ${what}, in one line`, async () => {
      const r = await runCli(['serve', '--model', model, '--port', '0', ...args], { cwd: dir });
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(message);
    });
  }

  it('refuses a model file without a data description', async () => {
    const text = readFileSync(model, 'utf8').replace(/,\n {2}"meta": .*\n\}\n$/s, '\n}\n');
    writeFileSync(join(dir, 'bare.json'), text);
    const r = await runCli(['serve', '--model', 'bare.json', '--port', '0'], { cwd: dir });
    expect(r.stderr).toBe('deltaflow: bare.json: the model file has no data description (meta); serve needs a model written by deltaflow train or deltaflow online --save\n');
  });
});

describe('deltaflow serve: the token', () => {
  it('on 127.0.0.2 with --token: requests without it or with a wrong one get 401, with it 200', async () => {
    const s = await serve(['--model', model, '--host', '127.0.0.2', '--token', TOKEN]);
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.2:/);
    const wrong: Record<string, string>[] = [{}, { Authorization: `Bearer ${TOKEN}x` }, { Authorization: TOKEN }, { Authorization: `Basic ${TOKEN}` }];
    for (const headers of wrong) {
      const a = await call(s.url, '/model', { headers });
      expect(a.status).toBe(401);
      expect(a.headers.get('www-authenticate')).toBe('Bearer');
    }
    expect((await call(s.url, '/nowhere')).status).toBe(401);
    expect((await call(s.url, '/model', { token: TOKEN })).status).toBe(200);
  });
});

describe('deltaflow serve: swapping models', () => {
  it('POST /model needs a server started with --token, POST /learn one started with --learn', async () => {
    const s = await serve(['--model', model]);
    const a = await call(s.url, '/model', { body: readFileSync(other, 'utf8'), type: 'application/json' });
    expect(a.status).toBe(403);
    const learn = await postJson(s.url, '/learn', [{ x: 1, y: 1, species: 'setosa' }]);
    expect(learn.status).toBe(403);
    expect(learn.json.error).toBe('this server does not learn (start it with --learn)');
  });

  it('POST /model: a bad file is a 400 and the old model stays; a good one answers from the next version', async () => {
    const s = await serve(['--model', model, '--learn', '--token', TOKEN]);
    const post = (body: string) => call(s.url, '/model', { body, type: 'application/json', token: TOKEN });
    const bad = [
      ['not JSON', '{"format": '],
      ['a path', '"/etc/passwd"'],
      ['another data description', readFileSync(regModel, 'utf8')],
      ['a wrong weight count', readFileSync(other, 'utf8').replace('"data": [', '"data": [1,')],
    ];
    for (const [what, body] of bad) {
      const a = await post(body);
      expect(a.status, what).toBe(400);
      expect(a.json.error, what).toMatch(/; the model served is unchanged$/);
    }
    expect((await call(s.url, '/model', { token: TOKEN })).json.version).toBe(1);
    const good = await post(readFileSync(other, 'utf8'));
    expect(good.status, good.text).toBe(200);
    expect(good.json).toMatchObject({ version: 2, updates: 0, generation: 2, hash: sha(readFileSync(other, 'utf8')) });
    const p = await postJson(s.url, '/predict', [{ x: 0.5, y: 1 }], TOKEN);
    expect(p.json.version).toBe(2);
    expect(p.json.predictions).toEqual(await recompute(other, [Float32Array.from([0.5, 1])], [null]));
  });

  it('SIGHUP re-reads --model: a new file is swapped in, a broken one leaves the served model with a line on stderr', async () => {
    const path = join(dir, 'hup.json');
    copyFileSync(model, path);
    const s = await serve(['--model', 'hup.json']);
    copyFileSync(other, path);
    s.child.kill('SIGHUP');
    await waitFor(() => s.stderr().includes('swapped in as version 2'));
    expect((await call(s.url, '/model')).json).toMatchObject({ version: 2, hash: sha(readFileSync(other, 'utf8')) });
    writeFileSync(path, '{"format": "deltaflow-model", "version": 1');
    s.child.kill('SIGHUP');
    await waitFor(() => s.stderr().includes('unchanged'));
    expect(s.stderr()).toMatch(/deltaflow serve: SIGHUP: .*hup\.json: model file: not valid JSON .*; the model served is unchanged \(version 2\)\n$/);
    expect((await call(s.url, '/model')).json.version).toBe(2);
  });
});

describe('deltaflow serve: limits', () => {
  it('a body over --max-body is a 413, declared or chunked, without reading it through; the server goes on', async () => {
    const s = await serve(['--model', model, '--max-body', '1K']);
    const big = JSON.stringify(Array.from({ length: 100 }, () => ({ x: 1.25, y: 2.5 })));
    const declared = await call(s.url, '/predict', { body: big, type: 'application/json' });
    expect(declared.status).toBe(413);
    expect(declared.json.error).toBe('the body is larger than the limit of 1024 bytes');
    const chunk = Buffer.alloc(512, 0x20);
    const chunked = await rawExchange(s.port, [
      'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n',
      ...Array.from({ length: 64 }, () => Buffer.concat([Buffer.from('200\r\n'), chunk, Buffer.from('\r\n')])),
    ]);
    expect(chunked.data).toMatch(/^HTTP\/1\.1 413 /);
    expect((await call(s.url, '/model')).status).toBe(200);
  });

  it('the default limit is 1 MiB', async () => {
    const s = await serve(['--model', model]);
    const a = await call(s.url, '/predict', { body: `[${' '.repeat(1024 * 1024)}]`, type: 'application/json' });
    expect(a.status).toBe(413);
    expect(a.json.error).toBe('the body is larger than the limit of 1048576 bytes');
  });

  it('more rows than --max-rows is a 413 (JSON and CSV)', async () => {
    const s = await serve(['--model', model, '--max-rows', '3']);
    const a = await postJson(s.url, '/predict', Array.from({ length: 4 }, () => ({ x: 1, y: 1 })));
    expect(a.status).toBe(413);
    expect(a.json.error).toBe('the request has 4 rows, more than the limit of 3 (--max-rows)');
    const b = await call(s.url, '/predict', { body: 'x,y\n1,1\n1,1\n1,1\n1,1\n', type: 'text/csv' });
    expect(b.status).toBe(413);
  });

  it('slow clients: headers trickling in or a body that never completes get 408 and the connection closed, while others are answered', async () => {
    const s = await serve(['--model', model, '--headers-timeout', '400', '--request-timeout', '800']);
    const headerBytes = 'POST /predict HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(40);
    const slowHeaders = rawExchange(s.port, [...headerBytes], { gapMs: 100, ms: 6000 });
    const slowBody = rawExchange(s.port, ['POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n', ...'[{"x": 1'], { gapMs: 150, ms: 6000 });
    const meanwhile = await postJson(s.url, '/predict', [{ x: 1, y: 2 }]);
    expect(meanwhile.status).toBe(200);
    for (const r of await Promise.all([slowHeaders, slowBody])) {
      expect(r.data).toMatch(/^HTTP\/1\.1 408 /);
      // Closed by the server long before the client would have finished (6 s cap).
      expect(r.closedAfterMs).toBeLessThan(5000);
    }
    expect((await call(s.url, '/metrics')).text).toMatch(/deltaflow_errors_total\{kind="timeout"\} 2\n/);
  });

  it('at most --max-event-clients event streams (503 beyond)', async () => {
    const s = await serve(['--model', model, '--max-event-clients', '1']);
    const first = await fetch(`${s.url}/events`);
    expect(first.status).toBe(200);
    const second = await call(s.url, '/events');
    expect(second.status).toBe(503);
    await first.body?.cancel();
  });
});

describe('deltaflow serve: routes and strict validation', () => {
  let s: Served;
  beforeAll(async () => {
    s = await serve(['--model', model, '--learn']);
  });

  it('unknown routes 404, wrong methods 405 with Allow, wrong media types 415, HEAD as GET', async () => {
    expect((await call(s.url, '/predict/more')).status).toBe(404);
    expect((await call(s.url, '/Model')).status).toBe(404);
    const wrong = await call(s.url, '/predict', { method: 'GET' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
    expect((await call(s.url, '/model', { method: 'DELETE' })).headers.get('allow')).toBe('GET, HEAD, POST');
    const form = await call(s.url, '/predict', { body: 'x=1', type: 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(415);
    expect(form.json.error).toBe('expected Content-Type application/json or text/csv (UTF-8), got Content-Type "application/x-www-form-urlencoded"');
    const head = await call(s.url, '/model', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
  });

  const badJson: [string, unknown, string][] = [
    ['a missing column', [{ x: 1, y: 2 }, { x: 1 }], 'row 1, column "y": missing'],
    ['a non-number', [{ x: 'abc', y: 2 }], 'row 0, column "x": "abc" is not a number'],
    ['hexadecimal text', [{ x: 1, y: '0x10' }], 'row 0, column "y": "0x10" is not a decimal number'],
    ['NaN as text', [{ x: 'NaN', y: 1 }], 'row 0, column "x": "NaN" is not a finite number'],
    ['an empty string', [{ x: '', y: 1 }], 'row 0, column "x": missing value (empty field)'],
    ['null', [{ x: null, y: 1 }], 'row 0, column "x": expected a number or a string, got null'],
    ['a nested object', [{ x: { v: 1 }, y: 1 }], 'row 0, column "x": expected a number or a string, got object'],
    ['a row that is not an object', [[1, 2]], 'row 0: expected an object keyed by column name, got an array'],
    ['an id that is an object', [{ x: 1, y: 1, id: {} }], 'row 0, column "id": the id must be a string or an integer, got object'],
  ];
  for (const [what, body, error] of badJson) {
    it(`POST /predict JSON with ${what}: 400 naming the row and the column`, async () => {
      const a = await postJson(s.url, '/predict', body);
      expect(a.status).toBe(400);
      expect(a.json).toEqual({ error });
    });
  }

  it('numbers that overflow, labels that are not classes, bodies that are not arrays, invalid JSON and invalid UTF-8 are 400s', async () => {
    const overflow = await call(s.url, '/predict', { body: '[{"x": 1e400, "y": 1}]', type: 'application/json' });
    expect(overflow.json.error).toBe('row 0, column "x": the number is not finite (it overflows)');
    const label = await postJson(s.url, '/learn', [{ x: 1, y: 1, species: 'dog' }]);
    expect(label.json.error).toBe('row 0, column "species": label "dog" is not one of the 3 classes "setosa", "versicolor", "virginica"');
    expect((await postJson(s.url, '/predict', { x: 1, y: 1 })).json.error).toBe('the body must be a JSON array of rows (objects keyed by column name)');
    expect((await call(s.url, '/predict', { body: '[{', type: 'application/json' })).json.error).toMatch(/^the body is not valid JSON \(/);
    const utf8 = await fetch(`${s.url}/predict`, { method: 'POST', body: Buffer.from([0x5b, 0xff, 0x5d]), headers: { 'Content-Type': 'application/json' } });
    expect(await utf8.json()).toEqual({ error: 'the body is not valid UTF-8 (byte 0xff at offset 1)' });
  });

  it('CSV bodies: the same checks as a CSV file, naming the row and its line:field', async () => {
    const post = async (body: string) => (await call(s.url, '/predict', { body, type: 'text/csv' })).json.error;
    expect(await post('x,y\n1,2\n3\n')).toBe('row 1: body:3: expected 2 fields, got 1');
    expect(await post('x,y\n1,2\n\n3,4\n')).toBe('row 1: empty line at body:3');
    expect(await post('x\n1\n')).toBe('the header lacks the model\'s feature column(s) "y"');
    expect(await post('x,y,x\n1,2,3\n')).toBe('body:1: duplicate column "x" (fields 1 and 3)');
    expect(await post('x,y\n1,"2\n')).toMatch(/^the CSV body cannot be parsed: /);
  });

  it('no file of scripts/serve opens a path but the snapshots’ (whose folder is the command line’s)', () => {
    const here = resolve(dirname(fileURLToPath(import.meta.url)), '../../scripts/serve');
    const touching = readdirSync(here).filter((f) => /from 'node:fs|saveModel|loadModel|readFile|writeFile|createReadStream|createWriteStream/.test(readFileSync(join(here, f), 'utf8')));
    expect(touching).toEqual(['snapshots.ts']);
  });
});

describe('deltaflow serve: fuzzing', () => {
  let s: Served;
  beforeAll(async () => {
    s = await serve(['--model', model, '--learn', '--token', TOKEN, '--max-rows', '50', '--headers-timeout', '300', '--request-timeout', '600', '--max-label-wait', '20']);
  });

  const value = fc.oneof(fc.double(), fc.integer(), fc.string(), fc.constantFrom(null, true, '0x10', 'NaN', '', ' 3 ', 'setosa', 'virginica'), fc.array(fc.integer(), { maxLength: 2 }));
  const key = fc.constantFrom('x', 'y', 'species', 'id', 'label', '__proto__', 'constructor', 'other');
  const row = fc.dictionary(key, value, { maxKeys: 5 });
  const csv = fc
    .tuple(fc.constantFrom('x,y', 'x,y,species', 'id,species', 'y,x,id', 'x,x', ''), fc.array(fc.array(fc.oneof(fc.double().map(String), fc.string(), fc.constantFrom('"', 'setosa', 'r1')), { maxLength: 4 }), { maxLength: 6 }))
    .map(([header, lines]) => `${header}\n${lines.map((l) => l.join(',')).join('\n')}`);
  const body = fc.oneof(fc.array(row, { maxLength: 8 }).map((rows) => JSON.stringify(rows)), fc.json(), fc.string(), csv, fc.constant(''));
  const printable = fc.stringMatching(/^[\x20-\x7e]{0,40}$/);
  const request = fc.record({
    method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'),
    path: fc.oneof(fc.constantFrom('/predict', '/learn', '/model', '/model.json', '/metrics', '/events', '/', '/predict?x=1'), printable.map((p) => `/${encodeURIComponent(p)}`)),
    type: fc.constantFrom('application/json', 'text/csv', 'text/csv; charset=latin1', 'application/json; charset=utf-8', 'text/plain', undefined),
    auth: fc.oneof(fc.constant(`Bearer ${TOKEN}`), fc.constant(undefined), printable, printable.map((t) => `Bearer ${t}`)),
    body,
    extra: fc.dictionary(fc.stringMatching(/^x-[a-z]{1,8}$/), printable, { maxKeys: 3 }),
  });
  const VALID = new Set([200, 400, 401, 403, 404, 405, 409, 413, 415, 422, 503]);

  it('fast-check requests (methods, paths, media types, tokens, headers, JSON and CSV bodies): a valid status, never a 500, and the server stays up', async () => {
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const headers: Record<string, string> = { ...r.extra };
        if (r.type !== undefined) headers['Content-Type'] = r.type;
        if (r.auth !== undefined) headers.Authorization = r.auth;
        const hasBody = r.method !== 'GET' && r.method !== 'HEAD';
        const controller = new AbortController();
        // A request the server left unanswered would fail the property here (and be shrunk and shown).
        const timer = setTimeout(() => controller.abort(new Error(`no answer within 5 s: ${r.method} ${r.path}`)), 5000);
        const res = await fetch(`${s.url}${r.path}`, { method: r.method, headers, body: hasBody ? r.body : undefined, signal: controller.signal });
        clearTimeout(timer);
        // An accepted /events stream never ends by itself.
        if (res.headers.get('content-type')?.startsWith('text/event-stream') === true) controller.abort();
        else await res.text();
        expect(VALID.has(res.status), `${r.method} ${r.path} → ${res.status}`).toBe(true);
      }),
      { numRuns: 400 },
    );
    expect((await call(s.url, '/model', { token: TOKEN })).status).toBe(200);
    expect(s.child.exitCode).toBeNull();
  });

  it('fast-check raw bytes on the socket (broken request lines, headers, lengths): answered with a status line or closed, and the server stays up', async () => {
    const line = fc.oneof(
      fc.constantFrom('POST /predict HTTP/1.1', 'GET /model HTTP/1.1', 'GET / HTTP/9.9', 'BREW /pot HTCPCP/1.0', ''),
      fc.string({ maxLength: 60 }),
      fc.uint8Array({ maxLength: 60 }).map((b) => Buffer.from(b).toString('latin1')),
    );
    const header = fc.oneof(fc.constantFrom('Host: x', 'Content-Length: 5', 'Content-Length: -1', 'Content-Length: 99999999999', 'Transfer-Encoding: chunked', `Authorization: Bearer ${TOKEN}`), fc.string({ maxLength: 40 }));
    const raw = fc.tuple(line, fc.array(header, { maxLength: 5 }), fc.string({ maxLength: 80 })).map(([l, hs, b]) => `${l}\r\n${hs.join('\r\n')}\r\n\r\n${b}`);
    await fc.assert(
      fc.asyncProperty(raw, async (bytes) => {
        const r = await rawExchange(s.port, [Buffer.from(bytes, 'latin1')], { ms: 3000 });
        expect(r.data === '' || /^HTTP\/1\.1 \d{3} /.test(r.data), JSON.stringify(r.data.slice(0, 80))).toBe(true);
        expect(r.data.startsWith('HTTP/1.1 500')).toBe(false);
      }),
      { numRuns: 150 },
    );
    expect((await call(s.url, '/model', { token: TOKEN })).status).toBe(200);
    expect(s.child.exitCode).toBeNull();
  });
});
