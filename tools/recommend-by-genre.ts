import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { recommendByGenre, UNIT_FEATURES, type GenreQuery, type Range, type UnitFeature } from '../src/catalog/recommend.js';
import { catalogInfoShape, ok, toolError, trackLine, trackShape, withCatalog, type ToolDeps } from './shared.js';

const unit = (what: string) => z.number().min(0).max(1).optional().describe(what);

const featureBounds = Object.fromEntries(
  UNIT_FEATURES.flatMap((f) => [
    [`min_${f}`, unit(`lowest ${f} to accept, 0–1`)],
    [`max_${f}`, unit(`highest ${f} to accept, 0–1`)],
  ]),
) as Record<`${'min' | 'max'}_${UnitFeature}`, ReturnType<typeof unit>>;

export const recommendByGenreInput = {
  genre: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .describe('Genre or subgenre name as in the catalog, e.g. "latin", "rock", "dance pop", "hip-hop" (case, spaces and hyphens are ignored). The music://genres resource lists them.'),
  limit: z.number().int().min(1).max(100).default(10).describe('How many tracks to return (1–100, default 10).'),
  include_explicit: z.boolean().default(true).describe('false leaves out tracks marked explicit (only where the dataset records explicitness).'),
  min_popularity: z.number().int().min(0).max(100).optional().describe('Lowest Spotify popularity to accept, 0–100.'),
  max_popularity: z.number().int().min(0).max(100).optional().describe('Highest Spotify popularity to accept, 0–100.'),
  ...featureBounds,
};

const outputShape = {
  genre: z.object({
    name: z.string(),
    level: z.enum(['genre', 'subgenre']),
    parent_genre: z.string().nullable(),
    track_count: z.number().int(),
  }),
  candidates: z.number().int().describe('tracks in the genre before filters'),
  after_filtering: z.number().int().describe('tracks left after the min/max/explicit filters'),
  returned: z.number().int(),
  tracks: z.array(trackShape.extend({ score: z.number().describe('0–1, higher is a better fit'), reason: z.string() })),
  notice: z.string().optional().describe('present when the filters left fewer tracks than asked for'),
  catalog: catalogInfoShape,
};

export function registerRecommendByGenre(server: McpServer, deps: ToolDeps): void {
  server.registerTool(
    'recommend_by_genre',
    {
      title: 'Recommend tracks by genre',
      description:
        'Recommend tracks from one genre or subgenre, optionally bounded by popularity and audio features ' +
        '(0–1 scales: danceability, energy, valence = musical positiveness, acousticness, instrumentalness, speechiness, liveness). ' +
        'Use it for requests like "upbeat latin tracks" (genre "latin", min_energy 0.7, min_valence 0.6) or "chill acoustic rock" ' +
        '(genre "rock", max_energy 0.4, min_acousticness 0.6). Results are ranked by how typical a track is of the genre and how popular it is, ' +
        'each with a one-line reason. Deterministic. An unknown genre returns an error listing the closest genres.',
      inputSchema: recommendByGenreInput,
      outputSchema: outputShape,
      annotations: { readOnlyHint: true, openWorldHint: false, idempotentHint: true, destructiveHint: false },
    },
    async (args) =>
      withCatalog(deps, (catalog) => {
        const bad: string[] = [];
        const range = (name: string, min?: number, max?: number): Range => {
          if (min !== undefined && max !== undefined && min > max) bad.push(`min_${name} (${min}) is greater than max_${name} (${max})`);
          return { min, max };
        };
        const features: GenreQuery['features'] = {};
        for (const f of UNIT_FEATURES) {
          const min = args[`min_${f}`];
          const max = args[`max_${f}`];
          if (min !== undefined || max !== undefined) features[f] = range(f, min, max);
        }
        const popularity = range('popularity', args.min_popularity, args.max_popularity);
        if (bad.length) return toolError(`invalid range: ${bad.join('; ')}. Swap or widen the bounds.`);

        const resolved = catalog.resolveGenre(args.genre);
        if (!resolved.ok) {
          return toolError(
            `unknown genre '${args.genre}'; did you mean ${resolved.suggestions.map((s) => `'${s}'`).join(', ')}? ` +
              'The music://genres resource lists every genre.',
          );
        }
        const genre = resolved.value;
        const result = recommendByGenre(catalog, genre, { limit: args.limit, includeExplicit: args.include_explicit, popularity, features });
        const notice =
          result.tracks.length < args.limit
            ? result.afterFiltering === 0
              ? `no ${genre.genre} track meets these filters (${result.candidates} before filtering); loosen the min/max bounds.`
              : `only ${result.tracks.length} distinct ${genre.genre} tracks meet these filters.`
            : undefined;
        const structured = {
          genre: { name: genre.genre, level: genre.genre_level, parent_genre: genre.parent_genre, track_count: genre.track_count },
          candidates: result.candidates,
          after_filtering: result.afterFiltering,
          returned: result.tracks.length,
          tracks: result.tracks,
          ...(notice ? { notice } : {}),
          catalog: { version: catalog.version, source: 'dataset' as const },
        };
        const lines = result.tracks.map((t, n) => `${n + 1}. ${trackLine(t)}\n   why: ${t.reason}`);
        const head = `${result.tracks.length} ${genre.genre} tracks (${result.afterFiltering} of ${result.candidates} pass the filters)`;
        return ok(structured, [head, ...lines, ...(notice ? [`note: ${notice}`] : [])].join('\n'));
      }),
  );
}
