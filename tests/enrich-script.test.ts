/**
 * `scripts/enrich-spotify.ts` as a process, against the loopback Spotify double: without credentials it
 * says it skipped and exits 0; killed with SIGKILL and then stopped with SIGTERM midway, reruns finish the
 * job with exactly what one uninterrupted run stages (nothing lost, nothing duplicated).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { enrichArtists } from '../src/pipeline/enrich.js';
import { EXIT } from '../src/pipeline/exit-codes.js';
import { SpotifyClient } from '../src/spotify/index.js';
import { DuckDbSession } from '../src/warehouse/duckdb.js';
import { DuckDbStagingStore } from '../src/warehouse/staging.js';
import { REPO_ROOT } from './helpers/dataset.js';
import { startSpotifyDouble, type SpotifyDouble } from './helpers/spotify-double.js';

let double: SpotifyDouble;
let dir: string;

beforeAll(async () => {
  double = await startSpotifyDouble({ mode: 'development' });
  dir = mkdtempSync(join(tmpdir(), 'enrich-script-'));
});
afterEach(() => {
  double.resetStats();
});
afterAll(async () => {
  await double.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A data dir whose DuckDB file stages tracks by 28 of the double's artists (and one unknown). */
async function dataDir(name: string): Promise<string> {
  const data = join(dir, name);
  mkdirSync(data, { recursive: true });
  const session = await DuckDbSession.open(join(data, 'warehouse.duckdb'));
  try {
    await new DuckDbStagingStore(session).ensureSchema();
    const c = double.catalog;
    const first = (key: string) => c.tracksOf(c.artist(key).id)[0]!.id;
    const rows: [string, string][] = [
      ...Array.from({ length: 24 }, (_, i): [string, string] => {
        const n = String(i + 1).padStart(2, '0');
        return [first(`lantern-${n}`), `Paper Lantern ${n}`];
      }),
      [first('beyonce'), 'Beyoncé'],
      [first('daft-punk'), 'Daft Punk'],
      [first('bush'), 'Bush'],
      [first('kate-bush'), 'Kate Bush'],
      ['0000000000000000000001', 'The Nonexistent Quartet'],
    ];
    const values = rows.map(
      ([id, artist], i) =>
        `('k${i}', 'tidytuesday', 'songs.csv', ${i + 2}, '${id}', 'x', '${artist}', 'pop', 'h${i}', TIMESTAMP '2026-01-01 00:00:00')`,
    );
    await session.run(`INSERT INTO staging.tracks (row_key, source_schema, source_file, source_line, track_id, track_name, artist_names, genre, row_hash, loaded_at)
VALUES ${values.join(', ')}`);
  } finally {
    await session.close();
  }
  return data;
}

async function state(data: string) {
  const session = await DuckDbSession.open(join(data, 'warehouse.duckdb'));
  try {
    return {
      resolution: await session.all('SELECT artist_key, artist_name, spotify_id, method FROM staging.artist_resolution ORDER BY artist_key'),
      artists: await session.all('SELECT spotify_id, artist_key, payload_hash FROM staging.spotify_artists ORDER BY spotify_id'),
      albums: await session.all('SELECT spotify_id, album_id, payload_hash FROM staging.spotify_artist_albums ORDER BY spotify_id, album_id'),
    };
  } finally {
    await session.close();
  }
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Start the script; `stop` may kill it once the double has seen `after` artist searches. */
function runScript(env: Record<string, string>, stop?: { after: number; signal: NodeJS.Signals }, script = ['scripts/enrich-spotify.ts']): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...script], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), LOG_LEVEL: 'silent', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const baseline = searches();
    const timer = stop
      ? setInterval(() => {
          if (searches() - baseline >= stop.after) {
            clearInterval(timer);
            child.kill(stop.signal);
          }
        }, 5)
      : undefined;
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearInterval(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const searches = () => double.requests.filter((r) => r.pathname === '/v1/search' && r.url.includes('type=artist')).length;

const spotifyEnv = (data: string) => ({
  MUSIC_DATA_DIR: data,
  SPOTIFY_CLIENT_ID: double.clientId,
  SPOTIFY_CLIENT_SECRET: double.clientSecret,
  SPOTIFY_API_BASE_URL: double.apiBaseUrl,
  SPOTIFY_ACCOUNTS_URL: double.accountsUrl,
  SPOTIFY_MAX_RPS: '500',
  SPOTIFY_CONCURRENCY: '2',
});

describe('scripts/enrich-spotify.ts', () => {
  it('without credentials: says it skipped, stages nothing, exits 0', async () => {
    const data = await dataDir('no-credentials');
    const r = await runScript({ MUSIC_DATA_DIR: data });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/skipped: set SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET/);
    expect(JSON.parse(r.stdout)).toMatchObject({ steps: ['enrich'], enrich: { skipped: true } });
    expect(double.requests).toEqual([]);
  });

  it('one Spotify credential without the other is a configuration error (exit 78) naming both', async () => {
    const r = await runScript({ MUSIC_DATA_DIR: join(dir, 'half'), SPOTIFY_CLIENT_ID: 'only-the-id' });
    expect(r.code).toBe(EXIT.CONFIG);
    expect(r.stderr).toMatch(/SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET: set both/);
    expect(r.stderr).not.toContain('only-the-id');
  });

  it('refused credentials (invalid_client): exit 78 with the fix named, and no "run it again to resume"', async () => {
    const data = await dataDir('refused');
    double.resetStats();
    const r = await runScript({ ...spotifyEnv(data), SPOTIFY_CLIENT_SECRET: 'a-wrong-secret-4567' });
    expect(r.code, r.stderr).toBe(EXIT.CONFIG);
    expect(r.stderr).toMatch(/enrich stopped: Spotify refused the client credentials \(400: «invalid_client \(Invalid client secret\)»\); check SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET/);
    expect(r.stderr).not.toMatch(/resume/);
    expect(r.stderr + r.stdout).not.toContain('a-wrong-secret-4567');
    expect(JSON.parse(r.stdout).enrich).toMatchObject({ interrupted: true, stopKind: 'configuration' });
    expect(double.count('/api/token')).toBe(1);
  });

  it('a rate-limited token endpoint: exit 75 (resumable) from npm run enrich and from npm run pipeline', async () => {
    const data = await dataDir('token-429');
    for (const script of [['scripts/enrich-spotify.ts'], ['scripts/pipeline.ts', '--steps', 'enrich']]) {
      double.resetStats();
      double.inject({ fault: { kind: 'rate-limit', retryAfterS: 600 }, match: '/api/token', times: 1000 });
      const r = await runScript(spotifyEnv(data), undefined, script);
      expect(r.code, r.stderr).toBe(EXIT.TEMPFAIL);
      expect(r.stderr).toMatch(/enrich stopped early \(Spotify POST \/api\/token is rate limited; retry after 600 s\); finished work is kept, run it again later to resume/);
      expect(JSON.parse(r.stdout).enrich).toMatchObject({ pending: 29, interrupted: true, stopKind: 'transient' });
      expect(double.count('/api/token')).toBe(1);
    }
  });

  it('resumes after SIGKILL and after SIGTERM with nothing lost or duplicated', async () => {
    // What one uninterrupted run stages.
    const reference = await dataDir('reference');
    const session = await DuckDbSession.open(join(reference, 'warehouse.duckdb'));
    const client = new SpotifyClient({
      clientId: double.clientId, clientSecret: double.clientSecret, apiBaseUrl: double.apiBaseUrl, accountsUrl: double.accountsUrl, maxRps: 500,
    });
    try {
      const full = await enrichArtists({ session, spotify: client, concurrency: 2, onProgress: () => undefined });
      expect(full).toMatchObject({ pending: 29, resolved: 28, unresolved: 1, interrupted: false });
    } finally {
      await client.close();
      await session.close();
    }
    const expected = await state(reference);

    const data = await dataDir('interrupted');
    double.resetStats();
    double.latencyMs = 60;
    try {
      const killed = await runScript(spotifyEnv(data), { after: 6, signal: 'SIGKILL' });
      expect(killed.signal).toBe('SIGKILL');
      const afterKill = await state(data);
      expect(afterKill.resolution.length).toBeGreaterThanOrEqual(4);
      expect(afterKill.resolution.length).toBeLessThan(29);

      const terminated = await runScript(spotifyEnv(data), { after: 6, signal: 'SIGTERM' });
      expect(terminated.code, terminated.stderr).toBe(143);
      expect(terminated.stderr).toMatch(/SIGTERM: stopping cleanly/);
      expect(terminated.stderr).toMatch(/interrupted during enrich .*run it again to resume/);
      const summary = JSON.parse(terminated.stdout) as { enrich: { pending: number; interrupted: boolean } };
      expect(summary.enrich.interrupted).toBe(true);
      expect(summary.enrich.pending).toBe(29 - afterKill.resolution.length); // resolved names are not searched again
      const afterTerm = await state(data);
      expect(afterTerm.resolution.length).toBeGreaterThan(afterKill.resolution.length);

      const searchesBefore = searches();
      const finished = await runScript(spotifyEnv(data));
      expect(finished.code, finished.stderr).toBe(0);
      expect(finished.stderr).toMatch(/enrich resolve: \d+\/\d+/);
      expect(JSON.parse(finished.stdout).enrich).toMatchObject({ pending: 29 - afterTerm.resolution.length, interrupted: false, failed: 0 });
      expect(searches() - searchesBefore).toBe(29 - afterTerm.resolution.length);
      expect(await state(data)).toEqual(expected);
    } finally {
      double.latencyMs = 0;
    }
  });
});
