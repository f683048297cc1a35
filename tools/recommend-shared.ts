import type { CallToolResult, ServerContext } from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { Catalog } from '../src/catalog/catalog.js';
import {
  ATTRIBUTE_NAMES, ATTRIBUTES, recommend, validateBounds,
  type Attribute, type AttributeBounds, type Bounds, type RecommendResult, type Seed,
} from '../src/catalog/recommend.js';
import { quote } from '../src/catalog/delimit.js';
import { unknownGenre, unknownName } from '../src/catalog/unknown-name.js';
import { DEFAULT_LIMITS, type Arc } from '../src/catalog/sequence.js';
import { arcArg, flowFacts, sequenceReportShape, sequenceSummary, sequenceTracks, transitionLine, type SequenceReport } from './sequence-shared.js';
import { resolveArtists } from './artist-choice.js';
import { catalogInfoShape, ok, readAs, readAsLine, resolvedShape, toolError, trackLine, trackShape, type ToolAnswer } from './shared.js';

/** Seeds, min_/max_/target_ for the 15 attributes, and list controls: shared by recommend_by_genre and similar_tracks. */

const MAX_SEEDS = 5;

function attributeField(name: Attribute, kind: 'min' | 'max' | 'target') {
  const spec = ATTRIBUTES[name];
  let f = z.number().min(spec.min).max(spec.max);
  if (spec.integer) f = f.int();
  const unit = 'unit' in spec ? ` ${spec.unit}` : '';
  const what = kind === 'target' ? `preferred ${name} (tracks nearest it rank higher)` : `${kind === 'min' ? 'lowest' : 'highest'} ${name} to accept`;
  const note = name === 'release_year' && kind !== 'target' ? '; tracks with no known release year are left out (the answer counts them)' : '';
  return f.optional().describe(`${what}, ${spec.min}–${spec.max}${unit}${note}`);
}

export const attributeShape = Object.fromEntries(
  ATTRIBUTE_NAMES.flatMap((a) => (['min', 'max', 'target'] as const).map((k) => [`${k}_${a}`, attributeField(a, k)])),
) as Record<`${'min' | 'max' | 'target'}_${Attribute}`, ReturnType<typeof attributeField>>;

const seedList = (what: string) => z.array(z.string().trim().min(1).max(200)).max(MAX_SEEDS).optional().describe(what);

export const seedShape = {
  seed_artists: seedList('Artist names to seed from (tracks that sound like their work rank higher); spelling variants and small typos are forgiven.'),
  seed_tracks: seedList('Tracks to seed from: Spotify track ids, or text like "Title – Artist" (or just "Title"); any version of the title matches.'),
};

export const listShape = {
  limit: z.number().int().min(1).max(100).default(10).describe('How many tracks to return (1–100, default 10).'),
  include_explicit: z.boolean().default(true).describe('false leaves out tracks marked explicit (where the dataset records it).'),
  max_per_artist: z.number().int().min(1).max(100).optional().describe('At most this many tracks by the same (primary) artist.'),
  diversity: z.number().min(0).max(1).default(0).describe('0 = closest matches first; higher values trade closeness for a more varied list.'),
  arc: arcArg.optional().describe(`${arcArg.description} Without it the list is in rank order. The same ordering as sequence_playlist with its default bounds.`),
};

export const seedReportShape = z.object({
  type: z.enum(['genre', 'artist', 'track']),
  id: z.string().describe('the seed as given'),
  name: z.string().describe('what it resolved to'),
  initialPoolSize: z.number().int().describe('candidate tracks for this seed before filters'),
  afterFilteringSize: z.number().int().describe('candidates left after min/max/explicit filters'),
});

export const recommendationOutput = {
  seeds: z.array(seedReportShape),
  candidates: z.number().int(),
  after_filtering: z.number().int(),
  returned: z.number().int(),
  tracks: z.array(trackShape.extend({ score: z.number().describe('0–1, higher is a better fit'), reason: z.string() })),
  notice: z.string().optional().describe('present when the filters left fewer tracks than asked for'),
  unknown_year_excluded: z.number().int().optional().describe('with min_/max_release_year: tracks that met every other filter but were left out because their release year is not known'),
  resolved: z.array(resolvedShape).optional().describe('seed names read as a different spelling in the catalog'),
  sequence: sequenceReportShape.optional().describe('with `arc`: how the list was ordered and how smooth its transitions are (given_order_smoothness is the rank order\'s)'),
  catalog: catalogInfoShape,
};

type Args = Record<string, unknown> & {
  seed_artists?: string[] | undefined;
  seed_tracks?: string[] | undefined;
  limit: number;
  include_explicit: boolean;
  max_per_artist?: number | undefined;
  diversity: number;
  arc?: Arc | undefined;
};

/** Per attribute, its argument names: [attribute, [min_, max_, target_]] (built once, read per call). */
const BOUND_ARGS = ATTRIBUTE_NAMES.map((a) => [a, [['min', `min_${a}`], ['max', `max_${a}`], ['target', `target_${a}`]]] as const);

export function boundsFrom(args: Record<string, unknown>): Bounds {
  const bounds: Bounds = {};
  for (const [a, names] of BOUND_ARGS) {
    let b: AttributeBounds | undefined;
    for (const [k, name] of names) {
      const v = args[name];
      if (typeof v === 'number') (b ??= {})[k] = v;
    }
    if (b) bounds[a] = b;
  }
  return bounds;
}

/**
 * Resolve seeds; on failure an error naming the seed and the closest valid values. Seed artists that fit
 * several catalog artists are asked of the user (tools/artist-choice.ts), once every other seed is valid;
 * without the request's `ctx` (benchmarks, tests) they answer the error naming the candidates.
 */
export function resolveSeeds(catalog: Catalog, genres: string[], args: Args, ctx?: ServerContext): Seed[] | ToolAnswer {
  const seeds: Seed[] = [];
  const total = genres.length + (args.seed_artists?.length ?? 0) + (args.seed_tracks?.length ?? 0);
  if (total > MAX_SEEDS) return toolError(`too many seeds: ${total} given, at most ${MAX_SEEDS} in total across genres, artists and tracks.`);
  for (const g of genres) {
    const r = catalog.resolveGenre(g);
    if (!r.ok) return toolError(unknownGenre(catalog, g));
    seeds.push({ type: 'genre', id: g, genre: r.value });
  }
  const artistArgs = args.seed_artists ?? [];
  const artists = resolveArtists(catalog, ctx, artistArgs.map((query, i) => ({ key: `seed_artists.${i}`, query, role: 'seed' })));
  if (artists.kind === 'error') return artists.result;
  const tracks: Seed[] = [];
  for (const t of args.seed_tracks ?? []) {
    const r = catalog.resolveTrack(t);
    if (!r.ok) return toolError(unknownName('track', t, r.suggestions, { role: 'seed', hint: 'Give a Spotify track id or "Title – Artist".' }));
    tracks.push({ type: 'track', id: t, index: r.value, match: r.match });
  }
  if (artists.kind === 'ask') return artists.result;
  artists.found.forEach((a, i) => seeds.push({ type: 'artist', id: artistArgs[i]!, artist: a.profiles[0]!, match: a.match }));
  return [...seeds, ...tracks];
}

/** Validate, run and render a recommendation. */
export function runRecommendation(catalog: Catalog, seeds: Seed[], args: Args, genreFilter: boolean, maxPerArtistDefault?: number): CallToolResult {
  const bounds = boundsFrom(args);
  const problems = validateBounds(bounds);
  if (problems.length) return toolError(`invalid range: ${problems.join('; ')}. Swap or widen the bounds.`);
  const result = recommend(catalog, {
    seeds, bounds, genreFilter,
    limit: args.limit,
    includeExplicit: args.include_explicit,
    maxPerArtist: args.max_per_artist ?? maxPerArtistDefault,
    diversity: args.diversity,
  });
  const sequenced = args.arc ? sequenceTracks(result.tracks, args.arc, DEFAULT_LIMITS) : undefined;
  if (sequenced) result.tracks = sequenced.tracks;
  return render(catalog, result, args.limit, readAs(seeds.map((s) => (s.type === 'genre' ? undefined : s.match))), sequenced?.report);
}

/** True when any min_/max_/target_ argument is given. */
export function hasBounds(args: Record<string, unknown>): boolean {
  return Object.keys(boundsFrom(args)).length > 0;
}

function render(
  catalog: Catalog,
  result: RecommendResult,
  limit: number,
  resolved: z.infer<typeof resolvedShape>[],
  sequence?: SequenceReport,
): CallToolResult {
  const label = result.seeds.length ? result.seeds.map((s) => quote(s.name)).join(' + ') : 'the whole catalog';
  let notice: string | undefined;
  if (result.unrecorded.length) {
    notice = `this dataset does not record ${result.unrecorded.join(', ')}, so no track can meet a min/max bound on it; drop that bound.`;
  } else if (result.tracks.length < limit) {
    notice = result.afterFiltering === 0
      ? `no candidate for ${label} meets these filters (${result.candidates} before filtering); loosen the min/max bounds.`
      : `only ${result.tracks.length} distinct tracks meet these filters and limits.`;
  }
  const structured = {
    seeds: result.seeds,
    candidates: result.candidates,
    after_filtering: result.afterFiltering,
    returned: result.tracks.length,
    tracks: result.tracks,
    ...(notice ? { notice } : {}),
    ...(result.unknownYearExcluded !== undefined ? { unknown_year_excluded: result.unknownYearExcluded } : {}),
    ...(resolved.length ? { resolved } : {}),
    ...(sequence ? { sequence } : {}),
    catalog: { version: catalog.version, source: 'dataset' as const },
  };
  const unknownYears = result.unknownYearExcluded ? `; ${result.unknownYearExcluded} more left out because their release year is not known` : '';
  const head = `${result.tracks.length} tracks for ${label} (${result.afterFiltering} of ${result.candidates} candidates pass the filters${unknownYears})`;
  const lines = result.tracks.map((t, n) =>
    sequence
      ? `${n + 1}. ${trackLine(t)}\n   why: ${t.reason}\n   ${flowFacts(t)}${n < sequence.transitions.length ? `\n   ${transitionLine(sequence.transitions[n]!)}` : ''}`
      : `${n + 1}. ${trackLine(t)}\n   why: ${t.reason}`,
  );
  const order = sequence ? [sequenceSummary(sequence, 'in rank order')] : [];
  return ok(structured, [head, ...order, ...readAsLine(resolved), ...lines, ...(notice ? [`note: ${notice}`] : [])].join('\n'));
}
