import { describe, expect, it } from 'vitest';
import { NearNames, nameList, SHORTLIST } from '../src/catalog/near-names.js';
import { closest, fold } from '../src/catalog/text.js';

// A catalog-sized list of made-up names (deterministic), plus the names the queries are about.
let seed = 7;
const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const SYLLABLES = ['ka', 'lo', 'mi', 'ra', 'ton', 'el', 'sun', 'dar', 'vi', 'the', 'on', 'ber', 'ly', 'and', 'os', 'qu', 'ee'];
const word = () => Array.from({ length: 1 + Math.floor(rand() * 3) }, () => SYLLABLES[Math.floor(rand() * SYLLABLES.length)]).join('');
const made = Array.from({ length: 10_000 }, () => Array.from({ length: 1 + Math.floor(rand() * 3) }, word).join(' '));
const REAL = ['Queen', 'Fleetwood Mac', 'The Killers', 'Beyoncé', 'Calvin Harris', 'Kodaline', 'Rihanna', 'Bohemian Rhapsody - 2011 Mix', 'Mr. Brightside'];
const names = [...new Set([...REAL, ...made].map(fold))];
const near = NearNames.of(names);

describe('suggestions for a name the catalog does not hold', () => {
  it.each([
    ['qeen', 'queen'],
    ['fleetwod mac', 'fleetwood mac'],
    ['killers', 'the killers'],
    ['beyonse', 'beyonce'],
    ['calvn haris', 'calvin harris'],
    ['koaline', 'kodaline'],
    ['bohemian rapsody', 'bohemian rhapsody - 2011 mix'],
    ['mr brightsid', 'mr. brightside'],
  ])('%s → %s among 10,000 other names', (query, want) => {
    expect(near.closest(query, 5)).toContain(want);
  });

  it('leads with the name the scan over every name leads with (typos, prefixes, contained words)', () => {
    const queries = ['qeen', 'rihana', 'kodalin', 'the kil', 'brightside', ...made.slice(0, 15).map((m) => m.slice(0, Math.max(3, m.length - 2))), ...made.slice(15, 30).map((m) => `${m}x`)];
    for (const q of queries) expect(near.closest(q, 5)[0], q).toBe(closest(q, names, 5)[0]);
  });

  it('reads only the postings of the query\'s letter triples (a stored index keeps them on disk), answering as with all of them in memory', () => {
    const parts = near.parts();
    const reads: [number, number][] = [];
    const counted = new NearNames(nameList(names), {
      ...parts,
      ids: { length: parts.ids.length, read: (from, to) => (reads.push([from, to]), parts.ids.read(from, to)) },
    });
    for (const q of ['qeen', 'fleetwod mac', 'bohemian rapsody', 'zzzz', ...made.slice(0, 10)]) {
      reads.length = 0;
      expect(counted.closest(q, 5), q).toEqual(near.closest(q, 5));
      // One read per triple of the padded query that some name holds: that triple's whole list, no more.
      expect(reads.length, q).toBeLessThanOrEqual(q.length + 2);
      for (const [from, to] of reads) expect(parts.start[parts.start.indexOf(from) + 1], q).toBe(to);
    }
    reads.length = 0;
    counted.closest('qeen', 5);
    expect(reads.reduce((sum, [from, to]) => sum + to - from, 0)).toBeLessThan(parts.ids.length / 100);
  });

  it('measures at most a bounded shortlist, and never a name with no letter triple in common', () => {
    expect(near.shortlist('the')).toHaveLength(SHORTLIST);
    expect(near.shortlist('zzzz')).toEqual([]);
    expect(near.closest('zzzz')).toEqual([]);
  });
});
