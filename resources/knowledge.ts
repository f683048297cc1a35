import type { Resource } from '@modelcontextprotocol/sdk/types.js';
import type { Catalog } from '../src/catalog/catalog.js';
import { quote } from '../src/catalog/delimit.js';
import type { ArtistProfile } from '../src/catalog/snapshot.js';
import { findMood } from '../src/catalog/moods.js';
import { fold, genreKey } from '../src/catalog/text.js';
import { artistMoods, artistSummary, renderArtist } from './artist-profile.js';
import { renderDatasetCard } from './dataset-card.js';
import { genreContext, genreMoods, genreWords, renderGenre, type GenreContext } from './genre-profile.js';
import { renderGlossary, sections } from './glossary.js';
import { NameIndex } from './names.js';
import { KnowledgeSearch, type KnowledgeDoc } from './retrieval.js';
import { artistUri, genreUri, MARKDOWN, URIS } from './uri.js';

/**
 * Everything the knowledge side derives from one catalog, built once per catalog version (a new
 * publish builds a new Catalog, so documents are regenerated from the new marts) and dropped with it.
 *
 * Documents are generated from the snapshot's genre_profiles / artist_profiles when first needed rather
 * than stored in the snapshot: they are a pure function of the published marts (so exactly as fresh),
 * the snapshot format and publish step stay unchanged, and a wording change needs no republish.
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
  /** The retrieval index (built on first use). */
  search(): KnowledgeSearch;
}

const cache = new WeakMap<Catalog, Knowledge>();

/** Rendered artist documents kept per catalog (least recently used dropped first). */
const ARTIST_DOCS_KEPT = 256;

export function knowledgeFor(catalog: Catalog): Knowledge {
  let k = cache.get(catalog);
  if (!k) {
    k = build(catalog);
    cache.set(catalog, k);
    k.search().warm();
  }
  return k;
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
  const artistNames = new NameIndex(catalog.artists.map((a) => ({ value: a.artist_name, weight: a.track_count })), fold);
  const genreDocs = new Map<string, string>();
  const lastModified = catalog.manifest.publishedAt;

  const genreDoc = (name: string): string | null => {
    const r = catalog.resolveGenre(name);
    if (!r.ok) return null;
    let doc = genreDocs.get(r.value.genre);
    if (!doc) {
      doc = renderGenre(catalog, r.value, genres);
      genreDocs.set(r.value.genre, doc);
    }
    return doc;
  };
  const artistProfiles = (name: string): ArtistProfile[] | null => {
    const r = catalog.resolveArtist(name);
    if (!r.ok) return null;
    return r.value.profiles.slice().sort((a, b) => b.track_count - a.track_count || (a.artist_key < b.artist_key ? -1 : 1));
  };
  // Artist documents are rendered on demand (there are many); the most recently used are kept.
  const artistDocs = new Map<string, string>();
  const artistDoc = (name: string): string | null => {
    const ps = artistProfiles(name);
    if (!ps) return null;
    const key = ps[0]!.artist_key;
    let doc = artistDocs.get(key);
    if (doc === undefined) {
      doc = renderArtist(catalog, ps[0]!, ps.slice(1));
      if (artistDocs.size >= ARTIST_DOCS_KEPT) artistDocs.delete(artistDocs.keys().next().value!);
    } else {
      artistDocs.delete(key);
    }
    artistDocs.set(key, doc);
    return doc;
  };

  const genreEntries = once((): Resource[] =>
    catalog.genres
      .slice()
      .sort((a, b) => b.track_count - a.track_count || (a.genre < b.genre ? -1 : 1))
      .map((g) => ({
        uri: genreUri(g.genre),
        name: `genre ${quote(g.genre)}`,
        title: `Genre ${quote(g.genre)}`,
        description: `${g.genre_level === 'subgenre' ? `subgenre of ${quote(g.parent_genre)}` : 'genre'} · ${g.track_count} tracks · ${g.artist_count} artists`,
        mimeType: MARKDOWN,
        annotations: { lastModified },
      })),
  );
  const artistEntries = once((): Resource[] => {
    const seen = new Set<string>();
    return catalog.artists
      .slice()
      .sort((a, b) => b.track_count - a.track_count || (a.artist_key < b.artist_key ? -1 : 1))
      .filter((a) => {
        const f = fold(a.artist_name);
        if (seen.has(f)) return false;
        seen.add(f);
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
  });

  const glossary = once(() => renderGlossary(catalog));
  const search = once(() => new KnowledgeSearch(documents(catalog, genres, genreDoc, artistDoc, glossary())));

  return {
    catalog,
    genreNames,
    artistNames,
    genres,
    genreDoc,
    artistDoc,
    datasetCard: once(() => renderDatasetCard(catalog)),
    glossary,
    genreEntries,
    artistEntries,
    search,
  };
}

const moodWords = (ms: readonly { mood: string }[]) => ms.flatMap((m) => [m.mood, ...(findMood(m.mood)?.synonyms ?? [])]).join(' ');
/** Index text: the document without URIs (their percent-encoded pieces are noise to BM25). */
const indexable = (md: string) => md.replace(/music:\/\/\S+/g, ' ');

function* documents(
  catalog: Catalog,
  ctx: GenreContext,
  genreDoc: (name: string) => string | null,
  artistDoc: (name: string) => string | null,
  glossary: string,
): Generator<KnowledgeDoc> {
  const moods = catalog.distribution.moods;
  for (const g of catalog.genres) {
    const doc = genreDoc(g.genre)!;
    yield {
      kind: 'genre',
      uri: genreUri(g.genre),
      title: `Genre ${quote(g.genre)}`,
      name: g.genre,
      keywords: `genre ${g.genre_level} ${g.parent_genre ?? ''} ${(ctx.children.get(g.genre) ?? []).map((c) => c.genre).join(' ')} ${genreWords(g).join(' ')} ${moodWords(genreMoods(g, moods))}`,
      body: indexable(doc),
      mimeType: MARKDOWN,
      text: () => genreDoc(g.genre)!,
    };
  }
  for (const s of sections(glossary, 'Audio-feature glossary')) {
    yield {
      kind: 'glossary',
      uri: URIS.glossary,
      title: s.title,
      name: s.heading,
      keywords: 'audio feature glossary',
      body: s.text,
      mimeType: MARKDOWN,
      text: () => s.text,
    };
  }
  const card = renderDatasetCard(catalog);
  yield { kind: 'dataset', uri: URIS.dataset, title: 'Dataset card', name: 'dataset card', keywords: 'dataset source licence license columns gaps refresh', body: indexable(card), mimeType: MARKDOWN, text: () => card };
  const seen = new Set<string>();
  for (const a of catalog.artists) {
    const f = fold(a.artist_name);
    if (seen.has(f)) continue;
    seen.add(f);
    // Index a compact form (not the rendered document): names, genres, sound words, titles, albums.
    yield {
      kind: 'artist',
      uri: artistUri(a.artist_name),
      title: `Artist ${quote(a.artist_name)}`,
      name: a.artist_name,
      keywords: `${a.genres.map((g) => g.genre).join(' ')} ${a.subgenres.map((g) => g.genre).join(' ')} ${artistMoods(a, moods).map((m) => m.mood).join(' ')} ${(a.spotify_genres ?? []).join(' ')}`,
      body: `${a.top_tracks.map((t) => t.track_name ?? '').join(' ')} ${a.albums.slice(0, 20).map((x) => x.album_name ?? '').join(' ')}`,
      mimeType: MARKDOWN,
      weight: a.track_count,
      text: () => artistDoc(a.artist_name) ?? '',
    };
  }
}

