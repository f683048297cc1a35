/**
 * Enrichment core: dataset artist names → Spotify ids → artist objects and album listings, staged.
 *
 * 1. resolve: every dataset artist (from `staging.tracks`, keyed like dbt's normalize_name) without a
 *    resolution fresher than the TTL is searched by name. One same-name result → taken. Several (two
 *    "Nirvana"s) or none → a sample of the artist's known track ids is fetched and the Spotify artist
 *    credited on them wins ("overlap"). Each resolution is written as soon as it is made.
 * 2. artists: resolved ids whose staged object is missing or older than the TTL are fetched (batch
 *    `?ids=` or single gets, whichever the app may use) and upserted.
 * 3. albums: staged artists whose album listing is missing or older than the TTL get their albums
 *    listed (paged) and upserted with the listing stamp in one transaction.
 *
 * Resumable: every unit (one resolution, one artist batch, one album listing) is committed on its
 * own and the TTL skips finished units, so a killed or aborted run resumes where it stopped with
 * nothing lost or duplicated (primary keys + upserts). Progress goes to stderr (never stdout).
 *
 * The run stops early (EnrichResult.stopKind) when every further call would fail too: a rate limit or
 * spent quota, refused credentials, an abort, or a circuit breaker after `circuitBreakerFailures`
 * consecutive unit failures of one kind. A unit failure of another kind, or a success, ends the run
 * of failures.
 */
import pLimit from 'p-limit';
import { silentLogger, type Logger } from '../log.js';
import {
  SpotifyAbortedError,
  SpotifyAuthError,
  SpotifyCircuitOpenError,
  SpotifyError,
  SpotifyHttpError,
  SpotifyQuotaExceededError,
  SpotifyRateLimitedError,
} from '../spotify/errors.js';
import type { SpotifyApi } from '../spotify/types.js';
import { resolveArtist } from '../spotify/resolve-artist.js';
import { DBT_PROJECT_DIR } from '../paths.js';
import { projectMacros } from './dbt/macros.js';
import { SpotifyStagingStore } from '../spotify/staging.js';
import type { BindingSqlSession, Dialect, SqlSession } from '../warehouse/port.js';

export interface EnrichOptions {
  session: BindingSqlSession;
  spotify: SpotifyApi;
  /** Skip resolutions, artist objects and album listings fresher than this (default 7 days). */
  ttlMs?: number;
  /** Only the first N pending artists (by credited track count, most first); default all. */
  maxArtists?: number;
  /** Artists resolved / album listings fetched at once (the client's throttle caps the rate). Default 8. */
  concurrency?: number;
  /** Known track ids fetched to tell same-name artists apart (default 5). */
  overlapSample?: number;
  /** Albums listed per artist (default 50). */
  maxAlbumsPerArtist?: number;
  /** Album groups listed (default album,single,compilation). */
  includeGroups?: string;
  /** Skip phase 3. */
  skipAlbums?: boolean;
  /**
   * Stop the run after this many consecutive failed units whose errors are of one kind (same code and
   * status), e.g. an outage that outlasts every retry (default 10; `SPOTIFY_CIRCUIT_BREAKER_FAILURES`).
   */
  circuitBreakerFailures?: number;
  now?: () => Date;
  signal?: AbortSignal;
  log?: Logger;
  /** Progress sink (default: a line on stderr at most once a second and at the end of each phase). */
  onProgress?: (p: EnrichProgress) => void;
}

export type EnrichPhase = 'resolve' | 'artists' | 'albums';

export interface EnrichProgress {
  phase: EnrichPhase;
  done: number;
  total: number;
  /** Units that failed this run (retried by the next run). */
  failed: number;
}

export interface EnrichResult {
  /** Dataset artists considered (after TTL skip and maxArtists). */
  pending: number;
  resolved: number;
  unresolved: number;
  ambiguous: number;
  /** Artist objects written (inserted + updated + unchanged). */
  artists: { inserted: number; updated: number; unchanged: number };
  /** `rejected`: malformed album items left out of their listing. */
  albums: { listings: number; inserted: number; updated: number; unchanged: number; rejected: number };
  /** Units that failed (HTTP errors, bad bodies); they are retried by the next run. */
  failed: number;
  /** The run stopped early (abort signal, quota, rate limit, outage, refused credentials). */
  interrupted: boolean;
  reason: string | null;
  /**
   * Why it stopped: `transient` (rate limit, spent quota, outage: a later rerun resumes),
   * `configuration` (the credentials were refused: fix them first), `aborted` (the signal fired).
   */
  stopKind: EnrichStopKind | null;
}

export type EnrichStopKind = 'transient' | 'configuration' | 'aborted';

interface DatasetArtist {
  artist_key: string;
  artist_name: string;
  track_count: number;
  track_ids: string[];
}

const DAY = 86_400_000;

/**
 * The artist key and the split of a track's credits, as the dbt project compiles them for this dialect
 * (normalize_name and split_artists in dbt/macros/text.sql): the one definition int_track_artists and
 * the enrichment share, so a resolution joins the artist dbt keys the same way.
 */
function artistKeySql(dialect: Dialect): { key: string; split: string } {
  const macros = projectMacros(DBT_PROJECT_DIR, dialect);
  return { key: macros.call('normalize_name', 'credited_name'), split: macros.call('split_artists', 'artist_credits', 'artist_names') };
}

/** Errors after which every further call would fail too: stop the run (it resumes later). */
const isFatal = (err: unknown) =>
  err instanceof SpotifyQuotaExceededError ||
  err instanceof SpotifyRateLimitedError ||
  err instanceof SpotifyAuthError ||
  err instanceof SpotifyAbortedError ||
  !(err instanceof SpotifyError);

/** How a stopped run can go on (see EnrichResult.stopKind). */
export function stopKindOf(err: SpotifyError): EnrichStopKind {
  if (err instanceof SpotifyAbortedError) return 'aborted';
  if (err instanceof SpotifyAuthError && !err.retryable) return 'configuration';
  if (err instanceof SpotifyCircuitOpenError && !err.retryable) return 'configuration';
  return 'transient';
}

/** The kind of a unit's failure, for the circuit breaker: error code, plus the HTTP status when there is one. */
const failureKind = (err: unknown): string =>
  err instanceof SpotifyHttpError ? `${err.code} ${err.status}` : err instanceof SpotifyError ? err.code : (err as Error)?.name ?? 'Error';

/** Progress lines on stderr, at most one a second per phase plus one when a phase ends. */
export function stderrProgress(write: (line: string) => void = (l) => void process.stderr.write(l)): (p: EnrichProgress) => void {
  let last = 0;
  let lastLine = '';
  return (p) => {
    const now = Date.now();
    if (p.done < p.total && now - last < 1000) return;
    const line = `${p.phase} ${p.done}/${p.total} ${p.failed}`;
    if (line === lastLine) return; // a phase's end is reported by its last unit and by the phase
    last = now;
    lastLine = line;
    write(`enrich ${p.phase}: ${p.done}/${p.total}${p.failed ? ` (${p.failed} failed)` : ''}\n`);
  };
}

export async function enrichArtists(options: EnrichOptions): Promise<EnrichResult> {
  const ttlMs = options.ttlMs ?? 7 * DAY;
  const now = options.now ?? (() => new Date());
  const log = (options.log ?? silentLogger).child({ step: 'enrich' });
  const store = new SpotifyStagingStore(options.session);
  await store.ensureSchema();
  const result: EnrichResult = {
    pending: 0, resolved: 0, unresolved: 0, ambiguous: 0,
    artists: { inserted: 0, updated: 0, unchanged: 0 },
    albums: { listings: 0, inserted: 0, updated: 0, unchanged: 0, rejected: 0 },
    failed: 0, interrupted: false, reason: null, stopKind: null,
  };
  const run = new PhaseRunner({
    concurrency: Math.max(1, options.concurrency ?? 8),
    breakAfter: Math.max(1, options.circuitBreakerFailures ?? 10),
    signal: options.signal,
    progress: options.onProgress ?? stderrProgress(),
    log,
    result,
  });
  const phase: Phase = { options, store, run, result, log, now, staleBefore: () => new Date(now().getTime() - ttlMs) };

  await resolveNames(phase);
  if (run.stop === null) await fetchArtists(phase);
  if (run.stop === null && !options.skipAlbums) await fetchAlbumListings(phase);

  if (run.stop !== null) {
    const stop = run.stop;
    result.interrupted = true;
    result.reason = stop instanceof Error ? stop.message : String(stop);
    if (!(stop instanceof SpotifyError)) throw stop;
    result.stopKind = stopKindOf(stop);
    log.warn(
      { reason: result.reason, stopKind: result.stopKind },
      result.stopKind === 'configuration' ? 'enrichment stopped: fix the Spotify settings, then run it again' : 'enrichment stopped early; run it again to resume',
    );
  }
  log.info({ ...result }, 'enrichment finished');
  return result;
}

/** What every enrichment phase works with. */
interface Phase {
  options: EnrichOptions;
  store: SpotifyStagingStore;
  run: PhaseRunner;
  result: EnrichResult;
  log: Logger;
  now: () => Date;
  /** The time before which a stored fetch is stale (now − TTL). */
  staleBefore: () => Date;
}

/**
 * Runs a phase's units with bounded concurrency. A unit's failure is counted and logged (the next run
 * retries it); a fatal error, an abort, or `breakAfter` consecutive failures of one kind set `stop`,
 * after which no unit of any phase starts.
 */
class PhaseRunner {
  stop: unknown = null;
  /** The current run of consecutive failures of one kind (any success ends it). */
  private streak = { kind: '', count: 0 };

  constructor(private readonly o: {
    concurrency: number; breakAfter: number; signal: AbortSignal | undefined;
    progress: (p: EnrichProgress) => void; log: Logger; result: EnrichResult;
  }) {}

  /** The abort signal in the form the Spotify client's calls take. */
  get call(): { signal?: AbortSignal } {
    return this.o.signal ? { signal: this.o.signal } : {};
  }

  async each<T>(phase: EnrichPhase, items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
    const { progress, signal } = this.o;
    const limit = pLimit(this.o.concurrency);
    const counts = { done: 0, failed: 0 };
    progress({ phase, done: 0, total: items.length, failed: 0 });
    await Promise.all(
      items.map((item) =>
        limit(async () => {
          if (this.stop !== null) return;
          if (signal?.aborted) {
            this.stop = new SpotifyAbortedError('enrich', { cause: signal.reason });
            return;
          }
          if (!(await this.unit(phase, counts, () => work(item)))) return;
          counts.done += 1;
          progress({ phase, done: counts.done, total: items.length, failed: counts.failed });
        }),
      ),
    );
    if (this.stop === null) progress({ phase, done: items.length, total: items.length, failed: counts.failed });
  }

  /** One unit; false when it stopped the run (the unit then does not count as done). */
  private async unit(phase: EnrichPhase, counts: { failed: number }, work: () => Promise<void>): Promise<boolean> {
    try {
      await work();
      this.streak = { kind: '', count: 0 };
      return true;
    } catch (err) {
      if (isFatal(err)) {
        this.stop ??= err;
        return false;
      }
      counts.failed += 1;
      this.o.result.failed += 1;
      const message = (err as Error).message;
      this.o.log.warn({ phase, err: message }, 'enrichment unit failed; the next run retries it');
      const kind = failureKind(err);
      this.streak = this.streak.kind === kind ? { kind, count: this.streak.count + 1 } : { kind, count: 1 };
      if (this.streak.count >= this.o.breakAfter) {
        this.stop ??= new SpotifyCircuitOpenError(kind, this.streak.count, message, err instanceof SpotifyHttpError ? err.status : null);
        return false;
      }
      return true;
    }
  }
}

/** Phase 1: resolve each pending dataset artist to a Spotify id (or record why not). */
async function resolveNames({ options, store, run, result, now, staleBefore }: Phase): Promise<void> {
  const sampleSize = Math.max(1, options.overlapSample ?? 5);
  const pending = await pendingArtists(options.session, staleBefore(), options.maxArtists);
  result.pending = pending.length;
  await run.each('resolve', pending, async (artist) => {
    const r = await resolveArtist(options.spotify, artist, sampleSize, run.call);
    await store.upsertResolution({ ...r, resolvedAt: now() });
    if (r.spotifyId) result.resolved += 1;
    else if (r.method === 'ambiguous') result.ambiguous += 1;
    else result.unresolved += 1;
  });
}

/** Phase 2: the artist objects of resolved ids whose stored copy is stale, 50 per request. */
async function fetchArtists({ options, store, run, result, log, now, staleBefore }: Phase): Promise<void> {
  const stale = await store.staleArtists(staleBefore());
  const chunks: (typeof stale)[] = [];
  for (let i = 0; i < stale.length; i += 50) chunks.push(stale.slice(i, i + 50));
  await run.each('artists', chunks, async (chunk) => {
    const got = await options.spotify.getArtists(chunk.map((c) => c.spotify_id), run.call);
    const rows = chunk.flatMap((c, i) => {
      const a = got[i];
      return a ? [{ id: a.id, payload: a.payload, artistKey: c.artist_key }] : [];
    });
    if (rows.length < chunk.length) log.warn({ missing: chunk.length - rows.length }, 'resolved Spotify ids no longer found');
    if (rows.length === 0) return;
    const counts = await store.upsertArtists(rows, now());
    result.artists.inserted += counts.inserted;
    result.artists.updated += counts.updated;
    result.artists.unchanged += counts.unchanged;
  });
}

/** Phase 3: the album listing of each artist whose stored listing is stale. */
async function fetchAlbumListings({ options, store, run, result, now, staleBefore }: Phase): Promise<void> {
  const stale = await store.staleAlbumListings(staleBefore());
  await run.each('albums', stale, async (id) => {
    const page = await options.spotify.getArtistAlbums(id, {
      limit: options.maxAlbumsPerArtist ?? 50,
      include_groups: options.includeGroups ?? 'album,single,compilation',
      ...run.call,
    });
    const counts = await store.upsertArtistAlbums(id, page.items.map((a) => ({ id: a.id, payload: a.payload })), now());
    result.albums.listings += 1;
    result.albums.rejected += page.rejected ?? 0;
    result.albums.inserted += counts.inserted;
    result.albums.updated += counts.updated;
    result.albums.unchanged += counts.unchanged;
  });
}

/** Dataset artists (normalised key, most-credited spelling, known track ids) needing a resolution. */
async function pendingArtists(session: SqlSession, cutoff: Date, maxArtists: number | undefined): Promise<DatasetArtist[]> {
  // The artists as split at ingest (src/pipeline/credits.ts), as int_track_artists reads them.
  const { key, split } = artistKeySql(session.dialect);
  const collect = session.dialect === 'duckdb' ? 'list' : 'array_agg';
  const cutoffSql = `TIMESTAMP '${cutoff.toISOString().replace('T', ' ').replace('Z', '')}'`;
  const rows = await session.all<{ artist_key: string; artist_name: string; track_count: number; track_ids: string[] }>(`
WITH credits AS (
  SELECT DISTINCT track_id, trim(credited_name) AS artist_name, ${key} AS artist_key
  FROM (SELECT track_id, unnest(${split}) AS credited_name FROM staging.tracks WHERE artist_names IS NOT NULL) s
),
spellings AS (
  SELECT artist_key, artist_name,
         row_number() OVER (PARTITION BY artist_key ORDER BY count(*) DESC, artist_name) AS rk
  FROM credits WHERE artist_key IS NOT NULL
  GROUP BY artist_key, artist_name
),
tracks AS (
  SELECT artist_key, count(DISTINCT track_id) AS track_count, ${collect}(DISTINCT track_id) AS track_ids
  FROM credits WHERE artist_key IS NOT NULL
  GROUP BY artist_key
)
SELECT s.artist_key, s.artist_name, t.track_count, t.track_ids
FROM spellings s
JOIN tracks t ON t.artist_key = s.artist_key
LEFT JOIN staging.artist_resolution r ON r.artist_key = s.artist_key
WHERE s.rk = 1 AND (r.artist_key IS NULL OR r.resolved_at < ${cutoffSql})
ORDER BY t.track_count DESC, s.artist_key
${maxArtists !== undefined ? `LIMIT ${Math.max(0, Math.floor(maxArtists))}` : ''}`);
  return rows.map((r) => ({ ...r, track_ids: [...r.track_ids].sort() }));
}
