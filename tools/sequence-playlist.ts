import type { McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { outputSchemaOf } from '../src/json-schema.js';
import type { NameMatch } from '../src/catalog/resolve.js';
import { camelotCode } from '../src/catalog/sequence.js';
import { unknownName } from '../src/catalog/unknown-name.js';
import { arcArg, flowFacts, limitsShape, sequenceReportShape, sequenceSummary, sequenceTracks, transitionLine } from './sequence-shared.js';
import { catalogInfoShape, ok, readAs, readAsLine, resolvedShape, strictArgs, toolError, trackLine, trackShape, withCatalog, type ToolDeps } from './shared.js';
import { ICONS } from '../src/icons.js';
import { playlistViewMeta } from '../src/app/playlist-view.js';

const MAX_TRACKS = 100;

export const sequencePlaylistInput = {
  tracks: z
    .array(z.string().trim().min(1).max(200))
    .min(2)
    .max(MAX_TRACKS)
    .describe(`The playlist to order, 2–${MAX_TRACKS} tracks: Spotify track ids (e.g. the track_id values of a previous recommend_by_genre or similar_tracks answer) or text like "Title – Artist".`),
  arc: arcArg.default('peak'),
  ...limitsShape,
};

const inputObject = strictArgs(sequencePlaylistInput);
const outputObject = z.object({
  returned: z.number().int(),
  duplicates_dropped: z.number().int().describe('tracks given more than once (kept at their first mention)'),
  tracks: z.array(trackShape.extend({ position: z.number().int(), camelot: z.string().nullable().describe('Camelot wheel key code, e.g. 8B = C major') })),
  sequence: sequenceReportShape,
  resolved: z.array(resolvedShape).optional(),
  catalog: catalogInfoShape,
});

/** Converted and compiled once per process (HTTP keeps several servers). */
const outputSchema = outputSchemaOf(outputObject);

export function registerSequencePlaylist(server: McpServer, deps: ToolDeps): void {
  server.registerTool(
    'sequence_playlist',
    {
      title: 'Sequence a playlist for flow',
      description:
        'Order a list of tracks so the energy follows an arc (rising, falling, peak, wave or steady) while each transition stays smooth: ' +
        'tempo and energy steps within bounds and keys compatible on the Camelot wheel (same key, relative major/minor, one step round) where the list allows. ' +
        'Deterministic. Reports per transition what changes, and the share of smooth transitions against the order given. ' +
        'Takes track ids from a previous answer (or "Title – Artist"); recommend_by_genre and similar_tracks also take `arc` to return their list already ordered.',
      inputSchema: inputObject,
      outputSchema,
      icons: ICONS,
      annotations: { readOnlyHint: true, openWorldHint: false, idempotentHint: true, destructiveHint: false },
      _meta: playlistViewMeta,
    },
    async (args, ctx) =>
      withCatalog(deps, ctx, (catalog) => {
        const indexes: number[] = [];
        const matches: (NameMatch | undefined)[] = [];
        const seen = new Set<number>();
        for (const t of args.tracks) {
          const r = catalog.resolveTrack(t);
          if (!r.ok) return toolError(unknownName('track', t, r.suggestions, { role: 'playlist', hint: 'Give Spotify track ids (track_id of a previous answer) or "Title – Artist".' }));
          matches.push(r.match);
          if (seen.has(r.value)) continue;
          seen.add(r.value);
          indexes.push(r.value);
        }
        if (indexes.length < 2) return toolError('give at least two different tracks to order.');
        const limits = { maxTempoStep: args.max_tempo_step, maxEnergyStep: args.max_energy_step };
        const { tracks, report } = sequenceTracks(indexes.map((i) => catalog.track(i)), args.arc, limits);
        const resolved = readAs(matches);
        const structured = {
          returned: tracks.length,
          duplicates_dropped: args.tracks.length - indexes.length,
          tracks: tracks.map((t, p) => ({ ...t, position: p + 1, camelot: camelotCode(t.key >= 0 ? t.key : null, t.mode) })),
          sequence: report,
          ...(resolved.length ? { resolved } : {}),
          catalog: { version: catalog.version, source: 'dataset' as const },
        };
        const lines = tracks.flatMap((t, p) => [
          `${p + 1}. ${trackLine(t)}\n   ${flowFacts(t)}`,
          ...(p < report.transitions.length ? [`   ${transitionLine(report.transitions[p]!)}`] : []),
        ]);
        const dropped = structured.duplicates_dropped ? [`note: ${structured.duplicates_dropped} duplicate${structured.duplicates_dropped === 1 ? '' : 's'} dropped.`] : [];
        return ok(structured, [`${tracks.length} tracks ${sequenceSummary(report, 'the order given')}`, ...readAsLine(resolved), ...lines, ...dropped].join('\n'));
      }, { names: true }),
  );
}
