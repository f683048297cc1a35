import type { ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readSnapshot, writeSnapshot } from '../src/catalog/snapshot.js';
import { loadConfig } from '../src/config.js';
import { DATASET_PATH } from './helpers/dataset.js';
import { startSpotifyDouble, type SpotifyDouble } from './helpers/spotify-double.js';
import { announcedUrl, spawnHttpServer } from './helpers/server-process.js';

/**
 * The package bin with MCP_HTTP_WORKERS=2 (src/cluster.ts): two worker processes share the port; each
 * serves, logs with its worker number and request ids, picks up a new publish on its own, and finishes
 * its calls in flight on SIGTERM; the first catalog is built once, by the primary, while the workers
 * report its progress.
 */

type Result = { isError?: boolean; content: { type: string; text?: string }[]; structuredContent?: Record<string, any> };

interface Spawned {
  child: ChildProcess;
  url: string;
  stderr: () => string;
  exited: Promise<number | null>;
}

async function spawnServer(env: Record<string, string>): Promise<Spawned> {
  const child = spawnHttpServer({ PATH: process.env.PATH ?? '', HOME: env.MUSIC_DATA_DIR ?? tmpdir(), MCP_HTTP_PORT: '0', MCP_HTTP_WORKERS: '2', ...env });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, url: await announcedUrl(child), stderr: () => err, exited };
}

/** GET or POST on a connection of its own (the primary hands new connections to the workers in turn). */
function fresh(url: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: u.port, path, method: body === undefined ? 'GET' : 'POST', agent: false, headers: { connection: 'close', ...headers } },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Log lines (pino JSON) of the server's stderr. */
const logLines = (stderr: string) =>
  stderr.split('\n').flatMap((l) => {
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });

/** Wait until `n` /healthz answers in a row, each on a new connection, satisfy `ok`. */
async function healthzInARow(url: string, n: number, ok: (h: Record<string, unknown>) => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let inARow = 0;
  while (inARow < n) {
    if (Date.now() > deadline) throw new Error(`/healthz did not settle within ${timeoutMs} ms`);
    const r = await fresh(url, '/healthz');
    inARow = ok(JSON.parse(r.body) as Record<string, unknown>) ? inARow + 1 : 0;
    if (inARow < n) await new Promise((res) => setTimeout(res, inARow ? 0 : 100));
  }
}

async function sdkClient(url: string): Promise<Client> {
  const client = new Client({ name: 'cluster-test', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  return client;
}

describe('MCP_HTTP_WORKERS', () => {
  const token = 'test-token-0123456789abcdef';
  it('defaults to one process on loopback and one per CPU beyond it; takes a count or auto', () => {
    expect(loadConfig({}).http.workers).toBe(1);
    expect(loadConfig({ MCP_HTTP_HOST: '0.0.0.0', MCP_AUTH_TOKEN: token }).http.workers).toBe(Math.min(64, availableParallelism()));
    expect(loadConfig({ MCP_HTTP_WORKERS: '3' }).http.workers).toBe(3);
    expect(loadConfig({ MCP_HTTP_WORKERS: 'auto' }).http.workers).toBe(Math.min(64, availableParallelism()));
    expect(loadConfig({ MCP_HTTP_HOST: '0.0.0.0', MCP_AUTH_TOKEN: token, MCP_HTTP_WORKERS: '1' }).http.workers).toBe(1);
  });

  it('refuses anything else, naming the variable', () => {
    for (const bad of ['0', '65', 'many', '-2', '1.5']) expect(() => loadConfig({ MCP_HTTP_WORKERS: bad }), bad).toThrow(/MCP_HTTP_WORKERS/);
  });
});

describe('two HTTP worker processes on a published catalog', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'music-mcp-cluster-'));
  const snapshotDir = join(dataDir, 'snapshots');
  let double: SpotifyDouble;
  let server: Spawned;

  beforeAll(async () => {
    cpSync(join(inject('builtDataDir'), 'snapshots'), snapshotDir, { recursive: true });
    double = await startSpotifyDouble();
    server = await spawnServer({
      MUSIC_DATA_DIR: dataDir, MUSIC_SNAPSHOT_POLL_MS: '100', LOG_LEVEL: 'info',
      SPOTIFY_CLIENT_ID: double.clientId, SPOTIFY_CLIENT_SECRET: double.clientSecret,
      SPOTIFY_API_BASE_URL: double.apiBaseUrl, SPOTIFY_ACCOUNTS_URL: double.accountsUrl,
    });
    await healthzInARow(server.url, 4, (h) => h.status === 'ready', 30_000);
  }, 60_000);

  afterAll(async () => {
    server?.child.kill('SIGKILL');
    await double?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('serves calls from both workers, which log with their worker number and the request id', async () => {
    const client = await sdkClient(server.url);
    const r = (await client.callTool({ name: 'recommend_by_genre', arguments: { genre: 'rock', limit: 3 } })) as Result;
    expect(r.structuredContent!.returned).toBe(3);
    await client.close();

    // A foreign Host is refused with a warning; new connections alternate between the workers.
    for (let i = 0; i < 6; i++) {
      const r421 = await fresh(server.url, '/mcp', { host: 'evil.example', 'x-request-id': `cluster-${i}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, '{}');
      expect(r421.status).toBe(421);
    }
    await new Promise((res) => setTimeout(res, 200));
    const warnings = logLines(server.stderr()).filter((l) => String(l.reqId ?? '').startsWith('cluster-'));
    expect(warnings).toHaveLength(6);
    expect(new Set(warnings.map((w) => w.worker))).toEqual(new Set([1, 2]));
  });

  it('has every worker serve a new publish', async () => {
    const base = await readSnapshot(snapshotDir);
    const { format: _format, version: _version, ...manifest } = base.manifest;
    const version = await writeSnapshot(snapshotDir, { ...base, manifest: { ...manifest, publishedAt: new Date(Date.now() + 1_000).toISOString() } });
    expect(version).not.toBe(base.manifest.version);
    await healthzInARow(server.url, 6, (h) => h.snapshot === version, 20_000);
  }, 30_000);

  it('on SIGTERM answers the call in flight, then every process exits 0', async () => {
    // artist_metadata fetches live from the (slow) Spotify double: the call is still running when SIGTERM comes.
    double.latencyMs = 1_200;
    const client = await sdkClient(server.url);
    const call = client.callTool({ name: 'artist_metadata', arguments: { artist: 'Queen' } }) as Promise<Result>;
    await new Promise((r) => setTimeout(r, 400));
    server.child.kill('SIGTERM');
    const r = await call;
    expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
    expect(r.structuredContent!.artist.name).toBe('Queen');
    expect(await server.exited).toBe(0);
    expect(logLines(server.stderr()).filter((l) => l.msg === 'shutting down: finishing calls in flight').map((l) => l.worker).sort()).toEqual([1, 2]);
  }, 30_000);
});

describe('two HTTP worker processes on first start', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'music-mcp-cluster-first-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('builds the first catalog once, shows its progress from every worker meanwhile, then serves it from both', async () => {
    const server = await spawnServer({ MUSIC_DATA_DIR: dataDir, MUSIC_DATASET: DATASET_PATH, MUSIC_TOOL_WAIT_MS: '500', LOG_LEVEL: 'info' });
    try {
      const client = await sdkClient(server.url);
      const waiting = (await client.callTool({ name: 'tracks_by_artist', arguments: { artist: 'queen' } })) as Result;
      expect(waiting.isError).toBe(true);
      // A worker that has not yet heard the primary's first progress report says it is waiting for the build.
      expect(waiting.content[0]!.text).toMatch(/still being built \((waiting for the first catalog build|starting the pipeline|pipeline step: \w+)\)/);
      const loading = await fresh(server.url, '/healthz');
      expect(loading.status).toBe(503);

      await healthzInARow(server.url, 4, (h) => h.status === 'ready', 150_000);
      const r = (await client.callTool({ name: 'tracks_by_artist', arguments: { artist: 'queen', limit: 2 } })) as Result;
      expect(r.structuredContent!.returned).toBe(2);
      await client.close();
      expect(logLines(server.stderr()).filter((l) => /building it \(first run only\)/.test(String(l.msg)))).toHaveLength(1);

      server.child.kill('SIGTERM');
      expect(await server.exited).toBe(0);
    } finally {
      server.child.kill('SIGKILL');
    }
  }, 200_000);
});

/** Run the package bin until it exits; its exit code and stderr. */
function runToExit(env: Record<string, string>, timeoutMs = 60_000): Promise<{ code: number | null; stderr: string }> {
  const child = spawnHttpServer({ PATH: process.env.PATH ?? '', HOME: tmpdir(), ...env });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => child.once('exit', (code) => (clearTimeout(timer), resolve({ code, stderr }))));
}

describe('a port already in use', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'music-mcp-port-'));
  const holder = createNetServer();
  let port = 0;
  beforeAll(async () => {
    cpSync(join(inject('builtDataDir'), 'snapshots'), join(dataDir, 'snapshots'), { recursive: true });
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', () => resolve()));
    port = (holder.address() as AddressInfo).port;
  });
  afterAll(() => {
    holder.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  for (const workers of ['1', '2']) {
    it(`is one line naming MCP_HTTP_PORT and the port, and a non-zero exit (MCP_HTTP_WORKERS=${workers})`, async () => {
      const { code, stderr } = await runToExit({ MUSIC_DATA_DIR: dataDir, MCP_HTTP_PORT: String(port), MCP_HTTP_WORKERS: workers, LOG_LEVEL: 'warn' });
      expect(code).toBe(1);
      const lines = stderr.trim().split('\n');
      expect(lines, stderr).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`port ${port} is already in use.*MCP_HTTP_PORT`));
      expect(stderr).not.toMatch(/\n\s+at /);
    });
  }
});

describe('workers killed while they start (as by the OOM killer)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'music-mcp-cluster-kill-'));
  let server: Spawned;
  const killed = new Set<number>();

  /** The first log line that satisfies `ok`, as soon as the server writes it. */
  const logLine = (ok: (l: Record<string, any>) => boolean, timeoutMs = 30_000) =>
    new Promise<Record<string, any>>((resolve, reject) => {
      const check = () => {
        const line = logLines(server.stderr()).find(ok);
        if (!line) return;
        server.child.stderr!.off('data', check);
        clearTimeout(timer);
        resolve(line);
      };
      const timer = setTimeout(() => {
        server.child.stderr!.off('data', check);
        reject(new Error(`no such log line within ${timeoutMs} ms:\n${server.stderr()}`));
      }, timeoutMs);
      server.child.stderr!.on('data', check);
      check();
    });
  const started = (worker: number) => logLine((l) => l.msg === 'HTTP worker started' && l.worker === worker);
  const kill = (pid: number) => {
    killed.add(pid);
    process.kill(pid, 'SIGKILL');
  };

  beforeAll(async () => {
    cpSync(join(inject('builtDataDir'), 'snapshots'), join(dataDir, 'snapshots'), { recursive: true });
    server = await spawnServer({ MUSIC_DATA_DIR: dataDir, LOG_LEVEL: 'info' });
    await healthzInARow(server.url, 2, (h) => h.status === 'ready', 30_000);
  }, 60_000);

  afterAll(() => {
    server?.child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('restarts a replacement killed before it listened, while the healthy worker keeps serving', async () => {
    kill((await started(1)).pid);
    // Its replacement is killed as soon as it is forked, long before it can listen.
    kill((await started(3)).pid);
    const failure = await logLine((l) => l.worker === 3 && /stopped before it listened/.test(String(l.msg)));
    expect(failure.msg).toMatch(/killed by SIGKILL.*starting another in \d+ ms/);
    // Worker 2 answers meanwhile; the next replacement starts after the pause and listens.
    expect((await fresh(server.url, '/healthz')).status).toBe(200);
    await logLine((l) => l.msg === 'HTTP worker listening' && l.worker === 4);
    await healthzInARow(server.url, 4, (h) => h.status === 'ready', 20_000);
    expect(server.child.exitCode).toBeNull();
  }, 60_000);

  it('gives up after five start failures in a row, saying why in one line', async () => {
    // Every worker from now on is killed as soon as it is forked.
    const onData = () => {
      for (const l of logLines(server.stderr())) {
        const pid = Number(l.pid);
        if (l.msg === 'HTTP worker started' && Number(l.worker) > 4 && !killed.has(pid)) kill(pid);
      }
    };
    server.child.stderr!.on('data', onData);
    kill((await logLine((l) => l.msg === 'HTTP worker listening' && l.worker === 4)).pid);
    await logLine((l) => /stopped before it listened/.test(String(l.msg)) && l.failures === 2);
    expect((await fresh(server.url, '/healthz')).status).toBe(200);
    expect(await server.exited).toBe(1);
    const giveUp = logLines(server.stderr()).filter((l) => /failed to start/.test(String(l.msg)));
    expect(giveUp).toHaveLength(1);
    expect(giveUp[0]!.msg).toMatch(/failed to start 5 times in a row within 60 s \(last: killed by SIGKILL\); stopping/);
  }, 60_000);
});
