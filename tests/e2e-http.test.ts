import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Catalog } from '../src/catalog/catalog.js';
import { CatalogHolder } from '../src/catalog/holder.js';
import { readSnapshot } from '../src/catalog/snapshot.js';
import { runNow } from '../src/catalog/slices.js';
import { loadConfig } from '../src/config.js';
import type { RunningHttpServer } from '../src/http.js';
import { silentLogger } from '../src/log.js';
import { DATASET_PATH } from './helpers/dataset.js';
import { httpOver, publishedHolder } from './helpers/served-catalog.js';
import { announcedUrl, spawnHttpServer } from './helpers/server-process.js';

const snapshotDir = join(inject('builtDataDir'), 'snapshots');
type Result = { isError?: boolean; content: { type: string; text?: string }[]; structuredContent?: Record<string, any> };

async function start(env: Record<string, string> = {}, holder?: CatalogHolder): Promise<{ running: RunningHttpServer; holder: CatalogHolder }> {
  const h = holder ?? (await publishedHolder(inject('builtDataDir')));
  return { running: await httpOver(h, env), holder: h };
}

const initBody = JSON.stringify({
  jsonrpc: '2.0', id: 1, method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
});
const post = (url: string, headers: Record<string, string> = {}, body = initBody) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body });

describe('Streamable HTTP (stateless)', () => {
  let running: RunningHttpServer;
  beforeAll(async () => ({ running } = await start()));
  afterAll(async () => running.close(1_000));

  it('serves every tool to the SDK client', async () => {
    const client = new Client({ name: 'http-test', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(running.url)));
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['artist_metadata', 'recommend_by_genre', 'search_music_knowledge', 'sequence_playlist', 'similar_tracks', 'tracks_by_artist']);
    const rec = (await client.callTool({ name: 'recommend_by_genre', arguments: { genre: 'rap', limit: 4 } })) as Result;
    expect(rec.structuredContent!.returned).toBe(4);
    const by = (await client.callTool({ name: 'tracks_by_artist', arguments: { artist: 'Don Omar', limit: 2 } })) as Result;
    expect(by.structuredContent!.tracks).toHaveLength(2);
    const meta = (await client.callTool({ name: 'artist_metadata', arguments: { artist: 'don omar' } })) as Result;
    expect(meta.structuredContent!.artist.name).toBe('Don Omar');
    await client.close();
  });

  it('serves concurrent clients independently', async () => {
    const clients = await Promise.all(
      Array.from({ length: 8 }, async (_, n) => {
        const c = new Client({ name: `c${n}`, version: '1' });
        await c.connect(new StreamableHTTPClientTransport(new URL(running.url)));
        return c;
      }),
    );
    const genres = ['pop', 'rock', 'rap', 'latin', 'edm', 'r&b', 'pop', 'rock'];
    const results = (await Promise.all(clients.map((c, n) => c.callTool({ name: 'recommend_by_genre', arguments: { genre: genres[n], limit: 3 } })))) as Result[];
    results.forEach((r, n) => expect(r.structuredContent!.genre.name).toBe(genres[n]));
    await Promise.all(clients.map((c) => c.close()));
  });

  it('reports readiness and the snapshot version on /healthz', async () => {
    const res = await fetch(running.url.replace('/mcp', '/healthz'));
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ status: 'ready', snapshot: expect.stringMatching(/^\d{8}T\d{6}Z-[0-9a-f]{10}$/) });
    expect(res.headers.get('x-request-id')).toBeTruthy();
  });

  it('tells on /healthz whether the indexes built after a load are in', async () => {
    const catalog = new Catalog(await readSnapshot(snapshotDir));
    const own = await start({}, CatalogHolder.of(catalog, silentLogger));
    try {
      const health = async () => (await (await fetch(own.running.url.replace('/mcp', '/healthz'))).json()) as { status: string; indexes?: string };
      expect(await health()).toMatchObject({ status: 'ready', indexes: 'building' });
      runNow(catalog.indexSteps());
      expect(await health()).toMatchObject({ status: 'ready', indexes: 'ready' });
    } finally {
      await own.running.close(1_000);
    }
  });

  it('refuses a foreign Origin with 403 and allows loopback origins', async () => {
    expect((await post(running.url, { origin: 'https://evil.example' })).status).toBe(403);
    expect((await post(running.url, { origin: 'http://localhost:5173' })).status).toBe(200);
  });

  it('refuses a foreign Host header (DNS rebinding) with 421', async () => {
    const { request } = await import('node:http');
    const u = new URL(running.url);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: u.hostname, port: u.port, path: '/mcp', method: 'POST', headers: { host: 'attacker.example:3333', 'content-type': 'application/json', accept: 'application/json, text/event-stream' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end(initBody);
    });
    expect(status).toBe(421);
  });

  it('rejects an oversized body with 413 and broken JSON with a parse error', async () => {
    const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(2 * 1024 * 1024) } });
    expect((await post(running.url, {}, big)).status).toBe(413);
    const broken = await post(running.url, {}, '{"jsonrpc":');
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as { error: { code: number } }).error.code).toBe(-32700);
  });

  it('answers GET /mcp with 405 since it keeps no sessions', async () => {
    expect((await fetch(running.url, { headers: { accept: 'text/event-stream' } })).status).toBe(405);
  });
});

describe('bearer token', () => {
  const token = 'test-token-0123456789abcdef';
  let running: RunningHttpServer;
  beforeAll(async () => ({ running } = await start({ MCP_AUTH_TOKEN: token })));
  afterAll(async () => running.close(1_000));

  it('answers 401 without the token or with a wrong one, and serves with it', async () => {
    expect((await post(running.url)).status).toBe(401);
    expect((await post(running.url, { authorization: 'Bearer wrong-token-0123456789ab' })).status).toBe(401);
    expect((await post(running.url, { authorization: `Bearer ${token}` })).status).toBe(200);
  });

  it('is required to bind beyond loopback', () => {
    expect(() => loadConfig({ MCP_HTTP_HOST: '0.0.0.0' })).toThrow(/MCP_AUTH_TOKEN/);
    expect(loadConfig({ MCP_HTTP_HOST: '0.0.0.0', MCP_AUTH_TOKEN: token }).http.host).toBe('0.0.0.0');
  });
});

describe('graceful shutdown', () => {
  it('finishes a call in flight when closed', async () => {
    const holder = new CatalogHolder(snapshotDir, silentLogger);
    holder.setProgress('test: catalog arrives later');
    const { running } = await start({}, holder);
    const client = new Client({ name: 'drain', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(running.url)));
    const call = client.callTool({ name: 'recommend_by_genre', arguments: { genre: 'pop', limit: 2 } }) as Promise<Result>;
    await new Promise((r) => setTimeout(r, 300));
    const closing = running.close(10_000);
    await holder.load();
    const r = await call;
    expect(r.structuredContent!.returned).toBe(2);
    await closing;
    holder.close();
  });

  it('on SIGTERM the server process answers the call in flight before exiting', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'music-mcp-term-'));
    // The package bin, as `npm start` runs it: one node process (the tsx CLI would add a parent that relays signals).
    const child = spawnHttpServer({ PATH: process.env.PATH, HOME: dir, MUSIC_DATA_DIR: dir, MUSIC_DATASET: DATASET_PATH, MCP_HTTP_PORT: '0', MUSIC_TOOL_WAIT_MS: '3000', LOG_LEVEL: 'warn' });
    try {
      const url = await announcedUrl(child);
      const client = new Client({ name: 'term', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(url)));
      // The catalog is still being built, so the call waits MUSIC_TOOL_WAIT_MS and then answers with progress.
      const call = client.callTool({ name: 'tracks_by_artist', arguments: { artist: 'queen' } }) as Promise<Result>;
      await new Promise((r) => setTimeout(r, 500));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      const r = await call;
      expect(r.isError).toBe(true);
      expect(r.content[0]!.text).toMatch(/still being built/);
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);
});
