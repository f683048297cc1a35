import type { ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readSnapshot, writeSnapshot, type Snapshot } from '../src/catalog/snapshot.js';
import { announcedUrl, spawnHttpServer, stdioBinTransport } from './helpers/server-process.js';

/**
 * Publish new snapshots while clients call tools without pause: over HTTP (4 SDK clients against one
 * server process) and over stdio (1 SDK client, its own server process), both serving a copy of the
 * built snapshot dir and polling it every 100 ms. Each publish renames one artist's tracks with a
 * version marker, so an answer mixing two versions would show. Expected: no failed call; every answer
 * carries one published version and its content matches that version; each client's versions only move
 * forward, and every client reaches the last one.
 */

const ARTIST = 'Queen';
const PUBLISHES = 3;

type Result = { isError?: boolean; content: { text?: string }[]; structuredContent?: Record<string, any> };
interface Answer { client: string; tool: string; version: string; marker: number | null | 'mixed' }

const markerOf = (name: string | null): number | null => {
  const m = / \[v(\d+)\]$/.exec(name ?? '');
  return m ? Number(m[1]) : null;
};

describe('publishing new snapshots while clients call tools', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'music-mcp-publish-'));
  const snapshotDir = join(dataDir, 'snapshots');
  // The snapshots are written in this process, which holds the clients too: writing one blocks them for
  // seconds on a loaded machine, long enough for the server to close their idle keep-alive connections
  // (MCP_KEEPALIVE_TIMEOUT_MS, 5 s by default) just as a client sends on one ("other side closed"). That
  // race is this test's own stall, not a swap; a keep-alive longer than any such stall keeps it out. The same
  // stall can fall between a request's first bytes and its last, where Node answers 408 with an empty body once
  // the header or request timeout (MCP_HEADERS_TIMEOUT_MS, MCP_REQUEST_TIMEOUT_MS) runs out: both are raised alike.
  const env = {
    PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), MUSIC_DATA_DIR: dataDir, MUSIC_SNAPSHOT_POLL_MS: '100',
    MCP_KEEPALIVE_TIMEOUT_MS: '120000', MCP_HEADERS_TIMEOUT_MS: '120000', MCP_REQUEST_TIMEOUT_MS: '600000', LOG_LEVEL: 'warn',
  };
  let httpServer: ChildProcess;
  let url: string;
  let base: Snapshot;

  beforeAll(async () => {
    cpSync(join(inject('builtDataDir'), 'snapshots'), snapshotDir, { recursive: true });
    base = await readSnapshot(snapshotDir);
    httpServer = spawnHttpServer({ ...env, MCP_HTTP_PORT: '0' });
    url = await announcedUrl(httpServer);
  });

  afterAll(async () => {
    if (httpServer && httpServer.exitCode === null) {
      const exited = new Promise((resolve) => httpServer.once('exit', resolve));
      httpServer.kill('SIGTERM');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** The base snapshot with ARTIST's track names marked ` [vK]`, published as a new version. */
  async function publish(k: number): Promise<string> {
    const key = base.artists.find((a) => a.artist_name === ARTIST)!.artist_key;
    const names = base.tracks.track_name.map((n, i) => (base.tracks.artist_keys[i]!.includes(key) ? `${n ?? ''} [v${k}]` : n));
    const { format: _format, version: _version, ...manifest } = base.manifest;
    return writeSnapshot(snapshotDir, {
      ...base,
      manifest: { ...manifest, publishedAt: new Date(Date.now() + k * 1_000).toISOString() },
      tracks: { ...base.tracks, track_name: names },
    });
  }

  it('serves every call from exactly one version, moving to each new publish, with no failed call', async () => {
    const clients: { name: string; client: Client; listChanged: number }[] = [];
    for (let n = 0; n < 4; n++) {
      const client = new Client({ name: `http-${n}`, version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(url)));
      clients.push({ name: `http-${n}`, client, listChanged: 0 });
    }
    const stdio = new Client({ name: 'stdio', version: '1' });
    await stdio.connect(stdioBinTransport(env));
    const stdioEntry = { name: 'stdio', client: stdio, listChanged: 0 };
    stdio.setNotificationHandler('notifications/resources/list_changed', async () => void stdioEntry.listChanged++);
    clients.push(stdioEntry);
    for (const c of clients) await c.client.listTools();

    const versions = [base.manifest.version];
    const answers: Answer[] = [];
    const failures: string[] = [];
    let stop = false;
    const loop = async ({ name, client }: { name: string; client: Client }) => {
      for (let n = 0; !stop; n++) {
        const byArtist = n % 2 === 0;
        const tool = byArtist ? 'tracks_by_artist' : 'recommend_by_genre';
        try {
          const r = (await client.callTool({ name: tool, arguments: byArtist ? { artist: ARTIST, limit: 100 } : { genre: 'rock', limit: 5 } })) as Result;
          if (r.isError) {
            failures.push(`${name} ${tool}: ${r.content[0]?.text}`);
            continue;
          }
          const s = r.structuredContent!;
          let marker: Answer['marker'] = null;
          if (byArtist) {
            const marks = new Set((s.tracks as { name: string | null }[]).map((t) => markerOf(t.name)));
            marker = marks.size === 1 ? [...marks][0]! : 'mixed';
          }
          answers.push({ client: name, tool, version: s.catalog.version, marker });
        } catch (err) {
          failures.push(`${name} ${tool}: ${(err as Error).message} ${String((err as { cause?: unknown }).cause ?? '')}`);
        }
      }
    };
    const seenBy = (version: string, client: string) => answers.some((a) => a.client === client && a.version === version);
    const until = async (what: string, ok: () => boolean) => {
      while (!ok()) {
        if (failures.length) throw new Error(`failed calls while waiting for ${what}: ${failures.slice(0, 3).join('; ')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };

    const running = clients.map(loop);
    try {
      await until('first answers', () => clients.every((c) => seenBy(versions[0]!, c.name)));
      for (let k = 1; k <= PUBLISHES; k++) {
        const version = await publish(k);
        versions.push(version);
        await until(`version ${version}`, () => clients.every((c) => seenBy(version, c.name)));
      }
    } finally {
      stop = true;
      await Promise.all(running);
      await Promise.all(clients.map((c) => c.client.close()));
    }

    expect(failures).toEqual([]);
    expect(new Set(versions).size).toBe(PUBLISHES + 1);
    for (const a of answers) {
      const k = versions.indexOf(a.version);
      expect(k, `unknown version ${a.version}`).toBeGreaterThanOrEqual(0);
      // Content matches the version it claims: version 0 has no marker, version k has [vk] on every track.
      if (a.tool === 'tracks_by_artist') expect(a.marker, `${a.client} answer from ${a.version}`).toBe(k === 0 ? null : k);
    }
    for (const c of clients) {
      const seq = answers.filter((a) => a.client === c.name).map((a) => versions.indexOf(a.version));
      for (let i = 1; i < seq.length; i++) expect(seq[i]!, `${c.name} went back to an older version`).toBeGreaterThanOrEqual(seq[i - 1]!);
      expect(seq[seq.length - 1]).toBe(PUBLISHES);
    }
    // The stdio client was told about each new catalog.
    expect(stdioEntry.listChanged).toBeGreaterThanOrEqual(1);
    expect(answers.length).toBeGreaterThan(50);
  }, 240_000);
});
