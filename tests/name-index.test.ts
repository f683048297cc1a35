import { describe, expect, it } from 'vitest';
import { artistIndexSteps, ArtistProfiles } from '../src/catalog/catalog.js';
import { readNameIndex, writeNameIndex } from '../src/catalog/name-index.js';
import type { ArtistIndex, Lookup } from '../src/catalog/resolve.js';
import { SegmentReader, SegmentWriter } from '../src/catalog/segments.js';
import { runNow } from '../src/catalog/slices.js';
import type { ArtistProfile } from '../src/catalog/marts.js';

/** The index as publish writes it, read back as a load reads it. */
function roundTrip(index: ArtistIndex): ArtistIndex {
  const w = new SegmentWriter();
  writeNameIndex(w, index);
  const bytes = new Uint8Array(w.byteLength);
  let at = 0;
  for (const c of w.chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return runNow(readNameIndex(new SegmentReader(bytes, w.entries)));
}

const entries = <V>(l: Lookup<V>) => [...l.keys()].map((k) => [k, l.get(k)] as const);

const profile = (name: string, key: string, popularity: number | null, tracks: number) =>
  ({ artist_key: key, artist_name: name, popularity_max: popularity, track_count: tracks }) as ArtistProfile;

describe('the artist index stored at publish', () => {
  it('reads back the groups and every lookup, in order, as built from the names', () => {
    const built = runNow(artistIndexSteps(ArtistProfiles.of([
      profile('The Killers', 'the killers', 80, 12), profile('Killers', 'killers', 20, 1), profile('P!nk', 'p!nk', 82, 30),
      profile('AC/DC', 'ac/dc', 85, 40), profile('ACDC', 'acdc', null, 2), profile('Beyoncé', 'beyonce', 90, 25), profile('', 'empty', 1, 1),
      profile('Mikel Izal', 'mikel izal', 50, 3), profile('Mikel (Izal)', 'mikel (izal)', 41, 2), profile('Earth, Wind & Fire', 'earth, wind & fire', 79, 9),
    ])));
    const read = roundTrip(built);
    const all = (g: ArtistIndex['groups']) => Array.from({ length: g.length }, (_, i) => g.at(i));
    expect(all(read.groups)).toEqual(all(built.groups));
    expect([read.groups.at(-1), read.groups.at(built.groups.length)]).toEqual([undefined, undefined]);
    for (const k of ['byFold', 'byKey', 'byBareKey', 'typoKeys'] as const) expect(entries<unknown>(read[k])).toEqual(entries<unknown>(built[k]));
    expect(read.byFold.has('the killers')).toBe(true);
    expect(read.byFold.get('queen')).toBeUndefined();
    expect(read.byKey.get('pink')).toEqual(built.byKey.get('pink'));
  });

  it('stores a typo-key list longer than one call takes arguments (all names of a 1M catalog may start alike)', () => {
    const keys = Array.from({ length: 300_000 }, (_, i) => `syntheticartist${i}`);
    const index: ArtistIndex = { groups: [], byFold: new Map(), byKey: new Map(), byBareKey: new Map(), typoKeys: new Map([['s', keys]]) };
    expect(roundTrip(index).typoKeys.get('s')).toEqual(keys);
  });
});
