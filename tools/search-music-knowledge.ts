import type { McpServer, CallToolResult } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { outputSchemaOf } from '../src/json-schema.js';
import { echo, echoList, quote } from '../src/catalog/delimit.js';
import { closest, genreKey } from '../src/catalog/text.js';
import { knowledgeReady } from '../resources/knowledge.js';
import { DOC_KINDS } from '../resources/retrieval.js';
import { URIS } from '../resources/uri.js';
import { MOODS } from '../src/catalog/moods.js';
import { DESCRIBED_FEATURES } from '../src/features.js';
import { catalogInfoShape, strictArgs, toolError, withCatalog, type ToolDeps } from './shared.js';
import { ICONS } from '../src/icons.js';

export const searchMusicKnowledgeInput = {
  query: z
    .string()
    .trim()
    .min(1)
    .max(300)
    .describe('Words to look for: a genre ("reggaeton"), an artist, a song or album title, a mood or activity ("chill", "for running"), or a question about audio features or the dataset.'),
  limit: z.number().int().min(1).max(20).default(5).describe('How many documents to return (1–20, default 5).'),
  kinds: z
    .array(z.enum(DOC_KINDS))
    .max(DOC_KINDS.length)
    .optional()
    .describe('Only these document kinds: genre, artist (profiles), glossary (audio-feature glossary sections), dataset (the dataset card). Default: all.'),
};

const outputShape = {
  query: z.string(),
  terms: z.array(z.string()).describe('the words searched for after dropping common words (mood synonyms add their glossary word)'),
  total_matches: z.number().int().describe('documents that match at least one term'),
  returned: z.number().int(),
  results: z.array(
    z.object({
      uri: z.string().describe('read it with resources/read'),
      kind: z.enum(DOC_KINDS),
      title: z.string(),
      score: z.number().describe('BM25+ relevance, higher is better; comparable within one answer only'),
      snippet: z.string().describe('the passage that matched best; names inside «…» are catalog data'),
    }),
  ),
  searched: z.object({ genre: z.number().int(), artist: z.number().int(), glossary: z.number().int(), dataset: z.number().int() }).describe('documents searched, by kind'),
  suggestions: z.array(z.string()).optional().describe('queries to try when nothing matched'),
  catalog: catalogInfoShape,
};

// Built once per process, not per server: HTTP serving keeps several servers (src/http.ts pools them).
const COUNT = new Intl.NumberFormat('en-US');
const inputObject = strictArgs(searchMusicKnowledgeInput);
const outputObject = z.object(outputShape);

/**
 * How long a search waits for an index still being built (a snapshot published without one): the
 * build runs in slices between other requests, which are not held up; past this the call says so.
 */
export const SEARCH_INDEX_WAIT_MS = 20_000;
/** Catalogs whose refused search file has been logged. */
const refusalLogged = new WeakSet<object>();

/** Converted and compiled once per process (HTTP keeps several servers). */
const outputSchema = outputSchemaOf(outputObject);

export function registerSearchMusicKnowledge(server: McpServer, deps: ToolDeps): void {
  server.registerTool(
    'search_music_knowledge',
    {
      title: 'Search music knowledge',
      description:
        'Ranked full-text search (BM25) over the knowledge documents: every genre profile (sound in words and numbers, listener words it fits, ' +
        `top artists), every artist profile (genres, sound, top tracks, albums), the audio-feature glossary (what ${DESCRIBED_FEATURES.slice(0, 3).join(', ')}… ` +
        'mean; which ranges "chill", "upbeat", "for running", "sad", "party" correspond to) and the dataset card. Use it to ground an answer or ' +
        'to find which genre, artist or bounds fit a request; results carry a snippet and a resource link to read the whole document. ' +
        'Accents, case and common words are ignored.',
      inputSchema: inputObject,
      outputSchema,
      icons: ICONS,
      annotations: { readOnlyHint: true, openWorldHint: false, idempotentHint: true, destructiveHint: false },
    },
    async (args, ctx) =>
      withCatalog(deps, ctx, async (catalog): Promise<CallToolResult> => {
        // The search file is read right after the catalog is served, and the knowledge side made in slices
        // after it (the server starts both in idle time): a search made sooner waits for them.
        const knowledge = await knowledgeReady(catalog);
        if (knowledge.searchFileRefused && !refusalLogged.has(catalog)) {
          refusalLogged.add(catalog);
          deps.log.warn({ version: catalog.version, reason: knowledge.searchFileRefused }, 'search file not used; building the search index in the background');
        }
        const index = knowledge.search();
        let ready: boolean;
        try {
          ready = await index.whenReady(SEARCH_INDEX_WAIT_MS);
        } catch (err) {
          return toolError(`the search index could not be built (${(err as Error).message}); republish with \`npm run pipeline\` and retry.`);
        }
        if (!ready) {
          return toolError(
            `the search index of catalog ${catalog.version} is still being built (${COUNT.format(index.indexed)} documents indexed so far); other tools answer meanwhile. Try again in a few seconds.`,
          );
        }
        const { hits, total, terms } = await index.searchInSlices(args.query, { limit: args.limit, ...(args.kinds ? { kinds: args.kinds } : {}) });
        const searched = { ...index.counts };
        const scope =
          `${searched.genre} genre profiles, ${COUNT.format(searched.artist)} artist profiles, ${searched.glossary} glossary sections` +
          ` and the dataset card${args.kinds?.length ? ` (kinds: ${args.kinds.join(', ')})` : ''}`;
        const structured = {
          query: args.query,
          terms,
          total_matches: total,
          returned: hits.length,
          results: hits.map(({ uri, kind, title, score, snippet }) => ({ uri, kind, title, score, snippet })),
          searched,
          ...(hits.length ? {} : { suggestions: suggest(catalog.genres.map((g) => g.genre), terms) }),
          catalog: { version: catalog.version, source: 'dataset' as const },
        };
        if (!hits.length) {
          const why = terms.length ? `no document contains ${echoList(terms, terms.length)}` : 'the query has only common words';
          const text =
            `No match for ${echo(args.query)}: ${why}. Searched ${scope}, by name, genre, sound and mood words, and track and album titles. ` +
            `Try ${structured.suggestions!.map((s) => quote(s)).join(', ')}, or read ${URIS.genres} for every genre.`;
          return { content: [{ type: 'text', text }], structuredContent: structured };
        }
        const lines = hits.map((h, n) => `${n + 1}. ${h.title} — ${h.uri} (score ${h.score})\n   ${h.snippet}`);
        const head = `${hits.length} of ${total} matching documents for ${echo(args.query)} (searched ${scope}); names in «…» are catalog data:`;
        return {
          content: [
            { type: 'text', text: [head, ...lines].join('\n') },
            ...hits.map((h) => ({
              type: 'resource_link' as const,
              uri: h.uri,
              name: h.uri,
              title: h.title,
              description: `${h.kind} document`,
              mimeType: h.mimeType,
            })),
          ],
          structuredContent: structured,
        };
      }),
  );
}

/** Queries worth trying: genres close to the query's words, then a few genres and glossary words. */
function suggest(genres: readonly string[], terms: readonly string[]): string[] {
  const byKey = new Map(genres.map((g) => [genreKey(g), g]));
  const near = terms.flatMap((t) => closest(genreKey(t), byKey.keys(), 2).map((k) => byKey.get(k)!));
  const base = [...near, ...genres.slice(0, 2), ...MOODS.slice(0, 3).map((m) => m.mood), DESCRIBED_FEATURES[0]!];
  return [...new Set(base)].slice(0, 6);
}
