import { ResourceTemplate } from '@modelcontextprotocol/server';
import type { McpServer, ReadResourceCallback, RegisteredResourceTemplate, ReadResourceResult, Resource } from '@modelcontextprotocol/server';
import { playlistViewResource, readPlaylistView } from '../src/app/playlist-view.js';
import { echo } from '../src/catalog/delimit.js';
import { unknownArguments, type ToolDeps } from '../tools/shared.js';
import { genresListing } from './genre-profile.js';
import { knowledgeFor } from './knowledge.js';
import { renderTrack } from './track.js';
import { catalogNow, catalogOrThrow, decodeVariable, invalid, JSON_MIME, MARKDOWN, unknownArtist, unknownGenre, unknownUri, URIS } from './uri.js';
import { ICONS } from '../src/icons.js';

export { registerCompletion } from './completion.js';
export { registerPrompts } from './prompts.js';

/** The longest URI resources/read accepts: a name of 200 characters, percent-encoded, fits many times over. */
export const MAX_URI = 8 * 1024;

/** What completion/complete needs to know of the resources. */
export interface ResourceRegistry {
  templates: readonly RegisteredResourceTemplate[];
  fixedUris: ReadonlySet<string>;
}

/**
 * resources/list page size. The default dataset lists about 30,000 resources (every artist); an SDK client's
 * `listResources()` without a cursor walks the pages itself and gives up after 64 of them, so a page holds
 * 1,000 (about 30 pages, ~0.3 MB each).
 */
export const PAGE_SIZE = 1000;

const FIXED: (Resource & { read: 'genres' | 'dataset' | 'glossary' })[] = [
  {
    uri: URIS.genres,
    name: 'genres',
    title: 'All genres',
    description: 'Every genre and subgenre label with its parent, track and artist counts and the URI of its profile (JSON).',
    mimeType: JSON_MIME,
    read: 'genres',
  },
  {
    uri: URIS.dataset,
    name: 'dataset',
    title: 'Dataset card',
    description: 'Where the data comes from and under which licence, what each column means, row counts and rejected rows, the last refresh, and known gaps.',
    mimeType: MARKDOWN,
    read: 'dataset',
  },
  {
    uri: URIS.glossary,
    name: 'audio-feature-glossary',
    title: 'Audio features and listener words',
    description: 'What each audio feature measures, its percentiles in this catalog, how words like "chill", "upbeat", "acoustic", "for running", "sad", "party" map onto this catalog\'s recommend_by_genre bounds, and every bound the tools accept.',
    mimeType: MARKDOWN,
    read: 'glossary',
  },
];

const text = (uri: URL | string, mimeType: string, body: string): ReadResourceResult => ({ contents: [{ uri: String(uri), mimeType, text: body }] });

/**
 * Register the resources: three documents and three templates (genre, artist, track), each template
 * variable completable from the catalog. Replaces the SDK's resources/list (which concatenates every
 * template's list with no cursor: thousands of artists in one answer) with a cursor-paged one, and
 * resources/read with one that answers unknown URIs with the nearest URI this server serves. Returns the
 * templates and fixed URIs for completion/complete (registerCompletion).
 */
export function registerResources(server: McpServer, deps: ToolDeps): ResourceRegistry {
  const fixed = registerDocuments(server, deps);
  const templates = registerTemplates(server, deps);
  // The MCP App view (src/app/playlist-view.ts): listed and read like the fixed documents.
  fixed.set(playlistViewResource.uri, async () => readPlaylistView());
  const fixedEntries: Resource[] = [...FIXED.map(({ read: _read, ...meta }) => meta), playlistViewResource];

  handleList(server, deps, fixedEntries, templates);
  handleRead(server, fixed, templates);
  return { templates, fixedUris: new Set(fixed.keys()) };
}

/** The three fixed documents (genres listing, dataset card, glossary), registered; their readers by URI. */
function registerDocuments(server: McpServer, deps: ToolDeps): Map<string, ReadResourceCallback> {
  const readers: Record<(typeof FIXED)[number]['read'], ReadResourceCallback> = {
    genres: async (uri) => {
      const knowledge = knowledgeFor(await catalogOrThrow(deps));
      return text(uri, JSON_MIME, JSON.stringify(genresListing(knowledge.catalog, knowledge.genres), null, 1));
    },
    dataset: async (uri) => text(uri, MARKDOWN, knowledgeFor(await catalogOrThrow(deps)).datasetCard()),
    glossary: async (uri) => text(uri, MARKDOWN, knowledgeFor(await catalogOrThrow(deps)).glossary()),
  };
  const fixed = new Map<string, ReadResourceCallback>();
  for (const { read, ...meta } of FIXED) {
    const { uri, name, ...rest } = meta;
    server.registerResource(name, uri, rest, readers[read]);
    fixed.set(uri, readers[read]);
  }

  return fixed;
}

/** The genre, artist and track templates, each variable completable from the catalog. */
function registerTemplates(server: McpServer, deps: ToolDeps): RegisteredResourceTemplate[] {
  const completeGenre = (value: string) => {
    const catalog = catalogNow(deps);
    return catalog ? knowledgeFor(catalog).genreNames.complete(value) : [];
  };
  const completeArtist = (value: string) => {
    const catalog = catalogNow(deps);
    return catalog ? knowledgeFor(catalog).artistNames.complete(value) : [];
  };
  const listed = (entries: (knowledge: ReturnType<typeof knowledgeFor>) => Resource[]) => async () => {
    const catalog = catalogNow(deps);
    return { resources: catalog ? entries(knowledgeFor(catalog)) : [] };
  };

  return [
    server.registerResource(
      'genre-profile',
      new ResourceTemplate(URIS.genreTemplate, { list: listed((k) => k.genreEntries()), complete: { genre: completeGenre } }),
      {
        title: 'Genre profile',
        icons: ICONS,
        description:
          'One genre or subgenre: size, audio-feature distribution in words and numbers, which listener words its medians fit, top artists, ' +
          'representative tracks and neighbouring genres. {genre} is the name, percent-encoded (case, spaces and hyphens ignored).',
        mimeType: MARKDOWN,
      },
      async (uri, vars) => {
        const catalog = await catalogOrThrow(deps);
        const name = decodeVariable(uri.href, vars.genre);
        const doc = knowledgeFor(catalog).genreDoc(name);
        if (doc === null) throw unknownGenre(catalog, name);
        return text(uri, MARKDOWN, doc);
      },
    ),
    server.registerResource(
      'artist-profile',
      new ResourceTemplate(URIS.artistTemplate, { list: listed((k) => k.artistEntries()), complete: { artist: completeArtist } }),
      {
        title: 'Artist profile',
        icons: ICONS,
        description:
          'One artist: songs, genres, popularity, sound in words and numbers, top tracks and albums. {artist} is the name, percent-encoded ' +
          '(case and accents ignored).',
        mimeType: MARKDOWN,
      },
      async (uri, vars) => {
        const catalog = await catalogOrThrow(deps);
        const name = decodeVariable(uri.href, vars.artist);
        const doc = knowledgeFor(catalog).artistDoc(name);
        if (doc === null) throw unknownArtist(catalog, name);
        return text(uri, MARKDOWN, doc);
      },
    ),
    server.registerResource(
      'track',
      // Not listed: tens of thousands of tracks; their URIs appear in genre and artist profiles.
      new ResourceTemplate(URIS.trackTemplate, { list: undefined }),
      {
        title: 'Track',
        icons: ICONS,
        description: 'One track by Spotify id: names, album, popularity, genres, audio features, and links to its artists and genres (JSON).',
        mimeType: JSON_MIME,
      },
      async (uri, vars) => {
        const catalog = await catalogOrThrow(deps);
        const id = decodeVariable(uri.href, vars.track_id);
        const track = catalog.indexOf(id);
        if (track === undefined) {
          throw invalid(
            `no track with id ${echo(id)} in the catalog; track ids come from recommend_by_genre and tracks_by_artist ` +
              'answers and from genre and artist profiles.',
          );
        }
        return text(uri, JSON_MIME, JSON.stringify(renderTrack(catalog, track), null, 1));
      },
    ),
  ];

}

/** resources/list: the fixed entries then every template's list, paged by an opaque cursor tied to the catalog version. */
function handleList(server: McpServer, deps: ToolDeps, fixedEntries: Resource[], templates: RegisteredResourceTemplate[]): void {
  server.server.setRequestHandler('resources/list', async (request, ctx) => {
    const catalog = catalogNow(deps);
    const version = catalog?.version ?? 'loading';
    const offset = decodeCursor(request.params?.cursor, version);
    const all: Resource[] = [...fixedEntries];
    for (const template of templates) {
      const list = template.resourceTemplate.listCallback;
      if (list) all.push(...(await list(ctx)).resources);
    }
    const page = all.slice(offset, offset + PAGE_SIZE);
    const next = offset + page.length;
    return { resources: page, ...(next < all.length ? { nextCursor: encodeCursor(version, next) } : {}) };
  });

}

/** resources/read: a fixed URI, else the first template that matches; unknown URIs answered with the nearest served one. */
function handleRead(server: McpServer, fixed: Map<string, ReadResourceCallback>, templates: RegisteredResourceTemplate[]): void {
  server.server.setRequestHandler('resources/read', async (request, ctx) => {
    if (request.params.uri.length > MAX_URI) {
      throw invalid(`the URI is ${request.params.uri.length} characters long; this server's URIs are at most ${MAX_URI} (${echo(request.params.uri)}).`);
    }
    let uri: URL;
    try {
      uri = new URL(request.params.uri);
    } catch {
      throw invalid(`${echo(request.params.uri)} is not a URI; this server serves music:// URIs (${URIS.genres} to start).`);
    }
    const href = uri.toString();
    if (uri.protocol === 'music:' && uri.search) {
      // Names are percent-encoded in these URIs, so a literal '?' starts a query, which none of them takes.
      throw invalid(`${echo(href)}: ${unknownArguments([...new Set(uri.searchParams.keys())], [])} music:// URIs take no query; percent-encode a '?' that is part of a name (%3F).`);
    }
    const read = fixed.get(href);
    if (read) return read(uri, ctx);
    for (const template of templates) {
      const vars = template.resourceTemplate.uriTemplate.match(href);
      if (vars) return template.readCallback(uri, vars, ctx);
    }
    throw unknownUri(href);
  });
}

/** Opaque cursor: the catalog version it pages through (`v`) and the offset (`o`); short keys keep it short. */
function encodeCursor(version: string, offset: number): string {
  return Buffer.from(JSON.stringify({ v: version, o: offset })).toString('base64url');
}

function decodeCursor(cursor: string | undefined, version: string): number {
  if (cursor === undefined) return 0;
  const bad = () => invalid(`invalid cursor ${echo(cursor)}; pass the nextCursor of the previous resources/list answer, or none to start over.`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  // Any JSON decodes from some base64: null, a number or an array is not a cursor this server issued.
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw bad();
  const { v: cursorVersion, o: offset } = parsed as { v?: unknown; o?: unknown };
  if (typeof offset !== 'number' || !Number.isInteger(offset) || offset < 0) throw bad();
  if (cursorVersion !== version) {
    throw invalid('the catalog was republished since this cursor was issued (notifications/resources/list_changed); list again without a cursor.');
  }
  return offset;
}
