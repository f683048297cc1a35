/**
 * A loopback double of the Spotify Web API and accounts service (node:http on 127.0.0.1, ephemeral
 * port). It speaks the real paths and JSON shapes (../shared/reference/spotify-openapi.yml): the
 * client-credentials token endpoint, Bearer checks, ErrorObject bodies, search paging, artist,
 * several-artists, artist albums, top tracks, track and several-tracks; over a small fixture catalog.
 *
 * Switches: `mode` ('extended' | 'development': batch `?ids=` and top-tracks answer like removed
 * endpoints, artist followers/popularity/genres and track popularity/available_markets are absent,
 * search/album limit above 10 → 400 "Invalid limit"), one-shot or repeated faults (`inject`: 429s, 5xx,
 * resets, slow or malformed bodies, raw answers of any shape, edited bodies) and a
 * seeded random fault `storm`. Every request is recorded with its arrival time so tests can measure
 * requests per any 1-second window.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { prng } from '../../scripts/lib/prng.js';

export type DoubleMode = 'extended' | 'development';

export type Fault =
  /** 429 with `Retry-After: retryAfterS` (omitted when null; default 1) — `quota` adds reason QUOTA_EXCEEDED. */
  | { kind: 'rate-limit'; retryAfterS?: number | null; quota?: boolean }
  /** An error status with an ErrorObject body (500, 502, 503, ...). */
  | { kind: 'status'; status: number }
  /** Destroy the socket without answering (connection reset). */
  | { kind: 'reset' }
  /** Answer normally, but only after `ms`. */
  | { kind: 'slow'; ms: number }
  /** 200 with a truncated JSON body. */
  | { kind: 'malformed' }
  /** 200 with valid JSON of the wrong shape. */
  | { kind: 'wrong-shape' }
  /** 401 "The access token expired", whatever the token. */
  | { kind: 'unauthorized' }
  /** A raw answer: any status, body and headers (error shapes, gateway pages, odd 400s). */
  | { kind: 'answer'; status: number; body: string; headers?: Record<string, string> }
  /** Answer normally (API paths), with the JSON body passed through `edit` first (one bad item, a missing field). */
  | { kind: 'mangle'; edit: (body: any) => unknown };

export interface FaultRule {
  fault: Fault;
  /** Pathname prefix (e.g. '/v1/search', '/api/token') or a RegExp tested on path+query. Default: any API path. */
  match?: string | RegExp;
  /** How many matching requests get the fault (default 1). */
  times?: number;
}

export interface StormOptions {
  /** Probability that an API request gets a fault. */
  rate: number;
  faults: Fault[];
  seed?: number;
}

export interface RequestRecord {
  method: string;
  /** Path with query, as received. */
  url: string;
  pathname: string;
  /** performance.now() at arrival. */
  at: number;
  status: number | null;
  fault: Fault['kind'] | null;
}

export interface SpotifyDoubleOptions {
  mode?: DoubleMode;
  /** Status removed endpoints answer in development mode (default 403, as the 2026 cuts do). */
  removedStatus?: 403 | 404;
  clientId?: string;
  clientSecret?: string;
  /** expires_in of issued tokens, seconds (default 3600). */
  tokenExpiresIn?: number;
  /** Delay before every answer (simulated round trip). */
  latencyMs?: number;
}

// ------------------------------------------------------------------ catalog

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** A deterministic, real-looking 22-character base62 Spotify id. */
export function fakeSpotifyId(seed: string): string {
  let n = BigInt('0x' + createHash('sha256').update(seed).digest('hex'));
  let out = '';
  for (let i = 0; i < 22; i++) {
    out += BASE62[Number(n % 62n)];
    n /= 62n;
  }
  return out;
}

const isSpotifyId = (s: string) => /^[0-9A-Za-z]{22}$/.test(s);

export interface CatalogArtist {
  key: string;
  id: string;
  name: string;
  genres: string[];
  followers: number;
  popularity: number;
}

export interface CatalogAlbum {
  id: string;
  name: string;
  albumType: 'album' | 'single' | 'compilation';
  releaseDate: string;
  precision: 'year' | 'month' | 'day';
  artistIds: string[];
  trackIds: string[];
}

export interface CatalogTrack {
  id: string;
  name: string;
  albumId: string;
  artistIds: string[];
  durationMs: number;
  popularity: number;
  explicit: boolean;
  isrc: string;
  trackNumber: number;
}

interface AlbumSpec {
  name: string;
  date: string;
  type?: 'album' | 'single' | 'compilation';
  tracks: (string | { name: string; feat: string[] })[];
}

interface ArtistSpec {
  key: string;
  name: string;
  genres: string[];
  followers: number;
  popularity: number;
  albums: AlbumSpec[];
}

const SPEC: ArtistSpec[] = [
  {
    key: 'nirvana-us', name: 'Nirvana', genres: ['grunge', 'rock'], followers: 21_400_000, popularity: 82,
    albums: [
      { name: 'Nevermind', date: '1991-09-24', tracks: ['Smells Like Teen Spirit', 'Come As You Are', 'Lithium'] },
      { name: 'In Utero', date: '1993-09-21', tracks: ['Heart-Shaped Box', 'All Apologies'] },
    ],
  },
  {
    key: 'nirvana-uk', name: 'Nirvana', genres: ['psychedelic pop', 'baroque pop'], followers: 41_200, popularity: 27,
    albums: [
      { name: 'The Story of Simon Simopath', date: '1968', tracks: ['Pentecost Hotel', 'Wings of Love'] },
      { name: 'All of Us', date: '1968', tracks: ['Rainbow Chaser', 'Tiny Goddess'] },
    ],
  },
  { key: 'jay-z', name: 'JAY-Z', genres: ['hip hop', 'rap'], followers: 10_900_000, popularity: 79, albums: [{ name: 'The Blueprint', date: '2001-09-11', tracks: ['Izzo (H.O.V.A.)'] }] },
  {
    key: 'beyonce', name: 'Beyoncé', genres: ['pop', 'r&b'], followers: 38_100_000, popularity: 88,
    albums: [
      { name: 'Dangerously in Love', date: '2003-06-20', tracks: [{ name: 'Crazy in Love', feat: ['jay-z'] }, 'Baby Boy'] },
      { name: 'Lemonade', date: '2016-04-23', tracks: ['Formation', 'Hold Up'] },
    ],
  },
  {
    key: 'daft-punk', name: 'Daft Punk', genres: ['electro', 'filter house'], followers: 9_800_000, popularity: 77,
    albums: [
      { name: 'Homework', date: '1997-01-17', tracks: ['Around the World', 'Da Funk'] },
      { name: 'Discovery', date: '2001-03-12', tracks: ['One More Time', 'Digital Love', 'Harder, Better, Faster, Stronger'] },
      { name: 'Alive 1997', date: '2001-10-01', tracks: ['Alive 1997'] },
      { name: 'Human After All', date: '2005-03-14', tracks: ['Robot Rock', 'Technologic'] },
      { name: 'Alive 2007', date: '2007-11-19', tracks: ['Television Rules the Nation / Crescendolls'] },
      { name: 'TRON: Legacy', date: '2010-12-03', type: 'compilation', tracks: ['Derezzed', 'End of Line'] },
      { name: 'Random Access Memories', date: '2013-05-17', tracks: ['Get Lucky', 'Instant Crush', 'Lose Yourself to Dance'] },
      { name: 'Da Funk', date: '1995', type: 'single', tracks: ['Da Funk - Radio Edit'] },
      { name: 'Around the World', date: '1997-03-17', type: 'single', tracks: ['Around the World - Radio Edit'] },
      { name: 'One More Time', date: '2000-11-13', type: 'single', tracks: ['One More Time - Short Radio Edit'] },
      { name: 'Get Lucky', date: '2013-04-19', type: 'single', tracks: ['Get Lucky - Radio Edit'] },
      { name: 'Lose Yourself to Dance', date: '2013-08-12', type: 'single', tracks: ['Lose Yourself to Dance - Edit'] },
    ],
  },
  { key: 'bush', name: 'Bush', genres: ['post-grunge'], followers: 1_200_000, popularity: 61, albums: [{ name: 'Sixteen Stone', date: '1994-12-06', tracks: ['Glycerine', 'Machinehead', 'Comedown'] }] },
  { key: 'kate-bush', name: 'Kate Bush', genres: ['art pop'], followers: 3_300_000, popularity: 74, albums: [{ name: 'Hounds of Love', date: '1985-09-16', tracks: ['Running Up That Hill (A Deal With God)', 'Cloudbusting'] }] },
  // 24 artists that all match the search "Lantern" (paging beyond one development-mode page).
  ...Array.from({ length: 24 }, (_, i): ArtistSpec => {
    const n = String(i + 1).padStart(2, '0');
    return {
      key: `lantern-${n}`, name: `Paper Lantern ${n}`, genres: ['indie'], followers: 1000 + i, popularity: 10 + i,
      albums: [{ name: `Lantern Songs ${n}`, date: '2020-01-01', tracks: [`Glow ${n}`] }],
    };
  }),
];

/** The fixture catalog: artists, albums and tracks with real-looking ids. */
export class Catalog {
  readonly artists = new Map<string, CatalogArtist>();
  readonly albums = new Map<string, CatalogAlbum>();
  readonly tracks = new Map<string, CatalogTrack>();
  private readonly byKey = new Map<string, CatalogArtist>();

  constructor() {
    for (const a of SPEC) {
      const artist: CatalogArtist = {
        key: a.key, id: fakeSpotifyId(`artist:${a.key}`), name: a.name, genres: a.genres,
        followers: a.followers, popularity: a.popularity,
      };
      this.artists.set(artist.id, artist);
      this.byKey.set(a.key, artist);
    }
    for (const a of SPEC) {
      const artist = this.byKey.get(a.key)!;
      for (const al of a.albums) {
        const album: CatalogAlbum = {
          id: fakeSpotifyId(`album:${a.key}:${al.name}`), name: al.name, albumType: al.type ?? 'album',
          releaseDate: al.date, precision: al.date.length === 4 ? 'year' : al.date.length === 7 ? 'month' : 'day',
          artistIds: [artist.id], trackIds: [],
        };
        al.tracks.forEach((t, i) => {
          const name = typeof t === 'string' ? t : t.name;
          const feat = typeof t === 'string' ? [] : t.feat.map((k) => this.byKey.get(k)!.id);
          const seed = `track:${a.key}:${al.name}:${name}`;
          const h = createHash('sha256').update(seed).digest();
          const track: CatalogTrack = {
            id: fakeSpotifyId(seed), name, albumId: album.id, artistIds: [artist.id, ...feat],
            durationMs: 150_000 + (h.readUInt32BE(0) % 150_000), popularity: Math.max(0, artist.popularity - (h[4]! % 25)),
            explicit: h[5]! % 7 === 0, isrc: `USXX${String(h.readUInt32BE(6) % 10_000_000).padStart(7, '0')}`.slice(0, 12),
            trackNumber: i + 1,
          };
          this.tracks.set(track.id, track);
          album.trackIds.push(track.id);
        });
        this.albums.set(album.id, album);
      }
    }
  }

  /** The artist with fixture key `key` (e.g. 'nirvana-us'). */
  artist(key: string): CatalogArtist {
    const a = this.byKey.get(key);
    if (!a) throw new Error(`no fixture artist ${key}`);
    return a;
  }

  /** Tracks credited to the artist (any position). */
  tracksOf(artistId: string): CatalogTrack[] {
    return [...this.tracks.values()].filter((t) => t.artistIds.includes(artistId));
  }

  albumsOf(artistId: string): CatalogAlbum[] {
    return [...this.albums.values()].filter((a) => a.artistIds.includes(artistId));
  }
}

// ------------------------------------------------------------------ server

export interface SpotifyDouble {
  readonly origin: string;
  /** `${origin}/v1`: pass as the client's apiBaseUrl. */
  readonly apiBaseUrl: string;
  /** `${origin}/api/token`: pass as the client's accountsUrl. */
  readonly accountsUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly catalog: Catalog;
  mode: DoubleMode;
  removedStatus: 403 | 404;
  tokenExpiresIn: number;
  latencyMs: number;
  /** Random faults on API requests (null: none). */
  storm: StormOptions | null;
  /** Every request received, in arrival order. */
  readonly requests: RequestRecord[];
  /** Every access token issued (so tests can check none leaks into logs). */
  readonly issuedTokens: string[];
  /** Queue a fault for the next matching request(s). */
  inject(rule: FaultRule): void;
  /** Requests whose pathname starts with `prefix` (e.g. '/v1/artists', '/api/token'). */
  count(prefix: string): number;
  /** Requests per pathname. */
  countsByPath(): Record<string, number>;
  /** The most requests that arrived within any window of `windowMs` (API requests only by default). */
  maxInWindow(windowMs?: number, filter?: (r: RequestRecord) => boolean): number;
  /** Revoke every issued token (the next API call with one gets 401). */
  revokeTokens(): void;
  /** Forget recorded requests and pending faults. */
  resetStats(): void;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}


const fold = (s: string) => s.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase().replace(/\s+/g, ' ').trim();

export async function startSpotifyDouble(options: SpotifyDoubleOptions = {}): Promise<SpotifyDouble> {
  const catalog = new Catalog();
  const clientId = options.clientId ?? 'double-client-id-0123456789abcdef';
  const clientSecret = options.clientSecret ?? 's3cr3t-double-client-secret-value';
  const tokens = new Map<string, number>(); // token -> expiry (Date.now ms)
  const rules: (FaultRule & { left: number })[] = [];
  const requests: RequestRecord[] = [];
  const issuedTokens: string[] = [];
  const sockets = new Set<Socket>();
  let rng = prng(1);
  let stormRef: StormOptions | null = null;

  const state = {
    mode: options.mode ?? 'extended',
    removedStatus: options.removedStatus ?? 403,
    tokenExpiresIn: options.tokenExpiresIn ?? 3600,
    latencyMs: options.latencyMs ?? 0,
  } as { mode: DoubleMode; removedStatus: 403 | 404; tokenExpiresIn: number; latencyMs: number };

  let origin = '';
  const api = () => `${origin}/v1`;

  // ---- JSON renderers (shapes from the OpenAPI file)
  const dev = () => state.mode === 'development';
  const simpleArtist = (id: string) => {
    const a = catalog.artists.get(id)!;
    return {
      external_urls: { spotify: `https://open.spotify.com/artist/${a.id}` },
      href: `${api()}/artists/${a.id}`, id: a.id, name: a.name, type: 'artist', uri: `spotify:artist:${a.id}`,
    };
  };
  const images = (seed: string) => [640, 320, 160].map((px) => ({ url: `https://i.scdn.co/image/${fakeSpotifyId(seed + px)}`, height: px, width: px }));
  const artistObject = (a: CatalogArtist) => ({
    ...simpleArtist(a.id),
    images: images(a.id),
    ...(dev() ? {} : { followers: { href: null, total: a.followers }, genres: a.genres, popularity: a.popularity }),
  });
  const simpleAlbum = (al: CatalogAlbum, group?: string) => ({
    album_type: al.albumType, total_tracks: al.trackIds.length, available_markets: dev() ? [] : ['US', 'GB', 'DE', 'FR'],
    external_urls: { spotify: `https://open.spotify.com/album/${al.id}` }, href: `${api()}/albums/${al.id}`, id: al.id,
    images: images(al.id), name: al.name, release_date: al.releaseDate, release_date_precision: al.precision,
    type: 'album', uri: `spotify:album:${al.id}`, artists: al.artistIds.map(simpleArtist),
    ...(group ? { album_group: group } : {}),
  });
  const trackObject = (t: CatalogTrack) => ({
    album: simpleAlbum(catalog.albums.get(t.albumId)!), artists: t.artistIds.map(simpleArtist),
    ...(dev() ? {} : { available_markets: ['US', 'GB', 'DE', 'FR'], popularity: t.popularity }),
    disc_number: 1, duration_ms: t.durationMs, explicit: t.explicit, external_ids: { isrc: t.isrc },
    external_urls: { spotify: `https://open.spotify.com/track/${t.id}` }, href: `${api()}/tracks/${t.id}`, id: t.id,
    is_local: false, is_playable: true, name: t.name, preview_url: null, track_number: t.trackNumber, type: 'track',
    uri: `spotify:track:${t.id}`,
  });

  const paging = <T>(url: URL, all: T[], limit: number, offset: number) => {
    const items = all.slice(offset, offset + limit);
    const link = (o: number) => {
      const u = new URL(url.toString(), origin);
      u.searchParams.set('offset', String(o));
      u.searchParams.set('limit', String(limit));
      return `${origin}${u.pathname}${u.search}`;
    };
    return {
      href: `${origin}${url.pathname}${url.search}`, items, limit, offset, total: all.length,
      next: offset + limit < all.length ? link(offset + limit) : null,
      previous: offset > 0 ? link(Math.max(0, offset - limit)) : null,
    };
  };

  const intParam = (url: URL, name: string, fallback: number, max: number, min = 0) => {
    const raw = url.searchParams.get(name);
    if (raw === null) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new HttpError(400, `Invalid ${name}`);
    return n;
  };
  const pageLimit = (url: URL) => intParam(url, 'limit', 5, dev() ? 10 : 50, 1);
  const removed = () => new HttpError(state.removedStatus, state.removedStatus === 403 ? 'Forbidden' : 'Not found.');
  const needId = (id: string, what: string) => {
    if (!isSpotifyId(id)) throw new HttpError(400, 'invalid id');
    return what;
  };
  const idsParam = (url: URL) => {
    const raw = url.searchParams.get('ids');
    if (!raw) throw new HttpError(400, 'invalid request: missing ids');
    const ids = raw.split(',');
    if (ids.length > 50) throw new HttpError(400, 'Too many ids requested');
    return ids;
  };

  // ---- routes
  const route = (url: URL): unknown => {
    const p = url.pathname;
    let m: RegExpMatchArray | null;
    if (p === '/v1/search') {
      const q = url.searchParams.get('q');
      if (!q) throw new HttpError(400, 'No search query');
      const types = (url.searchParams.get('type') ?? '').split(',').filter(Boolean);
      if (!types.length) throw new HttpError(400, 'Missing parameter type');
      const limit = pageLimit(url);
      const offset = intParam(url, 'offset', 0, 1000);
      const { artist, track, text } = parseQuery(q);
      const out: Record<string, unknown> = {};
      if (types.includes('artist')) {
        const needle = fold([artist, text].filter(Boolean).join(' '));
        const hits = [...catalog.artists.values()]
          .filter((a) => fold(a.name).includes(needle))
          .sort((a, b) => Number(fold(b.name) === needle) - Number(fold(a.name) === needle) || b.popularity - a.popularity);
        out.artists = paging(url, hits.map(artistObject), limit, offset);
      }
      if (types.includes('track')) {
        const hits = [...catalog.tracks.values()]
          .filter((t) => {
            const names = t.artistIds.map((id) => fold(catalog.artists.get(id)!.name));
            if (artist && !names.some((n) => n === fold(artist))) return false;
            if (track && !fold(t.name).includes(fold(track))) return false;
            if (text && !fold(t.name).includes(fold(text)) && !names.some((n) => n.includes(fold(text)))) return false;
            return true;
          })
          .sort((a, b) => b.popularity - a.popularity);
        out.tracks = paging(url, hits.map(trackObject), limit, offset);
      }
      return out;
    }
    if (p === '/v1/artists') {
      if (dev()) throw removed();
      return { artists: idsParam(url).map((id) => { const a = catalog.artists.get(id); return a ? artistObject(a) : null; }) };
    }
    if (p === '/v1/tracks') {
      if (dev()) throw removed();
      return { tracks: idsParam(url).map((id) => { const t = catalog.tracks.get(id); return t ? trackObject(t) : null; }) };
    }
    if ((m = p.match(/^\/v1\/artists\/([^/]+)$/))) {
      const id = decodeURIComponent(m[1]!);
      needId(id, 'artist');
      const a = catalog.artists.get(id);
      if (!a) throw new HttpError(404, 'Resource not found');
      return artistObject(a);
    }
    if ((m = p.match(/^\/v1\/artists\/([^/]+)\/top-tracks$/))) {
      if (dev()) throw removed();
      const id = decodeURIComponent(m[1]!);
      needId(id, 'artist');
      if (!catalog.artists.has(id)) throw new HttpError(404, 'Resource not found');
      const tracks = catalog.tracksOf(id).sort((a, b) => b.popularity - a.popularity).slice(0, 10);
      return { tracks: tracks.map(trackObject) };
    }
    if ((m = p.match(/^\/v1\/artists\/([^/]+)\/albums$/))) {
      const id = decodeURIComponent(m[1]!);
      needId(id, 'artist');
      if (!catalog.artists.has(id)) throw new HttpError(404, 'Resource not found');
      const limit = pageLimit(url);
      const offset = intParam(url, 'offset', 0, 10_000);
      const groups = (url.searchParams.get('include_groups') ?? 'album,single,compilation,appears_on').split(',');
      const albums = catalog
        .albumsOf(id)
        .filter((al) => groups.includes(al.albumType))
        .sort((a, b) => b.releaseDate.localeCompare(a.releaseDate) || a.name.localeCompare(b.name));
      return paging(url, albums.map((al) => simpleAlbum(al, al.albumType)), limit, offset);
    }
    if ((m = p.match(/^\/v1\/tracks\/([^/]+)$/))) {
      const id = decodeURIComponent(m[1]!);
      needId(id, 'track');
      const t = catalog.tracks.get(id);
      if (!t) throw new HttpError(404, 'Resource not found');
      return trackObject(t);
    }
    throw new HttpError(404, 'Service not found');
  };

  // ---- faults
  const pickFault = (req: IncomingMessage, url: URL, isApi: boolean): Fault | null => {
    for (const r of rules) {
      if (r.left <= 0) continue;
      const hit =
        r.match === undefined ? isApi
        : typeof r.match === 'string' ? url.pathname.startsWith(r.match)
        : r.match.test(`${url.pathname}${url.search}`);
      if (hit) {
        r.left -= 1;
        return r.fault;
      }
    }
    if (isApi && stormRef && stormRef.faults.length && rng() < stormRef.rate) {
      return stormRef.faults[Math.floor(rng() * stormRef.faults.length)]!;
    }
    void req;
    return null;
  };

  const send = (res: ServerResponse, rec: RequestRecord, status: number, body: string, headers: Record<string, string> = {}) => {
    rec.status = status;
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(body);
  };
  const sendError = (res: ServerResponse, rec: RequestRecord, status: number, message: string, extra: Record<string, string> = {}, headers: Record<string, string> = {}) =>
    send(res, rec, status, JSON.stringify({ error: { status, message, ...extra } }), headers);

  const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://double.invalid');
    const rec: RequestRecord = { method: req.method ?? 'GET', url: req.url ?? '', pathname: url.pathname, at: performance.now(), status: null, fault: null };
    requests.push(rec);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const isToken = url.pathname === '/api/token';
    const isApi = url.pathname.startsWith('/v1/');
    const fault = pickFault(req, url, isApi);
    rec.fault = fault?.kind ?? null;
    if (state.latencyMs > 0) await delay(state.latencyMs);
    if (fault) {
      switch (fault.kind) {
        case 'reset':
          req.socket.destroy();
          return;
        case 'slow':
          await delay(fault.ms);
          break;
        case 'rate-limit': {
          const retry = fault.retryAfterS === undefined ? 1 : fault.retryAfterS;
          return sendError(res, rec, 429, fault.quota ? 'Too many requests' : 'API rate limit exceeded',
            fault.quota ? { reason: 'QUOTA_EXCEEDED' } : {}, retry === null ? {} : { 'retry-after': String(retry) });
        }
        case 'status':
          return sendError(res, rec, fault.status, fault.status === 503 ? 'Service unavailable' : 'Server error');
        case 'malformed':
          return send(res, rec, 200, '{"artists": {"items": [{"id": "abc", "na');
        case 'wrong-shape':
          return send(res, rec, 200, JSON.stringify({ unexpected: true, items: 'not-a-list' }));
        case 'unauthorized':
          return sendError(res, rec, 401, 'The access token expired');
        case 'answer':
          return send(res, rec, fault.status, fault.body, fault.headers);
        case 'mangle':
          break;
      }
    }

    if (isToken) {
      if (req.method !== 'POST') return sendError(res, rec, 405, 'Method not allowed');
      const auth = req.headers.authorization ?? '';
      const basic = auth.startsWith('Basic ') ? Buffer.from(auth.slice(6), 'base64').toString('utf8') : '';
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      if (basic !== `${clientId}:${clientSecret}`) {
        return send(res, rec, 400, JSON.stringify({ error: 'invalid_client', error_description: 'Invalid client secret' }));
      }
      if (form.get('grant_type') !== 'client_credentials') {
        return send(res, rec, 400, JSON.stringify({ error: 'unsupported_grant_type', error_description: 'grant_type parameter is missing' }));
      }
      const token = `BQ${randomBytes(24).toString('base64url')}`;
      tokens.set(token, Date.now() + state.tokenExpiresIn * 1000);
      issuedTokens.push(token);
      return send(res, rec, 200, JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: state.tokenExpiresIn }));
    }
    if (!isApi) return sendError(res, rec, 404, 'Service not found');
    if (req.method !== 'GET') return sendError(res, rec, 405, 'Method not allowed');

    const auth = req.headers.authorization ?? '';
    if (!auth.startsWith('Bearer ')) return sendError(res, rec, 401, 'No token provided');
    const expiry = tokens.get(auth.slice(7));
    if (expiry === undefined) return sendError(res, rec, 401, 'Invalid access token');
    if (expiry <= Date.now()) return sendError(res, rec, 401, 'The access token expired');

    try {
      const body = route(url);
      return send(res, rec, 200, JSON.stringify(fault?.kind === 'mangle' ? fault.edit(body) : body));
    } catch (err) {
      if (err instanceof HttpError) return sendError(res, rec, err.status, err.message);
      return sendError(res, rec, 500, 'Server error');
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.destroy();
    });
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const double: SpotifyDouble = {
    origin,
    apiBaseUrl: `${origin}/v1`,
    accountsUrl: `${origin}/api/token`,
    clientId,
    clientSecret,
    catalog,
    get mode() { return state.mode; },
    set mode(v) { state.mode = v; },
    get removedStatus() { return state.removedStatus; },
    set removedStatus(v) { state.removedStatus = v; },
    get tokenExpiresIn() { return state.tokenExpiresIn; },
    set tokenExpiresIn(v) { state.tokenExpiresIn = v; },
    get latencyMs() { return state.latencyMs; },
    set latencyMs(v) { state.latencyMs = v; },
    get storm() { return stormRef; },
    set storm(v) {
      stormRef = v;
      rng = prng(v?.seed ?? 1);
    },
    requests,
    issuedTokens,
    inject(rule) {
      rules.push({ ...rule, left: rule.times ?? 1 });
    },
    count(prefix) {
      return requests.filter((r) => r.pathname.startsWith(prefix)).length;
    },
    countsByPath() {
      const out: Record<string, number> = {};
      for (const r of requests) out[r.pathname] = (out[r.pathname] ?? 0) + 1;
      return out;
    },
    maxInWindow(windowMs = 1000, filter = (r) => r.pathname.startsWith('/v1/')) {
      const t = requests.filter(filter).map((r) => r.at).sort((a, b) => a - b);
      let best = 0;
      let j = 0;
      for (let i = 0; i < t.length; i++) {
        while (t[i]! - t[j]! >= windowMs) j++;
        best = Math.max(best, i - j + 1);
      }
      return best;
    },
    revokeTokens() {
      tokens.clear();
    },
    resetStats() {
      requests.length = 0;
      rules.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  return double;
}

/** `artist:"Name" track:word free text` → its parts (quoted or single-word filter values). */
function parseQuery(q: string): { artist: string | null; track: string | null; text: string } {
  let artist: string | null = null;
  let track: string | null = null;
  const text = q
    .replace(/\b(artist|track):(?:"([^"]*)"|(\S+))/gi, (_, field: string, quoted?: string, bare?: string) => {
      const value = quoted ?? bare ?? '';
      if (field.toLowerCase() === 'artist') artist = value;
      else track = value;
      return ' ';
    })
    .trim();
  return { artist, track, text };
}
