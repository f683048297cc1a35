/**
 * Spotify enrichment end to end, against the loopback Spotify double: the pipeline (ingest → enrich →
 * load → dbt → publish) joins enriched artists into dim_artists / artist_profiles and the snapshot;
 * and the artist_metadata tool merges stored and live Spotify data with per-field provenance, over a
 * real SDK Client: fresh data is not refetched, stale data is, a failing or slow API still gets an
 * answer (from stored data, with a note), development-mode apps get "unavailable" (never 0), and a
 * live fetch reports MCP progress.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import type { Progress } from '@modelcontextprotocol/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Catalog } from '../src/catalog/catalog.js';
import { CatalogHolder } from '../src/catalog/holder.js';
import { readSnapshot, type ArtistProfile, type Snapshot } from '../src/catalog/snapshot.js';
import { loadConfig, type Config } from '../src/config.js';
import { silentLogger } from '../src/log.js';
import { runPipeline, type PipelineReport } from '../src/pipeline/run.js';
import { connectInMemory } from '../scripts/lib/memory-client.js';
import { SpotifyClient } from '../src/spotify/index.js';
import { DuckDbSession } from '../src/warehouse/duckdb.js';
import type { SpotifyDeps } from '../tools/shared.js';
import { fakeSpotifyId, startSpotifyDouble, type SpotifyDouble } from './helpers/spotify-double.js';

type Result = { isError?: boolean; content: { type: string; text?: string }[]; structuredContent?: Record<string, any> };

let double: SpotifyDouble;
let dir: string;
let config: Config;
let report: PipelineReport;
let snapshot: Snapshot;
const open: { close(): Promise<void> }[] = [];

const HEADER =
  'track_id,track_name,track_artist,track_popularity,track_album_id,track_album_name,track_album_release_date,playlist_name,playlist_id,' +
  'playlist_genre,playlist_subgenre,danceability,energy,key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo,duration_ms';

/** A TidyTuesday-layout CSV whose tracks are the double's (so enrichment can resolve them), plus one unknown artist. */
function writeDataset(path: string): void {
  const c = double.catalog;
  const t = (key: string, name: string) => c.tracksOf(c.artist(key).id).find((x) => x.name === name)!;
  const rows: [string, string, string, string][] = [
    [t('nirvana-uk', 'Pentecost Hotel').id, 'Pentecost Hotel', 'Nirvana', 'rock'],
    [t('nirvana-uk', 'Rainbow Chaser').id, 'Rainbow Chaser', 'Nirvana', 'rock'],
    [t('beyonce', 'Formation').id, 'Formation', 'Beyoncé', 'pop'],
    [t('beyonce', 'Hold Up').id, 'Hold Up', 'Beyoncé', 'pop'],
    [t('daft-punk', 'One More Time').id, 'One More Time', 'Daft Punk', 'edm'],
    [t('bush', 'Glycerine').id, 'Glycerine', 'Bush', 'rock'],
    [t('kate-bush', 'Cloudbusting').id, 'Cloudbusting', 'Kate Bush', 'pop'],
    ['0000000000000000000001', 'Nothing Here', 'The Nonexistent Quartet', 'pop'],
  ];
  const sub: Record<string, string> = { rock: 'album rock', pop: 'dance pop', edm: 'electro house' };
  const lines = rows.map(([id, name, artist, genre], i) =>
    [id, name, artist, 50 + i, `album${String(i).padStart(17, '0')}`, `${name} (Album)`, '2001-03-12', 'Playlist', `pl${i}`, genre, sub[genre],
      0.5, 0.6, 5, -6, 1, 0.05, 0.1, 0, 0.1, 0.5, 120, 200000].join(','),
  );
  writeFileSync(path, `${HEADER}\n${lines.join('\n')}\n`);
}

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    MUSIC_DATA_DIR: join(dir, 'data'),
    MUSIC_DATASET: join(dir, 'songs.csv'),
    LOG_LEVEL: 'silent',
    SPOTIFY_CLIENT_ID: double.clientId,
    SPOTIFY_CLIENT_SECRET: double.clientSecret,
    SPOTIFY_API_BASE_URL: double.apiBaseUrl,
    SPOTIFY_ACCOUNTS_URL: double.accountsUrl,
    SPOTIFY_MAX_RPS: '500',
    ...extra,
  };
}

beforeAll(async () => {
  double = await startSpotifyDouble({ mode: 'extended' });
  dir = mkdtempSync(join(tmpdir(), 'spotify-enrichment-'));
  writeDataset(join(dir, 'songs.csv'));
  config = loadConfig(env());
  report = await runPipeline(config, silentLogger, { steps: ['acquire', 'ingest', 'enrich', 'load', 'transform', 'publish'] });
  snapshot = await readSnapshot(config.snapshotDir);
});
afterAll(async () => {
  await double.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((x) => x.close()));
  double.resetStats();
  double.mode = 'extended';
  double.latencyMs = 0;
});

const artistImage = (key: string) => `https://i.scdn.co/image/${fakeSpotifyId(double.catalog.artist(key).id + 640)}`;

async function dimArtists(): Promise<Record<string, unknown>[]> {
  const session = await DuckDbSession.open(config.duckdbPath);
  try {
    return await session.all(`SELECT artist_key, spotify_id, spotify_followers, spotify_popularity, spotify_genres, spotify_image_url,
      spotify_url, spotify_fetched_at FROM marts.dim_artists ORDER BY artist_key`);
  } finally {
    await session.close();
  }
}

describe('pipeline with Spotify enrichment', () => {
  it('enriches, loads the raw Spotify tables and joins the fields into dim_artists, artist_profiles and the snapshot', async () => {
    const c = double.catalog;
    expect(report.enrich).toMatchObject({ skipped: false, pending: 6, resolved: 5, unresolved: 1, interrupted: false, failed: 0 });
    expect(report.load?.spotify).toEqual({ artists: 5, albums: expect.any(Number), resolutions: 6 });
    expect(report.load!.spotify!.albums).toBeGreaterThan(5);
    expect(report.transform!.tests.filter((t) => t.status === 'fail')).toEqual([]);
    expect(report.transform!.models.map((m) => m.name)).toEqual(
      expect.arrayContaining(['stg_spotify__artists', 'stg_spotify__artist_albums', 'stg_spotify__artist_resolution', 'int_artist_spotify']),
    );

    const dim = await dimArtists();
    const nirvana = dim.find((r) => r.artist_key === 'nirvana')!;
    expect(nirvana).toMatchObject({
      spotify_id: c.artist('nirvana-uk').id, // the 1960s UK band whose tracks these are, not the famous one
      spotify_followers: 41_200,
      spotify_popularity: 27,
      spotify_genres: ['psychedelic pop', 'baroque pop'],
      spotify_image_url: artistImage('nirvana-uk'),
      spotify_url: `https://open.spotify.com/artist/${c.artist('nirvana-uk').id}`,
    });
    expect(Date.now() - Date.parse(String(nirvana.spotify_fetched_at))).toBeLessThan(120_000);
    expect(dim.find((r) => r.artist_key === 'the nonexistent quartet')).toMatchObject({
      spotify_id: null, spotify_followers: null, spotify_genres: null, spotify_fetched_at: null,
    });

    const profile = snapshot.artists.find((a) => a.artist_key === 'beyonce')!;
    expect(profile).toMatchObject({
      spotify_id: c.artist('beyonce').id, spotify_followers: 38_100_000, spotify_popularity: 88, spotify_genres: ['pop', 'r&b'],
      spotify_image_url: artistImage('beyonce'),
    });
    expect(profile.spotify_fetched_at).toBe(new Date(String(dim.find((r) => r.artist_key === 'beyonce')!.spotify_fetched_at)).toISOString());
  });

  it('a development-mode app no longer gets followers/popularity/genres: they become NULL, not 0 (and not stale values)', async () => {
    double.mode = 'development';
    const downgraded = loadConfig(env({ SPOTIFY_ENRICH_TTL_DAYS: '0' }));
    const again = await runPipeline(downgraded, silentLogger, { steps: ['enrich', 'load', 'transform', 'publish'] });
    expect(again.enrich).toMatchObject({ skipped: false, resolved: 5, artists: { updated: 5 } });
    expect(again.transform!.tests.filter((t) => t.status === 'fail')).toEqual([]);
    const nirvana = (await dimArtists()).find((r) => r.artist_key === 'nirvana')!;
    expect(nirvana).toMatchObject({
      spotify_id: double.catalog.artist('nirvana-uk').id, spotify_followers: null, spotify_popularity: null, spotify_genres: null,
      spotify_image_url: artistImage('nirvana-uk'),
    });
    const profile = (await readSnapshot(config.snapshotDir)).artists.find((a) => a.artist_key === 'nirvana')!;
    expect(profile).toMatchObject({ spotify_followers: null, spotify_popularity: null, spotify_genres: null });
  });
});

describe('Spotify configuration', () => {
  it('defaults, empty values as unset, and one credential without the other naming both', () => {
    const base = { MUSIC_DATA_DIR: '/tmp/x' };
    const c = loadConfig({ ...base, SPOTIFY_CLIENT_ID: '', SPOTIFY_CLIENT_SECRET: '  ' });
    expect(c.spotifyClientId).toBeUndefined();
    expect(c.spotify).toEqual({
      maxRps: 20, concurrency: 10, timeoutMs: 10_000, maxRetries: 4, pageSize: 10, market: 'US', enrichTtlDays: 7,
      circuitBreakerFailures: 10, apiBaseUrl: undefined, accountsUrl: undefined,
    });
    expect(loadConfig({ ...base, SPOTIFY_CIRCUIT_BREAKER_FAILURES: '3' }).spotify.circuitBreakerFailures).toBe(3);
    for (const bad of ['0', '-1', 'ten', '2.5']) {
      expect(() => loadConfig({ ...base, SPOTIFY_CIRCUIT_BREAKER_FAILURES: bad })).toThrow(/SPOTIFY_CIRCUIT_BREAKER_FAILURES: /);
    }
    expect(() => loadConfig({ ...base, SPOTIFY_CLIENT_SECRET: 'shh-very-secret' })).toThrow(/SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET: set both/);
    const err = (() => {
      try {
        loadConfig({ ...base, SPOTIFY_CLIENT_SECRET: 'shh-very-secret', SPOTIFY_MAX_RPS: '0', SPOTIFY_MARKET: 'usa' });
      } catch (e) {
        return e as Error;
      }
      return null;
    })();
    expect(err?.message).toMatch(/SPOTIFY_MAX_RPS/);
    expect(err?.message).toMatch(/SPOTIFY_MARKET/);
    expect(err?.message).not.toContain('shh-very-secret');
  });
});

// ------------------------------------------------------------------------------------ the tool

function liveClient(options: Partial<ConstructorParameters<typeof SpotifyClient>[0]> = {}): SpotifyClient {
  const c = new SpotifyClient({
    clientId: double.clientId, clientSecret: double.clientSecret, apiBaseUrl: double.apiBaseUrl, accountsUrl: double.accountsUrl,
    maxRps: 500, retryBaseMs: 5, maxRetries: 1, timeoutMs: 3_000, ...options,
  });
  open.push(c);
  return c;
}

/** A server over `snap` with the given Spotify deps, connected to a real SDK Client in memory. */
async function connect(spotify: SpotifyDeps, snap: Snapshot = snapshot): Promise<Client> {
  const holder = CatalogHolder.of(new Catalog(snap), silentLogger);
  const connection = await connectInMemory(holder, 'spotify-tool-test', spotify);
  open.push(connection);
  return connection.client;
}

const call = async (client: Client, artist: string, onprogress?: (p: Progress) => void) =>
  (await client.callTool({ name: 'artist_metadata', arguments: { artist } }, onprogress ? { onprogress } : undefined)) as Result;

const apiRequests = () => double.requests.filter((r) => r.pathname.startsWith('/v1/'));

/** The published snapshot with one artist's Spotify fields as if it had never been enriched. */
function withoutEnrichment(key: string): Snapshot {
  const strip = (a: ArtistProfile): ArtistProfile => ({
    ...a, spotify_id: null, spotify_followers: null, spotify_popularity: null, spotify_genres: null,
    spotify_image_url: null, spotify_url: null, spotify_fetched_at: null,
  });
  return { ...snapshot, artists: snapshot.artists.map((a) => (a.artist_key === key ? strip(a) : a)) };
}

/** The published snapshot with one artist's Spotify data enriched 30 days ago (past the 7-day TTL). */
function staleEnrichment(key: string): Snapshot {
  const old = new Date(Date.now() - 30 * 86_400_000).toISOString();
  return { ...snapshot, artists: snapshot.artists.map((a) => (a.artist_key === key ? { ...a, spotify_fetched_at: old } : a)) };
}

describe('artist_metadata with Spotify data', () => {
  it('answers fresh enriched data without calling the API, each field with its source and time', async () => {
    const client = await connect({ spotify: liveClient() });
    const tools = await client.listTools();
    expect(tools.tools.find((t) => t.name === 'artist_metadata')!.annotations).toMatchObject({ openWorldHint: true, readOnlyHint: true });
    const r = await call(client, 'beyonce');
    const s = r.structuredContent!;
    expect(r.isError).toBeFalsy();
    expect(s.spotify).toMatchObject({ spotify_id: double.catalog.artist('beyonce').id, followers: 38_100_000, popularity: 88, genres: ['pop', 'r&b'] });
    expect(s.source).toBe('dataset+spotify-enriched');
    const stored = snapshot.artists.find((a) => a.artist_key === 'beyonce')!.spotify_fetched_at;
    expect(s.provenance['spotify.followers']).toEqual({ source: 'spotify-enriched', fetched_at: stored });
    expect(s.provenance.track_count).toEqual({ source: 'dataset', fetched_at: snapshot.manifest.publishedAt });
    expect(apiRequests()).toEqual([]);
    expect(r.content[0]!.text).toMatch(/spotify: followers 38,100,000 · popularity 88 · genres «pop», «r&b»/);
  });

  it('refreshes stale data live and reports MCP progress to the client', async () => {
    double.latencyMs = 30;
    const client = await connect({ spotify: liveClient() }, staleEnrichment('daft punk'));
    const progress: Progress[] = [];
    const r = await call(client, 'Daft Punk', (p) => progress.push(p));
    const s = r.structuredContent!;
    expect(s.source).toBe('dataset+spotify-live');
    expect(s.spotify).toMatchObject({ spotify_id: double.catalog.artist('daft-punk').id, followers: 9_800_000 });
    expect(s.provenance['spotify.followers'].source).toBe('spotify-live');
    expect(Date.now() - Date.parse(s.provenance['spotify.followers'].fetched_at)).toBeLessThan(10_000);
    expect(apiRequests().map((x) => x.pathname)).toEqual([`/v1/artists/${double.catalog.artist('daft-punk').id}`]);
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress.map((p) => p.progress)).toEqual([...progress.map((p) => p.progress)].sort((a, b) => a - b));
    expect(progress.at(-1)).toMatchObject({ progress: 1, total: 1 });

    // A second call within the TTL of the live data reuses it.
    double.resetStats();
    const again = await call(client, 'daft punk');
    expect(again.structuredContent!.provenance['spotify.followers']).toEqual(s.provenance['spotify.followers']);
    expect(apiRequests()).toEqual([]);
  });

  it('resolves a never-enriched artist live (search, then the artist)', async () => {
    const client = await connect({ spotify: liveClient() }, withoutEnrichment('kate bush'));
    const progress: Progress[] = [];
    const r = await call(client, 'kate bush', (p) => progress.push(p));
    expect(r.structuredContent!.spotify).toMatchObject({ spotify_id: double.catalog.artist('kate-bush').id, followers: 3_300_000 });
    expect(progress.map((p) => p.progress)).toEqual([0, 1, 2]);
    expect(progress.every((p) => p.total === 2)).toBe(true);
  });

  it('answers from stored data with a note when the API fails, and within the time bound when it hangs', async () => {
    double.inject({ fault: { kind: 'status', status: 503 }, times: 50 });
    const failing = await connect({ spotify: liveClient(), spotifyTtlMs: 0 }, withoutEnrichment('kate bush'));
    const r = await call(failing, 'beyonce');
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent!.source).toBe('dataset+spotify-enriched');
    expect(r.structuredContent!.spotify.followers).toBe(38_100_000);
    expect(r.structuredContent!.provenance['spotify.followers'].source).toBe('spotify-enriched');
    expect(r.structuredContent!.notes.join(' ')).toMatch(/the Spotify API failed \(SPOTIFY_UNAVAILABLE\).*from the last enrichment/);
    const none = await call(failing, 'kate bush');
    expect(none.isError).toBeFalsy();
    expect(none.structuredContent!).toMatchObject({ source: 'dataset', spotify: { spotify_id: null, followers: null } });
    expect(none.structuredContent!.provenance['spotify.followers']).toMatchObject({ source: 'unavailable' });
    expect(none.structuredContent!.track_count).toBe(1);

    double.resetStats();
    double.inject({ fault: { kind: 'slow', ms: 20_000 }, times: 50 });
    const hanging = await connect({ spotify: liveClient({ timeoutMs: 30_000 }), spotifyTtlMs: 0, spotifyLiveTimeoutMs: 800 });
    const started = Date.now();
    const slow = await call(hanging, 'bush');
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(slow.structuredContent!.notes.join(' ')).toMatch(/did not answer within 0.8 s/);
    expect(slow.structuredContent!.spotify.followers).toBe(1_200_000);
  });

  it('development-mode app: fields Spotify no longer returns are unavailable, not 0', async () => {
    double.mode = 'development';
    const client = await connect({ spotify: liveClient() }, withoutEnrichment('kate bush'));
    const r = await call(client, 'Kate Bush');
    const s = r.structuredContent!;
    expect(s.spotify).toEqual({
      spotify_id: double.catalog.artist('kate-bush').id, followers: null, popularity: null, genres: null,
      image_url: artistImage('kate-bush'), url: `https://open.spotify.com/artist/${double.catalog.artist('kate-bush').id}`,
    });
    for (const f of ['followers', 'popularity', 'genres']) {
      expect(s.provenance[`spotify.${f}`]).toMatchObject({ source: 'unavailable', note: 'not returned to development-mode Spotify apps' });
    }
    expect(s.provenance['spotify.image_url'].source).toBe('spotify-live');
    expect(s.notes.join(' ')).toMatch(/development mode/);
    expect(r.content[0]!.text).toMatch(/followers unavailable · popularity unavailable · genres unavailable/);
  });

  it('extended app: an artist missing one field is not called development mode', async () => {
    const kate = double.catalog.artist('kate-bush').id;
    double.inject({ fault: { kind: 'mangle', edit: ({ followers: _drop, ...rest }) => rest }, match: new RegExp(`/artists/${kate}$`) });
    // Stale stored data: the live refresh is this client's first artist object, and it lacks followers.
    const client = await connect({ spotify: liveClient() }, staleEnrichment('kate bush'));
    const s = (await call(client, 'Kate Bush')).structuredContent!;
    expect(s.spotify).toMatchObject({ spotify_id: kate, followers: 3_300_000, popularity: 74 });
    expect(s.provenance['spotify.popularity'].source).toBe('spotify-live');
    expect(s.provenance['spotify.followers']).toMatchObject({ source: 'spotify-enriched', note: 'not returned by the live API; value from the last enrichment' });
    expect(JSON.stringify(s)).not.toMatch(/development/);

    // Never enriched: the missing field is unavailable, still without a development-mode claim.
    double.inject({ fault: { kind: 'mangle', edit: ({ followers: _drop, ...rest }) => rest }, match: new RegExp(`/artists/${kate}$`) });
    const fresh = await connect({ spotify: liveClient() }, withoutEnrichment('kate bush'));
    const f = (await call(fresh, 'Kate Bush')).structuredContent!;
    expect(f.spotify).toMatchObject({ spotify_id: kate, followers: null, popularity: 74 });
    expect(f.provenance['spotify.followers']).toMatchObject({ source: 'unavailable', note: 'not returned by the Spotify API' });
    expect(JSON.stringify(f)).not.toMatch(/development/);
  });

  it('without credentials: stored data only, no live fetch, and says so', async () => {
    const client = await connect({ spotify: null }, withoutEnrichment('kate bush'));
    const tools = await client.listTools();
    expect(tools.tools.find((t) => t.name === 'artist_metadata')!.annotations?.openWorldHint).toBe(false);
    expect((await call(client, 'bush')).structuredContent!.source).toBe('dataset+spotify-enriched');
    const r = await call(client, 'kate bush');
    expect(r.structuredContent!.source).toBe('dataset');
    expect(r.structuredContent!.notes.join(' ')).toMatch(/not enriched and the server has no Spotify credentials/);
    expect(apiRequests()).toEqual([]);
  });
});
