import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, inject, it } from 'vitest';
import { CatalogHolder } from '../src/catalog/holder.js';
import { silentLogger } from '../src/log.js';
import { baseTitle, nameKey, NameResolver, typoDistance, type ArtistName } from '../src/catalog/resolve.js';

const ARTISTS: [string, number][] = [
  ['The Killers', 80], ['AC/DC', 85], ['JAY-Z', 84], ['A$AP Rocky', 83], ['Mumford & Sons', 78], ["Guns N' Roses", 86],
  ['P!nk', 82], ['Florence + The Machine', 77], ['Beyoncé', 90], ['Calvin Harris', 88], ['Rihanna', 92], ['Earth, Wind & Fire', 79],
  ['Earth', 45], ['Wisin & Yandel', 75], ['Queen', 91], ['Fleetwood Mac', 85], ['Surra', 34], ['Victor Marc', 60],
  ['Mikel Izal', 50], ['Mikel (Izal)', 41], ['Band', 30], ['The Band', 66], ['Kaline', 48], ['Kodaline', 67], ['Currents', 59],
];
const artists: ArtistName[] = ARTISTS.map(([name, popularity]) => ({ name, key: name.toLowerCase(), popularity, trackCount: 1 }));
const TRACKS: [string, string[], number][] = [
  ['Bohemian Rhapsody - 2011 Mix', ['Queen'], 70],
  ['Bohemian Rhapsody - Remastered 2011', ['Queen'], 75],
  ['Mr. Brightside', ['The Killers'], 85],
  ['This Is What You Came For (feat. Rihanna)', ['Calvin Harris', 'Rihanna'], 80],
  ['Dreams - 2004 Remaster', ['Fleetwood Mac'], 83],
  ['Bohemian Rhapsody', ['Some Cover Band'], 20],
];
const resolver = new NameResolver(artists, {
  size: TRACKS.length,
  title: (i) => TRACKS[i]![0],
  artistKeys: (i) => TRACKS[i]![1].map((a) => a.toLowerCase()),
  artistNames: (i) => TRACKS[i]![1],
  membersOf: (key) => TRACKS.flatMap(([, a], i) => (a.some((x) => x.toLowerCase() === key) ? [i] : [])),
  popularity: (i) => TRACKS[i]![2],
  trackId: (i) => `id${i}`,
  byId: (id) => (/^id\d+$/.test(id) ? Number(id.slice(2)) : undefined),
  representative: (i) => i,
});
const artist = (q: string) => {
  const r = resolver.resolveArtist(q);
  return r.ok ? [r.match.matched, r.match.how] : r.ambiguous ? ['ambiguous', ...r.candidates] : ['none'];
};

describe('artist names as people type them', () => {
  it.each([
    ['the killers', 'The Killers', 'exact'],
    ['BEYONCE', 'Beyoncé', 'exact'],
    ['killers', 'The Killers', 'normalized'],
    ['acdc', 'AC/DC', 'normalized'],
    ['ac dc', 'AC/DC', 'normalized'],
    ['jay z', 'JAY-Z', 'normalized'],
    ['asap rocky', 'A$AP Rocky', 'normalized'],
    ['mumford and sons', 'Mumford & Sons', 'normalized'],
    ['guns and roses', "Guns N' Roses", 'normalized'],
    ['pink', 'P!nk', 'normalized'],
    ['florence and the machine', 'Florence + The Machine', 'normalized'],
    ['wisin y yandel', 'Wisin & Yandel', 'normalized'],
    ['earth wind and fire', 'Earth, Wind & Fire', 'normalized'],
    ['Calvin Harris feat. Rihanna', 'Calvin Harris', 'credit'],
    ['calvin harris & rihanna', 'Calvin Harris', 'credit'],
    ['beyonse', 'Beyoncé', 'typo'],
    ['fleetwod mac', 'Fleetwood Mac', 'typo'],
    ['mkiel izal', 'Mikel Izal', 'typo'],
  ])('%s → %s (%s)', (q, name, how) => {
    expect(artist(q)).toEqual([name, how]);
  });

  it('prefers a name as written over the same name without "the"', () => {
    expect(artist('band')).toEqual(['Band', 'exact']);
    expect(artist('the band')).toEqual(['The Band', 'exact']);
  });

  it('treats names differing only in punctuation and spacing as one artist', () => {
    const r = resolver.resolveArtist('mikel izal!');
    expect(r.ok && r.value.sort()).toEqual(['mikel (izal)', 'mikel izal']);
  });

  it('puts the name as typed first among names differing only in punctuation (the answer shows it)', () => {
    // "Mikel (Izal)" is the less popular of the two; typed exactly, it still leads.
    expect(resolver.resolveArtist('Mikel (Izal)')).toMatchObject({ ok: true, value: ['mikel (izal)', 'mikel izal'] });
    expect(resolver.resolveArtist('Mikel Izal')).toMatchObject({ ok: true, value: ['mikel izal', 'mikel (izal)'] });
  });

  it('never answers an absent artist with a present one a few letters away', () => {
    for (const q of ['Sun Ra', 'Victor Jara', 'Current 93', 'Slint', 'Earth Wind', 'Miles Davis']) expect(artist(q), q).toEqual(['none']);
  });

  it('does not split a band whose parts are not all artists', () => {
    expect(artist('Earth & Water')).toEqual(['none']);
  });

  it('answers "ambiguous" when two popular names are equally close', () => {
    expect(artist('koaline').sort()).toEqual(['Kaline', 'Kodaline', 'ambiguous']);
  });
});

describe('tracks as "Title – Artist"', () => {
  const track = (q: string) => {
    const r = resolver.resolveTrack(q);
    return r.ok ? [TRACKS[r.value]![0], r.match.how] : ['none'];
  };
  it('matches any version of a title, the most popular one', () => {
    expect(track('Bohemian Rhapsody – Queen')).toEqual(['Bohemian Rhapsody - Remastered 2011', 'version']);
    expect(track('Queen - Bohemian Rhapsody')).toEqual(['Bohemian Rhapsody - Remastered 2011', 'version']);
    expect(track('dreams by fleetwood mac')).toEqual(['Dreams - 2004 Remaster', 'version']);
  });
  it('ignores a "(feat. …)" credit, punctuation and case; forgives a typo in the title of a named artist', () => {
    expect(track('This Is What You Came For - Calvin Harris')).toEqual(['This Is What You Came For (feat. Rihanna)', 'version']);
    expect(track('mr brightside by killers')).toEqual(['Mr. Brightside', 'normalized']);
    expect(track('Mr. Brigthside – The Killers')).toEqual(['Mr. Brightside', 'typo']);
  });
  it('a title alone answers the exact title first', () => {
    expect(track('Bohemian Rhapsody')).toEqual(['Bohemian Rhapsody', 'exact']);
  });
  it('refuses a title the named artist does not have', () => {
    expect(track('Mr. Brightside – Queen')).toEqual(['none']);
  });
});

describe('pieces', () => {
  it('nameKey folds punctuation, symbols, connectors and spacing', () => {
    expect(nameKey('AC/DC')).toBe(nameKey('ac dc'));
    expect(nameKey('Simon & Garfunkel')).toBe(nameKey('simon and garfunkel'));
    expect(nameKey('Lil Nas X')).not.toBe(nameKey('Lil Nas'));
  });
  it('baseTitle drops version suffixes and credit brackets, and keeps other brackets', () => {
    expect(baseTitle('Bohemian Rhapsody - 2011 Remaster')).toBe('Bohemian Rhapsody');
    expect(baseTitle('Song (feat. Someone) - Live at Wembley')).toBe('Song');
    expect(baseTitle('Song (Part 2)')).toBe('Song (Part 2)');
    expect(baseTitle('Love - Hate')).toBe('Love - Hate');
  });
  it('typoDistance counts an adjacent swap as one edit', () => {
    expect(typoDistance('mkiel', 'mikel', 2)).toBe(1);
    expect(typoDistance('abc', 'xyz', 1)).toBe(2);
  });
});

describe('index build', () => {
  it('builds the artist and title indexes right after a catalog is served, before any name query', async () => {
    const holder = new CatalogHolder(join(inject('builtDataDir'), 'snapshots'), silentLogger);
    expect(await holder.load()).toBe(true);
    const state = holder.current;
    if (state.status !== 'ready') throw new Error('catalog not ready');
    expect(state.catalog.namesReady).toBe(false);
    expect(state.catalog.indexesReady).toBe(false);
    // Built in slices of the event loop (no name query asks for them): a bounded number of turns.
    for (let turn = 0; turn < 10_000 && !state.catalog.indexesReady; turn++) await nextTurn();
    expect(state.catalog.namesReady).toBe(true);
    expect(state.catalog.indexesReady).toBe(true);
    holder.close();
  });
});
