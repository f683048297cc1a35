/**
 * Enrichment against the loopback Spotify double, on a temp DuckDB file: names resolve to the right
 * Spotify ids (same-name artists told apart by known tracks), payloads are staged once per version,
 * fresh data is skipped, and a run killed midway resumes with nothing lost or duplicated.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { enrichArtists, stderrProgress, type EnrichProgress } from '../src/pipeline/enrich.js';
import { resolveArtist } from '../src/spotify/resolve-artist.js';
import { SpotifyCircuitOpenError, SpotifyClient, type SpotifyApi } from '../src/spotify/index.js';
import { EXIT, exitCodeFor } from '../src/pipeline/exit-codes.js';
import { DuckDbSession } from '../src/warehouse/duckdb.js';
import { DuckDbStagingStore } from '../src/warehouse/staging.js';
import { startSpotifyDouble, type SpotifyDouble } from './helpers/spotify-double.js';

let double: SpotifyDouble;
let dir: string;
const open: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  double = await startSpotifyDouble({ mode: 'development' });
  dir = mkdtempSync(join(tmpdir(), 'enrich-test-'));
});
afterAll(async () => {
  await double.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(async () => {
  await Promise.all(open.splice(0).map((x) => x.close()));
  double.resetStats();
  double.mode = 'development';
});

function client(): SpotifyClient {
  const c = new SpotifyClient({
    clientId: double.clientId,
    clientSecret: double.clientSecret,
    apiBaseUrl: double.apiBaseUrl,
    accountsUrl: double.accountsUrl,
    maxRps: 500,
    concurrency: 8,
    retryBaseMs: 10,
  });
  open.push(c);
  return c;
}

let dbCounter = 0;
/** A fresh DuckDB file with `staging.tracks` holding the dataset rows below. */
async function datasetDb(): Promise<DuckDbSession> {
  const session = await DuckDbSession.open(join(dir, `music-${++dbCounter}.duckdb`));
  open.push(session);
  await new DuckDbStagingStore(session).ensureSchema();
  const c = double.catalog;
  const t = (key: string, name: string) => c.tracksOf(c.artist(key).id).find((x) => x.name === name)!.id;
  const rows: [string, string][] = [
    // The 1960s UK Nirvana: search ranks the famous US band first; only the tracks can tell.
    [t('nirvana-uk', 'Pentecost Hotel'), 'Nirvana'],
    [t('nirvana-uk', 'Rainbow Chaser'), 'Nirvana'],
    // Spelled without the accent, and a two-artist credit.
    [t('beyonce', 'Crazy in Love'), 'Beyonce;JAY-Z'],
    [t('beyonce', 'Formation'), 'Beyoncé'],
    [t('daft-punk', 'One More Time'), 'Daft Punk'],
    [t('daft-punk', 'Digital Love'), 'Daft Punk'],
    [t('daft-punk', 'Get Lucky'), 'Daft  Punk'], // the most-credited spelling names the artist
    // "Bush" also matches Kate Bush in search.
    [t('bush', 'Glycerine'), 'Bush'],
    ['0000000000000000000001', 'The Nonexistent Quartet'],
  ];
  const values = rows.map(
    ([id, artists], i) =>
      `('k${i}', 'tidytuesday', 'songs.csv', ${i + 2}, '${id}', 'x', '${artists.replaceAll("'", "''")}', 'pop', 'h${i}', TIMESTAMP '2026-01-01 00:00:00')`,
  );
  await session.run(`INSERT INTO staging.tracks (row_key, source_schema, source_file, source_line, track_id, track_name, artist_names, genre, row_hash, loaded_at)
VALUES ${values.join(', ')}`);
  return session;
}

async function state(session: DuckDbSession) {
  return {
    resolution: await session.all(
      'SELECT artist_key, artist_name, spotify_id, method FROM staging.artist_resolution ORDER BY artist_key',
    ),
    artists: await session.all('SELECT spotify_id, artist_key, payload_hash FROM staging.spotify_artists ORDER BY spotify_id'),
    albums: await session.all(
      'SELECT spotify_id, album_id, payload_hash FROM staging.spotify_artist_albums ORDER BY spotify_id, album_id',
    ),
  };
}

/** A fresh DuckDB file staging one track each of the double's 24 "Paper Lantern NN" artists. */
async function lanternsDb(): Promise<DuckDbSession> {
  const session = await DuckDbSession.open(join(dir, `music-${++dbCounter}.duckdb`));
  open.push(session);
  await new DuckDbStagingStore(session).ensureSchema();
  const c = double.catalog;
  const values = Array.from({ length: 24 }, (_, i) => {
    const n = String(i + 1).padStart(2, '0');
    const id = c.tracksOf(c.artist(`lantern-${n}`).id)[0]!.id;
    return `('k${i}', 'tidytuesday', 'songs.csv', ${i + 2}, '${id}', 'x', 'Paper Lantern ${n}', 'pop', 'h${i}', TIMESTAMP '2026-01-01 00:00:00')`;
  });
  await session.run(`INSERT INTO staging.tracks (row_key, source_schema, source_file, source_line, track_id, track_name, artist_names, genre, row_hash, loaded_at)
VALUES ${values.join(', ')}`);
  return session;
}

const quiet = () => undefined;

describe('enrichArtists', () => {
  it('resolves names (same-name artists by track overlap), stages artists and albums, and reports progress', async () => {
    const session = await datasetDb();
    const progress: EnrichProgress[] = [];
    const result = await enrichArtists({ session, spotify: client(), onProgress: (p) => progress.push(p) });
    const c = double.catalog;

    expect(result).toMatchObject({ pending: 6, resolved: 5, unresolved: 1, ambiguous: 0, failed: 0, interrupted: false });
    const s = await state(session);
    expect(s.resolution).toEqual([
      { artist_key: 'beyonce', artist_name: 'Beyonce', spotify_id: c.artist('beyonce').id, method: 'search-unique-name' },
      { artist_key: 'bush', artist_name: 'Bush', spotify_id: c.artist('bush').id, method: 'search-unique-name' },
      { artist_key: 'daft punk', artist_name: 'Daft Punk', spotify_id: c.artist('daft-punk').id, method: 'search-unique-name' },
      { artist_key: 'jay-z', artist_name: 'JAY-Z', spotify_id: c.artist('jay-z').id, method: 'search-unique-name' },
      { artist_key: 'nirvana', artist_name: 'Nirvana', spotify_id: c.artist('nirvana-uk').id, method: 'search-track-overlap' },
      { artist_key: 'the nonexistent quartet', artist_name: 'The Nonexistent Quartet', spotify_id: null, method: 'not-found' },
    ]);
    expect(s.artists).toHaveLength(5);
    const daft = await session.all<{ n: number }>(
      `SELECT count(*) AS n FROM staging.spotify_artist_albums WHERE spotify_id = '${c.artist('daft-punk').id}'`,
    );
    expect(daft[0]!.n).toBe(12);
    expect(s.albums).toHaveLength(c.albumsOf(c.artist('nirvana-uk').id).length + 12 + 2 + 1 + 1);
    // Development mode: the staged payload has no followers (absent, not 0).
    const [nirvana] = await session.all<{ followers: string | null; name: string }>(
      `SELECT payload->>'$.followers' AS followers, payload->>'$.name' AS name FROM staging.spotify_artists WHERE spotify_id = '${c.artist('nirvana-uk').id}'`,
    );
    expect(nirvana).toEqual({ followers: null, name: 'Nirvana' });

    for (const phase of ['resolve', 'artists', 'albums'] as const) {
      const last = progress.filter((p) => p.phase === phase).at(-1)!;
      expect(last.done).toBe(last.total);
    }
    const lines: string[] = [];
    const sink = stderrProgress((l) => lines.push(l));
    sink({ phase: 'resolve', done: 6, total: 6, failed: 0 });
    expect(lines).toEqual(['enrich resolve: 6/6\n']);
  });

  it('skips everything fresher than the TTL, and rewrites only changed payloads after it', async () => {
    const session = await datasetDb();
    let clock = new Date('2026-03-01T00:00:00Z');
    const now = () => clock;
    await enrichArtists({ session, spotify: client(), now, onProgress: quiet });
    const before = await state(session);
    const [{ fetched_at: fetchedBefore }] = (await session.all<{ fetched_at: string }>(
      'SELECT min(fetched_at) AS fetched_at FROM staging.spotify_artists',
    )) as [{ fetched_at: string }];

    double.resetStats();
    clock = new Date('2026-03-02T00:00:00Z');
    const again = await enrichArtists({ session, spotify: client(), now, ttlMs: 7 * 86_400_000, onProgress: quiet });
    expect(again).toMatchObject({ pending: 0, artists: { inserted: 0, updated: 0, unchanged: 0 }, albums: { listings: 0 } });
    expect(double.requests.filter((r) => r.pathname.startsWith('/v1/'))).toEqual([]);

    // Past the TTL, same payloads: rechecked, not rewritten (fetched_at kept, checked_at moved).
    clock = new Date('2026-03-20T00:00:00Z');
    const later = await enrichArtists({ session, spotify: client(), now, onProgress: quiet });
    expect(later.artists).toEqual({ inserted: 0, updated: 0, unchanged: 5 });
    expect(later.albums).toMatchObject({ listings: 5, inserted: 0, updated: 0 });
    expect(await state(session)).toEqual(before);
    const [row] = await session.all<{ fetched_at: string; checked_at: string }>(
      'SELECT min(fetched_at) AS fetched_at, min(checked_at) AS checked_at FROM staging.spotify_artists',
    );
    expect(row).toEqual({ fetched_at: fetchedBefore, checked_at: '2026-03-20T00:00:00.000Z' });

    // The app gets extended quota: payloads now carry followers → rewritten with a new fetched_at.
    double.mode = 'extended';
    clock = new Date('2026-04-20T00:00:00Z');
    const upgraded = await enrichArtists({ session, spotify: client(), now, skipAlbums: true, onProgress: quiet });
    expect(upgraded.artists).toEqual({ inserted: 0, updated: 5, unchanged: 0 });
    const followers = await session.all<{ n: number }>(
      `SELECT count(*) AS n FROM staging.spotify_artists WHERE payload->>'$.followers.total' IS NOT NULL AND fetched_at = TIMESTAMP '2026-04-20 00:00:00'`,
    );
    expect(followers[0]!.n).toBe(5);
  });

  it('resumes a killed run with nothing lost or duplicated', async () => {
    const reference = await datasetDb();
    await enrichArtists({ session: reference, spotify: client(), concurrency: 1, onProgress: quiet });
    const expected = await state(reference);

    const session = await datasetDb();
    // "Kill" the process after 3 successful searches: the 4th call crashes.
    const real = client();
    let searches = 0;
    const crashing: SpotifyApi = Object.assign(Object.create(real) as SpotifyApi, {
      searchArtists: (...args: Parameters<SpotifyApi['searchArtists']>) => {
        if (++searches > 3) return Promise.reject(new Error('process killed'));
        return real.searchArtists(...args);
      },
    });
    await expect(enrichArtists({ session, spotify: crashing, concurrency: 1, onProgress: quiet })).rejects.toThrow('process killed');
    const partial = await state(session);
    expect(partial.resolution).toHaveLength(3);

    // Abort the second run during the artist phase (as SIGTERM would).
    const ac = new AbortController();
    let artistCalls = 0;
    const aborting: SpotifyApi = Object.assign(Object.create(real) as SpotifyApi, {
      getArtists: (...args: Parameters<SpotifyApi['getArtists']>) => {
        artistCalls += 1;
        ac.abort();
        return real.getArtists(...args);
      },
    });
    double.resetStats();
    const second = await enrichArtists({ session, spotify: aborting, concurrency: 1, signal: ac.signal, onProgress: quiet });
    expect(second).toMatchObject({ pending: 3, interrupted: true });
    expect(artistCalls).toBe(1);
    // Only the 3 unresolved names were searched again.
    expect(double.requests.filter((r) => r.pathname === '/v1/search' && r.url.includes('type=artist'))).toHaveLength(3);

    const third = await enrichArtists({ session, spotify: client(), concurrency: 1, onProgress: quiet });
    expect(third).toMatchObject({ pending: 0, interrupted: false });
    expect(await state(session)).toEqual(expected);
  });
});

describe('enrichArtists when Spotify keeps failing', () => {
  const custom = (options: Partial<ConstructorParameters<typeof SpotifyClient>[0]> = {}) => {
    const c = new SpotifyClient({
      clientId: double.clientId, clientSecret: double.clientSecret, apiBaseUrl: double.apiBaseUrl, accountsUrl: double.accountsUrl,
      maxRps: 500, concurrency: 8, retryBaseMs: 10, retryMaxDelayMs: 20, ...options,
    });
    open.push(c);
    return c;
  };
  const tokenRequests = () => double.count('/api/token');

  it('a rate-limited token endpoint stops the run as transient, without asking for a token per artist', async () => {
    const session = await lanternsDb();
    double.inject({ fault: { kind: 'rate-limit', retryAfterS: null }, match: '/api/token', times: 1000 });
    const result = await enrichArtists({ session, spotify: custom({ maxRetries: 2, defaultRetryAfterMs: 100 }), concurrency: 4, onProgress: quiet });
    expect(result).toMatchObject({ pending: 24, resolved: 0, interrupted: true, stopKind: 'transient' });
    expect(result.reason).toMatch(/POST \/api\/token is rate limited/);
    expect(tokenRequests()).toBe(3); // the first request and maxRetries more, each after the pause; then no more
    expect(double.count('/v1/')).toBe(0);
  });

  it('refused credentials stop the run as a configuration problem after one token request', async () => {
    const session = await lanternsDb();
    const result = await enrichArtists({ session, spotify: custom({ clientSecret: 'not-the-secret-0123' }), concurrency: 4, onProgress: quiet });
    expect(result).toMatchObject({ interrupted: true, stopKind: 'configuration' });
    expect(result.reason).toMatch(/refused the client credentials .*invalid_client.*check SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET/);
    expect(result.reason).not.toContain('not-the-secret-0123');
    expect(tokenRequests()).toBe(1);
  });

  it('the circuit breaker stops the run after N consecutive failures of one kind; a success in between resets it', async () => {
    const session = await lanternsDb();
    double.inject({ fault: { kind: 'status', status: 503 }, match: '/v1/search', times: 1000 });
    const result = await enrichArtists({ session, spotify: custom({ maxRetries: 0 }), concurrency: 1, circuitBreakerFailures: 5, onProgress: quiet });
    expect(result).toMatchObject({ pending: 24, interrupted: true, stopKind: 'transient', failed: 5 });
    expect(result.reason).toMatch(/stopped after 5 consecutive failures of one kind \(SPOTIFY_UNAVAILABLE; last: .*HTTP 503.*SPOTIFY_CIRCUIT_BREAKER_FAILURES/);
    expect(double.count('/v1/search')).toBe(5);

    // Failures of different kinds, or separated by successes, never add up to a run.
    double.resetStats();
    const mixed = await lanternsDb();
    let n = 0;
    double.inject({
      fault: { kind: 'answer', status: 400, body: '{"error":{"status":400,"message":"bad"}}' },
      match: { test: (url: string) => url.startsWith('/v1/search') && n++ % 2 === 0 } as unknown as RegExp,
      times: 1000,
    });
    const ok = await enrichArtists({ session: mixed, spotify: custom({ maxRetries: 0 }), concurrency: 1, circuitBreakerFailures: 2, onProgress: quiet, skipAlbums: true });
    expect(ok).toMatchObject({ interrupted: false, stopKind: null, failed: 12, resolved: 12 });
  });

  it('a run of 403s stops the run as a configuration problem (exit 78), not as an outage to wait out', async () => {
    const session = await lanternsDb();
    double.inject({
      fault: { kind: 'answer', status: 403, body: '{"error":{"status":403,"message":"Forbidden"}}' },
      match: '/v1/search',
      times: 1000,
    });
    const result = await enrichArtists({ session, spotify: custom({ maxRetries: 0 }), concurrency: 1, circuitBreakerFailures: 4, onProgress: quiet });
    expect(result).toMatchObject({ interrupted: true, stopKind: 'configuration', failed: 4 });
    expect(result.reason).toMatch(/4 consecutive failures of one kind \(SPOTIFY_HTTP_ERROR 403;.*waiting will not change it.*developer dashboard/);
    expect(double.count('/v1/search')).toBe(4);
    expect(exitCodeFor(new SpotifyCircuitOpenError('SPOTIFY_HTTP_ERROR 403', 4, 'x', 403))).toBe(EXIT.CONFIG);
    expect(exitCodeFor(new SpotifyCircuitOpenError('SPOTIFY_HTTP_ERROR 429', 4, 'x', 429))).toBe(EXIT.TEMPFAIL);
    expect(exitCodeFor(new SpotifyCircuitOpenError('SPOTIFY_UNAVAILABLE', 4, 'x'))).toBe(EXIT.TEMPFAIL);
  });

  it('a malformed album item is left out and counted; the rest of the listing is staged', async () => {
    const session = await datasetDb();
    const daft = double.catalog.artist('daft-punk').id;
    double.inject({
      fault: { kind: 'mangle', edit: (page) => ({ ...page, items: page.items.map((a: any, i: number) => (i === 0 ? { ...a, total_tracks: -1 } : a)) }) },
      match: new RegExp(`/artists/${daft}/albums`),
    });
    const result = await enrichArtists({ session, spotify: client(), onProgress: quiet });
    expect(result).toMatchObject({ interrupted: false, failed: 0, albums: { rejected: 1 } });
    const [row] = await session.all<{ n: number }>(`SELECT count(*) AS n FROM staging.spotify_artist_albums WHERE spotify_id = '${daft}'`);
    expect(row!.n).toBe(11);
  });
});

describe('resolveArtist', () => {
  it('leaves same-name artists unresolved when the known tracks cannot tell them apart', async () => {
    const r = await resolveArtist(
      client(),
      { artist_key: 'nirvana', artist_name: 'Nirvana', track_ids: ['0000000000000000000002'] },
      5,
      {},
    );
    expect(r).toMatchObject({ spotifyId: null, method: 'ambiguous', confidence: 0 });
  });

  it('falls back to the known tracks when search has no result with the dataset spelling', async () => {
    const track = (artists: { id: string; name: string }[]) => ({ id: 't', name: 't', artists }) as never;
    const fake = (searchNames: [string, string][], credits: { id: string; name: string }[]): SpotifyApi =>
      ({
        searchArtists: async () => ({ items: searchNames.map(([id, name]) => ({ id, name })), total: searchNames.length, offset: 0, limit: 10, nextOffset: null }),
        getTracks: async (ids: readonly string[]) => ids.map(() => track(credits)),
      }) as unknown as SpotifyApi;
    const artist = { artist_key: 'beyonce', artist_name: 'Beyonce', track_ids: ['t1', 't2'] };
    // Search only knows a longer spelling, but that artist is the one credited: overlap decides.
    await expect(resolveArtist(fake([['A', 'Beyoncé Knowles']], [{ id: 'A', name: 'Beyoncé Knowles' }]), artist, 5, {})).resolves.toMatchObject({
      spotifyId: 'A',
      method: 'search-track-overlap',
      confidence: 1,
    });
    // Search finds someone else; the credit carries the dataset's spelling.
    await expect(resolveArtist(fake([['X', 'Beyond']], [{ id: 'B', name: 'Beyoncé' }]), artist, 5, {})).resolves.toMatchObject({
      spotifyId: 'B',
      method: 'track-credit',
    });
    await expect(resolveArtist(fake([], []), artist, 5, {})).resolves.toMatchObject({ spotifyId: null, method: 'not-found' });
  });
});
