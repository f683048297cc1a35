import { createHash } from 'node:crypto';
import type { Resource } from '@modelcontextprotocol/server';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Catalog } from '../src/catalog/catalog.js';
import { quote } from '../src/catalog/delimit.js';
import { prebuiltSearchIndex, SEARCH_FILE, searchFileRead, type SearchFileHeader, type SearchIndex } from '../src/catalog/search-index.js';
import type { ArtistProfile } from '../src/catalog/snapshot.js';
import { findMood } from '../src/catalog/moods.js';
import { runSliced } from '../src/catalog/slices.js';
import { fold, genreKey } from '../src/catalog/text.js';
import { artistMoods, artistSummary, renderArtist } from './artist-profile.js';
import { renderDatasetCard } from './dataset-card.js';
import { genreContext, genreMoods, genreWords, renderGenre, type GenreContext } from './genre-profile.js';
import { renderGlossary, sections } from './glossary.js';
import { NameIndex } from './names.js';
import { buildIndex, KnowledgeSearch, type DocKind, type DocMeta, type IndexDoc } from './retrieval.js';
import { artistUri, genreUri, MARKDOWN, URIS } from './uri.js';

/**
 * Everything the knowledge side derives from one catalog, built once per catalog version (a new
 * publish builds a new Catalog, so documents are regenerated from the new marts) and dropped with it.
 *
 * Documents are generated from the snapshot's genre_profiles / artist_profiles when first needed rather
 * than stored in the snapshot: they are a pure function of the published marts (so exactly as fresh).
 * Only their search index is written at publish (search.bin); it carries a fingerprint of the documents'
 * wording, so after a wording change the server builds the index itself rather than use a stale one.
 */
export interface Knowledge {
  readonly catalog: Catalog;
  readonly genreNames: NameIndex;
  readonly artistNames: NameIndex;
  readonly genres: GenreContext;
  /** Genre profile document (Markdown), rendered once. */
  genreDoc(name: string): string | null;
  /** Artist profile document for a name (any spelling that folds to it). */
  artistDoc(name: string): string | null;
  datasetCard(): string;
  /** The audio-feature glossary with this catalog's figures (Markdown), rendered once. */
  glossary(): string;
  /** resources/list entries for the templates, in listing order. */
  genreEntries(): Resource[];
  artistEntries(): Resource[];
  /** The retrieval index: the snapshot's search file, or built in the background on first use. */
  search(): KnowledgeSearch;
  /** Why the snapshot's search file was not used (absent when it was, or when there was none); read after `searchFileRead`. */
  readonly searchFileRefused?: string;
}

const cache = new WeakMap<Catalog, Knowledge>();

/** Rendered artist documents kept per catalog (least recently used dropped first). */
const ARTIST_DOCS_KEPT = 256;

export function knowledgeFor(catalog: Catalog): Knowledge {
  let k = cache.get(catalog);
  if (!k) {
    k = build(catalog);
    cache.set(catalog, k);
    const built = k;
    // Once the search file is read (it is read after the catalog is served): the index it holds, or one built from the documents.
    void searchFileRead(catalog).then(() => built.search().warm());
  }
  return k;
}

/** Each catalog's knowledge side being made in slices (knowledgeReady). */
const preparing = new WeakMap<Catalog, Promise<Knowledge>>();

/**
 * A catalog's knowledge side, made in slices of the event loop (src/catalog/slices.ts) once its search
 * file is read: the documents' scaffolding, each genre's profile document (a genre's representative
 * tracks are read from its members: ~0.2 ms per genre at 89,740 tracks, more at 1M), the glossary, then
 * the search (the file's index, checked against the documents). Made in one go by the first search,
 * these pieces held every other request for 0.1-0.2 s at 1M tracks. One making per catalog, shared.
 */
export function knowledgeReady(catalog: Catalog): Promise<Knowledge> {
  let made = preparing.get(catalog);
  if (!made) {
    made = searchFileRead(catalog).then(() =>
      runSliced(
        (function* () {
          yield;
          const knowledge = knowledgeFor(catalog);
          for (const g of catalog.genres) {
            yield;
            knowledge.genreDoc(g.genre);
          }
          yield;
          knowledge.glossary();
          yield;
          knowledge.search();
          return knowledge;
        })(),
      ),
    );
    preparing.set(catalog, made);
  }
  return made;
}

/**
 * Make a catalog's knowledge side ahead of the first search, in idle time (knowledgeReady), and then
 * its search index where the snapshot had none to use (built in the background).
 */
export async function prepareKnowledge(catalog: Catalog): Promise<void> {
  await (await knowledgeReady(catalog)).search().warm();
}

const once = <T>(f: () => T): (() => T) => {
  let v: T | undefined;
  let done = false;
  return () => {
    if (!done) {
      v = f();
      done = true;
    }
    return v as T;
  };
};

function build(catalog: Catalog): Knowledge {
  const genres = genreContext(catalog.genres);
  const genreNames = new NameIndex(catalog.genres.map((g) => ({ value: g.genre, weight: g.track_count })), genreKey);
  // Completion's artist index is built on the first completion, not with the rest (a search needs none of it).
  const artistNames = once(() => new NameIndex(catalog.artists.map((a) => ({ value: a.artist_name, weight: a.track_count })), fold));
  const genreDoc = genreDocs(catalog, genres);
  const artistDoc = artistDocs(catalog);
  const glossary = once(() => renderGlossary(catalog));
  const datasetCard = once(() => renderDatasetCard(catalog));
  const sources = searchSources(catalog, genres, genreDoc, glossary);
  const describe = describer(catalog, sources, genreDoc, artistDoc, datasetCard);
  // Looked up on first use, after the search file is read (searchFileRead).
  const searchFile = once(() => {
    const file = prebuiltSearchIndex(catalog);
    return { file, refused: file ? refuseSearchFile(file.header, file.index, catalog, sources) : undefined };
  });
  const search = once(() => {
    const { file, refused } = searchFile();
    return new KnowledgeSearch({ documents: sources.all, describe, prebuilt: file && !refused ? file.index : undefined });
  });

  return {
    catalog,
    genreNames,
    get artistNames() {
      return artistNames();
    },
    genres,
    genreDoc,
    artistDoc,
    datasetCard,
    genreEntries: once(() => genreEntries(catalog)),
    glossary,
    artistEntries: once(() => artistEntries(catalog)),
    search,
    get searchFileRefused() {
      return searchFile().refused;
    },
  };
}

/** A genre's document by name (any spelling the catalog resolves), rendered once per genre. */
function genreDocs(catalog: Catalog, genres: GenreContext): (name: string) => string | null {
  const docs = new Map<string, string>();
  return (name) => {
    const resolved = catalog.resolveGenre(name);
    if (!resolved.ok) return null;
    let doc = docs.get(resolved.value.genre);
    if (!doc) {
      doc = renderGenre(catalog, resolved.value, genres);
      docs.set(resolved.value.genre, doc);
    }
    return doc;
  };
}

/** An artist's document by name, rendered on demand (there are many); the most recently used are kept. */
function artistDocs(catalog: Catalog): (name: string) => string | null {
  const docs = new Map<string, string>();
  const profiles = (name: string): ArtistProfile[] | null => {
    const resolved = catalog.resolveArtist(name);
    if (!resolved.ok) return null;
    return resolved.value.profiles.slice().sort((a, b) => b.track_count - a.track_count || (a.artist_key < b.artist_key ? -1 : 1));
  };
  return (name) => {
    const ranked = profiles(name);
    if (!ranked) return null;
    const key = ranked[0]!.artist_key;
    let doc = docs.get(key);
    if (doc === undefined) {
      doc = renderArtist(catalog, ranked[0]!, ranked.slice(1));
      if (docs.size >= ARTIST_DOCS_KEPT) docs.delete(docs.keys().next().value!);
    } else {
      docs.delete(key);
    }
    docs.set(key, doc);
    return doc;
  };
}

/** resources/list entries of the genre profiles, largest genre first. */
function genreEntries(catalog: Catalog): Resource[] {
  const lastModified = catalog.manifest.publishedAt;
  return catalog.genres
    .slice()
    .sort((a, b) => b.track_count - a.track_count || (a.genre < b.genre ? -1 : 1))
    .map((g) => ({
      uri: genreUri(g.genre),
      name: `genre ${quote(g.genre)}`,
      title: `Genre ${quote(g.genre)}`,
      description: `${g.genre_level === 'subgenre' ? `subgenre of ${quote(g.parent_genre)}` : 'genre'} · ${g.track_count} tracks · ${g.artist_count} artists`,
      mimeType: MARKDOWN,
      annotations: { lastModified },
    }));
}

/** resources/list entries of the artist profiles, most tracks first, one per folded name. */
function artistEntries(catalog: Catalog): Resource[] {
  const lastModified = catalog.manifest.publishedAt;
  const seen = new Set<string>();
  return catalog.artists
    .slice()
    .sort((a, b) => b.track_count - a.track_count || (a.artist_key < b.artist_key ? -1 : 1))
    .filter((a) => {
      const folded = fold(a.artist_name);
      if (seen.has(folded)) return false;
      seen.add(folded);
      return true;
    })
    .map((a) => ({
      uri: artistUri(a.artist_name),
      name: `artist ${quote(a.artist_name)}`,
      title: `Artist ${quote(a.artist_name)}`,
      description: artistSummary(a),
      mimeType: MARKDOWN,
      annotations: { lastModified },
    }));
}

/** What a search hit points at: its URI, title and text, by document kind and reference. */
function describer(
  catalog: Catalog, sources: SearchSources, genreDoc: (name: string) => string | null,
  artistDoc: (name: string) => string | null, datasetCard: () => string,
): (kind: DocKind, ref: number) => DocMeta {
  return (kind, ref) => {
    if (kind === 'genre') {
      const genre = catalog.genres[ref]!;
      return { uri: genreUri(genre.genre), title: `Genre ${quote(genre.genre)}`, mimeType: MARKDOWN, text: () => genreDoc(genre.genre)! };
    }
    if (kind === 'artist') {
      const artist = catalog.artistAt(ref);
      return { uri: artistUri(artist.artist_name), title: `Artist ${quote(artist.artist_name)}`, mimeType: MARKDOWN, text: () => artistDoc(artist.artist_name) ?? '' };
    }
    if (kind === 'glossary') {
      const section = sources.glossarySections()[ref]!;
      return { uri: URIS.glossary, title: section.title, mimeType: MARKDOWN, text: () => section.text };
    }
    return { uri: URIS.dataset, title: 'Dataset card', mimeType: MARKDOWN, text: () => datasetCard() };
  };
}

const moodWords = (ms: readonly { mood: string }[]) => ms.flatMap((m) => [m.mood, ...(findMood(m.mood)?.synonyms ?? [])]).join(' ');
/** Index text: the document without URIs (their percent-encoded pieces are noise to BM25). */
const indexable = (md: string) => md.replace(/music:\/\/\S+/g, ' ');


interface SearchSources {
  /** Every document, in index order: genres, glossary sections, the dataset card, artists (one per folded name). */
  all: () => Iterable<IndexDoc>;
  /** A few documents of every kind whose text a wording change would alter: what the fingerprint hashes. */
  sample: () => IndexDoc[];
  /** The glossary's sections, as indexed (its text carries this catalog's figures). */
  glossarySections: () => ReturnType<typeof sections>;
}

/** The documents the search index is built from: what each is indexed by (not its rendered text). */
function searchSources(catalog: Catalog, ctx: GenreContext, genreDoc: (name: string) => string | null, glossaryMd: () => string): SearchSources {
  const moods = catalog.distribution.moods;
  const glossarySections = once(() => sections(glossaryMd(), 'Audio-feature glossary'));
  const genre = (i: number): IndexDoc => {
    const g = catalog.genres[i]!;
    return {
      kind: 'genre',
      ref: i,
      name: g.genre,
      keywords: `genre ${g.genre_level} ${g.parent_genre ?? ''} ${(ctx.children.get(g.genre) ?? []).map((c) => c.genre).join(' ')} ${genreWords(g).join(' ')} ${moodWords(genreMoods(g, moods))}`,
      body: indexable(genreDoc(g.genre)!),
    };
  };
  const glossary = (): IndexDoc[] =>
    glossarySections().map((s, i) => ({ kind: 'glossary', ref: i, name: s.heading, keywords: 'audio feature glossary', body: s.text }));
  const dataset = (): IndexDoc => ({
    kind: 'dataset', ref: 0, name: 'dataset card', keywords: 'dataset source licence license columns gaps refresh', body: indexable(renderDatasetCard(catalog)),
  });
  // Index a compact form of an artist (not the rendered document): names, genres, sound words, titles, albums.
  const artist = (i: number): IndexDoc => {
    const a = catalog.artistAt(i);
    return {
      kind: 'artist',
      ref: i,
      name: a.artist_name,
      keywords: `${a.genres.map((g) => g.genre).join(' ')} ${a.subgenres.map((g) => g.genre).join(' ')} ${artistMoods(a, moods).map((m) => m.mood).join(' ')} ${(a.spotify_genres ?? []).join(' ')}`,
      body: `${a.top_tracks.map((t) => t.track_name ?? '').join(' ')} ${a.albums.slice(0, 20).map((x) => x.album_name ?? '').join(' ')}`,
      weight: a.track_count,
    };
  };
  function* all(): Generator<IndexDoc> {
    for (let i = 0; i < catalog.genres.length; i++) yield genre(i);
    yield* glossary();
    yield dataset();
    const seen = new Set<string>();
    for (let i = 0; i < catalog.artistCount; i++) {
      const folded = fold(catalog.artistAt(i).artist_name);
      if (seen.has(folded)) continue;
      seen.add(folded);
      yield artist(i);
    }
  }
  const sample = () => [...(catalog.genres.length ? [genre(0)] : []), ...glossary(), dataset(), ...(catalog.artistCount ? [artist(0)] : [])];
  return { all, sample, glossarySections };
}

/** Hash of the sample documents: equal at publish and at load unless the document wording changed in between. */
function fingerprint(docs: readonly IndexDoc[]): string {
  const hash = createHash('sha256');
  for (const doc of docs) hash.update(`${doc.kind}\u0000${doc.ref}\u0000${doc.name}\u0000${doc.keywords}\u0000${doc.body}\u0000${doc.weight ?? 0}\u0001`);
  return hash.digest('hex').slice(0, 32);
}

/** Why a search file cannot serve this catalog (another catalog, other documents), or undefined when it can. */
function refuseSearchFile(header: SearchFileHeader, index: SearchIndex, catalog: Catalog, sources: SearchSources): string | undefined {
  if (header.catalog !== catalog.version) return `it was built for catalog ${JSON.stringify(header.catalog)}, not ${catalog.version}`;
  const counts = header.counts ?? {};
  if (counts.genre !== catalog.genres.length || counts.glossary !== sources.glossarySections().length || counts.dataset !== 1 || !(Number(counts.artist) <= catalog.artistCount)) {
    return 'its document counts differ from the catalog';
  }
  for (let doc = 0; doc < index.docs; doc++) {
    const kind = index.kindOf(doc);
    const limit = kind === 0 ? catalog.genres.length : kind === 1 ? catalog.artistCount : kind === 2 ? sources.glossarySections().length : 1;
    if (index.refOf(doc) >= limit) return 'a document points outside the catalog';
  }
  if (header.fingerprint !== fingerprint(sources.sample())) return 'the documents are worded differently since it was written';
  return undefined;
}

/** The search documents of a catalog outside any server (publish, tests): genre documents rendered as they are indexed. */
function standaloneSources(catalog: Catalog): SearchSources {
  const ctx = genreContext(catalog.genres);
  return searchSources(
    catalog,
    ctx,
    (name) => {
      const resolved = catalog.resolveGenre(name);
      return resolved.ok ? renderGenre(catalog, resolved.value, ctx) : null;
    },
    () => renderGlossary(catalog),
  );
}

/** Every search document of a catalog, in index order. */
export function searchDocuments(catalog: Catalog): Iterable<IndexDoc> {
  return standaloneSources(catalog).all();
}

/**
 * The search file for a catalog: its documents indexed at once, with a header naming the catalog
 * version, the document counts and the fingerprint the server checks before using it.
 */
export function searchFileBytes(catalog: Catalog): Buffer {
  const sources = standaloneSources(catalog);
  const counts: Record<DocKind, number> = { genre: 0, artist: 0, glossary: 0, dataset: 0 };
  const index = buildIndex((function* () {
    for (const d of sources.all()) {
      counts[d.kind]++;
      yield d;
    }
  })());
  return index.toBytes({ catalog: catalog.version, fingerprint: fingerprint(sources.sample()), counts });
}

/** Write the search file of a snapshot into its version directory (publish, before the version becomes current). */
export async function writeSearchFile(versionDir: string, catalog: Catalog): Promise<void> {
  await writeFile(join(versionDir, SEARCH_FILE), searchFileBytes(catalog));
}
