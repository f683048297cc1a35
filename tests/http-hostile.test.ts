import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Catalog } from '../src/catalog/catalog.js';
import { CatalogHolder } from '../src/catalog/holder.js';
import { readSnapshot } from '../src/catalog/snapshot.js';
import { loadConfig } from '../src/config.js';
import { type HttpDeps, type RunningHttpServer } from '../src/http.js';
import { silentLogger } from '../src/log.js';
import { SpotifyClient } from '../src/spotify/index.js';
import { startSpotifyDouble, type SpotifyDouble } from './helpers/spotify-double.js';
import { REPO_ROOT } from './helpers/dataset.js';
import { messagesOf } from './helpers/mcp-http.js';
import { httpOver } from './helpers/served-catalog.js';
import { announcedUrl } from './helpers/server-process.js';

/**
 * The stateless HTTP server under hostile or careless clients: a POST never receives an answer meant for
 * another one, batches are bounded and share the event loop.
 */

const snapshotDir = join(inject('builtDataDir'), 'snapshots');
let catalog: Catalog;

beforeAll(async () => {
  catalog = new Catalog(await readSnapshot(snapshotDir));
});

const start = (env: Record<string, string> = {}, extra: Partial<HttpDeps> = {}) => httpOver(CatalogHolder.of(catalog, silentLogger), env, extra);

const post = (url: string, body: string, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body });

const call = (id: unknown, name: string, args: Record<string, unknown>) => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } });

/** `_meta` of a 2026-07-28 request claiming `version`. */
const envelope = (version = '2026-07-28') => ({ 'io.modelcontextprotocol/protocolVersion': version, 'io.modelcontextprotocol/clientCapabilities': {} });

/** A tools/call as a 2026-07-28 client POSTs it (served by the SDK's per-request handler): body and headers. */
function modernCall(id: unknown, name: string, args: Record<string, unknown>): { body: string; headers: Record<string, string> } {
  return {
    body: JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args, _meta: envelope() } }),
    headers: { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': name },
  };
}
const ping = (id: unknown) => ({ jsonrpc: '2.0', id, method: 'ping' });

describe('answers never reach another client', () => {
  let double: SpotifyDouble;
  let spotify: SpotifyClient;
  let running: RunningHttpServer;
  beforeAll(async () => {
    // artist_metadata fetches live from a slow Spotify: its handler runs long after a ping is answered.
    double = await startSpotifyDouble();
    double.latencyMs = 300;
    spotify = new SpotifyClient({
      clientId: double.clientId, clientSecret: double.clientSecret, apiBaseUrl: double.apiBaseUrl, accountsUrl: double.accountsUrl,
      maxRps: 500, retryBaseMs: 5, maxRetries: 1, timeoutMs: 3_000,
    });
    running = await start({}, { spotify, spotifyTtlMs: 0 });
  });
  afterAll(async () => {
    await running?.close(1_000);
    await spotify?.close();
    await double?.close();
  });

  it('refuses a batch whose requests share an id with -32600, without running any of them', async () => {
    double.resetStats();
    const res = await post(running.url, JSON.stringify([call(1, 'artist_metadata', { artist: 'Queen' }), ping(1)]));
    expect(res.status).toBe(400);
    const [answer, ...rest] = await messagesOf(res);
    expect(rest).toHaveLength(0);
    expect(answer!.error!.code).toBe(-32600);
    expect(answer!.error!.message).toMatch(/id 1 .*more than once|repeats/);
    await new Promise((r) => setTimeout(r, 100));
    expect(double.requests).toHaveLength(0);
  });

  it('gives two concurrent clients that reuse ids only their own answers while a slow call runs', async () => {
    // Client A: a slow call and a ping with the same id (a careless or hostile client). Client B, meanwhile,
    // asks about another artist with the same id, several times.
    const a = post(running.url, JSON.stringify([call(1, 'artist_metadata', { artist: 'Queen' }), ping(1)])).then(messagesOf);
    const b: Promise<{ id: unknown; artist?: string; error?: unknown }[]>[] = [];
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 60));
      b.push(
        post(running.url, JSON.stringify(call(1, 'artist_metadata', { artist: 'Drake' })))
          .then(messagesOf)
          .then((ms) => ms.map((m) => ({ id: m.id, artist: m.result?.structuredContent?.artist?.name, error: m.error }))),
      );
    }
    const answersOfB = await Promise.all(b);
    for (const answers of answersOfB) expect(answers).toEqual([{ id: 1, artist: 'Drake', error: undefined }]);
    const answersOfA = await a;
    // A gets no answer about Drake, whatever it gets.
    expect(JSON.stringify(answersOfA)).not.toMatch(/Drake/);
  });

  it('gives concurrent 2026-07-28 clients that reuse an id only their own answers while slow calls run', async () => {
    const ask = (artist: string) => {
      const { body, headers } = modernCall(1, 'artist_metadata', { artist });
      return post(running.url, body, headers)
        .then(messagesOf)
        .then((ms) => ms.map((m) => ({ id: m.id, artist: m.result?.structuredContent?.artist?.name })));
    };
    const answers = await Promise.all(['Queen', 'Drake', 'Queen', 'Drake', 'Adele'].map(async (artist, i) => {
      await new Promise((r) => setTimeout(r, 40 * i));
      return { artist, got: await ask(artist) };
    }));
    for (const { artist, got } of answers) expect(got).toEqual([{ id: 1, artist }]);
  });

  it('keeps each client to its own answers when well-formed batches with the same ids run concurrently', async () => {
    const artists = ['Queen', 'Drake', 'Coldplay', 'Don Omar'];
    const rounds = await Promise.all(
      artists.map((artist, n) =>
        new Promise((r) => setTimeout(r, n * 40))
          .then(() => post(running.url, JSON.stringify([call(1, 'artist_metadata', { artist }), ping(2)])))
          .then(messagesOf),
      ),
    );
    rounds.forEach((answers, n) => {
      expect(answers.map((m) => m.id).sort()).toEqual([1, 2]);
      expect(answers.find((m) => m.id === 1)!.result.structuredContent.artist.name).toBe(artists[n]);
    });
  });
});

/** A raw TCP connection to the server of `url` that sends `data` (if any) and reports when the server closes it. */
function rawSocket(url: string, data = ''): { socket: Socket; closed: Promise<number>; connected: Promise<void> } {
  const u = new URL(url);
  const t0 = Date.now();
  const socket = connect(Number(u.port), u.hostname);
  socket.on('error', () => undefined);
  socket.on('data', () => undefined);
  const connected = new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  void connected.then(() => data && socket.write(data));
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - t0)));
  return { socket, closed, connected };
}

describe('idle and half-open connections', () => {
  let running: RunningHttpServer;
  afterAll(async () => running?.close(500));

  it('closes, with the default settings, a connection that sends nothing and one that sends half a header within 10 s', async () => {
    running = await start();
    const silent = rawSocket(running.url);
    const half = rawSocket(running.url, 'POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/');
    const deadline = new Promise<'open'>((r) => setTimeout(() => r('open'), 10_000));
    expect(await Promise.race([silent.closed, deadline])).not.toBe('open');
    expect(await Promise.race([half.closed, deadline])).not.toBe('open');
  }, 20_000);

  it('closes an idle keep-alive connection after MCP_KEEPALIVE_TIMEOUT_MS', async () => {
    await running?.close(500);
    running = await start({ MCP_KEEPALIVE_TIMEOUT_MS: '300' });
    const c = rawSocket(running.url, 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    let answer = '';
    c.socket.on('data', (d: Buffer) => (answer += d.toString()));
    // Node closes it up to a second past the timeout; the 5 s default would miss this deadline.
    const deadline = new Promise<'open'>((r) => setTimeout(() => r('open'), 4_000));
    expect(await Promise.race([c.closed, deadline])).not.toBe('open');
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
  }, 20_000);

  it('at MCP_MAX_CONNECTIONS, serves a new client by closing the longest-idle connection', async () => {
    await running?.close(500);
    running = await start({ MCP_MAX_CONNECTIONS: '8', MCP_HEADERS_TIMEOUT_MS: '60000' });
    const idle = Array.from({ length: 8 }, () => rawSocket(running.url));
    await Promise.all(idle.map((s) => s.connected));
    await new Promise((r) => setTimeout(r, 200));
    for (let i = 0; i < 3; i++) {
      const res = await fetch(running.url.replace(/\/mcp$/, '/healthz'));
      expect(res.status).toBe(200);
      await res.text();
    }
    // The oldest idle ones made room; the rest stay open (nothing else forces them out with a 60 s header timeout).
    const closedSoon = await Promise.all(idle.map((s) => Promise.race([s.closed.then(() => true), new Promise((r) => setTimeout(() => r(false), 500))])));
    expect(closedSoon.slice(0, 1)).toEqual([true]);
    expect(closedSoon.filter(Boolean).length).toBeLessThanOrEqual(3);
    for (const s of idle) s.socket.destroy();
  });

  it('at MCP_MAX_CONNECTIONS with a request in progress on every connection, answers a new one 503 naming the setting', async () => {
    await running?.close(500);
    const double = await startSpotifyDouble();
    double.latencyMs = 1_500;
    const spotify = new SpotifyClient({
      clientId: double.clientId, clientSecret: double.clientSecret, apiBaseUrl: double.apiBaseUrl, accountsUrl: double.accountsUrl,
      maxRps: 500, retryBaseMs: 5, maxRetries: 1, timeoutMs: 5_000,
    });
    running = await start({ MCP_MAX_CONNECTIONS: '4' }, { spotify, spotifyTtlMs: 0 });
    try {
      const artists = ['Queen', 'Drake', 'Coldplay', 'Don Omar'];
      // Each slow call on a connection of its own.
      const slow = artists.map((artist) => {
        const c = rawSocket(running.url);
        const body = JSON.stringify(call(1, 'artist_metadata', { artist }));
        void c.connected.then(() =>
          c.socket.write(`POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`),
        );
        let text = '';
        c.socket.on('data', (d: Buffer) => (text += d.toString()));
        return { ...c, text: () => text };
      });
      const deadline = Date.now() + 5_000;
      while (running.stats().inFlight < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(running.stats().inFlight).toBe(4);
      const refused = await fetch(running.url.replace(/\/mcp$/, '/healthz'));
      expect(refused.status).toBe(503);
      expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/4 connections with requests in progress \(MCP_MAX_CONNECTIONS\)/);
      expect(running.stats().connections).toBe(4);
      // The calls in progress were not disturbed.
      for (const [n, c] of slow.entries()) {
        while (!c.text().includes('"artist"') && Date.now() < deadline + 10_000) await new Promise((r) => setTimeout(r, 50));
        expect(c.text()).toContain(`"name":"${artists[n]}"`);
        c.socket.destroy();
      }
    } finally {
      await spotify.close();
      await double.close();
    }
  }, 30_000);

  it('with a lowered file limit, 450 idle connections do not lock a real client out (the package bin under ulimit -n 256)', async () => {
    await running?.close(500);
    // The cap below the file limit: connections past it evict idle ones instead of failing accept() with EMFILE.
    const child = spawn('sh', ['-c', 'ulimit -n 256 && exec "$0" "$@"', process.execPath, join(REPO_ROOT, 'bin/music-mcp-server.js')], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: tmpdir(), MUSIC_DATA_DIR: inject('builtDataDir'), MCP_HTTP_PORT: '0', MCP_MAX_CONNECTIONS: '128', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      const url = await announcedUrl(child);
      // The catalog is loaded after the server listens (/healthz is 503 until then): wait for it first.
      const healthz = url.replace(/\/mcp$/, '/healthz');
      for (const deadline = Date.now() + 30_000; ; ) {
        const ready = await fetch(healthz, { signal: AbortSignal.timeout(5_000) }).then((r) => r.status === 200, () => false);
        if (ready) break;
        if (Date.now() > deadline) throw new Error(`the server never became ready: ${stderr}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const idle = Array.from({ length: 450 }, () => rawSocket(url));
      await Promise.all(idle.map((s) => s.connected));
      await new Promise((r) => setTimeout(r, 300));
      const health = await fetch(healthz, { signal: AbortSignal.timeout(5_000) });
      expect(health.status).toBe(200);
      const [answer] = await messagesOf(await post(url, JSON.stringify(call(1, 'recommend_by_genre', { genre: 'rock', limit: 2 }))));
      expect(answer!.result.structuredContent.returned).toBe(2);
      expect(stderr).not.toMatch(/EMFILE/);
      for (const s of idle) s.socket.destroy();
    } finally {
      child.kill('SIGKILL');
    }
  }, 60_000);

  it('refuses settings that are not whole numbers in range, naming them', () => {
    for (const [key, bad] of [['MCP_HEADERS_TIMEOUT_MS', '0'], ['MCP_KEEPALIVE_TIMEOUT_MS', 'soon'], ['MCP_MAX_CONNECTIONS', '2'], ['MCP_MAX_BATCH', '0']] as const) {
      expect(() => loadConfig({ [key]: bad }), key).toThrow(new RegExp(key));
    }
  });
});

describe('batches share the event loop and are bounded', () => {
  it('refuses a batch over MCP_MAX_BATCH with -32600 naming the cap and the setting, without running any call', async () => {
    const double = await startSpotifyDouble();
    const spotify = new SpotifyClient({
      clientId: double.clientId, clientSecret: double.clientSecret, apiBaseUrl: double.apiBaseUrl, accountsUrl: double.accountsUrl,
      maxRps: 500, retryBaseMs: 5, maxRetries: 1, timeoutMs: 3_000,
    });
    const running = await start({ MCP_MAX_BATCH: '3' }, { spotify, spotifyTtlMs: 0 });
    try {
      const artists = ['Queen', 'Drake', 'Coldplay', 'Don Omar'];
      const res = await post(running.url, JSON.stringify(artists.map((artist, i) => call(i + 1, 'artist_metadata', { artist }))));
      expect(res.status).toBe(400);
      const answers = await messagesOf(res);
      expect(answers).toHaveLength(1);
      expect(answers[0]!.error!.code).toBe(-32600);
      expect(answers[0]!.error!.message).toMatch(/at most 3 messages \(MCP_MAX_BATCH\)/);
      await new Promise((r) => setTimeout(r, 200));
      expect(double.requests).toHaveLength(0);
      // At the cap, it runs.
      const ok = await messagesOf(await post(running.url, JSON.stringify(artists.slice(0, 3).map((artist, i) => call(i + 1, 'artist_metadata', { artist })))));
      expect(ok.map((m) => m.result?.structuredContent?.artist?.name).sort()).toEqual(['Coldplay', 'Drake', 'Queen']);
    } finally {
      await running.close(500);
      await spotify.close();
      await double.close();
    }
  });

  it('answers /healthz while a large batch of heavy calls runs, and never holds the event loop for the whole batch', async () => {
    const n = 1000;
    const running = await start({ MCP_MAX_BATCH: String(n) });
    // The server runs in this process: its event loop is the one measured here.
    const loop = monitorEventLoopDelay({ resolution: 10 });
    try {
      const batch = Array.from({ length: n }, (_, i) => call(i, 'recommend_by_genre', { genre: 'rock', limit: 5 }));
      const order: string[] = [];
      const t0 = Date.now();
      loop.enable();
      const whole = post(running.url, JSON.stringify(batch))
        .then(messagesOf)
        .then((ms) => (order.push('batch'), ms));
      await new Promise((r) => setTimeout(r, 100));
      const health = await fetch(running.url.replace(/\/mcp$/, '/healthz')).then(async (r) => {
        order.push('healthz');
        return { status: r.status, ms: Date.now() - t0, body: await r.text() };
      });
      const answers = await whole;
      loop.disable();
      const batchMs = Date.now() - t0;
      const stallMs = loop.max / 1e6;
      process.stderr.write(`batch of ${n} recommend_by_genre: ${batchMs} ms; /healthz answered at ${health.ms} ms; longest event-loop stall ${stallMs.toFixed(0)} ms\n`);
      expect(health.status).toBe(200);
      expect(order).toEqual(['healthz', 'batch']);
      expect(answers).toHaveLength(n);
      expect(answers.every((m) => m.result?.structuredContent?.returned === 5)).toBe(true);
      // One call at a time holds the loop, not the batch (run whole, the stall is the batch's duration).
      expect(stallMs).toBeLessThan(batchMs / 4);
    } finally {
      loop.disable();
      await running.close(500);
    }
  });
});

describe('per-client state on pooled MCP servers', () => {
  let running: RunningHttpServer;
  afterAll(async () => running?.close(500));

  const rpc = (id: number, method: string, params: Record<string, unknown> = {}) => ({ jsonrpc: '2.0', id, method, params });
  const initialize = (id: number, name: string) =>
    rpc(id, 'initialize', { protocolVersion: '2025-11-25', capabilities: { sampling: {} }, clientInfo: { name, version: '1' } });

  it('never pools a server that stored something of its client (initialize, logging/setLevel under any mcp-session-id)', async () => {
    running = await start();
    const pinged = await messagesOf(await post(running.url, JSON.stringify(ping(1))));
    expect(pinged[0]!.result).toEqual({});
    expect(running.stats().idleServers).toBe(1);

    // logging/setLevel stores the level under the request's mcp-session-id header, whatever its value:
    // a pooled server would keep one entry per value a client sends, and apply it to later clients.
    for (let i = 0; i < 20; i++) {
      const [answer] = await messagesOf(await post(running.url, JSON.stringify(rpc(i, 'logging/setLevel', { level: 'emergency' })), { 'mcp-session-id': `s-${i}-${'x'.repeat(1_000)}` }));
      expect(answer!.result).toEqual({});
    }
    const [init] = await messagesOf(await post(running.url, JSON.stringify(initialize(1, 'client-a'))));
    expect(init!.result.serverInfo.name).toBeTruthy();
    await new Promise((r) => setTimeout(r, 50));
    expect(running.stats().idleServers).toBe(0);

    // Plain calls still reuse a pooled server.
    await messagesOf(await post(running.url, JSON.stringify(ping(2))));
    await messagesOf(await post(running.url, JSON.stringify(ping(3))));
    expect(running.stats().idleServers).toBe(1);
  });
});

describe('headers echoed in refusals', () => {
  it('quotes a foreign Origin and an unknown protocol version escaped and capped, never whole', async () => {
    const running = await start();
    try {
      const body = JSON.stringify(ping(1));
      // Header values travel as Latin-1: U+00AD (an invisible soft hyphen) is the kind of character to escape.
      const origin = `http://evil.example/${'\u00ad'.repeat(3)}${'x'.repeat(5_000)}`;
      const refusedOrigin = await post(running.url, body, { origin });
      expect(refusedOrigin.status).toBe(403);
      const originMessage = (await messagesOf(refusedOrigin))[0]!.error!.message;
      expect(originMessage).toContain('\\u00AD');
      expect(originMessage).not.toContain('\u00ad');
      expect(originMessage.length).toBeLessThan(400);

      const refusedVersion = await post(running.url, body, { 'mcp-protocol-version': `2099-01-01${'\u00ad'}${'9'.repeat(5_000)}` });
      expect(refusedVersion.status).toBe(400);
      const versionMessage = (await messagesOf(refusedVersion))[0]!.error!.message;
      expect(versionMessage).toMatch(/Unsupported protocol version: «2099-01-01\\u00AD9+…»/);
      expect(versionMessage.length).toBeLessThan(500);

      // 2026-07-28 requests are refused by the SDK's handler, which quotes what it refuses: the same escaping and cap.
      const long = `2099-01-01${'\u00ad'}${'9'.repeat(5_000)}`;
      const modernRefusals = [
        post(running.url, JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: { _meta: envelope(long) } }), { 'mcp-protocol-version': long, 'mcp-method': 'tools/list' }),
        post(running.url, JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list', params: { _meta: envelope(long) } }), { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/list' }),
        post(
          running.url,
          JSON.stringify({ jsonrpc: '2.0', id: 4, method: 'resources/read', params: { uri: `music://artists/Queen${'\u202e'}${'x'.repeat(5_000)}`, _meta: envelope() } }),
          { 'mcp-protocol-version': '2026-07-28', 'mcp-method': 'resources/read', 'mcp-name': 'music://artists/Queen' },
        ),
      ];
      for (const refused of await Promise.all(modernRefusals)) {
        expect(refused.status).toBe(400);
        const text = await refused.text();
        expect(text).not.toMatch(/[\u00ad\u202e]/);
        expect(text).toMatch(/\\\\u(00AD|202E)/);
        expect(text.length).toBeLessThan(1_500);
      }
    } finally {
      await running.close(1_000);
    }
  });
});
