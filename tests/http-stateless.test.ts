import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { Progress } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Catalog } from '../src/catalog/catalog.js';
import { CatalogHolder } from '../src/catalog/holder.js';
import { readSnapshot } from '../src/catalog/snapshot.js';
import { type HttpDeps, type RunningHttpServer } from '../src/http.js';
import { silentLogger } from '../src/log.js';
import { SpotifyClient } from '../src/spotify/index.js';
import { startSpotifyDouble, type SpotifyDouble } from './helpers/spotify-double.js';
import { messagesOf } from './helpers/mcp-http.js';
import { httpOver } from './helpers/served-catalog.js';

/**
 * The stateless Streamable HTTP server reuses MCP servers across POSTs (src/http.ts, src/http-exchange.ts):
 * whatever clients send, each POST gets exactly its own answers and the notifications related to its own
 * requests, and the transport rules of the spec hold (202 for notifications, version header, batches,
 * timeouts).
 */

type Result = { isError?: boolean; content: { type: string; text?: string }[]; structuredContent?: Record<string, any> };

const snapshotDir = join(inject('builtDataDir'), 'snapshots');
let catalog: Catalog;

beforeAll(async () => {
  catalog = new Catalog(await readSnapshot(snapshotDir));
});

const start = (env: Record<string, string> = {}, holder = CatalogHolder.of(catalog, silentLogger), extra: Partial<HttpDeps> = {}) => httpOver(holder, env, extra);

const post = (url: string, body: string, headers: Record<string, string> = {}, signal?: AbortSignal) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body, signal });


const call = (id: unknown, name: string, args: Record<string, unknown>) => JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });

describe('stateless Streamable HTTP with reused MCP servers', () => {
  let running: RunningHttpServer;
  beforeAll(async () => {
    running = await start();
  });
  afterAll(async () => running.close(1_000));

  it('answers concurrent POSTs that use the same JSON-RPC id each with its own answer', async () => {
    const genres = ['pop', 'rock', 'rap', 'latin', 'edm', 'r&b'];
    const rounds = await Promise.all(
      Array.from({ length: 36 }, async (_, n) => {
        const genre = genres[n % genres.length]!;
        const res = await post(running.url, call(1, 'recommend_by_genre', { genre, limit: 2 + (n % 3) }));
        expect(res.status).toBe(200);
        return { genre, limit: 2 + (n % 3), answers: await messagesOf(res) };
      }),
    );
    for (const { genre, limit, answers } of rounds) {
      expect(answers).toHaveLength(1);
      expect(answers[0]).toMatchObject({ jsonrpc: '2.0', id: 1 });
      expect(answers[0]!.result.structuredContent).toMatchObject({ genre: { name: genre }, returned: limit });
    }
  });

  it('serves 2026-07-28 POSTs on reused servers: each client its own answer, also after a client went away mid-call', async () => {
    const meta = (client: string) => ({
      'io.modelcontextprotocol/protocolVersion': '2026-07-28',
      'io.modelcontextprotocol/clientCapabilities': {},
      'io.modelcontextprotocol/clientInfo': { name: client, version: '1' },
    });
    const modern = (client: string, name: string, args: Record<string, unknown>, signal?: AbortSignal) =>
      post(running.url, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name, arguments: args, _meta: meta(client) } }),
        { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': name }, signal);
    const genres = ['pop', 'rock', 'rap', 'latin', 'edm', 'r&b'];
    const wave = () => Promise.all(Array.from({ length: 24 }, async (_, n) => {
      const genre = genres[n % genres.length]!;
      const res = await modern(`client-${n}`, 'recommend_by_genre', { genre, limit: 2 + (n % 3) });
      expect(res.status).toBe(200);
      const answers = await messagesOf(res);
      expect(answers).toHaveLength(1);
      expect(answers[0]!.id).toBe(1);
      expect(answers[0]!.result.structuredContent.genre.name).toBe(genre);
      expect(answers[0]!.result.structuredContent.returned).toBe(2 + (n % 3));
    }));
    await wave();
    // Clients that give up while their call runs: the servers that served them are not handed to anyone else.
    await Promise.all(Array.from({ length: 6 }, (_, n) =>
      modern(`gone-${n}`, 'search_music_knowledge', { query: 'energetic latin dance' }, AbortSignal.timeout(1)).then((r) => r.text()).catch(() => undefined)));
    await wave();
    await wave();
  });

  it('answers a batch with one answer per request, in one SSE stream, ids as sent (even repeated across POSTs)', async () => {
    for (let round = 0; round < 3; round++) {
      const res = await post(running.url, `[${call('a', 'tracks_by_artist', { artist: 'Queen', limit: 1 })},{"jsonrpc":"2.0","id":"b","method":"ping"},{"jsonrpc":"2.0","method":"notifications/initialized"}]`);
      expect(res.headers.get('content-type')).toBe('text/event-stream');
      const answers = await messagesOf(res);
      expect(answers.map((a) => a.id).sort()).toEqual(['a', 'b']);
      expect(answers.find((a) => a.id === 'a')!.result.structuredContent.returned).toBe(1);
    }
  });

  it('accepts notifications and responses alone with 202 and no body', async () => {
    for (const body of [
      '{"jsonrpc":"2.0","method":"notifications/initialized"}',
      '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}',
      '{"jsonrpc":"2.0","id":5,"result":{}}',
      '[{"jsonrpc":"2.0","method":"notifications/initialized"},{"jsonrpc":"2.0","id":6,"error":{"code":-1,"message":"no"}}]',
    ]) {
      const res = await post(running.url, body);
      expect(res.status, body).toBe(202);
      expect(await res.text()).toBe('');
    }
  });

  it('refuses an unsupported MCP-Protocol-Version, an initialize inside a batch and a batch over 100 messages with 400', async () => {
    const badVersion = await post(running.url, '{"jsonrpc":"2.0","id":1,"method":"ping"}', { 'mcp-protocol-version': '1999-01-01' });
    expect(badVersion.status).toBe(400);
    expect((await messagesOf(badVersion))[0]!.error!.message).toMatch(/Unsupported protocol version/);
    expect((await post(running.url, '{"jsonrpc":"2.0","id":1,"method":"ping"}', { 'mcp-protocol-version': '2025-06-18' })).status).toBe(200);

    const init = '{"jsonrpc":"2.0","id":"i","method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}';
    const twoInits = await post(running.url, `[${init},{"jsonrpc":"2.0","id":2,"method":"ping"}]`);
    expect(twoInits.status).toBe(400);
    expect((await messagesOf(twoInits))[0]!.error!.code).toBe(-32600);

    const big = await post(running.url, `[${Array.from({ length: 101 }, (_, i) => `{"jsonrpc":"2.0","id":${i},"method":"ping"}`).join(',')}]`);
    expect(big.status).toBe(400);
    expect((await messagesOf(big))[0]!.error!.code).toBe(-32600);
  });

  it('answers initialize with the protocol version the client asked for, whatever other clients asked before', async () => {
    for (const version of ['2025-03-26', '2025-06-18', '2024-11-05', '2025-06-18']) {
      const body = JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'v', version: '1' } } });
      const [a] = await messagesOf(await post(running.url, body));
      expect(a!.result.protocolVersion).toBe(version);
      expect(a!.result.serverInfo.name).toBe('music-mcp-server');
    }
  });
});

describe('timeouts and clients that go away', () => {
  it('answers 504 past MCP_REQUEST_TIMEOUT_MS, and serves the next requests', async () => {
    const holder = new CatalogHolder(snapshotDir, silentLogger);
    holder.setProgress('test: catalog arrives later');
    const running = await start({ MCP_REQUEST_TIMEOUT_MS: '300' }, holder);
    try {
      const t = Date.now();
      const slow = await post(running.url, call(1, 'recommend_by_genre', { genre: 'pop', limit: 2 }));
      expect(slow.status).toBe(504);
      expect(Date.now() - t).toBeLessThan(3_000);
      expect((await messagesOf(slow))[0]!.error!.message).toMatch(/MCP_REQUEST_TIMEOUT_MS/);

      // A client that gives up mid-call: its POST is dropped, nothing else is disturbed.
      const gone = new AbortController();
      const abandoned = post(running.url, call(2, 'recommend_by_genre', { genre: 'rock', limit: 2 }), {}, gone.signal).catch((err: Error) => err);
      await new Promise((r) => setTimeout(r, 50));
      gone.abort();
      expect(await abandoned).toBeInstanceOf(Error);

      await holder.load();
      for (let i = 0; i < 5; i++) {
        const [a] = await messagesOf(await post(running.url, call(1, 'recommend_by_genre', { genre: 'rock', limit: 3 })));
        expect(a!.result.structuredContent.returned).toBe(3);
      }
    } finally {
      await running.close(1_000);
      holder.close();
    }
  });
});

describe('progress notifications over HTTP', () => {
  let double: SpotifyDouble;
  let spotify: SpotifyClient;
  let running: RunningHttpServer;
  beforeAll(async () => {
    double = await startSpotifyDouble();
    double.latencyMs = 40;
    spotify = new SpotifyClient({
      clientId: double.clientId, clientSecret: double.clientSecret, apiBaseUrl: double.apiBaseUrl, accountsUrl: double.accountsUrl,
      maxRps: 500, retryBaseMs: 5, maxRetries: 1, timeoutMs: 3_000,
    });
    running = await start({}, CatalogHolder.of(catalog, silentLogger), { spotify, spotifyTtlMs: 0 });
  });
  afterAll(async () => {
    await running?.close(1_000);
    await spotify?.close();
    await double?.close();
  });

  it("delivers artist_metadata's progress to the client whose call it is, concurrent clients with the same ids included", async () => {
    const artists = ['Queen', 'Drake', 'Coldplay', 'Don Omar'];
    const clients = await Promise.all(
      artists.map(async (_, n) => {
        const c = new Client({ name: `progress-${n}`, version: '1' });
        await c.connect(new StreamableHTTPClientTransport(new URL(running.url)));
        return c;
      }),
    );
    try {
      const results = await Promise.all(
        clients.map(async (c, n) => {
          const progress: Progress[] = [];
          const r = (await c.callTool({ name: 'artist_metadata', arguments: { artist: artists[n] } }, { onprogress: (p) => progress.push(p) })) as Result;
          return { r, progress };
        }),
      );
      results.forEach(({ r, progress }, n) => {
        expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
        expect(r.structuredContent!.artist.name).toBe(artists[n]);
        expect(progress.length).toBeGreaterThanOrEqual(2);
        expect(progress.map((p) => p.progress)).toEqual([...progress.map((p) => p.progress)].sort((a, b) => a - b));
        // Each client hears only about its own artist.
        const about = progress.map((p) => p.message ?? '').filter((m) => m.startsWith('searching Spotify for'));
        expect(about).toEqual([`searching Spotify for «${artists[n]}»`]);
      });
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });
});
