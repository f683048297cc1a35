import type { McpServer, CallToolResult, ServerContext } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { outputSchemaOf } from '../src/json-schema.js';
import type { Catalog } from '../src/catalog/catalog.js';
import { quote, quoteList } from '../src/catalog/delimit.js';
import type { ArtistProfile } from '../src/catalog/snapshot.js';
import { DESCRIBED_FEATURES, LISTENER_FEATURES, unitOf } from '../src/features.js';
import type { SpotifyArtist } from '../src/spotify/index.js';
import { refreshArtistLive, type LiveOutcome } from '../src/spotify/live-artist.js';
import { resolveArtists } from './artist-choice.js';
import { artistNameArg, catalogInfoShape, ok, readAs, readAsLine, resolvedShape, strictArgs, withCatalog, type ToolDeps } from './shared.js';
import { ICONS } from '../src/icons.js';

export const artistMetadataInput = {
  artist: artistNameArg,
  max_albums: z.number().int().min(1).max(100).default(20).describe('How many albums to list at most (newest first, default 20).'),
};

const DAY_MS = 86_400_000;
const DEFAULT_TTL_MS = 7 * DAY_MS;
const DEFAULT_LIVE_TIMEOUT_MS = 5_000;

const SOURCES = ['spotify-live', 'spotify-enriched', 'dataset', 'unavailable'] as const;
type Source = (typeof SOURCES)[number];

const provenanceShape = z.object({
  source: z
    .enum(SOURCES)
    .describe(
      'spotify-live: fetched from the Spotify Web API during this call; spotify-enriched: stored by the last enrichment run; ' +
        'dataset: the published dataset snapshot; unavailable: no value (not returned to this Spotify app, not enriched, or the API failed), never a 0',
    ),
  fetched_at: z.string().nullable().describe('ISO time the value was obtained (dataset: when the snapshot was published)'),
  note: z.string().optional().describe('why a value is unavailable or older than expected'),
});

const namedCount = z.object({ genre: z.string(), track_count: z.number().int() });

const spotifyShape = z
  .object({
    spotify_id: z.string().nullable(),
    followers: z.number().int().nullable().describe('Spotify followers; null when unavailable (not 0)'),
    popularity: z.number().int().nullable().describe('Spotify artist popularity 0–100 (not the dataset\'s track popularity); null when unavailable'),
    genres: z.array(z.string()).nullable().describe('Spotify\'s genres for the artist; null when unavailable, [] when Spotify lists none'),
    image_url: z.string().nullable().describe('largest artist image'),
    url: z.string().nullable().describe('open.spotify.com page'),
  })
  .describe('Spotify artist data; see provenance["spotify.<field>"] for where each value came from and when');

const SPOTIFY_FIELDS = ['spotify_id', 'followers', 'popularity', 'genres', 'image_url', 'url'] as const;
type SpotifyField = (typeof SPOTIFY_FIELDS)[number];
type SpotifyValues = z.infer<typeof spotifyShape>;

const outputShape = {
  artist: z.object({ name: z.string(), artist_key: z.string() }),
  resolved: resolvedShape.optional(),
  track_count: z.number().int(),
  genres: z.array(namedCount).describe('genre labels of the artist\'s tracks with track counts'),
  subgenres: z.array(namedCount),
  popularity: z.object({ mean: z.number().nullable(), min: z.number().nullable(), max: z.number().nullable() }).describe('dataset track popularity'),
  explicit_share: z.number().nullable().describe('share of tracks marked explicit; null when the dataset does not record it'),
  audio_feature_means: z.record(z.string(), z.number().nullable()),
  top_tracks: z.array(z.object({ track_id: z.string(), name: z.string().nullable(), popularity: z.number().int() })),
  albums: z.array(z.object({ name: z.string().nullable(), album_id: z.string().nullable(), release_year: z.number().int().nullable(), track_count: z.number().int() })),
  albums_total: z.number().int(),
  active_years: z.object({ first: z.number().int().nullable(), last: z.number().int().nullable() }),
  spotify: spotifyShape,
  provenance: z
    .record(z.string(), provenanceShape)
    .describe('for every field of this answer (Spotify fields as "spotify.<field>"): where the value came from and when'),
  notes: z.array(z.string()).describe('what the answer could not include and why (e.g. the Spotify API failed, so stored data is shown)'),
  source: z
    .enum(['dataset', 'dataset+spotify-enriched', 'dataset+spotify-live'])
    .describe('dataset only, or dataset plus Spotify data (stored by enrichment, or fetched live in this call)'),
  catalog: catalogInfoShape,
};

// Built once per process, not per server: HTTP serving keeps several servers (src/http.ts pools them).
const inputObject = strictArgs(artistMetadataInput);
const outputObject = z.object(outputShape);

/** Converted and compiled once per process (HTTP keeps several servers). */
const outputSchema = outputSchemaOf(outputObject);

export function registerArtistMetadata(server: McpServer, deps: ToolDeps): void {
  const live = Boolean(deps.spotify);
  server.registerTool(
    'artist_metadata',
    {
      title: 'Artist metadata',
      description:
        'Profile of one artist from the catalog: number of tracks, genres and subgenres with counts, popularity (mean/min/max), ' +
        `mean audio features (${DESCRIBED_FEATURES.slice(0, 3).join(', ')}, …), top tracks, albums and active years, plus Spotify artist data ` +
        '(followers, Spotify popularity and genres, image, link) when known. Every field says where it came from and when ' +
        '(provenance: dataset, spotify-enriched, spotify-live or unavailable); unavailable Spotify fields are null, never 0. ' +
        (live ? 'Stored Spotify data older than its TTL is refreshed live (at most a few seconds; on failure the stored data is returned with a note). ' : '') +
        'Use it for "tell me about this artist". An unknown name returns an error with the nearest artist names; a name that fits several artists asks the user which one ' +
        '(clients that cannot be asked get an error naming them).',
      inputSchema: inputObject,
      outputSchema,
      icons: ICONS,
      annotations: { readOnlyHint: true, openWorldHint: live, idempotentHint: true, destructiveHint: false },
    },
    async (args, ctx) =>
      withCatalog(deps, ctx, async (catalog) => {
        const resolution = resolveArtists(catalog, ctx, [{ key: 'artist', query: args.artist }]);
        if (resolution.kind !== 'found') return resolution.result;
        const found = resolution.found[0]!;
        const profile = found.profiles[0]!;
        const log = deps.log.child({ tool: 'artist_metadata', artist_key: profile.artist_key });
        const outcome = await liveFetch(deps, profile, ctx, log);
        return render(catalog, profile, args.max_albums, outcome, deps, readAs([found.match]));
      }, { names: true }),
  );
}

// ------------------------------------------------------------------------------------- live part

/** The live refresh (src/spotify/live-artist.ts) with this server's settings, reporting MCP progress when asked. */
async function liveFetch(deps: ToolDeps, profile: ArtistProfile, ctx: ServerContext, log: ToolDeps['log']): Promise<LiveOutcome> {
  if (!deps.spotify) return { status: 'skipped', reason: null };
  const progressToken = ctx.mcpReq._meta?.progressToken;
  return refreshArtistLive(
    deps.spotify,
    { ...profile, spotify_id: profile.spotify_id ?? null, spotify_fetched_at: profile.spotify_fetched_at ?? null, track_ids: profile.top_tracks.map((t) => t.track_id) },
    {
      ttlMs: deps.spotifyTtlMs ?? DEFAULT_TTL_MS,
      timeoutMs: deps.spotifyLiveTimeoutMs ?? DEFAULT_LIVE_TIMEOUT_MS,
      signal: ctx.mcpReq.signal,
      log,
      // MCP progress (values strictly increase), only when the client asked for it with a progressToken.
      ...(progressToken === undefined
        ? {}
        : { onProgress: (progress: number, total: number, message: string) => ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken, progress, total, message } }) }),
    },
  );
}

// ------------------------------------------------------------------------------------- merge + render

function largestImage(artist: SpotifyArtist): string | null {
  let best: { url: string; area: number } | null = null;
  for (const i of artist.images) {
    const area = (i.width ?? 0) * (i.height ?? 0);
    if (!best || area > best.area || (area === best.area && i.url < best.url)) best = { url: i.url, area };
  }
  return best?.url ?? null;
}

const liveValue = (artist: SpotifyArtist, field: SpotifyField): SpotifyValues[SpotifyField] =>
  field === 'spotify_id' ? artist.id
  : field === 'followers' ? artist.followers
  : field === 'popularity' ? artist.popularity
  : field === 'genres' ? artist.genres
  : field === 'image_url' ? largestImage(artist)
  : artist.url;

const storedValue = (profile: ArtistProfile, field: SpotifyField): SpotifyValues[SpotifyField] =>
  (field === 'spotify_id' ? profile.spotify_id
  : field === 'followers' ? profile.spotify_followers
  : field === 'popularity' ? profile.spotify_popularity
  : field === 'genres' ? profile.spotify_genres
  : field === 'image_url' ? profile.spotify_image_url
  : profile.spotify_url) ?? null;

/** Fields development-mode apps no longer receive (2026 cuts). */
const DEV_MODE_FIELDS = new Set<SpotifyField>(['followers', 'popularity', 'genres']);

function mergeSpotify(profile: ArtistProfile, outcome: LiveOutcome, hasClient: boolean) {
  const values = {} as Record<SpotifyField, SpotifyValues[SpotifyField]>;
  const provenance: Record<string, z.infer<typeof provenanceShape>> = {};
  const notes: string[] = [];
  const storedAt = profile.spotify_fetched_at ?? null;
  const enriched = Boolean(profile.spotify_id);
  const liveArtist = outcome.status === 'ok' ? outcome.artist : null;
  const liveAt = outcome.status === 'ok' ? outcome.at.toISOString() : null;

  for (const field of SPOTIFY_FIELDS) {
    const key = `spotify.${field}`;
    const liveFieldValue = liveArtist ? liveValue(liveArtist, field) : null;
    const storedFieldValue = enriched ? storedValue(profile, field) : null;
    if (liveFieldValue !== null && liveFieldValue !== undefined) {
      values[field] = liveFieldValue;
      provenance[key] = { source: 'spotify-live', fetched_at: liveAt };
    } else if (storedFieldValue !== null) {
      values[field] = storedFieldValue;
      provenance[key] = {
        source: 'spotify-enriched',
        fetched_at: storedAt,
        ...(liveArtist
          ? { note: `not returned by the live API${outcome.status === 'ok' && outcome.developmentMode ? ' (development-mode app)' : ''}; value from the last enrichment` }
          : {}),
      };
    } else {
      values[field] = null;
      provenance[key] = { source: 'unavailable', fetched_at: liveAt ?? storedAt, note: unavailableWhy(field, profile, outcome, hasClient, enriched) };
    }
  }

  if (outcome.status === 'failed') notes.push(`${outcome.reason}; Spotify fields ${enriched ? `are from the last enrichment (${storedAt})` : 'are unavailable'}`);
  if (outcome.status === 'ok' && !outcome.artist) notes.push(`no Spotify artist matches ${quote(profile.artist_name)}; Spotify fields are unavailable`);
  if (outcome.status === 'ok' && outcome.developmentMode && [...DEV_MODE_FIELDS].some((field) => provenance[`spotify.${field}`]?.source === 'unavailable')) {
    notes.push('this Spotify app is in development mode: Spotify no longer returns followers, popularity and genres to it (reported as unavailable, not 0)');
  }
  if (!hasClient && !enriched) notes.push('no Spotify data: the artist was not enriched and the server has no Spotify credentials for a live fetch; dataset fields only');
  if (!hasClient && enriched && storedAt && Date.now() - Date.parse(storedAt) > DEFAULT_TTL_MS) {
    notes.push(`Spotify fields are from the last enrichment (${storedAt}); no Spotify credentials for a live refresh`);
  }
  const anyLive = Object.values(provenance).some((x) => x.source === 'spotify-live');
  const anyEnriched = Object.values(provenance).some((x) => x.source === 'spotify-enriched');
  return { values: values as SpotifyValues, provenance, notes, anyLive, anyEnriched };
}

function unavailableWhy(field: SpotifyField, profile: ArtistProfile, outcome: LiveOutcome, hasClient: boolean, enriched: boolean): string {
  if (outcome.status === 'ok') {
    if (!outcome.artist) return 'no Spotify artist matches this name';
    if (DEV_MODE_FIELDS.has(field) && outcome.developmentMode) return 'not returned to development-mode Spotify apps';
    if (field === 'image_url') return 'Spotify has no image for this artist';
    return 'not returned by the Spotify API';
  }
  if (outcome.status === 'failed') return outcome.reason;
  if (!enriched) return hasClient ? 'not enriched' : 'not enriched, and no Spotify credentials for a live fetch';
  // Stored data tells development mode only when every field such apps are denied is missing.
  const allDenied = profile.spotify_followers == null && profile.spotify_popularity == null && profile.spotify_genres == null;
  return profile.spotify_id && DEV_MODE_FIELDS.has(field) && allDenied
    ? 'not returned to this Spotify app when it was enriched (development mode)'
    : 'not returned by Spotify when enriched';
}

function render(
  catalog: Catalog,
  profile: ArtistProfile,
  maxAlbums: number,
  outcome: LiveOutcome,
  deps: ToolDeps,
  resolved: z.infer<typeof resolvedShape>[],
): CallToolResult {
  const merged = mergeSpotify(profile, outcome, Boolean(deps.spotify));
  const datasetAt = { source: 'dataset' as Source, fetched_at: catalog.manifest.publishedAt ?? null };
  const datasetFields = ['artist', 'track_count', 'genres', 'subgenres', 'popularity', 'explicit_share', 'audio_feature_means', 'top_tracks', 'albums', 'albums_total', 'active_years'];
  const provenance = { ...Object.fromEntries(datasetFields.map((field) => [field, datasetAt])), ...merged.provenance };

  const structured = {
    artist: { name: profile.artist_name, artist_key: profile.artist_key },
    ...(resolved[0] ? { resolved: resolved[0] } : {}),
    track_count: profile.track_count,
    genres: profile.genres,
    subgenres: profile.subgenres,
    popularity: { mean: round(profile.popularity_mean, 1), min: profile.popularity_min, max: profile.popularity_max },
    explicit_share: round(profile.explicit_share, 3),
    audio_feature_means: Object.fromEntries(Object.entries(profile.feature_means).map(([k, v]) => [k, round(v, k === 'duration_ms' ? 0 : 3)])),
    top_tracks: profile.top_tracks.map((t) => ({ track_id: t.track_id, name: t.track_name, popularity: t.popularity })),
    albums: profile.albums.slice(0, maxAlbums).map((a) => ({ name: a.album_name, album_id: a.album_id, release_year: a.release_year, track_count: a.track_count })),
    albums_total: profile.albums.length,
    active_years: { first: profile.first_release_year, last: profile.last_release_year },
    spotify: merged.values,
    provenance,
    notes: merged.notes,
    source: merged.anyLive ? ('dataset+spotify-live' as const) : merged.anyEnriched ? ('dataset+spotify-enriched' as const) : ('dataset' as const),
    catalog: { version: catalog.version, source: 'dataset' as const },
  };
  const featureMeans = structured.audio_feature_means;
  const years = profile.first_release_year ? ` · releases ${profile.first_release_year}–${profile.last_release_year}` : '';
  const text = [
    `${quote(profile.artist_name)}: ${profile.track_count} tracks${years} · popularity mean ${structured.popularity.mean ?? 'n/a'} (max ${profile.popularity_max ?? 'n/a'})`,
    ...readAsLine(resolved),
    `genres: ${profile.genres.map((g) => `${quote(g.genre)} (${g.track_count})`).join(', ') || 'n/a'}`,
    ...(profile.subgenres.length ? [`subgenres: ${profile.subgenres.map((g) => `${quote(g.genre)} (${g.track_count})`).join(', ')}`] : []),
    `sound: ${LISTENER_FEATURES.map((feature) => `${feature} ${featureMeans[feature] ?? 'n/a'}${unitOf(feature) ? ` ${unitOf(feature)}` : ''}`).join(', ')}`,
    `top tracks: ${profile.top_tracks.slice(0, 5).map((t) => `${quote(t.track_name)} (${t.popularity})`).join('; ')}`,
    `albums (${profile.albums.length}): ${[...new Set(structured.albums.map((a) => `${quote(a.name)}${a.release_year ? ` (${a.release_year})` : ''}`))].slice(0, 5).join('; ')}`,
    spotifyLine(merged.values, provenance),
    ...merged.notes.map((n) => `note: ${n}`),
    'source: dataset snapshot ' + catalog.version,
  ].join('\n');
  return ok(structured, text);
}

function spotifyLine(values: SpotifyValues, provenance: Record<string, z.infer<typeof provenanceShape>>): string {
  if (!values.spotify_id) return 'spotify: unavailable';
  const tag = (field: SpotifyField) => {
    const fieldProvenance = provenance[`spotify.${field}`];
    if (!fieldProvenance || fieldProvenance.source === 'unavailable') return 'unavailable';
    return null;
  };
  const parts = [
    `followers ${values.followers !== null ? values.followers.toLocaleString('en-US') : tag('followers')}`,
    `popularity ${values.popularity ?? tag('popularity')}`,
    `genres ${values.genres ? quoteList(values.genres, 'none listed') : tag('genres')}`,
  ];
  const idProvenance = provenance['spotify.spotify_id'];
  const when = idProvenance?.fetched_at ? `, ${idProvenance.source === 'spotify-live' ? 'fetched live' : 'enriched'} ${idProvenance.fetched_at}` : '';
  return `spotify: ${parts.join(' · ')}${values.url ? ` · ${values.url}` : ''} [${values.spotify_id}${when}]`;
}

function round(v: number | null, digits: number): number | null {
  if (v === null) return null;
  const scale = 10 ** digits;
  return Math.round(v * scale) / scale;
}
