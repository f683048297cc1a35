import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { catalogInfoShape, ok, toolError, withCatalog, type ToolDeps } from './shared.js';

export const artistMetadataInput = {
  artist: z.string().trim().min(1).max(200).describe('Artist name; case and accents are ignored ("beyonce" finds "Beyoncé").'),
  max_albums: z.number().int().min(1).max(100).default(20).describe('How many albums to list at most (newest first, default 20).'),
};

const namedCount = z.object({ genre: z.string(), track_count: z.number().int() });

const outputShape = {
  artist: z.object({ name: z.string(), artist_key: z.string() }),
  track_count: z.number().int(),
  genres: z.array(namedCount).describe('genre labels of the artist\'s tracks with track counts'),
  subgenres: z.array(namedCount),
  popularity: z.object({ mean: z.number().nullable(), min: z.number().nullable(), max: z.number().nullable() }),
  explicit_share: z.number().nullable().describe('share of tracks marked explicit; null when the dataset does not record it'),
  audio_feature_means: z.record(z.string(), z.number().nullable()),
  top_tracks: z.array(z.object({ track_id: z.string(), name: z.string().nullable(), popularity: z.number().int() })),
  albums: z.array(z.object({ name: z.string().nullable(), album_id: z.string().nullable(), release_year: z.number().int().nullable(), track_count: z.number().int() })),
  albums_total: z.number().int(),
  active_years: z.object({ first: z.number().int().nullable(), last: z.number().int().nullable() }),
  source: z.literal('dataset').describe('every field comes from the published dataset snapshot'),
  catalog: catalogInfoShape,
};

export function registerArtistMetadata(server: McpServer, deps: ToolDeps): void {
  server.registerTool(
    'artist_metadata',
    {
      title: 'Artist metadata',
      description:
        'Profile of one artist from the catalog: number of tracks, genres and subgenres with counts, popularity (mean/min/max), ' +
        'mean audio features (danceability, energy, valence, …), top tracks, albums and active years. Use it for "tell me about this artist". ' +
        'An unknown name returns an error with the nearest artist names.',
      inputSchema: artistMetadataInput,
      outputSchema: outputShape,
      annotations: { readOnlyHint: true, openWorldHint: false, idempotentHint: true, destructiveHint: false },
    },
    async (args) =>
      withCatalog(deps, (catalog) => {
        const found = catalog.resolveArtist(args.artist);
        if (!found.ok) {
          return toolError(
            `no artist named '${args.artist}' in the catalog` +
              (found.suggestions.length ? `; nearest names: ${found.suggestions.map((s) => `'${s}'`).join(', ')}.` : '.'),
          );
        }
        const p = found.value.profiles[0]!;
        const structured = {
          artist: { name: p.artist_name, artist_key: p.artist_key },
          track_count: p.track_count,
          genres: p.genres,
          subgenres: p.subgenres,
          popularity: { mean: round(p.popularity_mean, 1), min: p.popularity_min, max: p.popularity_max },
          explicit_share: round(p.explicit_share, 3),
          audio_feature_means: Object.fromEntries(Object.entries(p.feature_means).map(([k, v]) => [k, round(v, k === 'duration_ms' ? 0 : 3)])),
          top_tracks: p.top_tracks.map((t) => ({ track_id: t.track_id, name: t.track_name, popularity: t.popularity })),
          albums: p.albums.slice(0, args.max_albums).map((a) => ({ name: a.album_name, album_id: a.album_id, release_year: a.release_year, track_count: a.track_count })),
          albums_total: p.albums.length,
          active_years: { first: p.first_release_year, last: p.last_release_year },
          source: 'dataset' as const,
          catalog: { version: catalog.version, source: 'dataset' as const },
        };
        const m = structured.audio_feature_means;
        const years = p.first_release_year ? ` · releases ${p.first_release_year}–${p.last_release_year}` : '';
        const text = [
          `${p.artist_name}: ${p.track_count} tracks${years} · popularity mean ${structured.popularity.mean ?? 'n/a'} (max ${p.popularity_max ?? 'n/a'})`,
          `genres: ${p.genres.map((g) => `${g.genre} (${g.track_count})`).join(', ') || 'n/a'}`,
          ...(p.subgenres.length ? [`subgenres: ${p.subgenres.map((g) => `${g.genre} (${g.track_count})`).join(', ')}`] : []),
          `sound: danceability ${m.danceability ?? 'n/a'}, energy ${m.energy ?? 'n/a'}, valence ${m.valence ?? 'n/a'}, acousticness ${m.acousticness ?? 'n/a'}, tempo ${m.tempo ?? 'n/a'} BPM`,
          `top tracks: ${p.top_tracks.slice(0, 5).map((t) => `${t.track_name ?? '(untitled)'} (${t.popularity})`).join('; ')}`,
          `albums (${p.albums.length}): ${[...new Set(structured.albums.map((a) => `${a.name ?? '(untitled)'}${a.release_year ? ` (${a.release_year})` : ''}`))].slice(0, 5).join('; ')}`,
          'source: dataset snapshot ' + catalog.version,
        ].join('\n');
        return ok(structured, text);
      }),
  );
}

function round(v: number | null, digits: number): number | null {
  if (v === null) return null;
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
