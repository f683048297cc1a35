/**
 * A throttled, validating Spotify Web API client (client-credentials flow) for both extended-quota
 * and development-mode apps.
 *
 * - Every request goes through one Throttle (rate cap in any 1-second window + concurrency cap);
 *   a 429 pauses all of them for its Retry-After; a quota 429 fails fast for its Retry-After.
 * - 5xx, connection resets and timeouts retry with capped exponential backoff and full jitter.
 * - Every 2xx body is validated; a malformed one is a SpotifyResponseError naming the endpoint.
 * - Endpoints removed for development-mode apps (batch `?ids=`, top-tracks) are detected by their
 *   403/404 answer, remembered, and replaced by single gets / a search; fields they no longer
 *   return stay null and `capabilities()` reports them unavailable.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request, type Dispatcher } from 'undici';
import type { z } from 'zod';
import { quote } from '../catalog/delimit.js';
import { ConfigError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { backoffMs, parseRetryAfter, TokenProvider } from './auth.js';
import {
  SpotifyAbortedError,
  SpotifyAuthError,
  SpotifyError,
  SpotifyHttpError,
  SpotifyQuotaExceededError,
  SpotifyRateLimitedError,
  SpotifyResponseError,
  SpotifyUnavailableError,
} from './errors.js';
import {
  ArtistAlbumsSchema,
  ArtistSchema,
  describeIssues,
  ErrorBodySchema,
  spotifyErrorText,
  ManyArtistsSchema,
  ManyTracksSchema,
  SearchArtistsSchema,
  SearchTracksSchema,
  SimplifiedAlbumSchema,
  TrackSchema,
  type AlbumPayload,
  type ArtistPayload,
  type TrackPayload,
} from './schemas.js';
import { Throttle } from './throttle.js';

export { parseRetryAfter };

export const SPOTIFY_DEFAULTS = {
  apiBaseUrl: 'https://api.spotify.com/v1',
  accountsUrl: 'https://accounts.spotify.com/api/token',
  maxRps: 20,
  concurrency: 10,
  timeoutMs: 10_000,
  maxRetries: 4,
  retryBaseMs: 250,
  retryMaxDelayMs: 8_000,
  defaultRetryAfterMs: 1_000,
  maxRetryAfterMs: 60_000,
  pageSize: 10,
  market: 'US',
} as const;

export interface SpotifyClientOptions {
  clientId: string;
  clientSecret: string;
  /** Default https://api.spotify.com/v1 (no trailing slash needed). */
  apiBaseUrl?: string;
  /** Default https://accounts.spotify.com/api/token. */
  accountsUrl?: string;
  /** Requests allowed in any 1-second window (default 20). */
  maxRps?: number;
  /** Requests in flight at once (default 10). */
  concurrency?: number;
  /** Per-attempt timeout, headers and body (default 10 s). */
  timeoutMs?: number;
  /** Retries after a 5xx / reset / timeout, and after a plain 429 (default 4 each). */
  maxRetries?: number;
  /** Backoff base and cap (full jitter). */
  retryBaseMs?: number;
  retryMaxDelayMs?: number;
  /** Pause when a 429 has no Retry-After (default 1 s). */
  defaultRetryAfterMs?: number;
  /** Longest Retry-After we wait out; longer ones fail with SpotifyRateLimitedError (default 60 s). */
  maxRetryAfterMs?: number;
  /**
   * Page size for search and artist albums (default 10, the development-mode maximum). Extended
   * apps may set up to 50; a 400 "Invalid limit" drops it back to 10 for the client's lifetime.
   */
  pageSize?: number;
  /** Market for top tracks (default US). */
  market?: string;
  /** Extra spacing on the 1-second window (default 0: the window already counts from completion). */
  windowMarginMs?: number;
  log?: Logger;
  /** Custom undici dispatcher (default: one keep-alive Agent owned by the client). */
  dispatcher?: Dispatcher;
}

export type Availability = 'available' | 'unavailable' | 'unknown';

export type EndpointCapability = 'GET /artists?ids' | 'GET /tracks?ids' | 'GET /artists/{id}/top-tracks';
export type FieldCapability =
  | 'artist.followers'
  | 'artist.popularity'
  | 'artist.genres'
  | 'track.popularity'
  | 'track.available_markets';

export interface SpotifyCapabilities {
  endpoints: Record<EndpointCapability, Availability>;
  fields: Record<FieldCapability, Availability>;
  /**
   * The app's quota mode, from the artist objects seen: `development` when they came without all of
   * followers, popularity and genres (the fields Spotify denies development-mode apps) and none had
   * any of them; `extended` once one had any; `unknown` before the first artist object.
   */
  mode: 'development' | 'extended' | 'unknown';
  /** Page size in use for search / artist albums. */
  pageSize: number;
}

export interface SpotifyImage {
  url: string;
  width: number | null;
  height: number | null;
}

export interface SpotifyArtistRef {
  id: string;
  name: string;
}

export interface SpotifyArtist {
  id: string;
  name: string;
  uri: string | null;
  url: string | null;
  images: SpotifyImage[];
  /** null: not returned for this app (development mode since 2026), not "no genres". */
  genres: string[] | null;
  /** null: not returned for this app, never 0. */
  followers: number | null;
  popularity: number | null;
  /** The artist object as Spotify sent it (for staging). */
  payload: ArtistPayload;
}

export interface SpotifyAlbum {
  id: string;
  name: string;
  albumType: string;
  albumGroup: string | null;
  releaseDate: string;
  releaseDatePrecision: 'year' | 'month' | 'day';
  totalTracks: number;
  artists: SpotifyArtistRef[];
  images: SpotifyImage[];
  payload: AlbumPayload;
}

export interface SpotifyTrack {
  id: string;
  name: string;
  artists: SpotifyArtistRef[];
  album: { id: string; name: string; releaseDate: string | null } | null;
  durationMs: number;
  explicit: boolean | null;
  popularity: number | null;
  availableMarkets: string[] | null;
  isrc: string | null;
  payload: TrackPayload;
}

export interface Page<T> {
  items: T[];
  total: number;
  offset: number;
  limit: number;
  /** Offset of the next page, null when there is none (or it is past Spotify's offset limit). */
  nextOffset: number | null;
  /** Items left out because they were malformed (artist albums; each one logged with its issues). */
  rejected?: number;
}

export interface TopTracks {
  tracks: SpotifyTrack[];
  /** `top-tracks`: the endpoint; `search`: the development-mode fallback (search `artist:"Name"`). */
  source: 'top-tracks' | 'search';
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface PageOptions extends CallOptions {
  /** Items wanted (paged internally by the page size). Default 10. */
  limit?: number;
  offset?: number;
}

export interface AlbumOptions extends PageOptions {
  /** Comma-separated: album,single,appears_on,compilation. */
  include_groups?: string;
}

/** What the rest of the product depends on (tools get this through deps, tests can fake it). */
export interface SpotifyApi {
  searchArtists(name: string, options?: PageOptions): Promise<Page<SpotifyArtist>>;
  getArtist(id: string, options?: CallOptions): Promise<SpotifyArtist>;
  getArtists(ids: readonly string[], options?: CallOptions): Promise<(SpotifyArtist | null)[]>;
  getArtistAlbums(id: string, options?: AlbumOptions): Promise<Page<SpotifyAlbum>>;
  getArtistTopTracks(id: string, options?: CallOptions & { market?: string }): Promise<TopTracks>;
  searchTracks(q: string, options?: PageOptions): Promise<Page<SpotifyTrack>>;
  getTracks(ids: readonly string[], options?: CallOptions): Promise<(SpotifyTrack | null)[]>;
  capabilities(): SpotifyCapabilities;
}

/** Spotify's offset limit for search paging. */
const MAX_OFFSET = 1000;
const BATCH = 50;
const DEV_PAGE_SIZE = 10;

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

type Query = Record<string, string | number | undefined>;

class AttemptTimeoutError extends Error {
  override readonly name = 'AttemptTimeoutError';
}

export class SpotifyClient implements SpotifyApi {
  private readonly log: Logger;
  private readonly auth: TokenProvider;
  private readonly throttle: Throttle;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly apiBaseUrl: string;
  private readonly o: Required<
    Pick<
      SpotifyClientOptions,
      | 'timeoutMs'
      | 'maxRetries'
      | 'retryBaseMs'
      | 'retryMaxDelayMs'
      | 'defaultRetryAfterMs'
      | 'maxRetryAfterMs'
      | 'market'
    >
  >;
  private pageSize: number;
  /** Artist objects seen without any / with some of the development-mode-denied fields. */
  private readonly artistEvidence = { denied: 0, granted: 0 };
  private quotaBlockedUntil = 0;
  /** Set by a 429 whose Retry-After exceeds maxRetryAfterMs: calls fail fast until then. */
  private rateBlockedUntil = 0;
  private readonly endpointState: Record<EndpointCapability, Availability> = {
    'GET /artists?ids': 'unknown',
    'GET /tracks?ids': 'unknown',
    'GET /artists/{id}/top-tracks': 'unknown',
  };
  private readonly fieldState: Record<FieldCapability, Availability> = {
    'artist.followers': 'unknown',
    'artist.popularity': 'unknown',
    'artist.genres': 'unknown',
    'track.popularity': 'unknown',
    'track.available_markets': 'unknown',
  };

  constructor(options: SpotifyClientOptions) {
    const missing = [
      !options.clientId?.trim() && 'clientId (SPOTIFY_CLIENT_ID)',
      !options.clientSecret?.trim() && 'clientSecret (SPOTIFY_CLIENT_SECRET)',
    ].filter((x): x is string => Boolean(x));
    if (missing.length) throw new ConfigError(`Spotify client needs ${missing.join(' and ')}`, missing);
    const D = SPOTIFY_DEFAULTS;
    this.log = (options.log ?? silentLogger).child({ component: 'spotify' });
    this.apiBaseUrl = (options.apiBaseUrl ?? D.apiBaseUrl).replace(/\/+$/, '');
    const concurrency = options.concurrency ?? D.concurrency;
    this.o = {
      timeoutMs: options.timeoutMs ?? D.timeoutMs,
      maxRetries: options.maxRetries ?? D.maxRetries,
      retryBaseMs: options.retryBaseMs ?? D.retryBaseMs,
      retryMaxDelayMs: options.retryMaxDelayMs ?? D.retryMaxDelayMs,
      defaultRetryAfterMs: options.defaultRetryAfterMs ?? D.defaultRetryAfterMs,
      maxRetryAfterMs: options.maxRetryAfterMs ?? D.maxRetryAfterMs,
      market: options.market ?? D.market,
    };
    this.pageSize = Math.max(1, Math.min(50, options.pageSize ?? D.pageSize));
    this.ownsDispatcher = !options.dispatcher;
    this.dispatcher =
      options.dispatcher ??
      new Agent({ connections: concurrency + 2, keepAliveTimeout: 10_000, connectTimeout: this.o.timeoutMs });
    this.throttle = new Throttle({
      maxRps: options.maxRps ?? D.maxRps,
      concurrency,
      ...(options.windowMarginMs !== undefined ? { marginMs: options.windowMarginMs } : {}),
    });
    this.auth = new TokenProvider({
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      accountsUrl: options.accountsUrl ?? D.accountsUrl,
      dispatcher: this.dispatcher,
      log: this.log,
      timeoutMs: this.o.timeoutMs,
      maxRetries: this.o.maxRetries,
      retryBaseMs: this.o.retryBaseMs,
      retryMaxDelayMs: this.o.retryMaxDelayMs,
      defaultRetryAfterMs: this.o.defaultRetryAfterMs,
      maxRetryAfterMs: this.o.maxRetryAfterMs,
    });
  }

  /** Which endpoints and fields this app gets (learned from answers; `unknown` until tried). */
  capabilities(): SpotifyCapabilities {
    const { denied, granted } = this.artistEvidence;
    const mode = granted > 0 ? 'extended' : denied > 0 ? 'development' : 'unknown';
    return { endpoints: { ...this.endpointState }, fields: { ...this.fieldState }, mode, pageSize: this.pageSize };
  }

  /** Tokens obtained so far. */
  get tokenRenewals(): number {
    return this.auth.renewals;
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  // ---------------------------------------------------------------- public API

  async searchArtists(name: string, options: PageOptions = {}): Promise<Page<SpotifyArtist>> {
    return this.pagedSearch('artist', name, options, (body) => {
      const page = SearchArtistsSchema.parse(body).artists;
      return { ...page, items: page.items.map((a) => this.toArtist(a)) };
    });
  }

  async searchTracks(q: string, options: PageOptions = {}): Promise<Page<SpotifyTrack>> {
    return this.pagedSearch('track', q, options, (body) => {
      const page = SearchTracksSchema.parse(body).tracks;
      return { ...page, items: page.items.map((t) => this.toTrack(t)) };
    });
  }

  async getArtist(id: string, options: CallOptions = {}): Promise<SpotifyArtist> {
    const body = await this.get('GET /artists/{id}', `/artists/${encodeURIComponent(id)}`, {}, ArtistSchema, options.signal);
    return this.toArtist(body);
  }

  async getArtists(ids: readonly string[], options: CallOptions = {}): Promise<(SpotifyArtist | null)[]> {
    return this.batchOrSingles(
      'GET /artists?ids',
      ids,
      async (chunk) => {
        const body = await this.get('GET /artists', '/artists', { ids: chunk.join(',') }, ManyArtistsSchema, options.signal);
        return body.artists.map((a) => (a ? this.toArtist(a) : null));
      },
      (id) => this.getArtist(id, options),
    );
  }

  async getTrack(id: string, options: CallOptions = {}): Promise<SpotifyTrack> {
    const body = await this.get('GET /tracks/{id}', `/tracks/${encodeURIComponent(id)}`, {}, TrackSchema, options.signal);
    return this.toTrack(body);
  }

  async getTracks(ids: readonly string[], options: CallOptions = {}): Promise<(SpotifyTrack | null)[]> {
    return this.batchOrSingles(
      'GET /tracks?ids',
      ids,
      async (chunk) => {
        const body = await this.get('GET /tracks', '/tracks', { ids: chunk.join(',') }, ManyTracksSchema, options.signal);
        return body.tracks.map((t) => (t ? this.toTrack(t) : null));
      },
      (id) => this.getTrack(id, options),
    );
  }

  async getArtistAlbums(id: string, options: AlbumOptions = {}): Promise<Page<SpotifyAlbum>> {
    const wanted = Math.max(1, options.limit ?? DEV_PAGE_SIZE);
    const start = Math.max(0, options.offset ?? 0);
    const items: SpotifyAlbum[] = [];
    let rejected = 0;
    let offset = start;
    let total = 0;
    let nextOffset: number | null = start;
    while (items.length < wanted && nextOffset !== null) {
      const limit = Math.min(this.pageSize, wanted - items.length);
      const page = await this.withPageSizeFallback(() =>
        this.get(
          'GET /artists/{id}/albums',
          `/artists/${encodeURIComponent(id)}/albums`,
          { include_groups: options.include_groups, limit: Math.min(this.pageSize, limit), offset },
          ArtistAlbumsSchema,
          options.signal,
        ),
      );
      total = page.total;
      for (const [i, raw] of page.items.entries()) {
        const album = SimplifiedAlbumSchema.safeParse(raw);
        if (album.success) {
          items.push(this.toAlbum(album.data));
          continue;
        }
        rejected += 1;
        this.log.warn(
          { endpoint: 'GET /artists/{id}/albums', artistId: id, position: offset + i, issues: describeIssues(album.error).slice(0, 3) },
          'spotify album item malformed; left out of the listing',
        );
      }
      offset += page.items.length;
      nextOffset = page.next !== null && page.items.length > 0 && offset < page.total ? offset : null;
    }
    return { items, total, offset: start, limit: wanted, nextOffset, rejected };
  }

  async getArtistTopTracks(id: string, options: CallOptions & { market?: string } = {}): Promise<TopTracks> {
    const endpoint: EndpointCapability = 'GET /artists/{id}/top-tracks';
    let artist: SpotifyArtist | undefined;
    if (this.endpointState[endpoint] !== 'unavailable') {
      try {
        const body = await this.get(
          endpoint,
          `/artists/${encodeURIComponent(id)}/top-tracks`,
          { market: options.market ?? this.o.market },
          ManyTracksSchema,
          options.signal,
        );
        this.endpointState[endpoint] = 'available';
        return { tracks: body.tracks.filter((t) => t !== null).map((t) => this.toTrack(t)), source: 'top-tracks' };
      } catch (err) {
        if (!(err instanceof SpotifyHttpError) || (err.status !== 403 && err.status !== 404)) throw err;
        // A 404 may also mean "no such artist": the fallback's getArtist tells which (and rethrows then).
        if (err.status === 404) artist = await this.getArtist(id, options);
        this.markRemoved(endpoint, err.status);
      }
    }
    artist ??= await this.getArtist(id, options);
    const page = await this.searchTracks(`artist:"${artist.name.replaceAll('"', '')}"`, {
      limit: DEV_PAGE_SIZE,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const tracks = page.items.filter((t) => t.artists.some((a) => a.id === id));
    if (tracks.every((t) => t.popularity !== null)) tracks.sort((a, b) => b.popularity! - a.popularity!);
    return { tracks, source: 'search' };
  }

  // ---------------------------------------------------------------- paging & fallbacks

  private async pagedSearch<T>(
    type: 'artist' | 'track',
    q: string,
    options: PageOptions,
    parse: (body: unknown) => { items: T[]; total: number; next: string | null },
  ): Promise<Page<T>> {
    const wanted = Math.max(1, options.limit ?? DEV_PAGE_SIZE);
    const start = Math.max(0, Math.min(MAX_OFFSET, options.offset ?? 0));
    const items: T[] = [];
    let offset = start;
    let total = 0;
    let nextOffset: number | null = start;
    while (items.length < wanted && nextOffset !== null) {
      const limit = Math.min(this.pageSize, wanted - items.length);
      const body = await this.withPageSizeFallback(() =>
        this.get(
          'GET /search',
          '/search',
          { q, type, limit: Math.min(this.pageSize, limit), offset },
          type === 'artist' ? SearchArtistsSchema : SearchTracksSchema,
          options.signal,
        ),
      );
      const page = parse(body);
      total = page.total;
      items.push(...page.items);
      offset += page.items.length;
      nextOffset = page.next !== null && page.items.length > 0 && offset < total && offset <= MAX_OFFSET ? offset : null;
    }
    return { items, total, offset: start, limit: wanted, nextOffset };
  }

  /** A 400 "Invalid limit" with a page size above 10 means a development-mode app: drop to 10, retry once. */
  private async withPageSizeFallback<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof SpotifyHttpError && err.status === 400 && this.pageSize > DEV_PAGE_SIZE && /limit/i.test(err.apiMessage ?? '')) {
        this.log.info({ from: this.pageSize, to: DEV_PAGE_SIZE }, 'spotify page size too large for this app; using 10');
        this.pageSize = DEV_PAGE_SIZE;
        return fn();
      }
      throw err;
    }
  }

  private async batchOrSingles<T>(
    capability: EndpointCapability,
    ids: readonly string[],
    batch: (chunk: string[]) => Promise<(T | null)[]>,
    single: (id: string) => Promise<T>,
  ): Promise<(T | null)[]> {
    const chunks: string[][] = [];
    for (let i = 0; i < ids.length; i += BATCH) chunks.push(ids.slice(i, i + BATCH));
    const singles = (chunk: string[]) =>
      Promise.all(
        chunk.map((id) =>
          single(id).catch((err: unknown) => {
            if (err instanceof SpotifyHttpError && (err.status === 404 || err.status === 400)) return null;
            throw err;
          }),
        ),
      );
    const results = await Promise.all(
      chunks.map(async (chunk) => {
        if (this.endpointState[capability] === 'unavailable') return singles(chunk);
        try {
          const out = await batch(chunk);
          this.endpointState[capability] = 'available';
          if (out.length !== chunk.length) {
            throw new SpotifyResponseError(capability, [`expected ${chunk.length} entries, got ${out.length}`]);
          }
          return out;
        } catch (err) {
          if (err instanceof SpotifyHttpError && (err.status === 403 || err.status === 404)) {
            this.markRemoved(capability, err.status);
            return singles(chunk);
          }
          throw err;
        }
      }),
    );
    return results.flat();
  }

  private markRemoved(capability: EndpointCapability, status: number): void {
    if (this.endpointState[capability] === 'unavailable') return;
    this.endpointState[capability] = 'unavailable';
    this.log.info({ endpoint: capability, status }, 'spotify endpoint unavailable for this app; using the fallback');
  }

  // ---------------------------------------------------------------- mapping

  private observe(field: FieldCapability, present: boolean): void {
    if (present) this.fieldState[field] = 'available';
    else if (this.fieldState[field] !== 'available') this.fieldState[field] = 'unavailable';
  }

  private toArtist(a: ArtistPayload): SpotifyArtist {
    const followers = typeof a.followers?.total === 'number' ? a.followers.total : null;
    const popularity = typeof a.popularity === 'number' ? a.popularity : null;
    const genres = Array.isArray(a.genres) ? [...a.genres] : null;
    this.observe('artist.followers', followers !== null);
    this.observe('artist.popularity', popularity !== null);
    this.observe('artist.genres', genres !== null);
    if (deniedToDevelopmentApps(a)) this.artistEvidence.denied += 1;
    else this.artistEvidence.granted += 1;
    return {
      id: a.id,
      name: a.name,
      uri: a.uri ?? null,
      url: a.external_urls?.spotify ?? null,
      images: (a.images ?? []).map(toImage),
      genres,
      followers,
      popularity,
      payload: a,
    };
  }

  private toAlbum(a: AlbumPayload): SpotifyAlbum {
    return {
      id: a.id,
      name: a.name,
      albumType: a.album_type,
      albumGroup: a.album_group ?? null,
      releaseDate: a.release_date,
      releaseDatePrecision: a.release_date_precision,
      totalTracks: a.total_tracks,
      artists: a.artists.map((x) => ({ id: x.id, name: x.name })),
      images: (a.images ?? []).map(toImage),
      payload: a,
    };
  }

  private toTrack(t: TrackPayload): SpotifyTrack {
    const popularity = typeof t.popularity === 'number' ? t.popularity : null;
    const markets = Array.isArray(t.available_markets) ? [...t.available_markets] : null;
    this.observe('track.popularity', popularity !== null);
    this.observe('track.available_markets', markets !== null);
    return {
      id: t.id,
      name: t.name,
      artists: t.artists.map((x) => ({ id: x.id, name: x.name })),
      album: t.album ? { id: t.album.id, name: t.album.name, releaseDate: t.album.release_date ?? null } : null,
      durationMs: t.duration_ms,
      explicit: t.explicit ?? null,
      popularity,
      availableMarkets: markets,
      isrc: t.external_ids?.isrc ?? null,
      payload: t,
    };
  }

  // ---------------------------------------------------------------- HTTP core

  /** GET with throttle, token, retries and validation. Throws only SpotifyError subclasses. */
  private async get<S extends z.ZodType>(
    endpoint: string,
    path: string,
    query: Query,
    schema: S,
    signal: AbortSignal | undefined,
  ): Promise<z.infer<S>> {
    const url = new URL(this.apiBaseUrl + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    const href = url.toString();
    let failures = 0;
    let rateLimited = 0;
    let renewed = false;
    for (;;) {
      if (signal?.aborted) throw new SpotifyAbortedError(endpoint, { cause: signal.reason });
      this.checkQuota(endpoint);
      const token = await this.auth.getToken(signal).catch((err: unknown) => {
        throw this.asSpotifyError(endpoint, err, signal);
      });
      const started = performance.now();
      let res: RawResponse;
      try {
        res = await this.throttle.run(() => this.attempt(endpoint, href, token, signal), signal);
      } catch (err) {
        if (signal?.aborted) throw new SpotifyAbortedError(endpoint, { cause: signal.reason });
        if (err instanceof SpotifyError) throw err;
        failures += 1;
        const message = this.auth.scrub((err as Error)?.message ?? String(err));
        if (failures > this.o.maxRetries) {
          throw new SpotifyUnavailableError(endpoint, failures, { cause: new Error(message) });
        }
        this.log.warn({ endpoint, attempt: failures, err: message }, 'spotify request failed; retrying');
        await this.backoff(endpoint, failures, signal);
        continue;
      }
      const ms = Math.round(performance.now() - started);
      const { status } = res;
      this.log.debug({ endpoint, status, ms }, 'spotify response');

      if (status >= 200 && status < 300) return this.validate(endpoint, res.text, schema);

      const said = this.said(res.text);
      if (status === 401 || (status === 400 && /bearer/i.test(said ?? ''))) {
        // 401, or a 400 "Only valid bearer authentication supported": the token is not accepted.
        // Renew it once; a freshly issued token refused too means the app itself is refused.
        if (renewed) {
          throw new SpotifyAuthError(
            `Spotify ${endpoint} refused a freshly issued token (${status}${said ? `: ${quote(said)}` : ''}); check that the Spotify app behind SPOTIFY_CLIENT_ID is active`,
            status,
          );
        }
        renewed = true;
        this.auth.invalidate(token);
        this.log.info({ endpoint, status, said }, 'spotify token not accepted; renewing once');
        continue;
      }

      if (status === 429) {
        const body = parseErrorBody(res.text);
        const retryAfterMs = parseRetryAfter(res.headers['retry-after']) ?? this.o.defaultRetryAfterMs;
        if (body?.error.reason === 'QUOTA_EXCEEDED') {
          this.quotaBlockedUntil = Math.max(this.quotaBlockedUntil, performance.now() + retryAfterMs);
          this.log.error({ endpoint, retryAfterMs }, 'spotify quota exceeded; failing fast until it resets');
          throw new SpotifyQuotaExceededError(endpoint, retryAfterMs);
        }
        rateLimited += 1;
        if (retryAfterMs > this.o.maxRetryAfterMs) {
          // Too long to hold callers: fail fast (every call) until Spotify lets us back in.
          this.rateBlockedUntil = Math.max(this.rateBlockedUntil, performance.now() + retryAfterMs);
          this.log.error({ endpoint, retryAfterMs }, 'spotify asked for a pause longer than maxRetryAfterMs; failing fast');
          throw new SpotifyRateLimitedError(endpoint, retryAfterMs);
        }
        this.throttle.pauseFor(retryAfterMs);
        if (rateLimited > this.o.maxRetries) throw new SpotifyRateLimitedError(endpoint, retryAfterMs);
        this.log.warn({ endpoint, retryAfterMs }, 'spotify rate limited (429); pausing all requests');
        continue;
      }

      if (status >= 500) {
        failures += 1;
        if (failures > this.o.maxRetries) {
          throw new SpotifyUnavailableError(endpoint, failures, { cause: new Error(`HTTP ${status}${said ? `: ${quote(said)}` : ''}`) });
        }
        this.log.warn({ endpoint, status, attempt: failures, said }, 'spotify server error; retrying');
        await this.backoff(endpoint, failures, signal);
        continue;
      }

      throw new SpotifyHttpError(endpoint, status, said);
    }
  }

  /** What an error answer said, secrets removed, bounded (null when it said nothing). */
  private said(text: string): string | null {
    const t = spotifyErrorText(text);
    return t ? this.auth.scrub(t).slice(0, 200) : null;
  }

  /** One HTTP exchange: checks the quota block at send time, times out, reads the whole body. */
  private async attempt(endpoint: string, href: string, token: string, signal: AbortSignal | undefined): Promise<RawResponse> {
    this.checkQuota(endpoint);
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(new AttemptTimeoutError(`no complete answer within ${this.o.timeoutMs} ms`)),
      this.o.timeoutMs,
    );
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const res = await request(href, {
        method: 'GET',
        dispatcher: this.dispatcher,
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
        signal: controller.signal,
      });
      const text = await res.body.text();
      return { status: res.statusCode, headers: res.headers, text };
    } catch (err) {
      if (controller.signal.reason instanceof AttemptTimeoutError && !signal?.aborted) throw controller.signal.reason;
      throw err;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  private validate<S extends z.ZodType>(endpoint: string, text: string, schema: S): z.infer<S> {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (cause) {
      this.log.warn({ endpoint }, 'spotify answered a body that is not JSON');
      throw new SpotifyResponseError(endpoint, ['body is not valid JSON'], { cause });
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const issues = describeIssues(parsed.error);
      this.log.warn({ endpoint, issues: issues.slice(0, 5) }, 'spotify answered an unexpected shape');
      throw new SpotifyResponseError(endpoint, issues);
    }
    return parsed.data;
  }

  private checkQuota(endpoint: string): void {
    const now = performance.now();
    const left = this.quotaBlockedUntil - now;
    if (left > 0) throw new SpotifyQuotaExceededError(endpoint, Math.ceil(left));
    const blocked = this.rateBlockedUntil - now;
    if (blocked > 0) throw new SpotifyRateLimitedError(endpoint, Math.ceil(blocked));
  }

  private async backoff(endpoint: string, attempt: number, signal: AbortSignal | undefined): Promise<void> {
    const ms = backoffMs(attempt, this.o.retryBaseMs, this.o.retryMaxDelayMs);
    try {
      await sleep(ms, undefined, signal ? { signal } : undefined);
    } catch {
      throw new SpotifyAbortedError(endpoint, { cause: signal?.reason });
    }
  }

  private asSpotifyError(endpoint: string, err: unknown, signal: AbortSignal | undefined): SpotifyError {
    if (err instanceof SpotifyError) return err;
    if (signal?.aborted) return new SpotifyAbortedError(endpoint, { cause: signal.reason });
    return new SpotifyUnavailableError(endpoint, 1, { cause: new Error(this.auth.scrub(String((err as Error)?.message ?? err))) });
  }
}

/**
 * True when an artist object lacks every field Spotify denies development-mode apps (followers,
 * popularity, genres: absent, not null or empty). One absent field alone is not that evidence.
 */
export function deniedToDevelopmentApps(a: ArtistPayload): boolean {
  return a.followers === undefined && a.popularity === undefined && a.genres === undefined;
}

function toImage(i: { url: string; width?: number | null | undefined; height?: number | null | undefined }): SpotifyImage {
  return { url: i.url, width: i.width ?? null, height: i.height ?? null };
}

function parseErrorBody(text: string): z.infer<typeof ErrorBodySchema> | null {
  try {
    const parsed = ErrorBodySchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
