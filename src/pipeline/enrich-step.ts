/**
 * The pipeline's optional `enrich` step: Spotify enrichment of the staged artists (src/pipeline/enrich.ts)
 * with the client and staging the configuration names. Staging is the embedded DuckDB file, or
 * PostgreSQL when `STAGING_URL` is set (the same tables either way, src/spotify/staging.ts).
 *
 * Without Spotify credentials the step is skipped, not failed: users without a Spotify app (and the
 * Airflow task) still get a complete pipeline; the marts then carry NULL Spotify columns.
 */
import type { Config } from '../config.js';
import { silentLogger, type Logger } from '../log.js';
import { spotifyClientFromConfig } from '../spotify/from-config.js';
import type { DuckDbSession } from '../warehouse/duckdb.js';
import { PostgresSession } from '../warehouse/postgres-session.js';
import { enrichArtists, type EnrichProgress, type EnrichResult } from './enrich.js';

export const ENRICH_SKIPPED_REASON =
  "set SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET (a Spotify app's client credentials, https://developer.spotify.com/dashboard) to enrich artists from the Spotify Web API";

export type EnrichStepReport =
  | { skipped: true; reason: string }
  | ({ skipped: false; staging: string; ms: number } & EnrichResult);

const DAY_MS = 86_400_000;

export async function runEnrichStep(
  config: Config,
  opts: {
    /** The embedded store (used as staging unless STAGING_URL is set). */
    duckdb: DuckDbSession;
    log?: Logger;
    signal?: AbortSignal;
    onProgress?: (p: EnrichProgress) => void;
    /** Only the first N pending artists (most credited first); default all. */
    maxArtists?: number;
  },
): Promise<EnrichStepReport> {
  const log = opts.log ?? silentLogger;
  const spotify = spotifyClientFromConfig(config, log);
  if (!spotify) {
    log.info({ reason: ENRICH_SKIPPED_REASON }, 'enrich skipped: no Spotify credentials');
    return { skipped: true, reason: ENRICH_SKIPPED_REASON };
  }
  const started = Date.now();
  let pg: PostgresSession | null = null;
  try {
    pg = config.stagingUrl ? await PostgresSession.open(config.stagingUrl, { applicationName: 'music-mcp-server enrich' }) : null;
    const result = await enrichArtists({
      session: pg ?? opts.duckdb,
      spotify,
      ttlMs: config.spotify.enrichTtlDays * DAY_MS,
      concurrency: config.spotify.concurrency,
      circuitBreakerFailures: config.spotify.circuitBreakerFailures,
      log,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      ...(opts.maxArtists !== undefined ? { maxArtists: opts.maxArtists } : {}),
    });
    return { skipped: false, staging: pg ? pg.label : `DuckDB ${opts.duckdb.path}`, ms: Date.now() - started, ...result };
  } finally {
    await spotify.close();
    await pg?.close();
  }
}
