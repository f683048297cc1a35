import type { McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { outputSchemaOf } from '../src/json-schema.js';
import { attributeShape, listShape, recommendationOutput, resolveSeeds, runRecommendation } from './recommend-shared.js';
import { toolError, strictArgs, withCatalog, type ToolDeps } from './shared.js';
import { ICONS } from '../src/icons.js';
import { playlistViewMeta } from '../src/app/playlist-view.js';

export const similarTracksInput = {
  seed_tracks: z
    .array(z.string().trim().min(1).max(200))
    .max(5)
    .optional()
    .describe('Tracks to find more like: Spotify track ids, or text like "Title – Artist" (or just "Title"); any version of the title matches.'),
  seed_artists: z.array(z.string().trim().min(1).max(200)).max(5).optional().describe('Artists whose sound to match; spelling variants and small typos are forgiven.'),
  ...listShape,
  max_per_artist: listShape.max_per_artist.describe('At most this many tracks by the same (primary) artist (default 2).'),
  ...attributeShape,
};

// Built once per process, not per server: HTTP serving keeps several servers (src/http.ts pools them).
const inputObject = strictArgs(similarTracksInput);
const outputObject = z.object(recommendationOutput);

/** Converted and compiled once per process (HTTP keeps several servers). */
const outputSchema = outputSchemaOf(outputObject);

export function registerSimilarTracks(server: McpServer, deps: ToolDeps): void {
  server.registerTool(
    'similar_tracks',
    {
      title: 'Similar tracks ("more like this")',
      description:
        'Find tracks that sound like one or more seed tracks or artists, across the whole catalog (any genre). Similarity is measured in a ' +
        'metric learned from the audio features, release year and popularity, so answers share the seeds\' style rather than just their tempo. ' +
        'Seeds: seed_tracks (ids or "Title – Artist") and/or seed_artists, 1–5 in total. Supports the same min_/max_/target_ bounds on 15 attributes (including release_year), ' +
        'include_explicit, max_per_artist (default 2) and diversity as recommend_by_genre. The seed songs themselves are never returned.',
      inputSchema: inputObject,
      outputSchema,
      icons: ICONS,
      annotations: { readOnlyHint: true, openWorldHint: false, idempotentHint: true, destructiveHint: false },
      _meta: playlistViewMeta,
    },
    async (args, ctx) =>
      withCatalog(deps, ctx, async (catalog) => {
        if (!(args.seed_tracks?.length || args.seed_artists?.length)) {
          return toolError('give at least one seed: seed_tracks (a Spotify track id or "Title – Artist") or seed_artists.');
        }
        const seeds = resolveSeeds(catalog, [], args, ctx);
        if (!Array.isArray(seeds)) return seeds;
        // Seeds are searched for in the metric's tree: right after a load it may still be being made (in slices).
        await catalog.whenMetric();
        return runRecommendation(catalog, seeds, args, false, 2);
      }, { names: true }),
  );
}
