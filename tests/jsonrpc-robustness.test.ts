import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CatalogHolder } from '../src/catalog/holder.js';
import type { RunningHttpServer } from '../src/http.js';
import { REPO_ROOT } from './helpers/dataset.js';
import { messagesOf, type Message } from './helpers/mcp-http.js';
import { httpOver, publishedHolder } from './helpers/served-catalog.js';

/**
 * Malformed JSON-RPC over stdio (the real server process, raw lines on stdin) and over HTTP (raw
 * POSTs): the server answers with JSON-RPC errors and keeps serving the next valid request.
 *
 * Broken JSON, invalid messages, empty batches and over-long stdio lines are answered by this server's own
 * checks in src/stdio.ts and src/http.ts; requests to known methods whose params do not fit the method's
 * MCP schema are answered -32602 Invalid params by src/jsonrpc.ts before they reach the SDK (which would
 * answer -32603 Internal error).
 */

const PING = (id: number | string) => JSON.stringify({ jsonrpc: '2.0', id, method: 'ping' });
const INIT = JSON.stringify({
  jsonrpc: '2.0', id: 'init', method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});

/** Messages that are not valid JSON-RPC requests, though valid JSON (or not JSON at all). */
const BROKEN_JSON = ['{"jsonrpc":', '{"jsonrpc":"2.0","id":1,"method":"ping"', 'not json at all', '{\'single\': \'quotes\'}'];
const INVALID_REQUESTS = [
  '{"jsonrpc":"2.0","id":10,"method":123}',
  '{"jsonrpc":"2.0","id":11,"method":"tools/call","params":"x"}',
  '{"jsonrpc":"2.0","id":{"nested":1},"method":"ping"}',
  '{"jsonrpc":"1.0","id":12,"method":"ping"}',
  '{"id":13,"method":"ping"}',
  '"hello"',
  '42',
  'null',
];
const INVALID_PARAMS = '{"jsonrpc":"2.0","id":"bad-params","method":"tools/call","params":{"name":5,"arguments":[]}}';

const request = (id: string, method: string, params: unknown) => JSON.stringify({ jsonrpc: '2.0', id, method, params });

/**
 * Client mistakes that reached the SDK's code and came back as -32603 Internal error (a cursor that
 * decodes to JSON null, `__proto__` as a name found on a plain object, a URI past the SDK's 1 MB template
 * limit): each is answered -32602 Invalid params with a message saying what to fix.
 */
const CLIENT_MISTAKES: { id: string; line: string; message: RegExp }[] = [
  { id: 'cm-cursor', line: request('cm-cursor', 'resources/list', { cursor: 'bnVsbA' }), message: /invalid cursor «bnVsbA»; pass the nextCursor/ },
  { id: 'cm-cursor-array', line: request('cm-cursor-array', 'resources/list', { cursor: Buffer.from('[1]').toString('base64url') }), message: /invalid cursor/ },
  {
    id: 'cm-complete-template',
    line: request('cm-complete-template', 'completion/complete', { ref: { type: 'ref/resource', uri: 'music://genres/{genre}' }, argument: { name: '__proto__', value: 'x' } }),
    message: /unknown argument «__proto__».*valid arguments: genre/,
  },
  {
    id: 'cm-complete-prompt',
    line: request('cm-complete-prompt', 'completion/complete', { ref: { type: 'ref/prompt', name: 'build_playlist' }, argument: { name: '__proto__', value: 'x' } }),
    message: /unknown argument «__proto__».*valid arguments: mood, genre, length/,
  },
  { id: 'cm-tool', line: request('cm-tool', 'tools/call', { name: '__proto__', arguments: {} }), message: /unknown tool «__proto__».*recommend_by_genre/ },
  { id: 'cm-prompt', line: request('cm-prompt', 'prompts/get', { name: 'constructor' }), message: /unknown prompt «constructor».*build_playlist/ },
  { id: 'cm-uri', line: request('cm-uri', 'resources/read', { uri: `music://artists/${'a'.repeat(1_000_001)}` }), message: /the URI is 1000017 characters long; this server's URIs are at most 8192/ },
];

/** A 1 MB unknown tool name: the answer repeats at most 200 characters of it. */
const HUGE_NAME = request('huge-name', 'tools/call', { name: `\u202e${'n'.repeat(1_000_000)}`, arguments: {} });

function expectClientMistake(a: Message | undefined, c: (typeof CLIENT_MISTAKES)[number]): void {
  expect(a, c.id).toMatchObject({ id: c.id, error: { code: -32602 } });
  expect(a!.error!.message, c.id).toMatch(c.message);
  expect(a!.error!.message.length, c.id).toBeLessThan(1_000);
}

function expectCappedEcho(a: Message | undefined): void {
  expect(a).toMatchObject({ id: 'huge-name', error: { code: -32602 } });
  const message: string = a!.error!.message;
  expect(message).toMatch(/^unknown tool «\\u202En{199}…»/);
  expect(message).not.toContain('\u202e');
  expect(message.length).toBeLessThan(600);
}

/** A raw line client of the stdio server process. */
class RawStdio {
  readonly child: ChildProcessWithoutNullStreams;
  readonly messages: Message[] = [];
  readonly unparsable: string[] = [];
  stderr = '';
  private buffer = '';
  private waiters: (() => void)[] = [];
  private nextId = 1_000;

  constructor(dataDir: string) {
    this.child = spawn(process.execPath, [join(REPO_ROOT, 'bin/music-mcp-server.js'), '--stdio'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), MUSIC_DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
    });
    this.child.stdin.on('error', () => undefined); // a dead server shows up as a missing answer
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.child.stdout.on('data', (d: Buffer) => {
      this.buffer += d.toString();
      let nl: number;
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl);
        this.buffer = this.buffer.slice(nl + 1);
        if (!line.trim()) continue;
        try {
          this.messages.push(JSON.parse(line) as Message);
        } catch {
          this.unparsable.push(line);
        }
      }
      for (const w of this.waiters.splice(0)) w();
    });
    this.child.once('exit', () => {
      for (const w of this.waiters.splice(0)) w();
    });
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  send(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }

  /** The answer for `id`; rejects when the process exits first. */
  async answer(id: unknown): Promise<Message> {
    for (;;) {
      const found = this.messages.find((m) => m.id === id && ('result' in m || 'error' in m));
      if (found) return found;
      if (!this.alive) throw new Error(`server exited (code ${this.child.exitCode}) before answering ${String(id)}; stderr: ${this.stderr.slice(-500)}`);
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Send a ping and wait for its answer: proves the server still serves. */
  async ping(): Promise<void> {
    const id = this.nextId++;
    this.send(PING(id));
    expect(await this.answer(id)).toMatchObject({ jsonrpc: '2.0', id, result: {} });
  }

  /** Send a line, then a ping; return what was answered in between (answers to the line). */
  async sendThenPing(line: string): Promise<Message[]> {
    const before = this.messages.length;
    this.send(line);
    const id = this.nextId++;
    this.send(PING(id));
    await this.answer(id);
    return this.messages.slice(before).filter((m) => m.id !== id);
  }

  async close(): Promise<void> {
    if (!this.alive) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
}

describe('malformed JSON-RPC over stdio (server process)', () => {
  const rpc = new RawStdio(inject('builtDataDir'));

  beforeAll(async () => {
    rpc.send(INIT);
    expect((await rpc.answer('init')).result.serverInfo.name).toBe('music-mcp-server');
    rpc.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
  });
  afterAll(async () => rpc.close());

  it('answers an unknown method with -32601 for the same id, and keeps serving', async () => {
    rpc.send('{"jsonrpc":"2.0","id":"m1","method":"music/teleport","params":{}}');
    const a = await rpc.answer('m1');
    expect(a.error?.code).toBe(-32601);
    await rpc.ping();
  });

  it('answers a tools/call with params of the wrong types with an error for the same id, and keeps serving', async () => {
    rpc.send(INVALID_PARAMS);
    const a = await rpc.answer('bad-params');
    expect(a.result).toBeUndefined();
    expect(a.error?.message.length).toBeGreaterThan(0);
    await rpc.ping();
  });

  it('answers an unknown tool and invalid tool arguments with isError naming the problem', async () => {
    rpc.send('{"jsonrpc":"2.0","id":"t1","method":"tools/call","params":{"name":"delete_everything","arguments":{}}}');
    rpc.send('{"jsonrpc":"2.0","id":"t2","method":"tools/call","params":{"name":"recommend_by_genre","arguments":{"genre":["rock"],"limit":"ten"}}}');
    const unknown = await rpc.answer('t1');
    const invalid = await rpc.answer('t2');
    for (const a of [unknown, invalid]) {
      expect(a.result?.isError ?? a.error).toBeTruthy();
    }
    expect(JSON.stringify(unknown)).toContain('delete_everything');
    expect(invalid.result.content[0].text).toMatch(/genre/);
    await rpc.ping();
  });

  it('echoes a 100,000-character string id and the largest safe integer id', async () => {
    const long = 'x'.repeat(100_000);
    rpc.send(PING(long));
    expect((await rpc.answer(long)).result).toEqual({});
    rpc.send(PING(Number.MAX_SAFE_INTEGER));
    expect((await rpc.answer(Number.MAX_SAFE_INTEGER)).result).toEqual({});
    rpc.send(PING(-1));
    expect((await rpc.answer(-1)).result).toEqual({});
  });

  it('keeps serving after broken JSON, invalid requests, batches, responses nobody asked for and unsafe integer ids', async () => {
    const lines = [
      ...BROKEN_JSON, ...INVALID_REQUESTS,
      `[${PING('b1')},${PING('b2')}]`, '[]',
      '{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"ping"}',
      '{"jsonrpc":"2.0","id":1.5,"method":"ping"}',
      '{"jsonrpc":"2.0","id":"r1","result":{}}',
      '{"jsonrpc":"2.0","method":"notifications/nothing-like-this"}',
      '\u0000\u0001\u0002',
      JSON.stringify({ jsonrpc: '2.0', id: 'pad', method: 'ping', params: { pad: 'p'.repeat(2 * 1024 * 1024) } }),
    ];
    for (const line of lines) {
      const answers = await rpc.sendThenPing(line);
      // Whatever was answered is a JSON-RPC error or result object, never something else.
      for (const a of answers) expect(a.jsonrpc).toBe('2.0');
    }
    expect(rpc.alive).toBe(true);
  });

  it('writes nothing but JSON-RPC messages to stdout', () => {
    expect(rpc.unparsable).toEqual([]);
    for (const m of rpc.messages) expect(m.jsonrpc).toBe('2.0');
  });

  it('answers broken JSON with -32700 Parse error (id null)', async () => {
    for (const line of BROKEN_JSON) {
      const answers = await rpc.sendThenPing(line);
      expect(answers).toContainEqual(expect.objectContaining({ id: null, error: expect.objectContaining({ code: -32700 }) }));
    }
  });

  it('answers structurally invalid requests with -32600 Invalid Request', async () => {
    for (const line of INVALID_REQUESTS) {
      const answers = await rpc.sendThenPing(line);
      expect(answers.map((a) => a.error?.code)).toContain(-32600);
    }
  });

  it('answers tools/call params of the wrong types with -32602 Invalid params naming the fields', async () => {
    const [a] = await rpc.sendThenPing(INVALID_PARAMS.replace('bad-params', 'bad-params-2'));
    expect(a).toMatchObject({ id: 'bad-params-2', error: { code: -32602 } });
    expect(a?.error?.message).toMatch(/tools\/call.*params\.name.*params\.arguments/);
  });

  it('answers other known methods with missing or wrong params with -32602, and unknown methods with -32601 whatever their params', async () => {
    const [read] = await rpc.sendThenPing('{"jsonrpc":"2.0","id":"p1","method":"resources/read"}');
    expect(read).toMatchObject({ id: 'p1', error: { code: -32602 } });
    expect(read?.error?.message).toMatch(/resources\/read/);
    const [prompt] = await rpc.sendThenPing('{"jsonrpc":"2.0","id":"p2","method":"prompts/get","params":{"name":["x"]}}');
    expect(prompt).toMatchObject({ id: 'p2', error: { code: -32602 } });
    const [unknown] = await rpc.sendThenPing('{"jsonrpc":"2.0","id":"p3","method":"music/teleport","params":{"name":5}}');
    expect(unknown).toMatchObject({ id: 'p3', error: { code: -32601 } });
    // Well-formed params of a valid call still reach the tool.
    rpc.send('{"jsonrpc":"2.0","id":"p4","method":"tools/call","params":{"name":"recommend_by_genre","arguments":{"genre":"rock","limit":1}}}');
    expect((await rpc.answer('p4')).result?.structuredContent?.returned).toBe(1);
  });

  it('answers client mistakes that used to be -32603 with -32602 and a message saying what to fix', async () => {
    for (const c of CLIENT_MISTAKES) {
      const [a] = await rpc.sendThenPing(c.line);
      expectClientMistake(a, c);
    }
  });

  it('repeats at most 200 characters of a 1 MB unknown tool name, with invisible characters escaped', async () => {
    const [a] = await rpc.sendThenPing(HUGE_NAME);
    expectCappedEcho(a);
  });

  it('keeps serving after a line longer than the 16 MiB line limit', async () => {
    const own = new RawStdio(inject('builtDataDir'));
    try {
      own.send(INIT);
      await own.answer('init');
      own.send('z'.repeat(17 * 1024 * 1024));
      await own.ping();
    } finally {
      await own.close();
    }
  });
});


describe('malformed JSON-RPC over Streamable HTTP (raw POSTs)', () => {
  let running: RunningHttpServer;
  let holder: CatalogHolder;
  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(running.url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body });
  const stillServes = async () => {
    const res = await post('{"jsonrpc":"2.0","id":"alive","method":"tools/call","params":{"name":"recommend_by_genre","arguments":{"genre":"rock","limit":2}}}');
    expect(res.status).toBe(200);
    const [a] = await messagesOf(res);
    expect(a?.result?.structuredContent?.returned).toBe(2);
  };

  beforeAll(async () => {
    const dataDir = inject('builtDataDir');
    holder = await publishedHolder(dataDir);
    // Bodies up to 4 MiB: a URI past the SDK's 1 MB limit must reach the server.
    running = await httpOver(holder, { MCP_MAX_BODY_BYTES: String(4 * 1024 * 1024) });
  });
  afterAll(async () => {
    await running?.close(1_000);
    holder?.close();
  });

  it('answers broken JSON with 400 and -32700 (id null), and keeps serving', async () => {
    for (const body of BROKEN_JSON) {
      const res = await post(body);
      expect(res.status).toBe(400);
      expect(await messagesOf(res)).toEqual([expect.objectContaining({ id: null, error: expect.objectContaining({ code: -32700 }) })]);
      await stillServes();
    }
  });

  it('answers invalid requests with 400 and a JSON-RPC error, and keeps serving', async () => {
    for (const body of INVALID_REQUESTS) {
      const res = await post(body);
      expect(res.status, body).toBe(400);
      const [a] = await messagesOf(res);
      expect([-32600, -32700], body).toContain(a?.error?.code);
      await stillServes();
    }
  });

  it('answers an unknown method with -32601 and invalid params with an error, for the same ids', async () => {
    const [unknown] = await messagesOf(await post('{"jsonrpc":"2.0","id":7,"method":"music/teleport"}'));
    expect(unknown).toMatchObject({ id: 7, error: { code: -32601 } });
    const [bad] = await messagesOf(await post(INVALID_PARAMS));
    expect(bad?.id).toBe('bad-params');
    expect(bad?.error?.message.length).toBeGreaterThan(0);
    await stillServes();
  });

  it('echoes huge string ids and the largest safe integer id; refuses an unsafe integer id with an error', async () => {
    const long = 'y'.repeat(100_000);
    expect((await messagesOf(await post(PING(long))))[0]).toMatchObject({ id: long, result: {} });
    expect((await messagesOf(await post(PING(Number.MAX_SAFE_INTEGER))))[0]).toMatchObject({ id: Number.MAX_SAFE_INTEGER, result: {} });
    const unsafe = await post('{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"ping"}');
    expect(unsafe.status).toBe(400);
    expect((await messagesOf(unsafe))[0]?.error).toBeDefined();
    await stillServes();
  });

  it('answers every request of a batch by its id', async () => {
    const res = await post(`[${PING('b1')},${PING('b2')},{"jsonrpc":"2.0","id":"b3","method":"music/teleport"}]`);
    expect(res.status).toBe(200);
    const answers = await messagesOf(res);
    expect(answers.find((a) => a.id === 'b1')?.result).toEqual({});
    expect(answers.find((a) => a.id === 'b2')?.result).toEqual({});
    expect(answers.find((a) => a.id === 'b3')?.error?.code).toBe(-32601);
    await stillServes();
  });

  it('answers a wrong content type (415) and a missing Accept (406) with JSON-RPC errors', async () => {
    const wrongType = await post(PING(1), { 'content-type': 'text/plain' });
    expect(wrongType.status).toBe(415);
    expect((await messagesOf(wrongType))[0]?.error).toBeDefined();
    const noAccept = await post(PING(2), { accept: 'text/html' });
    expect(noAccept.status).toBe(406);
    expect((await messagesOf(noAccept))[0]?.error).toBeDefined();
    await stillServes();
  });

  it('serves a real SDK client after all of the above', async () => {
    const client = new Client({ name: 'after-junk', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(running.url)));
    const r = (await client.callTool({ name: 'tracks_by_artist', arguments: { artist: 'Queen', limit: 2 } })) as { structuredContent?: { returned: number } };
    expect(r.structuredContent?.returned).toBe(2);
    await client.close();
  });

  it('answers invalid requests with -32600 Invalid Request (not -32700)', async () => {
    for (const body of INVALID_REQUESTS) {
      const [a] = await messagesOf(await post(body));
      expect(a?.error?.code, body).toBe(-32600);
    }
  });

  it('answers tools/call params of the wrong types with -32602 Invalid params naming the fields', async () => {
    const [a] = await messagesOf(await post(INVALID_PARAMS));
    expect(a).toMatchObject({ id: 'bad-params', error: { code: -32602 } });
    expect(a?.error?.message).toMatch(/tools\/call.*params\.name.*params\.arguments/);
  });

  it('answers a malformed request inside a batch with -32602 and the others normally', async () => {
    const res = await post(`[${PING('ok-1')},{"jsonrpc":"2.0","id":"bad-1","method":"resources/read","params":{"uri":7}}]`);
    const answers = await messagesOf(res);
    expect(answers.find((a) => a.id === 'ok-1')?.result).toEqual({});
    expect(answers.find((a) => a.id === 'bad-1')?.error?.code).toBe(-32602);
  });

  it('answers client mistakes that used to be -32603 with -32602 and a message saying what to fix', async () => {
    for (const c of CLIENT_MISTAKES) expectClientMistake((await messagesOf(await post(c.line)))[0], c);
    await stillServes();
  });

  it('repeats at most 200 characters of a 1 MB unknown tool name, with invisible characters escaped', async () => {
    expectCappedEcho((await messagesOf(await post(HUGE_NAME)))[0]);
  });

  it('answers an empty batch with -32600 Invalid Request', async () => {
    const res = await post('[]');
    expect((await messagesOf(res))[0]?.error?.code).toBe(-32600);
  });
});

/** The `_meta` envelope every 2026-07-28 request carries (no initialize: each request says who sends it). */
const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientCapabilities': {},
  'io.modelcontextprotocol/clientInfo': { name: 'raw', version: '1' },
};

/** A request line as a 2026-07-28 client sends it: the same request with the envelope in `params._meta`. */
function modern(line: string): string {
  const m = JSON.parse(line) as { params?: Record<string, unknown> };
  const params = m.params ?? {};
  return JSON.stringify({ ...m, params: { ...params, _meta: { ...(params._meta as object | undefined), ...ENVELOPE } } });
}

/** The headers a 2026-07-28 client sends with a POST: the revision, the method and (when one is given) the name or URI. */
function modernHeaders(line: string): Record<string, string> {
  const m = JSON.parse(line) as { method: string; params?: { name?: unknown; uri?: unknown } };
  const headers: Record<string, string> = { 'mcp-protocol-version': '2026-07-28', 'mcp-method': m.method };
  const name = m.params?.name ?? m.params?.uri;
  if (typeof name === 'string' && name.length <= 10_000 && /^[\x20-\x7e]*$/.test(name)) headers['mcp-name'] = name;
  return headers;
}

/**
 * 2026-07-28 requests reach the SDK another way than 2025-era ones (on HTTP its per-request handler rather
 * than the pooled servers), yet the same mistakes get the same -32602 answers naming what to fix. A URI
 * rides in the Mcp-Name header on HTTP, so the long-URI case there is one a header can carry.
 */
const LONG_URI = request('long-uri', 'resources/read', { uri: `music://artists/${'a'.repeat(9_000)}` });
const MODERN_MISTAKES = [
  ...CLIENT_MISTAKES.filter((c) => c.id !== 'cm-uri'),
  { id: 'long-uri', line: LONG_URI, message: /the URI is 9016 characters long; this server's URIs are at most 8192/ },
  { id: 'bad-read', line: request('bad-read', 'resources/read', { uri: 7 }), message: /Invalid params for resources\/read: params\.uri/ },
  { id: 'no-uri', line: request('no-uri', 'resources/read', {}), message: /Invalid params for resources\/read: params\.uri/ },
  { id: 'bad-prompt', line: request('bad-prompt', 'prompts/get', { name: ['x'] }), message: /Invalid params for prompts\/get: params\.name/ },
  { id: 'no-tool', line: request('no-tool', 'tools/call', { name: 'delete_everything', arguments: {} }), message: /unknown tool «delete_everything».*recommend_by_genre/ },
  { id: 'bad-params', line: INVALID_PARAMS, message: /tools\/call.*params\.name.*params\.arguments/ },
];

for (const kind of ['stdio', 'http'] as const) {
  describe(`client mistakes in 2026-07-28 requests over ${kind}`, () => {
    let ask: (line: string) => Promise<Message | undefined>;
    let done: () => Promise<void>;

    beforeAll(async () => {
      const dataDir = inject('builtDataDir');
      if (kind === 'stdio') {
        const rpc = new RawStdio(dataDir);
        ask = async (line) => {
          rpc.send(line);
          return rpc.answer((JSON.parse(line) as { id: unknown }).id);
        };
        done = () => rpc.close();
      } else {
        const holder = await publishedHolder(dataDir);
        const running = await httpOver(holder);
        ask = async (line) => {
          const res = await fetch(running.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...modernHeaders(line) },
            body: line,
          });
          return (await messagesOf(res))[0];
        };
        done = async () => {
          await running.close(1_000);
          holder.close();
        };
      }
    });
    afterAll(async () => done?.());

    it('answers -32602 with a message saying what to fix, as for a 2025-era request, and keeps serving', async () => {
      for (const c of MODERN_MISTAKES) expectClientMistake(await ask(modern(c.line)), c);
      expectCappedEcho(await ask(modern(HUGE_NAME)));
      const ok = await ask(modern(request('ok', 'tools/call', { name: 'recommend_by_genre', arguments: { genre: 'rock', limit: 2 } })));
      expect(ok?.result?.structuredContent?.returned).toBe(2);
    });
  });
}
