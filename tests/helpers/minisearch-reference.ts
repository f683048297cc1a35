import MiniSearch from 'minisearch';
import { processTerm, tokenize, type DocKind, type IndexDoc } from '../../resources/retrieval.js';

/**
 * MiniSearch 7 over the search documents with the options the server used with it before the inverted
 * index (src/catalog/search-index.ts): the ranking that index must reproduce. Document ids are positions in `docs`.
 */
export function miniSearchOf(docs: readonly IndexDoc[]): MiniSearch<{ id: number; name: string; keywords: string; body: string }> {
  const KIND_BOOST: Record<DocKind, number> = { genre: 1.5, glossary: 1.3, dataset: 1, artist: 1 };
  const boosts = docs.map((d) => KIND_BOOST[d.kind] * (d.weight ? 1 + Math.log10(1 + d.weight) / 4 : 1));
  const ms = new MiniSearch<{ id: number; name: string; keywords: string; body: string }>({
    fields: ['name', 'keywords', 'body'],
    storeFields: [],
    tokenize,
    processTerm,
    searchOptions: {
      boost: { name: 4, keywords: 1.5, body: 1 },
      prefix: (term) => term.length >= 4,
      fuzzy: (term) => (term.length >= 6 ? 0.15 : false),
      weights: { fuzzy: 0.3, prefix: 0.5 },
      combineWith: 'OR',
      boostDocument: (id: number) => boosts[id]!,
    },
  });
  docs.forEach((d, id) => ms.add({ id, name: d.name, keywords: d.keywords, body: d.body }));
  return ms;
}
