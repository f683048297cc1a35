import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { Catalog } from '../src/catalog/catalog.js';
import { loadCatalog } from '../src/catalog/holder.js';
import { KeyGroupsBuilder } from '../src/catalog/key-groups.js';
import { currentVersion, openSnapshot, readSnapshot, writeSnapshot } from '../src/catalog/snapshot.js';
import { onDiskSegments, SegmentReader, SegmentWriter } from '../src/catalog/segments.js';
import { runNow } from '../src/catalog/slices.js';
import { fold } from '../src/catalog/text.js';
import { NAME_INDEX_VERSION } from '../src/catalog/resolve.js';
import { tinySnapshot } from './helpers/tiny-snapshot.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'title-index-'));
  dirs.push(d);
  return d;
};
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Texts that a decoder or an offset table gets wrong first: empty rows, accents, CJK, emoji (surrogate pairs), a lone row of 4-byte characters. */
const AWKWARD = ['', 'Beyoncé', '', 'Sigur Rós – Hoppípolla', '周杰伦', '🎵🎶', 'A', '', 'Ωμέγα «x»', '😀'.repeat(300)];

describe('key groups (the title index tiers)', () => {
  const keys = ['b', 'a', 'b', 'é', '🎵', 'a', '', 'b'];
  const build = () => {
    const b = new KeyGroupsBuilder(keys.length, (row) => keys[row]!);
    keys.forEach((k, row) => b.add(row, k));
    return runNow(b.done());
  };

  it('answers every row of a key, in row order, for non-ASCII, emoji and empty keys alike', () => {
    const g = build();
    expect(g.get('b')).toEqual([0, 2, 7]);
    expect(g.get('a')).toEqual([1, 5]);
    expect(g.get('é')).toEqual([3]);
    expect(g.get('🎵')).toEqual([4]);
    expect(g.get('')).toEqual([6]);
    expect(g.get('c')).toBeUndefined();
    expect(g.get('e')).toBeUndefined();
    expect([...g.keys()]).toEqual(['b', 'a', 'é', '🎵', '']);
  });

  it('never answers another key when the rows no longer give back the key they were added with', () => {
    // Lookups confirm a hash hit against the row's key: a row whose key changed can only miss.
    const rows = ['x', 'y'];
    const b = new KeyGroupsBuilder(2, (row) => rows[row]!);
    rows.forEach((k, row) => b.add(row, k));
    const g = runNow(b.done());
    rows[0] = 'z';
    expect(g.get('x')).toBeUndefined();
    expect(g.get('z')).toBeUndefined();
    expect(g.get('y')).toEqual([1]);
  });
});

describe('text segments left on disk', () => {
  it('come back byte-exact when read row by row from the file', () => {
    const w = new SegmentWriter();
    w.numbers('n', Int32Array.from([1, 2, 3]));
    w.texts('t', AWKWARD.length, (i) => AWKWARD[i]!);
    const file = Buffer.concat(w.chunks);
    const cold = onDiskSegments(w.entries);
    expect(cold.map((e) => e.name)).toEqual(['t.utf8']);
    // The reader gets a buffer whose text bytes are blanked: every row must come from `readRange`.
    const held = Buffer.from(file);
    for (const e of cold) held.fill(0, e.offset, e.offset + e.length);
    const reads: [number, number][] = [];
    const reader = new SegmentReader(held, w.entries, (offset, length) => {
      reads.push([offset, length]);
      return file.subarray(offset, offset + length);
    });
    const t = reader.texts('t');
    expect(Array.from({ length: t.length }, (_, i) => t.get(i))).toEqual(AWKWARD);
    expect(reads).toHaveLength(AWKWARD.length);
    expect(Array.from(reader.i32('n'))).toEqual([1, 2, 3]);
    expect(() => t.get(AWKWARD.length)).toThrow(/no row/);
  });

  it('serve the artist profiles of a published snapshot, names with accents and emoji intact', async () => {
    const dir = tmp();
    const s = tinySnapshot('x');
    const names = ['Björk', '', 'Sigur Rós 🎵', '周杰伦'];
    s.artists.push(...names.map((artist_name, i) => ({
      artist_key: `k${i}`, artist_name, track_count: 0, genres: [], subgenres: [], popularity_mean: null, popularity_max: null, popularity_min: null,
      explicit_share: null, feature_means: {}, top_tracks: [], albums: [], first_release_year: null, last_release_year: null, spotify_id: null, spotify_genres: [`g${i} ✓`],
    })));
    await writeSnapshot(dir, s);
    const catalog = await loadCatalog(dir, (await currentVersion(dir))!);
    expect(Array.from({ length: catalog.artistCount }, (_, r) => catalog.artistAt(r).artist_name)).toEqual(names);
    expect(catalog.artistAt(2).spotify_genres).toEqual(['g2 ✓']);
    expect((await readSnapshot(dir)).artists.map((a) => a.artist_name)).toEqual(names);
    const opened = await openSnapshot(dir);
    expect(opened.segments.has('artist.profile.utf8')).toBe(true);
  });
});

describe('the title index a snapshot stores', () => {
  it('resolves every track query as the index built from the titles does', async () => {
    const snapshots = join(inject('builtDataDir'), 'snapshots');
    const opened = await openSnapshot(snapshots);
    expect(opened.segments.has(`titles.v${NAME_INDEX_VERSION}.exact.slots`)).toBe(true);
    const served = await loadCatalog(snapshots, (await currentVersion(snapshots))!);
    const built = new Catalog(await readSnapshot(snapshots)).nameResolver();
    const n = served.size;
    const queries: string[] = [];
    for (let i = 0; i < n; i += Math.max(1, Math.floor(n / 400))) {
      const title = served.trackName(i);
      if (!title) continue;
      const artist = served.artistNames(i)[0] ?? '';
      queries.push(title, `${title} – ${artist}`, title.toUpperCase(), `${title.slice(0, -1)} - ${artist}`, `${title} (Live) by ${artist}`);
    }
    queries.push('zzzz qqqq', 'Bohemian Rapsody – Queen', '');
    for (const q of queries) expect(served.resolveTrack(q), q).toEqual(runResolve(built, q, served));
    expect(served.names.titlesReady).toBe(true);
  });
});

/** What Catalog.resolveTrack answers for `q` with the given resolver (the suggestions of a miss included). */
function runResolve(names: ReturnType<Catalog['nameResolver']>, q: string, catalog: Catalog) {
  const r = names.resolveTrack(q);
  if (r.ok) return { ok: true, value: r.value, match: r.match };
  if (r.ambiguous) return { ok: false, ambiguous: true, suggestions: r.candidates.slice(0, 5) };
  const t = q.trim();
  const sep = [' – ', ' — ', ' - ', ' by '].find((s) => t.indexOf(s) > 0);
  const near = names.nearestTitles(fold(sep ? t.slice(0, t.indexOf(sep)) : t), 5);
  const titles = names.foldedTitles();
  return { ok: false, suggestions: near.map((x) => { const i = titles.get(x)![0]!; return `${catalog.trackName(i)} – ${catalog.artistNames(i).join(', ')}`; }) };
}
