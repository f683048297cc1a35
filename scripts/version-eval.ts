// Versions of one song in the served catalog: `npm run eval:versions` (reads the published snapshot of
// MUSIC_DATA_DIR). Judges every track by the dbt rule itself (normalize_name + fold_versions compiled for
// DuckDB and run over the snapshot's titles, keyed with the primary artist), so a snapshot published before
// versions were folded is measured by the same yardstick. Prints:
//   - how many tracks share a folded song with a differently titled track, and how many songs that makes;
//   - how many of them the snapshot serves as one song (same canonical track);
//   - for every such track as the seed, similar_tracks' answers (limit 10, defaults) that are a version of it.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Catalog } from '../src/catalog/catalog.js';
import { recommend } from '../src/catalog/recommend.js';
import { readSnapshot } from '../src/catalog/snapshot.js';
import { loadConfig } from '../src/config.js';
import { projectMacros } from '../src/pipeline/dbt/macros.js';
import { DuckDbSession } from '../src/warehouse/duckdb.js';

const config = loadConfig();
const snap = await readSnapshot(config.snapshotDir);
const catalog = new Catalog(snap);
const n = catalog.size;

/** The dbt project's title key and song title key over column `title`, compiled for DuckDB. */
function songTitleSql(): string {
  const macros = projectMacros(new URL('../dbt', import.meta.url).pathname, 'duckdb');
  const title = macros.call('normalize_name', 'title');
  return `${title} as title_key, ${macros.call('fold_versions', title)} as song_title_key`;
}

const work = mkdtempSync(join(tmpdir(), 'music-version-eval-'));
const titleKey: (string | null)[] = new Array(n).fill(null);
const songKey: (string | null)[] = new Array(n).fill(null);
try {
  const file = join(work, 'titles.json');
  writeFileSync(file, JSON.stringify([...Array(n).keys()].map((i) => ({ i, title: catalog.trackName(i) }))));
  const db = await DuckDbSession.open(':memory:');
  const rows = await db.all<{ i: number; title_key: string | null; song_title_key: string | null }>(
    `select i, ${songTitleSql()} from read_json('${file}', columns = {i: 'integer', title: 'varchar'})`,
  );
  await db.close();
  for (const r of rows) {
    const artist = catalog.artistKeys(r.i)[0];
    if (r.song_title_key === null || artist === undefined) continue;
    titleKey[r.i] = r.title_key;
    songKey[r.i] = `${r.song_title_key}|${artist}`;
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

// Songs (by the rule) whose tracks carry more than one title: the versions.
const groups = new Map<string, number[]>();
for (let i = 0; i < n; i++) {
  const k = songKey[i];
  if (k === null || k === undefined) continue;
  const g = groups.get(k);
  if (g) g.push(i);
  else groups.set(k, [i]);
}
const versioned = [...groups.values()].filter((g) => new Set(g.map((i) => titleKey[i])).size > 1);
const seeds = versioned.flat();
const exactSongs = new Set(seeds.map((i) => `${titleKey[i]}|${catalog.artistKeys(i)[0]}`)).size;
const servedAsOne = versioned.filter((g) => new Set(g.map((i) => catalog.canonicalId(i))).size === 1).length;

let pairs = 0;
let seedsHit = 0;
let first = 0;
const examples: string[] = [];
for (const seed of seeds) {
  const answer = recommend(catalog, {
    seeds: [{ type: 'track', id: catalog.trackId(seed), index: seed }],
    bounds: {}, limit: 10, includeExplicit: true, maxPerArtist: 2, diversity: 0, genreFilter: false,
  }).tracks;
  const same = answer.filter((t) => songKey[catalog.indexOf(t.track_id)!] === songKey[seed]);
  pairs += same.length;
  if (answer[0] && songKey[catalog.indexOf(answer[0].track_id)!] === songKey[seed]) first++;
  if (same.length) {
    seedsHit++;
    if (examples.length < 5) examples.push(`«${catalog.trackName(seed)}» → «${same[0]!.name}»`);
  }
}

const fmt = (v: number) => v.toLocaleString('en-US');
console.log(
  [
    `snapshot ${snap.manifest.version} (${snap.manifest.source.dataset ?? 'unknown source'}): ${fmt(n)} tracks, ${fmt(new Set([...Array(n).keys()].map((i) => catalog.canonicalId(i))).size)} songs served`,
    `versioned songs (more than one title after folding): ${fmt(versioned.length)}, holding ${fmt(seeds.length)} tracks under ${fmt(exactSongs)} distinct titles: ` +
      `${fmt(exactSongs - versioned.length)} title variants folded into another song`,
    `served as one song: ${fmt(servedAsOne)} of ${fmt(versioned.length)}`,
    `similar_tracks (limit 10) seeded with each of the ${fmt(seeds.length)} tracks: ${fmt(pairs)} answers are a version of the seed, for ${fmt(seedsHit)} seeds (${fmt(first)} as the first answer)`,
    ...examples.map((e) => `  e.g. ${e}`),
  ].join('\n'),
);
