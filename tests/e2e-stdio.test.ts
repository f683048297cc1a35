import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DATASET_PATH, REPO_ROOT } from './helpers/dataset.js';

type ToolResult = { isError?: boolean; content: { type: string; text?: string }[]; structuredContent?: Record<string, unknown> };

function spawnClient(env: Record<string, string>, command = process.execPath, args = [join(REPO_ROOT, 'bin/music-mcp-server.js'), '--stdio']) {
  const transport = new StdioClientTransport({
    command,
    args,
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), LOG_LEVEL: 'warn', ...env },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const client = new Client({ name: 'e2e-test', version: '1.0.0' });
  return { client, transport, stderr: () => stderr };
}

describe('stdio server process (package bin) on the published catalog', () => {
  const { client, transport, stderr } = spawnClient({ MUSIC_DATA_DIR: inject('builtDataDir'), MUSIC_DATASET: DATASET_PATH });

  beforeAll(async () => {
    await client.connect(transport);
  });
  afterAll(async () => {
    await client.close();
  });

  it('lists the tools with input and output schemas and read-only annotations', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['artist_metadata', 'recommend_by_genre', 'search_music_knowledge', 'sequence_playlist', 'similar_tracks', 'tracks_by_artist']);
    for (const t of tools) {
      expect(t.outputSchema, t.name).toBeDefined();
      expect(t.annotations?.readOnlyHint, t.name).toBe(true);
      expect(t.description!.length, t.name).toBeGreaterThan(80);
    }
  });

  // The SDK client validates structuredContent against each tool's outputSchema: a mismatch throws.
  it('recommend_by_genre answers with latin tracks that meet the bounds', async () => {
    const r = (await client.callTool({ name: 'recommend_by_genre', arguments: { genre: 'Latin', limit: 5, min_energy: 0.7, min_valence: 0.6 } })) as ToolResult;
    expect(r.isError).toBeFalsy();
    const tracks = r.structuredContent!.tracks as { genres: string[]; features: { energy: number; valence: number }; reason: string }[];
    expect(tracks).toHaveLength(5);
    for (const t of tracks) {
      expect(t.genres).toContain('latin');
      expect(t.features.energy).toBeGreaterThanOrEqual(0.7);
      expect(t.features.valence).toBeGreaterThanOrEqual(0.6);
      expect(t.reason).toMatch(/latin/);
    }
    expect(r.content[0]!.text).toMatch(/^5 tracks for «latin»/);
  });

  it('recommend_by_genre without a genre draws 80s tracks from the whole catalog, in its outputSchema', async () => {
    const args = { min_release_year: 1980, max_release_year: 1989, limit: 5 };
    const r = (await client.callTool({ name: 'recommend_by_genre', arguments: args })) as ToolResult;
    expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
    expect(r.structuredContent!.drawn_from).toBe('whole_catalog');
    const tracks = r.structuredContent!.tracks as { release_year: number }[];
    expect(tracks).toHaveLength(5);
    for (const t of tracks) expect(t.release_year >= 1980 && t.release_year <= 1989, String(t.release_year)).toBe(true);
    expect(r.content[0]!.text).toMatch(/^drawn from the whole catalog/);
  });

  it('tracks_by_artist finds an accented name from a plain query', async () => {
    const r = (await client.callTool({ name: 'tracks_by_artist', arguments: { artist: 'beyonce', limit: 3 } })) as ToolResult;
    expect(r.isError).toBeFalsy();
    expect((r.structuredContent!.artist as { name: string }).name).toBe('Beyoncé');
    expect(r.structuredContent!.returned).toBe(3);
  });

  it('artist_metadata profiles an artist from the dataset', async () => {
    const r = (await client.callTool({ name: 'artist_metadata', arguments: { artist: 'Queen' } })) as ToolResult;
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent!.source).toBe('dataset');
    expect(r.structuredContent!.track_count as number).toBeGreaterThan(50);
    expect((r.structuredContent!.genres as { genre: string }[])[0]!.genre).toBe('rock');
  });

  it('answers bad arguments with isError and a message, and keeps serving', async () => {
    const bad = (await client.callTool({ name: 'recommend_by_genre', arguments: { genre: 'rock', limit: 1000 } })) as ToolResult;
    expect(bad.isError).toBe(true);
    expect(bad.content[0]!.text).toMatch(/limit/);
    const unknown = (await client.callTool({ name: 'recommend_by_genre', arguments: { genre: 'hiphop rapp' } })) as ToolResult;
    expect(unknown.isError).toBe(true);
    expect(unknown.content[0]!.text).toMatch(/genre «hiphop rapp» is not in the catalog; closest genres:/);
    const noArtist = (await client.callTool({ name: 'tracks_by_artist', arguments: { artist: 'Qeen' } })) as ToolResult;
    expect(noArtist.isError).toBe(true);
    expect(noArtist.content[0]!.text).toContain('«Queen»');
    const after = (await client.callTool({ name: 'artist_metadata', arguments: { artist: 'queen' } })) as ToolResult;
    expect(after.isError).toBeFalsy();
  });

  it('writes nothing but protocol to stdout: logs go to stderr', () => {
    // Any stray stdout line would have broken the JSON-RPC parse above; stderr carried the logs instead.
    expect(stderr()).not.toMatch(/"jsonrpc"/);
  });
});

describe('first start with no snapshot', () => {
  const dir = mkdtempSync(join(tmpdir(), 'music-mcp-first-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('answers initialize at once, builds the catalog, then answers tools (npm start path)', async () => {
    const { client, transport, stderr } = spawnClient(
      { MUSIC_DATA_DIR: dir, MUSIC_DATASET: DATASET_PATH, MUSIC_TOOL_WAIT_MS: '240000', LOG_LEVEL: 'info' },
      join(REPO_ROOT, 'node_modules/.bin/tsx'),
      [join(REPO_ROOT, 'src/main.ts'), '--stdio'],
    );
    const t0 = Date.now();
    await client.connect(transport);
    expect(Date.now() - t0).toBeLessThan(20_000);
    const r = (await client.callTool({ name: 'recommend_by_genre', arguments: { genre: 'rock', limit: 3 } }, { timeout: 280_000 })) as ToolResult;
    expect(r.isError, r.content[0]?.text).toBeFalsy();
    expect(r.structuredContent!.returned).toBe(3);
    expect(stderr()).toMatch(/building it \(first run only\)/);
    expect(stderr()).toMatch(/published serving snapshot/);
    await client.close();
  }, 300_000);
});

const rawChildren: ReturnType<typeof spawn>[] = [];
afterAll(() => rawChildren.forEach((c) => c.exitCode === null && c.signalCode === null && c.kill('SIGKILL')));

/** The stdio server process of the package bin on the built catalog, spoken to with raw lines. */
function spawnRaw() {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/music-mcp-server.js'), '--stdio'], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), MUSIC_DATA_DIR: inject('builtDataDir'), LOG_LEVEL: 'warn' },
  });
  rawChildren.push(child);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdin.on('error', () => undefined); // a dead server shows up in the exit code
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const send = (message: object) => child.stdin.write(`${JSON.stringify(message)}\n`);
  return { child, send, exited, stderr: () => stderr };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('careless stdio clients', () => {
  it('a client that closes the server\'s stdout ends it cleanly: exit 0, one log line, no stack trace', async () => {
    const { child, send, exited, stderr } = spawnRaw();
    child.stdout.destroy();
    for (let id = 1; id <= 5; id++) send({ jsonrpc: '2.0', id, method: 'ping' });
    expect(await exited).toBe(0);
    const lines = stderr().trim().split('\n');
    expect(lines, stderr()).toHaveLength(1);
    expect(lines[0]).toMatch(/closed the server's stdout \(EPIPE\)/);
    expect(stderr()).not.toMatch(/^\s+at /m);
  }, 60_000);

  it('a client that writes its requests and closes stdin at once gets every answer before the server exits', async () => {
    const { child, send, exited } = spawnRaw();
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    send({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'batch', version: '1' } } });
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    for (let id = 1; id <= 200; id++) send({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'recommend_by_genre', arguments: { genre: 'rock', limit: 5 } } });
    child.stdin.end();
    expect(await exited).toBe(0);
    const ids = out.trim().split('\n').map((l) => (JSON.parse(l) as { id: number }).id);
    expect(ids.sort((a, b) => a - b)).toEqual(Array.from({ length: 201 }, (_, i) => i));
  }, 60_000);

  it('a client that pipelines 1,500 heavy calls without reading stops being read, then gets every answer once it reads', async () => {
    const N = 1_500;
    const { child, send, exited } = spawnRaw();
    const answers = new Map<unknown, { error?: unknown; result?: { isError?: boolean } }>();
    let buffer = '';
    let onAnswer = () => {};
    child.stdout.on('data', (d: Buffer) => {
      buffer += d.toString();
      for (let nl = buffer.indexOf('\n'); nl !== -1; nl = buffer.indexOf('\n')) {
        const m = JSON.parse(buffer.slice(0, nl)) as { id: unknown; error?: unknown; result?: { isError?: boolean } };
        buffer = buffer.slice(nl + 1);
        answers.set(m.id, m);
      }
      onAnswer();
    });
    const answered = (n: number) => new Promise<void>((resolve) => {
      onAnswer = () => answers.size >= n && resolve();
      onAnswer();
    });
    send({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'pipeliner', version: '1' } } });
    await answered(1);
    send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    child.stdout.pause(); // from here on the client reads nothing
    const rssMb = () => (existsSync(`/proc/${child.pid}/status`) ? Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1]) / 1024 : 0);
    const rssBefore = rssMb();
    const genres = ['rock', 'pop', 'rap', 'edm', 'latin', 'r&b'];
    for (let id = 1; id <= N; id++) {
      // ~1 KB a request (the _meta note), ~40 KB an answer: 1.5 MB in, 60 MB out.
      send({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'recommend_by_genre', arguments: { genre: genres[id % genres.length], limit: 50 }, _meta: { note: 'x'.repeat(800) } } });
    }
    // Wait until the server stops taking input (the client's unsent bytes no longer shrink).
    let unsent = -1;
    for (let i = 0; i < 120 && child.stdin.writableLength !== unsent; i++) {
      unsent = child.stdin.writableLength;
      await sleep(1_000);
    }
    const rssGrowth = rssMb() - rssBefore;
    // Most of the 1.5 MB of requests is still on the client's side: the server paused reading.
    expect(child.stdin.writableLength).toBeGreaterThan(500_000);
    expect(rssGrowth).toBeLessThan(300);

    child.stdout.resume();
    await answered(N + 1);
    for (let id = 1; id <= N; id++) {
      const a = answers.get(id);
      expect(a?.error, `answer ${id}`).toBeUndefined();
      expect(a?.result?.isError, `answer ${id}`).toBeFalsy();
    }
    child.stdin.end();
    expect(await exited).toBe(0);
  }, 180_000);
});

describe('stopping the stdio server', () => {
  it('SIGTERM while a call is in flight: the call is answered, then the server exits 0', async () => {
    // A dataset host that accepts the download and never answers: the first build stays in progress,
    // so a tool call waits (MUSIC_TOOL_WAIT_MS) for the catalog while the signal arrives.
    const stalled = createServer(() => undefined);
    await new Promise<void>((resolve) => stalled.listen(0, '127.0.0.1', resolve));
    const dir = mkdtempSync(join(tmpdir(), 'music-mcp-sigterm-'));
    try {
      const child = spawn(process.execPath, [join(REPO_ROOT, 'bin/music-mcp-server.js'), '--stdio'], {
        cwd: REPO_ROOT,
        env: {
          PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), LOG_LEVEL: 'warn', MUSIC_DATA_DIR: dir,
          MUSIC_DATASET: `http://127.0.0.1:${(stalled.address() as AddressInfo).port}/tracks.csv`, MUSIC_TOOL_WAIT_MS: '2500',
        },
      });
      rawChildren.push(child);
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      const answers = new Map<number, { result?: { isError?: boolean; content: { text: string }[] } }>();
      let buffered = '';
      child.stdout.on('data', (d: Buffer) => {
        buffered += d.toString();
        for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
          const m = JSON.parse(buffered.slice(0, nl)) as { id?: number };
          if (typeof m.id === 'number') answers.set(m.id, m as never);
          buffered = buffered.slice(nl + 1);
        }
      });
      const send = (message: object) => child.stdin.write(`${JSON.stringify(message)}\n`);
      send({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'stopper', version: '1' } } });
      for (let i = 0; i < 200 && !answers.has(0); i++) await sleep(100);
      expect(answers.has(0)).toBe(true);
      send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      send({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'recommend_by_genre', arguments: { genre: 'rock', limit: 3 } } });
      await sleep(500);
      expect(answers.has(1)).toBe(false); // still waiting for the catalog
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      const answer = answers.get(1);
      expect(answer?.result?.isError).toBe(true);
      expect(answer?.result?.content[0]?.text).toMatch(/catalog/i);
    } finally {
      stalled.closeAllConnections();
      stalled.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
