import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { ArtistProfiles, Catalog } from '../src/catalog/catalog.js';
import { CatalogHolder, loadCatalog } from '../src/catalog/holder.js';
import { currentVersion, readSnapshot, writeSnapshot } from '../src/catalog/snapshot.js';
import { IdTable } from '../src/catalog/id-table.js';
import { SegmentReader, SegmentWriter, TextColumn, unreadSegments, type SegmentEntry } from '../src/catalog/segments.js';
import { NAME_INDEX_VERSION } from '../src/catalog/resolve.js';
import { runNow, runSliced } from '../src/catalog/slices.js';
import { withCatalog } from '../tools/shared.js';
import { silentLogger } from '../src/log.js';
import { tinySnapshot } from './helpers/tiny-snapshot.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'snap-v2-'));
  dirs.push(d);
  return d;
};
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A three-track snapshot with the awkward values: nulls, non-ASCII names, several artists, a canonical id elsewhere. */
function awkwardSnapshot() {
  const s = tinySnapshot('Café «Ωμέγα» 🎵');
  const t = s.tracks;
  t.track_id.push('t2', 't3');
  t.track_name.push(null, '');
  t.album_id.push('al2', null);
  t.album_name.push('Ålbum', null);
  t.release_year.push(null, 1999);
  t.artist_names.push(['Björk', 'A & B'], []);
  t.artist_keys.push(['bjork', 'a & b'], []);
  t.popularity.push(0, 100);
  t.duration_ms.push(2000, 3000);
  t.explicit.push(true, false);
  t.key.push(-1, 11);
  t.mode.push(0, 1);
  t.time_signature.push(4, null);
  t.genres.push(['pop', 'rock'], []);
  t.subgenres.push(['indie pop'], []);
  t.canonical_track_id.push('t1', 'elsewhere');
  for (const f of Object.values(t.features)) f.push(0.25, 0.75);
  s.artists.push({
    artist_key: 'bjork', artist_name: 'Björk', track_count: 1, genres: [{ genre: 'pop', track_count: 1 }], subgenres: [],
    popularity_mean: 0, popularity_max: null, popularity_min: 0, explicit_share: 1, feature_means: { energy: 0.25 },
    top_tracks: [{ track_id: 't2', track_name: null, popularity: 0 }], albums: [], first_release_year: null, last_release_year: null,
    spotify_id: null, spotify_genres: ['x'],
  });
  return s;
}

/**
 * A snapshot of `tracks` tracks with made-up titles of a few words (deterministic) by `artists` made-up
 * artists with profiles, plus a few titles the queries are about.
 */
function madeUpSnapshot(tracks: number, artists: number) {
  let seed = 11;
  const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const syllables = ['ka', 'lo', 'mi', 'ra', 'ton', 'el', 'sun', 'dar', 'vi', 'the', 'on', 'ber', 'ly', 'and', 'os', 'qu', 'ee', 'zor', 'ix', 'pa'];
  const word = () => Array.from({ length: 1 + Math.floor(rand() * 3) }, () => syllables[Math.floor(rand() * syllables.length)]).join('');
  const phrase = (words: number) => Array.from({ length: words }, word).join(' ');
  const named = ['Bohemian Rhapsody', 'Mr. Brightside', 'Dreams', 'Hey Jude', 'Zombie'];
  const artistNames = ['Fleetwood Mac', 'The Killers', 'Beyoncé', ...Array.from({ length: artists - 3 }, (_, i) => `${phrase(2)} ${i}`)];
  const s = tinySnapshot('x');
  const t = s.tracks;
  for (const column of Object.values(t)) if (Array.isArray(column)) column.length = 0;
  for (const f of Object.values(t.features)) f.length = 0;
  for (let i = 0; i < tracks; i++) {
    const artist = artistNames[i % artists]!;
    t.track_id.push(`t${i}`);
    t.track_name.push(named[i] ?? phrase(2 + Math.floor(rand() * 6)));
    t.album_id.push(null);
    t.album_name.push(null);
    t.release_year.push(2000 + (i % 20));
    t.artist_names.push([artist]);
    t.artist_keys.push([artist.toLowerCase()]);
    t.popularity.push(i % 100);
    t.duration_ms.push(1000 + i);
    t.explicit.push(null);
    t.key.push(i % 12);
    t.mode.push(i % 2);
    t.time_signature.push(4);
    t.genres.push(['pop']);
    t.subgenres.push([]);
    t.canonical_track_id.push(`t${i}`);
    for (const f of Object.values(t.features)) f.push(rand());
  }
  s.artists.push(...artistNames.map((artist_name) => ({
    artist_key: artist_name.toLowerCase(), artist_name, track_count: 1, genres: [], subgenres: [], popularity_mean: 50, popularity_max: 50, popularity_min: 50,
    explicit_share: 0, feature_means: {}, top_tracks: [], albums: [], first_release_year: 2020, last_release_year: 2020, spotify_id: null, spotify_genres: [],
  })));
  s.manifest.counts = { tracks, artists, genres: 1 };
  return s;
}

/** Names the catalog of `madeUpSnapshot` does not hold, each close to some it does. */
const UNKNOWN_ARTISTS = ['Fleetwood Maq Band', 'the kilers band', 'ka lo mi zzz', 'ton dar qu'];
const UNKNOWN_TITLES = ['Bohemian Rapsody', 'Mr Brightsid', 'Dremas', 'Hey Judy Judy', 'ton dar qu', 'sunka elon'];

describe('snapshot format 3', () => {
  it('reads back exactly the marts it was given, with its small objects and extra files', async () => {
    const dir = tmp();
    const input = { ...awkwardSnapshot(), objects: { knowledge: { moods: ['calm'], n: 3 } }, files: { 'search.idx': Buffer.from('index bytes') } };
    const version = await writeSnapshot(dir, input);
    const back = await readSnapshot(dir);
    expect(back.tracks).toEqual(input.tracks);
    expect(back.artists).toEqual(input.artists);
    expect(back.genres).toEqual(input.genres);
    expect(back.manifest).toMatchObject({ ...input.manifest, format: 3, version });

    const served = await loadCatalog(dir, version);
    expect(served.objects).toEqual({ knowledge: { moods: ['calm'], n: 3 } });
    expect(readFileSync(served.files['search.idx']!, 'utf8')).toBe('index bytes');
    expect(served.track(1)).toMatchObject({ track_id: 't2', name: null, artists: ['Björk', 'A & B'], album: 'Ålbum', release_year: null, explicit: true, genres: ['pop', 'rock'] });
    expect(served.canonicalId(2)).toBe('elsewhere');
    expect(served.resolveArtist('bjork')).toMatchObject({ ok: true, value: { profiles: [{ artist_name: 'Björk', spotify_genres: ['x'] }] } });
  });

  it('writes the same bytes from artist profiles held as JSON text (as publish reads them) as from profiles in memory', async () => {
    const input = awkwardSnapshot();
    const json = new TextColumn();
    for (const a of input.artists) json.add(JSON.stringify(a));
    const asText = ArtistProfiles.ofJson(
      input.artists.map((a) => a.artist_key), input.artists.map((a) => a.artist_name),
      Float64Array.from(input.artists, (a) => a.popularity_max ?? NaN), Int32Array.from(input.artists, (a) => a.track_count), json,
    );
    const [a, b] = [tmp(), tmp()];
    const versions = [await writeSnapshot(a, input), await writeSnapshot(b, { ...input, artists: asText })];
    expect(versions[1]).toBe(versions[0]);
    expect(readFileSync(join(b, versions[1]!, 'columns.bin')).equals(readFileSync(join(a, versions[0]!, 'columns.bin')))).toBe(true);
    expect((await readSnapshot(b)).artists).toEqual(input.artists);
  });

  it('finds every track by id through the id table stored at publish, and nothing for an id it does not hold', async () => {
    const dir = tmp();
    const input = awkwardSnapshot();
    const version = await writeSnapshot(dir, input);
    const served = await loadCatalog(dir, version);
    input.tracks.track_id.forEach((id, i) => expect(served.indexOf(id)).toBe(i));
    expect(served.indexOf('t4')).toBeUndefined();
    expect(served.indexOf('')).toBeUndefined();
    // Built in memory, repeated ids answer with their last row (as a Map filled in order did).
    const ids = Array.from({ length: 1000 }, (_, i) => `id${i % 700}`);
    const table = new IdTable(ids, runNow(IdTable.slots(ids)));
    expect(table.get('id5')).toBe(705);
    expect(table.get('id699')).toBe(699);
    expect(table.get('id700')).toBeUndefined();
    // Stored slots that do not fit the ids are not used.
    expect(IdTable.fits(ids, new Int32Array(2048).fill(1000))).toBe(false);
    expect(IdTable.fits(ids, new Int32Array(1000).fill(-1))).toBe(false);
  });

  it('refuses an extra file whose bytes changed after publish, naming the file and the fix', async () => {
    const dir = tmp();
    const version = await writeSnapshot(dir, { ...tinySnapshot('x'), files: { 'search.idx': Buffer.from('index bytes') } });
    writeFileSync(join(dir, version, 'search.idx'), 'index bytez');
    await expect(loadCatalog(dir, version)).rejects.toThrow(/search\.idx does not match its checksum.*npm run publish-snapshot/);
  });

  it('decodes while the checksum runs but serves nothing whose bytes changed: a flipped feature value or a broken string column names the checksum', async () => {
    const dir = tmp();
    const version = await writeSnapshot(dir, awkwardSnapshot());
    const manifest = JSON.parse(readFileSync(join(dir, version, 'manifest.json'), 'utf8')) as { segments: { columns: { name: string; offset: number }[] } };
    const at = (name: string) => manifest.segments.columns.find((c) => c.name === name)!.offset;
    const file = join(dir, version, 'columns.bin');
    const good = readFileSync(file);
    // A changed number decodes without complaint: only the checksum tells.
    const energy = Buffer.from(good);
    energy.writeDoubleLE(energy.readDoubleLE(at('feature.energy')) + 0.125, at('feature.energy'));
    writeFileSync(file, energy);
    await expect(loadCatalog(dir, version)).rejects.toThrow(/columns\.bin does not match its checksum.*npm run publish-snapshot/);
    // Invalid UTF-8 in a string column fails the decode too; the checksum is the cause reported.
    const names = Buffer.from(good);
    names[at('track_id.utf8')] = 0xff;
    writeFileSync(file, names);
    await expect(loadCatalog(dir, version)).rejects.toThrow(/columns\.bin does not match its checksum/);
    writeFileSync(file, good);
    expect((await loadCatalog(dir, version)).size).toBe(3);
  });

  it('checks the artist profiles, left on disk, a block at a time when first read: a changed byte there is refused on reading that profile, not at load', async () => {
    const dir = tmp();
    const s = tinySnapshot('checked');
    const profile = (key: string, albums: number) => ({
      artist_key: key, artist_name: key.toUpperCase(), track_count: 1, genres: [], subgenres: [], popularity_mean: 50, popularity_max: 50, popularity_min: 50,
      explicit_share: 0, feature_means: {}, top_tracks: [], first_release_year: 2020, last_release_year: 2020,
      albums: Array.from({ length: albums }, (_, i) => ({ album_name: `Album ${i} of ${key}`, album_id: `id${i}`, release_year: 2020, track_count: 1 })),
    });
    // One profile of ~12 MB (three 4 MiB checksum blocks at least), between two small ones.
    const version = await writeSnapshot(dir, { ...s, artists: [profile('a', 1), profile('b', 150_000), profile('c', 1)] });
    const manifest = JSON.parse(readFileSync(join(dir, version, 'manifest.json'), 'utf8')) as {
      segments: { columns: { name: string; offset: number; length: number }[]; blocks: { size: number; sha256: string[] } };
    };
    const column = manifest.segments.columns.find((c) => c.name === 'artist.profile.utf8')!;
    const block = manifest.segments.blocks.size;
    // A block wholly inside the profiles (only profile b's bytes): nothing in it is read at load.
    const k = Math.ceil(column.offset / block) + 1;
    expect((k + 1) * block).toBeLessThanOrEqual(column.offset + column.length);
    const file = join(dir, version, 'columns.bin');
    const changed = readFileSync(file);
    changed[k * block + 100] = changed[k * block + 100]! ^ 0x20;
    writeFileSync(file, changed);
    const catalog = await loadCatalog(dir, version);
    expect(catalog.artistAt(0).artist_key).toBe('a');
    expect(catalog.artistAt(2).artist_key).toBe('c');
    const refused = new RegExp(`columns\\.bin does not match its checksum \\(block ${k}, left on disk at load\\).*npm run publish-snapshot`);
    expect(() => catalog.artistAt(1)).toThrow(refused);
    // The same once the worker that checks the blocks left on disk has had time to reach it.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(() => catalog.artistAt(1)).toThrow(refused);
    expect(catalog.artistAt(2).artist_key).toBe('c');
    // Written before block checksums: the whole file is checked at load, as before.
    const old = { ...manifest, segments: { ...manifest.segments, blocks: undefined } };
    writeFileSync(join(dir, version, 'manifest.json'), JSON.stringify(old));
    await expect(loadCatalog(dir, version)).rejects.toThrow(/columns\.bin does not match its checksum.*npm run publish-snapshot/);
  });

  it('leaves the postings of the name suggestions on disk, and an unknown artist or title gets the same suggestions as from the index built from the names', async () => {
    const dir = tmp();
    const input = madeUpSnapshot(3_000, 300);
    const version = await writeSnapshot(dir, input);
    const manifest = JSON.parse(readFileSync(join(dir, version, 'manifest.json'), 'utf8')) as { segments: { columns: SegmentEntry[] } };
    const postings = [`titles.v${NAME_INDEX_VERSION}.near_titles.ids`, `titles.v${NAME_INDEX_VERSION}.near_artists.ids`];
    // What a load leaves unread (its holes) names them: their bytes are not read into memory.
    expect(unreadSegments(manifest.segments.columns).map((e) => e.name)).toEqual(expect.arrayContaining(postings));
    const served = await loadCatalog(dir, version);
    const built = new Catalog(await readSnapshot(dir));
    for (const q of UNKNOWN_ARTISTS) {
      const answer = served.resolveArtist(q);
      expect(answer, q).toEqual(built.resolveArtist(q));
      expect(answer, q).toMatchObject({ ok: false, suggestions: expect.arrayContaining([expect.any(String)]) });
    }
    for (const q of UNKNOWN_TITLES) {
      const answer = served.resolveTrack(q);
      expect(answer, q).toEqual(built.resolveTrack(q));
      expect(answer, q).toMatchObject({ ok: false, suggestions: expect.arrayContaining([expect.any(String)]) });
    }
    expect(served.resolveArtist('Fleetwood Maq Band')).toMatchObject({ ok: false, suggestions: ['Fleetwood Mac'] });
    expect(served.resolveTrack('Bohemian Rapsody')).toMatchObject({ ok: false, suggestions: [expect.stringMatching(/^Bohemian Rhapsody – /)] });
  });

  it('checks the suggestion postings, left on disk, when a suggestion first reads them: a changed byte there is refused as for a profile, not at load', async () => {
    const dir = tmp();
    const version = await writeSnapshot(dir, madeUpSnapshot(3_000, 300));
    const manifestFile = join(dir, version, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { segments: { columns: SegmentEntry[]; blocks: { size: number; sha256: string[] } } };
    // Blocks of 4 KiB (the format lets the manifest say), so the postings of this small catalog span blocks of their own.
    const size = 4096;
    const file = join(dir, version, 'columns.bin');
    const bytes = readFileSync(file);
    manifest.segments.blocks = { size, sha256: Array.from({ length: Math.ceil(bytes.byteLength / size) }, (_, k) => createHash('sha256').update(bytes.subarray(k * size, (k + 1) * size)).digest('hex')) };
    writeFileSync(manifestFile, JSON.stringify(manifest));
    // A changed byte in every block wholly inside the postings of both indexes.
    const changed = Buffer.from(bytes);
    for (const which of ['near_titles', 'near_artists']) {
      const e = manifest.segments.columns.find((c) => c.name === `titles.v${NAME_INDEX_VERSION}.${which}.ids`)!;
      const blocks = [];
      for (let k = Math.ceil(e.offset / size); (k + 1) * size <= e.offset + e.length * 4; k++) blocks.push(k);
      expect(blocks.length, which).toBeGreaterThan(2);
      for (const k of blocks) changed[k * size + 1] = changed[k * size + 1]! ^ 0x01;
    }
    writeFileSync(file, changed);
    const catalog = await loadCatalog(dir, version);
    // Served, and names it holds are found: nothing there reads the postings.
    expect(catalog.resolveArtist('Fleetwood Mac')).toMatchObject({ ok: true });
    expect(catalog.resolveTrack('Bohemian Rhapsody')).toMatchObject({ ok: true, value: 0 });
    const refused = /columns\.bin does not match its checksum \(block \d+, left on disk at load\).*npm run publish-snapshot/;
    for (const q of UNKNOWN_ARTISTS) expect(() => catalog.resolveArtist(q), q).toThrow(refused);
    for (const q of UNKNOWN_TITLES) expect(() => catalog.resolveTrack(q), q).toThrow(refused);
  });

  it('refuses a format 1 snapshot with the command that replaces it, and keeps serving the current catalog', async () => {
    const dir = tmp();
    await writeSnapshot(dir, tinySnapshot('current'));
    const holder = new CatalogHolder(dir, silentLogger);
    await holder.load();
    const old = '20250101T000000Z-0123456789';
    mkdirSync(join(dir, old));
    writeFileSync(join(dir, old, 'catalog.json.gz'), gzipSync(JSON.stringify({ manifest: { format: 1, version: old } })));
    writeFileSync(join(dir, 'CURRENT'), `${old}\n`);
    await expect(readSnapshot(dir)).rejects.toThrow(`snapshot ${old} has format 1 (catalog.json.gz), this server reads formats 2 and 3; republish with \`npm run publish-snapshot\``);
    await expect(holder.load()).rejects.toThrow(/format 1.*npm run publish-snapshot/);
    const state = holder.current;
    expect(state.status === 'ready' && state.catalog.trackName(0)).toBe('current');
    holder.close();
  });

  it('serves the published catalog exactly as one built from the marts in memory: same metric space, same answers', async () => {
    const snapshots = join(inject('builtDataDir'), 'snapshots');
    const served = await loadCatalog(snapshots, (await currentVersion(snapshots))!);
    const built = new Catalog(await readSnapshot(snapshots));
    expect(served.size).toBe(built.size);
    expect(served.embeddingScale).toBe(built.embeddingScale);
    for (let i = 0; i < served.size; i += 997) {
      expect(served.vector(i)).toEqual(built.vector(i));
      expect(served.track(i)).toEqual(built.track(i));
    }
    expect(served.resolveArtist('queen')).toEqual(built.resolveArtist('queen'));
    // Artist rows and member lists through the key table stored at publish.
    for (let r = 0; r < served.artistCount; r += 37) {
      const key = served.artistAt(r).artist_key;
      expect(served.artistName(key)).toBe(built.artistName(key));
      expect(served.artistMembers(key)).toEqual(built.artistMembers(key));
    }
    expect(served.artistMembers('no such artist key')).toHaveLength(0);
    expect(served.resolveGenre('rock')).toEqual(built.resolveGenre('rock'));
  });

  it('resolves names from the artist index stored at publish exactly as from the names alone', async () => {
    const snapshots = join(inject('builtDataDir'), 'snapshots');
    const version = (await currentVersion(snapshots))!;
    const stored = JSON.parse(readFileSync(join(snapshots, version, 'manifest.json'), 'utf8')) as { segments: { columns: { name: string }[] } };
    expect(stored.segments.columns.map((c) => c.name)).toContain(`names.v${NAME_INDEX_VERSION}.fold.slots`);
    const served = await loadCatalog(snapshots, version);
    expect(served.namesReady).toBe(false); // served before its name index is in
    const fromNames = served.nameResolver();
    const names = Array.from({ length: served.artistCount }, (_, r) => served.artistAt(r).artist_name);
    // Each name as typed, without spaces and punctuation, with a letter dropped or doubled, and with a featured guest.
    const queries = names.flatMap((n, r) => (r % 5 ? [n] : [n, n.toUpperCase().replace(/[\s.'!/-]/g, ''), n.slice(0, 3) + n.slice(4), `${n}${n.at(-1)}`, `${n} feat. ${names[r + 1]}`]));
    expect(queries.some((q) => q.includes('!') || q.includes('&'))).toBe(true);
    for (const q of queries) expect(served.names.resolveArtist(q), q).toEqual(fromNames.resolveArtist(q));
    expect(served.namesReady).toBe(true);
  });

  it('a call that resolves names right after a load waits for the artist index built in slices (the holder\'s build, shared) instead of finishing it at once', async () => {
    const snapshots = join(inject('builtDataDir'), 'snapshots');
    const served = await loadCatalog(snapshots, (await currentVersion(snapshots))!);
    const holder = CatalogHolder.of(served, silentLogger);
    // The holder's build, one step per turn of the event loop; calls arrive after its first turn.
    let turns = 0;
    const counting = setInterval(() => turns++, 0);
    const build = runSliced(served.nameSteps(), 0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(served.namesReady).toBe(false);
    const deps = { catalog: holder, log: silentLogger, toolWaitMs: 0 };
    const ctx = { mcpReq: { _meta: {}, notify: async () => undefined } } as unknown as Parameters<typeof withCatalog>[1];
    const seen: boolean[] = [];
    const call = (names: boolean) => withCatalog(deps, ctx, (catalog) => {
      seen.push(catalog.namesReady);
      return { content: [] };
    }, { names });
    const [, withoutNames, withNames] = await Promise.all([build, call(false), call(true)]);
    clearInterval(counting);
    expect([withoutNames, withNames]).toEqual([{ content: [] }, { content: [] }]);
    // The call that needs no names is answered at once; the one that does, once the index is in.
    expect(seen).toEqual([false, true]);
    expect(turns, 'the event loop ran timers while the artist index was being built').toBeGreaterThan(0);
    const resolver = await served.whenNames();
    expect(resolver).toBe(served.names);
    const name = served.artistAt(0).artist_name;
    expect(resolver.resolveArtist(name)).toEqual(served.nameResolver().resolveArtist(name));
  });

  it('loads and swaps the catalog without holding the event loop (a generous bound; the bench has the figure)', async () => {
    const snapshots = join(inject('builtDataDir'), 'snapshots');
    const dir = tmp();
    const base = await readSnapshot(snapshots);
    const { version: _v, format: _f, ...manifest } = base.manifest;
    await writeSnapshot(dir, { ...base, manifest });
    const holder = new CatalogHolder(dir, silentLogger);
    /** Longest event-loop delay while `work` runs and the name indexes of the catalog it leaves are built. */
    const longestStall = async (work: () => Promise<unknown>): Promise<number> => {
      const delay = monitorEventLoopDelay({ resolution: 5 });
      delay.enable();
      await work();
      const served = holder.current.status === 'ready' ? holder.current.catalog : null;
      while (!served?.indexesReady) await new Promise((r) => setTimeout(r, 10));
      delay.disable();
      return delay.max / 1e6;
    };
    const load = await longestStall(() => holder.load());
    const first = holder.current.status === 'ready' ? holder.current.catalog : null;
    // The publish runs on this thread too (in the product it is another process); only the swap is measured.
    await writeSnapshot(dir, { ...base, manifest: { ...manifest, publishedAt: new Date(Date.now() + 1_000).toISOString() } });
    const swap = await longestStall(() => {
      const changed = new Promise((resolve) => holder.once('changed', resolve));
      holder.watch(20);
      return changed;
    });
    holder.close();
    expect(holder.current.status === 'ready' && holder.current.catalog).not.toBe(first);
    expect(load).toBeLessThan(250);
    expect(swap).toBeLessThan(250);
  });
});

describe('text columns', () => {
  const rows = ['', 'plain', 'Café «Ωμέγα» 🎵', 'é'.repeat(700_000), 'x'.repeat(300_000), '', '🎵'.repeat(10)];

  it('gives every row back as it was added, across blocks and for a text longer than a block', () => {
    const column = new TextColumn();
    for (const r of rows) column.add(r);
    expect(column.length).toBe(rows.length);
    expect(rows.map((_, i) => column.get(i))).toEqual(rows);
    expect(() => column.get(rows.length)).toThrow(/no row 7/);
  });

  it('is stored as the rows\' UTF-8 back to back with n + 1 byte offsets, and read back by row', () => {
    const column = new TextColumn();
    for (const r of rows) column.add(r);
    const w = new SegmentWriter();
    w.textColumn('t', column);
    const bytes = (w: SegmentWriter) => Buffer.concat(w.chunks);
    const utf8 = Buffer.from(rows.join(''));
    let at = 0;
    const offsets = [0, ...rows.map((r) => (at += Buffer.byteLength(r)))];
    const reader = new SegmentReader(new Uint8Array(bytes(w)), w.entries);
    expect(w.entries.map((e) => [e.name, e.length])).toEqual([['t.utf8', utf8.length], ['t.bytes', rows.length + 1]]);
    expect(Buffer.from(bytes(w).subarray(0, utf8.length)).equals(utf8)).toBe(true);
    expect(Array.from(reader.u32('t.bytes'))).toEqual(offsets);
    const read = reader.texts('t');
    expect(Array.from({ length: read.length }, (_, i) => read.get(i))).toEqual(rows);
  });
});

describe('text columns spilled to a file', () => {
  const rows = ['', 'plain', 'Café «Ωμέγα» 🎵', 'é'.repeat(700_000), 'x'.repeat(300_000), '', '🎵'.repeat(10), ...Array.from({ length: 20_000 }, (_, i) => `{"row":${i},"name":"Björk ${i}"}`)];

  it('gives every row back and stores the same bytes as a column held in memory, holding its full blocks in the file only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'text-spill-'));
    try {
      const file = join(dir, 'spill');
      const [held, spilled] = [new TextColumn(), new TextColumn('spilled', file)];
      for (const r of rows) {
        held.add(r);
        spilled.add(r);
      }
      expect(rows.map((_, i) => spilled.get(i))).toEqual(rows);
      // Every full block is in the file (at least the two long rows' blocks), the column's bytes from its start.
      const inFile = readFileSync(file);
      expect(inFile.byteLength).toBeGreaterThanOrEqual(Buffer.byteLength(rows.slice(0, 5).join('')));
      expect(inFile.equals(Buffer.from(rows.join('')).subarray(0, inFile.byteLength))).toBe(true);
      const [a, b] = [new SegmentWriter(), new SegmentWriter()];
      a.textColumn('t', held);
      b.textColumn('t', spilled);
      expect(b.entries).toEqual(a.entries);
      expect(Buffer.concat(b.chunks).equals(Buffer.concat(a.chunks))).toBe(true);
      spilled.discard();
      expect(existsSync(file)).toBe(false);
      expect(() => spilled.get(0)).toThrow(/discarded/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a spill file that exists already', () => {
    const dir = mkdtempSync(join(tmpdir(), 'text-spill-'));
    try {
      writeFileSync(join(dir, 'spill'), 'keep');
      expect(() => new TextColumn('t', join(dir, 'spill'))).toThrow(/EEXIST/);
      expect(readFileSync(join(dir, 'spill'), 'utf8')).toBe('keep');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('string columns read in place', () => {
  it('gives back every row of a column (nulls, empty rows, characters of 1 to 4 bytes, an ASCII column) as the decoded strings do, and nothing outside it', () => {
    const rows = ['a', null, '', 'é'.repeat(70_000), 'Café «Ωμέγα» 🎵', null, 'Björk', '🎵', ...Array.from({ length: 70_000 }, (_, i) => `r${i}ü`)];
    const w = new SegmentWriter();
    w.strings('s', rows);
    w.strings('plain', ['x', 'yz', '']);
    const reader = new SegmentReader(new Uint8Array(Buffer.concat(w.chunks)), w.entries);
    const column = runNow(reader.stringColumn('s'));
    expect(column.length).toBe(rows.length);
    expect(Array.from({ length: column.length }, (_, i) => column.at(i))).toEqual(runNow(reader.strings('s')));
    expect(Array.from({ length: column.length }, (_, i) => column.at(i))).toEqual(rows);
    expect([column.at(-1), column.at(rows.length)]).toEqual([undefined, undefined]);
    expect(column.hasNulls).toBe(true);
    const plain = runNow(reader.stringColumn('plain'));
    expect([plain.hasNulls, plain.at(0), plain.at(1), plain.at(2)]).toEqual([false, 'x', 'yz', '']);
    // The rows' byte offsets are stored for a column with multi-byte characters (none for an ASCII one);
    // a snapshot written before them (no `.starts`) gives the same rows, its offsets found from the bytes.
    expect(reader.has('s.starts')).toBe(true);
    expect(reader.has('plain.starts')).toBe(false);
    const file = new Uint8Array(Buffer.concat(w.chunks));
    const older = new SegmentReader(file, w.entries.filter((e) => e.name !== 's.starts'));
    const walked = runNow(older.stringColumn('s'));
    expect(Array.from({ length: walked.length }, (_, i) => walked.at(i))).toEqual(rows);
    // Stored offsets that do not fit the text are refused, naming the column.
    const starts = w.entries.find((e) => e.name === 's.starts')!;
    const broken = new Uint8Array(file);
    new DataView(broken.buffer).setUint32(starts.offset + 4 * 5, 0xffff_ff00, true);
    expect(() => runNow(new SegmentReader(broken, w.entries).stringColumn('s'))).toThrow(/string column s: row 5 ends before it starts/);
    // A writer takes the column back as it takes an array: the same bytes.
    const again = new SegmentWriter();
    again.strings('s', column);
    expect(Buffer.concat(again.chunks).equals(Buffer.concat(w.chunks.slice(0, again.chunks.length)))).toBe(true);
  });

  it('stores a segment whose bytes were written before once, read back under both names, but never shares a column a server leaves unread', () => {
    const names = Array.from({ length: 2_000 }, (_, i) => `Artist ${i} «${'é'.repeat(i % 5)}»`);
    const counts = Int32Array.from({ length: 2_000 }, (_, i) => i % 17);
    const w = new SegmentWriter();
    w.strings('artist.name', names);
    w.numbers('artist.track_count', counts);
    w.strings('names.group.name', names);
    w.numbers('names.group.track_count', counts);
    w.numbers('album_id.offsets', Uint32Array.from(counts));
    w.numbers(`titles.v${NAME_INDEX_VERSION}.near_artists.ids`, counts);
    w.numbers('small', Int32Array.from([1, 2, 3]));
    w.numbers('small.again', Int32Array.from([1, 2, 3]));
    const at = (name: string) => w.entries.find((e) => e.name === name)!.offset;
    expect(at('names.group.name.utf8')).toBe(at('artist.name.utf8'));
    expect(at('names.group.name.offsets')).toBe(at('artist.name.offsets'));
    expect(at('names.group.track_count')).toBe(at('artist.track_count'));
    expect(at('album_id.offsets')).not.toBe(at('artist.track_count'));
    expect(at(`titles.v${NAME_INDEX_VERSION}.near_artists.ids`)).not.toBe(at('artist.track_count'));
    expect(at('small.again')).not.toBe(at('small'));
    const file = new Uint8Array(Buffer.concat(w.chunks));
    const single = new SegmentWriter();
    single.strings('artist.name', names);
    single.numbers('artist.track_count', counts);
    expect(file.byteLength).toBeLessThan(Buffer.concat(single.chunks).byteLength + 4 * counts.byteLength);
    const reader = new SegmentReader(file, w.entries);
    expect(runNow(reader.strings('names.group.name'))).toEqual(names);
    expect(Array.from(reader.i32('names.group.track_count'))).toEqual(Array.from(counts));
    expect(Array.from(reader.u32('album_id.offsets'))).toEqual(Array.from(counts));
    expect(Array.from(reader.i32(`titles.v${NAME_INDEX_VERSION}.near_artists.ids`))).toEqual(Array.from(counts));
  });

  it('reads the suggestion postings a range at a time from the file, the rest of the segment never read', () => {
    const postings = Int32Array.from({ length: 5_000 }, (_, i) => i * 7);
    const name = `titles.v${NAME_INDEX_VERSION}.near_titles.ids`;
    const w = new SegmentWriter();
    w.numbers('n', Int32Array.from([1, 2, 3]));
    w.numbers(name, postings);
    const file = Buffer.concat(w.chunks);
    const e = w.entries.find((x) => x.name === name)!;
    expect(unreadSegments(w.entries)).toEqual([e]);
    // The server's buffer: the postings' range is never filled in (zeros here).
    const inMemory = new Uint8Array(file);
    inMemory.fill(0, e.offset, e.offset + postings.byteLength);
    const reads: [number, number][] = [];
    const reader = new SegmentReader(inMemory, w.entries, (offset, length) => {
      reads.push([offset, length]);
      return new Uint8Array(file.subarray(offset, offset + length));
    });
    const ranges = reader.i32Ranges(name);
    expect(ranges.length).toBe(postings.length);
    expect(Array.from(ranges.read(10, 14))).toEqual([70, 77, 84, 91]);
    expect(Array.from(ranges.read(4_999, 5_000))).toEqual([4_999 * 7]);
    expect(ranges.read(3, 3)).toHaveLength(0);
    expect(reads).toEqual([[e.offset + 40, 16], [e.offset + 4 * 4_999, 4], [e.offset + 12, 0]]);
    expect(() => ranges.read(4_999, 5_001)).toThrow(`segment ${name} has no elements 4999..5001 (it holds 5000)`);
    expect(() => ranges.read(2, 1)).toThrow(/no elements 2\.\.1/);
    // Read without a file (a snapshot in memory): views of the bytes.
    const held = new SegmentReader(new Uint8Array(file), w.entries).i32Ranges(name);
    expect(Array.from(held.read(10, 14))).toEqual([70, 77, 84, 91]);
  });

  it('leaves the album ids a server never reads out of memory, and still gives them to a reader that asks (from the file)', () => {
    const albums = ['a1', null, 'ä2'];
    const w = new SegmentWriter();
    w.strings('album_id', albums);
    w.numbers('album', Int32Array.from([0, -1, 1]));
    const file = Buffer.concat(w.chunks);
    const unread = unreadSegments(w.entries);
    expect(unread.map((e) => e.name).sort()).toEqual(['album_id.nulls', 'album_id.offsets', 'album_id.starts', 'album_id.utf8']);
    // The server's buffer: the unread ranges are never filled in (zeros here); the file holds their bytes.
    const inMemory = new Uint8Array(file);
    for (const e of unread) inMemory.fill(0, e.offset, e.offset + (e.type === 'utf8' ? e.length : e.length * (e.type === 'u32' ? 4 : 1)));
    const reads: string[] = [];
    const reader = new SegmentReader(inMemory, w.entries, (offset, length) => {
      reads.push(w.entries.find((e) => e.offset === offset)!.name);
      return new Uint8Array(file.subarray(offset, offset + length));
    });
    expect(Array.from(reader.i32('album'))).toEqual([0, -1, 1]);
    expect(reads).toEqual([]);
    expect(runNow(reader.strings('album_id'))).toEqual(albums);
    expect(reads.sort()).toEqual(['album_id.nulls', 'album_id.offsets', 'album_id.utf8']);
  });
});
