/**
 * The live Spotify refresh of one catalog artist, as artist_metadata asks for it while answering: when
 * the stored (enriched) data is missing or older than the TTL, resolve the artist on Spotify if it has
 * no id yet, then fetch the artist object, all within a time bound. Results are kept per client and
 * artist_key while fresher than the TTL. Failures never throw: the outcome says why, and the caller
 * answers from stored data.
 */
import { raceAbort } from '../abort.js';
import { quote } from '../catalog/delimit.js';
import type { Logger } from '../log.js';
import { SpotifyError, deniedToDevelopmentApps, type SpotifyApi, type SpotifyArtist } from './index.js';
import { resolveArtist } from './resolve-artist.js';

/** What a live fetch produced: the artist (null: no Spotify artist matches), or why it failed. */
export type LiveOutcome =
  | { status: 'ok'; artist: SpotifyArtist | null; at: Date; developmentMode: boolean }
  | { status: 'failed'; reason: string }
  | { status: 'skipped'; reason: string | null };

/** The stored side of a catalog artist that decides whether and how to refresh it. */
export interface StoredArtist {
  artist_key: string;
  artist_name: string;
  spotify_id: string | null;
  spotify_fetched_at: string | null;
  /** Known track ids of the artist, asked when several Spotify artists share its name. */
  track_ids: readonly string[];
}

export interface LiveRefreshOptions {
  /** Stored data younger than this is not refreshed; live results are reused for as long. */
  ttlMs: number;
  /** Bound on the whole refresh (search, tracks, artist). */
  timeoutMs: number;
  /** The caller's cancellation (the MCP request's signal). */
  signal: AbortSignal;
  /** Steps as they start (done strictly increases up to total). */
  onProgress?: (done: number, total: number, message: string) => Promise<void>;
  log: Logger;
}

/** Live results per client and artist_key, reused while fresher than the TTL (a client per server process). */
const liveCache = new WeakMap<SpotifyApi, Map<string, { artist: SpotifyArtist | null; at: Date; developmentMode: boolean }>>();
const LIVE_CACHE_MAX = 500;

/** Refresh from the Spotify Web API when the stored data is missing or older than the TTL. */
export async function refreshArtistLive(spotify: SpotifyApi, p: StoredArtist, opts: LiveRefreshOptions): Promise<LiveOutcome> {
  const { ttlMs, timeoutMs, log } = opts;
  const now = Date.now();
  const storedAt = p.spotify_fetched_at ? Date.parse(p.spotify_fetched_at) : NaN;
  if (p.spotify_id && Number.isFinite(storedAt) && now - storedAt <= ttlMs) return { status: 'skipped', reason: 'fresh' };

  let cache = liveCache.get(spotify);
  if (!cache) liveCache.set(spotify, (cache = new Map()));
  const cached = cache.get(p.artist_key);
  if (cached && now - cached.at.getTime() <= ttlMs) return { status: 'ok', ...cached };

  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = AbortSignal.any([deadline, opts.signal]);
  const total = p.spotify_id ? 1 : 2;
  let sent = -1;
  const progress = async (done: number, message: string) => {
    if (!opts.onProgress || done <= sent) return;
    sent = done;
    await opts.onProgress(done, total, message).catch(() => undefined);
  };

  const started = Date.now();
  try {
    const work = (async () => {
      let id = p.spotify_id ?? null;
      if (!id) {
        await progress(0, `searching Spotify for ${quote(p.artist_name)}`);
        const r = await resolveArtist(spotify, { artist_key: p.artist_key, artist_name: p.artist_name, track_ids: p.track_ids }, 5, { signal });
        id = r.spotifyId;
        if (!id) return null;
      }
      await progress(total - 1, `fetching the Spotify artist ${id}`);
      return spotify.getArtist(id, { signal });
    })();
    work.catch(() => undefined); // a late failure after the deadline has nobody to tell
    // The client honours the signal; the race guarantees the bound even if a call ignored it.
    const artist = await raceAbort(work, signal, () =>
      deadline.aborted ? new LiveTimeout(timeoutMs) : new Error('the request was cancelled'),
    );
    // Development mode only on evidence: this artist object lacks every field such apps are denied,
    // and no artist object this client has seen carried any of them.
    const developmentMode = artist !== null && deniedToDevelopmentApps(artist.payload) && spotify.capabilities().mode !== 'extended';
    const result = { artist, at: new Date(), developmentMode };
    if (cache.size >= LIVE_CACHE_MAX) cache.delete(cache.keys().next().value!);
    cache.set(p.artist_key, result);
    await progress(total, artist ? 'done' : 'no Spotify artist matches this name');
    log.debug({ ms: Date.now() - started, found: Boolean(artist) }, 'live Spotify fetch');
    return { status: 'ok', ...result };
  } catch (err) {
    const reason =
      err instanceof LiveTimeout || (deadline.aborted && !opts.signal.aborted)
        ? `the Spotify API did not answer within ${timeoutMs / 1000} s`
        : err instanceof SpotifyError
          ? `the Spotify API failed (${err.code}): ${err.message}`
          : `the live Spotify fetch failed: ${(err as Error)?.message ?? String(err)}`;
    log.warn({ ms: Date.now() - started, reason }, 'live Spotify fetch failed; answering from stored data');
    await progress(total, 'Spotify unavailable; answering from stored data');
    return { status: 'failed', reason };
  }
}

class LiveTimeout extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms} ms`);
  }
}
