/**
 * A throttled, validating Spotify Web API client (client-credentials flow) for both extended-quota
 * and development-mode apps: the endpoints, their paging and their fallbacks. The HTTP core (throttle,
 * token, retries, validation) is in retry.ts; payload mapping and capability tracking in mapping.ts.
 *
 * Endpoints removed for development-mode apps (batch `?ids=`, top-tracks) are detected by their
 * 403/404 answer, remembered, and replaced by single gets / a search; fields they no longer return
 * stay null and `capabilities()` reports them unavailable.
 */
import { ConfigError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { SpotifyHttpError, SpotifyResponseError } from './errors.js';
import { Capabilities, toAlbum } from './mapping.js';
import { SpotifyTransport } from './retry.js';
import {
  ArtistAlbumsSchema,
  ArtistSchema,
  describeIssues,
  ManyArtistsSchema,
  ManyTracksSchema,
  SearchArtistsSchema,
  SearchTracksSchema,
  SimplifiedAlbumSchema,
  TrackSchema,
} from './schemas.js';
import {
  SPOTIFY_DEFAULTS,
  type AlbumOptions,
  type CallOptions,
  type EndpointCapability,
  type Page,
  type PageOptions,
  type SpotifyAlbum,
  type SpotifyApi,
  type SpotifyArtist,
  type SpotifyCapabilities,
  type SpotifyClientOptions,
  type SpotifyTrack,
  type TopTracks,
} from './types.js';

/** Spotify's offset limit for search paging. */
const MAX_OFFSET = 1000;
const BATCH = 50;
const DEV_PAGE_SIZE = 10;

export class SpotifyClient implements SpotifyApi {
  private readonly log: Logger;
  private readonly transport: SpotifyTransport;
  private readonly market: string;
  private pageSize: number;
  /** What the answers so far say this app gets. */
  private readonly seen = new Capabilities();

  constructor(options: SpotifyClientOptions) {
    const missing = [
      !options.clientId?.trim() && 'clientId (SPOTIFY_CLIENT_ID)',
      !options.clientSecret?.trim() && 'clientSecret (SPOTIFY_CLIENT_SECRET)',
    ].filter((x): x is string => Boolean(x));
    if (missing.length) throw new ConfigError(`Spotify client needs ${missing.join(' and ')}`, missing);
    this.log = (options.log ?? silentLogger).child({ component: 'spotify' });
    this.transport = new SpotifyTransport(options, this.log);
    this.market = options.market ?? SPOTIFY_DEFAULTS.market;
    this.pageSize = Math.max(1, Math.min(50, options.pageSize ?? SPOTIFY_DEFAULTS.pageSize));
  }

  /** Which endpoints and fields this app gets (learned from answers; `unknown` until tried). */
  capabilities(): SpotifyCapabilities {
    return this.seen.snapshot(this.pageSize);
  }

  /** Tokens obtained so far. */
  get tokenRenewals(): number {
    return this.transport.tokenRenewals;
  }

  async close(): Promise<void> {
    await this.transport.close();
  }

  // ---------------------------------------------------------------- public API

  async searchArtists(name: string, options: PageOptions = {}): Promise<Page<SpotifyArtist>> {
    return this.pagedSearch('artist', name, options, (body) => {
      const page = SearchArtistsSchema.parse(body).artists;
      return { ...page, items: page.items.map((a) => this.seen.toArtist(a)) };
    });
  }

  async searchTracks(q: string, options: PageOptions = {}): Promise<Page<SpotifyTrack>> {
    return this.pagedSearch('track', q, options, (body) => {
      const page = SearchTracksSchema.parse(body).tracks;
      return { ...page, items: page.items.map((t) => this.seen.toTrack(t)) };
    });
  }

  async getArtist(id: string, options: CallOptions = {}): Promise<SpotifyArtist> {
    const body = await this.transport.get('GET /artists/{id}', `/artists/${encodeURIComponent(id)}`, {}, ArtistSchema, options.signal);
    return this.seen.toArtist(body);
  }

  async getArtists(ids: readonly string[], options: CallOptions = {}): Promise<(SpotifyArtist | null)[]> {
    return this.batchOrSingles(
      'GET /artists?ids',
      ids,
      async (chunk) => {
        const body = await this.transport.get('GET /artists', '/artists', { ids: chunk.join(',') }, ManyArtistsSchema, options.signal);
        return body.artists.map((a) => (a ? this.seen.toArtist(a) : null));
      },
      (id) => this.getArtist(id, options),
    );
  }

  async getTrack(id: string, options: CallOptions = {}): Promise<SpotifyTrack> {
    const body = await this.transport.get('GET /tracks/{id}', `/tracks/${encodeURIComponent(id)}`, {}, TrackSchema, options.signal);
    return this.seen.toTrack(body);
  }

  async getTracks(ids: readonly string[], options: CallOptions = {}): Promise<(SpotifyTrack | null)[]> {
    return this.batchOrSingles(
      'GET /tracks?ids',
      ids,
      async (chunk) => {
        const body = await this.transport.get('GET /tracks', '/tracks', { ids: chunk.join(',') }, ManyTracksSchema, options.signal);
        return body.tracks.map((t) => (t ? this.seen.toTrack(t) : null));
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
        this.transport.get(
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
          items.push(toAlbum(album.data));
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
    if (this.seen.endpoint(endpoint) !== 'unavailable') {
      try {
        const body = await this.transport.get(
          endpoint,
          `/artists/${encodeURIComponent(id)}/top-tracks`,
          { market: options.market ?? this.market },
          ManyTracksSchema,
          options.signal,
        );
        this.seen.markAvailable(endpoint);
        return { tracks: body.tracks.filter((t) => t !== null).map((t) => this.seen.toTrack(t)), source: 'top-tracks' };
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
        this.transport.get(
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
        if (this.seen.endpoint(capability) === 'unavailable') return singles(chunk);
        try {
          const out = await batch(chunk);
          this.seen.markAvailable(capability);
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
    if (!this.seen.markRemoved(capability)) return;
    this.log.info({ endpoint: capability, status }, 'spotify endpoint unavailable for this app; using the fallback');
  }
}
