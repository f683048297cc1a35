import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
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
    expect(tools.map((t) => t.name).sort()).toEqual(['artist_metadata', 'recommend_by_genre', 'search_music_knowledge', 'similar_tracks', 'tracks_by_artist']);
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
    const r = (await client.callTool({ name: 'recommend_by_genre', arguments: { genre: 'rock', limit: 3 } }, undefined, { timeout: 280_000 })) as ToolResult;
    expect(r.isError, r.content[0]?.text).toBeFalsy();
    expect(r.structuredContent!.returned).toBe(3);
    expect(stderr()).toMatch(/building it \(first run only\)/);
    expect(stderr()).toMatch(/published serving snapshot/);
    await client.close();
  }, 300_000);
});
