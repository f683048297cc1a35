import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Client } from '@modelcontextprotocol/client';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/dataset.js';

// A first start as a person sees it: progress lines on a terminal, one plain sentence when it cannot
// build, and a server that keeps answering (and recovers) instead of sitting in a failed state.
// The catalog is built from a 4-row fixture so each first start takes seconds.

const TINY = join(REPO_ROOT, 'tests/fixtures/csv/maharshipandya-sample.csv');
const BIN = join(REPO_ROOT, 'bin/music-mcp-server.js');
const dirs: string[] = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'music-mcp-start-'));
  dirs.push(d);
  return d;
}

const baseEnv = () => ({ PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir() });
const sh = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

/** Runs `args` under `script` (util-linux): its stdout and stderr are a pseudo-terminal. Resolves with all output once `until` matches. */
function onTerminal(args: string[], env: Record<string, string>, until: RegExp): Promise<string> {
  const child = spawn('script', ['-q', '-e', '-c', args.map(sh).join(' '), '/dev/null'], { env: { ...baseEnv(), ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (until.test(out)) {
        child.kill('SIGKILL');
        resolve(out);
      }
    });
    child.once('exit', (code) => (until.test(out) ? resolve(out) : reject(new Error(`exited (${code}) before ${until}: ${out}`))));
  });
}

/** The lines a terminal ends up showing: each `\r` + erase-line rewrite replaces the line before it. */
function screen(out: string): string[] {
  return out
    .replace(/\r\n/g, '\n')
    .split('\n')
    .map((line) => line.split('\r\x1b[2K').at(-1)!.trimEnd())
    .filter(Boolean);
}

const hasScript = spawnSync('script', ['--version']).status === 0;

describe.skipIf(!hasScript)('first start on a terminal', () => {
  const dataDir = tempDir();

  it('shows one line per step with its rate, then "ready" with the counts and how to connect; no JSON', async () => {
    const out = await onTerminal([process.execPath, BIN], { MUSIC_DATA_DIR: dataDir, MUSIC_DATASET: TINY, MCP_HTTP_PORT: '0' }, /ready: [^\n]*\n/);
    const lines = screen(out);
    const steps = lines.filter((l) => /^(dataset|ingest|load|dbt|publish): /.test(l));
    expect(steps.map((l) => l.split(':')[0])).toEqual(['dataset', 'ingest', 'load', 'dbt', 'publish']);
    expect(steps[0]).toMatch(/^dataset: local file, \d+ kB$/);
    expect(steps[1]).toMatch(/^ingest: 4 rows staged in [\d.]+ s \([\d,]+ rows\/s\)$/);
    expect(steps[3]).toMatch(/^dbt: \d+ models built, \d+ tests passed in [\d.]+ s$/);
    expect(steps[4]).toMatch(/^publish: snapshot \S+ \(3 tracks\) in [\d.]+ s$/);
    // While dbt runs, its line is rewritten in place with models and tests done so far.
    expect(out).toMatch(/\r\x1b\[2Kdbt: \d+\/\d+ models, \d+\/\d+ tests/);
    const ready = lines.find((l) => l.startsWith('ready: '))!;
    expect(ready).toMatch(/^ready: 3 tracks, \d+ artists, \d+ genres; MCP Streamable HTTP at http:\/\/127\.0\.0\.1:\d+\/mcp; for a desktop client's config run: .+ --client-config$/);
    expect(out).not.toContain('{"level"');
  }, 120_000);

  it('writes JSON log records on a terminal when asked (LOG_FORMAT=json)', async () => {
    const out = await onTerminal([process.execPath, BIN], { MUSIC_DATA_DIR: dataDir, MCP_HTTP_PORT: '0', LOG_FORMAT: 'json' }, /"msg":"ready: [^"]*"/);
    const records = screen(out).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string; tracks?: number });
    expect(records.find((r) => r.msg.startsWith('ready: '))?.tracks).toBe(3);
  }, 60_000);
});

describe('first start offline (the dataset URL is a closed loopback port)', () => {
  it('answers tool calls with one sentence naming the fix, and serves the catalog once the download works', async () => {
    // A port nothing listens on: take a free one and close it again.
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));

    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [BIN, '--stdio'],
      env: { ...baseEnv(), MUSIC_DATA_DIR: tempDir(), MUSIC_DATASET: `http://127.0.0.1:${port}/dataset.csv`, MUSIC_TOOL_WAIT_MS: '90000', LOG_LEVEL: 'info' },
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const client = new Client({ name: 'first-start-test', version: '1.0.0' });
    await client.connect(transport);
    let server: Server | undefined;
    try {
      const call = () => client.callTool({ name: 'tracks_by_artist', arguments: { artist: 'Gen Hoshino' } }, { timeout: 100_000 }) as Promise<{ isError?: boolean; content: { text: string }[] }>;
      const offline = await call();
      expect(offline.isError).toBe(true);
      expect(offline.content[0]!.text).toBe(
        `the music catalog could not be built: cannot download the dataset from http://127.0.0.1:${port}/dataset.csv (connection refused); ` +
          'you appear to be offline — download dataset.csv yourself and set MUSIC_DATASET=/path/to/dataset.csv (the next tool call tries again)',
      );
      // Still offline: the server keeps answering with the same sentence.
      expect((await call()).content[0]!.text).toBe(offline.content[0]!.text);

      // The network is back: the dataset is served on that port, and a later call gets the catalog.
      server = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/csv' });
        createReadStream(TINY).pipe(res);
      });
      await new Promise<void>((r) => server!.listen(port, '127.0.0.1', r));
      let answer = await call();
      // A retry is started at most every few seconds; a call in between answers with the last failure.
      for (let i = 0; i < 20 && answer.isError; i++) {
        await new Promise((r) => setTimeout(r, 1_000));
        answer = await call();
      }
      expect(answer.isError, answer.content[0]!.text).toBeFalsy();
      expect(answer.content[0]!.text).toMatch(/«Comedy»/);
      // The log then says the catalog is served, with its counts.
      const ready = /"tracks":3,.*"msg":"ready: 3 tracks, /;
      for (let i = 0; i < 100 && !ready.test(stderr); i++) await new Promise((r) => setTimeout(r, 100));
      expect(stderr).toMatch(ready);
    } finally {
      await client.close();
      server?.close();
    }
  }, 180_000);
});

describe('npm run pipeline offline', () => {
  it('ends with one line naming the fix and the exit code for a temporary failure', () => {
    const r = spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules/tsx/dist/cli.mjs'), join(REPO_ROOT, 'scripts/pipeline.ts')], {
      env: { ...baseEnv(), MUSIC_DATA_DIR: tempDir(), MUSIC_DATASET: 'http://127.0.0.1:9/dataset.csv', LOG_FORMAT: 'text' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.stderr.trim().split('\n').at(-1)).toBe(
      'pipeline failed: cannot download the dataset from http://127.0.0.1:9/dataset.csv (connection refused); you appear to be offline — download dataset.csv yourself and set MUSIC_DATASET=/path/to/dataset.csv',
    );
    expect(r.status).toBe(75);
  }, 60_000);
});
