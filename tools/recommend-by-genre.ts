import type { McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { outputSchemaOf } from '../src/json-schema.js';
import { attributeShape, hasBounds, listShape, recommendationOutput, resolveSeeds, runRecommendation, seedShape } from './recommend-shared.js';
import { toolError, strictArgs, withCatalog, type ToolDeps } from './shared.js';
import { fractionFeatureList } from '../src/features.js';
import { ICONS } from '../src/icons.js';
import { playlistViewMeta } from '../src/app/playlist-view.js';

export const recommendByGenreInput = {
  genre: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .optional()
    .describe('Genre or subgenre, e.g. "latin", "rock", "dance pop", "hip-hop" (case, spaces and hyphens are ignored). The music://genres resource lists them. Without any genre (nor seed_genres), seeds or bounds draw from the whole catalog.'),
  seed_genres: z.array(z.string().trim().min(1).max(100)).max(5).optional().describe('More genres to draw from (tracks of any of them qualify).'),
  ...seedShape,
  ...listShape,
  ...attributeShape,
};

const outputShape = {
  genre: z.object({
    name: z.string(),
    level: z.enum(['genre', 'subgenre']),
    parent_genre: z.string().nullable(),
    track_count: z.number().int(),
  }).optional().describe('the first genre seed (absent when no genre was given)'),
  drawn_from: z.enum(['genres', 'whole_catalog']).describe('whole_catalog when no genre was given: candidates come from every genre'),
  ...recommendationOutput,
};

// Built once per process, not per server: HTTP serving keeps several servers (src/http.ts pools them).
const inputObject = strictArgs(recommendByGenreInput);
const outputObject = z.object(outputShape);

/** Converted and compiled once per process (HTTP keeps several servers). */
const outputSchema = outputSchemaOf(outputObject);

export function registerRecommendByGenre(server: McpServer, deps: ToolDeps): void {
  server.registerTool(
    'recommend_by_genre',
    {
      title: 'Recommend tracks by genre',
      description:
        'Recommend tracks from one or more genres/subgenres — the request surface of Spotify\'s retired /v1/recommendations, answered offline. ' +
        'Optional seeds (seed_artists, seed_tracks) rank tracks that sound like them first; min_/max_ bound and target_ steer 15 attributes ' +
        `(0–1 scales: ${fractionFeatureList()}; ` +
        'also tempo BPM, loudness dB, duration_ms, key 0–11, mode 0/1, time_signature, popularity 0–100, release_year). ' +
        'Tracks with no known release year never pass a min_/max_release_year bound; the answer counts them. ' +
        'Without a genre, seeds or bounds draw from the whole catalog (the answer says so). ' +
        'Examples: "upbeat latin tracks" → genre "latin", min_energy 0.7, min_valence 0.6; "chill acoustic rock" → genre "rock", max_energy 0.4, target_acousticness 0.8; ' +
        '"rock from the 80s" → genre "rock", min_release_year 1980, max_release_year 1989; "chill songs of any genre" → max_energy 0.4. ' +
        'max_per_artist caps repeats (default: no cap, or 2 when only seed_artists/seed_tracks are given, as similar_tracks), diversity (0–1) varies the list. Each track comes with a score and a one-line reason; seeds report pool sizes so you can see when filters emptied the pool. ' +
        'At most 5 seeds in total. Deterministic. Unknown genres/artists/tracks return an error listing the closest valid names.',
      inputSchema: inputObject,
      outputSchema,
      icons: ICONS,
      annotations: { readOnlyHint: true, openWorldHint: false, idempotentHint: true, destructiveHint: false },
      _meta: playlistViewMeta,
    },
    async (args, ctx) =>
      withCatalog(deps, ctx, async (catalog) => {
        const genres = [...(args.genre ? [args.genre] : []), ...(args.seed_genres ?? [])];
        if (!genres.length && !args.seed_artists?.length && !args.seed_tracks?.length && !hasBounds(args)) {
          return toolError(
            'nothing to recommend from: give `genre` (e.g. "latin") or `seed_genres` (the music://genres resource lists every genre); ' +
              'or, to draw from the whole catalog, seed_artists / seed_tracks or a min_/max_/target_ bound (e.g. min_release_year 1980, max_release_year 1989).',
          );
        }
        const seeds = resolveSeeds(catalog, genres, args, ctx);
        if (!Array.isArray(seeds)) return seeds;
        // Track and artist seeds are searched for in the metric's tree: right after a load it may still be being made (in slices).
        if (seeds.some((s) => s.type !== 'genre')) await catalog.whenMetric();
        // Seeded by artists or tracks alone, the answer is a similar_tracks answer: the same default of 2 per artist.
        const seededOnly = !genres.length && Boolean(args.seed_artists?.length || args.seed_tracks?.length);
        const result = runRecommendation(catalog, seeds, args, true, seededOnly ? 2 : undefined);
        if (result.isError) return result;
        const first = seeds[0];
        if (first?.type !== 'genre') {
          const text = result.content[0]?.type === 'text' ? result.content[0].text : '';
          return {
            content: [{ type: 'text', text: `drawn from the whole catalog (no genre given; add \`genre\` to narrow it)\n${text}` }],
            structuredContent: { drawn_from: 'whole_catalog', ...(result.structuredContent as Record<string, unknown>) },
          };
        }
        const g = first.genre;
        return {
          ...result,
          structuredContent: {
            genre: { name: g.genre, level: g.genre_level, parent_genre: g.parent_genre, track_count: g.track_count },
            drawn_from: 'genres',
            ...(result.structuredContent as Record<string, unknown>),
          },
        };
      }, { names: Boolean(args.seed_artists?.length || args.seed_tracks?.length) }),
  );
}
