/** The Spotify client's public shapes: options and defaults, mapped objects, capabilities, the port. */
import type { Dispatcher } from 'undici';
import type { Logger } from '../log.js';
import type { AlbumPayload, ArtistPayload, TrackPayload } from './schemas.js';

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
