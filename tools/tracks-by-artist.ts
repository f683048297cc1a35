import type { McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { outputSchemaOf } from '../src/json-schema.js';
import { quote } from '../src/catalog/delimit.js';
import { resolveArtists } from './artist-choice.js';
import { artistNameArg, catalogInfoShape, ok, readAs, readAsLine, resolvedShape, strictArgs, trackLine, trackShape, withCatalog, type ToolDeps } from './shared.js';
import { ICONS } from '../src/icons.js';
import { playlistViewMeta } from '../src/app/playlist-view.js';

export const tracksByArtistInput = {
  artist: artistNameArg,
  limit: z.number().int().min(1).max(100).default(20).describe('Page size (1–100, default 20).'),
  offset: z.number().int().min(0).max(100_000).default(0).describe('Tracks to skip, for paging (use next_offset from the previous page).'),
};

const outputShape = {
  artist: z.object({ name: z.string(), artist_key: z.string() }),
  resolved: resolvedShape.optional(),
  total: z.number().int().describe('distinct songs credited to the artist'),
  offset: z.number().int(),
  returned: z.number().int(),
  truncated: z.boolean().describe('true when more tracks follow this page'),
  next_offset: z.number().int().nullable(),
  tracks: z.array(trackShape.extend({ credit: z.enum(['primary', 'featured']) })),
  catalog: catalogInfoShape,
};

// Built once per process, not per server: HTTP serving keeps several servers (src/http.ts pools them).
const inputObject = strictArgs(tracksByArtistInput);
const outputObject = z.object(outputShape);

/** Converted and compiled once per process (HTTP keeps several servers). */
const outputSchema = outputSchemaOf(outputObject);

export function registerTracksByArtist(server: McpServer, deps: ToolDeps): void {
  server.registerTool(
    'tracks_by_artist',
    {
      title: 'Tracks by artist',
      description:
        'List the tracks an artist made or is credited on (features included), most popular first, one entry per song even when ' +
        'the catalog holds it under several ids. Paged with limit/offset; the answer says the total and the next offset. ' +
        'Use it for "what else has this artist made". An unknown name returns an error with the nearest artist names; a name that fits several artists asks the user which one ' +
        '(clients that cannot be asked get an error naming them).',
      inputSchema: inputObject,
      outputSchema,
      icons: ICONS,
      annotations: { readOnlyHint: true, openWorldHint: false, idempotentHint: true, destructiveHint: false },
      _meta: playlistViewMeta,
    },
    async (args, ctx) =>
      withCatalog(deps, ctx, (catalog) => {
        const resolution = resolveArtists(catalog, ctx, [{ key: 'artist', query: args.artist }]);
        if (resolution.kind !== 'found') return resolution.result;
        const found = resolution.found[0]!;
        const { profiles, members } = found;
        const keys = new Set(profiles.map((p) => p.artist_key));
        const order = [...members].sort(
          (a, b) =>
            catalog.popularity(b) - catalog.popularity(a) ||
            (catalog.trackName(a) ?? '').localeCompare(catalog.trackName(b) ?? '') ||
            (catalog.trackId(a) < catalog.trackId(b) ? -1 : 1),
        );
        const seen = new Set<string>();
        const songs = order.filter((i) => {
          const song = catalog.canonicalId(i);
          if (seen.has(song)) return false;
          seen.add(song);
          return true;
        });
        const page = songs.slice(args.offset, args.offset + args.limit);
        const tracks = page.map((i) => ({
          ...catalog.track(i),
          credit: keys.has(catalog.artistKeys(i)[0] ?? '') ? ('primary' as const) : ('featured' as const),
        }));
        const next = args.offset + page.length < songs.length ? args.offset + page.length : null;
        const main = profiles[0]!;
        const [resolved] = readAs([found.match]);
        const structured = {
          artist: { name: main.artist_name, artist_key: main.artist_key },
          ...(resolved ? { resolved } : {}),
          total: songs.length,
          offset: args.offset,
          returned: tracks.length,
          truncated: next !== null,
          next_offset: next,
          tracks,
          catalog: { version: catalog.version, source: 'dataset' as const },
        };
        const head =
          `${quote(main.artist_name)}: ${songs.length} songs` +
          (tracks.length ? `, showing ${args.offset + 1}–${args.offset + tracks.length}` : `, none at offset ${args.offset}`);
        const lines = tracks.map((t, n) => `${args.offset + n + 1}. ${trackLine(t, t.credit === 'featured' ? ' · featured' : '')}`);
        return ok(structured, [head, ...readAsLine(resolved ? [resolved] : []), ...lines, ...(next !== null ? [`more: call again with offset ${next}`] : [])].join('\n'));
      }, { names: true }),
  );
}
