import type { CallToolResult, InputRequiredResult, ServerContext } from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { Catalog, TrackView } from '../src/catalog/catalog.js';
import { echo, quote, quoteList } from '../src/catalog/delimit.js';
import { closest } from '../src/catalog/text.js';
import type { CatalogHolder, CatalogState } from '../src/catalog/holder.js';
import type { NameMatch } from '../src/catalog/resolve.js';
import { TRACK_FEATURES_SHOWN, unitOf, type TrackFeature } from '../src/features.js';
import type { Logger } from '../src/log.js';
import type { SpotifyApi } from '../src/spotify/index.js';

/** Live Spotify access for tools; src/main.ts builds the client from config when credentials exist. */
export interface SpotifyDeps {
  /** The Web API client; absent or null without credentials (tools then answer from stored data). */
  spotify?: SpotifyApi | null;
  /** Stored Spotify data older than this is refreshed live (default 7 days, SPOTIFY_ENRICH_TTL_DAYS). */
  spotifyTtlMs?: number;
  /** Time budget of one call's live Spotify part (default 5 s); past it the tool answers from stored data. */
  spotifyLiveTimeoutMs?: number;
}

/** What every tool handler receives: injected interfaces, never a database driver. */
export interface ToolDeps extends SpotifyDeps {
  catalog: CatalogHolder;
  log: Logger;
  /** How long a call waits for a catalog that is still being built. */
  toolWaitMs: number;
}

/** A track's audio features, as answers list them (the feature registry's per-track features; units described). */
export const featuresShape = z.object(
  Object.fromEntries(TRACK_FEATURES_SHOWN.map((f) => [f, unitOf(f) ? z.number().describe(unitOf(f)) : z.number()])) as Record<TrackFeature, z.ZodNumber>,
);

export const trackShape = z.object({
  track_id: z.string().describe('Spotify track id'),
  name: z.string().nullable(),
  artists: z.array(z.string()),
  album: z.string().nullable(),
  release_year: z.number().int().nullable(),
  popularity: z.number().int().describe('0–100, Spotify popularity when the dataset was collected'),
  duration_ms: z.number().int(),
  explicit: z.boolean().nullable().describe('null when the dataset does not record it'),
  genres: z.array(z.string()),
  subgenres: z.array(z.string()),
  key: z.number().int().describe('pitch class 0–11, -1 when no key was detected'),
  mode: z.number().int().describe('1 major, 0 minor'),
  features: featuresShape,
});

export const catalogInfoShape = z.object({
  version: z.string().describe('serving snapshot version'),
  source: z.literal('dataset'),
});

/** Where valid names come from, said after an unknown one. */
export const ARTIST_HINT = 'Complete the {artist} variable of music://artists/{artist} for names in the catalog.';

/** Unknown argument names shown in one message; more are counted. */
const MAX_UNKNOWN_SHOWN = 5;
/** Up to this many valid names are listed in full after an unknown one. */
const MAX_VALID_LISTED = 12;

/**
 * The message for argument names a tool, prompt or template does not take: each unknown name (escaped,
 * capped) with the closest valid names, then every valid name when there are few.
 * `unknown argument «min_year» (closest: min_tempo, min_energy)`.
 */
export function unknownArguments(keys: readonly string[], valid: readonly string[]): string {
  const lower = new Map(valid.map((v) => [v.toLowerCase(), v]));
  const parts = keys.slice(0, MAX_UNKNOWN_SHOWN).map((k) => {
    const key = k.toLowerCase().slice(0, 100);
    const near = [...new Set([...namesWithWords(key, lower.keys(), 3), ...closest(key, lower.keys(), 3)])].slice(0, 3).map((v) => lower.get(v)!);
    return `${echo(k)} (${near.length ? `closest: ${near.join(', ')}` : 'nothing close'})`;
  });
  if (keys.length > MAX_UNKNOWN_SHOWN) parts.push(`and ${keys.length - MAX_UNKNOWN_SHOWN} more`);
  const all = valid.length <= MAX_VALID_LISTED ? `valid arguments: ${valid.join(', ') || 'none'}` : `all ${valid.length} valid arguments are in the inputSchema`;
  return `unknown argument${keys.length === 1 ? '' : 's'} ${parts.join(', ')}; ${all}. Remove or rename ${keys.length === 1 ? 'it' : 'them'}.`;
}

/**
 * Valid names holding every word of `key` (words split at `_`, `-` and spaces), when there are at most
 * `max` of them: `min_year` → `min_release_year`, which spelling distance alone ranks below `min_key`.
 */
function namesWithWords(key: string, names: Iterable<string>, max: number): string[] {
  const words = (s: string) => s.split(/[_\s-]+/).filter(Boolean);
  const wanted = words(key);
  if (!wanted.length) return [];
  const found = [...names].filter((n) => {
    const have = words(n);
    return wanted.every((w) => have.includes(w));
  });
  return found.length <= max ? found : [];
}

/**
 * An object schema that refuses argument names outside `shape` (the JSON Schema says
 * `additionalProperties: false`, and a call with an unknown name is refused naming it, rather than run
 * as if the name were absent).
 */
export function strictArgs<S extends z.ZodRawShape>(shape: S) {
  const valid = Object.keys(shape);
  return z.strictObject(shape, { error: (issue) => (issue.code === 'unrecognized_keys' ? unknownArguments(issue.keys, valid) : undefined) });
}

/** An artist name argument (tracks_by_artist, artist_metadata). */
export const artistNameArg = z
    .string()
    .trim()
    .min(1)
    .max(200)
    .describe('Artist name, as typed: case, accents, punctuation, "the", "&"/"and" and small typos are forgiven ("killers" finds "The Killers").');

export const resolvedShape = z
  .object({
    query: z.string().describe('the name as given'),
    matched: z.string().describe('the catalog name it was read as'),
    how: z
      .enum(['normalized', 'credit', 'version', 'typo', 'chosen'])
      .describe(
        'normalized: punctuation, spacing, symbols, "&"/"and" or a leading "the" differ; credit: the first of several credited artists; ' +
          'version: another version of the title (remaster, mix, live, "feat." credit); typo: the one catalog name within a few letters; ' +
          'chosen: picked by the user among several catalog names that fit',
      ),
  })
  .describe('present when a name was read as a different spelling in the catalog');

const HOW_TEXT: Record<z.infer<typeof resolvedShape>['how'], string> = {
  normalized: 'same name written differently',
  credit: 'first credited artist',
  version: 'another version of the title',
  typo: 'closest spelling in the catalog',
  chosen: 'chosen among several that fit',
};

/** The matches worth telling: names read as another spelling (exact and id matches are not). */
export function readAs(matches: readonly (NameMatch | undefined)[]): z.infer<typeof resolvedShape>[] {
  return matches.flatMap((m) => (m && m.how !== 'exact' && m.how !== 'id' ? [{ query: m.query, matched: m.matched, how: m.how }] : []));
}

/** One text line saying how names were read, or none. */
export function readAsLine(resolved: readonly z.infer<typeof resolvedShape>[]): string[] {
  if (!resolved.length) return [];
  return [`read ${resolved.map((r) => `${echo(r.query)} as ${quote(r.matched)} (${HOW_TEXT[r.how]})`).join('; ')}`];
}

/** What a tool handler answers: a result, or (2026-07-28) a request for input before the result (tools/artist-choice.ts). */
export type ToolAnswer = CallToolResult | InputRequiredResult;

export function toolError(message: string): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: message }] };
}

export function ok(structured: Record<string, unknown>, text: string): CallToolResult {
  return { content: [{ type: 'text', text }], structuredContent: structured };
}

/** How often a call waiting for the first build reports progress. */
const PROGRESS_EVERY_MS = 1_000;

/**
 * Wait up to `toolWaitMs` for the catalog. A request that carries a progressToken gets an MCP progress
 * notification at once when the catalog is still being built, then one a second, each naming the build
 * step (e.g. "ingest: 41,000 rows"), until the catalog is ready or the wait ends.
 */
async function waitForCatalog(deps: ToolDeps, ctx: ServerContext): Promise<CatalogState> {
  const token = ctx.mcpReq._meta?.progressToken;
  if (token === undefined) return deps.catalog.waitReady(deps.toolWaitMs);
  const deadline = Date.now() + deps.toolWaitMs;
  let state = deps.catalog.current;
  for (let step = 1; state.status === 'loading'; step++) {
    const message = `the music catalog is being built (${state.detail}); the answer follows when it is ready`;
    await ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken: token, progress: step, message } }).catch(() => undefined);
    const left = deadline - Date.now();
    state = await deps.catalog.waitReady(Math.min(PROGRESS_EVERY_MS, Math.max(left, 0)));
    if (left <= PROGRESS_EVERY_MS) break;
  }
  return state;
}

/**
 * Run a handler against the catalog being served. While the first build is still running the call
 * waits a little, then answers with progress rather than failing silently. `needs.names`: the handler
 * resolves artist or track names, so a call arriving right after a load, before the artist index is in,
 * waits for its build in slices (Catalog.whenNames) instead of finishing it in one turn of the event loop.
 */
export async function withCatalog(
  deps: ToolDeps,
  ctx: ServerContext,
  fn: (catalog: Catalog) => ToolAnswer | Promise<ToolAnswer>,
  needs: { names?: boolean } = {},
): Promise<ToolAnswer> {
  const state = await waitForCatalog(deps, ctx);
  if (state.status === 'ready') {
    if (needs.names) await state.catalog.whenNames();
    return fn(state.catalog);
  }
  if (state.status === 'failed') {
    return toolError(`the music catalog could not be built: ${state.error}`);
  }
  return toolError(`the music catalog is still being built (${state.detail}); try again in a minute.`);
}

/**
 * `«Artist» – «Title» (album «Album», 2019) · popularity 78 [id]`. Names come from the dataset, so they
 * are delimited as data (src/catalog/delimit.ts): a title cannot pass for an instruction.
 */
export function trackLine(t: TrackView, extra = ''): string {
  const title = quote(t.name);
  const by = quoteList(t.artists);
  const album = t.album ? ` (album ${quote(t.album)}${t.release_year ? `, ${t.release_year}` : ''})` : '';
  return `${by} – ${title}${album} · popularity ${t.popularity}${extra} [${t.track_id}]`;
}
